"""The anchoring pipeline: accepts submissions into the outbox, batches, wraps, anchors, revokes.

Every step is written to the database before the next one starts, and every step can be repeated:

* forming a batch (SUBMITTED -> BATCHED) is one database transaction: documents, proofs and root together;
* sending (BATCHED -> SENT) first asks the chain whether the root is already anchored, then signs the
  transaction and records it (hash and raw bytes) *before* broadcasting it;
* confirming (SENT -> ANCHORED) looks for the receipt at the confirmation depth; a transaction the node
  has lost is broadcast again (same bytes, same hash); if its nonce was taken, the chain is asked whether
  the root is anchored, else the batch goes back to BATCHED and is signed anew.

The contract refuses a root twice, so no document is ever anchored twice, and no accepted document is lost:
after a crash at any point, `run_once` picks up where the previous process stopped.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import orjson
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import BlockNotFound

from certnet.issuer import faults
from certnet.issuer.envelope import EnvelopeError, complete_envelope
from certnet.issuer.outbox import (
    ANCHORED,
    BATCHED,
    DONE,
    FAILED,
    PENDING,
    REVOKE_DOCUMENT,
    REVOKE_ROOT,
    SENT,
    SUBMITTED,
    SUPERSEDE,
    Action,
    Batch,
    Document,
    canonical_hash,
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


class SubmissionError(ValueError):
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


@dataclass
class RunStats:
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
        select(Document.id, Document.reference_number, Document.document_type, Document.state, Document.batch_id,
               Document.target_hash, Batch.merkle_root, Document.content_hash)
        .outerjoin(Batch, Batch.id == Document.batch_id)
        .where(Document.issuer == issuer, Document.issuing_country == country, Document.reference_number.in_(refs)))
    return {r.reference_number: Submitted(*r) for r in rows}


class IssuerInfo(NamedTuple):
    """The issuing authority an issuer key belongs to."""

    country: str
    name: str
    store: str


class Pipeline:
    """Issuance for the issuer accounts whose signers it holds, against one deployment."""

    def __init__(self, sessions: sessionmaker[Session], w3: Web3, deployment: Deployment,
                 signers: dict[str, Transactor], config: PipelineConfig | None = None) -> None:
        self.sessions = sessions
        self.w3 = w3
        self.deployment = deployment
        self.signers = {Web3.to_checksum_address(a): s for a, s in signers.items()}
        self.config = config or PipelineConfig()
        self.registry = deployment.issuer_registry_client(w3)
        self._issuer_info: dict[str, IssuerInfo] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ submission

    def issuer_info(self, issuer: str) -> IssuerInfo:
        """The issuing authority of an issuer key — its country, name and document store — from the chain (cached)."""
        issuer = Web3.to_checksum_address(issuer)
        if issuer not in self._issuer_info:
            try:
                store = self.registry.key_info(issuer).store
                authority = self.registry.authority(store) if store else None
            except Exception as exc:  # the node is unreachable: nothing was accepted
                raise SubmissionError("CHAIN_UNAVAILABLE", f"the issuer registry cannot be read now ({type(exc).__name__}); "
                                      "retry later") from None
            if authority is None:
                raise SubmissionError("UNKNOWN_ISSUER", f"{issuer} is not a key of an issuing authority on this network")
            self._issuer_info[issuer] = IssuerInfo(authority.country, authority.name, authority.store)
        return self._issuer_info[issuer]

    def _anchor_of(self, b: Batch) -> AnchorRecord | None:
        """The batch's root as anchored in its own authority's store (only that authority's keys can anchor there:
        the same root anchored by anyone else, anywhere else, does not count)."""
        return self.store_of(b.issuer).anchor_of(b.merkle_root)

    def store_of(self, issuer: str, signer: Transactor | None = None) -> DocumentStoreClient:
        """The document store of an issuer key's authority (sending from `signer` when given)."""
        return DocumentStoreClient(self.w3, self.issuer_info(issuer).store, signer)

    def submit(self, issuer: str, documents: Sequence[dict[str, Any]],
               document_type: str | None = None) -> list[Submitted]:
        """Validate and durably accept documents; returns their records (existing ones for repeats)."""
        issuer = Web3.to_checksum_address(issuer)
        if issuer not in self.signers:
            raise SubmissionError("UNKNOWN_ISSUER", f"this service holds no key for issuer {issuer}")
        if not documents:
            raise SubmissionError("EMPTY_SUBMISSION", "no documents submitted")
        if len(documents) > MAX_DOCUMENTS_PER_SUBMISSION:
            raise SubmissionError("TOO_MANY_DOCUMENTS",
                                  f"{len(documents)} documents; at most {MAX_DOCUMENTS_PER_SUBMISSION} per submission")
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
                raise SubmissionError("WRONG_COUNTRY", f"issuingCountry {data['issuingCountry']} but issuer "
                                      f"{issuer} belongs to {country}", f"{where}.issuingCountry")
            ref = data["referenceNumber"]
            if ref in seen:
                raise SubmissionError("DUPLICATE_REFERENCE", f"reference number {ref!r} repeats "
                                      f"documents.{seen[ref]}", f"{where}.referenceNumber")
            seen[ref] = i
            prepared.append((data, canonical_hash(data)))
        refs = [p[0]["referenceNumber"] for p in prepared]
        with self._lock, self.sessions.begin() as s:
            existing = _submitted_records(s, issuer, country, refs)
            for i, (data, h) in enumerate(prepared):
                ref = data["referenceNumber"]
                if ref in existing and existing[ref].content_hash != h:
                    raise SubmissionError(
                        "REFERENCE_CONFLICT", f"reference number {ref!r} was already submitted by this issuer "
                        "with different content (use supersession to replace a certificate)",
                        f"documents.{i}.referenceNumber")
            now = utcnow()
            new_rows = [{"issuer": issuer, "issuing_country": country, "reference_number": data["referenceNumber"],
                         "document_type": data["documentType"], "content_hash": h, "raw": data, "state": SUBMITTED,
                         "created_at": now, "updated_at": now}
                        for data, h in prepared if data["referenceNumber"] not in existing]
            if new_rows:  # one executemany INSERT, then the new ids by the unique (issuer, country, reference)
                s.execute(insert(Document.__table__), new_rows)
                existing.update(_submitted_records(s, issuer, country, [r["reference_number"] for r in new_rows]))
        return [existing[ref] for ref in refs]

    def request_revocation(self, sender: str, *, document_id: int | None = None, root: str | None = None,
                           reason: str | int = 0, whole_batch: bool = False) -> Action:
        """Queue a revocation of one document (by outbox id) or a whole batch (by root or `whole_batch`)."""
        sender = Web3.to_checksum_address(sender)
        if sender not in self.signers:
            raise SubmissionError("UNKNOWN_SENDER", f"this service holds no key for {sender}")
        with self.sessions.begin() as s:
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
            return self._add_action(s, kind, sender, target, payload)

    def request_revocation_of(self, sender: str, root: str, document: str, proof: Sequence[str],
                              reason: str | int = 0) -> Action:
        """Queue a revocation of a document known by its wrapped proof (issued outside this outbox)."""
        sender = Web3.to_checksum_address(sender)
        doc = to_bytes32(document).hex()
        payload = {"root": to_bytes32(root).hex(), "document": doc, "proof": [to_bytes32(p).hex() for p in proof],
                   "reason": reason}
        with self.sessions.begin() as s:
            return self._add_action(s, REVOKE_DOCUMENT, sender, doc, payload)

    def request_supersession(self, sender: str, old_document_id: int, new_document_id: int) -> Action:
        """Queue: outbox document `old` is replaced by outbox document `new` (both of this service)."""
        sender = Web3.to_checksum_address(sender)
        with self.sessions.begin() as s:
            for i in (old_document_id, new_document_id):
                if s.get(Document, i) is None:
                    raise SubmissionError("NOT_FOUND", f"no document {i} in this outbox")
            payload = {"oldDocumentId": old_document_id, "newDocumentId": new_document_id}
            return self._add_action(s, SUPERSEDE, sender, f"doc:{old_document_id}", payload)

    def _add_action(self, s: Session, kind: str, sender: str, target: str, payload: dict[str, Any]) -> Action:
        existing = s.scalar(select(Action).where(Action.kind == kind, Action.target == target))
        if existing is not None:
            return existing  # a repeated request returns the existing record
        a = Action(kind=kind, sender=sender, target=target, payload=payload, state=PENDING)
        s.add(a)
        s.flush()
        return a

    # ------------------------------------------------------------------ the worker

    def run_once(self, force: bool = False) -> RunStats:
        """One pass: form due batches, send them, confirm sent ones, process actions."""
        stats = RunStats()
        stats.batched = self._form_batches(force)
        stats.sent = self._send_batches()
        stats.anchored = self._confirm_batches()
        done, failed = self._process_actions()
        stats.actions_done, stats.actions_failed = done, failed
        return stats

    def run_until_idle(self, timeout: float = 600.0, force: bool = True,
                       progress: Callable[[int, int], None] | None = None) -> RunStats:
        """Run passes until nothing is left to do (the CLI's `issue`)."""
        total = RunStats()
        deadline = time.monotonic() + timeout
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
            if not (st.batched or st.sent or st.anchored or st.actions_done or st.actions_failed):
                time.sleep(0.05)

    def run_forever(self, stop: threading.Event, interval: float = 0.2) -> None:
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep the worker alive; the outbox keeps the work
                log.exception("issuance pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)

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
        with self.sessions.begin() as s:
            query = (select(Document.id, Document.raw)
                     .where(Document.state == SUBMITTED, Document.issuer == issuer, Document.document_type == doc_type)
                     .order_by(Document.id).limit(self.config.max_batch))
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
            s.execute(update(table).where(table.c.id == bindparam("doc_id")).values(
                state=BATCHED, batch_id=batch.id, wrapped=bindparam("doc_wrapped"),
                target_hash=bindparam("doc_target"), updated_at=utcnow()), [
                {"doc_id": doc_id, "doc_wrapped": orjson.Fragment(w), "doc_target": target_hash_of(w)}
                for (doc_id, _), w in zip(rows, wrapped)  # the wrapped JSON goes to the column as it is
            ])
            faults.crash_point("batching")  # before the commit: the batch must vanish whole
        faults.crash_point("batched")
        return len(rows)

    # -- BATCHED -> SENT
    def _send_batches(self) -> int:
        sent = 0
        with self.sessions() as s:
            batches = list(s.scalars(select(Batch).where(Batch.state == BATCHED).order_by(Batch.id)))
        for b in batches:
            signer = self.signers.get(b.issuer)
            if signer is None:
                continue
            anchor = self._anchor_of(b)
            if anchor is not None:  # anchored before (a crash after sending): just record it
                self._mark_anchored(b.id, anchor.block_number, recovered_root=b.merkle_root)
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
                s.execute(update(Batch).where(Batch.id == b.id).values(
                    state=SENT, tx_hash=signed.hash, raw_tx=signed.raw, nonce=signed.nonce))
                s.execute(update(Document).where(Document.batch_id == b.id).values(state=SENT))
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
                anchor = self._anchor_of(b)
                if anchor is not None:
                    anchored += self._mark_anchored(b.id, anchor.block_number, recovered_root=b.merkle_root)
                    continue
                signer = self.signers.get(b.issuer)
                if signer is None:
                    continue
                try:
                    signer.broadcast(b.raw_tx, f"anchor batch {b.id}")
                except NonceConsumed:
                    self._back_to_batched(b.id, "nonce taken by another transaction")
                    continue
                except TransactionError as exc:
                    log.warning("rebroadcast of batch %s failed: %s", b.id, exc)
                    continue
                receipt = self._wait_receipt(b.tx_hash, max(0.5, deadline - time.monotonic()))
                if receipt is None:
                    continue
            if receipt["status"] != 1:
                anchor = self._anchor_of(b)
                if anchor is not None:
                    anchored += self._mark_anchored(b.id, anchor.block_number, recovered_root=b.merkle_root)
                else:
                    self._back_to_batched(b.id, f"transaction {b.tx_hash} reverted")
                continue
            if self.w3.eth.block_number - receipt["blockNumber"] < self.config.confirmations:
                continue  # not deep enough yet: next pass
            faults.crash_point("mined")
            anchored += self._mark_anchored(b.id, receipt["blockNumber"], receipt["blockHash"].to_0x_hex())
        return anchored

    def _receipt(self, tx_hash: str | None) -> Any:
        if not tx_hash:
            return None
        try:
            return self.w3.eth.get_transaction_receipt(tx_hash)
        except Exception:  # TransactionNotFound, or a node that answers null
            return None

    def _wait_receipt(self, tx_hash: str, timeout: float) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            r = self._receipt(tx_hash)
            if r is not None:
                return r
            time.sleep(0.05)
        return None

    def _back_to_batched(self, batch_id: int, why: str) -> None:
        log.warning("batch %s goes back to BATCHED: %s", batch_id, why)
        with self.sessions.begin() as s:
            s.execute(update(Batch).where(Batch.id == batch_id).values(
                state=BATCHED, tx_hash=None, raw_tx=None, nonce=None))
            s.execute(update(Document).where(Document.batch_id == batch_id).values(state=BATCHED))

    def _mark_anchored(self, batch_id: int, block_number: int, block_hash: str | None = None,
                       recovered_root: str | None = None) -> bool:
        """Record the batch as anchored in ``block_number``. False, with nothing changed, when the node does not
        show that block yet (anvil can answer a receipt a moment before the block): the next pass records it.
        `recovered_root`: the anchor was found on chain rather than by our transaction's receipt (a crash, or a
        transaction sent again): the transaction that anchored it is read from its log, for the record."""
        try:
            block = self.w3.eth.get_block(block_number)
        except BlockNotFound:
            log.info("block %s of batch %s is not visible yet; recording it on the next pass", block_number, batch_id)
            return False
        values: dict[str, Any] = dict(state=ANCHORED, block_number=block_number,
                                      block_hash=block_hash or block["hash"].to_0x_hex(),
                                      anchored_at=block["timestamp"], raw_tx=None)
        if recovered_root is not None:
            with self.sessions() as s:
                issuer = s.get(Batch, batch_id).issuer
            tx = self.store_of(issuer).anchoring_tx(recovered_root, block_number)
            if tx is not None:
                values["tx_hash"] = tx
        with self.sessions.begin() as s:
            s.execute(update(Batch).where(Batch.id == batch_id).values(**values))
            s.execute(update(Document).where(Document.batch_id == batch_id).values(state=ANCHORED))
        return True

    # -- actions
    def _process_actions(self) -> tuple[int, int]:
        done = failed = 0
        with self.sessions() as s:
            actions = list(s.scalars(select(Action).where(Action.state.in_([PENDING, SENT])).order_by(Action.id)))
        for a in actions:
            signer = self.signers.get(a.sender)
            if signer is None:
                continue
            if a.state == SENT:
                receipt = self._receipt(a.tx_hash)
                if receipt is None:
                    try:
                        signer.broadcast(a.raw_tx, f"action {a.id}")
                    except NonceConsumed:
                        self._set_action(a.id, state=PENDING, tx_hash=None, raw_tx=None, nonce=None)
                        continue
                    except TransactionError:
                        continue
                    receipt = self._wait_receipt(a.tx_hash, self.config.receipt_timeout)
                    if receipt is None:
                        continue
                if receipt["status"] == 1:
                    if self.w3.eth.block_number - receipt["blockNumber"] >= self.config.confirmations:
                        self._set_action(a.id, state=DONE, block_number=receipt["blockNumber"], raw_tx=None)
                        done += 1
                else:
                    self._set_action(a.id, state=PENDING, tx_hash=None, raw_tx=None, nonce=None)
                continue
            fn = self._action_call(a, signer)
            if fn is None:
                continue  # its documents are not anchored yet
            try:
                signed = signer.sign(fn, f"{a.kind.lower()} {a.id}")
            except (chain_errors.AlreadyRevoked, chain_errors.AlreadySuperseded) as exc:
                self._set_action(a.id, state=DONE, error=f"already on chain: {exc}")
                done += 1
                continue
            except chain_errors.ContractRevert as exc:
                self._set_action(a.id, state=FAILED, error=str(exc))
                failed += 1
                continue
            except SignerError as exc:  # an external signer refused or is away: nothing sent, retried later
                log.warning("action %s not signed: %s", a.id, exc)
                continue
            self._set_action(a.id, state=SENT, tx_hash=signed.hash, raw_tx=signed.raw, nonce=signed.nonce)
            faults.crash_point("action_signed")
            try:
                signer.broadcast(signed.raw, f"action {a.id}")
            except TransactionError as exc:
                log.warning("broadcast of action %s failed: %s", a.id, exc)
                continue
            receipt = self._wait_receipt(signed.hash, self.config.receipt_timeout)
            if receipt is not None and receipt["status"] == 1 and self.config.confirmations == 0:
                self._set_action(a.id, state=DONE, block_number=receipt["blockNumber"], raw_tx=None)
                done += 1
        return done, failed

    def _action_call(self, a: Action, signer: Transactor) -> Any:
        store = self.store_of(a.sender, signer)
        p = a.payload
        if a.kind == REVOKE_ROOT:
            return store.function("revokeRoot", to_bytes32(p["root"]), reason_code(p["reason"]))
        if a.kind == REVOKE_DOCUMENT:
            if "documentId" in p:
                located = self._locate(p["documentId"])
                if located is None:
                    return None
                root, doc, proof = located
            else:
                root, doc, proof = p["root"], p["document"], p["proof"]
            return store.function("revokeDocument", to_bytes32(root), to_bytes32(doc), [to_bytes32(x) for x in proof],
                             reason_code(p["reason"]))
        old, new = self._locate(p["oldDocumentId"]), self._locate(p["newDocumentId"])
        if old is None or new is None:
            return None
        with self.sessions() as s:
            new_issuer = s.get(Document, p["newDocumentId"]).issuer
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

    def _set_action(self, action_id: int, **values: Any) -> None:
        with self.sessions.begin() as s:
            s.execute(update(Action).where(Action.id == action_id).values(**values))


def _proof_args(located: tuple[str, str, list[str]]) -> tuple[bytes, bytes, list[bytes]]:
    root, doc, proof = located
    return to_bytes32(root), to_bytes32(doc), [to_bytes32(x) for x in proof]


def documents_of_batch(sessions: sessionmaker[Session], batch_id: int) -> Iterable[Document]:
    with sessions() as s:
        return list(s.scalars(select(Document).where(Document.batch_id == batch_id).order_by(Document.id)))
