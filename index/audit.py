"""Audit exports that anyone can re-check against any node.

An export is NDJSON: a `header` line (network, the IssuerRegistry, period, the index's block), one `event` line
per contract event (kind, block number and hash, transaction, log index, time, emitting store, hashes), and one
`document` line per document of an exported anchor that this node knows (store, targetHash, merkleRoot, Merkle
proof).
`check_export` re-reads every event's transaction receipt from a node and confirms the block, the emitting
contract — the document store named by the event for anchors, revocations and supersessions, which must be a
store the IssuerRegistry created (for an authority of the event's country), else the IssuerRegistry — the
event's signature and the hashes in the log; it re-folds every document proof and asks the document's store
that the root is anchored there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from web3 import Web3

from certnet.verifier import jsonlimits
from certnet.verifier.merkle import verify_proof

FORMAT = "certnet-audit-export/1"

#: Event kinds emitted by an authority's DocumentStore, with the contract event each comes from; every other
#: kind is the IssuerRegistry's.
STORE_EVENTS = {
    "ANCHORED": "RootAnchored",
    "REVOKED": "RevocationRecorded",
    "SUPERSEDED": "DocumentSuperseded",
    "SUPERSEDES": "DocumentSuperseded",
}
#: Event kinds emitted by the CustomsRecord (named in the header, deployed for the header's IssuerRegistry).
CUSTOMS_EVENTS = {
    "DECIDED": "DecisionRecorded",
    "CHECK_OPENED": "CheckOpened",
    "CHECK_ANSWERED": "CheckAnswered",
    "CHECK_CLOSED": "CheckClosed",
}


def document_store(wrapped: Any) -> str | None:
    """The document store a wrapped document names (`data.issuers[0].documentStore`, unsalted, checksummed), or
    None when it names none readable."""
    from certnet.node.contracts import checksummed
    from certnet.verifier.salting import unsalt_value

    try:
        store = unsalt_value(wrapped["data"]["issuers"][0]["documentStore"])
        return checksummed(store) if isinstance(store, str) else None
    except (KeyError, IndexError, TypeError, ValueError):
        return None


def export_lines(
    header: dict[str, Any], events: Iterable[dict[str, Any]], documents: Iterable[dict[str, Any]]
) -> Iterator[str]:
    yield json.dumps({"type": "header", "format": FORMAT, **header}, separators=(",", ":")) + "\n"
    for e in events:
        yield json.dumps({"type": "event", **e}, separators=(",", ":")) + "\n"
    for d in documents:
        yield json.dumps({"type": "document", **d}, separators=(",", ":")) + "\n"


@dataclass
class CheckReport:
    events_checked: int = 0
    documents_checked: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and (self.events_checked + self.documents_checked) > 0


def _topics(log: Any) -> set[str]:
    return {t.hex().removeprefix("0x")[-64:] for t in log["topics"][1:]}


def check_export(lines: Iterable[str], w3: Web3) -> CheckReport:
    """Re-verify an export against the node behind `w3`."""
    report = CheckReport()
    header: dict[str, Any] | None = None
    registry: Any = None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = jsonlimits.loads(line)
        except jsonlimits.JsonTooDeep as exc:
            report.problems.append(f"line {n}: {exc}")
            continue
        except json.JSONDecodeError as exc:
            report.problems.append(f"line {n}: not JSON ({exc.msg})")
            continue
        kind = item.get("type")
        if kind == "header":
            header = item
            if item.get("format") != FORMAT:
                report.problems.append(f"line {n}: unknown format {item.get('format')!r}")
            chain_id = w3.eth.chain_id
            if item.get("chainId") != chain_id:
                report.problems.append(
                    f"line {n}: export is of chain {item.get('chainId')}, the node serves {chain_id}"
                )
            try:
                registry = _Registry(w3, item["issuerRegistry"], item.get("customsRecord"))
            except (KeyError, TypeError, ValueError):
                report.problems.append(f"line {n}: the header names no issuer registry address")
                return report
            continue
        if header is None:
            report.problems.append(f"line {n}: no header before the first record")
            return report
        if kind == "event":
            report.events_checked += 1
            problem = _check_event(item, registry, w3)
            if problem:
                report.problems.append(f"line {n} ({item.get('kind')} in tx {item.get('transactionHash')}): {problem}")
        elif kind == "document":
            report.documents_checked += 1
            problem = _check_document(item, registry, w3)
            if problem:
                report.problems.append(f"line {n} (document {item.get('targetHash')}): {problem}")
        else:
            report.problems.append(f"line {n}: unknown record type {kind!r}")
    if header is None:
        report.problems.append("the export has no header")
    return report


class _Registry:
    """The export's IssuerRegistry on the node being checked against: which stores it created (asked once each)."""

    def __init__(self, w3: Web3, address: str, customs_record: str | None = None) -> None:
        from certnet.node.contracts import IssuerRegistryClient

        self.client = IssuerRegistryClient(w3, Web3.to_checksum_address(address))
        self.address = self.client.address
        self._countries: dict[str, str | None] = {}
        self.w3 = w3
        self.customs_record = Web3.to_checksum_address(customs_record) if customs_record else None
        self._customs_ok: str | None | bool = None

    def customs_problem(self) -> str | None:
        """Why the header's CustomsRecord cannot vouch for customs events (None: it can): it must be deployed on
        this chain for the header's IssuerRegistry (its `registry()`)."""
        if self._customs_ok is None:
            from certnet.node.contracts import CustomsRecordClient

            if self.customs_record is None:
                self._customs_ok = "the header names no customs record"
            else:
                try:
                    reg = CustomsRecordClient(self.w3, self.customs_record)._call("registry")
                    self._customs_ok = (
                        True
                        if reg.lower() == self.address.lower()
                        else (f"the customs record {self.customs_record} belongs to registry {reg}, not {self.address}")
                    )
                except Exception:
                    self._customs_ok = f"{self.customs_record} is not a customs record on this chain"
        return None if self._customs_ok is True else str(self._customs_ok)

    def country_of_store(self, store: str) -> str | None:
        """The country of the authority owning `store`, None when the registry did not create it."""
        key = store.lower()
        if key not in self._countries:
            try:
                self._countries[key] = self.client.country_of_store(Web3.to_checksum_address(store))
            except Exception:
                self._countries[key] = None
        return self._countries[key]


def _topic0(event: str, artifact: str = "DocumentStore") -> str:
    from certnet.index.follower import topic_of

    return topic_of(artifact, event)[2:]


def _check_event(e: dict[str, Any], registry: _Registry, w3: Web3) -> str | None:
    try:
        receipt = w3.eth.get_transaction_receipt(e["transactionHash"])
    except Exception:
        return "the transaction is not on this chain"
    if receipt["blockNumber"] != e.get("blockNumber"):
        return f"block {receipt['blockNumber']} on this chain, {e.get('blockNumber')} in the export"
    if receipt["blockHash"].to_0x_hex().lower() != str(e.get("blockHash", "")).lower():
        return "the block hash differs (the export is of another fork)"
    block = w3.eth.get_block(receipt["blockNumber"])
    if block["timestamp"] != e.get("time"):
        return f"block time {block['timestamp']} on chain, {e.get('time')} in the export"
    log = next((lg for lg in receipt["logs"] if lg["logIndex"] == e.get("logIndex")), None)
    if log is None:
        return f"no log {e.get('logIndex')} in the transaction"
    kind = e.get("kind")
    if kind in STORE_EVENTS:
        store = e.get("store")
        if not isinstance(store, str) or not Web3.is_address(store):
            return "the event names no document store"
        if log["address"].lower() != store.lower():
            return f"the log was emitted by {log['address']}, not the document store {store}"
        country = registry.country_of_store(store)
        if country is None:
            return f"{store} is not a document store of the issuer registry {registry.address}"
        if e.get("country") and country != e["country"]:
            return f"the document store {store} belongs to an authority of {country}, not {e['country']}"
        if not log["topics"] or log["topics"][0].hex().removeprefix("0x") != _topic0(STORE_EVENTS[kind]):
            return f"the log is not a {STORE_EVENTS[kind]} event"
    elif kind in CUSTOMS_EVENTS:
        problem = registry.customs_problem()
        if problem:
            return problem
        if log["address"].lower() != registry.customs_record.lower():  # type: ignore[union-attr]
            return f"the log was emitted by {log['address']}, not the customs record {registry.customs_record}"
        if not log["topics"] or log["topics"][0].hex().removeprefix("0x") != _topic0(
            CUSTOMS_EVENTS[kind], "CustomsRecord"
        ):
            return f"the log is not a {CUSTOMS_EVENTS[kind]} event"
    elif log["address"].lower() != registry.address.lower():
        return f"the log was emitted by {log['address']}, not the issuer registry {registry.address}"
    hashes = _topics(log) | _data_words(log)
    answer_or_close = kind in ("CHECK_ANSWERED", "CHECK_CLOSED")  # their logs name the check, not the certificate
    for key in ("root", "document", "textHash"):
        if e.get(key) and e[key].lower() not in hashes and not (key == "document" and answer_or_close):
            return f"the log does not carry {key} {e[key]}"
    if kind in CUSTOMS_EVENTS:
        return _check_customs_event(e, kind, hashes, registry)
    return None


def _check_customs_event(e: dict[str, Any], kind: str, hashes: set[str], registry: _Registry) -> str | None:
    """The certificate and check a CustomsRecord event names: carried by the log (a decision, an opening), or for
    an answer or a closing the contract's record of its check."""
    store = e.get("store") or ""
    if e.get("checkId") is not None and f"{int(e['checkId']):064x}" not in hashes:
        return f"the log is not about check {e['checkId']}"
    if kind in ("DECIDED", "CHECK_OPENED"):
        if store.lower()[2:].rjust(64, "0") not in hashes:
            return f"the log does not carry the store {store}"
        return None
    from certnet.node.contracts import CustomsRecordClient

    c = CustomsRecordClient(registry.w3, registry.customs_record).check(int(e.get("checkId") or 0))  # type: ignore[arg-type]
    if c is None:
        return f"the customs record has no check {e.get('checkId')}"
    if c.store.lower() != store.lower() or c.document != str(e.get("document", "")).lower():
        return f"check {e.get('checkId')} is about {c.store}/{c.document}, not {store}/{e.get('document')}"
    if e.get("country") and c.country != e["country"]:
        return f"check {e.get('checkId')} was asked by {c.country}, not {e['country']}"
    return None


def _data_words(log: Any) -> set[str]:
    data = bytes(log["data"])
    return {data[i : i + 32].hex() for i in range(0, len(data) - 31, 32)}


def _check_document(d: dict[str, Any], registry: _Registry, w3: Web3) -> str | None:
    try:
        if not verify_proof(d["targetHash"], d["proof"], d["merkleRoot"]):
            return "its Merkle proof does not lead to its root"
    except (KeyError, ValueError, TypeError) as exc:
        return f"unreadable proof ({exc})"
    store = d.get("store")
    if not isinstance(store, str) or not Web3.is_address(store):
        return "it names no document store"
    if registry.country_of_store(store) is None:
        return f"{store} is not a document store of the issuer registry {registry.address}"
    from certnet.node.contracts import DocumentStoreClient

    try:
        issued = DocumentStoreClient(w3, store).is_issued(d["merkleRoot"])
    except Exception as exc:
        return f"its store could not be read ({exc})"
    if not issued:
        return f"its root is not anchored in its document store {store} on this chain"
    return None
