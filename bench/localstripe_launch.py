"""Start localstripe (PyPI) bound to 127.0.0.1 only: `python bench/localstripe_launch.py PORT`.

`localstripe --port N` binds `::` (every interface, IPv4 and IPv6); the bench reaches 127.0.0.1 only, so
this runs the same aiohttp app (`localstripe.server.app`) with `host='127.0.0.1'`, from an empty store
(as `--from-scratch`), without its access log. Everything else is localstripe's own, including that it
pickles its whole store to /tmp/localstripe.pickle on every write.
"""

from __future__ import annotations

import sys

from aiohttp import web
from localstripe.server import app  # type: ignore[import-untyped]

if __name__ == "__main__":
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
