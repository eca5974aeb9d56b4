"""CustomsRecord: customs decisions (versions kept) and retroactive checks (deadline, late answers, revocation
linked), the importing country proven on chain from the document, and who may do what (embedded and anvil)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from eth_account import Account

from certnet.node import errors
from certnet.node.contracts import (
    CHECK_REASONS,
    DECISION_REASONS,
    CheckResult,
    CheckState,
    Preference,
)
from certnet.node.deploy import _deploy_contract
from certnet.verifier.fields import FieldProof, prove_field
from certnet.verifier.jsjson import ProofFormatError
from certnet.verifier.wrap import wrap_documents
from tests.support.customs_record import cert, customs, raw, record

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


def issue(
    net, importing: str = "TH", count: int = 3, authority: str = "vn", key: str = "vn_issuer", issuing: str = "VN"
) -> list[dict[str, Any]]:
    """`count` Form D certificates from `issuing` to `importing`, wrapped in one batch and anchored."""
    raws = [raw(net, importing, authority, issuing) for _ in range(count)]
    root, wrapped = wrap_documents(raws)
    net.store(key, authority=authority).anchor(root, "FORM_D", count)
    return wrapped


def now(net) -> int:
    return net.engine.w3.eth.get_block("latest")["timestamp"]


def advance(net, seconds: int) -> None:
    """Move the chain's clock forward and mine a block."""
    w3 = net.engine.w3
    if net.engine.name == "embedded":
        w3.provider.ethereum_tester.time_travel(now(net) + seconds)
    else:
        w3.provider.make_request("evm_increaseTime", [seconds])
        w3.provider.make_request("evm_mine", [])


NOT_MET = DECISION_REASONS["ORIGIN_CRITERION_NOT_MET"]


# ------------------------------------------------------------------ decisions


def test_decision_proves_the_country_once_and_amendments_keep_every_version(net):
    w = issue(net)[1]
    store, root, doc, proof = cert(w)
    th = customs(net, "TH")
    rec = record(net, th)
    assert rec.importing_country_of(store, doc) is None
    with pytest.raises(errors.CountryNotProven):  # the first call must carry the proof
        rec.record_decision(store, root, doc, proof, "TH", None, Preference.NOT_GIVEN, NOT_MET)
    note = "0x" + "ab" * 32
    r1 = rec.record_decision(
        store, root, doc, proof, "TH", prove_field(w, "importingCountry"), Preference.NOT_GIVEN, NOT_MET, note
    )
    ev = record(net).events(r1, "DecisionRecorded")[0]
    assert ev["store"] == store and ev["document"].hex() == doc and ev["country"] == b"TH"
    assert (ev["preference"], ev["reason"], ev["version"], ev["by"]) == (2, NOT_MET, 1, net.addr(th))
    assert ev["noteHash"].hex() == "ab" * 32
    assert rec.importing_country_of(store, doc) == "TH"
    # amended: a new version, no proof needed now; the first one stays
    r2 = rec.record_decision(store, root, doc, proof, "TH", None, Preference.GIVEN, DECISION_REASONS["NONE"])
    assert record(net).events(r2, "DecisionRecorded")[0]["version"] == 2
    versions = rec.decisions_of(store, doc)
    assert [(v.preference, v.reason) for v in versions] == [(Preference.NOT_GIVEN, NOT_MET), (Preference.GIVEN, 0)]
    assert versions[0].by == net.addr(th) and versions[0].note_hash == "ab" * 32 and versions[1].note_hash == "00" * 32
    assert versions[0].at <= versions[1].at
    # another TH customs key amends too (the country decides, not one key)
    th2 = customs(net, "TH", "th_customs2")
    record(net, th2).record_decision(
        store, root, doc, proof, "TH", None, Preference.NOT_GIVEN, DECISION_REASONS["HS_CODE_MISMATCH"]
    )
    assert len(rec.decisions_of(store, doc)) == 3


def test_decision_refusals(net):
    w = issue(net)[0]
    store, root, doc, proof = cert(w)
    rec = record(net, customs(net, "TH"))
    fp = prove_field(w, "importingCountry")
    with pytest.raises(errors.InvalidPreference):
        rec.record_decision(store, root, doc, proof, "TH", fp, Preference.NONE, 0)
    with pytest.raises(errors.InvalidReason):
        rec.record_decision(store, root, doc, proof, "TH", fp, Preference.NOT_GIVEN, max(DECISION_REASONS.values()) + 1)
    assert rec.decisions_of(store, doc) == [] and rec.importing_country_of(store, doc) is None


def test_a_document_not_anchored_is_refused(net):
    root, wrapped = wrap_documents([raw(net)])  # wrapped but never anchored
    store, root, doc, proof = cert(wrapped[0])
    rec = record(net, customs(net, "TH"))
    fp = prove_field(wrapped[0], "importingCountry")
    with pytest.raises(errors.NotIssued):
        rec.record_decision(store, root, doc, proof, "TH", fp, Preference.GIVEN, 0)
    with pytest.raises(errors.NotIssued):
        rec.open_check(store, root, doc, proof, "TH", fp, CHECK_REASONS["RANDOM"], "11" * 32)
    # anchored, but the proof does not lead from this document to the root
    w = issue(net)[0]
    s2, r2, d2, p2 = cert(w)
    with pytest.raises(errors.NotIssued):
        rec.record_decision(s2, r2, doc, p2, "TH", fp, Preference.GIVEN, 0)
    # a store that is no registered authority's
    with pytest.raises(errors.UnknownStore):
        rec.record_decision(
            net.addr("outsider"), r2, d2, p2, "TH", prove_field(w, "importingCountry"), Preference.GIVEN, 0
        )


def test_another_country_cannot_decide_or_ask(net):
    w = issue(net)[0]  # VN -> TH
    store, root, doc, proof = cert(w)
    fp = prove_field(w, "importingCountry")
    my = record(net, customs(net, "MY"))
    # MY's key claiming to be TH's customs
    with pytest.raises(errors.NotCustomsKey):
        my.record_decision(store, root, doc, proof, "TH", fp, Preference.NOT_GIVEN, NOT_MET)
    # MY as itself: the document names TH, so the proof cannot prove MY
    with pytest.raises(errors.InvalidCountryProof):
        my.record_decision(store, root, doc, proof, "MY", fp, Preference.NOT_GIVEN, NOT_MET)
    with pytest.raises(errors.InvalidCountryProof):
        my.open_check(store, root, doc, proof, "MY", fp, CHECK_REASONS["DOUBT_ORIGIN"], "11" * 32)
    # issuers, admins and outsiders are no customs keys
    for who in ("vn_issuer", "th_admin", "outsider"):
        with pytest.raises(errors.NotCustomsKey):
            record(net, who).record_decision(store, root, doc, proof, "TH", fp, Preference.GIVEN, 0)
    # once TH proved it, MY (even with no proof) is told the country is TH's
    record(net, customs(net, "TH")).record_decision(store, root, doc, proof, "TH", fp, Preference.GIVEN, 0)
    with pytest.raises(errors.NotCustomsKey) as e:
        my.open_check(store, root, doc, proof, "MY", None, CHECK_REASONS["DOUBT_ORIGIN"], "11" * 32)
    assert e.value.args_["country"] == b"TH"
    # a removed customs key loses the right at once
    net.registry("th_admin").remove_customs_key(net.addr("th_customs"))
    with pytest.raises(errors.NotCustomsKey):
        record(net, "th_customs").record_decision(store, root, doc, proof, "TH", None, Preference.GIVEN, 0)
    assert len(record(net).decisions_of(store, doc)) == 1


# ------------------------------------------------------------------ forged country proofs


def test_forged_country_proofs_are_refused(net):
    w = issue(net)[2]
    store, root, doc, proof = cert(w)
    good = prove_field(w, "importingCountry")
    rec = record(net, customs(net, "TH"))
    view = record(net)
    assert view._call("provesImportingCountry", bytes.fromhex(doc), b"TH", rec._country_proof(good))

    def forged(**changes: Any) -> FieldProof:
        return dataclasses.replace(good, **changes)

    other_salt = "00000000-0000-4000-8000-000000000000"
    leaves = list(good.leaves)
    swapped = leaves[:]
    if len(swapped) > 1:
        j = 1 if good.index == 0 else 0
        swapped[good.index], swapped[j] = swapped[j], swapped[good.index]
    forgeries = {
        "wrong salt": forged(salt=other_salt),
        "short salt": forged(salt=good.salt[:35]),
        "wrong index": forged(index=(good.index + 1) % len(leaves)),
        "index out of range": forged(index=len(leaves)),
        "leaves not ascending": forged(leaves=swapped, index=swapped.index(leaves[good.index])),
        "a leaf repeated": forged(leaves=sorted(leaves + [leaves[good.index]]), index=good.index),
        "a leaf missing": forged(
            leaves=[h for k, h in enumerate(leaves) if k != (good.index + 1) % len(leaves)],
            index=good.index - (1 if good.index > (good.index + 1) % len(leaves) else 0),
        ),
        "a leaf added": forged(leaves=sorted(leaves + ["ff" * 32]), index=good.index),
    }
    for name, fp in forgeries.items():
        assert not view._call("provesImportingCountry", bytes.fromhex(doc), b"TH", rec._country_proof(fp)), name
        with pytest.raises(errors.InvalidCountryProof):
            rec.record_decision(store, root, doc, proof, "TH", fp, Preference.GIVEN, 0)
    # the right leaves but another country: the leaf for "MY" is not the document's
    assert not view._call("provesImportingCountry", bytes.fromhex(doc), b"MY", rec._country_proof(good))
    # a well-formed proof of another document (one that names TH too) does not prove this one
    other = prove_field(issue(net)[0], "importingCountry")
    with pytest.raises(errors.InvalidCountryProof):
        rec.record_decision(store, root, doc, proof, "TH", other, Preference.GIVEN, 0)
    # a document whose importingCountry field is hidden: the hidden leaf is among the obfuscated hashes, but no
    # salt can be shown for it — without the salt nothing proves the country
    from certnet.verifier.obfuscate import obfuscate_document as obfuscate

    hidden = obfuscate(w, ["importingCountry"])
    with pytest.raises(ProofFormatError):
        prove_field(hidden, "importingCountry")
    assert rec.importing_country_of(store, doc) is None
    rec.record_decision(store, root, doc, proof, "TH", good, Preference.GIVEN, 0)
    assert rec.importing_country_of(store, doc) == "TH"


def test_country_proof_of_a_document_with_hidden_fields(net):
    """Selective disclosure keeps the proof possible: hidden fields' hashes stand among the leaves."""
    from certnet.verifier.obfuscate import obfuscate_document as obfuscate

    w = issue(net)[0]
    shared = obfuscate(w, ["consignee", "exporter"])
    store, root, doc, proof = cert(shared)
    fp = prove_field(shared, "importingCountry")
    assert fp.leaves == prove_field(w, "importingCountry").leaves
    record(net, customs(net, "TH")).record_decision(store, root, doc, proof, "TH", fp, Preference.GIVEN, 0)
    assert record(net).importing_country_of(store, doc) == "TH"


# ------------------------------------------------------------------ retroactive checks


def test_check_open_answer_close(net):
    w = issue(net)[0]
    store, root, doc, proof = cert(w)
    th = customs(net, "TH")
    rec, view = record(net, th), record(net)
    request_hash = "12" * 32
    receipt = rec.open_check(
        store, root, doc, proof, "TH", prove_field(w, "importingCountry"), CHECK_REASONS["DOUBT_ORIGIN"], request_hash
    )
    cid = rec.check_id(receipt)
    opened = view.events(receipt, "CheckOpened")[0]
    c = view.check(cid)
    assert c.state == CheckState.OPEN and c.country == "TH" and c.store == store and c.document == doc
    assert c.reason == CHECK_REASONS["DOUBT_ORIGIN"] and c.request_hash == request_hash and c.requester == net.addr(th)
    assert c.due_at == c.opened_at + view.answer_period() == opened["dueAt"]
    assert view.answer_period() == 90 * 86400
    assert view.open_check_of(store, doc, "TH") == cid and view.open_check_of(store, doc, "MY") is None
    # one open check per certificate and country
    with pytest.raises(errors.CheckAlreadyOpen) as e:
        rec.open_check(store, root, doc, proof, "TH", None, CHECK_REASONS["RANDOM"], "13" * 32)
    assert e.value.args_["id"] == cid
    # only the requesting country closes, and only once answered
    with pytest.raises(errors.CheckNotAnswered):
        rec.close_check(cid)
    with pytest.raises(errors.InvalidResult):
        record(net, "vn_issuer").answer_check(cid, CheckResult.NONE, "34" * 32)
    r = record(net, "vn_issuer").answer_check(cid, CheckResult.CONFIRMED, "34" * 32)
    ev = view.events(r, "CheckAnswered")[0]
    assert (ev["id"], ev["result"], ev["late"], ev["revoked"], ev["by"]) == (
        cid,
        1,
        False,
        False,
        net.addr("vn_issuer"),
    )
    c = view.check(cid)
    assert c.state == CheckState.ANSWERED and c.result == CheckResult.CONFIRMED and not c.late and not c.revoked
    assert c.findings_hash == "34" * 32 and c.answered_by == net.addr("vn_issuer") and c.answered_at >= c.opened_at
    with pytest.raises(errors.CheckNotOpen):  # answered once
        record(net, "vn_admin").answer_check(cid, CheckResult.NOT_CONFIRMED, "35" * 32)
    with pytest.raises(errors.NotRequester):
        record(net, customs(net, "MY")).close_check(cid)
    with pytest.raises(errors.NotRequester):
        record(net, "vn_issuer").close_check(cid)
    closed = rec.close_check(cid)
    assert view.events(closed, "CheckClosed")[0] == {"id": cid, "by": net.addr(th)}
    assert view.check(cid).state == CheckState.CLOSED and view.open_check_of(store, doc, "TH") is None
    with pytest.raises(errors.CheckNotAnswered):
        rec.close_check(cid)
    # a new check may now be opened; VN's admin answers this one
    cid2 = rec.check_id(rec.open_check(store, root, doc, proof, "TH", None, CHECK_REASONS["RANDOM"], "14" * 32))
    assert cid2 == cid + 1 and view._call("checkCount") == cid2
    record(net, "vn_admin").answer_check(cid2, CheckResult.NOT_CONFIRMED, "36" * 32)
    assert view.check(cid2).answered_by == net.addr("vn_admin")
    # unknown checks
    with pytest.raises(errors.UnknownCheck):
        record(net, "vn_issuer").answer_check(cid2 + 100, CheckResult.CONFIRMED, "34" * 32)
    with pytest.raises(errors.UnknownCheck):
        rec.close_check(cid2 + 100)
    assert view.check(cid2 + 100) is None


def test_check_refusals(net):
    w = issue(net)[0]
    store, root, doc, proof = cert(w)
    rec = record(net, customs(net, "TH"))
    with pytest.raises(errors.InvalidReason):
        rec.open_check(
            store,
            root,
            doc,
            proof,
            "TH",
            prove_field(w, "importingCountry"),
            max(CHECK_REASONS.values()) + 1,
            "11" * 32,
        )
    assert record(net).open_check_of(store, doc, "TH") is None


def test_only_the_issuing_side_answers(net):
    w = issue(net)[0]  # VN authority "vn"
    store, root, doc, proof = cert(w)
    rec = record(net, customs(net, "TH"))
    cid = rec.check_id(
        rec.open_check(
            store,
            root,
            doc,
            proof,
            "TH",
            prove_field(w, "importingCountry"),
            CHECK_REASONS["DOUBT_AUTHENTICITY"],
            "11" * 32,
        )
    )
    # another authority of the same country, another country's admin or issuer, the requesting customs itself
    for who in ("vn2_issuer", "th_admin", "th_issuer", "th_customs", "my_admin", "outsider"):
        with pytest.raises(errors.NotIssuingSide):
            record(net, who).answer_check(cid, CheckResult.CONFIRMED, "22" * 32)
    # a suspended key of the authority cannot answer
    net.registry("vn_admin").suspend_key(net.addr("vn_issuer"))
    with pytest.raises(errors.NotIssuingSide):
        record(net, "vn_issuer").answer_check(cid, CheckResult.CONFIRMED, "22" * 32)
    net.registry("vn_admin").reinstate_key(net.addr("vn_issuer"))
    record(net, "vn_issuer").answer_check(cid, CheckResult.CONFIRMED, "22" * 32)


def test_revocation_before_the_answer_is_linked(net):
    w = issue(net)[1]
    store, root, doc, proof = cert(w)
    rec = record(net, customs(net, "TH"))
    cid = rec.check_id(
        rec.open_check(
            store, root, doc, proof, "TH", prove_field(w, "importingCountry"), CHECK_REASONS["DOUBT_ORIGIN"], "11" * 32
        )
    )
    net.store("vn_issuer").revoke_document(root, doc, proof, "REJECTED_BY_IMPORTING_CUSTOMS")
    r = record(net, "vn_issuer").answer_check(cid, CheckResult.NOT_CONFIRMED, "22" * 32)
    assert record(net).events(r, "CheckAnswered")[0]["revoked"] is True
    assert record(net).check(cid).revoked
    # superseded counts too
    w2 = issue(net)[0]
    s2, r2, d2, p2 = cert(w2)
    cid2 = rec.check_id(
        rec.open_check(
            s2, r2, d2, p2, "TH", prove_field(w2, "importingCountry"), CHECK_REASONS["DOUBT_ORIGIN"], "11" * 32
        )
    )
    n = cert(issue(net)[0])
    net.store("vn_issuer").supersede(r2, d2, p2, n[1], n[2], n[3])
    record(net, "vn_admin").answer_check(cid2, CheckResult.NOT_CONFIRMED, "22" * 32)
    assert record(net).check(cid2).revoked


def test_an_answer_after_the_deadline_is_late(net):
    """A CustomsRecord of its own with a 30-second answer period; the chain's clock is moved past it."""
    address, _ = _deploy_contract(
        net.engine.w3, net.actors["deployer"], "CustomsRecord", net.deployment.issuer_registry, 30
    )
    w = issue(net)[0]
    store, root, doc, proof = cert(w)
    th = customs(net, "TH")
    rec = record(net, th, address)
    on_time = rec.check_id(
        rec.open_check(
            store, root, doc, proof, "TH", prove_field(w, "importingCountry"), CHECK_REASONS["RANDOM"], "11" * 32
        )
    )
    w2 = issue(net)[0]
    s2, r2, d2, p2 = cert(w2)
    late = rec.check_id(
        rec.open_check(s2, r2, d2, p2, "TH", prove_field(w2, "importingCountry"), CHECK_REASONS["RANDOM"], "11" * 32)
    )
    assert record(net, None, address).check(late).due_at == record(net, None, address).check(late).opened_at + 30
    record(net, "vn_issuer", address).answer_check(on_time, CheckResult.CONFIRMED, "22" * 32)
    advance(net, 60)
    r = record(net, "vn_issuer", address).answer_check(late, CheckResult.CONFIRMED, "22" * 32)
    assert record(net, None, address).events(r, "CheckAnswered")[0]["late"] is True
    c = record(net, None, address).check(late)
    assert c.late and c.answered_at > c.due_at
    assert not record(net, None, address).check(on_time).late


def test_checks_of_two_countries_on_one_certificate_are_apart(net):
    """Only the importing country may ask: a second country's customs cannot, whatever it tries."""
    w = issue(net)[0]
    store, root, doc, proof = cert(w)
    rec = record(net, customs(net, "TH"))
    cid = rec.check_id(
        rec.open_check(
            store, root, doc, proof, "TH", prove_field(w, "importingCountry"), CHECK_REASONS["RANDOM"], "11" * 32
        )
    )
    my = record(net, customs(net, "MY"))
    with pytest.raises(errors.NotCustomsKey):
        my.open_check(store, root, doc, proof, "MY", None, CHECK_REASONS["RANDOM"], "11" * 32)
    assert record(net).open_check_of(store, doc, "TH") == cid


def test_customs_keys_are_free_accounts(net):
    """A customs key cannot also be an admin or an authority key (the registry keeps roles apart)."""
    with pytest.raises(errors.ContractRevert):
        net.registry("th_admin").add_customs_key(net.addr("vn_issuer"))
    k = Account.create().address
    net.registry("th_admin").add_customs_key(k)
    assert net.registry().is_customs_key_of(k, "TH") and not net.registry().is_customs_key_of(k, "VN")


def test_gas_figures(anvil_engine):
    """The gas report's CustomsRecord rows: the first decision pays for the country proof, later calls do not."""
    from certnet.scripts.gas_customs import customs_rows

    rows = dict(customs_rows(anvil_engine, 1))
    first = next(v for k, v in rows.items() if k.startswith("recordDecision, first"))
    assert first < 400_000 and rows["recordDecision, amendment"] < 130_000
    assert rows["openCheck (country already proven)"] < 220_000 and rows["answerCheck"] < 130_000
    assert first > rows["recordDecision, amendment"] + 100_000
