"""What verification reads a status from: the `StatusSource` protocol and its answers' types.

The sources themselves are in `certnet.verifier.sources` (the chain, through web3) and `certnet.api.indexed` (the
index); this module imports neither, so offline verification loads no web3.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from certnet import CertnetError
from certnet.node.contract_types import DocumentStatus, StatusQuery


class SourceError(CertnetError, RuntimeError):
    """The status could not be read (node unreachable, index unavailable, ...)."""


@dataclass(frozen=True)
class NetworkInfo:
    chain_id: int
    name: str
    issuer_registry: str


class StatusSource(Protocol):
    kind: str  # "chain" or "index"

    def network(self) -> NetworkInfo: ...

    def read(self, queries: Sequence[StatusQuery]) -> tuple[int, str | None, list[DocumentStatus]]:
        """(block number, block hash, statuses): every status as of that one block."""

    def authority_name(self, store: str) -> str | None: ...

    def key_authorised(self, key: str, store: str, document_type: int, time: int) -> bool:
        """Whether `key` was a key of `store`'s authority, authorised for the type, at `time`."""
