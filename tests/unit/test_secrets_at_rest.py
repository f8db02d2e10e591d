"""Secrets at rest (PoP passwords), SQL errors without bound values, user text in log lines."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from popvim.logtext import shown
from popvim.nfv.pops import LocalPop, PopConfig, PopRegistry
from popvim.store.db import Store
from popvim.store.nfv_models import PopRow
from popvim.store.secrets import SecretBox


def test_the_key_is_made_once_private_and_reused(tmp_path: Path) -> None:
    box = SecretBox.in_state_dir(tmp_path)
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    sealed = box.seal("hunter2")
    assert "hunter2" not in sealed and SecretBox.is_sealed(sealed)
    assert SecretBox.in_state_dir(tmp_path).open(sealed) == "hunter2"
    with pytest.raises(ValueError, match="cannot be decrypted"):
        SecretBox(SecretBox.new_key()).open(sealed)


def test_clear_passwords_of_an_older_popvim_are_encrypted_at_start(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    with store.session() as session:
        session.add(
            PopRow(
                name="old",
                address="10.0.0.1:60000",
                username="u",
                password="clear-secret",
                site="",
                tls=False,
                is_local=False,
                created_at=datetime(2026, 1, 1),
            )
        )
    box = SecretBox.in_state_dir(tmp_path)
    registry = PopRegistry(store, LocalPop("here", "127.0.0.1:60000", "o", "p"), box)
    with store.session() as session:
        assert SecretBox.is_sealed(session.get(PopRow, "old").password)
    assert registry.client("old").credentials.password == "clear-secret"
    registry.register(PopConfig(name="new", address="10.0.0.2:60000", username="u", password="new-secret"))
    assert b"new-secret" not in (tmp_path / "p.db").read_bytes()
    assert registry.client("new").credentials.password == "new-secret"
    assert (tmp_path / "p.db").stat().st_mode & 0o777 == 0o600
    store.close()


def test_sql_errors_do_not_carry_bound_values(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'p.db'}")
    with pytest.raises(IntegrityError) as caught, store.session() as session:
        for _ in range(2):
            session.execute(
                text(
                    "INSERT INTO pops (name, address, username, password, site, tls, is_local, "
                    "created_at) VALUES ('x', 'a', 'u', :pw, '', 0, 0, '2026-01-01')"
                ),
                {"pw": "bound-secret"},
            )
    assert "bound-secret" not in str(caught.value)
    store.close()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("admin", "admin"),
        ("a b", '"a b"'),
        ("x\nlevel=ERROR", '"x\\nlevel=ERROR"'),
        ("\x1b[31mred", '"\\u001b[31mred"'),
        ("é", '"\\u00e9"'),
        ("a" * 70, "a" * 64 + "..."),
    ],
)
def test_user_text_is_escaped_and_cut(value: str, expected: str) -> None:
    assert shown(value) == expected
