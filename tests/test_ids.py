"""Ids: Stripe's prefix, the time, then random base62 characters, every one equally likely; secrets are
random throughout."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter

from payoutkit.ids import ID_PATTERN, new_id, new_secret


def test_an_id_has_its_prefix_and_length_and_matches_the_id_pattern() -> None:
    for length in (8, 14, 24, 32, 64):
        made = new_id("txn", length)
        assert made.startswith("txn_")
        assert len(made) == 4 + length
        assert ID_PATTERN.match(made)
    assert len(new_secret("whsec")) == len("whsec_") + 32


def test_every_random_character_is_drawn_about_equally_often() -> None:
    # 160,000 characters over 62 symbols: 2,581 expected each, a standard deviation of about 50; a
    # modulo bias of the kind `byte % 62` over all 256 bytes would give 5 symbols 25% more.
    counts = Counter("".join(new_id("x", 24)[2 + 8 :] for _ in range(10_000)))
    assert len(counts) == 62
    assert all(2_300 < n < 2_900 for n in counts.values()), counts.most_common(3)
    # A secret is random in every character.
    counts = Counter("".join(new_secret("x", 16)[2:] for _ in range(10_000)))
    assert len(counts) == 62
    assert all(2_300 < n < 2_900 for n in counts.values()), counts.most_common(3)


def test_ids_made_later_sort_after_earlier_ones_and_secrets_do_not() -> None:
    # Ids begin with the time (milliseconds), so a new row's id lands at the end of an index.
    first = new_id("po")
    time.sleep(0.002)
    later = [new_id("po") for _ in range(100)]
    assert all(first < made for made in later)
    assert all(made[3:11] == later[0][3:11] or made[3:11] > later[0][3:11] for made in later)
    secrets = [new_secret("sk_test") for _ in range(200)]
    assert secrets != sorted(secrets)


def test_ids_do_not_repeat() -> None:
    assert len({new_id("po") for _ in range(50_000)}) == 50_000


def test_threads_and_forked_children_never_repeat_each_others_ids() -> None:
    # Ids' random characters are drawn ahead, per thread (payoutkit/ids.py): no two threads may share a
    # draw, and a child forked after its parent drew must not use what the parent will.
    new_id("x", 16)  # this thread has characters drawn and unused now
    made: list[list[str]] = [[] for _ in range(4)]

    def draw(out: list[str]) -> None:
        out.extend(new_id("x", 16) for _ in range(5_000))

    threads = [threading.Thread(target=draw, args=(out,)) for out in made]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({i for out in made for i in out}) == 20_000
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next ids, to the parent
        try:
            os.write(write, " ".join(new_id("x", 16) for _ in range(50)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        childs = set(pipe.read().split())
    os.waitpid(pid, 0)
    ours = {new_id("x", 16) for _ in range(50)}
    assert len(childs) == 50
    assert not childs & ours
