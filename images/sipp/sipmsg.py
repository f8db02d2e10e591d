"""SIP message framing shared by sip_uas.py and sip_uac.py.

Both stand-ins need the same RFC 3261 framing (start line, headers, blank
line, body), so it lives here once. Only UDP is spoken, so one datagram is
exactly one message and no stream reassembly is needed.
"""

from __future__ import annotations

from dataclasses import dataclass

PORT = 5060
# RFC 3261 7.3.3 compact header names, so a peer using them is still understood
COMPACT = {"v": "via", "f": "from", "t": "to", "i": "call-id", "m": "contact", "l": "content-length",
           "c": "content-type"}


def log(message: str) -> None:
    """Flush every line: stdout is a pipe under Docker, and `docker logs` must be live."""
    print(message, flush=True)


@dataclass(frozen=True)
class Message:
    """A parsed request or response; header names are lower-case long forms."""

    first: tuple[str, str, str]
    headers: tuple[tuple[str, str], ...]
    body: str = ""

    @property
    def is_request(self) -> bool:
        return self.first[2] == "SIP/2.0"

    @property
    def method(self) -> str:
        """The request's method, or for a response the method it answers (from CSeq)."""
        return self.first[0].upper() if self.is_request else self.get("cseq").rpartition(" ")[2].upper()

    @property
    def status(self) -> int:
        return 0 if self.is_request else int(self.first[1])

    def get(self, name: str) -> str:
        return next((v for k, v in self.headers if k == name), "")

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]


def parse(data: bytes) -> Message | None:
    """Parse one datagram; None for anything that is not SIP/2.0, which callers log and drop."""
    head, _, body = data.decode("utf-8", "replace").partition("\r\n\r\n")
    lines = head.split("\r\n")
    first = (lines[0].split(" ", 2) + ["", ""])[:3]
    is_response = first[0] == "SIP/2.0" and first[1].isdigit()
    if not is_response and (first[2] != "SIP/2.0" or not first[0].isalpha()):
        return None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers.append((COMPACT.get(key, key), value.strip()))
    return Message((first[0], first[1], first[2]), tuple(headers), body)


def build(first: str, headers: list[str], body: str = "") -> bytes:
    """Frame a message; Content-Length is always sent, as RFC 3261 18.3 wants for every transport."""
    content = ["Content-Type: application/sdp"] if body else []
    lines = [first, *headers, *content, f"Content-Length: {len(body.encode())}"]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def sdp(address: str) -> str:
    """The smallest session description sipp's default scenarios accept: one PCMU audio stream."""
    return (f"v=0\r\no=sipp 1 1 IN IP4 {address}\r\ns=-\r\nc=IN IP4 {address}\r\nt=0 0\r\n"
            "m=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n")
