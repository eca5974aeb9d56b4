"""Document schemas of certnet: Form D (and its ASEAN+1 / RCEP variants), ePhyto, generic e-certificate.

Entry points:

* :func:`validate_document` - validate a raw (unsalted) document ``data`` by its ``documentType``; returns
  the validated document as a plain JSON-ready dict (equal to the input: nothing is coerced) or raises
  :class:`SchemaValidationError`, whose ``errors`` name each failing field by its dotted path
  (``goods.0.hsCode``), the same paths the proof format flattens to.
* :func:`json_schema` / :func:`write_json_schemas` - the published JSON Schemas (draft 2020-12), kept in
  ``issuer/schemas/json/`` (regenerate with ``python -c "from certnet.issuer.schemas import write_json_schemas;
  write_json_schemas()"``; a test checks they are current).
* ``DOCUMENT_TYPE_CODES`` / ``DOCUMENT_TYPE_NAMES`` - the numeric document types used on chain
  (ECERT = 0, FORM_D = 1, EPHYTO = 2).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

from certnet import CertnetError

from .common import (
    COUNTRY_CODES,
    CURRENCY_CODES,
    DOCUMENT_TYPE_CODES,
    DOCUMENT_TYPE_NAMES,
    DOCUMENT_TYPES,
    CertnetModel,
    DocumentTypeCode,
    Envelope,
    document_type_code,
    document_type_name,
)
from .ecert import Ecert
from .ephyto import Ephyto
from .formd import AGREEMENTS, FormD

__all__ = [
    "AGREEMENTS",
    "CertnetModel",
    "COUNTRY_CODES",
    "CURRENCY_CODES",
    "DOCUMENT_MODELS",
    "DOCUMENT_TYPES",
    "DOCUMENT_TYPE_CODES",
    "DOCUMENT_TYPE_NAMES",
    "JSON_SCHEMA_DIR",
    "JSON_SCHEMA_FILES",
    "DocumentTypeCode",
    "Ecert",
    "Envelope",
    "Ephyto",
    "FormD",
    "SchemaValidationError",
    "document_type_code",
    "document_type_name",
    "format_errors",
    "json_schema",
    "json_schema_text",
    "model_for",
    "parse_document",
    "validate_document",
    "write_json_schemas",
]

DOCUMENT_MODELS: dict[str, type[Envelope]] = {"FORM_D": FormD, "EPHYTO": Ephyto, "ECERT": Ecert}

JSON_SCHEMA_DIR = Path(__file__).resolve().parent / "json"
JSON_SCHEMA_FILES: dict[str, str] = {
    "FORM_D": "form-d.schema.json",
    "EPHYTO": "ephyto.schema.json",
    "ECERT": "ecert.schema.json",
}
_MAX_ERRORS_IN_MESSAGE = 20


class SchemaValidationError(CertnetError, ValueError):
    """A document does not fit its schema.

    ``errors`` is a list of ``{"path": "goods.0.hsCode", "message": "must be 6 to 10 digits",
    "type": "hs_code"}`` (path ``""`` is the document itself); ``doc_type`` the type it was checked as
    (None when it could not be told).
    """

    def __init__(self, errors: list[dict[str, str]], doc_type: str | None = None) -> None:
        self.errors = errors
        self.doc_type = doc_type
        shown = [f"{e['path'] or '(document)'}: {e['message']}" for e in errors[:_MAX_ERRORS_IN_MESSAGE]]
        if len(errors) > _MAX_ERRORS_IN_MESSAGE:
            shown.append(f"... and {len(errors) - _MAX_ERRORS_IN_MESSAGE} more")
        label = f"{doc_type} document" if doc_type else "document"
        count = f"{len(errors)} error" + ("s" if len(errors) != 1 else "")
        super().__init__(f"invalid {label} ({count}): " + "; ".join(shown))


def _plural(n: Any, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def _message(err: ErrorDetails) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not an allowed field"
    if kind == "string_too_long":
        return f"must be at most {_plural(ctx.get('max_length'), 'character')}"
    if kind == "string_too_short":
        if ctx.get("min_length") == 1:
            return "must not be empty"
        return f"must be at least {_plural(ctx.get('min_length'), 'character')}"
    if kind == "too_long":
        return f"must have at most {_plural(ctx.get('max_length'), 'item')}"
    if kind == "too_short":
        return f"must have at least {_plural(ctx.get('min_length'), 'item')}"
    if kind == "literal_error":
        expected = str(ctx.get("expected"))
        return f"must be one of {expected}" if " or " in expected else f"must be {expected}"
    if kind in ("string_type", "string_sub_type"):
        return "must be a string"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be an integer"
    if kind == "bool_type":
        return "must be true or false"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return "must be an object"
    if kind in ("list_type", "tuple_type"):
        return "must be an array"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "string_pattern_mismatch":
        return "has the wrong format"
    msg = err["msg"]
    first_word = msg.split(" ", 1)[0]
    return msg if first_word.isupper() else msg[:1].lower() + msg[1:]


def format_errors(exc: ValidationError) -> list[dict[str, str]]:
    """pydantic errors -> ``[{path, message, type}]`` with dotted camelCase paths."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        parts = [str(p) for p in err["loc"]]
        ctx = err.get("ctx") or {}
        field = ctx.get("field")
        if field:
            parts.append(str(field))
        out.append({"path": ".".join(parts), "message": _message(err), "type": err["type"]})
    return out


def model_for(doc_type: str) -> type[Envelope]:
    """The pydantic model of a document type name ('FORM_D', 'EPHYTO', 'ECERT')."""
    try:
        return DOCUMENT_MODELS[doc_type]
    except (KeyError, TypeError):
        raise SchemaValidationError(
            [{"path": "documentType", "message": _expected_types(), "type": "document_type"}]
        ) from None


def _expected_types() -> str:
    return "must be one of " + ", ".join(DOCUMENT_TYPES)


def parse_document(data: Any, doc_type: str | None = None) -> Envelope:
    """Validate like :func:`validate_document` but return the (immutable) pydantic model."""
    if not isinstance(data, dict):
        raise SchemaValidationError([{"path": "", "message": "must be a JSON object", "type": "dict_type"}], doc_type)
    if doc_type is None:
        declared = data.get("documentType")
        if declared is None:
            raise SchemaValidationError([{"path": "documentType", "message": "is required", "type": "missing"}])
        if not isinstance(declared, str) or declared not in DOCUMENT_MODELS:
            raise SchemaValidationError(
                [{"path": "documentType", "message": _expected_types(), "type": "document_type"}]
            )
        doc_type = declared
    model = model_for(doc_type)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise SchemaValidationError(format_errors(exc), doc_type) from None


def validate_document(data: dict, doc_type: str | None = None) -> dict:
    """Validate a raw document by its ``documentType`` (or as ``doc_type`` when given).

    Returns the validated document as a new plain dict, equal to ``data`` for a valid document (values
    are never coerced, optional fields left out stay out; keys come in schema order).
    Raises :class:`SchemaValidationError`
    (a ValueError) naming every failing field path.
    """
    return parse_document(data, doc_type).model_dump(mode="json", by_alias=True, exclude_unset=True)


def json_schema(doc_type: str) -> dict:
    """The JSON Schema (draft 2020-12) published for a document type."""
    model = model_for(doc_type)
    schema = _share_code_lists(model.model_json_schema(by_alias=True, mode="validation"))
    name = JSON_SCHEMA_FILES[doc_type].removesuffix(".schema.json")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"urn:certnet:schema:{name}:1",
        **schema,
    }


_CODE_LISTS = {
    "CountryCode": (sorted(COUNTRY_CODES), "ISO 3166-1 alpha-2 country code"),
    "CurrencyCode": (sorted(CURRENCY_CODES), "ISO 4217 currency code"),
}


def _share_code_lists(schema: dict) -> dict:
    """Put the country and currency code lists in ``$defs`` once instead of at every use."""
    used: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(x) for x in node]
        if not isinstance(node, dict):
            return node
        for name, (codes, description) in _CODE_LISTS.items():
            if node.get("enum") == codes:
                used.add(name)
                out = {"$ref": f"#/$defs/{name}"}
                for key in ("title", "description"):
                    if key in node and node[key] != description:
                        out[key] = node[key]
                return out
        return {key: walk(value) for key, value in node.items()}

    result = walk(schema)
    defs = result.setdefault("$defs", {})
    for name in sorted(used):
        codes, description = _CODE_LISTS[name]
        defs[name] = {"description": description, "enum": codes, "title": name, "type": "string"}
    result["$defs"] = dict(sorted(defs.items()))
    return result


def write_json_schemas(directory: str | Path | None = None) -> list[Path]:
    """Write every published schema (``form-d.schema.json``, ``ephyto.schema.json``,
    ``ecert.schema.json``) into ``directory`` (default: ``issuer/schemas/json``); returns the paths."""
    target = Path(directory) if directory is not None else JSON_SCHEMA_DIR
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for doc_type, filename in JSON_SCHEMA_FILES.items():
        path = target / filename
        path.write_text(json_schema_text(doc_type), encoding="utf-8")
        written.append(path)
    return written


def json_schema_text(doc_type: str) -> str:
    """The exact text of a published schema file."""
    return json.dumps(json_schema(doc_type), indent=2, ensure_ascii=False) + "\n"
