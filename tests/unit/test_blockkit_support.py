"""The Block Kit judge the fake Slack uses (tests/blockkit_support.py): each rule rejects a bad
payload and lets the good one next to it through."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from bot.slack_local.fake_api import FakeSlackAPI
from tests import blockkit_support as bk
from tests.blockkit_support import Violation

Json = dict[str, Any]


def section(text: str, block_id: str | None = None) -> Json:
    block: Json = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
    if block_id:
        block["block_id"] = block_id
    return block


def button(action_id: str, text: str = "Go", value: str = "v") -> Json:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


def input_block(block_id: str) -> Json:
    return {
        "type": "input",
        "block_id": block_id,
        "label": {"type": "plain_text", "text": "Name"},
        "element": {"type": "plain_text_input", "action_id": "value"},
    }


def modal(*blocks: Json) -> Json:
    return {
        "type": "modal",
        "callback_id": "form",
        "title": {"type": "plain_text", "text": "Form"},
        "submit": {"type": "plain_text", "text": "Save"},
        "blocks": list(blocks),
    }


GOOD_MESSAGE: Json = {
    "channel": "C1",
    "text": "Deployments: <@U123> asked <!date^1700000000^{date_short} {time}|2023-11-14 22:13>",
    "blocks": [
        {"type": "header", "text": {"type": "plain_text", "text": "Deployments"}},
        section("*llama* &lt;prod&gt; by <@U123|ana> in <#C123|ops>, see <https://x.test|docs>"),
        {"type": "actions", "block_id": "acts", "elements": [button("stop"), button("logs")]},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "<!here> <!subteam^S1|ops>"}]},
    ],
}


def rules(violations: list[Violation]) -> set[str]:
    return {v.rule for v in violations}


def test_the_schema_is_read_from_shared_reference() -> None:
    path = bk.schema_path()
    assert path.parts[-3:] == ("shared", "reference", "slack-block-kit.schema.json") or (
        path.parts[-2:] == ("reference", "slack-block-kit.schema.json")
    )
    assert bk.schema_available()


def test_a_good_message_passes() -> None:
    assert bk.check_call("chat.postMessage", GOOD_MESSAGE) == []
    assert bk.check_call("response_url", {**GOOD_MESSAGE, "replace_original": True}) == []


def test_schema_rejects_a_malformed_block_with_its_path() -> None:
    bad = copy.deepcopy(GOOD_MESSAGE)
    bad["blocks"][2]["elements"][0]["text"]["text"] = "x" * 76  # button text ≤ 75
    found = bk.check_call("chat.update", bad)
    assert rules(found) == {"schema"}
    assert found[0].path.startswith("blocks[2]")
    assert bk.slack_error("chat.update", found) == "invalid_blocks"


def test_schema_rejects_an_unknown_block_type_and_an_empty_section() -> None:
    found = bk.check_blocks([{"type": "sectoin"}, {"type": "section"}], limit=50)
    assert [v.path for v in found] == ["blocks[0]", "blocks[1]"]


def test_schema_rejects_an_oversized_section_text() -> None:
    assert rules(bk.check_blocks([section("a" * 3001)], limit=50)) == {"schema"}
    assert bk.check_blocks([section("a" * 3000)], limit=50) == []


def test_at_most_50_blocks_in_a_message_and_100_in_a_view() -> None:
    fifty = [section(f"row {i}") for i in range(50)]
    assert bk.check_message({"blocks": fifty}) == []
    assert rules(bk.check_message({"blocks": [*fifty, section("one more")]})) == {"too_many_blocks"}
    hundred = [section(f"row {i}") for i in range(100)]
    assert bk.check_view(modal(*hundred)) == []
    assert "too_many_blocks" in rules(bk.check_view(modal(*hundred, section("more"))))
    home = {"type": "home", "blocks": [*hundred, section("more")]}
    assert "too_many_blocks" in rules(bk.check_call("views.publish", {"view": home}))


def test_block_ids_are_unique() -> None:
    found = bk.check_message({"blocks": [section("a", "same"), section("b", "same")]})
    assert rules(found) == {"duplicate_block_id"}
    assert found[0].path == "blocks[1]"
    assert bk.check_message({"blocks": [section("a", "one"), section("b", "two")]}) == []


def test_action_ids_are_unique_within_a_block() -> None:
    twice = {"type": "actions", "elements": [button("go"), button("go")]}
    assert rules(bk.check_message({"blocks": [twice]})) == {"duplicate_action_id"}


def test_top_level_text_at_most_40000_characters() -> None:
    assert bk.check_message({"text": "a" * 40_000}) == []
    found = bk.check_message({"text": "a" * 40_001})
    assert rules(found) == {"text_too_long"}
    assert bk.slack_error("chat.postMessage", found) == "msg_too_long"


@pytest.mark.parametrize(
    "text",
    [
        "rows <!date^1700000000^{date_short} {ti",  # clipped date token
        "asked by <@U12",  # clipped mention
        "in <#C12",  # clipped channel
        "name <!her",  # clipped broadcast
        "a <b> c",  # not a token: should have been &lt;b&gt;
        "x < y and y > z",  # a bare '<'
        "<!date^1700000000^{date_short}>",  # a date without its fallback text
        "2 < 3 <@U1>",  # '<' before a good token
    ],
)
def test_mrkdwn_rejects_unescaped_or_clipped_tokens(text: str) -> None:
    assert rules(bk.check_message({"text": text})) == {"mrkdwn"}
    assert rules(bk.check_message({"blocks": [section(text)]})) == {"mrkdwn"}


def test_mrkdwn_rules_skip_plain_text_and_unformatted_messages() -> None:
    plain = {"type": "header", "text": {"type": "plain_text", "text": "a <b> c"}}
    assert bk.check_message({"blocks": [plain]}) == []
    assert bk.check_message({"text": "a <b", "mrkdwn": False}) == []


def test_mrkdwn_in_context_fields_and_confirm_dialogs() -> None:
    context = {"type": "context", "elements": [{"type": "mrkdwn", "text": "cut <@U1"}]}
    assert rules(bk.check_message({"blocks": [context]})) == {"mrkdwn"}
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "<oops"}]}
    assert rules(bk.check_message({"blocks": [fields]})) == {"mrkdwn"}


def test_options_answer_limits() -> None:
    def option(text: str, value: str) -> Json:
        return {"text": {"type": "plain_text", "text": text}, "value": value}

    good = {"options": [option(f"m{i}", f"v{i}") for i in range(100)]}
    assert bk.check_options(good) == []
    assert "too_many_options" in rules(
        bk.check_options({"options": [*good["options"], option("x", "y")]})
    )
    assert "option_text" in rules(bk.check_options({"options": [option("t" * 76, "v")]}))
    assert "option_value" in rules(bk.check_options({"options": [option("t", "v" * 151)]}))
    grouped = {
        "option_groups": [
            {"label": {"type": "plain_text", "text": "g"}, "options": [option("t", "v" * 151)]}
        ]
    }
    assert "option_value" in rules(bk.check_options(grouped))


def test_static_select_options_limits_come_from_the_schema() -> None:
    select = {
        "type": "static_select",
        "action_id": "pick",
        "options": [
            {"text": {"type": "plain_text", "text": "t" * 76}, "value": "v"},
        ],
    }
    block = {"type": "section", "text": {"type": "mrkdwn", "text": "Pick"}, "accessory": select}
    assert rules(bk.check_message({"blocks": [block]})) == {"schema"}


def test_modal_error_keys_name_input_blocks_of_the_view() -> None:
    inputs = bk.input_block_ids(modal(section("intro", "intro"), input_block("name")))
    assert inputs == {"name"}
    assert (
        bk.check_view_submission_ack({"response_action": "errors", "errors": {"name": "x"}}, inputs)
        == []
    )
    found = bk.check_view_submission_ack(
        {"response_action": "errors", "errors": {"intro": "x"}}, inputs
    )
    assert rules(found) == {"error_keys"}
    assert rules(
        bk.check_view_submission_ack({"response_action": "errors", "errors": {}}, inputs)
    ) == {"error_keys"}


def test_a_view_submission_ack_is_judged_against_the_view_the_app_opened() -> None:
    request = {
        "type": "view_submission",
        "view": {"callback_id": "form", "state": {"values": {"name": {}}}},
    }
    opened = [modal(section("intro", "intro"), input_block("name"))]
    ok = {"response_action": "errors", "errors": {"name": "Required"}}
    assert bk.check_ack(request, ok, opened) == []
    bad = {"response_action": "errors", "errors": {"title": "Required"}}
    assert rules(bk.check_ack(request, bad, opened)) == {"error_keys"}
    # Two forms share the callback id: the one holding the submitted inputs is the judge.
    other = modal(input_block("sdl"))
    assert bk.check_ack(request, ok, [*opened, other]) == []
    wrong = {"response_action": "errors", "errors": {"sdl": "Required"}}
    assert rules(bk.check_ack(request, wrong, [*opened, other])) == {"error_keys"}
    # Without an opened view of that callback id, the submitted view's input blocks count.
    submitted = {**request, "view": {**opened[0], "state": {"values": {"name": {}}}}}
    assert rules(bk.check_ack(submitted, bad, [])) == {"error_keys"}
    assert bk.check_ack(submitted, ok, []) == []
    # A made-up submission without blocks can only be judged on having errors at all.
    assert bk.check_ack(request, bad, []) == []
    empty = {"response_action": "errors", "errors": {}}
    assert rules(bk.check_ack(request, empty, [])) == {"error_keys"}


def test_a_view_in_an_update_ack_is_judged() -> None:
    request = {"type": "view_submission", "view": {"callback_id": "form"}}
    bad_view = modal(input_block("a"))
    del bad_view["submit"]  # a modal with inputs needs a submit button
    found = bk.check_ack(request, {"response_action": "update", "view": bad_view}, [])
    assert rules(found) == {"schema"}


def test_a_slash_command_ack_is_a_message() -> None:
    assert rules(bk.check_ack({"command": "/deploy"}, {"text": "use <command>"}, [])) == {"mrkdwn"}
    assert bk.check_ack({"command": "/deploy"}, {"text": "use &lt;command&gt;"}, []) == []


def test_views_are_judged_by_their_schema() -> None:
    assert bk.check_call("views.open", {"view": modal(input_block("name"))}) == []
    long_title = modal(input_block("name"))
    long_title["title"]["text"] = "t" * 25  # ≤ 24
    found = bk.check_call("views.open", {"view": long_title})
    assert rules(found) == {"schema"}
    assert bk.slack_error("views.open", found) == "invalid_arguments"


async def test_the_fake_slack_rejects_what_slack_would() -> None:
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    async with FakeSlackAPI() as slack:
        slack.payload_check = bk.payload_check
        slack.add_token("xoxb-t", "T1")
        client = AsyncWebClient(token="xoxb-t", base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="fine", blocks=GOOD_MESSAGE["blocks"])
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="C1", text="cut <!date^17")
        assert raised.value.response["error"] == "invalid_blocks"
        assert "[mrkdwn]" in raised.value.response["response_metadata"]["messages"][0]
        [rejected] = slack.rejections
        assert rejected.failed and rejected.rejected is not None
        assert slack.calls_to("chat.postMessage") == [slack.calls[0]]

        import aiohttp

        async with aiohttp.ClientSession() as http:
            url = slack.response_url("k")
            async with http.post(url, json={"text": "ok"}) as answer:
                assert answer.status == 200
            async with http.post(url, json={"text": "a <b"}) as answer:
                assert answer.status == 400
                assert await answer.text() == "invalid_blocks"
        assert len(slack.rejections) == 2
        slack.rejections.clear()  # sent on purpose: not the app's mistakes


async def test_a_fake_slack_that_answers_everything_is_judged_when_the_test_ends() -> None:
    """The shell's and `deploybot serve`'s fakes answer at once (their timing is the app's);
    what they were sent is judged afterwards (tests/conftest.py)."""
    from slack_sdk.web.async_client import AsyncWebClient

    from tests.conftest import _judged

    async with FakeSlackAPI() as slack:
        slack.add_token("xoxb-t", "T1")
        client = AsyncWebClient(token="xoxb-t", base_url=slack.base_url)
        await client.chat_postMessage(channel="C1", text="fine")
        assert _judged(slack) == []
        await client.chat_postMessage(channel="C1", text="cut <!date^17")  # answered ok
        [found] = _judged(slack)
        assert found.startswith("chat.postMessage: [mrkdwn] text: unclosed '<'")
        slack.calls.clear()  # sent on purpose: not the app's mistakes
