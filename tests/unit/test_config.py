"""popvimd's configuration: init writes a usable file, bad files are refused clearly."""

from __future__ import annotations

import stat
from pathlib import Path

import bcrypt
import pytest
from typer.testing import CliRunner

from popvim import config as cfg
from popvim.daemon import app


def test_init_writes_a_config_with_only_a_bcrypt_hash(tmp_path: Path) -> None:
    target = tmp_path / "popvimd.toml"
    result = CliRunner().invoke(
        app,
        ["init", "--config", str(target), "--state-dir", str(tmp_path / "state")],
        input="ops\nnot-in-the-file\nnot-in-the-file\n",
    )
    assert result.exit_code == 0, result.output
    text = target.read_text()
    assert "not-in-the-file" not in text
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    loaded = cfg.load(target)
    assert loaded.state_dir == tmp_path / "state"
    assert bcrypt.checkpw(b"not-in-the-file", loaded.users["ops"].password_hash.encode())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[pop]\nbogus = 1\n", "unknown key [pop].bogus"),
        ('[pop]\ntoken_ttl = "1h"\n', "token_ttl"),
        ("[pop]\ntoken_ttl = 0\n", "token_ttl"),
        ('[network]\npool = "nonsense"\n', "pool"),
        ('[users]\nann = "plaintext"\n', "bcrypt hash"),
        ('[users.ann]\npassword = "$2b$x"\nrole = "root"\n', "role must be one of"),
        ('[policy]\ncap_add = ["ALL"]\n', "ALL can never be allowed"),
        ('[policy]\nbind_mounts = ["/"]\n', "would allow every host path"),
        ('[policy]\nhost_ports = "80-20"\n', "host_ports"),
        ("[policy]\nopen = true\n", "unknown key"),
        ("not toml = = =", "cannot read config"),
        ('[pop]\nadvertise_address = "127.0.0.1"\n', "is not an address another site can reach"),
        ('[pop]\nadvertise_address = "site1.example"\n', "advertise_address 'site1.example' is not an IP address"),
    ],
)
def test_bad_config_files_are_refused_with_the_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        cfg.load(path)


def test_generated_admin_is_shown_once_off_the_log_and_kept_as_a_hash(tmp_path: Path, monkeypatch, capsys) -> None:
    """Without a terminal (as under pytest) the password goes to a 0600 file, never to stderr."""
    monkeypatch.delenv("POPD_AUTH", raising=False)
    monkeypatch.setattr(cfg, "TERMINAL", str(tmp_path / "no-such-dir" / "tty"))
    first = cfg.Config(state_dir=tmp_path)
    cfg.ensure_users(first)
    shown = tmp_path / "admin-password"
    password = shown.read_text().rsplit(": ", 1)[1].strip()
    assert shown.stat().st_mode & 0o777 == 0o600
    assert password not in capsys.readouterr().err
    assert bcrypt.checkpw(password.encode(), first.users["admin"].password_hash.encode())
    assert password not in (tmp_path / "users.toml").read_text()
    shown.unlink()
    again = cfg.Config(state_dir=tmp_path)
    cfg.ensure_users(again)
    assert again.users == first.users and not shown.exists()


def test_popd_auth_gives_several_users(monkeypatch) -> None:
    monkeypatch.setenv("POPD_AUTH", "a:1,b:2")
    config = cfg.Config()
    cfg.ensure_users(config)
    assert sorted(config.users) == ["a", "b"]
    with pytest.raises(ValueError):
        cfg.users_from_env("nocolon")


def test_region_names_the_openstack_catalogs_region(tmp_path: Path) -> None:
    path = tmp_path / "popvimd.toml"
    path.write_text('[pop]\nregion = "edge-7"\n')
    assert cfg.load(path).settings().region == "edge-7"
    assert cfg.Config().settings().region == "RegionOne"
