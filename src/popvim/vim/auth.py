"""Users (bcrypt hashes only) and session tokens.

Tokens are random, handed out once, and stored as SHA-256 digests with their
expiry, so they survive a daemon restart (an orchestrator keeps its session)
while a copy of the database reveals none. Verification is cached in memory
because every request pays for it, but only for ``CACHE_SECONDS``: a token
revoked elsewhere (``popvimd user passwd|del`` deletes its row) stops working
within about a second.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import datetime, timedelta

import bcrypt
from sqlalchemy import delete, func, select

from popvim.clock import utcnow
from popvim.logtext import shown
from popvim.store.db import Store
from popvim.store.models import TokenRow
from popvim.vim.errors import BadCredentials, Forbidden, LoginsRefused, PermissionDenied, TooBusy, Unauthenticated
from popvim.vim.limits import BoundedExecutor, Limits, RateLimiter
from popvim.vim.users import Role, User, UserDirectory

log = logging.getLogger(__name__)

# A real hash to compare against when the user is unknown, so that a wrong user
# name costs as much time as a wrong password and reveals nothing.
_DUMMY_HASH = bcrypt.hashpw(b"popvim-dummy", bcrypt.gensalt(rounds=12))


# How long a verified token is trusted without looking at its row again.
CACHE_SECONDS = 1.0

# bcrypt reads at most 72 bytes; longer passwords are refused rather than silently cut.
MAX_PASSWORD_BYTES = 72


def hash_password(password: str, rounds: int = 12) -> str:
    if not password or len(password.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"a password must be 1 to {MAX_PASSWORD_BYTES} bytes long")
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=rounds)).decode()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def revoke_user_tokens(store: Store, usernames: list[str]) -> int:
    """Delete every token of these users; returns how many there were."""
    if not usernames:
        return 0
    with store.session() as session:
        result = session.execute(delete(TokenRow).where(TokenRow.username.in_(usernames)))
        return int(getattr(result, "rowcount", 0) or 0)  # a CursorResult for DML


class AuthService:
    def __init__(
        self, store: Store, users: Mapping[str, str] | UserDirectory, ttl_seconds: int, limits: Limits | None = None
    ) -> None:
        """``users`` maps names to bcrypt hashes (all admins), or is a directory with roles."""
        if not isinstance(users, UserDirectory):
            users = UserDirectory({name: User(hashed) for name, hashed in users.items()})
        if not users.names:
            raise ValueError("at least one user is needed")
        self._store = store
        self._users = users
        self._ttl = timedelta(seconds=ttl_seconds)
        # digest -> (username, expires_at, monotonic time of the last look at its row)
        self._cache: dict[str, tuple[str, datetime, float]] = {}
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

    def add_user(self, username: str, password_hash: str, role: Role = Role.ADMIN) -> None:
        """A user of this process only (never written to a file)."""
        self._users.add(username, User(password_hash, role))

    @property
    def usernames(self) -> list[str]:
        return self._users.names

    def role_of(self, username: str) -> Role:
        user = self._users.get(username)
        if user is None:
            raise PermissionDenied("unknown user")
        return user.role

    def authorize(self, username: str, needed: Role, what: str) -> None:
        """Raises Forbidden unless ``username``'s role allows ``what``, which needs ``needed``."""
        role = self.role_of(username)
        if not role.allows(needed):
            raise Forbidden(f"user {username!r} has role {role.value}; {what} needs {needed.value}")

    def _refresh(self) -> None:
        """Pick up a changed users file; end the tokens of users deleted or given a new password."""
        ended = self._users.refresh()
        if not ended:
            return
        with self._lock:
            for digest in [d for d, (user, *_rest) in self._cache.items() if user in ended]:
                del self._cache[digest]
        revoke_user_tokens(self._store, ended)

    def login(self, username: str, password: str, client: str = "") -> tuple[str, datetime]:
        return self.submit_login(username, password, client).result()

    def submit_login(self, username: str, password: str, client: str = "") -> Future[tuple[str, datetime]]:
        """The login, checked on the small bcrypt pool; refused at once (TooBusy) when the client
        or the user failed too often lately, or when too many logins wait already."""
        if not username or not password:
            raise BadCredentials("username and password are required")
        # A failure is charged before bcrypt runs and given back if the password was right: charged
        # after, a flood's 60 parallel attempts all passed the check before the first one failed,
        # and kept a core busy with bcrypt for as long as the flood lasted.
        if client and not self._client_failures.spend(client):
            raise LoginsRefused("too many failed logins from this address; wait a few seconds")
        if not self._user_failures.spend(username):
            if client:
                self._client_failures.refund(client)  # refused unchecked: no attempt to count
            raise LoginsRefused("too many failed logins for this user; wait a minute")
        try:
            return self._checkers.submit(self._login, username, password, client)
        except TooBusy as exc:
            self._refund(username, client)
            raise LoginsRefused(exc.message) from exc

    def _refund(self, username: str, client: str) -> None:
        self._user_failures.refund(username)
        if client:
            self._client_failures.refund(client)

    def _login(self, username: str, password: str, client: str) -> tuple[str, datetime]:
        self._refresh()
        user = self._users.get(username)
        stored = user.password_hash if user else None
        too_long = len(password.encode(errors="replace")) > MAX_PASSWORD_BYTES
        matches = not too_long and bcrypt.checkpw(password.encode(), stored.encode() if stored else _DUMMY_HASH)
        if not (stored and matches):  # the failure was charged when the login was submitted
            log.info("login refused user=%s", shown(username))
            raise BadCredentials("invalid username or password")
        self._refund(username, client)
        token = secrets.token_urlsafe(32)
        expires = utcnow() + self._ttl
        with self._store.session() as session:
            session.execute(delete(TokenRow).where(TokenRow.expires_at < utcnow()))
            session.add(TokenRow(digest=_digest(token), username=username, expires_at=expires))
        current = self._users.get(username)
        if current is None or current.password_hash != stored:
            # The password changed (or the user went) while bcrypt ran: the reload that noticed
            # may have revoked before this row existed, so this login must not stand.
            self.logout([token])
            raise BadCredentials("invalid username or password")
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
                select(TokenRow.digest)
                .where(TokenRow.username == username)
                .order_by(TokenRow.expires_at)
                .limit(count - self._tokens_per_user)
            ).all()
            session.execute(delete(TokenRow).where(TokenRow.digest.in_(oldest)))
        with self._lock:
            for digest in oldest:
                self._cache.pop(digest, None)
        log.info(
            "revoked %d oldest tokens of user=%s (at most %d each)", len(oldest), shown(username), self._tokens_per_user
        )

    def purge_expired(self) -> None:
        """Expired tokens leave the database and the cache (also done at each login)."""
        moment = utcnow()
        with self._store.session() as session:
            session.execute(delete(TokenRow).where(TokenRow.expires_at < moment))
        with self._lock:
            for digest in [d for d, (_user, expires, _checked) in self._cache.items() if expires <= moment]:
                del self._cache[digest]

    def verify_cached(self, token: str | None) -> str | None:
        """The token's user when ``verify`` would say so without any I/O (a fresh cache entry, no
        users-file check due), else None: then ``verify``, on a thread. Lets the event loop check a
        busy client's token itself instead of handing every request to a thread and back."""
        if not token or self._users.refresh_due():
            return None
        with self._lock:
            cached = self._cache.get(_digest(token))
        if cached is None or time.monotonic() - cached[2] > CACHE_SECONDS:
            return None
        username, expires, _checked = cached
        if self._users.get(username) is None or expires <= utcnow():
            return None
        return username

    def verify(self, token: str | None) -> str:
        """The user the token belongs to; raises when it is missing, unknown or expired."""
        if not token:
            raise Unauthenticated("a token is required")
        self._refresh()
        digest = _digest(token)
        with self._lock:
            cached = self._cache.get(digest)
        if cached is None or time.monotonic() - cached[2] > CACHE_SECONDS:
            with self._store.session() as session:
                row = session.get(TokenRow, digest)
                cached = (row.username, row.expires_at, time.monotonic()) if row else None
            if cached is None:
                with self._lock:
                    self._cache.pop(digest, None)
                raise PermissionDenied("unknown token")
            with self._lock:
                self._cache[digest] = cached
        username, expires, _checked = cached
        if self._users.get(username) is None:
            raise PermissionDenied("unknown token")
        if expires <= utcnow():
            self.logout([token])
            raise PermissionDenied("token expired")
        return username

    def expiry(self, token: str | None) -> tuple[str, datetime]:
        """The token's user and when the token expires; raises as ``verify`` does."""
        username = self.verify(token)
        with self._lock:
            cached = self._cache.get(_digest(token or ""))
        if cached is None:  # revoked in the instant since
            raise PermissionDenied("unknown token")
        return username, cached[1]

    def logout(self, tokens: list[str]) -> None:
        digests = [_digest(t) for t in tokens if t]
        with self._lock:
            for d in digests:
                self._cache.pop(d, None)
        with self._store.session() as session:
            session.execute(delete(TokenRow).where(TokenRow.digest.in_(digests)))
