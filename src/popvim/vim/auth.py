"""Users (bcrypt hashes only) and session tokens.

Tokens are random, handed out once, and stored as SHA-256 digests with their
expiry, so they survive a daemon restart (an orchestrator keeps its session)
while a copy of the database reveals none. Verification is cached in memory
because every request pays for it.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
from concurrent.futures import Future
from datetime import UTC, datetime, timedelta

import bcrypt
from sqlalchemy import delete, func, select

from popvim.logtext import shown
from popvim.store.db import Store
from popvim.store.models import TokenRow
from popvim.vim.errors import BadCredentials, PermissionDenied, TooBusy, Unauthenticated
from popvim.vim.limits import BoundedExecutor, Limits, RateLimiter

log = logging.getLogger(__name__)

# A real hash to compare against when the user is unknown, so that a wrong user
# name costs as much time as a wrong password and reveals nothing.
_DUMMY_HASH = bcrypt.hashpw(b"popvim-dummy", bcrypt.gensalt(rounds=12))


# bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
MAX_PASSWORD_BYTES = 72


def hash_password(password: str, rounds: int = 12) -> str:
    if not password or len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password must be 1 to {MAX_PASSWORD_BYTES} bytes long")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def now() -> datetime:
    """UTC without tzinfo: what every supported database stores the same way."""
    return datetime.now(UTC).replace(tzinfo=None)


class AuthService:
    def __init__(self, store: Store, users: dict[str, str], ttl_seconds: int, limits: Limits | None = None) -> None:
        if not users:
            raise ValueError("at least one user is needed")
        self._store = store
        self._users = dict(users)
        self._ttl = timedelta(seconds=ttl_seconds)
        self._cache: dict[str, tuple[str, datetime]] = {}
        self._lock = threading.Lock()
        limits = limits or Limits()
        self._tokens_per_user = limits.tokens_per_user
        # Failed logins drain these; a client or user with none left is refused before bcrypt runs.
        self._client_failures = RateLimiter(limits.login_failures_per_client, limits.login_failure_rate_per_client)
        self._user_failures = RateLimiter(limits.login_failures_per_user, limits.login_failure_rate_per_user)
        # bcrypt is slow on purpose: a few threads of it, and a short queue, whatever the flood.
        self._checkers = BoundedExecutor("logins", limits.login_workers, limits.login_queue, "popvim-login")

    def close(self) -> None:
        self._checkers.shutdown()

    def add_user(self, username: str, password_hash: str) -> None:
        self._users[username] = password_hash

    @property
    def usernames(self) -> list[str]:
        return sorted(self._users)

    def login(self, username: str, password: str, client: str = "") -> tuple[str, datetime]:
        return self.submit_login(username, password, client).result()

    def submit_login(self, username: str, password: str, client: str = "") -> Future[tuple[str, datetime]]:
        """The login, checked on the small bcrypt pool; refused at once (TooBusy) when the client
        or the user failed too often lately, or when too many logins wait already."""
        if not username or not password:
            raise BadCredentials("username and password are required")
        if client and not self._client_failures.allowed(client):
            raise TooBusy("too many failed logins from this address; wait a few seconds")
        if not self._user_failures.allowed(username):
            raise TooBusy("too many failed logins for this user; wait a minute")
        return self._checkers.submit(self._login, username, password, client)

    def _login(self, username: str, password: str, client: str) -> tuple[str, datetime]:
        stored = self._users.get(username)
        too_long = len(password.encode(errors="replace")) > MAX_PASSWORD_BYTES
        matches = not too_long and bcrypt.checkpw(password.encode(), stored.encode() if stored else _DUMMY_HASH)
        if not (stored and matches):
            self._user_failures.spend(username)
            if client:
                self._client_failures.spend(client)
            log.info("login refused user=%s", shown(username))
            raise BadCredentials("invalid username or password")
        token = secrets.token_urlsafe(32)
        expires = now() + self._ttl
        with self._store.session() as session:
            session.execute(delete(TokenRow).where(TokenRow.expires_at < now()))
            session.add(TokenRow(digest=_digest(token), username=username, expires_at=expires))
        self._cap_tokens(username)
        log.info("login user=%s expires_at=%s", shown(username), expires.isoformat())
        return token, expires

    def _cap_tokens(self, username: str) -> None:
        """At most ``tokens_per_user`` live tokens per user: the oldest beyond are revoked."""
        with self._store.session() as session:
            count = session.scalar(select(func.count()).select_from(TokenRow).where(TokenRow.username == username))
            if not count or count <= self._tokens_per_user:
                return
            oldest = session.scalars(
                select(TokenRow.digest).where(TokenRow.username == username)
                .order_by(TokenRow.expires_at).limit(count - self._tokens_per_user)
            ).all()
            session.execute(delete(TokenRow).where(TokenRow.digest.in_(oldest)))
        with self._lock:
            for digest in oldest:
                self._cache.pop(digest, None)
        log.info("revoked %d oldest tokens of user=%s (at most %d each)", len(oldest), shown(username), self._tokens_per_user)

    def purge_expired(self) -> None:
        """Expired tokens leave the database and the cache (also done at each login)."""
        moment = now()
        with self._store.session() as session:
            session.execute(delete(TokenRow).where(TokenRow.expires_at < moment))
        with self._lock:
            for digest in [d for d, (_user, expires) in self._cache.items() if expires <= moment]:
                del self._cache[digest]

    def verify(self, token: str | None) -> str:
        """The user the token belongs to; raises when it is missing, unknown or expired."""
        if not token:
            raise Unauthenticated("a token is required")
        digest = _digest(token)
        with self._lock:
            cached = self._cache.get(digest)
        if cached is None:
            with self._store.session() as session:
                row = session.get(TokenRow, digest)
                cached = (row.username, row.expires_at) if row else None
            if cached is None or cached[0] not in self._users:
                raise PermissionDenied("unknown token")
            with self._lock:
                self._cache[digest] = cached
        username, expires = cached
        if expires <= now():
            self.logout([token])
            raise PermissionDenied("token expired")
        return username

    def logout(self, tokens: list[str]) -> None:
        digests = [_digest(t) for t in tokens if t]
        with self._lock:
            for d in digests:
                self._cache.pop(d, None)
        with self._store.session() as session:
            session.execute(delete(TokenRow).where(TokenRow.digest.in_(digests)))
