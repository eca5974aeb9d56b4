"""Unit and property tests of the OpenAttestation v2 compatible proof format (verifier/)."""

from __future__ import annotations

import copy
import itertools
import json
import math
import os
import time
import uuid
from decimal import Decimal

import pytest
from eth_account import Account
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from certnet.verifier import wrap as wrap_mod
from certnet.verifier.integrity import (
    MALFORMED,
    MERKLE_PROOF_INVALID,
    TARGET_HASH_MISMATCH,
    VALID,
    check_integrity,
)
from certnet.verifier.jsjson import ProofFormatError, js_number, js_string, js_stringify
from certnet.verifier.merkle import MerkleTree, combine, keccak256, keccak256_hex, merkle_root, verify_proof
from certnet.verifier.obfuscate import hidden_leaf_hashes, obfuscate_document
from certnet.verifier.salting import (
    MAX_DEPTH,
    digest_data,
    flatten,
    iter_leaves,
    leaf_hash,
    leaf_hashes,
    random_uuid,
    salt_and_hash,
    salt_data,
    salt_value,
    target_hash,
    unsalt_data,
    unsalt_value,
)
from certnet.verifier.signature import recover_signer, recover_signers, verify_issuer_signature
from certnet.verifier.signing import sign_document, sign_merkle_root
from certnet.verifier.wrap import SCHEMA_V2, wrap_document, wrap_documents

ISSUERS = [
    {
        "name": "Phòng Quản lý XNK TP. Hồ Chí Minh",
        "documentStore": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
        "identityProof": {"type": "CERTNET-REGISTRY", "location": "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"},
    }
]


def counter_uuids(start: int = 0):
    """Deterministic UUID v4 strings for reproducible tests."""
    it = itertools.count(start)
    return lambda: str(uuid.UUID(int=(next(it) << 64) | 0x1234, version=4))


def sample_doc(i: int = 0) -> dict:
    return {
        "issuers": ISSUERS,
        "referenceNumber": f"VN-TH 24/02/{i:05d}",
        "exporter": {"name": "CÔNG TY TNHH THỦY SẢN CẦN THƠ", "country": "VN", "taxId": "0301234567"},
        "consignee": {"name": "บริษัท สยามแม็คโคร จำกัด", "country": "TH"},
        "items": [
            {"hsCode": "0306.17", "description": "Tôm thẻ đông lạnh 🦐", "quantity": 1200, "fob": 15234.5},
            {"hsCode": "0901.11", "description": 'Cà phê "Robusta"\\ loại 2', "quantity": 3, "fob": 1e21},
        ],
        "flags": {"backToBack": False, "exhibition": True, "deMinimis": None},
        "remarks": {},
        "attachments": [],
    }


# --------------------------------------------------------------------------------------------
# jsjson


@pytest.mark.parametrize(
    "value,text",
    [
        (0, "0"),
        (0.0, "0"),
        (-0.0, "0"),
        (1, "1"),
        (-7, "-7"),
        (1.0, "1"),
        (1.5, "1.5"),
        (0.1, "0.1"),
        (-0.5, "-0.5"),
        (100.0, "100"),
        (1e20, "100000000000000000000"),
        (1e21, "1e+21"),
        (-1e21, "-1e+21"),
        (1.5e300, "1.5e+300"),
        (1e-6, "0.000001"),
        (1.234e-6, "0.000001234"),
        (1e-7, "1e-7"),
        (1.5e-7, "1.5e-7"),
        (5e-324, "5e-324"),
        (1.7976931348623157e308, "1.7976931348623157e+308"),
        (123456789.125, "123456789.125"),
        (2**53 - 1, "9007199254740991"),
        (2**53, "9007199254740992"),
        (2.0**60, "1152921504606847000"),
        (2**60, "1152921504606847000"),
        (10**21, "1e+21"),
        (123456789012345680000.0, "123456789012345680000"),
        (0.000001, "0.000001"),
        (1 / 3, "0.3333333333333333"),
    ],
)
def test_js_number(value, text):
    assert js_number(value) == text
    assert js_string(value) == text


@pytest.mark.parametrize(
    "bad",
    [
        math.nan,
        math.inf,
        -math.inf,
        2**53 + 1,
        10**400,
        pytest.param(10**5000, id="10**5000"),
        -(2**64) - 1,
        Decimal("1.1"),
    ],
)
def test_js_number_refuses(bad):
    with pytest.raises(ProofFormatError):
        js_number(bad, "a.b")


def test_js_string_primitives():
    assert js_string("Việt") == "Việt"
    assert js_string(True) == "true"
    assert js_string(False) == "false"
    assert js_string(None) == "null"


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_js_number_round_trips(x):
    text = js_number(x)
    assert float(text) == x
    mantissa = text.split("e")[0]
    assert not mantissa.endswith(".") and not ("." in mantissa and mantissa.endswith("0"))


def test_js_stringify_escapes_and_order():
    s = 'q"b\\s/\b\f\n\r\t\x00\x01\x1f\x7f\u2028é😀'
    assert js_stringify(s) == '"q\\"b\\\\s/\\b\\f\\n\\r\\t\\u0000\\u0001\\u001f\x7f\u2028é😀"'
    assert js_stringify("\ud800x\udfff") == '"\\ud800x\\udfff"'
    assert js_stringify("\ud83d\ude00") == '"😀"'  # a surrogate pair is the character it encodes
    assert js_stringify({"b": 1, "10": 2, "2": 3, "01": 4, "a": [1.0, None, True]}) == (
        '{"2":3,"10":2,"b":1,"01":4,"a":[1,null,true]}'
    )
    assert js_stringify([]) == "[]" and js_stringify({}) == "{}"
    assert js_stringify({"x": -0.0, "y": 1e-7}) == '{"x":0,"y":1e-7}'


@pytest.mark.parametrize(
    "obj,path",
    [
        ({"a": {"b": {1, 2}}}, "a.b"),
        ({"a": [0, b"bytes"]}, "a.1"),
        ({"a": math.nan}, "a"),
        ({"a": {1: "x"}}, "a"),
        ({"a": [Decimal("1")]}, "a.0"),
        ({"a": 2**70 + 1}, "a"),
    ],
)
def test_js_stringify_refuses_with_path(obj, path):
    with pytest.raises(ProofFormatError) as e:
        js_stringify(obj)
    assert e.value.path == path
    assert path in str(e.value)


# --------------------------------------------------------------------------------------------
# salting, flattening, hashing


def test_salt_value_format():
    u = counter_uuids()
    for value, typed in [
        ("x:y", "string:x:y"),
        (5, "number:5"),
        (1e21, "number:1e+21"),
        (-0.0, "number:0"),
        (True, "boolean:true"),
        (False, "boolean:false"),
        (None, "null:null"),
    ]:
        s = salt_value(value, "p", u)
        assert s[36] == ":" and s[37:] == typed
        assert uuid.UUID(s[:36]).version == 4


def test_salt_data_shape_and_unsalt_round_trip():
    raw = sample_doc()
    salted = salt_data(raw)
    assert salted["remarks"] == {} and salted["attachments"] == []
    assert set(salted) == set(raw)
    assert salted["items"][1]["quantity"].endswith(":number:3")
    assert salted["items"][1]["fob"].endswith(":number:1e+21")
    assert salted["flags"]["deMinimis"].endswith(":null:null")
    assert unsalt_data(salted) == raw
    assert raw == sample_doc()  # input untouched


def test_random_uuids_are_v4_and_distinct():
    seen = {random_uuid() for _ in range(20000)}
    assert len(seen) == 20000
    for s in itertools.islice(seen, 500):
        u = uuid.UUID(s)
        assert str(u) == s and u.version == 4 and u.variant == uuid.RFC_4122


def test_default_salts_are_thread_safe_and_fork_safe():
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(4) as pool:
        chunks = list(pool.map(lambda _: [salt_data({"a": "x"})["a"][:36] for _ in range(3000)], range(8)))
    flat = [u for c in chunks for u in c]
    assert len(set(flat)) == len(flat)
    random_uuid()  # this process' stream has buffered salts now
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report its next salt and leave at once
        os.write(w, random_uuid().encode())
        os._exit(0)
    os.close(w)
    child = os.read(r, 36).decode()
    os.close(r)
    os.waitpid(pid, 0)
    assert child != random_uuid() and uuid.UUID(child).version == 4


def test_salt_is_fresh_each_time():
    raw = {"a": "x"}
    assert salt_data(raw)["a"] != salt_data(raw)["a"]


@pytest.mark.parametrize(
    "raw,path",
    [
        ({"a.b": 1}, "a.b"),
        ({"x": {"y": [{"k.z": 1}]}}, "x.y.0.k.z"),
        ({"x": {1: 2}}, "x"),
        ({"x": [1, {2, 3}]}, "x.1"),
        ({"x": {"y": b"raw"}}, "x.y"),
        ({"x": math.nan}, "x"),
        ({"x": [math.inf]}, "x.0"),
        ({"n": 2**53 + 1}, "n"),
        ({"d": Decimal("0.1")}, "d"),
        ({"o": object()}, "o"),
    ],
)
def test_salt_refusals_name_the_path(raw, path):
    with pytest.raises(ProofFormatError) as e:
        salt_and_hash(raw)
    assert e.value.path == path
    with pytest.raises(ProofFormatError):
        wrap_documents([raw])


def test_empty_top_level_key_cannot_hold_a_container():
    # OpenAttestation flattens {"": {"x": 1}} to the path "x", colliding with a top-level "x"
    for bad in ({"": {"x": 1}}, {"": [1]}):
        with pytest.raises(ProofFormatError) as e:
            wrap_document(bad)
        assert "empty top-level key" in e.value.reason
    assert check_integrity(wrap_document({"": "leaf", "a": {"": {"b": 1}}})).ok
    assert check_integrity(wrap_document({"": {}})).ok
    w = wrap_document({"x": "v"})
    w["data"] = {"": {"x": w["data"]["x"]}}  # same leaf path and hash, different shape
    r = check_integrity(w)
    assert not r.ok and r.code == MALFORMED


def test_salt_refuses_non_object_root():
    for bad in ([], "x", 1, None):
        with pytest.raises(ProofFormatError):
            salt_data(bad)  # type: ignore[arg-type]


def test_exact_big_integers_are_accepted_as_javascript_sees_them():
    salted = salt_data({"n": 2**60, "m": -(2**60)})
    assert salted["n"].endswith(":number:1152921504606847000")
    assert unsalt_data(salted) == {"n": 2**60, "m": -(2**60)}


def test_flatten_paths():
    flat = flatten(salt_data(sample_doc()))
    assert "items.0.hsCode" in flat and "items.1.fob" in flat
    assert flat["remarks"] == {} and flat["attachments"] == []
    assert "issuers.0.identityProof.location" in flat
    assert flatten({}) == {}
    assert list(iter_leaves({"a": {"": {"": "v"}}, "": "w"})) == [("a..", "v"), ("", "w")]
    with pytest.raises(ProofFormatError) as e:
        flatten({"a": {"b.c": "x"}})
    assert e.value.path == "a.b.c"


def test_leaf_hash_and_target_hash_definitions():
    s = "00000000-0000-4000-8000-000000000000:string:Việt"
    assert leaf_hash("a.0", s) == keccak256_hex('{"a.0":"00000000-0000-4000-8000-000000000000:string:Việt"}'.encode())
    assert leaf_hash("e", {}) == keccak256_hex(b'{"e":{}}')
    assert leaf_hash("e", []) == keccak256_hex(b'{"e":[]}')
    hs = [keccak256_hex(b"2"), keccak256_hex(b"1")]
    assert target_hash(hs) == keccak256_hex(json.dumps(sorted(hs), separators=(",", ":")).encode())
    assert target_hash([]) == keccak256_hex(b"[]")
    salted, hashes = salt_and_hash(sample_doc())
    assert sorted(hashes) == sorted(leaf_hashes(salted))
    assert digest_data(salted) == target_hash(hashes)


def test_keccak_vector():
    assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


def test_unsalt_value():
    u = "0b4bd1b4-6b2e-4d1e-9a6f-0a2b3c4d5e6f"
    assert unsalt_value(f"{u}:string: spaced : colons ") == " spaced : colons "
    assert unsalt_value(f"{u}:number:1e+21") == 1e21
    assert unsalt_value(f"{u}:number:-12") == -12
    assert unsalt_value(f"{u}:number:5e-324") == 5e-324
    assert unsalt_value(f"{u}:number:1152921504606847000") == 2**60
    assert unsalt_value(f"{u}:boolean:false") is False
    assert unsalt_value(f"{u}:null:null") is None
    for bad in [
        "plain",
        5,
        None,
        f"{u}:number:abc",
        f"{u}:number:NaN",
        f"{u}:number:1e999",
        f"{u}:boolean:yes",
        f"{u}:null:x",
        f"{u}:object:{{}}",
        f"{u}:undefined:undefined",
        "0b4bd1b4-6b2e-1d1e-9a6f-0a2b3c4d5e6f:string:not v4",
    ]:
        with pytest.raises(ProofFormatError):
            unsalt_value(bad, "p")


# Known answer: a document wrapped by the reference library (npm @govtechsg/open-attestation 6.9.7).
KAT = {
    "version": "https://schema.openattestation.com/2.0/schema.json",
    "data": {
        "issuers": [
            {
                "name": "d572eab0-7d87-492e-b379-1b8a4c3b2984:string:Bộ Công Thương",
                "documentStore": "ba034690-3abc-4429-944c-178872d5f781:string:"
                "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "identityProof": {
                    "type": "7604cbf7-1418-4c54-8004-08513689dceb:string:DNS-TXT",
                    "location": "9edca18c-6e7c-474f-8df4-b0dd17865f98:string:example.com",
                },
            }
        ],
        "referenceNumber": "6578096d-a391-41b3-9e9d-5ae2527c3200:string:VN-TH 24/02/00006",
        "weight": "5f186b65-f18d-428b-b09b-5734ee5369b3:number:1.5",
        "ok": "eed33402-7103-42e4-97f6-08ba7b54cb15:boolean:true",
        "none": "338f2ad3-a9eb-4889-b982-d82cb5346d63:null:null",
        "empty": {},
        "list": [
            "4c7ed076-8f0f-4cc0-bff9-777331d140ec:number:1e+21",
            'a584a4f2-d49f-43f4-8bac-8ee14855fbe3:string:x"y',
        ],
    },
    "signature": {
        "type": "SHA3MerkleProof",
        "targetHash": "893185cf4df991bc3f0cf9a93df1257a36901504f52b8ba1c24782f25d625cfc",
        "proof": ["6f99550c2cff8917f3fc46a975e6cb9f030db3298137fde868733cad0dd36338"],
        "merkleRoot": "0745fd12e2c2fa7c89ce6758c8f4ee7f7174e6450fe290d46ab94c4d8efc383d",
    },
}


def test_known_answer_from_reference_library():
    assert digest_data(KAT["data"]) == KAT["signature"]["targetHash"]
    sib = KAT["signature"]["proof"][0]
    assert merkle_root([KAT["signature"]["targetHash"], sib]).hex() == KAT["signature"]["merkleRoot"]
    r = check_integrity(KAT)
    assert r.ok and r.code == VALID and r.status == VALID
    assert unsalt_data(KAT["data"])["list"] == [1e21, 'x"y']


# --------------------------------------------------------------------------------------------
# Merkle tree


def _leaves(n: int, salt: bytes = b"") -> list[bytes]:
    return [keccak256(salt + i.to_bytes(4, "big")) for i in range(n)]


def test_merkle_small_trees():
    (a,) = _leaves(1)
    t = MerkleTree([a])
    assert t.root == a and t.proof(a) == []
    a, b = _leaves(2)
    assert MerkleTree([a, b]).root == keccak256(min(a, b) + max(a, b)) == MerkleTree([b, a]).root
    a, b, c = sorted(_leaves(3))
    assert MerkleTree([c, a, b]).root == combine(combine(a, b), c)  # odd last node moves up
    t = MerkleTree([a, b, c])
    assert t.proof(c) == [combine(a, b)]
    assert t.proof_hex(a) == [b.hex(), c.hex()]
    with pytest.raises(ValueError):
        MerkleTree([])
    with pytest.raises(KeyError):
        t.proof(keccak256(b"absent"))


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 200), data=st.data())
def test_merkle_proofs_verify_and_altered_ones_fail(n, data):
    leaves = _leaves(n, data.draw(st.binary(max_size=4)))
    tree = MerkleTree(leaves)
    root = tree.root
    for leaf in leaves:
        assert verify_proof(leaf, tree.proof(leaf), root)
    leaf = data.draw(st.sampled_from(leaves))
    proof = tree.proof(leaf)
    assert not verify_proof(keccak256(b"other"), proof, root)
    assert not verify_proof(leaf, proof, keccak256(root))
    assert not verify_proof(leaf, proof + [keccak256(b"extra")], root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1))
        flipped = bytearray(proof[i])
        flipped[data.draw(st.integers(0, 31))] ^= 1 << data.draw(st.integers(0, 7))
        assert not verify_proof(leaf, proof[:i] + [bytes(flipped)] + proof[i + 1 :], root)
        assert not verify_proof(leaf, proof[:i] + proof[i + 1 :], root)
        if len(proof) > 1:
            assert not verify_proof(leaf, list(reversed(proof)), root) or proof == list(reversed(proof))


def test_verify_proof_malformed_input_is_false():
    a, b = _leaves(2)
    root = MerkleTree([a, b]).root
    assert verify_proof(a.hex(), [b.hex()], root.hex())
    assert not verify_proof("zz", [b], root)
    assert not verify_proof(a, ["0x1234"], root)
    assert not verify_proof(a, [b], 42)  # type: ignore[arg-type]


def test_merkle_million_leaves_is_fast():
    leaves = [keccak256(i.to_bytes(8, "big")) for i in range(1_000_000)]
    t0 = time.perf_counter()
    tree = MerkleTree(leaves)
    proof = tree.proof(leaves[123_456])
    elapsed = time.perf_counter() - t0
    assert verify_proof(leaves[123_456], proof, tree.root)
    assert len(proof) == 20
    assert elapsed < 15, f"1,000,000-leaf tree took {elapsed:.1f}s"


# --------------------------------------------------------------------------------------------
# wrapping


def test_wrap_structure():
    docs = [sample_doc(i) for i in range(5)]
    root, wrapped = wrap_documents(docs)
    assert len(wrapped) == 5 and docs == [sample_doc(i) for i in range(5)]
    targets = []
    for raw, w in zip(docs, wrapped, strict=True):
        assert list(w) == ["version", "data", "signature"]
        assert w["version"] == SCHEMA_V2
        sig = w["signature"]
        assert list(sig) == ["type", "targetHash", "proof", "merkleRoot"]
        assert sig["type"] == "SHA3MerkleProof" and sig["merkleRoot"] == root
        assert sig["targetHash"] == digest_data(w["data"])
        assert all(len(p) == 64 and p == p.lower() for p in sig["proof"])
        assert unsalt_data(w["data"]) == raw
        assert check_integrity(w).ok
        targets.append(sig["targetHash"])
    assert merkle_root(targets).hex() == root


def test_wrap_single_document_is_its_own_root():
    w = wrap_document(sample_doc())
    assert w["signature"]["proof"] == []
    assert w["signature"]["merkleRoot"] == w["signature"]["targetHash"]
    assert check_integrity(w).ok


def test_wrap_is_deterministic_with_injected_salts():
    docs = [sample_doc(i) for i in range(3)]
    a = wrap_documents(docs, uuid_factory=counter_uuids())
    b = wrap_documents(docs, uuid_factory=counter_uuids())
    assert a == b
    assert a[1][0]["data"]["issuers"][0]["name"].startswith(str(uuid.UUID(int=0x1234, version=4)))


def test_wrap_refusals():
    with pytest.raises(ValueError):
        wrap_documents([])
    with pytest.raises(TypeError):
        wrap_documents(sample_doc())  # type: ignore[arg-type]
    with pytest.raises(ProofFormatError) as e:
        wrap_documents([sample_doc(0), {"bad.key": 1}])
    assert e.value.path == "bad.key" and "document 1" in str(e.value)


def test_wrap_parallel_large_batch(monkeypatch):
    monkeypatch.setattr(wrap_mod, "PARALLEL_THRESHOLD", 100)
    docs = [{"i": i, "name": f"Việt {i}", "nested": {"x": [i, None, True]}} for i in range(1500)]
    root, wrapped = wrap_documents(docs, workers=2)
    assert [unsalt_data(w["data"]) for w in wrapped] == docs
    assert all(check_integrity(w).ok for w in wrapped)
    salts = [w["data"]["name"][:36] for w in wrapped]
    assert len(set(salts)) == len(salts)  # the helper process does not reuse this process' salts
    assert wrap_documents(docs, workers=1)[0] != root  # fresh salts, fresh root
    bad = docs[:1400] + [{"x": math.nan}] + docs[1400:]
    with pytest.raises(ProofFormatError) as e:
        wrap_documents(bad, workers=2)
    assert "document 1400" in str(e.value)


# --------------------------------------------------------------------------------------------
# selective disclosure


def test_obfuscate_leaf_and_subtree():
    w = wrap_document(sample_doc())
    before = copy.deepcopy(w)
    o = obfuscate_document(w, ["exporter.taxId", "consignee"])
    assert w == before  # input untouched
    assert "taxId" not in o["data"]["exporter"] and "consignee" not in o["data"]
    assert len(o["privacy"]["obfuscatedData"]) == 3
    assert list(o)[:4] == ["version", "data", "signature", "privacy"]
    r = check_integrity(o)
    assert r.ok and "3 field(s) hidden" in r.message
    o2 = obfuscate_document(o, "items.1.fob")
    assert len(o2["privacy"]["obfuscatedData"]) == 4 and check_integrity(o2).ok


def test_obfuscate_last_field_removes_emptied_containers():
    w = wrap_document({"issuers": ISSUERS, "a": {"b": {"c": "secret"}}, "keep": 1})
    o = obfuscate_document(w, ["a.b.c"])
    assert "a" not in o["data"]  # no {} leaf is left behind
    assert check_integrity(o).ok
    o = obfuscate_document(wrap_document({"x": [{"k": 1}], "y": 2}), ["x.0.k"])
    assert "x" not in o["data"] and check_integrity(o).ok


def test_obfuscate_arrays():
    w = wrap_document({"items": ["a", "b", "c"], "other": "x"})
    o = obfuscate_document(w, ["items.2"])
    assert len(o["data"]["items"]) == 2 and check_integrity(o).ok
    o = obfuscate_document(w, ["items.1", "items.2"])
    assert len(o["data"]["items"]) == 1 and check_integrity(o).ok
    o = obfuscate_document(w, ["items"])
    assert "items" not in o["data"] and check_integrity(o).ok
    with pytest.raises(ProofFormatError) as e:
        obfuscate_document(w, ["items.0"])
    assert e.value.path == "items.0" and "items.1" in str(e.value)


def test_obfuscate_empty_containers_and_everything():
    w = wrap_document(sample_doc())
    o = obfuscate_document(w, ["remarks", "attachments"])
    assert "remarks" not in o["data"] and check_integrity(o).ok
    o = obfuscate_document(w, list(w["data"]))
    assert o["data"] == {} and check_integrity(o).ok
    assert sorted(o["privacy"]["obfuscatedData"]) == sorted(leaf_hashes(w["data"]))


@pytest.mark.parametrize("path", ["nope", "exporter.nope", "items.9", "items.01", "items.x", "referenceNumber.x", ""])
def test_obfuscate_unknown_path_names_it(path):
    w = wrap_document(sample_doc())
    with pytest.raises(ProofFormatError) as e:
        obfuscate_document(w, [path])
    assert e.value.path == path


def test_hidden_leaf_hashes_matches_obfuscation():
    w = wrap_document(sample_doc())
    assert hidden_leaf_hashes(w, ["items.1"]) == obfuscate_document(w, ["items.1"])["privacy"]["obfuscatedData"]


# --------------------------------------------------------------------------------------------
# issuer signature

KEY = "0x" + "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"[:64]


def test_sign_and_recover():
    acct = Account.from_key(KEY)
    w = wrap_document(sample_doc())
    s = sign_document(w, KEY)
    assert "proof" not in w
    (entry,) = s["proof"]
    assert entry["type"] == "OpenAttestationSignature2018"
    assert entry["proofPurpose"] == "assertionMethod"
    assert entry["verificationMethod"] == f"did:ethr:{acct.address}#controller"
    assert entry["signature"].startswith("0x") and len(entry["signature"]) == 132
    assert recover_signer(s) == acct.address
    assert verify_issuer_signature(s, acct.address.lower())
    assert not verify_issuer_signature(s, Account.create().address)
    assert check_integrity(s).ok  # the signature does not touch integrity
    o = obfuscate_document(s, ["exporter"])
    assert recover_signer(o) == acct.address and check_integrity(o).ok
    # the text form is what DESIGN.md specifies; the bytes form is the reference library's
    b = sign_document(w, acct, encoding="bytes")
    assert b["proof"][0]["signature"] != entry["signature"]
    assert recover_signer(b, encoding="bytes") == acct.address
    assert recover_signer(b) != acct.address
    assert sign_merkle_root(w["signature"]["merkleRoot"], KEY) == entry["signature"]


def test_signature_binds_the_root():
    acct = Account.from_key(KEY)
    s = sign_document(wrap_document(sample_doc()), KEY)
    s["signature"] = dict(s["signature"], merkleRoot="ab" * 32)
    assert recover_signer(s) != acct.address


def test_two_signatures_and_malformed_ones():
    w = wrap_document(sample_doc())
    a, b = Account.create(), Account.create()
    s = sign_document(sign_document(w, a), b)
    assert recover_signers(s) == [a.address, b.address]
    with pytest.raises(ProofFormatError):
        recover_signer(s)
    assert recover_signers(w) == []
    for broken, where in [
        ({"type": "X"}, "proof.0.type"),
        (
            {
                "type": "OpenAttestationSignature2018",
                "proofPurpose": "assertionMethod",
                "verificationMethod": "v",
                "signature": "0x12",
            },
            "proof.0.signature",
        ),
        ("nope", "proof.0"),
    ]:
        bad = dict(w, proof=[broken])
        with pytest.raises(ProofFormatError) as e:
            recover_signers(bad)
        assert e.value.path == where
        assert not verify_issuer_signature(bad, a.address)


# --------------------------------------------------------------------------------------------
# integrity: malformed documents


def _valid() -> dict:
    return wrap_documents([sample_doc(0), sample_doc(1)])[1][0]


def _set(doc: dict, path: list, value) -> dict:
    d = copy.deepcopy(doc)
    node = d
    for p in path[:-1]:
        node = node[p]
    if value is _DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return d


_DELETE = object()


@pytest.mark.parametrize(
    "path,value,needle",
    [
        (["version"], _DELETE, "version is missing"),
        (["version"], "https://schema.openattestation.com/3.0/schema.json", "version"),
        (["data"], _DELETE, "data is missing"),
        (["data"], ["x"], "data must be an object"),
        (["signature"], _DELETE, "signature is missing"),
        (["signature"], "sig", "signature must be an object"),
        (["signature", "type"], "SHA256", "signature.type"),
        (["signature", "targetHash"], _DELETE, "signature.targetHash is missing"),
        (["signature", "targetHash"], 5, "signature.targetHash"),
        (["signature", "targetHash"], "0x" + "ab" * 32, "signature.targetHash"),
        (["signature", "targetHash"], "AB" * 32, "signature.targetHash"),
        (["signature", "merkleRoot"], "ab" * 31, "signature.merkleRoot"),
        (["signature", "proof"], _DELETE, "signature.proof is missing"),
        (["signature", "proof"], "ab" * 32, "signature.proof must be a list"),
        (["signature", "proof"], ["zz" * 32], "signature.proof.0"),
        (["privacy"], [], "privacy must be an object"),
        (["privacy"], {"obfuscatedData": "ab"}, "privacy.obfuscatedData must be a list"),
        (["privacy"], {"obfuscatedData": ["ab" * 32, None]}, "privacy.obfuscatedData.1"),
        (["data", "referenceNumber"], 5, "data.referenceNumber"),
        (["data", "referenceNumber"], "VN-TH 24/02/00000", "data.referenceNumber"),
        (["data", "exporter", "name"], None, "data.exporter.name"),
        (["data", "items", 0, "quantity"], "0b4bd1b4-6b2e-4d1e-9a6f-0a2b3c4d5e6f:number:lots", "data.items.0.quantity"),
        (["data", "bad.key"], "0b4bd1b4-6b2e-4d1e-9a6f-0a2b3c4d5e6f:string:x", "bad.key"),
    ],
)
def test_integrity_malformed(path, value, needle):
    r = check_integrity(_set(_valid(), path, value))
    assert not r.ok
    assert r.code == MALFORMED and r.status == MALFORMED
    assert needle in r.message


@pytest.mark.parametrize(
    "doc",
    [None, [], "", "not json", "{", b"\xff\xfe", 42, '{"version": NaN}', "[1, 2]"],
)
def test_integrity_unreadable_inputs(doc):
    r = check_integrity(doc)
    assert not r.ok and r.code == MALFORMED


def test_integrity_messages_stay_short():
    w = _valid()
    w["data"]["referenceNumber"] = w["data"]["referenceNumber"][:36] + ":number:" + "9" * 5000
    r = check_integrity(w)
    assert r.code == MALFORMED and "data.referenceNumber" in r.message and len(r.message) < 300
    r = check_integrity(_set(_valid(), ["version"], "v" * 100_000))
    assert r.code == MALFORMED and len(r.message) < 300


def test_integrity_accepts_json_text_strictly():
    w = _valid()
    assert check_integrity(json.dumps(w)).ok
    assert check_integrity(json.dumps(w, ensure_ascii=False).encode()).ok
    text = json.dumps(w)
    dup = text[:-1] + ', "version": "x"}'
    r = check_integrity(dup)
    assert not r.ok and r.code == MALFORMED and "twice" in r.message


def _nested(depth: int, leaf="x") -> dict:
    """A document whose deepest container is at nesting level ``depth`` (the root is level 1)."""
    doc: dict = {"v": leaf}
    for _ in range(depth - 1):
        doc = {"a": doc}
    return doc


def test_nesting_depth_bound():
    assert check_integrity(wrap_document(_nested(MAX_DEPTH))).ok
    with pytest.raises(ProofFormatError) as e:
        wrap_document(_nested(MAX_DEPTH + 1))
    assert "nested more than" in e.value.reason and e.value.path.startswith("a.a.")


def test_integrity_deep_nesting_is_malformed_not_a_crash():
    w = _valid()
    w["data"]["deep"] = _nested(200_000)
    t0 = time.perf_counter()
    r = check_integrity(w)
    assert not r.ok and r.code == MALFORMED and "nested more than" in r.message
    assert time.perf_counter() - t0 < 1


def test_integrity_tampering_codes():
    w = _valid()
    r = check_integrity(_set(w, ["data", "referenceNumber"], w["data"]["referenceNumber"] + "7"))
    assert r.code == TARGET_HASH_MISMATCH and r.status == "TAMPERED" and not r.ok
    r = check_integrity(_set(w, ["signature", "proof", 0], "00" * 32))
    assert r.code == MERKLE_PROOF_INVALID and not r.ok
    r = check_integrity(_set(w, ["signature", "merkleRoot"], "00" * 32))
    assert r.code == MERKLE_PROOF_INVALID and r.merkle_root == "00" * 32
    r = check_integrity(_set(w, ["signature", "proof"], []))
    assert r.code == MERKLE_PROOF_INVALID
    r = check_integrity(_set(w, ["privacy"], {"obfuscatedData": ["00" * 32]}))
    assert r.code == TARGET_HASH_MISMATCH
    r = check_integrity(_set(w, ["privacy"], {}))
    assert r.ok  # an empty privacy block hides nothing


def test_integrity_obfuscated_list_changes():
    o = obfuscate_document(_valid(), ["exporter.taxId", "flags"])
    od = o["privacy"]["obfuscatedData"]
    assert check_integrity(o).ok
    for changed in (od[1:], od + [od[0]], [od[0][:-1] + ("0" if od[0][-1] != "0" else "1")] + od[1:], od + ["11" * 32]):
        r = check_integrity(_set(o, ["privacy", "obfuscatedData"], changed))
        assert not r.ok and r.code == TARGET_HASH_MISMATCH


# --------------------------------------------------------------------------------------------
# property tests over random JSON documents

_keys = st.text(st.characters(blacklist_characters=".", blacklist_categories=("Cs",)), max_size=8)
_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_keys, children, max_size=4),
    max_leaves=25,
)
_docs = st.dictionaries(_keys, _json, max_size=6).filter(
    lambda d: not (isinstance(d.get(""), (dict, list)) and d[""])  # see test_empty_top_level_key...
)


def _leaf_locations(node, trail=()):
    """(container, key) of every leaf in a salted data tree."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for k, v in items:
        if isinstance(v, (dict, list)) and v:
            yield from _leaf_locations(v, trail + (k,))
        else:
            yield node, k


def _dict_locations(node):
    if isinstance(node, dict):
        for k, v in node.items():
            yield node, k
            if isinstance(v, (dict, list)):
                yield from _dict_locations(v)
    elif isinstance(node, list):
        for v in node:
            yield from _dict_locations(v)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(docs=st.lists(_docs, min_size=1, max_size=4), data=st.data())
def test_property_wrap_verifies_and_any_change_fails(docs, data):
    root, wrapped = wrap_documents(docs)
    for raw, w in zip(docs, wrapped, strict=True):
        assert check_integrity(w).ok
        assert check_integrity(json.loads(json.dumps(w))).ok
        back = unsalt_data(w["data"])
        assert (
            json.dumps(back, sort_keys=True) == json.dumps(json.loads(json.dumps(raw)), sort_keys=True) or back == raw
        )
    w = copy.deepcopy(data.draw(st.sampled_from(wrapped)))
    leaves = list(_leaf_locations(w["data"]))
    choices = ["proof", "root", "target", "obfuscated"]
    if leaves:
        choices += ["value", "value"]
    if any(True for _ in _dict_locations(w["data"])):
        choices.append("key")
    kind = data.draw(st.sampled_from(choices))
    if kind == "value":
        container, k = data.draw(st.sampled_from(leaves))
        old = container[k]
        if isinstance(old, str):
            container[k] = data.draw(st.sampled_from([old + "x", old[:-1], old.replace(":", ";", 1), {}, None, 1]))
        else:
            container[k] = data.draw(st.sampled_from([[] if isinstance(old, dict) else {}, "x", None]))
        assume(container[k] != old)
    elif kind == "key":
        container, k = data.draw(st.sampled_from(list(_dict_locations(w["data"]))))
        new = data.draw(_keys.filter(lambda s: s not in container))
        container[new] = container.pop(k)
    elif kind == "proof":
        proof = w["signature"]["proof"]
        op = data.draw(st.sampled_from(["add", "flip"] + (["drop"] if proof else [])))
        if op == "add":
            proof.append("00" * 32)
        elif op == "drop":
            proof.pop(data.draw(st.integers(0, len(proof) - 1)))
        else:
            i = data.draw(st.integers(0, max(0, len(proof) - 1)))
            if proof:
                proof[i] = ("0" if proof[i][0] != "0" else "1") + proof[i][1:]
            else:
                proof.append(w["signature"]["merkleRoot"])
    elif kind == "root":
        r = w["signature"]["merkleRoot"]
        w["signature"]["merkleRoot"] = r[:-1] + ("0" if r[-1] != "0" else "1")
    elif kind == "target":
        t = w["signature"]["targetHash"]
        w["signature"]["targetHash"] = ("f" if t[0] != "f" else "e") + t[1:]
    else:
        w.setdefault("privacy", {})["obfuscatedData"] = [keccak256_hex(b"extra")]
    assert not check_integrity(w).ok, kind


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=_docs, data=st.data())
def test_property_obfuscation_keeps_integrity(doc, data):
    w = wrap_document(doc)
    paths = [p for p, _ in iter_leaves(w["data"])] + list(w["data"])
    assume(paths)
    chosen = data.draw(st.lists(st.sampled_from(paths), min_size=1, max_size=4, unique=True))
    try:
        o = obfuscate_document(w, chosen)
    except ProofFormatError as e:
        assert "array element" in e.reason  # the only refusal for existing paths
        return
    r = check_integrity(o)
    assert r.ok, r.message
    visible = {p for p, _ in iter_leaves(o["data"])}
    for p in chosen:
        assert p not in visible
    # nothing hidden leaves an empty container behind that was not empty originally
    original_empty = {p for p, v in iter_leaves(w["data"]) if v in ({}, [])}
    for p, v in iter_leaves(o["data"]):
        if v in ({}, []):
            assert p in original_empty


def test_unsalt_and_hash_is_unsalt_plus_leaf_hashes():
    """The one-walk form used by the integrity check gives exactly what the two separate walks give."""
    from certnet.issuer import samples
    from certnet.verifier.salting import leaf_hashes, salt_data, unsalt_and_hash, unsalt_data

    docs = list(samples.generate(30, seed=5)) + [{"a": {}, "b": [], "c": [{"d": None, "e": [1.5, True]}]}]
    for raw in docs:
        salted = salt_data(raw)
        assert unsalt_and_hash(salted) == (unsalt_data(salted), leaf_hashes(salted))


def test_dump_bytes_round_trips_and_handles_what_orjson_refuses():
    from certnet.verifier.jsjson import dump_bytes

    doc = {"a": 'Việt Nam 😀 "q" \\ \n', "b": [1, 2.5, None, True, {}], "c": {"d": []}}
    assert json.loads(dump_bytes(doc)) == doc
    assert dump_bytes(doc) == json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
    assert dump_bytes(doc, indent=True).decode() == json.dumps(doc, ensure_ascii=False, indent=2)
    odd = {"s": "lone \ud800", "n": 2**70}
    for indent in (False, True):
        assert json.loads(dump_bytes(odd, indent=indent)) == odd
