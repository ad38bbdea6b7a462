"""``/deploy help`` and unparseable input are answered from their serialized replies."""

from __future__ import annotations

import json

from bot.core import replies
from bot.core.operations import Usage
from bot.core.parsing import parse
from handlers.commands import help_answer


def test_help_is_the_help_reply_as_json() -> None:
    answer = help_answer("help")
    assert answer is not None
    kind, body = answer
    assert kind == "help"
    assert json.loads(body) == replies.help_reply(None).payload()
    assert help_answer("") == answer  # a bare /deploy is the help too


def test_a_help_topic_is_that_topic() -> None:
    answer = help_answer("help scale")
    assert answer is not None
    assert json.loads(answer[1]) == replies.help_reply("scale").payload()
    assert "*/deploy scale" in json.loads(answer[1])["text"]


def test_unparseable_text_is_its_usage_reply() -> None:
    for text in ("frobnicate", "scale llama3-chat many", 'show "unclosed'):
        parsed = parse(text)
        assert isinstance(parsed, Usage)
        answer = help_answer(text)
        assert answer is not None
        assert answer[0] == "usage"
        assert json.loads(answer[1]) == replies.usage_reply(parsed).payload()


def test_every_other_command_goes_to_the_listener() -> None:
    for text in ("list", "show llama3-chat", "stop llama3-chat", "create nosana", "connect akash"):
        assert help_answer(text) is None, text
