"""Link limits and host mode: networks.delay/loss, endpoints.bandwidth/delay/loss, containers.privileged_mode

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02

networks.bandwidth existed already (parsed from descriptors, never enforced);
delay and loss join it, and an endpoint may carry limits of its own. A
container's privileged_mode is "host" for an emulated host (README: Testbed).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = {
    "networks": [("delay", 16), ("loss", 16)],
    "endpoints": [("bandwidth", 32), ("delay", 16), ("loss", 16)],
    "containers": [("privileged_mode", 8)],
}


def upgrade() -> None:
    inspector = sa.inspect(op.get_bind())
    for table, columns in _COLUMNS.items():
        # A database made by create_all of these models (then stamped 0001) has them already.
        present = {c["name"] for c in inspector.get_columns(table)}
        missing = [(name, length) for name, length in columns if name not in present]
        if not missing:
            continue
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, length in missing:
                batch_op.add_column(sa.Column(name, sa.String(length=length), nullable=True))


def downgrade() -> None:
    for table, columns in _COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _length in columns:
                batch_op.drop_column(name)
