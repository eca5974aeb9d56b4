"""JSON from outside, read with its nesting depth limited before it is parsed.

Python's JSON parser recurses once per nested array or object, and so does every walk over the parsed value
(salting, hashing, schema checks). A body of 100,000 nested brackets must be refused with a clear error
before any of that starts, not left to exhaust the recursion limit (or, with a raised limit, the C stack).
:func:`check_depth` scans the bytes — strings skipped, only brackets counted — at C speed for ordinary
documents; :func:`loads` checks, then parses.

The depth of a JSON text is the largest number of arrays and objects open at once: ``1`` is 0, ``[]`` and
``{"a": 1}`` are 1, ``{"a": [{}]}`` is 3.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any

from certnet import CertnetError

__all__ = ["MAX_DEPTH", "JsonTooDeep", "json_depth", "exceeds_depth", "check_depth", "loads", "is_json_content_type"]

#: the default limit: a wrapped Form D is 6 deep, an API request adds 2
MAX_DEPTH = 64

# an escape in a JSON string: a backslash and the character after it (outside strings, a backslash is an error)
_ESCAPE = re.compile(rb"\\.", re.DOTALL)
# once escapes are gone, and all but quotes and brackets: a string
_STRING = re.compile(rb'"[^"]*"')
# opening brackets become "(", closing ones ")"
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_SYNTAX = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = tuple(1 if b == ord("(") else -1 if b == ord(")") else 0 for b in range(256))


class JsonTooDeep(CertnetError, ValueError):
    """The text nests arrays and objects deeper than the limit."""

    def __init__(self, limit: int, what: str = "the JSON") -> None:
        self.limit = limit
        super().__init__(
            f"{what} nests arrays and objects more than {limit} levels deep (at most {limit} are accepted)"
        )


def _utf8(data: bytes | bytearray | memoryview | str) -> bytes:
    """The text as UTF-8 bytes, decoded first as json.loads would (UTF-8, -16 or -32, by its first bytes)."""
    if isinstance(data, str):
        return data.encode("utf-8", "surrogatepass")
    data = bytes(data)
    encoding = json.detect_encoding(data)
    if encoding == "utf-8" or encoding == "utf-8-sig":
        return data
    try:
        return data.decode(encoding, "surrogatepass").encode("utf-8", "surrogatepass")
    except UnicodeError:
        return data  # not text in that encoding either: the parser will say so; scan the bytes as they are


def _max_prefix(brackets: bytes) -> int:
    return max(0, max(accumulate(map(_STEP.__getitem__, brackets)))) if brackets else 0


def _brackets(data: bytes | bytearray | memoryview | str) -> bytes:
    """The text's brackets outside strings, in order, as "(" and ")"."""
    text = _utf8(data)
    if b"\\" in text:
        text = _ESCAPE.sub(b"", text)
    return _STRING.sub(b"", text.translate(None, _NOT_SYNTAX)).translate(_BRACKETS)


def _openers(data: bytes | bytearray | memoryview | str) -> int:
    """An upper bound of the opening brackets, in any of JSON's encodings (each "[" or "{" character holds that
    byte), found at memchr speed: most documents are decided by it alone."""
    if isinstance(data, memoryview):
        data = bytes(data)
    if isinstance(data, str):
        return data.count("[") + data.count("{")
    return data.count(b"[") + data.count(b"{")


def json_depth(data: bytes | bytearray | memoryview | str) -> int:
    """The nesting depth of a JSON text (an upper bound for text that is not JSON: brackets after the point
    where a parser gives up count too)."""
    return _max_prefix(_brackets(data))


def exceeds_depth(data: bytes | bytearray | memoryview | str, limit: int) -> bool:
    """Whether the text nests deeper than `limit` (as :func:`json_depth` counts, usually faster)."""
    if _openers(data) <= limit:  # no text nests deeper than it has opening brackets (strings' included)
        return False
    brackets = _brackets(data)
    if len(brackets) <= limit:
        return False
    if len(brackets) > 4 * limit:
        # a pass removing every innermost pair "()" lowers the depth by at most one: decide on the (for many
        # small arrays, far shorter) rest when it can be, rather than walk every bracket
        rest = _max_prefix(brackets.replace(b"()", b""))
        if rest != limit:
            return rest > limit
    return _max_prefix(brackets) > limit


def check_depth(data: bytes | bytearray | memoryview | str, limit: int = MAX_DEPTH, what: str = "the JSON") -> None:
    """Raise :class:`JsonTooDeep` if `data` nests deeper than `limit`."""
    if exceeds_depth(data, limit):
        raise JsonTooDeep(limit, what)


def loads(data: bytes | bytearray | memoryview | str, limit: int = MAX_DEPTH, **kwargs: Any) -> Any:
    """``json.loads`` after :func:`check_depth` (raises JsonTooDeep, json.JSONDecodeError or UnicodeDecodeError,
    all ValueErrors)."""
    check_depth(data, limit)
    return json.loads(data, **kwargs)  # type: ignore[arg-type]  # a memoryview: json.loads raises TypeError, as ever


def is_json_content_type(value: str | None) -> bool:
    """Whether FastAPI parses a body with this Content-Type as JSON (it does with none at all)."""
    if not value:
        return True
    media = value.split(";", 1)[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))
