"""What every ``pop`` command shares: the global options' decisions and the error type."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from popvim.cli.args import UsageError
from popvim.cli.output import ImageNames, Output
from popvim.cli.tokens import TokenStore
from popvim.client.defaults import DEFAULT_ADDRESS

if TYPE_CHECKING:  # gRPC is imported when a command first calls the PoP
    import click

    from popvim.client import PopClient

ENV_HOST, ENV_AUTH = "POP_HOST", "POP_AUTH"
ENV_CA, ENV_CERT, ENV_KEY, ENV_TLS = "POP_CA", "POP_CERT", "POP_KEY", "POP_TLS"
DEFAULT_PORT = DEFAULT_ADDRESS.rsplit(":", 1)[1]


class CliError(Exception):
    """A failure already phrased for the user; ``exit_code`` as documented above."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def normalize_host(value: str) -> str:
    """``host[:port]`` with the default port filled in, so tokens are stored under one key per PoP."""
    value = value.strip()
    if not value:
        raise UsageError("the host is empty (use --host HOST[:PORT] or POP_HOST)")
    if value.startswith("["):  # [v6]:port
        host, _, rest = value.partition("]")
        host, port = host + "]", rest.lstrip(":") or DEFAULT_PORT
    elif value.count(":") == 1:
        host, port = value.split(":")
    elif ":" in value:  # bare IPv6
        host, port = f"[{value}]", DEFAULT_PORT
    else:
        host, port = value, DEFAULT_PORT
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"bad host {value!r}: expected HOST[:PORT] with a port in 1-65535")
    return f"{host}:{int(port)}"


@dataclass(frozen=True)
class TlsOptions:
    """``--ca``/``--cert``/``--key`` (or POP_CA, POP_CERT, POP_KEY): TLS is on when any is given,
    or with ``--tls`` (the system's roots then)."""

    enabled: bool = False
    ca: str | None = None
    cert: str | None = None
    key: str | None = None

    @staticmethod
    def _read(path: str | None, what: str) -> bytes | None:
        if not path:
            return None
        try:
            return Path(path).expanduser().read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from exc

    def pop_client_options(self) -> dict[str, Any]:
        """Keyword arguments of PopClient."""
        if bool(self.cert) != bool(self.key):
            raise UsageError("--cert and --key (POP_CERT, POP_KEY) go together")
        return {
            "tls": self.enabled or bool(self.ca or self.cert),
            "ca_certificate": self._read(self.ca, "--ca"),
            "client_certificate": self._read(self.cert, "--cert"),
            "client_key": self._read(self.key, "--key"),
        }

    def http_options(self) -> dict[str, Any]:
        """Keyword arguments of NfvClient, for the REST API (``pop ns``)."""
        if not (self.ca or self.cert):
            return {}
        import ssl

        context = ssl.create_default_context(cafile=str(Path(self.ca).expanduser()) if self.ca else None)
        if self.cert and self.key:
            context.load_cert_chain(str(Path(self.cert).expanduser()), str(Path(self.key).expanduser()))
        return {"verify": context}


@dataclass
class State:
    """What the global options decided, shared by every command through ``ctx.obj``."""

    host: str
    out: Output
    timeout: float
    error_exit_code: int = 1
    tls: TlsOptions = field(default_factory=TlsOptions)
    _client: PopClient | None = field(default=None, repr=False)
    _cached_token: str | None = field(default=None, repr=False)  # POP_AUTH's token as read from the cache

    def client(self) -> PopClient:
        """Credentials from POP_AUTH (as the seed), else the token ``pop login`` stored for this host.

        With POP_AUTH the token cached for this host and user is tried first, so a command costs
        the PoP no password check and no new token; a refused one is replaced by one login
        (the client does that), and ``save_token`` caches the new one when the command ends."""
        if self._client is None:
            auth = os.environ.get(ENV_AUTH, "")
            if auth:
                user, sep, password = auth.partition(":")
                if not sep or not user:
                    raise UsageError(f"{ENV_AUTH} must be user:password")
                self._cached_token = TokenStore().get_for(self.host, user, password) or ""
                self._client = self.pop_client(user, password, token=self._cached_token)
            else:
                stored = TokenStore().get(self.host)
                if stored is None:
                    raise CliError(f"not logged in to {self.host}: run `pop login` or set {ENV_AUTH}=user:password")
                self._client = self.pop_client(stored.user, token=stored.token)
        return self._client

    def save_token(self) -> None:
        """Cache the token a POP_AUTH command ended with, when it is not the one it started from."""
        if self._client is None or self._cached_token is None:
            return
        token = self._client.session.current
        if token and token != self._cached_token:
            credentials = self._client.credentials
            TokenStore().put_for(self.host, credentials.username, credentials.password, token)
            self._cached_token = token

    def pop_client(self, user: str, password: str = "", token: str = "") -> PopClient:
        from popvim.client import PopClient

        return PopClient(self.host, user, password, token=token, timeout=self.timeout, **self.tls.pop_client_options())

    def image_names(self) -> ImageNames:
        return ImageNames(lambda: self.client().images())


def state(ctx: click.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj
