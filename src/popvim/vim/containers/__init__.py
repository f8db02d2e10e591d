"""Containers with seed 001's Pop lifecycle on top of an engine, one job per module.

A Pop container is a record first (CREATED: addresses reserved, metadata
editable, nothing on the engine); Start makes the engine container with the
metadata as environment. To the Pop protocol each state is traversed once; a
terminated container releases its addresses (unless stopped to keep them) and can
only be deleted or, outside the Pop protocol, run again (``restarter``).

- ``service``: ``ContainerService``, the facade every face calls (through ``Vim.containers``).
- ``creation``: the record of a new container (name, addresses, MAC) and create-then-start.
- ``state``: the state machine: which transitions exist, refusals carrying the state.
- ``locks``: one lock per container, and looking records up under it.
- ``views``: rows to the read-only ``Container`` view.
- ``spec``: a record to the engine's ``ContainerSpec``.
- ``stopper``: stops finished in the background, and a stop the engine could not answer.
- ``attachments``: network connect, disconnect and re-attach.
- ``restarter``: a terminated container run again, a running one rebooted (OpenStack face, REST restart).
- ``running``: what is done to a running container (logs, exec, stats, commit).
- ``engine_events``: the engine says a container died.
- ``reconcile``: records and engine containers brought into agreement after a restart.

Every transition of one container happens under that container's lock, and
the record is written before and after each engine call, so a crash at any
point leaves something reconciliation can finish.
"""

from popvim.vim.containers.service import ContainerService
from popvim.vim.containers.views import view

__all__ = ["ContainerService", "view"]
