"""Reading the index: document status (the chain's answer, from SQL), histories, audit exports, issuers and
members.

`IndexStatusSource.status_of(pairs)` returns exactly what `CertificateRegistryClient.status_of` returns
from the chain for the same pairs at the indexed block: the same `DocumentStatus` fields with the same
meaning (root revocation first, else the document's; the document's supersession; `issuer_authorised`
recomputed as `IssuerRegistry.isAuthorisedAt(issuer, type, anchoredAt)` from the indexed issuer and member
history). Every read runs in one database transaction (one snapshot), and the queries are batched (IN
lists), never one round trip per pair.
"""

from __future__ import annotations

import bisect
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Sequence

from sqlalchemy import or_, select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import sessionmaker

from certnet.api.index import make_engine
from certnet.api.index.models import (
    AdminChange,
    Anchor,
    IssuerCompromise,
    IssuerRegistration,
    IssuerRotation,
    IssuerStatusChange,
    MemberChange,
    Network,
    ProposalEvent,
    Revocation,
    Supersession,
)
from certnet.node.contracts import (
    REVOCATION_REASON_NAMES,
    DocumentStatus,
    IssuerStatus,
    ProposalKind,
    ProposalState,
    mask_types,
    to_bytes32,
)

MAX_DOCUMENT_TYPE = 63
_IN_CHUNK = 500  # bind parameters per IN list (well inside every database's limit)


class IndexNotReady(RuntimeError):
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
    another), ISSUER_REGISTERED, ISSUER_STATUS_CHANGED, ISSUER_ROTATED, ISSUER_COMPROMISED, MEMBER_ADDED,
    MEMBER_REMOVED, ADMIN_ADDED, ADMIN_REMOVED, PROPOSAL_CREATED, VOTE_CAST, PROPOSAL_CLOSED.
    `actor` is the account that caused it (the issuer for an anchor, the sender otherwise, when known).
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
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "blockNumber": self.block_number, "blockHash": self.block_hash,
                "transactionHash": self.tx_hash, "logIndex": self.log_index, "time": self.time,
                "country": self.country, "root": self.root, "document": self.document, "actor": self.actor,
                **self.details}


@dataclass(frozen=True)
class StatusChange:
    time: int
    status: IssuerStatus
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class IssuerView:
    """An issuer as of the indexed block."""

    account: str
    country: str
    name: str
    document_types: int  # the bitmask
    document_type_names: list[str | int]
    valid_from: int
    valid_until: int
    status: IssuerStatus
    compromised_since: int | None
    successor: str | None
    predecessor: str | None
    registered_at: int
    registered_block: int
    registered_tx: str
    status_history: list[StatusChange]


@dataclass(frozen=True)
class MembershipChange:
    time: int
    added: bool
    proposal_id: int
    block_number: int
    tx_hash: str


@dataclass(frozen=True)
class MemberView:
    """A member country (current or removed) as of the indexed block."""

    country: str
    active: bool
    joined_at: int
    removed_at: int | None
    admins: list[str]
    changes: list[MembershipChange]


# ------------------------------------------------------------------ authorisation at a time


@dataclass
class _Authority:
    """An issuer's registration and history, enough to answer IssuerRegistry.isAuthorisedAt."""

    country: str
    types: int
    valid_from: int
    valid_until: int
    compromised_since: int
    status_times: list[int]
    status_values: list[int]
    member_times: list[int]
    member_values: list[bool]

    def authorised_at(self, document_type: int, t: int) -> bool:
        if document_type > MAX_DOCUMENT_TYPE or not (self.types >> document_type) & 1:
            return False
        if t < self.valid_from or t > self.valid_until:
            return False
        if self.compromised_since and t >= self.compromised_since:
            return False
        # Checkpoints.upperLookup: the value of the last change at or before t (a later change in the same
        # second overwrote the earlier one on chain, and comes later in block/log order here too)
        i = bisect.bisect_right(self.status_times, t) - 1
        if i < 0 or self.status_values[i] != IssuerStatus.ACTIVE:
            return False
        j = bisect.bisect_right(self.member_times, t) - 1
        return j >= 0 and self.member_values[j]


def _chunks(values: Iterable[Any], size: int = _IN_CHUNK) -> Iterator[list[Any]]:
    items = list(values)
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _norm_hash(h: str | bytes) -> str:
    return to_bytes32(h).hex()


class IndexStatusSource:
    """Answers from the index database of one network.

    `db`: a SQLAlchemy URL, an Engine or a sessionmaker bound to one. `chain_id` and (when the database
    indexes more than one deployment on that chain) the contract addresses select the network.
    """

    def __init__(self, db: str | Engine | sessionmaker[Any], chain_id: int, certificate_registry: str | None = None,
                 issuer_registry: str | None = None) -> None:
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
        self.certificate_registry = certificate_registry
        self.issuer_registry = issuer_registry
        self._nid: int | None = None

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
        q = select(Network.id, Network.certificate_registry).where(Network.chain_id == self.chain_id)
        rows = conn.execute(q).all()
        if self.certificate_registry:
            rows = [r for r in rows if r[1].lower() == self.certificate_registry.lower()]
        if self.issuer_registry:
            ids = {r[0] for r in rows}
            rows = [r for r in conn.execute(select(Network.id, Network.issuer_registry)
                                            .where(Network.chain_id == self.chain_id)).all()
                    if r[0] in ids and r[1].lower() == self.issuer_registry.lower()]
        if not rows:
            raise IndexNotReady(f"the index has no network with chain id {self.chain_id}"
                                + (f" and registry {self.certificate_registry}" if self.certificate_registry else ""))
        if len(rows) > 1:
            raise ValueError(f"the index holds {len(rows)} deployments on chain {self.chain_id}: "
                             "name the certificate registry")
        self._nid = rows[0][0]
        return self._nid

    def _block(self, conn: Connection, nid: int) -> IndexedBlock:
        number, h = conn.execute(select(Network.block_number, Network.block_hash).where(Network.id == nid)).one()
        return IndexedBlock(number, h)

    # -- status
    def indexed_block(self) -> IndexedBlock:
        """The last indexed block (number and hash; hash None before the first sync)."""
        with self._read() as conn:
            return self._block(conn, self._network(conn))

    def freshness(self) -> tuple[int, int]:
        """(last indexed block, unix time the follower last completed a sync or moved its checkpoint)."""
        with self._read() as conn:
            nid = self._network(conn)
            number, synced = conn.execute(select(Network.block_number, Network.updated_at)
                                          .where(Network.id == nid)).one()
            return number, synced or 0

    def status_of(self, pairs: Sequence[tuple[str | bytes, str | bytes]]) -> list[DocumentStatus]:
        """The batched status of (root, document) pairs, as the chain answers at the indexed block."""
        return self.status_with_block(pairs)[1]

    def status_with_block(self, pairs: Sequence[tuple[str | bytes, str | bytes]]
                          ) -> tuple[IndexedBlock, list[DocumentStatus]]:
        """`status_of` and the indexed block it answers for, read from one snapshot."""
        norm = [(_norm_hash(r), _norm_hash(d)) for r, d in pairs]
        with self._read() as conn:
            nid = self._network(conn)
            block = self._block(conn, nid)
            return block, self._status(conn, nid, norm, block)

    def _cached_authorities(self, conn: Connection, nid: int, accounts: set[str],
                            block: IndexedBlock | None) -> dict[str, _Authority]:
        """`_authorities`, remembered for the snapshot's block (number and hash): registry history only
        changes with a new indexed block."""
        if block is None or block.hash is None:
            return self._authorities(conn, nid, accounts)
        key = (nid, block.number, block.hash)
        cache = getattr(self, "_auth_cache", None)
        if cache is None or cache[0] != key:
            cache = self._auth_cache = (key, {}, set())
        known, absent = cache[1], cache[2]
        missing = {a for a in accounts if a not in known and a not in absent}
        if missing:
            found = self._authorities(conn, nid, missing)
            known.update(found)
            absent.update(missing - found.keys())
        return {a: known[a] for a in accounts if a in known}

    def _status(self, conn: Connection, nid: int, pairs: list[tuple[str, str]],
                block: IndexedBlock | None = None) -> list[DocumentStatus]:
        roots = {r for r, _ in pairs}
        docs = {d for _, d in pairs}
        # plain driver SQL: SQLAlchemy's statement building and expanding IN cost ~150 us a query here
        mark = {"qmark": "?", "format": "%s", "pyformat": "%s"}.get(conn.dialect.paramstyle)

        def rows(sql: str, values: set[str]) -> Iterator[Any]:
            for chunk in _chunks(values):
                if mark is None:
                    raise ValueError(f"the index supports SQLite and PostgreSQL (psycopg), not the "
                                     f"{conn.dialect.name} driver {conn.dialect.driver}")
                yield from conn.exec_driver_sql(sql.format(n=mark, ins=",".join([mark] * len(chunk))),
                                                (nid, *chunk))

        anchors = {row[0]: row for row in rows(
            "SELECT root, issuer, country, document_type, document_count, block_time, block_number FROM "
            "idx_anchors WHERE network_id = {n} AND root IN ({ins})", roots)}
        revocations = {row[0]: row for row in rows(
            "SELECT hash, reason, block_time, block_number FROM idx_revocations WHERE network_id = {n} AND "
            "hash IN ({ins})", roots | docs)}
        supersessions = {row[0]: row for row in rows(
            "SELECT old_document, new_root, new_document, block_time FROM idx_supersessions WHERE "
            "network_id = {n} AND old_document IN ({ins})", docs)}
        authority = self._cached_authorities(conn, nid, {a[1] for a in anchors.values()}, block)

        out: list[DocumentStatus] = []
        for root, doc in pairs:
            a = anchors.get(root)
            r = revocations.get(root)
            root_revoked = r is not None
            if r is None:
                r = revocations.get(doc)
            s = supersessions.get(doc)
            if a is not None:
                auth = authority.get(a[1])
                issuer, doc_type, count, anchored_at, anchored_block = a[1], a[3], a[4], a[5], a[6]
                country = auth.country if auth else a[2]
                authorised = auth is not None and auth.authorised_at(doc_type, anchored_at)
            else:
                issuer, country, doc_type, count, anchored_at, anchored_block = None, None, 0, 0, 0, 0
                authorised = False
            out.append(DocumentStatus(
                root=root, document=doc, issued=a is not None, issuer=issuer, country=country or None,
                document_type=doc_type, document_count=count, anchored_at=anchored_at, anchored_block=anchored_block,
                issuer_authorised=authorised, revoked=r is not None, root_revoked=root_revoked,
                revocation_reason=r[1] if r else 0, revoked_at=r[2] if r else 0, revoked_block=r[3] if r else 0,
                superseded=s is not None, successor_root=s[1] if s else None, successor_document=s[2] if s else None,
                superseded_at=s[3] if s else 0,
            ))
        return out

    def _authorities(self, conn: Connection, nid: int, accounts: set[str]) -> dict[str, _Authority]:
        if not accounts:
            return {}
        regs: dict[str, Any] = {}
        for chunk in _chunks(accounts):
            for row in conn.execute(
                    select(IssuerRegistration.account, IssuerRegistration.country, IssuerRegistration.document_types,
                           IssuerRegistration.valid_from, IssuerRegistration.valid_until)
                    .where(IssuerRegistration.network_id == nid, IssuerRegistration.account.in_(chunk))):
                regs[row[0]] = row
        statuses: dict[str, tuple[list[int], list[int]]] = {a: ([], []) for a in regs}
        compromised: dict[str, int] = {}
        for chunk in _chunks(regs):
            for account, t, status in conn.execute(
                    select(IssuerStatusChange.account, IssuerStatusChange.block_time, IssuerStatusChange.status)
                    .where(IssuerStatusChange.network_id == nid, IssuerStatusChange.account.in_(chunk))
                    .order_by(IssuerStatusChange.block_number, IssuerStatusChange.log_index)):
                statuses[account][0].append(t)
                statuses[account][1].append(status)
            for account, since in conn.execute(
                    select(IssuerCompromise.account, IssuerCompromise.since)
                    .where(IssuerCompromise.network_id == nid, IssuerCompromise.account.in_(chunk))
                    .order_by(IssuerCompromise.block_number, IssuerCompromise.log_index)):
                compromised[account] = since  # the latest marking holds (it can only move earlier)
        countries = {r[1] for r in regs.values()}
        membership: dict[str, tuple[list[int], list[bool]]] = {c: ([], []) for c in countries}
        for chunk in _chunks(countries):
            for country, t, added in conn.execute(
                    select(MemberChange.country, MemberChange.block_time, MemberChange.added)
                    .where(MemberChange.network_id == nid, MemberChange.country.in_(chunk))
                    .order_by(MemberChange.block_number, MemberChange.log_index)):
                membership[country][0].append(t)
                membership[country][1].append(bool(added))
        out = {}
        for account, (_, country, types, valid_from, valid_until) in regs.items():
            st, sv = statuses[account]
            mt, mv = membership[country]
            out[account] = _Authority(country=country, types=types, valid_from=valid_from, valid_until=valid_until,
                                      compromised_since=compromised.get(account, 0), status_times=st,
                                      status_values=sv, member_times=mt, member_values=mv)
        return out

    def is_authorised_at(self, account: str, document_type: int, time: int) -> bool:
        """IssuerRegistry.isAuthorisedAt from the index."""
        with self._read() as conn:
            auth = self._authorities(conn, self._network(conn), {account}).get(account)
        return auth is not None and auth.authorised_at(document_type, time)

    # -- history and audit
    @staticmethod
    def _where(row: Any) -> dict[str, Any]:
        return {"block_number": row.block_number, "block_hash": row.block_hash, "tx_hash": row.tx_hash,
                "log_index": row.log_index, "time": row.block_time}

    def _anchor_event(self, a: Any) -> ChainEvent:
        return ChainEvent("ANCHORED", **self._where(a), country=a.country, root=a.root, actor=a.issuer,
                          details={"documentType": a.document_type, "documentCount": a.document_count})

    def _revocation_event(self, r: Any, country: str | None) -> ChainEvent:
        whole = r.hash == r.root
        return ChainEvent("REVOKED", **self._where(r), country=country, root=r.root,
                          document=None if whole else r.hash, actor=r.by,
                          details={"scope": "ROOT" if whole else "DOCUMENT", "reason": r.reason,
                                   "reasonName": REVOCATION_REASON_NAMES.get(r.reason, str(r.reason))})

    def _supersession_events(self, s: Any, country: str | None, hashes: set[str] | None) -> list[ChainEvent]:
        out = []
        details = {"oldRoot": s.old_root, "oldDocument": s.old_document, "newRoot": s.new_root,
                   "newDocument": s.new_document}
        if hashes is None or s.old_document in hashes or s.old_root in hashes:
            out.append(ChainEvent("SUPERSEDED", **self._where(s), country=country, root=s.old_root,
                                  document=s.old_document, actor=s.by, details=details))
        if hashes is not None and (s.new_document in hashes or s.new_root in hashes):
            out.append(ChainEvent("SUPERSEDES", **self._where(s), country=country, root=s.new_root,
                                  document=s.new_document, actor=s.by, details=details))
        return out

    def history(self, hash: str | bytes, root: str | bytes | None = None) -> list[ChainEvent]:
        """Every event concerning a root or a document, oldest first: its anchoring, revocations (of the
        root, of the document, and for a root those of its documents), supersessions either way. Give the
        document's `root` too to include the batch's anchoring and whole-root revocation."""
        h = _norm_hash(hash)
        hashes = {h} | ({_norm_hash(root)} if root is not None else set())
        with self._read() as conn:
            nid = self._network(conn)
            anchors = conn.execute(select(Anchor.__table__).where(Anchor.network_id == nid, Anchor.root.in_(hashes))).all()
            revs = conn.execute(select(Revocation.__table__).where(
                Revocation.network_id == nid, or_(Revocation.hash.in_(hashes), Revocation.root == h))).all()
            sups = conn.execute(select(Supersession.__table__).where(
                Supersession.network_id == nid,
                or_(Supersession.old_document.in_(hashes), Supersession.old_root == h,
                    Supersession.new_document.in_(hashes), Supersession.new_root == h))).all()
            roots = {r.root for r in revs} | {s.old_root for s in sups} | \
                    {s.new_root for s in sups}
            countries = self._root_countries(conn, nid, roots)
        events = [self._anchor_event(a) for a in anchors]
        events += [self._revocation_event(r, countries.get(r.root)) for r in revs]
        for s in sups:
            events += self._supersession_events(s, countries.get(s.old_root),
                                                {h} if root is None else hashes)
        return sorted(events, key=lambda e: (e.block_number, e.log_index, e.kind))

    def _root_countries(self, conn: Connection, nid: int, roots: set[str]) -> dict[str, str]:
        out = {}
        for chunk in _chunks(roots):
            out.update(conn.execute(select(Anchor.root, Anchor.country)
                                    .where(Anchor.network_id == nid, Anchor.root.in_(chunk))).all())
        return out

    def events_between(self, country: str, from_time: int, to_time: int) -> list[ChainEvent]:
        """A jurisdiction's events with from_time <= block time < to_time, oldest first (audit export):
        its anchors, the revocations and supersessions of its roots, its issuers', membership and admin
        changes, and the proposals about it or votes by it. Each event names its block (number and hash),
        transaction and log index so that anyone can re-check it against any node."""
        with self._read() as conn:
            nid = self._network(conn)
            events: list[ChainEvent] = []
            for a in conn.execute(select(Anchor.__table__).where(
                    Anchor.network_id == nid, Anchor.country == country, Anchor.block_time >= from_time,
                    Anchor.block_time < to_time)):
                events.append(self._anchor_event(a))
            for r in conn.execute(select(Revocation.__table__).join(
                    Anchor, (Anchor.network_id == Revocation.network_id) & (Anchor.root == Revocation.root)).where(
                    Revocation.network_id == nid, Anchor.country == country, Revocation.block_time >= from_time,
                    Revocation.block_time < to_time)):
                events.append(self._revocation_event(r, country))
            for s in conn.execute(select(Supersession.__table__).join(
                    Anchor, (Anchor.network_id == Supersession.network_id) & (Anchor.root == Supersession.old_root))
                    .where(Supersession.network_id == nid, Anchor.country == country,
                           Supersession.block_time >= from_time, Supersession.block_time < to_time)):
                events += self._supersession_events(s, country, None)

            def window(model: Any) -> list[Any]:
                return [model.network_id == nid, model.block_time >= from_time, model.block_time < to_time]

            for i in conn.execute(select(IssuerRegistration.__table__).where(
                    *window(IssuerRegistration), IssuerRegistration.country == country)):
                events.append(ChainEvent("ISSUER_REGISTERED", **self._where(i), country=country, actor=i.by,
                                         details={"account": i.account, "name": i.name,
                                                  "documentTypes": i.document_types, "validFrom": i.valid_from,
                                                  "validUntil": i.valid_until}))
            for c in conn.execute(select(IssuerStatusChange.__table__).where(
                    *window(IssuerStatusChange), IssuerStatusChange.country == country)):
                events.append(ChainEvent("ISSUER_STATUS_CHANGED", **self._where(c), country=country, actor=c.by,
                                         details={"account": c.account, "status": IssuerStatus(c.status).name}))
            for r in conn.execute(select(IssuerRotation.__table__).where(
                    *window(IssuerRotation), IssuerRotation.country == country)):
                events.append(ChainEvent("ISSUER_ROTATED", **self._where(r), country=country, actor=r.by,
                                         details={"previous": r.previous, "successor": r.successor}))
            for c in conn.execute(select(IssuerCompromise.__table__).where(
                    *window(IssuerCompromise), IssuerCompromise.country == country)):
                events.append(ChainEvent("ISSUER_COMPROMISED", **self._where(c), country=country, actor=c.by,
                                         details={"account": c.account, "since": c.since}))
            for m in conn.execute(select(MemberChange.__table__).where(*window(MemberChange), MemberChange.country == country)):
                events.append(ChainEvent("MEMBER_ADDED" if m.added else "MEMBER_REMOVED", **self._where(m),
                                         country=country, details={"proposalId": m.proposal_id}))
            for m in conn.execute(select(AdminChange.__table__).where(*window(AdminChange), AdminChange.country == country)):
                events.append(ChainEvent("ADMIN_ADDED" if m.added else "ADMIN_REMOVED", **self._where(m),
                                         country=country, actor=m.by, details={"admin": m.admin}))
            about = select(ProposalEvent.proposal_id).where(
                ProposalEvent.network_id == nid, ProposalEvent.event == "CREATED", ProposalEvent.country == country)
            for p in conn.execute(select(ProposalEvent.__table__).where(
                    *window(ProposalEvent),
                    or_(ProposalEvent.proposal_id.in_(about),
                        (ProposalEvent.event == "VOTE") & (ProposalEvent.country == country),
                        (ProposalEvent.event == "CREATED") & (ProposalEvent.proposer == country)))):
                events.append(self._proposal_event(p))
        return sorted(events, key=lambda e: (e.block_number, e.log_index))

    def _proposal_event(self, p: Any) -> ChainEvent:
        if p.event == "CREATED":
            return ChainEvent("PROPOSAL_CREATED", **self._where(p), country=p.country,
                              details={"proposalId": p.proposal_id, "proposalKind": ProposalKind(p.kind).name,
                                       "admin": p.admin, "proposer": p.proposer, "deadline": p.deadline})
        if p.event == "VOTE":
            return ChainEvent("VOTE_CAST", **self._where(p), country=p.country,
                              details={"proposalId": p.proposal_id, "support": p.support, "yes": p.yes, "no": p.no})
        return ChainEvent("PROPOSAL_CLOSED", **self._where(p),
                          details={"proposalId": p.proposal_id, "state": ProposalState(p.state).name})

    # -- views
    def issuers(self, country: str | None = None) -> list[IssuerView]:
        """Every issuer ever registered (for one country, or all), as of the indexed block."""
        with self._read() as conn:
            nid = self._network(conn)
            q = select(IssuerRegistration.__table__).where(IssuerRegistration.network_id == nid)
            if country is not None:
                q = q.where(IssuerRegistration.country == country)
            regs = [r for r in conn.execute(q.order_by(IssuerRegistration.block_number,
                                                          IssuerRegistration.log_index))]
            accounts = [r.account for r in regs]
            history: dict[str, list[StatusChange]] = {a: [] for a in accounts}
            compromised: dict[str, int] = {}
            successor: dict[str, str] = {}
            predecessor: dict[str, str] = {}
            for chunk in _chunks(accounts):
                for c in conn.execute(select(IssuerStatusChange.__table__).where(
                        IssuerStatusChange.network_id == nid, IssuerStatusChange.account.in_(chunk))
                        .order_by(IssuerStatusChange.block_number, IssuerStatusChange.log_index)):
                    history[c.account].append(StatusChange(c.block_time, IssuerStatus(c.status), c.block_number,
                                                           c.tx_hash))
                for account, since in conn.execute(select(IssuerCompromise.account, IssuerCompromise.since).where(
                        IssuerCompromise.network_id == nid, IssuerCompromise.account.in_(chunk))
                        .order_by(IssuerCompromise.block_number, IssuerCompromise.log_index)):
                    compromised[account] = since
                for prev, succ in conn.execute(select(IssuerRotation.previous, IssuerRotation.successor).where(
                        IssuerRotation.network_id == nid,
                        or_(IssuerRotation.previous.in_(chunk), IssuerRotation.successor.in_(chunk)))):
                    successor[prev] = succ
                    predecessor[succ] = prev
        return [IssuerView(
            account=r.account, country=r.country, name=r.name, document_types=r.document_types,
            document_type_names=mask_types(r.document_types), valid_from=r.valid_from, valid_until=r.valid_until,
            status=history[r.account][-1].status if history[r.account] else IssuerStatus.NONE,
            compromised_since=compromised.get(r.account), successor=successor.get(r.account),
            predecessor=predecessor.get(r.account), registered_at=r.block_time, registered_block=r.block_number,
            registered_tx=r.tx_hash, status_history=history[r.account],
        ) for r in regs]

    def members(self) -> list[MemberView]:
        """Every country ever admitted, with its current admins and membership history."""
        with self._read() as conn:
            nid = self._network(conn)
            changes = conn.execute(select(MemberChange.__table__).where(MemberChange.network_id == nid)
                                   .order_by(MemberChange.block_number, MemberChange.log_index)).all()
            admins = conn.execute(select(AdminChange.country, AdminChange.admin, AdminChange.added)
                                  .where(AdminChange.network_id == nid)
                                  .order_by(AdminChange.block_number, AdminChange.log_index)).all()
        history: dict[str, list[MembershipChange]] = {}
        for m in changes:
            history.setdefault(m.country, []).append(
                MembershipChange(m.block_time, bool(m.added), m.proposal_id, m.block_number, m.tx_hash))
        current: dict[str, list[str]] = {}
        for c, admin, added in admins:
            lst = current.setdefault(c, [])
            if added:
                lst.append(admin)
            elif admin in lst:
                lst.remove(admin)
        out = []
        for country, hist in history.items():
            joined = max((h.time for h in hist if h.added), default=0)
            last = hist[-1]
            out.append(MemberView(country=country, active=last.added, joined_at=joined,
                                  removed_at=None if last.added else last.time, admins=current.get(country, []),
                                  changes=hist))
        return out
