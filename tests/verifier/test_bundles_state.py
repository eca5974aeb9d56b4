"""Offline verification's state part on a real anvil: storage proven through eth_getProof nodes gives exactly the
statuses and verdicts the contracts' own batched view gives at that block, over the mixed corpus (revoked,
superseded, compromised key, country mismatch, signatures, another network, ...). The header chain is not checked
here (anvil seals nothing): tests/verifier/test_bundles_geth.py checks whole bundles on a Clique network."""

from __future__ import annotations

import pytest

from certnet.verifier.bundle import (
    StateView,
    query_bytes,
    storage_layout,
)
from certnet.verifier.bundle_maker import queries_for
from certnet.verifier.chainproof import ChainProofError, ProvenState, Unproven
from certnet.verifier.sources import ChainSource
from certnet.verifier.verify import Verifier
from tests.support.corpus import build_corpus
from tests.support.state import proven as _proven
from tests.support.state import queries as _queries
from tests.support.state import source as _source

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


@pytest.fixture(scope="module")
def corpus_net(anvil_engine, tmp_path_factory):
    from tests.conftest import make_net

    net = make_net(anvil_engine)
    return net, build_corpus(net, tmp_path_factory.mktemp("corpus"))


def test_layout_comes_from_the_compiler():
    layout = storage_layout()
    assert layout["DocumentStore"]["_anchors"] == 2 and layout["IssuerRegistry"]["_keys"] == 8
    assert layout["structs"]["Key"]["compromisedSince"] == [1, 0, 5]
    assert layout["structs"]["Checkpoint208"]["_value"] == [0, 6, 26]


def test_proven_statuses_equal_the_contracts_view(corpus_net):
    net, corpus = corpus_net
    docs = [d for d, _ in corpus.values()]
    queries = _queries(net, docs)
    # and an unregistered store, a wrong proof, a document never anchored
    queries.append((net.addr("outsider"), queries[0][1], queries[0][2], queries[0][3]))
    queries.append((queries[0][0], queries[0][1], queries[0][2], ["11" * 32]))
    queries.append((queries[0][0], "22" * 32, "22" * 32, []))
    block, state, _ = _proven(net, queries)
    view = StateView(state.storage, bytes.fromhex(net.deployment.issuer_registry[2:]))
    want = net.registry().status_of(queries, block=block)
    got = [view.status_of(*query_bytes(q)) for q in queries]
    assert got == want
    assert (
        any(s.revoked for s in got)
        and any(s.superseded for s in got)
        and any(not s.issuer_authorised and s.issued for s in got)
    )


def test_verdicts_from_proofs_equal_online_verdicts(corpus_net):
    net, corpus = corpus_net
    names = list(corpus)
    docs = [corpus[n][0] for n in names]
    queries = _queries(net, docs)
    _, signers, _ = queries_for(docs)
    block, state, _ = _proven(net, queries, signers)
    online = Verifier(ChainSource(net.engine.w3, net.deployment)).verify_many(docs)
    offline = Verifier(_source(net, state, block)).verify_many(docs)
    for name, a, b in zip(names, online, offline, strict=True):
        assert a.block_number == b.block_number == block
        assert b.status == a.status == corpus[name][1], name
        assert [(c.type, c.status, c.code, c.message) for c in b.checks] == [
            (c.type, c.status, c.code, c.message) for c in a.checks
        ], name
        assert (b.issuer, b.revocation, b.successor, b.message) == (a.issuer, a.revocation, a.successor, a.message)


def test_a_slot_the_nodes_do_not_prove_gives_error_for_that_document_only(corpus_net):
    net, corpus = corpus_net
    valid, revoked = corpus["valid"][0], corpus["revoked_document"][0]
    block, state, nodes = _proven(net, _queries(net, [valid]))
    verdicts = Verifier(_source(net, state, block)).verify_many([valid, revoked])
    assert verdicts[0].status == "VALID"
    assert verdicts[1].status == "ERROR" and "does not prove" in verdicts[1].check("DOCUMENT_STATUS").message
    # without the storage nodes of the store, nothing about it can be read
    thin = ProvenState(state.state_root, [bytes.fromhex(n[2:]) for n in nodes[:3]])
    v = Verifier(_source(net, thin, block)).verify(valid)
    assert v.status == "ERROR"


def test_tampered_proof_node_is_refused(corpus_net):
    net, corpus = corpus_net
    queries = _queries(net, [corpus["valid"][0]])
    block, state, nodes = _proven(net, queries)
    for i in range(len(nodes)):
        raw = bytearray(bytes.fromhex(nodes[i][2:]))
        raw[len(raw) // 2] ^= 1
        forged = [bytes.fromhex(n[2:]) for n in nodes]
        forged[i] = bytes(raw)
        try:
            v = Verifier(_source(net, ProvenState(state.state_root, forged), block)).verify(corpus["valid"][0])
        except ChainProofError:
            continue
        assert v.status == "ERROR", i


def test_unproven_raises(corpus_net):
    net, _ = corpus_net
    state = ProvenState(bytes(net.engine.w3.eth.get_block("latest")["stateRoot"]), [])
    with pytest.raises(Unproven):
        state.account(bytes(20))
