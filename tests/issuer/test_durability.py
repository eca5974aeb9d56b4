"""Nothing acknowledged is ever lost: one writer per outbox, recovery at the confirmation depth, anchors the chain
lost (a node killed before it persisted its blocks, modelled exactly by anvil's evm_revert, and the real thing:
SIGKILL of the anvil node at random moments during API submissions) reconciled and anchored again with the same
root, nonces that recover from a node that went backwards — on real anvil nodes of the tests' own."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from certnet.issuer.outbox import (
    ANCHORED,
    BATCHED,
    DONE,
    EV_REANCHOR,
    FAILED,
    PENDING,
    Action,
    Batch,
    BatchEvent,
    OutboxLocked,
    open_database,
)
from certnet.node.engines import AnvilEngine
from certnet.verifier.sources import ChainSource
from certnet.verifier.verify import Verifier
from tests.conftest import make_net
from tests.support.api_fixtures import form_ds, start_api, stop_api, wait_until
from tests.support.durability import (
    Submitter,
    anchored_roots,
    assert_each_document_anchored_once,
    rpc,
    wait_all_anchored,
)
from tests.support.pipeline import all_docs, docs_for, make_pipeline

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


def wait_state_persisted(engine: AnvilEngine, block: int, timeout: float = 30) -> None:
    """Until anvil's state file holds `block` (it is dumped every --state-interval second)."""

    def persisted() -> bool:
        try:
            return json.loads(engine.state_file.read_text()).get("best_block_number", -1) >= block
        except (OSError, ValueError):
            return False

    wait_until(persisted, timeout=timeout)


@pytest.fixture
def own_anvil(tmp_path):
    """An anvil node of this test alone (it is reverted, killed and restarted)."""
    engine = AnvilEngine(tmp_path / "anvil").start()
    yield engine
    engine.kill()


# ------------------------------------------------------------------ one writer per outbox


def test_a_second_pipeline_on_one_outbox_is_refused_until_the_first_lets_go(embedded_net, tmp_path):
    first = make_pipeline(embedded_net, tmp_path)
    second = make_pipeline(embedded_net, tmp_path)
    first.submit(embedded_net.addr("vn_issuer"), docs_for(embedded_net, 3))
    first.run_once(force=True)
    with pytest.raises(OutboxLocked) as info:
        second.run_once(force=True)
    assert "outbox.db.writer.lock" in str(info.value) and f"pid {os.getpid()}" in str(info.value)
    with pytest.raises(OutboxLocked):
        second.run_until_idle(timeout=0.3)
    first.close()
    second.submit(embedded_net.addr("vn_issuer"), docs_for(embedded_net, 2, seed=5))
    second.run_until_idle()
    assert {d.state for d in all_docs(second)} == {ANCHORED}


def _issue(home: Path, files: list[Path], out: Path, db: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    env["CERTNET_HOME"] = str(home)
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "certnet.cli.main",
            "issue",
            *map(str, files),
            "--out",
            str(out),
            "--db",
            db,
            "--max-batch",
            "3",
            "--type",
            "form-d",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_two_concurrent_certnet_issue_on_one_outbox_anchor_each_document_once(anvil_net, home, tmp_path):
    """Two `certnet issue` processes started together on one SQLite outbox, with overlapping documents: each
    document is anchored exactly once (no root twice on chain, every document in one batch)."""
    src = tmp_path / "src"
    src.mkdir()
    files = []
    for i, doc in enumerate(docs_for(anvil_net, 16, seed=81)):
        files.append(src / f"cert-{i:02d}.json")
        files[-1].write_text(json.dumps(doc))
    db = f"sqlite:///{tmp_path / 'outbox.db'}"
    shared, own_a, own_b = files[:8], files[8:12], files[12:]
    procs = [_issue(home, shared + own_a, tmp_path / "out-a", db), _issue(home, own_b + shared, tmp_path / "out-b", db)]
    results = [p.communicate(timeout=240) for p in procs]
    for p, (_out, err) in zip(procs, results, strict=True):
        assert p.returncode == 0, err[-3000:]
    sessions = open_database(db)
    docs = assert_each_document_anchored_once(anvil_net, sessions)
    assert len(docs) == 16
    by_ref = {d.reference_number: d.wrapped for d in docs}
    for out, group in ((tmp_path / "out-a", shared + own_a), (tmp_path / "out-b", own_b + shared)):
        for f in group:  # both processes hand out the one anchored version of a shared document
            written = json.loads((out / f.name).read_text())
            assert written == by_ref[json.loads(f.read_text())["referenceNumber"]]


# ------------------------------------------------------------------ recovery at the confirmation depth


def test_an_anchor_found_on_chain_is_recorded_only_at_the_confirmation_depth(anvil_net, tmp_path):
    """A root found anchored on chain (sent by a process that died before recording it) is ANCHORED only once
    it is `confirmations` deep, and is not sent again meanwhile."""
    net = anvil_net
    p = make_pipeline(net, tmp_path, confirmations=3)
    p.submit(net.addr("vn_issuer"), docs_for(net, 4, seed=83))
    assert p._form_batches(force=True) == 4
    with p.sessions() as s:
        batch = s.scalars(select(Batch)).one()
    receipt = net.store("vn_issuer").anchor(batch.merkle_root, "FORM_D", batch.count)  # the lost process's anchor
    for _ in range(3):
        p.run_once()
        with p.sessions() as s:
            assert s.get(Batch, batch.id).state == BATCHED  # on chain, not deep enough: waits
    assert anchored_roots(net).count(batch.merkle_root) == 1  # and was not sent again
    rpc(net.engine, "anvil_mine", hex(3))
    p.run_once()
    with p.sessions() as s:
        b = s.get(Batch, batch.id)
    assert b.state == ANCHORED and b.block_number == receipt["blockNumber"]
    assert b.tx_hash == receipt["transactionHash"].to_0x_hex()
    assert {d.state for d in all_docs(p)} == {ANCHORED}


# ------------------------------------------------------------------ the chain loses anchors


def test_anchors_the_chain_lost_are_anchored_again_with_the_same_root_and_nonces_recover(own_anvil, tmp_path):
    """The node forgets the blocks holding two anchored batches (evm_revert: what a node killed before it
    persisted them does). The pipeline notices (the recorded blocks are gone), sends both batches back to be
    anchored with the same roots, and signs from the node's nonce, which went backwards: without that, new
    transactions would wait behind the gap for ever."""
    net = make_net(own_anvil)
    verifier = Verifier(ChainSource(own_anvil.w3, net.deployment))
    snapshot = rpc(own_anvil, "evm_snapshot")
    p = make_pipeline(net, tmp_path, max_batch=4, reconcile_interval=3600)
    issuer = net.addr("vn_issuer")
    pool = docs_for(net, 11, seed=84)
    p.submit(issuer, pool[:8])
    p.run_until_idle(timeout=60)
    handed_out = [d.wrapped for d in all_docs(p)]
    assert all(verifier.verify(w).status == "VALID" for w in handed_out)
    with p.sessions() as s:
        before = {b.id: b for b in s.scalars(select(Batch))}
    assert rpc(own_anvil, "evm_revert", snapshot) is True  # blocks lost: anchors and the issuer's nonces
    assert all(verifier.verify(w).status == "NOT_ISSUED" for w in handed_out)
    p.submit(issuer, pool[8:])  # new work signs after the lost nonces
    stats = p.run_until_idle(timeout=60)
    assert stats.reanchored == 2 and p.events["reanchored"] == 2 and p.events["nonce_reset"] >= 1
    docs = assert_each_document_anchored_once(net, p.sessions)
    assert [d.wrapped for d in docs[:8]] == handed_out  # never re-wrapped: what was handed out stays valid
    assert all(verifier.verify(w).status == "VALID" for w in handed_out)
    with p.sessions() as s:
        for b in before.values():
            now = s.get(Batch, b.id)
            assert now.merkle_root == b.merkle_root and now.reanchored_count == 1
            assert now.last_reconciled_at is not None  # (the transaction may be the same bytes: same nonce)
            assert own_anvil.w3.eth.get_transaction_receipt(now.tx_hash)["blockNumber"] == now.block_number
            events = [
                e.event
                for e in s.scalars(select(BatchEvent).where(BatchEvent.batch_id == b.id).order_by(BatchEvent.id))
            ]
            assert events == ["ANCHORED", EV_REANCHOR, "ANCHORED"]


def test_periodic_reconciliation_finds_a_loss_the_recorded_blocks_do_not_show(own_anvil, tmp_path):
    """Batch A's block is lost, and batch C is recorded on the new chain above it before any check ran: walking
    down the recorded blocks stops at C's, which matches. The periodic check over the recent window (also run
    when the head is seen going back, and by a pipeline that starts) finds A."""
    net = make_net(own_anvil)
    snapshot = rpc(own_anvil, "evm_snapshot")
    p = make_pipeline(net, tmp_path, max_batch=4, reconcile_interval=3600)
    issuer = net.addr("vn_issuer")
    pool = docs_for(net, 8, seed=86)
    p.submit(issuer, pool[:4])
    p.run_until_idle(timeout=60)
    with p.sessions() as s:
        lost = s.scalars(select(Batch)).one()
    assert rpc(own_anvil, "evm_revert", snapshot) is True
    rpc(own_anvil, "anvil_mine", hex(5))  # C lands above A's lost block
    net.actors["vn_issuer"].reset_nonce()
    p.submit(issuer, pool[4:])
    assert p._form_batches(force=True) == 4 and p._send_batches() == 1 and p._confirm_batches() == 1  # C
    p._last_head = None  # the head was not seen going back
    p.run_once()
    with p.sessions() as s:
        assert s.get(Batch, lost.id).state == ANCHORED  # not noticed: the interval has not passed
    p.config.reconcile_interval = 0.0
    assert p.run_once().reanchored == 1
    p.run_until_idle(timeout=60)
    assert_each_document_anchored_once(net, p.sessions)
    with p.sessions() as s:
        assert s.get(Batch, lost.id).reanchored_count == 1


def test_a_pipeline_that_starts_checks_the_recent_window(own_anvil, tmp_path):
    net = make_net(own_anvil)
    snapshot = rpc(own_anvil, "evm_snapshot")
    p = make_pipeline(net, tmp_path, max_batch=4, reconcile_interval=3600)
    p.submit(net.addr("vn_issuer"), docs_for(net, 4, seed=89))
    p.run_until_idle(timeout=60)
    p.close()
    assert rpc(own_anvil, "evm_revert", snapshot) is True
    rpc(own_anvil, "anvil_mine", hex(20))  # the chain regrew past the recorded block
    net.actors["vn_issuer"].reset_nonce()
    again = make_pipeline(net, tmp_path, max_batch=4, reconcile_interval=3600)
    assert again.run_until_idle(timeout=60).reanchored == 1
    assert_each_document_anchored_once(net, again.sessions)


# ------------------------------------------------------------------ through the service


def test_the_service_reanchors_shows_it_and_counts_it(own_anvil, tmp_path):
    net = make_net(own_anvil)
    snapshot = rpc(own_anvil, "evm_snapshot")
    api, server, thread = start_api(net, tmp_path)
    try:
        with api.client("issuer_vn") as c:
            r = c.post("/v1/documents", json={"documents": form_ds(api, 3, seed=88)})
            ids = [d["id"] for d in r.json()["documents"]]
            first = wait_until(
                lambda: (lambda s: s if s["state"] == "ANCHORED" else None)(c.get(f"/v1/documents/{ids[0]}").json())
            )
            assert first["reanchoredCount"] == 0 and [e["event"] for e in first["batchHistory"]] == ["ANCHORED"]
            assert rpc(own_anvil, "evm_revert", snapshot) is True
            again = wait_until(
                lambda: (lambda s: s if s["state"] == "ANCHORED" and s["reanchoredCount"] else None)(
                    c.get(f"/v1/documents/{ids[0]}").json()
                ),
                timeout=60,
            )
            assert again["wrapped"] == first["wrapped"]
            assert (
                own_anvil.w3.eth.get_transaction_receipt(again["transactionHash"])["blockNumber"]
                == again["blockNumber"]
            )
            assert [e["event"] for e in again["batchHistory"]] == ["ANCHORED", "REANCHOR", "ANCHORED"]
            assert "no longer has" in again["batchHistory"][1]["detail"]
            batch = next(b for b in c.get("/v1/batches").json() if b["id"] == again["batchId"])
            assert batch["reanchoredCount"] == 1 and batch["state"] == "ANCHORED" and batch["lastReconciledAt"]
            assert [e["event"] for e in batch["history"]] == ["ANCHORED", "REANCHOR", "ANCHORED"]
        metrics = httpx.get(api.url + "/metrics").text
        assert "certnet_batches_reanchored_total 1.0" in metrics
        with api.client("customs_th") as c:
            assert c.post("/v1/verify", json={"document": again["wrapped"]}).json()["status"] == "VALID"
    finally:
        stop_api(server, thread)


def test_sigkill_of_the_node_during_api_submissions_loses_no_acknowledged_document(own_anvil, tmp_path):
    """The real failure: the anvil node (with its state file, as `certnet node up` runs it) is killed with SIGKILL
    at random moments while an issuer submits through the API, then started again from its data directory.
    Every acknowledged document ends VALID on chain, none is in two batches, no root is anchored twice."""
    net = make_net(own_anvil)
    wait_state_persisted(own_anvil, own_anvil.w3.eth.block_number)  # the deployment survives the first kill
    api, server, thread = start_api(net, tmp_path, max_batch_age=0.1, max_batch=7)
    node = own_anvil
    pool = form_ds(api, 1500, seed=1000)  # distinct reference numbers
    sub = Submitter(api, pool).start()
    acknowledged, failures, stop, submitter = sub.acknowledged, sub.failures, sub.stop, sub.thread
    rng = random.Random(13)
    lost_any = False
    try:
        for _ in range(4):
            start = len(acknowledged)
            wait_until(lambda start=start: len(acknowledged) >= start + 6, timeout=60)
            deadline = time.monotonic() + rng.uniform(0.2, 1.5)  # a random moment of the submissions
            wait_until(lambda deadline=deadline: time.monotonic() >= deadline, timeout=5, interval=0.02)
            head = node.w3.eth.block_number
            node.kill()
            node = AnvilEngine(own_anvil.data_dir, port=own_anvil.port).start()
            lost_any |= node.w3.eth.block_number < head
        stop.set()
        submitter.join(30)
        assert acknowledged and not failures, failures[:3]
        wrapped = wait_all_anchored(api, acknowledged, timeout=240)
        docs = assert_each_document_anchored_once(net, api.service.sessions)
        assert {d.id for d in docs} == set(acknowledged)
        verifier = Verifier(ChainSource(node.w3, net.deployment))
        verdicts = verifier.verify_many(wrapped)
        assert [v.status for v in verdicts] == ["VALID"] * len(wrapped)
        print(f"{len(acknowledged)} documents; node lost blocks: {lost_any}; events: {api.service.pipeline.events}")
    finally:
        stop.set()
        stop_api(server, thread)
        api.service.stop()
        node.kill()


# ------------------------------------------------------------------ bulk issuance reconciles its output directory


def test_issue_bulk_run_again_anchors_what_the_chain_lost(own_anvil, tmp_path):
    """`certnet issue-bulk` journals its anchorings; run again over its output directory after the node lost the
    blocks, it anchors those batches again (same roots: the batch files stay valid) and says so."""
    from certnet.node.keys import create_keystore
    from tests.support.cli import BATCH, COUNT, bulk, check_output, source

    net = make_net(own_anvil)
    home = tmp_path / "home"
    net.deployment.rpc_url = own_anvil.rpc_url
    net.deployment.save(home / "deployment.json")
    (home / "passphrase").write_text("cli-test-pass\n")
    create_keystore(home / "keys" / "vn-issuer.json", "cli-test-pass", net.actors["vn_issuer"].account.key)
    src, docs = source(tmp_path, seed=90)
    out = tmp_path / "out"
    snapshot = rpc(own_anvil, "evm_snapshot")
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH), "--type", "form-d")
    assert r.returncode == 0, r.stderr
    roots = check_output(net, out, docs)
    journal = [json.loads(line) for line in (out / "anchors.ndjson").read_text().splitlines()]
    assert sorted(j["root"] for j in journal) == sorted(roots)
    assert rpc(own_anvil, "evm_revert", snapshot) is True  # the node lost the anchoring blocks
    assert all(net.store().anchor_of(root) is None for root in roots)
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH))
    assert r.returncode == 0, r.stderr
    n = -(-COUNT // BATCH)
    assert f"({n} written by an earlier run); {n} the chain had lost, anchored again" in r.stdout
    assert "no longer has it" in r.stderr
    assert check_output(net, out, docs) == roots  # the same roots, anchored once each on the chain as it is
    assert sorted(anchored_roots(net)) == sorted(roots)
    r = bulk(home, str(src), "--out", str(out), "--batch", str(BATCH))  # and nothing more after that
    assert r.returncode == 0 and "anchored again" not in r.stdout


# ------------------------------------------------------------------ actions


def test_a_failed_action_can_be_requested_again_a_pending_one_is_returned(anvil_net, tmp_path):
    """A revocation FAILED (the root was not anchored then) is requested again once it is: the same action goes
    back to PENDING and is done; a request repeated while it is pending (or done) returns it."""
    net = anvil_net
    p = make_pipeline(net, tmp_path)
    issuer = net.addr("vn_issuer")
    root = os.urandom(32).hex()
    first = p.request_revocation(issuer, root=root, reason="FRAUDULENT")
    p.run_until_idle()
    with p.sessions() as s:
        failed = s.get(Action, first.id)
    assert failed.state == FAILED and "NotIssued" in failed.error
    assert p.request_revocation(issuer, root=root, reason="FRAUDULENT").id == first.id  # requested again
    net.store("vn_issuer").anchor(root, "FORM_D", 1)  # anchored since (by this authority's key)
    with p.sessions() as s:
        again = s.get(Action, first.id)
    assert again.state == PENDING and again.error is None  # the repeated request above requeued it
    assert p.request_revocation(issuer, root=root, reason="FRAUDULENT").id == first.id  # pending: returned
    p.run_until_idle()
    with p.sessions() as s:
        done = s.get(Action, first.id)
    assert done.state == DONE and net.store().is_revoked(root)
    assert p.request_revocation(issuer, root=root).state == DONE  # done: returned as it is


def test_an_outbox_created_before_gets_the_new_columns(tmp_path):
    """`open_database` adds the columns added since an outbox was created (create_all adds tables, never
    columns): an old database, its rows kept, gains reanchored_count and last_reconciled_at."""
    import sqlalchemy

    url = f"sqlite:///{tmp_path / 'old.db'}"
    open_database(url)
    engine = sqlalchemy.create_engine(url)
    with engine.begin() as conn:  # the outbox as it was before those columns
        conn.execute(sqlalchemy.text("ALTER TABLE outbox_batches DROP COLUMN reanchored_count"))
        conn.execute(sqlalchemy.text("ALTER TABLE outbox_batches DROP COLUMN last_reconciled_at"))
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO outbox_batches (issuer, document_type, merkle_root, count, state, "
                "created_at, updated_at) VALUES ('0x1', 'FORM_D', 'aa', 1, 'ANCHORED', "
                "'2024-01-01 00:00:00', '2024-01-01 00:00:00')"
            )
        )
    assert "reanchored_count" not in {c["name"] for c in sqlalchemy.inspect(engine).get_columns("outbox_batches")}
    sessions = open_database(url)
    with sessions() as s:
        b = s.scalars(select(Batch)).one()
    assert b.merkle_root == "aa" and b.reanchored_count == 0 and b.last_reconciled_at is None
    open_database(url)  # and again: nothing to add
