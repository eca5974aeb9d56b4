"""Auditors: certificate history through the index, jurisdiction export, and re-checking the export
against a node with `certnet audit check` (a tampered export or another chain fails)."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from certnet.node.engines import AnvilEngine
from tests.conftest import make_net
from tests.support.api_fixtures import form_ds, is_problem, issue, start_api, stop_api, wait_until


@pytest.fixture(scope="module")
def api(anvil_engine, tmp_path_factory):
    net = make_net(anvil_engine)
    a, server, thread = start_api(net, tmp_path_factory.mktemp("audit"))
    yield a
    stop_api(server, thread)


def test_history_and_export_recheck(api, tmp_path):
    t0 = time.time() - 5
    docs = issue(api, "issuer_vn", form_ds(api, 3, seed=21))
    with api.client("issuer_vn") as c:
        r = c.post(f"/v1/documents/{docs[0]['id']}/revoke", json={"reason": "DATA_CORRECTED"})
        wait_until(lambda: c.get(f"/v1/actions/{r.json()['id']}").json()["state"] == "DONE")
    head = api.net.engine.w3.eth.block_number
    # another country's authority anchors and revokes the VN document's hash in its own store: not its history
    th = api.net.store("th_issuer")
    th.anchor(docs[0]["targetHash"], "FORM_D", 1)
    th.revoke_root(docs[0]["targetHash"], "FRAUDULENT")
    head = api.net.engine.w3.eth.block_number
    with api.client("auditor_vn") as c:

        def indexed() -> bool:
            return c.get(f"/v1/history/{docs[0]['targetHash']}").json()["indexedBlock"] >= head

        wait_until(indexed)
        h = c.get(f"/v1/history/{docs[0]['targetHash']}").json()
        kinds = [e["kind"] for e in h["events"]]
        assert kinds == ["ANCHORED", "REVOKED"], kinds
        assert h["proof"]["merkleRoot"] == docs[0]["merkleRoot"]
        anchored = h["events"][0]
        assert (
            anchored["blockNumber"] == docs[0]["blockNumber"]
            and anchored["transactionHash"] == docs[0]["transactionHash"]
        )
        assert h["events"][1]["reason"] in ("DATA_CORRECTED", 2) and h["events"][1]["counts"]
        assert {e["store"] for e in h["events"]} == {api.net.stores["vn"]} == {h["proof"]["store"]}
        start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0))
        end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 60))
        r = c.get("/v1/audit/export", params={"country": "VN", "from": start, "to": end})
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
        lines = r.text.splitlines()
        is_problem(
            c.get("/v1/audit/export", params={"country": "TH", "from": start, "to": end}), 403, "OUTSIDE_JURISDICTION"
        )
        is_problem(c.get("/v1/audit/export", params={"country": "VN", "from": end, "to": start}), 422, "BAD_PERIOD")
        is_problem(c.get("/v1/history/xyz"), 422, "MALFORMED_HASH")
    with api.client("issuer_vn") as c:
        is_problem(c.get(f"/v1/history/{docs[0]['targetHash']}"), 403, "FORBIDDEN_ROLE")
    records = [json.loads(x) for x in lines]
    assert records[0]["type"] == "header" and records[0]["country"] == "VN"
    assert {r["targetHash"] for r in records if r["type"] == "document"} >= {d["targetHash"] for d in docs}
    assert any(r["type"] == "event" and r["kind"] == "REVOKED" for r in records)
    assert (
        {r["store"] for r in records if r["type"] == "event" and r["kind"] in ("ANCHORED", "REVOKED")}
        == {api.net.stores["vn"]}
        == {r["store"] for r in records if r["type"] == "document"}
    )
    assert (
        "certificateRegistry" not in records[0] and records[0]["issuerRegistry"] == api.net.deployment.issuer_registry
    )

    export = tmp_path / "export.ndjson"
    export.write_text(r.text)
    ok = subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", "audit", "check", str(export), "--rpc", api.net.engine.rpc_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "all confirmed" in ok.stdout

    # tampering with the export is caught
    bad = [dict(x) for x in records]
    ev = next(x for x in bad if x["type"] == "event" and x["kind"] == "ANCHORED")
    ev["root"] = "ab" * 32
    doc = next(x for x in bad if x["type"] == "document")
    doc["targetHash"] = "cd" * 32
    # an event or a document moved to another store, registered or not, is caught too
    revoked = next(x for x in bad if x["type"] == "event" and x["kind"] == "REVOKED")
    revoked["store"] = api.net.stores["th"]
    docs_lines = [x for x in bad if x["type"] == "document"]
    docs_lines[1]["store"] = api.net.stores["th"]
    docs_lines[2]["store"] = "0x" + "12" * 20
    tampered = tmp_path / "tampered.ndjson"
    tampered.write_text("".join(json.dumps(x) + "\n" for x in bad))
    r = subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", "audit", "check", str(tampered), "--rpc", api.net.engine.rpc_url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 1 and "does not carry root" in r.stdout and "Merkle proof" in r.stdout, r.stdout
    assert f"not the document store {api.net.stores['th']}" in r.stdout, r.stdout
    assert f"not anchored in its document store {api.net.stores['th']}" in r.stdout, r.stdout
    assert "0x" + "12" * 20 in r.stdout and "is not a document store of the issuer registry" in r.stdout, r.stdout


def test_export_does_not_check_against_another_chain(api, tmp_path):
    from certnet.index.audit import check_export

    other = AnvilEngine(tmp_path / "other", chain_id=31338, persist=False).start()
    try:
        lines = [
            '{"type":"header","format":"certnet-audit-export/1","chainId":31337,'
            '"issuerRegistry":"0x' + "22" * 20 + '"}\n'
        ]
        report = check_export(lines, other.w3)
        assert not report.ok and "chain 31337" in report.problems[0]
    finally:
        other.stop()
