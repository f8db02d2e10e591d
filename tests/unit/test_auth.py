"""Tokens: issued on good credentials only, stored as digests, expiring, revocable."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from popvim.clock import utcnow
from popvim.store.db import Store
from popvim.store.models import TokenRow
from popvim.vim import auth
from popvim.vim.auth import AuthService, hash_password
from popvim.vim.errors import BadCredentials, PermissionDenied, Unauthenticated


@pytest.fixture
def service(tmp_path) -> AuthService:
    return AuthService(Store(f"sqlite:///{tmp_path / 'a.db'}"), {"ann": hash_password("pw", rounds=4)}, 60)


def test_login_and_verify(service: AuthService) -> None:
    token, expires = service.login("ann", "pw")
    assert service.verify(token) == "ann"
    assert expires > utcnow()


@pytest.mark.parametrize(("user", "password"), [("ann", "nope"), ("bob", "pw"), ("", "pw"), ("ann", "x" * 100)])
def test_bad_credentials(service: AuthService, user: str, password: str) -> None:
    with pytest.raises(BadCredentials):
        service.login(user, password)


def test_only_a_digest_is_stored(service: AuthService, tmp_path) -> None:
    token, _ = service.login("ann", "pw")
    with service._store.session() as session:  # noqa: SLF001 - inspecting what is at rest
        digests = session.scalars(select(TokenRow.digest)).all()
    assert digests == [hashlib.sha256(token.encode()).hexdigest()]


def test_missing_unknown_expired_and_logged_out(service: AuthService, monkeypatch) -> None:
    with pytest.raises(Unauthenticated):
        service.verify("")
    with pytest.raises(PermissionDenied):
        service.verify("made-up")
    token, _ = service.login("ann", "pw")
    later = utcnow() + timedelta(seconds=61)
    monkeypatch.setattr(auth, "utcnow", lambda: later)
    with pytest.raises(PermissionDenied, match="expired"):
        service.verify(token)
    monkeypatch.undo()
    other, _ = service.login("ann", "pw")
    service.logout([other])
    with pytest.raises(PermissionDenied):
        service.verify(other)


def test_passwords_longer_than_bcrypt_reads_are_refused() -> None:
    with pytest.raises(ValueError):
        hash_password("x" * 73)
