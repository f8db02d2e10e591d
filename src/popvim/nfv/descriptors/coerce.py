"""The coercions and defaults both descriptor readers use, so a value means one thing in either format.

Defaults a descriptor may leave out live on the model's dataclasses (model.py); the
readers take them from there (``DEFAULTS``) rather than writing their own numbers.
"""

from __future__ import annotations

import math

from popvim.nfv.descriptors.model import ScalingPolicy, VnfDescriptor


class Defaults:
    """What a descriptor that says nothing gets; one place, whatever the format."""

    flavour: str = VnfDescriptor.flavour
    period_seconds: float = ScalingPolicy.period_seconds
    cooldown_seconds: float = ScalingPolicy.cooldown_seconds
    step: int = ScalingPolicy.step


DEFAULTS = Defaults()


def is_kind(value: object, kind: type | tuple[type, ...]) -> bool:
    """isinstance, except that a boolean is not a number: JSON's and YAML's true are Python
    bools, and bool is an int, so ``max_instances: true`` would otherwise read as 1."""
    if isinstance(value, bool):
        kinds = kind if isinstance(kind, tuple) else (kind,)
        return any(k is bool or k is object for k in kinds)
    return isinstance(value, kind)


def as_number(value: object) -> float | None:
    """A finite float from a number or a numeric string ("30"); None for anything else.

    Python's JSON and YAML readers accept NaN, Infinity and integers too large for a
    float, so each is checked rather than trusted.
    """
    if isinstance(value, str):
        text: str | float | int = value.strip()
    elif is_kind(value, (int, float)):
        text = value  # type: ignore[assignment]
    else:
        return None
    try:
        number = float(text)
    except (ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def config_text(value: object) -> str | None:
    """A configuration value as the container's environment will hold it: booleans as
    ``true``/``false``, null as empty; None for nested data, which has no such form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (str, int, float)):
        return str(value)
    return None


def cooldown(value: float | None) -> float:
    """A policy's cooldown in seconds; absent (or negative, already reported) is the default."""
    return float(value) if value is not None and value >= 0 else DEFAULTS.cooldown_seconds
