"""initial schema, as create_all made it in the first release

Revision ID: 0001
Revises:
Create Date: 2026-12-01

Frozen: a database made by create_all before migrations existed is stamped with
this revision when adopted, so it must keep reproducing the first release's
tables. Columns that later create_all releases added come as their own
revisions (0002), written to tolerate a database that has them already.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "containers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("image", sa.String(length=512), nullable=False),
        sa.Column("image_id", sa.String(length=128), nullable=False),
        sa.Column("flavour", sa.String(length=64), nullable=False),
        sa.Column("command", sa.JSON(), nullable=True),
        sa.Column("env", sa.JSON(), nullable=False),
        sa.Column("md", sa.JSON(), nullable=False),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("ports", sa.JSON(), nullable=False),
        sa.Column("volumes", sa.JSON(), nullable=False),
        sa.Column("cpus", sa.Float(), nullable=True),
        sa.Column("memory", sa.Integer(), nullable=True),
        sa.Column("mac_address", sa.String(length=17), nullable=True),
        sa.Column("privileged", sa.Boolean(), nullable=False),
        sa.Column("cap_add", sa.JSON(), nullable=False),
        sa.Column("restart_policy", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("extended_status", sa.Text(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("engine_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    with op.batch_alter_table("containers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_containers_engine_id"), ["engine_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_containers_state"), ["state"], unique=False)

    op.create_table(
        "networks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("driver", sa.String(length=32), nullable=False),
        sa.Column("subnet", sa.String(length=64), nullable=False),
        sa.Column("ip_range", sa.String(length=64), nullable=True),
        sa.Column("gateway", sa.String(length=64), nullable=False),
        sa.Column("internal", sa.Boolean(), nullable=False),
        sa.Column("bridge_name", sa.String(length=15), nullable=True),
        sa.Column("parent", sa.String(length=64), nullable=True),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("bandwidth", sa.String(length=32), nullable=True),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("engine_id", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "ns_descriptors",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("vendor", sa.String(length=256), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "ns_lcm_op_occs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ns_id", sa.String(length=36), nullable=False),
        sa.Column("operation", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("automatic", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ns_lcm_op_occs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ns_lcm_op_occs_ns_id"), ["ns_id"], unique=False)

    op.create_table(
        "pops",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=256), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("password", sa.String(length=1024), nullable=False),
        sa.Column("site", sa.String(length=128), nullable=False),
        sa.Column("tls", sa.Boolean(), nullable=False),
        sa.Column("ca_certificate", sa.Text(), nullable=True),
        sa.Column("is_local", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tokens",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("username", sa.String(length=128), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("digest"),
    )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tokens_expires_at"), ["expires_at"], unique=False)

    op.create_table(
        "endpoints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("container_id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("mac", sa.String(length=17), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["container_id"], ["containers.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["networks.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_endpoints_container_id"), ["container_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_endpoints_network_id"), ["network_id"], unique=False)
        batch_op.create_index(
            "uq_active_address",
            ["network_id", "address"],
            unique=True,
            sqlite_where=sa.text("active = 1"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "ns_instances",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("nsd_id", sa.String(length=36), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["nsd_id"],
            ["ns_descriptors.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "ns_networks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ns_id", sa.String(length=36), nullable=False),
        sa.Column("virtual_link", sa.String(length=128), nullable=False),
        sa.Column("pop_name", sa.String(length=64), nullable=False),
        sa.Column("network_name", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(["ns_id"], ["ns_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ns_networks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ns_networks_ns_id"), ["ns_id"], unique=False)

    op.create_table(
        "vnf_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("ns_id", sa.String(length=36), nullable=False),
        sa.Column("vnf_name", sa.String(length=128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("pop_name", sa.String(length=64), nullable=False),
        sa.Column("desired_instances", sa.Integer(), nullable=False),
        sa.Column("last_scaled_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["ns_id"], ["ns_instances.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vnf_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vnf_records_ns_id"), ["ns_id"], unique=False)

    op.create_table(
        "vnfc_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("vnf_id", sa.String(length=36), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("pop_name", sa.String(length=64), nullable=False),
        sa.Column("container_name", sa.String(length=128), nullable=False),
        sa.Column("container_id", sa.String(length=64), nullable=True),
        sa.Column("engine_id", sa.String(length=128), nullable=True),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("md", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("heals", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["vnf_id"], ["vnf_records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("vnfc_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vnfc_records_vnf_id"), ["vnf_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vnfc_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vnfc_records_vnf_id"))

    op.drop_table("vnfc_records")
    with op.batch_alter_table("vnf_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vnf_records_ns_id"))

    op.drop_table("vnf_records")
    with op.batch_alter_table("ns_networks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ns_networks_ns_id"))

    op.drop_table("ns_networks")
    op.drop_table("ns_instances")
    with op.batch_alter_table("endpoints", schema=None) as batch_op:
        batch_op.drop_index("uq_active_address", sqlite_where=sa.text("active = 1"), postgresql_where=sa.text("active"))
        batch_op.drop_index(batch_op.f("ix_endpoints_network_id"))
        batch_op.drop_index(batch_op.f("ix_endpoints_container_id"))

    op.drop_table("endpoints")
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tokens_expires_at"))

    op.drop_table("tokens")
    op.drop_table("pops")
    with op.batch_alter_table("ns_lcm_op_occs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ns_lcm_op_occs_ns_id"))

    op.drop_table("ns_lcm_op_occs")
    op.drop_table("ns_descriptors")
    op.drop_table("networks")
    with op.batch_alter_table("containers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_containers_state"))
        batch_op.drop_index(batch_op.f("ix_containers_engine_id"))

    op.drop_table("containers")
