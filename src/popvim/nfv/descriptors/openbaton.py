"""Read an Open Baton Network Service Descriptor (JSON) into the internal model.

The reader accepts Open Baton documents verbatim, as exported by Open Baton or
written for it (as the SIPp service in tests/unit/fixtures/nsd): keys it has no use for (``lifecycle_event``,
``endpoint``, ``vnfPackageLocation``, ``description``, ...) are ignored, and every
problem in the keys it does use is reported at once, each with its path, e.g.
``vnfd[1].vdu[0].vm_image``.

Mapping, per ``vnfd[i]``:

- ``name``, ``type`` -> the VNF's name and type (the type names the parameters its
  dependency targets receive: ``server`` + ``private`` -> ``SERVER_PRIVATE``);
- ``vdu[0].vm_image[0]`` -> image (Open Baton lists alternatives; the first wins);
- ``len(vdu[0].vnfc)`` -> initial and minimum instances (at least 1), and
  ``vdu[0].scale_in_out`` -> maximum instances (default: the initial count);
- ``vdu[0].vnfc[*].connection_point[*].virtual_link_reference`` -> connection points;
- ``vdu[0].vimInstanceName`` (a list; the first non-empty name) -> the PoP;
- ``configurations.configurationParameters[*]`` ``confKey``/``value`` -> configuration;
- ``deployment_flavour[0].flavour_key`` -> flavour;
- ``auto_scale_policy`` -> scaling policies (see :func:`_cpu_bound`);
- ``vnf_dependency[*]`` -> ``Dependency(source.name, target.name, parameters)``.

One VDU per VNFD: a VNF here is one container image, so a second VDU would be
silently dropped; it is reported instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from popvim.nfv.descriptors._common import Problems, at, check_dependencies, describe
from popvim.nfv.descriptors.coerce import DEFAULTS, as_number, config_text, is_kind
from popvim.nfv.descriptors.loadbalancer import check_backends, from_openbaton
from popvim.nfv.descriptors.model import (
    ConnectionPoint,
    Dependency,
    DescriptorError,
    NetworkServiceDescriptor,
    Problem,
    ScalingPolicy,
    VirtualLink,
    VnfDescriptor,
)

# Zabbix item keys Open Baton's monitoring uses for CPU. ``idle`` is the share of
# time the CPU did nothing; the others measure work, which is what popvim watches.
_IDLE_METRICS = frozenset({"system.cpu.util[,idle]"})
_BUSY_METRICS = frozenset({"system.cpu.util", "system.cpu.util[]", "system.cpu.util[,user]"})
_HIGH_OPERATORS = frozenset({">=", ">"})
_LOW_OPERATORS = frozenset({"<=", "<"})
_FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}
_ACTION_DIRECTION = {"SCALE_OUT": True, "SCALE_IN": False}  # True: wants high CPU


def read_openbaton(doc: dict[str, Any]) -> NetworkServiceDescriptor:
    """The network service ``doc`` describes; DescriptorError lists every problem in it."""
    if not isinstance(doc, dict):
        raise DescriptorError([Problem("", f"an Open Baton NSD must be a JSON object, not {describe(doc)}")])
    problems = Problems()
    name = _text(doc, "name", "", problems, required=True)
    links = _read_links(doc, problems)
    link_names = {link.name for link in links}
    vnfs = _read_vnfds(doc, link_names, problems)
    dependencies = _read_dependencies(doc, problems)
    check_dependencies(dependencies, {v.name: v for v in vnfs}, problems, "vnf_dependency")
    for index, vnf in enumerate(vnfs):
        if vnf.load_balancer:
            where = at(at(at("vnfd", index), "configurations"), "LB_BACKENDS")
            check_backends(vnf.name, vnf.load_balancer, [v.name for v in vnfs], where, problems)
    problems.raise_if_any()
    return NetworkServiceDescriptor(
        name=name or "",
        vendor=_label(doc, "vendor", "", problems),
        version=_label(doc, "version", "", problems),
        format="openbaton",
        virtual_links=links,
        vnfs=tuple(vnfs),
        dependencies=tuple(dep for _, dep in dependencies),
    )


# --- typed access: a wrong type is a problem, never a TypeError ----------------------


def _field(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    problems: Problems,
    kind: type | tuple[type, ...],
    what: str,
    required: bool = False,
) -> Any:
    """``obj[key]`` when it has type ``kind``; None (and a problem when due) otherwise.

    JSON null counts as absent, as Open Baton's own exporter writes nulls freely.
    """
    value = obj.get(key)
    if value is None:
        if required:
            problems.add(at(path, key), "is required")
        return None
    if not is_kind(value, kind):
        problems.add(at(path, key), f"must be {what}, not {describe(value)}")
        return None
    return value


def _text(obj: Mapping[str, Any], key: str, path: str, problems: Problems, required: bool = False) -> str | None:
    value: str | None = _field(obj, key, path, problems, str, "a string", required)
    if value is not None and required and not value.strip():
        problems.add(at(path, key), "must not be empty")
        return None
    return value


def _label(obj: Mapping[str, Any], key: str, path: str, problems: Problems) -> str:
    """A free-text label (vendor, version) that writers often give as a number: 1.0."""
    value = _field(obj, key, path, problems, (str, int, float), "a string")
    return "" if value is None else str(value)


def _items(
    obj: Mapping[str, Any], key: str, path: str, problems: Problems, required: bool = False
) -> list[tuple[str, dict[str, Any]]]:
    """The objects of the list ``obj[key]``, each with its path; non-objects are problems."""
    values = _field(obj, key, path, problems, list, "a list", required)
    found: list[tuple[str, dict[str, Any]]] = []
    for index, item in enumerate(values or ()):
        item_path = at(at(path, key), index)
        if isinstance(item, dict):
            found.append((item_path, item))
        else:
            problems.add(item_path, f"must be an object, not {describe(item)}")
    return found


def _number(
    obj: Mapping[str, Any], key: str, path: str, problems: Problems, default: float, minimum: float = 0.0
) -> float:
    """A number such as a period in seconds; numeric strings ("30") are accepted."""
    value = obj.get(key)
    if value is None:
        return default
    number = as_number(value)
    if number is None:
        problems.add(at(path, key), f"must be a number, not {describe(value)}")
        return default
    if number < minimum:
        problems.add(at(path, key), f"must be at least {minimum:g}")
        return default
    return number


# --- virtual links ---------------------------------------------------------------------


def _read_links(doc: Mapping[str, Any], problems: Problems) -> tuple[VirtualLink, ...]:
    links: list[VirtualLink] = []
    for path, vld in _items(doc, "vld", "", problems):
        name = _text(vld, "name", path, problems, required=True)
        if name is None:
            continue
        if any(link.name == name for link in links):
            problems.add(at(path, "name"), f"virtual link {name!r} is declared twice")
            continue
        # popvim extension (testbed): "bandwidth": "10mbit", a tc limit on the link.
        bandwidth = _text(vld, "bandwidth", path, problems) if "bandwidth" in vld else None
        links.append(VirtualLink(name=name, bandwidth=bandwidth))
    return tuple(links)


# --- VNFDs -----------------------------------------------------------------------------


def _read_vnfds(doc: Mapping[str, Any], link_names: set[str], problems: Problems) -> list[VnfDescriptor]:
    vnfs: list[VnfDescriptor] = []
    entries = _items(doc, "vnfd", "", problems, required=True)
    if isinstance(doc.get("vnfd"), list) and not doc["vnfd"]:
        problems.add("vnfd", "must list at least one VNF")
    for path, vnfd in entries:
        vnf = _read_vnfd(vnfd, path, link_names, problems)
        if vnf is None:
            continue
        if any(other.name == vnf.name for other in vnfs):
            problems.add(at(path, "name"), f"VNF {vnf.name!r} is declared twice")
            continue
        vnfs.append(vnf)
    return vnfs


def _read_vnfd(vnfd: Mapping[str, Any], path: str, link_names: set[str], problems: Problems) -> VnfDescriptor | None:
    """One VNF, or None when it is too broken to build (its problems are recorded)."""
    name = _text(vnfd, "name", path, problems, required=True)
    vnf_type = _text(vnfd, "type", path, problems) or ""
    vdu = _read_vdu(vnfd, path, link_names, problems)
    configuration = _read_configuration(vnfd, path, problems)
    flavour = _read_flavour(vnfd, path, problems)
    scaling = _read_policies(vnfd, path, problems)
    _check_vnfd_links(vnfd, path, link_names, problems)
    if name is None or vdu is None:
        return None
    return VnfDescriptor(
        name=name,
        image=vdu.image,
        type=vnf_type,
        flavour=flavour,
        min_instances=vdu.initial,
        max_instances=vdu.maximum,
        initial_instances=vdu.initial,
        connection_points=vdu.connection_points,
        pop=vdu.pop,
        configuration=configuration,
        scaling=scaling,
        load_balancer=from_openbaton(configuration, path, problems),
    )


def _check_vnfd_links(vnfd: Mapping[str, Any], path: str, link_names: set[str], problems: Problems) -> None:
    """A VNFD's own ``virtual_link`` list must name links the NSD declares in ``vld``."""
    for link_path, link in _items(vnfd, "virtual_link", path, problems):
        name = _text(link, "name", link_path, problems, required=True)
        if name is not None and name not in link_names:
            problems.add(at(link_path, "name"), f"names a virtual link {name!r} that vld does not declare")


class _Vdu(NamedTuple):
    image: str
    initial: int
    maximum: int
    connection_points: tuple[ConnectionPoint, ...]
    pop: str | None


def _read_vdu(vnfd: Mapping[str, Any], path: str, link_names: set[str], problems: Problems) -> _Vdu | None:
    """What the VNF's only VDU says, or None when it names no usable image."""
    vdus = _items(vnfd, "vdu", path, problems, required=True)
    if isinstance(vnfd.get("vdu"), list) and not vnfd["vdu"]:
        problems.add(at(path, "vdu"), "must list one VDU")
    if len(vdus) > 1:
        problems.add(at(path, "vdu"), "lists several VDUs; popvim runs one container image per VNF")
    if not vdus:
        return None
    vdu_path, vdu = vdus[0]
    image = _read_image(vdu, vdu_path, problems)
    connection_points, vnfc_count = _read_vnfcs(vdu, vdu_path, link_names, problems)
    initial = max(1, vnfc_count)
    maximum = _read_scale_in_out(vdu, vdu_path, initial, problems)
    pop = _read_pop(vdu, vdu_path, problems)
    if image is None:
        return None
    return _Vdu(image, initial, maximum, connection_points, pop)


def _read_image(vdu: Mapping[str, Any], path: str, problems: Problems) -> str | None:
    images = _field(vdu, "vm_image", path, problems, list, "a list of image names", required=True)
    if images is None:
        return None
    if not images:
        problems.add(at(path, "vm_image"), "must name at least one image")
        return None
    first = images[0]
    if not isinstance(first, str) or not first.strip():
        problems.add(at(at(path, "vm_image"), 0), f"must be an image name, not {describe(first)}")
        return None
    return first


def _read_vnfcs(
    vdu: Mapping[str, Any], path: str, link_names: set[str], problems: Problems
) -> tuple[tuple[ConnectionPoint, ...], int]:
    """The connection points all VNFCs ask for (in order, once each) and the VNFC count."""
    vnfcs = _items(vdu, "vnfc", path, problems)
    seen: list[str] = []
    for vnfc_path, vnfc in vnfcs:
        for cp_path, cp in _items(vnfc, "connection_point", vnfc_path, problems):
            link = _text(cp, "virtual_link_reference", cp_path, problems, required=True)
            if link is None:
                continue
            if link not in link_names:
                problems.add(
                    at(cp_path, "virtual_link_reference"), f"names a virtual link {link!r} that vld does not declare"
                )
            elif link not in seen:
                seen.append(link)
    return tuple(ConnectionPoint(virtual_link=link) for link in seen), len(vnfcs)


def _read_scale_in_out(vdu: Mapping[str, Any], path: str, initial: int, problems: Problems) -> int:
    value = _field(vdu, "scale_in_out", path, problems, int, "an integer")
    if value is None:
        return initial
    if value < 1:
        problems.add(at(path, "scale_in_out"), f"must be at least 1, not {value}")
        return initial
    if value < initial:
        problems.add(at(path, "scale_in_out"), f"is {value}, fewer than the {initial} VNFCs the VDU lists")
        return initial
    return int(value)


def _read_pop(vdu: Mapping[str, Any], path: str, problems: Problems) -> str | None:
    """The first non-empty vimInstanceName; Open Baton's older exports give a plain string."""
    value = vdu.get("vimInstanceName")
    names = (
        [value]
        if isinstance(value, str)
        else _field(vdu, "vimInstanceName", path, problems, list, "a list of VIM instance names")
    )
    for index, name in enumerate(names or ()):
        if not isinstance(name, str):
            problems.add(at(at(path, "vimInstanceName"), index), f"must be a string, not {describe(name)}")
        elif name.strip():
            return name
    return None


def _read_configuration(vnfd: Mapping[str, Any], path: str, problems: Problems) -> dict[str, str]:
    configurations = _field(vnfd, "configurations", path, problems, dict, "an object")
    if configurations is None:
        return {}
    conf_path = at(path, "configurations")
    configuration: dict[str, str] = {}
    for param_path, param in _items(configurations, "configurationParameters", conf_path, problems):
        key = _text(param, "confKey", param_path, problems, required=True)
        raw = param.get("value")
        value = config_text(raw)
        if value is None:
            problems.add(at(param_path, "value"), f"must be a string, number or boolean, not {describe(raw)}")
        if key is None or value is None:
            continue
        if key in configuration:
            problems.add(at(param_path, "confKey"), f"parameter {key!r} is given twice")
        configuration[key] = value
    return configuration


def _read_flavour(vnfd: Mapping[str, Any], path: str, problems: Problems) -> str:
    flavours = _items(vnfd, "deployment_flavour", path, problems)
    if not flavours:
        return DEFAULTS.flavour
    flavour_path, flavour = flavours[0]
    return _text(flavour, "flavour_key", flavour_path, problems, required=True) or DEFAULTS.flavour


# --- scaling policies ------------------------------------------------------------------


def _read_policies(vnfd: Mapping[str, Any], path: str, problems: Problems) -> tuple[ScalingPolicy, ...]:
    policies: list[ScalingPolicy] = []
    for policy_path, policy in _items(vnfd, "auto_scale_policy", path, problems):
        scaling = _read_policy(policy, policy_path, problems)
        if scaling is not None:
            policies.append(scaling)
    return tuple(policies)


def _read_policy(policy: Mapping[str, Any], path: str, problems: Problems) -> ScalingPolicy | None:
    """One Open Baton auto-scale policy as a popvim ScalingPolicy.

    Open Baton fires a policy when the weighted vote of its alarms reaches the
    policy's own ``threshold``/``comparisonOperator``; with the one alarm popvim
    supports, that vote is the alarm itself, so the policy-level pair is ignored.
    ``mode`` and ``type`` (REACTIVE, VOTED) are likewise implied.
    """
    name = _text(policy, "name", path, problems, required=True)
    period = _number(policy, "period", path, problems, default=DEFAULTS.period_seconds)
    cooldown = _number(policy, "cooldown", path, problems, default=DEFAULTS.cooldown_seconds)
    action = _read_action(policy, path, problems)
    bound = _read_alarm(policy, path, problems)
    if name is None or action is None or bound is None:
        return None
    scale_out, step = action
    high, threshold = bound
    if high != scale_out:
        wanted = "high" if scale_out else "low"
        problems.add(
            at(path, "alarms"), f"a {'SCALE_OUT' if scale_out else 'SCALE_IN'} policy must fire on {wanted} CPU use"
        )
        return None
    return ScalingPolicy(
        name=name,
        scale_out_above=threshold if scale_out else None,
        scale_in_below=None if scale_out else threshold,
        period_seconds=period,
        cooldown_seconds=cooldown,
        step=step,
    )


def _single(policy: Mapping[str, Any], key: str, path: str, problems: Problems, what: str) -> tuple[str, Any] | None:
    """The (path, item) of a list that must hold exactly one item; a problem otherwise."""
    items = _items(policy, key, path, problems, required=True)
    if len(items) != 1:
        if isinstance(policy.get(key), list):
            problems.add(at(path, key), f"must hold {what}")
        return None
    return items[0]


def _read_action(policy: Mapping[str, Any], path: str, problems: Problems) -> tuple[bool, int] | None:
    """(scales out?, step) from the policy's single SCALE_OUT or SCALE_IN action."""
    single = _single(policy, "actions", path, problems, "exactly one SCALE_OUT or SCALE_IN action")
    if single is None:
        return None
    action_path, action = single
    kind = _text(action, "type", action_path, problems, required=True)
    step = _read_step(action, action_path, problems)
    if kind is None:
        return None
    if kind not in _ACTION_DIRECTION:
        problems.add(at(action_path, "type"), f"{kind!r} is not supported; use SCALE_OUT or SCALE_IN")
        return None
    return (_ACTION_DIRECTION[kind], step) if step is not None else None


def _read_step(action: Mapping[str, Any], path: str, problems: Problems) -> int | None:
    """The action's ``value``: how many instances to add or remove (Open Baton writes "1")."""
    raw = action.get("value")
    if raw is None:
        return 1
    number = as_number(raw)
    if number is None or number != int(number) or number < 1:
        problems.add(at(path, "value"), f"must be a positive whole number, not {raw!r}")
        return None
    return int(number)


def _read_alarm(policy: Mapping[str, Any], path: str, problems: Problems) -> tuple[bool, float] | None:
    """(fires on high CPU?, busy-CPU threshold in percent) from the policy's single alarm."""
    single = _single(policy, "alarms", path, problems, "exactly one CPU alarm")
    if single is None:
        return None
    alarm_path, alarm = single
    metric = _text(alarm, "metric", alarm_path, problems, required=True)
    operator = _text(alarm, "comparisonOperator", alarm_path, problems, required=True)
    threshold = _threshold(alarm, alarm_path, problems)
    statistic = _text(alarm, "statistic", alarm_path, problems)
    if statistic is not None and statistic != "avg":
        problems.add(at(alarm_path, "statistic"), f"{statistic!r} is not supported; popvim scales on the average")
    if metric is None or operator is None or threshold is None:
        return None
    bound = _cpu_bound(metric, operator, threshold)
    if isinstance(bound, str):
        problems.add(alarm_path, bound)
        return None
    return bound


def _threshold(alarm: Mapping[str, Any], path: str, problems: Problems) -> float | None:
    raw = _field(alarm, "threshold", path, problems, (int, float, str), "a number", required=True)
    threshold = None if raw is None else as_number(raw)
    if raw is not None and threshold is None:
        problems.add(at(path, "threshold"), f"must be a number, not {raw!r}")
    return threshold


def _cpu_bound(metric: str, operator: str, threshold: float) -> tuple[bool, float] | str:
    """Translate an Open Baton CPU alarm into (fires on high CPU?, busy threshold), or a reason.

    Open Baton's Zabbix metric ``system.cpu.util[,idle]`` is the percentage of
    time the CPU is *idle*, while popvim scales on the percentage it is *busy*
    (container CPU from stats). Busy = 100 - idle, and the comparison flips:

    - ``idle <= 40`` is ``busy >= 60``: scale out above 60 %;
    - ``idle >= 60`` is ``busy <= 40``: scale in below 40 %.

    Strict and non-strict comparisons are treated alike: the CPU figure is an
    average of samples, where the difference carries no meaning. Metrics that
    already measure busy time (``system.cpu.util``) keep their threshold.
    """
    if metric in _IDLE_METRICS:
        high_ops, low_ops, busy = _LOW_OPERATORS, _HIGH_OPERATORS, 100.0 - threshold
    elif metric in _BUSY_METRICS:
        high_ops, low_ops, busy = _HIGH_OPERATORS, _LOW_OPERATORS, threshold
    else:
        known = ", ".join(sorted(_IDLE_METRICS | _BUSY_METRICS))
        return f"metric {metric!r} is not supported; popvim scales on CPU ({known})"
    if not 0.0 <= threshold <= 100.0:
        return f"threshold {threshold:g} is not a percentage between 0 and 100"
    if operator in high_ops:
        return True, busy
    if operator in low_ops:
        return False, busy
    return f"comparisonOperator {operator!r} is not supported; use one of >=, >, <=, <"


# --- dependencies ----------------------------------------------------------------------


def _read_dependencies(doc: Mapping[str, Any], problems: Problems) -> list[tuple[str, Dependency]]:
    dependencies: list[tuple[str, Dependency]] = []
    for path, entry in _items(doc, "vnf_dependency", "", problems):
        source = _endpoint_name(entry, "source", path, problems)
        target = _endpoint_name(entry, "target", path, problems)
        parameters = _read_parameters(entry, path, problems)
        if source is not None and target is not None and parameters is not None:
            dependencies.append((path, Dependency(source, target, parameters)))
    return dependencies


def _endpoint_name(entry: Mapping[str, Any], key: str, path: str, problems: Problems) -> str | None:
    """``source``/``target`` is ``{"name": ...}`` in Open Baton."""
    endpoint = _field(entry, key, path, problems, dict, 'an object like {"name": "..."}', required=True)
    if endpoint is None:
        return None
    return _text(endpoint, "name", at(path, key), problems, required=True)


def _read_parameters(entry: Mapping[str, Any], path: str, problems: Problems) -> tuple[str, ...] | None:
    values = _field(entry, "parameters", path, problems, list, "a list of strings")
    if values is None:
        return () if entry.get("parameters") is None else None
    parameters: list[str] = []
    for index, value in enumerate(values):
        if isinstance(value, str) and value.strip():
            parameters.append(value)
        else:
            problems.add(at(at(path, "parameters"), index), f"must be a parameter name, not {describe(value)}")
    return tuple(parameters) if len(parameters) == len(values) else None
