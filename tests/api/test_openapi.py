"""The OpenAPI document is complete with examples: every operation says who may call it; every parameter, request
body, successful response, problem response and schema has an example, and every example is valid against its own
schema. The document is the one a started test service serves; an endpoint added without examples fails here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest

from certnet.api import openapi_examples as ex
from tests.conftest import make_net
from tests.support.api_fixtures import Api, start_api, stop_api

pytestmark = pytest.mark.integration  # real engines, databases or processes (see tests/conftest.py)

PROBLEM_JSON = "application/problem+json"
#: how an operation's description starts: who may call it
WHO = ("Anyone may call it", "Any key", "For issuer", "For customs", "For auditor", "For admin")


@pytest.fixture(scope="module")
def api(anvil_engine, tmp_path_factory) -> Iterator[Api]:
    a, server, thread = start_api(make_net(anvil_engine), tmp_path_factory.mktemp("openapi"), start_workers=False)
    yield a
    stop_api(server, thread)


@pytest.fixture(scope="module")
def spec(api: Api) -> dict[str, Any]:
    r = httpx.get(api.url + "/v1/openapi.json", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(\"GET /v1/path\", operation) for every operation of the document."""
    for path, item in spec["paths"].items():
        for method, op in item.items():
            yield f"{method.upper()} {path}", op


def resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].removeprefix("#/components/schemas/")]
    return schema


def examples_of(spec: dict[str, Any], holder: dict[str, Any]) -> list[Any]:
    """The examples of a parameter or a media type: its own (`example`, `examples`), else its schema's."""
    found = [holder["example"]] if "example" in holder else []
    found += [e["value"] for e in (holder.get("examples") or {}).values()]
    return found or list(resolve(spec, holder.get("schema", {})).get("examples", []))


def invalid(spec: dict[str, Any], schema: dict[str, Any], value: Any) -> list[str]:
    """Why `value` does not validate against `schema` (JSON Schema 2020-12, $refs into the document's components)."""
    root = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": spec["components"], **schema}
    validator = jsonschema_rs.Draft202012Validator(root, validate_formats=True)
    return [e.message for e in validator.iter_errors(value)]


def check(spec: dict[str, Any], where: str, holder: dict[str, Any], problems: list[str]) -> None:
    """Note in `problems` a holder (parameter or media type) without examples, or with an invalid one."""
    found = examples_of(spec, holder)
    if not found:
        problems.append(f"{where}: no example")
    for value in found:
        for error in invalid(spec, holder.get("schema", {}), value):
            problems.append(f"{where}: example invalid: {error}")


def test_every_operation_says_who_may_call_it_and_what_it_does(spec):
    missing = [
        name for name, op in operations(spec) if not op.get("summary") or not op.get("description", "").startswith(WHO)
    ]
    assert missing == []


def test_every_parameter_has_a_description_and_a_valid_example(spec):
    problems: list[str] = []
    for name, op in operations(spec):
        for p in op.get("parameters", []):
            where = f"{name} {p['in']} parameter {p['name']}"
            if not p.get("description"):
                problems.append(f"{where}: no description")
            check(spec, where, p, problems)
    assert problems == []


def test_every_request_body_has_a_valid_example(spec):
    problems: list[str] = []
    for name, op in operations(spec):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            check(spec, f"{name} request body {media_type}", media, problems)
    assert problems == []


def test_every_successful_response_with_a_body_has_a_valid_example(spec):
    problems: list[str] = []
    bodies = 0
    for name, op in operations(spec):
        for status, response in op["responses"].items():
            if status.startswith("2"):
                for media_type, media in response.get("content", {}).items():
                    bodies += 1
                    check(spec, f"{name} {status} {media_type}", media, problems)
    assert problems == [] and bodies >= 20


def test_every_problem_response_has_a_valid_example_of_its_status(spec):
    problems: list[str] = []
    for name, op in operations(spec):
        for status, response in op["responses"].items():
            media = response.get("content", {}).get(PROBLEM_JSON)
            if media is None:
                continue
            where = f"{name} {status} {PROBLEM_JSON}"
            check(spec, where, media, problems)
            problems += [
                f"{where}: example of status {e.get('status')}"
                for e in examples_of(spec, media)
                if e.get("status") != int(status)
            ]
    assert problems == []
    errors = spec["paths"]["/v1/verify"]["post"]["responses"]
    assert {"400", "401", "403", "422", "429"} <= set(errors)


def test_every_schema_has_valid_examples(spec):
    problems: list[str] = []
    for name, schema in spec["components"]["schemas"].items():
        if not schema.get("examples"):
            problems.append(f"{name}: no examples")
        for value in schema.get("examples", []):
            problems += [
                f"{name}: example invalid: {e}" for e in invalid(spec, {"$ref": f"#/components/schemas/{name}"}, value)
            ]
    assert problems == []


def test_examples_keep_their_nulls(spec):
    """FastAPI drops nulls from the document; the app puts the examples back as written."""
    batch = spec["paths"]["/v1/batches"]["get"]["responses"]["200"]["content"]["application/json"]["example"]
    assert batch == [ex.BATCH]
    assert spec["components"]["schemas"]["VerdictOut"]["examples"][0]["revocation"] is None


def test_the_example_documents_are_real_wrapped_form_ds():
    from certnet.issuer.schemas import parse_document
    from certnet.verifier.integrity import check_integrity
    from certnet.verifier.salting import unsalt_data

    assert ex.make_batch() == json.loads(ex.EXAMPLES_FILE.read_text(encoding="utf-8")), (
        "examples/form-d.json is not what `python -m certnet.api.openapi_examples` makes"
    )
    for raw, wrapped in zip(ex.RAW_FORM_DS, ex.WRAPPED, strict=True):
        assert check_integrity(wrapped).ok
        data = unsalt_data(wrapped["data"])
        parse_document(data)
        assert {k: v for k, v in data.items() if k not in ("issuers", "network")} == raw
        assert data["issuers"][0]["documentStore"] == ex.VN_STORE


def test_the_service_accepts_the_request_examples(api, spec):
    submit = spec["components"]["schemas"]["SubmitRequest"]["examples"][0]
    verify = spec["components"]["schemas"]["VerifyRequest"]["examples"][0]
    with api.client("issuer_vn") as c:
        r = c.post("/v1/documents", json=submit)
        assert r.status_code == 202, r.text
        assert [d["referenceNumber"] for d in r.json()["documents"]] == [ex.REFERENCE, ex.REFERENCE_2]
    with api.client("customs_th") as c:
        r = c.post("/v1/verify", json=verify)  # a document of the demo network: not this test's
        assert r.status_code == 200, r.text
        assert r.json()["document"]["targetHash"] == ex.TARGET_HASH
