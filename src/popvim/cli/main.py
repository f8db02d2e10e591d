"""``pop``: seed 001's command line for a Pop server (section 4.3.3), on ``popvim.client`` only.

    export POP_AUTH=user:password            # or: pop login
    pop spawn image=nginx:latest name=nginx-cont
    pop servers
    pop md get nginx-cont

It speaks only the Pop protocol through the client library, never popvim's
domain code, so it drives any Pop server (local or remote) exactly as a MANO
would. Containers are named by name or ``id:<uuid>``; ``*`` means all of
them for ``delete`` and ``stop``, as in the reference tool.

Failures are one line on stderr (``pop: NOT_FOUND: ...``) and a non-zero exit
code: 1 when the PoP refused or could not be reached, 2 for a usage error,
and for ``exec`` the command's own exit code (125 when pop itself failed, as
``docker run`` does, so a script can tell the two apart).
"""

from __future__ import annotations

import os
import sys
import time
from typing import TYPE_CHECKING, Any

import click

from popvim.cli import args as cli_args
from popvim.cli.args import UsageError
from popvim.cli.context import (
    ENV_AUTH,
    ENV_CA,
    ENV_CERT,
    ENV_HOST,
    ENV_KEY,
    ENV_TLS,
    CliError,
    State,
    TlsOptions,
    normalize_host,
    state,
)
from popvim.cli.group import Group
from popvim.cli.output import (
    Output,
    container_doc,
    image_doc,
    iso,
    network_doc,
    short_id,
)
from popvim.cli.tokens import TokenStore
from popvim.client.defaults import DEFAULT_ADDRESS

# gRPC, the protocol's messages, rich and PyYAML are imported by the commands that use them, and
# the `ns` and `events` commands (REST, httpx) are loaded only when named: importing them all
# made every command, `pop --help` included, start 0.4 s later. Plain click, not Typer: Typer
# imports pydantic and rebuilt every parameter of every command from its annotations on each
# run, about 0.2 s of CPU before any command did anything.
if TYPE_CHECKING:
    from popvim.client import Container, PopClient


def _events() -> click.Command:
    from popvim.cli.events import events

    return events


def _ns() -> click.Command:
    from popvim.cli import loadtest  # noqa: F401 - adds `pop ns loadtest` to the group
    from popvim.cli.ns import ns_app

    return ns_app


@click.group(
    "pop",
    cls=Group,
    help="Control a Pop server (popvimd): containers, images, networks, metadata.",
    context_settings={"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100},
)
@click.option("--host", envvar=ENV_HOST, show_envvar=True, default=DEFAULT_ADDRESS, help="PoP address HOST[:PORT].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON documents.")
@click.option("--yaml", "as_yaml", is_flag=True, help="Print YAML documents.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, help="Seconds to wait for each call.")
@click.option("--ca", envvar=ENV_CA, show_envvar=True, help="PEM CA that signed the PoP's certificate (implies TLS).")
@click.option("--cert", envvar=ENV_CERT, show_envvar=True, help="PEM client certificate, for a PoP that requires one.")
@click.option("--key", envvar=ENV_KEY, show_envvar=True, help="PEM key of --cert.")
@click.option("--tls", is_flag=True, envvar=ENV_TLS, help="TLS with the system's roots.")
@click.pass_context
def app(
    ctx: click.Context,
    host: str,
    as_json: bool,
    as_yaml: bool,
    timeout: float,
    ca: str | None,
    cert: str | None,
    key: str | None,
    tls: bool,
) -> None:
    """Credentials: POP_AUTH=user:password, or the token stored by `pop login`."""
    if as_json and as_yaml:
        raise UsageError("--json and --yaml are exclusive")
    ctx.obj = State(
        host=normalize_host(host),
        out=Output("json" if as_json else "yaml" if as_yaml else "table"),
        timeout=timeout,
        tls=TlsOptions(tls, ca or None, cert or None, key or None),
    )


app.add_lazy("events", _events)


# --- session ---------------------------------------------------------------------------------
@app.command()
@click.option("--user", "-u", help="User name (else POP_AUTH, else asked).")
@click.option("--password", "-p", help="Password (else POP_AUTH, else asked).")
@click.pass_context
def login(ctx: click.Context, user: str | None, password: str | None) -> None:
    """Log in and store the token for this host (never the password) in ~/.config/popvim/tokens.json."""
    s = state(ctx)
    auth_user, sep, auth_password = os.environ.get(ENV_AUTH, "").partition(":")
    if sep and user in (None, auth_user):
        user = auth_user
        password = auth_password if password is None else password
    if user is None:
        user = str(click.prompt("user"))
    if password is None:
        password = str(click.prompt("password", hide_input=True))
    client = s.pop_client(user, password)
    token = client.login()
    store = TokenStore()
    store.put(s.host, user, token)
    s.out.note(
        f"logged in to {s.host} as {user} (token stored in {store.path})",
        {"host": s.host, "user": user, "token_file": str(store.path)},
    )


@app.command()
@click.pass_context
def logout(ctx: click.Context) -> None:
    """Invalidate the stored token on the PoP and forget it."""
    from popvim.client import PermissionDenied

    s = state(ctx)
    store = TokenStore()
    stored = store.get(s.host)
    if stored is None:
        s.out.note(f"not logged in to {s.host}", {"host": s.host, "logged_out": False})
        return
    try:
        s.pop_client(stored.user, token=stored.token).logout()
        detail = ""
    except PermissionDenied:  # expired or already invalidated: forgetting it is all that is left
        detail = " (the token had already expired)"
    store.remove(s.host)
    s.out.note(f"logged out of {s.host}{detail}", {"host": s.host, "logged_out": True})


@app.command()
@click.pass_context
def info(ctx: click.Context) -> None:
    """The PoP's type, name and clock; also checks the credentials."""
    s = state(ctx)
    client = s.client()
    answer = client.info()
    s.out.document(
        {
            "host": s.host,
            "user": client.credentials.username,
            "type": answer.type,
            "name": answer.name,
            "timestamp": iso(answer.timestamp),
        }
    )


# --- containers ------------------------------------------------------------------------------
CONFIG_HELP = (
    "key=value ...: image, name, flavour, network=NET[:IP][,NET2...], command='argv', env.NAME=v, "
    "md.KEY=v, port=P[:HOSTPORT]"
)


def _create(s: State, items: list[str]) -> Container:
    spec = cli_args.container_spec(items)
    return s.client().create(spec.name, spec.image, **spec.create_kwargs())


@app.command()
@click.argument("config", nargs=-1, required=True, help=CONFIG_HELP)
@click.pass_context
def spawn(ctx: click.Context, config: tuple[str, ...]) -> None:
    """Create and start a container: pop spawn image=nginx:latest name=nginx-cont."""
    from popvim.client import PopError

    s = state(ctx)
    created = _create(s, list(config))
    try:
        started = s.client().start(f"id:{created.id}")
    except PopError as exc:
        exc.message += f" (container {created.name!r} was created but not started; `pop delete id:{created.id}`)"
        raise
    s.out.document(container_doc(started, s.image_names()))


@app.command()
@click.argument("config", nargs=-1, required=True, help=CONFIG_HELP)
@click.pass_context
def create(ctx: click.Context, config: tuple[str, ...]) -> None:
    """Create a container (CREATED: addresses reserved, metadata settable, not running yet)."""
    s = state(ctx)
    s.out.document(container_doc(_create(s, list(config)), s.image_names()))


@app.command()
@click.argument("ref", help="NAME or id:UUID")
@click.pass_context
def start(ctx: click.Context, ref: str) -> None:
    """Start a CREATED container; its metadata becomes its environment."""
    s = state(ctx)
    s.out.document(container_doc(s.client().start(ref), s.image_names()))


def _targets(client: PopClient, refs: list[str], only_running: bool = False) -> list[tuple[str, str]]:
    """(ref to act on, name to report): ``*`` expands to every container (running ones for stop)."""
    targets: list[tuple[str, str]] = []
    for ref in refs:
        if ref == "*":
            targets += [
                (f"id:{c.id}", c.name) for c in client.containers() if not only_running or c.status == "RUNNING"
            ]
        else:
            targets.append((ref, ref))
    return targets


@app.command()
@click.argument("refs", nargs=-1, required=True, help="NAME, id:UUID, or '*' for every running container")
@click.option("--wait", is_flag=True, help="Return once EXITED or FAILED, not at STOPPING.")
@click.pass_context
def stop(ctx: click.Context, refs: tuple[str, ...], wait: bool) -> None:
    """Stop containers (they go STOPPING, then EXITED or FAILED)."""
    s = state(ctx)
    client = s.client()
    done: list[dict[str, Any]] = []
    for ref, name in _targets(client, list(refs), only_running=True):
        client.stop(ref)
        status = "STOPPING"
        if wait:
            deadline = time.monotonic() + s.timeout
            while (status := client.container(ref).status) == "STOPPING" and time.monotonic() < deadline:
                time.sleep(0.1)
        done.append({"ref": ref, "name": name, "status": status})
        if not s.out.machine:
            s.out.console.print(f"{name}: {status}", markup=False)
    if s.out.machine:
        s.out.document(done)


@app.command()
@click.argument("refs", nargs=-1, required=True, help="NAME, id:UUID, or '*' for every container")
@click.pass_context
def delete(ctx: click.Context, refs: tuple[str, ...]) -> None:
    """Delete containers (stopping them first if needed), several at a time."""
    from popvim.cli.parallel import delete_all

    s = state(ctx)
    client = s.client()
    targets = _targets(client, list(refs))
    every = refs == ("*",)
    if len(targets) == 1 and not every:  # one container: its failure is the command's, as always
        client.delete(targets[0][0])
        outcome = {"deleted": [targets[0][1]]}
        if not s.out.machine:
            s.out.console.print(f"deleted {targets[0][1]}", markup=False)
    else:
        # with '*', one deleted meanwhile by someone else is not an error
        outcome = delete_all(client, targets, s.out, missing_ok=every)
    if s.out.machine:
        s.out.document(outcome)
    elif not outcome["deleted"] and not outcome.get("errors"):
        s.out.err.print("no containers to delete", markup=False)
    if outcome.get("errors"):
        raise click.exceptions.Exit(1)


@app.command()
@click.argument("ref", required=False, help="NAME or id:UUID: show that container in full")
@click.pass_context
def servers(ctx: click.Context, ref: str | None) -> None:
    """List containers, or show one."""
    s = state(ctx)
    client = s.client()
    names = s.image_names()
    if ref is not None:
        s.out.document(container_doc(client.container(ref), names))
        return
    found = sorted(client.containers(), key=lambda c: (c.created, c.name))
    rows = [
        [
            c.name,
            s.out.status(c.status),
            (names(c.image_id) or [short_id(c.image_id)])[0],
            c.flavour_id,
            ", ".join(f"{net}={e.address}" for net, e in sorted(c.endpoints.items())),
            (iso(c.created) or "").replace("T", " ").rstrip("Z"),
            c.id,
        ]
        for c in found
    ]
    s.out.table(
        ["NAME", "STATUS", "IMAGE", "FLAVOUR", "ADDRESSES", "CREATED (UTC)", "ID"],
        rows,
        [container_doc(c, names) for c in found],
    )


@app.command()
@click.argument("ref", required=False, help="name:tag or id: show that image")
@click.pass_context
def images(ctx: click.Context, ref: str | None) -> None:
    """List the PoP's images, or show one."""
    s = state(ctx)
    found = s.client().images(ref)
    if ref is not None:
        if not found:
            import grpc

            from popvim.client import NotFound

            raise NotFound(grpc.StatusCode.NOT_FOUND, f"image {ref!r} not found")
        s.out.document(image_doc(found[0]))
        return
    rows = [
        [short_id(i.id), ", ".join(i.names) or "<none>", (iso(i.created) or "").replace("T", " ").rstrip("Z")]
        for i in found
    ]
    s.out.table(["ID", "NAMES", "CREATED (UTC)"], rows, [image_doc(i) for i in found])


@app.command()
@click.pass_context
def flavours(ctx: click.Context) -> None:
    """List flavours (they set CPU and memory limits)."""
    s = state(ctx)
    found = s.client().flavours()
    s.out.table(["ID", "NAME"], [[f.id, f.name] for f in found], [{"id": f.id, "name": f.name} for f in found])


@app.command()
@click.argument("ref", help="image reference, e.g. busybox:latest")
@click.pass_context
def pull(ctx: click.Context, ref: str) -> None:
    """Pull an image onto the PoP, with a progress bar per layer."""
    s = state(ctx)
    client = s.client()
    show = _PullBars(s.out.err, ref) if s.out.err.is_terminal else _PullLines(s.out.err, ref)
    image = None
    with show:
        for message in client.pull(ref):
            if message.image is not None:
                image = message.image
            else:
                show.update(message)
    if image is None:
        raise CliError(f"the pull of {ref!r} ended without an image")
    s.out.document(image_doc(image))


# Statuses the engine reports about one layer; anything else ("Pulling from x", "Digest: ...",
# "Status: ...") is about the whole pull, even when the engine puts the tag in its id field.
LAYER_STATUSES = (
    "Pulling fs layer",
    "Waiting",
    "Downloading",
    "Verifying Checksum",
    "Download complete",
    "Extracting",
    "Pull complete",
    "Already exists",
    "Retrying",
)


class _PullBars:
    """On a terminal: one line per layer with its bytes (when the engine reports totals) and a status line."""

    def __init__(self, console: Any, ref: str) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, ProgressColumn, TextColumn, TimeElapsedColumn
        from rich.text import Text

        class Bytes(ProgressColumn):
            """Bytes only where there is a total: "0/? bytes" on a status line says nothing."""

            def __init__(self) -> None:
                super().__init__()
                self._inner = DownloadColumn()

            def render(self, task: Any) -> Any:
                return self._inner.render(task) if task.total and task.fields.get("bytes", True) else Text("")

        self.ref = ref
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), Bytes(), TimeElapsedColumn(), console=console
        )
        self.overall = self.progress.add_task(f"{ref}: pulling", total=None, bytes=False)
        self.layers: dict[str, Any] = {}
        self.totals: dict[str, int] = {}

    def __enter__(self) -> _PullBars:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.update(self.overall, total=1, completed=1)
        self.progress.stop()

    def update(self, message: Any) -> None:
        if not message.layer or message.status not in LAYER_STATUSES:
            text = f"{self.ref}: {message.status}"  # bounded: a long "Digest: sha256:..." would squeeze the bars
            self.progress.update(self.overall, description=text if len(text) <= 60 else text[:59] + "…")
            return
        task = self.layers.get(message.layer)
        if task is None:
            task = self.layers[message.layer] = self.progress.add_task(message.layer[:12], total=None)
        label = f"{message.layer[:12]} {message.status}"
        if message.total > 0:  # bytes of this phase (download, then extraction) as the engine counts them
            self.totals[message.layer] = message.total
            self.progress.update(task, description=label, total=message.total, completed=message.current)
        elif message.status in ("Download complete", "Pull complete") and message.layer in self.totals:
            self.progress.update(task, description=label, completed=self.totals[message.layer])
        else:
            self.progress.update(task, description=label)


class _PullLines:
    """Not a terminal (a log, a pipe): one line per change of status, as ``docker pull`` does there."""

    def __init__(self, console: Any, ref: str) -> None:
        self.console = console
        self.ref = ref
        self.last: dict[str, str] = {}

    def __enter__(self) -> _PullLines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, message: Any) -> None:
        key = message.layer if message.status in LAYER_STATUSES else ""
        if self.last.get(key) == message.status:
            return
        self.last[key] = message.status
        size = f" ({message.total} bytes)" if message.total > 0 else ""
        who = message.layer[:12] if key else self.ref
        self.console.print(f"{who}: {message.status}{size}", markup=False, highlight=False, soft_wrap=True)


@app.command()
@click.argument("ref", help="NAME or id:UUID")
@click.option("--tail", "-n", type=click.IntRange(min=0), default=0, help="Only the last N lines (0: all).")
@click.option("--timestamps", "-t", is_flag=True, help="Prefix each line with its time.")
@click.pass_context
def logs(ctx: click.Context, ref: str, tail: int, timestamps: bool) -> None:
    """A container's output."""
    s = state(ctx)
    text = s.client().logs(ref, tail=tail, timestamps=timestamps)
    if s.out.machine:
        s.out.document({"logs": text})
    else:
        sys.stdout.write(text)


@app.command("exec")
@click.argument("ref", help="NAME or id:UUID of a RUNNING container")
@click.argument("command", nargs=-1, required=True, help="the command and its arguments (after --)")
@click.option("--env", "-e", multiple=True, help="NAME=value, repeatable.")
@click.pass_context
def exec_(ctx: click.Context, ref: str, command: tuple[str, ...], env: tuple[str, ...]) -> None:
    """Run a command in a running container: pop exec web -- ls -l /. Exits with its exit code."""
    s = state(ctx)
    s.error_exit_code = 125
    variables = dict(cli_args.split_pair(item) for item in env or [])
    result = s.client().exec(ref, list(command), variables or None)
    if s.out.machine:
        s.out.document({"exit_code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr})
    else:
        sys.stdout.write(result.stdout)
        sys.stdout.flush()
        sys.stderr.write(result.stderr)
    raise click.exceptions.Exit(result.exit_code)


# --- networks --------------------------------------------------------------------------------
@app.group(cls=Group, invoke_without_command=True, help="List networks (no subcommand), or create / delete one.")
@click.pass_context
def networks(ctx: click.Context) -> None:
    if ctx.invoked_subcommand is not None:
        return
    s = state(ctx)
    found = sorted(s.client().networks(), key=lambda n: n.name)
    rows = [
        [
            n.name,
            n.driver,
            ", ".join(f"{sn.cidr} via {sn.gateway}" if sn.gateway else sn.cidr for sn in n.subnets),
            "yes" if n.external else "no",
            n.id,
        ]
        for n in found
    ]
    s.out.table(["NAME", "DRIVER", "SUBNETS", "EXTERNAL", "ID"], rows, [network_doc(n) for n in found])


@networks.command("create")
@click.argument("name", help="network name")
@click.argument(
    "options", nargs=-1, help="subnet=CIDR ip_range=CIDR gateway=IP driver=bridge|macvlan|ipvlan|overlay internal=true"
)
@click.pass_context
def networks_create(ctx: click.Context, name: str, options: tuple[str, ...]) -> None:
    """Create a network (a free private subnet is chosen when none is given)."""
    s = state(ctx)
    s.out.document(network_doc(s.client().create_network(name, **cli_args.network_options(list(options)))))


@networks.command("delete")
@click.argument("name", help="NAME or id:ID")
@click.pass_context
def networks_delete(ctx: click.Context, name: str) -> None:
    """Delete a network no live container uses."""
    s = state(ctx)
    s.client().delete_network(name)
    s.out.note(f"deleted network {name}", {"deleted": name})


# --- metadata --------------------------------------------------------------------------------
def _show_metadata(s: State, ref: str) -> None:
    entries = s.client().container(ref).metadata
    if s.out.machine:
        s.out.document(dict(sorted(entries.items())))
    else:
        s.out.table(["KEY", "VALUE"], [[k, v] for k, v in sorted(entries.items())], [])


@app.group(cls=Group, help="A container's metadata: the environment it gets at start.")
def md() -> None:
    pass


@md.command("get")
@click.argument("ref", help="NAME or id:UUID")
@click.pass_context
def md_get(ctx: click.Context, ref: str) -> None:
    """Show a container's metadata."""
    _show_metadata(state(ctx), ref)


@md.command("set")
@click.argument("ref", help="NAME or id:UUID")
@click.argument("entries", nargs=-1, required=True, help="KEY=value to set, KEY= to delete")
@click.pass_context
def md_set(ctx: click.Context, ref: str, entries: tuple[str, ...]) -> None:
    """Merge metadata into a CREATED container (before start: it becomes the environment)."""
    s = state(ctx)
    s.client().set_metadata(ref, cli_args.metadata_entries(list(entries)))
    _show_metadata(s, ref)


app.add_lazy("ns", _ns)


# --- entry point -----------------------------------------------------------------------------
_GLOBAL_FLAGS = ("--json", "--yaml", "--tls")
_GLOBAL_WITH_VALUE = ("--host", "--timeout", "--ca", "--cert", "--key")


def hoist_global_options(argv: list[str]) -> list[str]:
    """Move global options to the front, so ``pop servers --json`` works like ``pop --json servers``.

    Click only accepts a group's options before the subcommand; people type
    them at the end. Nothing after ``--`` is touched (``pop exec web -- cmd --json``).
    """
    front: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest += argv[i:]
            break
        if arg in _GLOBAL_FLAGS or (arg.split("=", 1)[0] in _GLOBAL_WITH_VALUE and "=" in arg):
            front.append(arg)
        elif arg in _GLOBAL_WITH_VALUE and i + 1 < len(argv):
            front += [arg, argv[i + 1]]
            i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest


def _unreachable_reason(message: str) -> str:
    lowered = message.lower()
    if "connection refused" in lowered:
        return "connection refused"
    if "resolv" in lowered or "name not found" in lowered:
        return "cannot resolve the host name"
    return message


def _pop_failure(exc: Exception, current: State | None) -> tuple[str, int] | None:
    """The line and exit code for a failure the PoP reported; None for anything else.

    Only a command that called the PoP can fail so, and it has imported the client's errors."""
    errors = sys.modules.get("popvim.client.errors")
    if errors is None or not isinstance(exc, errors.PopError):
        return None
    code = current.error_exit_code if current else 1
    if isinstance(exc, errors.Unreachable):
        host = current.host if current else "?"
        return f"cannot reach PoP at {host}: {_unreachable_reason(exc.message)}", code
    return f"{exc.code.name}: {exc.message}", code


def _save_token(current: State) -> None:
    """Cache POP_AUTH's token for the next command; a cache that cannot be written only costs a login then."""
    try:
        current.save_token()
    except OSError as exc:
        sys.stderr.write(f"pop: warning: cannot cache the token: {exc.strerror or exc}\n")


def run(argv: list[str]) -> int:
    """Run one command; returns the exit code. Every failure becomes one line on stderr."""
    current: State | None = None

    def error(message: str, code: int) -> int:
        sys.stderr.write(f"pop: {message}\n")
        return code

    try:
        with app.make_context("pop", hoist_global_options(argv)) as ctx:
            current = ctx.obj if isinstance(ctx.obj, State) else None
            try:
                app.invoke(ctx)
            finally:
                current = ctx.obj if isinstance(ctx.obj, State) else current
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.NoArgsIsHelpError as exc:  # `pop` alone, or `pop md`: show the help
        sys.stdout.write(exc.format_message() + "\n")
        return 0
    except click.ClickException as exc:  # click's usage errors
        usage_ctx = getattr(exc, "ctx", None)
        hint = f" (see `{usage_ctx.command_path} --help`)" if usage_ctx is not None else ""
        return error(f"{exc.format_message()}{hint}", exc.exit_code)
    except click.Abort:
        return error("aborted", 1)
    except UsageError as exc:
        return error(str(exc), 2)
    except CliError as exc:
        return error(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return error("interrupted", 130)
    except BrokenPipeError:
        return 1
    except Exception as exc:
        failure = _pop_failure(exc, current)
        if failure is not None:
            return error(*failure)
        if os.environ.get("POP_DEBUG"):
            raise
        return error(f"internal error: {type(exc).__name__}: {exc} (POP_DEBUG=1 shows the traceback)", 1)
    finally:
        if current is not None:
            _save_token(current)


def main(argv: list[str] | None = None) -> None:
    code = run(list(sys.argv[1:] if argv is None else argv))
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    sys.exit(code)


if __name__ == "__main__":
    main()
