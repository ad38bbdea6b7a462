"""``/deploy …`` text → Operation, Chain or Usage: the verb table and chains of steps.

Pure: no I/O, never raises on any input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

from bot.core.arguments import args_for
from bot.core.operations import Chain, Operation, OpKind, Usage
from bot.core.parsing import values, verbs
from bot.core.parsing.budget import p_budget
from bot.core.parsing.create import p_create, p_template
from bot.core.parsing.governance import p_approvals, p_decide, p_governance
from bot.core.parsing.problem import Problem
from bot.core.parsing.timers import p_digest, p_stop, p_timers
from bot.core.parsing.watch import p_watch
from bot.core.parsing.words import (
    did_you_mean,
    known_verbs,
    pop_flag,
    pop_provider,
    pop_reason,
    tokens,
    verb_of,
)
from bot.core.registry import CHAINABLE, MUTATIONS, Area, in_area
from bot.providers.models import ProviderName

#: Verbs that take a deployment first; only these can be steps of a chain.
STEP_VERBS = CHAINABLE
_GOVERNANCE = in_area(Area.GOVERNANCE)

Result = Operation | Chain | Usage

PARSERS: dict[OpKind, verbs.Parser] = {
    OpKind.CREATE: p_create,
    OpKind.TEMPLATE: p_template,
    OpKind.BIDS: verbs.p_target,
    OpKind.HELP: verbs.p_help,
    OpKind.PROVIDERS: verbs.p_plain,
    OpKind.CONNECT: verbs.p_provider_required,
    OpKind.DISCONNECT: verbs.p_provider_required,
    OpKind.LIST: verbs.p_list,
    OpKind.BALANCE: verbs.p_balance,
    OpKind.SHOW: verbs.p_target,
    OpKind.START: verbs.p_target,
    OpKind.STOP: p_stop,
    OpKind.ARCHIVE: verbs.p_target,
    OpKind.DELETE: verbs.p_target,
    OpKind.CLOSE: verbs.p_target,
    OpKind.REVISE: verbs.p_target,
    OpKind.EVENTS: verbs.p_target,
    OpKind.JOBS: verbs.p_target,
    OpKind.SCALE: verbs.p_scale,
    OpKind.TIMEOUT: verbs.p_timeout,
    OpKind.SCHEDULE: verbs.p_schedule,
    OpKind.ROLLBACK: verbs.p_rollback,
    OpKind.RENAME: verbs.p_rename,
    OpKind.LOGS: verbs.p_logs,
    OpKind.DEPOSIT: verbs.p_deposit,
    OpKind.MARKETS: verbs.p_markets,
    OpKind.NODES: verbs.p_markets,
    OpKind.ROLE: p_governance,
    OpKind.ROLES: p_governance,
    OpKind.POLICY: p_governance,
    OpKind.AUDIT: p_governance,
    OpKind.APPROVALS: p_approvals,
    OpKind.APPROVE: p_decide,
    OpKind.DENY: p_decide,
    OpKind.CANCEL: p_decide,
    OpKind.WATCH: p_watch,
    OpKind.UNWATCH: p_watch,
    OpKind.WATCHING: p_watch,
    OpKind.TIMERS: p_timers,
    OpKind.DIGEST: p_digest,
    OpKind.BUDGET: p_budget,
}


def parse(text: str, *, now: datetime | None = None) -> Result:
    """Parse the text after ``/deploy``. Anything unparseable becomes a :class:`Usage`.

    Results are immutable; those that don't depend on the time (no ``--since``) are cached,
    since the same few commands arrive over and over and this runs before Slack's ack.
    """
    if now is None and len(text) <= 200 and "since" not in text:
        return _parse_cached(text)
    return _parse_now(text, now)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Result:
    return _parse_now(text, None)


def _parse_now(text: str, now: datetime | None) -> Result:
    now = now or datetime.now(UTC)
    try:
        return _parse(text, now)
    except Problem as problem:
        return Usage(problem=problem.problem, topic=problem.topic)


def _parse(text: str, now: datetime) -> Result:
    words = tokens(text)
    provider = pop_provider(words)
    reason = pop_reason(words)
    over_budget = pop_flag(words, "--over-budget")
    if not words:
        return Operation(args=args_for(OpKind.HELP))
    verb = verb_of(words[0])
    result: Operation | Chain
    if verb is None:
        result = _chain(words, provider, now)
    else:
        if "," in words and verb not in _GOVERNANCE:
            raise Problem(
                "To run several steps, name the deployment first: "
                "/deploy <deployment> start, scale 3, timeout 120"
            )
        result = _operation(verb, words[1:], provider, now)
    if reason is not None:
        if isinstance(result, Operation) and result.kind not in MUTATIONS | {OpKind.TIMERS}:
            raise Problem("`--reason` goes with changes (start, stop, scale …), for approvers.")
        result = result.model_copy(update={"reason": reason})
    if over_budget:
        if isinstance(result, Operation) and result.kind not in MUTATIONS | {OpKind.CREATE}:
            raise Problem(
                "`--over-budget` goes with changes that spend (start, scale up, deposit, create …)."
            )
        result = result.model_copy(update={"over_budget": True})
    return result


def _steps(words: list[str]) -> list[list[str]]:
    """The words after the target, split at commas."""
    groups: list[list[str]] = [[]]
    for word in words:
        if word == ",":
            groups.append([])
        else:
            groups[-1].append(word)
    return groups


def _chain(words: list[str], provider: ProviderName | None, now: datetime) -> Operation | Chain:
    """``<target> step, step, …`` (the target comes first, then comma-separated steps)."""
    if len(words) < 2 or verb_of(words[1]) is None:
        raise Problem(
            f"I don't know the command “{words[0][:40]}”." + did_you_mean(words[0], known_verbs())
        )
    target = values.target(words[0])
    steps: list[Operation] = []
    for group in _steps(words[1:]):
        if not group:
            raise Problem("A step of the chain is empty: separate steps with single commas.")
        verb = verb_of(group[0])
        if verb is None or verb not in STEP_VERBS:
            allowed = ", ".join(sorted(v.value for v in STEP_VERBS))
            raise Problem(f"“{group[0][:40]}” can't be a step of a chain; steps can be: {allowed}.")
        steps.append(_operation(verb, [target, *group[1:]], provider, now))
    if len(steps) == 1:
        return steps[0]
    if any(step.kind not in STEP_VERBS for step in steps):  # a stop timer (stop --after 4h)
        raise Problem("A stop timer can't be a step of a chain: set it on its own.")
    return Chain(target=target, provider=provider, steps=tuple(steps))


def _operation(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    try:
        return PARSERS[verb](verb, args, provider, now)
    except Problem as problem:  # the verb's own usage fits better than the whole help
        problem.topic = problem.topic or verb.value
        raise
