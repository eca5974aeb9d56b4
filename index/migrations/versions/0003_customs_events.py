"""The CustomsRecord's events (customs decisions and retroactive checks): idx_customs_events.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

An index at 0002 has followed the chain without these events, so the upgrade also empties its event rows and moves
every network's checkpoint back to its start: the follower indexes the chain again, customs events included (an
index is always rebuilt from the chain).

Self-contained on purpose (no imports from the models).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TABLE = "idx_customs_events"
#: the event tables of 0002, emptied so that the chain is indexed again from the start
EARLIER = (
    "idx_anchors",
    "idx_revocations",
    "idx_supersessions",
    "idx_authorities",
    "idx_keys",
    "idx_key_status",
    "idx_key_rotations",
    "idx_key_compromises",
    "idx_member_changes",
    "idx_admin_changes",
    "idx_customs_keys",
    "idx_proposal_events",
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("store", sa.String(42), nullable=False),
        sa.Column("document", sa.String(64), nullable=False),
        sa.Column("country", sa.String(2), nullable=False),
        sa.Column("issuing_country", sa.String(2), nullable=False),
        sa.Column("check_id", sa.BigInteger(), nullable=True),
        sa.Column("by", sa.String(42), nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=True),
        sa.Column("preference", sa.SmallInteger(), nullable=True),
        sa.Column("reason", sa.SmallInteger(), nullable=True),
        sa.Column("version", sa.BigInteger(), nullable=True),
        sa.Column("due_at", sa.BigInteger(), nullable=True),
        sa.Column("result", sa.SmallInteger(), nullable=True),
        sa.Column("late", sa.Boolean(), nullable=True),
        sa.Column("revoked", sa.Boolean(), nullable=True),
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("block_number", sa.BigInteger(), nullable=False),
        sa.Column("block_hash", sa.String(66), nullable=False),
        sa.Column("tx_hash", sa.String(66), nullable=False),
        sa.Column("log_index", sa.Integer(), nullable=False),
        sa.Column("block_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["idx_networks.id"], name=f"fk_{TABLE}_network_id_idx_networks"),
        sa.PrimaryKeyConstraint("id", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_block", TABLE, ["network_id", "block_number"])
    op.create_index(f"ix_{TABLE}_document", TABLE, ["network_id", "document"])
    op.create_index(f"ix_{TABLE}_check", TABLE, ["network_id", "check_id"])
    op.create_index(f"ix_{TABLE}_country_time", TABLE, ["network_id", "country", "block_time"])
    op.create_index(f"ix_{TABLE}_issuing_time", TABLE, ["network_id", "issuing_country", "block_time"])
    for table in EARLIER:  # index the chain again, customs events included
        op.execute(sa.text(f"DELETE FROM {table}"))
    op.execute(sa.text("DELETE FROM idx_blocks"))
    op.execute(sa.text("UPDATE idx_networks SET block_number = start_block - 1, block_hash = NULL"))


def downgrade() -> None:
    op.drop_table(TABLE)
