"""Tables of the orchestrator: PoPs, descriptors, service instances and their records.

The records are the desired state (which VNFCs each VNF has, on which PoP, with
which addresses); the controllers compare them with what the PoPs report, so they
act after a restart exactly as before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from popvim.store.models import Base


class PopRow(Base):
    """A registered PoP. The password is what the orchestrator logs in with:
    it must be usable, so it is kept, encrypted with the install's key
    (popvim.store.secrets; never returned by the API, never logged)."""

    __tablename__ = "pops"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    address: Mapped[str] = mapped_column(String(256))
    username: Mapped[str] = mapped_column(String(128))
    password: Mapped[str] = mapped_column(String(1024))
    site: Mapped[str] = mapped_column(String(128), default="")
    # The address other sites reach this PoP's published ports at; None: the host of ``address``.
    advertise: Mapped[str | None] = mapped_column(String(256))
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    ca_certificate: Mapped[str | None] = mapped_column(Text)
    is_local: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class NsdRow(Base):
    __tablename__ = "ns_descriptors"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    vendor: Mapped[str] = mapped_column(String(256), default="")
    version: Mapped[str] = mapped_column(String(64), default="")
    format: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(Text)  # the descriptor as onboarded, re-read on use
    created_at: Mapped[datetime] = mapped_column(DateTime)


class NsInstanceRow(Base):
    __tablename__ = "ns_instances"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    nsd_id: Mapped[str] = mapped_column(ForeignKey("ns_descriptors.id"))
    state: Mapped[str] = mapped_column(String(32))  # NOT_INSTANTIATED, INSTANTIATED
    created_at: Mapped[datetime] = mapped_column(DateTime)

    vnfs: Mapped[list[VnfRecordRow]] = relationship(
        back_populates="ns", cascade="all, delete-orphan", lazy="selectin", order_by="VnfRecordRow.position"
    )
    networks: Mapped[list[NsNetworkRow]] = relationship(
        back_populates="ns", cascade="all, delete-orphan", lazy="selectin"
    )


class VnfRecordRow(Base):
    __tablename__ = "vnf_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ns_id: Mapped[str] = mapped_column(ForeignKey("ns_instances.id", ondelete="CASCADE"), index=True)
    vnf_name: Mapped[str] = mapped_column(String(128))
    position: Mapped[int] = mapped_column(Integer, default=0)
    pop_name: Mapped[str] = mapped_column(String(64))
    last_scaled_at: Mapped[datetime | None] = mapped_column(DateTime)

    ns: Mapped[NsInstanceRow] = relationship(back_populates="vnfs")
    vnfcs: Mapped[list[VnfcRecordRow]] = relationship(
        back_populates="vnf", cascade="all, delete-orphan", lazy="selectin", order_by="VnfcRecordRow.index"
    )


class VnfcRecordRow(Base):
    __tablename__ = "vnfc_records"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    vnf_id: Mapped[str] = mapped_column(ForeignKey("vnf_records.id", ondelete="CASCADE"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    pop_name: Mapped[str] = mapped_column(String(64))
    container_name: Mapped[str] = mapped_column(String(128))
    pop_container_id: Mapped[str | None] = mapped_column(String(64))  # the id the Pop protocol gave it
    engine_id: Mapped[str | None] = mapped_column(String(128))  # the engine's (Docker's) id
    addresses: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # virtual link -> address
    md: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16))  # the container's, as last seen
    heals: Mapped[int] = mapped_column(Integer, default=0)

    vnf: Mapped[VnfRecordRow] = relationship(back_populates="vnfcs")


class NsNetworkRow(Base):
    """A network an instance made for one of its virtual links on one PoP."""

    __tablename__ = "ns_networks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ns_id: Mapped[str] = mapped_column(ForeignKey("ns_instances.id", ondelete="CASCADE"), index=True)
    virtual_link: Mapped[str] = mapped_column(String(128))
    pop_name: Mapped[str] = mapped_column(String(64))
    network_name: Mapped[str] = mapped_column(String(128))

    ns: Mapped[NsInstanceRow] = relationship(back_populates="networks")


class OpOccRow(Base):
    """One lifecycle operation (SOL005 ns_lcm_op_occs): PROCESSING, then COMPLETED or FAILED."""

    __tablename__ = "ns_lcm_op_occs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    ns_id: Mapped[str] = mapped_column(String(36), index=True)
    operation: Mapped[str] = mapped_column(String(32))  # INSTANTIATE, SCALE, HEAL, TERMINATE
    state: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)  # started by a controller
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)


class LoadTestRow(Base):
    """The report of one load test of an instance (nfv/loadtest.py); the last few are kept per
    instance, so the dashboard shows them after a restart as before it."""

    __tablename__ = "ns_loadtests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ns_id: Mapped[str] = mapped_column(String(36), index=True)  # like ns_lcm_op_occs: deleted with the instance
    target: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    request: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # rate, duration, workers, path, port
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # LoadReport.as_dict()
