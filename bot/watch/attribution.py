"""Who caused a transition: the expected effects of deploybot's operations (pure rules).

A transition the watcher sees is credited to a person only when it is the expected effect of
an operation deploybot executed on that deployment, recently: ``/deploy stop`` explains
``stopping`` and ``stopped``, ``/deploy start`` explains ``pending``, ``starting``,
``running`` (and ``insufficient_funds``, a start the account cannot pay for), ``/deploy
rename`` explains a new name (and no status change at all), and so on. Everything else reads
"changed outside deploybot".

An operation's credit is also *spent* once the deployment was seen, after the operation, in a
state the operation does not explain: stop it through deploybot, start it again from the
provider's dashboard, stop it there a third time — that last stop is not the first one's.

No I/O here: the store keeps :func:`encode_effect`'s text beside each recorded operation, the
poller hands what it observed to :func:`credit`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from bot.core.arguments import Rename, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Operation, OpKind
from bot.providers.models import DeploymentStatus

#: How long after an operation its expected effect is still credited to its author.
WINDOW_SECONDS = 15 * 60

#: Pseudo-status of a deployment that no longer exists (``bot.watch.diff.DELETED``).
_DELETED = "deleted"
_S = DeploymentStatus

#: Operations whose effect is a status: the statuses they lead to.
STATUS_EFFECTS: dict[str, frozenset[str]] = {
    OpKind.STOP.value: frozenset({_S.STOPPING, _S.STOPPED}),
    # (a start the account cannot pay for ends waiting for funds: still the start's effect)
    OpKind.START.value: frozenset({_S.PENDING, _S.STARTING, _S.RUNNING, _S.INSUFFICIENT_FUNDS}),
    OpKind.ARCHIVE.value: frozenset({_S.ARCHIVED}),
    OpKind.DELETE.value: frozenset({_DELETED}),
    OpKind.CLOSE.value: frozenset({_S.CLOSED}),
    OpKind.CREATE.value: frozenset({_S.DRAFT, _S.PENDING, _S.STARTING, _S.RUNNING}),
}

#: Operations whose effect is a field of the deployment: which field.
FIELD_EFFECTS: dict[str, str] = {
    OpKind.SCALE.value: "replicas",
    OpKind.TIMEOUT.value: "timeout",
    OpKind.SCHEDULE.value: "schedule",
    OpKind.REVISE.value: "revision",
    OpKind.ROLLBACK.value: "revision",
    OpKind.RENAME.value: "name",
    OpKind.DEPOSIT.value: "escrow",
}

#: Fields whose expected effect is "grew" rather than "became <value>".
_GROWING = frozenset({"escrow"})


@dataclass(frozen=True)
class Effect:
    """What an operation is expected to change: a status among ``statuses``, or ``field``
    (to ``value`` where the operation says, e.g. the new name or replica count)."""

    kind: str
    statuses: frozenset[str] = frozenset()
    field: str = ""
    value: str = ""


@dataclass(frozen=True)
class Observed:
    """What the watcher saw of a deployment: its status and the fields it tracks."""

    status: str
    fields: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Action:
    """An operation deploybot executed: who, how ("/deploy stop"), its effect, when."""

    user_id: str
    via: str
    effect: Effect
    at: float


def expected_effect(kind: str, value: str = "") -> Effect | None:
    """The effect of an operation of ``kind`` (None: it changes nothing the watcher sees)."""
    statuses = STATUS_EFFECTS.get(kind)
    if statuses is not None:
        return Effect(kind, statuses=statuses)
    field_name = FIELD_EFFECTS.get(kind)
    if field_name is not None:
        return Effect(kind, field=field_name, value="" if field_name in _GROWING else value)
    return None


def effect_of(op: Operation) -> Effect | None:
    """The expected effect of an executed operation."""
    value = ""
    match op.args:
        case Scale(replicas=replicas):
            value = str(replicas)
        case Timeout(minutes=minutes):
            value = str(minutes)
        case Schedule(cron=cron):
            value = cron
        case Rollback(revision=revision):
            value = str(revision)
        case Rename(name=name):
            value = name
    return expected_effect(op.kind.value, value)


def encode_effect(effect: Effect | None) -> str:
    """The effect as stored beside the operation: ``field=value`` for field effects, the
    kind's statuses are implied by the kind (kept with the row)."""
    if effect is None or not effect.field:
        return ""
    return f"{effect.field}={effect.value}"


def decode_effect(kind: str, text: str) -> Effect | None:
    """Inverse of :func:`encode_effect` (with the operation's kind); None for unknown kinds."""
    effect = expected_effect(kind)
    if effect is None or not effect.field:
        return effect
    _, _, value = text.partition("=")
    return Effect(kind, field=effect.field, value="" if effect.field in _GROWING else value)


def _grew(before: str | None, after: str | None) -> bool:
    try:
        return Decimal(after or "") > Decimal(before or "")
    except (InvalidOperation, ValueError):
        return False


def explains(effect: Effect, before: Observed | None, after: Observed) -> bool:
    """Whether going from ``before`` (None: first seen) to ``after`` is ``effect``."""
    if effect.statuses:
        if before is not None and before.status == after.status:
            return False
        return after.status in effect.statuses
    if before is None or before.status != after.status:
        return False  # a field operation never explains a status transition
    old, new = before.fields.get(effect.field), after.fields.get(effect.field)
    if new is None or old == new:
        return False
    if effect.field in _GROWING:
        return _grew(old, new)
    return not effect.value or new == effect.value


def spent(action: Action, before: Observed | None, before_seen_at: float | None) -> bool:
    """Whether the deployment was seen after the operation in a state it does not explain
    (so a later transition is someone else's doing)."""
    if before is None or before_seen_at is None or before_seen_at <= action.at:
        return False
    return before.status not in action.effect.statuses


def credit(
    actions: Iterable[Action],
    before: Observed | None,
    after: Observed,
    *,
    now: float,
    before_seen_at: float | None = None,
    window: float = WINDOW_SECONDS,
) -> Action | None:
    """The operation a change is credited to: the latest one within ``window`` whose expected
    effect the change is and whose credit is not spent; None when nothing explains it."""
    best: Action | None = None
    for action in actions:
        if now - action.at > window:
            continue
        if not explains(action.effect, before, after):
            continue
        if spent(action, before, before_seen_at):
            continue
        if best is None or action.at >= best.at:
            best = action
    return best
