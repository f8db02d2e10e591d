"""The record of a new container: its name, its addresses on each network, its MAC.

Nothing is made on the engine here (CREATED is a record only); Start makes it.
"""

from __future__ import annotations

import logging
import re
import uuid

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from popvim.clock import utcnow
from popvim.store.models import ContainerRow, EndpointRow, NetworkRow
from popvim.vim.containers.parts import Parts
from popvim.vim.containers.views import view
from popvim.vim.errors import AlreadyExists, InvalidArgument
from popvim.vim.models import Container, ContainerConfig
from popvim.vim.shaping import check_links, endpoint_limits
from popvim.vim.states import ContainerState

log = logging.getLogger("popvim.vim.containers")
_ATTEMPTS = 3


def generated_name(image: str) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]", "-", image.split("@")[0].rsplit("/", 1)[-1].split(":")[0]).strip("-.") or "c"
    return f"{base[:40]}-{uuid.uuid4().hex[:8]}"


def create_record(parts: Parts, config: ContainerConfig) -> Container:
    parts.settings.policy.check_container(config)
    check_links(parts.engine, config)
    flavour = parts.flavours.get(config.flavour)
    image = parts.images.resolve(config.image)
    # A foreign engine container holding the same name is found at start (FAILED,
    # with the engine's message); checking here would cost every create an engine call.
    name = config.name or generated_name(config.image)
    requested: dict[str | None, str | None] = {None: None}
    if config.endpoints:
        requested = {net: ip for net, ip in config.endpoints.items()}
    for _attempt in range(_ATTEMPTS):
        try:
            result = _insert(parts, config, name, flavour.id, image.id, requested)
            break
        except IntegrityError as exc:
            # The IPAM lock serialises this process's creates, so only another writer of
            # the same database can take the name or an address between check and
            # commit: look again, which answers AlreadyExists if it is really taken.
            log.warning("create of %r raced another writer (%s); retrying", name, exc.orig)
    else:
        raise AlreadyExists(f"container {name!r} or one of its addresses was taken concurrently; try again")
    parts.bus.publish("container.state", result.id, name=name, previous="", state="CREATED", status="created")
    return result


def _insert(
    parts: Parts,
    config: ContainerConfig,
    name: str,
    flavour_id: str,
    image_id: str,
    requested: dict[str | None, str | None],
) -> Container:
    networks = parts.networks
    with networks.ipam_lock, parts.store.session() as session:
        if session.scalar(select(ContainerRow.id).where(ContainerRow.name == name)):
            raise AlreadyExists(f"container name {name!r} is taken")
        row = ContainerRow(
            id=str(uuid.uuid4()),
            name=name,
            image=config.image,
            image_id=image_id,
            flavour=flavour_id,
            command=config.command,
            env=config.env,
            md=config.metadata,
            labels=config.labels,
            ports=config.ports,
            volumes=config.volumes,
            cpus=config.cpus,
            memory=config.memory,
            mac_address=config.mac_address,
            privileged=config.privileged is True,
            privileged_mode="host" if config.privileged == "host" else None,
            cap_add=config.cap_add,
            restart_policy=config.restart_policy,
            state=ContainerState.CREATED.value,
            extended_status="created",
            created_at=utcnow(),
        )
        seen: set[str] = set()
        for position, (net_ref, ip) in enumerate(requested.items()):
            net = networks.default_row(session) if net_ref is None else networks.row(session, net_ref)
            if net.id in seen:
                raise InvalidArgument(f"network {net.name!r} is named twice in endpoints")
            seen.add(net.id)
            address = networks.allocate(session, net, ip, holder=name)  # a port given to it (vim/ports.py)
            if position == 0 and config.mac_address:
                _check_mac_free(session, net, config.mac_address)
            row.endpoints.append(
                EndpointRow(
                    network_id=net.id,
                    network=net,
                    position=position,
                    address=address,
                    mac=config.mac_address if position == 0 else None,
                    **endpoint_limits(config, net_ref, net),
                )
            )
        session.add(row)
        session.flush()
        return view(row)


def _check_mac_free(session: Session, net: NetworkRow, mac: str) -> None:
    """Two interfaces with one MAC on one network break both; call under the IPAM lock."""
    holder = session.scalar(
        select(ContainerRow.name)
        .join(EndpointRow)
        .where(
            EndpointRow.network_id == net.id,
            EndpointRow.active.is_(True),
            func.lower(EndpointRow.mac) == mac.lower(),
        )
    )
    if holder:
        raise AlreadyExists(f"MAC address {mac} is used on network {net.name!r} by container {holder!r}")
