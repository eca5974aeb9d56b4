"""Shared test helpers (portal)."""

from __future__ import annotations

from certnet.issuer import samples
from certnet.issuer.envelope import network_block
from tests.support.api_fixtures import wait_anchored


def raw_docs(portal, n: int, seed: int, doc_type: str = "FORM_D", country: str = "VN") -> list[dict]:
    docs = list(
        samples.generate(n, doc_type, seed=seed, network=network_block(portal.net.deployment), issuing_country=country)
    )
    for d in docs:
        d.pop("issuers")
    return docs


def issue(portal, docs: list[dict], who: str = "issuer_vn") -> list[dict]:
    with portal.client(who) as c:
        r = c.post("/v1/documents", json={"documents": docs})
        assert r.status_code == 202, r.text
        ids = [d["id"] for d in r.json()["documents"]]
    return wait_anchored(portal, who, ids)
