"""Cross-implementation tests against the reference OpenAttestation library.

The npm package ``@govtechsg/open-attestation`` (pinned in package.json) runs in node through
``tests/oracle/oa.cjs``; documents go to it in files. Both directions are checked: what certnet
wraps, hides and signs passes the library, and what the library wraps and hides gets the same
verdict from certnet. These tests fail (they do not skip) when node or the package is missing.
"""

from __future__ import annotations

import copy
import json
import math
import random
import shutil
import struct
import subprocess
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account

from certnet.verifier.integrity import check_integrity
from certnet.verifier.jsjson import js_number, js_stringify
from certnet.verifier.obfuscate import obfuscate_document
from certnet.verifier.salting import unsalt_data
from certnet.verifier.signature import recover_signer
from certnet.verifier.signing import sign_document
from certnet.verifier.wrap import wrap_document, wrap_documents

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / "tests" / "oracle" / "oa.cjs"
PACKAGE = "@govtechsg/open-attestation"


def _require_oracle() -> str:
    """Path of node; fails the calling test when node or the pinned package is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the OpenAttestation cross-checks need it (run `make setup`)")
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"].get(PACKAGE)
    if pinned is None:
        pytest.fail(f"{PACKAGE} is not pinned in package.json")
    manifest = ROOT / "node_modules" / PACKAGE / "package.json"
    if not manifest.exists():
        pytest.fail(f"{PACKAGE} is not installed in node_modules (run `make setup`)")
    installed = json.loads(manifest.read_text())["version"]
    if installed != pinned:
        pytest.fail(f"{PACKAGE} {installed} is installed but package.json pins {pinned} (run `make setup`)")
    return node


@pytest.fixture(scope="module")
def oa(tmp_path_factory):
    """Run an oracle command on a JSON input; returns the parsed JSON output.

    The checks for node and the package run inside the test, so that a missing one fails the
    test (it is never skipped, nor only an error of the fixture).
    """
    workdir = tmp_path_factory.mktemp("oa")
    counter = iter(range(10**6))

    def run(command: str, payload: Any, *flags: str) -> Any:
        node = _require_oracle()
        path = workdir / f"in-{next(counter)}.json"
        # ASCII escapes carry lone surrogates through to JavaScript intact
        path.write_text(json.dumps(payload, ensure_ascii=True), encoding="ascii")
        proc = subprocess.run(
            [node, str(ORACLE), command, str(path), *flags],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            pytest.fail(f"oracle {command} failed:\n{proc.stderr}")
        return json.loads(proc.stdout)

    return run


ISSUERS = [
    {
        "name": "Phòng Quản lý Xuất nhập khẩu khu vực TP. Hồ Chí Minh",
        "documentStore": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "identityProof": {"type": "DNS-TXT", "location": "certnet.example"},
    }
]


def tricky_docs() -> list[dict]:
    """Raw documents full of what JavaScript and Python write differently."""
    controls = "".join(chr(c) for c in range(0x20)) + "\x7f"
    base = {
        "issuers": ISSUERS,
        "referenceNumber": "VN-TH 24/02/00006",
        "exporter": {
            "name": "CÔNG TY TNHH MỘT THÀNH VIÊN XUẤT NHẬP KHẨU THỦY SẢN CẦN THƠ",
            "address": "Số 12 Đường Trần Hưng Đạo, Quận Ninh Kiều, Cần Thơ",
        },
        "consignee": {"name": "บริษัท ไทยยูเนี่ยน กรุ๊ป จำกัด (มหาชน)", "country": "TH"},
        "text": {
            "quotes": "He said \"xin chào\" and 'sawasdee'",
            "backslashes": 'C:\\certs\\form-d\\ \\" \\\\',
            "controls": controls,
            "emoji": "🦐🐟☕️ 👩🏽‍🌾 🇻🇳",
            "separators": "\u2028\u2029",
            "astral": "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 \U0010ffff",
            "colons": "a:b:c::",
            "padded": "  spaces kept  ",
            "empty": "",
            "html": "</script><!-- & -->",
        },
        "numbers": {
            "int": 42,
            "negative": -17,
            "zero": 0,
            "negativeZero": -0.0,
            "float": 3.14159,
            "money": 15234.5,
            "big": 1e21,
            "bigger": 1.2345e300,
            "small": 1e-7,
            "smaller": 1.5e-7,
            "denormal": 5e-324,
            "max": 1.7976931348623157e308,
            "safe": 9007199254740991,
            "exactPowerOfTwo": 2**60,
            "sixth": 0.000001,
            "twentyDigits": 1e20,
            "third": 1 / 3,
        },
        "flags": {"thirdCountryInvoicing": False, "backToBack": True, "remarks": None},
        "items": [
            {"hsCode": "0306.17", "description": "Tôm thẻ chân trắng đông lạnh", "quantity": 1200, "nil": None},
            {"hsCode": "0901.11", "description": "Cà phê Robusta", "tags": ["a", 1, True, None, [], {}]},
            [[["deep"]], []],
        ],
        "empty": {"object": {}, "array": [], "nested": {"inner": {}}},
        "": "value under an empty top-level key",
        "nest": {"": {"emptyKey": "value under an empty key", "": "both empty"}},
        "0": "numeric key",
        "10": {"2": "integer-like keys"},
    }
    lone = dict(base, referenceNumber="VN-TH 24/02/00007", lone={"high": "\ud800", "low": "x\udfffy"})
    minimal = {"issuers": ISSUERS, "a": "b"}
    empty_root_object = {"issuers": ISSUERS, "": {}}
    empty_root_array = {"issuers": ISSUERS, "": []}
    return [base, lone, minimal, empty_root_object, empty_root_array]


def _js_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values as JavaScript sees them (numbers are doubles, -0 == 0)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True) or (_normalise(a) == _normalise(b))


def _normalise(v: Any) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, dict):
        return {k: _normalise(x) for k, x in v.items()}
    return [_normalise(x) for x in v]


# --------------------------------------------------------------------------------------------
# JavaScript text: String(number) and JSON.stringify


def _random_doubles(n: int, seed: int = 7) -> list[float]:
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(x):
            out.append(x)
    return out


def test_js_number_matches_javascript(oa):
    special = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.1,
        0.2,
        0.30000000000000004,
        1 / 3,
        2 / 3,
        100.0,
        1e20,
        1e21,
        1.5e21,
        123456789012345680000.0,
        1e-6,
        1e-7,
        1.234e-6,
        1.234e-7,
        5e-324,
        2.2250738585072014e-308,
        1.7976931348623157e308,
        9007199254740991.0,
        9007199254740992.0,
        2.0**60,
        4.35,
        0.5,
        1e300,
        -1e-300,
        1e16,
        1e15,
        123e-20,
        9.999999999999999e20,
        1e-5,
        0.000123,
    ]
    rng = random.Random(11)
    decimals = [round(rng.uniform(-1e6, 1e6), rng.randint(0, 8)) for _ in range(2000)]
    scaled = [rng.random() * 10.0 ** rng.randint(-30, 30) for _ in range(2000)]
    values = special + _random_doubles(6000) + decimals + scaled
    expected = oa("js-string", values)
    mismatches = [(v, js_number(v), e) for v, e in zip(values, expected, strict=True) if js_number(v) != e]
    assert not mismatches, mismatches[:10]


def test_js_stringify_matches_javascript(oa):
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(0x80)] + [
        "é",
        "ệ",
        "ữ",
        "ก",
        "\u2028",
        "\ufeff",
        "\ud800",
        "\udc00",
        "😀",
        "\U0001f1fb",
    ]
    strings = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12))) for _ in range(1500)]
    values: list[Any] = strings + [
        {"b": 1, "10": 2, "2": 3, "01": 4, "-1": 5, "4294967294": 6, "4294967295": 7, "a": [1.0, None, True]},
        {"x": -0.0, "y": 1e-7, "z": [1e21, 5e-324, {}, []]},
        tricky_docs()[1],
    ]
    expected = oa("stringify", values)
    for v, e in zip(values, expected, strict=True):
        assert js_stringify(v) == e, repr(v)


# --------------------------------------------------------------------------------------------
# certnet -> library


def test_certnet_wrapped_documents_pass_the_library(oa):
    docs = tricky_docs()
    _, batch = wrap_documents(docs)
    singles = [wrap_document(d) for d in docs]
    more = wrap_documents([dict(docs[2], n=i) for i in range(37)])[1]  # odd layers in the tree
    wrapped = batch + singles + more
    assert all(check_integrity(w).ok for w in wrapped)
    verdicts = oa("verify", wrapped)
    assert all(v["ok"] for v in verdicts), verdicts
    # the library reads back the raw data certnet salted; it trims the end of strings when
    # unsalting, which certnet does not, so strings with trailing white space differ.
    unsalted = oa("unsalt", batch)
    for raw, theirs, w in zip(docs, unsalted, batch, strict=True):
        mine = unsalt_data(w["data"])
        assert _js_equal(mine, raw)
        if "text" in raw:
            assert mine["text"]["padded"] == "  spaces kept  " and theirs["text"]["padded"] == "  spaces kept"
            mine, theirs = dict(mine), dict(theirs)
            del mine["text"], theirs["text"]
        assert _js_equal(theirs, mine)


def test_certnet_parallel_batch_passes_the_library(oa, monkeypatch):
    import certnet.verifier.wrap as wrap_module

    monkeypatch.setattr(wrap_module, "PARALLEL_THRESHOLD", 100)
    docs = [dict(tricky_docs()[0], referenceNumber=f"VN-TH 24/02/{i:05d}") for i in range(301)]
    root, wrapped = wrap_documents(docs, workers=2)
    verdicts = oa("verify", wrapped)
    assert len(verdicts) == 301 and all(v["ok"] for v in verdicts)
    assert {w["signature"]["merkleRoot"] for w in wrapped} == {root}


HIDE = [
    ["exporter.address"],
    ["consignee"],
    ["flags.remarks", "numbers.negativeZero", "numbers.denormal"],
    ["empty.nested.inner"],  # an empty object leaf
    ["empty.nested"],
    ["items.1.tags.5", "items.1.tags.4"],  # trailing array elements
    ["items.2"],  # the last element of an array
    ["text.controls", "text.emoji", "text.quotes", "text.backslashes"],
    ["nest..emptyKey", "nest.."],  # every field of an object: it goes away, and its parent
    ["10.2"],  # the last field of an object: no {} is left behind
    ["items.0.nil", "items.0.quantity", "items.0.hsCode", "items.0.description"],  # would leave {} in an array
]


def test_certnet_obfuscated_documents_pass_the_library(oa):
    _, wrapped = wrap_documents(tricky_docs()[:2])
    cases = []
    for w in wrapped:
        for fields in HIDE:
            try:
                o = obfuscate_document(w, fields)
            except Exception as e:  # only the non-trailing array element case is refused
                assert fields == HIDE[-1], (fields, e)
                continue
            assert check_integrity(o).ok, fields
            cases.append(o)
        # hiding in two rounds, and a signed-then-hidden document
        o = obfuscate_document(obfuscate_document(w, ["exporter.name"]), ["numbers", "text.astral"])
        cases.append(o)
        cases.append(obfuscate_document(sign_document(w, Account.create().key), ["consignee.country"]))
    assert not obfuscate_document(wrapped[0], ["10.2"])["data"].get("10")
    verdicts = oa("verify", cases)
    assert all(v["ok"] for v in verdicts), verdicts


def test_library_agrees_on_tampered_certnet_documents(oa):
    w = wrap_documents(tricky_docs())[1][0]
    bad = []
    d = copy.deepcopy(w)
    d["data"]["referenceNumber"] = d["data"]["referenceNumber"].replace("00006", "00009")
    bad.append(d)
    d = copy.deepcopy(w)
    d["data"]["numbers"]["renamed"] = d["data"]["numbers"].pop("int")
    bad.append(d)
    d = copy.deepcopy(w)
    d["signature"]["proof"][0] = "00" * 32
    bad.append(d)
    d = copy.deepcopy(w)
    d["signature"]["merkleRoot"] = "11" * 32
    bad.append(d)
    d = obfuscate_document(w, ["consignee"])
    d["privacy"]["obfuscatedData"].pop()
    bad.append(d)
    d = obfuscate_document(w, ["consignee"])
    d["privacy"]["obfuscatedData"].append(d["privacy"]["obfuscatedData"][0])
    bad.append(d)
    assert not any(check_integrity(b).ok for b in bad)
    assert not any(v["ok"] for v in oa("verify", bad))


# --------------------------------------------------------------------------------------------
# library -> certnet


def test_library_wrapped_documents_pass_certnet(oa):
    docs = tricky_docs()
    batch = oa("wrap", docs)
    singles = oa("wrap-each", docs)
    many = oa("wrap", [dict(docs[2], n=i) for i in range(23)])
    for w in batch + singles + many:
        r = check_integrity(w)
        assert r.ok, r.message
    for raw, w in zip(docs, batch, strict=True):
        back = unsalt_data(w["data"])
        assert _js_equal(back, json.loads(json.dumps(raw)))


def test_library_obfuscated_documents_get_the_same_verdict(oa):
    wrapped = oa("wrap", tricky_docs()[:2])
    fields = HIDE + [
        ["exporter.address", "exporter.name"],  # last fields of an object: the library leaves {}
        ["10.2"],
        ["items.0"],  # the library leaves a hole (null) in the array
        ["items.1.tags.0"],
        ["empty.object"],
    ]
    requests = [{"document": w, "fields": f} for w in wrapped for f in fields]
    obfuscated = oa("obfuscate", requests)
    theirs = oa("verify", obfuscated)
    disagreements = []
    outcomes = []
    for req, o, v in zip(requests, obfuscated, theirs, strict=True):
        mine = check_integrity(o)
        outcomes.append((req["fields"], v["ok"]))
        if mine.ok != v["ok"]:
            disagreements.append((req["fields"], v, mine.code, mine.message))
    assert not disagreements, disagreements
    # The library's own obfuscation breaks a document when it empties an object ({} stays as a
    # new leaf) or removes an array element; certnet agrees that such documents do not verify.
    assert (["exporter.address", "exporter.name"], False) in outcomes
    assert (["consignee"], True) in outcomes


def test_library_refuses_what_certnet_refuses(oa, tmp_path):
    from certnet.verifier.jsjson import ProofFormatError

    with pytest.raises(ProofFormatError):
        wrap_documents([{"issuers": ISSUERS, "a.b": "dotted key"}])
    proc = subprocess.run(
        [_require_oracle(), str(ORACLE), "wrap", "-"],
        input=json.dumps([{"issuers": ISSUERS, "a.b": "dotted key"}]),
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0 and "Key names must not have . in them" in proc.stderr


# --------------------------------------------------------------------------------------------
# issuer signature


def test_signature_cross_check(oa):
    acct = Account.from_key("0x" + "5d" * 32)
    w = wrap_documents(tricky_docs())[1][0]
    text_signed = sign_document(w, acct.key)
    bytes_signed = sign_document(w, acct, encoding="bytes")
    root = "0x" + w["signature"]["merkleRoot"]
    recovered = oa(
        "verify-message",
        [
            {"message": root, "signature": text_signed["proof"][0]["signature"], "bytes": False},
            {"message": root, "signature": bytes_signed["proof"][0]["signature"], "bytes": True},
        ],
    )
    assert recovered == [acct.address, acct.address]
    # the library signs the root's bytes; deterministic (RFC 6979) signatures are identical
    vm = f"did:ethr:{acct.address}#controller"
    (theirs,) = oa("sign", [{"document": w, "key": "0x" + bytes(acct.key).hex(), "public": vm}])
    entry = theirs["proof"][0]
    assert entry["type"] == "OpenAttestationSignature2018" and entry["proofPurpose"] == "assertionMethod"
    assert entry["verificationMethod"] == vm
    assert recover_signer(theirs, encoding="bytes") == acct.address
    assert entry["signature"] == bytes_signed["proof"][0]["signature"]
    assert oa("verify", [text_signed, theirs]) == [{"ok": True}, {"ok": True}]
    assert check_integrity(theirs).ok
