"""The verifier's fast path reads exactly what the straightforward one did.

`Verifier._prepare` unsalts only the envelope's fields and checks the list-as-object structure on the
salted data, relying on `check_integrity` having unsalted every value already (a bad salt anywhere is
MALFORMED) and on unsalting changing no object or list. Here, over documents of every type and single
changes to them (bad salts inside and outside the envelope, a list rewritten as an object, tampered
values, missing parts, JSON text), `_prepare` must give what the full unsalting gave.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from certnet.issuer import samples
from certnet.verifier.integrity import check_integrity
from certnet.verifier.jsjson import ProofFormatError
from certnet.verifier.salting import unsalt_data
from certnet.verifier.verify import LIST_TYPED, Verifier, _envelope, _list_as_object
from certnet.verifier.wrap import wrap_documents

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)


def reference_prepare(document: Any) -> tuple[Any, Any, Any]:
    """What `_prepare` computed before the fast path: the whole data unsalted, then read."""
    from certnet.verifier.integrity import IntegrityResult, parse_document

    integ = check_integrity(document)
    wrapped = document
    if isinstance(document, (str, bytes, bytearray)):
        try:
            wrapped = parse_document(document)
        except Exception:
            return None, integ, None
    env = None
    if integ.code != "MALFORMED":
        try:
            data = unsalt_data(wrapped["data"])
            env = _envelope(data)
        except (ProofFormatError, KeyError, TypeError):
            return wrapped, integ, None
        where = _list_as_object(data) if env.document_type in LIST_TYPED else None
        if where is not None:
            integ = IntegrityResult(
                False,
                "MALFORMED",
                f"The document is malformed: data.{where} is an object keyed 0, 1, ... where a "
                f"{env.document_type} has a list; its structure was changed after issue.",
                integ.target_hash,
                integ.merkle_root,
            )
    return wrapped, integ, env


def _paths(node: Any, path: tuple = ()) -> Iterator[tuple]:
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _paths(v, (*path, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _paths(v, (*path, i))
    else:
        yield path


def _set(doc: dict, path: tuple, value: Any) -> dict:
    out = copy.deepcopy(doc)
    node = out["data"]
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return out


def _variants(doc: dict) -> Iterator[Any]:
    yield doc
    yield json.dumps(doc, ensure_ascii=False)
    leaves = list(_paths(doc["data"]))
    step = max(1, len(leaves) // 25)
    for path in leaves[::step] + [
        p for p in leaves if p[0] in ("issuers", "network", "documentType", "issuingCountry", "referenceNumber")
    ]:
        value = doc["data"]
        for p in path:
            value = value[p]
        yield _set(doc, path, "not salted")  # a bad salt
        yield _set(doc, path, 12)
        if isinstance(value, str) and ":string:" in value:
            yield _set(doc, path, value + "x")  # tampered, still well salted
            yield _set(doc, path, value.replace(":string:", ":number:"))
    for key, value in doc["data"].items():
        if isinstance(value, list) and value:
            yield _set(doc, (key,), {str(i): v for i, v in enumerate(value)})  # list rewritten as an object
    for part in ("data", "signature", "version"):
        broken = copy.deepcopy(doc)
        del broken[part]
        yield broken
    yield {**doc, "data": []}
    yield "{not json"


@pytest.mark.parametrize("doc_type", ["FORM_D", "EPHYTO", "ECERT"])
def test_prepare_equals_full_unsalting(doc_type: str) -> None:
    _, docs = wrap_documents(list(samples.generate(3, doc_type, seed=77)))
    verifier = Verifier(None)
    seen = set()
    for doc in docs:
        for variant in _variants(doc):
            got = verifier._prepare(variant)
            want = reference_prepare(variant)
            assert got[1] == want[1] and got[2] == want[2], variant if not isinstance(variant, dict) else got[1]
            assert got[0] == want[0]
            seen.add(got[1].code)
    assert {"VALID", "MALFORMED", "TARGET_HASH_MISMATCH"} <= seen


def test_integrity_unsalts_every_value() -> None:
    """The property the fast path rests on: not MALFORMED means every value of `data` unsalts."""
    _, docs = wrap_documents(list(samples.generate(2, "FORM_D", seed=78)))
    for doc in docs:
        for variant in _variants(doc):
            if isinstance(variant, dict) and check_integrity(variant).code != "MALFORMED":
                unsalt_data(variant["data"])
