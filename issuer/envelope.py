"""The certnet envelope of a raw document: which authority issued it (its document store), under which
registry, on which network.

An issuing authority's system sends the certificate content; the service fills in `issuers`, `network` and
(if given) `documentType` from its deployment and the authority's store. Values the submitter did provide must
agree with them.
"""

from __future__ import annotations

from typing import Any

from certnet import CertnetError
from certnet.node.deploy import Deployment

IDENTITY_PROOF_TYPE = "CERTNET-REGISTRY"


class EnvelopeError(CertnetError, ValueError):
    pass


def issuer_block(deployment: Deployment, issuer_name: str, store: str) -> dict[str, Any]:
    """`issuers[0]`: the authority's name and document store, and the network's registry as identity proof."""
    return {
        "name": issuer_name,
        "documentStore": store,
        "identityProof": {"type": IDENTITY_PROOF_TYPE, "location": deployment.issuer_registry},
    }


def network_block(deployment: Deployment) -> dict[str, Any]:
    return {"chain": "ETH", "chainId": str(deployment.chain_id), "name": deployment.name}


def complete_envelope(
    doc: dict[str, Any], deployment: Deployment, issuer_name: str, store: str, document_type: str | None = None
) -> dict[str, Any]:
    """A copy of `doc` with the envelope filled in; refuses an envelope naming another store or network."""
    data = dict(doc)
    if document_type is not None:
        if data.setdefault("documentType", document_type) != document_type:
            raise EnvelopeError(f"documentType: {data['documentType']!r} but submitted as {document_type!r}")
    data.setdefault("issuers", [issuer_block(deployment, issuer_name, store)])
    data.setdefault("network", network_block(deployment))
    issuers = data["issuers"]
    if isinstance(issuers, list) and len(issuers) == 1 and isinstance(issuers[0], dict):
        named = str(issuers[0].get("documentStore", "")).lower()
        if named and named != store.lower():
            raise EnvelopeError(
                f"issuers.0.documentStore: {named} is not the issuing authority's document store {store}"
            )
    net = data["network"]
    if isinstance(net, dict) and net.get("chainId") is not None and str(net["chainId"]) != str(deployment.chain_id):
        raise EnvelopeError(f"network.chainId: {net.get('chainId')} is not this network's {deployment.chain_id}")
    return data
