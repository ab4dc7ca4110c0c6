"""Hostile input (issue 7, items 13, 14 and 23): every answer is a 4xx in Stripe's envelope naming the
parameter as the client sent it, never a 500, and a refused request changes nothing.

The class test over every route is in `test_hostile_routes.py`; these are the instances the review
found, each on SQLite and PostgreSQL over real HTTP.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.ledger import assert_ledger_ok
from tests.support.server import RunningServer

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def _error(response: httpx.Response, status: int, param: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["request-id"].startswith("req_")
    error: dict[str, Any] = response.json()["error"]
    assert error["type"] == "invalid_request_error", error
    assert error["message"]
    if param is not None:
        assert error.get("param") == param, error
    return error


def _post(http: httpx.Client, path: str, body: str) -> httpx.Response:
    return http.post(path, content=body.encode(), headers=FORM)


def _account(http: httpx.Client) -> str:
    response = http.post("/v1/accounts", data={"type": "custom", "country": "US"})
    assert response.status_code == 200, response.text
    account_id: str = response.json()["id"]
    return account_id


# -- item 13: answers that were 500 -----------------------------------------------------------


def test_more_than_1000_fields_is_a_400(http: httpx.Client) -> None:
    body = "&".join(f"metadata[k{i}]=v" for i in range(1001))
    _error(_post(http, "/v1/accounts", "type=custom&" + body), 400)
    query = "&".join(f"x{i}=1" for i in range(1001))
    _error(http.get("/v1/charges?" + query), 400)
    assert http.get("/v1/accounts").json()["data"] == []


def test_non_ascii_digits_in_a_bracket_are_hash_keys_not_indices(http: httpx.Client) -> None:
    account = _account(http)
    response = _post(http, f"/v1/accounts/{account}", "metadata[%C2%B2]=x")
    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == {"²": "x"}
    _error(http.get("/v1/balance?expand[%C2%B9]=x"), 400, "expand")


def test_a_bracket_index_of_thousands_of_digits_is_a_400(http: httpx.Client) -> None:
    _error(_post(http, "/v1/webhook_endpoints", f"url=https://e.test&enabled_events[{'9' * 5000}]=*"), 400)
    _error(http.get(f"/v1/balance?expand[{'1' * 5000}]=x"), 400, "expand")


@pytest.mark.parametrize("field", ["delay_days", "monthly_anchor"])
def test_schedule_integers_of_thousands_of_digits_are_invalid_integers(
    http: httpx.Client, field: str
) -> None:
    account = _account(http)
    interval = "monthly" if field == "monthly_anchor" else "daily"
    param = f"settings[payouts][schedule][{field}]"
    body = f"settings[payouts][schedule][interval]={interval}&{param}={'7' * 5000}"
    error = _error(_post(http, f"/v1/accounts/{account}", body), 400, param)
    assert error["code"] == "parameter_invalid_integer"
    schedule = http.get(f"/v1/accounts/{account}").json()["settings"]["payouts"]["schedule"]
    assert schedule == {"delay_days": 2, "interval": "daily"}


def test_an_overflowing_decimal_is_a_400(http: httpx.Client) -> None:
    for percent in ("1e999999999", "1e-999999999", "sNaN", "Infinity", "1" * 5000):
        response = _post(http, "/v1/payoutkit/instant_payout_pricing", f"currencies[usd][percent]={percent}")
        _error(response, 400, "currencies[usd][percent]")
    assert http.get("/v1/payoutkit/instant_payout_pricing").json()["currencies"].get("usd") is None


HUGE = str(2**64)


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("GET", "/v1/charges", f"created[gt]={HUGE}", "created[gt]"),
        ("GET", "/v1/charges", f"created={HUGE}", "created"),
        ("GET", "/v1/payouts", f"arrival_date[lt]=-{HUGE}", "arrival_date[lt]"),
        ("GET", "/v1/balance_transactions", f"limit={HUGE}", "limit"),
        (
            "POST",
            "/v1/payoutkit/instant_payout_pricing",
            f"currencies[usd][percent]=1&currencies[usd][minimum]={HUGE}",
            "currencies[usd][minimum]",
        ),
        ("POST", "/v1/charges", f"amount={HUGE}&currency=usd&source=tok_visa", "amount"),
        ("POST", "/v1/test_helpers/clock/advance", f"seconds={HUGE}", "seconds"),
    ],
)
def test_integers_beyond_64_bits_are_invalid_integers(
    http: httpx.Client, method: str, path: str, body: str, param: str
) -> None:
    response = http.get(f"{path}?{body}") if method == "GET" else _post(http, path, body)
    error = _error(response, 400, param)
    assert error["code"] == "parameter_invalid_integer"


def test_a_card_expiry_beyond_64_bits_is_an_invalid_integer(http: httpx.Client) -> None:
    account = _account(http)
    body = (
        "external_account[object]=card&external_account[number]=4000056655665556"
        f"&external_account[exp_month]=12&external_account[exp_year]={HUGE}&external_account[currency]=usd"
    )
    response = _post(http, f"/v1/accounts/{account}/external_accounts", body)
    error = _error(response, 400, "external_account[exp_year]")
    assert error["code"] == "parameter_invalid_integer"
    assert http.get(f"/v1/accounts/{account}/external_accounts").json()["data"] == []


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("POST", "/v1/charges", "amount=100&currency=usd&source=tok_visa&description=a%00b", "description"),
        ("POST", "/v1/charges", "amount=100&currency=usd&source=tok_visa&metadata[k]=%00", "metadata[k]"),
        ("POST", "/v1/charges", "amount=100&currency=usd&source=tok_visa&metadata[%00]=v", "metadata[\x00]"),
        ("POST", "/v1/accounts", "type=custom&email=a%00@b.test", "email"),
        ("GET", "/v1/charges", "starting_after=ch_%00", "starting_after"),
        ("GET", "/v1/events", "type=charge.%00", "type"),
        ("GET", "/v1/balance", "expand[]=%00", "expand[]"),
    ],
)
def test_a_nul_character_anywhere_is_a_400(
    server: RunningServer, http: httpx.Client, method: str, path: str, body: str, param: str
) -> None:
    response = http.get(f"{path}?{body}") if method == "GET" else _post(http, path, body)
    _error(response, 400, param)
    assert http.get("/v1/charges").json()["data"] == []
    assert_ledger_ok(server.settings.database_url)


def test_a_nul_character_in_a_path_is_refused(http: httpx.Client) -> None:
    for path in ("/v1/charges/ch_%00", "/v1/events/evt_%00", "/v1/accounts/acct_%00/external_accounts"):
        response = http.get(path)
        assert 400 <= response.status_code < 500, response.text
        assert response.json()["error"]["type"] == "invalid_request_error"


# -- item 14: too lenient ---------------------------------------------------------------------


@pytest.mark.parametrize("amount", ["1_000", "100.0", "+100", " 100 ", "100 ", "1e3", "٣", "0x10", "true"])
def test_an_amount_is_a_plain_integer(http: httpx.Client, amount: str) -> None:
    response = http.post("/v1/charges", data={"amount": amount, "currency": "usd", "source": "tok_visa"})
    error = _error(response, 400, "amount")
    assert error["code"] == "parameter_invalid_integer"
    assert error["message"] == f"Invalid integer: {amount}"
    assert http.get("/v1/charges").json()["data"] == []


def test_plain_integers_still_work(http: httpx.Client) -> None:
    response = http.post("/v1/charges", data={"amount": "0100", "currency": "usd", "source": "tok_visa"})
    assert response.status_code == 200, response.text
    assert response.json()["amount"] == 100
    assert http.get("/v1/charges?created[gte]=-1&limit=3").status_code == 200


@pytest.mark.parametrize("country", ["ǅ", "us ", "ß", "u\u0301s", "\uff11\uff12", "XX"])
def test_a_country_is_an_iso_code(http: httpx.Client, country: str) -> None:
    _error(http.post("/v1/accounts", data={"type": "custom", "country": country}), 400, "country")
    assert http.get("/v1/accounts").json()["data"] == []


@pytest.mark.parametrize("country", ["ǅ", "ß", "U", "USA", "u s"])
def test_a_bank_account_country_is_an_iso_code(http: httpx.Client, country: str) -> None:
    account = _account(http)
    data = {
        "external_account[object]": "bank_account",
        "external_account[country]": country,
        "external_account[currency]": "usd",
        "external_account[routing_number]": "110000000",
        "external_account[account_number]": "000123456789",
    }
    response = http.post(f"/v1/accounts/{account}/external_accounts", data=data)
    _error(response, 400, "external_account[country]")
    assert http.get(f"/v1/accounts/{account}/external_accounts").json()["data"] == []


def test_lowercase_country_is_still_accepted(http: httpx.Client) -> None:
    response = http.post("/v1/accounts", data={"type": "custom", "country": "ca"})
    assert response.status_code == 200, response.text
    assert response.json()["country"] == "CA"


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ("business_profile[evil]=x", "business_profile[evil]", "parameter_unknown"),
        ("business_profile[name]=" + "n" * 5001, "business_profile[name]", None),
        ("business_profile[mcc]=12345", "business_profile[mcc]", None),
        ("business_profile[support_address][planet]=mars", "business_profile[support_address][planet]", None),
        ("business_profile[support_address][country]=ǅ", "business_profile[support_address][country]", None),
        ("capabilities[evil][requested]=true", "capabilities[evil]", "parameter_unknown"),
        ("capabilities[transfers][evil]=true", "capabilities[transfers][evil]", "parameter_unknown"),
        ("capabilities[transfers][requested]=yes", "capabilities[transfers][requested]", None),
        ("tos_acceptance[evil]=x", "tos_acceptance[evil]", "parameter_unknown"),
        ("tos_acceptance[user_agent]=" + "u" * 5001, "tos_acceptance[user_agent]", None),
        ("tos_acceptance[date]=yesterday", "tos_acceptance[date]", "parameter_invalid_integer"),
    ],
)
def test_account_hashes_take_only_documented_keys(
    http: httpx.Client, body: str, param: str, code: str | None
) -> None:
    error = _error(_post(http, "/v1/accounts", "type=custom&" + body), 400, param)
    if code:
        assert error["code"] == code
    assert http.get("/v1/accounts").json()["data"] == []


def test_documented_account_hashes_are_stored(http: httpx.Client) -> None:
    body = (
        "type=custom&business_profile[name]=Shop&business_profile[mcc]=5734"
        "&business_profile[support_address][city]=Paris&business_profile[estimated_worker_count]=3"
        "&capabilities[transfers][requested]=true&capabilities[card_payments][requested]=true"
        "&tos_acceptance[date]=1767261600&tos_acceptance[ip]=192.0.2.1"
    )
    response = _post(http, "/v1/accounts", body)
    assert response.status_code == 200, response.text
    account = response.json()
    assert account["business_profile"]["name"] == "Shop"
    assert account["business_profile"]["mcc"] == "5734"
    assert account["business_profile"]["support_address"]["city"] == "Paris"
    assert account["business_profile"]["estimated_worker_count"] == 3
    assert account["capabilities"] == {"card_payments": "active", "transfers": "active"}
    assert account["tos_acceptance"]["date"] == 1767261600
    assert account["tos_acceptance"]["ip"] == "192.0.2.1"


@pytest.mark.parametrize("server_settings", [{"max_body_bytes": 4096}], indirect=True)
def test_a_body_past_the_limit_is_a_413_in_the_envelope(http: httpx.Client) -> None:
    body = "type=custom&metadata[k]=" + "v" * 5000
    response = _post(http, "/v1/accounts", body)
    assert response.status_code == 413, response.text
    assert response.headers["request-id"].startswith("req_")
    assert response.json()["error"]["type"] == "invalid_request_error"

    def chunks() -> Any:  # no Content-Length: the limit holds for streamed bodies too
        yield b"type=custom&metadata[k]="
        for _ in range(10):
            yield b"v" * 1000

    response = http.post("/v1/accounts", content=chunks(), headers=FORM)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert http.get("/v1/accounts").json()["data"] == []
    assert _post(http, "/v1/accounts", "type=custom").status_code == 200


def test_the_default_body_limit_refuses_20_megabytes(http: httpx.Client) -> None:
    response = _post(http, "/v1/accounts", "type=custom&description=" + "x" * 20_000_000)
    assert response.status_code == 413, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize("path", ["/v1/charges/", "/v1/balance/", "/v1/accounts/", "/v1/nothing/"])
def test_a_trailing_slash_is_a_json_404_not_a_redirect(http: httpx.Client, path: str) -> None:
    response = http.get(path)
    error = _error(response, 404)
    assert error["message"] == f"Unrecognized request URL (GET: {path})."


# -- item 23: param is the parameter as sent ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "param"),
    [
        ("GET", "/v1/charges", "created[gte]=yesterday", "created[gte]"),
        ("GET", "/v1/charges", "created=yesterday", "created"),
        ("GET", "/v1/payouts", "arrival_date[lte]=soon", "arrival_date[lte]"),
        ("GET", "/v1/charges", "created[gte][x]=1", "created[gte]"),
        (
            "POST",
            "/v1/accounts",
            "type=custom&settings[payouts][schedule][weekly_payout_days][]=monday",
            "settings[payouts][schedule][weekly_payout_days]",
        ),
        (
            "POST",
            "/v1/accounts",
            "type=custom&settings[payouts][schedule][interval][x]=monday",
            "settings[payouts][schedule][interval]",
        ),
        (
            "POST",
            "/v1/accounts/{account}/external_accounts",
            "external_account[object]=bank_account&external_account[country]=US",
            "external_account[account_number]",
        ),
        (
            "POST",
            "/v1/accounts/{account}/external_accounts",
            "external_account[x][y]=1",
            "external_account[object]",
        ),
        ("POST", "/v1/charges", "amount=1&currency=usd&metadata[k][j]=v", "metadata[k]"),
    ],
)
def test_param_names_the_parameter_as_sent(
    http: httpx.Client, method: str, path: str, body: str, param: str
) -> None:
    if "{account}" in path:
        path = path.format(account=_account(http))
    response = http.get(f"{path}?{body}") if method == "GET" else _post(http, path, body)
    error = _error(response, 400, param)
    assert "int]" not in error["message"]
    assert "constrained" not in error["message"]


def test_check_ledger_reads_documents_that_hold_a_nul(server: RunningServer, http: httpx.Client) -> None:
    """The API refuses NUL now, but a database written before may hold one inside a JSON document,
    where PostgreSQL cannot read any path of that document: check_ledger must still run, and still
    see who is liable for the account."""
    from sqlalchemy import select, update

    from payoutkit.store.engines import make_engine
    from payoutkit.store.invariants import _is_liable
    from payoutkit.store.schema import accounts

    account = http.post("/v1/accounts", data={"type": "express"}).json()["id"]
    engine = make_engine(server.settings.database_url, pool_size=1)
    try:
        with engine.begin() as conn:
            data = dict(conn.execute(select(accounts.c.data).where(accounts.c.id == account)).scalar_one())
            data["metadata"] = {"nul": "a\x00b", "backslash": "\\u0000 \\", "both": "\\\x00"}
            conn.execute(update(accounts).where(accounts.c.id == account).values(data=data))
        with engine.connect() as conn:
            is_liable = _is_liable(conn.dialect.name)
            liable = conn.execute(select(accounts.c.id).where(is_liable)).scalars().all()
        assert liable == [account]
    finally:
        engine.dispose()
    assert_ledger_ok(server.settings.database_url)
