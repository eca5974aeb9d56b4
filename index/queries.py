"""Reading the index: document status (the chain's answer, from SQL), histories, audit exports, and the views of
authorities, keys, members and customs keys.

`IndexStatusSource.status_of(queries)` returns exactly what `IssuerRegistryClient.status_of` returns from the
chain for the same (store, root, document, proof) queries at the indexed block: the same `DocumentStatus` fields
with the same meaning. As the contracts do, it
- answers `store_registered=False` and nothing else for a store the registry did not create;
- looks for the first revocation that counts among the root, the document and each intermediate node of the
  document's proof path (computed from the document and its proof, as `DocumentStore.statusOf` does), then the
  document's supersession; a store's record of a hash is its newest event, and a record counts only when made
  before its key's compromised-since time (as of the indexed block);
- recomputes `issuer_authorised` as the registry's batched view does: the anchoring key belongs to the store and
  the anchor was not made at or after the key's compromised-since time (the store checked the key when it
  anchored); `is_authorised_at` answers `IssuerRegistry.isAuthorisedAt` from the indexed history (the key's
  store and validity, the authority's types and validity, status checkpoints, compromised-since, membership).
Every read runs in one database transaction (one snapshot), and the queries are batched (IN lists), never one
round trip per document.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import sessionmaker

from certnet import CertnetError
from certnet.index import make_engine
from certnet.index.models import (
    AdminChange,
    Anchor,
    AuthorityRegistration,
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
from certnet.node.contracts import (
    REVOCATION_REASON_NAMES,
    DocumentStatus,
    KeyStatus,
    ProposalKind,
    ProposalState,
    RevokedLevel,
    StatusQuery,
    checksummed,
    mask_types,
    to_bytes32,
)
from certnet.verifier.merkle import combine

MAX_DOCUMENT_TYPE = 63
MAX_PROOF_LENGTH = 32  # DocumentStore.MAX_PROOF_LENGTH: a longer proof makes the chain's whole call revert
_IN_CHUNK = 500  # bind parameters per IN list (well inside every database's limit)


class IndexNotReady(CertnetError, RuntimeError):
    """The index holds nothing for this network yet (no follower has started on it)."""


@dataclass(frozen=True)
class IndexedBlock:
    """The block the index is at: its answers are the chain's at this block."""

    number: int
    hash: str | None


@dataclass(frozen=True)
class ChainEvent:
    """One contract event as the index recorded it.

    kind: ANCHORED, REVOKED, SUPERSEDED (this document was replaced), SUPERSEDES (this document replaces
    another) — emitted by `store` — and AUTHORITY_REGISTERED, KEY_ADDED, KEY_STATUS_CHANGED, KEY_ROTATED,
    KEY_COMPROMISED, MEMBER_ADDED, MEMBER_REMOVED, ADMIN_ADDED, ADMIN_REMOVED, CUSTOMS_KEY_ADDED,
    CUSTOMS_KEY_REMOVED, PROPOSAL_CREATED, VOTE_CAST, PROPOSAL_CLOSED — emitted by the IssuerRegistry (`store`
    None) — and DECIDED, CHECK_OPENED, CHECK_ANSWERED, CHECK_CLOSED — emitted by the CustomsRecord (`store` and
    `document` the certificate's, `country` its importing country). `actor` is the account that caused it (the
    anchoring key for an anchor, the sender otherwise).
    """

    kind: str
    block_number: int
    block_hash: str
    tx_hash: str
    log_index: int
    time: int
    country: str | None = None
    root: str | None = None
    document: str | None = None
    actor: str | None = None
    store: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "blockNumber": self.block_number,
            "blockHash": self.block_hash,
            "transactionHash": self.tx_hash,
            "logIndex": self.log_index,
            "time": self.time,
            "country": self.country,
            "store": self.store,
            "root": self.root,
            "document": self.document,
            "actor": self.actor,
            **self.details,
        }


@dataclass(frozen=True)
class StatusChange:
    time: int
    status: KeyStatus
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class KeyView:
    """A signing key of an issuing authority as of the indexed block, with its status over time."""

    key: str
    store: str
    country: str
    authority: str  # the authority's name
    valid_from: int
    valid_until: int
    status: KeyStatus
    compromised_since: int | None
    successor: str | None
    predecessor: str | None
    added_at: int
    added_block: int
    added_tx: str
    status_history: list[StatusChange]

    # the names of the issuer views that came before authorities (the registry routes use them)
    @property
    def account(self) -> str:
        return self.key

    @property
    def registered_at(self) -> int:
        return self.added_at

    @property
    def name(self) -> str:
        return self.authority


@dataclass(frozen=True)
class AuthorityView:
    """An issuing authority and its store as of the indexed block, with every key it ever had."""

    store: str
    country: str
    name: str
    document_types: int  # the bitmask
    document_type_names: list[str | int]
    valid_from: int
    valid_until: int
    epoch: int  # the membership epoch of its country it was registered in
    active: bool  # its country is still a member in that epoch
    registered_at: int
    registered_block: int
    registered_tx: str
    keys: list[KeyView]


@dataclass(frozen=True)
class MembershipChange:
    time: int
    added: bool
    epoch: int
    proposal_id: int
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class MemberView:
    """A member country (current or removed) as of the indexed block. `admins` and `customs_keys` are those of
    its current membership epoch (none when removed: re-admission starts from nothing)."""

    country: str
    active: bool
    epoch: int
    joined_at: int
    removed_at: int | None
    admins: list[str]
    customs_keys: list[str]
    changes: list[MembershipChange]


@dataclass(frozen=True)
class CustomsKeyView:
    key: str
    country: str
    active: bool  # a customs key of its country now
    added_at: int
    added_block: int
    added_tx: str
    removed_at: int | None


# ------------------------------------------------------------------ the registry's state over time


@dataclass
class _Authority:
    store: str
    country: str
    name: str
    types: int
    valid_from: int
    valid_until: int
    epoch: int


@dataclass
class _Key:
    store: str
    valid_from: int
    valid_until: int
    status_times: list[int]
    status_values: list[int]


def _upper_lookup(times: list[int], values: list[int], t: int) -> int:
    """Checkpoints.upperLookup: the value of the last change at or before t (a later change in the same second
    overwrote the earlier one on chain, and comes later in block/log order here too); 0 before any."""
    i = bisect.bisect_right(times, t) - 1
    return values[i] if i >= 0 else 0


class _RegistryState:
    """What the IssuerRegistry knows, read from the index lazily and kept for one indexed block."""

    def __init__(self, key: Any) -> None:
        self.key = key
        self.authorities: dict[str, _Authority | None] = {}
        self.keys: dict[str, _Key | None] = {}
        self.since: dict[str, int] = {}  # compromised since (0: never)
        self.membership: dict[str, tuple[list[int], list[int], list[tuple[int, int, bool, int]]]] = {}

    def load_membership(self, q: _Reader, countries: set[str]) -> None:
        missing = [c for c in countries if c not in self.membership]
        for c in missing:
            self.membership[c] = ([], [], [])
        for chunk in _chunks(missing):
            for country, t, added, epoch, bn, li in q.conn.execute(
                select(
                    MemberChange.country,
                    MemberChange.block_time,
                    MemberChange.added,
                    MemberChange.epoch,
                    MemberChange.block_number,
                    MemberChange.log_index,
                )
                .where(MemberChange.network_id == q.nid, MemberChange.country.in_(chunk))
                .order_by(MemberChange.block_number, MemberChange.log_index)
            ):
                times, values, raw = self.membership[country]
                times.append(t)
                values.append(epoch if added else 0)
                raw.append((bn, li, bool(added), epoch))

    def load_authorities(self, q: _Reader, stores: set[str]) -> None:
        missing = [s for s in stores if s not in self.authorities]
        if not missing:
            return
        found: list[Any] = []
        for chunk in _chunks(missing):
            found += q.conn.execute(
                select(
                    AuthorityRegistration.store,
                    AuthorityRegistration.country,
                    AuthorityRegistration.name,
                    AuthorityRegistration.document_types,
                    AuthorityRegistration.valid_from,
                    AuthorityRegistration.valid_until,
                    AuthorityRegistration.block_number,
                    AuthorityRegistration.log_index,
                ).where(AuthorityRegistration.network_id == q.nid, AuthorityRegistration.store.in_(chunk))
            ).all()
        self.load_membership(q, {r.country for r in found})
        for s in missing:
            self.authorities[s] = None
        for r in found:
            # the epoch it was registered in: its country's last admission before the registration
            epoch = 0
            for bn, li, added, e in self.membership[r.country][2]:
                if (bn, li) < (r.block_number, r.log_index) and added:
                    epoch = e
            self.authorities[r.store] = _Authority(
                r.store, r.country, r.name, r.document_types, r.valid_from, r.valid_until, epoch
            )

    def load_keys(self, q: _Reader, keys: set[str]) -> None:
        missing = [k for k in keys if k not in self.keys]
        if not missing:
            return
        k: str | _Key | None
        for k in missing:
            self.keys[k] = None
        for chunk in _chunks(missing):
            for key, store, vf, vu in q.conn.execute(
                select(KeyAddition.key, KeyAddition.store, KeyAddition.valid_from, KeyAddition.valid_until).where(
                    KeyAddition.network_id == q.nid, KeyAddition.key.in_(chunk)
                )
            ):
                self.keys[key] = _Key(store, vf, vu, [], [])
            for key, t, status in q.conn.execute(
                select(KeyStatusChange.key, KeyStatusChange.block_time, KeyStatusChange.status)
                .where(KeyStatusChange.network_id == q.nid, KeyStatusChange.key.in_(chunk))
                .order_by(KeyStatusChange.block_number, KeyStatusChange.log_index)
            ):
                k = self.keys.get(key)
                if k is not None:
                    k.status_times.append(t)
                    k.status_values.append(status)
        self.load_since(q, set(missing))
        self.load_authorities(q, {k.store for k in self.keys.values() if k is not None})

    def load_since(self, q: _Reader, accounts: set[str]) -> None:
        missing = [a for a in accounts if a not in self.since]
        if not missing:
            return
        for a in missing:
            self.since[a] = 0
        for chunk in _chunks(missing):
            for key, since in q.conn.execute(
                select(KeyCompromise.key, KeyCompromise.since).where(
                    KeyCompromise.network_id == q.nid, KeyCompromise.key.in_(chunk)
                )
            ):
                # the time only ever moves earlier: the smallest is the registry's
                self.since[key] = since if not self.since[key] else min(self.since[key], since)

    # -- the registry's views (after the matching load_*)
    def counts_at(self, account: str | None, t: int) -> bool:
        """A record made by `account` at `t` exists and counts (IssuerRegistry.countsAt)."""
        if not t or account is None:
            return False
        since = self.since.get(account, 0)
        return since == 0 or t < since

    def authorised_at(self, key: str, store: str, document_type: int, t: int) -> bool:
        """IssuerRegistry.isAuthorisedAt."""
        k = self.keys.get(key)
        if k is None or k.store != store:
            return False
        a = self.authorities.get(store)
        if a is None:
            return False
        if document_type > MAX_DOCUMENT_TYPE or not (a.types >> document_type) & 1:
            return False
        if t < k.valid_from or t > k.valid_until or t < a.valid_from or t > a.valid_until:
            return False
        since = self.since.get(key, 0)
        if since and t >= since:
            return False
        if _upper_lookup(k.status_times, k.status_values, t) != KeyStatus.ACTIVE:
            return False
        times, values, _ = self.membership.get(a.country, ([], [], []))
        return _upper_lookup(times, values, t) == a.epoch

    def key_status_at(self, key: str, t: int) -> KeyStatus:
        k = self.keys.get(key)
        return KeyStatus(_upper_lookup(k.status_times, k.status_values, t)) if k else KeyStatus.NONE


@dataclass
class _Reader:
    conn: Connection
    nid: int


def _chunks(values: Iterable[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    items = list(values)
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _norm_hash(h: str | bytes) -> str:
    return to_bytes32(h).hex()


def _unregistered(store: str, root: str, doc: str) -> DocumentStatus:
    return DocumentStatus(
        store=store,
        root=root,
        document=doc,
        store_registered=False,
        country=None,
        issued=False,
        issuer=None,
        document_type=0,
        document_count=0,
        anchored_at=0,
        anchored_block=0,
        issuer_authorised=False,
        proof_valid=False,
        revoked=False,
        root_revoked=False,
        revoked_level=RevokedLevel.NONE,
        revoked_hash=None,
        revocation_reason=0,
        revoked_at=0,
        revoked_block=0,
        revoked_by=None,
        superseded=False,
        successor_store=None,
        successor_root=None,
        successor_document=None,
        superseded_at=0,
        superseded_by=None,
    )


@dataclass(frozen=True)
class _Query:
    store: str
    root: str
    doc: str
    nodes: tuple[str, ...]  # the intermediate nodes of the proof path, from the document up
    proof_valid: bool


def _prepare(q: StatusQuery, stores: dict[str, str]) -> _Query:
    """A status query normalised, with its proof path folded as DocumentStore.statusOf folds it. `stores` remembers
    the checksummed form of each store address (computing it is most of the cost otherwise)."""
    store, root, doc, proof = q
    cs = stores.get(store)
    if cs is None:
        cs = stores[store] = checksummed(store)
    store = cs
    r, d = to_bytes32(root), to_bytes32(doc)
    nodes = [to_bytes32(p) for p in proof]
    if len(nodes) > MAX_PROOF_LENGTH:
        raise ValueError(
            f"a Merkle proof of {len(nodes)} nodes for document {d.hex()}: at most {MAX_PROOF_LENGTH} "
            "(the chain refuses the whole call: ProofTooLong)"
        )
    node, path = d, []
    for i, p in enumerate(nodes):
        node = combine(node, p)
        if i + 1 < len(nodes):
            path.append(node.hex())
    return _Query(store, r.hex(), d.hex(), tuple(path), node == r)


def customs_event(c: Any) -> ChainEvent:
    """A ChainEvent of an idx_customs_events row: `country` is the importing country, `store` and `document` the
    certificate's; details name the check, the text hash kept on chain and the kind's own fields."""
    from certnet.node.contracts import CHECK_REASONS, DECISION_REASONS, CheckResult, Preference

    details: dict[str, Any] = {"issuingCountry": c.issuing_country, "checkId": c.check_id, "textHash": c.text_hash}
    if c.kind == "DECIDED":
        details.update(
            preference=Preference(c.preference).name,
            version=c.version,
            reason={v: k for k, v in DECISION_REASONS.items()}.get(c.reason, str(c.reason)),
        )
    elif c.kind == "CHECK_OPENED":
        details.update(reason={v: k for k, v in CHECK_REASONS.items()}.get(c.reason, str(c.reason)), dueAt=c.due_at)
    elif c.kind == "CHECK_ANSWERED":
        details.update(result=CheckResult(c.result).name, late=c.late, revoked=c.revoked)
    return ChainEvent(
        c.kind,
        block_number=c.block_number,
        block_hash=c.block_hash,
        tx_hash=c.tx_hash,
        log_index=c.log_index,
        time=c.block_time,
        country=c.country,
        document=c.document,
        actor=c.by,
        store=c.store,
        details=details,
    )


class IndexStatusSource:
    """Answers from the index database of one network.

    `db`: a SQLAlchemy URL, an Engine or a sessionmaker bound to one. `chain_id` and (when the database indexes
    more than one deployment on that chain) the IssuerRegistry's address select the network.
    """

    def __init__(self, db: str | Engine | sessionmaker[Any], chain_id: int, issuer_registry: str | None = None) -> None:
        if isinstance(db, str):
            self.engine: Engine = make_engine(db)
            self._own_engine = True
        elif isinstance(db, Engine):
            self.engine = db
            self._own_engine = False
        else:
            bind = db.kw.get("bind")
            if bind is None:
                raise ValueError("the sessionmaker is not bound to an engine")
            self.engine = bind
            self._own_engine = False
        self.chain_id = chain_id
        self.issuer_registry = issuer_registry
        self._nid: int | None = None
        self._state: _RegistryState | None = None

    def close(self) -> None:
        if self._own_engine:
            self.engine.dispose()

    # -- plumbing
    @contextmanager
    def _read(self) -> Iterator[Connection]:
        """One transaction, one snapshot, for a multi-query answer."""
        with self.engine.connect() as conn:
            if self.engine.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    def _network(self, conn: Connection) -> int:
        if self._nid is not None:
            return self._nid
        rows = conn.execute(select(Network.id, Network.issuer_registry).where(Network.chain_id == self.chain_id)).all()
        if self.issuer_registry:
            rows = [r for r in rows if r[1].lower() == self.issuer_registry.lower()]
        if not rows:
            raise IndexNotReady(
                f"the index has no network with chain id {self.chain_id}"
                + (f" and registry {self.issuer_registry}" if self.issuer_registry else "")
            )
        if len(rows) > 1:
            raise ValueError(
                f"the index holds {len(rows)} deployments on chain {self.chain_id}: name the issuer registry"
            )
        self._nid = rows[0][0]
        return self._nid

    def _block(self, conn: Connection, nid: int) -> IndexedBlock:
        number, h = conn.execute(select(Network.block_number, Network.block_hash).where(Network.id == nid)).one()
        return IndexedBlock(number, h)

    def _registry(self, nid: int, block: IndexedBlock) -> _RegistryState:
        """The registry state for the snapshot's block (number and hash): it only changes with a new indexed
        block. Before the first sync (no hash) nothing is kept."""
        key = (nid, block.number, block.hash)
        if block.hash is None:
            return _RegistryState(key)
        if self._state is None or self._state.key != key:
            self._state = _RegistryState(key)
        return self._state

    @contextmanager
    def _snapshot(self) -> Iterator[tuple[_Reader, IndexedBlock, _RegistryState]]:
        with self._read() as conn:
            nid = self._network(conn)
            block = self._block(conn, nid)
            yield _Reader(conn, nid), block, self._registry(nid, block)

    # -- status
    def indexed_block(self) -> IndexedBlock:
        """The last indexed block (number and hash; hash None before the first sync)."""
        with self._read() as conn:
            return self._block(conn, self._network(conn))

    def freshness(self) -> tuple[int, int]:
        """(last indexed block, unix time the follower last completed a sync or moved its checkpoint)."""
        with self._read() as conn:
            nid = self._network(conn)
            number, synced = conn.execute(
                select(Network.block_number, Network.updated_at).where(Network.id == nid)
            ).one()
            return number, synced or 0

    def status_of(self, queries: Sequence[StatusQuery]) -> list[DocumentStatus]:
        """The batched status of (store, root, document, proof) queries, as the chain answers at the indexed
        block."""
        return self.status_with_block(queries)[1]

    def status_with_block(self, queries: Sequence[StatusQuery]) -> tuple[IndexedBlock, list[DocumentStatus]]:
        """`status_of` and the indexed block it answers for, read from one snapshot."""
        stores: dict[str, str] = {}
        prepared = [_prepare(q, stores) for q in queries]
        with self._snapshot() as (q, block, state):
            return block, self._status(q, state, prepared)

    def _status(self, q: _Reader, state: _RegistryState, queries: list[_Query]) -> list[DocumentStatus]:
        conn = q.conn
        # plain driver SQL: SQLAlchemy's statement building and expanding IN cost ~150 us a query here
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)

        def rows(sql: str, values: set[str]) -> Iterator[Any]:
            for chunk in _chunks(values):
                if mark is None:
                    raise ValueError(
                        f"the index supports SQLite and PostgreSQL (psycopg), not the "
                        f"{conn.dialect.name} driver {conn.dialect.driver}"
                    )
                yield from conn.exec_driver_sql(sql.format(n=mark, ins=",".join([mark] * len(chunk))), (q.nid, *chunk))

        state.load_authorities(q, {x.store for x in queries})
        ours = [x for x in queries if state.authorities.get(x.store) is not None]
        roots = {x.root for x in ours}
        docs = {x.doc for x in ours}
        hashes = roots | docs | {n for x in ours for n in x.nodes}
        anchors = {
            (r[0], r[1]): r
            for r in rows(
                "SELECT store, root, key, document_type, document_count, block_time, block_number FROM idx_anchors "
                "WHERE network_id = {n} AND root IN ({ins})",
                roots,
            )
        }
        revocations: dict[tuple[str, str], Any] = {}
        for r in sorted(
            rows(
                "SELECT store, hash, reason, block_time, block_number, by, log_index FROM "
                "idx_revocations WHERE network_id = {n} AND hash IN ({ins})",
                hashes,
            ),
            key=lambda r: (r[4], r[6]),
        ):
            revocations[(r[0], r[1])] = r  # the newest record of a (store, hash) is the store's
        supersessions: dict[tuple[str, str], Any] = {}
        for r in sorted(
            rows(
                "SELECT store, old_document, new_store, new_root, new_document, block_time, by, "
                "block_number, log_index FROM idx_supersessions WHERE network_id = {n} AND "
                "old_document IN ({ins})",
                docs,
            ),
            key=lambda r: (r[7], r[8]),
        ):
            supersessions[(r[0], r[1])] = r
        state.load_keys(q, {a[2] for a in anchors.values()})
        state.load_since(q, {r[5] for r in revocations.values()} | {s[6] for s in supersessions.values()})

        out: list[DocumentStatus] = []
        for x in queries:
            auth = state.authorities.get(x.store)
            if auth is None:
                out.append(_unregistered(x.store, x.root, x.doc))
                continue
            a = anchors.get((x.store, x.root))
            if a is not None:
                key, doc_type, count, anchored_at, anchored_block = a[2], a[3], a[4], a[5], a[6]
                # as the registry's batched view: the store checked the key when it anchored; only the key being
                # marked compromised since then undoes it
                k = state.keys.get(key)
                authorised = k is not None and k.store == x.store and state.counts_at(key, anchored_at)
            else:
                key, doc_type, count, anchored_at, anchored_block, authorised = None, 0, 0, 0, 0, False
            level, rev, revoked_hash = RevokedLevel.NONE, None, None
            for lvl, h in (
                (RevokedLevel.ROOT, x.root),
                (RevokedLevel.DOCUMENT, x.doc),
                *((RevokedLevel.PROOF_NODE, n) for n in x.nodes),
            ):
                r = revocations.get((x.store, h))
                if r is not None and state.counts_at(r[5], r[3]):
                    level, rev, revoked_hash = lvl, r, h
                    break
            s = supersessions.get((x.store, x.doc))
            if s is not None and not state.counts_at(s[6], s[5]):
                s = None
            out.append(
                DocumentStatus(
                    store=x.store,
                    root=x.root,
                    document=x.doc,
                    store_registered=True,
                    country=auth.country or None,
                    issued=a is not None,
                    issuer=key,
                    document_type=doc_type,
                    document_count=count,
                    anchored_at=anchored_at,
                    anchored_block=anchored_block,
                    issuer_authorised=authorised,
                    proof_valid=x.proof_valid,
                    revoked=rev is not None,
                    root_revoked=level == RevokedLevel.ROOT,
                    revoked_level=level,
                    revoked_hash=revoked_hash,
                    revocation_reason=rev[2] if rev else 0,
                    revoked_at=rev[3] if rev else 0,
                    revoked_block=rev[4] if rev else 0,
                    revoked_by=rev[5] if rev else None,
                    superseded=s is not None,
                    successor_store=s[2] if s else None,
                    successor_root=s[3] if s else None,
                    successor_document=s[4] if s else None,
                    superseded_at=s[5] if s else 0,
                    superseded_by=s[6] if s else None,
                )
            )
        return out

    # -- the registry's answers at any time, from the index
    def is_authorised_at(self, key: str, store: str, document_type: int, time: int) -> bool:
        """IssuerRegistry.isAuthorisedAt(key, store, type, time) as of the indexed block."""
        key, store = checksummed(key), checksummed(store)
        with self._snapshot() as (q, _, state):
            state.load_keys(q, {key})
            state.load_authorities(q, {store})
            return state.authorised_at(key, store, document_type, time)

    def key_status_at(self, key: str, time: int) -> KeyStatus:
        key = checksummed(key)
        with self._snapshot() as (q, _, state):
            state.load_keys(q, {key})
            return state.key_status_at(key, time)

    def counts_at(self, account: str, time: int) -> bool:
        """IssuerRegistry.countsAt: whether a record made by `account` at `time` counts."""
        account = checksummed(account)
        with self._snapshot() as (q, _, state):
            state.load_since(q, {account})
            since = state.since.get(account, 0)
            return since == 0 or time < since

    def authority_name(self, store: str) -> str | None:
        """The name of a registered store's authority (None when the store is not one)."""
        store = checksummed(store)
        with self._snapshot() as (q, _, state):
            state.load_authorities(q, {store})
            a = state.authorities.get(store)
            return a.name if a else None

    def country_of_store(self, store: str) -> str | None:
        store = checksummed(store)
        with self._snapshot() as (q, _, state):
            state.load_authorities(q, {store})
            a = state.authorities.get(store)
            return a.country if a else None

    def rollbacks_since(self, after_id: int) -> list[tuple[int, int]]:
        """(id, ancestor block) of the reorgs rolled back after rollback `after_id`, oldest first."""
        with self._read() as conn:
            nid = self._network(conn)
            return [
                (i, a)
                for i, a in conn.execute(
                    select(Rollback.id, Rollback.ancestor_block)
                    .where(Rollback.network_id == nid, Rollback.id > after_id)
                    .order_by(Rollback.id)
                )
            ]

    # -- history and audit
    @staticmethod
    def _where(row: Any) -> dict[str, Any]:
        return {
            "block_number": row.block_number,
            "block_hash": row.block_hash,
            "tx_hash": row.tx_hash,
            "log_index": row.log_index,
            "time": row.block_time,
        }

    def _anchor_event(self, a: Any, state: _RegistryState) -> ChainEvent:
        return ChainEvent(
            "ANCHORED",
            **self._where(a),
            country=a.country,
            root=a.root,
            actor=a.key,
            store=a.store,
            details={
                "documentType": a.document_type,
                "documentCount": a.document_count,
                "authorised": state.authorised_at(a.key, a.store, a.document_type, a.block_time),
            },
        )

    def _revocation_event(self, r: Any, state: _RegistryState) -> ChainEvent:
        whole = r.hash == r.root
        return ChainEvent(
            "REVOKED",
            **self._where(r),
            country=r.country,
            root=r.root,
            document=None if whole else r.hash,
            actor=r.by,
            store=r.store,
            details={
                "scope": "ROOT" if whole else "DOCUMENT",
                "reason": r.reason,
                "reasonName": REVOCATION_REASON_NAMES.get(r.reason, str(r.reason)),
                "counts": state.counts_at(r.by, r.block_time),
            },
        )

    def _supersession_events(self, s: Any, state: _RegistryState, hashes: set[str] | None) -> list[ChainEvent]:
        out = []
        details = {
            "oldRoot": s.old_root,
            "oldDocument": s.old_document,
            "newStore": s.new_store,
            "newRoot": s.new_root,
            "newDocument": s.new_document,
            "counts": state.counts_at(s.by, s.block_time),
        }
        if hashes is None or s.old_document in hashes or s.old_root in hashes:
            out.append(
                ChainEvent(
                    "SUPERSEDED",
                    **self._where(s),
                    country=s.country,
                    root=s.old_root,
                    document=s.old_document,
                    actor=s.by,
                    store=s.store,
                    details=details,
                )
            )
        if hashes is not None and (s.new_document in hashes or s.new_root in hashes):
            out.append(
                ChainEvent(
                    "SUPERSEDES",
                    **self._where(s),
                    country=s.country,
                    root=s.new_root,
                    document=s.new_document,
                    actor=s.by,
                    store=s.store,
                    details=details,
                )
            )
        return out

    def history(self, hash: str | bytes, root: str | bytes | None = None, store: str | None = None) -> list[ChainEvent]:
        """Every event concerning a root or a document, oldest first: its anchoring, revocations (of the root, of
        the document, and for a root those of its documents and proof nodes), supersessions either way. Give the
        document's `root` too to include the batch's anchoring and whole-root revocation, and its `store` to keep
        only that store's events (the same hashes may be anchored in other stores; each event names its store).
        Revocations and supersessions say whether they count (`counts`: false when made by a key at or after its
        compromised-since time), anchors whether their key was authorised then (`authorised`)."""
        h = _norm_hash(hash)
        hashes = {h} | ({_norm_hash(root)} if root is not None else set())
        only = checksummed(store) if store is not None else None
        with self._snapshot() as (q, _, state):
            conn, nid = q.conn, q.nid
            anchors = conn.execute(
                select(Anchor.__table__).where(Anchor.network_id == nid, Anchor.root.in_(hashes))
            ).all()
            revs = conn.execute(
                select(Revocation.__table__).where(
                    Revocation.network_id == nid, or_(Revocation.hash.in_(hashes), Revocation.root == h)
                )
            ).all()
            sups = conn.execute(
                select(Supersession.__table__).where(
                    Supersession.network_id == nid,
                    or_(
                        Supersession.old_document.in_(hashes),
                        Supersession.old_root == h,
                        Supersession.new_document.in_(hashes),
                        Supersession.new_root == h,
                    ),
                )
            ).all()
            if only is not None:
                anchors = [a for a in anchors if a.store == only]
                revs = [r for r in revs if r.store == only]
                sups = [s for s in sups if s.store == only or s.new_store == only]
            state.load_keys(q, {a.key for a in anchors})
            state.load_since(q, {r.by for r in revs} | {s.by for s in sups})
            customs = conn.execute(
                select(CustomsEvent.__table__).where(CustomsEvent.network_id == nid, CustomsEvent.document == h)
            ).all()
            if only is not None:
                customs = [c for c in customs if c.store == only]
            events = [self._anchor_event(a, state) for a in anchors]
            events += [self._revocation_event(r, state) for r in revs]
            events += [customs_event(c) for c in customs]
            for s in sups:
                evs = self._supersession_events(s, state, {h} if root is None else hashes)
                if only is not None:  # this store's side of it: its document replaced, or replacing
                    evs = [
                        e
                        for e in evs
                        if (e.kind == "SUPERSEDED" and s.store == only)
                        or (e.kind == "SUPERSEDES" and s.new_store == only)
                    ]
                events += evs
        return sorted(events, key=lambda e: (e.block_number, e.log_index, e.kind))

    def document_events(self, first_block: int, last_block: int) -> list[ChainEvent]:
        """The revocations and supersessions recorded in blocks first_block..last_block, oldest first, each saying
        whether it counts (for notifications: they read what the follower wrote)."""
        with self._snapshot() as (q, _, state):
            conn, nid = q.conn, q.nid
            revs = conn.execute(
                select(Revocation.__table__).where(
                    Revocation.network_id == nid,
                    Revocation.block_number >= first_block,
                    Revocation.block_number <= last_block,
                )
            ).all()
            sups = conn.execute(
                select(Supersession.__table__).where(
                    Supersession.network_id == nid,
                    Supersession.block_number >= first_block,
                    Supersession.block_number <= last_block,
                )
            ).all()
            state.load_since(q, {r.by for r in revs} | {s.by for s in sups})
            events = [self._revocation_event(r, state) for r in revs]
            for s in sups:
                events += self._supersession_events(s, state, None)
        return sorted(events, key=lambda e: (e.block_number, e.log_index))

    def customs_events(self, first_block: int, last_block: int) -> list[ChainEvent]:
        """The CustomsRecord's events in blocks first_block..last_block, oldest first (for the services' mirror of
        decisions and checks: they read what the follower wrote)."""
        with self._read() as conn:
            nid = self._network(conn)
            rows = conn.execute(
                select(CustomsEvent.__table__).where(
                    CustomsEvent.network_id == nid,
                    CustomsEvent.block_number >= first_block,
                    CustomsEvent.block_number <= last_block,
                )
            ).all()
        return sorted((customs_event(r) for r in rows), key=lambda e: (e.block_number, e.log_index))

    def events_between(self, country: str, from_time: int, to_time: int) -> list[ChainEvent]:
        """A jurisdiction's events with from_time <= block time < to_time, oldest first (audit export): the
        anchors, revocations and supersessions of its authorities' stores, its authorities and their keys,
        its membership, admin and customs-key changes, and the proposals about it or votes by it. Each event
        names its block (number and hash), transaction, log index and emitting store (None: the registry) so
        that anyone can re-check it against any node."""
        with self._snapshot() as (q, _, state):
            conn, nid = q.conn, q.nid

            def window(model: Any) -> list[Any]:
                return [model.network_id == nid, model.block_time >= from_time, model.block_time < to_time]

            anchors = conn.execute(select(Anchor.__table__).where(*window(Anchor), Anchor.country == country)).all()
            revs = conn.execute(
                select(Revocation.__table__).where(*window(Revocation), Revocation.country == country)
            ).all()
            sups = conn.execute(
                select(Supersession.__table__).where(*window(Supersession), Supersession.country == country)
            ).all()
            state.load_keys(q, {a.key for a in anchors})
            state.load_since(q, {r.by for r in revs} | {s.by for s in sups})
            events: list[ChainEvent] = [self._anchor_event(a, state) for a in anchors]
            events += [self._revocation_event(r, state) for r in revs]
            for s in sups:
                events += self._supersession_events(s, state, None)

            for a in conn.execute(
                select(AuthorityRegistration.__table__).where(
                    *window(AuthorityRegistration), AuthorityRegistration.country == country
                )
            ):
                events.append(
                    ChainEvent(
                        "AUTHORITY_REGISTERED",
                        **self._where(a),
                        country=country,
                        actor=a.by,
                        details={
                            "authorityStore": a.store,
                            "name": a.name,
                            "documentTypes": a.document_types,
                            "validFrom": a.valid_from,
                            "validUntil": a.valid_until,
                        },
                    )
                )
            for k in conn.execute(
                select(KeyAddition.__table__).where(*window(KeyAddition), KeyAddition.country == country)
            ):
                events.append(
                    ChainEvent(
                        "KEY_ADDED",
                        **self._where(k),
                        country=country,
                        actor=k.by,
                        details={
                            "key": k.key,
                            "authorityStore": k.store,
                            "validFrom": k.valid_from,
                            "validUntil": k.valid_until,
                        },
                    )
                )
            for c in conn.execute(
                select(KeyStatusChange.__table__).where(*window(KeyStatusChange), KeyStatusChange.country == country)
            ):
                events.append(
                    ChainEvent(
                        "KEY_STATUS_CHANGED",
                        **self._where(c),
                        country=country,
                        actor=c.by,
                        details={"key": c.key, "authorityStore": c.store, "status": KeyStatus(c.status).name},
                    )
                )
            for r in conn.execute(
                select(KeyRotation.__table__).where(*window(KeyRotation), KeyRotation.country == country)
            ):
                events.append(
                    ChainEvent(
                        "KEY_ROTATED",
                        **self._where(r),
                        country=country,
                        actor=r.by,
                        details={"previous": r.previous, "successor": r.successor, "authorityStore": r.store},
                    )
                )
            for c in conn.execute(
                select(KeyCompromise.__table__).where(*window(KeyCompromise), KeyCompromise.country == country)
            ):
                events.append(
                    ChainEvent(
                        "KEY_COMPROMISED",
                        **self._where(c),
                        country=country,
                        actor=c.by,
                        details={"key": c.key, "authorityStore": c.store, "since": c.since},
                    )
                )
            for m in conn.execute(
                select(MemberChange.__table__).where(*window(MemberChange), MemberChange.country == country)
            ):
                events.append(
                    ChainEvent(
                        "MEMBER_ADDED" if m.added else "MEMBER_REMOVED",
                        **self._where(m),
                        country=country,
                        details={"epoch": m.epoch, "proposalId": m.proposal_id},
                    )
                )
            for m in conn.execute(
                select(AdminChange.__table__).where(*window(AdminChange), AdminChange.country == country)
            ):
                events.append(
                    ChainEvent(
                        "ADMIN_ADDED" if m.added else "ADMIN_REMOVED",
                        **self._where(m),
                        country=country,
                        actor=m.by,
                        details={"admin": m.admin},
                    )
                )
            for m in conn.execute(
                select(CustomsKeyChange.__table__).where(*window(CustomsKeyChange), CustomsKeyChange.country == country)
            ):
                events.append(
                    ChainEvent(
                        "CUSTOMS_KEY_ADDED" if m.added else "CUSTOMS_KEY_REMOVED",
                        **self._where(m),
                        country=country,
                        actor=m.by,
                        details={"key": m.key},
                    )
                )
            for c in conn.execute(
                select(CustomsEvent.__table__).where(
                    *window(CustomsEvent), or_(CustomsEvent.country == country, CustomsEvent.issuing_country == country)
                )
            ):
                events.append(customs_event(c))
            about = select(ProposalEvent.proposal_id).where(
                ProposalEvent.network_id == nid, ProposalEvent.event == "CREATED", ProposalEvent.country == country
            )
            for p in conn.execute(
                select(ProposalEvent.__table__).where(
                    *window(ProposalEvent),
                    or_(
                        ProposalEvent.proposal_id.in_(about),
                        (ProposalEvent.event == "VOTE") & (ProposalEvent.country == country),
                        (ProposalEvent.event == "CREATED") & (ProposalEvent.proposer == country),
                    ),
                )
            ):
                events.append(self._proposal_event(p))
        return sorted(events, key=lambda e: (e.block_number, e.log_index))

    def _proposal_event(self, p: Any) -> ChainEvent:
        if p.event == "CREATED":
            return ChainEvent(
                "PROPOSAL_CREATED",
                **self._where(p),
                country=p.country,
                details={
                    "proposalId": p.proposal_id,
                    "proposalKind": ProposalKind(p.kind).name,
                    "admin": p.admin,
                    "proposer": p.proposer,
                    "deadline": p.deadline,
                },
            )
        if p.event == "VOTE":
            return ChainEvent(
                "VOTE_CAST",
                **self._where(p),
                country=p.country,
                details={"proposalId": p.proposal_id, "support": p.support, "yes": p.yes, "no": p.no},
            )
        return ChainEvent(
            "PROPOSAL_CLOSED",
            **self._where(p),
            details={"proposalId": p.proposal_id, "state": ProposalState(p.state).name},
        )

    # -- views
    def keys(self, country: str | None = None, store: str | None = None) -> list[KeyView]:
        """Every signing key ever added (of one country, of one authority's store, or all), as of the indexed
        block, with its status history, compromised-since time and rotations."""
        with self._read() as conn:
            return self._keys(conn, self._network(conn), country, store)

    def _keys(self, conn: Connection, nid: int, country: str | None, store: str | None) -> list[KeyView]:
        q = select(KeyAddition.__table__).where(KeyAddition.network_id == nid)
        if country is not None:
            q = q.where(KeyAddition.country == country)
        if store is not None:
            q = q.where(KeyAddition.store == checksummed(store))
        adds = conn.execute(q.order_by(KeyAddition.block_number, KeyAddition.log_index)).all()
        keys = [k.key for k in adds]
        history: dict[str, list[StatusChange]] = {k: [] for k in keys}
        compromised: dict[str, int] = {}
        successor: dict[str, str] = {}
        predecessor: dict[str, str] = {}
        names: dict[str, str] = {}
        for chunk in _chunks(keys):
            for c in conn.execute(
                select(KeyStatusChange.__table__)
                .where(KeyStatusChange.network_id == nid, KeyStatusChange.key.in_(chunk))
                .order_by(KeyStatusChange.block_number, KeyStatusChange.log_index)
            ):
                history[c.key].append(StatusChange(c.block_time, KeyStatus(c.status), c.block_number, c.tx_hash))
            for key, since in conn.execute(
                select(KeyCompromise.key, KeyCompromise.since).where(
                    KeyCompromise.network_id == nid, KeyCompromise.key.in_(chunk)
                )
            ):
                compromised[key] = min(since, compromised.get(key, since))
            for prev, succ in conn.execute(
                select(KeyRotation.previous, KeyRotation.successor).where(
                    KeyRotation.network_id == nid,
                    or_(KeyRotation.previous.in_(chunk), KeyRotation.successor.in_(chunk)),
                )
            ):
                successor[prev] = succ
                predecessor[succ] = prev
        for chunk in _chunks({k.store for k in adds}):
            names.update(
                conn.execute(
                    select(AuthorityRegistration.store, AuthorityRegistration.name).where(
                        AuthorityRegistration.network_id == nid, AuthorityRegistration.store.in_(chunk)
                    )
                ).all()
            )
        return [
            KeyView(
                key=k.key,
                store=k.store,
                country=k.country,
                authority=names.get(k.store, ""),
                valid_from=k.valid_from,
                valid_until=k.valid_until,
                status=history[k.key][-1].status if history[k.key] else KeyStatus.NONE,
                compromised_since=compromised.get(k.key),
                successor=successor.get(k.key),
                predecessor=predecessor.get(k.key),
                added_at=k.block_time,
                added_block=k.block_number,
                added_tx=k.tx_hash,
                status_history=history[k.key],
            )
            for k in adds
        ]

    def issuers(self, country: str | None = None) -> list[KeyView]:
        """The signing keys (what issued before authorities had stores): `keys(country)`."""
        return self.keys(country)

    def authorities(self, country: str | None = None) -> list[AuthorityView]:
        """Every authority ever registered (of one country, or all), with its store, validity and keys."""
        with self._read() as conn:
            nid = self._network(conn)
            q = select(AuthorityRegistration.__table__).where(AuthorityRegistration.network_id == nid)
            if country is not None:
                q = q.where(AuthorityRegistration.country == country)
            regs = conn.execute(q.order_by(AuthorityRegistration.block_number, AuthorityRegistration.log_index)).all()
            keys = self._keys(conn, nid, country, None)
            state = _RegistryState(None)
            state.load_authorities(_Reader(conn, nid), {r.store for r in regs})
            members = {m.country: m for m in self._members(conn, nid)}
        by_store: dict[str, list[KeyView]] = {}
        for k in keys:
            by_store.setdefault(k.store, []).append(k)
        out = []
        for r in regs:
            epoch = state.authorities[r.store].epoch  # type: ignore[union-attr]
            m = members.get(r.country)
            out.append(
                AuthorityView(
                    store=r.store,
                    country=r.country,
                    name=r.name,
                    document_types=r.document_types,
                    document_type_names=mask_types(r.document_types),
                    valid_from=r.valid_from,
                    valid_until=r.valid_until,
                    epoch=epoch,
                    active=m is not None and m.active and m.epoch == epoch,
                    registered_at=r.block_time,
                    registered_block=r.block_number,
                    registered_tx=r.tx_hash,
                    keys=by_store.get(r.store, []),
                )
            )
        return out

    def members(self) -> list[MemberView]:
        """Every country ever admitted, with its membership history (epochs), and the admins and customs keys of
        its current epoch."""
        with self._read() as conn:
            return self._members(conn, self._network(conn))

    def _members(self, conn: Connection, nid: int) -> list[MemberView]:
        def ordered(model: Any) -> Sequence[Any]:
            return conn.execute(
                select(model.__table__).where(model.network_id == nid).order_by(model.block_number, model.log_index)
            ).all()

        changes, admins, customs = ordered(MemberChange), ordered(AdminChange), ordered(CustomsKeyChange)
        # merge in block/log order: an admission starts an epoch with no admins and no customs keys
        stream = sorted(
            [(m.block_number, m.log_index, "m", m) for m in changes]
            + [(a.block_number, a.log_index, "a", a) for a in admins]
            + [(c.block_number, c.log_index, "c", c) for c in customs],
            key=lambda e: (e[0], e[1]),
        )
        history: dict[str, list[MembershipChange]] = {}
        current_admins: dict[str, list[str]] = {}
        current_customs: dict[str, list[str]] = {}
        for _, _, kind, e in stream:
            if kind == "m":
                history.setdefault(e.country, []).append(
                    MembershipChange(e.block_time, bool(e.added), e.epoch, e.proposal_id, e.block_number, e.tx_hash)
                )
                current_admins[e.country] = []
                current_customs[e.country] = []
                continue
            lst = (current_admins if kind == "a" else current_customs).setdefault(e.country, [])
            who = e.admin if kind == "a" else e.key
            if e.added:
                lst.append(who)
            elif who in lst:
                lst.remove(who)
        out = []
        for country, hist in history.items():
            last = hist[-1]
            joined = max((h.time for h in hist if h.added), default=0)
            out.append(
                MemberView(
                    country=country,
                    active=last.added,
                    epoch=last.epoch,
                    joined_at=joined,
                    removed_at=None if last.added else last.time,
                    admins=current_admins.get(country, []) if last.added else [],
                    customs_keys=current_customs.get(country, []) if last.added else [],
                    changes=hist,
                )
            )
        return out

    def customs_keys(self, country: str | None = None) -> list[CustomsKeyView]:
        """Every customs key ever added (of one country, or all); `active` when it is one of its country's now."""
        with self._read() as conn:
            nid = self._network(conn)
            q = select(CustomsKeyChange.__table__).where(CustomsKeyChange.network_id == nid)
            if country is not None:
                q = q.where(CustomsKeyChange.country == country)
            rows = conn.execute(q.order_by(CustomsKeyChange.block_number, CustomsKeyChange.log_index)).all()
            members = {m.country: m for m in self._members(conn, nid)}
        added: dict[tuple[str, str], Any] = {}
        removed: dict[tuple[str, str], int] = {}
        for r in rows:
            if r.added:
                added[(r.country, r.key)] = r
                removed.pop((r.country, r.key), None)
            else:
                removed[(r.country, r.key)] = r.block_time
        out = []
        for (c, key), r in added.items():
            m = members.get(c)
            out.append(
                CustomsKeyView(
                    key=key,
                    country=c,
                    active=m is not None and key in m.customs_keys,
                    added_at=r.block_time,
                    added_block=r.block_number,
                    added_tx=r.tx_hash,
                    removed_at=removed.get((c, key)),
                )
            )
        return out
