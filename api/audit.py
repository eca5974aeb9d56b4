"""Audit exports that anyone can re-check against any node.

An export is NDJSON: a `header` line (network, registries, period, the index's block), one `event` line per
contract event (kind, block number and hash, transaction, log index, time, hashes), and one `document` line per
document of an exported anchor that this node knows (targetHash, merkleRoot, Merkle proof).
`check_export` re-reads every event's transaction receipt from a node and confirms the block, the emitting
contract and the hashes in the log; it re-folds every document proof and asks the registry that the root is
anchored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from web3 import Web3

from certnet.verifier import jsonlimits
from certnet.verifier.merkle import verify_proof

FORMAT = "certnet-audit-export/1"

#: Which contract emits each event kind, and the log field holding (root, document) when it has them.
CERTIFICATE_EVENTS = {"ANCHORED", "REVOKED", "SUPERSEDED", "SUPERSEDES"}


def export_lines(header: dict[str, Any], events: Iterable[dict[str, Any]],
                 documents: Iterable[dict[str, Any]]) -> Iterator[str]:
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
    store_abi = None
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
                report.problems.append(f"line {n}: export is of chain {item.get('chainId')}, the node serves {chain_id}")
            from certnet.node.artifacts import load_artifact

            store_abi = load_artifact("CertificateRegistry")["abi"]
            continue
        if header is None:
            report.problems.append(f"line {n}: no header before the first record")
            return report
        if kind == "event":
            report.events_checked += 1
            problem = _check_event(item, header, w3)
            if problem:
                report.problems.append(f"line {n} ({item.get('kind')} in tx {item.get('transactionHash')}): {problem}")
        elif kind == "document":
            report.documents_checked += 1
            problem = _check_document(item, header, w3, store_abi)
            if problem:
                report.problems.append(f"line {n} (document {item.get('targetHash')}): {problem}")
        else:
            report.problems.append(f"line {n}: unknown record type {kind!r}")
    if header is None:
        report.problems.append("the export has no header")
    return report


def _check_event(e: dict[str, Any], header: dict[str, Any], w3: Web3) -> str | None:
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
    expected = header["certificateRegistry"] if e.get("kind") in CERTIFICATE_EVENTS else header["issuerRegistry"]
    if log["address"].lower() != expected.lower():
        return f"the log was emitted by {log['address']}, not the registry {expected}"
    hashes = _topics(log) | _data_words(log)
    for key in ("root", "document"):
        if e.get(key) and e[key].lower() not in hashes:
            return f"the log does not carry {key} {e[key]}"
    return None


def _data_words(log: Any) -> set[str]:
    data = bytes(log["data"])
    return {data[i:i + 32].hex() for i in range(0, len(data) - 31, 32)}


def _check_document(d: dict[str, Any], header: dict[str, Any], w3: Web3, abi: Any) -> str | None:
    try:
        if not verify_proof(d["targetHash"], d["proof"], d["merkleRoot"]):
            return "its Merkle proof does not lead to its root"
    except (KeyError, ValueError, TypeError) as exc:
        return f"unreadable proof ({exc})"
    store = w3.eth.contract(address=Web3.to_checksum_address(header["certificateRegistry"]), abi=abi)
    root = bytes.fromhex(d["merkleRoot"])
    if not store.get_function_by_signature("isIssued(bytes32)")(root).call():
        return "its root is not anchored on this chain"
    return None
