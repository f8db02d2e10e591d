"""Deleting from a PoP what an instance made, and only that.

A container or network is deleted by the id the PoP answered when it was made. Where
that answer never arrived (a crash or a lost reply), it is found by name and deleted
only if it carries this orchestrator's label for the record (naming.LABEL_VNFC,
naming.LABEL_NS): whatever else holds the name is someone else's and is left alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from popvim.client import NotFound as PopNotFound
from popvim.client import Unreachable
from popvim.nfv import naming
from popvim.nfv.errors import NotFound, describe
from popvim.nfv.surface import PopDirectory

log = logging.getLogger(__name__)


def gone(delete_it: Callable[[], None], force: bool, what: str) -> None:
    """Run ``delete_it``; what is not there counts as deleted. ``force``: so does what cannot
    be reached, or sits on a PoP that was unregistered."""
    try:
        delete_it()
    except PopNotFound:
        pass  # already gone
    except (Unreachable, NotFound) as exc:  # NotFound: the PoP itself was unregistered
        if not force:
            raise
        log.warning("forgetting %s without deleting it: %s", what, describe(exc))


def delete_container(
    pops: PopDirectory, pop_name: str, pop_container_id: str | None, name: str, vnfc_id: str, force: bool = False
) -> None:
    def delete_it() -> None:
        client = pops.client(pop_name)
        if pop_container_id:
            client.delete(f"id:{pop_container_id}")
            return
        found = client.containers(name)
        if not found:
            return
        if found[0].labels.get(naming.LABEL_VNFC) != vnfc_id:
            log.warning("container %s on %s is not VNFC %s's: left alone", name, pop_name, vnfc_id)
            return
        client.delete(f"id:{found[0].id}")

    gone(delete_it, force, f"container {name} on {pop_name}")


def delete_network(pops: PopDirectory, pop_name: str, name: str, ns_id: str, force: bool = False) -> None:
    def delete_it() -> None:
        client = pops.client(pop_name)
        found = client.networks(name)
        if not found:
            return
        owner = found[0].labels.get(naming.LABEL_NS)
        if owner != ns_id:
            log.warning("network %s on %s is not this instance's (owner %s): left alone", name, pop_name, owner)
            return
        client.delete_network(f"id:{found[0].id}")

    gone(delete_it, force, f"network {name} on {pop_name}")
