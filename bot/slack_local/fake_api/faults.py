"""Injected faults: rate limits, HTTP errors and ``ok: false`` answers for the next calls."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Fault:
    method: str
    status: int
    retry_after: int | None
    error: str | None
    times: int

    @property
    def error_code(self) -> str:
        """The ``error`` Slack answers with (the injected one, or the status's usual one)."""
        if self.error:
            return self.error
        return {429: "ratelimited", 500: "internal_error", 503: "service_unavailable"}.get(
            self.status, "fatal_error"
        )

    @property
    def headers(self) -> dict[str, str]:
        """``Retry-After`` for a rate limit that names one."""
        if self.status == 429 and self.retry_after is not None:
            return {"Retry-After": str(self.retry_after)}
        return {}


class FaultQueue:
    """Faults waiting for their method, taken in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, method: str) -> Fault | None:
        """The fault for this call to ``method``, if one is waiting (it is used up once)."""
        fault = next((f for f in self._faults if f.method == method), None)
        if fault is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._faults.remove(fault)
        return fault
