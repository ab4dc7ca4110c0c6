"""Settings from the environment: processing-fee pricing parsed exactly."""

from __future__ import annotations

import pytest

from payoutkit.config import Settings, parse_fee
from payoutkit.ledger.fees import PercentFee


@pytest.mark.parametrize(
    ("text", "fee"),
    [
        ("2.9% + 30", PercentFee(percent_bps=290, fixed=30)),
        ("2.9%+30", PercentFee(percent_bps=290, fixed=30)),
        ("0.8% max 500", PercentFee(percent_bps=80, maximum=500)),
        ("1.5% min 50 max 1500", PercentFee(percent_bps=150, minimum=50, maximum=1500)),
        ("0.01%", PercentFee(percent_bps=1)),
        ("3%", PercentFee(percent_bps=300)),
    ],
)
def test_fees_parse_to_basis_points_exactly(text: str, fee: PercentFee) -> None:
    assert parse_fee(text) == fee


@pytest.mark.parametrize("text", ["2.955%", "abc", "2.9 + 30", "-1%", "2.9% + 3.5", ""])
def test_malformed_fees_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="fee"):
        parse_fee(text)


def test_pricing_comes_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "PAYOUTKIT_FEE_CARD": "3.4% + 25",
            "PAYOUTKIT_FEE_BANK_ACCOUNT": "1% max 400",
            "PAYOUTKIT_DISPUTE_FEE": "2000",
        }
    )
    assert settings.pricing.processing["card"] == PercentFee(percent_bps=340, fixed=25)
    assert settings.pricing.processing["bank_account"] == PercentFee(percent_bps=100, maximum=400)
    assert settings.pricing.processing["fpx"] == PercentFee(percent_bps=250)  # the default stays
    assert settings.pricing.dispute_fee == 2000
    assert settings.pricing.processing["card"].fee_for(1000) == 59


def test_the_body_limit_comes_from_the_environment() -> None:
    assert Settings.from_env({}).max_body_bytes == 1_048_576
    assert Settings.from_env({"PAYOUTKIT_MAX_BODY_BYTES": "65536"}).max_body_bytes == 65536
    with pytest.raises(ValueError, match="PAYOUTKIT_MAX_BODY_BYTES"):
        Settings.from_env({"PAYOUTKIT_MAX_BODY_BYTES": "0"})


def test_the_worker_shards_come_from_the_environment() -> None:
    assert Settings.from_env({}).worker_shards == 2
    assert Settings.from_env({"PAYOUTKIT_WORKER_SHARDS": "4"}).worker_shards == 4
    with pytest.raises(ValueError, match="PAYOUTKIT_WORKER_SHARDS"):
        Settings.from_env({"PAYOUTKIT_WORKER_SHARDS": "0"})


def test_embed_origins_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"PAYOUTKIT_EMBED_ORIGINS": " https://Shop.example , https://admin.example:8443/,http://[::1]:3000"}
    )
    assert settings.embed_origins == (
        "https://shop.example",
        "https://admin.example:8443",
        "http://[::1]:3000",
    )
    assert Settings.from_env({}).embed_origins == ()


@pytest.mark.parametrize("text", ["shop.example", "https://shop.example/pay", "ftp://x.example", "*"])
def test_an_embed_origin_is_an_exact_origin(text: str) -> None:
    with pytest.raises(ValueError, match="PAYOUTKIT_EMBED_ORIGINS"):
        Settings.from_env({"PAYOUTKIT_EMBED_ORIGINS": text})
