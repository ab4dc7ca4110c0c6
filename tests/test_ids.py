"""Ids: Stripe's prefix and random base62 characters, every character equally likely."""

from __future__ import annotations

from collections import Counter

from payoutkit.ids import ID_PATTERN, new_id, new_secret


def test_an_id_has_its_prefix_and_length_and_matches_the_id_pattern() -> None:
    for length in (8, 14, 24, 32, 64):
        made = new_id("txn", length)
        assert made.startswith("txn_")
        assert len(made) == 4 + length
        assert ID_PATTERN.match(made)
    assert len(new_secret("whsec")) == len("whsec_") + 32


def test_every_character_of_the_alphabet_is_drawn_about_equally_often() -> None:
    # 240,000 characters over 62 symbols: 3,871 expected each, a standard deviation of about 62; a
    # modulo bias of the kind `byte % 62` over all 256 bytes would give 5 symbols 25% more.
    counts = Counter("".join(new_id("x", 24)[2:] for _ in range(10_000)))
    assert len(counts) == 62
    assert all(3_500 < n < 4_250 for n in counts.values()), counts.most_common(3)


def test_ids_do_not_repeat() -> None:
    assert len({new_id("po") for _ in range(50_000)}) == 50_000
