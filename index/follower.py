"""The follower: the IssuerRegistry's events and those of every DocumentStore it creates, from a checkpoint into
the index database.

    indexer = Indexer(w3, deployment, "sqlite:///index.db", confirmations=0)
    indexer.sync()                      # catch up to head - confirmations; returns the indexed block
    indexer.run(stop_event, interval=1) # keep following

How it reads the chain: `eth_getLogs` over block ranges with an address filter (the registry and every store it
created so far; by topic alone once there are very many stores) and a topic filter (the events the index keeps);
a store registered inside a range gets its logs of that range fetched at once. Store logs count only after
their store's AuthorityRegistered, in block/log order. The range adapts to the density of events; the logs are
decoded straight from their hex topics and data (no web3 formatting: that is where the time goes for a
million events) and written in bulk, one database transaction per range together with the checkpoint.

Reorgs: before new blocks are indexed, the stored hash of the last indexed block is compared with the
chain's. On a mismatch the follower walks back over the block hashes it kept (blocks that carried events
and each checkpoint, for the last `keep_blocks` blocks) to the newest one the chain still has - the
common ancestor - deletes every row above it and indexes again from there. A reorg deeper than the kept
window re-indexes from the start. While a range is read, the range's last block is fetched before and
after the logs and every log's block hash is checked against the chain, so a reorg that happens during a
read is noticed and the range read again.

Finality: only blocks up to head - `confirmations` are indexed (embedded, anvil and QBFT are final at
once: 0; Clique needs its configured depth).

One follower per network and database: the checkpoint is moved with a compare-and-set, so a second one
fails (IndexConflict) instead of writing rows twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from eth_utils import event_abi_to_log_topic, to_checksum_address
from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, Engine
from web3 import Web3

from certnet import CertnetError
from certnet.index import make_engine, upgrade
from certnet.index.models import (
    EVENT_MODELS,
    AdminChange,
    Anchor,
    AuthorityRegistration,
    Block,
    CustomsEvent,
    CustomsKeyChange,
    KeyAddition,
    KeyCompromise,
    KeyRotation,
    KeyStatusChange,
    MemberChange,
    Network,
    ProposalEvent,
    Revocation,
    Rollback,
    Supersession,
)
from certnet.node.artifacts import load_artifact
from certnet.node.deploy import Deployment

log = logging.getLogger("certnet.index")

#: Events the index keeps. DocumentIssued and DocumentRevoked (the OpenAttestation interface's events)
#: repeat what RootAnchored and RevocationRecorded say and are not fetched.
STORE_EVENTS = ("RootAnchored", "RevocationRecorded", "DocumentSuperseded")
REGISTRY_EVENTS = (
    "MemberAdded",
    "MemberRemoved",
    "AdminAdded",
    "AdminRemoved",
    "CustomsKeyAdded",
    "CustomsKeyRemoved",
    "ProposalCreated",
    "VoteCast",
    "ProposalClosedWith",
    "AuthorityRegistered",
    "KeyAdded",
    "KeyStatusChanged",
    "KeyRotated",
    "KeyCompromised",
)
CUSTOMS_EVENTS = ("DecisionRecorded", "CheckOpened", "CheckAnswered", "CheckClosed")


class IndexerError(CertnetError, RuntimeError):
    """Base of the follower's errors."""


class IndexConflict(IndexerError):
    """Another follower moved this network's checkpoint."""


class ChainUnstable(IndexerError):
    """The chain kept reorganising while a range was read."""


class WrongNetwork(IndexerError):
    """The node's chain id is not the deployment's."""


def topic_of(artifact: str, event: str) -> str:
    """The 0x-hex topic0 of a contract event, from the committed ABI."""
    for item in load_artifact(artifact)["abi"]:
        if item.get("type") == "event" and item["name"] == event:
            return "0x" + event_abi_to_log_topic(item).hex()
    raise KeyError(f"{artifact} has no event {event}")


# ------------------------------------------------------------------ logs and headers


class RawLog(NamedTuple):
    """A log as the JSON-RPC returns it, hex kept as strings (lowercase, 0x-prefixed)."""

    address: str
    topics: list[str]
    data: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int


class Header(NamedTuple):
    number: int
    hash: str
    parent_hash: str
    timestamp: int


class RpcError(IndexerError):
    """The node answered a JSON-RPC call with an error."""


def _hex(v: Any) -> str:
    if isinstance(v, str):
        return v.lower() if v.startswith("0x") else "0x" + v.lower()
    return "0x" + bytes(v).hex()


class ChainReader:
    """What the follower needs from a node. JSON-RPC providers are spoken to directly (raw hex in and
    out, batched header requests); the in-process embedded engine goes through web3's own methods."""

    def __init__(self, w3: Web3) -> None:
        from web3 import EthereumTesterProvider

        self.w3 = w3
        self.raw = not isinstance(w3.provider, EthereumTesterProvider)
        self.batching = self.raw and hasattr(w3.provider, "make_batch_request")

    def _call(self, method: str, params: list[Any]) -> Any:
        resp = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if resp.get("error"):
            raise RpcError(f"{method}: {resp['error']}")
        return resp.get("result")

    def block_number(self) -> int:
        return self.w3.eth.block_number

    def chain_id(self) -> int:
        return self.w3.eth.chain_id

    @staticmethod
    def _header(b: Any) -> Header | None:
        if not b:
            return None
        num = b["number"]
        ts = b["timestamp"]
        return Header(
            number=int(num, 16) if isinstance(num, str) else int(num),
            hash=_hex(b["hash"]),
            parent_hash=_hex(b["parentHash"]),
            timestamp=int(ts, 16) if isinstance(ts, str) else int(ts),
        )

    def header(self, number: int) -> Header | None:
        return self.headers([number]).get(number)

    def headers(self, numbers: Sequence[int], batch: int = 200) -> dict[int, Header | None]:
        out: dict[int, Header | None] = {}
        numbers = list(numbers)
        if not self.raw:
            from web3.exceptions import BlockNotFound

            for n in numbers:
                try:
                    out[n] = self._header(self.w3.eth.get_block(n))
                except BlockNotFound:
                    out[n] = None
            return out
        for start in range(0, len(numbers), batch):
            part = numbers[start : start + batch]
            calls = [("eth_getBlockByNumber", [hex(n), False]) for n in part]
            if self.batching and len(part) > 1:
                resps = self.w3.provider.make_batch_request(calls)  # type: ignore[attr-defined]
                if isinstance(resps, dict):
                    raise RpcError(f"eth_getBlockByNumber (batch): {resps.get('error')}")
                results = []
                for r in resps:
                    if r.get("error"):
                        raise RpcError(f"eth_getBlockByNumber: {r['error']}")
                    results.append(r.get("result"))
            else:
                results = [self._call(m, p) for m, p in calls]
            for n, b in zip(part, results, strict=True):
                out[n] = self._header(b)
        return out

    def logs(self, from_block: int, to_block: int, addresses: list[str] | None, topics: list[str]) -> list[RawLog]:
        """Logs of blocks from_block..to_block with one of `topics` as topic0, emitted by one of `addresses` (None:
        by any contract)."""
        if self.raw:
            flt: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block), "topics": [topics]}
            if addresses is not None:
                flt["address"] = addresses
            result = self._call("eth_getLogs", [flt])
            return [
                RawLog(
                    r["address"].lower(),
                    r["topics"],
                    r["data"],
                    int(r["blockNumber"], 16),
                    r["blockHash"],
                    r["transactionHash"],
                    int(r["logIndex"], 16),
                )
                for r in result
                if not r.get("removed")
            ]
        wanted = set(topics)
        out = []
        query: dict[str, Any] = {"fromBlock": from_block, "toBlock": to_block}
        if addresses is not None:
            query["address"] = [Web3.to_checksum_address(a) for a in addresses]
        for r in self.w3.eth.get_logs(query):  # type: ignore[arg-type]
            tops = [_hex(t) for t in r["topics"]]
            if tops and tops[0] in wanted:
                out.append(
                    RawLog(
                        r["address"].lower(),
                        tops,
                        _hex(r["data"]),
                        int(r["blockNumber"]),
                        _hex(r["blockHash"]),
                        _hex(r["transactionHash"]),
                        int(r["logIndex"]),
                    )
                )
        return out

    def code_at(self, address: str, block: int) -> bool:
        return len(self.w3.eth.get_code(Web3.to_checksum_address(address), block_identifier=block)) > 0


# ------------------------------------------------------------------ decoding


class Decoder:
    """Turns raw logs of the IssuerRegistry and of the stores it created into rows of the index tables (common
    columns included).

    `stores` maps each known store (lowercase address) to its authority's country. A store's logs are accepted
    only once its AuthorityRegistered was decoded (in this call or an earlier one: `rows` adds the stores it
    sees registered, so logs in block/log order need nothing else); logs of any other address are skipped."""

    def __init__(
        self,
        issuer_registry: str,
        stores: dict[str, str] | None = None,
        customs_record: str | None = None,
        check_lookup: Callable[[int], tuple[str, str, str, str] | None] | None = None,
    ) -> None:
        self.registry = issuer_registry.lower()
        self.stores: dict[str, str] = dict(stores or {})
        self._addresses: dict[str, str] = {}
        self.store_handlers = {topic_of("DocumentStore", e): getattr(self, f"_{e}") for e in STORE_EVENTS}
        self.registry_handlers = {topic_of("IssuerRegistry", e): getattr(self, f"_{e}") for e in REGISTRY_EVENTS}
        #: the CustomsRecord deployed with the registry (None: not followed)
        self.customs = customs_record.lower() if customs_record else None
        self.customs_handlers = (
            {topic_of("CustomsRecord", e): getattr(self, f"_{e}") for e in CUSTOMS_EVENTS} if self.customs else {}
        )
        #: check id -> (store, document, importing country, issuing country), learned from CheckOpened; older
        #: checks are asked of `check_lookup` (the index)
        self.checks: dict[int, tuple[str, str, str, str]] = {}
        self.check_lookup = check_lookup
        self.topics = list(self.store_handlers) + list(self.registry_handlers) + list(self.customs_handlers)
        self.registered_topic = topic_of("IssuerRegistry", "AuthorityRegistered")

    # -- field helpers
    def _addr(self, word: str) -> str:
        """A checksummed address from a 32-byte word (hex, with or without 0x); cached."""
        h = word[-40:]
        a = self._addresses.get(h)
        if a is None:
            a = self._addresses[h] = to_checksum_address("0x" + h)
        return a

    @staticmethod
    def _country(word: str) -> str:
        """A bytes2 country code, left-aligned in a 32-byte word."""
        w = word[2:6] if word.startswith("0x") else word[:4]
        return bytes.fromhex(w).rstrip(b"\x00").decode("ascii", "replace")

    @staticmethod
    def _words(data: str) -> list[str]:
        return [data[i : i + 64] for i in range(2, len(data), 64)]

    def _store_country(self, word: str) -> str:
        return self.stores.get("0x" + word[-40:], "")

    # -- DocumentStore (`store` and `country` are added by `rows`)
    def _RootAnchored(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return Anchor, {
            "root": t[1][2:],
            "key": self._addr(t[2]),
            "document_type": int(data[2:66], 16),
            "document_count": int(data[66:130], 16),
        }

    def _RevocationRecorded(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return Revocation, {"root": t[1][2:], "hash": t[2][2:], "by": self._addr(t[3]), "reason": int(data[2:66], 16)}

    def _DocumentSuperseded(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        w = self._words(data)
        return Supersession, {
            "old_root": t[1][2:],
            "old_document": t[2][2:],
            "new_document": t[3][2:],
            "new_store": self._addr(w[0]),
            "new_root": w[1],
            "by": self._addr(w[2]),
        }

    # -- IssuerRegistry: members, admins, customs keys, votes
    def _MemberAdded(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return MemberChange, {
            "country": self._country(t[1]),
            "added": True,
            "epoch": int(data[2:66], 16),
            "proposal_id": int(data[66:130], 16),
        }

    def _MemberRemoved(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return MemberChange, {
            "country": self._country(t[1]),
            "added": False,
            "epoch": int(data[2:66], 16),
            "proposal_id": int(data[66:130], 16),
        }

    def _AdminAdded(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return AdminChange, {
            "country": self._country(t[1]),
            "admin": self._addr(t[2]),
            "added": True,
            "by": self._addr(t[3]),
        }

    def _AdminRemoved(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return AdminChange, {
            "country": self._country(t[1]),
            "admin": self._addr(t[2]),
            "added": False,
            "by": self._addr(t[3]),
        }

    def _CustomsKeyAdded(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return CustomsKeyChange, {
            "country": self._country(t[1]),
            "key": self._addr(t[2]),
            "added": True,
            "by": self._addr(t[3]),
        }

    def _CustomsKeyRemoved(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return CustomsKeyChange, {
            "country": self._country(t[1]),
            "key": self._addr(t[2]),
            "added": False,
            "by": self._addr(t[3]),
        }

    @staticmethod
    def _proposal(proposal_id: int, event: str, **fields: Any) -> tuple[type, dict[str, Any]]:
        row: dict[str, Any] = {
            "proposal_id": proposal_id,
            "event": event,
            "kind": None,
            "country": None,
            "admin": None,
            "proposer": None,
            "deadline": None,
            "support": None,
            "yes": None,
            "no": None,
            "state": None,
        }
        row.update(fields)
        return ProposalEvent, row

    def _ProposalCreated(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        w = self._words(data)
        return self._proposal(
            int(t[1], 16),
            "CREATED",
            kind=int(w[0], 16),
            country=self._country(t[2]),
            admin=None if int(w[1], 16) == 0 else self._addr(w[1]),
            proposer=self._country(w[2]),
            deadline=int(w[3], 16),
        )

    def _VoteCast(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        w = self._words(data)
        return self._proposal(
            int(t[1], 16),
            "VOTE",
            country=self._country(t[2]),
            support=int(w[0], 16) != 0,
            yes=int(w[1], 16),
            no=int(w[2], 16),
        )

    def _ProposalClosedWith(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return self._proposal(int(t[1], 16), "CLOSED", state=int(data[2:66], 16))

    # -- IssuerRegistry: authorities and keys
    def _AuthorityRegistered(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        # (string name, uint64 documentTypes, uint40 validFrom, uint40 validUntil, address by); the name is
        # read by hand so that bytes that are not UTF-8 (the contract checks only the length) cannot stop
        # the follower
        raw = bytes.fromhex(data[2:])
        offset = int.from_bytes(raw[0:32], "big")
        length = int.from_bytes(raw[offset : offset + 32], "big")
        name = raw[offset + 32 : offset + 32 + length].decode("utf-8", "replace").replace("\x00", "\ufffd")
        w = self._words(data)
        store, country = self._addr(t[1]), self._country(t[2])
        self.stores[store.lower()] = country
        return AuthorityRegistration, {
            "store": store,
            "country": country,
            "name": name,
            "document_types": int(w[1], 16),
            "valid_from": int(w[2], 16),
            "valid_until": int(w[3], 16),
            "by": self._addr(w[4]),
        }

    def _KeyAdded(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        w = self._words(data)
        return KeyAddition, {
            "key": self._addr(t[1]),
            "store": self._addr(t[2]),
            "country": self._store_country(t[2]),
            "valid_from": int(w[0], 16),
            "valid_until": int(w[1], 16),
            "by": self._addr(w[2]),
        }

    def _KeyStatusChanged(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return KeyStatusChange, {
            "key": self._addr(t[1]),
            "store": self._addr(t[2]),
            "country": self._store_country(t[2]),
            "status": int(data[2:66], 16),
            "by": self._addr(data[66:130]),
        }

    def _KeyRotated(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return KeyRotation, {
            "previous": self._addr(t[1]),
            "successor": self._addr(t[2]),
            "store": self._addr(t[3]),
            "country": self._store_country(t[3]),
            "by": self._addr(data[2:66]),
        }

    def _KeyCompromised(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return KeyCompromise, {
            "key": self._addr(t[1]),
            "store": self._addr(t[2]),
            "country": self._store_country(t[2]),
            "since": int(data[2:66], 16),
            "by": self._addr(data[66:130]),
        }

    # -- CustomsRecord
    def _DecisionRecorded(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        w = self._words(data)  # country, preference, reason, noteHash, version, by
        note = w[3]
        return CustomsEvent, {
            "kind": "DECIDED",
            "store": self._addr(t[2]),
            "document": t[3][2:],
            "country": self._country(w[0]),
            "issuing_country": self._store_country(t[2]),
            "check_id": None,
            "by": self._addr(w[5]),
            "text_hash": None if int(note, 16) == 0 else note,
            "preference": int(w[1], 16),
            "reason": int(w[2], 16),
            "version": int(w[4], 16),
            "due_at": None,
            "result": None,
            "late": None,
            "revoked": None,
        }

    def _CheckOpened(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        w = self._words(data)  # country, reason, requestHash, dueAt, by
        check_id = int(t[1], 16)
        store, document, country = self._addr(t[2]), t[3][2:], self._country(w[0])
        issuing = self._store_country(t[2])
        self.checks[check_id] = (store, document, country, issuing)
        return CustomsEvent, {
            "kind": "CHECK_OPENED",
            "store": store,
            "document": document,
            "country": country,
            "issuing_country": issuing,
            "check_id": check_id,
            "by": self._addr(w[4]),
            "text_hash": w[2],
            "preference": None,
            "reason": int(w[1], 16),
            "version": None,
            "due_at": int(w[3], 16),
            "result": None,
            "late": None,
            "revoked": None,
        }

    def _check_of(self, check_id: int) -> tuple[str, str, str, str]:
        found = self.checks.get(check_id)
        if found is None and self.check_lookup is not None:
            found = self.check_lookup(check_id)
            if found is not None:
                self.checks[check_id] = found
        if found is None:  # the contract emits no answer or closing of a check it did not open
            raise IndexerError(f"CustomsRecord check {check_id} answered or closed, but its opening is not indexed")
        return found

    def _check_row(self, kind: str, t: list[str], **fields: Any) -> tuple[type, dict[str, Any]]:
        check_id = int(t[1], 16)
        store, document, country, issuing = self._check_of(check_id)
        row = {
            "kind": kind,
            "store": store,
            "document": document,
            "country": country,
            "issuing_country": issuing,
            "check_id": check_id,
            "text_hash": None,
            "preference": None,
            "reason": None,
            "version": None,
            "due_at": None,
            "result": None,
            "late": None,
            "revoked": None,
        }
        row.update(fields)
        return CustomsEvent, row

    def _CheckAnswered(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        w = self._words(data)  # result, findingsHash, late, revoked, by
        return self._check_row(
            "CHECK_ANSWERED",
            t,
            by=self._addr(w[4]),
            text_hash=w[1],
            result=int(w[0], 16),
            late=int(w[2], 16) != 0,
            revoked=int(w[3], 16) != 0,
        )

    def _CheckClosed(self, t: list[str], data: str) -> tuple[type, dict[str, Any]]:
        return self._check_row("CHECK_CLOSED", t, by=self._addr(data[2:66]))

    def new_stores(self, logs: Iterable[RawLog]) -> dict[str, int]:
        """Stores registered by the logs (lowercase address -> block) that are not known yet."""
        out: dict[str, int] = {}
        for lg in logs:
            if lg.address == self.registry and lg.topics and lg.topics[0] == self.registered_topic:
                store = "0x" + lg.topics[1][-40:].lower()
                if store not in self.stores and store not in out:
                    out[store] = lg.block_number
        return out

    def rows(self, network_id: int, logs: Iterable[RawLog], times: dict[int, int]) -> dict[type, list[dict[str, Any]]]:
        """Rows per model for `logs` (in block/log order); `times` gives each block's timestamp. Logs of unknown
        contracts, and of a store before its registration, are skipped."""
        out: dict[type, list[dict[str, Any]]] = {}
        registry, stores, customs = self.registry, self.stores, self.customs
        reg, sto, cus = self.registry_handlers, self.store_handlers, self.customs_handlers
        for lg in logs:
            if not lg.topics:
                continue
            if lg.address == registry:
                fn = reg.get(lg.topics[0])
                country = None
            elif lg.address == customs:
                fn = cus.get(lg.topics[0])
                country = None
            else:
                country = stores.get(lg.address)
                fn = sto.get(lg.topics[0]) if country is not None else None
            if fn is None:
                continue
            model, row = fn(lg.topics, lg.data)
            if country is not None:
                row["store"] = self._addr(lg.address)
                row["country"] = country
            row["network_id"] = network_id
            row["block_number"] = lg.block_number
            row["block_hash"] = lg.block_hash
            row["tx_hash"] = lg.tx_hash
            row["log_index"] = lg.log_index
            row["block_time"] = times[lg.block_number]
            bucket = out.get(model)
            if bucket is None:
                bucket = out[model] = []
            bucket.append(row)
        return out


# ------------------------------------------------------------------ the follower


@dataclass(frozen=True)
class Checkpoint:
    number: int
    hash: str | None


@dataclass(frozen=True)
class Reorg:
    """A reorg the follower handled: the checkpoint it found orphaned and the common ancestor."""

    orphaned_block: int
    ancestor_block: int
    at: float


@dataclass
class SyncStats:
    events: int = 0
    ranges: int = 0
    reorgs: list[Reorg] = field(default_factory=list)


class Indexer:
    """Follows one deployment's IssuerRegistry and every DocumentStore it creates into the index database at
    `db_url`.

    `confirmations`: blocks below the head that are not indexed yet (the chain's finality depth).
    `start_block`: first block scanned; by default the IssuerRegistry's deployment block (found with
    `eth_getCode`, or 0 when the node cannot answer for old blocks).
    `keep_blocks`: how many recent blocks' hashes are kept to find a common ancestor after a reorg.
    `max_range`: the most blocks asked for in one `eth_getLogs`; `target_logs`: the range shrinks so that a
    call returns about this many logs (and one database transaction writes them).
    `reader`: what reads the chain (default: a ChainReader on `w3`; benchmarks pass an in-memory one).
    `address_limit`: logs are asked for with an address filter (the registry and the known stores) while there
    are at most this many stores, beyond it by topic alone (and kept only when a known store emitted them).

    A store created in the middle of a range: its registration is found among the registry's logs of the range,
    and the store's own logs from that block on are fetched at once with a second call, before the range is
    written; they are accepted only after the registration in block/log order.
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        db_url: str | Engine,
        confirmations: int = 0,
        *,
        start_block: int | None = None,
        keep_blocks: int = 256,
        max_range: int = 5_000,
        target_logs: int = 20_000,
        migrate: bool = True,
        reader: ChainReader | None = None,
        address_limit: int = 1000,
    ) -> None:
        if confirmations < 0:
            raise ValueError("confirmations must be >= 0")
        self.w3 = w3
        self.deployment = deployment
        self.confirmations = confirmations
        self.keep_blocks = max(keep_blocks, confirmations + 1)
        self.max_range = max_range
        self.target_logs = target_logs
        self.chain = reader if reader is not None else ChainReader(w3)
        self.engine = db_url if isinstance(db_url, Engine) else make_engine(db_url)
        self._own_engine = not isinstance(db_url, Engine)
        if migrate:
            upgrade(self.engine)
        self.issuer_registry = Web3.to_checksum_address(deployment.issuer_registry)
        customs = getattr(deployment, "customs_record", None)
        self.decoder = Decoder(self.issuer_registry, customs_record=customs, check_lookup=self._check_lookup)
        self.address_limit = address_limit
        self.stats = SyncStats()
        self._range = min(max_range, 100)  # grows (doubling) while the chain is sparse
        self._lock = threading.RLock()
        chain_id = self.chain.chain_id()
        if chain_id != deployment.chain_id:
            raise WrongNetwork(f"the node is chain {chain_id}, the deployment is on chain {deployment.chain_id}")
        self.chain_id = chain_id
        self.network_id = self._network(start_block)
        self._load_stores()

    # -- set-up
    def _network(self, start_block: int | None) -> int:
        key = (Network.chain_id == self.chain_id, Network.issuer_registry == self.issuer_registry)
        with self.engine.begin() as conn:
            nid = conn.execute(select(Network.id).where(*key)).scalar()
            if nid is not None:
                return nid
        start = self._find_start() if start_block is None else start_block
        with self.engine.begin() as conn:
            nid = conn.execute(select(Network.id).where(*key)).scalar()
            if nid is None:
                nid = conn.execute(
                    insert(Network).values(
                        chain_id=self.chain_id,
                        issuer_registry=self.issuer_registry,
                        start_block=start,
                        block_number=start - 1,
                        block_hash=None,
                        updated_at=int(time.time()),
                    )
                ).inserted_primary_key[0]  # type: ignore[index]  # an INSERT of one row has its primary key
            return nid

    def _find_start(self) -> int:
        """The IssuerRegistry's deployment block (its constructor emits the founding members)."""
        hi = int(self.deployment.block)
        try:
            if not self.chain.code_at(self.issuer_registry, hi):
                return 0
            lo = 0
            while lo < hi:
                mid = (lo + hi) // 2
                if self.chain.code_at(self.issuer_registry, mid):
                    hi = mid
                else:
                    lo = mid + 1
            return lo
        except Exception as exc:  # a node without old state: scan from genesis
            log.info("index: cannot look up the deployment block (%s); scanning from block 0", exc)
            return 0

    def _load_stores(self) -> None:
        """The stores indexed so far (and their countries), whose logs the follower accepts."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(AuthorityRegistration.store, AuthorityRegistration.country).where(
                    AuthorityRegistration.network_id == self.network_id
                )
            ).all()
        self.decoder.stores = {store.lower(): country for store, country in rows}

    def _check_lookup(self, check_id: int) -> tuple[str, str, str, str] | None:
        """(store, document, importing country, issuing country) of an indexed CheckOpened."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(
                    CustomsEvent.store, CustomsEvent.document, CustomsEvent.country, CustomsEvent.issuing_country
                ).where(
                    CustomsEvent.network_id == self.network_id,
                    CustomsEvent.check_id == check_id,
                    CustomsEvent.kind == "CHECK_OPENED",
                )
            ).first()
        return tuple(row) if row is not None else None  # type: ignore[return-value]

    def stores(self) -> dict[str, str]:
        """Every store the follower knows (lowercase address -> its authority's country)."""
        return dict(self.decoder.stores)

    def close(self) -> None:
        if self._own_engine:
            self.engine.dispose()

    # -- state
    def checkpoint(self) -> Checkpoint:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(Network.block_number, Network.block_hash).where(Network.id == self.network_id)
            ).one()
        return Checkpoint(row[0], row[1])

    def indexed_block(self) -> Checkpoint:
        """The last indexed block: number and hash (hash None before the first sync)."""
        return self.checkpoint()

    def lag(self) -> int:
        """Blocks between the chain's head and the last indexed block (for readiness checks)."""
        return max(0, self.chain.block_number() - self.checkpoint().number)

    def start_block(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(Network.start_block).where(Network.id == self.network_id)).scalar_one()

    # -- following
    def sync(self, to_block: int | None = None) -> int:
        """Index every block up to head - confirmations (or `to_block` if lower), handling reorgs first.
        Returns the number of the last indexed block."""
        with self._lock:
            head = self.chain.block_number()
            target = head - self.confirmations
            if to_block is not None:
                target = min(target, to_block)
            self.check_reorg()
            self._load_stores()
            cp = self.checkpoint()
            unstable = 0
            while cp.number < target:
                a = cp.number + 1
                b = min(target, a + self._range - 1)
                try:
                    done = self._index_range(cp, a, b)
                except _Inconsistent as exc:
                    unstable += 1
                    if unstable > 5:
                        raise ChainUnstable(f"the chain kept changing while blocks {a}..{b} were read: {exc}") from None
                    log.warning(
                        "index: chain changed while reading blocks %d..%d (%s); checking for a reorg", a, b, exc
                    )
                    time.sleep(0.05 * unstable)
                    self.check_reorg()
                    cp = self.checkpoint()
                    continue
                cp = done
            self._synced()
            return cp.number

    def _synced(self) -> None:
        """Record that a sync reached its target (index mode's staleness bound reads this time)."""
        with self.engine.begin() as conn:
            conn.execute(
                update(Network.__table__).where(Network.id == self.network_id).values(updated_at=int(time.time()))
            )

    def run(self, stop_event: threading.Event, interval: float = 1.0) -> None:
        """Follow the chain until `stop_event` is set, syncing every `interval` seconds. Errors are
        logged and retried on the next round (the checkpoint only moves with the rows it covers)."""
        while not stop_event.is_set():
            try:
                self.sync()
            except Exception:
                log.exception("index: sync failed; retrying in %.1fs", interval)
            stop_event.wait(interval)

    def _addresses(self, stores: Iterable[str]) -> list[str] | None:
        known = list(stores)
        if len(known) >= self.address_limit:
            return None
        return [self.decoder.registry, *([self.decoder.customs] if self.decoder.customs else []), *known]

    def _fetch_logs(self, a: int, b: int) -> tuple[list[RawLog], int]:
        """Logs of blocks a..b in block/log order, those of stores registered inside the range included; on a
        node's "too many results" the range is halved (b may come back lower)."""
        topics = self.decoder.topics
        while True:
            try:
                addresses = self._addresses(self.decoder.stores)
                logs = self.chain.logs(a, b, addresses, topics)
                if addresses is not None:
                    new = self.decoder.new_stores(logs)
                    if new:  # stores created inside the range: their logs from their registration on
                        logs = sorted(
                            logs + self.chain.logs(min(new.values()), b, list(new), topics),
                            key=lambda lg: (lg.block_number, lg.log_index),
                        )
            except (RpcError, ValueError) as exc:
                if b > a and _too_much(exc):
                    self._range = max(1, (b - a + 1) // 2)
                    b = a + self._range - 1
                    continue
                raise
            n = len(logs)
            span = b - a + 1
            if n > self.target_logs:
                self._range = max(1, span * self.target_logs // n)
            elif n < self.target_logs // 4 and span >= self._range:
                self._range = min(self.max_range, self._range * 2)
            return logs, b

    def _index_range(self, cp: Checkpoint, a: int, b: int) -> Checkpoint:
        end_before = self.chain.header(b)
        if end_before is None:
            raise _Inconsistent(f"block {b} is gone")
        logs, b = self._fetch_logs(a, b)
        if b != end_before.number:
            end_before = self.chain.header(b)
            if end_before is None:
                raise _Inconsistent(f"block {b} is gone")
        wanted = sorted({lg.block_number for lg in logs} | {b} | ({cp.number} if cp.hash else set()))
        headers = self.chain.headers(wanted)
        end = headers.get(b)
        if end is None or end.hash != end_before.hash:
            raise _Inconsistent(f"block {b} changed")
        if cp.hash:
            base = headers.get(cp.number)
            if base is None or base.hash != cp.hash:
                raise _Inconsistent(f"the indexed block {cp.number} changed")
        for lg in logs:
            h = headers.get(lg.block_number)
            if h is None or h.hash != lg.block_hash.lower():
                raise _Inconsistent(f"a log of block {lg.block_number} is not on the chain's block")
        times = {n: h.timestamp for n, h in headers.items() if h is not None}
        known = dict(self.decoder.stores)
        try:  # decoding learns the stores registered in the range: forget them if the range is not written
            rows = self.decoder.rows(self.network_id, logs, times)
            new_blocks = [h for n, h in headers.items() if h is not None and n > cp.number]
            self._write(cp, b, end.hash, rows, new_blocks)
        except BaseException:
            self.decoder.stores = known
            raise
        written = sum(len(r) for r in rows.values())
        self.stats.events += written
        self.stats.ranges += 1
        if written:
            log.debug("index: blocks %d..%d, %d events", a, b, written)
        return Checkpoint(b, end.hash)

    def _write(
        self, cp: Checkpoint, number: int, block_hash: str, rows: dict[type, list[dict[str, Any]]], blocks: list[Header]
    ) -> None:
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(Network.__table__)
                .where(Network.id == self.network_id, Network.block_number == cp.number)
                .values(block_number=number, block_hash=block_hash, updated_at=int(time.time()))
            )
            if moved.rowcount != 1:
                raise IndexConflict(f"the checkpoint of network {self.network_id} moved under this follower")
            write_rows(conn, rows)
            if blocks:
                conn.execute(
                    insert(Block.__table__),
                    [
                        {
                            "network_id": self.network_id,
                            "number": h.number,
                            "hash": h.hash,
                            "parent_hash": h.parent_hash,
                            "timestamp": h.timestamp,
                        }
                        for h in blocks
                    ],
                )
            conn.execute(
                delete(Block.__table__).where(
                    Block.network_id == self.network_id, Block.number < number - self.keep_blocks
                )
            )

    # -- reorgs
    def check_reorg(self) -> Reorg | None:
        """Compare the last indexed block with the chain; on a mismatch roll back to the common ancestor."""
        with self._lock:
            cp = self.checkpoint()
            if cp.hash is None:
                return None
            h = self.chain.header(cp.number)
            if h is not None and h.hash == cp.hash:
                return None
            with self.engine.connect() as conn:
                stored = conn.execute(
                    select(Block.number, Block.hash)
                    .where(Block.network_id == self.network_id, Block.number < cp.number)
                    .order_by(Block.number.desc())
                ).all()
            ancestor: tuple[int, str | None] | None = None
            for start in range(0, len(stored), 100):
                part = stored[start : start + 100]
                chain = self.chain.headers([n for n, _ in part])
                for n, hsh in part:
                    c = chain.get(n)
                    if c is not None and c.hash == hsh:
                        ancestor = (n, hsh)
                        break
                if ancestor:
                    break
            if ancestor is None:
                start_block = self.start_block()
                log.warning(
                    "index: reorg below the %d kept blocks (indexed block %d orphaned): re-indexing from block %d",
                    self.keep_blocks,
                    cp.number,
                    start_block,
                )
                ancestor = (start_block - 1, None)
            else:
                log.warning(
                    "index: reorg: indexed block %d is orphaned; rolling back to block %d", cp.number, ancestor[0]
                )
            self._rollback(cp, *ancestor)
            reorg = Reorg(orphaned_block=cp.number, ancestor_block=ancestor[0], at=time.time())
            self.stats.reorgs.append(reorg)
            return reorg

    def _rollback(self, cp: Checkpoint, number: int, block_hash: str | None) -> None:
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(Network.__table__)
                .where(Network.id == self.network_id, Network.block_number == cp.number)
                .values(block_number=number, block_hash=block_hash, updated_at=int(time.time()))
            )
            if moved.rowcount != 1:
                raise IndexConflict(f"the checkpoint of network {self.network_id} moved under this follower")
            for model in EVENT_MODELS:
                t = model.__table__  # type: ignore[attr-defined]
                conn.execute(delete(t).where(t.c.network_id == self.network_id, t.c.block_number > number))
            conn.execute(delete(Block.__table__).where(Block.network_id == self.network_id, Block.number > number))
            conn.execute(
                insert(Rollback.__table__).values(
                    network_id=self.network_id, orphaned_block=cp.number, ancestor_block=number, at=int(time.time())
                )
            )
        self._load_stores()
        self.decoder.checks.clear()


class _Inconsistent(Exception):
    """What was read does not belong to one chain (a reorg happened during the read)."""


def _too_much(exc: Exception) -> bool:
    text = str(exc).lower()
    return any(
        s in text
        for s in ("too many", "limit", "exceed", "response size", "query returned more", "timeout", "timed out")
    )


def write_rows(conn: Connection, rows: dict[type, list[dict[str, Any]]]) -> None:
    """Bulk-insert decoded rows (Core executemany, one statement per table)."""
    for model, batch in rows.items():
        if batch:
            conn.execute(insert(model.__table__), batch)  # type: ignore[attr-defined]
