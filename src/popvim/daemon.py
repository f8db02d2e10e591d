"""popvimd: wires the store, the engine driver, the VIM and its faces, and runs them.

Named ``popvimd`` rather than the seed's ``popd``, a bash builtin.
"""

from __future__ import annotations

import gc
import logging
import secrets
import signal
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from prometheus_client import REGISTRY

from popvim import config as cfg
from popvim import statedir, user_commands
from popvim import tls as tlsconf
from popvim.api.pop.server import PopServer
from popvim.api.rest.app import create_app
from popvim.db_cli import db_app
from popvim.engine.docker_driver import DockerDriver
from popvim.engine.driver import EngineDriver
from popvim.nfv.controllers import Controllers
from popvim.nfv.orchestrator import Orchestrator
from popvim.nfv.pops import ClientTls, LocalPop, PopRegistry
from popvim.observe import exposition, logs
from popvim.store.db import Store
from popvim.store.secrets import SecretBox
from popvim.vim.auth import hash_password
from popvim.vim.errors import VimError
from popvim.vim.service import Vim
from popvim.vim.users import ORCHESTRATOR_USER, Role, User, UserDirectory

app = typer.Typer(
    add_completion=False,
    help="popvim daemon: one per Point of Presence. What containers may ask of the host (privileged, "
    "capabilities, bind mounts, network drivers, host ports) is decided by the config's \\[policy] "
    "section, default deny: 'popvimd policy' prints the policy in force; 'popvimd user' manages users and roles.",
)
app.add_typer(db_app, name="db")
log = logging.getLogger("popvim")


def _engine(config: cfg.Config) -> EngineDriver:
    if config.engine == "swarm":
        from popvim.engine.swarm_driver import SwarmDriver  # 2 MiB that a single-engine PoP never needs

        return SwarmDriver(config.docker_host or None, nodes=config.swarm_nodes, stop_grace=config.stop_timeout)
    return DockerDriver(config.docker_host or None)


@app.callback(invoke_without_command=True)
def serve(
    ctx: typer.Context,
    config_file: Annotated[Path | None, typer.Option("--config", help="TOML file (see 'popvimd init')")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="where the SQLite file and other state live")] = None,
    db: Annotated[str | None, typer.Option(help="database URL, e.g. postgresql+psycopg://u:p@host/db")] = None,
    listen: Annotated[str | None, typer.Option(help="REST HOST:PORT [127.0.0.1:8080]")] = None,
    pop_listen: Annotated[str | None, typer.Option(help="Pop gRPC HOST:PORT [127.0.0.1:60000]")] = None,
    metrics_listen: Annotated[
        str | None, typer.Option(help="HOST:PORT serving only /metrics, without a token [off]")
    ] = None,
    docker_host: Annotated[str | None, typer.Option(help="engine URL, e.g. unix:///var/run/docker.sock")] = None,
    engine_kind: Annotated[
        str | None, typer.Option("--engine", help="docker (one engine) or swarm (docker_host is a Swarm manager)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="this PoP's name")] = None,
    engine_prefix: Annotated[
        str | None, typer.Option(help="prefix of engine-side names, so PoPs can share an engine")
    ] = None,
    tls_cert: Annotated[str | None, typer.Option(help="(tls.cert) PEM certificate (chain) of both faces")] = None,
    tls_key: Annotated[str | None, typer.Option(help="(tls.key) its PEM private key")] = None,
    tls_client_ca: Annotated[
        str | None, typer.Option(help="(tls.client_ca) require client certificates signed by this CA (mTLS)")
    ] = None,
    tls_ca: Annotated[str | None, typer.Option(help="(tls.ca) the CA the orchestrator trusts")] = None,
    allow_plaintext: Annotated[
        bool, typer.Option("--allow-plaintext", help="(tls.allow_plaintext) plain text off loopback")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    log_format: Annotated[str, typer.Option(help="text or json (one object per line)")] = "text",
) -> None:
    """Serve the REST API and the Pop protocol over one Docker engine."""
    if ctx.invoked_subcommand is not None:
        return
    try:
        logs.setup(verbose, log_format)
    except ValueError as exc:
        typer.echo(f"popvimd: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        config = cfg.load(config_file)
        for key, value in {
            "state_dir": state_dir,
            "db": db,
            "listen": listen,
            "pop_listen": pop_listen,
            "metrics_listen": metrics_listen,
            "docker_host": docker_host,
            "engine": engine_kind,
            "name": name,
            "engine_prefix": engine_prefix,
        }.items():
            if value is not None:
                setattr(config, key, value)
        for key, value in {"cert": tls_cert, "key": tls_key, "client_ca": tls_client_ca, "ca": tls_ca}.items():
            if value is not None:
                setattr(config.tls, key, value)
        config.tls.allow_plaintext = config.tls.allow_plaintext or allow_plaintext
        if config.engine not in ("docker", "swarm"):
            raise ValueError(f"--engine must be docker or swarm, not {config.engine!r}")
        statedir.prepare(config.state_dir)
        config.install_id = statedir.install_id(config.state_dir)
        cfg.ensure_users(config)
        host, port = cfg.split_hostport(config.listen, "--listen")
        cfg.split_hostport(config.pop_listen, "--pop-listen")
        server_tls = tlsconf.server_tls(config.tls)
        client_tls = tlsconf.client_tls(config.tls, server_tls)
        tlsconf.check_plaintext(config, server_tls)
        secrets_box = SecretBox.in_state_dir(config.state_dir)
        metrics_address = (
            cfg.split_hostport(config.metrics_listen, "--metrics-listen") if config.metrics_listen else None
        )
    except (ValueError, OSError) as exc:
        typer.echo(f"popvimd: {exc}", err=True)
        raise typer.Exit(2) from exc
    try:
        engine = _engine(config)
        vim = Vim(Store(config.db_url), engine, config.settings(), UserDirectory(config.users, config.users_file))
        vim.open()
    except VimError as exc:
        typer.echo(f"popvimd: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    except Exception as exc:
        typer.echo(f"popvimd: cannot start: {exc}", err=True)
        raise typer.Exit(1) from exc
    REGISTRY.register(vim.collector)
    try:
        metrics_server = exposition.serve(vim.exposition, *metrics_address) if metrics_address else None
    except OSError as exc:
        vim.close()
        typer.echo(f"popvimd: cannot listen for metrics on {config.metrics_listen}: {exc}", err=True)
        raise typer.Exit(1) from exc
    pop_server = PopServer(vim)
    try:
        pop_server.start(config.pop_listen, tlsconf.grpc_credentials(server_tls))
    except RuntimeError as exc:
        vim.close()
        typer.echo(f"popvimd: {exc}", err=True)
        raise typer.Exit(1) from exc
    nfv, controllers = _orchestrator(vim, config, secrets_box, client_tls, server_tls is not None)
    vim.readiness.add("controllers", controllers.health)
    vim.readiness.watch(pop_server.set_ready)
    log.info(
        "serving pop=%s install=%s rest=%s://%s:%d grpc=%s%s db=%s",
        config.name,
        config.install_id,
        "https" if server_tls else "http",
        host,
        port,
        config.pop_listen,
        (" (tls, client certificates required)" if server_tls.client_ca else " (tls)") if server_tls else "",
        config.db_url.split("@")[-1],
    )
    server = uvicorn.Server(
        # Open streams (event feeds, followed logs) never end by themselves: shut down within 5 s anyway.
        uvicorn.Config(
            create_app(vim, nfv),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
            **tlsconf.uvicorn_options(config.tls, server_tls),
        )
    )
    # uvicorn re-raises the SIGTERM it handled once it has shut down; with the
    # default handler that kills us before the clean-up below, so keep ours.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: setattr(server, "should_exit", True))
    # Everything made so far (modules, the app, the wiring) lives as long as the daemon: out of the
    # collector's sight, a full collection under load walks only what requests made, not 100 MiB.
    gc.collect()
    gc.freeze()
    try:
        server.run()
    finally:
        controllers.stop()
        nfv.balancers.stop()
        nfv.close()
        pop_server.stop()
        if metrics_server is not None:
            metrics_server.shutdown()
        vim.close()
        log.info("stopped")


def _orchestrator(
    vim: Vim, config: cfg.Config, secrets_box: SecretBox, client_tls: ClientTls, local_tls: bool
) -> tuple[Orchestrator, Controllers]:
    """The orchestrator reaches this PoP like any other, through the Pop protocol, as a
    user that exists only for this process (a random password, never stored)."""
    password = secrets.token_urlsafe(32)
    # random: rounds add nothing; operator: it deploys, it never manages users or the PoP registry
    vim.auth.add_user(ORCHESTRATOR_USER, hash_password(password, rounds=4), Role.OPERATOR)
    pop_host, pop_port = cfg.split_hostport(config.pop_listen, "--pop-listen")
    if pop_host in ("0.0.0.0", "::", ""):
        pop_host = "127.0.0.1"
    if ":" in pop_host:
        pop_host = f"[{pop_host}]"
    local = LocalPop(
        config.name,
        f"{pop_host}:{pop_port}",
        ORCHESTRATOR_USER,
        password,
        tls=local_tls,
        advertise=config.advertise_address or None,
    )
    nfv = Orchestrator(vim.store, PopRegistry(vim.store, local, secrets_box, client_tls))
    controllers = Controllers(vim.store, nfv, interval=config.controller_interval)
    controllers.start()
    nfv.balancers.start()
    return nfv, controllers


@app.command()
def init(
    config_file: Annotated[Path, typer.Option("--config", help="where to write")] = Path("popvimd.toml"),
    user: Annotated[str, typer.Option(prompt=True)] = "admin",
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)] = "",
    state_dir: Annotated[Path | None, typer.Option()] = None,
    tls: Annotated[
        bool, typer.Option("--tls", help="make a CA and a server certificate, serve both faces over TLS")
    ] = False,
    mtls: Annotated[
        bool,
        typer.Option(
            "--mtls",
            help="with --tls: also require client certificates; makes one for the orchestrator and the pop CLI",
        ),
    ] = False,
    san: Annotated[
        list[str] | None, typer.Option("--san", help="extra name or address of the server certificate")
    ] = None,
) -> None:
    """Write a configuration file with one user (stored as a bcrypt hash), and with --tls the
    certificates (in <state-dir>/tls) that the file names."""
    if not password:
        typer.echo("popvimd: a password is required", err=True)
        raise typer.Exit(2)
    config = cfg.Config()
    if state_dir:
        config.state_dir = state_dir
    config.users = {user: User(hash_password(password))}
    if tls or mtls:
        statedir.prepare(config.state_dir)
        try:
            made = tlsconf.make_certificates(config.state_dir / "tls", tlsconf.default_sans() + list(san or []), mtls)
        except ValueError as exc:
            typer.echo(f"popvimd: {exc}", err=True)
            raise typer.Exit(2) from exc
        config.tls.cert, config.tls.key, config.tls.ca = str(made.cert), str(made.key), str(made.ca)
        if made.client_cert and made.client_key:
            config.tls.client_ca = str(made.ca)
            config.tls.client_cert, config.tls.client_key = str(made.client_cert), str(made.client_key)
        typer.echo(
            f"made a CA and certificates in {made.ca.parent}; clients trust it with: pop --ca {made.ca}"
            + (f" --cert {made.client_cert} --key {made.client_key}" if made.client_cert else "")
        )
    cfg.write(config_file, config)
    typer.echo(f"wrote {config_file}")


@app.command()
def policy(
    config_file: Annotated[Path | None, typer.Option("--config", help="TOML file (see 'popvimd init')")] = None,
) -> None:
    """Print the \\[policy] in force (the file's, over the defaults) as TOML."""
    try:
        config = cfg.load(config_file)
    except ValueError as exc:
        typer.echo(f"popvimd: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(cfg.policy_text(config.policy), nl=False)


app.add_typer(user_commands.app, name="user")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
