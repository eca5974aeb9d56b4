"""The durable outbox: every accepted submission, batch, revocation and supersession, in SQL.

A document moves SUBMITTED -> BATCHED (wrapped, in a batch with a known Merkle root) -> SENT (the signed
anchoring transaction is recorded, then broadcast) -> ANCHORED (receipt seen at the confirmation depth).
Actions (revocations, supersessions) move PENDING -> SENT -> DONE, or FAILED with the contract's reason.
The rows are written before anything is acknowledged or sent, so a crash at any point loses nothing:
see `certnet.issuer.pipeline` for the recovery.

An anchored batch stays anchored only while the chain says so: the pipeline reconciles (see its
`_reconcile`), sends a batch whose root the chain lost back to BATCHED (the same root, the same wrapped
documents) and records each such event in `outbox_batch_events` and the batch's `reanchored_count`.

Only one pipeline writes an outbox at a time: `WriterLock` (a file lock next to an SQLite database, a
PostgreSQL advisory lock otherwise).

SQLite by default (WAL mode); any SQLAlchemy URL works, PostgreSQL included. The tables are created by
`create_all`; columns added since are added to an existing database by `upgrade_schema` (one place).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import socket
from collections.abc import Iterator, Sequence
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

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
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

if TYPE_CHECKING:
    from sqlalchemy import Table

from certnet import CertnetError


class DocumentState(StrEnum):
    """Where a document (and its batch) is in the pipeline: SUBMITTED → BATCHED → SENT → ANCHORED."""

    SUBMITTED = "SUBMITTED"
    BATCHED = "BATCHED"
    SENT = "SENT"
    ANCHORED = "ANCHORED"


class ActionState(StrEnum):
    """A revocation or supersession: PENDING until the chain has it (DONE) or it cannot be made (FAILED)."""

    PENDING = "PENDING"
    DONE = "DONE"
    FAILED = "FAILED"


class ActionKind(StrEnum):
    REVOKE_ROOT = "REVOKE_ROOT"
    REVOKE_DOCUMENT = "REVOKE_DOCUMENT"
    SUPERSEDE = "SUPERSEDE"


class BatchEventKind(StrEnum):
    """Events of a batch's history (`BatchEvent.event`)."""

    ANCHORED = "ANCHORED"
    REANCHOR = "REANCHOR"
    MOVED = "MOVED"
    RESIGN = "RESIGN"


# the members under their plain names (StrEnum: each equals its string, in code, JSON and the database)
SUBMITTED, BATCHED, SENT, ANCHORED = DocumentState
PENDING, DONE, FAILED = ActionState
REVOKE_ROOT, REVOKE_DOCUMENT, SUPERSEDE = ActionKind
EV_ANCHORED, EV_REANCHOR, EV_MOVED, EV_RESIGN = BatchEventKind

log = logging.getLogger("certnet.issuer")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def canonical_hash(data: Any) -> str:
    """sha256 of the canonical JSON of a raw document: what "same content" means for resubmissions."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()  # (a lone surrogate hashes too)


class Base(DeclarativeBase):
    if TYPE_CHECKING:
        __table__: ClassVar[Table]  # every model here maps a Table (SQLAlchemy types it as a FromClause)


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
    #: times the chain lost this batch's anchor and it was sent again (the same root)
    reanchored_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: when reconciliation last found the anchor on chain (or found it missing)
    last_reconciled_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)


class BatchEvent(Base):
    """A batch's history: anchored (block, transaction), re-anchored (the chain lost it), moved (re-mined in
    another block), re-signed (its transaction could not be mined any more)."""

    __tablename__ = "outbox_batch_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("outbox_batches.id"), index=True)
    event: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


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
    """A revocation or supersession, durable like the documents. One row per (kind, target): a FAILED action
    requested again goes back to PENDING (its previous error kept in `error` until it is sent again)."""

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
    upgrade_schema(engine)
    return sessionmaker(engine, expire_on_commit=False)


#: Columns added to the outbox tables after their first release: (table, column, SQL type and default).
#: `upgrade_schema` adds the missing ones to a database created before (create_all adds no column).
ADDED_COLUMNS: list[tuple[str, str, str]] = [
    ("outbox_batches", "reanchored_count", "INTEGER NOT NULL DEFAULT 0"),
    ("outbox_batches", "last_reconciled_at", "TIMESTAMP"),
]


def upgrade_schema(engine: Engine) -> None:
    """Add the columns of `ADDED_COLUMNS` that an existing database lacks (the one place the outbox schema
    changes; new tables come from create_all). Safe when several processes open the database at once."""
    for table, column, ddl in ADDED_COLUMNS:
        if column in {c["name"] for c in inspect(engine).get_columns(table)}:
            continue
        try:
            with engine.begin() as conn:
                conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {ddl}"))
            log.info("outbox: added column %s.%s", table, column)
        except (OperationalError, ProgrammingError) as exc:  # another process added it meanwhile
            if column not in {c["name"] for c in inspect(engine).get_columns(table)}:
                raise RuntimeError(f"cannot add column {table}.{column} to the outbox: {exc}") from exc


class OutboxLocked(CertnetError, RuntimeError):
    """Another pipeline writes this outbox."""


class WriterLock:
    """One writer per outbox. SQLite: an exclusive `flock` on `<database>.writer.lock` next to the database
    file (released by the kernel when the holder dies, even by SIGKILL). PostgreSQL: a session advisory lock
    keyed by the outbox's schema, held on a connection of its own (released when that session ends)."""

    def __init__(self, engine: Engine, purpose: str = "writer") -> None:
        self.engine = engine
        #: what the lock is for: names the lock file (`<database>.<purpose>.lock`) and keys the advisory lock
        self.purpose = purpose
        self._fd: int | None = None
        self._conn: Connection | None = None
        self.path: Path | None = None
        if engine.dialect.name == "sqlite":
            db = engine.url.database
            if db and db != ":memory:":
                self.path = Path(db).resolve().with_name(f"{Path(db).name}.{purpose}.lock")

    def held(self) -> bool:
        """True while this process holds the lock (for PostgreSQL: while its session is alive)."""
        if self.engine.dialect.name == "sqlite":
            return self._fd is not None or self.path is None
        if self._conn is None:
            return False
        try:  # this session's advisory lock (a session that ended, even one reconnected since, holds none)
            if self._conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' "
                    "AND granted AND pid = pg_backend_pid())"
                )
            ).scalar_one():
                return True
        except SQLAlchemyError:  # the connection is gone (or was invalidated)
            pass
        log.warning("the session holding the %s lock ended; taking the lock again", self.purpose)
        self._drop_connection()
        return False

    def try_acquire(self) -> bool:
        if self.held():
            return True
        if self.engine.dialect.name == "sqlite":
            assert self.path is not None
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return False
            os.ftruncate(fd, 0)
            os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}\n".encode())
            self._fd = fd
            return True
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")  # never idle in a transaction
        try:
            # a holder whose host vanished (no FIN, no RST) loses its session, and the lock, within about 11 s
            for setting, value in (("idle", 5), ("interval", 2), ("count", 3)):
                conn.execute(text(f"SET tcp_keepalives_{setting} = {value}"))
            key = conn.execute(
                text("SELECT ('x' || substr(md5(:prefix || current_schema()), 1, 16))::bit(64)::bigint"),
                {"prefix": f"certnet outbox {self.purpose} "},
            ).scalar_one()
            got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def holder(self) -> str:
        """Who holds the lock, as far as can be told (for messages)."""
        if self.path is not None:
            try:
                return self.path.read_text().strip() or "another process"
            except OSError:
                return "another process"
        return "another session of this database"

    def describe(self) -> str:
        where = f"the lock file {self.path}" if self.path else "a PostgreSQL advisory lock"
        return f"another pipeline ({self.holder()}) writes this outbox ({where})"

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
        if self._conn is not None:
            try:  # a pooled connection outlives close(): its session would keep the lock
                self._conn.execute(text("SELECT pg_advisory_unlock_all()"))
            except SQLAlchemyError:
                self._conn.invalidate()
        self._drop_connection()

    def _drop_connection(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except SQLAlchemyError:
                pass
            self._conn = None


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


def insert_ignoring_duplicates(session: Session, table: Any, rows: list[dict[str, Any]], unique: Sequence[str]) -> None:
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
            from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]  # the other dialect's insert, the same API
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
