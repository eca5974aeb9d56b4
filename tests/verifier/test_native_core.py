"""The native core (certnet_native, built by the set-up from native/) against the Python reference.

The native core salts and hashes the common case; it must give byte-identical results to
certnet.verifier.salting for every document it accepts, and hand back (None) everything the reference
refuses or treats specially, so that the reference names the error.
"""

from __future__ import annotations

import itertools
import json
import uuid

import certnet_native
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from certnet.verifier.integrity import MALFORMED, TARGET_HASH_MISMATCH, VALID, check_integrity
from certnet.verifier.jsjson import MAX_SAFE_INTEGER
from certnet.verifier.merkle import keccak256_hex
from certnet.verifier.obfuscate import obfuscate_document
from certnet.verifier.salting import MAX_DEPTH, digest_data, salt_and_hash, target_hash, unsalt_and_hash
from certnet.verifier.wrap import salt_and_digest, wrap_documents


def counter_uuids(start: int = 0):
    c = itertools.count(start)
    return lambda: str(uuid.UUID(int=next(c), version=4))


def reference(raw: dict, start: int = 0) -> tuple[dict, str]:
    salted, hashes = salt_and_hash(raw, counter_uuids(start))
    return salted, target_hash(hashes)


# JSON as the fast path takes it: exact types, safe integers, finite floats, keys without '.'
keys = st.text(alphabet=st.characters(blacklist_characters=".", blacklist_categories=("Cs",)), max_size=8)
texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
primitives = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    primitives,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=30,
)
documents = st.dictionaries(keys.filter(bool), json_values, max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_native_salting_equals_the_reference(raw):
    native = certnet_native.salt_and_digest(raw, counter_uuids())
    assert native is not None, "the fast path handed back a plain JSON document"
    salted, th = native
    assert json.dumps(salted) == json.dumps(reference(raw)[0])  # same salts, same order, same text
    assert th == reference(raw)[1]
    # and the checker reads back what the salter wrote
    assert certnet_native.salted_digest(salted, []) == th == digest_data(salted)


@settings(max_examples=200, deadline=None)
@given(documents, st.lists(st.binary(min_size=32, max_size=32).map(bytes.hex), max_size=3))
def test_native_check_equals_the_reference(raw, hidden):
    salted, _ = reference(raw)
    _, hashes = unsalt_and_hash(salted)
    assert certnet_native.salted_digest(salted, hidden) == target_hash([*hashes, *hidden])


@pytest.mark.parametrize(
    "value, text",
    [
        (0.1, "0.1"),
        (-0.0, "0"),
        (1e21, "1e+21"),
        (1e-7, "1e-7"),
        (123456789012345680000.0, "123456789012345680000"),
        (5.0, "5"),
        (1.5e-6, "0.0000015"),
        (-2.5e300, "-2.5e+300"),
        (5e-324, "5e-324"),
        (MAX_SAFE_INTEGER, "9007199254740991"),
    ],
)
def test_numbers_are_written_as_javascript_writes_them(value, text):
    salted, _ = certnet_native.salt_and_digest({"n": value}, counter_uuids())
    assert salted["n"].split(":", 2)[2] == text
    assert salted == reference({"n": value})[0]


def test_known_answer():
    """A leaf hash computed by hand: keccak256 of JSON.stringify({"a": "<salt>:string:x"})."""
    salted, th = certnet_native.salt_and_digest({"a": "x"}, counter_uuids())
    leaf = keccak256_hex(('{"a":"' + salted["a"] + '"}').encode())
    assert th == keccak256_hex(f'["{leaf}"]'.encode())
    assert certnet_native.keccak256_hex(b"") == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"


@pytest.mark.parametrize(
    "raw",
    [
        {"a.b": 1},  # key with '.': the reference refuses it by path
        {"a": {"b.c": 1}},
        {"big": 2**53},  # beyond MAX_SAFE_INTEGER: exact as a double or refused
        {"big": -(2**70)},
        {"nan": float("nan")},
        {"inf": float("inf")},
        {"s": "lone \ud800 surrogate"},  # JSON.stringify escapes it; the reference handles it
        {"\udc00": 1},
        {"t": (1, 2)},  # a tuple: accepted by the reference as an array
        {"x": object()},
        {1: "non-string key"},
        {"": {"x": 1}},  # an empty top-level key holding a container
        {"b": bytearray(b"x")},
    ],
)
def test_unusual_documents_go_back_to_the_reference(raw):
    assert certnet_native.salt_and_digest(raw) is None


def test_too_deep_goes_back_to_the_reference():
    ok: dict = {"v": 1}
    for _ in range(MAX_DEPTH - 1):
        ok = {"n": ok}
    assert certnet_native.salt_and_digest(ok) is not None
    assert certnet_native.salt_and_digest({"n": ok}) is None


def test_subclasses_go_back_to_the_reference():
    class S(str):
        pass

    class D(dict):
        pass

    assert certnet_native.salt_and_digest({"a": S("x")}) is None
    assert certnet_native.salt_and_digest({"a": D(x=1)}) is None
    assert certnet_native.salt_and_digest(D(x=1)) is None


def test_salt_and_digest_handles_what_the_core_hands_back():
    """The wrapper falls back to the reference: exact big integers work, refusals name the path."""
    salted, th = salt_and_digest({"big": 2**60, "s": "\ud800", "t": (1,)})
    assert salted["big"].endswith(":number:1152921504606847000")  # String(2 ** 60) in JavaScript
    assert th == digest_data(salted)
    with pytest.raises(ValueError, match=r"a\.b"):
        salt_and_digest({"a": {"b.c": 1}} | {"a.b": 1})


@pytest.mark.parametrize(
    "bad_leaf",
    [
        "not salted",
        "00000000-0000-4000-8000-000000000000:number:01",
        "00000000-0000-4000-8000-000000000000:number:1e999",
        "00000000-0000-4000-8000-000000000000:boolean:yes",
        "00000000-0000-4000-8000-000000000000:null:0",
        "00000000-0000-4000-8000-000000000000:bigint:1",
        "00000000-0000-3000-8000-000000000000:string:v3 uuid",
        "00000000-0000-4000-c000-000000000000:string:bad variant",
        5,
        None,
        True,
    ],
)
def test_malformed_salts_are_handed_back_and_the_reference_names_them(bad_leaf):
    (root, [doc]) = wrap_documents([{"a": {"b": "x"}, "c": 1}])
    doc["data"]["a"]["b"] = bad_leaf
    assert certnet_native.salted_digest(doc["data"], []) is None
    result = check_integrity(doc)
    assert result.code == MALFORMED and "data.a.b" in result.message


def test_native_and_reference_agree_on_tampering_and_hidden_fields():
    _, docs = wrap_documents([{"a": "x", "b": {"c": [1, 2.5, None, True, {}, []]}}, {"z": "y"}])
    doc = docs[0]
    assert check_integrity(doc).code == VALID
    hidden = obfuscate_document(doc, ["a", "b.c.4", "b.c.5"])
    assert (
        certnet_native.salted_digest(hidden["data"], hidden["privacy"]["obfuscatedData"])
        == doc["signature"]["targetHash"]
    )
    assert check_integrity(hidden).code == VALID
    salt, _, _ = doc["data"]["a"].rpartition(":")
    doc["data"]["a"] = salt + ":X"
    assert check_integrity(doc).code == TARGET_HASH_MISMATCH


def test_default_salts_are_random_v4_and_distinct():
    salted, _ = certnet_native.salt_and_digest({"a": [1] * 2000})
    salts = [s.split(":")[0] for s in salted["a"]]
    assert len(set(salts)) == 2000
    for s in salts[:50]:
        u = uuid.UUID(s)
        assert u.version == 4 and u.variant == uuid.RFC_4122 and str(u) == s


def test_wrap_as_json_is_the_same_document():
    docs = [
        {"n": i, "s": 'Cà phê "Robusta" \\ \n', "l": [1.5, None, True, {}, []], "o": {"p": {"q": -0.0}}}
        for i in range(5)
    ] + [{"big": 2**60, "lone": "\ud800"}]  # the last one takes the reference path
    root, as_dicts = wrap_documents(docs, uuid_factory=counter_uuids())
    root_json, as_bytes = wrap_documents(docs, uuid_factory=counter_uuids(), as_json=True)
    assert root_json == root
    assert [json.loads(b) for b in as_bytes] == as_dicts
    assert all(check_integrity(b).code == VALID for b in as_bytes)
    _, [single] = wrap_documents([{"a": 1}], as_json=True)  # a batch of one: an empty proof
    assert json.loads(single)["signature"]["proof"] == [] and check_integrity(single).code == VALID


def test_wrap_as_json_across_two_processes():
    from certnet.verifier.wrap import PARALLEL_THRESHOLD

    docs = [{"i": i, "name": f"Công ty {i}"} for i in range(PARALLEL_THRESHOLD + 7)]
    root, wrapped = wrap_documents(docs, workers=2, as_json=True)
    assert len(wrapped) == len(docs)
    parsed = [json.loads(b) for b in wrapped]
    assert [unsalt_and_hash(p["data"])[0] for p in parsed] == docs  # input order kept
    assert {p["signature"]["merkleRoot"] for p in parsed} == {root}
    assert all(check_integrity(b).code == VALID for b in wrapped[:50] + wrapped[-50:])
