"""Clocks that drive the sandbox worlds: one tests control, one that runs (sped up) in demos."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

#: Where manual clocks start unless told otherwise: a fixed, readable moment.
DEFAULT_START = datetime(2026, 11, 1, 12, 0, 0, tzinfo=UTC).timestamp()


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, as the emulated world sees it."""
        ...


class ManualClock:
    """Time moves only when a test says so."""

    def __init__(self, start: float = DEFAULT_START) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._now += seconds
        return self._now

    def set(self, when: float) -> None:
        if when < self._now:
            raise ValueError("a clock cannot go backwards")
        self._now = float(when)


class ScaledClock:
    """Real time, ``speed`` times faster (a demo's minute of jobs passes in seconds)."""

    def __init__(self, speed: float = 1.0, start: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._start = time.time() if start is None else start
        self._mono = time.monotonic()
        self._offset = 0.0

    def now(self) -> float:
        return self._start + (time.monotonic() - self._mono) * self.speed + self._offset

    def advance(self, seconds: float) -> float:
        """Jump ahead (the control endpoint uses it in demos too)."""
        if seconds < 0:
            raise ValueError("a clock cannot go backwards")
        self._offset += seconds
        return self.now()


def iso(ts: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, as JavaScript's ``toISOString()``."""
    millis = round(ts * 1000)
    seconds, ms = divmod(millis, 1000)
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms:03d}Z"
