"""Changes to one deployment: whether its state allows the change, the provider call that
makes it, and chains of changes run step by step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from bot.core.arguments import Deposit, Rename, Revise, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Chain, Operation, OpKind
from bot.core.preflight_state import status_phrase
from bot.core.registry import MUTATIONS
from bot.core.render import escape
from bot.core.results import ChainRun, Changed
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import Capability, Deployment
from bot.services.deployments.model import Actor, ChangeRecorder, Progress, Resolved
from bot.services.deployments.wording import ability, message, verb
from bot.services.errors import ServiceError, UnsupportedError

log = logging.getLogger("bot.services.deployments")

_VERBS = {v.value for v in MUTATIONS}


async def mutate(
    actor: Actor,
    op: Operation,
    resolved: Resolved,
    *,
    recorder: ChangeRecorder | None,
    clock: Callable[[], datetime],
) -> Changed:
    """Run one change on a resolved deployment and tell ``recorder`` who made it."""
    client, before = resolved.provider, resolved.deployment
    problem = state_problem(client, before, op.kind)
    if problem is not None:
        raise UnsupportedError(problem)
    did = before.id
    after = await _call(client, did, op)
    log.info(
        "operation done",
        extra={
            "team": actor.team_id,
            "user": actor.user_id,
            "operation": op.kind.value,
            "provider": client.name,
            "deployment": did,
        },
    )
    if recorder is not None:
        try:
            await recorder.record_change(actor, op, client.name, did)
        except Exception:
            log.warning("recording who made a change failed", exc_info=True)
    return Changed(
        op=op,
        user_id=actor.user_id,
        before=before,
        after=after,
        allowed=client.available_actions(after) if after else frozenset(),
        at=clock(),
    )


async def run_chain(
    actor: Actor,
    chain: Chain,
    resolved: Resolved,
    progress: Progress,
    *,
    recorder: ChangeRecorder | None,
    clock: Callable[[], datetime],
) -> ChainRun:
    """Run the steps in order on ``resolved``, reporting each; stop at the first failure."""
    statuses: list[tuple[str, str]] = [(":white_circle:", "")] * len(chain.steps)
    shown = chain.named(resolved.deployment.name) if resolved.deployment.name else chain
    last: Changed | None = None
    target_id = resolved.deployment.id
    for i, step in enumerate(chain.steps):
        statuses[i] = (":hourglass_flowing_sand:", "running")
        await progress(_run(shown, statuses, last))
        try:
            if step.kind.capability not in resolved.provider.capabilities:
                raise UnsupportedError(
                    f"{resolved.provider.display_name} deployments can't "
                    f"{ability(step.kind.capability)}."
                )
            current = await resolved.provider.get(target_id) if i else resolved.deployment
            changed = await mutate(
                actor,
                step.retarget(resolved.provider.name, target_id),
                Resolved(resolved.provider, current),
                recorder=recorder,
                clock=clock,
            )
        except (ServiceError, ProviderError) as exc:
            statuses[i] = (":x:", escape(message(exc)))
            for j in range(i + 1, len(chain.steps)):
                statuses[j] = (":heavy_minus_sign:", "skipped")
            return _run(shown, statuses, last, failed=True)
        statuses[i] = (":white_check_mark:", "")
        if changed.after is not None:
            last = changed
    return _run(shown, statuses, last)


def _run(
    chain: Chain, statuses: list[tuple[str, str]], last: Changed | None, *, failed: bool = False
) -> ChainRun:
    return ChainRun(
        chain=chain,
        statuses=tuple(statuses),
        after=last.after if last else None,
        allowed=last.allowed if last else frozenset(),
        at=last.at if last else None,
        failed=failed,
    )


async def _call(client: BaseProvider, did: str, op: Operation) -> Deployment | None:
    """The provider call that carries out one change (the deployment after it, if any)."""
    match op.args:
        case Scale(replicas=replicas):
            return await client.scale(did, replicas)
        case Timeout(minutes=minutes):
            return await client.set_timeout(did, minutes)
        case Schedule(cron=cron):
            return await client.set_schedule(did, cron)
        case Rollback(revision=revision):
            return await client.rollback(did, revision)
        case Rename(name=name):
            return await client.rename(did, name)
        case Revise(definition=str(definition)):
            return await client.revise(did, definition)
        case Deposit(amount_usd=Decimal() as amount):
            return await client.deposit(did, amount)
    match op.kind:
        case OpKind.START:
            return await client.start(did)
        case OpKind.STOP:
            return await client.stop(did)
        case OpKind.ARCHIVE:
            return await client.archive(did)
        case OpKind.DELETE:
            await client.delete(did)
            return None
        case OpKind.CLOSE:
            await client.close(did)
            return await _get_or_none(client, did)
    raise ServiceError(f"`{op.describe()}` is not a change deploybot can make.")


def state_problem(client: BaseProvider, before: Deployment, kind: OpKind) -> str | None:
    """Why ``kind`` can't be done to the deployment in its current state (None: it can)."""
    capability = kind.capability
    assert capability is not None
    strategy = before.extras.get("strategy")
    if capability is Capability.SCHEDULE and strategy not in (None, "SCHEDULED"):
        return (
            f"“{before.name or before.id}” has no schedule to change: it runs with the "
            f"{strategy} strategy, and only SCHEDULED deployments run on a cron."
        )
    allowed = client.available_actions(before)
    if capability in allowed:
        return None
    can = sorted(c.value for c in allowed if c.value in _VERBS)
    return (
        f"Can't {verb(kind.value)} “{before.name or before.id}”: it is "
        f"{status_phrase(before, client.display_name)}."
        + (f" It can: {', '.join(can)}." if can else "")
    )


async def _get_or_none(client: BaseProvider, deployment_id: str) -> Deployment | None:
    try:
        return await client.get(deployment_id)
    except ProviderError:
        return None
