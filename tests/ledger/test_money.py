"""Money: the currency table, request-amount validation, ``Amount`` and ``ratio_split``."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payoutkit.ledger.errors import InvalidAmount, LedgerError, UnsupportedCurrency
from payoutkit.ledger.money import (
    CURRENCY_EXPONENTS,
    MAX_AMOUNT,
    Amount,
    check_amount,
    check_currency,
    format_minor,
    ratio_split,
)


@pytest.mark.parametrize(
    ("currency", "exponent"),
    [
        ("usd", 2), ("eur", 2), ("gbp", 2), ("huf", 2), ("isk", 2), ("twd", 2),
        ("jpy", 0), ("krw", 0), ("vnd", 0), ("xof", 0), ("clp", 0),
        ("bhd", 3), ("jod", 3), ("kwd", 3), ("omr", 3), ("tnd", 3),
    ],
)  # fmt: skip
def test_currency_exponents(currency: str, exponent: int) -> None:
    assert CURRENCY_EXPONENTS[currency] == exponent


def test_currency_table_is_lowercase_iso_codes() -> None:
    assert len(CURRENCY_EXPONENTS) > 130
    for code, exponent in CURRENCY_EXPONENTS.items():
        assert len(code) == 3
        assert code.isascii()
        assert code.islower()
        assert exponent in (0, 2, 3)


@pytest.mark.parametrize(("given", "expected"), [("usd", "usd"), ("USD", "usd"), ("Jpy", "jpy")])
def test_check_currency_normalises(given: str, expected: str) -> None:
    assert check_currency(given) == expected


@pytest.mark.parametrize(
    "bad", ["", "us", "usdd", "xyz", "eek", "btc", "\u212arw", " usd", "usd\n", "u\u0131sd"]
)
def test_check_currency_rejects_unknown(bad: str) -> None:
    with pytest.raises(UnsupportedCurrency) as info:
        check_currency(bad, param="destination_currency")
    assert info.value.param == "destination_currency"
    assert isinstance(info.value, LedgerError)


@pytest.mark.parametrize(
    ("amount", "currency", "allow_zero"),
    [
        (1, "usd", False),
        (MAX_AMOUNT, "usd", False),
        (0, "usd", True),
        (500, "jpy", False),
        (1230, "kwd", False),
        (10, "bhd", False),
        (100, "isk", False),
    ],
)
def test_check_amount_accepts(amount: int, currency: str, allow_zero: bool) -> None:
    assert check_amount(amount, currency, allow_zero=allow_zero) == amount


@pytest.mark.parametrize(
    ("amount", "currency", "code"),
    [
        (0, "usd", "amount_too_small"),
        (-1, "usd", "amount_too_small"),
        (MAX_AMOUNT + 1, "usd", "amount_too_large"),
        (1.0, "usd", "invalid_amount"),
        (True, "usd", "invalid_amount"),
        ("100", "usd", "invalid_amount"),
        (None, "usd", "invalid_amount"),
        (1235, "kwd", "invalid_amount"),  # three-decimal: last digit must be 0
        (150, "isk", "invalid_amount"),  # whole krónur only
    ],
)
def test_check_amount_rejects(amount: object, currency: str, code: str) -> None:
    with pytest.raises(InvalidAmount) as info:
        check_amount(amount, currency, param="amount")
    assert info.value.code == code
    assert info.value.param == "amount"


def test_check_amount_rejects_negative_even_with_allow_zero() -> None:
    with pytest.raises(InvalidAmount, match="greater than or equal to 0"):
        check_amount(-5, "usd", param="minimum_balance", allow_zero=True)


def test_check_amount_checks_currency() -> None:
    with pytest.raises(UnsupportedCurrency):
        check_amount(100, "zzz")


@pytest.mark.parametrize(
    ("value", "currency", "text"),
    [
        (1234, "usd", "12.34 USD"),
        (5, "usd", "0.05 USD"),
        (-5, "usd", "-0.05 USD"),
        (0, "eur", "0.00 EUR"),
        (1234, "jpy", "1234 JPY"),
        (-1234, "jpy", "-1234 JPY"),
        (12340, "kwd", "12.340 KWD"),
        (7, "bhd", "0.007 BHD"),
    ],
)
def test_format(value: int, currency: str, text: str) -> None:
    assert format_minor(value, currency) == text
    assert Amount(value, currency).format() == text
    assert str(Amount(value, currency)) == text


def test_amount_normalises_currency() -> None:
    assert Amount(100, "USD") == Amount(100, "usd")


@pytest.mark.parametrize("value", [1.5, 2.0, True, False, "100", None])
def test_amount_rejects_non_int(value: object) -> None:
    with pytest.raises(TypeError):
        Amount(value, "usd")  # type: ignore[arg-type]


def test_amount_rejects_unknown_currency() -> None:
    with pytest.raises(UnsupportedCurrency):
        Amount(100, "zzz")


def test_amount_arithmetic() -> None:
    a, b = Amount(1000, "usd"), Amount(250, "usd")
    assert a + b == Amount(1250, "usd")
    assert a - b == Amount(750, "usd")
    assert b - a == Amount(-750, "usd")
    assert -a == Amount(-1000, "usd")


def test_amount_arithmetic_refuses_mixed_currencies() -> None:
    with pytest.raises(ValueError, match="usd and eur"):
        Amount(1, "usd") + Amount(1, "eur")
    with pytest.raises(ValueError, match="usd and eur"):
        Amount(1, "usd") - Amount(1, "eur")


def test_amount_arithmetic_refuses_bare_ints() -> None:
    with pytest.raises(TypeError):
        Amount(1, "usd") + 1  # type: ignore[operator]


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        (100, [1, 1, 1], [34, 33, 33]),  # tie on remainders: earliest part first
        (101, [1, 1, 1], [34, 34, 33]),
        (-100, [1, 1, 1], [-34, -33, -33]),
        (10, [3, 7], [3, 7]),
        (1, [1, 1], [1, 0]),
        (0, [5, 5], [0, 0]),
        (100, [0, 1], [0, 100]),
        (5, [1, 2, 2], [1, 2, 2]),
        (7, [1, 2, 2], [1, 3, 3]),  # remainders 0.4, 0.8, 0.8 -> the two 0.8s
        (1000, [3333, 3333, 3334], [333, 333, 334]),
    ],
)
def test_ratio_split_examples(total: int, weights: list[int], parts: list[int]) -> None:
    assert ratio_split(total, weights) == parts


@pytest.mark.parametrize(
    ("total", "weights", "error"),
    [
        (10, [], ValueError),
        (10, [0, 0], ValueError),
        (10, [1, -1], ValueError),
        (10.0, [1], TypeError),
        (10, [1.5], TypeError),
        (True, [1], TypeError),
    ],
)
def test_ratio_split_rejects(total: object, weights: list[object], error: type[Exception]) -> None:
    with pytest.raises(error):
        ratio_split(total, weights)  # type: ignore[arg-type]


weight_lists = st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=12).filter(any)


@given(total=st.integers(min_value=-(10**12), max_value=10**12), weights=weight_lists)
def test_ratio_split_parts_sum_to_total(total: int, weights: list[int]) -> None:
    parts = ratio_split(total, weights)
    assert sum(parts) == total
    assert len(parts) == len(weights)


@given(total=st.integers(min_value=0, max_value=10**12), weights=weight_lists)
def test_ratio_split_parts_are_within_one_of_exact_share(total: int, weights: list[int]) -> None:
    whole = sum(weights)
    for part, weight in zip(ratio_split(total, weights), weights, strict=True):
        exact_floor = total * weight // whole
        assert exact_floor <= part <= exact_floor + 1
        if weight == 0:
            assert part == 0


@given(total=st.integers(min_value=-(10**9), max_value=10**9), weights=weight_lists)
def test_ratio_split_is_antisymmetric(total: int, weights: list[int]) -> None:
    assert ratio_split(-total, weights) == [-p for p in ratio_split(total, weights)]
