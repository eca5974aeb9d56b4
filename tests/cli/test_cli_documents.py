"""The document commands as a user runs them: samples -> wrap / issue -> verify -> revoke -> obfuscate."""

from __future__ import annotations

import json

from certnet.verifier.verdict import EXIT_CODES
from tests.support.cli import certnet


def test_wrap_issue_verify_revoke(home, tmp_path):
    r = certnet(home, "samples", "--count", "6", "--out", str(tmp_path / "raw"))
    assert r.returncode == 0, r.stderr
    raw = sorted((tmp_path / "raw").glob("*.json"))
    assert len(raw) == 6

    r = certnet(home, "wrap", str(tmp_path / "raw"), "--out", str(tmp_path / "wrapped"), "--type", "form-d")
    assert r.returncode == 0, r.stderr
    root = r.stdout.strip()
    wrapped = sorted((tmp_path / "wrapped").glob("*.json"))
    assert [w.name for w in wrapped] == [f.name for f in raw]
    assert all(json.loads(w.read_text())["signature"]["merkleRoot"] == root for w in wrapped)
    r = certnet(home, "verify", str(wrapped[0]))
    assert r.returncode == EXIT_CODES["NOT_ISSUED"] and "NOT_ISSUED" in r.stdout

    r = certnet(home, "issue", str(tmp_path / "raw"), "--out", str(tmp_path / "issued"))
    assert r.returncode == 0, r.stderr
    assert "6 documents" in r.stdout
    issued = sorted((tmp_path / "issued").glob("*.json"))
    r = certnet(home, "verify", str(tmp_path / "issued"), "--json")
    assert r.returncode == 0, r.stdout
    out = json.loads(r.stdout)
    assert out["status"] == "VALID" and len(out["results"]) == 6
    assert {c["type"] for c in out["results"][0]["checks"]} == {
        "DOCUMENT_INTEGRITY",
        "DOCUMENT_STATUS",
        "ISSUER_IDENTITY",
    }

    r = certnet(home, "revoke", str(issued[1]), "--reason", "DATA_CORRECTED")
    assert r.returncode == 0, r.stderr
    r = certnet(home, "verify", str(issued[1]), "--json")
    assert r.returncode == EXIT_CODES["REVOKED"]
    v = json.loads(r.stdout)
    assert v["status"] == "REVOKED" and v["revocation"]["reason"] == "DATA_CORRECTED"
    r = certnet(home, "verify", "-", "--json", stdin=issued[0].read_text())
    assert r.returncode == 0 and json.loads(r.stdout)["status"] == "VALID"

    # selective disclosure keeps the document valid
    hidden = tmp_path / "hidden.json"
    r = certnet(home, "obfuscate", str(issued[0]), "consignee.address", "goods.0.fobValue", "--out", str(hidden))
    assert r.returncode == 0, r.stderr
    doc = json.loads(hidden.read_text())
    assert "address" not in doc["data"]["consignee"] and len(doc["privacy"]["obfuscatedData"]) >= 2
    assert certnet(home, "verify", str(hidden)).returncode == 0

    # tampering is caught
    doc = json.loads(issued[2].read_text())
    doc["data"]["importingCountry"] = doc["data"]["importingCountry"].rsplit(":", 1)[0] + ":ZZ"
    (tmp_path / "tampered.json").write_text(json.dumps(doc))
    r = certnet(home, "verify", str(tmp_path / "tampered.json"))
    assert r.returncode == EXIT_CODES["TAMPERED"] and "altered" in r.stdout

    r = certnet(home, "verify", "--offline", str(issued[1]))
    assert r.returncode == EXIT_CODES["INTEGRITY_ONLY"]


def test_bad_input_is_named(home, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.json").write_text("{oops")
    r = certnet(home, "wrap", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "a.json: not valid JSON" in r.stderr
    (bad / "a.json").write_text(json.dumps({"documentType": "FORM_D", "x": 1}))
    r = certnet(home, "wrap", str(bad), "--out", str(tmp_path / "o"), "--type", "form-d")
    assert r.returncode == 1 and "a.json" in r.stderr and "referenceNumber" in r.stderr
    r = certnet(home, "wrap", str(bad), "--out", str(tmp_path / "o"))  # any JSON object wraps without --type
    assert r.returncode == 0
    (bad / "a.json").write_text(json.dumps({"a.b": 1}))
    r = certnet(home, "wrap", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "a.b" in r.stderr
    r = certnet(home, "wrap", str(tmp_path / "missing"), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "no such file" in r.stderr
    (bad / "a.json").write_text(json.dumps({"documentType": "FORM_D"}))
    r = certnet(home, "issue", str(bad), "--out", str(tmp_path / "o"))
    assert r.returncode == 1 and "a.json" in r.stderr and "SCHEMA_INVALID" in r.stderr
    r = certnet(home, "verify", str(bad / "a.json"))
    assert r.returncode == EXIT_CODES["MALFORMED"]
