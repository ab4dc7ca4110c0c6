"""The embedded API's doors: JSON bodies, and who acts (docs/embedded.md §2).

`EMBEDDED` is the door of every embedded endpoint: `endpoint(handler, Params, door=EMBEDDED)` runs the
handler as the session token's actor (`auth.session_actor`) with the parameters read by `decode_json`.
`CLAIM` is the claim's door: the same decoding, and no one acting (the body authenticates it).

`decode_json` reads the query string (as the v1 API reads it) and, for a POST, a JSON object body
(`Content-Type: application/json`); the body's fields win over the query's. A body that is not JSON,
or not an object, or sent as another content type is refused (400) before anything runs.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from payoutkit.api import form
from payoutkit.api.embedded.auth import nobody, session_actor
from payoutkit.api.wire import Door, read_body
from payoutkit.errors import InvalidRequest


async def decode_json(request: Request, max_body_bytes: int) -> dict[str, Any]:
    query = form.decode_pairs(list(request.query_params.multi_items()))
    if request.method not in ("POST", "DELETE"):
        return query
    raw = await read_body(request, max_body_bytes)
    if not raw.strip():
        return query
    if "application/json" not in request.headers.get("content-type", "").lower():
        raise InvalidRequest("The embedded API takes JSON bodies (Content-Type: application/json).")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidRequest("Invalid JSON in the request body.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return query | body


EMBEDDED = Door(session_actor, decode_json)
CLAIM = Door(nobody, decode_json)
