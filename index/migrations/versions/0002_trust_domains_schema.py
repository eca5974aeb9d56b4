"""Index schema for trust domains: networks (checkpoints, keyed by the IssuerRegistry), recent blocks, rollbacks,
the IssuerRegistry's events (members with epochs, admins, customs keys, votes, authorities and their keys) and
the events of every authority's DocumentStore.

Revision ID: 0002
Revises:
Create Date: 2026-12-06

This replaces the initial schema 0001 (one shared CertificateRegistry). certnet is pre-release and redeploying is
the migration, so this is a new base revision, not an upgrade of 0001: `certnet.index.upgrade` drops the
tables of an index still at 0001 (an index is rebuilt from the chain) before it runs this one.

Self-contained on purpose (no imports from the models): later model changes get their own revision.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _s(name: str, n: int = 42) -> sa.Column:
    return sa.Column(name, sa.String(n), nullable=False)


def _i(name: str, kind: type = sa.BigInteger) -> sa.Column:
    return sa.Column(name, kind(), nullable=False)


#: (table, its own columns, unique column sets, indexes {name: columns}); every event table also gets
#: id, network_id, block_number, block_hash, tx_hash, log_index, block_time and an index on the block.
EVENT_TABLES: list[tuple[str, list[sa.Column], list[list[str]], dict[str, list[str]]]] = [
    (
        "idx_anchors",
        [
            _s("store"),
            _s("country", 2),
            _s("root", 64),
            _s("key"),
            _i("document_type", sa.SmallInteger),
            _i("document_count"),
        ],
        [["network_id", "root", "store"]],  # the unique index serves lookups by root too
        {"ix_idx_anchors_country_time": ["network_id", "country", "block_time"]},
    ),
    (
        "idx_revocations",
        [
            _s("store"),
            _s("country", 2),
            _s("hash", 64),
            _s("root", 64),
            _s("by"),
            _i("reason", sa.SmallInteger),
        ],
        [],
        {
            "ix_idx_revocations_hash": ["network_id", "hash"],
            "ix_idx_revocations_root": ["network_id", "root"],
            "ix_idx_revocations_country_time": ["network_id", "country", "block_time"],
        },
    ),
    (
        "idx_supersessions",
        [
            _s("store"),
            _s("country", 2),
            _s("old_root", 64),
            _s("old_document", 64),
            _s("new_store"),
            _s("new_root", 64),
            _s("new_document", 64),
            _s("by"),
        ],
        [],
        {
            "ix_idx_supersessions_old_document": ["network_id", "old_document"],
            "ix_idx_supersessions_old_root": ["network_id", "old_root"],
            "ix_idx_supersessions_new_document": ["network_id", "new_document"],
            "ix_idx_supersessions_new_root": ["network_id", "new_root"],
            "ix_idx_supersessions_country_time": ["network_id", "country", "block_time"],
        },
    ),
    (
        "idx_authorities",
        [
            _s("store"),
            _s("country", 2),
            _s("name", 512),
            _i("document_types"),  # uint64 mask, two's complement
            _i("valid_from"),
            _i("valid_until"),
            _s("by"),
        ],
        [["network_id", "store"]],
        {"ix_idx_authorities_country": ["network_id", "country"]},
    ),
    (
        "idx_keys",
        [
            _s("key"),
            _s("store"),
            _s("country", 2),
            _i("valid_from"),
            _i("valid_until"),
            _s("by"),
        ],
        [["network_id", "key"]],
        {"ix_idx_keys_store": ["network_id", "store"], "ix_idx_keys_country": ["network_id", "country"]},
    ),
    (
        "idx_key_status",
        [
            _s("key"),
            _s("store"),
            _s("country", 2),
            _i("status", sa.SmallInteger),
            _s("by"),
        ],
        [],
        {
            "ix_idx_key_status_key": ["network_id", "key"],
            "ix_idx_key_status_country_time": ["network_id", "country", "block_time"],
        },
    ),
    (
        "idx_key_rotations",
        [
            _s("previous"),
            _s("successor"),
            _s("store"),
            _s("country", 2),
            _s("by"),
        ],
        [],
        {
            "ix_idx_key_rotations_previous": ["network_id", "previous"],
            "ix_idx_key_rotations_successor": ["network_id", "successor"],
        },
    ),
    (
        "idx_key_compromises",
        [
            _s("key"),
            _s("store"),
            _s("country", 2),
            _i("since"),
            _s("by"),
        ],
        [],
        {"ix_idx_key_compromises_key": ["network_id", "key"]},
    ),
    (
        "idx_member_changes",
        [
            _s("country", 2),
            sa.Column("added", sa.Boolean(), nullable=False),
            _i("epoch"),
            _i("proposal_id"),
        ],
        [],
        {"ix_idx_member_changes_country": ["network_id", "country"]},
    ),
    (
        "idx_admin_changes",
        [
            _s("country", 2),
            _s("admin"),
            sa.Column("added", sa.Boolean(), nullable=False),
            _s("by"),
        ],
        [],
        {"ix_idx_admin_changes_country": ["network_id", "country"]},
    ),
    (
        "idx_customs_keys",
        [
            _s("country", 2),
            _s("key"),
            sa.Column("added", sa.Boolean(), nullable=False),
            _s("by"),
        ],
        [],
        {"ix_idx_customs_keys_country": ["network_id", "country"], "ix_idx_customs_keys_key": ["network_id", "key"]},
    ),
    (
        "idx_proposal_events",
        [
            _i("proposal_id"),
            _s("event", 8),
            sa.Column("kind", sa.SmallInteger(), nullable=True),
            sa.Column("country", sa.String(2), nullable=True),
            sa.Column("admin", sa.String(42), nullable=True),
            sa.Column("proposer", sa.String(2), nullable=True),
            sa.Column("deadline", sa.BigInteger(), nullable=True),
            sa.Column("support", sa.Boolean(), nullable=True),
            sa.Column("yes", sa.BigInteger(), nullable=True),
            sa.Column("no", sa.BigInteger(), nullable=True),
            sa.Column("state", sa.SmallInteger(), nullable=True),
        ],
        [],
        {"ix_idx_proposal_events_proposal": ["network_id", "proposal_id"]},
    ),
]


def upgrade() -> None:
    op.create_table(
        "idx_networks",
        sa.Column("id", sa.Integer(), nullable=False),
        _i("chain_id"),
        _s("issuer_registry"),
        _i("start_block"),
        _i("block_number"),
        sa.Column("block_hash", sa.String(66), nullable=True),
        _i("updated_at"),
        sa.PrimaryKeyConstraint("id", name="pk_idx_networks"),
        sa.UniqueConstraint("chain_id", "issuer_registry", name="uq_idx_networks_chain_id_issuer_registry"),
    )
    op.create_table(
        "idx_blocks",
        sa.Column("network_id", sa.Integer(), nullable=False),
        _i("number"),
        _s("hash", 66),
        _s("parent_hash", 66),
        _i("timestamp"),
        sa.ForeignKeyConstraint(["network_id"], ["idx_networks.id"], name="fk_idx_blocks_network_id_idx_networks"),
        sa.PrimaryKeyConstraint("network_id", "number", name="pk_idx_blocks"),
    )
    op.create_table(
        "idx_rollbacks",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        _i("orphaned_block"),
        _i("ancestor_block"),
        _i("at"),
        sa.ForeignKeyConstraint(["network_id"], ["idx_networks.id"], name="fk_idx_rollbacks_network_id_idx_networks"),
        sa.PrimaryKeyConstraint("id", name="pk_idx_rollbacks"),
    )
    op.create_index("ix_idx_rollbacks_network", "idx_rollbacks", ["network_id", "id"])
    for table, columns, uniques, indexes in EVENT_TABLES:
        op.create_table(
            table,
            *columns,
            sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
            sa.Column("network_id", sa.Integer(), nullable=False),
            sa.Column("block_number", sa.BigInteger(), nullable=False),
            sa.Column("block_hash", sa.String(66), nullable=False),
            sa.Column("tx_hash", sa.String(66), nullable=False),
            sa.Column("log_index", sa.Integer(), nullable=False),
            sa.Column("block_time", sa.BigInteger(), nullable=False),
            sa.ForeignKeyConstraint(["network_id"], ["idx_networks.id"], name=f"fk_{table}_network_id_idx_networks"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            *(sa.UniqueConstraint(*cols, name=f"uq_{table}_{'_'.join(cols)}") for cols in uniques),
        )
        op.create_index(f"ix_{table}_block", table, ["network_id", "block_number"])
        for name, cols in indexes.items():
            op.create_index(name, table, cols)


def downgrade() -> None:
    for table, _columns, _uniques, _indexes in reversed(EVENT_TABLES):
        op.drop_table(table)
    op.drop_table("idx_rollbacks")
    op.drop_table("idx_blocks")
    op.drop_table("idx_networks")
