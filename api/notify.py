"""Revocation notifications for importing customs.

Customs systems register what they received or verified (watches) and subscribe by webhook or by
server-sent events. The notifier follows the registry's RevocationRecorded and DocumentSuperseded events
from a durable cursor; for each event touching a watched document (or its root) it records one delivery per
subscription (unique, so a restart never notifies twice); certnet.api.webhooks POSTs them with an HMAC-SHA256
signature, retrying with exponential backoff; after MAX_ATTEMPTS a delivery stays as a dead letter.
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
from certnet.issuer.outbox import utcnow
from web3 import Web3

from certnet.node.artifacts import load_artifact
from certnet.node.contracts import REVOCATION_REASON_NAMES

if TYPE_CHECKING:
    from certnet.api.service import Service

log = logging.getLogger("certnet.notify")

CURSOR_KEY = "notifier.block"
LOG_CHUNK = 5000


def sign_payload(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier:
    def __init__(self, service: "Service") -> None:
        self.service = service
        self.sessions = service.sessions
        self._listeners: list[tuple[str, asyncio.Queue, asyncio.AbstractEventLoop]] = []
        self._lock = threading.Lock()
        self._relay_cursor: int | None = None  # relay_forever's block cursor (in memory)

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

    def _publish(self, country: str, payload: dict[str, Any]) -> None:
        with self._lock:
            targets = [(q, loop) for c, q, loop in self._listeners if c == country]
        for q, loop in targets:
            loop.call_soon_threadsafe(_offer, q, payload)

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

    def poll_chain(self, deliver: bool = True) -> int:
        """Turn new revocation/supersession events into webhook deliveries and server-sent events.

        With ``deliver=False`` (a process serving requests only, see :meth:`relay_forever`) events go to this
        process's SSE listeners alone, from a cursor kept in memory: the process with the workers records
        the deliveries. Returns how many events were seen."""
        w3 = self.service.w3
        head = w3.eth.block_number - self.service.settings.confirmations
        if deliver:
            start = self._cursor() + 1
        else:
            if self._relay_cursor is None:
                self._relay_cursor = head  # listeners hear what happens from now on
            start = self._relay_cursor + 1
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
                self._dispatch(e, deliver)
            seen += len(events)
            if deliver:
                self._set_cursor(end)
            else:
                self._relay_cursor = end
            start = end + 1
        return seen

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


def _offer(q: asyncio.Queue, payload: dict[str, Any]) -> None:
    try:
        q.put_nowait(payload)
    except asyncio.QueueFull:
        pass  # a slow SSE client loses events; webhooks are the durable channel

