"""Network service descriptors: Open Baton NSD JSON and Tacker-style TOSCA YAML, one model.

:func:`read_descriptor` is what an API takes a request body to: it tells the two
formats apart by content, since clients label YAML and JSON inconsistently, and
uses the content type only to choose the parser of a text body.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from popvim.nfv.descriptors.model import DescriptorError, NetworkServiceDescriptor, Problem

if TYPE_CHECKING:
    from popvim.nfv.descriptors.openbaton import read_openbaton
    from popvim.nfv.descriptors.tosca import read_tosca, read_tosca_document

__all__ = [
    "DescriptorError",
    "NetworkServiceDescriptor",
    "Problem",
    "read_descriptor",
    "read_openbaton",
    "read_tosca",
    "read_tosca_document",
]


def __getattr__(name: str) -> Any:
    """The readers on first use: tosca-parser and what it imports cost popvimd ~5 MiB resident, the Open
    Baton reader and PyYAML ~1.5 MiB, needed only when a descriptor is read (the rest of popvimd needs
    only the model)."""
    if name in ("read_tosca", "read_tosca_document"):
        from popvim.nfv.descriptors import tosca

        return getattr(tosca, name)
    if name == "read_openbaton":
        from popvim.nfv.descriptors import openbaton

        return openbaton.read_openbaton
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


_JSON_TYPES = frozenset({"application/json", "text/json"})
_UNKNOWN = (
    'not a known descriptor: an Open Baton NSD is a JSON object with "vnfd", '
    'a TOSCA template has "tosca_definitions_version"'
)


def read_descriptor(body: bytes | str | dict[str, Any], content_type: str | None = None) -> NetworkServiceDescriptor:
    """The network service in ``body``, Open Baton or TOSCA; DescriptorError lists every problem.

    A JSON object with ``vnfd`` is Open Baton; a document with
    ``tosca_definitions_version`` is TOSCA (JSON is YAML too, so a JSON body may
    carry either). A content type of JSON makes invalid JSON an error rather
    than a YAML retry; anything else is parsed as YAML, a superset of JSON.
    """
    from popvim.nfv.descriptors._common import describe
    from popvim.nfv.descriptors.openbaton import read_openbaton

    doc = body if isinstance(body, dict) else _parse_text(_text(body), content_type)
    if not isinstance(doc, dict):
        raise DescriptorError([Problem("", f"{_UNKNOWN}; this is {describe(doc)}")])
    if "tosca_definitions_version" in doc:
        from popvim.nfv.descriptors.tosca import read_tosca_document

        return read_tosca_document(doc)
    if "vnfd" in doc:
        return read_openbaton(doc)
    raise DescriptorError([Problem("", _UNKNOWN)])


def _text(body: object) -> str:
    from popvim.nfv.descriptors._common import describe

    if isinstance(body, str):
        return body
    if isinstance(body, (bytes, bytearray, memoryview)):
        try:
            return bytes(body).decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise DescriptorError([Problem("", f"a descriptor must be UTF-8 text: {exc}")]) from None
    raise DescriptorError([Problem("", f"a descriptor must be text or an object, not {describe(body)}")])


def _parse_text(text: str, content_type: str | None) -> Any:
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type in _JSON_TYPES or media_type.endswith("+json"):
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise DescriptorError([Problem("", f"invalid JSON: {exc}")]) from None
    from popvim.nfv.descriptors.tosca import load_yaml

    return load_yaml(text)
