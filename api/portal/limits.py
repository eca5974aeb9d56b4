"""A per-client-IP rate limit for the portal's open (keyless) verification: a token bucket per address,
with a bounded table so that many addresses cannot grow memory without end."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

DEFAULT_RATE = 5.0  # verifications a second, on average, per client address
DEFAULT_BURST = 60
MAX_CLIENTS = 50_000


class IpRateLimiter:
    def __init__(self, rate: float = DEFAULT_RATE, burst: int = DEFAULT_BURST, max_clients: int = MAX_CLIENTS) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.rate = rate
        self.burst = burst
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, cost: float = 1.0) -> tuple[bool, float]:
        """(allowed, seconds to wait before retrying)."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            ok = tokens >= cost
            if ok:
                tokens -= cost
            self._buckets[client] = (tokens, now)  # most recently used last
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return ok, 0.0 if ok else (cost - tokens) / self.rate
