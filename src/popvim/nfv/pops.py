"""The PoPs an orchestrator deploys on (Open Baton's VIM instances, Tacker's VIMs).

Every PoP, the local one included, is reached through the Pop client library,
so a remote PoP is no special case. The local PoP's credentials are made at
each start and live only in memory.
"""

from __future__ import annotations

import ipaddress
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select

from popvim.client import PopClient, PopError
from popvim.clock import utcnow
from popvim.nfv.errors import Conflict, NotFound
from popvim.store.db import Store
from popvim.store.nfv_models import NsNetworkRow, PopRow, VnfRecordRow
from popvim.store.secrets import SecretBox

NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$"


class PopConfig(BaseModel):
    name: str = Field(..., pattern=NAME)
    # [0-9], not \d: a port is ASCII digits, and pydantic-core's Unicode \d tables cost ~3 MiB resident
    address: str = Field(..., pattern=r"^[^\s/]+:[0-9]{1,5}$", description="host:port of the PoP's Pop protocol")
    username: str = Field(..., min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")
    password: str = Field(..., min_length=1, max_length=72)
    site: str = Field("", max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$")
    advertise: str | None = Field(
        None,
        description="the IP address other sites reach this PoP's published ports at; default: the host of address",
    )
    tls: bool = False
    ca_certificate: str | None = Field(
        None,
        max_length=64 * 1024,
        description="PEM of the CA that signed the PoP's certificate; else the daemon's [tls].ca",
    )

    @field_validator("ca_certificate")
    @classmethod
    def _pem(cls, value: str | None) -> str | None:
        if value:
            from cryptography import x509  # only here: popvimd does not keep cryptography resident

            try:
                x509.load_pem_x509_certificates(value.encode())
            except ValueError as exc:
                raise ValueError("ca_certificate is not a PEM certificate") from exc
        return value or None

    @field_validator("advertise")
    @classmethod
    def _ip(cls, value: str | None) -> str | None:
        return advertised(value) if value else None


def advertised(value: str) -> str:
    """An advertised address: an IP address (the LB writes it into HAProxy's configuration, the
    names into /etc/hosts: no name to resolve), and not loopback, which no other site reaches."""
    try:
        address = ipaddress.ip_address(value.strip("[]"))
    except ValueError as exc:
        raise ValueError(f"advertise {value!r} is not an IP address") from exc
    if address.is_loopback or address.is_unspecified:
        raise ValueError(f"advertise {value!r} is not an address another site can reach")
    return str(address)


def is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Pop(BaseModel):
    name: str
    address: str
    username: str
    site: str
    advertise: str | None = Field(None, description="where other sites reach its published ports, if not address")
    tls: bool
    local: bool
    created_at: datetime


class PopHealth(BaseModel):
    name: str
    reachable: bool = Field(description="the PoP answered an authenticated Info call in time")
    latency_ms: float | None = None
    error: str | None = Field(None, description="why not, as the PoP or the network said it")


@dataclass(frozen=True)
class ClientTls:
    """How this orchestrator speaks TLS to PoPs: the CA it trusts when a PoP's
    registration names none (None: the system's roots), and the certificate it
    presents to PoPs that require one (mTLS). PEM bytes."""

    ca_certificate: bytes | None = None
    certificate: bytes | None = None
    key: bytes | None = None


@dataclass(frozen=True)
class LocalPop:
    name: str
    address: str
    username: str
    password: str
    tls: bool = False
    advertise: str | None = None  # [pop].advertise_address

    def __repr__(self) -> str:  # never print the password
        return f"LocalPop(name={self.name!r}, address={self.address!r}, tls={self.tls})"


def _view(row: PopRow) -> Pop:
    return Pop(
        name=row.name,
        address=row.address,
        username=row.username,
        site=row.site,
        advertise=row.advertise,
        tls=row.tls,
        local=row.is_local,
        created_at=row.created_at,
    )


class PopRegistry:
    def __init__(
        self, store: Store, local: LocalPop, secrets: SecretBox | None = None, client_tls: ClientTls | None = None
    ) -> None:
        self._store = store
        self._local = local
        self._secrets = secrets or SecretBox(SecretBox.new_key())
        self._tls = client_tls or ClientTls()
        self._lock = threading.Lock()
        with store.session() as session:
            for row in session.scalars(select(PopRow).where(PopRow.is_local.is_(False))).all():
                if row.password and not SecretBox.is_sealed(row.password):
                    row.password = self._secrets.seal(row.password)  # written in clear by an older popvim
            for row in session.scalars(select(PopRow).where(PopRow.is_local.is_(True))).all():
                if row.name != local.name:
                    session.delete(row)  # the daemon was renamed
            mine = session.get(PopRow, local.name)
            if mine is None:
                mine = PopRow(name=local.name, created_at=utcnow(), site="local")
                session.add(mine)
            mine.address, mine.username, mine.password, mine.is_local = local.address, local.username, "", True
            mine.advertise = local.advertise

    @property
    def local_name(self) -> str:
        return self._local.name

    def list(self) -> list[Pop]:
        with self._store.session() as session:
            return [_view(r) for r in session.scalars(select(PopRow).order_by(PopRow.created_at)).all()]

    def get(self, name: str) -> Pop:
        with self._store.session() as session:
            row = session.get(PopRow, name)
            if row is None:
                raise NotFound(f"PoP {name!r} is not registered")
            return _view(row)

    def site_address(self, name: str) -> str:
        """Where another site reaches this PoP's published ports: its advertised address, else
        the host of its Pop address (``host:port``, ``[v6]:port``)."""
        pop = self.get(name)
        return pop.advertise or pop.address.rsplit(":", 1)[0].strip("[]")

    def register(self, config: PopConfig) -> Pop:
        with self._lock, self._store.session() as session:
            if session.get(PopRow, config.name) is not None:
                raise Conflict(f"PoP {config.name!r} is registered already")
            row = PopRow(
                name=config.name,
                address=config.address,
                username=config.username,
                password=self._secrets.seal(config.password),
                site=config.site,
                advertise=config.advertise,
                tls=config.tls,
                ca_certificate=config.ca_certificate,
                is_local=False,
                created_at=utcnow(),
            )
            session.add(row)
            return _view(row)

    def unregister(self, name: str) -> None:
        with self._lock, self._store.session() as session:
            row = session.get(PopRow, name)
            if row is None:
                raise NotFound(f"PoP {name!r} is not registered")
            if row.is_local:
                raise Conflict("the local PoP cannot be unregistered")
            if session.scalar(select(VnfRecordRow.id).where(VnfRecordRow.pop_name == name)) or session.scalar(
                select(NsNetworkRow.id).where(NsNetworkRow.pop_name == name)
            ):
                raise Conflict(f"PoP {name!r} hosts VNFs or networks of a network service instance")
            session.delete(row)

    def probe(self, name: str, timeout: float = 2.0) -> PopHealth:
        """Whether the PoP answers, as the orchestrator reaches it (its address, TLS and user):
        an Info call on the shared session, bounded by ``timeout``."""
        client = self.client(name, timeout=timeout)
        started = time.perf_counter()
        try:
            client.info()
        except PopError as exc:
            return PopHealth(name=name, reachable=False, error=exc.message[:200])
        return PopHealth(name=name, reachable=True, latency_ms=round((time.perf_counter() - started) * 1000, 1))

    def client(self, name: str | None, timeout: float = 60.0) -> PopClient:
        """A client for the PoP (``None``: the local one); cheap, sessions are shared."""
        tls = self._tls
        if name is None or name == self._local.name:
            local = self._local
            return PopClient(
                local.address,
                local.username,
                local.password,
                tls=local.tls,
                ca_certificate=tls.ca_certificate,
                client_certificate=tls.certificate,
                client_key=tls.key,
                timeout=timeout,
            )
        with self._store.session() as session:
            row = session.get(PopRow, name)
            if row is None:
                raise NotFound(f"PoP {name!r} is not registered")
            address, username, password, remote_tls = row.address, row.username, row.password, row.tls
            ca = row.ca_certificate.encode() if row.ca_certificate else tls.ca_certificate
        return PopClient(
            address,
            username,
            self._secrets.open(password),
            tls=remote_tls,
            ca_certificate=ca,
            client_certificate=tls.certificate,
            client_key=tls.key,
            timeout=timeout,
        )
