"""The provider-call journal: each non-idempotent provider call a job makes is written to the
job's row *before* it is sent and marked answered after, so a job taken over from a worker that
died mid-call knows a call may have reached the provider.

Jobs run with :data:`CURRENT` set; :class:`ProviderPool` hands out clients wrapped in
:class:`JournaledProvider` while it is, so no service has to remember to journal.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any, cast

from bot.db.jobs import Call, ClaimedJob, JobStore
from bot.providers.base import BaseProvider

log = logging.getLogger(__name__)

#: The provider methods that change something (and are not safe to send twice).
MUTATING = frozenset(
    {
        "create",
        "start",
        "stop",
        "archive",
        "delete",
        "close",
        "scale",
        "set_timeout",
        "set_schedule",
        "revise",
        "rollback",
        "rename",
        "accept_bids",
        "deposit",
    }
)


class JournalLost(Exception):
    """The job's lease is gone (another worker took it over): stop before sending anything."""


class JobRun:
    """The job a worker is running now: its row, and its call journal."""

    def __init__(self, store: JobStore, owner: str, job: ClaimedJob) -> None:
        self.store = store
        self.owner = owner
        self.job = job
        self.calls: list[Call] = list(job.calls)

    async def record(self, method: str, provider: str, target: str, before: dict[str, str]) -> int:
        call = Call(
            seq=len(self.calls) + 1,
            method=method,
            provider=provider,
            target=target,
            before=before,
        )
        self.calls.append(call)
        if not await self.store.record_calls(self.job.id, self.owner, self.calls):
            raise JournalLost(f"job {self.job.id} is no longer held by this worker")
        return call.seq

    async def answered(self, seq: int) -> None:
        self.calls = [
            Call(c.seq, c.method, c.provider, c.target, c.before, True) if c.seq == seq else c
            for c in self.calls
        ]
        try:
            await self.store.record_calls(self.job.id, self.owner, self.calls)
        except Exception:  # the call is done; a missed mark only costs a reconcile later
            log.warning("could not mark a provider call answered on job %s", self.job.id)

    async def forget_unanswered(self) -> None:
        """After reconciling found that nothing reached the provider: start a clean journal."""
        self.calls = [c for c in self.calls if c.confirmed]
        await self.store.record_calls(self.job.id, self.owner, self.calls)


CURRENT: ContextVar[JobRun | None] = ContextVar("deploybot_job", default=None)


def _target(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    if method == "create":
        spec = args[0] if args else kwargs.get("spec")
        return str(getattr(spec, "name", "") or "")
    return str(args[0] if args else kwargs.get("deployment_id", ""))


def _expected(method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    """The value a field-changing call sets (scale → replicas …), as recorded."""
    value = args[1] if len(args) > 1 else next(iter(kwargs.values()), "")
    if method in ("scale", "set_timeout", "set_schedule", "rename", "rollback", "deposit"):
        return str(value)
    return ""


class JournaledProvider:
    """A provider client whose mutating calls are journaled on the current job."""

    def __init__(self, inner: BaseProvider, run: JobRun) -> None:
        self._inner = inner
        self._run = run

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if name not in MUTATING or not callable(attr):
            return attr
        return self._journaled(name, attr)

    def _journaled(self, method: str, call: Callable[..., Awaitable[Any]]) -> Any:
        inner, run = self._inner, self._run

        async def journaled(*args: Any, **kwargs: Any) -> Any:
            target = _target(method, args, kwargs)
            before = {"value": _expected(method, args, kwargs)}
            if method in ("deposit", "revise"):
                before.update(await _facts_before(inner, target))
            seq = await run.record(method, inner.name, target, before)
            try:
                result = await call(*args, **kwargs)
            except asyncio.CancelledError:
                raise  # no answer was seen: the call stays unanswered for a takeover
            except Exception:
                await run.answered(seq)  # an answer (an error) came back
                raise
            await run.answered(seq)
            return result

        return journaled


async def _facts_before(provider: BaseProvider, target: str) -> dict[str, str]:
    """What a reconcile compares against (escrow before a deposit, revision before a revise)."""
    try:
        found = await provider.get(target)
    except Exception:
        return {}
    return {
        "escrow": str(found.extras.get("escrow_funds") or ""),
        "revision": str(found.active_revision or ""),
    }


def journaled(client: BaseProvider) -> BaseProvider:
    """``client`` journaled on the current job (itself outside a job)."""
    run = CURRENT.get()
    if run is None:
        return client
    return cast(BaseProvider, JournaledProvider(client, run))
