"""A key's stored fingerprints in two flat arrays: what a poll walks with, a few bytes each.

A poll compares every listed item with the fingerprint stored for its deployment. Held as a
dict of Python ints, each stored deployment cost about 75 bytes (a dict entry and two int
objects); here it costs 16 bytes a slot — a slot for its key (60 bits of the id's hash,
:func:`~bot.db.watch.store_records.print_key`) and one for its mark (of the fingerprint,
:func:`~bot.db.watch.store_records.print_mark`) in two ``array('q')`` — at most two thirds
full: about 24 bytes a deployment, a third of the dict. Several keys are polled at once and a
key may list 100,000 deployments, so this is most of what a poll holds.

Open addressing with linear probing: a key's slot is its low bits, or the next free one after
them. Keys are never removed during a poll (the walk overwrites marks: ``keypoll.SEEN``).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence

#: A free slot's key (keys are never negative).
EMPTY = -1
#: The table doubles before it is more than two thirds full.
LOAD = 2 / 3
_MIN_SLOTS = 64


class Fingerprints:
    """print_key → print_mark, compactly (see the module docstring)."""

    __slots__ = ("count", "keys", "marks", "mask")

    def __init__(self, expected: int = 0) -> None:
        slots = _MIN_SLOTS
        while slots * LOAD < expected:
            slots *= 2
        self.keys = array("q", [EMPTY]) * slots
        self.marks = array("q", [0]) * slots
        self.mask = slots - 1
        self.count = 0

    def slot(self, key: int) -> int:
        """Where ``key`` is, or the free slot where it would go."""
        keys, mask = self.keys, self.mask
        i = key & mask
        while (k := keys[i]) != key and k != EMPTY:
            i = (i + 1) & mask
        return i

    def __setitem__(self, key: int, mark: int) -> None:
        self.extend(((key, mark),))

    def extend(self, pairs: Sequence[tuple[int, int]]) -> None:
        """Add (key, mark) pairs: a table read from the database is filled a page of rows at
        a time, growing at most once a page and probing inline (no call per row)."""
        while self.count + len(pairs) > LOAD * len(self.keys):
            self._grow()
        keys, marks, mask = self.keys, self.marks, self.mask
        added = 0
        for key, mark in pairs:
            i = key & mask
            while (k := keys[i]) != key and k != EMPTY:
                i = (i + 1) & mask
            if k == EMPTY:
                keys[i] = key
                added += 1
            marks[i] = mark
        self.count += added

    def get(self, key: int) -> int | None:
        i = self.slot(key)
        return self.marks[i] if self.keys[i] != EMPTY else None

    def __getitem__(self, key: int) -> int:
        mark = self.get(key)
        if mark is None:
            raise KeyError(key)
        return mark

    def __contains__(self, key: object) -> bool:
        return isinstance(key, int) and self.keys[self.slot(key)] != EMPTY

    def __len__(self) -> int:
        return self.count

    def items(self) -> Iterator[tuple[int, int]]:
        for k, mark in zip(self.keys, self.marks, strict=True):
            if k != EMPTY:
                yield k, mark

    def _grow(self) -> None:
        old_keys, old_marks = self.keys, self.marks
        slots = len(old_keys) * 2
        self.keys = keys = array("q", [EMPTY]) * slots
        self.marks = marks = array("q", [0]) * slots
        self.mask = mask = slots - 1
        for k, mark in zip(old_keys, old_marks, strict=True):
            if k != EMPTY:
                i = k & mask
                while keys[i] != EMPTY:
                    i = (i + 1) & mask
                keys[i] = k
                marks[i] = mark
