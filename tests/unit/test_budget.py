"""Budgets, the pure part: periods, spend integrated from burn samples, the check that refuses a
spend over a cap (with the numbers), the alert levels, and parsing ``/deploy budget``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.core.arguments import Budget
from bot.core.budget import (
    BudgetFacts,
    Caps,
    Period,
    Sample,
    Scope,
    Spend,
    alert_text,
    check,
    hours_left,
    integrate,
    over_cap,
    period_end,
    period_key,
    period_start,
    reached,
)
from bot.core.operations import Chain, Operation, OpKind, Usage
from bot.core.parsing import parse

NOW = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)  # 6 hours left in the day
D = Decimal


def scope(
    provider: str = "nosana",
    *,
    burn: str = "1",
    today: str = "0",
    month: str = "0",
    caps: Caps | None = None,
) -> Scope:
    return Scope(provider, caps or Caps(), D(burn), D(today), D(month))


# -- periods ---------------------------------------------------------------------------------------


def test_periods_are_utc_days_and_months() -> None:
    assert period_start(Period.DAY, NOW) == datetime(2026, 12, 7, tzinfo=UTC)
    assert period_start(Period.MONTH, NOW) == datetime(2026, 12, 1, tzinfo=UTC)
    assert period_end(Period.MONTH, NOW) == datetime(2027, 1, 1, tzinfo=UTC)
    assert period_end(Period.DAY, NOW) == datetime(2026, 12, 8, tzinfo=UTC)
    assert hours_left(Period.DAY, NOW) == 6
    assert hours_left(Period.MONTH, NOW) == 24 * 24 + 6
    assert period_key(Period.DAY, NOW) == "day:2026-12-07"
    assert period_key(Period.MONTH, NOW) == "month:2026-12"
    # an hourly cap's alerts are kept per day (said once a day, not every hour)
    assert period_key(Period.HOUR, NOW) == "day:2026-12-07"


# -- spend -----------------------------------------------------------------------------------------


def test_spend_integrates_the_burn_steps_within_the_window() -> None:
    start = NOW.timestamp()
    samples = [
        Sample(start - 7200, D(2)),  # held from before the window: counts from its start
        Sample(start + 3600, D(4)),
        Sample(start + 5400, D(0)),  # stopped
    ]
    assert integrate(samples, start, start + 7200) == D(2) + D(2)  # 1 h at 2, 0.5 h at 4
    # the last sample holds until the end
    assert integrate(samples[:2], start, start + 7200) == D(2) + D(4)
    # nothing is known before the first sample
    assert integrate([Sample(start + 1800, D(6))], start, start + 3600) == D(3)
    assert integrate([], start, start + 3600) == 0
    # order does not matter
    assert integrate(list(reversed(samples)), start, start + 7200) == D(4)


# -- the check -------------------------------------------------------------------------------------


def test_an_hourly_cap_refuses_a_burn_increase_over_it_with_the_numbers() -> None:
    capped = scope(burn="0.76", caps=Caps(per_hour=D("1.5")))
    assert over_cap(capped, Period.HOUR, Spend(per_hour=D("0.5")), NOW) is None
    problem = over_cap(capped, Period.HOUR, Spend(per_hour=D("1.14")), NOW)
    assert problem == (
        "it would raise the Nosana burn to $1.90/h (now $0.76/h, +$1.14/h), over its $1.50/h cap"
    )


def test_a_daily_cap_refuses_what_the_projection_puts_over_it() -> None:
    capped = scope(burn="1", today="10", caps=Caps(per_day=D("20")))
    # 10 spent + (1 + 0.5) × 6 h = 19: within
    assert over_cap(capped, Period.DAY, Spend(per_hour=D("0.5")), NOW) is None
    problem = over_cap(capped, Period.DAY, Spend(per_hour=D(1)), NOW)
    assert problem == (
        "it would bring the Nosana projected spend today to $22.00 ($10.00 spent so far + "
        "$2.00/h for the 6 h left), over its $20.00/day cap"
    )


def test_a_deposit_is_compared_with_what_is_spent_and_a_spend_is_refused_once_over() -> None:
    capped = scope(burn="1", today="10", caps=Caps(per_day=D("20")))
    problem = over_cap(capped, Period.DAY, Spend(lump=D(15)), NOW)
    assert problem == (
        "it would bring the Nosana spend today to $25.00 ($10.00 spent so far + $15.00 now), "
        "over its $20.00/day cap"
    )
    assert over_cap(capped, Period.DAY, Spend(lump=D(5)), NOW) is None
    # a timeout increase adds nothing per hour, but the scope is projected over already
    over = scope(burn="3", today="10", caps=Caps(per_day=D("20"), per_hour=D(2)))
    assert "it keeps the Nosana projected spend today at $28.00" in str(
        over_cap(over, Period.DAY, Spend(), NOW)
    )
    assert over_cap(over, Period.HOUR, Spend(), NOW) == (
        "the Nosana burn is already $3.00/h, over its $2.00/h cap"
    )


def test_check_names_every_cap_passed_and_the_workspace() -> None:
    facts = BudgetFacts(
        now=NOW,
        scopes=(
            scope(burn="1", caps=Caps(per_hour=D("1.2"))),
            scope("", burn="2", month="100", caps=Caps(per_month=D(1500))),
        ),
    )
    assert check(facts, Spend(per_hour=D("0.1")), "scale x to 2") is None
    problem = check(facts, Spend(per_hour=D(1)), "scale x to 3")
    assert problem is not None
    assert problem.startswith("Over budget: scale x to 3: it would raise the Nosana burn")
    assert "; and it would bring the workspace's total projected spend this month" in problem
    assert "over its $1,500.00/month cap." in problem
    assert check(None, Spend(per_hour=D(100)), "x") is None


# -- alerts ----------------------------------------------------------------------------------------


def test_alert_levels_reached_and_their_text() -> None:
    capped = scope(burn="2", today="17", caps=Caps(per_day=D(20), per_hour=D(2)))
    levels = [(r.period, r.level) for r in reached(capped, NOW)]
    assert levels == [(Period.HOUR, 80), (Period.HOUR, 100), (Period.DAY, 80)]
    day = reached(capped, NOW)[-1]
    assert day.key == "day:2026-12-07" and day.value == 17 and day.cap == 20
    text = alert_text(capped, day)
    assert text.startswith(":warning: *Budget*: Nosana spend today (UTC) reached 80% of its")
    assert "$20.00/day cap: $17.00 so far, burning $2.00/h." in text
    full = alert_text(capped, reached(capped, NOW)[1])
    assert full.startswith(":rotating_light: *Budget*: Nosana burn reached its $2.00/h cap")
    assert "New spending is refused" in full
    assert reached(scope(today="1", caps=Caps(per_day=D(20))), NOW) == []
    workspace = alert_text(scope("", today="20", caps=Caps(per_day=D(20))), day)
    assert "Workspace total spend today" in workspace


# -- parsing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action", "amount", "period", "provider"),
    [
        ("budget", "show", None, None, None),
        ("budgets nosana", "show", None, None, "nosana"),
        ("budget set 50/day", "set", D(50), "day", None),
        ("budget set $1.50/h nosana", "set", D("1.50"), "hour", "nosana"),
        ("budget set 1200/month akash", "set", D(1200), "month", "akash"),
        ("budget set 10 /day --provider neuranet", "set", D(10), "day", "neuranet"),
        ("budget clear", "clear", None, None, None),
        ("budget clear akash", "clear", None, None, "akash"),
    ],
)
def test_budget_commands_parse(
    text: str, action: str, amount: Decimal | None, period: str | None, provider: str | None
) -> None:
    op = parse(text)
    assert isinstance(op, Operation) and op.kind is OpKind.BUDGET
    assert op.args == Budget(kind=OpKind.BUDGET, action=action, amount_usd=amount, period=period)  # type: ignore[arg-type]
    assert op.provider == provider


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("budget set 10", "A cap looks like 10/day"),
        ("budget set 10/week", "A cap looks like 10/day"),
        ("budget set 0/day", "more than $0"),
        ("budget set 5/day nosnaa", "Unknown provider"),
        ("budget set 5/day nosana akash", "Unexpected"),
        ("budget frobnicate", "Unexpected"),
        ("list --over-budget", "`--over-budget` goes with changes"),
    ],
)
def test_bad_budget_commands_say_why(text: str, problem: str) -> None:
    result = parse(text)
    assert isinstance(result, Usage) and problem in (result.problem or "")


def test_over_budget_marks_an_operation_or_a_chain() -> None:
    op = parse("scale llama 3 --over-budget")
    assert isinstance(op, Operation) and op.over_budget
    plain = parse("scale llama 3")
    assert isinstance(plain, Operation) and not plain.over_budget
    chain = parse("llama start, scale 3 --over-budget")
    assert isinstance(chain, Chain) and chain.over_budget
    assert chain.retarget("nosana", "abc").over_budget
