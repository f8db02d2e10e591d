"""popvimd's configuration: TOML file, then flags, then embedded defaults.

Users come from the file's ``[users]`` table (bcrypt hashes only), else from
``POPD_AUTH=user:pass[:role][,user2:pass2[:role]]`` (hashed at start, never
stored), else ``<state_dir>/users.toml``, else an ``admin`` user whose
generated password is printed once and whose hash is kept in that file.
``[policy]`` decides what containers and networks may ask of the host.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from popvim.statedir import ADMIN_PASSWORD_FILE, write_private
from popvim.vim.auth import hash_password
from popvim.vim.limits import Limits
from popvim.vim.policy import Policy
from popvim.vim.settings import VimSettings
from popvim.vim.users import Role, User, parse_users, read_users_file, users_table, write_users_file


def default_state_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/popvim")
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "popvim"


def split_hostport(value: str, what: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"{what} {value!r} is not HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


@dataclass
class TlsConfig:
    """The ``[tls]`` section: paths of PEM files (see popvim.tls for what each does)."""

    cert: str = ""  # the server certificate (chain) of both faces; TLS is on when set
    key: str = ""
    client_ca: str = ""  # when set, both faces require a client certificate signed by it (mTLS)
    ca: str = ""  # what the orchestrator trusts: its own PoP, and registered PoPs naming no CA
    client_cert: str = ""  # what the orchestrator presents to PoPs that require a certificate
    client_key: str = ""
    allow_plaintext: bool = False  # plain listeners on addresses other than loopback


@dataclass
class Config:
    name: str = "popvim"
    state_dir: Path = field(default_factory=default_state_dir)
    db: str = ""
    listen: str = "127.0.0.1:8080"
    pop_listen: str = "127.0.0.1:60000"
    metrics_listen: str = ""  # HOST:PORT for /metrics without a token (for Prometheus); off when empty
    advertise_address: str = ""  # where other sites reach this PoP's published ports (README: Two sites)
    docker_host: str = ""
    engine: str = "docker"  # "docker": one engine; "swarm": docker_host is a Swarm manager (README: Swarm PoP)
    swarm_nodes: dict[str, str] = field(default_factory=dict)  # [swarm] nodes: node hostname or id -> engine URL
    engine_prefix: str = ""
    token_ttl: int = 24 * 3600
    region: str = "RegionOne"  # the OpenStack face's region, in its service catalog
    stop_timeout: float = 5.0
    default_network: str = "private"
    default_network_internal: bool = False
    subnet_pool: str = "172.16.0.0/12"
    controller_interval: float = 1.0  # seconds between healing/autoscaling passes
    reconcile_interval: float = 60.0  # seconds between periodic reconciliations with the engine
    largest_subnet: int = 16  # prefix length of the largest subnet a request may ask for
    limits: Limits = field(default_factory=Limits)
    users: dict[str, User] = field(default_factory=dict)
    users_file: Path | None = None  # where the users came from; the daemon re-reads it when it changes
    policy: Policy = field(default_factory=Policy)
    tls: TlsConfig = field(default_factory=TlsConfig)
    install_id: str = ""  # read from (or made in) the state dir at start

    @property
    def db_url(self) -> str:
        return self.db or f"sqlite:///{self.state_dir / 'popvim.db'}"

    def settings(self) -> VimSettings:
        return VimSettings(
            pop_name=self.name,
            install_id=self.install_id,
            engine_prefix=self.engine_prefix,
            token_ttl_seconds=self.token_ttl,
            region=self.region,
            stop_timeout_seconds=self.stop_timeout,
            default_network=self.default_network,
            default_network_internal=self.default_network_internal,
            subnet_pool=self.subnet_pool,
            largest_subnet=self.largest_subnet,
            reconcile_interval=self.reconcile_interval,
            limits=self.limits,
            policy=self.policy,
        )


_TLS_KEYS: dict[str, tuple[type, ...]] = {
    "cert": (str,),
    "key": (str,),
    "client_ca": (str,),
    "ca": (str,),
    "client_cert": (str,),
    "client_key": (str,),
    "allow_plaintext": (bool,),
}


# Each key with the TOML types it may have: a wrong type is a clear error at
# start, not a TypeError deep inside the VIM (``true`` is not a number here).
_POP_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "state_dir": (str,),
    "db": (str,),
    "listen": (str,),
    "pop_listen": (str,),
    "metrics_listen": (str,),
    "advertise_address": (str,),
    "docker_host": (str,),
    "engine": (str,),
    "engine_prefix": (str,),
    "token_ttl": (int,),
    "region": (str,),
    "stop_timeout": (int, float),
    "controller_interval": (int, float),
    "reconcile_interval": (int, float),
}
_NETWORK_KEYS: dict[str, tuple[str, tuple[type, ...]]] = {
    "default": ("default_network", (str,)),
    "internal": ("default_network_internal", (bool,)),
    "pool": ("subnet_pool", (str,)),
    "largest_subnet": ("largest_subnet", (int,)),
}
# [limits]: every field of Limits, with its type (see README, Security / Limits).
_LIMITS_KEYS: dict[str, tuple[type, ...]] = {
    name: (int,) if isinstance(value, int) else (int, float) for name, value in vars(Limits()).items()
}


def _typed(path: Path, where: str, value: Any, types: tuple[type, ...]) -> Any:
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        names = " or ".join(
            {int: "an integer", float: "a number", str: "a string", bool: "true or false"}[t] for t in types
        )
        raise ValueError(f"{path}: {where} must be {names}, not {value!r}")
    return value


def _check(path: Path, config: Config) -> None:
    """Values that have the right type but cannot work."""
    if config.token_ttl < 1:
        raise ValueError(f"{path}: [pop].token_ttl must be at least 1 (seconds), not {config.token_ttl}")
    if config.stop_timeout < 0:
        raise ValueError(f"{path}: [pop].stop_timeout must not be negative, not {config.stop_timeout}")
    if config.reconcile_interval < 0:
        raise ValueError(f"{path}: [pop].reconcile_interval must not be negative, not {config.reconcile_interval}")
    if not 8 <= config.largest_subnet <= 30:
        raise ValueError(f"{path}: [network].largest_subnet must be a prefix length from 8 to 30")
    if config.engine not in ("docker", "swarm"):
        raise ValueError(f'{path}: [pop].engine must be "docker" or "swarm", not {config.engine!r}')
    if config.advertise_address:
        try:
            advertised = ipaddress.ip_address(config.advertise_address)
        except ValueError as exc:
            raise ValueError(
                f"{path}: [pop].advertise_address {config.advertise_address!r} is not an IP address"
            ) from exc
        if advertised.is_loopback or advertised.is_unspecified:
            raise ValueError(
                f"{path}: [pop].advertise_address {config.advertise_address!r} is not an address another site can reach"
            )
    try:
        ipaddress.IPv4Network(config.subnet_pool)
    except ValueError as exc:
        raise ValueError(f"{path}: [network].pool {config.subnet_pool!r} is not an IPv4 CIDR: {exc}") from exc


def _swarm_nodes(path: Path, section: Any) -> dict[str, str]:
    """``[swarm] nodes = {HOSTNAME = "URL"}``: how to reach each node's own engine (exec, logs, stats)."""
    if not isinstance(section, dict) or set(section) - {"nodes"}:
        raise ValueError(f"{path}: [swarm] takes one key, nodes (a table of node hostname = engine URL)")
    nodes = section.get("nodes") or {}
    if not isinstance(nodes, dict) or not all(isinstance(v, str) and v for v in nodes.values()):
        raise ValueError(f"{path}: [swarm].nodes must map node hostnames (or ids) to engine URLs")
    return dict(nodes)


def load(path: Path | None) -> Config:
    config = Config()
    if path is None:
        return config
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"cannot read config {path}: {exc}") from exc
    for key, value in (data.get("pop") or {}).items():
        if key not in _POP_KEYS:
            raise ValueError(f"{path}: unknown key [pop].{key}")
        _typed(path, f"[pop].{key}", value, _POP_KEYS[key])
        setattr(config, key, Path(value) if key == "state_dir" else value)
    for key, value in (data.get("network") or {}).items():
        if key not in _NETWORK_KEYS:
            raise ValueError(f"{path}: unknown key [network].{key}")
        attribute, types = _NETWORK_KEYS[key]
        setattr(config, attribute, _typed(path, f"[network].{key}", value, types))
    for key, value in (data.get("tls") or {}).items():
        if key not in _TLS_KEYS:
            raise ValueError(f"{path}: unknown key [tls].{key}")
        setattr(config.tls, key, _typed(path, f"[tls].{key}", value, _TLS_KEYS[key]))
    for key, value in (data.get("limits") or {}).items():
        if key not in _LIMITS_KEYS:
            raise ValueError(f"{path}: unknown key [limits].{key}")
        if _typed(path, f"[limits].{key}", value, _LIMITS_KEYS[key]) <= 0:
            raise ValueError(f"{path}: [limits].{key} must be positive, not {value!r}")
        setattr(config.limits, key, value)
    config.swarm_nodes = _swarm_nodes(path, data.get("swarm") or {})
    _check(path, config)
    policy = data.get("policy") or {}
    if not isinstance(policy, dict):
        raise ValueError(f"{path}: [policy] must be a table")
    config.policy = Policy.from_table(policy, f"{path}: [policy]")
    config.users = parse_users(data.get("users") or {}, f"{path}: [users]")
    if config.users:
        config.users_file = path
    return config


def users_from_env(value: str) -> dict[str, User]:
    """``user:pass[:role]`` pairs; a last ``:part`` that is not a role belongs to the password."""
    users = {}
    roles = {r.value for r in Role}
    for pair in value.split(","):
        name, sep, password = pair.strip().partition(":")
        role = Role.ADMIN
        head, colon, tail = password.rpartition(":")
        if colon and head and tail in roles:
            password, role = head, Role(tail)
        if not sep or not name or not password:
            raise ValueError("POPD_AUTH must be user:pass[:role][,user2:pass2[:role]]")
        users[name] = User(hash_password(password), role)
    return users


def policy_text(policy: Policy) -> str:
    """The policy as a ``[policy]`` section a config file can take."""
    return "# the policy in force; put changes in the config's [policy] section (README: Policy)\n" + tomli_w.dumps(
        {"policy": policy.table()}
    )


def users_path(config: Config) -> Path:
    """The file ``popvimd user`` edits when there is no config file."""
    return config.state_dir / "users.toml"


def ensure_users(config: Config) -> None:
    """Fill ``config.users`` from POPD_AUTH, or the state dir's users file (made with a generated
    admin on first start)."""
    if config.users:
        return
    env = os.environ.get("POPD_AUTH")
    if env:
        config.users = users_from_env(env)
        return
    stored = users_path(config)
    if stored.exists():
        config.users = read_users_file(stored)
        if config.users:
            config.users_file = stored
            return
    password = secrets.token_urlsafe(12)
    config.users = {"admin": User(hash_password(password))}
    write_users_file(stored, config.users)
    config.users_file = stored
    _show_once(config.state_dir, f"popvimd: created user 'admin' with password: {password}\n")


TERMINAL = "/dev/tty"  # the controlling terminal, if the process has one


def _show_once(state_dir: Path, text: str) -> None:
    """On the terminal, never on stderr: stderr is the log stream, which is often kept and
    shipped. Without a terminal (a service, a container) it goes to a 0600 file whose path
    is logged; the hash is all popvimd keeps."""
    try:
        with open(TERMINAL, "w") as tty:
            tty.write(text)
        return
    except OSError:
        pass
    path = state_dir / ADMIN_PASSWORD_FILE
    write_private(path, text)
    logging.getLogger("popvim").warning(
        "generated password of user 'admin' written to %s (mode 0600): read it, then delete the file", path
    )


def write(path: Path, config: Config) -> None:
    data: dict[str, Any] = {
        "pop": {
            "name": config.name,
            "state_dir": str(config.state_dir),
            "listen": config.listen,
            "pop_listen": config.pop_listen,
            "token_ttl": config.token_ttl,
        },
        "network": {
            "default": config.default_network,
            "internal": config.default_network_internal,
            "pool": config.subnet_pool,
        },
        "policy": config.policy.table(),
        "users": users_table(config.users),
    }
    if config.db:
        data["pop"]["db"] = config.db
    if config.docker_host:
        data["pop"]["docker_host"] = config.docker_host
    tls = {k: v for k, v in vars(config.tls).items() if v}
    if tls:
        data["tls"] = tls
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(data))
    path.chmod(0o600)
