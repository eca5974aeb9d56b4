"""Document schemas: validation by type, field paths in errors, published JSON Schemas."""

from __future__ import annotations

import copy
import json
import random
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from certnet.issuer import samples
from certnet.issuer.schemas import (
    AGREEMENTS,
    COUNTRY_CODES,
    DOCUMENT_TYPE_CODES,
    DOCUMENT_TYPE_NAMES,
    JSON_SCHEMA_DIR,
    JSON_SCHEMA_FILES,
    DocumentTypeCode,
    FormD,
    SchemaValidationError,
    document_type_code,
    document_type_name,
    json_schema,
    json_schema_text,
    parse_document,
    validate_document,
    write_json_schemas,
)


@pytest.fixture
def form() -> dict:
    return samples.form_d(random.Random(11), issuingCountry="VN", importingCountry="TH", agreement="ATIGA", lines=2)


@pytest.fixture
def phyto() -> dict:
    return samples.ephyto(random.Random(12), issuingCountry="VN", importingCountry="CN")


@pytest.fixture
def cert() -> dict:
    return samples.ecert(random.Random(13), issuingCountry="MY", importingCountry="SG")


def errors_of(doc: dict, doc_type: str | None = None) -> dict[str, str]:
    with pytest.raises(SchemaValidationError) as info:
        validate_document(doc, doc_type)
    return {e["path"]: e["message"] for e in info.value.errors}


def mutate(doc: dict, path: str, value) -> dict:
    """Copy of doc with the dotted path set (value DELETE removes it)."""
    out = copy.deepcopy(doc)
    *parents, last = path.split(".")
    node = out
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return out


DELETE = object()


# --------------------------------------------------------------------------------------------------
# document types


def test_document_type_codes_both_ways():
    assert DOCUMENT_TYPE_CODES == {"ECERT": 0, "FORM_D": 1, "EPHYTO": 2}
    assert DOCUMENT_TYPE_NAMES == {0: "ECERT", 1: "FORM_D", 2: "EPHYTO"}
    assert DocumentTypeCode.FORM_D == 1
    for name, code in DOCUMENT_TYPE_CODES.items():
        assert document_type_code(name) == code
        assert document_type_name(code) == name
    with pytest.raises(ValueError):
        document_type_code("FORM_E")
    with pytest.raises(ValueError):
        document_type_name(3)


# --------------------------------------------------------------------------------------------------
# valid documents


def test_valid_documents_come_back_unchanged(form, phyto, cert):
    for doc in (form, phyto, cert):
        out = validate_document(doc)
        assert out == doc
        assert out is not doc


def test_doc_type_argument_and_mismatch(form, phyto):
    assert validate_document(form, "FORM_D") == form
    errors = errors_of(form, "EPHYTO")
    assert errors["documentType"] == "must be 'EPHYTO'"
    assert "consignor" in errors  # checked as what it was asked to be
    assert errors_of(phyto, "ECERT")["documentType"] == "must be 'ECERT'"
    with pytest.raises(SchemaValidationError, match="documentType"):
        validate_document(form, "FORM_E")


def test_missing_or_unknown_document_type(form):
    assert errors_of(mutate(form, "documentType", DELETE)) == {"documentType": "is required"}
    assert errors_of(mutate(form, "documentType", "FORM_E")) == {"documentType": "must be one of FORM_D, EPHYTO, ECERT"}
    assert errors_of(mutate(form, "documentType", 1)) == {"documentType": "must be one of FORM_D, EPHYTO, ECERT"}
    with pytest.raises(SchemaValidationError) as info:
        validate_document(["not", "an", "object"])  # type: ignore[arg-type]
    assert info.value.errors[0]["path"] == ""


def test_optional_parts_may_be_left_out(form):
    minimal = copy.deepcopy(form)
    for key in ("thirdCountryInvoice", "backToBack", "exhibition", "remarks", "officialUse"):
        minimal.pop(key, None)
    minimal["flags"] = {}
    for line in minimal["goods"]:
        line.pop("quantity", None)
        line["originCriterion"] = "WO"
        line.pop("fobValue", None)
    minimal["exporter"].pop("identifier", None)
    assert validate_document(minimal) == minimal


def test_parse_document_returns_frozen_model(form):
    model = parse_document(form)
    assert isinstance(model, FormD)
    assert model.goods[0].hs_code == form["goods"][0]["hsCode"]
    with pytest.raises(ValidationError):  # frozen
        model.reference_number = "other"  # type: ignore[misc]


# --------------------------------------------------------------------------------------------------
# errors name the field


def test_error_is_a_value_error_naming_every_path(form):
    bad = mutate(mutate(form, "goods.0.hsCode", "10063"), "importingCountry", "XX")
    with pytest.raises(ValueError) as info:
        validate_document(bad)
    exc = info.value
    assert isinstance(exc, SchemaValidationError)
    assert exc.doc_type == "FORM_D"
    assert {"path": "goods.0.hsCode", "message": "must be 6 to 10 digits", "type": "hs_code"} in exc.errors
    assert "goods.0.hsCode: must be 6 to 10 digits" in str(exc)
    assert "importingCountry: 'XX' is not an ISO 3166-1 alpha-2 country code" in str(exc)


@pytest.mark.parametrize(
    "code", ["10063", "10063000001", "1006.30", "1006 30", "10063a", "", "０１００６３０", "100630\n", " 100630"]
)
def test_hs_code_format(form, code):
    assert errors_of(mutate(form, "goods.1.hsCode", code)) == {"goods.1.hsCode": "must be 6 to 10 digits"}


@pytest.mark.parametrize("code", ["000000", "770000", "980000", "99887766"])
def test_hs_code_chapter(form, code):
    assert "HS chapter" in errors_of(mutate(form, "goods.0.hsCode", code))["goods.0.hsCode"]


@pytest.mark.parametrize("code", ["100630", "09011100", "4001220000", "8517130"])
def test_hs_code_accepted(form, code):
    assert validate_document(mutate(form, "goods.0.hsCode", code))["goods"][0]["hsCode"] == code


@settings(max_examples=300, deadline=None)
@given(code=st.text(alphabet="0123456789.x \n\uff11\u0661", min_size=0, max_size=12))
def test_hs_code_property(code):
    doc = samples.form_d(random.Random(1), lines=1)
    doc["goods"][0]["hsCode"] = code
    ok = re.fullmatch(r"[0-9]{6,10}", code) is not None and 1 <= int(code[:2]) <= 97 and code[:2] != "77"
    try:
        validate_document(doc)
        accepted = True
    except SchemaValidationError as exc:
        accepted = False
        assert [e["path"] for e in exc.errors] == ["goods.0.hsCode"]
    assert accepted == ok


@pytest.mark.parametrize(
    "path",
    ["issuingCountry", "importingCountry", "exporter.country", "consignee.country", "declaration.countryOfOrigin"],
)
@pytest.mark.parametrize("code", ["XX", "vn", "VNM", "UK", "XK", "EU", ""])
def test_unknown_country_codes(form, path, code):
    errors = errors_of(mutate(form, path, code))
    assert path in errors
    assert "ISO 3166-1 alpha-2" in errors[path]


def test_every_assigned_country_code_is_known():
    assert len(COUNTRY_CODES) == 249
    assert {"VN", "TH", "MY", "ID", "PH", "SG", "KH", "LA", "MM", "BN", "TL", "CN", "SS", "BQ"} <= COUNTRY_CODES


@pytest.mark.parametrize(
    "path",
    [
        "exporter",
        "consignee",
        "transport",
        "goods",
        "declaration",
        "certification",
        "flags",
        "agreement",
        "referenceNumber",
        "issueDate",
        "network",
        "issuers",
        "transport.departureDate",
        "goods.0.invoice",
        "goods.0.originCriterion",
        "goods.0.packages",
        "goods.1.description",
        "certification.signatory",
        "issuers.0.identityProof",
        "network.chainId",
    ],
)
def test_missing_box(form, path):
    assert errors_of(mutate(form, path, DELETE)) == {path: "is required"}


@pytest.mark.parametrize(
    "path",
    ["colour", "goods.0.colour", "exporter.email", "flags.urgent", "network.rpc", "issuers.0.identityProof.extra"],
)
def test_extra_field_is_refused(form, path):
    assert errors_of(mutate(form, path, "x")) == {path: "is not an allowed field"}


@pytest.mark.parametrize(
    "path,limit",
    [
        ("exporter.name", 200),
        ("exporter.address", 500),
        ("goods.0.description", 1000),
        ("goods.0.marksAndNumbers", 500),
        ("transport.vesselOrFlight", 200),
        ("goods.0.invoice.number", 64),
        ("referenceNumber", 64),
        ("certification.authority", 200),
        ("network.name", 64),
    ],
)
def test_overlong_string(form, path, limit):
    assert validate_document(mutate(form, path, "A" * limit))  # the limit itself is fine
    assert errors_of(mutate(form, path, "A" * (limit + 1))) == {path: f"must be at most {limit} characters"}


@pytest.mark.parametrize(
    "value,message",
    [
        ("", "must not be empty"),
        ("   ", "must not be blank"),
        ("Minh\tPhú", "must not contain control"),
        ("Minh\nPhú", "must not contain control"),
        (42, "must be a string"),
        (None, "must be a string"),
    ],
)
def test_single_line_text(form, value, message):
    assert errors_of(mutate(form, "exporter.name", value))["exporter.name"].startswith(message)


def test_multi_line_text_allows_line_breaks(form):
    doc = mutate(form, "exporter.address", "Lô 16A, KCN Tân Tạo\nQuận Bình Tân\nTP. Hồ Chí Minh")
    assert validate_document(doc) == doc
    assert "exporter.address" in errors_of(mutate(form, "exporter.address", "a\x00b"))


def test_list_limits(form):
    assert errors_of(mutate(form, "goods", [])) == {"goods": "must have at least 1 item"}
    many = mutate(form, "goods", [dict(form["goods"][0], itemNumber=i + 1) for i in range(1000)])
    assert errors_of(many) == {"goods": "must have at most 999 items"}
    assert errors_of(mutate(form, "issuers", [])) == {"issuers": "must have at least 1 item"}
    assert errors_of(mutate(form, "issuers", form["issuers"] * 2)) == {"issuers": "must have at most 1 item"}


# --------------------------------------------------------------------------------------------------
# envelope


def test_no_coercion(form):
    assert "network.chainId" in errors_of(mutate(form, "network.chainId", 31337))  # OpenAttestation: a string
    assert "network.chainId" in errors_of(mutate(form, "network.chainId", True))
    assert "network.chainId" in errors_of(mutate(form, "network.chainId", "0"))
    assert "network.chain" in errors_of(mutate(form, "network.chain", "BTC"))
    assert errors_of(mutate(form, "flags.deMinimis", "true")) == {"flags.deMinimis": "must be true or false"}
    assert errors_of(mutate(form, "goods.0.grossWeight.value", "100")) == {
        "goods.0.grossWeight.value": "must be a number"
    }
    assert errors_of(mutate(form, "goods.0.itemNumber", 1.0)) == {"goods.0.itemNumber": "must be an integer"}


@pytest.mark.parametrize("value", ["2024-02-30", "24/02/2024", "2024-2-3", "20240203", "1899-12-31", 20240203])
def test_dates(form, value):
    assert "issueDate" in errors_of(mutate(form, "issueDate", value))


@pytest.mark.parametrize(
    "value",
    [
        "0x123",
        "52908400098527886E0F7030069857D2E4169EE7",
        "0x52908400098527886E0F7030069857D2E4169Ee7",
        "0xZZ08400098527886E0F7030069857D2E4169EE7",
    ],
)
def test_bad_addresses(form, value):
    assert "issuers.0.documentStore" in errors_of(mutate(form, "issuers.0.documentStore", value))
    assert "issuers.0.identityProof.location" in errors_of(mutate(form, "issuers.0.identityProof.location", value))


@pytest.mark.parametrize(
    "value", ["0x52908400098527886E0F7030069857D2E4169EE7", "0x52908400098527886e0f7030069857d2e4169ee7"]
)
def test_good_addresses(form, value):
    assert validate_document(mutate(form, "issuers.0.documentStore", value))


def test_identity_proof_type(form):
    errors = errors_of(mutate(form, "issuers.0.identityProof.type", "DNS-TXT"))
    assert errors == {"issuers.0.identityProof.type": "must be 'CERTNET-REGISTRY'"}


@pytest.mark.parametrize("value", ["VN-TH 24/02/00006", "A", "0001234/MDN/2024", "KL2024-ATIGA-000123"])
def test_reference_numbers(form, value):
    assert validate_document(mutate(form, "referenceNumber", value))["referenceNumber"] == value


@pytest.mark.parametrize("value", [" VN-TH 24/02/00006", "VN-TH 24/02/00006 ", "", "VN–TH 24/02/00006", "a\tb"])
def test_bad_reference_numbers(form, value):
    assert "referenceNumber" in errors_of(mutate(form, "referenceNumber", value))


def test_template_is_optional_and_checked(form):
    doc = dict(
        form, **{"$template": {"name": "FORM_D", "type": "EMBEDDED_RENDERER", "url": "https://renderer.example.org"}}
    )
    assert validate_document(doc) == doc
    assert "$template.url" in errors_of(mutate(doc, "$template.url", "http://renderer.example.org"))


# --------------------------------------------------------------------------------------------------
# Form D rules


@pytest.mark.parametrize(
    "value",
    [
        "WO",
        "PE",
        "CC",
        "CTH",
        "CTSH",
        "RVC 40%",
        "RVC 35.5%",
        "PC 25%",
        "CTC",
        "CTH + RVC 40%",
        "RVC 40% + ACU",
        "CTSH + DMI",
        "RVC 100%",
    ],
)
def test_origin_criteria_accepted(form, value):
    assert validate_document(mutate(form, "goods.0.originCriterion", value))


@pytest.mark.parametrize(
    "value", ["RVC", "RVC 0%", "RVC 101%", "rvc 40%", "40%", "XX", "WO+PE", "RVC 40 %", "WO + PE + CC + CTH", ""]
)
def test_origin_criteria_refused(form, value):
    errors = errors_of(mutate(form, "goods.0.originCriterion", value))
    assert list(errors) == ["goods.0.originCriterion"]


def test_rvc_needs_fob_value(form):
    doc = mutate(mutate(form, "goods.0.originCriterion", "RVC 40%"), "goods.0.fobValue", DELETE)
    assert errors_of(doc) == {"goods.0.fobValue": "is required when the origin criterion is RVC"}
    assert validate_document(mutate(doc, "goods.0.originCriterion", "CTH"))


def test_box9_needs_weight_or_quantity(form):
    doc = copy.deepcopy(form)
    doc["goods"][1].pop("grossWeight", None)
    doc["goods"][1].pop("quantity", None)
    assert errors_of(doc) == {"goods.1.grossWeight": "box 9 needs the gross weight or another quantity"}
    assert validate_document(mutate(doc, "goods.1.quantity", {"value": 12, "unit": "PCE"}))


@pytest.mark.parametrize(
    "path,value",
    [
        ("goods.0.grossWeight.value", 0),
        ("goods.0.grossWeight.value", -1),
        ("goods.0.grossWeight.value", 1e13),
        ("goods.0.grossWeight.value", float("nan")),
        ("goods.0.grossWeight.value", True),
        ("goods.0.grossWeight.unit", "kg"),
        ("goods.0.grossWeight.unit", "KILO"),
        ("goods.0.fobValue", {"amount": "1,234.50", "currency": "USD"}),
        ("goods.0.packages.count", 0),
    ],
)
def test_box9_values(form, path, value):
    form = mutate(form, "goods.0.fobValue", {"amount": "100.00", "currency": "USD"})
    errors = errors_of(mutate(form, path, value))
    assert len(errors) == 1 and next(iter(errors)).startswith(path.rsplit(".", 1)[0])


@pytest.mark.parametrize("amount", ["1,234.50", "1234.567891", "-5", "01", "1e3", "", 1234.5])
def test_money_amounts(form, amount):
    doc = mutate(form, "goods.0.fobValue", {"amount": amount, "currency": "USD"})
    assert "goods.0.fobValue.amount" in errors_of(doc)


def test_currency_codes(form):
    doc = mutate(form, "goods.0.fobValue", {"amount": "10.50", "currency": "XYZ"})
    assert errors_of(doc) == {"goods.0.fobValue.currency": "must be an ISO 4217 currency code"}
    assert validate_document(mutate(doc, "goods.0.fobValue.currency", "VND"))


def test_box4_official_use(form):
    refused = mutate(form, "officialUse", {"preference": "NOT_GIVEN"})
    assert errors_of(refused) == {"officialUse.reason": "is required when preference is not given"}
    refused["officialUse"]["reason"] = "Origin criterion in box 8 does not match the HS code in box 7"
    assert validate_document(refused) == refused
    given_ = mutate(
        form,
        "officialUse",
        {"preference": "GIVEN", "customsOffice": "Laem Chabang Customs House", "date": "2024-06-01"},
    )
    assert validate_document(given_) == given_
    assert "officialUse.preference" in errors_of(mutate(form, "officialUse", {"preference": "MAYBE"}))


@pytest.mark.parametrize(
    "flag,details,value",
    [
        (
            "thirdCountryInvoicing",
            "thirdCountryInvoice",
            {"operatorName": "Lion City Trading Pte. Ltd.", "country": "SG"},
        ),
        (
            "backToBack",
            "backToBack",
            {"referenceNumber": "MY-VN 24/01/00012", "issuingCountry": "MY", "issueDate": "2024-01-05"},
        ),
        ("exhibition", "exhibition", {"name": "Thaifex", "address": "IMPACT Muang Thong Thani, Nonthaburi"}),
    ],
)
def test_box13_flags_and_details(form, flag, details, value):
    flagged = mutate(form, f"flags.{flag}", True)
    for key in ("thirdCountryInvoice", "backToBack", "exhibition"):
        flagged.pop(key, None)
    assert errors_of(flagged) == {details: f"is required when flags.{details} is set"}
    flagged[details] = value
    assert validate_document(flagged) == flagged
    unflagged = mutate(flagged, f"flags.{flag}", False)
    assert errors_of(unflagged) == {f"flags.{details}": f"must be set when {details} details are given"}


def test_agreement_parties(form):
    errors = errors_of(mutate(form, "importingCountry", "CN"))
    assert errors == {"importingCountry": "CN is not a party to ATIGA (Form D)"}
    form_e = mutate(mutate(form, "importingCountry", "CN"), "agreement", "ACFTA")
    assert validate_document(form_e)
    assert errors_of(mutate(form_e, "importingCountry", "JP")) == {
        "importingCountry": "JP is not a party to ACFTA (Form E)"
    }
    assert errors_of(mutate(form, "declaration.countryOfOrigin", "US")) == {
        "declaration.countryOfOrigin": "US is not a party to ATIGA"
    }
    assert set(AGREEMENTS) == {"ATIGA", "ACFTA", "AKFTA", "AJCEP", "AANZFTA", "AIFTA", "AHKFTA", "RCEP"}


def test_same_country_and_date_order(form):
    assert errors_of(mutate(form, "importingCountry", "VN")) == {"importingCountry": "must differ from issuingCountry"}
    doc = mutate(form, "certification.date", "2000-01-01")
    assert errors_of(doc) == {"certification.date": "must not be before the exporter's declaration date"}


def test_duplicate_item_numbers(form):
    assert errors_of(mutate(form, "goods.1.itemNumber", 1)) == {"goods.1.itemNumber": "repeats an earlier item number"}
    assert "goods.0.itemNumber" in errors_of(mutate(form, "goods.0.itemNumber", 1000))


# --------------------------------------------------------------------------------------------------
# ePhyto and e-certificate rules


def test_ephyto_rules(phyto):
    assert validate_document(phyto) == phyto
    assert errors_of(mutate(phyto, "nppo", DELETE)) == {"nppo": "is required"}
    assert errors_of(mutate(phyto, "exportingCountry", "TH")) == {
        "exportingCountry": "must be the issuing country (the NPPO's own)"
    }
    assert errors_of(mutate(phyto, "goods.0.scientificName", "x" * 201)) == {
        "goods.0.scientificName": "must be at most 200 characters"
    }
    assert errors_of(mutate(phyto, "goods.0.hsCode", "08109")) == {"goods.0.hsCode": "must be 6 to 10 digits"}
    assert validate_document(mutate(phyto, "goods.0.hsCode", DELETE))
    fumigation = {"type": "FUMIGATION", "concentration": {"value": 48, "unit": "g/m3"}, "date": "2024-05-01"}
    assert errors_of(mutate(phyto, "treatments", [fumigation])) == {
        "treatments.0.chemical": "is required for a fumigation treatment"
    }
    fumigation["chemical"] = "Methyl bromide"
    fumigation["temperature"] = {"value": -1.5, "unit": "CEL"}
    assert validate_document(mutate(phyto, "treatments", [fumigation]))
    assert "treatments.0.type" in errors_of(mutate(phyto, "treatments", [dict(fumigation, type="PRAYER")]))
    reexport = mutate(phyto, "certificateType", "REEXPORT")
    assert errors_of(reexport) == {"originalCertificate": "is required for a re-export certificate"}
    assert validate_document(mutate(reexport, "originalCertificate", "TH/DOA/2024/000123"))
    assert errors_of(mutate(phyto, "additionalDeclarations", ["ok"] * 21)) == {
        "additionalDeclarations": "must have at most 20 items"
    }


def test_ecert_rules(cert):
    assert validate_document(cert) == cert
    assert errors_of(mutate(cert, "validUntil", "2000-01-01")) == {"validUntil": "must not be before validFrom"}
    assert errors_of(mutate(cert, "issuingBody.country", "TH")) == {
        "issuingBody.country": "must be the issuing country"
    }
    assert errors_of(mutate(cert, "content", [1, 2])) == {"content": "must be an object"}


@pytest.mark.parametrize(
    "content,path",
    [
        ({"a.b": 1}, "content"),
        ({"results": [{"value": 2**53}]}, "content.results.0.value"),
        ({"x": float("inf")}, "content.x"),
        ({"x": {1, 2}}, "content.x"),
        ({"x": "y" * 10_001}, "content.x"),
        ({"": 1}, "content"),
        (
            {"deep": {"a": {"b": {"c": {"d": {"e": {"f": {"g": {"h": {"i": {"j": 1}}}}}}}}}}},
            "content.deep.a.b.c.d.e.f.g.h.i",
        ),
    ],
)
def test_ecert_content_must_be_hashable_json(cert, content, path):
    errors = errors_of(mutate(cert, "content", content))
    assert list(errors) == [path]


def test_ecert_content_free_form(cert):
    content = {"product": "Cà phê Robusta", "results": [{"value": 12.5, "ok": True, "note": None}], "nested": {}}
    assert validate_document(mutate(cert, "content", content))["content"] == content


# --------------------------------------------------------------------------------------------------
# published JSON Schemas


@pytest.mark.parametrize("doc_type", sorted(JSON_SCHEMA_FILES))
def test_published_json_schemas_are_current(doc_type):
    path = JSON_SCHEMA_DIR / JSON_SCHEMA_FILES[doc_type]
    assert path.read_text(encoding="utf-8") == json_schema_text(doc_type), (
        f"{path.name} is stale: run "
        "python -c 'from certnet.issuer.schemas import write_json_schemas; write_json_schemas()'"
    )


def test_write_json_schemas(tmp_path):
    written = write_json_schemas(tmp_path)
    assert sorted(p.name for p in written) == ["ecert.schema.json", "ephyto.schema.json", "form-d.schema.json"]
    for doc_type, name in JSON_SCHEMA_FILES.items():
        assert json.loads((tmp_path / name).read_text(encoding="utf-8")) == json_schema(doc_type)


def test_json_schema_shape():
    schema = json_schema("FORM_D")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert schema["properties"]["documentType"]["const"] == "FORM_D"
    assert schema["$defs"]["CountryCode"]["enum"] == sorted(COUNTRY_CODES)
    goods = schema["$defs"]["FormDGoodsItem"]["properties"]
    assert goods["hsCode"]["pattern"] == "^[0-9]{6,10}$"
    assert schema["properties"]["goods"]["maxItems"] == 999
    assert schema["properties"]["issuers"]["minItems"] == schema["properties"]["issuers"]["maxItems"] == 1
    assert "CountryCode" in json_schema("EPHYTO")["$defs"]
    assert json_schema("ECERT")["properties"]["content"]["type"] == "object"
    with pytest.raises(SchemaValidationError):
        json_schema("FORM_E")
