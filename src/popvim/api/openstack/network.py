"""Neutron v2.0 (a subset) under /network/v2.0: networks and their one subnet from popvim's
IPAM, and ports, which are reserved addresses (vim/ports.py) that a server then takes.

A Neutron network is made before its subnet; until the subnet exists it is a draft
(vim/drafts.py) and holds no engine network. A popvim network has exactly one IPv4 subnet.
"""

from __future__ import annotations

import ipaddress
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from popvim.api.openstack import mapping
from popvim.api.openstack.common import AUTHORIZED, VimDep, body_object, link
from popvim.api.openstack.errors import OpenStackError, bad_request, conflict, network_shape, not_found, route_class
from popvim.vim.drafts import NetworkDraft
from popvim.vim.errors import NotFound
from popvim.vim.models import ContainerState, Network, NetworkConfig
from popvim.vim.ports import Port
from popvim.vim.service import Vim

PREFIX = "/network"
router = APIRouter(prefix=PREFIX, tags=["openstack: network"], route_class=route_class(network_shape))
DISCOVERY = frozenset({PREFIX, f"{PREFIX}/"})
SUBNET_NAME = "openstack.subnet_name"  # a network label: the name its Neutron subnet was given


def _version(request: Request) -> dict[str, Any]:
    return {"id": "v2.0", "status": "CURRENT", "links": [link(f"{mapping.root(request)}{PREFIX}/v2.0/")]}


@router.get("", include_in_schema=False)
@router.get("/")
def versions(request: Request) -> dict[str, Any]:
    return {"versions": [_version(request)]}


@router.get("/v2.0", dependencies=AUTHORIZED, include_in_schema=False)
@router.get("/v2.0/", dependencies=AUTHORIZED)
def resources(request: Request) -> dict[str, Any]:
    base = f"{mapping.root(request)}{PREFIX}/v2.0"
    return {
        "resources": [
            {"name": name, "collection": f"{name}s", "links": [link(f"{base}/{name}s")]}
            for name in ("network", "subnet", "port")
        ]
    }


def _common(vim: Vim, created: Any) -> dict[str, Any]:
    project = mapping.project(vim.settings.pop_name)["id"]
    moment = mapping.timestamp(created)
    return {
        "tenant_id": project,
        "project_id": project,
        "description": "",
        "tags": [],
        "created_at": moment,
        "updated_at": moment,
        "revision_number": 1,
    }


def _network_view(vim: Vim, network: Network | NetworkDraft) -> dict[str, Any]:
    real = network if isinstance(network, Network) else None
    return {
        "id": network.id,
        "name": network.name,
        "status": "ACTIVE",
        "admin_state_up": True,
        "subnets": [mapping.subnet_id(network.id)] if real else [],
        "shared": real.is_default if real else False,
        "router:external": False,
        "mtu": 1500,
        "port_security_enabled": False,
        "provider:network_type": real.driver if real else None,
        "provider:physical_network": real.parent if real else None,
        "provider:segmentation_id": None,
        "availability_zone_hints": [],
        "availability_zones": [],
        "ipv4_address_scope": None,
        "ipv6_address_scope": None,
        "is_default": real.is_default if real else False,
        "l2_adjacency": True,
        "qos_policy_id": None,
        "dns_domain": "",
        **_common(vim, network.created_at),
    }


def _pools(network: Network) -> list[dict[str, str]]:
    pool = ipaddress.IPv4Network(network.ip_range or network.subnet)
    hosts = [h for h in (pool.hosts() if pool.num_addresses > 2 else iter(pool)) if str(h) != network.gateway]
    return [{"start": str(hosts[0]), "end": str(hosts[-1])}] if hosts else []


def _subnet_view(vim: Vim, network: Network) -> dict[str, Any]:
    return {
        "id": mapping.subnet_id(network.id),
        "name": network.labels.get(SUBNET_NAME, network.name),
        "network_id": network.id,
        "ip_version": 4,
        "cidr": network.subnet,
        "gateway_ip": network.gateway,
        "allocation_pools": _pools(network),
        "enable_dhcp": True,  # popvim assigns every address itself, as DHCP would
        "dns_nameservers": [],
        "host_routes": [],
        "ipv6_ra_mode": None,
        "ipv6_address_mode": None,
        "subnetpool_id": None,
        "service_types": [],
        "segment_id": None,
        **_common(vim, network.created_at),
    }


def _port_dict(
    vim: Vim, port_id: str, name: str, network_id: str, mac: str, address: str, device: str | None, up: bool, made: Any
) -> dict[str, Any]:
    return {
        "id": port_id,
        "name": name,
        "network_id": network_id,
        "mac_address": mac,
        "admin_state_up": True,
        "status": "ACTIVE" if up else "DOWN",
        "device_id": device or "",
        "device_owner": "compute:nova" if device else "",
        "fixed_ips": [{"subnet_id": mapping.subnet_id(network_id), "ip_address": address}],
        "security_groups": [],
        "allowed_address_pairs": [],
        "extra_dhcp_opts": [],
        "binding:vnic_type": "normal",
        "binding:host_id": "",
        "binding:profile": {},
        "binding:vif_type": "unbound",
        "binding:vif_details": {},
        "port_security_enabled": False,
        "dns_name": "",
        "dns_assignment": [],
        "qos_policy_id": None,
        "propagate_uplink_status": False,
        **_common(vim, made),
    }


def _port_view(vim: Vim, port: Port, running: set[str]) -> dict[str, Any]:
    up = port.container_id in running
    return _port_dict(
        vim, port.id, port.name, port.network_id, port.mac, port.address, port.container_id, up, port.created_at
    )


def _all_ports(vim: Vim) -> list[dict[str, Any]]:
    """The reserved ports, and every other interface of a container as the port Nova would have
    made for it (read-only: it goes with its server), so that a MANO finds a server's
    interfaces by ``device_id`` as on OpenStack."""
    containers = vim.containers.list()
    running = {c.id for c in containers if c.state == ContainerState.RUNNING}
    reserved = vim.ports.list()
    views = [_port_view(vim, p, running) for p in reserved]
    taken = {(p.network_id, p.address) for p in reserved}
    for container in containers:
        for endpoint in container.endpoints.values():
            if endpoint.active and (endpoint.network_id, endpoint.address) not in taken:
                views.append(
                    _port_dict(
                        vim,
                        mapping.interface_id(container.id, endpoint.network_id),
                        "",
                        endpoint.network_id,
                        endpoint.mac or "",
                        endpoint.address,
                        container.id,
                        container.id in running,
                        container.created_at,
                    )
                )
    return views


def _filtered(request: Request, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Neutron's list filters: ``field=value`` on any top-level field (repeated: any of them),
    and ``fields`` to choose what each entry shows. Pagination and sorting are not offered."""
    params = request.query_params
    for key in {k for k in params if k not in ("fields", "limit", "marker", "sort_key", "sort_dir", "page_reverse")}:
        wanted = {w.lower() for w in params.getlist(key)}
        if key == "fixed_ips":  # fixed_ips=ip_address=10.0.0.3 or fixed_ips=subnet_id=...
            pairs = {tuple(w.split("=", 1)) for w in wanted if "=" in w}
            views = [
                v
                for v in views
                if any(
                    {(k, str(ip.get(k, "")).lower()) for k in ("ip_address", "subnet_id")} & pairs
                    for ip in v.get("fixed_ips", [])
                )
            ]
            continue
        views = [v for v in views if key in v and _text(v[key]) in wanted]
    fields = params.getlist("fields")
    if fields:
        views = [{k: v[k] for k in fields if k in v} for v in views]
    return views


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value).lower()


def _network_or_draft(vim: Vim, ref: str) -> Network | NetworkDraft:
    draft = vim.drafts.find(ref)
    if draft is not None:
        return draft
    try:
        return vim.networks.get(ref)
    except NotFound as exc:
        raise not_found(f"Network {ref} could not be found.") from exc


# --- networks -----------------------------------------------------------------
@router.get("/v2.0/networks", dependencies=AUTHORIZED)
def list_networks(request: Request, vim: VimDep) -> dict[str, Any]:
    found: list[Network | NetworkDraft] = [*vim.networks.list(), *vim.drafts.list()]
    return {"networks": _filtered(request, [_network_view(vim, n) for n in found])}


@router.get("/v2.0/networks/{ref}", dependencies=AUTHORIZED)
def get_network(ref: str, vim: VimDep) -> dict[str, Any]:
    return {"network": _network_view(vim, _network_or_draft(vim, ref))}


def _name(value: Any, kind: str) -> str:
    if value in (None, ""):
        return f"{kind}-{uuid.uuid4().hex[:8]}"  # popvim networks need a name; Neutron's are optional
    if not isinstance(value, str):
        raise bad_request(f"{kind} name must be a string")
    return value


@router.post("/v2.0/networks", status_code=201, dependencies=AUTHORIZED)
def create_network(vim: VimDep, body: Annotated[Any, Body()] = None) -> JSONResponse:
    spec = body_object(body, "network")
    try:
        draft = vim.drafts.create(_name(spec.get("name"), "net"))
    except ValidationError as exc:
        raise bad_request(f"Invalid input for name: {exc.errors()[0].get('msg')}") from exc
    return JSONResponse({"network": _network_view(vim, draft)}, status_code=201)


@router.put("/v2.0/networks/{ref}", dependencies=AUTHORIZED)
def update_network(ref: str, vim: VimDep, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    spec = body_object(body, "network")
    network = _network_or_draft(vim, ref)
    if "name" in spec and spec["name"] != network.name:
        if not isinstance(network, NetworkDraft):
            raise conflict("a network with a subnet cannot be renamed here (its engine network carries the name)")
        try:
            network = vim.drafts.rename(network.id, _name(spec["name"], "net"))
        except ValidationError as exc:
            raise bad_request(f"Invalid input for name: {exc.errors()[0].get('msg')}") from exc
    return {"network": _network_view(vim, network)}


@router.delete("/v2.0/networks/{ref}", status_code=204, dependencies=AUTHORIZED)
def delete_network(ref: str, vim: VimDep) -> Response:
    network = _network_or_draft(vim, ref)
    if isinstance(network, NetworkDraft):
        vim.drafts.delete(network.id)
    else:
        if vim.ports.list(network=network.id):
            raise conflict(f"Unable to complete operation on network {network.id}. There are one or more ports.")
        vim.networks.delete(network.id)
    return Response(status_code=204)


# --- subnets ------------------------------------------------------------------
def _real_networks(vim: Vim) -> list[Network]:
    return vim.networks.list()


@router.get("/v2.0/subnets", dependencies=AUTHORIZED)
def list_subnets(request: Request, vim: VimDep) -> dict[str, Any]:
    return {"subnets": _filtered(request, [_subnet_view(vim, n) for n in _real_networks(vim)])}


def _subnet_network(vim: Vim, ref: str) -> Network:
    for network in _real_networks(vim):
        if ref in (mapping.subnet_id(network.id), network.labels.get(SUBNET_NAME)):
            return network
    raise not_found(f"Subnet {ref} could not be found.")


@router.get("/v2.0/subnets/{ref}", dependencies=AUTHORIZED)
def get_subnet(ref: str, vim: VimDep) -> dict[str, Any]:
    return {"subnet": _subnet_view(vim, _subnet_network(vim, ref))}


def _ip_range(spec: dict[str, Any], cidr: str) -> str | None:
    pools = spec.get("allocation_pools")
    if not pools:
        return None
    if not isinstance(pools, list) or len(pools) != 1 or not isinstance(pools[0], dict):
        raise bad_request("a popvim subnet takes at most one allocation pool")
    try:
        start = ipaddress.IPv4Address(pools[0].get("start"))
        end = ipaddress.IPv4Address(pools[0].get("end"))
        blocks = list(ipaddress.summarize_address_range(start, end))
    except (ValueError, TypeError) as exc:
        raise bad_request(f"allocation pool {pools[0]!r} is not a range of IPv4 addresses") from exc
    if len(blocks) == 1:
        return str(blocks[0])
    # popvim assigns from a CIDR: the largest block inside the pool, said in the answer
    return str(max(blocks, key=lambda b: b.num_addresses))


@router.post("/v2.0/subnets", status_code=201, dependencies=AUTHORIZED)
def create_subnet(vim: VimDep, body: Annotated[Any, Body()] = None) -> JSONResponse:
    spec = body_object(body, "subnet")
    if spec.get("ip_version", 4) not in (4, "4"):
        raise bad_request("only IPv4 subnets are offered")
    network_ref = spec.get("network_id")
    if not isinstance(network_ref, str):
        raise bad_request("subnet.network_id is required")
    network = _network_or_draft(vim, network_ref)
    if isinstance(network, Network):
        raise conflict(f"network {network.id} has its subnet already (a popvim network has exactly one)")
    cidr = spec.get("cidr")
    if cidr is not None and not isinstance(cidr, str):
        raise bad_request("subnet.cidr must be a CIDR such as 10.0.0.0/24")
    labels = {SUBNET_NAME: spec["name"]} if isinstance(spec.get("name"), str) and spec["name"] else {}
    gateway = spec.get("gateway_ip")
    try:
        config = NetworkConfig.model_validate(
            {
                "name": network.name,
                "subnet": cidr,
                "gateway": gateway if isinstance(gateway, str) else None,
                "ip_range": _ip_range(spec, cidr or "") if cidr else None,
                "labels": labels,
            }
        )
    except ValidationError as exc:
        raise bad_request("Invalid input: " + "; ".join(str(p.get("msg")) for p in exc.errors())) from exc
    made = vim.drafts.realise(network.id, config)
    return JSONResponse({"subnet": _subnet_view(vim, made)}, status_code=201)


@router.delete("/v2.0/subnets/{ref}", status_code=204, dependencies=AUTHORIZED)
def delete_subnet(ref: str, vim: VimDep) -> Response:
    network = _subnet_network(vim, ref)
    if network.is_default:
        raise conflict("the default network's subnet cannot be deleted")
    if vim.ports.list(network=network.id):
        raise conflict(
            f"Unable to complete operation on subnet {ref}: one or more ports have an IP allocation from it."
        )
    vim.drafts.unrealise(network.id)
    return Response(status_code=204)


# --- ports --------------------------------------------------------------------
def _running(vim: Vim) -> set[str]:
    return {c.id for c in vim.containers.list(state=ContainerState.RUNNING)}


@router.get("/v2.0/ports", dependencies=AUTHORIZED)
def list_ports(request: Request, vim: VimDep) -> dict[str, Any]:
    return {"ports": _filtered(request, _all_ports(vim))}


def _port(vim: Vim, ref: str) -> Port:
    """A reserved port; 409 for a server's own interface, 404 for anything else."""
    try:
        return vim.ports.get(ref)
    except NotFound as exc:
        if any(view["id"] == ref for view in _all_ports(vim)):
            raise conflict(f"Port {ref} is an interface of a server and goes with it; delete the server") from exc
        raise not_found(f"Port {ref} could not be found.") from exc


@router.get("/v2.0/ports/{ref}", dependencies=AUTHORIZED)
def get_port(ref: str, vim: VimDep) -> dict[str, Any]:
    found = next((view for view in _all_ports(vim) if view["id"] == ref), None)
    if found is None:
        raise not_found(f"Port {ref} could not be found.")
    return {"port": found}


@router.post("/v2.0/ports", status_code=201, dependencies=AUTHORIZED)
def create_port(vim: VimDep, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """A port reserves its fixed IP (or the next free address) on the network's subnet."""
    spec = body_object(body, "port")
    network_ref = spec.get("network_id")
    if not isinstance(network_ref, str):
        raise bad_request("port.network_id is required")
    network = _network_or_draft(vim, network_ref)
    if isinstance(network, NetworkDraft):
        raise bad_request(f"network {network.id} has no subnet; create one first")
    fixed = spec.get("fixed_ips") or []
    if not isinstance(fixed, list) or len(fixed) > 1 or not all(isinstance(f, dict) for f in fixed):
        raise bad_request("a popvim port has at most one fixed IP")
    address = None
    if fixed:
        subnet = fixed[0].get("subnet_id")
        if subnet is not None and subnet != mapping.subnet_id(network.id):
            raise bad_request(f"subnet {subnet} is not the subnet of network {network.id}")
        address = fixed[0].get("ip_address")
        if address is not None:
            try:
                ipaddress.IPv4Address(address)
            except ValueError as exc:
                raise bad_request(f"Invalid input for fixed_ips: {address!r} is not an IPv4 address") from exc
    mac = spec.get("mac_address")
    if mac is not None:
        import re

        from popvim.vim.models import MAC_PATTERN

        if not isinstance(mac, str) or not re.fullmatch(MAC_PATTERN.strip("^$"), mac):
            raise bad_request(f"Invalid input for mac_address: {mac!r}")
    name = spec.get("name") or ""
    if not isinstance(name, str):
        raise bad_request("port name must be a string")
    port = vim.ports.create(network.id, address, name=name, mac=mac)
    return JSONResponse({"port": _port_view(vim, port, set())}, status_code=201)


@router.put("/v2.0/ports/{ref}", dependencies=AUTHORIZED)
def update_port(ref: str, vim: VimDep, body: Annotated[Any, Body()] = None) -> dict[str, Any]:
    spec = body_object(body, "port")
    port = _port(vim, ref)
    changes = set(spec) - {"name", "description", "admin_state_up"}
    if changes:
        raise bad_request(f"only a port's name changes here, not {', '.join(sorted(changes))}")
    if isinstance(spec.get("name"), str):
        port = vim.ports.rename(port.id, spec["name"])
    return {"port": _port_view(vim, port, _running(vim))}


@router.delete("/v2.0/ports/{ref}", status_code=204, dependencies=AUTHORIZED)
def delete_port(ref: str, vim: VimDep) -> Response:
    vim.ports.delete(_port(vim, ref).id)
    return Response(status_code=204)


@router.get("/v2.0/extensions", dependencies=AUTHORIZED)
def extensions() -> dict[str, Any]:
    return {"extensions": []}


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], include_in_schema=False)
async def unknown(rest: str) -> JSONResponse:
    raise OpenStackError(
        404, f"The resource could not be found: /{rest} (the network API here is a Neutron v2.0 subset)"
    )
