"""The chain-event index schema (SQLAlchemy 2, typed mappings).

One database can hold the index of several networks: every row belongs to a `Network` (chain id plus the
IssuerRegistry's address), which is also the follower's checkpoint. The registry's events and those of every
DocumentStore it created (one per issuing authority) are kept; the rows of store events name their store and,
for the audit export, the store's country. Every event row keeps where it
came from (block number and hash, transaction hash, log index) and the block's time, so that a reorg
can be rolled back row by row and an auditor can re-check each row against any node.

Formats: document hashes (roots, targetHashes) are 64 lowercase hex digits without 0x, like
`certnet.node.contracts.DocumentStatus`; block and transaction hashes are 0x-prefixed (66 chars); accounts are
EIP-55 checksummed; countries are ISO 3166-1 alpha-2; times are unix seconds.

The schema is created and upgraded only by the Alembic migrations in `index/migrations`
(`certnet.index.upgrade(url)`); a test checks that the migrations and these models agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy import Table

NAMING = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: Primary keys: BIGINT on PostgreSQL, the rowid alias (INTEGER PRIMARY KEY) on SQLite.
RowId = BigInteger().with_variant(Integer(), "sqlite")


class Uint64(TypeDecorator[int]):
    """An unsigned 64-bit integer (the issuers' document-type mask) in a signed BIGINT column."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: int | None, dialect: Any) -> int | None:
        if value is None:
            return None
        if not 0 <= value < 1 << 64:
            raise ValueError(f"not a uint64: {value}")
        return value - (1 << 64) if value >= 1 << 63 else value

    def process_result_value(self, value: int | None, dialect: Any) -> int | None:
        if value is None:
            return None
        return value + (1 << 64) if value < 0 else value


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    if TYPE_CHECKING:
        __table__: ClassVar[Table]  # every model here maps a Table (SQLAlchemy types it as a FromClause)


class Network(Base):
    """A followed network (chain id + IssuerRegistry address) and its checkpoint: the last indexed block."""

    __tablename__ = "idx_networks"
    __table_args__ = (UniqueConstraint("chain_id", "issuer_registry"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chain_id: Mapped[int] = mapped_column(BigInteger)
    issuer_registry: Mapped[str] = mapped_column(String(42))
    #: first block scanned (the IssuerRegistry's deployment block)
    start_block: Mapped[int] = mapped_column(BigInteger)
    #: last indexed block (start_block - 1 before the first sync)
    block_number: Mapped[int] = mapped_column(BigInteger)
    #: its hash (None before the first sync)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    #: unix time of the last checkpoint move or completed sync (how fresh the index is)
    updated_at: Mapped[int] = mapped_column(BigInteger, default=0)


class Block(Base):
    """Headers of recent blocks (those that carried events, and each checkpoint), kept for the
    unfinalised window so that a reorg can be detected and its common ancestor found."""

    __tablename__ = "idx_blocks"

    network_id: Mapped[int] = mapped_column(ForeignKey("idx_networks.id"), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    hash: Mapped[str] = mapped_column(String(66))
    parent_hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[int] = mapped_column(BigInteger)


class Rollback(Base):
    """A reorg the follower rolled back: rows above `ancestor_block` were deleted and indexed again. Readers that
    keep a block cursor over the index (the notifier) read from here that they must look again."""

    __tablename__ = "idx_rollbacks"
    __table_args__ = (Index("ix_idx_rollbacks_network", "network_id", "id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("idx_networks.id"))
    orphaned_block: Mapped[int] = mapped_column(BigInteger)
    ancestor_block: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[int] = mapped_column(BigInteger)


class EventMixin:
    """Where an event row came from."""

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("idx_networks.id"))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    #: the block's timestamp
    block_time: Mapped[int] = mapped_column(BigInteger)


def _block_ix(table: str) -> Index:
    return Index(f"ix_{table}_block", "network_id", "block_number")


# ------------------------------------------------------------------ DocumentStores


class Anchor(EventMixin, Base):
    """RootAnchored: a batch root anchored in `store` by one of its authority's keys (never overwritten)."""

    __tablename__ = "idx_anchors"
    __table_args__ = (
        UniqueConstraint("network_id", "root", "store"),  # also the index of lookups by root
        _block_ix("idx_anchors"),
        Index("ix_idx_anchors_country_time", "network_id", "country", "block_time"),
    )

    store: Mapped[str] = mapped_column(String(42))
    #: the store's authority's country
    country: Mapped[str] = mapped_column(String(2))
    root: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(42))
    document_type: Mapped[int] = mapped_column(SmallInteger)
    document_count: Mapped[int] = mapped_column(BigInteger)


class Revocation(EventMixin, Base):
    """RevocationRecorded: `hash` (the root itself for a whole batch, a document's targetHash or a node of a proof
    path) revoked in `store`, recorded with `root`. A store keeps one record per hash; a record that does not
    count (made by a key at or after its compromised-since time) may be made again, so the newest row of a
    (store, hash) is the store's record."""

    __tablename__ = "idx_revocations"
    __table_args__ = (
        Index("ix_idx_revocations_hash", "network_id", "hash"),
        Index("ix_idx_revocations_root", "network_id", "root"),
        _block_ix("idx_revocations"),
        Index("ix_idx_revocations_country_time", "network_id", "country", "block_time"),
    )

    store: Mapped[str] = mapped_column(String(42))
    country: Mapped[str] = mapped_column(String(2))
    hash: Mapped[str] = mapped_column(String(64))
    root: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(42))
    reason: Mapped[int] = mapped_column(SmallInteger)


class Supersession(EventMixin, Base):
    """DocumentSuperseded: the old document (of old_root in `store`) is replaced by new_document (of new_root in
    new_store). As for revocations, the newest row of a (store, old_document) is the store's record."""

    __tablename__ = "idx_supersessions"
    __table_args__ = (
        Index("ix_idx_supersessions_old_document", "network_id", "old_document"),
        Index("ix_idx_supersessions_old_root", "network_id", "old_root"),
        Index("ix_idx_supersessions_new_document", "network_id", "new_document"),
        Index("ix_idx_supersessions_new_root", "network_id", "new_root"),
        _block_ix("idx_supersessions"),
        Index("ix_idx_supersessions_country_time", "network_id", "country", "block_time"),
    )

    store: Mapped[str] = mapped_column(String(42))
    country: Mapped[str] = mapped_column(String(2))
    old_root: Mapped[str] = mapped_column(String(64))
    old_document: Mapped[str] = mapped_column(String(64))
    new_store: Mapped[str] = mapped_column(String(42))
    new_root: Mapped[str] = mapped_column(String(64))
    new_document: Mapped[str] = mapped_column(String(64))
    by: Mapped[str] = mapped_column(String(42))


# ------------------------------------------------------------------ IssuerRegistry: authorities and keys


class AuthorityRegistration(EventMixin, Base):
    """AuthorityRegistered: an issuing authority and its new store; name, allowed document types and validity
    window never change afterwards."""

    __tablename__ = "idx_authorities"
    __table_args__ = (
        UniqueConstraint("network_id", "store"),
        Index("ix_idx_authorities_country", "network_id", "country"),
        _block_ix("idx_authorities"),
    )

    store: Mapped[str] = mapped_column(String(42))
    country: Mapped[str] = mapped_column(String(2))
    name: Mapped[str] = mapped_column(String(512))
    document_types: Mapped[int] = mapped_column(Uint64)
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    by: Mapped[str] = mapped_column(String(42))


class KeyAddition(EventMixin, Base):
    """KeyAdded: a signing key of the authority owning `store`, with its validity window (keys are never reused)."""

    __tablename__ = "idx_keys"
    __table_args__ = (
        UniqueConstraint("network_id", "key"),
        Index("ix_idx_keys_store", "network_id", "store"),
        Index("ix_idx_keys_country", "network_id", "country"),
        _block_ix("idx_keys"),
    )

    key: Mapped[str] = mapped_column(String(42))
    store: Mapped[str] = mapped_column(String(42))
    country: Mapped[str] = mapped_column(String(2))
    valid_from: Mapped[int] = mapped_column(BigInteger)
    valid_until: Mapped[int] = mapped_column(BigInteger)
    by: Mapped[str] = mapped_column(String(42))


class KeyStatusChange(EventMixin, Base):
    """KeyStatusChanged: the key's status from this block's time on (1 Active, 2 Suspended, 3 Retired)."""

    __tablename__ = "idx_key_status"
    __table_args__ = (
        Index("ix_idx_key_status_key", "network_id", "key"),
        _block_ix("idx_key_status"),
        Index("ix_idx_key_status_country_time", "network_id", "country", "block_time"),
    )

    key: Mapped[str] = mapped_column(String(42))
    store: Mapped[str] = mapped_column(String(42))
    country: Mapped[str] = mapped_column(String(2))
    status: Mapped[int] = mapped_column(SmallInteger)
    by: Mapped[str] = mapped_column(String(42))


class KeyRotation(EventMixin, Base):
    """KeyRotated: `previous` was replaced by `successor` (same store)."""

    __tablename__ = "idx_key_rotations"
    __table_args__ = (
        Index("ix_idx_key_rotations_previous", "network_id", "previous"),
        Index("ix_idx_key_rotations_successor", "network_id", "successor"),
        _block_ix("idx_key_rotations"),
    )

    previous: Mapped[str] = mapped_column(String(42))
    successor: Mapped[str] = mapped_column(String(42))
    store: Mapped[str] = mapped_column(String(42))
    country: Mapped[str] = mapped_column(String(2))
    by: Mapped[str] = mapped_column(String(42))


class KeyCompromise(EventMixin, Base):
    """KeyCompromised: whatever the key did at or after `since` no longer counts (the time only moves earlier)."""

    __tablename__ = "idx_key_compromises"
    __table_args__ = (
        Index("ix_idx_key_compromises_key", "network_id", "key"),
        _block_ix("idx_key_compromises"),
    )

    key: Mapped[str] = mapped_column(String(42))
    store: Mapped[str] = mapped_column(String(42))
    country: Mapped[str] = mapped_column(String(2))
    since: Mapped[int] = mapped_column(BigInteger)
    by: Mapped[str] = mapped_column(String(42))


# ------------------------------------------------------------------ IssuerRegistry: members, admins, customs, votes


class MemberChange(EventMixin, Base):
    """MemberAdded / MemberRemoved: membership of a country from this block's time on, in membership `epoch`
    (each admission starts a new one; rights of an earlier epoch never count again)."""

    __tablename__ = "idx_member_changes"
    __table_args__ = (
        Index("ix_idx_member_changes_country", "network_id", "country"),
        _block_ix("idx_member_changes"),
    )

    country: Mapped[str] = mapped_column(String(2))
    added: Mapped[bool] = mapped_column(Boolean)
    epoch: Mapped[int] = mapped_column(BigInteger)
    proposal_id: Mapped[int] = mapped_column(BigInteger)


class AdminChange(EventMixin, Base):
    """AdminAdded / AdminRemoved."""

    __tablename__ = "idx_admin_changes"
    __table_args__ = (
        Index("ix_idx_admin_changes_country", "network_id", "country"),
        _block_ix("idx_admin_changes"),
    )

    country: Mapped[str] = mapped_column(String(2))
    admin: Mapped[str] = mapped_column(String(42))
    added: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[str] = mapped_column(String(42))


class CustomsKeyChange(EventMixin, Base):
    """CustomsKeyAdded / CustomsKeyRemoved: a key that records customs decisions for its country."""

    __tablename__ = "idx_customs_keys"
    __table_args__ = (
        Index("ix_idx_customs_keys_country", "network_id", "country"),
        Index("ix_idx_customs_keys_key", "network_id", "key"),
        _block_ix("idx_customs_keys"),
    )

    country: Mapped[str] = mapped_column(String(2))
    key: Mapped[str] = mapped_column(String(42))
    added: Mapped[bool] = mapped_column(Boolean)
    by: Mapped[str] = mapped_column(String(42))


class ProposalEvent(EventMixin, Base):
    """ProposalCreated (event CREATED: kind, subject country, admin, proposer, deadline), VoteCast (VOTE:
    voter country, support, running yes/no) and ProposalClosedWith (CLOSED: final state)."""

    __tablename__ = "idx_proposal_events"
    __table_args__ = (
        Index("ix_idx_proposal_events_proposal", "network_id", "proposal_id"),
        _block_ix("idx_proposal_events"),
    )

    proposal_id: Mapped[int] = mapped_column(BigInteger)
    event: Mapped[str] = mapped_column(String(8))
    kind: Mapped[int | None] = mapped_column(SmallInteger)
    #: CREATED: the country proposed for admission or removal; VOTE: the voting country
    country: Mapped[str | None] = mapped_column(String(2))
    admin: Mapped[str | None] = mapped_column(String(42))
    proposer: Mapped[str | None] = mapped_column(String(2))
    deadline: Mapped[int | None] = mapped_column(BigInteger)
    support: Mapped[bool | None] = mapped_column(Boolean)
    yes: Mapped[int | None] = mapped_column(BigInteger)
    no: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[int | None] = mapped_column(SmallInteger)


# ------------------------------------------------------------------ CustomsRecord


class CustomsEvent(EventMixin, Base):
    """The CustomsRecord's events: DECIDED (DecisionRecorded: preference, reason, note hash, version),
    CHECK_OPENED (CheckOpened: reason, request hash, due time), CHECK_ANSWERED (CheckAnswered: result, findings
    hash, late, revoked) and CHECK_CLOSED (CheckClosed). Every row names its certificate (store and targetHash),
    the importing country (`country`) and the store's country (`issuing_country`): for an answer or a closing,
    those of the check it belongs to."""

    __tablename__ = "idx_customs_events"
    __table_args__ = (
        Index("ix_idx_customs_events_document", "network_id", "document"),
        Index("ix_idx_customs_events_check", "network_id", "check_id"),
        _block_ix("idx_customs_events"),
        Index("ix_idx_customs_events_country_time", "network_id", "country", "block_time"),
        Index("ix_idx_customs_events_issuing_time", "network_id", "issuing_country", "block_time"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    store: Mapped[str] = mapped_column(String(42))
    document: Mapped[str] = mapped_column(String(64))
    #: the importing country (the customs' side)
    country: Mapped[str] = mapped_column(String(2))
    #: the store's authority's country (the issuing side)
    issuing_country: Mapped[str] = mapped_column(String(2))
    check_id: Mapped[int | None] = mapped_column(BigInteger)
    by: Mapped[str] = mapped_column(String(42))
    #: the hash of the text kept off chain: the note, the request or the findings (None: no note)
    text_hash: Mapped[str | None] = mapped_column(String(64))
    preference: Mapped[int | None] = mapped_column(SmallInteger)
    reason: Mapped[int | None] = mapped_column(SmallInteger)
    version: Mapped[int | None] = mapped_column(BigInteger)
    due_at: Mapped[int | None] = mapped_column(BigInteger)
    result: Mapped[int | None] = mapped_column(SmallInteger)
    late: Mapped[bool | None] = mapped_column(Boolean)
    revoked: Mapped[bool | None] = mapped_column(Boolean)


#: Every event table, in the order a rollback deletes them.
EVENT_MODELS: tuple[type[EventMixin], ...] = (
    Anchor,
    Revocation,
    Supersession,
    AuthorityRegistration,
    KeyAddition,
    KeyStatusChange,
    KeyRotation,
    KeyCompromise,
    MemberChange,
    AdminChange,
    CustomsKeyChange,
    ProposalEvent,
    CustomsEvent,
)
