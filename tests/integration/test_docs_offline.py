"""The API's docs work on an offline network: /docs and /redoc load nothing from outside."""

from __future__ import annotations

import re

import httpx
import pytest
from support.daemon import Daemon

REFERENCE = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|\burl\s*:\s*["']([^"']+)["']""")


def references(html: str) -> list[str]:
    return [a or b for a, b in REFERENCE.findall(html)]


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_page_and_every_asset_it_references_come_from_popvimd(daemon: Daemon, page: str) -> None:
    r = httpx.get(daemon.url + page)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), r.text
    assert "://" not in r.text and "//cdn" not in r.text, "the page names an outside URL"
    refs = references(r.text)
    assert "/openapi.json" in refs or "/openapi.json" in r.text
    scripts = [ref for ref in refs if ref.endswith(".js")]
    assert scripts, f"no script referenced by {page}: {refs}"
    for ref in refs:
        assert ref.startswith("/"), ref
        asset = httpx.get(daemon.url + ref)  # no token: the docs are public
        assert asset.status_code == 200, (ref, asset.status_code)
        assert len(asset.content) > 1000 or ref.endswith(".json"), ref
    for ref in scripts:
        assert "javascript" in httpx.get(daemon.url + ref).headers["content-type"]


def test_docs_assets_do_not_open_the_rest_of_the_api(daemon: Daemon) -> None:
    assert httpx.get(daemon.url + "/docs/assets/../v1/info").status_code in (401, 404)
    assert httpx.get(daemon.url + "/docs/assets/nothing.js").status_code in (401, 404)
