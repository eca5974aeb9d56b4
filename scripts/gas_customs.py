"""Gas used by the CustomsRecord (printed by `python -m certnet.scripts.gas_report`): the first decision on a
certificate (which proves the importing country from the document's leaves), an amendment, opening a retroactive
check (on a certificate already proven) and answering it. Each figure is the median over fresh certificates."""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable

from eth_account import Account

from certnet.issuer.envelope import complete_envelope
from certnet.issuer.samples import form_d
from certnet.node.contracts import CHECK_REASONS, DECISION_REASONS, CheckResult, Preference
from certnet.node.deploy import DeployConfig, Member, deploy
from certnet.node.engines import Engine
from certnet.node.tx import signer_for
from certnet.verifier.fields import prove_field
from certnet.verifier.wrap import wrap_documents


def customs_rows(engine: Engine, samples: int) -> list[tuple[str, int]]:
    """(label, median gas) for the CustomsRecord's transactions, on Form D certificates of 3 goods lines in
    batches of 64 (a 6-step Merkle proof)."""
    w3 = engine.w3
    funder = signer_for(w3, engine.keys[0])
    vn_admin, th_admin, key, th_customs = (Account.create() for _ in range(4))
    for a in (vn_admin, th_admin, key, th_customs):
        funder.transfer(a.address, 10**21)
    d = deploy(
        w3,
        funder,
        DeployConfig("certnet gas report", [Member("VN", [vn_admin.address]), Member("TH", [th_admin.address])]),
    )
    registry = d.issuer_registry_client(w3, signer_for(w3, vn_admin))
    store = registry.store_from(registry.register_authority("VCCI Ho Chi Minh City", ["FORM_D"], first_key=key.address))
    d.issuer_registry_client(w3, signer_for(w3, th_admin)).add_customs_key(th_customs.address)
    rng = random.Random(16)
    raws = []
    for _ in range(64):
        doc = form_d(rng, issuingCountry="VN", importingCountry="TH", lines=3)
        del doc["issuers"], doc["network"]
        raws.append(complete_envelope(doc, d, "VCCI Ho Chi Minh City", store, "FORM_D"))
    root, wrapped = wrap_documents(raws)
    d.store_client(w3, store, signer_for(w3, key)).anchor(root, "FORM_D", len(wrapped))
    customs = d.customs_record_client(w3, signer_for(w3, th_customs))
    answering = d.customs_record_client(w3, signer_for(w3, key))
    docs = iter(wrapped)
    leaves = len(prove_field(wrapped[0], "importingCountry").leaves)

    def median(fn: Callable[[], int]) -> int:
        return int(statistics.median(fn() for _ in range(samples)))

    def args(w: dict) -> tuple[str, str, str, list[str]]:
        s = w["signature"]
        return store, s["merkleRoot"], s["targetHash"], s["proof"]

    proven: list[dict] = []

    def first_decision() -> int:
        w = next(docs)
        proven.append(w)
        return customs.record_decision(
            *args(w),
            "TH",
            prove_field(w, "importingCountry"),
            Preference.NOT_GIVEN,
            DECISION_REASONS["ORIGIN_CRITERION_NOT_MET"],
            "11" * 32,
        )["gasUsed"]

    amend = iter(list(range(samples)))

    def amendment() -> int:
        w = proven[next(amend)]
        return customs.record_decision(*args(w), "TH", None, Preference.GIVEN, 0, "22" * 32)["gasUsed"]

    opened: list[int] = []
    to_open = iter(list(range(samples)))

    def open_check() -> int:
        w = proven[next(to_open)]
        r = customs.open_check(*args(w), "TH", None, CHECK_REASONS["DOUBT_ORIGIN"], "33" * 32)
        opened.append(customs.check_id(r))
        return r["gasUsed"]

    first_open = iter([next(docs) for _ in range(samples)])

    def open_check_first() -> int:
        w = next(first_open)
        r = customs.open_check(*args(w), "TH", prove_field(w, "importingCountry"), CHECK_REASONS["RANDOM"], "33" * 32)
        return r["gasUsed"]

    answers = iter(list(range(samples)))

    def answer() -> int:
        return answering.answer_check(opened[next(answers)], CheckResult.NOT_CONFIRMED, "44" * 32)["gasUsed"]

    rows = [
        (f"recordDecision, first (country proof of {leaves} leaves)", median(first_decision)),
        ("recordDecision, amendment", median(amendment)),
        ("openCheck (country already proven)", median(open_check)),
        ("openCheck, first on the certificate (with the proof)", median(open_check_first)),
        ("answerCheck", median(answer)),
    ]
    closes = iter(list(opened))
    rows.append(("closeCheck", median(lambda: customs.close_check(next(closes))["gasUsed"])))
    return rows
