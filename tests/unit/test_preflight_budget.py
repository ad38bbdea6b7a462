"""Preflight against budget caps (pure): every kind of spend on a deployment — start, scale up,
timeout up, deposit, a chain — is refused over a cap with the numbers, or, asked for with
``--over-budget``, cleared with the numbers for the approvers; what spends nothing passes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from bot.core.budget import BudgetFacts, Caps, Scope
from bot.core.operations import Chain, OpKind
from bot.core.preflight import Cleared, Refused, preflight
from tests.unit.test_preflight import NOW, akash, facts, nosana, op

D = Decimal


def budget(
    *, burn: str = "1", today: str = "0", caps: Caps, provider: str = "nosana"
) -> BudgetFacts:
    return BudgetFacts(now=NOW, scopes=(Scope(provider, caps, D(burn), D(today), D(0)),))


def test_starting_over_the_hourly_cap_is_refused_with_the_numbers() -> None:
    checked = preflight(
        replace(
            facts(op(OpKind.START), nosana("STOPPED")), budget=budget(caps=Caps(per_hour=D(1.5)))
        )
    )
    assert isinstance(checked, Refused)
    assert checked.reason == (
        "Over budget: start w2: it would raise the Nosana burn to $1.80/h (now $1.00/h, "
        "+$0.80/h), over its $1.50/h cap. An admin can still run it with `--over-budget`; it "
        "then needs approval."
    )


def test_over_budget_clears_with_the_numbers_for_the_approvers() -> None:
    wanted = op(OpKind.SCALE, replicas=5).model_copy(update={"over_budget": True})
    checked = preflight(replace(facts(wanted, nosana()), budget=budget(caps=Caps(per_hour=D(2)))))
    assert isinstance(checked, Cleared)
    assert checked.over_budget == (
        "Over budget: scale w2 to 5: it would raise the Nosana burn to $2.20/h (now $1.00/h, "
        "+$1.20/h), over its $2.00/h cap."
    )


def test_within_the_caps_or_spending_nothing_passes() -> None:
    caps = Caps(per_hour=D(2), per_day=D(100))
    assert isinstance(
        preflight(replace(facts(op(OpKind.SCALE, replicas=3), nosana()), budget=budget(caps=caps))),
        Cleared,
    )
    # scaling down and stopping spend nothing, whatever the budget says
    over = budget(burn="50", today="1000", caps=caps)
    for down in (op(OpKind.SCALE, replicas=1), op(OpKind.STOP)):
        checked = preflight(replace(facts(down, nosana()), budget=over))
        assert isinstance(checked, Cleared) and checked.over_budget is None


def test_a_timeout_increase_is_refused_while_the_day_is_projected_over() -> None:
    over = budget(burn="1", today="30", caps=Caps(per_day=D(20)))
    checked = preflight(replace(facts(op(OpKind.TIMEOUT, minutes=120), nosana()), budget=over))
    assert isinstance(checked, Refused)
    assert "Over budget: set the timeout of w2 to 2 h: it keeps the Nosana projected spend " in (
        checked.reason
    )
    assert "$30.00 spent so far" in checked.reason and "over its $20.00/day cap" in checked.reason


def test_a_deposit_over_the_daily_cap_is_refused() -> None:
    capped = budget(provider="akash", burn="0.05", today="8", caps=Caps(per_day=D(10)))
    checked = preflight(replace(facts(op(OpKind.DEPOSIT, amount_usd=D(5)), akash()), budget=capped))
    assert isinstance(checked, Refused)
    assert "it would bring the Akash spend today to $13.00 ($8.00 spent so far + $5.00 now)" in (
        checked.reason
    )
    small = preflight(replace(facts(op(OpKind.DEPOSIT, amount_usd=D(1)), akash()), budget=capped))
    assert isinstance(small, Cleared)


def test_a_chain_is_judged_by_what_it_adds_in_all() -> None:
    chain = Chain(
        target="w2", steps=(op(OpKind.START), op(OpKind.SCALE, replicas=4)), provider="nosana"
    )
    checked = preflight(
        replace(facts(chain, nosana("STOPPED")), budget=budget(burn="0", caps=Caps(per_hour=D(1))))
    )
    assert isinstance(checked, Refused)
    assert checked.reason.startswith(
        "Over budget: start w2, then scale w2 to 4: it would raise the Nosana burn to $1.60/h"
    )
