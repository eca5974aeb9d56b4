"""Revocation notifications for importing customs.

Customs systems register what they received or verified (watches) and subscribe by webhook or by
server-sent events. The notifier (in the one process that runs the background workers) reads the revocations and
supersessions that the index follower wrote (one reader of chain events: the follower, reorg-safe), from a durable
block cursor up to the indexed block; a reorg the follower rolled back (`idx_rollbacks`) moves the cursor back to its
common ancestor. For each event that counts (not made by a key after its compromised-since time) and touches a
watched document (or its root) in the document's own store (the watch names it), it records one notice per
watching country and one delivery per subscription (both unique, so a restart or a re-read never notifies twice);
certnet.api.webhooks POSTs the deliveries with an HMAC-SHA256 signature, retrying with exponential backoff; after
MAX_ATTEMPTS a delivery stays as a dead letter.

Server-sent events reach listeners of every process of the service — the other workers of `certnet serve
--workers N`, `--no-workers` replicas on the same database — because every process tails the notices table
from its own cursor (`relay_forever`) and hands each notice to its own listeners. Only the notifier writes
notices, one transaction after another, so their ids grow in commit order and a cursor on the id misses none.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import logging
import threading
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from web3 import Web3

from certnet.api.models import ApiKey, Delivery, Notice, ServiceState, Subscription, Watch
from certnet.issuer.outbox import insert_ignoring_duplicates, utcnow
from certnet.node.contracts import REVOCATION_REASON_NAMES

if TYPE_CHECKING:
    from certnet.api.service import Service

log = logging.getLogger("certnet.notify")

CURSOR_KEY = "notifier.block"
ROLLBACK_KEY = "notifier.rollback"  # the last index rollback the cursor has taken into account
#: how long notices are kept for listeners that reconnect (Last-Event-ID)
NOTICE_RETENTION = dt.timedelta(days=1)
#: notices read per pass of a process's relay, and resent at most to one reconnecting listener
NOTICE_PAGE = 1000


def sign_payload(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, service: Service) -> None:
        self.service = service
        self.sessions = service.sessions
        self._listeners: list[tuple[str, asyncio.Queue, asyncio.AbstractEventLoop]] = []
        self._lock = threading.Lock()
        self._notice_cursor: int | None = None  # the last notice this process handed to its listeners

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
                chunk = hashes[lo : lo + 500]
                for h in s.scalars(select(Watch.hash).where(Watch.country == country, Watch.hash.in_(chunk))):
                    todo.pop(h, None)
        if todo:
            # another process may watch the same documents at this moment: duplicates are skipped, not an error
            now = utcnow()
            with self.sessions.begin() as s:
                insert_ignoring_duplicates(
                    s,
                    Watch.__table__,
                    [
                        {
                            "country": country,
                            "hash": h,
                            "root": r,
                            "reference_number": ref,
                            "store": Web3.to_checksum_address(st),
                            "created_at": now,
                        }
                        for h, r, ref, st in todo.values()
                    ],
                    ("country", "hash"),
                )
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

    def _publish(self, notice_id: int, country: str, payload: dict[str, Any]) -> None:
        with self._lock:
            targets = [(q, loop) for c, q, loop in self._listeners if c == country]
        for q, loop in targets:
            loop.call_soon_threadsafe(_offer, q, (notice_id, payload))

    # ------------------------------------------------------------------ notices, for every process's listeners

    def _record_notice(self, key: str, country: str, payload: dict[str, Any]) -> None:
        try:
            with self.sessions.begin() as s:
                s.add(Notice(event_key=key, country=country, payload=payload))
        except IntegrityError:
            pass  # already recorded before a restart

    def last_notice_id(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.max(Notice.id))) or 0

    def notices_after(
        self, after: int, country: str | None = None, limit: int = NOTICE_PAGE
    ) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, country, payload) of the notices after id `after`, oldest first (of one country if given)."""
        q = select(Notice.id, Notice.country, Notice.payload).where(Notice.id > after)
        if country is not None:
            q = q.where(Notice.country == country)
        with self.sessions() as s:
            return [(i, c, p) for i, c, p in s.execute(q.order_by(Notice.id).limit(limit))]

    def relay_notices(self) -> int:
        """Hand the notices recorded since the last pass to this process's listeners; how many there were.
        The first pass starts from the newest notice: listeners hear what happens from then on."""
        if self._notice_cursor is None:
            self._notice_cursor = self.last_notice_id()
            return 0
        found = self.notices_after(self._notice_cursor)
        for notice_id, country, payload in found:
            self._publish(notice_id, country, payload)
            self._notice_cursor = notice_id
        return len(found)

    def prune_notices(self) -> int:
        with self.sessions.begin() as s:
            return s.execute(delete(Notice).where(Notice.created_at < utcnow() - NOTICE_RETENTION)).rowcount or 0  # type: ignore[attr-defined]  # a DELETE's result is a CursorResult

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

    def poll_chain(self) -> int:
        """Turn new revocation/supersession events (read from the index) into notices (for server-sent events) and
        webhook deliveries. Returns how many events were seen."""
        index = self._index()
        indexed = index.indexed_block().number
        start, seen_rollback = self._cursor() + 1, self._state(ROLLBACK_KEY, 0)
        rollbacks = index.rollbacks_since(seen_rollback)
        if rollbacks:  # blocks above the ancestor were indexed again: read them again (deliveries are unique)
            start = min(start, min(a for _, a in rollbacks) + 1)
            seen_rollback = rollbacks[-1][0]
        events = index.document_events(start, indexed) if start <= indexed else []
        for e in events:
            if e.details.get("counts", True):
                self._dispatch(_payload(e))
        self._set_cursor(max(indexed, start - 1), seen_rollback)
        return len(events)

    def _dispatch(self, event: dict[str, Any]) -> None:
        whole_batch = event["event"] == "BATCH_REVOKED"
        with self.sessions() as s:
            cond = Watch.root == event["root"] if whole_batch else Watch.hash == event["document"]
            watches = list(s.scalars(select(Watch).where(cond, Watch.store == event["store"])))
            subs = list(
                s.scalars(
                    select(Subscription)
                    .join(ApiKey, ApiKey.id == Subscription.key_id)
                    .where(Subscription.active.is_(True), ApiKey.role == "customs")
                )
            )  # customs' notices, not the issuers'

        for w in watches:
            payload = {k: v for k, v in event.items() if k != "key"}
            payload.update(
                event="REVOKED" if whole_batch else event["event"],
                targetHash=w.hash,
                referenceNumber=w.reference_number,
                wholeBatch=whole_batch,
            )
            self._record_notice(f"{event['key']}:{w.hash}:{w.country}", w.country, payload)
            for sub in subs:
                if sub.country != w.country:
                    continue
                try:
                    with self.sessions.begin() as s:
                        s.add(
                            Delivery(
                                subscription_id=sub.id,
                                event_key=f"{event['key']}:{w.hash}",
                                payload=payload,
                                state="PENDING",
                                next_attempt_at=utcnow(),
                            )
                        )
                except IntegrityError:
                    pass  # already recorded before a restart

    # ------------------------------------------------------------------ delivering

    def deliver_due(self) -> int:
        """Deliver what is due now and wait for the outcome (certnet.api.webhooks; its own thread does this)."""
        return self.service.webhooks.deliver_due(wait=True)

    def relay_forever(self, stop: threading.Event, interval: float = 0.25) -> None:
        """Every process of the service (workers or not): hand new notices to this process's SSE listeners."""
        while not stop.is_set():
            try:
                self.relay_notices()
            except Exception:
                log.exception("notice relay pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)

    #: notifier passes between prunings of old notices
    PRUNE_EVERY = 1200

    def run_forever(self, stop: threading.Event, interval: float = 0.5) -> None:
        """Follow the index into notices and deliveries (the deliveries are posted by certnet.api.webhooks.Deliverer
        on a thread of its own, so a slow webhook never holds this one)."""
        passes = 0
        while not stop.is_set():
            try:
                self.poll_chain()
                if passes % self.PRUNE_EVERY == 0:
                    self.prune_notices()
                passes += 1
            except Exception:
                log.exception("notification pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)


def _payload(e: Any) -> dict[str, Any]:
    """A notification from an index event (a ChainEvent of kind REVOKED or SUPERSEDED)."""
    where = {"store": e.store, "block": e.block_number, "tx": e.tx_hash, "key": f"{e.tx_hash}:{e.log_index}"}
    if e.kind == "REVOKED":
        whole = e.document is None
        return {
            "event": "BATCH_REVOKED" if whole else "REVOKED",
            "root": e.root,
            "document": e.root if whole else e.document,
            "reason": REVOCATION_REASON_NAMES.get(e.details["reason"], str(e.details["reason"])),
            **where,
        }
    d = e.details
    return {
        "event": "SUPERSEDED",
        "root": d["oldRoot"],
        "document": d["oldDocument"],
        "successorStore": d["newStore"],
        "successorRoot": d["newRoot"],
        "successorDocument": d["newDocument"],
        **where,
    }


def _offer(q: asyncio.Queue, payload: tuple[int, dict[str, Any]]) -> None:
    try:
        q.put_nowait(payload)
    except asyncio.QueueFull:
        pass  # a slow SSE client loses events; webhooks are the durable channel
