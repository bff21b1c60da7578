"""The page's files (HTML, CSS, ES modules), read once from the installed package.

They are package data (pyproject `[tool.setuptools.package-data]`), so a pip-installed hub
serves them without a checkout and without any build step or network. Each answer carries
an ETag and `Cache-Control: no-cache`: browsers keep the files but ask again (a 304) on each
load, so an upgraded hub is seen at once.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

# What the page may load and talk to: only this hub. No inline script, no other origin.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
_TYPES = {
    ".html": "text/html",
    ".css": "text/css",
    ".js": "text/javascript",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file, ready to send."""

    body: bytes
    content_type: str
    etag: str


def load_assets(package: str = "hub.http.dashboard", folder: str = "static") -> dict[str, Asset]:
    """Every file of the package's static folder, by name."""
    found: dict[str, Asset] = {}
    for entry in resources.files(package).joinpath(folder).iterdir():
        if not entry.is_file() or entry.name.startswith("."):
            continue
        body = entry.read_bytes()
        suffix = "." + entry.name.rsplit(".", 1)[-1] if "." in entry.name else ""
        content_type = _TYPES.get(suffix) or mimetypes.guess_type(entry.name)[0]
        found[entry.name] = Asset(
            body,
            content_type or "application/octet-stream",
            '"' + hashlib.sha256(body).hexdigest()[:20] + '"',
        )
    return found


def asset_response(request: web.Request, asset: Asset) -> web.Response:
    headers = {"ETag": asset.etag, "Cache-Control": "no-cache", **SECURITY_HEADERS}
    if asset.etag in request.headers.get("If-None-Match", ""):
        return web.Response(status=304, headers=headers)
    return web.Response(
        body=asset.body, content_type=asset.content_type, charset="utf-8", headers=headers
    )
