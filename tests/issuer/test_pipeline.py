"""The anchoring pipeline: submission, batching by count and age, anchoring, revocation, supersession,
and crash safety with a real worker process killed (SIGKILL) at every point between two states."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from certnet.issuer.faults import CRASH_ENV, POINTS
from certnet.issuer.outbox import (
    ANCHORED,
    BATCHED,
    DONE,
    FAILED,
    SENT,
    SUBMITTED,
    Action,
    Batch,
    Document,
    open_database,
)
from certnet.issuer.pipeline import SubmissionError
from certnet.node.keys import create_keystore
from certnet.verifier.merkle import verify_proof
from tests.conftest import TEST_SCRYPT_N
from tests.support.pipeline import all_docs, docs_for, make_pipeline

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


def test_submit_batch_anchor(net, tmp_path):
    p = make_pipeline(net, tmp_path, max_batch=4)
    records = p.submit(net.addr("vn_issuer"), docs_for(net, 10))
    assert [r.state for r in records] == [SUBMITTED] * 10
    stats = p.run_until_idle()
    assert stats.anchored == 3  # 4 + 4 + 2
    docs = all_docs(p)
    assert all(d.state == ANCHORED for d in docs)
    view = net.store()
    with p.sessions() as s:
        batches = list(s.scalars(select(Batch)))
    assert sorted(b.count for b in batches) == [2, 4, 4]
    for b in batches:
        a = view.anchor_of(b.merkle_root)
        assert a.key == net.addr("vn_issuer") and a.document_count == b.count and a.document_type == 1
        assert a.block_number == b.block_number and a.anchored_at == b.anchored_at
    for d in docs:
        sig = d.wrapped["signature"]
        assert verify_proof(sig["targetHash"], sig["proof"], sig["merkleRoot"])
        assert view.is_issued(sig["merkleRoot"], sig["targetHash"], sig["proof"])
        assert d.wrapped["data"]["issuers"][0]["documentStore"].endswith(":" + net.stores["vn"])


def test_anchor_found_on_chain_keeps_its_transaction(net, tmp_path, monkeypatch):
    """The race of a rebroadcast: the receipt and the anchor read just before the transaction was mined, the
    rebroadcast refused (nonce taken by that same transaction): the batch goes back to BATCHED, the next pass
    finds its root on chain and records it with the transaction that anchored it, read from the log."""
    p = make_pipeline(net, tmp_path)
    p.submit(net.addr("vn_issuer"), docs_for(net, 3, seed=21))
    assert p._form_batches(force=True) == 3 and p._send_batches() == 1
    with p.sessions() as s:
        sent = s.scalars(select(Batch)).one()
    assert sent.state == SENT and sent.tx_hash
    net.engine.w3.eth.wait_for_transaction_receipt(sent.tx_hash, timeout=30)  # mined: a resend is refused
    real_anchor_of = p._anchor_on_chain
    monkeypatch.setattr(p, "_receipt", lambda tx_hash: None)
    monkeypatch.setattr(p, "_anchor_on_chain", lambda batch: None)
    assert p._confirm_batches() == 0
    with p.sessions() as s:
        batch = s.get(Batch, sent.id)
        assert batch.state == BATCHED and batch.tx_hash is None  # the rebroadcast was refused: nonce taken
    monkeypatch.setattr(p, "_anchor_on_chain", real_anchor_of)
    p.run_until_idle()
    with p.sessions() as s:
        batch = s.get(Batch, sent.id)
    assert batch.state == ANCHORED and batch.tx_hash == sent.tx_hash
    assert batch.block_number == net.engine.w3.eth.get_transaction_receipt(sent.tx_hash)["blockNumber"]


def test_block_not_visible_yet_is_recorded_on_a_later_pass(embedded_net, tmp_path, monkeypatch):
    """A node may answer the receipt a moment before the block (seen with anvil): the batch stays SENT and the
    next pass records it, with the block's real time."""
    from web3.exceptions import BlockNotFound

    p = make_pipeline(embedded_net, tmp_path, max_batch=4)
    p.submit(embedded_net.addr("vn_issuer"), docs_for(embedded_net, 4))
    real_get_block = p.w3.eth.get_block
    misses: list[int] = []

    def late_block(number, *args, **kw):
        if isinstance(number, int) and not misses:
            misses.append(number)
            raise BlockNotFound(f"Block with id: {number!r} not found.")
        return real_get_block(number, *args, **kw)

    monkeypatch.setattr(p.w3.eth, "get_block", late_block)
    first = p.run_once(force=True)
    assert misses and first.sent == 1 and first.anchored == 0
    assert {d.state for d in all_docs(p)} == {SENT}
    p.run_until_idle()
    assert {d.state for d in all_docs(p)} == {ANCHORED}
    with p.sessions() as s:
        batch = s.scalars(select(Batch)).one()
    assert batch.anchored_at == real_get_block(batch.block_number)["timestamp"]


def test_repeated_submission_returns_existing_record(net, tmp_path):
    p = make_pipeline(net, tmp_path)
    docs = docs_for(net, 3)
    first = p.submit(net.addr("vn_issuer"), docs)
    again = p.submit(net.addr("vn_issuer"), docs)
    assert [d.id for d in first] == [d.id for d in again]
    with p.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Document)) == 3
    changed = dict(docs[1], importingCountry="SG" if docs[1]["importingCountry"] != "SG" else "TH")
    with pytest.raises(SubmissionError) as info:
        p.submit(net.addr("vn_issuer"), [changed])
    assert info.value.code == "REFERENCE_CONFLICT" and info.value.path == "documents.0.referenceNumber"
    p.run_until_idle()
    assert [d.id for d in p.submit(net.addr("vn_issuer"), docs)] == [d.id for d in first]  # still after anchoring


def test_submission_errors_name_the_place(net, tmp_path):
    p = make_pipeline(net, tmp_path)
    good = docs_for(net, 2)
    bad = dict(good[1])
    bad["goods"] = [dict(bad["goods"][0], hsCode="12")]
    with pytest.raises(SubmissionError) as info:
        p.submit(net.addr("vn_issuer"), [good[0], bad])
    assert info.value.code == "SCHEMA_INVALID" and info.value.path == "documents.1"
    assert "goods.0.hsCode" in str(info.value)
    with p.sessions() as s:  # nothing of a refused submission is kept
        assert s.scalar(select(func.count()).select_from(Document)) == 0
    th_doc = dict(good[0], issuingCountry="TH")
    with pytest.raises(SubmissionError) as info:
        p.submit(net.addr("vn_issuer"), [th_doc])
    assert info.value.code == "WRONG_COUNTRY"
    with pytest.raises(SubmissionError) as info:
        p.submit(net.addr("th_issuer"), good)
    assert info.value.code == "UNKNOWN_ISSUER"
    dup = [good[0], dict(good[0])]
    with pytest.raises(SubmissionError) as info:
        p.submit(net.addr("vn_issuer"), dup)
    assert info.value.code == "DUPLICATE_REFERENCE" and info.value.path == "documents.1.referenceNumber"
    foreign = dict(good[0], network={"chain": "ETH", "chainId": "1", "name": "mainnet"})
    with pytest.raises(SubmissionError) as info:
        p.submit(net.addr("vn_issuer"), [foreign])
    assert info.value.code == "WRONG_NETWORK"
    with pytest.raises(SubmissionError) as info:
        p.submit(net.addr("vn_issuer"), ["not an object"])  # type: ignore[list-item]
    assert info.value.code == "MALFORMED_DOCUMENT"


def test_batching_by_count_and_age(embedded_net, tmp_path):
    p = make_pipeline(embedded_net, tmp_path, max_batch=5, max_age=3600)
    p.submit(embedded_net.addr("vn_issuer"), docs_for(embedded_net, 7))
    stats = p.run_once()
    assert stats.batched == 5 and stats.anchored == 1  # a full batch goes at once
    assert sorted(d.state for d in all_docs(p)).count(SUBMITTED) == 2
    assert p.run_once().batched == 0  # the rest is younger than max_age: it waits
    time.sleep(0.05)
    p.config.max_age = 0.01  # now they are older than the batch age
    assert p.run_once().batched == 2
    assert all(d.state == ANCHORED for d in all_docs(p))


def test_revocation_and_supersession_through_the_outbox(net, tmp_path):
    p = make_pipeline(net, tmp_path, max_batch=10)
    issuer = net.addr("vn_issuer")
    records = p.submit(issuer, docs_for(net, 6))
    # queued before anchoring: waits, is not lost
    revoke = p.request_revocation(issuer, document_id=records[0].id, reason="DATA_CORRECTED")
    assert p.request_revocation(issuer, document_id=records[0].id, reason="DATA_CORRECTED").id == revoke.id
    p.run_until_idle()
    docs = {d.id: d for d in all_docs(p)}
    view = net.store()
    target = docs[records[0].id].wrapped["signature"]["targetHash"]
    rev = view.revocation_of(target)
    assert rev is not None and rev.reason == 2
    # supersede doc 1 by a corrected version submitted later
    corrected = dict(docs[records[1].id].raw, referenceNumber=docs[records[1].id].raw["referenceNumber"] + "-R")
    (new,) = p.submit(issuer, [corrected])
    p.request_supersession(issuer, records[1].id, new.id)
    # revoke the whole batch of the others
    p.run_until_idle()
    docs = {d.id: d for d in all_docs(p)}
    old_sig, new_sig = docs[records[1].id].wrapped["signature"], docs[new.id].wrapped["signature"]
    sup = view.supersession_of(old_sig["targetHash"])
    assert sup.successor_document == new_sig["targetHash"] and sup.successor_root == new_sig["merkleRoot"]
    p.request_revocation(issuer, document_id=records[2].id, whole_batch=True, reason="FRAUDULENT")
    p.run_until_idle()
    assert view.is_revoked(docs[records[2].id].wrapped["signature"]["merkleRoot"])
    with p.sessions() as s:
        assert [a.state for a in s.scalars(select(Action).order_by(Action.id))] == [DONE, DONE, DONE]


def test_failed_action_is_recorded(embedded_net, tmp_path):
    p = make_pipeline(embedded_net, tmp_path)
    a = p.request_revocation(embedded_net.addr("vn_issuer"), root="ab" * 32, reason=1)
    p.run_once()
    with p.sessions() as s:
        a = s.get(Action, a.id)
        assert a.state == FAILED and "NotIssued" in a.error


# ------------------------------------------------------------------ crash safety with a real process


def run_worker(tmp_path: Path, net, env_extra: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, "CERTNET_PASSPHRASE": "crash-test-passphrase", **env_extra}
    env.pop(CRASH_ENV, None) if CRASH_ENV not in env_extra else None
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "certnet.issuer.worker",
            "--db",
            f"sqlite:///{tmp_path / 'outbox.db'}",
            "--rpc",
            net.engine.rpc_url,
            "--deployment",
            str(tmp_path / "deployment.json"),
            "--keystore",
            str(tmp_path / "issuer.json"),
            "--max-batch",
            "4",
            "--until-idle",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize("point", POINTS)
def test_crash_at_every_point_then_resume(anvil_net, tmp_path, point):
    net = anvil_net
    create_keystore(
        tmp_path / "issuer.json", "crash-test-passphrase", net.actors["vn_issuer"].account.key, scrypt_n=TEST_SCRYPT_N
    )
    net.deployment.save(tmp_path / "deployment.json")
    p = make_pipeline(net, tmp_path)
    issuer = net.addr("vn_issuer")
    records = p.submit(issuer, docs_for(net, 10, seed=hash(point) % 1000))
    if point == "action_signed":  # first anchor, then crash while revoking
        assert run_worker(tmp_path, net, {}).returncode == 0
        p.request_revocation(issuer, document_id=records[3].id, reason="ISSUED_IN_ERROR")
    crashed = run_worker(tmp_path, net, {CRASH_ENV: point})
    assert crashed.returncode == -9, crashed.stderr[-2000:]  # really killed
    resumed = run_worker(tmp_path, net, {})
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    docs = all_docs(p)
    assert len(docs) == 10 and all(d.state == ANCHORED for d in docs)
    with p.sessions() as s:
        batches = list(s.scalars(select(Batch)))
    assert sum(b.count for b in batches) == 10
    assert len({d.batch_id for d in docs}) == len(batches)
    # exactly one anchor per root on chain, each document provable on chain
    store = net.store()
    logs = store.contract.events.RootAnchored().get_logs(from_block=0)
    anchored_roots = [log["args"]["root"].hex() for log in logs]
    anchoring_tx = {log["args"]["root"].hex(): log["transactionHash"].to_0x_hex() for log in logs}
    for b in batches:
        assert anchored_roots.count(b.merkle_root) == 1
        assert b.tx_hash == anchoring_tx[b.merkle_root]  # recorded even when found on chain after the crash
    for d in docs:
        sig = d.wrapped["signature"]
        assert store.is_issued(sig["merkleRoot"], sig["targetHash"], sig["proof"])
    if point == "action_signed":
        target = docs[3].wrapped["signature"]["targetHash"]
        assert store.revocation_of(target).reason == 1
        with p.sessions() as s:
            assert [a.state for a in s.scalars(select(Action))] == [DONE]


@pytest.mark.parametrize(
    "value",
    [
        {"n": 2**70, "m": -(2**64) - 1, "u": 2**64 - 1, "f": 0.1, "s": "Cà phê 😀", "z": None, "l": [True, {}]},
        {"lone": "\ud800 surrogate", "k": [1, 2.5e300]},
        {"digits": "12345678901234567890 in a string", "x": 1},
    ],
)
def test_json_columns_round_trip_exactly(tmp_path, value):
    """JSON columns go through orjson, which reads integers beyond 64 bits as floats and refuses lone
    surrogates: what is stored must come back exactly, types included."""
    from certnet.issuer.outbox import canonical_hash, json_text, json_value

    assert len(canonical_hash(value)) == 64  # lone surrogates included

    assert json_value(json_text(value)) == value
    assert repr(json_value(json_text(value))) == repr(value)
    assert repr(json_value(json.dumps(value))) == repr(value)  # rows written before, by SQLAlchemy's json.dumps
    sessions = open_database(f"sqlite:///{tmp_path / 'outbox.db'}")
    with sessions.begin() as s:
        d = Document(
            issuer="0x" + "1" * 40,
            issuing_country="VN",
            reference_number="R1",
            document_type="FORM_D",
            content_hash="0" * 64,
            raw=value,
            state=SUBMITTED,
        )
        s.add(d)
        s.flush()
        doc_id = d.id
    with open_database(f"sqlite:///{tmp_path / 'outbox.db'}")() as s:
        assert repr(s.get(Document, doc_id).raw) == repr(value)


def test_issue_files_in_chunks_and_again_after_a_refused_file(net, tmp_path):
    """`certnet issue` streams files through the outbox a chunk at a time; a refused file stops the run after
    the chunks before it, and the run after the fix issues the rest without issuing anything twice."""
    from certnet.cli.documents import DocumentInputError, issue_files

    p = make_pipeline(net, tmp_path, max_batch=4)
    src, out = tmp_path / "src", tmp_path / "out"
    src.mkdir()
    files = []
    for i, doc in enumerate(docs_for(net, 8, seed=31)):
        files.append(src / f"cert-{i}.json")
        files[-1].write_text(json.dumps(doc))
    good = files[4].read_text()
    files[4].write_text(json.dumps({"documentType": "FORM_D"}))
    with pytest.raises(DocumentInputError, match=r"cert-4\.json: SCHEMA_INVALID"):
        issue_files(p, net.addr("vn_issuer"), files, None, out, chunk_size=3)
    assert len(all_docs(p)) == 3  # the first chunk was accepted, nothing after it
    files[4].write_text(good)
    lines = issue_files(p, net.addr("vn_issuer"), files, None, out, chunk_size=3)
    docs = all_docs(p)
    assert len(docs) == 8 and all(d.state == ANCHORED for d in docs)
    assert len(lines) == 2 and sum(int(line.split()[1]) for line in lines) == 8
    written = {f.name: json.loads((out / f.name).read_text()) for f in files}
    by_ref = {d.reference_number: d.wrapped for d in docs}
    for f in files:
        w = written[f.name]
        assert w == by_ref[json.loads(f.read_text())["referenceNumber"]]
        assert net.store().anchor_of(w["signature"]["merkleRoot"]) is not None


def test_a_batch_waits_for_the_confirmation_depth(anvil_net, tmp_path):
    """Mined is not anchored: the batch stays SENT until its receipt is `confirmations` blocks deep."""
    p = make_pipeline(anvil_net, tmp_path, max_batch=10, max_age=0.0, confirmations=3)
    p.submit(anvil_net.addr("vn_issuer"), docs_for(anvil_net, 2, seed=81))
    p.run_once(force=True)
    p.run_once()
    with p.sessions() as s:
        batch = s.scalars(select(Batch)).one()
    assert batch.state == SENT and batch.tx_hash
    mined = anvil_net.engine.w3.eth.get_transaction_receipt(batch.tx_hash)["blockNumber"]
    w3 = anvil_net.engine.w3
    while w3.eth.block_number < mined + 2:  # two deep: still not enough
        w3.provider.make_request("evm_mine", [])
    p.run_once()
    assert {d.state for d in all_docs(p)} == {SENT}
    w3.provider.make_request("evm_mine", [])  # three deep
    p.run_once()
    assert {d.state for d in all_docs(p)} == {ANCHORED}


def test_a_reverted_anchoring_is_not_anchored(anvil_net, tmp_path, monkeypatch):
    """The signed anchoring transaction reaches the chain only after the issuer's key was suspended: it is mined
    and reverts. The batch must go back to be anchored again, never be marked ANCHORED."""
    p = make_pipeline(anvil_net, tmp_path, max_batch=10, max_age=0.0)
    signer = p.signers[anvil_net.addr("vn_issuer")]
    p.submit(signer.address, docs_for(anvil_net, 2, seed=82))
    p._form_batches(True)
    monkeypatch.setattr(signer, "broadcast", lambda raw, what="": None)  # signed and recorded, not sent yet
    p._send_batches()
    monkeypatch.undo()
    with p.sessions() as s:
        tx_hash = s.scalars(select(Batch)).one().tx_hash
    anvil_net.registry("vn_admin").suspend_key(signer.address)
    p._confirm_batches()  # rebroadcasts the recorded transaction: mined, reverted
    with p.sessions() as s:
        batch = s.scalars(select(Batch)).one()
    receipt = anvil_net.engine.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt is not None and receipt["status"] == 0  # it did reach the chain, and reverted
    assert batch.state == BATCHED and ANCHORED not in {d.state for d in all_docs(p)}
    assert not anvil_net.store().is_issued(batch.merkle_root)
