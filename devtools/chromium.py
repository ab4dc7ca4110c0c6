"""Debian's Chromium, the one browser the tests and the bench drive (through Playwright, which never
downloads one of its own): where it is and how it is started.

Headless, with a fresh profile each launch (Playwright's default), and without the background calls
home that this network refuses.
"""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# Playwright must never fetch a browser: `make test` installs Debian's chromium instead.
os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
