"""Dependency resolution: the order VNFs start in, and what each is told about its sources.

A dependency names a source VNF, a target VNF and parameters. For each parameter P the
target's metadata gets ``<SOURCE TYPE>_<P>``: the source's configuration value P; for
``hostname`` (as in Open Baton), the source instance's name in the service's names
(nfv/discovery.py: ``<vnf>-<index>``, which every VNFC of the service resolves once the
source runs, on any site); else the source's address on its virtual link P.

An address is known only once the source is placed (on one engine, once its start returns),
so a target told one starts after it. A target told only names and configuration values
needs nothing from the source's start: it is created after its source and starts alongside
it, as ``docker stack deploy`` starts a service told another's name; like any client of a
name it waits for the name to answer.

A source whose address changes later (a cluster PoP moved it) leaves its running targets
configured with the old one: `stale_keys` finds them, and the controllers re-create them.
A name never changes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from popvim.nfv.descriptors.model import Dependency, NetworkServiceDescriptor, VnfDescriptor
from popvim.nfv.discovery import instance_name
from popvim.nfv.errors import Invalid
from popvim.store.nfv_models import NsInstanceRow

HOSTNAME = "hostname"  # Open Baton's parameter for the source's name rather than an address of it


def dependency_key(source: VnfDescriptor, parameter: str) -> str:
    """A source of type ``server`` and parameter ``private`` give ``SERVER_PRIVATE``."""
    return re.sub(r"[^A-Za-z0-9]", "_", f"{source.type or source.name}_{parameter}").upper()


def tells_addresses(nsd: NetworkServiceDescriptor, dep: Dependency) -> bool:
    """Whether a dependency tells its target an address of the source (which makes the target
    wait for the source to be placed), not only names and configuration values."""
    source = nsd.vnf(dep.source)
    return any(p != HOSTNAME and p not in source.configuration for p in dep.parameters)


def source_values(ns: NsInstanceRow) -> dict[str, list[dict[str, str]]]:
    """VNF name -> what each of its VNFCs, in index order, can tell a target: its addresses
    (virtual link -> address) and its ``hostname``."""
    return {
        v.vnf_name: [{**dict(c.addresses or {}), HOSTNAME: instance_name(v.vnf_name, c.index)} for c in v.vnfcs]
        for v in ns.vnfs
    }


def start_order(nsd: NetworkServiceDescriptor) -> list[list[VnfDescriptor]]:
    """VNFs in levels: every source of a dependency is in an earlier level than its target."""
    remaining = {v.name: v for v in nsd.vnfs}
    sources = {v.name: {d.source for d in nsd.dependencies if d.target == v.name} for v in nsd.vnfs}
    done: set[str] = set()
    levels = []
    while remaining:
        level = [v for n, v in remaining.items() if sources[n] <= done]
        if not level:
            raise Invalid(f"dependency cycle among {', '.join(sorted(remaining))}")
        levels.append(level)
        for vnf in level:
            done.add(vnf.name)
            remaining.pop(vnf.name)
    return levels


def dependency_values(
    nsd: NetworkServiceDescriptor,
    target: VnfDescriptor,
    addresses: Mapping[str, Sequence[Mapping[str, str]]],
) -> dict[str, str]:
    """What ``target`` is told about its sources.

    ``addresses``: VNF name -> what its VNFCs can tell, in index order (`source_values`). For
    a source with several instances ``KEY`` is the first instance's value and ``KEY_ALL`` all
    of them, comma-separated in index order.
    """
    values: dict[str, str] = {}
    for dep in (d for d in nsd.dependencies if d.target == target.name):
        source = nsd.vnf(dep.source)
        vnfcs = addresses.get(dep.source, ())
        for parameter in dep.parameters:
            key = dependency_key(source, parameter)
            if parameter in source.configuration:
                values[key] = source.configuration[parameter]
                continue
            found = [c[parameter] for c in vnfcs if parameter in c]
            if not found:
                raise Invalid(
                    f"dependency {dep.source}->{dep.target}: {dep.source} has no value "
                    f"for {parameter!r} (neither a virtual link of it nor a configuration key)"
                )
            values[key] = found[0]
            values[f"{key}_ALL"] = ",".join(found)
    return values


def stale_keys(
    nsd: NetworkServiceDescriptor,
    target: VnfDescriptor,
    addresses: Mapping[str, Sequence[Mapping[str, str]]],
    told: Mapping[str, str],
) -> list[str]:
    """The keys of ``told`` (what a target was configured with) that name an address its source
    VNFC no longer has.

    Only a move counts: ``KEY`` (the first instance's address) changed, or ``KEY_ALL`` lists
    as many instances as now but not the same addresses. A source scaled out or in changes
    the length of ``KEY_ALL`` only, which leaves targets alone, as before.
    """
    stale: list[str] = []
    for dep in (d for d in nsd.dependencies if d.target == target.name):
        source = nsd.vnf(dep.source)
        vnfcs = addresses.get(dep.source, ())
        for parameter in dep.parameters:
            if parameter in source.configuration:
                continue
            key = dependency_key(source, parameter)
            found = [c[parameter] for c in vnfcs if c.get(parameter)]
            if not found:
                continue
            if key in told and told[key] != found[0]:
                stale.append(key)
            every = f"{key}_ALL"
            if every in told and (was := told[every].split(",")) != found and len(was) == len(found):
                stale.append(every)
    return stale
