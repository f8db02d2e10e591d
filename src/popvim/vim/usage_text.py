"""The per-container usage families as Prometheus text, rendered once per sampler pass.

Formatting five samples per running container through prometheus_client costs about
50 ms of a core with 1,000 of them, and a scrape did that every time although the
figures only change when the sampler passes (every few seconds). So the sampler
renders them when it has them and every scrape, REST or the separate metrics
address, appends those bytes as they are: a scrape costs a concatenation.

The text is what ``prometheus_client.generate_latest`` writes for the same families
(the text format 0.0.4): ``_total`` counters, sorted labels, Go-style floats.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from prometheus_client.utils import floatToGoString

if TYPE_CHECKING:
    from popvim.vim.usage import Usage

# (sample name, type, help, Usage field); counters carry their _total already
FAMILIES: tuple[tuple[str, str, str, str], ...] = (
    (
        "popvim_container_cpu_usage_seconds_total",
        "counter",
        "Cumulative CPU time the container consumed (sampled).",
        "cpu_seconds",
    ),
    ("popvim_container_memory_usage_bytes", "gauge", "Current memory usage (sampled).", "memory_bytes"),
    ("popvim_container_memory_limit_bytes", "gauge", "Memory limit (sampled).", "memory_limit_bytes"),
    (
        "popvim_container_network_receive_bytes_total",
        "counter",
        "Cumulative bytes received on all interfaces (sampled).",
        "rx_bytes",
    ),
    (
        "popvim_container_network_transmit_bytes_total",
        "counter",
        "Cumulative bytes sent on all interfaces (sampled).",
        "tx_bytes",
    ),
)


_go_float = cast(Callable[[float], str], floatToGoString)  # how prometheus_client writes values


def _label_value(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


class UsageText:
    """Renders a sampler's snapshot. A running container's id and name do not change, so its
    label text is made once and kept for as long as it appears in the snapshots."""

    def __init__(self) -> None:
        self._labels: dict[tuple[str, str], str] = {}

    def render(self, usages: Iterable[Usage]) -> bytes:
        rows = list(usages)
        labels: dict[tuple[str, str], str] = {}
        for u in rows:
            key = (u.container_id, u.name)
            labels[key] = self._labels.get(key) or (
                f'{{container_id="{_label_value(u.container_id)}",name="{_label_value(u.name)}"}} '
            )
        self._labels = labels  # only the containers of this pass: the table never outgrows the PoP
        out: list[str] = []
        for name, kind, help_text, field in FAMILIES:
            out.append(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")
            out.extend(f"{name}{labels[(u.container_id, u.name)]}{_go_float(getattr(u, field))}\n" for u in rows)
        return "".join(out).encode()
