"""The chain-event index: contract events followed into SQL (SQLite by default, PostgreSQL supported).

- `upgrade(url)` creates or upgrades the schema (Alembic migrations, the only way the schema changes);
- `Indexer` (certnet.index.follower) follows the IssuerRegistry's events and those of every DocumentStore
  it creates from a checkpoint, detects reorgs and rolls back to the common ancestor, respecting a confirmation
  depth;
- `IndexStatusSource` (certnet.index.queries) answers the batched document status exactly as the chain's
  `IssuerRegistry.statusOf` does across stores at the indexed block, plus histories, audit exports and the
  authority, key, member and customs-key views.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine

if TYPE_CHECKING:  # pragma: no cover
    from certnet.index.follower import Indexer
    from certnet.index.queries import IndexStatusSource

__all__ = ["upgrade", "make_engine", "sqlite_url", "MIGRATIONS_DIR", "VERSION_TABLE", "Indexer", "IndexStatusSource"]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: Alembic's version table for the index (its own, so the index can share a database with other parts).
VERSION_TABLE = "idx_alembic_version"
_MIGRATION_LOCK = 0x63657274  # PostgreSQL advisory lock key held while migrating ("cert")
#: Revisions of schemas that were replaced rather than migrated (pre-release: redeploying is the migration). An
#: index at one of them is dropped and built again from the chain.
_REPLACED_REVISIONS = {
    "0001": (
        "idx_anchors",
        "idx_revocations",
        "idx_supersessions",
        "idx_issuers",
        "idx_issuer_status",
        "idx_issuer_rotations",
        "idx_issuer_compromises",
        "idx_member_changes",
        "idx_admin_changes",
        "idx_proposal_events",
        "idx_blocks",
        "idx_networks",
    )
}


def sqlite_url(path: str | Path) -> str:
    """The SQLAlchemy URL of an SQLite index file."""
    return f"sqlite:///{Path(path).resolve()}"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for the index. On SQLite: WAL, a busy timeout, and real transactions for reads too
    (pysqlite otherwise runs SELECTs outside any transaction, so a multi-query read could see two
    different checkpoints)."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            if ":memory:" not in url and url not in ("sqlite://", "sqlite:///"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")  # the index can always be rebuilt from the chain
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # BEGIN IMMEDIATE (the write lock at once) when asked, e.g. for migrations
            immediate = conn.get_execution_options().get("sqlite_immediate")
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def alembic_config(url: str | None = None) -> Any:
    """A programmatic Alembic configuration for the index migrations (no ini file needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Create or upgrade the index schema: `alembic upgrade head`, run programmatically."""
    from alembic import command

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        cfg = alembic_config()
        # one migrating process at a time (an API and a follower may start together)
        with engine.execution_options(sqlite_immediate=True).begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})")
            _drop_replaced(conn)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def _drop_replaced(conn: Any) -> None:
    """Drop an index whose schema revision was replaced (its rows are rebuilt from the chain)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import inspect, text

    current = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    tables = _REPLACED_REVISIONS.get(current or "")
    if tables is None:
        return
    existing = set(inspect(conn).get_table_names())
    for table in tables:
        if table in existing:
            conn.execute(text(f"DROP TABLE {table}"))
    conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))


def current_revision(url: str | Engine) -> str | None:
    """The schema revision the database is at (None when the index was never created)."""
    from alembic.runtime.migration import MigrationContext

    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    finally:
        if not isinstance(url, Engine):
            engine.dispose()


def __getattr__(name: str) -> Any:
    if name == "Indexer":
        from certnet.index.follower import Indexer

        return Indexer
    if name == "IndexStatusSource":
        from certnet.index.queries import IndexStatusSource

        return IndexStatusSource
    raise AttributeError(name)
