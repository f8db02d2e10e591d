"""TLS on both faces: the Pop protocol (with mTLS when a client CA is set) and REST over HTTPS,
the orchestrator reaching its own PoP and a registered one over TLS, and `popvimd init --tls`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import docker
import httpx
import pytest
import trustme
from cryptography import x509
from support.daemon import PASSWORD, USER, ClientTls, Daemon, free_port
from support.nslcm import deploy, vnf, wait_op

from popvim.client import PopClient, Unreachable


class Pki:
    """One CA with a server certificate for loopback and a client certificate, as files."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.ca = trustme.CA()
        self.ca_file = directory / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        server = self.ca.issue_cert("127.0.0.1", "localhost", "::1")
        self.cert, self.key = directory / "server.pem", directory / "server-key.pem"
        self.cert.write_bytes(b"".join(p.bytes() for p in server.cert_chain_pems))
        server.private_key_pem.write_to_path(str(self.key))
        client = self.ca.issue_cert("popvim-test-client")
        self.client_cert, self.client_key = directory / "client.pem", directory / "client-key.pem"
        self.client_cert.write_bytes(b"".join(p.bytes() for p in client.cert_chain_pems))
        client.private_key_pem.write_to_path(str(self.client_key))

    def server_config(self, *, mtls: bool) -> str:
        lines = ["[tls]", f'cert = "{self.cert}"', f'key = "{self.key}"', f'ca = "{self.ca_file}"']
        if mtls:
            lines += [
                f'client_ca = "{self.ca_file}"',
                f'client_cert = "{self.client_cert}"',
                f'client_key = "{self.client_key}"',
            ]
        return "\n".join(lines) + "\n"

    def client(self, *, with_certificate: bool) -> ClientTls:
        if with_certificate:
            return ClientTls(self.ca_file, self.client_cert, self.client_key)
        return ClientTls(self.ca_file)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def other_pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return Pki(tmp_path_factory.mktemp("other-pki"))


def _started(engine: docker.DockerClient, path: Path, pki: Pki, *, mtls: bool) -> Iterator[Daemon]:
    d = Daemon(path, config_text=pki.server_config(mtls=mtls), tls=pki.client(with_certificate=mtls)).start()
    yield d
    d.stop()
    d.purge()


@pytest.fixture(scope="module")
def tls_daemon(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Daemon]:
    yield from _started(engine, tmp_path_factory.mktemp("tls"), pki, mtls=False)


@pytest.fixture(scope="module")
def mtls_daemon(engine: docker.DockerClient, tmp_path_factory: pytest.TempPathFactory, pki: Pki) -> Iterator[Daemon]:
    yield from _started(engine, tmp_path_factory.mktemp("mtls"), pki, mtls=True)


def _pop(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "POP_AUTH": f"{USER}:{PASSWORD}", **(env or {})}
    for name in ("POP_CA", "POP_CERT", "POP_KEY", "POP_TLS"):
        if env is None or name not in env:
            full_env.pop(name, None)
    return subprocess.run(
        [sys.executable, "-m", "popvim.cli.main", *args], capture_output=True, text=True, env=full_env, timeout=60
    )


def _one_vnf_nsd(image: str, name: str, pop: str | None = None) -> dict:
    return {
        "name": name,
        "vendor": "popvim",
        "version": "1.0",
        "vld": [{"name": "private"}],
        "vnfd": [
            {
                "name": "server",
                "vendor": "popvim",
                "version": "1.0",
                "type": "server",
                "vdu": [
                    {
                        "vm_image": [image],
                        "scale_in_out": 1,
                        "vnfc": [{"connection_point": [{"virtual_link_reference": "private"}]}],
                        "vimInstanceName": [pop] if pop else [],
                    }
                ],
                "virtual_link": [{"name": "private"}],
                "deployment_flavour": [{"flavour_key": "docker.container"}],
            }
        ],
    }


def _deploy_and_terminate(api: httpx.Client, descriptor: dict, while_up: Callable[[dict], None] | None = None) -> dict:
    instance, op = deploy(api, descriptor)
    assert op["operationState"] == "COMPLETED", op
    record = api.get(f"/nslcm/v1/ns_instances/{instance['id']}").json()
    if while_up:
        while_up(record)
    end = api.post(f"/nslcm/v1/ns_instances/{instance['id']}/terminate")
    assert wait_op(api, end.headers["Location"])["operationState"] == "COMPLETED"
    return record


def test_pop_protocol_over_tls_with_the_client_library_and_pop_ca(tls_daemon: Daemon, pki: Pki, other_pki: Pki) -> None:
    address = f"127.0.0.1:{tls_daemon.pop_port}"
    client = PopClient(address, USER, PASSWORD, timeout=10, **pki.client(with_certificate=False).pop_options())
    assert client.info().name == tls_daemon.name
    assert isinstance(client.containers(), list)
    with pytest.raises(Unreachable):  # plain text to a TLS listener
        PopClient(address, USER, PASSWORD, timeout=5).info()
    with pytest.raises(Unreachable):  # a certificate from a CA the client does not trust
        PopClient(address, USER, PASSWORD, timeout=5, **other_pki.client(with_certificate=False).pop_options()).info()

    by_flag = _pop("--host", address, "--ca", str(pki.ca_file), "--json", "servers")
    assert by_flag.returncode == 0, by_flag.stderr
    assert isinstance(json.loads(by_flag.stdout), list)
    by_env = _pop("--host", address, "info", env={"POP_CA": str(pki.ca_file)})
    assert by_env.returncode == 0 and tls_daemon.name in by_env.stdout, by_env.stderr
    untrusted = _pop("--host", address, "--ca", str(other_pki.ca_file), "servers")
    assert untrusted.returncode == 1 and untrusted.stderr.startswith("pop: "), untrusted.stderr


def test_rest_over_https(tls_daemon: Daemon, pki: Pki) -> None:
    assert tls_daemon.url.startswith("https://")
    health = httpx.get(f"{tls_daemon.url}/health", verify=pki.client(with_certificate=False).context())
    assert health.status_code == 200
    with tls_daemon.client() as api:
        assert api.get("/v1/containers").status_code == 200
    with pytest.raises(httpx.ConnectError):  # the system's roots do not know this CA
        httpx.get(f"{tls_daemon.url}/health")
    with pytest.raises(httpx.HTTPError):  # and nothing answers in plain text
        httpx.get(f"http://127.0.0.1:{tls_daemon.port}/health", timeout=5)


def test_orchestrator_reaches_its_own_pop_over_tls(tls_daemon: Daemon, idle_image: str) -> None:
    with tls_daemon.client() as api:
        record = _deploy_and_terminate(api, _one_vnf_nsd(idle_image, "tls-local"))
    assert vnf(record, "server")["vnfcs"][0]["state"] == "RUNNING"


def test_mtls_refuses_a_client_without_a_certificate(mtls_daemon: Daemon, pki: Pki, other_pki: Pki) -> None:
    address = f"127.0.0.1:{mtls_daemon.pop_port}"
    with pytest.raises(Unreachable):
        PopClient(address, USER, PASSWORD, timeout=5, **pki.client(with_certificate=False).pop_options()).info()
    with pytest.raises(Unreachable):  # a certificate, but from a CA the PoP does not trust
        options = {
            **pki.client(with_certificate=False).pop_options(),
            "client_certificate": other_pki.client_cert.read_bytes(),
            "client_key": other_pki.client_key.read_bytes(),
        }
        PopClient(address, USER, PASSWORD, timeout=5, **options).info()
    with_certificate = PopClient(address, USER, PASSWORD, timeout=10, **pki.client(with_certificate=True).pop_options())
    assert with_certificate.info().name == mtls_daemon.name

    refused = _pop("--host", address, "--ca", str(pki.ca_file), "servers")
    assert refused.returncode == 1, refused.stdout
    accepted = _pop(
        "--host",
        address,
        "servers",
        env={"POP_CA": str(pki.ca_file), "POP_CERT": str(pki.client_cert), "POP_KEY": str(pki.client_key)},
    )
    assert accepted.returncode == 0, accepted.stderr

    with pytest.raises(httpx.HTTPError):  # REST too: no certificate, no HTTP
        httpx.get(f"{mtls_daemon.url}/health", verify=pki.client(with_certificate=False).context(), timeout=5)
    assert httpx.get(f"{mtls_daemon.url}/health", verify=pki.client(with_certificate=True).context()).status_code == 200


def test_orchestrator_reaches_its_own_pop_over_mtls(mtls_daemon: Daemon, idle_image: str) -> None:
    with mtls_daemon.client() as api:
        record = _deploy_and_terminate(api, _one_vnf_nsd(idle_image, "mtls-local"))
    assert vnf(record, "server")["vnfcs"][0]["popName"] == mtls_daemon.name


def test_a_registered_tls_pop_is_verified_and_deployed_on(
    mtls_daemon: Daemon, fresh_daemon: Daemon, engine: docker.DockerClient, pki: Pki, other_pki: Pki, idle_image: str
) -> None:
    """The orchestrator (plain-text faces of its own) reaches a PoP that requires mTLS: its
    [tls].ca verifies the PoP when the registration names no CA, and its client certificate
    gets it in; a registration naming another CA fails at the handshake."""
    orchestrator = fresh_daemon
    orchestrator.config_text = (
        f'[tls]\nca = "{pki.ca_file}"\nclient_cert = "{pki.client_cert}"\nclient_key = "{pki.client_key}"\n'
    )
    orchestrator.start()
    address = f"127.0.0.1:{mtls_daemon.pop_port}"
    with orchestrator.client() as api:
        bad_pem = api.post(
            "/v1/pops",
            json={
                "name": "tls-junk",
                "address": address,
                "username": USER,
                "password": PASSWORD,
                "tls": True,
                "ca_certificate": "not a PEM",
            },
        )
        assert bad_pem.status_code == 422
        for name, ca in (("tls-site", None), ("tls-wrong-ca", other_pki.ca.cert_pem.bytes().decode())):
            r = api.post(
                "/v1/pops",
                json={
                    "name": name,
                    "address": address,
                    "username": USER,
                    "password": PASSWORD,
                    "tls": True,
                    "ca_certificate": ca,
                },
            )
            assert r.status_code == 201, r.text

        def on_the_remote_pop(record: dict) -> None:
            server = vnf(record, "server")["vnfcs"][0]
            assert server["popName"] == "tls-site"
            assert engine.containers.get(server["containerId"]).labels["io.popvim.pop"] == mtls_daemon.name

        _deploy_and_terminate(api, _one_vnf_nsd(idle_image, "tls-remote", pop="tls-site"), on_the_remote_pop)
        _, op = deploy(api, _one_vnf_nsd(idle_image, "tls-wrong", pop="tls-wrong-ca"))
        assert op["operationState"] == "FAILED" and "UNAVAILABLE" in op["error"], op


def test_plain_text_off_loopback_is_refused_at_start(tmp_path: Path) -> None:
    args = [
        sys.executable,
        "-m",
        "popvim.daemon",
        "--state-dir",
        str(tmp_path / "s"),
        "--listen",
        f"0.0.0.0:{free_port()}",
        "--pop-listen",
        f"127.0.0.1:{free_port()}",
    ]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=60, env={**os.environ, "POPD_AUTH": f"{USER}:{PASSWORD}"}
    )
    assert done.returncode == 2, done.stderr
    assert "not loopback and TLS is off" in done.stderr and "allow_plaintext" in done.stderr


def test_init_tls_makes_a_ca_and_certificates_a_daemon_serves_with(
    engine: docker.DockerClient, tmp_path: Path, idle_image: str
) -> None:
    state = tmp_path / "state"
    config = tmp_path / "popvimd.toml"
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "popvim.daemon",
            "init",
            "--config",
            str(config),
            "--user",
            USER,
            "--password",
            PASSWORD,
            "--state-dir",
            str(state),
            "--tls",
            "--mtls",
            "--san",
            "pop.example.test",
            "--san",
            "192.0.2.7",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    tls = state / "tls"
    for key in ("ca-key.pem", "server-key.pem", "client-key.pem"):
        assert (tls / key).stat().st_mode & 0o777 == 0o600, key
    assert state.stat().st_mode & 0o777 == 0o700
    server = x509.load_pem_x509_certificate((tls / "server.pem").read_bytes())
    sans = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = set(sans.get_values_for_type(x509.DNSName)) | {str(a) for a in sans.get_values_for_type(x509.IPAddress)}
    assert {"localhost", "127.0.0.1", "::1", "pop.example.test", "192.0.2.7"} <= names

    d = Daemon(
        state, config_text=config.read_text(), tls=ClientTls(tls / "ca.pem", tls / "client.pem", tls / "client-key.pem")
    ).start()
    try:
        with d.client() as api:
            record = _deploy_and_terminate(api, _one_vnf_nsd(idle_image, "init-tls"))
        assert vnf(record, "server")["vnfcs"][0]["popName"] == d.name
        listed = _pop(
            "--host",
            f"127.0.0.1:{d.pop_port}",
            "--ca",
            str(tls / "ca.pem"),
            "--cert",
            str(tls / "client.pem"),
            "--key",
            str(tls / "client-key.pem"),
            "servers",
        )
        assert listed.returncode == 0, listed.stderr
    finally:
        d.stop()
        d.purge()
