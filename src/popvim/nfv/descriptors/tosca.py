"""Read a Tacker-style TOSCA NFV template (YAML) into the internal model.

Validation is tosca-parser's, fed the way Tacker feeds it: the parsed template
gets an ``imports`` list naming the type definitions shipped in ``tosca_defs/``
(Tacker's node and policy types, plus popvim's extensions) and is handed over as
``ToscaTemplate(a_file=False, yaml_dict_tpl=...)``. Every validation message
becomes a :class:`Problem`, with the node or policy it names as its path.

Mapping (node and policy names are the template's keys):

- each ``tosca.nodes.nfv.VDU.Tacker`` -> a VNF named after the node (its
  ``name`` property is Tacker's server display name and is not kept):
  ``image`` (or the image of the one container in ``vnfcs``/``vnfc``, as Tacker's
  Kubernetes VNFs write it, or an image artifact's file), ``num_cpus`` -> cpus, ``mem_size``
  ("512 MB") -> memory in bytes, ``mapping_ports`` ("80:80") and container
  ``ports`` -> ports ({"80/tcp": 80}), ``flavor`` -> flavour (the name is kept;
  the orchestrator maps names it does not know), ``metadata`` and ``config`` (a
  YAML mapping in a string) -> configuration, ``pop`` -> PoP, ``vnf_type`` ->
  type, ``monitoring_policy.actions.failure`` -> respawn (see :func:`_respawn`);
- each ``tosca.nodes.nfv.CP.Tacker`` -> a connection point of the VDU named by
  its ``virtualBinding``, on the VL named by its ``virtualLink``, with its
  ``ip_address`` fixed; a VDU's CPs are ordered by ``order``, then name;
- each ``tosca.nodes.nfv.VL`` -> a virtual link named after the node, with
  ``network_name``, ``cidr`` as subnet and popvim's ``bandwidth``;
- ``tosca.policies.tacker.Scaling`` -> instance bounds and a scaling policy of its
  targets (see :func:`_scaling_policy`);
- ``popvim.policies.Dependency`` (source, target, parameters) -> a dependency,
  what Open Baton calls vnf_dependency.

Memory sizes use binary units (MB = MiB), as Nova flavors and Tacker's
Kubernetes translation read them; a bare number is in MB, as in Tacker.
"""

from __future__ import annotations

import contextlib
import copy
import re
import threading
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any, NamedTuple

import yaml
from toscaparser.common.exception import ExceptionCollector, TOSCAException, ValidationError
from toscaparser.functions import Function
from toscaparser.tosca_template import ToscaTemplate

from popvim.nfv.descriptors import coerce
from popvim.nfv.descriptors._common import Problems, at, check_dependencies, describe, safe_yaml
from popvim.nfv.descriptors.coerce import DEFAULTS, config_text, is_kind
from popvim.nfv.descriptors.loadbalancer import check_backends, from_tosca
from popvim.nfv.descriptors.model import (
    ConnectionPoint,
    Dependency,
    DescriptorError,
    LoadBalancer,
    NetworkServiceDescriptor,
    Problem,
    ScalingPolicy,
    VirtualLink,
    VnfDescriptor,
)

VDU_TYPE = "tosca.nodes.nfv.VDU.Tacker"
CP_TYPES = ("tosca.nodes.nfv.CP.Tacker", "tosca.nodes.nfv.CP")
VL_TYPE = "tosca.nodes.nfv.VL"
SCALING_TYPE = "tosca.policies.tacker.Scaling"
DEPENDENCY_TYPE = "popvim.policies.Dependency"
LB_TYPE = "popvim.nodes.nfv.LoadBalancer"
IMAGE_ARTIFACT_PREFIX = "tosca.artifacts.Deployment.Image"
_DEFS_PACKAGE = "popvim.nfv.descriptors"
_BASE_DEFS = "popvim_defs.yaml"
_NFV_DEFS = "popvim_nfv_defs.yaml"
_DEFAULT_NAME = "tosca-service"

# tosca-parser gathers errors in a class-level list (ExceptionCollector) and
# updates its global type table for NFV templates: one parse at a time.
_PARSER_LOCK = threading.Lock()

# Where a tosca-parser message says the problem is: the template it is found in
# ('Node template "VL9" was not found in "CP1"'), else the first template it names.
_FOUND_IN = re.compile(r'not found in "([^"]+)"')
_TEMPLATE_NAME = re.compile(r'(?:[Tt]emplate|Policy|[Gg]roup) "([^"]+)"')
# What a container may ask for (as ContainerConfig): larger values overflow the engine's fields.
MAX_CPUS = 1024
MIN_MEMORY, MAX_MEMORY = 4 * 2**20, 2**40
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$")
_SIZE_UNITS = {
    "": 2**20,
    "b": 1,
    "k": 2**10,
    "kb": 2**10,
    "kib": 2**10,
    "ki": 2**10,
    "m": 2**20,
    "mb": 2**20,
    "mib": 2**20,
    "mi": 2**20,
    "g": 2**30,
    "gb": 2**30,
    "gib": 2**30,
    "gi": 2**30,
    "t": 2**40,
    "tb": 2**40,
    "tib": 2**40,
    "ti": 2**40,
}
_PROTOCOLS = ("tcp", "udp", "sctp")
_RESPAWN_ACTIONS = frozenset({"respawn", "vdu_autoheal"})
_NO_RESPAWN_ACTIONS = frozenset({"terminate", "log", "log_and_kill"})


def read_tosca(text: str) -> NetworkServiceDescriptor:
    """The network service a TOSCA YAML text describes; DescriptorError lists every problem."""
    return read_tosca_document(load_yaml(text))


def load_yaml(text: str) -> Any:
    """YAML text as Python data; any failure is a DescriptorError located by line."""
    if not isinstance(text, str):
        raise DescriptorError([Problem("", f"a TOSCA template must be YAML text, not {describe(text)}")])
    try:
        return safe_yaml(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise DescriptorError([Problem(where, f"invalid YAML: {exc.problem or exc}")]) from None
    except Exception as exc:  # noqa: BLE001 - PyYAML also raises ValueError (bad dates), RecursionError...
        raise DescriptorError([Problem("", f"invalid YAML: {exc}")]) from None


def read_tosca_document(doc: Any) -> NetworkServiceDescriptor:
    """The network service a parsed TOSCA template (a dict) describes."""
    if not isinstance(doc, dict):
        raise DescriptorError([Problem("", f"a TOSCA template must be a YAML mapping, not {describe(doc)}")])
    if doc.get("imports") is not None:
        raise DescriptorError(
            [
                Problem(
                    "imports",
                    "imports are not supported: popvim provides the Tacker and popvim types itself "
                    "and reads no file or URL a descriptor names",
                )
            ]
        )
    _check_names(doc)
    with _PARSER_LOCK:
        template = _parse(doc)
        try:
            return _Reader(template, doc).read()
        except TOSCAException as exc:  # raised lazily by tosca-parser while we read values
            raise DescriptorError([_problem(exc)]) from None


# --- parsing -----------------------------------------------------------------------------


def _check_names(doc: dict[str, Any]) -> None:
    """Node and policy names become VNF and link names: YAML lets them be numbers or dates."""
    topology = doc.get("topology_template")
    nodes = topology.get("node_templates") if isinstance(topology, dict) else None
    policies = topology.get("policies") if isinstance(topology, dict) else None
    names = list(nodes) if isinstance(nodes, dict) else []
    for policy in policies if isinstance(policies, list) else []:
        names.extend(policy if isinstance(policy, dict) else [])
    bad = [name for name in names if not isinstance(name, str) or not name.strip()]
    if bad:
        raise DescriptorError(
            [Problem("topology_template", f"node and policy names must be text, not {name!r}") for name in bad]
        )


@contextlib.contextmanager
def _definition_files(version: object) -> Iterator[list[str]]:
    """Paths of the shipped type definitions, NFV node types only for NFV templates (as Tacker)."""
    names = [_BASE_DEFS]
    if isinstance(version, str) and "nfv" in version:
        names.append(_NFV_DEFS)
    root = resources.files(_DEFS_PACKAGE) / "tosca_defs"
    with contextlib.ExitStack() as stack:
        yield [str(stack.enter_context(resources.as_file(root / name))) for name in names]


def _parse(doc: dict[str, Any]) -> ToscaTemplate:
    """tosca-parser's validated template; its errors, whatever they are, as a DescriptorError."""
    tpl = copy.deepcopy(doc)  # tosca-parser edits what it is given
    with _definition_files(doc.get("tosca_definitions_version")) as imports:
        tpl["imports"] = imports
        try:
            return ToscaTemplate(a_file=False, yaml_dict_tpl=tpl)
        except ValidationError as exc:
            problems = [_problem(e) for e in ExceptionCollector.getExceptions()] or [_problem(exc)]
            raise DescriptorError(_unique(problems)) from None
        except Exception as exc:  # noqa: BLE001 - tosca-parser fails on odd shapes with any error
            raise DescriptorError([Problem("", f"invalid TOSCA template: {type(exc).__name__}: {exc}")]) from None
        finally:
            ExceptionCollector.stop()
            ExceptionCollector.clear()


def _problem(exc: BaseException) -> Problem:
    """A tosca-parser message as a Problem at the node or policy it names."""
    raw = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # KeyError's str() adds quotes
    message = str(raw).strip() or type(exc).__name__
    found = _FOUND_IN.search(message) or _TEMPLATE_NAME.search(message)
    return Problem(found.group(1) if found else "", message)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


# --- reading the validated template --------------------------------------------------------


class _Bounds(NamedTuple):
    minimum: int
    maximum: int
    initial: int
    policy: ScalingPolicy | None


class _Reader:
    """Builds the model from a validated template, collecting what tosca-parser cannot check."""

    def __init__(self, template: ToscaTemplate, doc: dict[str, Any]) -> None:
        self.doc = doc
        self.problems = Problems()
        self.inputs = list(getattr(template, "inputs", None) or [])
        self.nodes = list(getattr(template, "nodetemplates", None) or [])
        self.policies = list(getattr(template, "policies", None) or [])
        self.vdus = [n for n in self.nodes if _derives(n, VDU_TYPE)]
        self.vdu_names = {n.name for n in self.vdus}
        self.vls = [n for n in self.nodes if _derives(n, VL_TYPE)]
        self.vl_names = {n.name for n in self.vls}
        self.cps = [n for n in self.nodes if any(_derives(n, t) for t in CP_TYPES)]

    def read(self) -> NetworkServiceDescriptor:
        self._check_inputs()
        self._check_node_types()
        links = tuple(self._virtual_link(node) for node in self.vls)
        connection_points = self._connection_points()
        bounds = self._scaling()
        dependencies = self._dependencies()
        vnfs = [self._vnf(node, connection_points.get(node.name, ()), bounds.get(node.name)) for node in self.vdus]
        built = {vnf.name: vnf for vnf in vnfs if vnf is not None}
        check_dependencies(dependencies, built, self.problems, "topology_template.policies")
        for vnf in built.values():
            if vnf.load_balancer:
                where = at(at(vnf.name, "requirements"), "backend")
                check_backends(vnf.name, vnf.load_balancer, list(built), where, self.problems)
        if not self.vdus:
            self.problems.add("topology_template.node_templates", f"no VDU ({VDU_TYPE}) to deploy")
        self.problems.raise_if_any()
        name, vendor, version = self._identity()
        return NetworkServiceDescriptor(
            name=name,
            vendor=vendor,
            version=version,
            format="tosca",
            virtual_links=links,
            vnfs=tuple(built.values()),
            dependencies=tuple(dep for _, dep in dependencies),
        )

    def _identity(self) -> tuple[str, str, str]:
        """(name, vendor, version) from Tacker's metadata block or TOSCA's top-level keys."""
        metadata = self.doc.get("metadata")
        metadata = metadata if isinstance(metadata, dict) else {}

        def pick(key: str, default: str) -> str:
            for value in (metadata.get(key), self.doc.get(key)):
                if is_kind(value, (str, int, float)) and str(value).strip():
                    return str(value)
            return default

        return pick("template_name", _DEFAULT_NAME), pick("template_author", ""), pick("template_version", "")

    def _check_inputs(self) -> None:
        """popvim takes no parameter values (Tacker's param files), so every input needs a default."""
        for item in self.inputs:
            if item.required and item.default is None:
                self.problems.add(
                    at("topology_template.inputs", item.name),
                    "has no default; popvim takes no input values, give the input a default",
                )

    def _check_node_types(self) -> None:
        """Nodes popvim would not deploy are reported rather than silently skipped."""
        known = set(self.vdu_names) | self.vl_names | {n.name for n in self.cps}
        for node in self.nodes:
            if node.name not in known:
                self.problems.add(
                    node.name,
                    f"node type {node.type} is not supported: popvim deploys VDUs ({VDU_TYPE}), their CPs and VLs",
                )

    # -- virtual links and connection points

    def _virtual_link(self, node: Any) -> VirtualLink:
        return VirtualLink(
            name=node.name,
            network_name=self._string(node, "network_name"),
            subnet=self._string(node, "cidr"),
            bandwidth=self._string(node, "bandwidth"),
        )

    def _connection_points(self) -> dict[str, tuple[ConnectionPoint, ...]]:
        """Each VDU's connection points, ordered by the CPs' ``order`` and then name."""
        found: dict[str, list[tuple[int, str, ConnectionPoint]]] = {}
        for node in self.cps:
            link = self._requirement(node, "virtualLink", self.vl_names, "VL")
            vdu = self._requirement(node, "virtualBinding", self.vdu_names, "VDU")
            order = self._value(node, "order", int, "an integer")
            if link is None or vdu is None:
                continue
            cp = ConnectionPoint(virtual_link=link, ip_address=self._string(node, "ip_address"))
            found.setdefault(vdu, []).append((order or 0, node.name, cp))
        return {vdu: tuple(cp for _, _, cp in sorted(cps, key=lambda c: c[:2])) for vdu, cps in found.items()}

    def _requirement(self, node: Any, key: str, names: set[str], kind: str) -> str | None:
        """The one node a CP's requirement ``key`` names, if it is of the right kind."""
        targets = []
        for requirement in node.requirements or []:
            if isinstance(requirement, dict) and key in requirement:
                value = requirement[key]
                targets.append(value.get("node") if isinstance(value, dict) else value)
        path = at(at(node.name, "requirements"), key)
        if len(targets) != 1:
            self.problems.add(path, f"a CP needs exactly one {key} requirement, not {len(targets)}")
            return None
        target = targets[0]
        if not isinstance(target, str) or target not in names:
            self.problems.add(path, f"must name a {kind} node, not {target!r}")
            return None
        return target

    # -- policies

    def _scaling(self) -> dict[str, _Bounds]:
        """Instance bounds and scaling policy per VDU; policies other than the two known ones are problems."""
        bounds: dict[str, _Bounds] = {}
        for policy in self.policies:
            if _derives(policy, SCALING_TYPE):
                self._scaling_targets(policy, bounds)
            elif not _derives(policy, DEPENDENCY_TYPE):
                self.problems.add(
                    policy.name,
                    f"policy type {policy.type} is not supported: popvim acts on {SCALING_TYPE} and {DEPENDENCY_TYPE}",
                )
        return bounds

    def _scaling_targets(self, policy: Any, bounds: dict[str, _Bounds]) -> None:
        targets = policy.entity_tpl.get("targets") if isinstance(policy.entity_tpl, dict) else None
        if not isinstance(targets, list) or not targets:
            self.problems.add(at(policy.name, "targets"), "must list the VDUs to scale")
            return
        scaled = self._bounds(policy)
        for target in targets:
            if not isinstance(target, str) or target not in self.vdu_names:
                self.problems.add(at(policy.name, "targets"), f"{target!r} is not a VDU")
            elif target in bounds:
                self.problems.add(at(policy.name, "targets"), f"VDU {target!r} already has a scaling policy")
            elif scaled is not None:
                bounds[target] = scaled

    def _bounds(self, policy: Any) -> _Bounds | None:
        minimum = self._value(policy, "min_instances", int, "an integer")
        maximum = self._value(policy, "max_instances", int, "an integer")
        initial = self._value(policy, "default_instances", int, "an integer")
        if minimum is None or maximum is None:
            return None  # required: tosca-parser has said so
        initial = minimum if initial is None else initial
        path = at(policy.name, "properties")
        if minimum < 1:
            self.problems.add(at(path, "min_instances"), f"must be at least 1, not {minimum}")
        elif not minimum <= initial <= maximum:
            self.problems.add(
                path,
                f"needs min_instances <= default_instances <= max_instances, not {minimum} <= {initial} <= {maximum}",
            )
        else:
            return _Bounds(minimum, maximum, initial, self._scaling_policy(policy))
        return None

    def _scaling_policy(self, policy: Any) -> ScalingPolicy | None:
        """Tacker's target CPU utilisation as popvim's scale-out/scale-in thresholds.

        Tacker hands ``target_cpu_utilization_percentage`` to a Kubernetes
        autoscaler, which keeps the average near the target. popvim scales out
        when the average reaches the target and in when it falls below half of it:
        removing one of n >= 2 instances raises the average by at most n/(n-1) <= 2,
        so a scale-in never pushes the rest straight back over the target.
        Without a target the policy only bounds manual scaling.
        """
        target = self._value(policy, "target_cpu_utilization_percentage", (int, float), "a number")
        if target is None:
            return None
        if target <= 0:
            self.problems.add(
                at(at(policy.name, "properties"), "target_cpu_utilization_percentage"),
                f"must be positive, not {target}",
            )
            return None
        increment = self._value(policy, "increment", int, "an integer") or 1
        cooldown = self._value(policy, "cooldown", int, "an integer")  # negative: tosca-parser reports it
        return ScalingPolicy(
            name=policy.name,
            scale_out_above=float(target),
            scale_in_below=float(target) / 2,
            cooldown_seconds=coerce.cooldown(cooldown),
            step=max(1, increment),
        )

    def _dependencies(self) -> list[tuple[str, Dependency]]:
        found: list[tuple[str, Dependency]] = []
        for policy in self.policies:
            if not _derives(policy, DEPENDENCY_TYPE):
                continue
            source = self._value(policy, "source", str, "a string")
            target = self._value(policy, "target", str, "a string")
            parameters = self._value(policy, "parameters", list, "a list") or []
            bad = [p for p in parameters if not isinstance(p, str) or not p.strip()]
            if bad:
                self.problems.add(
                    at(at(policy.name, "properties"), "parameters"), f"must be parameter names, not {bad[0]!r}"
                )
            elif source is not None and target is not None:
                found.append((policy.name, Dependency(source, target, tuple(parameters))))
        return found

    # -- VDUs

    def _vnf(
        self, node: Any, connection_points: tuple[ConnectionPoint, ...], bounds: _Bounds | None
    ) -> VnfDescriptor | None:
        container = self._container(node)
        image = self._image(node, container)
        cpus = self._cpus(node, container)
        memory = self._memory(node, container)
        ports = self._ports(node, container)
        configuration = self._configuration(node, container)
        command = self._command(node, container)
        respawn = self._respawn(node)
        if image is None:
            return None
        bounds = bounds or _Bounds(1, 1, 1, None)
        return VnfDescriptor(
            name=node.name,
            image=image,
            type=self._string(node, "vnf_type") or "",
            flavour=self._string(node, "flavor") or DEFAULTS.flavour,
            cpus=cpus,
            memory=memory,
            min_instances=bounds.minimum,
            max_instances=bounds.maximum,
            initial_instances=bounds.initial,
            connection_points=connection_points,
            pop=self._string(node, "pop") or None,
            configuration=configuration,
            command=command,
            ports=ports,
            scaling=(bounds.policy,) if bounds.policy else (),
            respawn=respawn,
            load_balancer=self._load_balancer(node),
        )

    def _load_balancer(self, node: Any) -> LoadBalancer | None:
        if not _derives(node, LB_TYPE):
            return None
        backends = []
        for requirement in node.requirements or []:
            if isinstance(requirement, dict) and "backend" in requirement:
                value = requirement["backend"]
                backends.append(str(value.get("node") if isinstance(value, dict) else value))
        properties = {p: self._value(node, p, object, "") for p in ("backend_port", "listen_port", "algorithm", "mode")}
        return from_tosca(properties, self._raw_property(node, "health_check"), backends, node.name, self.problems)

    def _container(self, node: Any) -> tuple[str, dict[str, Any]] | None:
        """(path, properties) of the one container of a containerised VDU (vnfcs, or vnfc as some write it)."""
        for key in ("vnfcs", "vnfc"):
            containers = self._value(node, key, dict, "a mapping of containers")
            if not containers:
                continue
            path = at(at(node.name, "properties"), key)
            if len(containers) != 1:
                self.problems.add(path, f"lists {len(containers)} containers; popvim runs one container per VDU")
                return None
            name, properties = next(iter(containers.items()))
            if not isinstance(properties, dict):
                self.problems.add(at(path, str(name)), f"must be a mapping, not {describe(properties)}")
                return None
            return at(path, str(name)), properties
        return None

    def _image(self, node: Any, container: tuple[str, dict[str, Any]] | None) -> str | None:
        candidates = [
            container[1].get("image") if container else None,
            self._string(node, "image"),
            self._artifact_image(node),
        ]
        for image in candidates:
            if isinstance(image, str) and image.strip():
                return image
        self.problems.add(
            at(at(node.name, "properties"), "image"),
            "a VDU needs an image (the image property, its container's image, or an image artifact)",
        )
        return None

    def _artifact_image(self, node: Any) -> str | None:
        artifacts = node.entity_tpl.get("artifacts") if isinstance(node.entity_tpl, dict) else None
        for artifact in (artifacts or {}).values() if isinstance(artifacts, dict) else ():
            if isinstance(artifact, dict) and str(artifact.get("type", "")).startswith(IMAGE_ARTIFACT_PREFIX):
                file = artifact.get("file")
                if isinstance(file, str):
                    return file
        return None

    def _sources(self, node: Any, container: tuple[str, dict[str, Any]] | None, key: str) -> Iterator[tuple[str, Any]]:
        """(path, value) of ``key`` from the container, the VDU, then its nfv_compute capability."""
        if container and container[1].get(key) is not None:
            yield at(container[0], key), container[1][key]
        value = self._value(node, key, object, "")
        if value is not None:
            yield at(at(node.name, "properties"), key), value
        compute = _capability_value(node, "nfv_compute", key)
        if compute is not None:
            yield at(at(at(node.name, "capabilities"), "nfv_compute"), key), compute

    def _cpus(self, node: Any, container: tuple[str, dict[str, Any]] | None) -> float | None:
        for path, value in self._sources(node, container, "num_cpus"):
            if not is_kind(value, (int, float)) or not 0 < value <= MAX_CPUS:
                self.problems.add(path, f"must be a number of CPUs above 0 and at most {MAX_CPUS}, not {value!r}")
                return None
            return float(value)
        return None

    def _memory(self, node: Any, container: tuple[str, dict[str, Any]] | None) -> int | None:
        for path, value in self._sources(node, container, "mem_size"):
            size = parse_size(value)
            if size is None:
                self.problems.add(path, f'must be a size such as "512 MB", not {value!r}')
            elif not MIN_MEMORY <= size <= MAX_MEMORY:
                self.problems.add(path, f"must be from 4 MiB to 1 TiB, not {str(value)[:40]!r}")
                return None
            return size
        return None

    def _ports(self, node: Any, container: tuple[str, dict[str, Any]] | None) -> dict[str, int | None]:
        """Container ports, published on the host port ``mapping_ports`` gives them."""
        ports: dict[str, int | None] = {}
        exposed = container[1].get("ports") if container else None
        if exposed is not None:
            path = at(container[0], "ports")  # type: ignore[index]
            for index, entry in enumerate(exposed if isinstance(exposed, list) else [exposed]):
                parsed = parse_port(entry, mapped=False)
                if parsed is None:
                    self.problems.add(at(path, index), f'must be a port such as "80" or "5060/udp", not {entry!r}')
                else:
                    ports.setdefault(parsed[0], None)
        for index, entry in enumerate(self._value(node, "mapping_ports", list, "a list") or []):
            parsed = parse_port(entry, mapped=True)
            if parsed is None:
                self.problems.add(
                    at(at(at(node.name, "properties"), "mapping_ports"), index),
                    f'must be "host:container" such as "80:80", not {entry!r}',
                )
            else:
                ports[parsed[0]] = parsed[1]
        return ports

    def _configuration(self, node: Any, container: tuple[str, dict[str, Any]] | None) -> dict[str, str]:
        """``metadata``, then ``config`` (VDU, then container), later ones winning, as strings."""
        configuration: dict[str, str] = {}
        metadata = self._value(node, "metadata", dict, "a mapping")
        if metadata:
            configuration.update(self._flat(metadata, at(at(node.name, "properties"), "metadata")))
        sources = [(at(at(node.name, "properties"), "config"), self._raw_property(node, "config"))]
        if container:
            sources.append((at(container[0], "config"), container[1].get("config")))
        for path, config in sources:
            if config is not None:
                configuration.update(self._flat(_config_mapping(config, path, self.problems), path))
        return configuration

    def _flat(self, mapping: Mapping[Any, Any], path: str) -> dict[str, str]:
        flat: dict[str, str] = {}
        for key, value in mapping.items():
            text = config_text(value)
            if text is None or isinstance(key, (dict, list)):
                self.problems.add(at(path, str(key)), f"must be a plain value, not {describe(value)}")
            else:
                flat[str(key)] = text
        return flat

    def _command(self, node: Any, container: tuple[str, dict[str, Any]] | None) -> tuple[str, ...] | None:
        """A container's ``command`` followed by its ``args``: what the container runs."""
        if not container:
            return None
        parts: list[str] = []
        for key in ("command", "args"):
            value = container[1].get(key)
            if value is None:
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.problems.add(at(container[0], key), f"must be a list of strings, not {describe(value)}")
                return None
            parts.extend(value)
        return tuple(parts) or None

    def _respawn(self, node: Any) -> bool:
        """Whether a VNFC that dies is respawned: Tacker's ``monitoring_policy`` failure action.

        ``respawn`` (and ``vdu_autoheal``) keep popvim's default healing; ``terminate``,
        ``log`` and ``log_and_kill`` opt out. No policy, or one with no failure
        action (``noop``), keeps the default: respawn.
        """
        policy = self._value(node, "monitoring_policy", dict, "a mapping")
        if not policy:
            return True
        path = at(at(node.name, "properties"), "monitoring_policy")
        actions = policy.get("actions")
        if actions is None:
            return True
        if not isinstance(actions, dict):
            self.problems.add(
                at(path, "actions"), f"must be a mapping like {{failure: respawn}}, not {describe(actions)}"
            )
            return True
        failure = actions.get("failure")
        if not isinstance(failure, (str, type(None))):
            self.problems.add(at(at(path, "actions"), "failure"), f"must be an action name, not {describe(failure)}")
            return True
        if failure is None or failure in _RESPAWN_ACTIONS:
            return True
        if failure in _NO_RESPAWN_ACTIONS:
            return False
        self.problems.add(
            at(at(path, "actions"), "failure"), f"{failure!r} is not supported; use respawn, terminate or log"
        )
        return True

    # -- property access

    def _value(self, entity: Any, name: str, kind: type | tuple[type, ...], what: str) -> Any:
        """A property's value (functions such as get_input resolved) if of type ``kind``, else None."""
        value = entity.get_property_value(name)
        if isinstance(value, Function):
            value = value.result()
        if value is None:
            return None
        if not is_kind(value, kind):
            self.problems.add(at(at(entity.name, "properties"), name), f"must be {what}, not {describe(value)}")
            return None
        return value

    def _string(self, node: Any, name: str) -> str | None:
        value: str | None = self._value(node, name, str, "a string")
        return value

    def _raw_property(self, node: Any, name: str) -> Any:
        """A property as written: tosca-parser turns a mapping given for a string property into its repr."""
        properties = node.entity_tpl.get("properties") if isinstance(node.entity_tpl, dict) else None
        value = properties.get(name) if isinstance(properties, dict) else None
        return value if isinstance(value, dict) else self._value(node, name, object, "")


# --- small parsers, public for the orchestrator and tests ---------------------------------


def parse_size(value: object) -> int | None:
    """Bytes in "512 MB", "1 GiB", "512Mi" or 512 (MB); binary units throughout. None if invalid."""
    if isinstance(value, bool):
        return None
    text = str(value) if isinstance(value, (int, float)) else value
    if not isinstance(text, str):
        return None
    match = _SIZE.match(text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        return None
    try:
        size = int(float(match.group(1)) * _SIZE_UNITS[match.group(2).lower()])
    except (OverflowError, ValueError):  # digits beyond a float's range
        return 2**63
    return size if size > 0 else None


def parse_port(value: object, mapped: bool) -> tuple[str, int | None] | None:
    """("80/tcp", host port) from "8080:80/tcp" (mapped) or ("80/tcp", None) from "80"; None if invalid."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return None
    text = str(value).strip().lower()
    text, _, protocol = text.partition("/")
    protocol = protocol or "tcp"
    host, sep, port = text.rpartition(":") if mapped else ("", "", text)
    if protocol not in _PROTOCOLS or (mapped and not sep):
        return None
    container_port = _port_number(port)
    host_port = _port_number(host) if mapped else None
    if container_port is None or (mapped and host_port is None):
        return None
    return f"{container_port}/{protocol}", host_port


def _port_number(text: str) -> int | None:
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 1 <= number <= 65535 else None


def _config_mapping(config: object, path: str, problems: Problems) -> Mapping[Any, Any]:
    """Tacker's ``config``: a YAML mapping, usually written as a block string (``config: |``)."""
    if isinstance(config, dict):
        return config
    if not isinstance(config, str):
        problems.add(path, f"must be a YAML mapping, not {describe(config)}")
        return {}
    try:
        parsed = safe_yaml(config)
    except Exception as exc:  # noqa: BLE001 - PyYAML raises more than YAMLError
        problems.add(path, f"must be a YAML mapping: {exc}")
        return {}
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        problems.add(path, f"must be a YAML mapping of parameters, not {describe(parsed)}")
        return {}
    return parsed


def _derives(entity: Any, type_name: str) -> bool:
    """Whether a node or policy is of ``type_name`` or a type derived from it."""
    definition = getattr(entity, "type_definition", None)
    return bool(definition is not None and definition.is_derived_from(type_name))


def _capability_value(node: Any, capability: str, name: str) -> Any:
    """A property of one of the node's capabilities as written in the template, or None."""
    capabilities = node.entity_tpl.get("capabilities") if isinstance(node.entity_tpl, dict) else None
    entry = capabilities.get(capability) if isinstance(capabilities, dict) else None
    properties = entry.get("properties") if isinstance(entry, dict) else None
    return properties.get(name) if isinstance(properties, dict) else None
