"""Descriptor readers (placeholder until the format detection lands)."""

from __future__ import annotations

import json
from typing import Any

from popvim.nfv.descriptors.model import DescriptorError, NetworkServiceDescriptor, Problem


def read_descriptor(body: bytes | str | dict[str, Any], content_type: str | None = None) -> NetworkServiceDescriptor:
    from popvim.nfv.descriptors.openbaton import read_openbaton

    if isinstance(body, (bytes, str)):
        try:
            body = json.loads(body)
        except ValueError as exc:
            raise DescriptorError([Problem("body", f"not JSON: {exc}")]) from exc
    if not isinstance(body, dict):
        raise DescriptorError([Problem("body", "not an object")])
    return read_openbaton(body)
