"""Customs decisions and retroactive checks through the API: VN's and TH's services, each with its own database, on
one real anvil node of this module's own (the tests move its clock), exchanging nothing but through the chain and
the signed text requests of their peer. The story, in file order: VN issues a Form D to TH; TH decides NOT_GIVEN and
opens a check; VN's service learns of it from the chain and fetches the request; VN answers NOT_CONFIRMED and
revokes; TH hears each step by webhook and reads the findings; TH closes. Then deadlines (reminder, overdue, a late
answer), access, bad input, the command line."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from certnet.api.customs import CustomsCheck, CustomsText, sign_text_request
from certnet.node.contracts import CheckState
from certnet.node.engines import AnvilEngine
from tests.conftest import make_net
from tests.support.consortium_fixtures import Receiver
from tests.support.customs_fixtures import Member, issue, receive, vn_and_th, wait_for

pytestmark = [pytest.mark.timeout(600), pytest.mark.integration]


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> Iterator[AnvilEngine]:
    engine = AnvilEngine(tmp_path_factory.mktemp("customs-anvil")).start()
    yield engine
    engine.stop()


@pytest.fixture(scope="module")
def world(chain, tmp_path_factory) -> Iterator[dict[str, Any]]:
    net = make_net(chain)
    vn, th = vn_and_th(net, tmp_path_factory.mktemp("customs-services"))
    th_hook, vn_hook = Receiver(), Receiver()
    w: dict[str, Any] = {"net": net, "vn": vn, "th": th, "th_hook": th_hook, "vn_hook": vn_hook}
    try:
        yield w
    finally:
        th_hook.close()
        vn_hook.close()
        vn.stop()
        th.stop()


def events_of(hook: Receiver, check_id: int | None = None) -> list[str]:
    return [p["event"] for p in hook.payloads() if check_id is None or p.get("checkId") == check_id]


def subscribe(member: Member, who: str, hook: Receiver) -> None:
    with member.client(who) as c:
        r = c.post("/v1/subscriptions", json={"url": hook.url})
        assert r.status_code == 201, r.text


def problem(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == code, body
    return body


# ------------------------------------------------------------------ the story


def test_decision_check_answer_revocation_and_close(world):
    vn, th, net = world["vn"], world["th"], world["net"]
    subscribe(th, "customs_th", world["th_hook"])
    subscribe(vn, "issuer_vn", world["vn_hook"])
    wrapped = issue(world, 1, seed=1601)[0]
    th_hash = wrapped["signature"]["targetHash"]
    world["wrapped"] = wrapped

    # a certificate TH never received: a clear problem, nothing on chain
    with th.client("customs_th") as c:
        body = problem(
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
        assert th_hash in body["detail"] and "TH" in body["detail"]
        problem(
            c.post("/v1/checks", json={"certificate": {"inboxId": 999}, "reason": "DOUBT_ORIGIN", "questions": ["?"]}),
            404,
            "CERTIFICATE_NOT_RECEIVED",
        )
    store = wrapped["data"]["issuers"][0]["documentStore"].split(":", 2)[2]
    record = net.deployment.customs_record_client(net.engine.w3)
    assert record.decisions_of(store, th_hash) == []

    inbox_id = receive(th, "customs_th", wrapped)
    with th.client("customs_th") as c:
        r = c.post(
            "/v1/decisions",
            json={
                "certificate": {"inboxId": inbox_id},
                "preference": "NOT_GIVEN",
                "reason": "ORIGIN_CRITERION_NOT_MET",
                "note": "RVC 40% not supported by the cost statement.",
            },
        )
        assert r.status_code == 201, r.text
        d = r.json()
        assert d["version"] == 1 and d["preference"] == "NOT_GIVEN" and d["certificate"]["targetHash"] == th_hash
        assert d["certificate"]["importingCountry"] == "TH" and d["by"] == net.addr("th_customs")
    chain_decisions = record.decisions_of(store, th_hash)
    assert len(chain_decisions) == 1 and chain_decisions[0].note_hash == d["noteHash"]
    assert record.importing_country_of(store, th_hash) == "TH"

    # the retroactive check
    with th.client("customs_th") as c:
        r = c.post(
            "/v1/checks",
            json={
                "certificate": {"document": wrapped},
                "reason": "DOUBT_ORIGIN",
                "questions": ["Confirm the regional value content of item 1."],
                "attachments": [{"name": "invoice.pdf", "sha256": "ab" * 32}],
            },
        )
        assert r.status_code == 201, r.text
        check = r.json()
        cid = check["id"]
        assert check["state"] == "OPEN" and not check["overdue"] and check["certificate"]["issuingCountry"] == "VN"
        assert check["dueAt"] == check["openedAt"] + 90 * 86400
        assert check["request"]["questions"] == ["Confirm the regional value content of item 1."]
        # a second open by the same customs returns the open one
        again = c.post(
            "/v1/checks", json={"certificate": {"inboxId": inbox_id}, "reason": "RANDOM", "questions": ["again"]}
        )
        assert again.status_code == 200 and again.json()["id"] == cid, again.text
    assert record.check(cid).state == CheckState.OPEN and record._call("checkCount") == cid
    world["cid"] = cid

    # VN's service learns of it from the chain and fetches the request from TH's service
    with vn.client("issuer_vn") as c:
        seen = wait_for(
            lambda: [
                x for x in c.get("/v1/checks", params={"state": "open"}).json() if x["id"] == cid and x["request"]
            ],
            30,
            "VN to hold the request",
        )[0]
        assert seen["request"]["questions"] == check["request"]["questions"]
        assert seen["certificate"]["referenceNumber"] == check["certificate"]["referenceNumber"]
        assert seen["request"]["certificate"]["merkleRoot"] == wrapped["signature"]["merkleRoot"]
    with vn.service.sessions() as s:
        text = s.get(CustomsText, seen["requestHash"])
        assert text is not None and not text.written_here
    wait_for(
        lambda: {"DECISION_RECORDED", "CHECK_OPENED"} <= set(events_of(world["vn_hook"])),
        30,
        "VN's webhook to hear the decision and the check",
    )
    # VN's issuer reads the decision with its note (fetched from TH)
    with vn.client("issuer_vn") as c:
        got = wait_for(
            lambda: (lambda r: r.status_code == 200 and r.json()[0]["note"] and r.json())(
                c.get(f"/v1/certificates/{th_hash}/decisions")
            ),
            30,
            "VN to hold the note",
        )
        assert got[0]["reason"] == "ORIGIN_CRITERION_NOT_MET" and got[0]["note"].startswith("RVC 40%")

    # TH cannot answer for VN
    with th.client("admin_th") as c:
        problem(
            c.post(f"/v1/checks/{cid}/answer", json={"result": "CONFIRMED", "findings": "fine"}),
            403,
            "NOT_ISSUING_SIDE",
        )
    with th.client("customs_th") as c:
        problem(
            c.post(f"/v1/checks/{cid}/answer", json={"result": "CONFIRMED", "findings": "fine"}), 403, "FORBIDDEN_ROLE"
        )
        problem(c.post(f"/v1/checks/{cid}/close"), 409, "CHECK_NOT_ANSWERED")

    # VN answers NOT_CONFIRMED and revokes first
    t0 = time.monotonic()
    with vn.client("issuer_vn") as c:
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
        assert a["findings"]["revocation"]["reason"] == "REJECTED_BY_IMPORTING_CUSTOMS"
        assert a["findings"]["revocation"]["transactionHash"]
        problem(
            c.post(f"/v1/checks/{cid}/answer", json={"result": "CONFIRMED", "findings": "again"}), 409, "CHECK_NOT_OPEN"
        )
    c_chain = record.check(cid)
    assert c_chain.state == CheckState.ANSWERED and c_chain.revoked and c_chain.answered_by == net.addr("vn_issuer")
    assert net.store().is_revoked(th_hash)

    # TH hears the answer and the revocation within seconds, and reads the findings fetched from VN
    wait_for(lambda: "CHECK_ANSWERED" in events_of(world["th_hook"], cid), 15, "TH's webhook to hear the answer")
    wait_for(
        lambda: any(p["event"] == "REVOKED" and p.get("targetHash") == th_hash for p in world["th_hook"].payloads()),
        15,
        "TH's webhook to hear the revocation",
    )
    assert time.monotonic() - t0 < 60
    with th.client("customs_th") as c:
        got = wait_for(
            lambda: (lambda x: x["findings"] and x)(c.get(f"/v1/checks/{cid}").json()), 30, "TH to hold the findings"
        )
        assert got["result"] == "NOT_CONFIRMED" and got["revoked"] and got["findings"]["findings"].startswith("The ex")
        r = c.post(f"/v1/checks/{cid}/close")
        assert r.status_code == 200 and r.json()["state"] == "CLOSED", r.text
    wait_for(lambda: "CHECK_CLOSED" in events_of(world["vn_hook"], cid), 15, "VN's webhook to hear the close")
    th_events = events_of(world["th_hook"])
    assert th_events.index("DECISION_RECORDED") < th_events.index("CHECK_OPENED") < th_events.index("CHECK_ANSWERED")
    # webhooks are signed with the subscription's secret (the existing mechanism)
    headers, _, _, _ = world["th_hook"].calls[0]
    assert headers["x-certnet-signature"].startswith("sha256=")
    # each notice once: the desk's next passes record nothing again
    th.service.customs_desk.run_once()
    assert events_of(world["th_hook"], cid).count("CHECK_ANSWERED") == 1


def test_who_sees_what(world):
    vn, th, cid = world["vn"], world["th"], world["cid"]
    th_hash = world["wrapped"]["signature"]["targetHash"]
    for member, who, content in (
        (vn, "issuer_vn", True),
        (vn, "admin_vn", False),
        (vn, "auditor_vn", True),
        (th, "customs_th", True),
        (th, "auditor_th", False),
    ):
        with member.client(who) as c:
            r = c.get(f"/v1/checks/{cid}")
            assert r.status_code == 200 and r.json()["request"] is not None, (who, r.text)
            request_text, findings = r.json()["request"], r.json()["findings"]
            assert request_text["questions"] and findings["findings"]  # the texts, to both sides and auditors
            # the certificate's root and proof, and the revocation's transaction, only to those entitled to the
            # certificate's content (certnet.api.disclosure)
            assert ("merkleRoot" in request_text["certificate"]) is content, who
            assert ("transactionHash" in findings["revocation"]) is content, who
            assert ("redacted" in request_text) is not content, who
            assert any(x["id"] == cid for x in c.get("/v1/checks").json()), who
            assert c.get(f"/v1/certificates/{th_hash}/decisions").status_code == 200, who
    for member, who in ((vn, "customs_vn"), (th, "customs_my"), (th, "auditor_my")):
        with member.client(who) as c:
            problem(c.get(f"/v1/checks/{cid}"), 404, "CHECK_NOT_FOUND")
            assert all(x["id"] != cid for x in c.get("/v1/checks").json()), who
            problem(c.get(f"/v1/certificates/{th_hash}/decisions"), 404, "NO_DECISIONS")
    # the texts endpoint: only a signed request by an entitled chain key
    with th.service.sessions() as s:
        h = s.get(CustomsCheck, cid).request_hash
    r = httpx.get(f"{th.url}/v1/customs-texts/{h}")
    problem(r, 401, "TEXT_SIGNATURE_INVALID")
    net = world["net"]
    r = httpx.get(f"{th.url}/v1/customs-texts/{h}", headers=sign_text_request(net.actors["outsider"].account, h))
    problem(r, 404, "TEXT_NOT_FOUND")
    r = httpx.get(f"{th.url}/v1/customs-texts/{h}", headers=sign_text_request(net.actors["th_issuer"].account, h))
    problem(r, 404, "TEXT_NOT_FOUND")  # another authority
    stale = sign_text_request(net.actors["vn_issuer"].account, h, int(time.time()) - 3600)
    problem(httpx.get(f"{th.url}/v1/customs-texts/{h}", headers=stale), 401, "TEXT_SIGNATURE_INVALID")
    r = httpx.get(f"{th.url}/v1/customs-texts/{h}", headers=sign_text_request(net.actors["vn_admin"].account, h))
    assert r.status_code == 200 and r.json()["hash"] == h
    # a text fetched from a peer is not served onwards
    r = httpx.get(f"{vn.url}/v1/customs-texts/{h}", headers=sign_text_request(net.actors["vn_admin"].account, h))
    problem(r, 404, "TEXT_NOT_FOUND")


def test_amendments_keep_every_version(world):
    th = world["th"]
    th_hash = world["wrapped"]["signature"]["targetHash"]
    with th.client("customs_th") as c:
        inbox_id = c.get("/v1/inbox").json()[0]["id"]
        r = c.post("/v1/decisions", json={"certificate": {"inboxId": inbox_id}, "preference": "GIVEN"})
        assert r.status_code == 201 and r.json()["version"] == 2, r.text
        versions = c.get(f"/v1/certificates/{th_hash}/decisions").json()
    assert [(v["version"], v["preference"]) for v in versions] == [(1, "NOT_GIVEN"), (2, "GIVEN")]
    assert versions[0]["note"] and versions[1]["note"] is None


def test_another_countrys_customs_cannot_decide_or_ask(world):
    th, net = world["th"], world["net"]
    wrapped = issue(world, 1, seed=1602)[0]
    inbox_id = receive(th, "customs_my", wrapped)  # MY's customs holds a VN -> TH certificate
    with th.client("customs_my") as c:
        problem(
            c.post(
                "/v1/decisions",
                json={"certificate": {"inboxId": inbox_id}, "preference": "NOT_GIVEN", "reason": "HS_CODE_MISMATCH"},
            ),
            403,
            "NOT_IMPORTING_COUNTRY",
        )
        problem(
            c.post(
                "/v1/checks", json={"certificate": {"inboxId": inbox_id}, "reason": "DOUBT_ORIGIN", "questions": ["?"]}
            ),
            403,
            "NOT_IMPORTING_COUNTRY",
        )
    store = wrapped["data"]["issuers"][0]["documentStore"].split(":", 2)[2]
    record = net.deployment.customs_record_client(net.engine.w3)
    assert record.decisions_of(store, wrapped["signature"]["targetHash"]) == []
    assert record.importing_country_of(store, wrapped["signature"]["targetHash"]) is None


def test_bad_input_is_a_clear_problem_and_records_nothing(world):
    th, net = world["th"], world["net"]
    wrapped = issue(world, 1, seed=1603)[0]
    inbox_id = receive(th, "customs_th", wrapped)
    cert = {"inboxId": inbox_id}
    before = net.engine.w3.eth.block_number
    with th.client("customs_th") as c:
        b = problem(
            c.post("/v1/decisions", json={"certificate": cert, "preference": "NOT_GIVEN", "reason": "BAD_WEATHER"}),
            422,
            "INVALID_REQUEST",
        )
        assert b["errors"][0]["field"] == "reason" and "ORIGIN_CRITERION_NOT_MET" in b["errors"][0]["message"]
        problem(
            c.post("/v1/checks", json={"certificate": cert, "reason": "CURIOSITY", "questions": ["?"]}),
            422,
            "INVALID_REQUEST",
        )
        b = problem(
            c.post(
                "/v1/decisions",
                json={"certificate": cert, "preference": "NOT_GIVEN", "reason": "HS_CODE_MISMATCH", "note": "x" * 2001},
            ),
            422,
            "INVALID_REQUEST",
        )
        assert b["errors"][0]["field"] == "note"
        b = problem(
            c.post("/v1/checks", json={"certificate": cert, "reason": "RANDOM", "questions": ["q" * 2001]}),
            422,
            "INVALID_REQUEST",
        )
        assert b["errors"][0]["field"] == "questions.0"
        problem(
            c.post("/v1/checks", json={"certificate": cert, "reason": "RANDOM", "questions": ["q"] * 21}),
            422,
            "INVALID_REQUEST",
        )
        problem(
            c.post("/v1/checks", json={"certificate": cert, "reason": "RANDOM", "questions": []}),
            422,
            "INVALID_REQUEST",
        )
        problem(
            c.post(
                "/v1/decisions", json={"certificate": {"inboxId": inbox_id, "document": wrapped}, "preference": "GIVEN"}
            ),
            422,
            "INVALID_REQUEST",
        )
        problem(c.post("/v1/decisions", json={"certificate": cert, "preference": "NOT_GIVEN"}), 422, "REASON_REQUIRED")
        problem(
            c.post("/v1/decisions", json={"certificate": {"document": {"data": {}}}, "preference": "GIVEN"}),
            422,
            "DOCUMENT_MALFORMED",
        )
        problem(c.get("/v1/checks/424242"), 404, "CHECK_NOT_FOUND")
        problem(c.post("/v1/checks/424242/close"), 404, "CHECK_NOT_FOUND")
        problem(c.get(f"/v1/certificates/{'ab' * 32}/decisions"), 404, "NO_DECISIONS")
        # not a targetHash: the look-up by issuing country and reference number answers instead
        problem(c.get("/v1/certificates/VN/decisions"), 404, "CERTIFICATE_NOT_RECEIVED")
    with world["vn"].client("issuer_vn") as c:
        b = problem(
            c.post(f"/v1/checks/{world['cid']}/answer", json={"result": "MAYBE", "findings": "x"}),
            422,
            "INVALID_REQUEST",
        )
        problem(
            c.post(f"/v1/checks/{world['cid']}/answer", json={"result": "CONFIRMED", "findings": "x" * 8001}),
            422,
            "INVALID_REQUEST",
        )
        problem(
            c.post("/v1/checks/424242/answer", json={"result": "CONFIRMED", "findings": "x"}), 404, "CHECK_NOT_FOUND"
        )
    assert net.engine.w3.eth.block_number == before  # no transaction was sent
    store = wrapped["data"]["issuers"][0]["documentStore"].split(":", 2)[2]
    assert (
        net.deployment.customs_record_client(net.engine.w3).decisions_of(store, wrapped["signature"]["targetHash"])
        == []
    )


# ------------------------------------------------------------------ deadlines (the chain's clock moved)


def advance(net: Any, seconds: int) -> None:
    w3 = net.engine.w3
    w3.provider.make_request("evm_increaseTime", [seconds])
    w3.provider.make_request("evm_mine", [])


def test_reminders_overdue_and_a_late_answer(world):
    vn, th, net = world["vn"], world["th"], world["net"]
    wrapped = issue(world, 1, seed=1604)[0]
    inbox_id = receive(th, "customs_th", wrapped)
    with th.client("customs_th") as c:
        r = c.post(
            "/v1/checks",
            json={"certificate": {"inboxId": inbox_id}, "reason": "RANDOM", "questions": ["Please confirm."]},
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
    # the issuing side's server-sent events hear the steps too
    sse: list[dict[str, Any]] = []

    def listen() -> None:
        with vn.client("issuer_vn") as c, c.stream("GET", "/v1/events/stream", timeout=60) as s:
            for line in s.iter_lines():
                if line.startswith("data: "):
                    sse.append(json.loads(line[6:]))
                    if sse[-1].get("event") == "CHECK_OVERDUE" and sse[-1].get("checkId") == cid:
                        return

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    time.sleep(0.5)  # the listener connects (the stream then carries every later notice)
    advance(net, 77 * 86400)  # 13 days left: inside the 14-day reminder
    wait_for(lambda: "CHECK_REMINDER" in events_of(world["vn_hook"], cid), 20, "VN's reminder")
    assert "CHECK_REMINDER" not in events_of(world["th_hook"], cid)  # reminders go to the answering side
    with th.client("customs_th") as c:
        assert all(x["id"] != cid for x in c.get("/v1/checks", params={"state": "overdue"}).json())
    advance(net, 14 * 86400)
    wait_for(lambda: "CHECK_OVERDUE" in events_of(world["th_hook"], cid), 20, "TH's overdue notice")
    wait_for(lambda: "CHECK_OVERDUE" in events_of(world["vn_hook"], cid), 20, "VN's overdue notice")
    with th.client("customs_th") as c:
        overdue = c.get("/v1/checks", params={"state": "overdue"}).json()
        assert [x["id"] for x in overdue] == [cid] and overdue[0]["overdue"]
    listener.join(timeout=30)
    assert any(e.get("event") == "CHECK_OVERDUE" and e.get("checkId") == cid for e in sse), sse
    with vn.client("admin_vn") as c:  # VN's admin answers, late
        wait_for(
            lambda: any(x["id"] == cid for x in c.get("/v1/checks", params={"state": "overdue"}).json()),
            20,
            "VN to list it as overdue",
        )
        r = c.post(f"/v1/checks/{cid}/answer", json={"result": "CONFIRMED", "findings": "Confirmed, belatedly."})
        assert r.status_code == 200 and r.json()["late"] and not r.json()["revoked"], r.text
    assert net.deployment.customs_record_client(net.engine.w3).check(cid).late
    with th.client("customs_th") as c:
        wait_for(lambda: c.get(f"/v1/checks/{cid}").json()["late"], 20, "TH to see it late")


# ------------------------------------------------------------------ the command line


def test_command_line(world, tmp_path, monkeypatch):
    from certnet.cli.main import main

    vn, th = world["vn"], world["th"]
    wrapped = issue(world, 1, seed=1605)[0]
    doc = tmp_path / "formd.json"
    doc.write_text(json.dumps(wrapped))
    receive(th, "customs_th", wrapped)
    th_key, vn_key = tmp_path / "th.key", tmp_path / "vn.key"
    th_key.write_text(th.keys["customs_th"])
    vn_key.write_text(vn.keys["issuer_vn"])
    attachment = tmp_path / "invoice.pdf"
    attachment.write_bytes(b"%PDF-1.4 invoice")

    def run(*argv: str) -> tuple[int, Any, str]:
        import contextlib
        import io

        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main(list(argv))
            except SystemExit as exc:  # argparse's refusals
                code = int(exc.code)
        text = out.getvalue()
        try:
            value = json.loads(text) if text.strip().startswith(("{", "[")) else text
        except ValueError:
            value = text
        return code, value, err.getvalue()

    th_opts = ("--url", th.url, "--api-key-file", str(th_key))
    code, d, err = run(
        "decide",
        str(doc),
        "--preference",
        "NOT_GIVEN",
        "--reason",
        "HS_CODE_MISMATCH",
        "--note",
        "HS 8471 declared, 8473 found",
        *th_opts,
    )
    assert code == 0 and d["version"] == 1, err
    code, c, err = run(
        "check",
        "open",
        str(doc),
        "--reason",
        "DOUBT_HS_CLASSIFICATION",
        "--question",
        "Which HS code did the exporter declare?",
        "--attach",
        str(attachment),
        *th_opts,
    )
    assert code == 0 and c["state"] == "OPEN", err
    assert c["request"]["attachments"][0]["name"] == "invoice.pdf"
    code, listing, err = run("check", "list", *th_opts)
    assert code == 0 and str(c["id"]) in listing and "OPEN" in listing, err
    code, _, err = run("check", "answer", str(c["id"]), "--result", "CONFIRMED", "--findings", "ok", *th_opts)
    assert code == 1 and "FORBIDDEN_ROLE" in err
    vn_opts = ("--url", vn.url, "--api-key-file", str(vn_key))
    wait_for(
        lambda: (
            run("check", "list", "--json", *vn_opts)[1]
            and any(x["id"] == c["id"] for x in run("check", "list", "--json", *vn_opts)[1])
        ),
        30,
        "VN to see the check",
    )
    code, a, err = run(
        "check", "answer", str(c["id"]), "--result", "CONFIRMED", "--findings", "HS 8471 is right", *vn_opts
    )
    assert code == 0 and a["state"] == "ANSWERED", err
    code, closed, err = run("check", "close", str(c["id"]), *th_opts)
    assert code == 0 and closed["state"] == "CLOSED", err
    code, _, err = run("decide", str(doc), "--preference", "NOT_GIVEN", "--reason", "NOT_A_REASON", *th_opts)
    assert code == 2  # argparse refuses the unknown reason
    code, _, err = run(
        "decide", str(doc), "--preference", "GIVEN", "--url", "http://127.0.0.1:9", "--api-key-file", str(th_key)
    )
    assert code == 4 and "cannot reach" in err
    monkeypatch.delenv("CERTNET_API_KEY", raising=False)
    code, _, err = run("decide", str(doc), "--preference", "GIVEN", "--url", th.url)
    assert code == 2 and "API key" in err


# ------------------------------------------------------------------ history, audit export, audit check


def test_history_and_audit_export_carry_every_step(world):
    import datetime as dt

    from certnet.index.audit import check_export

    vn, th, net = world["vn"], world["th"], world["net"]
    th_hash, cid = world["wrapped"]["signature"]["targetHash"], world["cid"]
    with th.client("customs_th") as c:  # the customs that received it sees the whole history
        h = wait_for(
            lambda: (
                lambda r: (
                    r.status_code == 200 and "CHECK_CLOSED" in [e["kind"] for e in r.json()["events"]] and r.json()
                )
            )(c.get(f"/v1/history/{th_hash}")),
            30,
            "the history to hold the closing",
        )
    kinds = [e["kind"] for e in h["events"]]
    assert kinds[:1] == ["ANCHORED"] and {
        "DECIDED",
        "CHECK_OPENED",
        "CHECK_ANSWERED",
        "REVOKED",
        "CHECK_CLOSED",
    } <= set(kinds)
    assert kinds.index("REVOKED") < kinds.index("CHECK_ANSWERED") < kinds.index("CHECK_CLOSED")
    answered = next(e for e in h["events"] if e["kind"] == "CHECK_ANSWERED")
    assert answered["checkId"] == cid and answered["result"] == "NOT_CONFIRMED" and answered["revoked"]
    assert answered["country"] == "TH" and answered["issuingCountry"] == "VN" and answered["document"] == th_hash
    decided = [e for e in h["events"] if e["kind"] == "DECIDED"]
    assert [d["version"] for d in decided] == [1, 2] and decided[0]["reason"] == "ORIGIN_CRITERION_NOT_MET"

    day = dt.datetime.now(dt.UTC).date()
    period = {"from": str(day - dt.timedelta(days=1)), "to": str(day + dt.timedelta(days=200))}  # the clock moved
    exports = {}
    for member, who, country in ((th, "auditor_th", "TH"), (vn, "auditor_vn", "VN")):
        with member.client(who) as c:
            r = c.get("/v1/audit/export", params={"country": country, **period})
            assert r.status_code == 200, r.text
            exports[country] = r.text.splitlines()
    for country, lines in exports.items():
        header = json.loads(lines[0])
        assert header["customsRecord"] == net.deployment.customs_record
        events = [json.loads(x) for x in lines if json.loads(x)["type"] == "event"]
        ours = [e for e in events if e["kind"] in ("DECIDED", "CHECK_OPENED", "CHECK_ANSWERED", "CHECK_CLOSED")]
        assert {e["kind"] for e in ours} == {"DECIDED", "CHECK_OPENED", "CHECK_ANSWERED", "CHECK_CLOSED"}, country
        report = check_export(lines, net.engine.w3)
        assert report.ok, report.problems
    # proofs only for whom the disclosure rule lets see them: the issuing country's auditors, not the importing's
    docs = {
        cc: {json.loads(x)["targetHash"] for x in lines if json.loads(x)["type"] == "document"}
        for cc, lines in exports.items()
    }
    assert th_hash in docs["VN"] and th_hash not in docs["TH"]

    def tampered(lines: list[str], kind: str, **changes: Any) -> list[str]:
        out, done = [], False
        for line in lines:
            item = json.loads(line)
            if not done and item.get("kind") == kind:
                item.update(changes)
                done = True
            out.append(json.dumps(item))
        assert done
        return out

    lines = exports["TH"]
    for kind, changes, says in (
        ("CHECK_ANSWERED", {"textHash": "cd" * 32}, "does not carry textHash"),
        ("CHECK_CLOSED", {"document": "ef" * 32}, "is about"),
        ("CHECK_OPENED", {"checkId": cid + 1000}, "not about check"),
        ("DECIDED", {"store": net.stores["th"]}, "does not carry the store"),
    ):
        report = check_export(tampered(lines, kind, **changes), net.engine.w3)
        assert not report.ok and any(says in p for p in report.problems), (kind, report.problems)
    forged = [json.dumps({**json.loads(lines[0]), "customsRecord": net.deployment.issuer_registry}), *lines[1:]]
    report = check_export(forged, net.engine.w3)
    assert any("not a customs record" in p for p in report.problems), report.problems
