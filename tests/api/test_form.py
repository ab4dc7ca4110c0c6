"""Form decoding: Stripe's bracket nesting, both array styles, and refusals that name the param."""

from __future__ import annotations

import pytest

from payoutkit.api.errors import status_of
from payoutkit.api.form import decode
from payoutkit.errors import InvalidRequest


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("amount=100&currency=usd", {"amount": "100", "currency": "usd"}),
        ("a[b][c]=v", {"a": {"b": {"c": "v"}}}),
        ("expand[]=source&expand[]=balance_transaction", {"expand": ["source", "balance_transaction"]}),
        ("expand[0]=source&expand[1]=balance_transaction", {"expand": ["source", "balance_transaction"]}),
        ("expand[1]=b&expand[0]=a", {"expand": ["a", "b"]}),
        ("metadata[order]=6735&metadata[note]=", {"metadata": {"order": "6735", "note": ""}}),
        ("metadata=", {"metadata": ""}),
        (
            "settings[payouts][schedule][interval]=weekly",
            {"settings": {"payouts": {"schedule": {"interval": "weekly"}}}},
        ),
        ("items[0][price]=p1&items[1][price]=p2", {"items": [{"price": "p1"}, {"price": "p2"}]}),
        ("flag=true", {"flag": "true"}),
        ("name=a%20b%26c", {"name": "a b&c"}),
        ("", {}),
    ],
)
def test_decodes_stripe_form_encoding(body: str, expected: dict[str, object]) -> None:
    assert decode(body) == expected


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ("a[b=1", "a[b"),
        ("[x]=1", "[x]"),
        ("a=1&a[b]=2", "a"),
        ("a[b]=2&a=1", "a"),
        ("expand[0]=a&expand[2]=b", "expand"),
        ("x[0]=a&x[k]=b", "x"),
    ],
)
def test_malformed_names_are_refused_with_the_param(body: str, param: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        decode(body)
    assert raised.value.param == param
    assert status_of(raised.value) == 400
