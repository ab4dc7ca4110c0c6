"""Who reaches the embedded API (docs/embedded.md §2): the claim, the token, and CORS, over real HTTP
on loopback, on SQLite and on PostgreSQL.

The embedded endpoints themselves (balance, payouts, …) and what a session's scope lets through them
are tested beside them; here the authenticator is reached through the claim, the CORS preflight and
`session_actor` called directly on a request.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from tests.conftest import LIVE_PUBLISHABLE_KEY, LIVE_SECRET_KEY, PUBLISHABLE_KEY, SECRET_KEY
from tests.contract.helpers import advance
from tests.support.server import RunningServer

ORIGIN = "https://shop.example"
FOREIGN = "https://evil.example"


@pytest.fixture
def server_settings(base_settings: Any) -> Any:
    from dataclasses import replace

    return replace(base_settings, embed_origins=(ORIGIN,))


def _error(response: httpx.Response, status: int, kind: str, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["request-id"].startswith("req_")
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == kind, error
    assert error.get("code") == code, error
    assert error["message"]
    return error


def _account(http: httpx.Client, **params: str) -> str:
    response = http.post("/v1/accounts", data={"type": "custom", **params})
    assert response.status_code == 200, response.text
    account: str = response.json()["id"]
    return account


def _session(http: httpx.Client, account: str, **components: str) -> dict[str, Any]:
    data = components or {"components[balances][enabled]": "true"}
    response = http.post("/v1/account_sessions", data={"account": account, **data})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _claim(server: RunningServer, secret: str, key: str = PUBLISHABLE_KEY, **headers: str) -> httpx.Response:
    return httpx.post(
        server.url + "/embedded/v1/claim",
        json={"client_secret": secret, "publishable_key": key},
        headers=headers,
        trust_env=False,
    )


@pytest.fixture
def live_http(server: RunningServer) -> Any:
    with httpx.Client(base_url=server.url, auth=(LIVE_SECRET_KEY, ""), trust_env=False) as client:
        yield client


# -- the claim -----------------------------------------------------------------------------------


def test_a_client_secret_is_claimed_once_for_a_token(server: RunningServer, http: httpx.Client) -> None:
    account = _account(http)
    session = _session(
        http,
        account,
        **{
            "components[balances][enabled]": "true",
            "components[balances][features][instant_payouts]": "false",
            "components[payouts_list][enabled]": "true",
        },
    )
    now = http.get("/v1/test_helpers/clock").json()["now"]
    response = _claim(server, session["client_secret"])
    assert response.status_code == 200, response.text
    assert response.headers["request-id"].startswith("req_")
    claimed = response.json()
    assert claimed["token"].startswith("ekt_test_")
    assert len(claimed["token"]) == len("ekt_test_") + 48
    assert claimed["account"] == account
    assert claimed["livemode"] is False
    assert claimed["expires_at"] == now + 600
    # Only the components Payoutkit serves, resolved as the session holds them.
    assert set(claimed["components"]) == {"balances", "payouts", "payouts_list", "payout_details"}
    assert claimed["components"]["balances"]["enabled"] is True
    assert claimed["components"]["balances"]["features"]["instant_payouts"] is False
    assert claimed["components"]["payouts"]["enabled"] is False
    assert claimed["components"]["payouts_list"] == {"enabled": True, "features": {}}

    again = _claim(server, session["client_secret"])
    error = _error(again, 401, "authentication_error", "session_claimed")
    assert "claimed" in error["message"]


def test_an_expired_session_cannot_be_claimed(server: RunningServer, http: httpx.Client) -> None:
    session = _session(http, _account(http))
    advance(http, seconds=30 * 60 - 1)
    fresh = _session(http, _account(http))
    advance(http, seconds=1)
    _error(_claim(server, session["client_secret"]), 401, "authentication_error", "session_expired")
    # A session made later is still good, and claimed once it is.
    assert _claim(server, fresh["client_secret"]).status_code == 200


def test_the_claim_needs_the_platforms_publishable_key_of_the_sessions_mode(
    server: RunningServer, http: httpx.Client, live_http: httpx.Client
) -> None:
    test_session = _session(http, _account(http))
    live_session = _session(live_http, _account(live_http))
    assert live_session["livemode"] is True
    for secret, key in (
        (test_session["client_secret"], LIVE_PUBLISHABLE_KEY),  # the other mode's key
        (live_session["client_secret"], PUBLISHABLE_KEY),
        (test_session["client_secret"], SECRET_KEY),  # a secret key is no publishable key
        (test_session["client_secret"], "pk_test_" + "x" * 24),  # no such key
    ):
        _error(_claim(server, secret, key), 401, "authentication_error")
    # Refused claims claimed nothing: each secret is still good once, with its own mode's key.
    live = _claim(server, live_session["client_secret"], LIVE_PUBLISHABLE_KEY)
    assert live.status_code == 200, live.text
    assert live.json()["token"].startswith("ekt_live_")
    assert live.json()["livemode"] is True
    assert _claim(server, test_session["client_secret"]).status_code == 200


def test_the_claim_refuses_unknown_secrets_and_bodies_that_are_not_json_objects(
    server: RunningServer, http: httpx.Client
) -> None:
    _error(_claim(server, "accs_secret__" + "x" * 48), 401, "authentication_error")
    _error(_claim(server, "not a secret"), 401, "authentication_error")
    url = server.url + "/embedded/v1/claim"
    json_type = {"Content-Type": "application/json"}
    for body, headers in (
        (b"[1, 2]", json_type),
        (b"{bad json", json_type),
        (b"client_secret=x&publishable_key=y", {"Content-Type": "application/x-www-form-urlencoded"}),
    ):
        response = httpx.post(url, content=body, headers=headers, trust_env=False)
        _error(response, 400, "invalid_request_error")
    response = httpx.post(url, json={"client_secret": "x"}, trust_env=False)
    error = _error(response, 400, "invalid_request_error", "parameter_missing")
    assert error["param"] == "publishable_key"
    response = httpx.post(url, json={"client_secret": "x", "publishable_key": "y", "z": 1}, trust_env=False)
    assert _error(response, 400, "invalid_request_error", "parameter_unknown")["param"] == "z"


# -- the token -------------------------------------------------------------------------------------


def _token(server: RunningServer, http: httpx.Client, account: str | None = None) -> str:
    session = _session(http, account or _account(http))
    response = _claim(server, session["client_secret"])
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def test_an_embedded_token_is_not_an_api_key(server: RunningServer, http: httpx.Client) -> None:
    token = _token(server, http)
    response = httpx.get(
        server.url + "/v1/balance", headers={"Authorization": f"Bearer {token}"}, trust_env=False
    )
    error = _error(response, 401, "invalid_request_error")
    assert error["message"].startswith("Invalid API Key provided")


def _request(server: RunningServer, authorization: str | None) -> Request:
    headers = [(b"host", server.url.removeprefix("http://").encode())]
    if authorization is not None:
        headers.append((b"authorization", authorization.encode()))
    headers.append((b"idempotency-key", b"k1"))
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/embedded/v1/x",
        "headers": headers,
        "query_string": b"",
    }
    return Request(scope)


def _actor(server: RunningServer, authorization: str | None) -> Any:
    """`session_actor` on a request with this Authorization, in a unit of work of a runtime on the
    server's database (as the embedded door calls it)."""
    from payoutkit.api.embedded.auth import session_actor
    from payoutkit.runtime import open_runtime

    runtime, _ = open_runtime(server.settings)
    try:
        return runtime.db.transaction(session_actor, runtime, _request(server, authorization), "req_test")
    finally:
        runtime.db.dispose()


def test_the_token_acts_as_the_sessions_account_with_its_scope(
    server: RunningServer, http: httpx.Client
) -> None:
    from payoutkit.services.actor import Scope

    account = _account(http)
    platform = http.get("/v1/account").json()["id"]
    session = _session(
        http,
        account,
        **{
            "components[payouts][enabled]": "true",
            "components[payouts][features][standard_payouts]": "false",
            "components[payout_details][enabled]": "true",
            "components[balances][enabled]": "false",
            "components[balances][features][edit_payout_schedule]": "true",
        },
    )
    token = _claim(server, session["client_secret"]).json()["token"]
    actor = _actor(server, f"Bearer {token}")
    assert (actor.account_id, actor.platform_id, actor.livemode) == (account, platform, False)
    assert actor.now == http.get("/v1/test_helpers/clock").json()["now"]
    assert (actor.request_id, actor.idempotency_key) == ("req_test", "k1")
    # A custom account: the platform is liable, so standard payouts and schedule edits are off by
    # default; the disabled `balances` grants nothing, whatever its features say.
    assert actor.scope == Scope(
        account=account,
        features=frozenset(
            {
                "payouts",
                "payouts.instant_payouts",
                "payouts.external_account_collection",
                "payout_details",
            }
        ),
        session=actor.scope.session,
    )
    # ...and the session it acts for (the one its logout ends), the claimed session's own id.
    assert (actor.scope.session or "").startswith("accs_")


def test_api_keys_and_unknown_or_expired_tokens_are_refused(
    server: RunningServer, http: httpx.Client
) -> None:
    from payoutkit.errors import SessionRefused

    token = _token(server, http)
    for authorization in (
        None,
        f"Bearer {SECRET_KEY}",
        f"Bearer {PUBLISHABLE_KEY}",
        "Bearer ekt_test_" + "x" * 48,
        f"Basic {token}",
    ):
        with pytest.raises(SessionRefused) as refused:
            _actor(server, authorization)
        assert refused.value.code is None
    assert _actor(server, f"Bearer {token}").scope.account is not None
    advance(http, seconds=600)
    with pytest.raises(SessionRefused) as refused:
        _actor(server, f"Bearer {token}")
    assert refused.value.code == "session_expired"


# -- CORS ----------------------------------------------------------------------------------------


def _preflight(server: RunningServer, origin: str, path: str = "/embedded/v1/claim") -> httpx.Response:
    return httpx.options(
        server.url + path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key",
        },
        trust_env=False,
    )


def _no_cors(response: httpx.Response) -> None:
    assert not [h for h in response.headers if h.lower().startswith("access-control-")], response.headers


def test_cors_answers_configured_and_loopback_origins_only(server: RunningServer, http: httpx.Client) -> None:
    loopback = "http://127.0.0.1:5173"
    for origin in (ORIGIN, loopback, "http://localhost:8080"):
        response = _preflight(server, origin)
        assert response.status_code == 204, response.text
        assert response.headers["access-control-allow-origin"] == origin
        assert response.headers["access-control-allow-methods"] == "GET, POST"
        assert (
            response.headers["access-control-allow-headers"] == "Authorization, Content-Type, Idempotency-Key"
        )
        assert int(response.headers["access-control-max-age"]) > 0
        assert "Origin" in response.headers["vary"]
    refused = _preflight(server, FOREIGN)
    assert refused.status_code == 403
    _no_cors(refused)

    # The claim itself: the configured origin and (test mode) loopback get the CORS headers.
    for origin in (ORIGIN, loopback):
        session = _session(http, _account(http))
        response = _claim(server, session["client_secret"], Origin=origin)
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == origin
        exposed = {h.strip() for h in response.headers["access-control-expose-headers"].split(",")}
        assert exposed == {"Request-Id", "Idempotent-Replayed"}
    # A foreign origin is refused before anything runs: the secret is still good afterwards.
    session = _session(http, _account(http))
    refused = _claim(server, session["client_secret"], Origin=FOREIGN)
    assert refused.status_code == 403
    _no_cors(refused)
    assert _claim(server, session["client_secret"]).status_code == 200


def test_loopback_origins_are_for_test_mode_only(
    server: RunningServer, http: httpx.Client, live_http: httpx.Client
) -> None:
    loopback = "http://localhost:3000"
    live = _session(live_http, _account(live_http))
    refused = _claim(server, live["client_secret"], LIVE_PUBLISHABLE_KEY, Origin=loopback)
    assert refused.status_code == 403
    _no_cors(refused)
    # The configured origin takes either mode.
    claimed = _claim(server, live["client_secret"], LIVE_PUBLISHABLE_KEY, Origin=ORIGIN)
    assert claimed.status_code == 200, claimed.text
    assert claimed.headers["access-control-allow-origin"] == ORIGIN


def test_the_v1_api_never_answers_cross_origin(server: RunningServer, http: httpx.Client) -> None:
    response = http.get("/v1/balance", headers={"Origin": ORIGIN})
    assert response.status_code == 200
    _no_cors(response)
    preflight = _preflight(server, ORIGIN, "/v1/balance")
    assert preflight.status_code != 204
    _no_cors(preflight)


def _race(server: RunningServer, secret: str, n: int) -> list[int]:
    """`n` claims of one secret at once; their statuses."""
    import threading

    statuses: list[int] = []
    barrier = threading.Barrier(n)

    def claim() -> None:
        barrier.wait()
        statuses.append(_claim(server, secret).status_code)

    threads = [threading.Thread(target=claim) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


def test_concurrent_claims_of_one_secret_give_one_token(server: RunningServer, http: httpx.Client) -> None:
    for _ in range(3):
        secret = _session(http, _account(http))["client_secret"]
        assert sorted(_race(server, secret, 4)) == [200, 401, 401, 401]


def test_a_loopback_origin_is_let_in_by_a_test_token_only(server: RunningServer) -> None:
    """The middleware reads the mode off the bearer; past it, the request meets the router (no such
    embedded URL here: a 404 with CORS headers, which a browser may read)."""
    url = server.url + "/embedded/v1/no_such_thing"
    loopback = "http://127.0.0.1:4000"
    for bearer, allowed in (
        ("ekt_test_" + "x" * 48, True),
        ("ekt_live_" + "x" * 48, False),
        (SECRET_KEY, False),
    ):
        response = httpx.get(
            url, headers={"Origin": loopback, "Authorization": f"Bearer {bearer}"}, trust_env=False
        )
        if allowed:
            assert response.status_code == 404
            assert response.headers["access-control-allow-origin"] == loopback
        else:
            assert response.status_code == 403
            _no_cors(response)
    # The configured origin, whatever the mode; no Origin at all: untouched.
    response = httpx.get(
        url, headers={"Origin": ORIGIN, "Authorization": "Bearer ekt_live_x"}, trust_env=False
    )
    assert (response.status_code, response.headers["access-control-allow-origin"]) == (404, ORIGIN)
    response = httpx.get(url, trust_env=False)
    assert response.status_code == 404
    _no_cors(response)


def test_expired_sessions_and_tokens_are_deleted_a_day_later_by_their_modes_clock(
    server: RunningServer, http: httpx.Client, live_http: httpx.Client
) -> None:
    from sqlalchemy import func, select

    from payoutkit.services import jobs
    from payoutkit.store.db import Database
    from payoutkit.store.schema import account_sessions, embedded_tokens

    old = _session(http, _account(http))
    _claim(server, old["client_secret"])
    live = _session(live_http, _account(live_http))
    _claim(server, live["client_secret"], LIVE_PUBLISHABLE_KEY)
    advance(http, seconds=jobs.SESSION_RETENTION + 30 * 60 + 1)  # test mode's clock only
    young = _session(http, _account(http))
    _claim(server, young["client_secret"])

    db = Database(server.settings.database_url, pool_size=1)
    try:
        now = http.get("/v1/test_helpers/clock").json()["now"]
        assert db.transaction(jobs.prune_sessions, False, now, batch=1) == 1
        assert db.transaction(jobs.prune_sessions, False, now, batch=1) == 0
        with db.engine.connect() as conn:
            kept = {
                table.name: sorted(bool(r[0]) for r in conn.execute(select(table.c.livemode)))
                for table in (account_sessions, embedded_tokens)
            }
            assert conn.execute(select(func.count()).select_from(account_sessions)).scalar_one() == 2
    finally:
        db.dispose()
    assert kept == {"account_sessions": [False, True], "embedded_tokens": [False, True]}
    # The old secret is no longer known at all (no `session_expired`: nothing is left to say so).
    _error(_claim(server, old["client_secret"]), 401, "authentication_error")


# -- hostile bodies --------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=False),
        st.text(st.characters(codec="utf-8"), max_size=20),
        st.sampled_from(["accs_secret__" + "x" * 48, PUBLISHABLE_KEY, SECRET_KEY, "", "\x00"]),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
claim_bodies = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={"client_secret": json_values, "publishable_key": json_values, "extra": json_values},
    ).map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=40),
)


@pytest.fixture
def engine(server: RunningServer) -> Any:
    from payoutkit.store.engines import make_engine

    engine = make_engine(server.settings.database_url, pool_size=1)
    yield engine
    engine.dispose()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=claim_bodies, content_type=st.sampled_from(["application/json", "text/plain", ""]))
def test_the_claim_answers_any_body_with_a_refusal_and_changes_nothing(
    server: RunningServer, engine: Any, body: bytes, content_type: str
) -> None:
    before = _sessions_and_tokens(engine)
    headers = {"Content-Type": content_type} if content_type else {}
    response = httpx.post(server.url + "/embedded/v1/claim", content=body, headers=headers, trust_env=False)
    assert response.status_code in (400, 401), response.text
    assert response.headers["request-id"].startswith("req_")
    error = response.json()["error"]
    assert error["type"] == (
        "authentication_error" if response.status_code == 401 else "invalid_request_error"
    )
    assert _sessions_and_tokens(engine) == before


def _sessions_and_tokens(engine: Any) -> tuple[Any, ...]:
    from sqlalchemy import select

    from payoutkit.store.schema import account_sessions, embedded_tokens

    with engine.connect() as conn:
        return tuple(
            tuple(tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key.columns)))
            for t in (account_sessions, embedded_tokens)
        )
