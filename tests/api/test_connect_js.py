"""connect.js on the wire: the built script (make builds it before the tests) at both of its URLs.

A missing build fails these tests rather than skipping them: `make test` builds connect/ first, so a
missing file means the build is broken, or the wheel would ship without the components.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import httpx
import pytest

from payoutkit.api import static
from tests.support.server import RunningServer

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _built() -> bytes:
    path = resources.files("payoutkit").joinpath("static/connect.js")
    assert path.is_file(), "payoutkit/static/connect.js is missing: run `make connect` (make test does)"
    return path.read_bytes()


def test_v1_0_serves_the_built_script_with_a_short_cache(server: RunningServer) -> None:
    code = _built()
    r = httpx.get(server.url + "/v1.0/connect.js", trust_env=False)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert r.content == code
    assert r.headers["cache-control"] == "public, max-age=300"
    # What the stock @stripe/connect-js loader looks for once the script has run.
    assert b"StripeConnect" in code
    assert b"loadConnectAndInitialize" in code


def test_the_versioned_url_is_immutable_and_named_by_the_content(server: RunningServer) -> None:
    code = _built()
    latest = httpx.get(server.url + "/v1.0/connect.js", trust_env=False)
    path = latest.headers["payoutkit-connect-path"]
    assert path == f"/connect/{hashlib.sha256(code).hexdigest()[:16]}/connect.js"
    r = httpx.get(server.url + path, trust_env=False)
    assert r.status_code == 200
    assert r.content == code
    assert r.headers["content-type"].startswith("application/javascript")
    assert "immutable" in r.headers["cache-control"]
    assert "max-age=31536000" in r.headers["cache-control"]


def test_another_version_is_a_json_404(server: RunningServer) -> None:
    _built()
    r = httpx.get(server.url + "/connect/0000000000000000/connect.js", trust_env=False)
    assert r.status_code == 404
    assert r.json()["error"]["type"] == "invalid_request_error"


def test_a_missing_build_is_a_404_naming_make_never_a_500(
    server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The file system is the one thing replaced here: the test cannot delete the build other tests read.
    monkeypatch.setattr(static, "_built", lambda: None)
    for path in ("/v1.0/connect.js", "/connect/abc/connect.js"):
        r = httpx.get(server.url + path, trust_env=False)
        assert r.status_code == 404
        error = r.json()["error"]
        assert error["type"] == "invalid_request_error"
        assert "make" in error["message"]
