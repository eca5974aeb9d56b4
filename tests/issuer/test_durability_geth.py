"""Nothing acknowledged is lost on geth (issue #13): a Clique reorg deeper than the pipeline's confirmation depth
on a 4-validator network, and SIGKILL of a single-validator node (the engine a one-machine member could run)
during API submissions. Reconciliation (issuer/pipeline.py `_reconcile`) anchors again, with the same root,
what the chain that won no longer has. Real geth 1.13 nodes of each test's own; every wait has a deadline."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from eth_utils import to_checksum_address
from sqlalchemy import select

from certnet.issuer.outbox import ANCHORED, EV_REANCHOR, Batch, BatchEvent
from certnet.node.network import GethNetwork, init_network
from certnet.node.network.geth import geth_binary
from certnet.node.tx import signer_for
from certnet.verifier.sources import ChainSource
from certnet.verifier.verify import Verifier
from tests.conftest import make_net
from tests.support.api_fixtures import form_ds, start_api, stop_api, wait_until
from tests.support.consortium_fixtures import processes_using
from tests.support.durability import (
    Submitter,
    anchored_roots,
    assert_each_document_anchored_once,
    geth_engine,
    wait_all_anchored,
)
from tests.support.pipeline import all_docs, docs_for, make_pipeline

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

PERIOD = 1


def _network(directory: Path, validators: int) -> GethNetwork:
    geth_binary()  # a missing geth is an error here, not a skip
    init_network(directory, validators=validators, engine="geth", period=PERIOD)
    network = GethNetwork(directory)
    network.up(timeout=120)
    return network


@pytest.fixture
def geth4(tmp_path: Path):
    """A 4-validator Clique network of this test alone (it is partitioned and healed)."""
    network = _network(tmp_path / "net4", 4)
    try:
        yield network
    finally:
        network.down()
        assert processes_using(network.directory) == []


@pytest.fixture
def geth1(tmp_path: Path):
    """A single-validator geth node of this test alone (it is killed and restarted), run as `certnet network`
    runs geth (--gcmode archive: each block's state written as it is imported). In --gcmode full, geth 1.13.15
    killed with SIGKILL "repairs" its missing head state by rewinding to its snapshot's old root, below the
    contracts' deployment even after a clean stop: a loss no pipeline can cover for, so not a mode to run."""
    network = _network(tmp_path / "net1", 1)
    try:
        yield network
    finally:
        network.down()
        assert processes_using(network.directory) == []


def batch_history(p, batch_id: int) -> list[str]:
    with p.sessions() as s:
        return [
            e.event
            for e in s.scalars(select(BatchEvent).where(BatchEvent.batch_id == batch_id).order_by(BatchEvent.id))
        ]


# ------------------------------------------------------------------ a Clique reorg deeper than the confirmations


def test_a_batch_anchored_on_the_side_of_a_partition_that_loses_is_anchored_again(geth4, tmp_path):
    """3+1 partition: two of four Clique signers cannot both keep sealing ("signed recently": a signer waits
    for 2 blocks of others), so the side that loses is a lone validator, which may seal one block: the batch is
    anchored in it and marked ANCHORED (confirmation depth 0, the reorg is 1 block deep). The majority consumes
    the issuer key's nonce meanwhile, as any transaction of that key sent through another node would, so the
    losing side's anchoring transaction cannot be mined again on the winning chain. Healed, the lone node takes
    the heavier chain; the pipeline (talking to that node) notices its recorded block is gone and the root is not
    in its store, anchors it again with the same root, and the documents it handed out verify VALID on the
    winning chain. No root is anchored twice."""
    lone, others = 0, [1, 2, 3]
    net = make_net(geth_engine(geth4, lone))  # the pipeline's node: the one that will be cut off
    geth4.wait_converged(timeout=90, at_least=geth4.block_number(lone))
    me = geth4.node(lone).validator

    def signer(n: int) -> str:
        return to_checksum_address(geth4._rpc(lone, "clique_getSigner", [hex(n)]))

    # the lone validator stops sealing until the last two blocks are the others': then it may seal one alone.
    # A seal it had under way (an out-of-turn block waits up to 2 s) can still land just after miner_stop: the
    # two blocks looked at are above it.
    geth4._rpc(lone, "miner_stop")
    stopped_at = geth4.block_number(lone)
    wait_until(
        lambda: (lambda head: head >= stopped_at + 3 and me not in (signer(head - 1), signer(head)))(
            geth4.block_number(lone)
        ),
        timeout=60,
        interval=0.3,
    )
    geth4.partition(others, [lone], timeout=60)
    fork = geth4.block_number(lone)
    assert me not in (signer(fork - 1), signer(fork))

    p = make_pipeline(net, tmp_path, confirmations=0, reconcile_interval=3600, max_batch=4)
    issuer = net.addr("vn_issuer")
    p.submit(issuer, docs_for(net, 4, seed=131))
    p._form_batches(force=True)
    assert p._send_batches() == 1  # into the lone node's pool only
    with p.sessions() as s:
        batch = s.scalars(select(Batch)).one()
    assert net.engine.w3.eth.get_transaction(batch.tx_hash)["nonce"] == batch.nonce

    # the winning side: the issuer key's nonce taken by another transaction of that key
    rival = signer_for(geth4.w3(others[0]), net.actors["vn_issuer"].account.key)
    rival.transfer(issuer, 0)
    assert geth4.w3(others[0]).eth.get_transaction_count(issuer) == batch.nonce + 1

    geth4._rpc(lone, "miner_start")  # seals one block of its own, with the anchor

    def anchored() -> Batch | None:
        p.run_once()
        with p.sessions() as s:
            b = s.get(Batch, batch.id)
        return b if b.state == ANCHORED else None

    losing = wait_until(anchored, timeout=90, interval=0.3)
    assert losing.block_number == fork + 1 and losing.block_hash == geth4.block_hash(lone, fork + 1)
    handed_out = [d.wrapped for d in all_docs(p)]
    assert all(Verifier(ChainSource(geth4.w3(lone), net.deployment)).verify(w).status == "VALID" for w in handed_out)
    winner_store = net.deployment.store_client(geth4.w3(others[0]), net.stores["vn"])
    assert not winner_store.is_issued(batch.merkle_root)  # the other side never saw it
    geth4.wait_blocks(3, nodes=others, timeout=60)  # the majority's chain: heavier than the lone node's one block
    assert geth4.block_number(lone) == fork + 1  # alone, it sealed one block and may not seal another

    geth4.heal(timeout=90)
    geth4.wait_converged(timeout=120, at_least=fork + 3)
    assert geth4.block_hash(lone, fork + 1) != losing.block_hash  # the reorg took the anchoring block away

    def reanchored() -> Batch | None:
        p.run_once()
        with p.sessions() as s:
            b = s.get(Batch, batch.id)
        return b if b.state == ANCHORED and b.reanchored_count == 1 else None

    winning = wait_until(reanchored, timeout=120, interval=0.3)
    assert winning.merkle_root == batch.merkle_root and winning.block_hash != losing.block_hash
    assert batch_history(p, batch.id) == ["ANCHORED", EV_REANCHOR, "ANCHORED"]
    assert p.events["reanchored"] == 1
    geth4.wait_converged(timeout=120, at_least=winning.block_number)
    assert geth4.block_hash(others[0], winning.block_number) == winning.block_hash  # on the chain that won
    assert [d.wrapped for d in assert_each_document_anchored_once(net, p.sessions)] == handed_out  # never re-wrapped
    assert anchored_roots(net) == [batch.merkle_root]
    verifier = Verifier(ChainSource(geth4.w3(others[0]), net.deployment))
    assert [verifier.verify(w).status for w in handed_out] == ["VALID"] * len(handed_out)


# ------------------------------------------------------------------ SIGKILL of a single-validator geth node


def test_sigkill_of_a_single_validator_geth_node_during_api_submissions_loses_nothing(geth1, tmp_path):
    """The single-machine engine killed with SIGKILL at random moments while an issuer submits through the API,
    then started again from its data directory (geth keeps what it wrote; blocks it had not flushed may be lost).
    Every acknowledged document ends VALID on chain, none is in two batches, no root is anchored twice."""
    node = geth1
    net = make_net(geth_engine(node, 0))
    node.stop_node(0)  # a clean stop: the deployment is on disk before the first kill
    node.start_node(0, timeout=90)
    api, server, thread = start_api(net, tmp_path, max_batch_age=0.1, max_batch=7)
    pool = form_ds(api, 1500, seed=1300)  # distinct reference numbers
    sub = Submitter(api, pool).start()
    acknowledged, failures, stop, submitter = sub.acknowledged, sub.failures, sub.stop, sub.thread
    rng = random.Random(1313)
    lost_any = False
    try:
        for _ in range(3):
            start = len(acknowledged)
            wait_until(lambda start=start: len(acknowledged) >= start + 6, timeout=90)
            deadline = time.monotonic() + rng.uniform(0.5, 3.0)  # a random moment of the submissions
            wait_until(lambda deadline=deadline: time.monotonic() >= deadline, timeout=10, interval=0.02)
            head = node.block_number(0)
            assert node.kill_node(0)
            node.start_node(0, timeout=120)
            lost_any |= node.block_number(0) < head
            node.wait_blocks(1, timeout=60)  # and it seals again
        stop.set()
        submitter.join(30)
        assert acknowledged and not failures, failures[:3]
        wrapped = wait_all_anchored(api, acknowledged, timeout=300)
        docs = assert_each_document_anchored_once(net, api.service.sessions)
        assert {d.id for d in docs} == set(acknowledged)
        verdicts = Verifier(ChainSource(node.w3(0), net.deployment)).verify_many(wrapped)
        assert [v.status for v in verdicts] == ["VALID"] * len(wrapped)
        events = api.service.pipeline.events
        print(f"{len(acknowledged)} documents; node lost blocks: {lost_any}; events: {events}")
    finally:
        stop.set()
        stop_api(server, thread)
        api.service.stop()
