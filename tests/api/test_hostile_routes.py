"""The class test of hostile input (issue 7): arbitrary Unicode (NUL included), undecodable bytes and
broken percent-encodings, huge and oddly written integers, odd nesting and odd bracket keys, thrown at
the form decoder and, over real HTTP, at every route's parameter model.

The routes are enumerated from the router, and each route's parameter names and literal values from
its parameter model, so a new route or parameter is covered without touching this file. Every answer
is a 4xx in Stripe's envelope (or a 2xx when the input happens to be valid), never a 500; `param`
names only what the client sent, never a Pydantic union member; and a refused request changes
nothing in the database (every row of every table but the idempotency keys, which keep operation
errors by design) and leaves `check_ledger` clean. It runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import inspect
import re
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, get_args, get_origin
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy import Engine, select

from payoutkit.api.errors import status_of
from payoutkit.api.form import decode, decode_pairs
from payoutkit.errors import InvalidRequest
from tests.support.server import RunningServer

# -- strategies --------------------------------------------------------------------------------

ODD_TEXT = ["\x00", "a\x00b", "ǅ", "²", "¹", "٣", "\uff11", "\u212a", "ß", "\ufeff", "\u202e", "\ud7ff", "�"]
ODD_INTEGERS = [
    "1_000",
    "+100",
    " 100 ",
    "100.0",
    "1e3",
    "0x10",
    "-0",
    "00",
    "NaN",
    "Infinity",
    "1e999999999",
    "9" * 5000,
    str(2**63 - 1),
    str(2**63),
    str(-(2**63)),
    str(-(2**63) - 1),
    str(2**64),
]

text = st.one_of(st.text(st.characters(codec="utf-8"), max_size=16), st.sampled_from(ODD_TEXT))
integers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.integers(min_value=-5, max_value=200).map(str),
    st.sampled_from(ODD_INTEGERS),
)
plain_values = st.sampled_from(
    ["", "true", "false", "usd", "eur", "jpy", "tok_visa", "tok_bypassPending", "minimum", "US", "1.5"]
)
bracket_keys = st.lists(st.one_of(text, integers, st.just("")), min_size=1, max_size=10).map(
    lambda parts: parts[0] + "".join(f"[{p}]" for p in parts[1:])
)
odd_keys = st.one_of(
    text,
    bracket_keys,
    st.sampled_from(["[", "]", "a[", "a]", "a[]]", "a[[b]]", "[x]", "a[b]c", "expand[" + "9" * 3000 + "]"]),
)
RAW_GARBAGE = ["%", "%z", "%zz", "%ff%fe", "%C3%28", "%ED%A0%80", "&&", "=", "a=b=c", "%00=%00", "+", ";"]


def _encode(pairs: list[tuple[str, str]], garbage: list[str]) -> str:
    parts = [f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in pairs]
    return "&".join(parts + garbage)


# -- the decoder -------------------------------------------------------------------------------


def _no_nul(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            assert "\x00" not in str(key)
            _no_nul(value)
    elif isinstance(node, list):
        assert node, "an array is never empty"
        for value in node:
            _no_nul(value)
    else:
        assert isinstance(node, str)
        assert "\x00" not in node


def _decoded_or_refused(decoder: Callable[[Any], dict[str, Any]], given: Any) -> None:
    """The decoder returns nested hashes, arrays and strings without a NUL, or refuses with a 400."""
    refusal = None
    try:
        decoded = decoder(given)
    except InvalidRequest as refused:
        refusal = refused
    if refusal is not None:
        assert status_of(refusal) == 400
        assert refusal.message
    else:
        _no_nul(decoded)


@settings(max_examples=300, deadline=None)
@given(body=st.one_of(st.text(st.characters(codec="utf-8"), max_size=200), st.binary(max_size=200)))
def test_the_decoder_takes_any_body(body: str | bytes) -> None:
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")  # as the wire layer reads bodies
    _decoded_or_refused(decode, body)


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(st.one_of(odd_keys, st.sampled_from(["a", "a[]", "a[b]", "a[0]", "a[1]"])), text),
        max_size=12,
    )
)
def test_the_decoder_takes_any_pairs(pairs: list[tuple[str, str]]) -> None:
    _decoded_or_refused(decode_pairs, pairs)


# -- every route, over HTTP --------------------------------------------------------------------


def _routes() -> list[tuple[str, str, type[BaseModel]]]:
    from payoutkit.api.params import Params
    from payoutkit.api.routes import routes, unserved

    found = []
    for route in routes:
        # An operation Payoutkit does not serve (`/v1/charges/search`) reads no parameters.
        if route.endpoint is unserved:
            model: type[BaseModel] = Params
        else:
            model = inspect.getclosurevars(route.endpoint).nonlocals["ep"].params
        assert issubclass(model, BaseModel), route.path
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((method, route.path, model))
    return found


INT_EXTREMES = [str(-(2**63)), str(2**63 - 1), "0", "-1"]


def _fields(annotation: Any, prefix: str, depth: int = 0) -> Iterator[tuple[str, list[str]]]:
    """Every parameter name under `annotation` (as a client writes it) with its literal values."""
    if depth > 6:
        return
    origin = get_origin(annotation)
    if origin is Annotated:
        yield from _fields(get_args(annotation)[0], prefix, depth)
    elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, field in annotation.model_fields.items():
            yield from _fields(field.annotation, f"{prefix}[{name}]" if prefix else name, depth + 1)
    elif origin is dict:
        yield from _fields(get_args(annotation)[1], f"{prefix}[k]", depth + 1)
    elif origin is list:
        yield from _fields(get_args(annotation)[0], f"{prefix}[]", depth + 1)
        yield from _fields(get_args(annotation)[0], f"{prefix}[0]", depth + 1)
    elif origin is Literal:
        yield prefix, [str(v) for v in get_args(annotation)]
    elif get_args(annotation):  # a union
        for arg in get_args(annotation):
            yield from _fields(arg, prefix, depth)
    else:
        yield prefix, INT_EXTREMES if annotation is int else []


def _model_fields(model: type[BaseModel]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {"expand[]": ["data.source", "balance_transaction", "metadata.x", "id"]}
    for name, values in _fields(model, ""):
        fields.setdefault(name, []).extend(values)
    return fields


ROUTES = _routes()
MODEL_FIELDS = {model: _model_fields(model) for _, _, model in ROUTES}
PATH_PARAM = re.compile(r"\{(\w+)\}")
# Pydantic's names for union members, which must never reach `param` unless the client sent them.
UNION_TAG = re.compile(
    r"^(int|str|bool|float|none|decimal|constrained-\w+|function-.*|tagged-union.*|"
    r"literal\[.*|dict\[.*|list\[.*|\[key\]|key|[A-Z][A-Za-z]+)$"
)


# Plausible values of the parameters most routes require, so that most requests get past "missing"
# into the models' other fields and the services ("@account" and "@charge" are the objects' ids).
PLAUSIBLE = {
    "amount": "100",
    "currency": "usd",
    "source": "tok_visa",
    "destination": "@account",
    "charge": "@charge",
    "url": "https://example.test/hook",
    "enabled_events[]": "*",
    "external_account": "btok_us",
    "type": "custom",
    "seconds": "60",
    "currencies[usd][percent]": "1.5",
}


def _path_to(path: str, known: dict[str, str], fallback: str) -> str:
    """`path` with each parameter the id of a known object of its kind (or `fallback`)."""
    for name in PATH_PARAM.findall(path):
        kind = "bank_account" if name == "ea" else name
        if kind == "id":  # /v1/balance_transactions/{id} → balance_transaction
            kind = {"balance": "balance_transaction"}.get(path.split("/")[2], path.split("/")[2][:-1])
        path = path.replace("{" + name + "}", quote(known.get(kind) or fallback, safe=""), 1)
    return path


def _plausible(fields: dict[str, list[str]], known: dict[str, str]) -> list[tuple[str, str]]:
    return [(key, known.get(value[1:], value)) for key, value in PLAUSIBLE.items() if key in fields]


@st.composite
def hostile_requests(draw: st.DrawFn, known: dict[str, str]) -> tuple[str, str, dict[str, str], str]:
    """A request to one route: its own parameter names with plausible values, integers of any size and
    spelling, and (in most examples) one kind of hostility: odd keys, arbitrary text, broken
    encodings, odd path parameters or headers."""
    known_ids = sorted(known.values())
    hostility = draw(st.sampled_from(["none", "keys", "text", "encoding", "path", "headers", "all"]))
    method, path, model = draw(st.sampled_from(ROUTES))
    if hostility in ("path", "all"):
        for name in PATH_PARAM.findall(path):
            value = draw(st.one_of(text, integers, st.sampled_from(known_ids)))
            path = path.replace("{" + name + "}", quote(value, safe=""), 1)
    else:
        path = _path_to(path, known, draw(st.sampled_from(known_ids)))
    fields = MODEL_FIELDS[model]
    names = sorted(fields)
    pairs: list[tuple[str, str]] = []
    if draw(st.booleans()):
        pairs += _plausible(fields, known)
    keys = st.sampled_from(names)
    if hostility in ("keys", "all"):
        keys = st.one_of(keys, odd_keys)
    for _ in range(draw(st.integers(min_value=0, max_value=6))):
        key = draw(keys)
        values = [st.sampled_from(fields.get(key) or ["x"]), st.sampled_from(known_ids), plain_values]
        values.append(integers)
        if hostility in ("text", "all"):
            values.append(text)
        pairs.append((key, draw(st.one_of(*values))))
    garbage: list[str] = []
    if hostility in ("encoding", "all"):
        garbage = draw(st.lists(st.sampled_from(RAW_GARBAGE), min_size=1, max_size=2))
    headers: dict[str, str] = {}
    if hostility in ("headers", "all"):
        account = st.one_of(st.sampled_from(known_ids), st.text("acct_Z9", max_size=9))
        headers["Stripe-Account"] = draw(account)
        headers["Idempotency-Key"] = draw(st.text("ab", max_size=300))
    encoded = _encode(pairs, garbage)
    sent = " ".join(k for k, _ in pairs)
    return method, path, headers, encoded + "\n" + sent


def _fingerprint(engine: Engine) -> str:
    from payoutkit.store.schema import metadata

    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in metadata.sorted_tables:
            if table.name == "idempotency_keys":  # operation errors are kept under their key, by design
                continue
            order = list(table.primary_key.columns) or list(table.columns)
            for row in conn.execute(select(table).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def _violations(engine: Engine) -> list[str]:
    from payoutkit.store.engines import READONLY
    from payoutkit.store.invariants import check_ledger

    with engine.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
        return check_ledger(conn)


@pytest.fixture
def known(http: httpx.Client) -> dict[str, str]:
    """Real objects of each kind, so that path parameters and ids in the body reach the services."""
    account = http.post("/v1/accounts", data={"type": "custom", "country": "US"}).json()["id"]
    bank = http.post(f"/v1/accounts/{account}/external_accounts", data={"external_account": "btok_us"}).json()
    charge = http.post(
        "/v1/charges",
        data={
            "amount": "5000",
            "currency": "usd",
            "source": "tok_bypassPending",
            "transfer_data[destination]": account,
        },
    ).json()
    refund = http.post("/v1/refunds", data={"charge": charge["id"], "amount": "100"}).json()
    http.post("/v1/charges", data={"amount": "10000", "currency": "usd", "source": "tok_bypassPending"})
    transfer = http.post(
        "/v1/transfers", data={"amount": "100", "currency": "usd", "destination": account}
    ).json()
    endpoint = http.post(
        "/v1/webhook_endpoints", data={"url": "https://example.test/hook", "enabled_events[]": "*"}
    ).json()
    events = http.get("/v1/events").json()["data"]
    ids = {
        "account": account,
        "bank_account": bank["id"],
        "charge": charge["id"],
        "refund": refund["id"],
        "transfer": transfer["id"],
        "webhook_endpoint": endpoint["id"],
        "balance_transaction": charge["balance_transaction"],
        "event": events[0]["id"],
        "unknown": "acct_000000000000000000",
    }
    assert all(isinstance(i, str) for i in ids.values()), ids
    return ids


@pytest.fixture
def engine(server: RunningServer) -> Iterator[Engine]:
    from payoutkit.store.engines import make_engine

    engine = make_engine(server.settings.database_url, pool_size=1)
    yield engine
    engine.dispose()


# One server per test function: its state accumulates over the examples, as a real server's would.
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_route_answers_hostile_input_with_a_500_or_a_change(
    http: httpx.Client, engine: Engine, known: dict[str, str], data: st.DataObject
) -> None:
    method, path, headers, payload = data.draw(hostile_requests(known))
    encoded, sent = payload.split("\n", 1)
    before = _fingerprint(engine)
    if method == "POST":
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        response = http.request(method, path, content=encoded.encode(), headers=headers)
    else:
        response = http.request(method, f"{path}?{encoded}", headers=headers)

    _check_answer(engine, before, f"{method} {path} {encoded!r}", response, sent)


def _check_answer(engine: Engine, before: str, request: str, response: httpx.Response, sent: str) -> None:
    """A 2xx, or a 4xx in Stripe's envelope that names no internal type and changed nothing."""
    assert response.status_code < 500, f"{request}: {response.text}"
    assert response.headers["request-id"].startswith("req_")
    body = response.json()
    if response.status_code < 300:
        assert "error" not in body
        return
    error = body["error"]
    assert error["type"] in {"invalid_request_error", "card_error", "idempotency_error"}, error
    assert isinstance(error["message"], str)
    assert error["message"]
    param = error.get("param")
    if param is not None:
        assert isinstance(param, str)
        for part in re.findall(r"\[([^\[\]]*)\]", param):
            if UNION_TAG.match(part):
                assert f"[{part}]" in sent, f"{request}: param {param!r} names an internal type"
    if error["type"] == "card_error":  # a declined charge is kept as `failed`, as on Stripe
        return
    assert _fingerprint(engine) == before, f"{request} → {response.status_code} changed the data"
    assert _violations(engine) == []


INTEGER_PARAMETERS = [
    (method, path, name)
    for method, path, model in ROUTES
    for name, values in MODEL_FIELDS[model].items()
    if INT_EXTREMES[1] in values
]


def test_every_integer_parameter_takes_the_64_bit_extremes(
    http: httpx.Client, engine: Engine, known: dict[str, str]
) -> None:
    """Each integer parameter of each route, at both ends of 64 bits (what `Int` lets through) and
    one past them, next to plausible values of the other parameters: never a 500, and a refusal
    changes nothing."""
    assert len(INTEGER_PARAMETERS) > 20  # the enumeration found the routes' integer parameters
    for method, route, name in INTEGER_PARAMETERS:
        model = next(m for verb, p, m in ROUTES if verb == method and p == route)
        path = _path_to(route, known, known["unknown"])
        for extreme in [str(-(2**63)), str(2**63 - 1), str(-(2**63) - 1), str(2**63)]:
            plausible = _plausible(MODEL_FIELDS[model], known)
            pairs = [(k, v) for k, v in plausible if k != name and not name.startswith(k + "[")]
            pairs.append((name, extreme))
            encoded = _encode(pairs, [])
            before = _fingerprint(engine)
            if method == "POST":
                headers = {"Content-Type": "application/x-www-form-urlencoded"}
                response = http.post(path, content=encoded.encode(), headers=headers)
            else:
                response = http.request(method, f"{path}?{encoded}")
            _check_answer(engine, before, f"{method} {path} {encoded}", response, encoded)
            if extreme in (str(-(2**63) - 1), str(2**63)):
                assert response.status_code == 400, f"{method} {path} {encoded}: {response.text}"
                error = response.json()["error"]
                # refused for this parameter, unless a sibling it needs is missing (`[object]`)
                assert error["param"] == name.replace("[]", "[0]") or error["code"] == "parameter_missing"


# -- every embedded route, over HTTP (JSON bodies, a session's token) -----------------------------


def _embedded_routes() -> list[tuple[str, str, type[BaseModel]]]:
    from payoutkit.api.embedded.routes import routes

    found = []
    for route in routes:
        model = inspect.getclosurevars(route.endpoint).nonlocals["ep"].params  # type: ignore[attr-defined]
        for method in sorted(route.methods or ()):  # type: ignore[attr-defined]
            # Not the claim (its own door), nor the logout: a valid one ends the session these
            # examples share (tests/api/test_embedded_api.py refuses its hostile input).
            if method != "HEAD" and not route.path.endswith(("/claim", "/logout")):  # type: ignore[attr-defined]
                found.append((method, route.path, model))  # type: ignore[attr-defined]
    return found


EMBEDDED_ROUTES = _embedded_routes()
EMBEDDED_FIELDS = {model: _model_fields(model) for _, _, model in EMBEDDED_ROUTES}
# JSON values of every type: what a browser's script could send.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-5, max_value=10_000),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
    plain_values,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)


@pytest.fixture
def session_token(server: RunningServer, http: httpx.Client, known: dict[str, str]) -> str:
    """A claimed session of the known account, every served component and feature on."""
    from tests.conftest import PUBLISHABLE_KEY

    schedule = {"settings[payouts][schedule][interval]": "manual"}  # standard payouts may succeed
    assert http.post(f"/v1/accounts/{known['account']}", data=schedule).status_code == 200
    data = {"account": known["account"]}
    for component in ("balances", "payouts"):
        data[f"components[{component}][enabled]"] = "true"
        for feature in ("instant_payouts", "standard_payouts", "edit_payout_schedule"):
            data[f"components[{component}][features][{feature}]"] = "true"
    data["components[payouts_list][enabled]"] = "true"
    data["components[payout_details][enabled]"] = "true"
    secret = http.post("/v1/account_sessions", data=data).json()["client_secret"]
    claim = httpx.post(
        server.url + "/embedded/v1/claim",
        json={"client_secret": secret, "publishable_key": PUBLISHABLE_KEY},
        trust_env=False,
    )
    assert claim.status_code == 200, claim.text
    token: str = claim.json()["token"]
    return token


@st.composite
def hostile_embedded_requests(draw: st.DrawFn, known: dict[str, str]) -> tuple[str, str, Any, dict[str, str]]:
    """A request to one embedded route: its own parameter names (a JSON body for a POST, a query
    string for a GET) with values of any JSON type, odd keys, odd path parameters and headers."""
    method, path, model = draw(st.sampled_from(EMBEDDED_ROUTES))
    for name in PATH_PARAM.findall(path):
        value = draw(st.one_of(text, integers, st.sampled_from(sorted(known.values()))))
        path = path.replace("{" + name + "}", quote(value, safe=""), 1)
    fields = EMBEDDED_FIELDS[model]
    keys = st.one_of(st.sampled_from(sorted(fields)), odd_keys)
    body: dict[str, Any] = {}
    if draw(st.booleans()):
        plausible = {"amount": 100, "currency": "usd", "interval": "manual", "method": "standard"}
        body.update({k: v for k, v in plausible.items() if k in fields})
    for _ in range(draw(st.sampled_from([0, 0, 1, 2, 5]))):
        key = draw(keys)
        body[key] = draw(st.one_of(st.sampled_from(fields.get(key) or ["x"]), json_values))
    headers: dict[str, str] = {}
    if draw(st.sampled_from([True, True, False])):
        headers["Idempotency-Key"] = draw(st.text("ab", min_size=1, max_size=300))
    if method == "GET":
        return method, path, [(k, str(v)) for k, v in body.items()], headers
    return method, path, body, headers


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_embedded_route_answers_hostile_input_with_a_500_or_a_change(
    server: RunningServer, engine: Engine, known: dict[str, str], session_token: str, data: st.DataObject
) -> None:
    method, path, payload, headers = data.draw(hostile_embedded_requests(known))
    headers["Authorization"] = f"Bearer {session_token}"
    before = _fingerprint(engine)
    with httpx.Client(base_url=server.url, trust_env=False, timeout=30) as client:
        if method == "GET":
            response = client.get(path, params=payload, headers=headers)
            sent = " ".join(k for k, _ in payload)
        else:
            response = client.post(path, json=payload, headers=headers)
            sent = " ".join(str(k) for k in payload)
    event(f"{method} {path.split('/')[3]} {response.status_code}")
    _check_answer(engine, before, f"{method} {path} {payload!r}", response, sent)
