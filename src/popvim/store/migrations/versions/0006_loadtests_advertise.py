"""Load-test reports (ns_loadtests) and a PoP's advertised address (pops.advertise)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The last load tests of each instance are kept (nfv/loadtests.py) so that the
dashboard and GET .../loadtests show them after a restart. ``pops.advertise`` is
the address other sites reach a PoP's published ports at, when the address the
orchestrator uses (loopback for its own PoP) is not one they can reach.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A database made by create_all of these models (then stamped 0001) has them already.
    if "advertise" not in {c["name"] for c in inspector.get_columns("pops")}:
        with op.batch_alter_table("pops", schema=None) as batch_op:
            batch_op.add_column(sa.Column("advertise", sa.String(length=256), nullable=True))
    if not inspector.has_table("ns_loadtests"):
        op.create_table(
            "ns_loadtests",
            sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("ns_id", sa.String(length=36), nullable=False),
            sa.Column("target", sa.String(length=128), nullable=False),
            sa.Column("started_at", sa.DateTime(), nullable=False),
            sa.Column("finished_at", sa.DateTime(), nullable=False),
            sa.Column("request", sa.JSON(), nullable=False),
            sa.Column("report", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("ns_loadtests", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_ns_loadtests_ns_id"), ["ns_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ns_loadtests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ns_loadtests_ns_id"))
    op.drop_table("ns_loadtests")
    with op.batch_alter_table("pops", schema=None) as batch_op:
        batch_op.drop_column("advertise")
