"""A certificate's history: its anchoring, revocations and supersessions, each with block, time and
transaction and the document store that emitted it. Read from the service's index when it offers
`history(hash, root, store)` and agrees with what the chain says now; otherwise straight from the document
stores' events (RootAnchored, RevocationRecorded, DocumentSuperseded), filtered by their indexed topics and kept
only from stores the IssuerRegistry created, from the deployment block up to the confirmed head.

Events are plain dicts shaped like the index's `ChainEvent.as_dict()`: kind (ANCHORED, REVOKED,
SUPERSEDED: this document was replaced, SUPERSEDES: this document replaces another), blockNumber,
blockHash, transactionHash, logIndex, time, country, store, root, document, actor, and per kind: documentType,
documentCount; scope, reason, reasonName; oldRoot, oldDocument, newStore, newRoot, newDocument. Hashes of
documents and roots are 64 hex digits without 0x; block and transaction hashes carry 0x.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from eth_utils import event_abi_to_log_topic
from web3 import Web3

from certnet import CertnetError
from certnet.node.contracts import DOCUMENT_TYPE_NAMES, REVOCATION_REASON_NAMES

log = logging.getLogger("certnet.portal")

TOPIC_CHUNK = 100  # values OR-ed in one topic position of one eth_getLogs call


class HistoryError(CertnetError, RuntimeError):
    """The chain could not be read."""


def _h(v: Any) -> str:
    """64 hex digits without 0x, lower case, from bytes or a (0x-)hex string."""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    s = str(v).lower()
    return s[2:] if s.startswith("0x") else s


def _0x(v: Any) -> str:
    if isinstance(v, (bytes, bytearray)):
        return "0x" + bytes(v).hex()
    s = str(v).lower()
    return s if s.startswith("0x") else "0x" + s


def _chunks(values: Sequence[str], size: int = TOPIC_CHUNK) -> Iterable[list[str]]:
    for i in range(0, len(values), size):
        yield list(values[i : i + size])


Pair = tuple  # (targetHash, merkleRoot) or (targetHash, merkleRoot, documentStore)


def _norm(pairs: Sequence[Pair]) -> list[tuple[str, str, str | None]]:
    out = []
    for p in pairs:
        store = p[2] if len(p) > 2 and p[2] else None
        out.append((_h(p[0]), _h(p[1]), store.lower() if store else None))
    return out


def chain_histories(service: Any, pairs: Sequence[Pair]) -> dict[str, list[dict[str, Any]]]:
    """targetHash -> its events, oldest first, for many (targetHash, merkleRoot[, store]) in a few calls. The logs
    are asked for by topic across the stores and kept only when a store the IssuerRegistry created emitted them
    (and, when the document's store is given, only that store's; a supersession also from the store that
    replaced it)."""
    from certnet.node.artifacts import load_artifact

    norm = _norm(pairs)
    out: dict[str, list[dict[str, Any]]] = {t: [] for t, _, _ in norm}
    if not norm:
        return out
    w3 = service.w3
    registry = service.deployment.issuer_registry_client(w3)
    contract = w3.eth.contract(abi=load_artifact("DocumentStore")["abi"])
    confirmations = getattr(service.settings, "confirmations", 0) or 0
    countries: dict[str, str | None] = {}

    def country_of(address: str) -> str | None:
        a = address.lower()
        if a not in countries:
            countries[a] = registry.country_of_store(Web3.to_checksum_address(a))
        return countries[a]

    try:
        head = max(0, w3.eth.block_number - confirmations)
        start = service.deployment.block
        roots = sorted({r for _, r, _ in norm})
        docs = sorted({t for t, _, _ in norm})
        by_root: dict[str, list[tuple[str, str | None]]] = {}
        for t, r, st in norm:
            by_root.setdefault(r, []).append((t, st))
        stores = {t: st for t, _, st in norm}

        def logs(event: str, position: int, values: list[str]) -> list[Any]:
            ev = getattr(contract.events, event)()
            topic0 = "0x" + event_abi_to_log_topic(ev.abi).hex()
            found = []
            for chunk in _chunks(values):
                topics: list[Any] = [topic0] + [None] * (position - 1) + [["0x" + v for v in chunk]]
                for raw_log in w3.eth.get_logs({"fromBlock": start, "toBlock": head, "topics": topics}):
                    if country_of(raw_log["address"]) is not None:  # a registered store, nothing else
                        found.append(ev.process_log(raw_log))
            return found

        raw: list[tuple[str, Any]] = []  # (targetHash, log) with the event's kind decided below
        for e in logs("RootAnchored", 1, roots):
            for t, st in by_root.get(_h(e["args"]["root"]), []):
                if st is None or e["address"].lower() == st:
                    raw.append((t, e))
        for e in logs("RevocationRecorded", 1, roots):
            root, key = _h(e["args"]["root"]), _h(e["args"]["document"])
            for t, st in by_root.get(root, []):
                if key in (t, root) and (st is None or e["address"].lower() == st):
                    raw.append((t, e))
        for arg, position in (("oldDocument", 2), ("newDocument", 3)):
            for e in logs("DocumentSuperseded", position, docs):
                t = _h(e["args"][arg])
                st = stores.get(t)
                side = e["address"] if arg == "oldDocument" else e["args"]["newStore"]
                if t in out and (st is None or side.lower() == st):
                    raw.append((t, e))
        times: dict[int, int] = {}
        for n in sorted({e["blockNumber"] for _, e in raw}):
            times[n] = int(w3.eth.get_block(n)["timestamp"])
    except Exception as exc:
        raise HistoryError(f"the chain's events could not be read: {exc}") from None
    for t, e in raw:
        out[t].extend(_events(t, e, times[e["blockNumber"]], countries.get(e["address"].lower())))
    for t in out:
        out[t].sort(key=lambda ev: (ev["blockNumber"], ev["logIndex"], ev["kind"]))
        out[t] = _dedupe(out[t])
    return out


def _events(target: str, e: Any, time: int, country: str | None) -> list[dict[str, Any]]:
    a = e["args"]
    store = Web3.to_checksum_address(e["address"])
    where = {
        "blockNumber": e["blockNumber"],
        "blockHash": _0x(e["blockHash"]),
        "transactionHash": _0x(e["transactionHash"]),
        "logIndex": e["logIndex"],
        "time": time,
        "country": country,
        "store": store,
    }
    name = e["event"]
    if name == "RootAnchored":
        return [
            {
                "kind": "ANCHORED",
                **where,
                "root": _h(a["root"]),
                "document": None,
                "actor": a["key"],
                "documentType": a["documentType"],
                "documentTypeName": DOCUMENT_TYPE_NAMES.get(a["documentType"]),
                "documentCount": a["documentCount"],
            }
        ]
    if name == "RevocationRecorded":
        root, key = _h(a["root"]), _h(a["document"])
        whole = key == root
        return [
            {
                "kind": "REVOKED",
                **where,
                "root": root,
                "document": None if whole else key,
                "actor": a["by"],
                "scope": "ROOT" if whole else "DOCUMENT",
                "reason": a["reason"],
                "reasonName": REVOCATION_REASON_NAMES.get(a["reason"], str(a["reason"])),
            }
        ]
    details = {
        "oldRoot": _h(a["oldRoot"]),
        "oldDocument": _h(a["oldDocument"]),
        "newStore": a["newStore"],
        "newRoot": _h(a["newRoot"]),
        "newDocument": _h(a["newDocument"]),
    }
    out = []
    if details["oldDocument"] == target:
        out.append(
            {
                "kind": "SUPERSEDED",
                **where,
                "root": details["oldRoot"],
                "document": details["oldDocument"],
                "actor": a["by"],
                **details,
            }
        )
    if details["newDocument"] == target:
        out.append(
            {
                "kind": "SUPERSEDES",
                **where,
                "root": details["newRoot"],
                "document": details["newDocument"],
                "actor": a["by"],
                **details,
            }
        )
    return out


def _dedupe(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: set[tuple[str, str, int]] = set()
    out = []
    for ev in events:
        k = (ev["kind"], ev["transactionHash"], ev["logIndex"])
        if k not in seen:
            seen.add(k)
            out.append(ev)
    return out


def _index_history(index_source: Any, target: str, root: str, store: str | None = None) -> list[dict[str, Any]]:
    """The document's events from the index: through `index_source.index.history(hash, root, store)` when the
    source exposes the index's query object, else `index_source.history(hash)` for the document and for
    its root, keeping what concerns this document."""
    inner = getattr(index_source, "index", None)
    if inner is not None and callable(getattr(inner, "history", None)):
        found = list(inner.history(target, root, store))
    else:
        found = list(index_source.history(target)) + list(index_source.history(root))
    events = []
    for ev in found:
        d = ev.as_dict() if hasattr(ev, "as_dict") else dict(ev)
        for k in ("root", "document", "oldRoot", "oldDocument", "newRoot", "newDocument"):
            if d.get(k):
                d[k] = _h(d[k])
        for k in ("blockHash", "transactionHash"):
            if d.get(k):
                d[k] = _0x(d[k])
        kind = d.get("kind")
        if kind == "ANCHORED" and d.get("root") == root:
            d.setdefault("documentTypeName", DOCUMENT_TYPE_NAMES.get(d.get("documentType")))  # type: ignore[arg-type]
        elif kind == "REVOKED" and d.get("root") == root and d.get("document") in (None, target):
            pass
        elif kind in ("SUPERSEDED", "SUPERSEDES") and d.get("document") == target:
            pass
        elif kind in ("DECIDED", "CHECK_OPENED", "CHECK_ANSWERED", "CHECK_CLOSED") and d.get("document") == target:
            pass  # customs decisions and checks (the index's; a history read from the chain leaves them out)
        else:
            continue
        events.append(d)
    events.sort(key=lambda ev: (ev["blockNumber"], ev["logIndex"], ev["kind"]))
    return _dedupe(events)


def _indexed_block(index_source: Any) -> int | None:
    for obj in (getattr(index_source, "index", None), index_source):
        fn = getattr(obj, "indexed_block", None)
        if callable(fn):
            block = fn()
            return getattr(block, "number", block)
    return None


def histories(
    service: Any, pairs: Sequence[Pair], expected: dict[str, set[str]] | None = None, as_of: int | None = None
) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """(targetHash -> events, "index" or "chain") for (targetHash, merkleRoot[, documentStore]) tuples: with the
    store, only that store's events. The index answers when it has indexed block `as_of` (default: the
    confirmed head) and, for each document, holds at least the `expected` kinds (what the chain's status view
    says happened); otherwise the chain does."""
    pairs = [(t, r, st) for t, r, st in _norm(pairs)]
    index = getattr(service, "index_source", None)
    if index is not None and (
        callable(getattr(index, "history", None)) or callable(getattr(getattr(index, "index", None), "history", None))
    ):
        try:
            if as_of is None:
                as_of = max(0, service.w3.eth.block_number - (getattr(service.settings, "confirmations", 0) or 0))
            indexed = _indexed_block(index)
            if indexed is not None and indexed < as_of:
                raise LookupError(f"the index is at block {indexed}, behind block {as_of}")
            got = {t: _index_history(index, t, r, st) for t, r, st in pairs}
        except Exception as exc:
            log.debug("index history not used (%s); reading the chain", exc)
        else:
            complete = all(kinds <= {e["kind"] for e in got.get(t, [])} for t, kinds in (expected or {}).items())
            if complete:
                return got, "index"
    return chain_histories(service, pairs), "chain"


def expected_kinds(status: Any) -> set[str]:
    """The event kinds that a verdict (or a DocumentStatus) implies happened on chain."""
    kinds: set[str] = set()
    if status is None:
        return kinds
    if hasattr(status, "checks"):  # a Verdict
        check = status.check("DOCUMENT_STATUS")
        if check is not None and check.code in ("ISSUED", "REVOKED", "SUPERSEDED"):
            kinds.add("ANCHORED")
        if status.revocation:
            kinds.add("REVOKED")
        if status.successor:
            kinds.add("SUPERSEDED")
        return kinds
    if getattr(status, "issued", False):
        kinds.add("ANCHORED")
    if getattr(status, "revoked", False):
        kinds.add("REVOKED")
    if getattr(status, "superseded", False):
        kinds.add("SUPERSEDED")
    return kinds
