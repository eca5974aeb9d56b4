"""The index as a verification source: the same `read` as the chain source, answered from the index
database at its indexed block (which the verdict names)."""

from __future__ import annotations

import logging
from typing import Sequence

from certnet.api.index.queries import IndexNotReady, IndexStatusSource
from certnet.node.contracts import DocumentStatus
from certnet.node.deploy import Deployment
from certnet.verifier.sources import NetworkInfo, SourceError

log = logging.getLogger("certnet.api.index")
UNREADABLE = "the service's index could not be read (the service's log has the details)"


class IndexedSource:
    kind = "index"

    def __init__(self, db_url: str, deployment: Deployment) -> None:
        self.deployment = deployment
        self.index = IndexStatusSource(db_url, deployment.chain_id, deployment.certificate_registry,
                                       deployment.issuer_registry)
        self._names: dict[str, str] = {}

    def network(self) -> NetworkInfo:
        d = self.deployment
        return NetworkInfo(d.chain_id, d.name, d.certificate_registry, d.issuer_registry)

    def read(self, pairs: Sequence[tuple[str, str]]) -> tuple[int, str | None, list[DocumentStatus]]:
        try:
            block, statuses = self.index.status_with_block(list(pairs))
        except IndexNotReady as exc:
            log.warning("verification: the index is not ready: %s", exc)
            raise SourceError("the service's index has not read this network yet") from None
        except Exception:
            log.exception("verification: the index could not be read")
            raise SourceError(UNREADABLE) from None
        return block.number, block.hash, statuses

    def issuer_name(self, account: str) -> str | None:
        if account not in self._names:
            try:
                self._names = {i.account: i.name for i in self.index.issuers()}
            except Exception:
                log.exception("verification: the index's issuers could not be read")
                raise SourceError(UNREADABLE) from None
        return self._names.get(account)

    def history(self, h: str):  # noqa: ANN201 - the index's ChainEvent list
        return self.index.history(h)
