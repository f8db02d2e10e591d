"""Tables of everything popvim must not forget across a crash.

The rows hold the desired state (what users asked for) plus the last state
observed on the engine; reconciliation compares the two after a restart.
An address is taken exactly while its endpoint row is ``active``: the partial
unique index makes the database itself refuse a second holder, whatever the
process does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[Any]: JSON}


class NetworkRow(Base):
    __tablename__ = "networks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    driver: Mapped[str] = mapped_column(String(32))
    subnet: Mapped[str] = mapped_column(String(64))
    ip_range: Mapped[str | None] = mapped_column(String(64))
    gateway: Mapped[str] = mapped_column(String(64))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    bridge_name: Mapped[str | None] = mapped_column(String(15))
    parent: Mapped[str | None] = mapped_column(String(64))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    bandwidth: Mapped[str | None] = mapped_column(String(32))
    delay: Mapped[str | None] = mapped_column(String(16))  # link limits (vim.shaping); 0005
    loss: Mapped[str | None] = mapped_column(String(16))
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)
    engine_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    # Given at creation (an orchestrator marks what it made); nullable: added after the first release.
    labels: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)


class ContainerRow(Base):
    __tablename__ = "containers"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    image: Mapped[str] = mapped_column(String(512))
    image_id: Mapped[str] = mapped_column(String(128))
    flavour: Mapped[str] = mapped_column(String(64))
    command: Mapped[list[Any] | None] = mapped_column(JSON)
    env: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    md: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    labels: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ports: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    volumes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    cpus: Mapped[float | None] = mapped_column(Float)
    memory: Mapped[int | None] = mapped_column(Integer)
    mac_address: Mapped[str | None] = mapped_column(String(17))
    privileged: Mapped[bool] = mapped_column(Boolean, default=False)
    privileged_mode: Mapped[str | None] = mapped_column(String(8))  # "host": an emulated host (engine.hostmode); 0005
    cap_add: Mapped[list[Any]] = mapped_column(JSON, default=list)
    restart_policy: Mapped[str | None] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    extended_status: Mapped[str] = mapped_column(Text, default="")
    # The node a cluster engine (Swarm) placed it on, as the engine last said; 0007.
    node: Mapped[str | None] = mapped_column(String(255))
    exit_code: Mapped[int | None] = mapped_column(Integer)
    engine_id: Mapped[str | None] = mapped_column(String(128), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)

    endpoints: Mapped[list[EndpointRow]] = relationship(
        back_populates="container", cascade="all, delete-orphan", lazy="selectin", order_by="EndpointRow.position"
    )


class EndpointRow(Base):
    __tablename__ = "endpoints"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    container_id: Mapped[str] = mapped_column(ForeignKey("containers.id", ondelete="CASCADE"), index=True)
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(17))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # This endpoint's own link limits, over its network's (vim.shaping); 0005.
    bandwidth: Mapped[str | None] = mapped_column(String(32))
    delay: Mapped[str | None] = mapped_column(String(16))
    loss: Mapped[str | None] = mapped_column(String(16))

    container: Mapped[ContainerRow] = relationship(back_populates="endpoints")
    network: Mapped[NetworkRow] = relationship(lazy="joined")

    __table_args__ = (
        Index(
            "uq_active_address",
            "network_id",
            "address",
            unique=True,
            sqlite_where=text("active = 1"),
            postgresql_where=text("active"),
        ),
    )


class TokenRow(Base):
    """A session token, stored as its SHA-256 only: a database leak yields no usable token."""

    __tablename__ = "tokens"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class PortRow(Base):
    """An address reserved on a network before any container uses it (a Neutron port).

    While the row exists the address is taken for everyone but ``holder``, the name of the
    container the port was given to; the reservation outlives that container.
    """

    __tablename__ = "ports"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), default="")
    network_id: Mapped[str] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    address: Mapped[str] = mapped_column(String(64))
    mac: Mapped[str] = mapped_column(String(17))
    holder: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime)

    __table_args__ = (Index("uq_port_address", "network_id", "address", unique=True),)


class NetworkDraftRow(Base):
    """A network named but not made yet: Neutron creates a network first and its subnet
    after, while a popvim network needs its subnet at once. The subnet makes it real,
    with this row's id."""

    __tablename__ = "network_drafts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
