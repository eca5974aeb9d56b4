"""Shared test helpers (customs_record)."""

from __future__ import annotations

import random
from typing import Any

from certnet.issuer.envelope import complete_envelope
from certnet.issuer.samples import form_d
from certnet.node.contracts import (
    CustomsRecordClient,
)

#: seeds of the documents made here and in the tests (unique across the session)
_seeds = iter(range(10_000, 10**9))


def raw(net, importing: str = "TH", authority: str = "vn", issuing: str = "VN") -> dict[str, Any]:
    """A raw Form D naming `authority`'s store, from `issuing` to `importing`."""
    doc = form_d(random.Random(next(_seeds)), issuingCountry=issuing, importingCountry=importing, lines=1)
    del doc["issuers"], doc["network"]
    return complete_envelope(doc, net.deployment, authority, net.stores[authority], "FORM_D")


def cert(w: dict[str, Any]) -> tuple[str, str, str, list[str]]:
    """(store, root, targetHash, proof) of a wrapped document."""
    sig = w["signature"]
    store = w["data"]["issuers"][0]["documentStore"].split(":", 2)[-1]  # salted: "<uuid>:string:<address>"
    return store, sig["merkleRoot"], sig["targetHash"], sig["proof"]


def customs(net, country: str, name: str | None = None) -> str:
    """A new customs key of `country`, added by its admin; returns the actor's name."""
    name = name or f"{country.lower()}_customs"
    if name not in net.actors:
        net.new_actor(name)
        net.registry(f"{country.lower()}_admin").add_customs_key(net.addr(name))
    return name


def record(net, who: str | None = None, address: str | None = None) -> CustomsRecordClient:
    return CustomsRecordClient(
        net.engine.w3, address or net.deployment.customs_record, net.actors[who] if who else None
    )
