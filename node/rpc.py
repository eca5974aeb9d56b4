"""Bounded JSON-RPC: every call to a node has a timeout and a retry policy, and a caller may bound a whole
operation (one verification, say) by a deadline that all the calls inside it share.

web3's own HTTPProvider retries a timed-out request five times by default (75 s against a node that accepts
connections and never answers); `BoundedHTTPProvider` instead retries only a refused or reset connection, a
few times with a short backoff, never past the deadline, and never a request the node took and did not answer.

`describe_failure` turns what went wrong into a sentence for a person (a customs officer reads it in a
verdict); the library's exception goes to the log, never into that sentence.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import time
from collections.abc import Iterator
from typing import Any, cast

import requests
from eth_typing import URI
from web3 import HTTPProvider

from certnet import CertnetError

log = logging.getLogger("certnet.rpc")

#: seconds a single JSON-RPC request may take unless the caller says otherwise
DEFAULT_TIMEOUT = 30.0
#: retries of a refused or reset connection (not of a timed-out request), with this backoff base
CONNECT_RETRIES = 2
BACKOFF = 0.1

_deadline: contextvars.ContextVar[tuple[float, float] | None] = contextvars.ContextVar(
    "certnet_rpc_deadline", default=None
)


class NodeTimeout(CertnetError, TimeoutError):
    """The node did not answer within the time allowed (`seconds`)."""

    def __init__(self, url: str, seconds: float) -> None:
        super().__init__(f"no answer from {url} within {seconds:g} s")
        self.url = url
        self.seconds = seconds


class NodeUnreachable(CertnetError, ConnectionError):
    """No connection to the node could be made (refused, reset, unknown host)."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"cannot connect to {url}: {detail}")
        self.url = url


class NodeBadAnswer(CertnetError, OSError):
    """The node answered, but not with JSON-RPC (an HTTP error page, a proxy's answer, garbage)."""

    def __init__(self, url: str, detail: str) -> None:
        super().__init__(f"{url} answered without JSON-RPC: {detail}")
        self.url = url


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every JSON-RPC call made in this context (this thread or task) to end within `seconds` from now
    in total. A nested deadline never extends an outer one."""
    now = time.monotonic()
    outer = _deadline.get()
    end = now + seconds
    if outer is not None and outer[0] < end:
        end, seconds = outer
    token = _deadline.set((end, seconds))
    try:
        yield
    finally:
        _deadline.reset(token)


def _remaining() -> tuple[float, float] | None:
    """(seconds left, the deadline's full length) of the current deadline, if any."""
    d = _deadline.get()
    if d is None:
        return None
    return d[0] - time.monotonic(), d[1]


class BoundedHTTPProvider(HTTPProvider):
    """An HTTP JSON-RPC provider with an explicit timeout per request, retries of refused connections only,
    and the caller's deadline (see :func:`deadline`) respected across the retries. Failures are raised as
    :class:`NodeTimeout`, :class:`NodeUnreachable` or :class:`NodeBadAnswer`."""

    def __init__(
        self,
        endpoint_uri: str,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = CONNECT_RETRIES,
        backoff: float = BACKOFF,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"JSON-RPC timeout must be positive, got {timeout}")
        # web3's own retry loop is off: ours below knows the deadline and the kind of failure
        super().__init__(endpoint_uri, request_kwargs={"timeout": timeout}, exception_retry_configuration=None)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def _budget(self) -> tuple[float, float]:
        """(timeout for the next request, the bound to name if it runs out)."""
        left = _remaining()
        if left is None or left[0] >= self.timeout:
            return self.timeout, self.timeout if left is None else min(self.timeout, left[1])
        if left[0] <= 0:
            raise NodeTimeout(str(self.endpoint_uri), left[1])
        return left[0], left[1]

    def _post(self, request_data: bytes) -> bytes:
        attempt = 0
        while True:
            timeout, bound = self._budget()
            kwargs = self.get_request_kwargs()
            kwargs["timeout"] = timeout
            try:
                return self._request_session_manager.make_post_request(
                    cast(URI, self.endpoint_uri), request_data, **kwargs
                )
            except requests.Timeout as exc:
                if isinstance(exc, requests.ConnectTimeout) and attempt < self.retries:
                    attempt += 1
                    continue
                raise NodeTimeout(str(self.endpoint_uri), bound) from exc
            except requests.ConnectionError as exc:
                if attempt < self.retries:
                    left = _remaining()
                    pause = self.backoff * 2**attempt
                    if left is None or left[0] > pause:
                        attempt += 1
                        time.sleep(pause)
                        continue
                raise NodeUnreachable(str(self.endpoint_uri), type(exc).__name__) from exc
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else "?"
                raise NodeBadAnswer(str(self.endpoint_uri), f"HTTP {status}") from exc

    def _make_request(self, method: Any, request_data: bytes) -> bytes:
        return self._post(request_data)

    def make_batch_request(self, batch_requests: Any) -> Any:
        from web3._utils.batching import sort_batch_response_by_response_ids

        raw = self._post(self.encode_batch_rpc_request(batch_requests))
        response = self.decode_rpc_response(raw)
        return response if not isinstance(response, list) else sort_batch_response_by_response_ids(response)

    # web3 declares it a staticmethod but calls it on the provider; this one names the provider's endpoint
    def decode_rpc_response(self, raw_response: bytes) -> Any:  # type: ignore[override]
        try:
            return super().decode_rpc_response(raw_response)
        except (ValueError, json.JSONDecodeError) as exc:
            raise NodeBadAnswer(str(self.endpoint_uri), "the answer is not JSON") from exc


def _seconds(s: float) -> str:
    n = f"{s:g}"
    return f"{n} second" if n == "1" else f"{n} seconds"


def describe_failure(exc: BaseException, what: str = "the node") -> str:
    """A sentence (no final full stop) saying why `what` could not be read, for a person, not a programmer:
    no exception names, no library text. Callers log the exception itself."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:  # the cause chain: web3 may wrap what the provider raised
        seen.add(id(e))
        if isinstance(e, NodeTimeout):
            return f"{what} did not answer within {_seconds(e.seconds)}"
        if isinstance(e, NodeUnreachable):
            return f"{what} could not be reached (no connection could be made)"
        if isinstance(e, NodeBadAnswer):
            return f"{what} gave an answer that is not a blockchain answer"
        if isinstance(e, (requests.Timeout, TimeoutError)):
            return f"{what} did not answer in time"
        if isinstance(e, (requests.ConnectionError, ConnectionError)):
            return f"{what} could not be reached (no connection could be made)"
        e = e.__cause__ or e.__context__
    return f"{what} could not be read (an unexpected error; the service's log has the details)"


def log_failure(exc: BaseException, context: str) -> str:
    """Log `exc` with `context` and return :func:`describe_failure`'s sentence for it."""
    sentence = describe_failure(exc)
    log.warning("%s: %s (%s: %s)", context, sentence, type(exc).__name__, exc)
    return sentence


__all__ = [
    "BoundedHTTPProvider",
    "DEFAULT_TIMEOUT",
    "NodeBadAnswer",
    "NodeTimeout",
    "NodeUnreachable",
    "deadline",
    "describe_failure",
    "log_failure",
]
