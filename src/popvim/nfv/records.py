"""What the NS lifecycle API shows, shaped after ETSI SOL005 so MANO users recognise it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from popvim.nfv.descriptors.model import NetworkServiceDescriptor
from popvim.store.nfv_models import NsdRow, NsInstanceRow, OpOccRow


class _Camel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, serialize_by_alias=True)


class NsDescriptor(_Camel):
    id: str
    name: str
    vendor: str
    version: str
    format: str
    vnfs: list[str]
    virtual_links: list[str]
    created_at: datetime


class VnfcRecord(_Camel):
    id: str
    name: str
    index: int
    pop_name: str
    container_id: str | None = Field(description="the engine's container id")
    pop_container_id: str | None = Field(description="the container's id in the Pop protocol")
    addresses: dict[str, str] = Field(description="virtual link -> address")
    metadata: dict[str, str]
    state: str
    heals: int


class VnfRecord(_Camel):
    id: str
    vnf_name: str
    pop_name: str
    instances: int
    min_instances: int
    max_instances: int
    vnfcs: list[VnfcRecord]


class NsInstance(_Camel):
    id: str
    ns_instance_name: str
    nsd_id: str
    ns_state: str
    vnf_instances: list[VnfRecord]
    virtual_links: dict[str, dict[str, str]] = Field(description="virtual link -> PoP -> network name")
    created_at: datetime


class OpOcc(_Camel):
    id: str
    ns_instance_id: str
    lcm_operation_type: str
    operation_state: str
    operation_params: dict[str, Any]
    error: str | None
    is_automatic_invocation: bool
    start_time: datetime
    state_entered_time: datetime | None


def nsd_view(row: NsdRow, nsd: NetworkServiceDescriptor) -> NsDescriptor:
    return NsDescriptor(
        id=row.id,
        name=row.name,
        vendor=row.vendor,
        version=row.version,
        format=row.format,
        vnfs=[v.name for v in nsd.vnfs],
        virtual_links=[v.name for v in nsd.virtual_links],
        created_at=row.created_at,
    )


def instance_view(row: NsInstanceRow, nsd: NetworkServiceDescriptor | None) -> NsInstance:
    links: dict[str, dict[str, str]] = {}
    for net in row.networks:
        links.setdefault(net.virtual_link, {})[net.pop_name] = net.network_name
    vnfs = []
    for vnf in row.vnfs:
        bounds = nsd.vnf(vnf.vnf_name) if nsd else None
        vnfs.append(
            VnfRecord(
                id=vnf.id,
                vnf_name=vnf.vnf_name,
                pop_name=vnf.pop_name,
                instances=len(vnf.vnfcs),
                min_instances=bounds.min_instances if bounds else 0,
                max_instances=bounds.max_instances if bounds else 0,
                vnfcs=[
                    VnfcRecord(
                        id=c.id,
                        name=c.container_name,
                        index=c.index,
                        pop_name=c.pop_name,
                        container_id=c.engine_id,
                        pop_container_id=c.pop_container_id,
                        addresses=c.addresses or {},
                        metadata=c.md or {},
                        state=c.state,
                        heals=c.heals,
                    )
                    for c in vnf.vnfcs
                ],
            )
        )
    return NsInstance(
        id=row.id,
        ns_instance_name=row.name,
        nsd_id=row.nsd_id,
        ns_state=row.state,
        vnf_instances=vnfs,
        virtual_links=links,
        created_at=row.created_at,
    )


def op_view(row: OpOccRow) -> OpOcc:
    return OpOcc(
        id=row.id,
        ns_instance_id=row.ns_id,
        lcm_operation_type=row.operation,
        operation_state=row.state,
        operation_params=row.params or {},
        error=row.error,
        is_automatic_invocation=row.automatic,
        start_time=row.started_at,
        state_entered_time=row.finished_at or row.started_at,
    )
