"""Helpers both descriptor readers share: collecting problems and checking dependencies.

Readers never stop at the first problem: a user fixing a descriptor wants the whole
list at once, so every check records a :class:`Problem` and carries on with a
safe placeholder, and only the reader's last step raises.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import yaml

from popvim.nfv.descriptors.model import Dependency, DescriptorError, Problem, VnfDescriptor

_YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# With neither anchors nor aliases, a document's size bounds its data; this bounds it further.
MAX_YAML_NODES = 200_000


def at(path: str, key: str | int) -> str:
    """The path of ``key`` inside ``path``: ``vnfd`` + 1 -> ``vnfd[1]``, ``vnfd[1]`` + ``vdu`` -> ``vnfd[1].vdu``."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


class Problems:
    """An ordered, de-duplicated list of problems that becomes one DescriptorError."""

    def __init__(self) -> None:
        self.items: list[Problem] = []
        self._seen: set[Problem] = set()  # a set, so that thousands of problems stay linear

    def add(self, path: str, reason: str) -> None:
        problem = Problem(path, reason)
        if problem not in self._seen:
            self._seen.add(problem)
            self.items.append(problem)

    def __bool__(self) -> bool:
        return bool(self.items)

    def raise_if_any(self) -> None:
        if self.items:
            raise DescriptorError(list(self.items))


def describe(value: object) -> str:
    """A short name for a JSON/YAML value's type, for messages users understand."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


def find_cycle(edges: Iterable[tuple[str, str]]) -> list[str] | None:
    """One cycle in the directed graph ``edges`` as ``[a, b, ..., a]``, or None.

    Dependencies order the start of VNFs, so a cycle means nothing can start.
    """
    graph: dict[str, list[str]] = {}
    for source, target in edges:
        graph.setdefault(source, []).append(target)
        graph.setdefault(target, [])
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    for start in graph:
        if state.get(start):
            continue
        path: list[str] = [start]
        stack: list[Iterator[str]] = [iter(graph[start])]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(graph[nxt]))
    return None


def check_dependencies(
    dependencies: Sequence[tuple[str, Dependency]],
    vnfs: Mapping[str, VnfDescriptor],
    problems: Problems,
    where: str,
) -> None:
    """Check dependencies (each with its path) against the VNFs they name.

    The target sees ``<SOURCE TYPE>_<PARAMETER>``, so a source without a type
    cannot be resolved; a dependency cycle leaves no valid start order.
    """
    for path, dep in dependencies:
        source = vnfs.get(dep.source)
        if source is None:
            problems.add(at(path, "source"), f"names an unknown VNF {dep.source!r}")
        elif not source.type:
            problems.add(
                at(path, "source"),
                f"VNF {dep.source!r} has no type, which names the parameters its targets receive",
            )
        if dep.target not in vnfs:
            problems.add(at(path, "target"), f"names an unknown VNF {dep.target!r}")
    cycle = find_cycle((d.source, d.target) for _, d in dependencies)
    if cycle:
        problems.add(where, "dependency cycle: " + " -> ".join(cycle))


def safe_yaml(text: str) -> Any:
    """YAML text as data, refusing anchors and aliases (``&a``, ``*a``).

    An alias is a reference: a few hundred bytes of nested aliases stand for
    gigabytes once anything walks, copies or prints the data. Descriptors do
    not need them. Raises ``yaml.YAMLError`` (a ``MarkedYAMLError`` where a
    position is known).
    """
    nodes = 0
    for event in yaml.parse(text, Loader=_YAML_LOADER):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.MarkedYAMLError(
                problem="anchors and aliases (&name, *name) are not supported", problem_mark=event.start_mark
            )
        if isinstance(event, yaml.NodeEvent):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise yaml.MarkedYAMLError(
                    problem=f"more than {MAX_YAML_NODES} YAML nodes", problem_mark=event.start_mark
                )
    return yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader
