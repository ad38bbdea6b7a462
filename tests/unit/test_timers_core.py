"""Stop timers and the digest, pure: parsing, when a timer fires (time zones, the next day),
rendering, and the running time the spend estimate charges."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.core.arguments import Digest, Plain, Timers
from bot.core.create import build_spec
from bot.core.digest import Toggle, day_window, running_seconds
from bot.core.operations import Operation, OpKind, Usage
from bot.core.parsing import parse
from bot.core.timers import Timer, When, duration, list_reply, set_reply, slack_time


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("text", "after", "at"),
    [
        ("stop llama --after 4h", 14400, None),
        ("stop llama --after=90m", 5400, None),
        ("llama stop --after 1d", 86400, None),
        ("stop llama --at 19:00", None, "19:00"),
        ("stop llama --at 7.30", None, "07:30"),
    ],
)
def test_stop_with_a_time_is_a_timer(text: str, after: int | None, at: str | None) -> None:
    parsed = parse(text)
    assert isinstance(parsed, Operation) and parsed.kind is OpKind.TIMERS
    args = parsed.typed(Timers)
    assert (args.sub, args.after_seconds, args.at, parsed.target) == ("set", after, at, "llama")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("stop llama --after 4h --at 19:00", "not both"),
        ("stop llama --after 10s", "between 1 minute and 7 days"),
        ("stop llama --after 30d", "between 1 minute and 7 days"),
        ("stop llama --at 24:10", "time of day"),
        ("stop llama --after", "needs a value"),
        ("llama start, stop --after 2h", "can't be a step of a chain"),
        ("timers cancel ../x", "isn't a timer id"),
        ("timers nuke", "Usage"),
        ("digest weekly 09:00", "Usage"),
        ("digest daily", "Usage"),
        ("digest daily 9am", "digest time"),
    ],
)
def test_bad_timer_and_digest_commands_say_why(text: str, problem: str) -> None:
    parsed = parse(text)
    assert isinstance(parsed, Usage) and problem in (parsed.problem or ""), parsed


def test_plain_stop_timers_and_digest_parse() -> None:
    assert parse("stop llama") == Operation(args=Plain(kind=OpKind.STOP), target="llama")
    listed = parse("timers")
    assert isinstance(listed, Operation) and listed.typed(Timers).sub == "list"
    cancel = parse("timers cancel AB12CD")
    assert isinstance(cancel, Operation) and cancel.typed(Timers).timer_id == "ab12cd"
    daily = parse("digest daily 9:05 <#C0OPS|ops>")
    assert isinstance(daily, Operation)
    assert daily.typed(Digest) == Digest(
        kind=OpKind.DIGEST, sub="daily", at="09:05", channel="C0OPS"
    )
    reasoned = parse('stop llama --after 2h --reason "nightly"')
    assert isinstance(reasoned, Operation) and reasoned.reason == "nightly"


def test_at_is_the_next_such_time_in_the_persons_zone() -> None:
    now = _epoch("2026-12-07T16:00:00")  # 18:00 at UTC+2
    assert When(at="19:00", tz_offset=7200).fire_at(now) == _epoch("2026-12-07T17:00:00")
    # already past in that zone: tomorrow
    assert When(at="17:30", tz_offset=7200).fire_at(now) == _epoch("2026-12-08T15:30:00")
    # west of UTC, across midnight UTC
    assert When(at="23:30", tz_offset=-5 * 3600).fire_at(now) == _epoch("2026-12-08T04:30:00")
    assert When(after_seconds=3600).fire_at(now) == now + 3600
    assert When(at="19:00", tz_offset=19800).describe() == "at 19:00 (UTC+5:30)"


def test_timer_messages_escape_names_and_show_times_per_reader() -> None:
    timer = Timer("ab12cd", "nosana", "Dep1234567890xyz", "<!channel> llama", "C1", "U1", 7200.0)
    reply = set_reply(timer, 0.0)
    assert "&lt;!channel&gt; llama" in reply.text and "<!channel>" not in reply.text
    assert "<!date^7200^" in reply.text and "(in 2h)" in reply.text and reply.public
    listed = list_reply([timer], 0.0)
    assert "ab12cd" in str(listed.blocks) and "timer_cancel" in str(listed.blocks)
    assert "No stop timers" in list_reply([], 0.0).text
    assert slack_time(0).endswith("|1970-01-01 00:00 UTC>")
    assert duration(5400) == "1h 30m" and duration(90000) == "1d 1h"


def test_running_time_is_rebuilt_from_the_status_now_and_the_recorded_toggles() -> None:
    start, end = 1000.0, 2000.0
    # running all along (started before the window): the whole day
    assert running_seconds([], running_now=True, now=3000, since=0, start=start, end=end) == 1000
    # started inside the window by its provider (no record): from then
    assert running_seconds([], running_now=True, now=3000, since=1500, start=start, end=end) == 500
    # stopped at 1200 through deploybot, started again at 1800
    toggles = [Toggle(1200, on=False), Toggle(1800, on=True)]
    assert (
        running_seconds(toggles, running_now=True, now=3000, since=None, start=start, end=end)
        == 400
    )
    # stopped yesterday and still stopped
    stopped = [Toggle(1300, on=False)]
    assert (
        running_seconds(stopped, running_now=False, now=3000, since=None, start=start, end=end)
        == 300
    )
    # never ran
    assert running_seconds([], running_now=False, now=3000, since=None, start=start, end=end) == 0


def test_yesterday_is_counted_in_the_digests_zone() -> None:
    now = _epoch("2026-12-08T08:00:00")  # 09:00 at UTC+1
    start, end, date = day_window(now, 3600)
    assert date == "2026-12-07"
    assert (start, end) == (_epoch("2026-12-06T23:00:00"), _epoch("2026-12-07T23:00:00"))


def test_the_create_forms_stop_after_is_checked() -> None:
    base = {"name": "x", "node": "n1", "template_id": "ollama"}
    assert build_spec("neuranet", {**base, "stop_after": "soon"}).errors.get("stop_after")
    assert "15 minutes" in build_spec("neuranet", {**base, "stop_after": "5m"}).errors["stop_after"]
    assert "stop_after" not in build_spec("neuranet", {**base, "stop_after": "4h"}).errors
    assert "stop_after" not in build_spec("neuranet", base).errors
