"""Nova v2.1 (a subset) under /compute/v2.1: servers are popvim containers, flavors its flavours.

A server is created and started in the one request (Nova builds asynchronously; popvim's
start is quick), so the answer already says ACTIVE, or ERROR with the engine's message as
the fault. Only microversion 2.1 is offered: clients negotiate down to it.

``os-stop`` keeps the server's addresses while it is SHUTOFF (as Nova does), ``os-start``
runs it again with them, and ``reboot`` (SOFT: stopped then started; HARD: killed then
started, also of a SHUTOFF or ERROR server) ends ACTIVE with the same addresses; the Pop
protocol itself never runs a container twice (seed 001). ``user_data`` is accepted and
ignored (containers have no cloud-init), as are ``key_name``, ``security_groups`` and
``availability_zone``.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from popvim.api.openstack import mapping
from popvim.api.openstack.common import AUTHORIZED, VimDep, body_object, link
from popvim.api.openstack.errors import OpenStackError, bad_request, compute_shape, conflict, not_found, route_class
from popvim.api.openstack.image import find_image
from popvim.vim.containers.state import REBOOTING, REBOOTING_HARD
from popvim.vim.errors import NotFound, VimError
from popvim.vim.models import Container, ContainerConfig, ContainerState, Flavour
from popvim.vim.service import Vim

PREFIX = "/compute"
VERSION = "2.1"
router = APIRouter(prefix=PREFIX, tags=["openstack: compute"], route_class=route_class(compute_shape))
DISCOVERY = frozenset({PREFIX, f"{PREFIX}/", f"{PREFIX}/v2.1", f"{PREFIX}/v2.1/"})
MICROVERSION_HEADERS = {
    "OpenStack-API-Version": f"compute {VERSION}",
    "X-OpenStack-Nova-API-Version": VERSION,
    "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version",
}

# Pop state -> (Nova status, vm_state, task_state, power_state)
_STATUS: dict[ContainerState, tuple[str, str, str | None, int]] = {
    ContainerState.CREATED: ("BUILD", "building", "spawning", 0),
    ContainerState.RUNNING: ("ACTIVE", "active", None, 1),
    ContainerState.STOPPING: ("ACTIVE", "active", "powering-off", 1),
    ContainerState.EXITED: ("SHUTOFF", "stopped", None, 4),
    ContainerState.FAILED: ("ERROR", "error", None, 0),
    ContainerState.UNAVAILABLE: ("UNKNOWN", "error", None, 0),
}


def _version(request: Request) -> dict[str, Any]:
    return {
        "id": "v2.1",
        "status": "CURRENT",
        "version": VERSION,
        "min_version": VERSION,
        "updated": "2013-07-23T11:33:21Z",
        "links": [link(f"{mapping.root(request)}{PREFIX}/v2.1/")],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}],
    }


def _json(content: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(content, status_code=status, headers=MICROVERSION_HEADERS)


@router.get("", include_in_schema=False)
@router.get("/")
def versions(request: Request) -> JSONResponse:
    return _json({"versions": [_version(request)]})


@router.get("/v2.1", include_in_schema=False)
@router.get("/v2.1/")
def version(request: Request) -> JSONResponse:
    return _json({"version": _version(request)})


def _base(request: Request) -> str:
    return f"{mapping.root(request)}{PREFIX}/v2.1"


def _links(request: Request, kind: str, ref: str) -> list[dict[str, str]]:
    return [link(f"{_base(request)}/{kind}/{ref}"), link(f"{mapping.root(request)}{PREFIX}/{kind}/{ref}", "bookmark")]


# --- flavors ------------------------------------------------------------------
def _flavor(request: Request, flavour: Flavour, detail: bool = True) -> dict[str, Any]:
    view: dict[str, Any] = {"id": flavour.id, "name": flavour.name, "links": _links(request, "flavors", flavour.id)}
    if detail:
        view.update(
            vcpus=math.ceil(flavour.cpus) if flavour.cpus else 0,  # 0: no CPU limit
            ram=flavour.memory // 1024**2 if flavour.memory else 0,  # MiB; 0: no memory limit
            disk=0,
            swap="",
            rxtx_factor=1.0,
            **{
                "OS-FLV-EXT-DATA:ephemeral": 0,
                "OS-FLV-DISABLED:disabled": False,
                "os-flavor-access:is_public": True,
            },
        )
    return view


@router.get("/v2.1/flavors", dependencies=AUTHORIZED)
def list_flavors(request: Request, vim: VimDep) -> JSONResponse:
    return _json({"flavors": [_flavor(request, f, detail=False) for f in vim.flavours.list()]})


@router.get("/v2.1/flavors/detail", dependencies=AUTHORIZED)
def list_flavors_detail(request: Request, vim: VimDep) -> JSONResponse:
    return _json({"flavors": [_flavor(request, f) for f in vim.flavours.list()]})


@router.get("/v2.1/flavors/{ref}", dependencies=AUTHORIZED)
def get_flavor(ref: str, request: Request, vim: VimDep) -> JSONResponse:
    try:
        return _json({"flavor": _flavor(request, vim.flavours.get(ref))})
    except NotFound as exc:
        raise not_found(f"Flavor {ref} could not be found.") from exc


@router.get("/v2.1/flavors/{ref}/os-extra_specs", dependencies=AUTHORIZED)
def flavor_extra_specs(ref: str, vim: VimDep) -> JSONResponse:
    vim.flavours.get(ref)
    return _json({"extra_specs": {}})


# --- servers ------------------------------------------------------------------
def _addresses(container: Container) -> dict[str, list[dict[str, Any]]]:
    addresses: dict[str, list[dict[str, Any]]] = {}
    for name, endpoint in container.endpoints.items():
        if not endpoint.active:
            continue
        addresses.setdefault(name, []).append(
            {
                "version": 4,
                "addr": endpoint.address,
                "OS-EXT-IPS:type": "fixed",
                "OS-EXT-IPS-MAC:mac_addr": endpoint.mac or "",
            }
        )
    return addresses


# A reboot in progress (the container is RUNNING throughout): Nova's own statuses for it.
_REBOOTING = {REBOOTING: ("REBOOT", "rebooting"), REBOOTING_HARD: ("HARD_REBOOT", "rebooting_hard")}


def _status(container: Container) -> tuple[str, str, str | None, int]:
    status, vm_state, task_state, power = _STATUS[container.state]
    if container.state is ContainerState.RUNNING and container.extended_status in _REBOOTING:
        status, task_state = _REBOOTING[container.extended_status]
    return status, vm_state, task_state, power


def server_view(request: Request, vim: Vim, container: Container, images: dict[str, str]) -> dict[str, Any]:
    status, vm_state, task_state, power = _status(container)
    image = images.get(container.image_id, mapping.image_id(container.image_id))
    view: dict[str, Any] = {
        "id": container.id,
        "name": container.name,
        "status": status,
        "tenant_id": mapping.project(vim.settings.pop_name)["id"],
        "user_id": "",
        "metadata": container.metadata,
        "hostId": mapping.stable_id("host", vim.settings.pop_name),
        "image": {"id": image, "links": _links(request, "images", image)},
        "flavor": {"id": container.flavour, "links": _links(request, "flavors", container.flavour)},
        "created": mapping.timestamp(container.created_at),
        "updated": mapping.timestamp(container.finished_at or container.started_at or container.created_at),
        "addresses": _addresses(container),
        "accessIPv4": "",
        "accessIPv6": "",
        "links": _links(request, "servers", container.id),
        "key_name": None,
        "config_drive": "",
        "progress": 100 if status == "ACTIVE" else 0,
        "security_groups": [{"name": "default"}],
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": "nova",
        "OS-EXT-STS:vm_state": vm_state,
        "OS-EXT-STS:task_state": task_state,
        "OS-EXT-STS:power_state": power,
        "OS-SRV-USG:launched_at": mapping.timestamp(container.started_at, fraction=True),
        "OS-SRV-USG:terminated_at": mapping.timestamp(container.finished_at, fraction=True),
        "os-extended-volumes:volumes_attached": [],
    }
    if status == "ERROR":
        view["fault"] = {"code": 500, "message": container.extended_status, "created": view["updated"]}
    return view


def _image_ids(vim: Vim) -> dict[str, str]:
    """Docker image id -> the Glance id shown for it."""
    try:
        return {image.id: mapping.image_id(image.id) for image in vim.images.list()}
    except VimError:
        return {}


def _matches(container: Container, name: str | None, status: str | None) -> bool:
    if status and _status(container)[0] != status.upper():
        return False
    if name:
        try:
            return re.search(name, container.name) is not None  # Nova's name filter is a regular expression
        except re.error:
            return name in container.name
    return True


def _servers(vim: Vim, request: Request) -> list[Container]:
    name = request.query_params.get("name")
    status = request.query_params.get("status")
    return [c for c in vim.containers.list() if _matches(c, name, status)]


@router.get("/v2.1/servers", dependencies=AUTHORIZED)
def list_servers(request: Request, vim: VimDep) -> JSONResponse:
    found = _servers(vim, request)
    return _json({"servers": [{"id": c.id, "name": c.name, "links": _links(request, "servers", c.id)} for c in found]})


@router.get("/v2.1/servers/detail", dependencies=AUTHORIZED)
def list_servers_detail(request: Request, vim: VimDep) -> JSONResponse:
    images = _image_ids(vim)
    return _json({"servers": [server_view(request, vim, c, images) for c in _servers(vim, request)]})


def _server(vim: Vim, ref: str) -> Container:
    try:
        return vim.containers.get(ref)
    except NotFound as exc:
        raise not_found(f"Instance {ref} could not be found.") from exc


@router.get("/v2.1/servers/{ref}", dependencies=AUTHORIZED)
def get_server(ref: str, request: Request, vim: VimDep) -> JSONResponse:
    return _json({"server": server_view(request, vim, _server(vim, ref), _image_ids(vim))})


def _last_segment(ref: Any, what: str) -> str:
    """A reference or a link to one (Nova accepts both for imageRef and flavorRef)."""
    if not isinstance(ref, str) or not ref:
        raise bad_request(f"{what} is required")
    return ref.rstrip("/").rsplit("/", 1)[-1]


def _endpoints(vim: Vim, networks: Any, name: str) -> tuple[dict[str, str | None], list[str], str | None]:
    """ContainerConfig.endpoints for Nova's ``networks``, the ports to give the server, and the
    MAC of the first one (a port's MAC is the interface's)."""
    if networks in (None, "auto", "none"):  # every container is on a network: the default one
        return {}, [], None
    if not isinstance(networks, list):
        raise bad_request("networks must be a list, 'auto' or 'none'")
    endpoints: dict[str, str | None] = {}
    ports: list[str] = []
    mac = None
    for position, entry in enumerate(networks):
        if not isinstance(entry, dict):
            raise bad_request("each entry of networks must be an object with uuid or port")
        if entry.get("port"):
            port = vim.ports.get(str(entry["port"]))
            if port.container_id and port.holder != name:
                raise conflict(f"Port {port.id} is still in use.")
            endpoints[port.network_id] = port.address
            ports.append(port.id)
            if position == 0:
                mac = port.mac
        elif entry.get("uuid"):
            network = str(entry["uuid"])
            if vim.drafts.find(network):
                raise bad_request(f"Network {network} has no subnet; create one first.")
            try:
                found = vim.networks.get(network)
            except NotFound as exc:
                raise bad_request(f"Network {network} could not be found.") from exc
            endpoints[found.id] = entry.get("fixed_ip") or None
        else:
            raise bad_request("each entry of networks needs uuid or port")
    return endpoints, ports, mac


@router.post("/v2.1/servers", dependencies=AUTHORIZED)
def create_server(request: Request, vim: VimDep, body: Annotated[Any, Body()] = None) -> JSONResponse:
    spec = body_object(body, "server")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise bad_request("server.name is required")
    image_ref = _last_segment(spec.get("imageRef"), "imageRef")
    image = find_image(vim, image_ref)
    if image is None:
        raise bad_request(f"Image {image_ref} could not be found.")
    flavor_ref = _last_segment(spec.get("flavorRef"), "flavorRef")
    try:
        flavour = vim.flavours.get(flavor_ref)
    except NotFound as exc:
        raise bad_request(f"Flavor {flavor_ref} could not be found.") from exc
    metadata = spec.get("metadata") or {}
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise bad_request("metadata must be an object of strings")
    endpoints, ports, mac = _endpoints(vim, spec.get("networks"), name)
    try:
        config = ContainerConfig.model_validate(
            {
                "name": name,
                "image": image.tags[0] if image.tags else image.id,
                "flavour": flavour.id,
                "metadata": metadata,
                "endpoints": endpoints,
                "mac_address": mac,
            }
        )
    except ValidationError as exc:
        raise bad_request("Invalid input: " + "; ".join(str(p.get("msg")) for p in exc.errors())) from exc
    given = []
    try:
        for port in ports:
            vim.ports.give(port, name)
            given.append(port)
        created = vim.containers.create(config)
    except BaseException:
        for port in given:
            vim.ports.take_back(port, name)
        raise
    try:
        container = vim.containers.start(created.id)
    except VimError:
        container = vim.containers.get(created.id)  # FAILED: the server is in ERROR with the reason
    view = server_view(request, vim, container, {image.id: mapping.image_id(image.id)})
    view["adminPass"] = ""
    return _json({"server": view}, 202)


@router.delete("/v2.1/servers/{ref}", status_code=204, dependencies=AUTHORIZED)
def delete_server(ref: str, vim: VimDep) -> Response:
    vim.containers.delete(_server(vim, ref).id)
    return Response(status_code=204, headers=MICROVERSION_HEADERS)


@router.post("/v2.1/servers/{ref}/action", dependencies=AUTHORIZED)
def server_action(ref: str, vim: VimDep, body: Annotated[Any, Body()] = None) -> Response:
    container = _server(vim, ref)
    if not isinstance(body, dict) or len(body) != 1:
        raise bad_request("an action body is an object with one key, such as os-start, os-stop or reboot")
    action = next(iter(body))
    state = container.state
    vm_state = _STATUS[state][1]
    if action == "os-stop":
        if state != ContainerState.RUNNING:
            raise conflict(f"Cannot 'stop' instance {container.id} while it is in vm_state {vm_state}")
        vim.containers.stop(container.id, keep_addresses=True)  # a SHUTOFF server keeps its IPs
    elif action == "os-start":
        if state == ContainerState.CREATED:
            vim.containers.start(container.id)
        elif state == ContainerState.EXITED:
            vim.containers.restart(container.id)
        else:
            raise conflict(f"Cannot 'start' instance {container.id} while it is in vm_state {vm_state}")
    elif action == "reboot":
        kind = _reboot_type(body["reboot"])
        if state == ContainerState.RUNNING:
            vim.containers.reboot(container.id, hard=kind == "HARD")
        elif kind == "HARD" and state.terminal:  # Nova's hard reboot also brings back a stopped or failed one
            vim.containers.restart(container.id)
        else:
            raise conflict(f"Cannot 'reboot' instance {container.id} while it is in vm_state {vm_state}")
    else:
        raise bad_request(f"action {action!r} is not offered here (os-start, os-stop, reboot)")
    return Response(status_code=202, headers=MICROVERSION_HEADERS)


def _reboot_type(body: Any) -> str:
    kind = body.get("type") if isinstance(body, dict) else None
    if not isinstance(kind, str) or kind.upper() not in ("SOFT", "HARD"):
        raise bad_request("reboot.type must be SOFT or HARD")
    return kind.upper()


@router.get("/v2.1/servers/{ref}/metadata", dependencies=AUTHORIZED)
def get_metadata(ref: str, vim: VimDep) -> JSONResponse:
    return _json({"metadata": vim.containers.metadata(_server(vim, ref).id)})


def _metadata_body(body: Any, key: str) -> dict[str, str]:
    entries = body_object(body, key)
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in entries.items()):
        raise bad_request(f"{key} must be an object of strings")
    return entries


@router.post("/v2.1/servers/{ref}/metadata", dependencies=AUTHORIZED)
def update_metadata(ref: str, vim: VimDep, body: Annotated[Any, Body()] = None) -> JSONResponse:
    """Merges; popvim's metadata becomes environment at start, so it changes only before."""
    entries = _metadata_body(body, "metadata")
    return _json({"metadata": vim.containers.update_metadata(_server(vim, ref).id, entries)})


@router.put("/v2.1/servers/{ref}/metadata", dependencies=AUTHORIZED)
def replace_metadata(ref: str, vim: VimDep, body: Annotated[Any, Body()] = None) -> JSONResponse:
    entries = _metadata_body(body, "metadata")
    container_id = _server(vim, ref).id
    current = vim.containers.metadata(container_id)
    removed = {key: "" for key in current if key not in entries}
    return _json({"metadata": vim.containers.update_metadata(container_id, {**removed, **entries})})


@router.get("/v2.1/servers/{ref}/metadata/{key}", dependencies=AUTHORIZED)
def get_metadata_item(ref: str, key: str, vim: VimDep) -> JSONResponse:
    metadata = vim.containers.metadata(_server(vim, ref).id)
    if key not in metadata:
        raise not_found(f"Metadata item was not found: {key}")
    return _json({"meta": {key: metadata[key]}})


@router.put("/v2.1/servers/{ref}/metadata/{key}", dependencies=AUTHORIZED)
def set_metadata_item(ref: str, key: str, vim: VimDep, body: Annotated[Any, Body()] = None) -> JSONResponse:
    entries = _metadata_body(body, "meta")
    if list(entries) != [key]:
        raise bad_request("the body must name the one key of the URL")
    vim.containers.update_metadata(_server(vim, ref).id, entries)
    return _json({"meta": entries})


@router.delete("/v2.1/servers/{ref}/metadata/{key}", status_code=204, dependencies=AUTHORIZED)
def delete_metadata_item(ref: str, key: str, vim: VimDep) -> Response:
    container_id = _server(vim, ref).id
    if key not in vim.containers.metadata(container_id):
        raise not_found(f"Metadata item was not found: {key}")
    vim.containers.update_metadata(container_id, {key: ""})
    return Response(status_code=204, headers=MICROVERSION_HEADERS)


@router.get("/v2.1/limits", dependencies=AUTHORIZED)
def limits(vim: VimDep) -> JSONResponse:
    """popvim has no quotas (-1: unlimited); the used figures are this PoP's live containers."""
    live = [c for c in vim.containers.list() if not c.state.terminal]
    flavours = {f.id: f for f in vim.flavours.list()}
    cores = sum(math.ceil(c.cpus or flavours[c.flavour].cpus or 0) for c in live if c.flavour in flavours)
    ram = sum((c.memory or flavours[c.flavour].memory or 0) // 1024**2 for c in live if c.flavour in flavours)
    absolute = {
        "maxTotalInstances": -1,
        "maxTotalCores": -1,
        "maxTotalRAMSize": -1,
        "maxServerMeta": 128,
        "maxImageMeta": 128,
        "maxPersonality": 5,
        "maxPersonalitySize": 10240,
        "maxTotalKeypairs": -1,
        "maxSecurityGroups": -1,
        "maxSecurityGroupRules": -1,
        "maxTotalFloatingIps": -1,
        "maxServerGroups": -1,
        "maxServerGroupMembers": -1,
        "totalInstancesUsed": len(live),
        "totalCoresUsed": cores,
        "totalRAMUsed": ram,
        "totalFloatingIpsUsed": 0,
        "totalSecurityGroupsUsed": 0,
        "totalServerGroupsUsed": 0,
    }
    return _json({"limits": {"absolute": absolute, "rate": []}})


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"], include_in_schema=False)
async def unknown(rest: str) -> None:
    raise OpenStackError(404, f"the compute API here has no /{rest} (a Nova v2.1 subset)")
