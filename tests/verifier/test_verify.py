"""Verification verdicts over a mixed corpus, trustless against anvil; errors never give VALID."""

from __future__ import annotations

import time

import pytest

from certnet.issuer import samples
from certnet.issuer.envelope import complete_envelope, network_block
from certnet.node.deploy import Deployment
from certnet.node.engines import AnvilEngine
from certnet.verifier.sources import ChainSource
from certnet.verifier.verdict import EXIT_CODES
from certnet.verifier.verify import Verifier
from certnet.verifier.wrap import wrap_documents
from tests.support.corpus import build_corpus

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


@pytest.fixture(scope="module")
def corpus_net(anvil_engine, tmp_path_factory):
    from tests.conftest import make_net

    net = make_net(anvil_engine)
    return net, build_corpus(net, tmp_path_factory.mktemp("corpus"))


def test_trustless_verdicts_over_mixed_corpus(corpus_net):
    net, corpus = corpus_net
    verifier = Verifier(ChainSource(net.engine.w3, net.deployment))
    names = list(corpus)
    verdicts = verifier.verify_many([corpus[n][0] for n in names])
    head = net.engine.w3.eth.block_number
    for name, v in zip(names, verdicts, strict=True):
        expected = corpus[name][1]
        assert v.status == expected, (name, v.status, [(c.type, c.status, c.code, c.message) for c in v.checks])
        assert v.message
        assert all(c.message for c in v.checks)
        if expected not in ("MALFORMED",):
            assert v.chain_id == net.engine.w3.eth.chain_id and v.block_number == head
    by = dict(zip(names, verdicts, strict=True))
    ok = by["valid"]
    assert [c.status for c in ok.checks] == ["VALID", "VALID", "VALID"]
    assert ok.issuer == {
        "address": net.addr("vn_issuer"),
        "store": net.stores["vn"],
        "country": "VN",
        "name": "VCCI Ho Chi Minh City",
    }
    rev = by["revoked_document"]
    assert rev.revocation["reason"] == "FRAUDULENT" and rev.revocation["revokedAtUtc"].endswith("UTC")
    assert not rev.revocation["wholeBatch"] and by["revoked_batch"].revocation["wholeBatch"]
    assert "fraudulent" in rev.check("DOCUMENT_STATUS").message
    sup = by["superseded"]
    assert sup.successor["document"] == by["valid_successor"].document["targetHash"]
    assert by["tampered"].check("DOCUMENT_INTEGRITY").code == "TARGET_HASH_MISMATCH"
    assert by["tampered"].check("DOCUMENT_STATUS").status == "SKIPPED"
    assert by["compromised_issuer"].check("ISSUER_IDENTITY").code == "ISSUER_NOT_AUTHORISED"
    assert by["country_mismatch"].check("ISSUER_IDENTITY").code == "COUNTRY_MISMATCH"
    assert by["signed_by_issuer"].check("ISSUER_SIGNATURE").status == "VALID"
    assert by["signed_by_other"].check("ISSUER_SIGNATURE").code == "SIGNER_MISMATCH"
    foreign = by["foreign"]
    assert foreign.check("DOCUMENT_INTEGRITY").status == "VALID"
    assert (
        foreign.check("DOCUMENT_STATUS").status == "SKIPPED" and "chain 1" in foreign.check("DOCUMENT_STATUS").message
    )
    assert by["unissued"].check("DOCUMENT_STATUS").code == "NOT_ISSUED"
    assert set(EXIT_CODES) >= {v.status for v in verdicts}


def test_one_status_call_for_many_documents(corpus_net, monkeypatch):
    net, corpus = corpus_net
    source = ChainSource(net.engine.w3, net.deployment)
    calls = []
    original = source.registry.status_of
    monkeypatch.setattr(
        source.registry,
        "status_of",
        lambda queries, block: calls.append(len(queries)) or original(queries, block=block),
    )
    docs = [corpus["valid"][0]] * 50 + [corpus["revoked_document"][0]] * 50
    verdicts = Verifier(source).verify_many(docs)
    assert calls == [100]  # one call (the binding splits only beyond MAX_STATUS_QUERIES)
    assert [v.status for v in verdicts] == ["VALID"] * 50 + ["REVOKED"] * 50


def test_unreachable_node_gives_error_never_valid(corpus_net, tmp_path):
    net, corpus = corpus_net
    dead = AnvilEngine(tmp_path / "dead")  # never started: nothing answers on its port
    verdicts = Verifier(ChainSource(dead.w3, net.deployment)).verify_many([corpus["valid"][0], corpus["tampered"][0]])
    msg = verdicts[0].check("DOCUMENT_STATUS").message
    assert verdicts[0].status == "ERROR" and "the node could not be reached" in msg, msg
    assert "HTTPConnectionPool" not in msg and "Max retries" not in msg  # a sentence, not the library's exception
    assert verdicts[0].check("DOCUMENT_INTEGRITY").status == "VALID"
    assert verdicts[1].status == "TAMPERED"


def anchored(net, who: str, doc_type: str, country: str, anchor_as: str | None = None, seed: int = 0) -> dict:
    """A one-document batch of `doc_type` issued in `country`, anchored by `who` as `anchor_as` (default: its type)."""
    raw = next(
        iter(samples.generate(1, doc_type, seed=seed, network=network_block(net.deployment), issuing_country=country))
    )
    raw.pop("issuers")
    store = net.store(who)
    root, (wrapped,) = wrap_documents([complete_envelope(raw, net.deployment, "an issuer", store.address, doc_type)])
    store.anchor(root, anchor_as or doc_type, 1)
    return wrapped


def test_a_document_anchored_as_another_type_is_not_valid(corpus_net):
    """The Thai issuer may issue Form D only: an e-cert it anchors (as a Form D, the only type it may anchor)
    must not pass as an e-cert it was authorised for."""
    net, _ = corpus_net
    ecert = anchored(net, "th_issuer", "ECERT", "TH", anchor_as="FORM_D", seed=61)
    form_d = anchored(net, "th_issuer", "FORM_D", "TH", seed=62)
    wrong, right = Verifier(ChainSource(net.engine.w3, net.deployment)).verify_many([ecert, form_d])
    assert right.status == "VALID"
    assert wrong.status == "UNAUTHORIZED_ISSUER", wrong.status
    identity = wrong.check("ISSUER_IDENTITY")
    assert identity.status == "INVALID" and identity.code == "TYPE_MISMATCH", (identity.code, identity.message)
    assert wrong.check("DOCUMENT_STATUS").status == "VALID"  # anchored and not revoked: only the type is wrong


def test_node_dies_between_snapshot_and_read(tmp_path):
    """A real node, killed (SIGKILL) after the verifier pinned its block and before it read the statuses."""
    from tests.conftest import make_net

    engine = AnvilEngine(tmp_path / "mortal").start()
    try:
        net = make_net(engine)
        doc = anchored(net, "vn_issuer", "FORM_D", "VN", seed=63)
        source = ChainSource(engine.w3, net.deployment)
        assert Verifier(source).verify(doc).status == "VALID"
        pinned: list[int] = []
        real_snapshot = source.snapshot

        def snapshot_then_die() -> tuple[int, str]:
            taken = real_snapshot()
            pinned.append(taken[0])
            engine.kill()
            return taken

        source.snapshot = snapshot_then_die  # type: ignore[method-assign]
        t0 = time.monotonic()
        v = Verifier(source).verify(doc)
        assert time.monotonic() - t0 < 10
        assert engine.proc is not None and engine.proc.poll() is not None  # it really died
        msg = v.check("DOCUMENT_STATUS").message
        assert v.status == "ERROR", (v.status, msg)
        assert f"at block {pinned[0]}" in msg and "the node could not be reached" in msg, msg
        assert "HTTPConnectionPool" not in msg and "Errno" not in msg
        assert v.check("DOCUMENT_INTEGRITY").status == "VALID"
    finally:
        engine.stop()


def test_missing_network_gives_error(corpus_net):
    net, corpus = corpus_net
    d = Deployment(**{**net.deployment.__dict__, "chain_id": 999})
    v = Verifier(ChainSource(net.engine.w3, d)).verify(corpus["valid"][0])
    assert v.status == "ERROR" and "chain 999" in v.check("DOCUMENT_STATUS").message


def test_offline_checks_integrity_only(corpus_net):
    _, corpus = corpus_net
    offline = Verifier(None)
    assert offline.verify(corpus["valid"][0]).status == "INTEGRITY_ONLY"
    assert offline.verify(corpus["revoked_document"][0]).status == "INTEGRITY_ONLY"  # revocation needs the chain
    assert offline.verify(corpus["tampered"][0]).status == "TAMPERED"
    assert offline.verify(corpus["malformed"][0]).status == "MALFORMED"
    signed = offline.verify(corpus["signed_by_issuer"][0])
    assert signed.check("ISSUER_SIGNATURE").status == "SKIPPED" and signed.status == "INTEGRITY_ONLY"


def test_json_text_input_and_garbage(corpus_net):
    import json

    net, corpus = corpus_net
    verifier = Verifier(ChainSource(net.engine.w3, net.deployment))
    assert verifier.verify(json.dumps(corpus["valid"][0])).status == "VALID"
    assert verifier.verify("{not json").status == "MALFORMED"
    assert verifier.verify(b"\xff\xfe").status == "MALFORMED"
    assert verifier.verify([1, 2]).status == "MALFORMED"


def test_trustless_and_indexed_give_the_same_verdicts(corpus_net, tmp_path):
    from certnet.index.follower import Indexer
    from certnet.index.source import IndexedSource

    net, corpus = corpus_net
    db = f"sqlite:///{tmp_path / 'index.db'}"
    indexer = Indexer(net.engine.w3, net.deployment, db)
    indexed_at = indexer.sync()
    names = list(corpus)
    docs = [corpus[n][0] for n in names]
    chain = Verifier(ChainSource(net.engine.w3, net.deployment)).verify_many(docs)
    index = Verifier(IndexedSource(db, net.deployment)).verify_many(docs)
    for name, c, i in zip(names, chain, index, strict=True):
        assert i.status == c.status == corpus[name][1], name
        assert [(k.type, k.status, k.code, k.message) for k in i.checks] == [
            (k.type, k.status, k.code, k.message.replace(f"block {c.block_number}", f"block {i.block_number}"))
            for k in c.checks
        ], name
        assert (i.revocation, i.successor, i.issuer) == (c.revocation, c.successor, c.issuer), name
        assert i.source == "index" and c.source == "chain"
        if c.status != "MALFORMED":
            assert i.block_number == indexed_at


def test_index_not_ready_gives_error(corpus_net, tmp_path):
    from certnet.index import upgrade
    from certnet.index.source import IndexedSource

    net, corpus = corpus_net
    db = f"sqlite:///{tmp_path / 'empty.db'}"
    upgrade(db)
    v = Verifier(IndexedSource(db, net.deployment)).verify(corpus["valid"][0])
    assert v.status == "ERROR" and "index" in v.check("DOCUMENT_STATUS").message


def _said(v) -> tuple:
    return v.status, [(c.type, c.status, c.code, c.message) for c in v.checks], v.block_number, v.block_hash


def test_reads_in_chunks_overlapped_give_the_one_read_verdicts_at_one_block(corpus_net, monkeypatch):
    """Beyond `read_chunk` documents the verifier reads each chunk's statuses in a background thread while it
    checks the next chunk's integrity: the verdicts are those of one read, every chunk read at the block pinned
    before the first (a block mined in between changes nothing)."""
    import threading

    net, corpus = corpus_net
    names = list(corpus)
    docs = [corpus[n][0] for n in names] * 2
    whole = Verifier(ChainSource(net.engine.w3, net.deployment)).verify_many(docs)
    source = ChainSource(net.engine.w3, net.deployment)
    monkeypatch.setattr(source.registry, "MAX_STATUS_QUERIES", 4)
    assert source.read_chunk == 4 < len(docs)
    calls: list[tuple[int, int, str]] = []
    original = source.status_of

    def status_of(queries, block):
        calls.append((len(queries), block, threading.current_thread().name))
        out = original(queries, block)
        if len(calls) == 1:
            net.engine.advance_time(1)  # a block is mined: the later chunks still read the pinned block
        return out

    monkeypatch.setattr(source, "status_of", status_of)
    chunked = Verifier(source).verify_many(docs)
    assert [_said(v) for v in chunked] == [_said(v) for v in whole]
    assert len(calls) >= len(docs) // 4 - 1 and all(n <= 4 for n, _, _ in calls)
    assert {b for _, b, _ in calls} == {whole[0].block_number}
    assert net.engine.w3.eth.block_number > whole[0].block_number
    assert all(t.startswith("certnet-status") for _, _, t in calls), calls


def test_a_chunk_that_cannot_be_read_gives_error_never_valid(corpus_net, monkeypatch):
    from certnet.verifier.sources import SourceError

    net, corpus = corpus_net
    source = ChainSource(net.engine.w3, net.deployment)
    monkeypatch.setattr(source.registry, "MAX_STATUS_QUERIES", 2)
    calls: list[int] = []
    original = source.status_of

    def status_of(queries, block):
        calls.append(len(queries))
        if len(calls) == 2:
            raise SourceError(f"the registry could not be read at block {block}: the node went away")
        return original(queries, block)

    monkeypatch.setattr(source, "status_of", status_of)
    docs = [corpus["valid"][0]] * 6 + [corpus["tampered"][0]]
    verdicts = Verifier(source).verify_many(docs)
    assert len(calls) >= 2
    assert [v.status for v in verdicts] == ["ERROR"] * 6 + ["TAMPERED"]
    assert "the node went away" in verdicts[0].check("DOCUMENT_STATUS").message
