"""Sessions shared by every client of the same PoP and user (seed 001, 4.3.1).

Creating a ``PopClient`` costs nothing: it borrows the cached session (one
gRPC channel and one token) for its address and credentials. A token the
server no longer accepts is replaced by one new login, shared by all the
callers that saw it fail at the same time.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import grpc

from popvim.client.errors import PermissionDenied, from_rpc_error
from popvim.proto import vim_pop_pb2 as pb
from popvim.proto import vim_pop_pb2_grpc as pb_grpc

SessionKey = tuple[str, str, str, bool, bytes | None, str]


@dataclass(frozen=True)
class Credentials:
    """What identifies a session: the PoP, the user, and a password and/or a token.

    ``token`` lets a caller that never saw the password (the ``pop`` CLI after
    ``pop login``) start from a token it stored. With a password too, the token
    is only a head start: when refused, the session logs in again. Without a
    password, a refused token cannot be replaced and the call fails with
    PERMISSION_DENIED.
    """

    address: str  # host:port of the PoP's gRPC service
    username: str
    password: str
    tls: bool = False
    ca_certificate: bytes | None = None  # PEM; the system roots when None
    token: str = ""
    # PEM: the certificate (chain) and key this client presents to a PoP that requires one (mTLS).
    client_certificate: bytes | None = None
    client_key: bytes | None = None

    def key(self) -> SessionKey:
        # With a password the token is a hint, so clients holding different hints still share one
        # session; without one the token *is* the identity. Hashes keep secrets out of reprs.
        secret = self.password or ("token:" + self.token if self.token else "")
        client = hashlib.sha256((self.client_certificate or b"") + b"\0" + (self.client_key or b"")).hexdigest()
        return (
            self.address,
            self.username,
            hashlib.sha256(secret.encode()).hexdigest(),
            self.tls,
            self.ca_certificate,
            client,
        )

    def channel_credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_certificate,
            private_key=self.client_key,
            certificate_chain=self.client_certificate,
        )

    def __repr__(self) -> str:  # never print secrets in tracebacks or logs
        return f"Credentials(address={self.address!r}, username={self.username!r}, tls={self.tls})"


class Session:
    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials
        if credentials.tls:
            channel = grpc.secure_channel(credentials.address, credentials.channel_credentials())
        else:
            channel = grpc.insecure_channel(credentials.address)
        self.channel = channel
        self.stub = pb_grpc.PopStub(channel)  # type: ignore[no-untyped-call]  # generated without hints
        self._token: str | None = credentials.token or None
        self._lock = threading.Lock()
        self.logins = 0  # how many times this session logged in: visible for tests and benchmarks

    def token(self, timeout: float) -> str:
        with self._lock:
            if self._token is None:
                self._token = self._login(timeout)
            return self._token

    def renew(self, stale: str, timeout: float) -> str:
        """A fresh token, unless another caller already replaced ``stale``."""
        with self._lock:
            if self._token in (None, stale):
                self._token = self._login(timeout)
            return self._token

    @property
    def current(self) -> str | None:
        """The token in use, without logging in when there is none."""
        return self._token

    def forget(self) -> None:
        with self._lock:
            self._token = None

    def _login(self, timeout: float) -> str:
        if not self.credentials.password and self.credentials.token:
            # A token-only session whose token was refused: logging in with an empty password
            # would only earn a confusing INVALID_ARGUMENT, so say what the user must do.
            raise PermissionDenied(
                grpc.StatusCode.PERMISSION_DENIED,
                "the stored token was refused and no password is known: log in again (pop login)",
            )
        request = pb.Credentials(username=self.credentials.username, password=self.credentials.password)
        try:
            token: str = self.stub.Login(request, timeout=timeout).value
        except grpc.RpcError as exc:
            raise from_rpc_error(exc) from None
        self.logins += 1
        return token

    def close(self) -> None:
        self.channel.close()


class SessionCache:
    def __init__(self) -> None:
        self._sessions: dict[SessionKey, Session] = {}
        self._lock = threading.Lock()

    def get(self, credentials: Credentials) -> Session:
        with self._lock:
            session = self._sessions.get(credentials.key())
            if session is None:
                session = self._sessions[credentials.key()] = Session(credentials)
            return session

    def drop(self, credentials: Credentials) -> None:
        with self._lock:
            session = self._sessions.pop(credentials.key(), None)
        if session is not None:
            session.close()

    def clear(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()


SESSIONS = SessionCache()
