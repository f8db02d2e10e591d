"""Link limits of networks and endpoints (testbed feature; README "Testbed")."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from popvim.api.rest.deps import VimDep, reads_or_operates
from popvim.vim.models import Container, Network
from popvim.vim.shaping import LinkLimit

router = APIRouter(prefix="/v1", tags=["links"], dependencies=[Depends(reads_or_operates)])


@router.put("/networks/{ref}/link")
def set_network_link(ref: str, body: LinkLimit, vim: VimDep) -> Network:
    """Every endpoint on the network without limits of its own is shaped to these, running ones at once."""
    return vim.links.set_network(ref, body)


@router.put("/containers/{ref}/links/{network}")
def set_endpoint_link(ref: str, network: str, body: LinkLimit, vim: VimDep) -> Container:
    """The endpoint's own limits; all fields empty: its network's apply again."""
    return vim.links.set_endpoint(ref, network, body)
