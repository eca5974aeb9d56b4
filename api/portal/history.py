"""A certificate's history: its anchoring, revocations and supersessions, each with block, time and
transaction. Read from the service's index when it offers `history(hash, root)` and agrees with what the
chain says now; otherwise straight from the CertificateRegistry's events (RootAnchored, RevocationRecorded,
DocumentSuperseded), filtered by their indexed topics, from the deployment block up to the confirmed head.

Events are plain dicts shaped like the index's `ChainEvent.as_dict()`: kind (ANCHORED, REVOKED,
SUPERSEDED: this document was replaced, SUPERSEDES: this document replaces another), blockNumber,
blockHash, transactionHash, logIndex, time, country, root, document, actor, and per kind: documentType,
documentCount; scope, reason, reasonName; oldRoot, oldDocument, newRoot, newDocument. Hashes of
documents and roots are 64 hex digits without 0x; block and transaction hashes carry 0x.
"""

from __future__ import annotations

import logging
from typing import Any, Iterable, Sequence

from certnet.node.contracts import DOCUMENT_TYPE_NAMES, REVOCATION_REASON_NAMES
from certnet.node.countries import from_bytes2

log = logging.getLogger("certnet.portal")

TOPIC_CHUNK = 100  # values OR-ed in one topic position of one eth_getLogs call


class HistoryError(RuntimeError):
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
        yield list(values[i:i + size])


def chain_histories(service: Any, pairs: Sequence[tuple[str, str]]) -> dict[str, list[dict[str, Any]]]:
    """targetHash -> its events, oldest first, for many (targetHash, merkleRoot) pairs in a few calls."""
    pairs = [(_h(t), _h(r)) for t, r in pairs]
    out: dict[str, list[dict[str, Any]]] = {t: [] for t, _ in pairs}
    if not pairs:
        return out
    w3 = service.w3
    contract = service.deployment.certificate_registry_client(w3).contract
    confirmations = getattr(service.settings, "confirmations", 0) or 0
    try:
        head = max(0, w3.eth.block_number - confirmations)
        start = service.deployment.block
        roots = sorted({r for _, r in pairs})
        docs = sorted({t for t, _ in pairs})
        by_root: dict[str, list[str]] = {}
        for t, r in pairs:
            by_root.setdefault(r, []).append(t)

        def logs(event: str, arg: str, values: list[str]) -> list[Any]:
            found = []
            for chunk in _chunks(values):
                f = {arg: ["0x" + v for v in chunk]}
                found += getattr(contract.events, event)().get_logs(argument_filters=f, from_block=start, to_block=head)
            return found

        raw: list[tuple[str, Any]] = []  # (targetHash, log) with the event's kind decided below
        for e in logs("RootAnchored", "root", roots):
            for t in by_root.get(_h(e["args"]["root"]), []):
                raw.append((t, e))
        for e in logs("RevocationRecorded", "root", roots):
            root, key = _h(e["args"]["root"]), _h(e["args"]["document"])
            for t in by_root.get(root, []):
                if key in (t, root):
                    raw.append((t, e))
        for arg in ("oldDocument", "newDocument"):
            for e in logs("DocumentSuperseded", arg, docs):
                t = _h(e["args"][arg])
                if t in out:
                    raw.append((t, e))
        times: dict[int, int] = {}
        for n in sorted({e["blockNumber"] for _, e in raw}):
            times[n] = int(w3.eth.get_block(n)["timestamp"])
    except Exception as exc:  # noqa: BLE001 - any node failure is "could not read"
        raise HistoryError(f"the chain's events could not be read: {exc}") from None
    for t, e in raw:
        out[t].extend(_events(t, e, times[e["blockNumber"]]))
    countries = {ev["root"]: ev["country"] for evs in out.values() for ev in evs if ev["kind"] == "ANCHORED"}
    for t in out:
        for ev in out[t]:
            if ev["country"] is None:
                ev["country"] = countries.get(ev.get("oldRoot") or ev["root"])
        out[t].sort(key=lambda ev: (ev["blockNumber"], ev["logIndex"], ev["kind"]))
        out[t] = _dedupe(out[t])
    return out


def _events(target: str, e: Any, time: int) -> list[dict[str, Any]]:
    a = e["args"]
    where = {"blockNumber": e["blockNumber"], "blockHash": _0x(e["blockHash"]),
             "transactionHash": _0x(e["transactionHash"]), "logIndex": e["logIndex"], "time": time}
    name = e["event"]
    if name == "RootAnchored":
        return [{"kind": "ANCHORED", **where, "country": from_bytes2(bytes(a["country"])) or None,
                 "root": _h(a["root"]), "document": None, "actor": a["issuer"],
                 "documentType": a["documentType"], "documentTypeName": DOCUMENT_TYPE_NAMES.get(a["documentType"]),
                 "documentCount": a["documentCount"]}]
    if name == "RevocationRecorded":
        root, key = _h(a["root"]), _h(a["document"])
        whole = key == root
        return [{"kind": "REVOKED", **where, "country": None, "root": root, "document": None if whole else key,
                 "actor": a["by"], "scope": "ROOT" if whole else "DOCUMENT", "reason": a["reason"],
                 "reasonName": REVOCATION_REASON_NAMES.get(a["reason"], str(a["reason"]))}]
    details = {"oldRoot": _h(a["oldRoot"]), "oldDocument": _h(a["oldDocument"]), "newRoot": _h(a["newRoot"]),
               "newDocument": _h(a["newDocument"])}
    out = []
    if details["oldDocument"] == target:
        out.append({"kind": "SUPERSEDED", **where, "country": None, "root": details["oldRoot"],
                    "document": details["oldDocument"], "actor": a["by"], **details})
    if details["newDocument"] == target:
        out.append({"kind": "SUPERSEDES", **where, "country": None, "root": details["newRoot"],
                    "document": details["newDocument"], "actor": a["by"], **details})
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


def _index_history(index_source: Any, target: str, root: str) -> list[dict[str, Any]]:
    """The document's events from the index: through `index_source.index.history(hash, root)` when the
    source exposes the index's query object, else `index_source.history(hash)` for the document and for
    its root, keeping what concerns this document."""
    inner = getattr(index_source, "index", None)
    if inner is not None and callable(getattr(inner, "history", None)):
        found = list(inner.history(target, root))
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


def histories(service: Any, pairs: Sequence[tuple[str, str]], expected: dict[str, set[str]] | None = None,
              as_of: int | None = None) -> tuple[dict[str, list[dict[str, Any]]], str]:
    """(targetHash -> events, "index" or "chain"). The index answers when it has indexed block `as_of`
    (default: the confirmed head) and, for each document, holds at least the `expected` kinds (what the
    chain's status view says happened); otherwise the chain does."""
    pairs = [(_h(t), _h(r)) for t, r in pairs]
    index = getattr(service, "index_source", None)
    if index is not None and (callable(getattr(index, "history", None))
                              or callable(getattr(getattr(index, "index", None), "history", None))):
        try:
            if as_of is None:
                as_of = max(0, service.w3.eth.block_number - (getattr(service.settings, "confirmations", 0) or 0))
            indexed = _indexed_block(index)
            if indexed is not None and indexed < as_of:
                raise LookupError(f"the index is at block {indexed}, behind block {as_of}")
            got = {t: _index_history(index, t, r) for t, r in pairs}
        except Exception as exc:  # noqa: BLE001 - an index behind, not ready or failing: read the chain
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
