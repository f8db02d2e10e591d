"""Dependency resolution: the order VNFs start in, and what each is told about its sources.

A dependency names a source VNF, a target VNF and parameters. For each parameter P the
target's metadata gets ``<SOURCE TYPE>_<P>``: the source's configuration value P, else
the source's address on its virtual link P. Sources therefore start before targets.
A source whose address changes later (a cluster PoP moved it) leaves its running targets
configured with the old one: `stale_keys` finds them, and the controllers re-create them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from popvim.nfv.descriptors.model import NetworkServiceDescriptor, VnfDescriptor
from popvim.nfv.errors import Invalid


def dependency_key(source: VnfDescriptor, parameter: str) -> str:
    """A source of type ``server`` and parameter ``private`` give ``SERVER_PRIVATE``."""
    return re.sub(r"[^A-Za-z0-9]", "_", f"{source.type or source.name}_{parameter}").upper()


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

    ``addresses``: VNF name -> the addresses (virtual link -> address) of its VNFCs in index
    order. For a source with several instances ``KEY`` is the first instance's value and
    ``KEY_ALL`` all of them, comma-separated in index order.
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
