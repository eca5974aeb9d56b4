"""Webhook targets and deliveries, made so that a subscriber cannot turn the notifier against the service.

* **Targets** are checked when a subscription is made and again at every delivery, at the moment of
  connecting: the name is resolved, and every address it resolves to must be public — not loopback,
  link-local (169.254.169.254 among them), private, shared (100.64/10), multicast, unspecified or reserved,
  in IPv4 or IPv6 (::1, fc00::/7, fe80::/10, IPv4 addresses mapped into IPv6 judged as IPv4) — unless the
  operator's allow-list (`webhook_allow`: addresses or networks) names it. The connection goes to the very
  address that was checked, so a name that changes its answer between the check and the connection
  (DNS rebinding) gains nothing. No proxy from the environment is used, and redirects are never followed
  (a 3xx answer is a failed delivery).
* **Deliveries** run on their own thread, apart from the one that follows the chain, through a pool of
  connections made concurrently, each bounded by a short total timeout (`webhook_timeout`, 3 s): a target
  that accepts and never answers costs one pool slot for that long, and delays no other subscriber.
  A failing endpoint (scheme, host and port) backs off as a whole, exponentially; at most
  PER_ENDPOINT deliveries to one endpoint are in flight at once.
* Each key may hold at most `max_subscriptions` active subscriptions.
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from certnet import CertnetError
from certnet.api.models import Delivery, Subscription
from certnet.issuer.outbox import utcnow

if TYPE_CHECKING:
    from certnet.api.service import Service

log = logging.getLogger("certnet.webhooks")

MAX_ATTEMPTS = 8
BACKOFF_BASE = 1.0
BACKOFF_MAX = 300.0
#: deliveries to one endpoint in flight at once
PER_ENDPOINT = 2
#: seconds, beyond the delivery timeout, a claimed delivery is left to its deliverer before it is due again
CLAIM_SECONDS = 30.0
#: a response body is read up to this much (only the status matters)
MAX_RESPONSE_BYTES = 64 * 1024

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
#: (host, port) -> the addresses it resolves to, as strings
Resolver = Callable[[str, int], list[str]]


class TargetRefused(CertnetError, ValueError):
    """A webhook URL or address that the policy refuses; the message names it and why."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (getaddrinfo, TCP)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise TargetRefused(f"the name {host!r} does not resolve ({exc.strerror})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def parse_allow_list(entries: Iterable[str]) -> tuple[Network, ...]:
    """Operator allow-list entries (an address or a network, IPv4 or IPv6) as networks; ValueError names a bad
    entry."""
    out = []
    for entry in entries:
        try:
            out.append(ipaddress.ip_network(entry.strip().strip("[]"), strict=False))
        except ValueError:
            raise ValueError(f"webhook allow-list entry {entry!r} is not an IP address or network") from None
    return tuple(out)


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def embedded_ipv4(ip: Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for: mapped (::ffff:a.b.c.d), 6to4 (2002::/16), NAT64 (64:ff9b::/96)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _why_refused(ip: Address) -> str | None:
    """Why an address is no webhook target (None: it is a public unicast address)."""
    inner = embedded_ipv4(ip)
    if inner is not None:
        return _why_refused(inner)
    for test, what in (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
    ):
        if test:
            return what
    if not ip.is_global:
        return "not a public address"
    return None


@dataclass
class TargetPolicy:
    """Which addresses webhooks may reach: public ones, and those the allow-list names."""

    allow: tuple[Network, ...] = ()
    resolve: Resolver = system_resolver

    def check_address(self, address: str, host: str) -> Address:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        judged = embedded_ipv4(ip) or ip
        if any(judged in net or ip in net for net in self.allow):
            return ip
        why = _why_refused(ip)
        if why is not None:
            named = "" if address == host else f"{host!r} resolves to "
            raise TargetRefused(
                f"{named}{ip} is a {why} address: webhooks go to public addresses only (or to "
                "those the operator's allow-list names)"
            )
        return ip

    def addresses(self, host: str, port: int) -> list[Address]:
        """The addresses of `host`, every one checked (one refused address refuses the name)."""
        try:
            literal = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
        except ValueError:
            literal = None
        found = [str(literal)] if literal is not None else self.resolve(host, port)
        if not found:
            raise TargetRefused(f"the name {host!r} resolves to no address")
        return [self.check_address(a, host) for a in found]

    def check_url(self, url: str) -> tuple[str, str, int]:
        """(scheme, host, port) of a webhook URL whose every address is allowed; TargetRefused otherwise."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise TargetRefused(f"webhook URLs are http or https, not {parts.scheme or 'without a scheme'}")
        if parts.username is not None or parts.password is not None:
            raise TargetRefused("webhook URLs carry no user name or password (the notices are signed)")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise TargetRefused("the webhook URL's port is not a number from 1 to 65535") from None
        host = parts.hostname or ""
        if not host:
            raise TargetRefused("the webhook URL names no host")
        self.addresses(host, port)
        return parts.scheme, host, port


def connect_checked(policy: TargetPolicy, host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to an allowed address of `host` (resolved and checked now, then connected to exactly)."""
    last: OSError | None = None
    for ip in policy.addresses(host, port):
        family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect((str(ip), port))
            return sock
        except OSError as exc:
            sock.close()
            last = exc
    assert last is not None
    raise last


def post(policy: TargetPolicy, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST `body` to `url` through :func:`connect_checked`; the response status (redirects are answers, not
    followed). The whole exchange is bounded by `timeout`: the connection is shut when it runs out."""
    scheme, host, port = policy.check_url(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    conn: http.client.HTTPConnection
    if scheme == "https":
        conn = http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context())
    else:
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn._create_connection = lambda address, t=None, source=None: connect_checked(  # type: ignore[attr-defined]
        policy, host, port, timeout
    )
    expired = threading.Event()

    def expire() -> None:  # end a connection that outlived its time: a read blocked on it returns at once
        expired.set()
        sock = conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    watchdog = threading.Timer(timeout, expire)
    watchdog.daemon = True
    watchdog.start()
    try:
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        response.read(MAX_RESPONSE_BYTES)
        return response.status
    except (OSError, http.client.HTTPException):
        if expired.is_set():
            raise TimeoutError(f"timed out: no answer within {timeout:g} s") from None
        raise
    finally:
        watchdog.cancel()
        conn.close()


def endpoint_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{parts.port or ''}"


@dataclass
class _Endpoint:
    failures: int = 0
    not_before: float = 0.0
    in_flight: int = 0


@dataclass
class WebhookSettings:
    allow: tuple[Network, ...] = ()
    timeout: float = 3.0
    concurrency: int = 16
    resolve: Resolver = field(default=system_resolver)


class Deliverer:
    """Posts the due deliveries concurrently (a thread pool), apart from the chain follower; records each
    outcome (delivered; retried with backoff; dead after MAX_ATTEMPTS)."""

    def __init__(self, service: Service, settings: WebhookSettings) -> None:
        self.service = service
        self.sessions = service.sessions
        self.settings = settings
        self.policy = TargetPolicy(settings.allow, settings.resolve)
        self.pool = ThreadPoolExecutor(max_workers=settings.concurrency, thread_name_prefix="certnet-webhook")
        self._lock = threading.Lock()
        self._in_flight: set[int] = set()
        self._endpoints: dict[str, _Endpoint] = {}
        self._closed = False

    def check_target(self, url: str) -> None:
        """Registration's check (TargetRefused)."""
        self.policy.check_url(url)

    def deliver_due(self, wait: bool = False) -> int:
        """Start the deliveries that are due (at most the pool's size waiting at once); with `wait`, wait for
        them and return how many succeeded, else return how many were started."""
        now = utcnow()
        free = self.settings.concurrency * 2 - len(self._in_flight)
        if free <= 0:
            return 0
        with self.sessions() as s:
            due = list(
                s.execute(
                    select(Delivery, Subscription)
                    .join(Subscription, Subscription.id == Delivery.subscription_id)
                    .where(Delivery.state == "PENDING", Delivery.next_attempt_at <= now)
                    .order_by(Delivery.next_attempt_at)
                    .limit(free + len(self._in_flight) + 100)
                )
            )
        started: list[Future] = []
        clock = time.monotonic()
        with self._lock:
            chosen: list[tuple[Delivery, Subscription, _Endpoint]] = []
            for d, sub in due:
                if d.id in self._in_flight or len(chosen) >= free:
                    continue
                ep = self._endpoints.setdefault(endpoint_of(sub.url), _Endpoint())
                if ep.not_before > clock or ep.in_flight >= PER_ENDPOINT:
                    continue
                chosen.append((d, sub, ep))
            for d, sub, ep in self._claim(chosen, now):
                ep.in_flight += 1
                self._in_flight.add(d.id)
                started.append(self.pool.submit(self._deliver, d, sub))
        if wait:
            return sum(1 for f in started if f.result())
        return len(started)

    def _claim(self, chosen: list[tuple[Delivery, Subscription, _Endpoint]], now: dt.datetime) -> list[Any]:
        """The chosen deliveries this process may post: each is claimed in the database by moving its next attempt
        CLAIM_SECONDS past the time of the post (`WHERE` it is still pending, unattempted since it was read, and
        due), so another deliverer on the same database (a leader taking over while the old one still runs)
        neither sees it due nor claims it; a claim of a process that died runs out and the delivery is due again."""
        if not chosen:
            return []
        until = now + dt.timedelta(seconds=self.settings.timeout + CLAIM_SECONDS)
        won = []
        with self.sessions.begin() as s:
            for item in chosen:
                d = item[0]
                claimed = s.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                    update(Delivery)
                    .where(
                        Delivery.id == d.id,
                        Delivery.state == "PENDING",
                        Delivery.attempts == d.attempts,
                        Delivery.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=until)
                ).rowcount
                if claimed == 1:
                    won.append(item)
        return won

    def _deliver(self, d: Delivery, sub: Subscription) -> bool:
        from certnet.api.notify import sign_payload

        body = json.dumps({"id": d.id, **d.payload}, separators=(",", ":")).encode()
        headers = {
            "content-type": "application/json",
            "x-certnet-event": d.payload.get("event", ""),
            "x-certnet-delivery": str(d.id),
            "x-certnet-signature": sign_payload(sub.secret, body),
            "user-agent": "certnet-notifier",
        }
        error = None
        try:
            status = post(self.policy, sub.url, body, headers, self.settings.timeout)
            if 300 <= status < 400:
                error = f"HTTP {status}: redirects are not followed"
            elif not 200 <= status < 300:
                error = f"HTTP {status}"
        except TargetRefused as exc:
            error = f"target refused: {exc}"
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        except Exception as exc:
            log.exception("delivery %s failed unexpectedly", d.id)
            error = f"{type(exc).__name__}"
        try:
            self._record(d, error)
        finally:
            with self._lock:
                self._in_flight.discard(d.id)
                ep = self._endpoints.setdefault(endpoint_of(sub.url), _Endpoint())
                ep.in_flight -= 1
                if error is None:
                    ep.failures, ep.not_before = 0, 0.0
                else:
                    ep.failures += 1
                    ep.not_before = time.monotonic() + backoff(ep.failures)
        return error is None

    def _record(self, d: Delivery, error: str | None) -> None:
        # guarded by the state claimed: an outcome recorded meanwhile by another deliverer is never overwritten
        mine = (Delivery.id == d.id, Delivery.state == "PENDING", Delivery.attempts == d.attempts)
        with self.sessions.begin() as s:
            if error is None:
                done = s.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                    update(Delivery)
                    .where(*mine)
                    .values(state="DELIVERED", attempts=d.attempts + 1, delivered_at=utcnow(), last_error=None)
                ).rowcount
                outcome = "delivered"
            else:
                attempts = d.attempts + 1
                dead = attempts >= MAX_ATTEMPTS
                done = s.execute(  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                    update(Delivery)
                    .where(*mine)
                    .values(
                        state="DEAD" if dead else "PENDING",
                        attempts=attempts,
                        last_error=error,
                        next_attempt_at=utcnow() + dt.timedelta(seconds=backoff(attempts)),
                    )
                ).rowcount
                outcome = "dead" if dead else "retry"
        if done == 1:
            self.service.metrics.deliveries.labels(outcome).inc()
        else:
            log.warning("delivery %s: its outcome was recorded by another deliverer meanwhile", d.id)

    def run_forever(self, stop: threading.Event, interval: float = 0.2) -> None:
        """Post due deliveries until `stop` is set (it may run again afterwards, in a later term as leader)."""
        with self._lock:
            if self._closed:  # a previous run shut its pool down: deliveries cancelled then are claimed again
                self.pool = ThreadPoolExecutor(
                    max_workers=self.settings.concurrency, thread_name_prefix="certnet-webhook"
                )
                self._in_flight.clear()
                self._endpoints.clear()
                self._closed = False
        while not stop.is_set():
            try:
                self.deliver_due()
            except Exception:
                log.exception("webhook delivery pass failed; retrying")
                stop.wait(2.0)
            stop.wait(interval)
        with self._lock:
            self._closed = True
        self.pool.shutdown(wait=False, cancel_futures=True)


def backoff(attempts: int) -> float:
    """Seconds before the next attempt after `attempts` failures."""
    return min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempts - 1))


def subscription_count(session: Any, key_id: int) -> int:
    from sqlalchemy import func

    return (
        session.scalar(
            select(func.count())
            .select_from(Subscription)
            .where(Subscription.key_id == key_id, Subscription.active.is_(True))
        )
        or 0
    )
