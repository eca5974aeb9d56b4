"""Where verification reads certificate status: the chain itself (trustless) or the service's index.

Both answer `read` with `certnet.node.contracts.DocumentStatus` for many (store, root, document, proof) queries at
once, across the authorities' document stores, pinned to one block, so that both modes give the same verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence

from web3 import Web3

from certnet.node.contract_types import DocumentStatus, StatusQuery
from certnet.node.contracts import DocumentStoreClient
from certnet.node.deploy import Deployment
from certnet.node.rpc import log_failure
from certnet.verifier.status import NetworkInfo, SourceError
from certnet.verifier.status import StatusSource as StatusSource  # re-exported


class ChainSource:
    """Reads the IssuerRegistry's batched status view across stores directly from a node (one call per 1,000
    documents)."""

    kind = "chain"

    def __init__(self, w3: Web3, deployment: Deployment, confirmations: int = 0) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.confirmations = confirmations
        self.registry = deployment.issuer_registry_client(w3)
        self._names: dict[str, str | None] = {}
        self._chain_id: int | None = None

    def network(self) -> NetworkInfo:
        if self._chain_id is None:
            try:
                self._chain_id = self.w3.eth.chain_id
            except Exception as exc:
                raise SourceError(log_failure(exc, "verification: reading the chain id")) from None
            if self._chain_id != self.deployment.chain_id:
                raise SourceError(
                    f"the node serves chain {self._chain_id}, the deployment is on chain {self.deployment.chain_id}"
                )
        return NetworkInfo(self._chain_id, self.deployment.name, self.deployment.issuer_registry)

    def snapshot(self) -> tuple[int, str]:
        try:
            head = self.w3.eth.block_number
            block = self.w3.eth.get_block(max(0, head - self.confirmations))
        except Exception as exc:
            raise SourceError(log_failure(exc, "verification: reading the head block")) from None
        return block["number"], block["hash"].to_0x_hex()

    def status_of(self, queries: Sequence[StatusQuery], block: int) -> list[DocumentStatus]:
        try:
            return self.registry.status_of(list(queries), block=block)
        except Exception as exc:
            raise SourceError(
                f"the registry could not be read at block {block}: "
                f"{log_failure(exc, f'verification: reading statuses at block {block}')}"
            ) from None

    @property
    def read_chunk(self) -> int:
        """Documents per status call: the verifier reads chunks of this size at one pinned block (`snapshot`,
        `status_of`), each while it checks the next chunk's integrity."""
        return int(self.registry.MAX_STATUS_QUERIES)

    def read(self, queries: Sequence[StatusQuery]) -> tuple[int, str | None, list[DocumentStatus]]:
        block, block_hash = self.snapshot()
        return block, block_hash, self.status_of(queries, block) if queries else []

    def authority_name(self, store: str) -> str | None:
        """The name of a registered store's authority (read once)."""
        if store not in self._names:
            try:
                self._names[store] = DocumentStoreClient(self.w3, store).name() or None
            except Exception as exc:
                raise SourceError(
                    f"the document store could not be read: {log_failure(exc, 'verification: reading a store name')}"
                ) from None
        return self._names[store]

    def key_authorised(self, key: str, store: str, document_type: int, time: int) -> bool:
        try:
            return self.registry.is_authorised_at(key, store, document_type, time)
        except Exception as exc:
            raise SourceError(
                "the issuer registry could not be read: "
                f"{log_failure(exc, 'verification: reading a key authorisation')}"
            ) from None
