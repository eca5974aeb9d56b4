"""Property tests of the whole verifier: no single change to an issued document is ever VALID.

A small batch is issued once per module on the embedded chain (py-evm, in process). Hypothesis then
makes one change at a time — a value, a salt, a key, a type, an added or removed leaf, an array
order, the Merkle proof, the targetHash, the merkleRoot, the obfuscated hashes — and
``Verifier(ChainSource(...)).verify`` must answer TAMPERED or MALFORMED, never VALID. Hiding fields
(selective disclosure) must keep a document VALID.

One change the OpenAttestation v2 format itself cannot see is pinned separately as an expected
failure: an array rewritten as an object keyed "0", "1", ... flattens to the same paths, so its proof
still holds (``test_array_rewritten_as_object_is_not_valid``).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from certnet.verifier.jsjson import ProofFormatError
from certnet.verifier.obfuscate import obfuscate_document
from certnet.verifier.salting import leaf_hash
from certnet.verifier.sources import ChainSource
from certnet.verifier.verify import Verifier
from certnet.verifier.wrap import wrap_documents
from tests.support.corpus import _docs

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOT_VALID = {"TAMPERED", "MALFORMED"}
SALTED = re.compile(
    r"([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}):(string|number|boolean|null):", re.S
)
HEX64 = st.binary(min_size=32, max_size=32).map(bytes.hex)


@pytest.fixture(scope="module")
def chain(embedded_engine):
    """(verifier, documents): a batch of four and a batch of one, anchored; hidden-field variants too."""
    from tests.conftest import make_net

    net = make_net(embedded_engine)
    store = net.store("vn_issuer")
    root, batch = wrap_documents(_docs(net, 4, seed=501))
    store.anchor(root, "FORM_D", len(batch))
    root1, (single,) = wrap_documents(_docs(net, 1, seed=502))
    store.anchor(root1, "FORM_D", 1)
    hidden = [
        obfuscate_document(batch[0], ["exporter.identifier", "consignee"]),
        obfuscate_document(single, ["goods.0.description", "consignee.address"]),
    ]
    docs = batch + [single] + hidden
    verifier = Verifier(ChainSource(net.engine.w3, net.deployment))
    verdicts = verifier.verify_many(docs)
    assert [v.status for v in verdicts] == ["VALID"] * len(docs), [v.message for v in verdicts]
    assert len(batch[0]["signature"]["proof"]) == 2 and single["signature"]["proof"] == []
    return Issued((verifier, docs))


class Issued(tuple):
    """(verifier, documents), with a short repr for hypothesis' reports."""

    def __repr__(self) -> str:
        return f"<{len(self[1])} issued documents>"


def verdict_of(chain, doc: Any) -> str:
    verifier, _ = chain
    v = verifier.verify(doc)
    if v.status == "VALID":  # say what was VALID, for the failure report
        print(json.dumps(doc)[:4000])
    return v.status


# ----------------------------------------------------------------------------------- navigating data

Path = tuple  # keys (str) and array positions (int) from data down to a node


def nodes(node: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every node below data (not data itself), depth first."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield path + (k,), v
            yield from nodes(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield path + (i,), v
            yield from nodes(v, path + (i,))


def leaves(data: dict) -> list[tuple[Path, Any]]:
    return [(p, v) for p, v in nodes(data) if not isinstance(v, (dict, list)) or not v]


def containers(data: dict) -> list[tuple[Path, Any]]:
    return [((), data)] + [(p, v) for p, v in nodes(data) if isinstance(v, (dict, list))]


def at(data: dict, path: Path) -> Any:
    for seg in path:
        data = data[seg]
    return data


def pick(draw, items: list) -> Any:
    assume(items)
    return items[draw(st.integers(0, len(items) - 1))]


def documents(chain) -> st.SearchStrategy[dict]:
    _, docs = chain
    return st.integers(0, len(docs) - 1).map(lambda i: copy.deepcopy(docs[i]))


def salted_leaves(data: dict) -> list[tuple[Path, str]]:
    return [(p, v) for p, v in leaves(data) if isinstance(v, str) and SALTED.match(v)]


def salted_value(draw) -> Any:
    kind = draw(st.sampled_from(["string", "number", "boolean", "null", "empty"]))
    salt = str(draw(st.uuids(version=4)))
    if kind == "string":
        return f"{salt}:string:{draw(st.text(max_size=20))}"
    if kind == "number":
        return f"{salt}:number:{draw(st.integers(-(10**6), 10**6))}"
    if kind == "boolean":
        return f"{salt}:boolean:{draw(st.sampled_from(['true', 'false']))}"
    if kind == "null":
        return f"{salt}:null:null"
    return draw(st.sampled_from([{}, []]))


# ----------------------------------------------------------------------------------- the changes


@st.composite
def value_changed(draw, chain):
    doc = draw(documents(chain))
    path, value = pick(draw, salted_leaves(doc["data"]))
    m = SALTED.match(value)
    old = value[m.end() :]
    new = draw(
        st.one_of(
            st.text(max_size=30),
            st.sampled_from([old + " ", old[:-1], old.upper(), old.lower(), " " + old, old + "0", "0" + old]),
        )
    )
    assume(new != old)
    at(doc["data"], path[:-1])[path[-1]] = value[: m.end()] + new
    return doc


@st.composite
def salt_changed(draw, chain):
    doc = draw(documents(chain))
    path, value = pick(draw, salted_leaves(doc["data"]))
    m = SALTED.match(value)
    new = draw(st.one_of(st.uuids(version=4).map(str), st.just(m.group(1).upper())))
    assume(new != m.group(1))
    at(doc["data"], path[:-1])[path[-1]] = new + value[len(m.group(1)) :]
    return doc


@st.composite
def type_changed(draw, chain):
    """The type marker swapped ("string" -> "number"), or the salted text replaced by a bare JSON value."""
    doc = draw(documents(chain))
    path, value = pick(draw, salted_leaves(doc["data"]))
    m = SALTED.match(value)
    salt, kind, text = m.group(1), m.group(2), value[m.end() :]
    how = draw(st.sampled_from(["marker", "bare", "bare-number"]))
    if how == "marker":
        new_kind = draw(st.sampled_from([k for k in ("string", "number", "boolean", "null") if k != kind]))
        new: Any = f"{salt}:{new_kind}:{text}"
    elif how == "bare":  # "…:number:1" -> 1, "…:string:x" -> "x", "…:null:null" -> null
        new = json.loads(text) if kind in ("number", "boolean", "null") else text
    else:
        new = draw(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none()))
    at(doc["data"], path[:-1])[path[-1]] = new
    return doc


@st.composite
def key_changed(draw, chain):
    doc = draw(documents(chain))
    parent_path, parent = pick(draw, [(p, c) for p, c in containers(doc["data"]) if isinstance(c, dict) and c])
    key = pick(draw, list(parent))
    new_key = draw(st.one_of(st.text(max_size=12), st.sampled_from([key + "s", key.upper(), key[:-1], "0"])))
    assume(new_key not in parent)
    # keep the key's place in the object
    items = [(new_key if k == key else k, v) for k, v in parent.items()]
    parent.clear()
    parent.update(items)
    return doc


@st.composite
def leaf_added(draw, chain):
    doc = draw(documents(chain))
    _, parent = pick(draw, containers(doc["data"]))
    value = salted_value(draw)
    if isinstance(parent, dict):
        key = draw(st.text(max_size=12))
        assume(key not in parent)
        parent[key] = value
    else:
        parent.insert(draw(st.integers(0, len(parent))), value)
    return doc


@st.composite
def leaf_removed(draw, chain):
    doc = draw(documents(chain))
    path, _ = pick(draw, leaves(doc["data"]))
    parent = at(doc["data"], path[:-1])
    if isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent.pop(path[-1])
    return doc


@st.composite
def array_reordered(draw, chain):
    doc = draw(documents(chain))
    _, arr = pick(draw, [(p, c) for p, c in containers(doc["data"]) if isinstance(c, list) and len(c) >= 2])
    i = draw(st.integers(0, len(arr) - 1))
    j = draw(st.integers(0, len(arr) - 2))
    j += j >= i  # any other position
    assume(arr[i] != arr[j])
    arr[i], arr[j] = arr[j], arr[i]
    return doc


@st.composite
def proof_changed(draw, chain):
    doc = draw(documents(chain))
    proof = doc["signature"]["proof"]
    how = draw(st.sampled_from(["add", "remove", "alter", "swap", "duplicate"]))
    if how == "add":
        node = draw(st.one_of(HEX64, st.just(doc["signature"]["targetHash"]), st.just(doc["signature"]["merkleRoot"])))
        proof.insert(draw(st.integers(0, len(proof))), node)
    elif how == "remove":
        assume(proof)
        proof.pop(draw(st.integers(0, len(proof) - 1)))
    elif how == "alter":
        assume(proof)
        i = draw(st.integers(0, len(proof) - 1))
        new = draw(st.one_of(HEX64, st.just(proof[i].upper()), st.just("0x" + proof[i]), st.just(proof[i][:-1])))
        assume(new != proof[i])
        proof[i] = new
    elif how == "swap":
        assume(len(proof) >= 2 and proof[0] != proof[1])
        proof[0], proof[1] = proof[1], proof[0]
    else:
        assume(proof)
        proof.append(proof[-1])
    return doc


def _other_hex(draw, old: str) -> str:
    new = draw(
        st.one_of(HEX64, st.just(old.upper()), st.just("0x" + old), st.just(old[:-1] + "0"), st.just(old[:-1] + "1"))
    )
    assume(new != old)
    return new


@st.composite
def target_hash_changed(draw, chain):
    doc = draw(documents(chain))
    _, docs = chain
    sig = doc["signature"]
    others = [d["signature"]["targetHash"] for d in docs if d["signature"]["targetHash"] != sig["targetHash"]]
    sig["targetHash"] = draw(st.sampled_from(others)) if draw(st.booleans()) else _other_hex(draw, sig["targetHash"])
    return doc


@st.composite
def merkle_root_changed(draw, chain):
    doc = draw(documents(chain))
    _, docs = chain
    sig = doc["signature"]
    # another anchored root is as wrong as a random one
    others = sorted({d["signature"]["merkleRoot"] for d in docs} - {sig["merkleRoot"]})
    sig["merkleRoot"] = draw(st.sampled_from(others)) if draw(st.booleans()) else _other_hex(draw, sig["merkleRoot"])
    return doc


@st.composite
def obfuscated_changed(draw, chain):
    doc = draw(documents(chain))
    privacy = doc.setdefault("privacy", {})
    hashes = privacy.setdefault("obfuscatedData", [])
    leaf_hashes_here = [leaf_hash(".".join(map(str, p)), v) for p, v in leaves(doc["data"])]
    how = draw(st.sampled_from(["add", "remove", "alter", "duplicate"]))
    if how == "add":  # a random hash, or the hash of a field that is still shown
        hashes.insert(draw(st.integers(0, len(hashes))), draw(st.one_of(HEX64, st.sampled_from(leaf_hashes_here))))
    elif how == "remove":
        assume(hashes)
        hashes.pop(draw(st.integers(0, len(hashes) - 1)))
    elif how == "alter":
        assume(hashes)
        i = draw(st.integers(0, len(hashes) - 1))
        hashes[i] = _other_hex(draw, hashes[i])
    else:
        assume(hashes)
        hashes.append(hashes[draw(st.integers(0, len(hashes) - 1))])
    return doc


CHANGES = {
    "value": value_changed,
    "salt": salt_changed,
    "type": type_changed,
    "key": key_changed,
    "leaf_added": leaf_added,
    "leaf_removed": leaf_removed,
    "array_order": array_reordered,
    "proof": proof_changed,
    "target_hash": target_hash_changed,
    "merkle_root": merkle_root_changed,
    "obfuscated": obfuscated_changed,
}


@pytest.mark.parametrize("change", list(CHANGES))
@SETTINGS
@given(data=st.data())
def test_no_single_change_is_valid(chain, change, data):
    doc = data.draw(CHANGES[change](chain))
    assert verdict_of(chain, doc) in NOT_VALID


@SETTINGS
@given(data=st.data())
def test_changes_also_fail_as_json_text(chain, data):
    """The same through the JSON-text entry point (what the CLI and the API pass in)."""
    change = data.draw(st.sampled_from(list(CHANGES)))
    doc = data.draw(CHANGES[change](chain))
    assert verdict_of(chain, json.dumps(doc, ensure_ascii=data.draw(st.booleans()))) in NOT_VALID


# ----------------------------------------------------------------------------------- selective disclosure

# Hiding the document store leaves the verifier no registry to ask: WRONG_NETWORK, never VALID.
STORE_PATHS = {("issuers",), ("issuers", 0), ("issuers", 0, "documentStore")}
# Hiding only the identity proof's location: the chain still establishes the issuer.
LOCATION = ("issuers", 0, "identityProof", "location")


@st.composite
def hidden_fields(draw, chain):
    doc = draw(documents(chain))
    paths = [p for p, _ in nodes(doc["data"]) if p != LOCATION]
    chosen = draw(st.lists(st.sampled_from(paths), min_size=1, max_size=3, unique=True))
    return doc, chosen


def _hide(doc: dict, chosen: list[Path]) -> dict:
    try:
        return obfuscate_document(doc, [".".join(map(str, p)) for p in chosen])
    except ProofFormatError:
        # refused: an array element followed by one that stays (or a path under one already hidden)
        assume(False)
        raise


@SETTINGS
@given(data=st.data())
def test_hiding_fields_keeps_a_document_valid(chain, data):
    doc, chosen = data.draw(hidden_fields(chain))
    hidden = _hide(doc, chosen)
    if data.draw(st.booleans()):  # hide again, in a second round
        more = [p for p, _ in nodes(hidden["data"]) if p != LOCATION]
        assume(more)
        again = data.draw(st.sampled_from(more))
        hidden = _hide(hidden, [again])
        chosen = chosen + [again]
    v = chain[0].verify(hidden)
    if any(s[: len(p)] == p for p in chosen for s in STORE_PATHS):
        assert v.status == "WRONG_NETWORK", (chosen, v.message)
    else:
        assert v.status == "VALID", (chosen, v.message)


def test_hiding_every_shown_field_but_the_store_keeps_it_valid(chain):
    _, docs = chain
    for doc in docs:
        keep = {"issuers"}
        hidden = obfuscate_document(doc, [k for k in doc["data"] if k not in keep])
        assert list(hidden["data"]) == ["issuers"]
        assert chain[0].verify(hidden).status == "VALID"
    assert chain[0].verify(obfuscate_document(docs[0], ["issuers.0.documentStore"])).status == "WRONG_NETWORK"


def test_hiding_the_identity_location_keeps_a_document_valid(chain):
    verifier, docs = chain
    assert verifier.verify(obfuscate_document(docs[0], ["issuers.0.identityProof"])).status == "VALID"
    v = verifier.verify(obfuscate_document(docs[0], [".".join(map(str, LOCATION))]))
    assert v.status == "VALID", [(c.code, c.message) for c in v.checks]


# ----------------------------------------------------------------------------------- a blind spot of the format


def test_array_rewritten_as_object_is_not_valid(chain):
    _, docs = chain
    doc = copy.deepcopy(docs[0])
    doc["data"]["goods"] = {str(i): item for i, item in enumerate(doc["data"]["goods"])}
    assert chain[0].verify(doc).status != "VALID"
