"""The web dashboard: a page and its assets (public), the live stream for browsers, usage charts.

Everything the page needs ships inside the package (plain HTML, CSS and JS
written here), so it works on an offline PoP. Only the page and its assets are
public; every data call sends the token the page got from POST /v1/auth/login.

A browser's EventSource cannot send an Authorization header, so the page asks
POST /v1/events/ticket for a short-lived, single-use ticket bound to its token
and opens GET /v1/events/sse?ticket=... . The ticket middleware redeems it and
hands the request on as GET /v1/events with that token, re-framing the NDJSON
lines as Server-Sent Events; so the stream is the very same feed, with the
same token check, roles and per-user stream cap.
"""

from __future__ import annotations

from fastapi import FastAPI

from popvim.api.rest.dashboard import pages, usage
from popvim.api.rest.dashboard.tickets import SSE_PATH, EventTickets, Tickets
from popvim.api.rest.dashboard.tickets import router as tickets_router

PUBLIC_PATHS = pages.PUBLIC_PATHS  # SSE_PATH is redeemed (or refused) before the token check

__all__ = ["PUBLIC_PATHS", "SSE_PATH", "install"]


def install(app: FastAPI) -> None:
    """Add the dashboard's routes and the ticket middleware; call last, so it wraps every other layer."""
    app.state.tickets = Tickets()
    for router in (pages.router, tickets_router, usage.router):
        app.include_router(router)
    app.add_middleware(EventTickets, tickets=app.state.tickets)
