"""Swagger UI at /docs and ReDoc at /redoc from assets inside the installed packages.

FastAPI's own pages load their script and styles from a CDN, which leaves an
offline PoP (a disaster mesh, a lab) with a blank page. fastapi-offline ships
the same Swagger UI and ReDoc bundles as package data; this module serves them
from fixed paths that the token check lets through (they hold no state).
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse

ASSETS = Path(fastapi_offline.__file__).parent / "static"
ASSET_PREFIX = "/docs/assets/"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")
PUBLIC_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc", *(ASSET_PREFIX + f for f in _FILES)})


def install(app: FastAPI) -> None:
    """Add the two pages and their assets; ``app`` must be made with ``docs_url=None, redoc_url=None``."""
    title = app.title

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url="/docs/oauth2-redirect",
            swagger_js_url=ASSET_PREFIX + "swagger-ui-bundle.js",
            swagger_css_url=ASSET_PREFIX + "swagger-ui.css",
            swagger_favicon_url=ASSET_PREFIX + "favicon.png",
            # The default validator badge asks an online service about the document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{title} - ReDoc",
            redoc_js_url=ASSET_PREFIX + "redoc.standalone.js",
            redoc_favicon_url=ASSET_PREFIX + "favicon.png",
            with_google_fonts=False,
        )

    for name in _FILES:
        _add_asset(app, name)


def _add_asset(app: FastAPI, name: str) -> None:
    path = ASSETS / name
    media_type = _MEDIA_TYPES[path.suffix]

    @app.get(ASSET_PREFIX + name, include_in_schema=False)
    def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})
