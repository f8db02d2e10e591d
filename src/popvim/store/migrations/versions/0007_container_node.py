"""The node a cluster engine placed a container on (containers.node)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02

On a Swarm PoP the engine picks each container's node and addresses. The node
was only in ``extended_status`` text; as a column it is part of the record the
faces show (REST ``node``, Pop ``Container.node``), and a container placed but
not yet running tells a client that its addresses are the ones it will run with.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    # A database made by create_all of these models (then stamped 0001) has it already.
    if "node" not in {c["name"] for c in inspector.get_columns("containers")}:
        with op.batch_alter_table("containers", schema=None) as batch_op:
            batch_op.add_column(sa.Column("node", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("containers", schema=None) as batch_op:
        batch_op.drop_column("node")
