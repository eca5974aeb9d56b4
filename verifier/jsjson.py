"""JavaScript-exact JSON text.

The OpenAttestation v2 proof format hashes text that JavaScript produced: ``String(v)`` for
numbers inside salted values and ``JSON.stringify`` for the leaf objects and the hash list.
This module writes the same bytes from Python values.

Only JSON values are accepted (``dict`` with ``str`` keys, ``list``/``tuple``, ``str``, ``int``,
``float``, ``bool``, ``None``). Anything else, and any number a JavaScript double cannot hold
exactly, is refused with :class:`ProofFormatError`, whose ``path`` names the offending value.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from certnet import CertnetError

__all__ = [
    "ProofFormatError",
    "js_string",
    "js_number",
    "js_quote",
    "js_stringify",
    "format_path",
    "short_repr",
    "MAX_SAFE_INTEGER",
    "dump_bytes",
]

MAX_SAFE_INTEGER = 2**53 - 1

# C-accelerated JSON string quoting with ensure_ascii=False semantics: escapes " \ \b \f \n \r \t,
# other C0 controls as \u00xx (lowercase hex), keeps everything else as is. That is what
# JSON.stringify does, except for lone surrogates, handled by _fix_surrogates.
_quote = json.encoder.encode_basestring
_SURROGATE = re.compile("[\ud800-\udfff]")


class ProofFormatError(CertnetError, ValueError):
    """A value or document that the proof format refuses; ``path`` names where (dotted path)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{format_path(path)}: {reason}")

    def __reduce__(self) -> tuple[Any, ...]:  # picklable (errors cross from the wrapping helper process)
        return (type(self), (self.path, self.reason))


def short_repr(value: Any, limit: int = 80) -> str:
    """``repr`` for messages: bounded in length, safe for huge integers."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 256:
        return f"<an integer of about {int(value.bit_length() * 0.30103) + 1} digits>"
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_path(path: str) -> str:
    """Human form of a dotted path ('' is the document root)."""
    return path if path else "(root)"


def _join(prefix: str, key: str | int) -> str:
    return f"{prefix}.{key}" if prefix else str(key)


# ---------------------------------------------------------------------------------------------
# numbers


def _float_text(f: float) -> str:
    """JavaScript Number::toString(10) of a finite double."""
    if f == 0.0:
        return "0"  # also -0, as JavaScript writes it
    r = repr(f)  # shortest round-trip digits, like JavaScript
    neg = r[0] == "-"
    if neg:
        r = r[1:]
    mant, _, exp = r.partition("e")
    ip, _, fp = mant.partition(".")
    digits = ip + fp
    n = len(ip) + (int(exp) if exp else 0)
    stripped = digits.lstrip("0")
    n -= len(digits) - len(stripped)
    d = stripped.rstrip("0")
    k = len(d)
    if k <= n <= 21:
        s = d + "0" * (n - k)
    elif 0 < n <= 21:
        s = d[:n] + "." + d[n:]
    elif -6 < n <= 0:
        s = "0." + "0" * (-n) + d
    else:
        e = n - 1
        sign = "+" if e >= 0 else "-"
        s = (d if k == 1 else d[0] + "." + d[1:]) + "e" + sign + str(abs(e))
    return "-" + s if neg else s


def js_number(value: int | float, path: str = "") -> str:
    """``String(v)`` of a number as JavaScript writes it; refuses what a double cannot hold."""
    if isinstance(value, bool):
        raise ProofFormatError(path, "a boolean is not a number")
    if isinstance(value, int):
        if -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            return str(int(value))
        try:
            f = float(value)
        except OverflowError:
            f = math.inf
        if math.isinf(f) or int(f) != value:
            raise ProofFormatError(
                path,
                f"integer {short_repr(value)} cannot be held exactly by a JavaScript number (carry it as a string)",
            )
        return _float_text(f)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ProofFormatError(path, f"{short_repr(value)} is not a JSON number")
        return _float_text(float(value))
    raise ProofFormatError(
        path,
        f"{type(value).__name__} value {short_repr(value)} is not a JSON number (carry it as a string)",
    )


def js_string(value: Any, path: str = "") -> str:
    """JavaScript ``String(v)`` for a JSON primitive (str, number, bool, None)."""
    if isinstance(value, str):
        return str.__str__(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return js_number(value, path)


# ---------------------------------------------------------------------------------------------
# strings


def _fix_surrogates(quoted: str) -> str:
    """Escape lone surrogates as JSON.stringify does (pairs become the character they encode)."""
    joined = quoted.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", joined)


def js_quote(s: str) -> str:
    """``JSON.stringify(s)`` for a string (result is always encodable as UTF-8)."""
    q = _quote(s)
    if _SURROGATE.search(q):
        return _fix_surrogates(q)
    return q


# ---------------------------------------------------------------------------------------------
# JSON.stringify


def _is_array_index(key: str) -> bool:
    """True for keys JavaScript orders first in objects (canonical integers 0 .. 2**32-2)."""
    return key.isascii() and key.isdigit() and (key == "0" or key[0] != "0") and int(key) < 2**32 - 1


def _js_key_order(obj: dict[str, Any]) -> list[Any]:
    keys = list(obj.keys())
    idx = [k for k in keys if isinstance(k, str) and _is_array_index(k)]
    if not idx:
        return keys
    idx.sort(key=int)
    rest = [k for k in keys if not (isinstance(k, str) and _is_array_index(k))]
    return idx + rest


def _stringify(value: Any, path: str, out: list[str]) -> None:
    t = type(value)
    if t is str or (t is not bool and isinstance(value, str)):
        out.append(js_quote(value))
    elif value is None:
        out.append("null")
    elif t is bool:
        out.append("true" if value else "false")
    elif t is int or t is float or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        out.append(js_number(value, path))
    elif isinstance(value, dict):
        out.append("{")
        first = True
        for k in _js_key_order(value):
            if not isinstance(k, str):
                raise ProofFormatError(path, f"key {short_repr(k)} is a {type(k).__name__}, JSON keys must be strings")
            if not first:
                out.append(",")
            first = False
            out.append(js_quote(k))
            out.append(":")
            _stringify(value[k], _join(path, k), out)
        out.append("}")
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _stringify(item, _join(path, i), out)
        out.append("]")
    else:
        raise ProofFormatError(path, f"{t.__name__} value is not JSON")


def js_stringify(obj: Any) -> str:
    """Compact ``JSON.stringify(obj)`` exactly as JavaScript writes it.

    Object keys come out in JavaScript's order (integer-like keys first, ascending), non-ASCII
    text stays as is, control characters and lone surrogates are escaped as JavaScript does.
    """
    out: list[str] = []
    _stringify(obj, "", out)
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# files and storage


def dump_bytes(obj: Any, *, indent: bool = False) -> bytes:
    """UTF-8 JSON of ``obj`` for files and storage: compact, or indented by two spaces.

    Fast (orjson); what orjson refuses (a lone surrogate, an integer beyond 64 bits) is written by
    the standard library instead, with such characters escaped. This is not the hashed text: the
    proof format hashes :func:`js_stringify`.
    """
    try:
        return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if indent else 0)
    except (TypeError, orjson.JSONEncodeError):
        if indent:
            return json.dumps(obj, indent=2).encode()
        return json.dumps(obj, separators=(",", ":")).encode()
