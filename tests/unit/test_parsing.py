"""The /deploy command parser: every command, its errors, and never an exception on any input."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.operations import Chain, Operation, OpKind, Usage
from bot.core.parsing import parse

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def op(text: str) -> Operation:
    result = parse(text, now=NOW)
    assert isinstance(result, Operation), result
    return result


def usage(text: str) -> Usage:
    result = parse(text, now=NOW)
    assert isinstance(result, Usage), result
    assert result.problem
    return result


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "?"])
def test_help(text: str) -> None:
    assert op(text).kind is OpKind.HELP


def test_help_topic() -> None:
    assert op("help scale").args.topic == "scale"
    assert op("help nonsense").args.topic is None


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("show abc", OpKind.SHOW, "abc"),
        ("status abc", OpKind.SHOW, "abc"),
        (
            "start 7AtiXMSH6R1jjBxrcYjehCkkSF7zvYWte63gwEDBcGHq",
            OpKind.START,
            "7AtiXMSH6R1jjBxrcYjehCkkSF7zvYWte63gwEDBcGHq",
        ),
        ("stop dep_xyz789", OpKind.STOP, "dep_xyz789"),
        ("archive abc", OpKind.ARCHIVE, "abc"),
        ("delete abc", OpKind.DELETE, "abc"),
        ("close 1785245500842", OpKind.CLOSE, "1785245500842"),
        ("revise abc", OpKind.REVISE, "abc"),
        ("events abc", OpKind.EVENTS, "abc"),
        ("jobs abc", OpKind.JOBS, "abc"),
        ('show "my llama server"', OpKind.SHOW, "my llama server"),
    ],
)
def test_targeted(text: str, kind: OpKind, target: str) -> None:
    result = op(text)
    assert (result.kind, result.target) == (kind, target)


def test_list_with_provider_and_status() -> None:
    result = op("list akash running")
    assert (result.provider, result.args.status) == ("akash", "running")
    assert op("list").provider is None
    assert op("ls STOPPED").args.status == "stopped"
    assert "Unknown status “bogus”" in (usage("list nosana bogus").problem or "")


def test_provider_option_anywhere() -> None:
    assert op("stop abc --provider nosana").provider == "nosana"
    assert op("-p akash close 12").provider == "akash"
    assert op("show abc --provider=NeuraNET").provider == "neuranet"
    assert "Unknown provider “aws”" in (usage("show abc -p aws").problem or "")
    assert "needs a value" in (usage("show abc --provider").problem or "")


def test_scale() -> None:
    assert op("scale abc 3").args.replicas == 3
    assert op("scale abc 0").args.replicas == 0
    assert "whole number" in (usage("scale abc three").problem or "")
    assert "between 0 and 1000" in (usage("scale abc -1").problem or "")
    assert "Usage: /deploy scale" in (usage("scale abc").problem or "")
    assert "Unexpected" in (usage("scale abc 3 4").problem or "")


@pytest.mark.parametrize(
    ("value", "minutes"), [("120", 120), ("90m", 90), ("2h", 120), ("1d", 1440)]
)
def test_timeout(value: str, minutes: int) -> None:
    assert op(f"timeout abc {value}").args.minutes == minutes


@pytest.mark.parametrize("value", ["0", "soon", "30s", "999d"])
def test_timeout_refused(value: str) -> None:
    usage(f"timeout abc {value}")


def test_schedule() -> None:
    assert op('schedule abc "0 */6 * * *"').args.cron == "0 */6 * * *"
    assert op("schedule abc “0 */6 * * *”").args.cron == "0 */6 * * *"  # Slack's smart quotes
    assert "5 cron fields" in (usage('schedule abc "0 * * *"').problem or "")
    assert "not a valid cron" in (usage('schedule abc "99 * * * *"').problem or "")
    assert "quote is not closed" in (usage('schedule abc "0 * * * *').problem or "")


def test_rollback_and_rename() -> None:
    assert op("rollback abc 2").args.revision == 2
    assert op("rollback abc v3").args.revision == 3
    usage("rollback abc 0")
    assert op("rename abc llama 70b server").args.name == "llama 70b server"
    usage("rename abc")


def test_logs() -> None:
    result = op("logs abc --tail 50 --since 10m")
    # a duration is the last 10 minutes when the logs are read, not a moment fixed now
    assert (result.target, result.args.tail, result.args.since, result.args.since_seconds) == (
        "abc",
        50,
        None,
        600,
    )
    assert op("logs abc --since 2h --file").args.since_seconds == 7200
    assert op("logs abc --file").args.file is True and op("logs abc").args.file is False
    assert "longer than zero" in (usage("logs abc --since 0m").problem or "")
    assert op("logs abc --since=2026-11-23T10:00:00Z").args.since == datetime(
        2026, 11, 23, 10, tzinfo=UTC
    )
    assert op("logs -n 5 abc").args.tail == 5
    assert "needs a unit" in (usage("logs abc --since 10").problem or "")
    assert "future" in (usage("logs abc --since 2027-01-01T00:00:00Z").problem or "")
    assert "Unknown option" in (usage("logs abc --frobnicate").problem or "")
    assert op("logs abc --follow").args.follow_seconds == 600
    assert op("logs abc --follow 30m").args.follow_seconds == 1800
    assert op("logs --follow abc").target == "abc"
    assert "1 minute to 1 hour" in (usage("logs abc --follow 2h").problem or "")
    assert "Pick one" in (usage("logs abc --file --follow").problem or "")
    assert "needs a value" in (usage("logs abc --tail").problem or "")
    usage("logs abc --tail 0")


def test_markets_and_nodes_filters() -> None:
    assert op("markets gpu=4090").args.filters == {"gpu": "4090"}
    assert op("markets").provider == "nosana"
    nodes = op("nodes min-vram=24000 region=us-east max-price=2.5")
    assert nodes.provider == "neuranet"
    assert nodes.args.filters == {"min-vram": "24000", "region": "us-east", "max-price": "2.5"}
    assert "is not a filter here" in (usage("nodes colour=red").problem or "")
    assert "must be a number" in (usage("nodes min-vram=lots").problem or "")


def test_connect_and_balance() -> None:
    assert op("connect nosana").provider == "nosana"
    assert op("disconnect --provider akash").provider == "akash"
    assert "Usage: /deploy connect" in (usage("connect").problem or "")
    assert op("balance").provider is None
    assert op("balance akash").provider == "akash"
    assert op("providers").kind is OpKind.PROVIDERS


def test_chain() -> None:
    result = parse("abc start, scale 3, timeout 120", now=NOW)
    assert isinstance(result, Chain)
    assert result.target == "abc"
    assert [(s.kind, s.target) for s in result.steps] == [
        (OpKind.START, "abc"),
        (OpKind.SCALE, "abc"),
        (OpKind.TIMEOUT, "abc"),
    ]
    assert result.steps[1].args.replicas == 3
    assert result.steps[2].args.minutes == 120


def test_chain_with_quoted_cron_and_single_step() -> None:
    result = parse('abc schedule "0 * * * *", start', now=NOW)
    assert isinstance(result, Chain)
    assert result.steps[0].args.cron == "0 * * * *"
    assert op("abc stop").kind is OpKind.STOP


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("abc start,, stop", "empty"),
        ("abc start, list", "can't be a step"),
        ("frobnicate abc", "don't know the command “frobnicate”"),
        ("start abc, stop", "name the deployment first"),
        ("abc scale three", "whole number"),
    ],
)
def test_chain_errors(text: str, problem: str) -> None:
    assert problem in (usage(text).problem or "")


def test_target_refuses_mrkdwn_control_characters() -> None:
    assert "can't contain" in (usage("show <!channel>").problem or "")


def test_operation_params_and_description() -> None:
    scale = op("scale abc 5")
    assert scale.describe() == "scale abc to 5"
    assert scale.params() == {"target": "abc", "replicas": 5}


@settings(max_examples=3000, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_to_a_result_never_an_exception(text: str) -> None:
    result = parse(text, now=NOW)
    assert isinstance(result, Operation | Chain | Usage)
    if isinstance(result, Usage):
        assert result.problem


@settings(max_examples=1500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "start",
                "stop",
                "scale",
                "3",
                "-1",
                ",",
                "--tail",
                "--since",
                "10m",
                '"',
                "abc",
                "logs",
                "schedule",
                "0 * * * *",
                "timeout",
                "2h",
                "-p",
                "akash",
                "list",
                "help",
            ]
        ),
        max_size=12,
    )
)
def test_command_like_token_soup_never_raises(words: list[str]) -> None:
    result = parse(" ".join(words), now=NOW)
    assert isinstance(result, Operation | Chain | Usage)


def test_an_apostrophe_inside_a_word_is_a_letter() -> None:
    renamed = op("rename x Bob's-model")
    assert renamed.args.name == "Bob's-model"
    shown = parse("audit 5 it's")
    assert isinstance(shown, Operation) and shown.args.command.target == "it's"
    problem = usage("schedule x '0 * * * *").problem or ""
    assert problem.startswith("A quote is not closed") and "cron" not in problem


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [("lsit", "`list`"), ("list nosan", "`nosana`"), ("balance akahs", "`akash`")],
)
def test_a_near_miss_gets_did_you_mean(text: str, suggestion: str) -> None:
    assert f"Did you mean {suggestion}?" in (usage(text).problem or "")


def test_a_parse_error_shows_its_command_not_the_whole_help() -> None:
    from bot.core.replies import usage_reply

    for text in ("list foo", "balance foo", "timeout x -5", "lsit", "show a, list"):
        reply = usage_reply(usage(text))
        assert len(reply.blocks or []) == 1, text
        assert len(reply.text.splitlines()) <= 4, (text, reply.text)
        assert "/deploy" in reply.text
