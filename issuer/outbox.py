"""The durable outbox: every accepted submission, batch, revocation and supersession, in SQL.

A document moves SUBMITTED -> BATCHED (wrapped, in a batch with a known Merkle root) -> SENT (the signed
anchoring transaction is recorded, then broadcast) -> ANCHORED (receipt seen at the confirmation depth).
Actions (revocations, supersessions) move PENDING -> SENT -> DONE, or FAILED with the contract's reason.
The rows are written before anything is acknowledged or sent, so a crash at any point loses nothing:
see `issuer.pipeline` for the recovery.

SQLite by default (WAL mode); any SQLAlchemy URL works, PostgreSQL included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from typing import Any, Iterator

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

from verifier.jsjson import dump_bytes

SUBMITTED, BATCHED, SENT, ANCHORED = "SUBMITTED", "BATCHED", "SENT", "ANCHORED"
PENDING, DONE, FAILED = "PENDING", "DONE", "FAILED"
REVOKE_ROOT, REVOKE_DOCUMENT, SUPERSEDE = "REVOKE_ROOT", "REVOKE_DOCUMENT", "SUPERSEDE"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def canonical_hash(data: Any) -> str:
    """sha256 of the canonical JSON of a raw document: what "same content" means for resubmissions."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


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


# A run of 19 digits or more may be an integer beyond 64 bits, which orjson would read back as a float.
_LONG_NUMBER = re.compile(r"\d{19}")


def json_text(value: Any) -> str:
    """JSON columns are written with orjson (the standard library for what orjson refuses)."""
    return dump_bytes(value).decode()


def json_value(text: str | bytes) -> Any:
    """JSON columns are read with orjson, except text that may hold an integer beyond 64 bits or that orjson
    refuses (a lone surrogate): the standard library reads those exactly."""
    if not isinstance(text, str):
        text = bytes(text).decode()
    if _LONG_NUMBER.search(text) is None:
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
