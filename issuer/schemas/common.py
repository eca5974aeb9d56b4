"""Building blocks shared by every certnet document schema.

The raw OpenAttestation v2 ``data`` of a certnet document (before salting) carries a common envelope:

    documentType      "FORM_D" | "EPHYTO" | "ECERT"
    referenceNumber   unique only within an issuing country and issuer ("VN-TH 24/02/00006")
    issuingCountry    ISO 3166-1 alpha-2
    importingCountry  ISO 3166-1 alpha-2
    issueDate         ISO date, YYYY-MM-DD
    network           {chainId, name}
    issuers           exactly one {name, documentStore, identityProof: {type: "CERTNET-REGISTRY", location}}

Design choices that matter for hashing (see DESIGN.md, "Proof format"):

* Validation is strict: no value is coerced ("5" is not an integer, "true" is not a boolean) and every
  date stays the ISO string it was given, so a valid document dumps back exactly as it came in and its
  hash does not depend on the validator.
* Money amounts are decimal strings ("12345.60"), never binary floats.
* Numbers are bounded well inside the range a double holds exactly.
* No key anywhere contains a ``.`` (the flattened paths join keys with dots).
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from certnet.node.contracts import DOCUMENT_TYPES as CHAIN_DOCUMENT_TYPES
from certnet.node.countries import ISO_3166_ALPHA2

# --------------------------------------------------------------------------------------------------
# document types

DOCUMENT_TYPES: tuple[str, ...] = ("FORM_D", "EPHYTO", "ECERT")


#: Numeric document type codes used on chain (IssuerRegistry permissions, anchoring records): the chain
#: layer's own table, as an enum.
DocumentTypeCode = IntEnum(  # type: ignore[misc]  # members from the chain layer's table, unknown to mypy
    "DocumentTypeCode", dict(sorted(CHAIN_DOCUMENT_TYPES.items(), key=lambda kv: kv[1]))
)


DOCUMENT_TYPE_CODES: dict[str, int] = {t.name: int(t) for t in DocumentTypeCode}
DOCUMENT_TYPE_NAMES: dict[int, str] = {int(t): t.name for t in DocumentTypeCode}


def document_type_code(doc_type: str) -> int:
    """'FORM_D' -> 1. Raises ValueError for an unknown name."""
    try:
        return DOCUMENT_TYPE_CODES[doc_type]
    except (KeyError, TypeError):
        raise ValueError(f"unknown document type {doc_type!r}; expected one of {', '.join(DOCUMENT_TYPES)}") from None


def document_type_name(code: int) -> str:
    """1 -> 'FORM_D'. Raises ValueError for an unknown code."""
    try:
        return DOCUMENT_TYPE_NAMES[int(code)]
    except (KeyError, TypeError, ValueError):
        expected = sorted(DOCUMENT_TYPE_NAMES)
        raise ValueError(f"unknown document type code {code!r}; expected one of {expected}") from None


# --------------------------------------------------------------------------------------------------
# code lists

#: ISO 3166-1 alpha-2, the 249 officially assigned codes (one list, shared with the chain layer).
COUNTRY_CODES: frozenset[str] = ISO_3166_ALPHA2

#: ISO 4217 active currency codes (Debian iso-codes 4.15, plus ZWG 2024 and XCG 2025).
CURRENCY_CODES: frozenset[str] = frozenset(
    """
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD
CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP
GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW
KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED
VES VND VUV WST XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG
ZWL
""".split()
)

#: ASEAN member states that are parties to ATIGA (Timor-Leste joined ASEAN in 2025 but not ATIGA yet).
ASEAN: frozenset[str] = frozenset("BN KH ID LA MY MM PH SG TH VN".split())

# --------------------------------------------------------------------------------------------------
# limits (one place, so that the API can quote them)

MAX_NAME = 200
MAX_ADDRESS = 500
MAX_SHORT = 64
MAX_TEXT = 1000
MAX_LONG_TEXT = 4000
MAX_REFERENCE = 64
MAX_AMOUNT = 10**12  # quantities and weights; far inside the range a double holds exactly
MAX_SAFE_INTEGER = 2**53 - 1

# --------------------------------------------------------------------------------------------------
# annotated value types


@dataclass(frozen=True)
class JsonSchemaExtra:
    """Annotated metadata that adds keys to a type's published JSON Schema (where an AfterValidator
    enforces the rule in Python and pydantic cannot infer it). Held as JSON text to stay hashable."""

    extra: str

    def __get_pydantic_json_schema__(self, core_schema, handler):
        schema = handler(core_schema)
        schema.update(json.loads(self.extra))
        return schema


def schema_extra(**extra: Any) -> JsonSchemaExtra:
    return JsonSchemaExtra(json.dumps(extra))


def error(code: str, message: str, field: str | None = None, **ctx: Any) -> PydanticCustomError:
    """A validation error with a message meant for a customs officer.

    ``field`` (dotted, relative to the object being validated) lets a model-level rule point at the
    field it is about; :func:`certnet.issuer.schemas.format_errors` appends it to the error's path.
    """
    if field is not None:
        ctx["field"] = field
    # braces in the message would be read as context placeholders
    return PydanticCustomError(code, message.replace("{", "(").replace("}", ")"), ctx or None)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_CONTROL_EXCEPT_NEWLINE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_SINGLE_LINE_PATTERN = r"^[^\u0000-\u001f\u007f]*\S[^\u0000-\u001f\u007f]*$"
_MULTI_LINE_PATTERN = r"^[^\u0000-\u0009\u000b-\u001f\u007f]*\S[^\u0000-\u0009\u000b-\u001f\u007f]*$"


def _single_line(value: str) -> str:
    if _CONTROL.search(value):
        raise error("control_character", "must not contain control characters or line breaks")
    if value.isspace():
        raise error("blank", "must not be blank")
    return value


def _multi_line(value: str) -> str:
    if _CONTROL_EXCEPT_NEWLINE.search(value):
        raise error(
            "control_character", "must not contain control characters (line breaks are written \\n, without \\r)"
        )
    if value.isspace():
        raise error("blank", "must not be blank")
    return value


def Text(max_length: int, *, multiline: bool = False) -> Any:
    """A non-blank string of at most ``max_length`` characters, without control characters
    (``multiline`` allows ``\\n`` line breaks, e.g. for addresses and marks)."""
    return Annotated[
        str,
        Field(min_length=1, max_length=max_length),
        AfterValidator(_multi_line if multiline else _single_line),
        schema_extra(pattern=_MULTI_LINE_PATTERN if multiline else _SINGLE_LINE_PATTERN),
    ]


if TYPE_CHECKING:  # Annotated[str, ...] built at run time: plain strings to the type checker
    Name = str
    Address = str
    Short = str
    Description = str
    LongText = str
else:
    Name = Text(MAX_NAME)
    Address = Text(MAX_ADDRESS, multiline=True)
    Short = Text(MAX_SHORT)
    Description = Text(MAX_TEXT, multiline=True)
    LongText = Text(MAX_LONG_TEXT, multiline=True)


def _country(value: str) -> str:
    if value not in COUNTRY_CODES:
        raise error("country_code", f"{value[:12]!r} is not an ISO 3166-1 alpha-2 country code")
    return value


CountryCode = Annotated[
    str,
    AfterValidator(_country),
    schema_extra(enum=sorted(COUNTRY_CODES), description="ISO 3166-1 alpha-2 country code"),
]


def _currency(value: str) -> str:
    if value not in CURRENCY_CODES:
        raise error("currency_code", "must be an ISO 4217 currency code")
    return value


CurrencyCode = Annotated[
    str, AfterValidator(_currency), schema_extra(enum=sorted(CURRENCY_CODES), description="ISO 4217 currency code")
]

_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _iso_date(value: str) -> str:
    if not _DATE.fullmatch(value):
        raise error("date_format", "must be a date written YYYY-MM-DD")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise error("date_value", "is not a real calendar date") from None
    if not 1900 <= parsed.year <= 2199:
        raise error("date_range", "must be a year between 1900 and 2199")
    return value


IsoDate = Annotated[
    str,
    AfterValidator(_iso_date),
    schema_extra(format="date", pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="calendar date, YYYY-MM-DD"),
]

_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")


def _eth_address(value: str) -> str:
    if not _ADDRESS.fullmatch(value):
        raise error("address", "must be a 0x-prefixed 20-byte hex address")
    body = value[2:]
    if body != body.lower() and body != body.upper() and not _checksum_ok(value):
        raise error("address_checksum", "has a wrong EIP-55 checksum (mixed-case address)")
    return value


@functools.lru_cache(maxsize=1024)
def _checksum_ok(value: str) -> bool:
    """Mixed case claims an EIP-55 checksum; cached, as every document of an issuer repeats its registry's."""
    from eth_utils import is_checksum_address

    return is_checksum_address(value)


EthAddress = Annotated[
    str,
    AfterValidator(_eth_address),
    schema_extra(pattern=r"^0x[0-9a-fA-F]{40}$", description="20-byte account address, 0x-prefixed hex"),
]

_HS = re.compile(r"^[0-9]{6,10}$")


def _hs_code(value: str) -> str:
    if not _HS.fullmatch(value):
        raise error("hs_code", "must be 6 to 10 digits")
    chapter = int(value[:2])
    if chapter == 0 or chapter > 97 or chapter == 77:
        raise error("hs_chapter", "does not start with an HS chapter (01-97, not 77)")
    return value


HsCode = Annotated[
    str,
    AfterValidator(_hs_code),
    schema_extra(
        pattern=r"^[0-9]{6,10}$",
        description="Harmonized System code, digits only: 6-digit HS subheading or a 8-10 digit national/AHTN line",
    ),
]

_REFERENCE = re.compile(r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$")


def _reference(value: str) -> str:
    if not _REFERENCE.fullmatch(value):
        raise error(
            "reference_number", "must be printable ASCII without leading or trailing spaces (e.g. 'VN-TH 24/02/00006')"
        )
    return value


ReferenceNumber = Annotated[
    str,
    Field(min_length=1, max_length=MAX_REFERENCE),
    AfterValidator(_reference),
    schema_extra(pattern=r"^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$"),
]

_AMOUNT = re.compile(r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$")


def _money_amount(value: str) -> str:
    if not _AMOUNT.fullmatch(value):
        raise error("amount", "must be a decimal amount written like 12345.60 (up to 4 decimals, no separators)")
    return value


MoneyAmount = Annotated[
    str,
    AfterValidator(_money_amount),
    schema_extra(
        pattern=r"^(0|[1-9][0-9]{0,14})(\.[0-9]{1,4})?$", description="decimal amount as a string, e.g. 12345.60"
    ),
]

_UNIT = re.compile(r"^[A-Z0-9]{2,3}$")


def _unit_code(value: str) -> str:
    if not _UNIT.fullmatch(value):
        raise error("unit_code", "must be a UN/ECE Recommendation 20 unit code such as KGM, TNE, PCE, LTR")
    return value


UnitCode = Annotated[
    str,
    AfterValidator(_unit_code),
    schema_extra(pattern=r"^[A-Z0-9]{2,3}$", description="UN/ECE Recommendation 20 unit code (KGM, TNE, PCE, LTR...)"),
]

_LOCODE = re.compile(r"^[A-Z]{2}[A-Z2-9]{3}$")


def _locode(value: str) -> str:
    if not _LOCODE.fullmatch(value) or value[:2] not in COUNTRY_CODES:
        raise error("locode", "must be a UN/LOCODE such as VNCLI (country code + 3 letters)")
    return value


UnLocode = Annotated[
    str, AfterValidator(_locode), schema_extra(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$", description="UN/LOCODE")
]


def _number(minimum: float, exclusive: bool) -> Any:
    def check(value: Any) -> int | float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise error("number_type", "must be a number")
        if isinstance(value, float) and not math.isfinite(value):
            raise error("finite", "must be a finite number")
        if value > MAX_AMOUNT:
            raise error("number_range", f"must be at most {MAX_AMOUNT}")
        if value < minimum or (exclusive and value == minimum):
            raise error("number_range", "must be greater than 0" if exclusive else f"must be at least {minimum}")
        return value

    return check


#: A JSON number (integer or decimal), 0 < n <= 10^12.
PositiveNumber = Annotated[
    Any,
    PlainValidator(_number(0, True)),
    WithJsonSchema({"type": "number", "exclusiveMinimum": 0, "maximum": MAX_AMOUNT}),
]
#: A JSON number, -10^12 <= n <= 10^12 (temperatures...).
SignedNumber = Annotated[
    Any,
    PlainValidator(_number(-MAX_AMOUNT, False)),
    WithJsonSchema({"type": "number", "minimum": -MAX_AMOUNT, "maximum": MAX_AMOUNT}),
]


# --------------------------------------------------------------------------------------------------
# models


def _field_title(field_name: str, _info: Any) -> str:
    """'hs_code' -> 'HS code', 'item_number' -> 'Item number' (titles of the published JSON Schema)."""
    words = field_name.split("_")
    special = {"hs": "HS", "fob": "FOB", "nppo": "NPPO", "id": "ID"}
    words = [special.get(w, w) for w in words]
    first = words[0] if words[0].isupper() else words[0].capitalize()
    return " ".join([first, *words[1:]])


class CertnetModel(BaseModel):
    """Base of every schema model: camelCase JSON names, no extra fields, no coercion."""

    model_config = ConfigDict(
        field_title_generator=_field_title,
        alias_generator=to_camel,
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
        extra="forbid",
        strict=True,
        frozen=True,
        allow_inf_nan=False,
        hide_input_in_errors=True,
    )


class Network(CertnetModel):
    """The network the document is anchored on."""

    chain: Literal["ETH"] = Field(description="the chain family, as OpenAttestation v2 names it (EVM: ETH)")
    chain_id: Annotated[
        str,
        Field(
            pattern=r"^[1-9][0-9]{0,15}$", description="EVM chain id in decimal, a string as OpenAttestation v2 wants"
        ),
    ]
    name: Short


class IdentityProof(CertnetModel):
    type: Literal["CERTNET-REGISTRY"]
    location: EthAddress = Field(description="address of the IssuerRegistry contract")


class Issuer(CertnetModel):
    name: Name = Field(description="the issuing authority as registered")
    document_store: EthAddress = Field(description="address of the issuing authority's DocumentStore contract")
    identity_proof: IdentityProof


class Template(CertnetModel):
    """OpenAttestation renderer hint (optional), kept so that TradeTrust viewers can display the document."""

    name: Short
    type: Literal["EMBEDDED_RENDERER"]
    url: Annotated[str, Field(min_length=8, max_length=500, pattern=r"^https://[^\s]+$")]


class Envelope(CertnetModel):
    """The fields every certnet document carries, whatever its type."""

    template: Template | None = Field(default=None, alias="$template")
    document_type: str
    reference_number: ReferenceNumber = Field(
        description="unique only within an issuing country and issuer, e.g. 'VN-TH 24/02/00006'"
    )
    issuing_country: CountryCode
    importing_country: CountryCode
    issue_date: IsoDate
    network: Network
    issuers: Annotated[list[Issuer], Field(min_length=1, max_length=1)]


class Party(CertnetModel):
    """A trader: exporter, consignee, consignor..."""

    name: Name
    address: Address
    country: CountryCode
    identifier: Short | None = Field(default=None, description="tax or business registration number")


class Measure(CertnetModel):
    """A quantity with a UN/ECE Rec. 20 unit (KGM, TNE, PCE, LTR...)."""

    value: PositiveNumber
    unit: UnitCode


class Money(CertnetModel):
    amount: MoneyAmount
    currency: CurrencyCode


class Packages(CertnetModel):
    """Number and kind of packages (kind as written: 'bags', 'cartons', or a Rec. 21 code such as 'BG')."""

    count: Annotated[int, Field(ge=1, le=10_000_000)]
    kind: Short
