"""Preflight: refuse doomed operations before anyone is asked to approve them (pure, no I/O).

``preflight(facts)`` answers, for one operation or a chain of them on one deployment: can the
provider do this from the deployment's current state, does the input pass the limits the
provider enforces, and can the account pay for it. It returns :class:`Cleared` (what will
change, the cost per hour before → after, warnings such as "the credits run out at 14:00") or
:class:`Refused` (one line naming the state and what can be done instead).

The facts come from ``bot.services.preflight.gather`` (at most one provider read). Creating a
deployment and accepting Akash bids have their own entry points in
``bot.core.preflight_create``; the money rules they share live in ``bot.core.preflight_money``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.core import budget
from bot.core.arguments import Deposit, Rename, Revise, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Chain, Operation, OpKind
from bot.core.parsing import MAX_REPLICAS
from bot.core.preflight_money import (
    Account,
    CostChange,
    akash_deposit,
    spend_check,
)
from bot.core.preflight_state import (
    SPENDING,
    Change,
    Step,
    deployment_name,
    simulate,
    state_words,
    status_phrase,
)
from bot.providers.models import Capability, Deployment, DeploymentStatus, ProviderName
from bot.providers.nosana_jobdef import cron_problem

__all__ = [
    "Account",
    "Change",
    "Cleared",
    "CostChange",
    "Facts",
    "Outcome",
    "Refused",
    "preflight",
]

#: Nosana's update-timeout floor (spec nosana.md §4.1: ``timeout ≥ 60`` minutes).
NOSANA_MIN_TIMEOUT = 60
#: The longest timeout deploybot lets anyone set (30 days, as in the create form).
MAX_TIMEOUT = 60 * 24 * 30
#: Lifecycle verbs, in the order a reason lists them ("it can start, archive, delete.").
_LIFECYCLE = (
    Capability.START,
    Capability.STOP,
    Capability.ARCHIVE,
    Capability.DELETE,
    Capability.CLOSE,
    Capability.DEPOSIT,
)
#: States in which an operation is "already done" (or under way).
_ALREADY: dict[OpKind, frozenset[DeploymentStatus]] = {
    OpKind.START: frozenset(
        {DeploymentStatus.RUNNING, DeploymentStatus.STARTING, DeploymentStatus.PENDING}
    ),
    OpKind.STOP: frozenset({DeploymentStatus.STOPPED, DeploymentStatus.STOPPING}),
    OpKind.ARCHIVE: frozenset({DeploymentStatus.ARCHIVED}),
    OpKind.CLOSE: frozenset({DeploymentStatus.CLOSED}),
}


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything preflight looks at; gathered by ``bot.services.preflight.gather``."""

    op: Operation | Chain
    provider: ProviderName
    display_name: str
    deployment: Deployment | None
    #: What the provider can do at all, and what it can do to this deployment now.
    capabilities: frozenset[Capability]
    allowed: frozenset[Capability]
    now: datetime
    #: What the account can pay (None: not read, or the read failed; see ``notes``).
    account: Account | None = None
    #: The provider's own rule for what a deployment in a given state allows (pure); used
    #: to check the later steps of a chain against the state the earlier steps leave.
    actions_of: Callable[[Deployment], frozenset[Capability]] | None = None
    #: What is wrong with a revision's definition (checked locally by the provider client).
    definition_problem: str | None = None
    #: Things the gathering could not check ("The balance was not checked: …").
    notes: tuple[str, ...] = ()
    #: The budget of the deployment's provider and workspace (None: no caps apply).
    budget: budget.BudgetFacts | None = None


@dataclass(frozen=True, slots=True)
class Cleared:
    """The operation can go ahead (to the policy decision): what it changes and costs."""

    changes: tuple[Change, ...] = ()
    cost: CostChange | None = None
    warnings: tuple[str, ...] = ()
    #: The deployment as the provider answers right after (STARTING after a start, with the
    #: new replicas …; its cost is the settled one). None: deleted, or no deployment.
    after: Deployment | None = None
    #: Why it goes over a budget cap, when it was asked for ``--over-budget`` (it then needs
    #: approval whatever the policy says); None: within budget.
    over_budget: str | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    """The operation cannot succeed: one line saying why and what to do instead."""

    reason: str


Outcome = Cleared | Refused


# -- the entry point ------------------------------------------------------------------------------


def preflight(facts: Facts) -> Outcome:
    """Check every step of ``facts.op`` against the state the previous step leaves, then the
    money for the whole; the first problem refuses the lot."""
    steps = facts.op.steps if isinstance(facts.op, Chain) else (facts.op,)
    current = facts.deployment
    allowed: frozenset[Capability] | None = facts.allowed
    changes: list[Change] = []
    warnings: list[str] = []
    for number, op in enumerate(steps, 1):
        if number > 1:
            allowed = facts.actions_of(current) if facts.actions_of and current else None
        outcome = _check_step(op, current, allowed, facts)
        if isinstance(outcome, Refused):
            if len(steps) == 1:
                return outcome
            name = (facts.deployment.name if facts.deployment else None) or op.target
            step = op.model_copy(update={"target": name}).describe()
            return Refused(f"Step {number} ({step}): {outcome.reason}")
        changes += outcome.changes
        current = outcome.after
    cost = _cost_change(facts.deployment, current)
    money = _money(facts, steps, cost, current)
    if isinstance(money, Refused):
        return money
    warnings += money
    over = _over_budget(facts, steps, current)
    if isinstance(over, Refused):
        return over
    return Cleared(
        changes=tuple(changes),
        cost=cost,
        warnings=tuple(dict.fromkeys(warnings)),
        after=current,
        over_budget=over,
    )


def _check_step(
    op: Operation,
    deployment: Deployment | None,
    allowed: frozenset[Capability] | None,
    facts: Facts,
) -> Step | Refused:
    capability = op.kind.capability
    if capability is None or capability in _READS:
        return Step(after=deployment)
    if capability not in facts.capabilities:
        return Refused(f"{facts.display_name} cannot {_ability(op.kind)}{_what_it_can(facts)}")
    if deployment is None:
        if isinstance(facts.op, Chain):
            return Refused(
                f"There is no deployment to {op.kind.value}: an earlier step deletes it."
            )
        return Refused(f"Name the deployment to {op.kind.value} (`/deploy list` shows them).")
    problem = _state_problem(op, deployment, allowed, facts.display_name)
    if problem is None:
        problem = _input_problem(op, deployment, facts)
    if problem is not None:
        return Refused(problem)
    return simulate(op, deployment, facts.provider)


_READS = frozenset(
    {
        Capability.LOGS,
        Capability.EVENTS,
        Capability.JOBS,
        Capability.BALANCE,
        Capability.MARKETS,
        Capability.NODES,
        Capability.BIDS,
    }
)


# -- state ----------------------------------------------------------------------------------------


def _ability(kind: OpKind) -> str:
    """What a provider lacks: "scale deployments", "take deposits"."""
    return {
        OpKind.TIMEOUT: "change timeouts",
        OpKind.SCHEDULE: "change schedules",
        OpKind.REVISE: "publish revisions",
        OpKind.ROLLBACK: "roll deployments back",
        OpKind.RENAME: "rename deployments",
        OpKind.DEPOSIT: "take deposits",
    }.get(kind, f"{kind.value} deployments")


def _what_it_can(facts: Facts) -> str:
    can = [c.value for c in _LIFECYCLE if c in facts.capabilities]
    return f": it can {', '.join(can)}." if can else "."


def _state_problem(
    op: Operation,
    deployment: Deployment,
    allowed: frozenset[Capability] | None,
    display: str,
) -> str | None:
    """Why the provider would refuse ``op`` in the deployment's state (None: it would not)."""
    capability = op.kind.capability
    strategy = deployment.extras.get("strategy")
    if capability is Capability.SCHEDULE and strategy not in (None, "SCHEDULED"):
        return (
            f"{deployment_name(deployment)} has no schedule to change: it runs with the {strategy} "
            "strategy, and only SCHEDULED deployments run on a cron."
        )
    if allowed is None or capability in allowed:
        return None
    can = [c.value for c in _LIFECYCLE if c in allowed and c is not capability]
    if can:
        instead = f"it can {', '.join(can)}."
    elif deployment.status.is_terminal:
        instead = "there is nothing left to do with it."
    else:
        instead = f"wait until it is no longer {state_words(deployment)}."
    phrase = status_phrase(deployment, display)
    if deployment.status in _ALREADY.get(op.kind, frozenset()):
        who = deployment_name(deployment)
        return f"{who} is already {phrase}: {instead}"
    if op.kind is OpKind.DEPOSIT:
        return (
            f"{deployment_name(deployment)} is {phrase}: deposits go "
            f"only into an open deployment; {instead}"
        )
    return (
        f"{deployment_name(deployment)} is {phrase}, so "
        f"`{op.kind.value}` is not possible now: {instead}"
    )


# -- input limits ---------------------------------------------------------------------------------


def _input_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    check = _INPUT_CHECKS.get(op.kind)
    return check(op, deployment, facts) if check else None


def _replicas_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    wanted = op.typed(Scale).replicas
    if wanted is None:
        return "Say how many replicas, e.g. `scale 3`."
    if wanted < 0 or wanted > MAX_REPLICAS:
        return f"Replicas must be between 0 and {MAX_REPLICAS} (got {wanted})."
    if wanted == deployment.replicas:
        return f"{deployment_name(deployment)} already has {wanted} replicas: nothing to change."
    return None


def _timeout_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    minutes = op.typed(Timeout).minutes
    if minutes is None:
        return "Say the new timeout in minutes, e.g. `timeout 90`."
    floor = NOSANA_MIN_TIMEOUT if facts.provider == "nosana" else 1
    if minutes < floor:
        return f"{facts.display_name} needs a timeout of at least {floor} minutes (got {minutes})."
    if minutes > MAX_TIMEOUT:
        return f"A timeout can be at most {MAX_TIMEOUT} minutes (30 days); got {minutes}."
    if minutes == deployment.extras.get("timeout_minutes"):
        who = deployment_name(deployment)
        return f"{who} already has a {minutes}-minute timeout: nothing to change."
    return None


def _schedule_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    problem = cron_problem(op.typed(Schedule).cron)
    if problem:
        return f"The schedule {problem}."
    cron = op.typed(Schedule).cron
    if " ".join((cron or "").split()) == deployment.extras.get("schedule"):
        return f"{deployment_name(deployment)} already runs on `{cron}`: nothing to change."
    return None


def _rename_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    name = (op.typed(Rename).name or "").strip()
    if not name:
        return "Give the new name, e.g. `rename llama-prod`."
    if name == deployment.name:
        return f"{deployment_name(deployment)} already has that name: nothing to change."
    return None


def _rollback_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    revision = op.typed(Rollback).revision
    if revision is None or revision < 1:
        return "Say which revision to roll back to (1 or more)."
    if revision == deployment.active_revision:
        return f"{deployment_name(deployment)} already runs revision {revision}: nothing to change."
    return None


def _revise_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    if not (op.typed(Revise).definition or "").strip():
        return "A revision needs the new definition."
    if facts.definition_problem:
        return f"The new revision is not valid: {facts.definition_problem}"
    return None


def _deposit_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    amount = op.typed(Deposit).amount_usd
    if amount is None or amount <= 0:
        return "A deposit is a positive amount of US dollars, e.g. `deposit 5`."
    exponent = amount.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -6:
        return f"A deposit can have at most 6 decimal places (got {amount})."
    return None


def _start_problem(op: Operation, deployment: Deployment, facts: Facts) -> str | None:
    node_status = deployment.extras.get("node_status")
    if node_status in (None, "online"):
        return None
    node = deployment.extras.get("node_name") or deployment.extras.get("node_id") or "its node"
    return (
        f"{deployment_name(deployment)} runs on {node}, which is {node_status}: it cannot start "
        "there; create a new deployment on an online node (`/deploy nodes` lists them)."
    )


_InputCheck = Callable[[Operation, Deployment, Facts], str | None]
_INPUT_CHECKS: dict[OpKind, _InputCheck] = {
    OpKind.START: _start_problem,
    OpKind.SCALE: _replicas_problem,
    OpKind.TIMEOUT: _timeout_problem,
    OpKind.SCHEDULE: _schedule_problem,
    OpKind.RENAME: _rename_problem,
    OpKind.ROLLBACK: _rollback_problem,
    OpKind.REVISE: _revise_problem,
    OpKind.DEPOSIT: _deposit_problem,
}


# -- money ----------------------------------------------------------------------------------------


def _cost_change(before: Deployment | None, after: Deployment | None) -> CostChange | None:
    if before is None:
        return None
    old = before.cost_per_hour_usd
    if after is None:  # deleted
        new: Decimal | None = Decimal(0) if old is not None else None
    else:
        new = after.cost_per_hour_usd
    if old is None and new is None:
        return None
    return CostChange(before_per_hour=old, after_per_hour=new)


def spends(op: Operation, before: Deployment | None) -> bool:
    """Does this step commit money: a start, a deposit, or scaling up / raising the timeout
    of a deployment that is running (a stopped one pays nothing until it starts)?"""
    if op.kind in (OpKind.START, OpKind.DEPOSIT):
        return True
    if before is None or before.status not in SPENDING:
        return False
    if op.kind is OpKind.SCALE:
        return (op.typed(Scale).replicas or 0) > (before.replicas or 0)
    if op.kind is OpKind.TIMEOUT:
        current = before.extras.get("timeout_minutes")
        return not isinstance(current, int) or (op.typed(Timeout).minutes or 0) > current
    return False


def run_hours(deployment: Deployment | None) -> Decimal | None:
    """How long one run lasts when it ends by itself (a Nosana SIMPLE job ends at its timeout;
    other strategies keep running while the money lasts): None when it does not end."""
    if deployment is None or deployment.extras.get("strategy") != "SIMPLE":
        return None
    minutes = deployment.extras.get("timeout_minutes")
    return Decimal(minutes) / 60 if isinstance(minutes, int) and minutes > 0 else None


def _money(
    facts: Facts,
    steps: tuple[Operation, ...],
    cost: CostChange | None,
    after: Deployment | None,
) -> list[str] | Refused:
    spending = [op for op in steps if spends(op, facts.deployment)]
    if not spending:
        return []
    warnings = list(facts.notes)
    deposits = [
        op.typed(Deposit).amount_usd or Decimal(0) for op in spending if op.kind is OpKind.DEPOSIT
    ]
    if deposits and facts.deployment is not None:
        outcome = akash_deposit(
            sum(deposits, Decimal(0)), facts.deployment, after, facts.account, facts.now
        )
        if isinstance(outcome, str):
            return Refused(outcome)
        return warnings + outcome
    if len(spending) == len(deposits):
        return warnings
    what = " and ".join(op.describe() for op in spending if op.kind is not OpKind.DEPOSIT)
    outcome = spend_check(
        what, cost, facts.account, facts.now, facts.display_name, run_hours=run_hours(after)
    )
    if isinstance(outcome, str):
        return Refused(outcome)
    return warnings + outcome


def _burn(deployment: Deployment | None) -> Decimal:
    """What a deployment costs per hour now (0 when it does not run, or nobody says)."""
    if deployment is None or deployment.status not in SPENDING:
        return Decimal(0)
    return deployment.cost_per_hour_usd or Decimal(0)


def _over_budget(
    facts: Facts, steps: tuple[Operation, ...], after: Deployment | None
) -> str | Refused | None:
    """Would these steps push the burn or a period's projected spend over a budget cap? A
    refusal with the numbers; with ``--over-budget``, the numbers (for the approvers)."""
    spending = [op for op in steps if spends(op, facts.deployment)]
    if facts.budget is None or not spending:
        return None
    lump = sum(
        (
            op.typed(Deposit).amount_usd or Decimal(0)
            for op in spending
            if op.kind is OpKind.DEPOSIT
        ),
        Decimal(0),
    )
    spend = budget.Spend(
        per_hour=max(Decimal(0), _burn(after) - _burn(facts.deployment)), lump=lump
    )
    name = deployment_name(facts.deployment) if facts.deployment else None
    named = spending if len(steps) == 1 else list(steps)  # a chain: all it does
    what = ", then ".join(op.model_copy(update={"target": name}).describe() for op in named)
    problem = budget.check(facts.budget, spend, what)
    if problem is None:
        return None
    if facts.op.over_budget:
        return problem
    return Refused(f"{problem} {budget.OVERRIDE_HINT}")


def describe_changes(changes: tuple[Change, ...] | list[Change]) -> str:
    """``replicas 2 → 5; status stopped → running`` (for approval requests and replies)."""
    return "; ".join(str(change) for change in changes)
