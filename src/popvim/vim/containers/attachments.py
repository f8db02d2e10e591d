"""Network attachment of a container: connect, disconnect, and re-attach after a crash."""

from __future__ import annotations

import ipaddress
import logging

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from popvim.engine.driver import EngineContainer
from popvim.engine.errors import EngineError, EngineNotFound
from popvim.store.models import ContainerRow, EndpointRow
from popvim.vim.containers import links
from popvim.vim.containers.locks import get_row
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.state import check_connectable
from popvim.vim.containers.views import view
from popvim.vim.engine_errors import engine_call
from popvim.vim.errors import AlreadyExists, EngineFailure, InvalidArgument, NotFound, VimError
from popvim.vim.models import Container
from popvim.vim.states import ContainerState

log = logging.getLogger("popvim.vim.containers")


def connect(parts: Parts, ref: str, network_ref: str, ip: str | None = None) -> str:
    """Attaches the container to a network (at once on the engine when it runs); its id."""
    if ip:
        try:
            ipaddress.IPv4Address(ip)
        except ValueError as exc:
            raise InvalidArgument(f"{ip!r} is not an IPv4 address") from exc
    networks = parts.networks
    with parts.locks.locked(ref) as container_id:
        # The address is recorded (and the IPAM lock released) before the engine is
        # asked, so a slow engine never holds up every other create on the PoP.
        with networks.ipam_lock, parts.store.session() as session:
            row = get_row(session, container_id)
            check_connectable(row)
            net = networks.row(session, network_ref)
            if any(e.network_id == net.id for e in row.endpoints):
                raise AlreadyExists(f"container {row.name!r} is already on network {net.name!r}")
            address = networks.allocate(session, net, ip)
            endpoint = EndpointRow(network_id=net.id, network=net, position=len(row.endpoints), address=address)
            row.endpoints.append(endpoint)
            try:
                session.flush()
            except IntegrityError as exc:  # another writer of the database took it meanwhile
                raise AlreadyExists(
                    f"address {address} on network {net.name!r} was taken concurrently; try again"
                ) from exc
            endpoint_id, name, net_name = endpoint.id, row.name, net.name
            engine_id = row.engine_id if row.state == ContainerState.RUNNING.value else None
            engine_network = networks.engine_name(net.name)
        if engine_id is not None:
            try:
                engine_call(lambda: parts.engine.connect(engine_network, engine_id, address))
                links.shape_new_endpoint(parts, endpoint_id, engine_id)
            except VimError:
                with parts.store.session() as session:
                    session.execute(delete(EndpointRow).where(EndpointRow.id == endpoint_id))
                raise
    parts.bus.publish("container.connected", container_id, name=name, network=net_name, address=address)
    return container_id


def disconnect(parts: Parts, ref: str, network_ref: str) -> Container:
    with parts.locks.locked_row(ref) as (session, row):
        net = parts.networks.row(session, network_ref)
        endpoint = next((e for e in row.endpoints if e.network_id == net.id), None)
        if endpoint is None:
            raise NotFound(f"container {row.name!r} is not on network {net.name!r}")
        if row.state == ContainerState.RUNNING.value and row.engine_id and net.engine_id:
            links.clear_endpoint(parts, row.engine_id, endpoint)
            try:
                parts.engine.disconnect(net.engine_id, row.engine_id)
            except EngineNotFound:
                pass  # the engine has already lost one of the two: detached either way
            except EngineError as exc:
                raise EngineFailure(exc.message) from exc
        row.endpoints.remove(endpoint)
        session.flush()
        parts.bus.publish("container.disconnected", row.id, name=row.name, network=net.name)
        return view(row)


def reattach(parts: Parts, row: ContainerRow, found: EngineContainer) -> None:
    """Attach the engine container to recorded networks it is missing (a crash cut a connect short)."""
    for endpoint in row.endpoints:
        engine_network = parts.networks.engine_name(endpoint.network.name)
        if endpoint.active and engine_network not in found.networks:
            try:
                parts.engine.connect(engine_network, found.id, endpoint.address)
                log.warning("re-attached %s to network %s", row.name, endpoint.network.name)
            except EngineError as exc:
                log.error("cannot re-attach %s to %s: %s", row.name, endpoint.network.name, exc.message)
