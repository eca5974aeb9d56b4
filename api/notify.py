"""Revocation notifications for importing customs.

Customs systems register what they received or verified (watches) and subscribe by webhook or by
server-sent events. The notifier reads the revocations and supersessions that the index follower wrote (one
reader of chain events: the follower, reorg-safe), from a durable block cursor up to the indexed block; a reorg
the follower rolled back (`idx_rollbacks`) moves the cursor back to its common ancestor. For each event that
counts (not made by a key after its compromised-since time) and touches a watched document (or its root) in the
document's own store (the watch names it), it records one delivery per subscription (unique, so a restart or a
re-read never notifies twice); certnet.api.webhooks POSTs them with an HMAC-SHA256 signature, retrying with
exponential backoff; after MAX_ATTEMPTS a delivery stays as a dead letter.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from certnet.api.models import Delivery, ServiceState, Subscription, Watch
from certnet.issuer.outbox import insert_ignoring_duplicates, utcnow
from web3 import Web3

from certnet.node.contracts import REVOCATION_REASON_NAMES

if TYPE_CHECKING:
    from certnet.api.service import Service

log = logging.getLogger("certnet.notify")

CURSOR_KEY = "notifier.block"
ROLLBACK_KEY = "notifier.rollback"  # the last index rollback the cursor has taken into account


def sign_payload(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, service: "Service") -> None:
        self.service = service
        self.sessions = service.sessions
        self._listeners: list[tuple[str, asyncio.Queue, asyncio.AbstractEventLoop]] = []
        self._lock = threading.Lock()
        self._relay_cursor: int | None = None  # relay_forever's block cursor (in memory)
        self._relay_rollback = 0

    # ------------------------------------------------------------------ watches and listeners

    def watch(self, country: str, target_hash: str, root: str, store: str, reference: str | None = None) -> None:
        self.watch_many(country, [(target_hash, root, reference, store)])

    #: (country, targetHash) pairs known to be stored (watches are never deleted); bounded
    _KNOWN_MAX = 1_000_000

    def watch_many(self, country: str, items: list[tuple[str, str, str | None, str]]) -> None:
        """Watch many documents (targetHash, root, reference, store) in one transaction; those already watched cost
        no database round trip. Only events of the document's own store concern it."""
        known = self.__dict__.setdefault("_known", set())
        todo = {h: (h, r, ref, st) for h, r, ref, st in items if (country, h) not in known}
        if not todo:
            return
        hashes = list(todo)
        with self.sessions() as s:  # a read apart from the write: a read transaction turned writer can fail
            for lo in range(0, len(hashes), 500):
                chunk = hashes[lo:lo + 500]
                for h in s.scalars(select(Watch.hash).where(Watch.country == country, Watch.hash.in_(chunk))):
                    todo.pop(h, None)
        if todo:
            # another process may watch the same documents at this moment: duplicates are skipped, not an error
            now = utcnow()
            with self.sessions.begin() as s:
                insert_ignoring_duplicates(s, Watch.__table__, [
                    {"country": country, "hash": h, "root": r, "reference_number": ref,
                     "store": Web3.to_checksum_address(st), "created_at": now}
                    for h, r, ref, st in todo.values()], ("country", "hash"))
        if len(known) > self._KNOWN_MAX:
            known.clear()
        known.update((country, h) for h in hashes)

    def add_listener(self, country: str) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=1000)
        with self._lock:
            self._listeners.append((country, q, asyncio.get_running_loop()))
        return q

    def remove_listener(self, q: asyncio.Queue) -> None:
        with self._lock:
            self._listeners = [entry for entry in self._listeners if entry[1] is not q]

    def _publish(self, country: str, payload: dict[str, Any]) -> None:
        with self._lock:
            targets = [(q, loop) for c, q, loop in self._listeners if c == country]
        for q, loop in targets:
            loop.call_soon_threadsafe(_offer, q, payload)

    # ------------------------------------------------------------------ following the chain

    def _state(self, key: str, default: int) -> int:
        with self.sessions() as s:
            row = s.get(ServiceState, key)
        return default if row is None else int(row.value)

    def _cursor(self) -> int:
        return self._state(CURSOR_KEY, self.service.deployment.block - 1)

    def _set_cursor(self, block: int, rollback: int | None = None) -> None:
        with self.sessions.begin() as s:
            for key, value in ((CURSOR_KEY, block), (ROLLBACK_KEY, rollback)):
                if value is None:
                    continue
                insert_ignoring_duplicates(s, ServiceState.__table__, [{"key": key, "value": str(value)}], ("key",))
                s.execute(update(ServiceState).where(ServiceState.key == key).values(value=str(value)))

    def _index(self) -> Any:
        source = getattr(self.service, "index_source", None)
        index = getattr(source, "index", None)
        if index is None:
            raise RuntimeError("notifications read the chain-event index, and this service keeps none")
        return index

    def poll_chain(self, deliver: bool = True) -> int:
        """Turn new revocation/supersession events (read from the index) into webhook deliveries and server-sent
        events.

        With ``deliver=False`` (a process serving requests only, see :meth:`relay_forever`) events go to this
        process's SSE listeners alone, from a cursor kept in memory: the process with the workers records
        the deliveries. Returns how many events were seen."""
        index = self._index()
        indexed = index.indexed_block().number
        if deliver:
            start, seen_rollback = self._cursor() + 1, self._state(ROLLBACK_KEY, 0)
        else:
            if self._relay_cursor is None:  # listeners hear what happens from now on
                self._relay_cursor = indexed
                self._relay_rollback = max((i for i, _ in index.rollbacks_since(0)), default=0)
            start, seen_rollback = self._relay_cursor + 1, self._relay_rollback
        rollbacks = index.rollbacks_since(seen_rollback)
        if rollbacks:  # blocks above the ancestor were indexed again: read them again (deliveries are unique)
            start = min(start, min(a for _, a in rollbacks) + 1)
            seen_rollback = rollbacks[-1][0]
        events = index.document_events(start, indexed) if start <= indexed else []
        for e in events:
            if e.details.get("counts", True):
                self._dispatch(_payload(e), deliver)
        if deliver:
            self._set_cursor(max(indexed, start - 1), seen_rollback)
        else:
            self._relay_cursor, self._relay_rollback = max(indexed, start - 1), seen_rollback
        return len(events)

    def _dispatch(self, event: dict[str, Any], deliver: bool = True) -> None:
        whole_batch = event["event"] == "BATCH_REVOKED"
        with self.sessions() as s:
            cond = Watch.root == event["root"] if whole_batch else Watch.hash == event["document"]
            watches = list(s.scalars(select(Watch).where(cond, Watch.store == event["store"])))
            subs = list(s.scalars(select(Subscription).where(Subscription.active.is_(True)))) if deliver else []
        for w in watches:
            payload = {k: v for k, v in event.items() if k != "key"}
            payload.update(event="REVOKED" if whole_batch else event["event"], targetHash=w.hash,
                           referenceNumber=w.reference_number, wholeBatch=whole_batch)
            self._publish(w.country, payload)
            for sub in subs:
                if sub.country != w.country:
                    continue
                try:
                    with self.sessions.begin() as s:
                        s.add(Delivery(subscription_id=sub.id, event_key=f"{event['key']}:{w.hash}", payload=payload,
                                       state="PENDING", next_attempt_at=utcnow()))
                except IntegrityError:
                    pass  # already recorded before a restart

    # ------------------------------------------------------------------ delivering

    def deliver_due(self) -> int:
        """Deliver what is due now and wait for the outcome (certnet.api.webhooks; its own thread does this)."""
        return self.service.webhooks.deliver_due(wait=True)

    def relay_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Server-sent events for a process that serves requests only (`certnet serve --workers N` runs the
        background workers in one process; `--no-workers` replicas run none): follow the chain for this
        process's SSE listeners, without recording deliveries."""
        while not stop.is_set():
            try:
                self.poll_chain(deliver=False)
            except Exception:
                log.exception("event relay pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)

    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Follow the chain into deliveries and server-sent events (the deliveries are posted by
        certnet.api.webhooks.Deliverer on a thread of its own, so a slow webhook never holds this one)."""
        while not stop.is_set():
            try:
                self.poll_chain()
            except Exception:
                log.exception("notification pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)


def _payload(e: Any) -> dict[str, Any]:
    """A notification from an index event (a ChainEvent of kind REVOKED or SUPERSEDED)."""
    where = {"store": e.store, "block": e.block_number, "tx": e.tx_hash, "key": f"{e.tx_hash}:{e.log_index}"}
    if e.kind == "REVOKED":
        whole = e.document is None
        return {"event": "BATCH_REVOKED" if whole else "REVOKED", "root": e.root,
                "document": e.root if whole else e.document,
                "reason": REVOCATION_REASON_NAMES.get(e.details["reason"], str(e.details["reason"])), **where}
    d = e.details
    return {"event": "SUPERSEDED", "root": d["oldRoot"], "document": d["oldDocument"], "successorStore": d["newStore"],
            "successorRoot": d["newRoot"], "successorDocument": d["newDocument"], **where}


def _offer(q: asyncio.Queue, payload: dict[str, Any]) -> None:
    try:
        q.put_nowait(payload)
    except asyncio.QueueFull:
        pass  # a slow SSE client loses events; webhooks are the durable channel

