"""What a person types in the shell becomes what Slack would send."""

from __future__ import annotations

import re

import pytest

from bot.core.governance import RoleCommand
from bot.core.operations import Operation
from bot.core.parsing import parse
from bot.slack_local.names import TEAMMATE_ID, as_slack_text, channel_id, channel_name


@pytest.mark.parametrize(
    ("typed", "sent"),
    [
        ("role grant @sam operator", f"role grant <@{TEAMMATE_ID}|sam> operator"),
        ("watch llama3-chat #ops", f"watch llama3-chat <#{channel_id('ops')}|ops>"),
        ("rename llama#2 a@b", "rename llama#2 a@b"),  # not a mention, not a channel
        ("role grant @nobody admin", "role grant @nobody admin"),  # unknown people stay typed
    ],
)
def test_mentions_and_channels_are_typed_naturally(typed: str, sent: str) -> None:
    assert as_slack_text(typed) == sent


def test_a_typed_mention_reaches_the_parser_as_a_person() -> None:
    parsed = parse(as_slack_text("role grant @sam operator"))
    assert isinstance(parsed, Operation)
    command = parsed.args.command
    assert isinstance(command, RoleCommand) and command.subject_id == TEAMMATE_ID


def test_posts_name_their_channel() -> None:
    assert channel_name(channel_id("ops")) == "#ops"
    assert channel_name("C0LOCAL") == "#local"
    # the name is in the id itself: a restarted shell (a fresh process) still knows it
    assert re.fullmatch(r"C[0-9A-Z]+", channel_id("gpu-team_2"))
    assert channel_name(channel_id("gpu-team_2")) == "#gpu-team_2"
    assert channel_id("OPS") == channel_id("ops") != channel_id("ops2")


def test_every_emoji_deploybot_sends_prints_as_an_emoji() -> None:
    import pathlib
    import re

    from bot.slack_local.names import EMOJI

    root = pathlib.Path(__file__).resolve().parents[2]
    sources = [*root.joinpath("bot").rglob("*.py"), *root.joinpath("handlers").rglob("*.py")]
    used = {code for path in sources for code in re.findall(r":[a-z][a-z0-9_]*:", path.read_text())}
    # Sphinx roles in docstrings, SQLite's in-memory name, a comment about emoji codes.
    not_emoji = {":mod:", ":class:", ":func:", ":meth:", ":attr:", ":data:", ":memory:", ":codes:"}
    missing = sorted(used - not_emoji - set(EMOJI))
    assert not missing, missing
