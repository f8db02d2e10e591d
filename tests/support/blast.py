"""A TCP blast between two containers, measured at the receiver (bench/links.py uses it too).

The images have python3 but no iperf3, so the two ends are small scripts run
with ``python3 -c``: ``SINK`` accepts connections on a port and, when the
sender half-closes, answers with the bytes it received and the seconds from
the first byte to the last; ``SOURCE`` sends for a while, half-closes and
prints that answer. Payload bytes are counted, so the figure is the goodput:
a few percent under the link rate (TCP/IP headers).
"""

from __future__ import annotations

from typing import Any

import httpx

PORT = 5201

SINK = r"""
import socket, sys, threading, time
def serve(conn):
    total, first, last = 0, None, None
    while True:
        data = conn.recv(1 << 16)
        if not data:
            break
        now = time.monotonic()
        first = first or now
        last = now
        total += len(data)
    conn.sendall(f"{total} {(last or 0) - (first or 0):.6f}\n".encode())
    conn.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1])))
s.listen(8)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""

SOURCE = r"""
import socket, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
c = socket.create_connection((host, port), timeout=60)
chunk = b"x" * (1 << 16)
end = time.monotonic() + seconds
while time.monotonic() < end:
    c.sendall(chunk)
c.shutdown(socket.SHUT_WR)
print(c.makefile().readline().strip())
"""


def sink_command(port: int = PORT) -> list[str]:
    return ["python3", "-u", "-c", SINK, str(port)]


def measure(api: httpx.Client, sender: str, address: str, seconds: float, port: int = PORT) -> float:
    """Mbit/s of payload that ``sender`` (a container ref) got through to the sink at ``address``."""
    r = api.post(
        f"/v1/containers/{sender}/exec",
        json={"command": ["python3", "-c", SOURCE, address, str(port), str(seconds)], "timeout": seconds * 6 + 30},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    assert out["exit_code"] == 0, out
    received, elapsed = out["stdout"].split()
    return int(received) * 8 / float(elapsed) / 1e6


# A service-function-chain hop: reads the first line ("CHAIN a,b"), appends its own
# name, and relays the stream to the next hop; the last hop (no next) is the sink and
# answers "CHAIN a,b,c <bytes> <seconds>", which travels back to the client.
RELAY = r"""
import socket, sys, threading, time
name, port = sys.argv[1], int(sys.argv[2])
nxt = (sys.argv[3], int(sys.argv[4])) if len(sys.argv) > 4 else None
def pipe(src, dst, close):
    while True:
        data = src.recv(1 << 16)
        if not data:
            break
        dst.sendall(data)
    if close:
        dst.shutdown(socket.SHUT_WR)
def serve(conn):
    f = conn.makefile("rb")
    header = f.readline().decode().strip() + "," + name
    if nxt is None:
        total, first, last = 0, None, None
        while True:
            data = f.read1(1 << 16)
            if not data:
                break
            now = time.monotonic(); first = first or now; last = now; total += len(data)
        conn.sendall(f"{header} {total} {(last or 0) - (first or 0):.6f}\n".encode())
        conn.close()
        return
    down = socket.create_connection(nxt, timeout=120)
    down.sendall((header + "\n").encode())
    back = threading.Thread(target=pipe, args=(down, conn, False), daemon=True)
    back.start()
    while True:
        data = f.read1(1 << 16)
        if not data:
            break
        down.sendall(data)
    down.shutdown(socket.SHUT_WR)
    back.join()
    conn.close()
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", port))
s.listen(8)
while True:
    threading.Thread(target=serve, args=(s.accept()[0],), daemon=True).start()
"""


def relay_command(name: str, port: int, next_hop: tuple[str, int] | None = None) -> list[str]:
    hop = [next_hop[0], str(next_hop[1])] if next_hop else []
    return ["python3", "-u", "-c", RELAY, name, str(port), *hop]


def through_chain(address: str, port: int, seconds: float) -> tuple[list[str], float]:
    """Sends from this process through a chain of RELAY hops; (the hops in order, Mbit/s at the sink)."""
    import socket
    import time

    with socket.create_connection((address, port), timeout=120) as c:
        c.sendall(b"CHAIN client\n")
        chunk = b"x" * (1 << 16)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            c.sendall(chunk)
        c.shutdown(socket.SHUT_WR)
        header, received, elapsed = c.makefile().readline().rsplit(maxsplit=2)
    hops = header.removeprefix("CHAIN").strip().split(",")
    return hops, int(received) * 8 / float(elapsed) / 1e6
