"""networks.labels: the labels a network was given at creation (an orchestrator marks what it made)

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01

The column came in the last release that made its tables with create_all, so an
adopted database (stamped 0001) may have it already: it is added only where missing.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if "labels" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("networks")}:
        with op.batch_alter_table("networks", schema=None) as batch_op:
            batch_op.add_column(sa.Column("labels", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("networks", schema=None) as batch_op:
        batch_op.drop_column("labels")
