"""vnfc_records.container_id -> pop_container_id; vnf_records.desired_instances dropped

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02

A VNFC record holds two container ids, the Pop protocol's and the engine's; the column
named plainly ``container_id`` held the former while the API's ``containerId`` shows the
latter, so the column now says whose id it is. ``desired_instances`` was written and
never read: the VNFC records are what the controllers reconcile. Downgrade restores it
from the records (the count of each VNF's VNFCs), as the orchestrator last wrote it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("vnfc_records", schema=None) as batch_op:
        batch_op.alter_column("container_id", new_column_name="pop_container_id")
    with op.batch_alter_table("vnf_records", schema=None) as batch_op:
        batch_op.drop_column("desired_instances")


def downgrade() -> None:
    with op.batch_alter_table("vnf_records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("desired_instances", sa.Integer(), nullable=False, server_default="0"))
    op.execute(
        "UPDATE vnf_records SET desired_instances = "
        "(SELECT COUNT(*) FROM vnfc_records WHERE vnfc_records.vnf_id = vnf_records.id)"
    )
    with op.batch_alter_table("vnf_records", schema=None) as batch_op:
        batch_op.alter_column("desired_instances", server_default=None)
    with op.batch_alter_table("vnfc_records", schema=None) as batch_op:
        batch_op.alter_column("pop_container_id", new_column_name="container_id")
