"""Example values for the OpenAPI document, in one place.

They tell one story on the local demo network: the Vietnamese issuer (VCCI) issues a batch of two Form D
certificates for Thailand, Thai customs verifies and receives the first, the issuer revokes it to correct its data,
an auditor reads its history. The
wrapped documents in ``examples/form-d.json`` are real OpenAttestation v2 documents made by the project's own
code; ``python -m certnet.api.openapi_examples`` makes them again (deterministically) from
:mod:`certnet.issuer.samples`.
"""

from __future__ import annotations

import json
import random
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fastapi.openapi.models import Example

EXAMPLES_FILE = Path(__file__).with_name("examples") / "form-d.json"

# the local demo network (`certnet up`): deployment, members and registered issuers
CHAIN_ID = 31337
NETWORK_NAME = "certnet local"
ISSUER_REGISTRY = "0x0165878A594ca255338adfa4d48449f69242Eb8F"
CUSTOMS_RECORD = "0x2279B7A0a67DB372996a5FaB50D91eAA73d2eBe6"
VN_ISSUER = "0x33377bD49fAC938Af8B9aB86Ee4DE7518bdAdD02"
VN_STORE = "0xa16E02E87b7454126E5E10d957A927A7F5B5d2be"
VN_ISSUER_NAME = "Vietnam Chamber of Commerce and Industry (VCCI) HCMC"
TH_ISSUER = "0xE7a71a9594514226287da58C7446412df213bECA"
TH_ISSUER_NAME = "Department of Foreign Trade, Thailand"

_SAMPLE_SEEDS = (3, 4)  # two VN -> TH Form Ds of June 2024, one goods line each
_SALT_SEED = 20240622


def make_batch() -> dict[str, Any]:
    """The example batch: raw Form Ds as an issuer submits them, and the same documents wrapped as the service
    anchors them (envelope filled in for the demo network, salts from a seeded generator)."""
    from certnet.issuer import samples
    from certnet.issuer.envelope import complete_envelope
    from certnet.node.deploy import Deployment
    from certnet.verifier.wrap import wrap_documents

    raw = []
    for seed in _SAMPLE_SEEDS:
        doc = samples.form_d(seed, issuingCountry="VN", importingCountry="TH", lines=1)
        del doc["issuers"], doc["network"]  # the service fills in its own envelope
        raw.append(doc)
    deployment = Deployment(
        chain_id=CHAIN_ID, issuer_registry=ISSUER_REGISTRY, customs_record=CUSTOMS_RECORD, block=8, name=NETWORK_NAME
    )
    rng = random.Random(_SALT_SEED)
    _, wrapped = wrap_documents(
        [complete_envelope(d, deployment, VN_ISSUER_NAME, VN_STORE) for d in raw],
        uuid_factory=lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
    )
    return {"raw": raw, "wrapped": wrapped}


_BATCH: dict[str, Any] = (
    json.loads(EXAMPLES_FILE.read_text(encoding="utf-8"))
    if EXAMPLES_FILE.is_file() and __name__ != "__main__"
    else make_batch()
)
RAW_FORM_DS: list[Any] = _BATCH["raw"]  # (Any: also a JSON value in json_schema_extra)
WRAPPED: list[Any] = _BATCH["wrapped"]  # (Any: also a JSON value in json_schema_extra)

REFERENCE: str = RAW_FORM_DS[0]["referenceNumber"]
REFERENCE_2: str = RAW_FORM_DS[1]["referenceNumber"]
TARGET_HASH: str = WRAPPED[0]["signature"]["targetHash"]
TARGET_HASH_2: str = WRAPPED[1]["signature"]["targetHash"]
MERKLE_ROOT: str = WRAPPED[0]["signature"]["merkleRoot"]
PROOF: list[str] = WRAPPED[0]["signature"]["proof"]

ANCHOR_TX = "0x6c6f681bb29d1151713c2641c7615bd451a0199bd33614be2a5a72c6fcb42edc"
ANCHOR_BLOCK = 11
ANCHOR_BLOCK_HASH = "0x4db96a563a156c41a0a9103fc548556d7e99b5ab3da9d589fb0e13b538232273"
ANCHORED_AT = 1719026045  # 2024-06-22 03:14:05 UTC
ANCHORED_AT_UTC = "2024-06-22 03:14:05 UTC"
HEAD_BLOCK = 13
HEAD_BLOCK_HASH = "0x9f9c0e743eebb6cf82b8640a0046111c028a741425feda31545572a936ae427b"
REVOKE_TX = "0xd03b7b95d2456991b8f027f813480347877a9a4bf63c335bf7059d6f29c2d40d"
REVOKE_BLOCK = 14
REVOKED_AT = 1719216000  # 2024-06-24 08:00:00 UTC
REVOKED_AT_UTC = "2024-06-24 08:00:00 UTC"

# ------------------------------------------------------------------ issuers

DOCUMENT_SUBMITTED: dict[str, Any] = {
    "id": 42,
    "referenceNumber": REFERENCE,
    "documentType": "FORM_D",
    "state": "SUBMITTED",
    "targetHash": None,
    "merkleRoot": None,
    "batchId": None,
    "transactionHash": None,
    "blockNumber": None,
    "wrapped": None,
}
DOCUMENT_ANCHORED: dict[str, Any] = {
    "id": 42,
    "referenceNumber": REFERENCE,
    "documentType": "FORM_D",
    "state": "ANCHORED",
    "targetHash": TARGET_HASH,
    "merkleRoot": MERKLE_ROOT,
    "batchId": 7,
    "transactionHash": ANCHOR_TX,
    "blockNumber": ANCHOR_BLOCK,
    "wrapped": WRAPPED[0],
}
SUBMIT_RESPONSE: dict[str, Any] = {
    "documents": [DOCUMENT_SUBMITTED, {**DOCUMENT_SUBMITTED, "id": 43, "referenceNumber": REFERENCE_2}]
}
DOCUMENT_LIST: list[dict[str, Any]] = [  # listings leave out the wrapped document and the transaction
    {
        **DOCUMENT_ANCHORED,
        "id": 43,
        "referenceNumber": REFERENCE_2,
        "targetHash": TARGET_HASH_2,
        "transactionHash": None,
        "blockNumber": None,
        "wrapped": None,
    },
    {**DOCUMENT_ANCHORED, "transactionHash": None, "blockNumber": None, "wrapped": None},
]
BATCH: dict[str, Any] = {
    "id": 7,
    "merkleRoot": MERKLE_ROOT,
    "documentType": "FORM_D",
    "count": 2,
    "state": "ANCHORED",
    "transactionHash": ANCHOR_TX,
    "blockNumber": ANCHOR_BLOCK,
    "anchoredAt": ANCHORED_AT,
}
BATCH_EVENT: dict[str, Any] = {
    "event": "ANCHORED",
    "at": "2024-06-22T03:14:07+00:00",
    "blockNumber": ANCHOR_BLOCK,
    "blockHash": ANCHOR_BLOCK_HASH,
    "transactionHash": ANCHOR_TX,
    "detail": None,
}
ACTION_PENDING: dict[str, Any] = {
    "id": 3,
    "kind": "REVOKE_DOCUMENT",
    "state": "PENDING",
    "transactionHash": None,
    "blockNumber": None,
    "error": None,
}
ACTION_DONE: dict[str, Any] = {
    "id": 3,
    "kind": "REVOKE_DOCUMENT",
    "state": "DONE",
    "transactionHash": REVOKE_TX,
    "blockNumber": REVOKE_BLOCK,
    "error": None,
}

# ------------------------------------------------------------------ verification

_DOCUMENT_SUMMARY: dict[str, Any] = {
    "targetHash": TARGET_HASH,
    "merkleRoot": MERKLE_ROOT,
    "referenceNumber": REFERENCE,
    "documentType": "FORM_D",
    "issuingCountry": "VN",
    "documentStore": VN_STORE,
    "chainId": str(CHAIN_ID),
}
_STATUS_DETAILS: dict[str, Any] = {
    "documentStore": VN_STORE,
    "chainId": CHAIN_ID,
    "block": HEAD_BLOCK,
    "anchoredBlock": ANCHOR_BLOCK,
    "anchoredAt": ANCHORED_AT,
    "anchoredAtUtc": ANCHORED_AT_UTC,
    "batchSize": 2,
}
CHECK_INTEGRITY: dict[str, Any] = {
    "type": "DOCUMENT_INTEGRITY",
    "status": "VALID",
    "code": "INTACT",
    "message": "The document has not been altered since it was issued.",
    "details": {"targetHash": TARGET_HASH, "merkleRoot": MERKLE_ROOT},
}
CHECK_ISSUED: dict[str, Any] = {
    "type": "DOCUMENT_STATUS",
    "status": "VALID",
    "code": "ISSUED",
    "message": f"Issued on {NETWORK_NAME} in block {ANCHOR_BLOCK} on {ANCHORED_AT_UTC}; not revoked "
    f"(checked at block {HEAD_BLOCK}).",
    "details": _STATUS_DETAILS,
}
CHECK_ISSUER: dict[str, Any] = {
    "type": "ISSUER_IDENTITY",
    "status": "VALID",
    "code": "AUTHORISED_ISSUER",
    "message": f"Issued by {VN_ISSUER_NAME} (VN), authorised for this document type at the time of issue.",
    "details": {
        "issuer": VN_ISSUER,
        "documentStore": VN_STORE,
        "country": "VN",
        "name": VN_ISSUER_NAME,
        "anchoredType": 1,
        "anchoredAtUtc": ANCHORED_AT_UTC,
    },
}
_REVOCATION: dict[str, Any] = {
    "reason": "DATA_CORRECTED",
    "reasonCode": 2,
    "reasonText": "its data had to be corrected",
    "revokedAt": REVOKED_AT,
    "revokedAtUtc": REVOKED_AT_UTC,
    "block": REVOKE_BLOCK,
    "wholeBatch": False,
}
CHECK_REVOKED: dict[str, Any] = {
    "type": "DOCUMENT_STATUS",
    "status": "INVALID",
    "code": "REVOKED",
    "message": f"The issuing authority revoked this document individually on {REVOKED_AT_UTC} (block "
    f"{REVOKE_BLOCK}) because its data had to be corrected.",
    "details": {**_STATUS_DETAILS, **_REVOCATION},
}  # the revocation's block replaces the block read
VERDICT_VALID: dict[str, Any] = {
    "status": "VALID",
    "message": f"Certificate {REFERENCE} is valid: intact, issued by {VN_ISSUER_NAME} (VN), not revoked.",
    "checks": [CHECK_INTEGRITY, CHECK_ISSUED, CHECK_ISSUER],
    "chainId": CHAIN_ID,
    "blockNumber": HEAD_BLOCK,
    "blockHash": HEAD_BLOCK_HASH,
    "source": "chain",
    "document": _DOCUMENT_SUMMARY,
    "issuer": {"address": VN_ISSUER, "store": VN_STORE, "country": "VN", "name": VN_ISSUER_NAME},
    "revocation": None,
    "successor": None,
}
VERDICT_REVOKED: dict[str, Any] = {
    **VERDICT_VALID,
    "status": "REVOKED",
    "message": f"Certificate {REFERENCE} was revoked by its issuer on {REVOKED_AT_UTC}: its data had to be "
    "corrected. Do not accept it.",
    "checks": [CHECK_INTEGRITY, CHECK_REVOKED, CHECK_ISSUER],
    "blockNumber": REVOKE_BLOCK + 1,
    "blockHash": "0xa42f59300bbea0b02896a144525c0a65e2314c5b06492f14f22bb70553033075",
    "revocation": _REVOCATION,
}
BULK_VERDICT: dict[str, Any] = {
    "results": [
        {**VERDICT_VALID, "source": "index"},
        {
            **VERDICT_VALID,
            "source": "index",
            "message": f"Certificate {REFERENCE_2} is valid: intact, issued by {VN_ISSUER_NAME} (VN), not revoked.",
            "checks": [
                {**CHECK_INTEGRITY, "details": {"targetHash": TARGET_HASH_2, "merkleRoot": MERKLE_ROOT}},
                CHECK_ISSUED,
                CHECK_ISSUER,
            ],
            "document": {**_DOCUMENT_SUMMARY, "targetHash": TARGET_HASH_2, "referenceNumber": REFERENCE_2},
        },
    ],
    "counts": {"VALID": 2},
}

# ------------------------------------------------------------------ customs

NSW_REFERENCE = "TH-NSW-2024-000123"
INBOX_ENTRY: dict[str, Any] = {
    "id": 5,
    "issuingCountry": "VN",
    "referenceNumber": REFERENCE,
    "targetHash": TARGET_HASH,
    "nswReference": NSW_REFERENCE,
    "statusOnArrival": "VALID",
    "receivedAt": "2024-06-23T02:41:17.503912Z",
    "verdict": VERDICT_VALID,
}
INBOX_LIST: list[dict[str, Any]] = [{**INBOX_ENTRY, "verdict": None}]
WEBHOOK_URL = "https://nsw.customs.example/certnet/notices"
SUBSCRIPTION_CREATED: dict[str, Any] = {
    "id": 1,
    "url": WEBHOOK_URL,
    "secret": "bcf943da39df4ac2f9b390003235d9701dc813209153e929964d0956c244e054",
}
SUBSCRIPTION_LIST: list[dict[str, Any]] = [{"id": 1, "url": WEBHOOK_URL, "secret": None}]
_NOTICE = {
    "event": "REVOKED",
    "root": MERKLE_ROOT,
    "document": TARGET_HASH,
    "reason": "DATA_CORRECTED",
    "block": REVOKE_BLOCK,
    "tx": REVOKE_TX,
    "targetHash": TARGET_HASH,
    "referenceNumber": REFERENCE,
    "wholeBatch": False,
}
EVENT_STREAM = f": connected\n\nid: 41\nevent: REVOKED\ndata: {json.dumps(_NOTICE)}\n\n: keep-alive\n\n"

# ------------------------------------------------------------------ registry

_GENESIS_TX = "0x4e1d0c4a9d2b3f1c7e5a6b8d9f0a1b2c3d4e5f60718293a4b5c6d7e8f9012345"
VN_ADMIN = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
MEMBERS: list[dict[str, Any]] = [
    {
        "country": "VN",
        "active": True,
        "adminCount": 1,
        "joinedAt": 1718928000,
        "admins": [VN_ADMIN],
        "removedAt": None,
        "changes": [
            {"time": 1718928000, "added": True, "proposalId": 0, "blockNumber": 1, "transactionHash": _GENESIS_TX}
        ],
        "historyBlock": HEAD_BLOCK,
    },
    {
        "country": "SG",
        "active": True,
        "adminCount": 1,
        "joinedAt": 1718931600,
        "admins": ["0x04112d047B3E53563F8917d40FbCbDc1027f8D2a"],
        "removedAt": None,
        "changes": [
            {
                "time": 1718931600,
                "added": True,
                "proposalId": 1,
                "blockNumber": 9,
                "transactionHash": "0x2f6a7d0c1e9b8a4f3d5c6b7a8e9f0d1c2b3a4e5f6d7c8b9a0e1f2d3c4b5a6978",
            }
        ],
        "historyBlock": HEAD_BLOCK,
    },
]
_REGISTERED_TX = "0x9c1f5e2d3b4a5968778695a4b3c2d1e0f9e8d7c6b5a4938271605f4e3d2c1b0a"
_SUSPENDED_TX = "0x3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071829"
_REINSTATED_TX = "0x5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c"
KEY: dict[str, Any] = {
    "account": VN_ISSUER,
    "store": VN_STORE,
    "status": "ACTIVE",
    "validFrom": 1718928000,
    "validUntil": 1099511627775,
    "compromisedSince": None,
    "successor": None,
    "predecessor": None,
    "registeredAt": 1718928012,
    "statusHistory": [
        {"time": 1718928012, "status": "ACTIVE", "blockNumber": 2, "transactionHash": _REGISTERED_TX},
        {"time": 1719014400, "status": "SUSPENDED", "blockNumber": 5, "transactionHash": _SUSPENDED_TX},
        {"time": 1719100800, "status": "ACTIVE", "blockNumber": 6, "transactionHash": _REINSTATED_TX},
    ],
    "historyBlock": HEAD_BLOCK,
}
AUTHORITY: dict[str, Any] = {
    "store": VN_STORE,
    "country": "VN",
    "name": VN_ISSUER_NAME,
    "documentTypes": ["ECERT", "FORM_D"],
    "validFrom": 1718928000,
    "validUntil": 1099511627775,
    "keys": [KEY],
    "historyBlock": HEAD_BLOCK,
}
TX: dict[str, Any] = {
    "transactionHash": "0x8a9ba356b67201bdb2342c83ab97c9504a4c9804e97ec9a71d93afdb4ccdeb24",
    "blockNumber": 15,
    "result": {},
}
TX_AUTHORITY: dict[str, Any] = {
    "transactionHash": "0x5c2b1f0e9d8c7b6a5948372615f4e3d2c1b0a9f8e7d6c5b4a3928170f6e5d4c3",
    "blockNumber": 15,
    "result": {"store": "0x8dAF17A20c9DBA35f005b6324F493785D239719d"},
}
TX_PROPOSAL: dict[str, Any] = {
    "transactionHash": "0x1e2d3c4b5a69788796a5b4c3d2e1f0091827364554637281900a1b2c3d4e5f60",
    "blockNumber": 16,
    "result": {"proposalId": 2},
}

# ------------------------------------------------------------------ audit

HISTORY: dict[str, Any] = {
    "hash": TARGET_HASH,
    "indexedBlock": HEAD_BLOCK + 2,
    "proof": {"targetHash": TARGET_HASH, "merkleRoot": MERKLE_ROOT, "proof": PROOF},
    "events": [
        {
            "kind": "ANCHORED",
            "blockNumber": ANCHOR_BLOCK,
            "blockHash": ANCHOR_BLOCK_HASH,
            "transactionHash": ANCHOR_TX,
            "logIndex": 1,
            "time": ANCHORED_AT,
            "country": "VN",
            "root": MERKLE_ROOT,
            "document": None,
            "actor": VN_ISSUER,
            "documentType": 1,
            "documentCount": 2,
        },
        {
            "kind": "REVOKED",
            "blockNumber": REVOKE_BLOCK,
            "blockHash": "0x608d4609555ac32efbb9c2c6e9c31ca53fa6ff5f071cb3586849cfa7d9414369",
            "transactionHash": REVOKE_TX,
            "logIndex": 0,
            "time": REVOKED_AT,
            "country": "VN",
            "root": MERKLE_ROOT,
            "document": TARGET_HASH,
            "actor": VN_ISSUER,
            "scope": "DOCUMENT",
            "reason": 2,
            "reasonName": "DATA_CORRECTED",
        },
    ],
}
_EXPORT_LINES: list[dict[str, Any]] = [
    {
        "type": "header",
        "format": "certnet-audit-export/1",
        "chainId": CHAIN_ID,
        "network": NETWORK_NAME,
        "issuerRegistry": ISSUER_REGISTRY,
        "country": "VN",
        "from": 1717200000,
        "to": 1719792000,
        "indexedBlock": HEAD_BLOCK + 2,
        "events": 2,
        "documents": 2,
    },
    {"type": "event", **HISTORY["events"][0]},
    {"type": "event", **HISTORY["events"][1]},
    {"type": "document", "targetHash": TARGET_HASH, "merkleRoot": MERKLE_ROOT, "proof": PROOF},
    {
        "type": "document",
        "targetHash": TARGET_HASH_2,
        "merkleRoot": MERKLE_ROOT,
        "proof": WRAPPED[1]["signature"]["proof"],
    },
]
AUDIT_EXPORT = "".join(json.dumps(line, separators=(",", ":")) + "\n" for line in _EXPORT_LINES)

# ------------------------------------------------------------------ operations

HEALTH: dict[str, Any] = {"status": "ok"}
READY: dict[str, Any] = {
    "status": "ready",
    "checks": {
        "chain": {"ok": True, "head": HEAD_BLOCK, "chainId": CHAIN_ID},
        "database": {"ok": True},
        "index": {"ok": True, "lagBlocks": 0, "maxLag": 20},
    },
}
NOT_READY: dict[str, Any] = {
    "status": "not ready",
    "checks": {
        "chain": {"ok": False, "error": "node unreachable: ConnectionError"},
        "database": {"ok": True},
        "index": {"ok": False, "error": "ConnectionError"},
    },
}
METRICS = """\
# HELP certnet_http_requests_total HTTP requests
# TYPE certnet_http_requests_total counter
certnet_http_requests_total{method="POST",route="/v1/verify",status="200"} 1284.0
# HELP certnet_verdicts_total Verification verdicts
# TYPE certnet_verdicts_total counter
certnet_verdicts_total{status="VALID",mode="chain"} 1279.0
certnet_verdicts_total{status="REVOKED",mode="chain"} 5.0
# HELP certnet_index_lag_blocks Blocks between the chain head and the index
# TYPE certnet_index_lag_blocks gauge
certnet_index_lag_blocks 0.0
# HELP certnet_outbox_pending_documents Accepted documents not anchored yet
# TYPE certnet_outbox_pending_documents gauge
certnet_outbox_pending_documents 0.0
"""

# ------------------------------------------------------------------ checkpoint bundles (certnet.verifier.bundle)

#: A bundle as GET/POST /v1/bundles gives it (headers and trie nodes shortened: a real one holds a few dozen).
BUNDLE: dict[str, Any] = {
    "format": "certnet-bundle",
    "version": 1,
    "network": {"chainId": 8836, "genesisHash": "0x" + "5e" * 32},
    "engine": "clique",
    "issuerRegistry": ISSUER_REGISTRY,
    "block": 1042,
    "headers": ["0xf9025ea0" + "11" * 32],
    "nodes": ["0xf871a0" + "22" * 32],
    "documents": [{"store": VN_STORE, "root": "0x" + MERKLE_ROOT, "document": "0x" + TARGET_HASH}],
    "createdAt": 1719026400,
}


# ------------------------------------------------------------------ errors (application/problem+json)


def problem(status: int, title: str, code: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    """A problem document as :func:`certnet.api.problems.problem_response` writes it."""
    return {
        "type": f"https://certnet.example/problems/{code.lower().replace('_', '-')}",
        "title": title,
        "status": status,
        "code": code,
        "detail": detail,
        "instance": instance,
        **extra,
    }


_CONFLICT = (
    f"reference number {REFERENCE!r} was already submitted by this issuer with different content (use "
    "supersession to replace a certificate)"
)
PROBLEMS: dict[int, dict[str, Any]] = {
    400: problem(
        400,
        "Bad request",
        "MALFORMED_JSON",
        "the body is not valid JSON",
        "/v1/verify",
        errors=[{"field": "1", "message": "JSON decode error"}],
    ),
    401: problem(401, "Unauthorized", "MISSING_API_KEY", "send an API key: Authorization: Bearer <key>", "/v1/verify"),
    403: problem(
        403, "Forbidden", "FORBIDDEN_ROLE", "this endpoint is for customs keys; this key has role issuer", "/v1/inbox"
    ),
    404: problem(404, "Not found", "DOCUMENT_NOT_FOUND", "no document 4242 of this issuer", "/v1/documents/4242"),
    409: problem(
        409,
        "Conflict",
        "REFERENCE_CONFLICT",
        f"documents.0.referenceNumber: {_CONFLICT}",
        "/v1/documents",
        errors=[{"field": "documents.0.referenceNumber", "message": _CONFLICT}],
    ),
    413: problem(
        413, "Payload too large", "TOO_MANY_DOCUMENTS", "1500 documents; at most 1000 per request", "/v1/verify/bulk"
    ),
    422: problem(
        422,
        "Unprocessable content",
        "INVALID_REQUEST",
        "successorId: Input should be greater than or equal to 1",
        "/v1/documents/42/supersede",
        errors=[{"field": "successorId", "message": "Input should be greater than or equal to 1"}],
    ),
    429: problem(
        429, "Too many requests", "RATE_LIMITED", "too many requests for this key; retry in 0.35s", "/v1/verify"
    ),
    503: problem(
        503,
        "Service unavailable",
        "NO_ADMIN_KEY",
        "this service holds no admin keystore for MY",
        "/v1/admin/authorities",
    ),
}


# ------------------------------------------------------------------ QR capability links

LINK_TOKEN = "q3Jx0V8mX2bqRjYv4tLw1A"
LINK_CREATED: dict[str, Any] = {
    "id": 7,
    "targetHash": TARGET_HASH,
    "createdAt": "2024-06-22T03:20:41Z",
    "revokedAt": None,
    "url": f"https://certnet.moit.gov.vn/portal/q/{LINK_TOKEN}#3q2-7wAAAAD8l9Jt0K6TlX2bq3h0y0ZbQy1k9mV2Lx8",
}
LINK_LIST: list[dict[str, Any]] = [
    {**LINK_CREATED, "url": None},
    {**LINK_CREATED, "id": 8, "url": None, "createdAt": "2024-06-23T08:02:11Z", "revokedAt": "2024-06-24T08:00:00Z"},
]


def param(value: Any, summary: str) -> dict[str, Example]:
    """``openapi_examples`` of a path or query parameter: one named example."""
    return {"example": {"summary": summary, "value": value}}


def json_example(value: Any, description: str = "Successful Response") -> dict[str, Any]:
    """An entry of a route's ``responses``: a JSON answer with an example."""
    return {"description": description, "content": {"application/json": {"example": value}}}


def text_example(media_type: str, value: str, description: str) -> dict[str, Any]:
    """An entry of a route's ``responses``: a text answer (NDJSON, Prometheus, SSE) with an example."""
    return {"description": description, "content": {media_type: {"schema": {"type": "string"}, "example": value}}}


if __name__ == "__main__":  # rewrite examples/form-d.json
    EXAMPLES_FILE.write_text(json.dumps(make_batch(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {EXAMPLES_FILE}")
