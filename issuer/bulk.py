"""Bulk issuance from an NDJSON file: wrap in batches, write each batch, anchor each root — streamed.

For an issuing authority's batch jobs (a day's or a migration's certificates, one JSON document per line):
memory stays flat with the count, and the durable record is the output directory instead of the outbox.
Batch k holds input lines [k*B, (k+1)*B). Its wrapped documents are written to ``batch-<k>-<root>.ndjson``
(through a temporary file, fsync'd and renamed) *before* its root is sent, so a crash at any point loses
nothing and issues nothing twice: run again with the same input and output, and batches already written are
not wrapped again (same salts, same root); their roots are only anchored if the chain does not have them yet.

Each anchoring is journalled in ``anchors.ndjson`` (batch, root, transaction, block and its hash). Running
again over the output directory reconciles it with the chain the way the service's pipeline does: a batch
whose root the chain no longer has (a node that lost blocks, a reorg) is anchored again — the same root, so
the batch file's wrapped documents stay valid — and says so; one re-mined in another block is re-journalled.

Reader processes (one per core, up to two) parse, check (with a document type, validate) and salt alternate
batches; this process builds each batch's Merkle tree, writes the batch and anchors its root.
"""

from __future__ import annotations

import ctypes
import json
import logging
import marshal
import multiprocessing
import os
import re
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from typing import TYPE_CHECKING, Any, cast

import orjson

from certnet import CertnetError
from certnet.issuer import faults
from certnet.issuer.envelope import EnvelopeError, complete_envelope
from certnet.issuer.pipeline import anchor_by
from certnet.node.contracts import DOCUMENT_TYPES, to_bytes32
from certnet.node.deploy import Deployment
from certnet.node.errors import ContractRevert
from certnet.node.tx import Transactor
from certnet.verifier import jsonlimits
from certnet.verifier.jsjson import ProofFormatError
from certnet.verifier.wrap import assemble_batch, salt_documents_json

if TYPE_CHECKING:
    from eth_typing import HexStr

log = logging.getLogger("certnet.issuer.bulk")

MAX_LINE_BYTES = 5 * 1024 * 1024
PR_SET_PDEATHSIG = 1
READERS = 2  # reader processes (at most one per core): they parse and salt; this process builds trees and writes
BATCH_FILE = re.compile(r"^batch-(\d{6,})-([0-9a-f]{64})\.ndjson$")


class BulkInputError(CertnetError, ValueError):
    """A line of the input cannot be issued; the message names the file, line and field."""


@dataclass
class BulkResult:
    documents: int = 0
    batches: list[tuple[int, str, int]] = field(default_factory=list)  # (batch, root, documents) in order
    resumed: int = 0  # batches found written by an earlier run (not wrapped again)
    reanchored: int = 0  # batches journalled as anchored that the chain had lost: anchored again


def written_batches(out: Path) -> dict[int, tuple[str, Path]]:
    """The batches an earlier run completed in `out`: batch number -> (root, file)."""
    found: dict[int, tuple[str, Path]] = {}
    for f in out.glob("batch-*.ndjson"):
        m = BATCH_FILE.match(f.name)
        if m:
            found[int(m.group(1))] = (m.group(2), f)
    return found


_LONG_DIGITS = re.compile(rb"[0-9]{16}")


def parse_line(line: bytes) -> Any:
    """One JSON value, as `json.loads` reads it. orjson is used when it gives the same: it reads an integer beyond
    64 bits as a float (so a line with 16 digits in a row goes to the standard library, whose int the proof format
    then checks) and refuses what the standard library reads (a lone surrogate, NaN), which then goes there too."""
    if not _LONG_DIGITS.search(line):
        try:
            return orjson.loads(line)
        except orjson.JSONDecodeError:
            pass
    return jsonlimits.loads(line)  # (orjson refuses depth beyond 1024 itself, cleanly)


def _read(
    source: Path,
    batch: int,
    skip: set[int],
    deployment: Deployment,
    issuer: tuple[str, str, str],
    doc_type: str | None,
    queue: Any,
    lane: int,
    lanes: int,
    parent: int,
) -> None:
    """A reader process: of the batches k with k % lanes == lane, each one parsed, checked and salted, marshalled
    onto a bounded queue as (salted JSON, targetHashes, documentType) — None for a batch written before — then
    ("end", count); ("error", message) stops it. Every reader reads every line, to know where batches end."""
    from certnet.issuer.schemas import SchemaValidationError, parse_document

    die_with_parent(parent)
    put = queue.put
    try:
        docs: list[dict] = []
        k = count = 0
        with open(source, "rb") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                count += 1
                mine = k % lanes == lane and k not in skip
                if mine:
                    if len(line) > MAX_LINE_BYTES:
                        raise BulkInputError(f"{source}:{lineno}: longer than {MAX_LINE_BYTES // 2**20} MiB")
                    try:
                        doc = parse_line(line)
                    except jsonlimits.JsonTooDeep as exc:
                        raise BulkInputError(f"{source}:{lineno}: {exc}") from None
                    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                        raise BulkInputError(f"{source}:{lineno}: not valid JSON ({exc})") from None
                    if not isinstance(doc, dict):
                        raise BulkInputError(f"{source}:{lineno}: a document must be a JSON object")
                    if doc.get("issuingCountry", issuer[0]) != issuer[0]:
                        raise BulkInputError(
                            f"{source}:{lineno}: issuingCountry {doc['issuingCountry']!r} but the "
                            f"issuer belongs to {issuer[0]}"
                        )
                    try:
                        doc = complete_envelope(doc, deployment, issuer[1], issuer[2], doc_type)
                        if doc_type:
                            parse_document(doc, doc_type)
                    except (EnvelopeError, SchemaValidationError) as exc:
                        raise BulkInputError(f"{source}:{lineno}: {exc}") from None
                    if docs and doc.get("documentType") != docs[0].get("documentType"):
                        raise BulkInputError(
                            f"{source}:{lineno}: documentType {doc.get('documentType')!r} differs "
                            f"from the batch's {docs[0].get('documentType')!r} (a batch is anchored "
                            "as one type: give --type, or one type per file)"
                        )
                    docs.append(doc)
                if count % batch == 0:
                    if k % lanes == lane:
                        put(None if k in skip else _salted(source, k, lineno, docs))
                    docs, k = [], k + 1
        if count % batch and k % lanes == lane:
            put(None if k in skip else _salted(source, k, lineno, docs))
        put(("end", count))
    except BulkInputError as exc:
        put(("error", str(exc)))
    except OSError as exc:
        put(("error", f"{source}: {exc.strerror or exc}"))
    except Exception as exc:  # anything else still reaches the issuing process, which would wait otherwise
        put(("error", f"{source}: reading failed: {type(exc).__name__}: {exc}"))


def _next(queue: Any, reader: Any) -> Any:
    """The reader's next item; an error if it died without one (killed: out of memory, by an operator)."""
    while True:
        try:
            return queue.get(timeout=1.0)
        except Empty:
            if not reader.is_alive():
                try:
                    return queue.get(timeout=1.0)
                except Empty:
                    raise BulkInputError(
                        f"a reader process stopped (exit code {reader.exitcode}) without "
                        "finishing its batches; run again to continue"
                    ) from None


def die_with_parent(parent: int) -> None:
    """This (forked) process is killed with its parent `parent`, even by SIGKILL, which the parent cannot
    pass on: a bulk reader would otherwise wait for ever to flush its queue, holding the output pipes of
    whoever started the command; a service worker would keep serving the port."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the reader then ends with its queue
        pass
    if os.getppid() != parent:  # the parent died before prctl took effect (even before this process ran)
        os._exit(1)


def _salted(source: Path, k: int, last_line: int, docs: list[dict]) -> bytes:
    try:
        salted, targets = salt_documents_json(docs)
    except ProofFormatError as exc:
        raise BulkInputError(f"{source}: batch {k} (up to line {last_line}): {exc}") from None
    return marshal.dumps((salted, targets, docs[0].get("documentType", "")))


JOURNAL = "anchors.ndjson"


def read_journal(out: Path) -> dict[str, dict[str, Any]]:
    """The anchorings journalled in `out` by root (the last line of a root wins; a torn last line is skipped)."""
    found: dict[str, dict[str, Any]] = {}
    path = out / JOURNAL
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                rec = json.loads(line)
                found[rec["root"]] = rec
            except (json.JSONDecodeError, KeyError, TypeError):
                continue
    return found


def _journal(out: Path, k: int, root: str, tx: str, block: int, block_hash: str, event: str = "ANCHORED") -> None:
    with open(out / JOURNAL, "a") as f:
        f.write(
            json.dumps({"batch": k, "root": root, "event": event, "tx": tx, "block": block, "blockHash": block_hash})
            + "\n"
        )
        f.flush()
        os.fsync(f.fileno())


def _write_batch(out: Path, k: int, root: str, wrapped: list[bytes]) -> Path:
    final = out / f"batch-{k:06d}-{root}.ndjson"
    tmp = out / f".batch-{k:06d}.partial"
    with open(tmp, "wb") as f:
        f.writelines(w + b"\n" for w in wrapped)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    dir_fd = os.open(out, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return final


def bulk_issue(
    source: Path,
    out: Path,
    deployment: Deployment,
    signer: Transactor,
    *,
    batch: int = 10_000,
    doc_type: str | None = None,
    receipt_timeout: float = 120.0,
    progress: Callable[[int], None] | None = None,
) -> BulkResult:
    """Issue every document of `source` (NDJSON) in batches of `batch`; see the module docstring."""
    if batch < 1:
        raise BulkInputError("the batch size must be at least 1")
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".batch-*.partial"):  # a batch being written when a run stopped: written again
        stale.unlink()
    done = written_batches(out)
    journal = read_journal(out)
    registry = deployment.issuer_registry_client(signer.w3)
    key_store = registry.key_info(signer.address).store
    record = registry.authority(key_store) if key_store else None
    if record is None:
        raise BulkInputError(f"{signer.address} is not a key of an issuing authority on this network")
    store = deployment.store_client(signer.w3, record.store, signer)
    ctx = multiprocessing.get_context("fork")
    lanes = max(1, min(READERS, os.cpu_count() or 1))
    queues = [ctx.Queue(maxsize=1) for _ in range(lanes)]
    readers = [
        ctx.Process(
            target=_read,
            daemon=True,
            args=(
                source,
                batch,
                set(done),
                deployment,
                (record.country, record.name, record.store),
                doc_type,
                queues[lane],
                lane,
                lanes,
                os.getpid(),
            ),
        )
        for lane in range(lanes)
    ]
    for r in readers:
        r.start()
    result = BulkResult()
    pending: list[tuple[int, str, str]] = []  # (batch, root, transaction hash) sent by this run
    try:
        k = 0
        while True:
            item = _next(queues[k % lanes], readers[k % lanes])
            if isinstance(item, tuple):
                if item[0] == "error":
                    raise BulkInputError(item[1])
                break
            if item is None:  # written by an earlier run: anchor its root if the chain lacks it
                root, path = done[k]
                with open(path, "rb") as f:
                    first = json.loads(f.readline())
                    n = 1 + sum(1 for _ in f)
                salted_type = first["data"].get("documentType", "")  # "<salt>:string:<type>"
                type_name = salted_type.split(":", 2)[-1] if isinstance(salted_type, str) else ""
                result.resumed += 1
            else:
                salted, targets, type_name = marshal.loads(item)
                del item
                root, wrapped = assemble_batch(salted, targets, as_json=True)
                n = len(wrapped)
                del salted, targets
                _write_batch(out, k, root, wrapped)
                del wrapped
                faults.crash_point("bulk_written")
            anchor = anchor_by(store, root, registry.store_of_key, f"batch {k}")
            journalled = journal.get(root)
            if anchor is None and store.anchor_of(root) is not None:
                raise BulkInputError(
                    f"batch {k}: root {root} is anchored in {store.address} by a key not of its authority"
                )
            if anchor is None and journalled is not None:
                log.warning(
                    "batch %s (root %s) was anchored in block %s (transaction %s) but the chain no longer "
                    "has it (a node that lost blocks, a reorg): anchoring it again",
                    k,
                    root,
                    journalled.get("block"),
                    journalled.get("tx"),
                )
                result.reanchored += 1
            elif anchor is not None and journalled is not None and anchor.block_number != journalled.get("block"):
                log.warning(
                    "batch %s (root %s) was re-mined in block %s (journalled: block %s)",
                    k,
                    root,
                    anchor.block_number,
                    journalled.get("block"),
                )
                tx = store.anchoring_tx(root, anchor.block_number) or ""
                block_hash = signer.w3.eth.get_block(anchor.block_number)["hash"].to_0x_hex()
                _journal(out, k, root, tx, anchor.block_number, block_hash, "MOVED")
            elif anchor is not None and journalled is None:  # sent by a run killed before it journalled
                tx = store.anchoring_tx(root, anchor.block_number) or ""
                block_hash = signer.w3.eth.get_block(anchor.block_number)["hash"].to_0x_hex()
                _journal(out, k, root, tx, anchor.block_number, block_hash)
            if anchor is None:
                code = DOCUMENT_TYPES.get(doc_type or type_name)
                if code is None:
                    raise BulkInputError(
                        f"{source}: batch {k}: documentType {type_name!r} is not one of "
                        f"{', '.join(DOCUMENT_TYPES)} (give --type)"
                    )
                try:
                    signed = signer.sign(store.function("anchor", to_bytes32(root), code, n), f"anchor batch {k}")
                except ContractRevert as exc:
                    raise BulkInputError(f"batch {k} ({root}) cannot be anchored: {exc}") from None
                pending.append((k, root, signer.broadcast(signed.raw, f"anchor batch {k}")))
                faults.crash_point("bulk_sent")
            result.batches.append((k, root, n))
            result.documents += n
            if progress:
                progress(result.documents)
            k += 1
        for r in readers:
            r.join(30)
        for k, root, tx in pending:
            receipt = signer.w3.eth.wait_for_transaction_receipt(
                cast("HexStr", tx), timeout=receipt_timeout, poll_latency=0.05
            )
            if receipt["status"] != 1 and store.anchor_of(root) is None:
                raise BulkInputError(f"the anchoring transaction {tx} of root {root} failed; run again to retry")
            if receipt["status"] == 1:
                _journal(out, k, root, tx, receipt["blockNumber"], receipt["blockHash"].to_0x_hex())
        return result
    finally:
        for r in readers:
            if r.is_alive():
                r.kill()
                r.join(5)
