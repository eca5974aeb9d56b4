"""The anchoring pipeline: accepts submissions into the outbox, batches, wraps, anchors, revokes.

Every step is written to the database before the next one starts, and every step can be repeated:

* forming a batch (SUBMITTED -> BATCHED) is one database transaction: documents, proofs and root together;
* sending (BATCHED -> SENT) first asks the chain whether the root is already anchored, then signs the
  transaction and records it (hash and raw bytes) *before* broadcasting it;
* confirming (SENT -> ANCHORED) looks for the receipt at the confirmation depth; a transaction the node
  has lost is broadcast again (same bytes, same hash); if its nonce was taken, the chain is asked whether
  the root is anchored, else the batch goes back to BATCHED and is signed anew.

The contract refuses a root twice, so no document is ever anchored twice, and no accepted document is lost:
after a crash at any point, `run_once` picks up where the previous process stopped. An anchor found on chain
(rather than by our receipt) is recorded only once it is `confirmations` deep.

Beyond a crash of this process:

* one writer per outbox: `run_*` hold the outbox's `WriterLock`; every state transition is guarded
  (`UPDATE ... WHERE state = <expected>`, row count checked) and one that finds its row moved on is skipped;
* reconciliation (`_reconcile`): a batch is ANCHORED only while the chain says so. When a recorded anchoring
  block is no longer on the chain (a node that lost blocks in a crash, a reorg) and periodically over a
  recent window, each anchored batch is checked (`_anchor_on_chain`); one that is gone goes back to BATCHED
  and is anchored again (the same root, the same wrapped documents), logged, counted and kept in its history;
* nonces that recover (`_recover_nonces`): when the node can no longer mine our unmined transactions (its
  account nonce went backwards, or a nonce below ours is held by no transaction) they are signed again from
  the node's nonce, so issuance never waits behind a gap.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple, cast

import orjson
from sqlalchemy import bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import BlockNotFound

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress, HexStr

from certnet import CertnetError
from certnet.issuer import faults
from certnet.issuer.envelope import EnvelopeError, complete_envelope
from certnet.issuer.outbox import (
    ANCHORED,
    BATCHED,
    DONE,
    EV_ANCHORED,
    EV_MOVED,
    EV_REANCHOR,
    EV_RESIGN,
    FAILED,
    PENDING,
    REVOKE_DOCUMENT,
    REVOKE_ROOT,
    SENT,
    SUBMITTED,
    SUPERSEDE,
    Action,
    Batch,
    BatchEvent,
    Document,
    OutboxLocked,
    WriterLock,
    canonical_hash,
    insert_ignoring_duplicates,
    pending_groups,
    utcnow,
)
from certnet.issuer.schemas import SchemaValidationError, parse_document
from certnet.node import errors as chain_errors
from certnet.node.contracts import DOCUMENT_TYPES, AnchorRecord, DocumentStoreClient, reason_code, to_bytes32
from certnet.node.deploy import Deployment
from certnet.node.signers import SignerError
from certnet.node.tx import NonceConsumed, TransactionError, Transactor
from certnet.verifier.wrap import target_hash_of, wrap_documents

log = logging.getLogger("certnet.issuer")

MAX_DOCUMENTS_PER_SUBMISSION = 10_000


class SubmissionError(CertnetError, ValueError):
    """A submission was refused; `code` is stable, `path` names the document and field."""

    def __init__(self, code: str, message: str, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.code = code
        self.path = path
        self.message = message


@dataclass
class PipelineConfig:
    max_batch: int = 1000
    max_age: float = 2.0
    confirmations: int = 0
    receipt_timeout: float = 60.0
    #: seconds between checks of every batch anchored in the last `reconcile_window` blocks (besides the checks
    #: made at once when the node lost blocks or reorganised)
    reconcile_interval: float = 30.0
    reconcile_window: int = 5000


@dataclass
class RunStats:
    reanchored: int = 0
    batched: int = 0
    sent: int = 0
    anchored: int = 0
    actions_done: int = 0
    actions_failed: int = 0


class Submitted(NamedTuple):
    """An accepted document as `Pipeline.submit` answers it (a repeat answers the existing record's state)."""

    id: int
    reference_number: str
    document_type: str
    state: str
    batch_id: int | None
    target_hash: str | None
    merkle_root: str | None
    content_hash: str


def _submitted_records(s: Session, issuer: str, country: str, refs: list[str]) -> dict[str, Submitted]:
    """The outbox records of these reference numbers of an issuer, by reference number."""
    rows = s.execute(
        select(
            Document.id,
            Document.reference_number,
            Document.document_type,
            Document.state,
            Document.batch_id,
            Document.target_hash,
            Batch.merkle_root,
            Document.content_hash,
        )
        .outerjoin(Batch, Batch.id == Document.batch_id)
        .where(Document.issuer == issuer, Document.issuing_country == country, Document.reference_number.in_(refs))
    )
    return {r.reference_number: Submitted(*r) for r in rows}


class IssuerInfo(NamedTuple):
    """The issuing authority an issuer key belongs to."""

    country: str
    name: str
    store: str


class Pipeline:
    """Issuance for the issuer accounts whose signers it holds, against one deployment."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        w3: Web3,
        deployment: Deployment,
        signers: dict[str, Transactor],
        config: PipelineConfig | None = None,
    ) -> None:
        self.sessions = sessions
        self.w3 = w3
        self.deployment = deployment
        self.signers = {Web3.to_checksum_address(a): s for a, s in signers.items()}
        self.config = config or PipelineConfig()
        self.registry = deployment.issuer_registry_client(w3)
        self._issuer_info: dict[str, IssuerInfo] = {}
        self._key_stores: dict[str, str | None] = {}
        self._lock = threading.Lock()
        self.writer = WriterLock(sessions.kw["bind"])
        #: called with the name of each recovery event ("reanchored", "moved", "nonce_reset", "action_resent")
        self.listeners: list[Callable[[str], None]] = []
        self.events: dict[str, int] = {}  # the same, counted by this process
        self._last_head: int | None = None
        self._last_reconcile = float("-inf")  # the first pass checks the whole window
        self._seen_nonce: dict[str, int] = {}

    # ------------------------------------------------------------------ submission

    def issuer_info(self, issuer: str) -> IssuerInfo:
        """The issuing authority of an issuer key — its country, name and document store — from the chain (cached)."""
        issuer = Web3.to_checksum_address(issuer)
        if issuer not in self._issuer_info:
            try:
                store = self.registry.key_info(issuer).store
                authority = self.registry.authority(store) if store else None
            except Exception as exc:  # the node is unreachable: nothing was accepted
                raise SubmissionError(
                    "CHAIN_UNAVAILABLE", f"the issuer registry cannot be read now ({type(exc).__name__}); retry later"
                ) from None
            if authority is None:
                raise SubmissionError(
                    "UNKNOWN_ISSUER", f"{issuer} is not a key of an issuing authority on this network"
                )
            self._issuer_info[issuer] = IssuerInfo(authority.country, authority.name, authority.store)
        return self._issuer_info[issuer]

    def store_of(self, issuer: str, signer: Transactor | None = None) -> DocumentStoreClient:
        """The document store of an issuer key's authority (sending from `signer` when given)."""
        return DocumentStoreClient(self.w3, self.issuer_info(issuer).store, signer)

    def submit(
        self, issuer: str, documents: Sequence[dict[str, Any]], document_type: str | None = None
    ) -> list[Submitted]:
        """Validate and durably accept documents; returns their records (existing ones for repeats)."""
        issuer = Web3.to_checksum_address(issuer)
        if issuer not in self.signers:
            raise SubmissionError("UNKNOWN_ISSUER", f"this service holds no key for issuer {issuer}")
        if not documents:
            raise SubmissionError("EMPTY_SUBMISSION", "no documents submitted")
        if len(documents) > MAX_DOCUMENTS_PER_SUBMISSION:
            raise SubmissionError(
                "TOO_MANY_DOCUMENTS",
                f"{len(documents)} documents; at most {MAX_DOCUMENTS_PER_SUBMISSION} per submission",
            )
        country, name, store = self.issuer_info(issuer)
        prepared: list[tuple[dict[str, Any], str]] = []
        seen: dict[str, int] = {}
        for i, doc in enumerate(documents):
            where = f"documents.{i}"
            if not isinstance(doc, dict):
                raise SubmissionError("MALFORMED_DOCUMENT", "must be a JSON object", where)
            try:
                data = complete_envelope(doc, self.deployment, name, store, document_type)
            except EnvelopeError as exc:
                raise SubmissionError("WRONG_NETWORK", str(exc), where) from None
            try:
                parse_document(data)
            except SchemaValidationError as exc:
                raise SubmissionError("SCHEMA_INVALID", str(exc), where) from None
            if data["issuingCountry"] != country:
                raise SubmissionError(
                    "WRONG_COUNTRY",
                    f"issuingCountry {data['issuingCountry']} but issuer {issuer} belongs to {country}",
                    f"{where}.issuingCountry",
                )
            ref = data["referenceNumber"]
            if ref in seen:
                raise SubmissionError(
                    "DUPLICATE_REFERENCE",
                    f"reference number {ref!r} repeats documents.{seen[ref]}",
                    f"{where}.referenceNumber",
                )
            seen[ref] = i
            prepared.append((data, canonical_hash(data)))
        refs = [p[0]["referenceNumber"] for p in prepared]
        with self._lock, self.sessions.begin() as s:
            existing = _submitted_records(s, issuer, country, refs)
            for i, (data, h) in enumerate(prepared):
                ref = data["referenceNumber"]
                if ref in existing and existing[ref].content_hash != h:
                    raise SubmissionError(
                        "REFERENCE_CONFLICT",
                        f"reference number {ref!r} was already submitted by this issuer "
                        "with different content (use supersession to replace a certificate)",
                        f"documents.{i}.referenceNumber",
                    )
            now = utcnow()
            new_rows = [
                {
                    "issuer": issuer,
                    "issuing_country": country,
                    "reference_number": data["referenceNumber"],
                    "document_type": data["documentType"],
                    "content_hash": h,
                    "raw": data,
                    "state": SUBMITTED,
                    "created_at": now,
                    "updated_at": now,
                }
                for data, h in prepared
                if data["referenceNumber"] not in existing
            ]
            if new_rows:  # one executemany INSERT, then the new ids by the unique (issuer, country, reference)
                # another process may accept the same reference at this moment: its row stands, ours is skipped
                insert_ignoring_duplicates(
                    s, Document.__table__, new_rows, ("issuer", "issuing_country", "reference_number")
                )
                existing.update(_submitted_records(s, issuer, country, [r["reference_number"] for r in new_rows]))
                for row in new_rows:
                    if existing[row["reference_number"]].content_hash != row["content_hash"]:
                        raise SubmissionError(
                            "REFERENCE_CONFLICT",
                            f"reference number {row['reference_number']!r} was just submitted "
                            "by this issuer with different content",
                            f"documents.{refs.index(row['reference_number'])}.referenceNumber",
                        )
        return [existing[ref] for ref in refs]

    def request_revocation(
        self,
        sender: str,
        *,
        document_id: int | None = None,
        root: str | None = None,
        reason: str | int = 0,
        whole_batch: bool = False,
    ) -> Action:
        """Queue a revocation of one document (by outbox id) or a whole batch (by root or `whole_batch`)."""
        sender = Web3.to_checksum_address(sender)
        if sender not in self.signers:
            raise SubmissionError("UNKNOWN_SENDER", f"this service holds no key for {sender}")
        payload: dict[str, Any]
        with self.sessions() as s:
            if document_id is not None:
                doc = s.get(Document, document_id)
                if doc is None:
                    raise SubmissionError("NOT_FOUND", f"no document {document_id} in this outbox")
                if whole_batch:
                    batch = s.get(Batch, doc.batch_id) if doc.batch_id else None
                    if batch is None:
                        raise SubmissionError("NOT_BATCHED", f"document {document_id} is not in a batch yet")
                    kind, target, payload = REVOKE_ROOT, batch.merkle_root, {"root": batch.merkle_root}
                else:
                    kind, target, payload = REVOKE_DOCUMENT, f"doc:{document_id}", {"documentId": document_id}
            elif root is not None:
                r = to_bytes32(root).hex()
                kind, target, payload = REVOKE_ROOT, r, {"root": r}
            else:
                raise SubmissionError("MISSING_TARGET", "name a document id or a root to revoke")
        payload["reason"] = reason
        return self._add_action(kind, sender, target, payload)

    def request_revocation_of(
        self, sender: str, root: str, document: str, proof: Sequence[str], reason: str | int = 0
    ) -> Action:
        """Queue a revocation of a document known by its wrapped proof (issued outside this outbox)."""
        sender = Web3.to_checksum_address(sender)
        doc = to_bytes32(document).hex()
        payload = {
            "root": to_bytes32(root).hex(),
            "document": doc,
            "proof": [to_bytes32(p).hex() for p in proof],
            "reason": reason,
        }
        return self._add_action(REVOKE_DOCUMENT, sender, doc, payload)

    def request_supersession(self, sender: str, old_document_id: int, new_document_id: int) -> Action:
        """Queue: outbox document `old` is replaced by outbox document `new` (both of this service)."""
        sender = Web3.to_checksum_address(sender)
        with self.sessions() as s:
            for i in (old_document_id, new_document_id):
                if s.get(Document, i) is None:
                    raise SubmissionError("NOT_FOUND", f"no document {i} in this outbox")
        payload = {"oldDocumentId": old_document_id, "newDocumentId": new_document_id}
        return self._add_action(SUPERSEDE, sender, f"doc:{old_document_id}", payload)

    def _add_action(self, kind: str, sender: str, target: str, payload: dict[str, Any]) -> Action:
        """One action per (kind, target): a repeated request returns the existing one while it is PENDING, SENT
        or DONE; a FAILED one is requested again (back to PENDING, with this request's sender and payload)."""
        for attempt in range(3):
            try:
                with self.sessions.begin() as s:
                    existing = s.scalar(select(Action).where(Action.kind == kind, Action.target == target))
                    if existing is None:
                        a = Action(kind=kind, sender=sender, target=target, payload=payload, state=PENDING)
                        s.add(a)
                        s.flush()
                        return a
                    if existing.state != FAILED:
                        return existing  # a repeated request returns the existing record
                    moved = s.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                        update(Action)
                        .where(Action.id == existing.id, Action.state == FAILED)
                        .values(
                            state=PENDING,
                            sender=sender,
                            payload=payload,
                            tx_hash=None,
                            raw_tx=None,
                            nonce=None,
                            block_number=None,
                            error=None,
                            updated_at=utcnow(),
                        )
                    ).rowcount
                    if moved == 1:
                        log.info(
                            "%s of %s (action %s) failed before (%s); requested again",
                            kind,
                            target,
                            existing.id,
                            existing.error,
                        )
                    s.flush()
                    s.expire(existing)
                    s.refresh(existing)
                    return existing
            except IntegrityError:  # a concurrent request inserted it first: read it on the next attempt
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    # ------------------------------------------------------------------ the worker

    def acquire_writer(self, wait: float = 0.0) -> None:
        """Hold this outbox's writer lock (one pipeline per outbox), waiting up to `wait` seconds for another
        pipeline to let go; `OutboxLocked` (saying who holds it) when it does not."""
        if self.writer.held():
            return
        deadline = time.monotonic() + wait
        told = False
        while not self.writer.try_acquire():
            if time.monotonic() >= deadline:
                raise OutboxLocked(f"{self.writer.describe()}; refusing to run a second pipeline on it")
            if not told:
                log.warning("%s; waiting up to %.0fs for it to finish", self.writer.describe(), wait)
                told = True
            time.sleep(0.2)

    def close(self) -> None:
        """Let go of the writer lock (another pipeline may then take over the outbox)."""
        self.writer.release()

    def run_once(self, force: bool = False) -> RunStats:
        """One pass: reconcile anchored batches with the chain, recover nonces, form due batches, send them,
        confirm sent ones, process actions. Refused (`OutboxLocked`) while another pipeline writes the outbox."""
        self.acquire_writer()
        stats = RunStats()
        stats.reanchored = self._reconcile()
        self._recover_nonces()
        stats.batched = self._form_batches(force)
        stats.sent = self._send_batches()
        stats.anchored = self._confirm_batches()
        done, failed = self._process_actions()
        stats.actions_done, stats.actions_failed = done, failed
        return stats

    def run_until_idle(
        self, timeout: float = 600.0, force: bool = True, progress: Callable[[int, int], None] | None = None
    ) -> RunStats:
        """Run passes until nothing is left to do (the CLI's `issue`). Waits (within `timeout`) for another
        pipeline writing the same outbox to finish first."""
        total = RunStats()
        deadline = time.monotonic() + timeout
        self.acquire_writer(wait=timeout)
        while True:
            st = self.run_once(force=force)
            for k in vars(total):
                setattr(total, k, getattr(total, k) + getattr(st, k))
            if progress:
                progress(*self.progress())
            if not self.has_work():
                return total
            if time.monotonic() > deadline:
                raise TransactionError(f"issuance not finished within {timeout}s")
            if not any(vars(st).values()):
                time.sleep(0.05)

    def run_forever(self, stop: threading.Event, interval: float = 0.2) -> None:
        """The service's worker: passes while this process holds the writer lock; a standby otherwise, taking
        over within a second or two when the holder ends (even killed)."""
        standby = False
        try:
            while not stop.is_set():
                try:
                    if not self.writer.held() and not self.writer.try_acquire():
                        if not standby:
                            log.info("issuance on standby: %s", self.writer.describe())
                            standby = True
                        stop.wait(1.0)
                        continue
                    if standby:
                        log.info("issuance: this process now writes the outbox")
                        standby = False
                    self.run_once()
                except Exception:  # keep the worker alive; the outbox keeps the work
                    log.exception("issuance pass failed; retrying")
                    stop.wait(2.0)
                stop.wait(interval)
        finally:
            self.close()

    def has_work(self) -> bool:
        with self.sessions() as s:
            return bool(
                s.scalar(select(Document.id).where(Document.state.in_([SUBMITTED, BATCHED, SENT])).limit(1))
                or s.scalar(select(Action.id).where(Action.state.in_([PENDING, SENT])).limit(1))
            )

    def progress(self) -> tuple[int, int]:
        from sqlalchemy import func

        with self.sessions() as s:
            total = s.scalar(select(func.count()).select_from(Document)) or 0
            done = s.scalar(select(func.count()).select_from(Document).where(Document.state == ANCHORED)) or 0
        return done, total

    def _emit(self, event: str) -> None:
        """Tell the listeners (the service's metrics) about a recovery event."""
        self.events[event] = self.events.get(event, 0) + 1
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:  # a metrics hiccup never stops issuance
                log.exception("pipeline event listener failed")

    # -- guarded state transitions: a row that moved on meanwhile is skipped (and logged), never overwritten
    def _move_batch(
        self, s: Session, batch_id: int, expected: str, new: str, where: Sequence[Any] = (), **values: Any
    ) -> bool:
        """Batch `expected` -> `new` (its documents with it), in the caller's transaction; False, with nothing
        changed, when the batch is no longer `expected` (or fails `where`): another step or writer moved it."""
        moved = s.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
            update(Batch)
            .where(Batch.id == batch_id, Batch.state == expected, *where)
            .values(state=new, updated_at=utcnow(), **values)
        ).rowcount
        if moved != 1:
            now = s.scalar(select(Batch.state).where(Batch.id == batch_id))
            log.warning("batch %s is %s, no longer %s as this step expected: skipped", batch_id, now, expected)
            return False
        if new != expected:
            s.execute(update(Document).where(Document.batch_id == batch_id).values(state=new, updated_at=utcnow()))
        return True

    def _set_action(self, action_id: int, expected: str, **values: Any) -> bool:
        with self.sessions.begin() as s:
            moved = s.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                update(Action)
                .where(Action.id == action_id, Action.state == expected)
                .values(updated_at=utcnow(), **values)
            ).rowcount
        if moved != 1:
            log.warning("action %s is no longer %s as this step expected: skipped", action_id, expected)
        return moved == 1

    # -- where a batch's anchor lives
    def _anchor_on_chain(self, batch: Batch) -> AnchorRecord | None:
        """The anchor of `batch`'s root as the chain has it now (its block is in the record), when it was
        anchored in the batch's authority's store by a key of that authority; None otherwise.

        The one place that knows where a batch's anchor lives: recovery (a crash after sending), confirmation
        and reconciliation all ask here. The store is the batch's authority's, and the anchoring key must belong
        to that authority (the same root anchored by anyone else, anywhere else, does not count)."""
        return anchor_by(self.store_of(batch.issuer), batch.merkle_root, self._store_of_key, f"batch {batch.id}")

    def _store_of_key(self, key: str) -> str | None:
        """The store of the authority a key belongs to (cached: a key never moves to another authority)."""
        if key not in self._key_stores:
            self._key_stores[key] = self.registry.store_of_key(key)
        return self._key_stores[key]

    def _deep_enough(self, block_number: int, head: int | None = None) -> bool:
        head = self.w3.eth.block_number if head is None else head
        return head - block_number >= self.config.confirmations

    # -- reconciliation: ANCHORED only while the chain says so
    def _reconcile(self) -> int:
        """Check ANCHORED batches (and DONE actions) against the chain: those in blocks the node no longer has
        (a node restart that lost blocks, a reorg: found by the recorded block hashes, newest first), and
        periodically every one anchored in the last `reconcile_window` blocks. Returns the batches sent back
        to be anchored again."""
        head = self.w3.eth.block_number
        went_back = self._last_head is not None and head < self._last_head
        if went_back:
            log.warning(
                "the chain head went back from block %s to %s (a node restart or a reorg): reconciling",
                self._last_head,
                head,
            )
        self._last_head = head
        lost_from = self._first_lost_block(head)
        # a head that went back may have lost blocks below a record that still matches (one made on the new
        # chain before this check): the whole window is checked then, as periodically
        periodic = went_back or time.monotonic() - self._last_reconcile >= self.config.reconcile_interval
        if lost_from is None and not periodic:
            return 0
        from_block = lost_from if lost_from is not None else head
        if periodic:
            from_block = min(from_block, max(0, head - self.config.reconcile_window))
            self._last_reconcile = time.monotonic()
        if lost_from is not None:
            log.warning(
                "block %s recorded for an anchored batch is no longer on the chain: reconciling from it", lost_from
            )
        with self.sessions() as s:
            batches = list(
                s.scalars(
                    select(Batch).where(Batch.state == ANCHORED, Batch.block_number >= from_block).order_by(Batch.id)
                )
            )
            actions = list(
                s.scalars(
                    select(Action).where(Action.state == DONE, Action.block_number >= from_block).order_by(Action.id)
                )
            )
        again = sum(self._reconcile_batch(b, head) for b in batches)
        for a in actions:
            self._reconcile_action(a)
        return again

    def _first_lost_block(self, head: int) -> int | None:
        """The lowest recorded anchoring block the chain no longer has (walking down from the newest recorded
        block until one still matches its hash: a block that matches vouches for its ancestors)."""
        lowest: int | None = None
        last: int | None = None
        while True:
            with self.sessions() as s:
                q = (
                    select(Batch.block_number, Batch.block_hash)
                    .where(Batch.state == ANCHORED, Batch.block_number.is_not(None))
                    .order_by(Batch.block_number.desc())
                    .limit(1)
                )
                if last is not None:
                    q = q.where(Batch.block_number < last)
                row = s.execute(q).first()
            if row is None:
                return lowest
            number, recorded = row
            assert number is not None  # the query skips batches without a block
            last = number
            if number <= head:
                try:
                    if self.w3.eth.get_block(number)["hash"].to_0x_hex() == recorded:
                        return lowest
                except BlockNotFound:
                    pass
            lowest = number

    def _reconcile_batch(self, b: Batch, head: int) -> int:
        """One ANCHORED batch against the chain: still there (in its block, or re-mined deep enough); moved to
        a block not yet deep enough (back to BATCHED to wait for the depth); or gone (back to BATCHED to be
        anchored again: the same root and wrapped documents, so what was handed out stays valid)."""
        rec = self._anchor_on_chain(b)
        now = utcnow()
        guard = (Batch.block_hash == b.block_hash,) if b.block_hash else ()
        if rec is None:
            detail = (
                f"root not on chain at block {head}: it was anchored in block {b.block_number} "
                f"({b.block_hash}, transaction {b.tx_hash}), which the node no longer has"
            )
            with self.sessions.begin() as s:
                if not self._move_batch(
                    s,
                    b.id,
                    ANCHORED,
                    BATCHED,
                    guard,
                    tx_hash=None,
                    raw_tx=None,
                    nonce=None,
                    block_number=None,
                    block_hash=None,
                    anchored_at=None,
                    reanchored_count=Batch.reanchored_count + 1,
                    last_reconciled_at=now,
                ):
                    return 0
                s.add(
                    BatchEvent(
                        batch_id=b.id,
                        event=EV_REANCHOR,
                        detail=detail,
                        block_number=b.block_number,
                        block_hash=b.block_hash,
                        tx_hash=b.tx_hash,
                    )
                )
            log.warning("batch %s (root %s) is anchored again: %s", b.id, b.merkle_root, detail)
            self._emit("reanchored")
            return 1
        try:
            block_hash = self.w3.eth.get_block(rec.block_number)["hash"].to_0x_hex()
        except BlockNotFound:  # the node answers the state a moment before the block: next pass
            return 0
        if rec.block_number == b.block_number and block_hash == b.block_hash:
            with self.sessions.begin() as s:
                s.execute(update(Batch).where(Batch.id == b.id, Batch.state == ANCHORED).values(last_reconciled_at=now))
            return 0
        tx = self.store_of(b.issuer).anchoring_tx(b.merkle_root, rec.block_number)
        detail = (
            f"re-mined in block {rec.block_number} ({block_hash}); recorded block {b.block_number} "
            f"({b.block_hash}) is no longer on the chain"
        )
        with self.sessions.begin() as s:
            if self._deep_enough(rec.block_number, head):
                moved = self._move_batch(
                    s,
                    b.id,
                    ANCHORED,
                    ANCHORED,
                    guard,
                    block_number=rec.block_number,
                    block_hash=block_hash,
                    anchored_at=rec.anchored_at,
                    tx_hash=tx or b.tx_hash,
                    last_reconciled_at=now,
                )
            else:  # BATCHED: the send step finds the anchor on chain and records it once deep enough
                detail += f"; not {self.config.confirmations} blocks deep yet"
                moved = self._move_batch(
                    s,
                    b.id,
                    ANCHORED,
                    BATCHED,
                    guard,
                    tx_hash=None,
                    raw_tx=None,
                    nonce=None,
                    block_number=None,
                    block_hash=None,
                    anchored_at=None,
                    last_reconciled_at=now,
                )
            if not moved:
                return 0
            s.add(
                BatchEvent(
                    batch_id=b.id,
                    event=EV_MOVED,
                    detail=detail,
                    block_number=rec.block_number,
                    block_hash=block_hash,
                    tx_hash=tx,
                )
            )
        log.warning("batch %s (root %s): %s", b.id, b.merkle_root, detail)
        self._emit("moved")
        return 0

    def _reconcile_action(self, a: Action) -> None:
        """A DONE revocation or supersession the chain no longer shows goes back to PENDING (sent again)."""
        try:
            present = self._action_on_chain(a)
        except Exception as exc:  # an unreadable target: leave it, the next reconciliation tries again
            log.warning("action %s could not be checked on chain: %s", a.id, exc)
            return
        if present is False:
            log.warning(
                "%s %s (action %s, block %s) is no longer on the chain: sending it again",
                a.kind,
                a.target,
                a.id,
                a.block_number,
            )
            if self._set_action(
                a.id,
                DONE,
                state=PENDING,
                tx_hash=None,
                raw_tx=None,
                nonce=None,
                block_number=None,
                error=f"lost from the chain (was in block {a.block_number}); sent again",
            ):
                self._emit("action_resent")

    def _action_on_chain(self, a: Action) -> bool | None:
        """Whether the chain shows the action's effect (None: cannot tell, e.g. its document is not anchored)."""
        p = a.payload
        if a.kind == REVOKE_ROOT:
            return self.store_of(a.sender).is_revoked(p["root"])
        if a.kind == REVOKE_DOCUMENT:
            target = p.get("document")
            if target is None:
                with self.sessions() as s:
                    d = s.get(Document, p["documentId"])
                    target = d.target_hash if d is not None else None
            return None if target is None else self.store_of(a.sender).revocation_of(target) is not None
        with self.sessions() as s:
            d = s.get(Document, p["oldDocumentId"])
            target = d.target_hash if d is not None else None
        return None if target is None else self.store_of(a.sender).supersession_of(target) is not None

    # -- nonces that recover
    def _recover_nonces(self) -> int:
        """Per issuer key: can the node still mine every transaction of ours it has not mined? It cannot when
        its account nonce went backwards (it lost blocks) or when a nonce below ours is held by no transaction
        (ours lost with those blocks, or dropped from its pool): every transaction behind such a gap would wait
        for ever. Then every unmined transaction of that key is signed again from the node's nonce (batches
        back to BATCHED, actions to PENDING). Otherwise transactions the node does not know are broadcast
        again in nonce order (same bytes, same hash). Returns the keys whose nonces were reset."""
        with self.sessions() as s:
            batches = s.execute(
                select(Batch.id, Batch.issuer, Batch.nonce, Batch.tx_hash, Batch.raw_tx).where(Batch.state == SENT)
            ).all()
            actions = s.execute(
                select(Action.id, Action.sender, Action.nonce, Action.tx_hash, Action.raw_tx).where(
                    Action.state == SENT
                )
            ).all()
        resets = 0
        for address, signer in self.signers.items():
            rows = [("batch", *r[:1], *r[2:]) for r in batches if r.issuer == address]
            rows += [("action", *r[:1], *r[2:]) for r in actions if r.sender == address]
            unmined = sorted((r for r in rows if self._receipt(r[3]) is None), key=lambda r: r[2] or 0)
            latest = self.w3.eth.get_transaction_count(address, "latest")
            pending = self.w3.eth.get_transaction_count(address, "pending")
            seen = self._seen_nonce.get(address)
            self._seen_nonce[address] = latest
            regressed = seen is not None and latest < seen
            top = max([signer.next_nonce or 0] + [(r[2] or 0) + 1 for r in unmined])
            held = {r[2] for r in unmined}
            gap = [n for n in range(pending, top) if n not in held]
            if not regressed and not gap:
                for kind, row_id, nonce, tx_hash, raw in unmined:  # the node forgot them: same bytes again
                    if nonce is not None and nonce >= pending and raw and not self._known(tx_hash):
                        try:
                            signer.broadcast(raw, f"{kind} {row_id}")
                        except TransactionError as exc:  # the confirm step decides
                            log.info("rebroadcast of %s %s failed: %s", kind, row_id, exc)
                continue
            why = (
                f"its nonce went back from {seen} to {latest}"
                if regressed
                else f"no transaction holds nonce(s) {gap[:5]}{'...' if len(gap) > 5 else ''}"
            )
            log.warning(
                "issuer key %s: the node cannot mine our transactions (%s; node nonce %s): signing %d "
                "unmined transaction(s) again from the node's nonce",
                address,
                why,
                pending,
                len(unmined),
            )
            for kind, row_id, nonce, tx_hash, _ in unmined:
                if kind == "batch":
                    with self.sessions.begin() as s:
                        if self._move_batch(
                            s, row_id, SENT, BATCHED, (Batch.tx_hash == tx_hash,), tx_hash=None, raw_tx=None, nonce=None
                        ):
                            s.add(
                                BatchEvent(
                                    batch_id=row_id,
                                    event=EV_RESIGN,
                                    tx_hash=tx_hash,
                                    detail=f"transaction {tx_hash} (nonce {nonce}) cannot be mined: {why}",
                                )
                            )
                else:
                    self._set_action(row_id, SENT, state=PENDING, tx_hash=None, raw_tx=None, nonce=None)
            signer.reset_nonce()
            self._emit("nonce_reset")
            resets += 1
        return resets

    def _known(self, tx_hash: str | None) -> bool:
        """The node knows the transaction (mined or in its pool)."""
        if not tx_hash:
            return False
        try:
            return self.w3.eth.get_transaction(cast("HexStr", tx_hash)) is not None
        except Exception:  # TransactionNotFound
            return False

    # -- SUBMITTED -> BATCHED
    def _form_batches(self, force: bool) -> int:
        formed = 0
        now = utcnow()
        with self.sessions() as s:
            groups = list(pending_groups(s))
        for issuer, doc_type, count, oldest in groups:
            if issuer not in self.signers:
                continue
            due = force or count >= self.config.max_batch or (now - oldest).total_seconds() >= self.config.max_age
            while due and count > 0:
                n = self._form_one(issuer, doc_type)
                if n == 0:
                    break
                formed += n
                count -= n
                due = force or count >= self.config.max_batch
        return formed

    def _form_one(self, issuer: str, doc_type: str) -> int:
        try:
            with self.sessions.begin() as s:
                query = (
                    select(Document.id, Document.raw)
                    .where(Document.state == SUBMITTED, Document.issuer == issuer, Document.document_type == doc_type)
                    .order_by(Document.id)
                    .limit(self.config.max_batch)
                )
                if s.get_bind().dialect.name == "postgresql":  # a second worker skips rows this one is batching
                    query = query.with_for_update(skip_locked=True)
                rows = s.execute(query).all()
                if not rows:
                    return 0
                root, wrapped = wrap_documents([raw for _, raw in rows], as_json=True)
                batch = Batch(issuer=issuer, document_type=doc_type, merkle_root=root, count=len(rows), state=BATCHED)
                s.add(batch)
                s.flush()
                table = Document.__table__
                claimed = s.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                    update(table)
                    .where(table.c.id.in_([i for i, _ in rows]), table.c.state == SUBMITTED)
                    .values(state=BATCHED, batch_id=batch.id, updated_at=utcnow())
                ).rowcount
                if claimed != len(rows):  # another writer batched some of them meanwhile: this batch vanishes
                    raise _Moved(f"{len(rows) - claimed} of {len(rows)} documents were batched by another writer")
                s.execute(
                    update(table)
                    .where(table.c.id == bindparam("doc_id"))
                    .values(wrapped=bindparam("doc_wrapped"), target_hash=bindparam("doc_target")),
                    [
                        {"doc_id": doc_id, "doc_wrapped": orjson.Fragment(w), "doc_target": target_hash_of(w)}
                        for (doc_id, _), w in zip(
                            rows, wrapped, strict=True
                        )  # the wrapped JSON goes to the column as it is
                    ],
                )
                faults.crash_point("batching")  # before the commit: the batch must vanish whole
        except _Moved as exc:
            log.warning("batch of %s %s not formed: %s", issuer, doc_type, exc)
            return 0
        faults.crash_point("batched")
        return len(rows)

    # -- BATCHED -> SENT
    def _send_batches(self) -> int:
        sent = 0
        with self.sessions() as s:
            batches = list(s.scalars(select(Batch).where(Batch.state == BATCHED).order_by(Batch.id)))
        for b in batches:
            signer = self.signers.get(cast("ChecksumAddress", b.issuer))
            if signer is None:
                continue
            anchor = self._anchor_on_chain(b)
            if anchor is not None:  # anchored before (a crash after sending): record it once deep enough
                if self._deep_enough(anchor.block_number):
                    self._mark_anchored(b.id, BATCHED, anchor.block_number, recovered_root=b.merkle_root)
                continue
            store = self.store_of(b.issuer, signer)
            fn = store.function("anchor", to_bytes32(b.merkle_root), DOCUMENT_TYPES[b.document_type], b.count)
            try:
                signed = signer.sign(fn, f"anchor batch {b.id}")
            except chain_errors.ContractRevert as exc:
                log.warning("batch %s (root %s) cannot be anchored now: %s", b.id, b.merkle_root, exc)
                continue
            except SignerError as exc:  # an external signer refused or is away: nothing sent, retried later
                log.warning("batch %s (root %s) not signed: %s", b.id, b.merkle_root, exc)
                continue
            with self.sessions.begin() as s:
                recorded = self._move_batch(
                    s, b.id, BATCHED, SENT, tx_hash=signed.hash, raw_tx=signed.raw, nonce=signed.nonce
                )
            if not recorded:  # never broadcast: its nonce is free again
                signer.reset_nonce()
                continue
            faults.crash_point("signed")
            try:
                signer.broadcast(signed.raw, f"anchor batch {b.id}")
            except TransactionError as exc:  # confirm step retries
                log.warning("broadcast of batch %s failed: %s", b.id, exc)
            faults.crash_point("broadcast")
            sent += 1
        return sent

    # -- SENT -> ANCHORED
    def _confirm_batches(self) -> int:
        anchored = 0
        with self.sessions() as s:
            batches = list(s.scalars(select(Batch).where(Batch.state == SENT).order_by(Batch.id)))
        deadline = time.monotonic() + self.config.receipt_timeout
        for b in batches:
            receipt = self._receipt(b.tx_hash)
            if receipt is None:
                anchor = self._anchor_on_chain(b)
                if anchor is not None:
                    if self._deep_enough(anchor.block_number):
                        anchored += self._mark_anchored(b.id, SENT, anchor.block_number, recovered_root=b.merkle_root)
                    continue
                signer = self.signers.get(cast("ChecksumAddress", b.issuer))
                if signer is None:
                    continue
                if not b.raw_tx:
                    self._back_to_batched(b, "no signed transaction recorded")
                    continue
                try:
                    signer.broadcast(b.raw_tx, f"anchor batch {b.id}")
                except NonceConsumed:
                    self._back_to_batched(b, "nonce taken by another transaction")
                    continue
                except TransactionError as exc:
                    log.warning("rebroadcast of batch %s failed: %s", b.id, exc)
                    continue
                receipt = self._wait_receipt(b.tx_hash, max(0.5, deadline - time.monotonic()))
                if receipt is None:
                    continue
            if receipt["status"] != 1:
                anchor = self._anchor_on_chain(b)
                if anchor is not None:
                    if self._deep_enough(anchor.block_number):
                        anchored += self._mark_anchored(b.id, SENT, anchor.block_number, recovered_root=b.merkle_root)
                else:
                    self._back_to_batched(b, f"transaction {b.tx_hash} reverted")
                continue
            if not self._deep_enough(receipt["blockNumber"]):
                continue  # not deep enough yet: next pass
            faults.crash_point("mined")
            anchored += self._mark_anchored(b.id, SENT, receipt["blockNumber"], receipt["blockHash"].to_0x_hex())
        return anchored

    def _receipt(self, tx_hash: str | None) -> Any:
        if not tx_hash:
            return None
        try:
            return self.w3.eth.get_transaction_receipt(cast("HexStr", tx_hash))
        except Exception:  # TransactionNotFound, or a node that answers null
            return None

    def _wait_receipt(self, tx_hash: str | None, timeout: float) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self._receipt(tx_hash)
            if r is not None:
                return r
            time.sleep(0.05)
        return None

    def _back_to_batched(self, b: Batch, why: str) -> None:
        log.warning("batch %s goes back to BATCHED: %s", b.id, why)
        with self.sessions.begin() as s:
            self._move_batch(
                s, b.id, SENT, BATCHED, (Batch.tx_hash == b.tx_hash,), tx_hash=None, raw_tx=None, nonce=None
            )

    def _mark_anchored(
        self,
        batch_id: int,
        expected: str,
        block_number: int,
        block_hash: str | None = None,
        recovered_root: str | None = None,
    ) -> bool:
        """Record the batch (now `expected`) as anchored in ``block_number``. False, with nothing changed, when
        the node does not show that block yet (anvil can answer a receipt a moment before the block): the next
        pass records it. `recovered_root`: the anchor was found on chain rather than by our transaction's
        receipt (a crash, or a transaction sent again): the transaction that anchored it is read from its log,
        for the record."""
        try:
            block = self.w3.eth.get_block(block_number)
        except BlockNotFound:
            log.info("block %s of batch %s is not visible yet; recording it on the next pass", block_number, batch_id)
            return False
        values: dict[str, Any] = dict(
            block_number=block_number,
            block_hash=block_hash or block["hash"].to_0x_hex(),
            anchored_at=block["timestamp"],
            raw_tx=None,
        )
        if recovered_root is not None:
            with self.sessions() as s:
                issuer = s.get(Batch, batch_id).issuer  # type: ignore[union-attr]  # the batch being marked exists
            tx = self.store_of(issuer).anchoring_tx(recovered_root, block_number)
            if tx is not None:
                values["tx_hash"] = tx
        with self.sessions.begin() as s:
            if not self._move_batch(s, batch_id, expected, ANCHORED, **values):
                return False
            s.add(
                BatchEvent(
                    batch_id=batch_id,
                    event=EV_ANCHORED,
                    block_number=block_number,
                    block_hash=values["block_hash"],
                    tx_hash=values.get("tx_hash") or s.scalar(select(Batch.tx_hash).where(Batch.id == batch_id)),
                    detail="found on chain" if recovered_root is not None else None,
                )
            )
        return True

    # -- actions
    def _process_actions(self) -> tuple[int, int]:
        done = failed = 0
        with self.sessions() as s:
            actions = list(s.scalars(select(Action).where(Action.state.in_([PENDING, SENT])).order_by(Action.id)))
        for a in actions:
            signer = self.signers.get(cast("ChecksumAddress", a.sender))
            if signer is None:
                continue
            if a.state == SENT:
                receipt = self._receipt(a.tx_hash)
                if receipt is None:
                    if not a.raw_tx:
                        self._set_action(a.id, SENT, state=PENDING, tx_hash=None, nonce=None)
                        continue
                    try:
                        signer.broadcast(a.raw_tx, f"action {a.id}")
                    except NonceConsumed:
                        self._set_action(a.id, SENT, state=PENDING, tx_hash=None, raw_tx=None, nonce=None)
                        continue
                    except TransactionError:
                        continue
                    receipt = self._wait_receipt(a.tx_hash, self.config.receipt_timeout)
                    if receipt is None:
                        continue
                if receipt["status"] == 1:
                    if self._deep_enough(receipt["blockNumber"]):
                        if self._set_action(a.id, SENT, state=DONE, block_number=receipt["blockNumber"], raw_tx=None):
                            done += 1
                else:
                    self._set_action(a.id, SENT, state=PENDING, tx_hash=None, raw_tx=None, nonce=None)
                continue
            fn = self._action_call(a, signer)
            if fn is None:
                continue  # its documents are not anchored yet
            try:
                signed = signer.sign(fn, f"{a.kind.lower()} {a.id}")
            except (chain_errors.AlreadyRevoked, chain_errors.AlreadySuperseded) as exc:
                if self._set_action(a.id, PENDING, state=DONE, error=f"already on chain: {exc}"):
                    done += 1
                continue
            except chain_errors.ContractRevert as exc:
                if self._set_action(a.id, PENDING, state=FAILED, error=str(exc)):
                    failed += 1
                continue
            except SignerError as exc:  # an external signer refused or is away: nothing sent, retried later
                log.warning("action %s not signed: %s", a.id, exc)
                continue
            if not self._set_action(
                a.id, PENDING, state=SENT, tx_hash=signed.hash, raw_tx=signed.raw, nonce=signed.nonce
            ):
                signer.reset_nonce()  # never broadcast: its nonce is free again
                continue
            faults.crash_point("action_signed")
            try:
                signer.broadcast(signed.raw, f"action {a.id}")
            except TransactionError as exc:
                log.warning("broadcast of action %s failed: %s", a.id, exc)
                continue
            receipt = self._wait_receipt(signed.hash, self.config.receipt_timeout)
            if receipt is not None and receipt["status"] == 1 and self.config.confirmations == 0:
                if self._set_action(a.id, SENT, state=DONE, block_number=receipt["blockNumber"], raw_tx=None):
                    done += 1
        return done, failed

    def _action_call(self, a: Action, signer: Transactor) -> Any:
        store = self.store_of(a.sender, signer)
        p = a.payload
        if a.kind == REVOKE_ROOT:
            with self.sessions() as s:  # a batch of ours being (re-)anchored: wait for it
                state = s.scalar(select(Batch.state).where(Batch.merkle_root == p["root"]))
            if state is not None and state != ANCHORED:
                return None
            return store.function("revokeRoot", to_bytes32(p["root"]), reason_code(p["reason"]))
        if a.kind == REVOKE_DOCUMENT:
            if "documentId" in p:
                located = self._locate(p["documentId"])
                if located is None:
                    return None
                root, doc, proof = located
            else:
                root, doc, proof = p["root"], p["document"], p["proof"]
            return store.function(
                "revokeDocument",
                to_bytes32(root),
                to_bytes32(doc),
                [to_bytes32(x) for x in proof],
                reason_code(p["reason"]),
            )
        old, new = self._locate(p["oldDocumentId"]), self._locate(p["newDocumentId"])
        if old is None or new is None:
            return None
        with self.sessions() as s:
            new_issuer = s.get(Document, p["newDocumentId"]).issuer  # type: ignore[union-attr]  # found above as `new`
        new_store = self.issuer_info(new_issuer).store
        return store.function("supersede", *_proof_args(old), new_store, *_proof_args(new))

    def _locate(self, document_id: int) -> tuple[str, str, list[str]] | None:
        """(root, targetHash, proof) of an anchored outbox document; None while it is not anchored."""
        with self.sessions() as s:
            d = s.get(Document, document_id)
            if d is None or d.state != ANCHORED or d.wrapped is None:
                return None
            sig = d.wrapped["signature"]
            return sig["merkleRoot"], sig["targetHash"], list(sig["proof"])


def anchor_by(
    store: DocumentStoreClient, root: str, store_of_key: Callable[[str], str | None], what: str = ""
) -> AnchorRecord | None:
    """The anchor of `root` in an authority's `store` as the chain has it now, when a key of that authority
    anchored it (`store_of_key`: the store a key belongs to); None otherwise (logged when the root is there but
    the key is not the authority's). Shared by the pipeline's `_anchor_on_chain` and bulk issuance."""
    rec = store.anchor_of(root)
    if rec is None:
        return None
    owner = store_of_key(rec.key)
    if owner is None or Web3.to_checksum_address(owner) != Web3.to_checksum_address(store.address):
        log.error(
            "root %s%s is anchored in store %s by %s, a key not of that store's authority",
            root,
            f" ({what})" if what else "",
            store.address,
            rec.key,
        )
        return None
    return rec


class _Moved(Exception):
    """Rows this step meant to move were moved by another writer: the transaction is rolled back."""


def _proof_args(located: tuple[str, str, list[str]]) -> tuple[bytes, bytes, list[bytes]]:
    root, doc, proof = located
    return to_bytes32(root), to_bytes32(doc), [to_bytes32(x) for x in proof]


def documents_of_batch(sessions: sessionmaker[Session], batch_id: int) -> Iterable[Document]:
    with sessions() as s:
        return list(s.scalars(select(Document).where(Document.batch_id == batch_id).order_by(Document.id)))
