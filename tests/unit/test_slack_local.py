"""bot.slack_local: the fake Slack Web API, signed payloads (accepted by Bolt), text rendering."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.slack_local import (
    FakeSlackAPI,
    SignedRequest,
    SlackCall,
    block_actions,
    event_callback,
    input_values,
    render_message,
    render_view,
    slash_command,
    state_values,
    view_submission,
)
from bot.slack_local.text import confirm_text, match_option, mrkdwn_to_text
from tests.conftest import SlackJudge

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test"


@pytest.fixture(autouse=True)
def _no_block_kit_judge(slack_rejections: SlackJudge) -> None:
    """These tests are of the fake itself, with skeletal payloads: Slack's Block Kit rules
    (tests/blockkit_support.py, judged in every other test) are not what they check."""
    slack_rejections.enabled = False


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlackAPI]:
    async with FakeSlackAPI() as api:
        api.add_token(TOKEN, "T111")
        yield api


def client(slack: FakeSlackAPI, token: str | None = TOKEN, **kw: Any) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=slack.base_url, **kw)


# -- fake Web API ----------------------------------------------------------------------


async def test_serves_on_loopback_and_refuses_other_hosts(slack: FakeSlackAPI) -> None:
    assert slack.base_url.startswith("http://127.0.0.1:")
    assert slack.base_url.endswith("/api/")
    assert slack.port > 0
    with pytest.raises(ValueError, match="loopback"):
        FakeSlackAPI(host="0.0.0.0")


async def test_records_json_and_form_calls_with_tokens(slack: FakeSlackAPI) -> None:
    web = client(slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    first = await web.chat_postMessage(channel="C111", text="hi", blocks=blocks)  # JSON body
    second = await web.api_call(  # form body, blocks as a JSON string, as older clients send
        "chat.postMessage", data={"channel": "C111", "text": "again", "blocks": json.dumps(blocks)}
    )
    json_call, form_call = slack.calls_to("chat.postMessage")
    assert json_call.token == form_call.token == TOKEN
    assert json_call.headers["content-type"].startswith("application/json")
    assert form_call.headers["content-type"].startswith("application/x-www-form-urlencoded")
    assert json_call.body["blocks"] == form_call.body["blocks"] == blocks
    assert form_call.body["text"] == "again"
    assert json_call.path == "/api/chat.postMessage"
    assert first["ts"] == "1700000000.000100" and float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == blocks and first["message"]["ts"] == first["ts"]
    assert json_call.response == first.data

    updated = await web.chat_update(channel="C111", ts=first["ts"], text="edited")
    assert (updated["ts"], updated["text"]) == (first["ts"], "edited")
    ephemeral = await web.chat_postEphemeral(channel="C111", user="U111", text="psst")
    assert ephemeral["message_ts"]
    dm = await web.conversations_open(users="U111")
    assert dm["channel"]["id"].startswith("D")
    assert (await web.conversations_open(users="U111"))["channel"]["id"] == dm["channel"]["id"]
    assert (await web.api_call("reactions.add", json={"name": "x"}))["ok"] is True

    with pytest.raises(SlackApiError) as err:
        await web.api_call("chat.postMessage", json={"channel": "C111"})
    assert err.value.response["error"] == "no_text"

    slack.clear()
    assert slack.calls == []


async def test_rate_limit_injection_and_sdk_retry(slack: FakeSlackAPI) -> None:
    slack.fail_next("chat.postMessage")  # 429, Retry-After: 1
    with pytest.raises(SlackApiError) as err:
        await client(slack).chat_postMessage(channel="C111", text="hi")
    assert err.value.response.status_code == 429
    assert err.value.response.headers["Retry-After"] in ("1", ["1"])

    slack.fail_next("chat.postMessage", retry_after=0)  # keep the SDK's sleep under a second
    handler = AsyncRateLimitErrorRetryHandler(max_retry_count=1)
    result = await client(slack, retry_handlers=[handler]).chat_postMessage(
        channel="C111", text="hi"
    )
    assert result["ok"] is True
    attempts = slack.calls_to("chat.postMessage", include_failed=True)
    assert [c.failed for c in attempts] == [True, True, False]
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_error_fault_answers_ok_false(slack: FakeSlackAPI) -> None:
    slack.fail_next("views.open", status=200, error="expired_trigger_id", times=2)
    web = client(slack)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await web.views_open(trigger_id="t", view={"type": "modal", "blocks": []})
        assert err.value.response["error"] == "expired_trigger_id"
    assert (await web.views_open(trigger_id="t", view={"type": "modal", "blocks": []}))["ok"]


async def test_token_registry(slack: FakeSlackAPI) -> None:
    slack.add_token("xoxb-other", "T222", bot_user_id="UB2", bot_id="BB2")
    auth = await client(slack, "xoxb-other").auth_test()
    assert (auth["team_id"], auth["user_id"], auth["bot_id"]) == ("T222", "UB2", "BB2")

    for token, error in (("xoxb-unknown", "invalid_auth"), (None, "not_authed")):
        with pytest.raises(SlackApiError) as err:
            await client(slack, token).chat_postMessage(channel="C1", text="x")
        assert err.value.response["error"] == error
        assert err.value.response.status_code == 200

    slack.revoke_token("xoxb-other")
    with pytest.raises(SlackApiError, match="invalid_auth"):
        await client(slack, "xoxb-other").auth_test()


async def test_lenient_tokens() -> None:
    async with FakeSlackAPI(strict_tokens=False) as slack:
        auth = await client(slack, "xoxb-anything").auth_test()
        assert auth["team_id"] == "T111"


async def test_views_open_update_push_publish(slack: FakeSlackAPI) -> None:
    web = client(slack)
    view = {"type": "modal", "callback_id": "deploy", "title": {"type": "plain_text", "text": "T"}}
    opened = (await web.views_open(trigger_id="1.2.3", view={**view, "external_id": "ext-1"}))[
        "view"
    ]
    assert opened["id"].startswith("V") and opened["hash"].startswith("h")
    assert opened["callback_id"] == "deploy"

    updated = (
        await web.views_update(
            view_id=opened["id"], hash=opened["hash"], view={**view, "blocks": []}
        )
    )["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert updated["external_id"] == "ext-1"

    with pytest.raises(SlackApiError, match="hash_conflict"):
        await web.views_update(view_id=opened["id"], hash=opened["hash"], view=view)
    by_external = (await web.views_update(external_id="ext-1", view=view))["view"]
    assert by_external["id"] == opened["id"] and by_external["hash"] != updated["hash"]
    with pytest.raises(SlackApiError, match="not_found"):
        await web.views_update(view_id="VNOPE", view=view)

    pushed = (await web.views_push(trigger_id="1.2.3", view=view))["view"]
    assert pushed["id"] != opened["id"]
    home = await web.views_publish(user_id="U111", view={"type": "home", "blocks": []})
    assert home["view"]["type"] == "home"
    assert slack.views[opened["id"]]["hash"] == by_external["hash"]


async def test_users_info_registry(slack: FakeSlackAPI) -> None:
    slack.add_user("U111", name="ana", is_admin=True, tz="Europe/Lisbon")
    user = (await client(slack).users_info(user="U111"))["user"]
    assert user["id"] == "U111" and user["team_id"] == "T111" and user["name"] == "ana"
    assert (user["is_admin"], user["is_owner"], user["tz"]) == (True, False, "Europe/Lisbon")
    with pytest.raises(SlackApiError, match="user_not_found"):
        await client(slack).users_info(user="U999")
    assert slack.calls_to("users.info")[0].http_method == "GET"


@pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")  # slack_sdk's
async def test_oauth_code_exchange_installs_a_bot_token(slack: FakeSlackAPI) -> None:
    slack.add_oauth_code(
        "code-1", team_id="T333", team_name="Acme", user_id="U3", bot_token="xoxb-3"
    )
    web = AsyncWebClient(base_url=slack.base_url)
    install = await web.oauth_v2_access(client_id="1.2", client_secret="s", code="code-1")
    assert install["access_token"] == "xoxb-3" and install["token_type"] == "bot"
    assert install["team"] == {"id": "T333", "name": "Acme"}
    assert install["authed_user"]["id"] == "U3" and install["enterprise"] is None
    assert (await client(slack, "xoxb-3").auth_test())["team_id"] == "T333"
    with pytest.raises(SlackApiError, match="invalid_code"):  # codes are single-use
        await web.oauth_v2_access(client_id="1.2", client_secret="s", code="code-1")


async def test_response_url_posts_are_recorded(slack: FakeSlackAPI) -> None:
    url = slack.response_url("cmd-1")
    assert url.endswith("/webhook/cmd-1") and slack.response_url() != slack.response_url()
    sent = await AsyncWebhookClient(url).send(
        text="Deploying…", response_type="ephemeral", replace_original=True
    )
    assert (sent.status_code, sent.body) == (200, "ok")
    [call] = await slack.wait_for("response_url")
    assert call.response_url == "cmd-1" and call.token is None
    assert call.body["text"] == "Deploying…" and call.body["replace_original"] is True

    slack.fail_next("response_url", status=404, error="expired_url")
    async with aiohttp.ClientSession() as session, session.post(url, json={"text": "x"}) as r:
        assert (r.status, await r.text()) == (404, "expired_url")


async def test_on_call_listener_and_wait_for_timeout(slack: FakeSlackAPI) -> None:
    seen: list[SlackCall] = []

    async def listener(call: SlackCall) -> None:
        seen.append(call)

    slack.on_call = listener
    await client(slack).chat_postMessage(channel="C111", text="hi")
    assert [c.method for c in seen] == ["chat.postMessage"]
    with pytest.raises(AssertionError, match=r"views\.open.*chat\.postMessage x1"):
        await slack.wait_for("views.open", timeout=0.05)


# -- signed payloads -------------------------------------------------------------------


def assert_signed(req: SignedRequest) -> None:
    assert SignatureVerifier(SECRET).is_valid(
        body=req.body,
        timestamp=req.headers["x-slack-request-timestamp"],
        signature=req.headers["x-slack-signature"],
    )


def test_payloads_are_signed_and_shaped() -> None:
    cmd = slash_command(secret=SECRET, text="list", response_url="http://127.0.0.1/webhook/1")
    assert_signed(cmd)
    form = cmd.data()
    assert form["command"] == "/deploy" and form["text"] == "list" and form["trigger_id"]
    assert form["is_enterprise_install"] == "false" and "enterprise_id" not in form

    option = {"text": {"type": "plain_text", "text": "H100"}, "value": "h100"}
    select = block_actions(
        secret=SECRET, action_id="pick", value=None, response_url="u", selected_option=option
    )
    assert_signed(select)
    action = select.data()["actions"][0]
    assert action["type"] == "static_select" and action["selected_option"] == option
    assert "value" not in action

    values = input_values({("name", "v"): "llama", ("gpu", "v"): {"selected_option": option}})
    assert values == {
        "name": {"v": {"type": "plain_text_input", "value": "llama"}},
        "gpu": {"v": {"type": "static_select", "selected_option": option}},
    }
    sub = view_submission(secret=SECRET, callback_id="cb", values=values, external_id="e")
    assert_signed(sub)
    assert sub.data()["view"]["external_id"] == "e"

    ev = event_callback(secret=SECRET, event={"type": "app_mention"}, retry_num=1)
    assert_signed(ev)
    assert ev.headers["content-type"] == "application/json"
    assert ev.headers["x-slack-retry-num"] == "1" and ev.headers["x-slack-retry-reason"]
    assert ev.data()["authorizations"][0]["user_id"] == "UBOT"
    assert ev.as_bolt_headers()["x-slack-retry-num"] == ["1"]


async def dispatch(app: AsyncApp, req: SignedRequest) -> Any:
    return await app.async_dispatch(AsyncBoltRequest(body=req.body, headers=req.as_bolt_headers()))


async def test_bolt_accepts_built_payloads(slack: FakeSlackAPI) -> None:
    app = AsyncApp(
        signing_secret=SECRET,
        client=AsyncWebClient(token=TOKEN, base_url=slack.base_url),
        process_before_response=True,
    )
    ran: dict[str, Any] = {}

    @app.command("/deploy")
    async def on_command(ack: Any, command: dict[str, Any], respond: Any) -> None:
        await ack()
        ran["command"] = command["text"]
        await respond(text="on it")

    @app.action("stop")
    async def on_action(ack: Any, body: dict[str, Any], context: Any) -> None:
        await ack()
        ran["action"] = (body["actions"][0]["value"], context.team_id, context.bot_user_id)

    @app.view("deploy_modal")
    async def on_view(ack: Any, view: dict[str, Any]) -> None:
        await ack()
        ran["view"] = view["state"]["values"]["name"]["v"]["value"]

    @app.event("app_mention")
    async def on_mention(event: dict[str, Any]) -> None:
        ran["event"] = event["text"]

    url = slack.response_url()
    requests = {
        "command": slash_command(secret=SECRET, text="list akash", response_url=url),
        "action": block_actions(secret=SECRET, action_id="stop", value="dep-1", response_url=url),
        "view": view_submission(
            secret=SECRET,
            callback_id="deploy_modal",
            values=input_values({("name", "v"): "llama"}),
        ),
        "event": event_callback(
            secret=SECRET,
            event={"type": "app_mention", "user": "U111", "text": "<@UBOT> hi", "ts": "1.2"},
        ),
    }
    for req in requests.values():
        assert (await dispatch(app, req)).status == 200
    assert ran == {
        "command": "list akash",
        "action": ("dep-1", "T111", "UBOT"),
        "view": "llama",
        "event": "<@UBOT> hi",
    }
    [responded] = await slack.wait_for("response_url")
    assert responded.body["text"] == "on it"
    assert len(slack.calls_to("auth.test")) == 1

    tampered = requests["command"]
    tampered.body = tampered.body.replace("list+akash", "delete+all")
    assert (await dispatch(app, tampered)).status == 401
    stale = slash_command(
        secret=SECRET, text="x", response_url=url, timestamp=int(time.time()) - 600
    )
    assert (await dispatch(app, stale)).status == 401


# -- text rendering --------------------------------------------------------------------

CONFIRM = {
    "title": {"type": "plain_text", "text": "Stop deployment?"},
    "text": {"type": "mrkdwn", "text": "Stop Akash deployment “llama”?"},
    "confirm": {"type": "plain_text", "text": "Stop"},
    "deny": {"type": "plain_text", "text": "Cancel"},
    "style": "danger",
}


def test_render_card_with_fields_buttons_and_context() -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Deployments"}},
        {
            "type": "section",
            "block_id": "card_1",
            "text": {"type": "mrkdwn", "text": "*llama*  `dep-1`"},
            "fields": [
                {"type": "mrkdwn", "text": "*Status*\n:large_green_circle: running"},
                {
                    "type": "mrkdwn",
                    "text": "*Endpoints*\n<https://a.example|a>\n<https://b.example>",
                },
            ],
        },
        {"type": "divider"},
        {
            "type": "actions",
            "block_id": "actions_1",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Logs"},
                    "action_id": "deployment_logs",
                    "value": "v-logs",
                },
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Stop"},
                    "action_id": "deployment_stop",
                    "value": "v-stop",
                    "style": "danger",
                    "confirm": CONFIRM,
                },
                {
                    "type": "static_select",
                    "action_id": "market",
                    "placeholder": {"type": "plain_text", "text": "Pick market"},
                    "options": [
                        {"text": {"type": "plain_text", "text": "H100"}, "value": "h100"},
                        {"text": {"type": "plain_text", "text": "A100"}, "value": "a100"},
                    ],
                },
            ],
        },
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "by <@U123> &lt;!channel&gt; 1 &amp; 2"}],
        },
        {"type": "image", "image_url": "https://x/y.png", "alt_text": "chart"},
    ]
    msg = render_message("fallback", blocks)
    lines = msg.text.splitlines()
    assert lines[0] == "Deployments" and set(lines[1]) == {"═"}
    assert "*llama*  `dep-1`" in lines
    assert "  Status: :large_green_circle: running" in lines
    assert "  Endpoints: a (https://a.example), https://b.example" in lines
    assert lines[
        lines.index("  Endpoints: a (https://a.example), https://b.example") + 1
    ].startswith("────")
    assert "[1] Logs  [2] Stop (danger, confirm)" in lines
    assert "[3] Pick market: a) H100  b) A100" in lines
    assert "  · by @U123 <!channel> 1 & 2" in lines
    assert lines[-1] == "[image: chart]"
    assert "fallback" not in msg.text

    logs, stop, market = msg.elements
    assert (stop.number, stop.action_id, stop.block_id, stop.value) == (
        2,
        "deployment_stop",
        "actions_1",
        "v-stop",
    )
    assert stop.kind == "button" and stop.confirm == CONFIRM and logs.confirm is None
    assert market.kind == "static_select" and market.options == [("H100", "h100"), ("A100", "a100")]
    assert confirm_text(CONFIRM) == "Stop deployment? Stop Akash deployment “llama”? [Stop/Cancel]"
    assert match_option(market.options, "b") == ("A100", "a100")
    assert match_option(market.options, "h100") == ("H100", "h100")
    assert match_option(market.options, "zz") is None


def test_mrkdwn_is_readable_and_terminal_safe() -> None:
    assert render_message("see <https://x.io|docs> <#C1|ops> <!here>", None).text == (
        "see docs (https://x.io) #ops @here"
    )
    assert mrkdwn_to_text("&lt;!channel&gt; \x1b[31mred\x1b[0m") == "<!channel> [31mred[0m"
    assert render_message(None, None).text == ""


def test_render_modal_inputs_and_state_values() -> None:
    view = {
        "id": "V1",
        "type": "modal",
        "callback_id": "deploy_modal",
        "private_metadata": '{"channel": "C111"}',
        "title": {"type": "plain_text", "text": "New deployment"},
        "submit": {"type": "plain_text", "text": "Deploy"},
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Fill in *both*"}},
            {
                "type": "input",
                "block_id": "spec",
                "label": {"type": "plain_text", "text": "Job definition"},
                "hint": {"type": "plain_text", "text": "JSON"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": "json",
                    "multiline": True,
                    "placeholder": {"type": "plain_text", "text": "{…}"},
                },
            },
            {
                "type": "input",
                "block_id": "market",
                "label": {"type": "plain_text", "text": "Market"},
                "element": {
                    "type": "static_select",
                    "action_id": "pick",
                    "options": [
                        {"text": {"type": "plain_text", "text": "H100"}, "value": "h100"},
                        {"text": {"type": "plain_text", "text": "A100"}, "value": "a100"},
                    ],
                    "initial_option": {
                        "text": {"type": "plain_text", "text": "A100"},
                        "value": "a100",
                    },
                },
            },
            {
                "type": "input",
                "block_id": "opts",
                "optional": True,
                "label": {"type": "plain_text", "text": "Options"},
                "element": {
                    "type": "checkboxes",
                    "action_id": "flags",
                    "options": [
                        {"text": {"type": "plain_text", "text": "Spot"}, "value": "spot"},
                        {"text": {"type": "plain_text", "text": "Public"}, "value": "public"},
                    ],
                },
            },
            {
                "type": "input",
                "block_id": "count",
                "label": {"type": "plain_text", "text": "Replicas"},
                "element": {"type": "number_input", "action_id": "n", "is_decimal_allowed": False},
            },
        ],
    }
    rendered = render_view(view)
    assert rendered.title == "New deployment" and rendered.text == "Fill in *both*"
    assert (rendered.submit_label, rendered.close_label) == ("Deploy", "Cancel")
    assert rendered.callback_id == "deploy_modal" and rendered.view_id == "V1"
    assert rendered.private_metadata == '{"channel": "C111"}'
    spec, market, opts, count = rendered.inputs
    assert (spec.kind, spec.hint, spec.placeholder, spec.optional) == (
        "multiline",
        "JSON",
        "{…}",
        False,
    )
    assert (market.kind, market.initial_value) == ("static_select", "a100")
    assert opts.kind == "checkboxes" and opts.optional
    assert count.kind == "number_input"

    answers = {
        ("spec", "json"): '{"image": "x"}\n',
        ("opts", "flags"): "a, public",
        ("count", "n"): "2",
    }
    values = state_values(rendered.inputs, answers)
    assert values == {
        "spec": {"json": {"type": "plain_text_input", "value": '{"image": "x"}\n'}},
        "market": {
            "pick": {
                "type": "static_select",
                "selected_option": {
                    "text": {"type": "plain_text", "text": "A100", "emoji": True},
                    "value": "a100",
                },
            }
        },
        "opts": {
            "flags": {
                "type": "checkboxes",
                "selected_options": [
                    {
                        "text": {"type": "plain_text", "text": "Spot", "emoji": True},
                        "value": "spot",
                    },
                    {
                        "text": {"type": "plain_text", "text": "Public", "emoji": True},
                        "value": "public",
                    },
                ],
            }
        },
        "count": {"n": {"type": "number_input", "value": "2"}},
    }
    with pytest.raises(ValueError, match="Market"):
        state_values(rendered.inputs, {**answers, ("market", "pick"): "TPU"})
    with pytest.raises(ValueError, match="Replicas is required"):
        state_values(rendered.inputs, {**answers, ("count", "n"): ""})
    with pytest.raises(ValueError, match="not a number"):
        state_values(rendered.inputs, {**answers, ("count", "n"): "two"})
    assert state_values(rendered.inputs, {**answers, ("opts", "flags"): ""})["opts"] == {
        "flags": {"type": "checkboxes", "selected_options": []}
    }
