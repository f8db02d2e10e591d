"""Alembic's entry point for popvim's schema; run through ``popvim.store.migrate``, which
hands over an open connection (no alembic.ini, no URL here)."""

from __future__ import annotations

from alembic import context

import popvim.store.nfv_models  # noqa: F401 - registers the orchestrator's tables on Base.metadata
from popvim.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("popvim's migrations run through popvim.store.migrate (popvimd db upgrade), not the alembic CLI")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=True,  # SQLite alters tables by copying them; batch mode does that for it
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
