"""Initial index schema: networks (checkpoints), recent blocks, certificate and registry events.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Self-contained on purpose (no imports from the models): later model changes get their own revision.
"""

from __future__ import annotations

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

#: (table, its own columns, unique column sets, indexes {name: columns}); every event table also gets
#: id, network_id, block_number, block_hash, tx_hash, log_index, block_time and an index on the block.
EVENT_TABLES: list[tuple[str, list[sa.Column], list[list[str]], dict[str, list[str]]]] = [
    ("idx_admin_changes", [
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("admin", sa.String(42), nullable=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.Column("by", sa.String(42), nullable=False),
    ], [], {"ix_idx_admin_changes_country": ["network_id", "country"]}),
    ("idx_anchors", [
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(42), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("document_type", sa.SmallInteger(), nullable=False),
        sa.Column("document_count", sa.BigInteger(), nullable=False),
    ], [["network_id", "root"]], {"ix_idx_anchors_country_time": ["network_id", "country", "block_time"]}),
    ("idx_issuer_compromises", [
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("since", sa.BigInteger(), nullable=False),
        sa.Column("by", sa.String(42), nullable=False),
    ], [], {"ix_idx_issuer_compromises_account": ["network_id", "account"]}),
    ("idx_issuer_rotations", [
        sa.Column("previous", sa.String(42), nullable=False),
        sa.Column("successor", sa.String(42), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("by", sa.String(42), nullable=False),
    ], [], {"ix_idx_issuer_rotations_previous": ["network_id", "previous"],
            "ix_idx_issuer_rotations_successor": ["network_id", "successor"]}),
    ("idx_issuer_status", [
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("by", sa.String(42), nullable=False),
    ], [], {"ix_idx_issuer_status_account": ["network_id", "account"],
            "ix_idx_issuer_status_time": ["network_id", "block_time"]}),
    ("idx_issuers", [
        sa.Column("account", sa.String(42), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("document_types", sa.BigInteger(), nullable=False),  # uint64 mask, two's complement
        sa.Column("valid_from", sa.BigInteger(), nullable=False),
        sa.Column("valid_until", sa.BigInteger(), nullable=False),
        sa.Column("by", sa.String(42), nullable=False),
    ], [["network_id", "account"]], {"ix_idx_issuers_country": ["network_id", "country"]}),
    ("idx_member_changes", [
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("added", sa.Boolean(), nullable=False),
        sa.Column("proposal_id", sa.BigInteger(), nullable=False),
    ], [], {"ix_idx_member_changes_country": ["network_id", "country"]}),
    ("idx_proposal_events", [
        sa.Column("proposal_id", sa.BigInteger(), nullable=False),
        sa.Column("event", sa.String(8), nullable=False),
        sa.Column("kind", sa.SmallInteger(), nullable=True),
        sa.Column("country", sa.String(2), nullable=True),
        sa.Column("admin", sa.String(42), nullable=True),
        sa.Column("proposer", sa.String(2), nullable=True),
        sa.Column("deadline", sa.BigInteger(), nullable=True),
        sa.Column("support", sa.Boolean(), nullable=True),
        sa.Column("yes", sa.BigInteger(), nullable=True),
        sa.Column("no", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.SmallInteger(), nullable=True),
    ], [], {"ix_idx_proposal_events_proposal": ["network_id", "proposal_id"]}),
    ("idx_revocations", [
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("root", sa.String(64), nullable=False),
        sa.Column("by", sa.String(42), nullable=False),
        sa.Column("reason", sa.SmallInteger(), nullable=False),
    ], [["network_id", "hash"]], {"ix_idx_revocations_root": ["network_id", "root"],
                                  "ix_idx_revocations_time": ["network_id", "block_time"]}),
    ("idx_supersessions", [
        sa.Column("old_root", sa.String(64), nullable=False),
        sa.Column("old_document", sa.String(64), nullable=False),
        sa.Column("new_root", sa.String(64), nullable=False),
        sa.Column("new_document", sa.String(64), nullable=False),
        sa.Column("by", sa.String(42), nullable=False),
    ], [["network_id", "old_document"]], {"ix_idx_supersessions_old_root": ["network_id", "old_root"],
                                          "ix_idx_supersessions_new_document": ["network_id", "new_document"],
                                          "ix_idx_supersessions_new_root": ["network_id", "new_root"],
                                          "ix_idx_supersessions_time": ["network_id", "block_time"]}),
]


def upgrade() -> None:
    op.create_table(
        "idx_networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", sa.BigInteger(), nullable=False),
        sa.Column("issuer_registry", sa.String(42), nullable=False),
        sa.Column("certificate_registry", sa.String(42), nullable=False),
        sa.Column("start_block", sa.BigInteger(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_idx_networks"),
        sa.UniqueConstraint("chain_id", "issuer_registry", "certificate_registry",
                            name="uq_idx_networks_chain_id_issuer_registry_certificate_registry"),
    )
    op.create_table(
        "idx_blocks",
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(66), nullable=False),
        sa.Column("parent_hash", sa.String(66), nullable=False),
        sa.Column("timestamp", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["idx_networks.id"], name="fk_idx_blocks_network_id_idx_networks"),
        sa.PrimaryKeyConstraint("network_id", "number", name="pk_idx_blocks"),
    )
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
            sa.ForeignKeyConstraint(["network_id"], ["idx_networks.id"],
                                    name=f"fk_{table}_network_id_idx_networks"),
            sa.PrimaryKeyConstraint("id", name=f"pk_{table}"),
            *(sa.UniqueConstraint(*cols, name=f"uq_{table}_{'_'.join(cols)}") for cols in uniques),
        )
        op.create_index(f"ix_{table}_block", table, ["network_id", "block_number"])
        for name, cols in indexes.items():
            op.create_index(name, table, cols)


def downgrade() -> None:
    for table, _columns, _uniques, _indexes in reversed(EVENT_TABLES):
        op.drop_table(table)
    op.drop_table("idx_blocks")
    op.drop_table("idx_networks")
