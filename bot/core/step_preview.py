"""What each step of an operation (or a chain of them) changes, current → new (pure).

A :class:`Snapshot` holds what approvers compare: replicas, the cost per hour now and while
running, timeout, schedule, name, revision, escrow. :func:`after` gives the snapshot a step
leaves behind, so the next step of a chain is compared against the deployment *as the previous
steps leave it* (``start, timeout 90``: the cost goes 0 → running, then "timeout 60 → 90 min").
Text is mrkdwn: every user- or provider-supplied part is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core import fmt
from bot.core.arguments import Deposit, Rename, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Operation, OpKind
from bot.core.render import escape
from bot.providers.models import Deployment, DeploymentStatus

#: Statuses in which a deployment is paid for (it holds a GPU, a node or a lease).
SPENDING = frozenset(
    {
        DeploymentStatus.PENDING,
        DeploymentStatus.STARTING,
        DeploymentStatus.RUNNING,
        DeploymentStatus.STOPPING,
    }
)
ENDING = frozenset({OpKind.STOP, OpKind.CLOSE, OpKind.DELETE, OpKind.ARCHIVE})
NOT_SET = "(not set)"


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


@dataclass(frozen=True)
class Snapshot:
    """The facts of a deployment that operations change (None: the provider doesn't say)."""

    name: str | None = None
    running: bool | None = None
    replicas: int | None = None
    #: What it costs now, USD per hour.
    cost_now: Decimal | None = None
    #: What it costs while running (all replicas), USD per hour.
    cost_running: Decimal | None = None
    #: What one replica costs while running, USD per hour.
    per_replica: Decimal | None = None
    timeout: int | None = None
    schedule: str | None = None
    revision: int | None = None
    escrow: Decimal | None = None

    @classmethod
    def of(cls, deployment: Deployment) -> Snapshot:
        extras = deployment.extras
        running: bool | None = deployment.status in SPENDING
        if deployment.status is DeploymentStatus.UNKNOWN:
            running = None
        cost_running = _decimal(extras.get("cost_when_running_per_hour_usd")) or _decimal(
            extras.get("node_hourly_rate_usd")
        )
        if cost_running is None and running:
            cost_running = deployment.cost_per_hour_usd
        per_replica = _decimal(extras.get("price_per_replica_hour_usd"))
        if per_replica is None and cost_running is not None and deployment.replicas:
            per_replica = cost_running / deployment.replicas
        return cls(
            name=deployment.name or None,
            running=running,
            replicas=deployment.replicas,
            cost_now=deployment.cost_per_hour_usd,
            cost_running=cost_running,
            per_replica=per_replica,
            timeout=_int(extras.get("timeout_minutes")),
            schedule=str(extras["schedule"]) if extras.get("schedule") else None,
            revision=deployment.active_revision,
            escrow=_decimal(extras.get("escrow_funds_usd")),
        )


def per_hour(value: Decimal | None) -> str:
    """``$0.77/h``, ``$0.385/h`` (:mod:`bot.core.fmt`'s rules), ``unknown``."""
    return fmt.per_hour(value, unknown="unknown")


def _cost(before: Decimal | None, after: Decimal | None, what: str = "cost") -> str:
    if before is None and after is None:
        return ""
    return f"; {what} {per_hour(before)} → {per_hour(after)}"


def _value(value: object, unit: str = "") -> str:
    return NOT_SET if value is None else f"{escape(value)}{unit}"


# -- one function per kind: (operation, snapshot) → text


def _scale(op: Operation, snap: Snapshot) -> str:
    new = op.typed(Scale).replicas or 0
    text = f"scale: replicas {_value(snap.replicas)} → {new}"
    after_running = snap.per_replica * new if snap.per_replica is not None else None
    if snap.running is False:
        before_running = snap.cost_running
        return text + _cost(before_running, after_running, "cost while running")
    before = snap.cost_now if snap.cost_now is not None else snap.cost_running
    if new == 0 and before is not None:
        after_running = Decimal(0)
    return text + _cost(before, after_running)


def _timeout(op: Operation, snap: Snapshot) -> str:
    current = NOT_SET if snap.timeout is None else fmt.minutes(int(snap.timeout))
    return f"timeout {current} → {fmt.minutes(op.typed(Timeout).minutes)}"


def _schedule(op: Operation, snap: Snapshot) -> str:
    current = f"`{escape(snap.schedule)}`" if snap.schedule else NOT_SET
    return f"schedule {current} → `{escape(op.typed(Schedule).cron or '')}`"


def _ending(op: Operation, snap: Snapshot) -> str:
    cost = snap.cost_now
    if cost is None and snap.running is False:
        cost = Decimal(0)
    return op.kind.value + _cost(cost, Decimal(0) if cost is not None else None)


def _start(op: Operation, snap: Snapshot) -> str:
    if snap.running:
        return "start (it is running already)" + _cost(snap.cost_now, snap.cost_now)
    now = snap.cost_now if snap.cost_now is not None else Decimal(0)
    return "start" + _cost(now, snap.cost_running)


def _deposit(op: Operation, snap: Snapshot) -> str:
    amount = op.typed(Deposit).amount_usd
    text = f"add {fmt.usd(amount)} to the escrow"
    if snap.escrow is not None and amount is not None:
        text += f" (escrow {fmt.usd(snap.escrow)} → {fmt.usd(snap.escrow + amount)})"
    return text


def _rollback(op: Operation, snap: Snapshot) -> str:
    return f"roll back: revision {_value(snap.revision)} → {op.typed(Rollback).revision}"


def _rename(op: Operation, snap: Snapshot) -> str:
    current = f"“{escape(snap.name)}”" if snap.name else NOT_SET
    return f"rename {current} → “{escape(op.typed(Rename).name or '')}”"


def _revise(op: Operation, snap: Snapshot) -> str:
    if snap.revision is None:
        return "publish a new revision"
    return f"publish a new revision (revision {snap.revision} → {snap.revision + 1})"


_TEXT: dict[OpKind, Callable[[Operation, Snapshot], str]] = {
    OpKind.SCALE: _scale,
    OpKind.TIMEOUT: _timeout,
    OpKind.SCHEDULE: _schedule,
    OpKind.START: _start,
    OpKind.DEPOSIT: _deposit,
    OpKind.ROLLBACK: _rollback,
    OpKind.RENAME: _rename,
    OpKind.REVISE: _revise,
    **dict.fromkeys(ENDING, _ending),
}

#: Without a deployment to compare with: what is asked, in words.
_BLIND: dict[OpKind, Callable[[Operation], str]] = {
    OpKind.SCALE: lambda op: f"scale to {op.typed(Scale).replicas} replicas",
    OpKind.TIMEOUT: lambda op: f"set the timeout to {fmt.minutes(op.typed(Timeout).minutes)}",
    OpKind.SCHEDULE: lambda op: f"schedule → `{escape(op.typed(Schedule).cron or '')}`",
    OpKind.START: lambda op: "start",
    OpKind.DEPOSIT: lambda op: f"add {fmt.usd(op.typed(Deposit).amount_usd)} to the escrow",
    OpKind.ROLLBACK: lambda op: f"roll back to revision {op.typed(Rollback).revision}",
    OpKind.RENAME: lambda op: f"rename to “{escape(op.typed(Rename).name or '')}”",
    OpKind.REVISE: lambda op: "publish a new revision",
    **{kind: (lambda op: op.kind.value) for kind in ENDING},
}


def change_text(op: Operation, snap: Snapshot | None) -> str:
    """What one operation changes, current → new (mrkdwn)."""
    if snap is not None and op.kind in _TEXT:
        return _TEXT[op.kind](op, snap)
    if op.kind in _BLIND:
        return _BLIND[op.kind](op)
    return escape(op.describe())


def _scaled(op: Operation, snap: Snapshot) -> Snapshot:
    replicas = op.typed(Scale).replicas or 0
    running_cost = snap.per_replica * replicas if snap.per_replica is not None else None
    if replicas == 0 and running_cost is None and snap.cost_running is not None:
        running_cost = Decimal(0)
    now = running_cost if snap.running else snap.cost_now
    return replace(snap, replicas=replicas, cost_running=running_cost, cost_now=now)


def _ended(op: Operation, snap: Snapshot) -> Snapshot:
    known = snap.cost_now is not None or snap.cost_running is not None
    return replace(snap, running=False, cost_now=Decimal(0) if known else None)


def _revised(op: Operation, snap: Snapshot) -> Snapshot:
    return replace(snap, revision=None if snap.revision is None else snap.revision + 1)


def _deposited(op: Operation, snap: Snapshot) -> Snapshot:
    amount = op.typed(Deposit).amount_usd
    if snap.escrow is None or amount is None:
        return snap
    return replace(snap, escrow=snap.escrow + amount)


_AFTER: dict[OpKind, Callable[[Operation, Snapshot], Snapshot]] = {
    OpKind.START: lambda op, s: replace(s, running=True, cost_now=s.cost_running),
    OpKind.SCALE: _scaled,
    OpKind.TIMEOUT: lambda op, s: replace(s, timeout=op.typed(Timeout).minutes),
    OpKind.SCHEDULE: lambda op, s: replace(s, schedule=op.typed(Schedule).cron),
    OpKind.RENAME: lambda op, s: replace(s, name=op.typed(Rename).name),
    OpKind.ROLLBACK: lambda op, s: replace(s, revision=op.typed(Rollback).revision),
    OpKind.REVISE: _revised,
    OpKind.DEPOSIT: _deposited,
    **dict.fromkeys(ENDING, _ended),
}


def after(op: Operation, snap: Snapshot) -> Snapshot:
    """The snapshot once ``op`` has run (unchanged for operations that change nothing here)."""
    step = _AFTER.get(op.kind)
    return step(op, snap) if step is not None else snap


def chain_texts(steps: tuple[Operation, ...], before: Deployment | None) -> list[str]:
    """Each step's change, compared with the deployment as the previous steps leave it."""
    snap = Snapshot.of(before) if before is not None else None
    texts: list[str] = []
    for step in steps:
        texts.append(change_text(step, snap))
        if snap is not None:
            snap = after(step, snap)
    return texts


__all__ = ["NOT_SET", "Snapshot", "after", "chain_texts", "change_text", "per_hour"]
