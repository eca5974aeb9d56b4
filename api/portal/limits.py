"""A per-client-IP rate limit for the portal's open (keyless) verification: a token bucket per address (the
API's :class:`certnet.api.auth.RateLimiter`, keyed by a hash of the address, its table bounded; shared by the
processes of `certnet serve --workers N` like the API keys' limits)."""

from __future__ import annotations

from certnet.api.auth import PORTAL_CLIENTS, RateLimiter, address_key

DEFAULT_RATE = 5.0  # verifications a second, on average, per client address
DEFAULT_BURST = 60
MAX_CLIENTS = 50_000


client_key = address_key  # a 48-bit key for a client address (exact in the shared table's float slots)


class IpRateLimiter:
    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST, max_clients: int = MAX_CLIENTS) -> None:
        self._limiter = RateLimiter(rate, burst, table=PORTAL_CLIENTS, max_keys=max_clients)

    def allow(self, client: str, cost: float = 1.0) -> tuple[bool, float]:
        """(allowed, seconds to wait before retrying)."""
        return self._limiter.allow(client_key(client), cost)
