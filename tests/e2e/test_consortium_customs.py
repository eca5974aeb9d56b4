"""Customs decisions and retroactive checks end to end on the 4-validator geth consortium (VN, TH, MY, SG: each its
own node, service and database, exchanging nothing but through the chain and the customs texts their services
fetch from each other by signed requests).

VN issues a Form D to TH; TH's inbox receives it; TH records NOT_GIVEN with a reason and opens a retroactive check;
VN's service learns of it from the chain, its authority answers NOT_CONFIRMED and revokes; TH's webhook hears each
step within seconds; TH's auditor's export re-checks against MY's node with `certnet audit check`. Access: MY's
customs cannot decide on or question the VN -> TH certificate; TH cannot answer for VN; a second open returns the
open check; an answer after the deadline is late (a CustomsRecord of its own with a short answer period). Bad
input: each a clear problem document, nothing recorded.

FAILS (never skips) when geth 1.13.15 is not installed.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import subprocess
import sys
import time
from typing import Any

import pytest

from certnet.api.auth import create_api_key
from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from certnet.node import errors
from certnet.node.contracts import CHECK_REASONS, CheckResult, CustomsRecordClient, Preference
from certnet.node.deploy import _deploy_contract
from certnet.node.tx import Transactor
from certnet.verifier.fields import prove_field
from tests.support.consortium_fixtures import Consortium, Receiver, start_consortium, wait_for

pytestmark = pytest.mark.timeout(420)

STEP_SECONDS = 20  # a step on chain (1-second blocks, depth 2) reaches the other side's webhook within this


@pytest.fixture(scope="module")
def cons(tmp_path_factory: pytest.TempPathFactory) -> Consortium:
    c = start_consortium(tmp_path_factory.mktemp("consortium-customs"))
    try:
        yield c
    finally:
        c.close()


def problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code, r.json()
    return r.json()


def test_the_whole_story(cons: Consortium, tmp_path) -> None:
    vn, th, my = cons["VN"], cons["TH"], cons["MY"]
    w3 = cons.net.w3(1)  # TH's node
    record = CustomsRecordClient(w3, cons.deployment.customs_record)
    th_hook, vn_hook = Receiver(), Receiver()
    try:
        with th.client("customs_th") as c:
            assert c.post("/v1/subscriptions", json={"url": th_hook.url}).status_code == 201
        with vn.client("issuer_vn") as c:
            assert c.post("/v1/subscriptions", json={"url": vn_hook.url}).status_code == 201

        # VN issues a Form D to TH
        doc = samples.form_d(random.Random(1616), issuingCountry="VN", importingCountry="TH", lines=1)
        doc.pop("issuers")
        doc["network"] = network_block(cons.deployment)
        with vn.client("issuer_vn") as c:
            r = c.post("/v1/documents", json={"documents": [doc]})
            assert r.status_code == 202, r.text
            doc_id = r.json()["documents"][0]["id"]
            anchored = wait_for(
                lambda: (d := c.get(f"/v1/documents/{doc_id}").json())["state"] == "ANCHORED" and d,
                60,
                "the Form D to be anchored",
            )
        wrapped = anchored["wrapped"]
        th_hash = wrapped["signature"]["targetHash"]
        store = cons.vn_store

        # bad input before anything is recorded: each a clear problem, nothing on chain
        with th.client("customs_th") as c:
            problem(
                c.post(
                    "/v1/decisions",
                    json={
                        "certificate": {"document": wrapped},
                        "preference": "NOT_GIVEN",
                        "reason": "ORIGIN_CRITERION_NOT_MET",
                    },
                ),
                404,
                "CERTIFICATE_NOT_RECEIVED",
            )
            problem(
                c.post(
                    "/v1/checks", json={"certificate": {"inboxId": 4242}, "reason": "DOUBT_ORIGIN", "questions": ["?"]}
                ),
                404,
                "CERTIFICATE_NOT_RECEIVED",
            )
            # TH's inbox receives it
            r = c.post("/v1/inbox", json={"document": wrapped, "nswReference": "TH-NSW-1616"})
            assert r.status_code == 201 and r.json()["statusOnArrival"] == "VALID", r.text
            inbox_id = r.json()["id"]
            cert = {"inboxId": inbox_id}
            problem(
                c.post(
                    "/v1/decisions", json={"certificate": cert, "preference": "NOT_GIVEN", "reason": "TOO_EXPENSIVE"}
                ),
                422,
                "INVALID_REQUEST",
            )
            problem(
                c.post(
                    "/v1/decisions",
                    json={
                        "certificate": cert,
                        "preference": "NOT_GIVEN",
                        "reason": "HS_CODE_MISMATCH",
                        "note": "n" * 2001,
                    },
                ),
                422,
                "INVALID_REQUEST",
            )
            problem(
                c.post("/v1/checks", json={"certificate": cert, "reason": "RANDOM", "questions": ["q" * 2001]}),
                422,
                "INVALID_REQUEST",
            )
        assert record.decisions_of(store, th_hash) == [] and record.importing_country_of(store, th_hash) is None
        assert record._call("checkCount") == 0

        # MY's customs cannot decide on or question a VN -> TH certificate
        with my.client("customs_my") as c:
            my_inbox = c.post("/v1/inbox", json={"document": wrapped}).json()["id"]
            problem(
                c.post(
                    "/v1/decisions",
                    json={
                        "certificate": {"inboxId": my_inbox},
                        "preference": "NOT_GIVEN",
                        "reason": "HS_CODE_MISMATCH",
                    },
                ),
                403,
                "NOT_IMPORTING_COUNTRY",
            )
            problem(
                c.post(
                    "/v1/checks", json={"certificate": {"inboxId": my_inbox}, "reason": "RANDOM", "questions": ["?"]}
                ),
                403,
                "NOT_IMPORTING_COUNTRY",
            )
        sig = wrapped["signature"]
        my_record = CustomsRecordClient(w3, cons.deployment.customs_record, cons.customs["MY"])
        with pytest.raises(errors.InvalidCountryProof):  # straight to the contract: the document names TH
            my_record.record_decision(
                store,
                sig["merkleRoot"],
                th_hash,
                sig["proof"],
                "MY",
                prove_field(wrapped, "importingCountry"),
                Preference.NOT_GIVEN,
                2,
            )
        with pytest.raises(errors.NotCustomsKey):
            my_record.open_check(
                store,
                sig["merkleRoot"],
                th_hash,
                sig["proof"],
                "TH",
                prove_field(wrapped, "importingCountry"),
                CHECK_REASONS["RANDOM"],
                "11" * 32,
            )

        # TH records NOT_GIVEN with a reason, then opens a retroactive check
        t_decided = time.monotonic()
        with th.client("customs_th") as c:
            r = c.post(
                "/v1/decisions",
                json={
                    "certificate": cert,
                    "preference": "NOT_GIVEN",
                    "reason": "ORIGIN_CRITERION_NOT_MET",
                    "note": "The RVC declared is not supported by the cost statement.",
                },
            )
            assert r.status_code == 201 and r.json()["version"] == 1, r.text
            t_opened = time.monotonic()
            r = c.post(
                "/v1/checks",
                json={
                    "certificate": cert,
                    "reason": "DOUBT_ORIGIN",
                    "questions": ["Confirm the regional value content of item 1."],
                },
            )
            assert r.status_code == 201, r.text
            cid = r.json()["id"]
            # a second open by the same customs returns the open check
            again = c.post("/v1/checks", json={"certificate": cert, "reason": "RANDOM", "questions": ["again?"]})
            assert again.status_code == 200 and again.json()["id"] == cid, again.text
        assert record.importing_country_of(store, th_hash) == "TH"

        # TH's webhook hears each step within seconds
        def heard(hook: Receiver, event: str, check: int | None = None) -> float | None:
            for _, body, at, _ in list(hook.calls):
                p = json.loads(body)
                if p.get("event") == event and (check is None or p.get("checkId") == check):
                    return at
            return None

        at = wait_for(lambda: heard(th_hook, "DECISION_RECORDED"), STEP_SECONDS * 2, "TH to hear its decision")
        assert at - t_decided < STEP_SECONDS * 2
        at = wait_for(lambda: heard(th_hook, "CHECK_OPENED", cid), STEP_SECONDS, "TH to hear the check")
        assert at - t_opened < STEP_SECONDS * 2

        # VN's service learns of the check from the chain and fetches the request from TH's service
        wait_for(lambda: heard(vn_hook, "CHECK_OPENED", cid), STEP_SECONDS, "VN's webhook to hear the check")
        assert heard(vn_hook, "DECISION_RECORDED") is not None
        with vn.client("issuer_vn") as c:
            got = wait_for(
                lambda: (x := c.get(f"/v1/checks/{cid}").json()).get("request") and x,
                STEP_SECONDS,
                "VN to hold the request's text",
            )
            assert got["request"]["questions"] == ["Confirm the regional value content of item 1."]
            assert got["state"] == "OPEN" and not got["overdue"] and got["certificate"]["importingCountry"] == "TH"
            inbox = c.get("/v1/checks", params={"state": "open"}).json()
            assert [x["id"] for x in inbox] == [cid] and inbox[0]["dueAt"] == got["openedAt"] + 90 * 86400

        # TH cannot answer for VN
        th_admin_key = create_api_key(th.service.sessions, "th admin", "admin", "TH")[0]
        import httpx

        r = httpx.post(
            f"{th.url}/v1/checks/{cid}/answer",
            json={"result": "CONFIRMED", "findings": "fine"},
            headers={"authorization": f"Bearer {th_admin_key}"},
            timeout=60,
        )
        problem(r, 403, "NOT_ISSUING_SIDE")
        with pytest.raises(errors.NotIssuingSide):
            CustomsRecordClient(
                w3, cons.deployment.customs_record, Transactor(w3, cons.admins["TH"].account)
            ).answer_check(cid, CheckResult.CONFIRMED, "22" * 32)

        # VN's authority answers NOT_CONFIRMED and revokes
        t_answered = time.monotonic()
        with vn.client("issuer_vn", timeout=180) as c:
            r = c.post(
                f"/v1/checks/{cid}/answer",
                json={
                    "result": "NOT_CONFIRMED",
                    "findings": "The exporter could not substantiate the RVC.",
                    "revoke": {"reason": "REJECTED_BY_IMPORTING_CUSTOMS"},
                },
            )
            assert r.status_code == 200, r.text
            a = r.json()
            assert a["state"] == "ANSWERED" and a["result"] == "NOT_CONFIRMED" and a["revoked"] and not a["late"]
        at = wait_for(lambda: heard(th_hook, "CHECK_ANSWERED", cid), STEP_SECONDS, "TH to hear the answer")
        assert at - t_answered < STEP_SECONDS * 3  # the revocation (at depth) then the answer (at depth)
        wait_for(
            lambda: any(
                json.loads(b).get("event") == "REVOKED" and json.loads(b).get("targetHash") == th_hash
                for _, b, _, _ in th_hook.calls
            ),
            STEP_SECONDS,
            "TH to hear the revocation",
        )
        with th.client("customs_th") as c:
            got = wait_for(
                lambda: (x := c.get(f"/v1/checks/{cid}").json()).get("findings") and x,
                STEP_SECONDS,
                "TH to hold the findings",
            )
            assert got["revoked"] and got["findings"]["revocation"]["reason"] == "REJECTED_BY_IMPORTING_CUSTOMS"
            r = c.post(f"/v1/checks/{cid}/close")
            assert r.status_code == 200 and r.json()["state"] == "CLOSED", r.text
        wait_for(lambda: heard(vn_hook, "CHECK_CLOSED", cid), STEP_SECONDS, "VN to hear the close")
        wait_for(lambda: heard(th_hook, "CHECK_CLOSED", cid), STEP_SECONDS, "TH to hear the close")

        # TH's auditor's export re-checks against MY's node
        day = dt.datetime.now(dt.UTC).date()
        with th.client("auditor_th") as c:

            def export() -> str | None:
                text = c.get(
                    "/v1/audit/export",
                    params={
                        "country": "TH",
                        "from": str(day - dt.timedelta(days=1)),
                        "to": str(day + dt.timedelta(days=1)),
                    },
                ).text
                return text if '"CHECK_CLOSED"' in text else None

            text = wait_for(export, STEP_SECONDS, "the export to carry the closing")
        kinds = [json.loads(x).get("kind") for x in text.splitlines()]
        assert {"DECIDED", "CHECK_OPENED", "CHECK_ANSWERED", "CHECK_CLOSED"} <= set(kinds)
        path = tmp_path / "th-export.ndjson"
        path.write_text(text)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "certnet.cli.main",
                "audit",
                "check",
                str(path),
                "--rpc",
                cons.net.rpc_url(cons["MY"].node),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stdout + out.stderr
        assert "all confirmed" in out.stdout
    finally:
        th_hook.close()
        vn_hook.close()


def test_an_answer_after_the_deadline_is_late(cons: Consortium) -> None:
    """A CustomsRecord of its own on the consortium with a 3-second answer period (the deployment's is in days)."""
    w3 = cons.net.w3(0)
    address, _ = _deploy_contract(
        w3, Transactor(w3, cons.net.deployer_key()), "CustomsRecord", cons.deployment.issuer_registry, 3
    )
    doc = samples.form_d(random.Random(1617), issuingCountry="VN", importingCountry="TH", lines=1)
    doc.pop("issuers")
    doc["network"] = network_block(cons.deployment)
    with cons["VN"].client("issuer_vn") as c:
        doc_id = c.post("/v1/documents", json={"documents": [doc]}).json()["documents"][0]["id"]
        wrapped = wait_for(
            lambda: (d := c.get(f"/v1/documents/{doc_id}").json())["state"] == "ANCHORED" and d, 60, "anchoring"
        )["wrapped"]
    sig = wrapped["signature"]
    th = CustomsRecordClient(w3, address, Transactor(w3, cons.customs["TH"].account))
    cid = th.check_id(
        th.open_check(
            cons.vn_store,
            sig["merkleRoot"],
            sig["targetHash"],
            sig["proof"],
            "TH",
            prove_field(wrapped, "importingCountry"),
            CHECK_REASONS["RANDOM"],
            "11" * 32,
        )
    )
    due = th.check(cid).due_at
    wait_for(lambda: w3.eth.get_block("latest")["timestamp"] > due, 30, "the deadline to pass")
    vn = CustomsRecordClient(w3, address, Transactor(w3, cons.vn_issuer.account))
    r = vn.answer_check(cid, CheckResult.CONFIRMED, "22" * 32)
    assert vn.events(r, "CheckAnswered")[0]["late"] is True
    assert th.check(cid).late
