"""A generic electronic certificate: halal, free sale, health, analysis, fumigation...

Fixed parts (title, subject, issuing body, validity) and a free-form ``content`` object whose shape the
issuer chooses. ``content`` must still be hashable by the proof format: plain JSON, keys without dots,
integers a double holds exactly, bounded depth, size and string length.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from .common import (
    MAX_SAFE_INTEGER,
    Address,
    CertnetModel,
    CountryCode,
    Envelope,
    IsoDate,
    Name,
    Short,
    Text,
    error,
    schema_extra,
)

CONTENT_MAX_DEPTH = 10
CONTENT_MAX_NODES = 5000
CONTENT_MAX_KEY = 100
CONTENT_MAX_STRING = 10_000
CONTENT_MAX_ITEMS = 1000


def _check_content(content: dict[str, Any]) -> dict[str, Any]:
    """Walks the object without recursion; errors name the offending path inside ``content``."""
    nodes = 0
    stack: list[tuple[str, Any, int]] = [("", content, 0)]
    while stack:
        path, value, depth = stack.pop()
        nodes += 1
        if nodes > CONTENT_MAX_NODES:
            raise error("content_size", f"must hold at most {CONTENT_MAX_NODES} values")
        where = path or None
        if isinstance(value, dict):
            if depth >= CONTENT_MAX_DEPTH:
                raise error("content_depth", f"nests deeper than {CONTENT_MAX_DEPTH} levels", field=where)
            if len(value) > CONTENT_MAX_ITEMS:
                raise error("content_items", f"must have at most {CONTENT_MAX_ITEMS} keys", field=where)
            for key, child in value.items():
                if not isinstance(key, str):
                    raise error("content_key", "keys must be strings", field=where)
                shown = f"{path}.{key}" if path else key
                if not key or len(key) > CONTENT_MAX_KEY or "." in key or any(ord(c) < 32 for c in key):
                    raise error(
                        "content_key",
                        f"key must be 1 to {CONTENT_MAX_KEY} characters without dots or control characters",
                        field=shown if key and "." not in key else where,
                    )
                stack.append((shown, child, depth + 1))
        elif isinstance(value, list):
            if depth >= CONTENT_MAX_DEPTH:
                raise error("content_depth", f"nests deeper than {CONTENT_MAX_DEPTH} levels", field=where)
            if len(value) > CONTENT_MAX_ITEMS:
                raise error("content_items", f"must have at most {CONTENT_MAX_ITEMS} items", field=where)
            for index, child in enumerate(value):
                stack.append((f"{path}.{index}" if path else str(index), child, depth + 1))
        elif isinstance(value, str):
            if len(value) > CONTENT_MAX_STRING:
                raise error("string_too_long", f"must be at most {CONTENT_MAX_STRING} characters", field=where)
        elif value is None or isinstance(value, bool):
            pass
        elif isinstance(value, int):
            if abs(value) > MAX_SAFE_INTEGER:
                raise error("unsafe_integer", "is too large for a JSON number; write it as a string", field=where)
        elif isinstance(value, float):
            if not math.isfinite(value):
                raise error("finite", "must be a finite number", field=where)
        else:
            raise error("json_type", f"must be a JSON value, not {type(value).__name__}", field=where)
    return content


Content = Annotated[
    dict[str, Any],
    AfterValidator(_check_content),
    schema_extra(
        description=(
            "free-form JSON object; keys 1-100 characters without dots, at most 10 levels, 5000 values, "
            "strings up to 10000 characters, integers within +/-(2^53-1)"
        ),
        propertyNames={"minLength": 1, "maxLength": CONTENT_MAX_KEY, "pattern": r"^[^.\u0000-\u001f]+$"},
    ),
]


class Subject(CertnetModel):
    """Whom or what the certificate is about (a company, an establishment, a product's maker)."""

    name: Name
    address: Address | None = None
    country: CountryCode | None = None
    identifier: Short | None = Field(default=None, description="registration, licence or establishment number")


class IssuingBody(CertnetModel):
    name: Name
    country: CountryCode
    address: Address | None = None
    signatory: Name | None = None
    signatory_title: Name | None = None


class Ecert(Envelope):
    """Generic electronic certificate."""

    model_config = {"title": "certnet generic e-certificate"}

    document_type: Literal["ECERT"]
    title: Text(200)  # type: ignore[valid-type]  # Text() builds an Annotated[str, ...] at run time
    certificate_type: Short | None = Field(default=None, description="issuer's own code, e.g. HALAL, FREE_SALE")
    subject: Subject
    issuing_body: IssuingBody
    content: Content
    valid_from: IsoDate
    valid_until: IsoDate | None = None

    @model_validator(mode="after")
    def _consistency(self) -> Ecert:
        if self.valid_until is not None and self.valid_until < self.valid_from:
            raise error("date_order", "must not be before validFrom", field="validUntil")
        if self.issuing_body.country != self.issuing_country:
            raise error("issuing_body_country", "must be the issuing country", field="issuingBody.country")
        return self
