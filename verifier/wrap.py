"""Wrapping raw documents into OpenAttestation v2 documents with a batch Merkle proof.

``wrap_documents(raw_docs)`` salts every document, computes its targetHash, builds the batch
Merkle tree and returns ``(merkle_root_hex, wrapped_docs)`` where each wrapped document is::

    {"version": SCHEMA_V2, "data": <salted>,
     "signature": {"type": "SHA3MerkleProof", "targetHash": ..., "proof": [...], "merkleRoot": ...}}

Large batches are salted and hashed by two processes (this one and a forked helper) when the
salts come from the built-in random source; an injected ``uuid_factory`` (for deterministic
tests) keeps everything in this process, in document order.
"""

from __future__ import annotations

import gc
import marshal
import multiprocessing
import os
import sys
import tempfile
import threading
from collections.abc import Sequence
from typing import Any, cast

import certnet_native

from .jsjson import dump_bytes
from .merkle import MerkleTree, keccak_new
from .salting import ProofFormatError, UuidFactory, salt_and_hash

__all__ = [
    "SCHEMA_V2",
    "PROOF_TYPE",
    "wrap_documents",
    "wrap_document",
    "salt_and_digest",
    "PARALLEL_THRESHOLD",
]

SCHEMA_V2 = "https://schema.openattestation.com/2.0/schema.json"
PROOF_TYPE = "SHA3MerkleProof"

# Below this many documents a second process costs more than it saves.
PARALLEL_THRESHOLD = 2000
# Share of a parallel batch this process salts itself (it also loads the helper's share).
PARENT_SHARE = 0.5


def salt_and_digest(raw: dict[str, Any], uuid_factory: UuidFactory | None = None) -> tuple[dict[str, Any], str]:
    """Salt one raw document: ``(salted_data, target_hash_hex)``.

    The native core (``certnet_native``) does the common case; a document it hands back (a key
    with '.', an integer beyond 2**53 - 1, a lone surrogate, a subclass of a JSON type, ...) goes
    through the Python reference in :mod:`certnet.verifier.salting`, which handles it or names the path
    it refuses.
    """
    done = certnet_native.salt_and_digest(raw, uuid_factory)
    if done is not None:
        return cast("tuple[dict[Any, Any], str]", done)
    salted, hashes = salt_and_hash(raw, uuid_factory)
    hashes.sort()
    text = '["' + '","'.join(hashes) + '"]' if hashes else "[]"
    return salted, keccak_new(text.encode()).hexdigest()


def salt_and_digest_json(raw: dict[str, Any], uuid_factory: UuidFactory | None = None) -> tuple[bytes, str]:
    """As :func:`salt_and_digest`, with the salted data as compact UTF-8 JSON: ``(salted_json, target_hash_hex)``."""
    done = certnet_native.salt_and_digest_json(raw, uuid_factory)
    if done is not None:
        return cast("tuple[bytes, str]", done)
    salted, th = salt_and_digest(raw, uuid_factory)
    return dump_bytes(salted), th


def _salt_many(
    docs: Sequence[dict[str, Any]], start: int, stop: int, new_uuid: UuidFactory | None, as_json: bool = False
) -> tuple[list[Any], list[Any]]:
    salted_list = []
    targets = []
    salt = salt_and_digest_json if as_json else salt_and_digest
    for i in range(start, stop):
        try:
            salted, th = salt(docs[i], new_uuid)
        except ProofFormatError as e:
            raise ProofFormatError(e.path, f"document {i}: {e.reason}") from None
        salted_list.append(salted)
        targets.append(th)
    return salted_list, targets


# Set just before forking the helper, so that it inherits the documents without pickling.
_FORK_DOCS: Sequence[dict[str, Any]] | None = None
_FORK_LOCK = threading.Lock()
_CHUNK = 256


def _helper(conn: Any, spool: str, start: int, stop: int, as_json: bool) -> None:
    """Forked helper: salt documents [start, stop) chunk by chunk.

    Each chunk's result goes to its own file in ``spool`` (marshal: salted data is only dicts, lists
    and strings, and marshal loads them several times faster than pickle) in a private directory, in
    memory where /dev/shm exists, and its name is announced on ``conn``: the helper never waits
    for the parent to read, and the parent deletes each file once it has loaded it.
    """
    try:
        docs = _FORK_DOCS
        assert docs is not None
        for lo in range(start, stop, _CHUNK):
            hi = min(stop, lo + _CHUNK)
            path = os.path.join(spool, f"{lo}.marshal")
            with open(path, "wb") as f:
                marshal.dump(_salt_many(docs, lo, hi, None, as_json), f)
            conn.send(("chunk", path))
        conn.send(("done", None))
    except BaseException as e:  # report every failure to the parent (if it still listens)
        for report in (e, RuntimeError(f"wrapping helper failed: {e!r}")):
            try:
                conn.send(("error", report))
                break
            except Exception:
                continue
    finally:
        conn.close()


def _spool_dir() -> str | None:
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _can_fork() -> bool:
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _salt_all(
    docs: Sequence[dict[str, Any]], uuid_factory: UuidFactory | None, workers: int | None, as_json: bool
) -> tuple[list[Any], list[Any]]:
    n = len(docs)
    if workers is None:
        # Forking a multi-threaded process is unsafe in general: ask for workers=2 explicitly there.
        workers = min(2, os.cpu_count() or 1) if threading.active_count() == 1 else 1
    if uuid_factory is not None or workers < 2 or n < PARALLEL_THRESHOLD or not _can_fork():
        return _salt_many(docs, 0, n, uuid_factory, as_json)
    # This process also loads the helper's results, so it takes a bit less than half.
    split = int(n * PARENT_SHARE)
    global _FORK_DOCS
    ctx = multiprocessing.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)
    with tempfile.TemporaryDirectory(prefix="certnet-wrap-", dir=_spool_dir()) as spool:
        with _FORK_LOCK:  # concurrent calls must not fork with each other's documents
            _FORK_DOCS = docs
            try:
                proc = ctx.Process(target=_helper, args=(send, spool, split, n, as_json), daemon=True)
                proc.start()
            finally:
                _FORK_DOCS = None
                send.close()
        salted: list[Any] = []
        targets: list[Any] = []
        theirs_salted: list[Any] = []
        theirs_targets: list[Any] = []
        done = False

        def drain(block: bool) -> bool:
            while block or recv.poll():
                try:
                    kind, value = recv.recv()
                except EOFError:
                    raise RuntimeError("the wrapping helper process died without an answer") from None
                if kind == "done":
                    return True
                if kind == "error":
                    raise value
                with open(value, "rb") as f:
                    part_salted, part_targets = marshal.loads(f.read())  # (load(f) reads piecemeal: slow)
                os.unlink(value)
                theirs_salted.extend(part_salted)
                theirs_targets.extend(part_targets)
            return False

        try:
            for lo in range(0, split, _CHUNK):
                part_salted, part_targets = _salt_many(docs, lo, min(split, lo + _CHUNK), None, as_json)
                salted.extend(part_salted)
                targets.extend(part_targets)
                if not done:
                    done = drain(False)
            while not done:
                done = drain(True)
        finally:
            recv.close()
            proc.join(timeout=None if done else 5)
            if proc.is_alive():
                proc.kill()
                proc.join()
    salted.extend(theirs_salted)
    targets.extend(theirs_targets)
    return salted, targets


def wrap_documents(
    raw_docs: Sequence[dict[str, Any]],
    *,
    uuid_factory: UuidFactory | None = None,
    workers: int | None = None,
    as_json: bool = False,
) -> tuple[str, list[Any]]:
    """Wrap a batch: ``(merkle_root_hex, wrapped_documents)`` in input order.

    ``uuid_factory`` supplies the salts (default: fresh random UUID v4s); giving one makes the
    result deterministic and keeps the work in this process. ``workers`` caps the processes
    used for batches of ``PARALLEL_THRESHOLD`` documents or more: by default 2 (a forked
    helper) when this process runs a single thread and 1 otherwise, since forking a
    multi-threaded process is unsafe in general; pass ``workers=2`` to fork anyway.
    ``as_json=True`` gives each wrapped document as compact UTF-8 JSON (bytes) instead of a dict:
    the same document, faster to make when it is going to a file or a database anyway.

    Raises :class:`ProofFormatError` naming the document and path of anything the proof format
    refuses, and ``ValueError`` on an empty batch.
    """
    if isinstance(raw_docs, (dict, str, bytes)):
        raise TypeError("wrap_documents takes a list of raw documents")
    docs = raw_docs if isinstance(raw_docs, (list, tuple)) else list(raw_docs)
    if not docs:
        raise ValueError("cannot wrap an empty batch")
    gc_was_enabled = gc.isenabled()
    gc.disable()  # wrapping allocates millions of acyclic objects; collections only cost time
    try:
        return _wrap(docs, uuid_factory, workers, as_json)
    finally:
        if gc_was_enabled:
            gc.enable()


def target_hash_of(wrapped_json: bytes) -> str:
    """The targetHash of a wrapped document made by ``wrap_documents(..., as_json=True)`` (its signature
    block comes last, so this reads the tail instead of parsing the document)."""
    at = wrapped_json.rindex(b'"targetHash":"') + 14
    return wrapped_json[at : at + 64].decode()


def _wrap(
    docs: Sequence[dict[str, Any]], uuid_factory: UuidFactory | None, workers: int | None, as_json: bool
) -> tuple[str, list[Any]]:
    salted_list, targets = _salt_all(docs, uuid_factory, workers, as_json)
    return assemble_batch(salted_list, targets, as_json=as_json)


def salt_documents_json(raw_docs: Sequence[dict[str, Any]]) -> tuple[list[bytes], list[str]]:
    """The first half of ``wrap_documents(raw_docs, as_json=True)``, in this process: each document's salted
    data as JSON and its targetHash. For callers that spread the salting over processes of their own (bulk
    issuance); :func:`assemble_batch` makes the batch. Raises :class:`ProofFormatError` like wrapping."""
    return _salt_many(raw_docs, 0, len(raw_docs), None, True)


def assemble_batch(salted_list: list[Any], targets: list[str], *, as_json: bool) -> tuple[str, list[Any]]:
    """The Merkle tree over salted documents and their targetHashes, and the wrapped documents in input order."""
    leaves = [bytes.fromhex(t) for t in targets]
    order = sorted(range(len(leaves)), key=leaves.__getitem__)
    tree = MerkleTree.from_sorted([leaves[i] for i in order])
    position = [0] * len(leaves)
    for pos, i in enumerate(order):
        position[i] = pos
    root = tree.root_hex
    proof_at = tree.proof_hex_at
    if as_json:
        head = b'{"version":"' + SCHEMA_V2.encode() + b'","data":'
        wrapped_json = []
        for salted, th, pos in zip(salted_list, targets, position, strict=True):
            proof = proof_at(pos)
            proof_json = '["' + '","'.join(proof) + '"]' if proof else "[]"
            signature = (
                f',"signature":{{"type":"{PROOF_TYPE}","targetHash":"{th}","proof":{proof_json},'
                f'"merkleRoot":"{root}"}}}}'
            )
            wrapped_json.append(head + salted + signature.encode())
        return root, wrapped_json
    wrapped = [
        {
            "version": SCHEMA_V2,
            "data": salted,
            "signature": {
                "type": PROOF_TYPE,
                "targetHash": th,
                "proof": proof_at(pos),
                "merkleRoot": root,
            },
        }
        for salted, th, pos in zip(salted_list, targets, position, strict=True)
    ]
    return root, wrapped


def wrap_document(raw: dict[str, Any], *, uuid_factory: UuidFactory | None = None) -> dict[str, Any]:
    """Wrap a single document (a batch of one: empty proof, merkleRoot == targetHash)."""
    return cast("dict[Any, Any]", wrap_documents([raw], uuid_factory=uuid_factory)[1][0])
