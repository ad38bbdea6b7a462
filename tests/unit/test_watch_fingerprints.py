"""The compact table of a key's stored fingerprints (open addressing in two arrays)."""

from __future__ import annotations

import random
import sys

import pytest

from bot.db.watch.fingerprints import LOAD, Fingerprints
from bot.db.watch.store_records import print_key, print_mark


def test_it_answers_like_a_dict_through_growth() -> None:
    rng = random.Random(7)
    expected: dict[int, int] = {}
    table = Fingerprints()
    for _ in range(5000):
        key = rng.randrange(2**60)
        expected[key] = rng.randrange(2**60)
        table[key] = expected[key]
    for key in rng.sample(sorted(expected), 200):  # overwrite some: no second slot
        expected[key] = 12
        table[key] = 12
    assert len(table) == len(expected) == 5000
    assert dict(table.items()) == expected
    assert all(table[k] == v and k in table for k, v in expected.items())
    missing = next(k for k in iter(lambda: rng.randrange(2**60), None) if k not in expected)
    assert missing not in table and table.get(missing) is None
    with pytest.raises(KeyError):
        table[missing]
    assert "not an int" not in table
    assert table.count <= LOAD * len(table.keys)


def test_keys_sharing_their_low_bits_each_keep_their_own_mark() -> None:
    table = Fingerprints()
    size = len(table.keys)
    colliding = [size * n + 5 for n in range(1, 30)]  # same slot, probed past each other
    for n, key in enumerate(colliding):
        table[key] = n
    assert [table[k] for k in colliding] == list(range(29))
    assert (size + 5 + 1) not in table  # the probe stops at a free slot


def test_a_deployment_costs_far_less_than_a_dict_of_ints() -> None:
    ids = [f"deployment-{n}" for n in range(10_000)]
    table = Fingerprints()
    as_dict: dict[int, int] = {}
    for i in ids:
        table[print_key(i)] = print_mark(i)
        as_dict[print_key(i)] = print_mark(i)
    table_bytes = sys.getsizeof(table.keys) + sys.getsizeof(table.marks)
    dict_bytes = sys.getsizeof(as_dict) + sum(
        sys.getsizeof(k) + sys.getsizeof(v) for k, v in as_dict.items()
    )
    assert table_bytes / len(ids) <= 32  # two 8-byte slots, at most two thirds full
    assert table_bytes * 2.5 < dict_bytes


def test_sizing_for_the_expected_count_never_grows() -> None:
    table = Fingerprints(10_000)
    slots = len(table.keys)
    for n in range(10_000):
        table[n * 7919] = n
    assert len(table.keys) == slots


def test_extend_fills_a_page_of_rows_like_one_by_one() -> None:
    rng = random.Random(11)
    pairs = [(rng.randrange(2**60), rng.randrange(2**60)) for _ in range(3000)]
    pairs += [(pairs[0][0], 99), (pairs[1][0], 98)]  # a key twice in one page: the last wins
    one_by_one, extended = Fingerprints(), Fingerprints()
    for key, mark in pairs:
        one_by_one[key] = mark
    extended.extend(pairs[:1000])
    extended.extend(pairs[1000:])
    assert dict(extended.items()) == dict(one_by_one.items())
    assert len(extended) == len(one_by_one) == 3000
    assert extended[pairs[0][0]] == 99
    assert extended.count <= LOAD * len(extended.keys)
