"""connect.js, the embeddable components' script, served from the installed package.

`make` builds it from `connect/` (TypeScript and Lit, bundled by esbuild) into
`payoutkit/static/connect.js`, which the wheel ships as package data. Two URLs serve it:

- `/v1.0/connect.js`, the path of Stripe's own script (a page written for Stripe Connect swaps only
  the origin): a short cache, so a new release reaches pages within minutes;
- `/connect/<version>/connect.js`, where `<version>` is the first 16 hex digits of the script's
  SHA-256 (the `Payoutkit-Connect-Path` header of the first URL names it) or the package's version:
  cached for a year as immutable. Another version is a 404: the URL never serves other content.

The file is read on each request (it is small, and a rebuild is served without a restart). A missing
build is a clear 404 error naming the fix, never a 500.
"""

from __future__ import annotations

import hashlib
from importlib import metadata, resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from payoutkit.api.errors import render
from payoutkit.api.wire import json_response
from payoutkit.errors import ResourceMissing, UnknownUrl
from payoutkit.ids import new_id

SHORT_CACHE = "public, max-age=300"
LONG_CACHE = "public, max-age=31536000, immutable"
MEDIA_TYPE = "application/javascript"


def _built() -> bytes | None:
    try:
        return resources.files("payoutkit").joinpath("static/connect.js").read_bytes()
    except OSError:
        return None


def _package_version() -> str:
    try:
        return metadata.version("payoutkit")
    except metadata.PackageNotFoundError:  # pragma: no cover: run from a source tree never installed
        return "0"


def content_version(code: bytes) -> str:
    return hashlib.sha256(code).hexdigest()[:16]


def _missing() -> Response:
    status, body = render(
        ResourceMissing(
            "connect.js has not been built: run `make` (or `make connect`) in Payoutkit's source tree, "
            "which builds it from connect/ into payoutkit/static/connect.js."
        )
    )
    return json_response(status, body, new_id("req", 14))


def _script(code: bytes, cache: str) -> Response:
    version = content_version(code)
    return Response(
        code,
        media_type=MEDIA_TYPE,
        headers={
            "Cache-Control": cache,
            "ETag": f'"{version}"',
            "Payoutkit-Connect-Path": f"/connect/{version}/connect.js",
        },
    )


async def latest(request: Request) -> Response:
    code = _built()
    if code is None:
        return _missing()
    return _script(code, SHORT_CACHE)


async def versioned(request: Request) -> Response:
    code = _built()
    if code is None:
        return _missing()
    asked = request.path_params["version"]
    if asked not in (content_version(code), _package_version()):
        status, body = render(UnknownUrl(request.method, request.url.path))
        return json_response(status, body, new_id("req", 14))
    return _script(code, LONG_CACHE)


routes = [
    Route("/v1.0/connect.js", latest, methods=["GET", "HEAD"]),
    Route("/connect/{version}/connect.js", versioned, methods=["GET", "HEAD"]),
]
