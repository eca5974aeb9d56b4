"""The index as a verification source: the same `read`, `authority_name`, `key_authorised` and `network` as the
chain source (certnet.verifier.sources.ChainSource), answered from the index database at its indexed block
(which the verdict names)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from certnet.index.queries import ChainEvent, IndexNotReady, IndexStatusSource
from certnet.node.contracts import DocumentStatus, StatusQuery
from certnet.node.deploy import Deployment
from certnet.verifier.sources import NetworkInfo, SourceError

log = logging.getLogger("certnet.index")
UNREADABLE = "the service's index could not be read (the service's log has the details)"


class IndexedSource:
    kind = "index"

    def __init__(self, db_url: Any, deployment: Deployment) -> None:
        self.deployment = deployment
        self.index = IndexStatusSource(db_url, deployment.chain_id, deployment.issuer_registry)
        self._names: dict[str, str | None] = {}

    def network(self) -> NetworkInfo:
        d = self.deployment
        return NetworkInfo(d.chain_id, d.name, d.issuer_registry)

    def read(self, queries: Sequence[StatusQuery]) -> tuple[int, str | None, list[DocumentStatus]]:
        try:
            block, statuses = self.index.status_with_block(list(queries))
        except IndexNotReady as exc:
            log.warning("verification: the index is not ready: %s", exc)
            raise SourceError("the service's index has not read this network yet") from None
        except Exception:
            log.exception("verification: the index could not be read")
            raise SourceError(UNREADABLE) from None
        return block.number, block.hash, statuses

    def authority_name(self, store: str) -> str | None:
        """The name of a registered store's authority (kept once known: it never changes)."""
        name = self._names.get(store)
        if name is None:
            try:
                name = self.index.authority_name(store) or None
            except Exception:
                log.exception("verification: the index's authorities could not be read")
                raise SourceError(UNREADABLE) from None
            if name is not None:
                self._names[store] = name
        return name

    def key_authorised(self, key: str, store: str, document_type: int, time: int) -> bool:
        """Whether `key` was a key of `store`'s authority, authorised for the type, at `time` (as of the indexed
        block)."""
        try:
            return self.index.is_authorised_at(key, store, document_type, time)
        except Exception as exc:
            raise SourceError(f"the index could not be read: {exc}") from None

    def history(self, h: str, root: str | None = None, store: str | None = None) -> list[ChainEvent]:
        return self.index.history(h, root, store)
