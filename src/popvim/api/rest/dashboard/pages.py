"""The dashboard's page and assets, served from package data without a token."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse

STATIC = Path(__file__).parent / "static"
PAGE = "/dashboard"
ASSET_PREFIX = "/dashboard/static/"
_MEDIA_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".html": "text/html"}
_ASSETS = ("app.js", "app.css", "favicon.svg")
PUBLIC_PATHS = frozenset({PAGE, PAGE + "/", *(ASSET_PREFIX + name for name in _ASSETS)})

# The page loads nothing from elsewhere and runs no inline script: an injected
# name or label in the data can do no harm even if it reached the markup.
_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"

router = APIRouter(include_in_schema=False)


@router.get(PAGE)
def page() -> FileResponse:
    return FileResponse(
        STATIC / "index.html",
        media_type="text/html",
        headers={"Content-Security-Policy": _CSP, "Cache-Control": "no-cache"},
    )


@router.get(PAGE + "/")
def page_slash() -> RedirectResponse:
    return RedirectResponse(PAGE)


def _add_asset(name: str) -> None:
    path = STATIC / name
    media_type = _MEDIA_TYPES[path.suffix]

    @router.get(ASSET_PREFIX + name)
    def asset() -> FileResponse:
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})


for _name in _ASSETS:
    _add_asset(_name)
