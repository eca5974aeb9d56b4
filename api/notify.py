"""Revocation notifications for importing customs.

Customs systems register what they received or verified (watches) and subscribe by webhook or by
server-sent events. The notifier (in the one process that runs the background workers) follows the
registry's RevocationRecorded and DocumentSuperseded events from a durable cursor; for each event touching a
watched document (or its root) it records one notice per watching country and one delivery per subscription
(both unique, so a restart never notifies twice), then POSTs the deliveries with an HMAC-SHA256 signature,
retrying with exponential backoff; after MAX_ATTEMPTS a delivery stays as a dead letter.

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
import json
import logging
import threading
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from certnet.api.models import Delivery, Notice, ServiceState, Subscription, Watch
from certnet.issuer.outbox import utcnow
from web3 import Web3

from certnet.node.artifacts import load_artifact
from certnet.node.contracts import REVOCATION_REASON_NAMES

if TYPE_CHECKING:
    from certnet.api.service import Service

log = logging.getLogger("certnet.notify")

MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0
CURSOR_KEY = "notifier.block"
LOG_CHUNK = 5000
#: how long notices are kept for listeners that reconnect (Last-Event-ID)
NOTICE_RETENTION = dt.timedelta(days=1)
#: notices read per pass of a process's relay, and resent at most to one reconnecting listener
NOTICE_PAGE = 1000


def sign_payload(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, service: "Service") -> None:
        self.service = service
        self.sessions = service.sessions
        self._listeners: list[tuple[str, asyncio.Queue, asyncio.AbstractEventLoop]] = []
        self._lock = threading.Lock()
        self._notice_cursor: int | None = None  # the last notice this process handed to its listeners
        self.client = httpx.Client(timeout=10.0)

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
        with self.sessions.begin() as s:
            hashes = list(todo)
            for lo in range(0, len(hashes), 500):
                chunk = hashes[lo:lo + 500]
                for h in s.scalars(select(Watch.hash).where(Watch.country == country, Watch.hash.in_(chunk))):
                    todo.pop(h, None)
            s.add_all([Watch(country=country, hash=h, root=r, reference_number=ref, store=Web3.to_checksum_address(st))
                       for h, r, ref, st in todo.values()])
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

    def notices_after(self, after: int, country: str | None = None,
                      limit: int = NOTICE_PAGE) -> list[tuple[int, str, dict[str, Any]]]:
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
            return s.execute(delete(Notice).where(Notice.created_at < utcnow() - NOTICE_RETENTION)).rowcount or 0

    # ------------------------------------------------------------------ following the chain

    def _cursor(self) -> int:
        with self.sessions() as s:
            row = s.get(ServiceState, CURSOR_KEY)
        if row is None:
            return self.service.deployment.block - 1
        return int(row.value)

    def _set_cursor(self, block: int) -> None:
        with self.sessions.begin() as s:
            row = s.get(ServiceState, CURSOR_KEY)
            if row is None:
                s.add(ServiceState(key=CURSOR_KEY, value=str(block)))
            else:
                row.value = str(block)

    def poll_chain(self) -> int:
        """Turn new revocation/supersession events into notices (for server-sent events) and webhook
        deliveries. Returns how many events were seen."""
        w3 = self.service.w3
        head = w3.eth.block_number - self.service.settings.confirmations
        start = self._cursor() + 1
        seen = 0
        registry = self.service.deployment.issuer_registry_client(w3)
        contract = w3.eth.contract(abi=load_artifact("DocumentStore")["abi"])
        stores: dict[str, bool] = self.__dict__.setdefault("_stores", {})

        def ours(log_: Any) -> bool:
            """Only a registered authority's store speaks for its documents (anyone can emit look-alike logs)."""
            address = log_["address"]
            if address not in stores:
                stores[address] = registry.country_of_store(address) is not None
            return stores[address]

        def store_logs(event: Any, a: int, b: int) -> list[Any]:
            raw = w3.eth.get_logs({"fromBlock": a, "toBlock": b, "topics": [event.topic]})
            return [event.process_log(r) for r in raw if ours(r)]

        while start <= head:
            end = min(head, start + LOG_CHUNK - 1)
            events: list[dict[str, Any]] = []
            for log_ in store_logs(contract.events.RevocationRecorded(), start, end):
                a = log_["args"]
                root, doc = a["root"].hex(), a["document"].hex()
                events.append({"event": "REVOKED" if root != doc else "BATCH_REVOKED", "store": log_["address"],
                               "root": root, "document": doc,
                               "reason": REVOCATION_REASON_NAMES.get(a["reason"], str(a["reason"])),
                               "block": log_["blockNumber"], "tx": log_["transactionHash"].to_0x_hex(),
                               "key": f"{log_['transactionHash'].to_0x_hex()}:{log_['logIndex']}"})
            for log_ in store_logs(contract.events.DocumentSuperseded(), start, end):
                a = log_["args"]
                events.append({"event": "SUPERSEDED", "store": log_["address"], "root": a["oldRoot"].hex(),
                               "document": a["oldDocument"].hex(), "successorStore": a["newStore"],
                               "successorRoot": a["newRoot"].hex(), "successorDocument": a["newDocument"].hex(),
                               "block": log_["blockNumber"], "tx": log_["transactionHash"].to_0x_hex(),
                               "key": f"{log_['transactionHash'].to_0x_hex()}:{log_['logIndex']}"})
            for e in sorted(events, key=lambda e: (e["block"], e["key"])):
                self._dispatch(e)
            seen += len(events)
            self._set_cursor(end)
            start = end + 1
        return seen

    def _dispatch(self, event: dict[str, Any]) -> None:
        whole_batch = event["event"] == "BATCH_REVOKED"
        with self.sessions() as s:
            cond = Watch.root == event["root"] if whole_batch else Watch.hash == event["document"]
            watches = list(s.scalars(select(Watch).where(cond, Watch.store == event["store"])))
            subs = list(s.scalars(select(Subscription).where(Subscription.active.is_(True))))
        for w in watches:
            payload = {k: v for k, v in event.items() if k != "key"}
            payload.update(event="REVOKED" if whole_batch else event["event"], targetHash=w.hash,
                           referenceNumber=w.reference_number, wholeBatch=whole_batch)
            self._record_notice(f"{event['key']}:{w.hash}:{w.country}", w.country, payload)
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
        now = utcnow()
        with self.sessions() as s:
            due = list(s.execute(
                select(Delivery, Subscription).join(Subscription, Subscription.id == Delivery.subscription_id)
                .where(Delivery.state == "PENDING", Delivery.next_attempt_at <= now).limit(100)))
        delivered = 0
        for d, sub in due:
            body = json.dumps({"id": d.id, **d.payload}, separators=(",", ":")).encode()
            headers = {"content-type": "application/json", "x-certnet-event": d.payload.get("event", ""),
                       "x-certnet-delivery": str(d.id), "x-certnet-signature": sign_payload(sub.secret, body)}
            error = None
            try:
                r = self.client.post(sub.url, content=body, headers=headers)
                if not 200 <= r.status_code < 300:
                    error = f"HTTP {r.status_code}"
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            with self.sessions.begin() as s:
                if error is None:
                    s.execute(update(Delivery).where(Delivery.id == d.id).values(
                        state="DELIVERED", attempts=d.attempts + 1, delivered_at=utcnow(), last_error=None))
                    delivered += 1
                    self.service.metrics.deliveries.labels("delivered").inc()
                else:
                    attempts = d.attempts + 1
                    dead = attempts >= MAX_ATTEMPTS
                    delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))
                    s.execute(update(Delivery).where(Delivery.id == d.id).values(
                        state="DEAD" if dead else "PENDING", attempts=attempts, last_error=error,
                        next_attempt_at=utcnow() + dt.timedelta(seconds=delay)))
                    self.service.metrics.deliveries.labels("dead" if dead else "retry").inc()
        return delivered

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
        passes = 0
        while not stop.is_set():
            try:
                self.poll_chain()
                self.deliver_due()
                if passes % self.PRUNE_EVERY == 0:
                    self.prune_notices()
                passes += 1
            except Exception:
                log.exception("notification pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)


def _offer(q: asyncio.Queue, payload: dict[str, Any]) -> None:
    try:
        q.put_nowait(payload)
    except asyncio.QueueFull:
        pass  # a slow SSE client loses events; webhooks are the durable channel

