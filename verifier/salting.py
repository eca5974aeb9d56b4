"""Salting, flattening and hashing of document data (OpenAttestation v2 compatible).

* Salting: every primitive becomes ``"<uuid4>:<type>:<text>"`` (``type`` is JavaScript's
  ``typeof``: string, number, boolean; null is ``"<uuid>:null:null"``; ``text`` is
  JavaScript's ``String(v)``). Keys are not salted; empty ``{}`` and ``[]`` stay as they are.
* Flattening: leaf paths join keys with ``.``, array positions are numbers (``items.0.hsCode``);
  empty containers are leaves; a key containing ``.`` is refused.
* Leaf hash: ``keccak256(utf8(JSON.stringify({path: saltedValue})))`` as lowercase hex.
* targetHash: keccak256 of the compact JSON array of all leaf hashes plus the obfuscated
  hashes, sorted as strings.

Every refusal raises :class:`ProofFormatError` (a ``ValueError``) whose ``path`` names the
offending value.
"""

from __future__ import annotations

import math
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeGuard, cast

from .jsjson import (
    MAX_SAFE_INTEGER,
    ProofFormatError,
    _fix_surrogates,
    _float_text,
    _quote,
    js_number,
    js_stringify,
    short_repr,
)
from .merkle import keccak_new

__all__ = [
    "ProofFormatError",
    "UuidFactory",
    "uuid_stream",
    "random_uuid",
    "salt_value",
    "salt_data",
    "salt_and_hash",
    "unsalt_value",
    "unsalt_data",
    "flatten",
    "iter_leaves",
    "leaf_hash",
    "leaf_hashes",
    "target_hash",
    "digest_data",
    "is_hash_hex",
    "MAX_DEPTH",
]

UuidFactory = Callable[[], str]

# ---------------------------------------------------------------------------------------------
# salts: random UUID v4 strings, produced in bulk from os.urandom

_UUID_BATCH = 4096
# random byte -> hex digit (256 is a multiple of 16, so digits stay uniform); variant digit 8/9/a/b
_HEX_OF_BYTE = bytes(b"0123456789abcdef"[b & 15] for b in range(256))
_VARIANT_OF_BYTE = bytes(b"89ab"[b & 3] for b in range(256))


def _uuid_batch(n: int) -> list[str]:
    """``n`` random UUID v4 strings, formatted with bulk byte operations (122 random bits each)."""
    t = bytearray(os.urandom(36 * n).translate(_HEX_OF_BYTE))
    dash = b"-" * n
    t[8::36] = dash
    t[13::36] = dash
    t[18::36] = dash
    t[23::36] = dash
    t[14::36] = b"4" * n
    t[19::36] = os.urandom(n).translate(_VARIANT_OF_BYTE)
    s = t.decode("ascii")
    return [s[i : i + 36] for i in range(0, 36 * n, 36)]


def _uuid_gen() -> Iterator[str]:
    while True:
        yield from _uuid_batch(_UUID_BATCH)


def uuid_stream() -> UuidFactory:
    """A fresh source of random UUID v4 strings (fast; do not share it across a fork)."""
    return _uuid_gen().__next__


_local = threading.local()  # one stream per thread: a generator cannot be shared between threads


def _thread_stream() -> UuidFactory:
    """This thread's default salt source."""
    try:
        return cast("Callable[[], str]", _local.next_uuid)
    except AttributeError:
        _local.next_uuid = uuid_stream()
        return cast("Callable[[], str]", _local.next_uuid)


def _reset_after_fork() -> None:
    global _local
    _local = threading.local()


os.register_at_fork(after_in_child=_reset_after_fork)


def random_uuid() -> str:
    """One random UUID v4 string."""
    return _thread_stream()()


# ---------------------------------------------------------------------------------------------
# salting


def _typed_text(value: Any, path: str) -> str:
    """``"<type>:<text>"`` of a JSON primitive as JavaScript writes it."""
    if isinstance(value, str):
        return "string:" + str.__str__(value)
    if value is None:
        return "null:null"
    if isinstance(value, bool):
        return "boolean:true" if value else "boolean:false"
    return "number:" + js_number(value, path)


def salt_value(value: Any, path: str = "", uuid_factory: UuidFactory | None = None) -> str:
    """Salt one primitive: ``"<uuid4>:<type>:<text>"``."""
    new_uuid = uuid_factory or _thread_stream()
    return f"{new_uuid()}:{_typed_text(value, path)}"


# Deepest nesting of objects and arrays accepted (the top-level object is level 1). Real
# certificates need a handful of levels; the bound keeps hostile documents cheap to refuse.
MAX_DEPTH = 64


def _too_deep(prefix: str) -> None:
    path = prefix[:-1] if prefix else ""
    if len(path) > 120:
        path = path[:60] + "..." + path[-40:]
    raise ProofFormatError(path, f"objects and arrays are nested more than {MAX_DEPTH} levels deep")


def _check_key(k: Any, prefix: str) -> None:
    path = prefix[:-1] if prefix else ""
    if not isinstance(k, str):
        raise ProofFormatError(path, f"key {short_repr(k)} is a {type(k).__name__}; JSON keys must be strings")
    if "." in k:
        raise ProofFormatError(prefix + k, f"key {short_repr(k)} contains '.', which the proof format cannot flatten")


def _hash_json(text: str) -> str:
    try:
        return cast("str", keccak_new(text.encode()).hexdigest())
    except UnicodeEncodeError:  # lone surrogates: escape them as JSON.stringify does
        return cast("str", keccak_new(_fix_surrogates(text).encode()).hexdigest())


def _salt_other(v: Any, path: str, hashes: list[str] | None, new_uuid: UuidFactory, depth: int) -> Any:
    """Salt what the fast loops do not inline: big or odd numbers, subclasses, tuples, errors."""
    t = type(v)
    if t is float:
        if v != v or v in (math.inf, -math.inf):
            raise ProofFormatError(path, f"{short_repr(v)} is not a JSON number")
        return f"{new_uuid()}:number:{_float_text(v)}"
    if t is int or t is bool or v is None or isinstance(v, (str, int, float)):
        return f"{new_uuid()}:{_typed_text(v, path)}"
    if isinstance(v, dict):
        if v:
            return _salt_dict(v, path + ".", hashes, new_uuid, depth + 1)
        if hashes is not None:
            hashes.append(_hash_json(f"{{{_quote(path)}:{{}}}}"))
        return {}
    if isinstance(v, (list, tuple)):
        if v:
            return _salt_list(v, path + ".", hashes, new_uuid, depth + 1)
        if hashes is not None:
            hashes.append(_hash_json(f"{{{_quote(path)}:[]}}"))
        return []
    raise ProofFormatError(path, f"{t.__name__} value is not JSON")


def _check_keys(obj: dict[str, Any], prefix: str) -> None:
    try:
        if "." not in "".join(obj):
            return
    except TypeError:
        pass
    for k in obj:
        _check_key(k, prefix)


# The two loops below are the hot path of wrapping: they salt each primitive and, when
# ``hashes`` is a list, append the keccak256 hex of ``{"<path>":"<salted>"}`` for each leaf.
# Common types are inlined; everything else goes through _salt_other.


def _salt_dict(
    obj: dict[str, Any], prefix: str, hashes: list[str] | None, new_uuid: UuidFactory, depth: int
) -> dict[str, Any]:
    if depth > MAX_DEPTH:
        _too_deep(prefix)
    _check_keys(obj, prefix)
    out: dict[str, Any] = {}
    q = _quote
    k256 = keccak_new
    add = hashes.append if hashes is not None else None
    lo = -MAX_SAFE_INTEGER
    hi = MAX_SAFE_INTEGER
    for k, v in obj.items():
        t = type(v)
        if t is str:
            s = f"{new_uuid()}:string:{v}"
        elif t is int and lo <= v <= hi:
            s = f"{new_uuid()}:number:{v}"
        elif t is float and v - v == 0.0:  # finite
            s = f"{new_uuid()}:number:{_float_text(v)}"
        elif t is bool:
            s = f"{new_uuid()}:boolean:true" if v else f"{new_uuid()}:boolean:false"
        elif v is None:
            s = f"{new_uuid()}:null:null"
        elif t is dict and v:
            out[k] = _salt_dict(v, f"{prefix}{k}.", hashes, new_uuid, depth + 1)
            continue
        elif t is list and v:
            out[k] = _salt_list(v, f"{prefix}{k}.", hashes, new_uuid, depth + 1)
            continue
        else:
            s = _salt_other(v, prefix + k, hashes, new_uuid, depth)
            if type(s) is not str:
                out[k] = s
                continue
        out[k] = s
        if add is not None:
            j = f"{{{q(prefix + k)}:{q(s)}}}" if t is str or isinstance(v, str) else f'{{{q(prefix + k)}:"{s}"}}'
            try:
                add(k256(j.encode()).hexdigest())
            except UnicodeEncodeError:
                add(k256(_fix_surrogates(j).encode()).hexdigest())
    return out


def _salt_list(
    arr: list[Any] | tuple[Any, ...], prefix: str, hashes: list[str] | None, new_uuid: UuidFactory, depth: int
) -> list[Any]:
    if depth > MAX_DEPTH:
        _too_deep(prefix)
    out: list[Any] = []
    append = out.append
    q = _quote
    k256 = keccak_new
    add = hashes.append if hashes is not None else None
    lo = -MAX_SAFE_INTEGER
    hi = MAX_SAFE_INTEGER
    i = -1
    for v in arr:
        i += 1
        t = type(v)
        if t is str:
            s = f"{new_uuid()}:string:{v}"
        elif t is int and lo <= v <= hi:
            s = f"{new_uuid()}:number:{v}"
        elif t is float and v - v == 0.0:
            s = f"{new_uuid()}:number:{_float_text(v)}"
        elif t is bool:
            s = f"{new_uuid()}:boolean:true" if v else f"{new_uuid()}:boolean:false"
        elif v is None:
            s = f"{new_uuid()}:null:null"
        elif t is dict and v:
            append(_salt_dict(v, f"{prefix}{i}.", hashes, new_uuid, depth + 1))
            continue
        elif t is list and v:
            append(_salt_list(v, f"{prefix}{i}.", hashes, new_uuid, depth + 1))
            continue
        else:
            s = _salt_other(v, f"{prefix}{i}", hashes, new_uuid, depth)
            if type(s) is not str:
                append(s)
                continue
        append(s)
        if add is not None:
            j = (
                f"{{{q(f'{prefix}{i}')}:{q(s)}}}"
                if t is str or isinstance(v, str)
                else f'{{{q(f"{prefix}{i}")}:"{s}"}}'
            )
            try:
                add(k256(j.encode()).hexdigest())
            except UnicodeEncodeError:
                add(k256(_fix_surrogates(j).encode()).hexdigest())
    return out


def _check_root(raw: Any) -> None:
    if not isinstance(raw, dict):
        raise ProofFormatError("", f"document data must be a JSON object, got {type(raw).__name__}")
    if "" in raw:
        v = raw[""]
        if isinstance(v, (dict, list, tuple)) and v:
            # OpenAttestation paths drop an empty first key ({"": {"x": 1}} flattens to "x"), so
            # its fields would collide with top-level fields of the same name.
            raise ProofFormatError(
                "",
                "an empty top-level key cannot hold a non-empty object or array "
                "(its fields would flatten onto the top level)",
            )


def salt_data(raw: dict[str, Any], uuid_factory: UuidFactory | None = None) -> dict[str, Any]:
    """Salted copy of a raw document (the ``data`` of a wrapped document)."""
    _check_root(raw)
    return _salt_dict(raw, "", None, uuid_factory or _thread_stream(), 1)


def salt_and_hash(raw: dict[str, Any], uuid_factory: UuidFactory | None = None) -> tuple[dict[str, Any], list[str]]:
    """Salt a raw document and hash its leaves in one pass: ``(salted, leaf_hashes_hex)``."""
    _check_root(raw)
    hashes: list[str] = []
    salted = _salt_dict(raw, "", hashes, uuid_factory or _thread_stream(), 1)
    return salted, hashes


# ---------------------------------------------------------------------------------------------
# unsalting

_SALTED = re.compile(
    r"([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})"
    r":(string|number|boolean|null):",
)
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?\Z")


def _parse_number(text: str, path: str) -> int | float:
    if len(text) > 400:
        raise ProofFormatError(path, f"salted number of {len(text)} characters is not a number JavaScript writes")
    m = _NUMBER.match(text)
    if not m:
        raise ProofFormatError(path, f"salted number {short_repr(text)} is not a number")
    if m.group(1) is None and m.group(2) is None:
        i = int(text)
        if -MAX_SAFE_INTEGER <= i <= MAX_SAFE_INTEGER:
            return i
        f = float(text)
        if math.isinf(f):
            raise ProofFormatError(path, f"salted number {short_repr(text)} is out of range")
        return int(f)  # the double JavaScript reads, as an exact integer
    f = float(text)
    if math.isinf(f):
        raise ProofFormatError(path, f"salted number {short_repr(text)} is out of range")
    return f


def unsalt_value(value: Any, path: str = "") -> Any:
    """Raw primitive of a salted string; refuses anything that is not a well-formed salt."""
    if type(value) is not str and not isinstance(value, str):
        raise ProofFormatError(path, f"expected a salted string, found {type(value).__name__}")
    m = _SALTED.match(value)
    if not m:
        raise ProofFormatError(path, "value is not salted as '<uuid4>:<type>:<value>'")
    kind = m.group(2)
    text = value[m.end() :]
    if kind == "string":
        return text
    if kind == "number":
        return _parse_number(text, path)
    if kind == "boolean":
        if text == "true":
            return True
        if text == "false":
            return False
        raise ProofFormatError(path, f"salted boolean {short_repr(text)} is neither true nor false")
    if text != "null":
        raise ProofFormatError(path, f"salted null carries {short_repr(text)}")
    return None


def _unsalt(node: Any, path: str | None, depth: int = 1) -> Any:
    if depth > MAX_DEPTH and isinstance(node, (dict, list)):
        _too_deep(path + "." if path else "")
    if isinstance(node, dict):
        prefix = "" if path is None else path + "."
        out = {}
        for k, v in node.items():
            _check_key(k, prefix)
            out[k] = _unsalt(v, prefix + k, depth + 1)
        return out
    if isinstance(node, list):
        prefix = "" if path is None else path + "."
        return [_unsalt(v, f"{prefix}{i}", depth + 1) for i, v in enumerate(node)]
    return unsalt_value(node, path or "")


def unsalt_data(salted: dict[str, Any]) -> dict[str, Any]:
    """Raw document recovered from salted data (strict: every leaf must be a proper salt)."""
    _check_root(salted)
    return cast("dict[Any, Any]", _unsalt(salted, None))


def _unsalt_hash(node: Any, path: str, depth: int, hashes: list[str]) -> Any:
    if depth > MAX_DEPTH and isinstance(node, (dict, list)):
        _too_deep(path + ".")
    if isinstance(node, dict):
        if not node:
            hashes.append(leaf_hash(path, node))
            return {}
        prefix = path + "."
        out = {}
        for k, v in node.items():
            _check_key(k, prefix)
            out[k] = _unsalt_hash(v, prefix + k, depth + 1, hashes)
        return out
    if isinstance(node, list):
        if not node:
            hashes.append(leaf_hash(path, node))
            return []
        return [_unsalt_hash(v, f"{path}.{i}", depth + 1, hashes) for i, v in enumerate(node)]
    value = unsalt_value(node, path)
    hashes.append(leaf_hash(path, node))
    return value


def unsalt_and_hash(salted: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """One walk over salted data: the raw document (strict, as :func:`unsalt_data`) and the leaf hashes in
    document order (as :func:`leaf_hashes`)."""
    _check_root(salted)
    hashes: list[str] = []
    raw = {}
    for k, v in salted.items():
        _check_key(k, "")
        raw[k] = _unsalt_hash(v, k, 2, hashes)
    return raw, hashes


# ---------------------------------------------------------------------------------------------
# flattening and hashing


def _leaves(node: Any, path: str, depth: int) -> Iterator[tuple[str, Any]]:
    if depth > MAX_DEPTH and isinstance(node, (dict, list)):
        _too_deep(path + ".")
    if isinstance(node, dict):
        if not node:
            yield path, node
            return
        prefix = path + "."
        for k, v in node.items():
            _check_key(k, prefix)
            yield from _leaves(v, prefix + k, depth + 1)
    elif isinstance(node, (list, tuple)):
        if not node:
            yield path, node
            return
        for i, v in enumerate(node):
            yield from _leaves(v, f"{path}.{i}", depth + 1)
    else:
        yield path, node


def iter_leaves(data: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(path, value)`` for every leaf of ``data`` (primitives and empty containers).

    The top-level object itself is never a leaf (an empty ``data`` has no leaves).
    """
    _check_root(data)
    for k, v in data.items():
        _check_key(k, "")
        yield from _leaves(v, k, 2)  # (an empty top-level key only holds a leaf: _check_root)


def flatten(data: dict[str, Any]) -> dict[str, Any]:
    """``{path: leaf value}`` of ``data`` (see :func:`iter_leaves`)."""
    return dict(iter_leaves(data))


def leaf_hash(path: str, value: Any) -> str:
    """keccak256 hex of ``JSON.stringify({path: value})``."""
    if type(value) is str:
        return _hash_json(f"{{{_quote(path)}:{_quote(value)}}}")
    return _hash_json(js_stringify({path: value}))


def leaf_hashes(data: dict[str, Any]) -> list[str]:
    """Leaf hashes (hex) of salted ``data``, in document order."""
    return [leaf_hash(p, v) for p, v in iter_leaves(data)]


def target_hash(hashes: Iterable[str]) -> str:
    """keccak256 hex of the JSON array of ``hashes`` sorted as strings (hex is never escaped)."""
    ordered = sorted(hashes)
    plain = "".join(ordered)  # TypeError for non-strings
    if plain.isascii() and plain.isprintable() and '"' not in plain and "\\" not in plain:
        text = '["' + '","'.join(ordered) + '"]' if ordered else "[]"
    else:  # not plain hex: let JSON.stringify semantics decide
        text = js_stringify(ordered)
    return _hash_json(text)


def digest_data(data: dict[str, Any], obfuscated: Iterable[str] = ()) -> str:
    """targetHash of salted ``data`` plus already obfuscated leaf hashes."""
    return target_hash([*leaf_hashes(data), *obfuscated])


_HEX64 = re.compile(r"[0-9a-f]{64}\Z")


def is_hash_hex(value: Any) -> TypeGuard[str]:
    """True for a 32-byte hash as 64 lowercase hex characters without ``0x``."""
    return isinstance(value, str) and _HEX64.match(value) is not None
