"""API keys: random secrets shown once, stored as sha256 hashes, each scoped to one role and one country
(an issuer key also to one issuer account). Rate limits per key (a bulk request costs one token per document)
and, for failed authentications, per client address."""

from __future__ import annotations

import hashlib
import ipaddress
import mmap
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from certnet.api.models import ROLES, ApiKey
from certnet.api.problems import Problem
from certnet.node.contracts import checksummed
from certnet.node.countries import is_country

KEY_PREFIX = "cn_"


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: str
    country: str
    issuer_account: str | None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    sessions: sessionmaker[Session], name: str, role: str, country: str, issuer_account: str | None = None
) -> tuple[str, ApiKey]:
    """A new key (returned once, in clear) and its stored record (hash only)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not is_country(country):
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country code {country!r}")
    if role == "issuer":
        if not issuer_account:
            raise ValueError("an issuer key needs --issuer-account (the issuer's 0x address)")
        try:
            issuer_account = checksummed(issuer_account)
        except ValueError as exc:
            raise ValueError(f"--issuer-account {issuer_account!r}: {exc}") from None
    elif issuer_account:
        raise ValueError("only issuer keys are bound to an issuer account")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    record = ApiKey(
        key_hash=hash_key(key), prefix=key[:10], name=name, role=role, country=country, issuer_account=issuer_account
    )
    with sessions.begin() as s:
        s.add(record)
    return key, record


class SharedBuckets:
    """Token buckets in memory shared with the processes forked after it was made (`certnet serve --workers
    N` makes them before starting its workers), so that a client's rate is the service's, not each process's.

    Keys below 2**53 (an API key id, a 48-bit hash of a client address); slot `key % SLOTS` (API key ids, small
    and sequential, get one each); keys that share a slot take it over from each other. Pages of the anonymous
    mapping cost memory only once used."""

    SLOTS = 1 << 20

    def __init__(self) -> None:
        import multiprocessing

        self._map = mmap.mmap(-1, self.SLOTS * 3 * 8)  # MAP_SHARED | MAP_ANONYMOUS: children see the same pages
        self._slots = memoryview(self._map).cast("d")  # per slot: key id + 1 (0: empty), tokens, last refill
        self.lock = multiprocessing.get_context("fork").Lock()  # a semaphore: across processes and threads

    def get(self, key: int) -> tuple[float, float] | None:
        i = key % self.SLOTS * 3
        if self._slots[i] != key + 1:
            return None
        return self._slots[i + 1], self._slots[i + 2]

    def put(self, key: int, tokens: float, last: float) -> None:
        i = key % self.SLOTS * 3
        self._slots[i], self._slots[i + 1], self._slots[i + 2] = key + 1, tokens, last


#: set by :func:`share_rate_limits` in a process about to fork its workers: one table per kind of client
_shared_tables: dict[str, SharedBuckets] = {}
API_KEYS, PORTAL_CLIENTS, FAILED_AUTH = "api-keys", "portal-clients", "failed-auth"


def share_rate_limits() -> None:
    """Rate limiters made from now on, in this process and in processes forked from it, share their buckets."""
    for table in (API_KEYS, PORTAL_CLIENTS, FAILED_AUTH):
        _shared_tables[table] = SharedBuckets()


class _LocalBuckets:
    """This process's buckets, the least recently used dropped beyond `max_keys`."""

    def __init__(self, max_keys: int) -> None:
        self._buckets: OrderedDict[int, tuple[float, float]] = OrderedDict()
        self.max_keys = max_keys
        self.lock = threading.Lock()

    def get(self, key: int) -> tuple[float, float] | None:
        return self._buckets.pop(key, None)

    def put(self, key: int, tokens: float, last: float) -> None:
        self._buckets[key] = (tokens, last)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)


class RateLimiter:
    """A token bucket per key (an integer: an API key id, a client address's hash): `rate` requests a second on
    average, bursts up to `burst`. The buckets are this process's, or after :func:`share_rate_limits` shared by
    every process of the service, in the table named `table`."""

    def __init__(self, rate: float, burst: int, table: str = API_KEYS, max_keys: int = 100_000) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self._buckets: SharedBuckets | _LocalBuckets = _shared_tables.get(table) or _LocalBuckets(max_keys)

    def allow(self, key: int, cost: float = 1.0, take: bool = True) -> tuple[bool, float]:
        """(allowed, seconds to wait before retrying). With `take=False` only tells whether `cost` tokens are
        there, taking none."""
        now = time.monotonic()  # CLOCK_MONOTONIC: one clock for every process of the machine
        with self._buckets.lock:
            tokens, last = self._buckets.get(key) or (float(self.burst), now)
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            ok = tokens >= cost
            if ok and take:
                tokens -= cost
            self._buckets.put(key, tokens, now)
        return ok, 0.0 if ok else (cost - tokens) / self.rate


def address_key(address: str) -> int:
    """A 48-bit key for a client address (exact in the shared tables' float slots)."""
    return int.from_bytes(hashlib.blake2b(address.encode(), digest_size=6).digest(), "big")


class ClientAddress:
    """The client's address for per-address limits: the socket's peer, or — when the peer is one of the trusted
    proxies — the last address in the configured header (the one that proxy appended; earlier entries are the
    client's own say). Without a configured header the peer, always."""

    def __init__(self, header: str | None = None, proxies: list[str] | tuple[str, ...] = ()) -> None:
        self.header = header.lower() if header else None
        self.proxies = tuple(ipaddress.ip_network(p, strict=False) for p in proxies)

    def __call__(self, request: Request) -> str:
        peer = request.client.host if request.client else "unknown"
        if self.header is None or not self._trusted(peer):
            return peer
        values = request.headers.getlist(self.header)
        if not values:
            return peer
        last = values[-1].split(",")[-1].strip()
        try:
            return str(ipaddress.ip_address(last.strip("[]")))
        except ValueError:
            return peer  # not an address: the proxy did not set it, someone else did

    def _trusted(self, peer: str) -> bool:
        try:
            ip = ipaddress.ip_address(peer)
        except ValueError:
            return False
        return any(ip in net for net in self.proxies)


class Authenticator:
    """Resolves the request's key (Authorization: Bearer <key>, or X-API-Key) to a Principal. Keys are cached
    for CACHE_SECONDS, so a revoked key stops working within that time, in every process."""

    CACHE_SECONDS = 5.0

    def __init__(
        self,
        sessions: sessionmaker[Session],
        limiter: RateLimiter,
        failures: RateLimiter | None = None,
        client_address: ClientAddress | None = None,
    ) -> None:
        self.sessions = sessions
        self.limiter = limiter
        self.failures = failures or RateLimiter(0.1, 10, table=FAILED_AUTH)
        self.client_address = client_address or ClientAddress()
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def principal(self, request: Request) -> Principal:
        auth = request.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else request.headers.get("x-api-key", "")
        if not key:
            raise Problem(
                401,
                "MISSING_API_KEY",
                "send an API key: Authorization: Bearer <key>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        # an address that sent too many unknown keys is refused before its key is looked at: keys cannot be
        # guessed faster than the failure rate, not even by a guess that happens to be right
        client = address_key(self.client_address(request))
        ok, retry = self.failures.allow(client, take=False)
        if not ok:
            raise Problem(
                429,
                "TOO_MANY_FAILED_AUTHENTICATIONS",
                f"too many requests with an invalid API key from this address; retry in {retry:.0f}s",
                headers={"Retry-After": str(max(1, int(retry + 0.999)))},
            )
        if len(key) > 200:
            self.failures.allow(client)
            raise Problem(401, "INVALID_API_KEY", "the API key is not valid", headers={"WWW-Authenticate": "Bearer"})
        h = hash_key(key)
        now = time.monotonic()
        with self._lock:
            entry = self._cache.get(h)
        cached = entry[0] if entry is not None and now - entry[1] < self.CACHE_SECONDS else None
        if cached is None:
            with self.sessions() as s:
                rec = s.scalar(select(ApiKey).where(ApiKey.key_hash == h, ApiKey.revoked.is_(False)))
            if rec is None:
                self.failures.allow(client)
                raise Problem(
                    401, "INVALID_API_KEY", "the API key is not valid", headers={"WWW-Authenticate": "Bearer"}
                )
            cached = Principal(rec.id, rec.name, rec.role, rec.country, rec.issuer_account)
            with self._lock:
                self._cache[h] = (cached, now)
        self.charge(cached)
        return cached

    def charge(self, principal: Principal, cost: float = 1.0) -> None:
        """Take `cost` tokens from the key's bucket, or refuse with 429."""
        if cost <= 0:
            return
        ok, retry = self.limiter.allow(principal.key_id, cost)
        if not ok:
            raise Problem(
                429,
                "RATE_LIMITED",
                f"too many requests for this key; retry in {retry:.2f}s",
                headers={"Retry-After": str(max(1, int(retry + 0.999)))},
            )

    def charge_documents(self, principal: Principal, documents: int) -> None:
        """A bulk request counts one request per document: take the tokens beyond the one its authentication
        took, or refuse with 429."""
        if documents > self.limiter.burst:
            raise Problem(
                429,
                "RATE_LIMITED",
                f"this request counts as {documents} requests (one per document), "
                f"more than this key's burst of {self.limiter.burst}; send fewer documents at once",
            )
        if documents <= 1:
            return
        ok, retry = self.limiter.allow(principal.key_id, documents - 1)
        if not ok:
            raise Problem(
                429,
                "RATE_LIMITED",
                f"too many requests for this key; retry in {retry:.2f}s (this request "
                f"counts as {documents}, one per document)",
                headers={"Retry-After": str(max(1, int(retry + 0.999)))},
            )

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


def require(principal: Principal, *roles: str) -> None:
    if principal.role not in roles:
        raise Problem(
            403, "FORBIDDEN_ROLE", f"this endpoint is for {' or '.join(roles)} keys; this key has role {principal.role}"
        )
