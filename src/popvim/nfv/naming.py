"""Names and labels of what the orchestrator makes on a PoP.

Names join the instance's, the VNF's (or virtual link's) and a short hash of
the instance id with it: ``a`` + ``b-c`` and ``a-b`` + ``c`` read alike but
hash apart, and two orchestrators sharing a PoP never pick the same name.
Labels carry the record ids, so the orchestrator can tell what it made from
something else that holds the name, and never deletes the latter.
"""

from __future__ import annotations

import hashlib
import re

LABEL_NS = "io.popvim.nfv.ns"  # the NS instance id, on its containers and networks
LABEL_VNFC = "io.popvim.nfv.vnfc"  # the VNFC record id, on its container


def slug(value: str, length: int = 20) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", value).strip("-.")[:length] or "x"


def _tag(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:8]


def container_name(ns_name: str, ns_id: str, vnf_name: str, index: int) -> str:
    return f"{slug(ns_name, 24)}-{slug(vnf_name)}-{_tag(ns_id, 'vnf', vnf_name)}-{index}"


def network_name(ns_name: str, ns_id: str, link_name: str, virtual_link: str) -> str:
    return f"{slug(ns_name, 24)}-{slug(link_name)}-{_tag(ns_id, 'vl', virtual_link)}"


def container_labels(ns_id: str, vnfc_id: str) -> dict[str, str]:
    return {LABEL_NS: ns_id, LABEL_VNFC: vnfc_id}


def network_labels(ns_id: str) -> dict[str, str]:
    return {LABEL_NS: ns_id}
