"""The durable outbox: every accepted submission, batch, revocation and supersession, in SQL.

A document moves SUBMITTED -> BATCHED (wrapped, in a batch with a known Merkle root) -> SENT (the signed
anchoring transaction is recorded, then broadcast) -> ANCHORED (receipt seen at the confirmation depth).
Actions (revocations, supersessions) move PENDING -> SENT -> DONE, or FAILED with the contract's reason.
The rows are written before anything is acknowledged or sent, so a crash at any point loses nothing:
see `certnet.issuer.pipeline` for the recovery.

SQLite by default (WAL mode); any SQLAlchemy URL works, PostgreSQL included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any, Iterator, Sequence

import orjson

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

SUBMITTED, BATCHED, SENT, ANCHORED = "SUBMITTED", "BATCHED", "SENT", "ANCHORED"
PENDING, DONE, FAILED = "PENDING", "DONE", "FAILED"
REVOKE_ROOT, REVOKE_DOCUMENT, SUPERSEDE = "REVOKE_ROOT", "REVOKE_DOCUMENT", "SUPERSEDE"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def canonical_hash(data: Any) -> str:
    """sha256 of the canonical JSON of a raw document: what "same content" means for resubmissions."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()  # (a lone surrogate hashes too)


class Base(DeclarativeBase):
    pass


class Batch(Base):
    __tablename__ = "outbox_batches"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(42), index=True)
    document_type: Mapped[str] = mapped_column(String(16))
    merkle_root: Mapped[str] = mapped_column(String(64), unique=True)
    count: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(12), index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    raw_tx: Mapped[str | None] = mapped_column(Text)
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    anchored_at: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Document(Base):
    __tablename__ = "outbox_documents"
    __table_args__ = (
        UniqueConstraint("issuer", "issuing_country", "reference_number", name="uq_outbox_reference"),
        Index("ix_outbox_pending", "state", "issuer", "document_type", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issuer: Mapped[str] = mapped_column(String(42))
    issuing_country: Mapped[str] = mapped_column(String(2))
    reference_number: Mapped[str] = mapped_column(String(128))
    document_type: Mapped[str] = mapped_column(String(16))
    content_hash: Mapped[str] = mapped_column(String(64))
    raw: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12))
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_batches.id"), index=True)
    target_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    wrapped: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class Action(Base):
    """A revocation or supersession, durable like the documents."""

    __tablename__ = "outbox_actions"
    __table_args__ = (UniqueConstraint("kind", "target", name="uq_outbox_action_target"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    sender: Mapped[str] = mapped_column(String(42), index=True)
    target: Mapped[str] = mapped_column(String(64))  # the revoked/superseded hash: one action per target
    payload: Mapped[dict] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(12), index=True)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    raw_tx: Mapped[str | None] = mapped_column(Text)
    nonce: Mapped[int | None] = mapped_column(BigInteger)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


def json_text(value: Any) -> str:
    """JSON columns are written compactly with orjson. What orjson refuses (an integer beyond 64 bits, a lone
    surrogate) is written by the standard library after a leading space, so that :func:`json_value` reads it
    back with the standard library too: orjson would read such an integer as a float."""
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return " " + json.dumps(value)


def json_value(text: str | bytes) -> Any:
    """Read a JSON column: orjson for what :func:`json_text` wrote compactly; the standard library for text
    it marked, and for text with '": ' (rows written before orjson, by SQLAlchemy's default json.dumps; compact
    JSON has that only inside strings, as '\\": ')."""
    if not isinstance(text, str):
        text = bytes(text).decode()
    if text[:1] != " " and '": ' not in text:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def open_database(url: str) -> sessionmaker[Session]:
    """Connect (creating the outbox tables if needed) and return a session factory."""
    kwargs: dict[str, Any] = {"json_serializer": json_text, "json_deserializer": json_value}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30, "check_same_thread": False}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _sqlite_pragmas(engine)
    Base.metadata.create_all(engine)
    return sessionmaker(engine, expire_on_commit=False)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=FULL")  # an acknowledged submission survives power loss
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()


def pending_groups(session: Session) -> Iterator[tuple[str, str, int, dt.datetime]]:
    """(issuer, document type, pending count, oldest submission time) for every group with work."""
    from sqlalchemy import func

    rows = session.execute(
        select(Document.issuer, Document.document_type, func.count(), func.min(Document.created_at))
        .where(Document.state == SUBMITTED)
        .group_by(Document.issuer, Document.document_type)
    )
    yield from rows


def insert_ignoring_duplicates(session: Session, table: Any, rows: list[dict[str, Any]],
                               unique: Sequence[str]) -> None:
    """INSERT `rows` into `table`, skipping any that would repeat the unique key `unique` (already there, or
    inserted at the same moment by another process): INSERT ... ON CONFLICT DO NOTHING on SQLite and
    PostgreSQL, one savepoint per row elsewhere. Check-then-insert races between processes; this does not."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        if dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        else:
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        session.execute(dialect_insert(table).on_conflict_do_nothing(index_elements=list(unique)), rows)
        return
    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    for row in rows:
        try:
            with session.begin_nested():
                session.execute(insert(table), [row])
        except IntegrityError:
            pass
