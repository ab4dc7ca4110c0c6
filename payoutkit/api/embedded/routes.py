"""The embedded API's routes, mounted by `api/app.py` beside the v1 routes (docs/embedded.md §2)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
