"""Service discovery: every VNF of a service reachable by name from every VNFC of it, on every site.

Each RUNNING VNFC's ``/etc/hosts`` is rewritten (one Exec through the Pop
protocol) whenever an instance of its service starts, dies, is healed or is
scaled: the same event streams that drive the load balancers (nfv/loadbalancer.py)
drive this, so no PoP is polled. A VNFC whose names did not change, and that had no event
since they were last written to it, is not written again. The names:

- ``<vnf>`` and ``<vnf>.<ns>``: every RUNNING instance of the VNF (one line each,
  lowest index first, so a resolver that takes one address takes instance 0);
- ``<vnf>-<i>`` and ``<vnf>-<i>.<ns>``: instance ``i``.

An instance on the viewer's own PoP is at its address on a virtual link they
share (any of its addresses when they share none); one on another PoP is at
that PoP's address (its advertised address, else the host of its registered
Pop address), where its published ports are. A PoP reached over loopback that
advertises no other address has none another site could use, so its instances
are named only on its own site.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from popvim.nfv.descriptors.model import NetworkServiceDescriptor

LABEL = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class Instance:
    vnf: str
    index: int
    pop: str
    addresses: dict[str, str]  # virtual link -> address
    running: bool


def dns_label(text: str) -> str:
    return LABEL.sub("-", text.lower()).strip("-") or "x"


def instance_name(vnf: str, index: int) -> str:
    """Instance ``index`` of ``vnf``, as the service's VNFCs resolve it (what a ``hostname``
    dependency parameter tells: nfv/dependencies.py)."""
    return f"{dns_label(vnf)}-{index}"


def reachable(site_address: str) -> bool:
    try:
        return not ipaddress.ip_address(site_address).is_loopback
    except ValueError:
        return site_address != "localhost"


def hosts(
    ns_name: str,
    nsd: NetworkServiceDescriptor,
    viewer: Instance,
    instances: Sequence[Instance],
    site_address: Callable[[str], str],
) -> str:
    """The ``/etc/hosts`` text for ``viewer``."""
    ns = dns_label(ns_name)
    lines = [
        "# Written by popvim (nfv/discovery.py): the service's names; rewritten as it changes.",
        "127.0.0.1\tlocalhost",
    ]
    viewer_links = {cp.virtual_link for cp in nsd.vnf(viewer.vnf).connection_points}
    for instance in sorted(instances, key=lambda i: (i.vnf, i.index)):
        if not instance.running or not instance.addresses:
            continue
        if instance.pop == viewer.pop:
            shared = [link for link in instance.addresses if link in viewer_links]
            address = instance.addresses[(shared or list(instance.addresses))[0]]
        else:
            address = site_address(instance.pop)
            if not reachable(address):
                continue
        vnf, one = dns_label(instance.vnf), instance_name(instance.vnf, instance.index)
        lines.append(f"{address}\t{vnf} {vnf}.{ns} {one} {one}.{ns}")
    return "\n".join(lines) + "\n"


WRITE = ["sh", "-c", 'printf %s "$1" > /etc/hosts', "popvim-names"]  # in place: Docker bind-mounts it
