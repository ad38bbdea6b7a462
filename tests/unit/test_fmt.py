"""The one place for money, time and names: its rules, and that rendering uses it."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from bot.core import fmt
from bot.core.create import per_hour as create_per_hour
from bot.core.preflight_money import duration as preflight_duration
from bot.core.preflight_money import usd as preflight_usd
from bot.core.render import age, money
from bot.core.step_preview import per_hour as preview_per_hour

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("1234.5"), "$1,234.50"),
        (Decimal("1.5"), "$1.50"),
        (Decimal("1.500"), "$1.50"),
        (Decimal("1.155"), "$1.16"),
        (Decimal("0.385"), "$0.385"),
        (Decimal("0.38"), "$0.38"),
        (Decimal("0.5"), "$0.50"),
        (Decimal("0.0096"), "$0.0096"),
        (Decimal("0.00492"), "$0.0049"),
        (Decimal("0.012"), "$0.012"),
        (Decimal("0.99999"), "$1.00"),
        (Decimal("0.00001"), "<$0.0001"),
        (Decimal(0), "$0.00"),
        (Decimal(-2), "-$2.00"),
        (5, "$5.00"),
        (0.385, "$0.385"),
        ("12", "$12.00"),
    ],
)
def test_usd_precision_rules(value: Decimal | int | float | str, text: str) -> None:
    assert fmt.usd(value) == text


def test_unknown_amounts_say_so_and_hourly_rates_always_end_in_per_hour() -> None:
    assert fmt.usd(None) == "—" and fmt.usd("n/a") == "—" and fmt.usd(float("nan")) == "—"
    assert fmt.usd(None, unknown="?") == "?"
    assert fmt.per_hour(Decimal("0.385")) == "$0.385/h"
    assert fmt.per_hour(Decimal("1.5")) == "$1.50/h"
    assert fmt.per_hour(None, unknown="unknown") == "unknown"


def test_every_money_helper_follows_the_same_rules() -> None:
    """The four ways money used to be written ($0.385/h, $0.38/h, $1.500/hour, $0.0096/h)
    are one way now, whichever part of the bot writes it."""
    for value in (Decimal("0.385"), Decimal("1.5"), Decimal("0.0096"), Decimal("1234.5678")):
        expected = fmt.per_hour(value)
        assert money(value, "/h") == expected
        assert preflight_usd(value, "/h") == expected
        assert create_per_hour(value) == expected
        assert preview_per_hour(value) == expected


@pytest.mark.parametrize(
    ("minutes", "text"),
    [
        (0, "less than a minute"),
        (-5, "less than a minute"),
        (1, "1 min"),
        (59, "59 min"),
        (60, "1 h"),
        (125, "2 h 5 min"),
        (1440, "1 d"),
        (1500, "1 d 1 h"),
        (3000, "2 d 2 h"),
    ],
)
def test_durations(minutes: int, text: str) -> None:
    assert fmt.minutes(minutes) == text


def test_durations_from_seconds_hours_and_ages_never_say_just_now_or_zero() -> None:
    assert fmt.duration(59) == "less than a minute"
    assert fmt.duration(timedelta(minutes=3, seconds=59)) == "3 min"
    assert fmt.hours(0.7) == "42 min" and fmt.hours(Decimal("50.5")) == "2 d 2 h"
    assert preflight_duration(Decimal("2.9")) == "2 h 54 min"
    assert age(NOW - timedelta(minutes=4), NOW) == "4 min"
    assert age(NOW - timedelta(seconds=20), NOW) == "less than a minute"
    assert age(NOW + timedelta(seconds=20), NOW) == "less than a minute"  # clocks disagree
    assert age(None, NOW) == "—"
    for seconds in range(0, 4000, 7):
        text = fmt.duration(seconds)
        assert "just now" not in text and not text.startswith("0 ")


def test_until_never_says_in_zero_minutes() -> None:
    assert fmt.until(NOW + timedelta(seconds=30), NOW) == "in less than a minute"
    assert fmt.until(NOW + timedelta(minutes=25, seconds=10), NOW) == "in 25 min"
    assert fmt.until(NOW - timedelta(seconds=1), NOW) == "now"


def test_slack_dates_and_names() -> None:
    at = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
    stamp = int(at.timestamp())
    assert (
        fmt.slack_date(at) == f"<!date^{stamp}^{{date_short_pretty}} {{time}}|2026-12-07 09:30 UTC>"
    )
    assert (
        fmt.slack_date(at.replace(tzinfo=None), "{date}")
        == f"<!date^{stamp}^{{date}}|2026-12-07 09:30 UTC>"
    )
    # a fallback can't break the token
    assert (
        fmt.slack_date(at, fallback="a|b>c")
        == f"<!date^{stamp}^{{date_short_pretty}} {{time}}|a/bc>"
    )
    assert fmt.user("U1") == "<@U1>" and fmt.channel("C1") == "<#C1>"
    assert (
        fmt.mention("usergroup", "S1") == "<!subteam^S1>" and fmt.mention("user", "U1") == "<@U1>"
    )


def test_shorten_cuts_at_a_word_boundary() -> None:
    hint = "Everything is validated before anything is sent to the provider."
    short = fmt.shorten(hint, 40)
    assert short == "Everything is validated before anything…"
    assert len(short) <= 40
    assert fmt.shorten("short", 40) == "short"
    assert fmt.shorten("x" * 50, 10) == "x" * 9 + "…"


def test_addresses_are_shortened_keeping_their_prefix() -> None:
    address = "akash1w953xkw8l8r5n0k9qeqq4j5y0y4whvkvcs3pmwt"
    assert fmt.short_id(address) == "akash1w953xk…pmwt"
    assert fmt.short_id("dep_123") == "dep_123"


_AD_HOC = [
    (re.compile(r"\$\{[^}]*:,?\.\d+f\}"), "a dollar amount formatted with :.Nf"),
    (re.compile(r"/hour\""), "an hourly rate written /hour (use fmt.per_hour: /h)"),
    (re.compile(r"just now"), "'just now' (use fmt.duration)"),
    (re.compile(r"f\"[^\"]*\$\{(?!fmt\.)[a-z_.]+\}"), "a dollar sign before a raw number"),
    (re.compile(r"\{[a-z_]+\} min\b"), "minutes written by hand (use fmt.minutes)"),
    (re.compile(r"<!date\^"), "a Slack date built by hand (use fmt.slack_date)"),
]
_OWN = {"bot/core/fmt.py", "bot/shell.py"}


def test_no_ad_hoc_money_or_duration_formatting_is_left_in_rendering() -> None:
    root = Path(__file__).resolve().parents[2]
    found: list[str] = []
    for path in sorted([*(root / "bot").rglob("*.py"), *(root / "handlers").rglob("*.py")]):
        rel = path.relative_to(root).as_posix()
        if rel in _OWN or rel.startswith(("bot/watch/", "bot/db/")):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if line.lstrip().startswith("#"):
                continue
            for pattern, what in _AD_HOC:
                if pattern.search(line):
                    found.append(f"{rel}:{number}: {what}: {line.strip()}")
    assert not found, "\n".join(found)
