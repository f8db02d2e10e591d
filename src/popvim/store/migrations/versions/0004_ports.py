"""ports and network_drafts: reserved addresses (Neutron ports) and networks awaiting their subnet

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02

A database made by create_all (adopted, stamped 0001) may have the tables already: each
is made only where missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    tables = set(sa.inspect(op.get_bind()).get_table_names())
    if "ports" not in tables:
        _create_ports()
    if "network_drafts" not in tables:
        op.create_table(
            "network_drafts",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("name", sa.String(length=128), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("name"),
        )


def _create_ports() -> None:
    op.create_table(
        "ports",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=False),
        sa.Column("holder", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["network_id"], ["networks.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ports_network_id", "ports", ["network_id"], unique=False)
    op.create_index("uq_port_address", "ports", ["network_id", "address"], unique=True)


def downgrade() -> None:
    op.drop_table("network_drafts")
    op.drop_index("uq_port_address", table_name="ports")
    op.drop_index("ix_ports_network_id", table_name="ports")
    op.drop_table("ports")
