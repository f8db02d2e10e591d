"""Networks: list, create, inspect, delete, connect and disconnect containers."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from popvim.api.rest.deps import VimDep, reads_or_operates
from popvim.vim.models import Container, Network, NetworkConfig

router = APIRouter(prefix="/v1/networks", tags=["networks"], dependencies=[Depends(reads_or_operates)])


class Attachment(BaseModel):
    container: str = Field(..., min_length=1, description="container id or name")
    ip: str | None = Field(None, description="fixed IPv4 on the network; assigned when omitted")


class Detachment(BaseModel):
    container: str = Field(..., min_length=1)


@router.get("")
def list_networks(vim: VimDep) -> list[Network]:
    return vim.networks.list()


@router.post("", status_code=201)
def create_network(body: NetworkConfig, vim: VimDep) -> Network:
    return vim.networks.create(body)


@router.get("/{ref}")
def get_network(ref: str, vim: VimDep) -> Network:
    return vim.networks.get(ref)


@router.delete("/{ref}", status_code=204)
def delete_network(ref: str, vim: VimDep) -> None:
    vim.networks.delete(ref)


@router.post("/{ref}/connect")
def connect(ref: str, body: Attachment, vim: VimDep) -> Container:
    return vim.containers.connect(body.container, ref, body.ip)


@router.post("/{ref}/disconnect")
def disconnect(ref: str, body: Detachment, vim: VimDep) -> Container:
    return vim.containers.disconnect(body.container, ref)
