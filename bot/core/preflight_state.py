"""Preflight's model of what an operation leaves behind (pure): the settled state a step leads
to, what it changes (``replicas 2 → 5``) and what the deployment then costs per hour."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.core import fmt
from bot.core.arguments import Deposit, Rename, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Operation, OpKind
from bot.core.preflight_money import usd
from bot.providers.models import Deployment, DeploymentStatus, ProviderName

#: Where an operation leaves a deployment: (the status the provider answers at once, the status
#: it settles in). The next step of a chain runs against the first (chains do not wait for a
#: deployment to settle); the cost is that of the second.
_MOVES_TO: dict[OpKind, tuple[DeploymentStatus, DeploymentStatus]] = {
    OpKind.START: (DeploymentStatus.STARTING, DeploymentStatus.RUNNING),
    OpKind.STOP: (DeploymentStatus.STOPPING, DeploymentStatus.STOPPED),
    OpKind.ARCHIVE: (DeploymentStatus.ARCHIVED, DeploymentStatus.ARCHIVED),
    OpKind.CLOSE: (DeploymentStatus.CLOSED, DeploymentStatus.CLOSED),
}
#: Each provider's own word for a status (``raw_status`` of the simulated state).
_RAW_WORD: dict[ProviderName, dict[DeploymentStatus, str]] = {
    "nosana": {
        DeploymentStatus.STARTING: "STARTING",
        DeploymentStatus.STOPPING: "STOPPING",
        DeploymentStatus.ARCHIVED: "ARCHIVED",
    },
    "neuranet": {
        DeploymentStatus.STARTING: "starting",
        DeploymentStatus.STOPPING: "stopping",
    },
    "akash": {DeploymentStatus.CLOSED: "closed"},
}
#: Statuses in which a deployment is paid for by the hour.
SPENDING = frozenset(
    {
        DeploymentStatus.PENDING,
        DeploymentStatus.STARTING,
        DeploymentStatus.RUNNING,
        DeploymentStatus.STOPPING,
    }
)


@dataclass(frozen=True, slots=True)
class Change:
    """One value the operation changes: ``replicas 2 → 5``, ``status stopped → running``."""

    field: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.field} {self.before} → {self.after}"


@dataclass(slots=True)
class Step:
    """What one step does to the simulated deployment."""

    changes: list[Change] = field(default_factory=list)
    after: Deployment | None = None


def deployment_name(deployment: Deployment) -> str:
    return deployment.name or deployment.id


def status_words(deployment: Deployment) -> str:
    return deployment.status.value.replace("_", " ")


_PHRASES = {
    DeploymentStatus.DRAFT: "a draft",
    DeploymentStatus.INSUFFICIENT_FUNDS: "out of funds",
    DeploymentStatus.UNKNOWN: "in a state deploybot does not know",
}


def state_words(deployment: Deployment) -> str:
    """``a draft``, ``running``, ``out of funds``: the status as words after "it is"."""
    return _PHRASES.get(deployment.status, status_words(deployment))


def status_phrase(deployment: Deployment, provider: str) -> str:
    """What follows "it is" in a sentence: ``a draft on Nosana``, ``running on Akash (active)``
    — the provider's own word only when it says something the status doesn't."""
    words = state_words(deployment)
    raw = deployment.raw_status.strip()
    same = _plain(raw) in (_plain(deployment.status.value), "")
    return f"{words} on {provider}" + ("" if same else f" ({raw[:60]})")


def _plain(word: str) -> str:
    return "".join(c for c in word.lower() if c.isalnum())


# -- the expected state ---------------------------------------------------------------------------


def _dec(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def running_cost(deployment: Deployment) -> Decimal | None:
    """What the deployment costs per hour while it runs (None: unknown)."""
    extras = deployment.extras
    for key in ("cost_when_running_per_hour_usd", "node_hourly_rate_usd"):
        value = _dec(extras.get(key))
        if value is not None:
            return value
    return deployment.cost_per_hour_usd if deployment.status in SPENDING else None


def _per_replica(deployment: Deployment) -> Decimal | None:
    price = _dec(deployment.extras.get("price_per_replica_hour_usd"))
    if price is not None:
        return price
    full = running_cost(deployment)
    return full / deployment.replicas if full is not None and deployment.replicas else None


def simulate(op: Operation, before: Deployment, provider: ProviderName) -> Step:
    step = Step()
    moves = _MOVES_TO.get(op.kind)
    update: dict[str, Any] = {}
    extras = dict(before.extras)
    if op.kind is OpKind.DELETE:
        step.changes.append(Change("deployment", deployment_name(before), "deleted"))
        return step
    if moves is not None:
        update |= _move(before, moves, provider, extras)
        step.changes.append(Change("status", status_words(before), moves[1].value))
    change = _EDITS.get(op.kind)
    if change is not None:
        step.changes.append(change(op, before, update, extras))
    step.after = before.model_copy(update={**update, "extras": extras})
    return step


def _move(
    before: Deployment,
    moves: tuple[DeploymentStatus, DeploymentStatus],
    provider: ProviderName,
    extras: dict[str, Any],
) -> dict[str, Any]:
    status, settled = moves
    raw = _RAW_WORD[provider].get(status, status.value)
    if status is DeploymentStatus.CLOSED:
        extras["state"] = "closed"
    if settled in SPENDING:
        cost = running_cost(before)
    else:
        cost = Decimal(0) if before.cost_per_hour_usd is not None else None
    return {"status": status, "raw_status": raw, "cost_per_hour_usd": cost}


def _edit_replicas(
    op: Operation, before: Deployment, update: dict[str, Any], extras: dict[str, Any]
) -> Change:
    replicas = op.typed(Scale).replicas or 0
    update["replicas"] = replicas
    each = _per_replica(before)
    if each is not None:
        extras["cost_when_running_per_hour_usd"] = str(each * replicas)
        if before.status in SPENDING:
            update["cost_per_hour_usd"] = each * replicas
    current = "?" if before.replicas is None else str(before.replicas)
    return Change("replicas", current, str(replicas))


def _edit_timeout(
    op: Operation, before: Deployment, update: dict[str, Any], extras: dict[str, Any]
) -> Change:
    current = before.extras.get("timeout_minutes")
    extras["timeout_minutes"] = op.typed(Timeout).minutes
    return Change(
        "timeout",
        "?" if current is None else fmt.minutes(int(current)),
        fmt.minutes(op.typed(Timeout).minutes),
    )


def _edit_schedule(
    op: Operation, before: Deployment, update: dict[str, Any], extras: dict[str, Any]
) -> Change:
    cron = " ".join((op.typed(Schedule).cron or "").split())
    current = before.extras.get("schedule")
    extras["schedule"] = cron
    return Change("schedule", f"`{current}`" if current else "none", f"`{cron}`")


def _edit_name(
    op: Operation, before: Deployment, update: dict[str, Any], extras: dict[str, Any]
) -> Change:
    update["name"] = (op.typed(Rename).name or "").strip()
    return Change("name", before.name, update["name"])


def _edit_revision(
    op: Operation, before: Deployment, update: dict[str, Any], extras: dict[str, Any]
) -> Change:
    current = before.active_revision
    new = op.typed(Rollback).revision if op.kind is OpKind.ROLLBACK else (current or 0) + 1
    update["active_revision"] = new
    return Change("revision", "?" if current is None else str(current), str(new))


def _edit_escrow(
    op: Operation, before: Deployment, update: dict[str, Any], extras: dict[str, Any]
) -> Change:
    funds = _dec(before.extras.get("escrow_funds_usd"))
    amount = op.typed(Deposit).amount_usd or Decimal(0)
    if funds is None:
        return Change("escrow", "?", f"+{usd(amount)}")
    extras["escrow_funds_usd"] = str(funds + amount)
    return Change("escrow", usd(funds), usd(funds + amount))


_Edit = Callable[[Operation, Deployment, dict[str, Any], dict[str, Any]], Change]
_EDITS: dict[OpKind, _Edit] = {
    OpKind.SCALE: _edit_replicas,
    OpKind.TIMEOUT: _edit_timeout,
    OpKind.SCHEDULE: _edit_schedule,
    OpKind.RENAME: _edit_name,
    OpKind.ROLLBACK: _edit_revision,
    OpKind.REVISE: _edit_revision,
    OpKind.DEPOSIT: _edit_escrow,
}
