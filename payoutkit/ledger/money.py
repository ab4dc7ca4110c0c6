"""Money: integer minor units plus a currency, and nothing else.

An amount is a Python ``int`` in the currency's minor unit (cents for ``usd``, yen for ``jpy``,
fils for ``kwd``) from the database to the wire; floats and bools are refused where values are
built.
``CURRENCY_EXPONENTS`` is the table of currencies payoutkit accepts, with each one's number of
decimals; it drives validation and display only, never arithmetic.

Precision rules that Stripe enforces on request amounts live in ``AMOUNT_STEP``: three-decimal
currencies must end in 0 (Stripe rounds them to two decimals), and ``isk`` is sent times 100 but
must be whole krónur. ``PAYOUT_STEP`` holds the payout-only rule (``huf`` and ``twd`` are paid out
in whole units, so payout amounts must be multiples of 100); ``ledger/payouts.py`` applies it.

``ratio_split`` is the one way to divide an integer into parts: largest remainder, ties to the
earliest part, so the parts always add up to the whole.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

from payoutkit.ledger.errors import InvalidAmount, UnsupportedCurrency

__all__ = [
    "AMOUNT_STEP",
    "CURRENCY_EXPONENTS",
    "MAX_AMOUNT",
    "PAYOUT_STEP",
    "Amount",
    "check_amount",
    "check_currency",
    "format_minor",
    "ratio_split",
]

MAX_AMOUNT = 99_999_999
"""Stripe's largest request amount: eight digits in the minor unit."""

# fmt: off
_ZERO_DECIMAL = frozenset((
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv",
    "xaf", "xof", "xpf",
))
_THREE_DECIMAL = frozenset((
    "bhd", "jod", "kwd", "omr", "tnd",
))
_TWO_DECIMAL = frozenset((
    "usd", "aed", "afn", "all", "amd", "ang", "aoa", "ars", "aud", "awg", "azn", "bam", "bbd",
    "bdt", "bgn", "bmd", "bnd", "bob", "brl", "bsd", "bwp", "byn", "bzd", "cad", "cdf", "chf",
    "cny", "cop", "crc", "cve", "czk", "dkk", "dop", "dzd", "egp", "etb", "eur", "fjd", "fkp",
    "gbp", "gel", "gip", "gmd", "gtq", "gyd", "hkd", "hnl", "htg", "huf", "idr", "ils", "inr",
    "isk", "jmd", "kes", "kgs", "khr", "kyd", "kzt", "lak", "lbp", "lkr", "lrd", "lsl", "mad",
    "mdl", "mkd", "mmk", "mnt", "mop", "mur", "mvr", "mwk", "mxn", "myr", "mzn", "nad", "ngn",
    "nio", "nok", "npr", "nzd", "pab", "pen", "pgk", "php", "pkr", "pln", "qar", "ron", "rsd",
    "rub", "sar", "sbd", "scr", "sek", "sgd", "shp", "sle", "sll", "sos", "srd", "std", "szl",
    "thb", "tjs", "top", "try", "ttd", "twd", "tzs", "uah", "uyu", "uzs", "wst", "xcd", "yer",
    "zar", "zmw",
))
# fmt: on

CURRENCY_EXPONENTS: Mapping[str, int] = MappingProxyType(
    {
        **dict.fromkeys(sorted(_TWO_DECIMAL), 2),
        **dict.fromkeys(sorted(_ZERO_DECIMAL), 0),
        **dict.fromkeys(sorted(_THREE_DECIMAL), 3),
    }
)

AMOUNT_STEP: Mapping[str, int] = MappingProxyType({**dict.fromkeys(sorted(_THREE_DECIMAL), 10), "isk": 100})
"""Request amounts in these currencies must be multiples of the step (default 1)."""

PAYOUT_STEP: Mapping[str, int] = MappingProxyType({"huf": 100, "twd": 100})
"""Payout amounts in these currencies must be multiples of the step (default 1): Stripe pays HUF and
TWD out in whole units, though it charges them with two decimals."""


def check_currency(currency: str, *, param: str = "currency") -> str:
    """Return ``currency`` normalised to lowercase, or raise ``UnsupportedCurrency``."""
    if not isinstance(currency, str):
        raise UnsupportedCurrency(
            f"Invalid currency: {currency!r}. Currency must be a three-letter ISO code.",
            param=param,
        )
    # Only ASCII letters: `str.lower` maps other characters onto ASCII ones (KELVIN SIGN K → "k"),
    # and a code with spaces around it is not the code, as an integer with spaces is not one.
    normalised = currency.lower() if currency.isascii() else ""
    if normalised not in CURRENCY_EXPONENTS:
        raise UnsupportedCurrency(
            f"Invalid currency: {currency}. Payoutkit supports these currencies: "
            + ", ".join(sorted(CURRENCY_EXPONENTS)),
            param=param,
        )
    return normalised


def check_amount(amount: object, currency: str, *, param: str = "amount", allow_zero: bool = False) -> int:
    """Return ``amount`` if it is a valid request amount in ``currency``, else raise.

    The amount must be an ``int`` (not a bool, not a float), positive (or zero when ``allow_zero``),
    at most ``MAX_AMOUNT``, and a multiple of the currency's ``AMOUNT_STEP``.
    """
    cur = check_currency(currency)
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidAmount(
            f"Invalid integer: {amount!r}. {param} must be an integer in the currency's smallest unit.",
            param=param,
            code="invalid_amount",
        )
    if amount < 0 or (amount == 0 and not allow_zero):
        least = 0 if allow_zero else 1
        raise InvalidAmount(
            f"This value must be greater than or equal to {least}.",
            param=param,
            code="amount_too_small",
        )
    if amount > MAX_AMOUNT:
        raise InvalidAmount(
            f"Amount must be no more than {format_minor(MAX_AMOUNT, cur)}.",
            param=param,
            code="amount_too_large",
        )
    step = AMOUNT_STEP.get(cur, 1)
    if amount % step:
        raise InvalidAmount(
            f"Invalid {param}: amounts in {cur.upper()} must be a multiple of {step} "
            "in the currency's smallest unit.",
            param=param,
            code="invalid_amount",
        )
    return amount


def format_minor(value: int, currency: str) -> str:
    """Display ``value`` minor units as ``"12.34 USD"`` (``"-0.05 USD"``, ``"1234 JPY"``)."""
    exponent = CURRENCY_EXPONENTS[currency]
    sign = "-" if value < 0 else ""
    digits = str(abs(value))
    if exponent:
        digits = digits.rjust(exponent + 1, "0")
        digits = f"{digits[:-exponent]}.{digits[-exponent:]}"
    return f"{sign}{digits} {currency.upper()}"


@dataclass(frozen=True, slots=True)
class Amount:
    """A signed integer number of minor units of one currency (balances may be negative)."""

    value: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise TypeError(f"Amount.value must be an int of minor units, not {self.value!r}")
        object.__setattr__(self, "currency", check_currency(self.currency))

    def _same_currency(self, other: Amount) -> None:
        if other.currency != self.currency:
            raise ValueError(f"cannot combine {self.currency} and {other.currency} amounts")

    def __add__(self, other: Amount) -> Amount:
        if not isinstance(other, Amount):
            return NotImplemented
        self._same_currency(other)
        return Amount(self.value + other.value, self.currency)

    def __sub__(self, other: Amount) -> Amount:
        if not isinstance(other, Amount):
            return NotImplemented
        self._same_currency(other)
        return Amount(self.value - other.value, self.currency)

    def __neg__(self) -> Amount:
        return Amount(-self.value, self.currency)

    def format(self) -> str:
        """``"12.34 USD"``: the value in major units with the currency's exponent."""
        return format_minor(self.value, self.currency)

    def __str__(self) -> str:
        return self.format()


def ratio_split(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` into parts proportional to ``weights`` that sum exactly to ``total``.

    Largest remainder: each part gets ``floor(total * w / sum(weights))``; the units left over go,
    one each, to the parts with the largest remainders, ties to the earliest. A negative total is
    split as its absolute value and negated, so a split and its reversal mirror each other.
    """
    if isinstance(total, bool) or not isinstance(total, int):
        raise TypeError(f"total must be an int, not {total!r}")
    if not weights:
        raise ValueError("ratio_split needs at least one weight")
    for weight in weights:
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise TypeError(f"weights must be ints, not {weight!r}")
        if weight < 0:
            raise ValueError(f"weights must be non-negative, not {weight}")
    whole = sum(weights)
    if whole == 0:
        raise ValueError("ratio_split needs at least one positive weight")
    if total < 0:
        return [-part for part in ratio_split(-total, weights)]

    quotients = [divmod(total * weight, whole) for weight in weights]
    parts = [q for q, _ in quotients]
    leftover = total - sum(parts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (-quotients[i][1], i))
    for index in by_remainder[:leftover]:
        parts[index] += 1
    return parts
