"""Every ``/deploy`` command over HTTP, against every provider that supports it.

Each test checks both sides: what Slack received (the ack, the response_url bodies, Web API
calls) and what the provider saw (the emulator's request log, or its world afterwards).
"""

from __future__ import annotations

import base64
import json
import re
from decimal import Decimal
from typing import Any

import pytest

from bot import metrics
from bot.core import replies
from bot.core.parsing import parse
from bot.core.render import escape, money
from bot.slack_local import payloads
from tests.e2e.harness import ADMIN, MEMBER, TEAM, SlackEnv, buttons, message_text

# -- helpers ----------------------------------------------------------------------------------

WRITES = ("POST", "PUT", "PATCH", "DELETE")
ROW = re.compile(r"`([^`]+)` · (Nosana|Akash|NeuraNET) ·")
TRACE = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception)\b")


def nosana_id(env: SlackEnv, name: str) -> str:
    return next(d.id for d in env.api("nosana").deployments.values() if d.name == name)


def neuranet_id(env: SlackEnv, name: str) -> str:
    return next(d.id for d in env.api("neuranet").deployments.values() if d.name == name)


def akash_leased(env: SlackEnv) -> list[str]:
    """The demo account's active Akash deployments with a running lease (GPU one first)."""
    return [
        d.dseq
        for d in env.api("akash").deployments_of(env.keys["akash"])
        if d.state == "active" and any(lease.state == "active" for lease in d.leases)
    ]


def writes(env: SlackEnv, provider: str) -> int:
    api = env.api(provider)
    return sum(api.count(method) for method in WRITES)


def all_requests(env: SlackEnv) -> int:
    return sum(len(env.api(p).requests) for p in ("nosana", "akash", "neuranet"))


def read_reply(env: SlackEnv, key: str | None) -> dict[str, Any]:
    """A read answers privately, replacing the "⏳ Looking that up…" note."""
    bodies = env.responses(key)
    assert len(bodies) == 1, bodies
    body = bodies[0]
    assert body["replace_original"] is True
    assert body["response_type"] == "ephemeral"
    return body


def posted_result(env: SlackEnv, key: str | None) -> dict[str, Any]:
    """A change deletes the ⏳ note, then posts the result to the channel."""
    bodies = env.responses(key)
    assert len(bodies) == 2, bodies
    assert bodies[0].get("delete_original") is True
    result = bodies[1]
    assert result["response_type"] == "in_channel"
    assert result["replace_original"] is False
    return result


def one_liner(env: SlackEnv, key: str | None) -> str:
    """An error: one private line replacing the ⏳ note, never a stack trace."""
    bodies = env.responses(key)
    assert len(bodies) == 1, bodies
    body = bodies[0]
    assert body["replace_original"] is True
    assert body["response_type"] == "ephemeral"
    text = body["text"]
    assert text.startswith(":warning: ")
    assert "\n" not in text
    assert not TRACE.search(message_text(body)), text
    return text


def nothing_leaked(env: SlackEnv) -> None:
    for call in env.slack.calls:
        dumped = json.dumps(call.body, ensure_ascii=False)
        assert not TRACE.search(dumped), (call.method, dumped)


def texts(body: dict[str, Any]) -> str:
    """Every text of a message (fallback, blocks, fields, elements) as people read them."""
    found: list[str] = [body.get("text", "")]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                if isinstance(value, dict | list):
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(body.get("blocks") or [])
    return "\n".join(found)


def listed_ids(body: dict[str, Any]) -> list[str]:
    return [m.group(1) for m in ROW.finditer(message_text(body))]


def block_text_size(blocks: list[dict[str, Any]]) -> int:
    size = 0
    for block in blocks:
        size += len((block.get("text") or {}).get("text", ""))
        size += sum(len(f.get("text", "")) for f in block.get("fields") or [])
        size += sum(len(e.get("text", "")) for e in block.get("elements") or [] if "type" in e)
    return size


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        element["action_id"]
        for block in blocks
        for element in block.get("elements") or []
        if "action_id" in element
    ]


# -- help and usage ---------------------------------------------------------------------------


async def test_help_and_every_help_topic_are_answered_in_the_ack(env: SlackEnv) -> None:
    assert (await env.command("")).body == (await env.command("help")).body
    answer = await env.command("help")
    assert answer.status == 200
    assert answer.body["response_type"] == "ephemeral"
    text = texts(answer.body)
    for name, shape, _ in replies.COMMANDS:
        assert f"/deploy {escape(shape)}" in text, name
        topic = await env.command(f"help {name}")
        assert topic.status == 200
        assert topic.body["response_type"] == "ephemeral"
        assert f"*/deploy {escape(shape)}*" in topic.body["text"], name
        assert ":warning:" not in message_text(topic.body)
    # All of it came back in the acks: nothing went to Slack or to a provider afterwards.
    assert env.calls("response_url") == []
    assert env.calls("chat.postMessage") == []
    assert all_requests(env) == 0


async def test_help_and_usage_are_answered_before_the_listener(env: SlackEnv) -> None:
    """A listener middleware answers them from their serialized replies: JSON acks like the
    listener's, counted, with no job written and nothing run after the ack."""
    store = env.bot.jobs.store  # type: ignore[union-attr]
    before = await store.counts()
    counted = {
        kind: metrics.COMMANDS.labels(kind, result)._value.get()
        for kind, result in (("help", "ok"), ("usage", "usage"))
    }
    request = payloads.slash_command(
        secret=env.secret, text="help", response_url=env.slack.response_url(), team_id=TEAM
    )
    response = await env.http.post("/slack/events", data=request.body, headers=request.headers)
    assert response.status == 200
    assert response.content_type == "application/json"
    assert await response.json() == replies.help_reply(None).payload()
    assert (await env.command("frobnicate")).body["text"].startswith("I don't know the command")
    await env.settle()
    assert await store.counts() == before
    assert metrics.COMMANDS.labels("help", "ok")._value.get() == counted["help"] + 1
    assert metrics.COMMANDS.labels("usage", "usage")._value.get() == counted["usage"] + 1
    assert env.calls("response_url") == []
    assert all_requests(env) == 0


async def test_deferred_commands_are_answered_before_the_listener(
    env: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every command but the forms is answered by the listener middleware as soon as its job
    is committed: no listener task, no wait for Bolt's poll of ``ack()``. The job still runs
    and answers on the response URL; the form commands still reach the listener."""
    runner = env.bot.app.listener_runner
    started: list[str] = []
    run = runner.run

    async def counted(**kwargs: Any) -> Any:
        started.append(kwargs["listener_name"])
        return await run(**kwargs)

    monkeypatch.setattr(runner, "run", counted)
    store = env.bot.jobs.store  # type: ignore[union-attr]
    queued = (await store.counts()).get("done", 0)
    answer = await env.command("list")
    assert answer.status == 200
    assert answer.body == replies.working_reply(parse("list")).payload()
    assert started == []
    assert "Nosana" in message_text(read_reply(env, answer.response_key))
    assert (await store.counts()).get("done", 0) == queued + 1
    await env.command("connect nosana", user=ADMIN)
    assert len(started) == 1  # the form: the listener opens it with the trigger id
    assert env.calls("views.open")


async def test_unparseable_text_gets_usage_in_the_ack_never_an_error(env: SlackEnv) -> None:
    cases = {
        "frobnicate": "I don't know the command",
        "scale llama3-chat": "Usage: /deploy scale",
        "scale llama3-chat many": "must be a whole number",
        'schedule eval-sweep "61 * * * *"': "not a valid cron schedule",
        "logs llama3-chat --since soon": "--since must be",
        "list nosana bogus": "Unknown status",
        "deposit 1793523600000 -5": "more than $0",
        "connect": "Usage: /deploy connect",
        "connect aws": "Unknown provider",
        "llama3-chat start, list": "can't be a step of a chain",
        'show "unclosed': "A quote is not closed",
        "timeout llama3-chat 90s": "whole minutes",
        "nodes min-cpu=abc": "min-cpu must be a number",
        "markets colour=red": "is not a filter here",
    }
    for text, problem in cases.items():
        answer = await env.command(text)
        assert answer.status == 200, text
        assert answer.body["response_type"] == "ephemeral", text
        body = message_text(answer.body)
        assert escape(problem) in body or problem in body, (text, body)
        assert ":information_source:" in body
        assert ":warning:" not in body
        assert "/deploy" in body  # the usage is shown with the problem
    assert env.calls("response_url") == []
    assert all_requests(env) == 0


# -- provider accounts ------------------------------------------------------------------------


async def test_providers_shows_masked_keys_and_never_a_key(env: SlackEnv) -> None:
    answer = await env.command("providers")
    body = read_reply(env, answer.response_key)
    text = message_text(body)
    for name, key in env.keys.items():
        assert f"`…{key[-4:]}`" in text, name
    assert "Nosana" in text and "Akash" in text and "NeuraNET" in text
    assert "provider_connect_nosana" not in buttons(body)  # all connected: no connect buttons
    everything = json.dumps([c.body for c in env.slack.calls], ensure_ascii=False)
    for key in env.keys.values():
        assert key not in everything
        assert key[:-4] not in everything


async def test_connect_opens_the_form_for_admins_only(env: SlackEnv) -> None:
    refused = await env.command("connect nosana", user=MEMBER)
    assert refused.status == 200 and refused.body == {}
    [note] = env.responses(refused.response_key)
    assert note["response_type"] == "ephemeral"
    assert note["text"].startswith(":warning: Only deploybot admins")
    assert env.calls("views.open") == []

    opened = await env.command("connect akash", user=ADMIN)
    assert opened.status == 200
    [call] = env.calls("views.open")
    view = call.body["view"]
    assert view["callback_id"] == "connect_provider"
    assert json.loads(view["private_metadata"]) == {"p": "akash", "c": "C111"}
    assert "Akash" in json.dumps(view["title"])
    assert env.responses(opened.response_key) == []
    assert all_requests(env) == 0  # nothing is checked until a key is submitted


async def test_disconnect_is_for_admins_and_then_commands_say_nothing_is_connected(
    env: SlackEnv,
) -> None:
    refused = await env.command("disconnect nosana", user=MEMBER)
    assert "Only deploybot admins" in one_liner(env, refused.response_key)
    assert await env.storage.keys.get(team_id=TEAM, provider="nosana") is not None

    done = await env.command("disconnect nosana", user=ADMIN)
    result = posted_result(env, done.response_key)
    assert "disconnected Nosana" in result["text"] and "<@UADMIN>" in result["text"]
    assert await env.storage.keys.get(team_id=TEAM, provider="nosana") is None

    listed = await env.command("list nosana")
    assert "No Nosana account is connected" in one_liner(env, listed.response_key)
    shown = await env.command("show llama3-chat --provider nosana")
    assert "/deploy connect nosana" in one_liner(env, shown.response_key)

    providers = await env.command("providers")
    body = read_reply(env, providers.response_key)
    assert "Not connected: Nosana" in message_text(body)
    assert buttons(body) == {"provider_connect_nosana": "nosana"}

    again = await env.command("disconnect nosana", user=ADMIN)
    [note] = env.responses(again.response_key)
    assert note["text"] == "Nosana wasn't connected." and note["response_type"] == "ephemeral"

    for name in ("akash", "neuranet"):
        await env.command(f"disconnect {name}", user=ADMIN)
    nothing = await env.command("list")
    assert "No provider account is connected" in one_liner(env, nothing.response_key)
    stop = await env.command("stop llama3-chat")
    assert "No provider account is connected" in one_liner(env, stop.response_key)
    assert sum(writes(env, p) for p in ("nosana", "akash", "neuranet")) == 0


# -- list -------------------------------------------------------------------------------------


async def test_list_shows_every_provider_and_hides_archived_and_closed(env: SlackEnv) -> None:
    answer = await env.command("list")
    assert "Looking" in answer.body["text"]
    body = read_reply(env, answer.response_key)
    ids = set(listed_ids(body))
    assert nosana_id(env, "llama3-chat") in ids
    assert neuranet_id(env, "llama-chat") in ids
    assert set(akash_leased(env)) <= ids
    assert nosana_id(env, "whisper-transcribe-batch") not in ids  # archived
    closed = [d.dseq for d in env.api("akash").deployments_of(env.keys["akash"])]
    assert not {closed[0], closed[1]} & ids  # closed by the owner / out of funds
    assert "/deploy list all" in message_text(body)
    for provider in ("nosana", "akash", "neuranet"):
        assert env.api(provider).count("GET", r".*/deployments") >= 1, provider


async def test_list_filters_by_provider_and_status_and_all_shows_everything(
    env: SlackEnv,
) -> None:
    running = await env.command("list nosana running")
    body = read_reply(env, running.response_key)
    assert body["text"].startswith("Deployments on Nosana (running)")
    expected = {nosana_id(env, n) for n in ("llama3-chat", "comfyui-dev", "eval-sweep")}
    assert set(listed_ids(body)) == expected
    assert env.api("akash").requests == [] and env.api("neuranet").requests == []

    everything = await env.command("list all")
    body = read_reply(env, everything.response_key)
    ids = set(listed_ids(body))
    assert nosana_id(env, "whisper-transcribe-batch") in ids
    assert set(akash_leased(env)) <= ids  # (Akash Console never lists closed deployments)
    assert "hidden" not in message_text(body)


async def test_list_next_walks_every_page_across_providers_exactly_once(env: SlackEnv) -> None:
    env.api("nosana").seed_bulk(env.keys["nosana"], 70)
    env.api("akash").seed_bulk(env.keys["akash"], 25)
    env.api("neuranet").seed_bulk(env.keys["neuranet"], 25)
    expected = (
        {d.id for d in env.api("nosana").deployments.values() if d.status != "ARCHIVED"}
        | {
            d.dseq
            for d in env.api("akash").deployments_of(env.keys["akash"])
            if d.state == "active"
        }
        | set(env.api("neuranet").deployments)
    )

    answer = await env.command("list")
    page = read_reply(env, answer.response_key)
    seen = listed_ids(page)
    pages = 1
    while "list_next" in buttons(page):
        click = await env.click("list_next", buttons(page)["list_next"])
        [page] = env.responses(click.response_key)
        assert page["replace_original"] is True and page["response_type"] == "ephemeral"
        pages += 1
        assert f"page {pages}" in page["text"]
        seen += listed_ids(page)
        assert pages < 20, "paging does not end"
    assert pages >= 4
    assert len(seen) == len(set(seen)), "a deployment was shown twice"
    assert set(seen) == expected


async def test_a_500_deployment_list_stays_within_slack_limits(env: SlackEnv) -> None:
    env.api("nosana").seed_bulk(env.keys["nosana"], 500)
    for text in ("list nosana", "list all", "list"):
        answer = await env.command(text)
        body = read_reply(env, answer.response_key)
        blocks = body["blocks"]
        assert len(blocks) <= 50, text
        ids = action_ids(blocks)
        assert len(ids) == len(set(ids)), text
        assert "list_next" in ids, text
        assert block_text_size(blocks) < 12_000, text
        assert len(json.dumps(blocks)) < 16_000, text
        assert all(len((b.get("text") or {}).get("text", "")) <= 3000 for b in blocks)


async def test_list_next_with_a_stale_value_is_a_one_liner(env: SlackEnv) -> None:
    nowhere = base64.urlsafe_b64encode(json.dumps({"p": ["aws"], "c": None}).encode()).decode()
    for value in ("not-a-page-state", nowhere):
        click = await env.click("list_next", value)
        [note] = env.responses(click.response_key)
        assert "out of date" in note["text"], value
        assert note["response_type"] == "ephemeral" and note["replace_original"] is False
    assert all_requests(env) == 0


# -- show ---------------------------------------------------------------------------------------


async def test_show_gives_each_provider_its_card_and_buttons(env: SlackEnv) -> None:
    gpu = akash_leased(env)[0]
    expected = {
        "llama3-chat": ({"deployment_stop", "deployment_logs"}, "Nosana"),
        gpu: ({"deployment_deposit", "deployment_close"}, "Akash"),
        "llama-chat": ({"deployment_stop", "deployment_logs", "deployment_delete"}, "NeuraNET"),
        "sd-render-batch": (
            {"deployment_start", "deployment_logs", "deployment_archive", "deployment_delete"},
            "Nosana",
        ),
        "sdxl-studio": ({"deployment_start", "deployment_logs", "deployment_delete"}, "NeuraNET"),
    }
    for ref, (actions, label) in expected.items():
        answer = await env.command(f"show {ref}")
        body = read_reply(env, answer.response_key)
        assert set(buttons(body)) == actions, ref
        assert f"({label})" in body["text"]
        card = body["blocks"][0]
        assert card["block_id"].startswith("card_")
        for action_id, value in buttons(body).items():
            decoded = json.loads(value)
            assert decoded["op"] == action_id.removeprefix("deployment_")
            assert decoded["p"] == label.lower()
    assert sum(writes(env, p) for p in ("nosana", "akash", "neuranet")) == 0

    # Endpoints: web addresses are links, an Akash forwarded port is shown as text.
    answer = await env.command(f"show {gpu}")
    endpoints = next(
        t for t in texts(read_reply(env, answer.response_key)).split("\n*") if "Endpoints" in t
    )
    assert re.search(r"<http://[^|>]+\|http://", endpoints)
    assert re.search(r"`provider\.[a-z.]+:\d+`", endpoints)
    assert all(link.startswith("http") for link in re.findall(r"<([^|>]+)\|", endpoints))


# -- start / stop ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "name", "stopped"),
    [("nosana", "llama3-chat", "STOPPED"), ("neuranet", "llama-chat", "stopped")],
)
async def test_stop_then_start(env: SlackEnv, provider: str, name: str, stopped: str) -> None:
    api = env.api(provider)
    dep_id = nosana_id(env, name) if provider == "nosana" else neuranet_id(env, name)
    answer = await env.command(f"stop {name}")
    assert answer.body["text"] == f":hourglass_flowing_sand: Stopping `{name}`…"
    result = posted_result(env, answer.response_key)
    assert f"<@{MEMBER}> stopped *{name}*" in result["text"]
    assert api.count("POST", r".*/deployments/[^/]+/stop") == 1

    env.clock.advance(600)
    api.advance()  # play the emulated world forward to the new time
    assert api.deployment(dep_id).status == stopped
    shown = await env.command(f"show {dep_id}")
    assert "deployment_start" in buttons(read_reply(env, shown.response_key))

    started = await env.command(f"start {name}")
    result = posted_result(env, started.response_key)
    assert f"started *{name}*" in result["text"]
    assert api.count("POST", r".*/deployments/[^/]+/start") == 1
    assert api.deployment(dep_id).status.lower() in ("starting", "pending", "running")


# -- Nosana archive / delete; NeuraNET delete; Akash close --------------------------------------


async def test_archive_and_delete_on_nosana(env: SlackEnv) -> None:
    api = env.api("nosana")
    batch = nosana_id(env, "sd-render-batch")
    archived = await env.command("archive sd-render-batch")
    result = posted_result(env, archived.response_key)
    assert "archived *sd-render-batch*" in result["text"]
    assert api.deployment(batch).status == "ARCHIVED"
    assert api.count("POST", r".*/deployments/[^/]+/archive") == 1

    draft = nosana_id(env, "notebook-draft")
    refused = await env.command("delete notebook-draft")
    assert "is a draft on Nosana, so `delete` is not possible now" in one_liner(
        env, refused.response_key
    )
    api.force_status(draft, "STOPPED")
    deleted = await env.command(f"delete {draft}")
    result = posted_result(env, deleted.response_key)
    assert "deleted *notebook-draft*" in result["text"]
    assert f"`{draft}` is gone." in message_text(result)
    assert buttons(result) == {}
    assert draft not in api.deployments
    assert api.count("DELETE", r".*/deployments/[^/]+") == 1


async def test_delete_on_neuranet(env: SlackEnv) -> None:
    api = env.api("neuranet")
    dep_id = neuranet_id(env, "sdxl-studio")
    answer = await env.command("delete sdxl-studio")
    result = posted_result(env, answer.response_key)
    assert "deleted *sdxl-studio* on NeuraNET" in result["text"]
    assert dep_id not in api.deployments
    assert api.count("DELETE", r".*/deployments/[^/]+") == 1


async def test_close_on_akash(env: SlackEnv) -> None:
    api = env.api("akash")
    dseq = akash_leased(env)[1]
    answer = await env.command(f"close {dseq}")
    result = posted_result(env, answer.response_key)
    assert f"closed *dseq {dseq}* on Akash" in result["text"]
    assert ":black_circle: closed" in message_text(result)
    assert buttons(result) == {}  # nothing can be done to a closed deployment
    assert api.deployment(dseq).state == "closed"
    assert api.count("DELETE", rf"/v1/deployments/{dseq}") == 1

    again = await env.command(f"close {dseq}")
    assert "closed" in one_liner(env, again.response_key)
    assert api.count("DELETE", rf"/v1/deployments/{dseq}") == 1


# -- Nosana: scale, timeout, schedule, rollback, rename -----------------------------------------


async def test_scale_and_timeout_on_nosana(env: SlackEnv) -> None:
    api = env.api("nosana")
    comfy = nosana_id(env, "comfyui-dev")
    scaled = await env.command("scale comfyui-dev 2")
    result = posted_result(env, scaled.response_key)
    assert "scaled *comfyui-dev* to 2 replicas on Nosana" in result["text"]
    assert "*Replicas*\n2" in texts(result)
    assert api.deployment(comfy).replicas == 2
    assert api.count("PATCH", r".*/update-replica-count") == 1

    timed = await env.command("timeout comfyui-dev 2h")
    result = posted_result(env, timed.response_key)
    assert "changed the timeout of *comfyui-dev* to 2 h" in result["text"]
    assert api.deployment(comfy).timeout == 120
    assert api.count("PATCH", r".*/update-timeout") == 1

    too_short = await env.command("timeout comfyui-dev 30")
    text = one_liner(env, too_short.response_key)
    assert text == ":warning: Nosana needs a timeout of at least 60 minutes (got 30)."
    assert api.count("PATCH", r".*/update-timeout") == 1  # refused before Nosana was asked
    assert api.deployment(comfy).timeout == 120


async def test_schedule_changes_a_scheduled_deployment_only(env: SlackEnv) -> None:
    api = env.api("nosana")
    sweep = nosana_id(env, "eval-sweep")
    assert api.deployment(sweep).strategy == "SCHEDULED"
    answer = await env.command('schedule eval-sweep "0 */6 * * *"')
    result = posted_result(env, answer.response_key)
    assert "changed the schedule of *eval-sweep* to `0 */6 * * *`" in result["text"]
    assert api.deployment(sweep).schedule == "0 */6 * * *"
    assert api.count("PATCH", r".*/update-schedule") == 1

    refused = await env.command('schedule comfyui-dev "0 * * * *"')
    text = one_liner(env, refused.response_key)
    assert "only SCHEDULED deployments" in text and "SIMPLE-EXTEND" in text
    assert api.count("PATCH", r".*/update-schedule") == 1


async def test_rollback_to_an_earlier_revision(env: SlackEnv) -> None:
    api = env.api("nosana")
    comfy = nosana_id(env, "comfyui-dev")
    client = await env.bot.pool.get(TEAM, "nosana")
    definition = dict(api.deployment(comfy).definition)
    definition["ops"] = [
        {**definition["ops"][0], "args": {**definition["ops"][0]["args"], "image": "comfy:2"}}
    ]
    await client.revise(comfy, json.dumps(definition))
    assert api.deployment(comfy).active_revision == 2

    answer = await env.command("rollback comfyui-dev 1")
    result = posted_result(env, answer.response_key)
    assert "rolled back *comfyui-dev* to revision 1" in result["text"]
    assert "*Revision*\n1" in texts(result)
    assert api.deployment(comfy).active_revision == 1
    assert api.count("PATCH", r".*/update-active-revision") == 1

    missing = await env.command("rollback comfyui-dev r7")
    assert "revision does not exist" in one_liner(env, missing.response_key)
    assert api.deployment(comfy).active_revision == 1


async def test_rename_says_the_old_and_the_new_name(env: SlackEnv) -> None:
    api = env.api("nosana")
    comfy = nosana_id(env, "comfyui-dev")
    answer = await env.command("rename comfyui-dev comfy prod")
    result = posted_result(env, answer.response_key)
    assert "renamed *comfyui-dev* to “comfy prod” on Nosana" in result["text"]
    assert f"*comfy prod*  `{comfy}`" in message_text(result)
    assert api.deployment(comfy).name == "comfy prod"
    assert api.count("PATCH", r".*/update-name") == 1
    shown = await env.command('show "comfy prod"')
    assert read_reply(env, shown.response_key)["text"] == "comfy prod (Nosana)"


# -- logs, events, jobs ---------------------------------------------------------------------


def log_lines(body: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    for block in body["blocks"]:
        text = (block.get("text") or {}).get("text", "")
        if text.startswith("```"):
            lines += text.strip("`\n").split("\n")
    return lines


async def test_logs_with_tail_and_since_on_nosana_and_neuranet(env: SlackEnv) -> None:
    tail = await env.command("logs llama3-chat --tail 5")
    body = read_reply(env, tail.response_key)
    assert body["text"] == "5 log lines"
    assert len(log_lines(body)) == 5

    since = await env.command("logs llama3-chat --since 2026-11-01T11:40Z")
    lines = log_lines(read_reply(env, since.response_key))
    assert lines and all(line[:8] >= "11:40:00" for line in lines)

    neuranet = env.api("neuranet")
    short = await env.command("logs llama-chat -n 3")
    assert len(log_lines(read_reply(env, short.response_key))) == 3
    windowed = await env.command("logs llama-chat --since=2026-11-01T11:55Z --tail 500")
    lines = log_lines(read_reply(env, windowed.response_key))
    assert lines and all(line[:8] >= "11:55:00" for line in lines)
    queries = [r.query for r in neuranet.requests if r.path.endswith("/logs")]
    assert len(queries) == 2
    assert "since=2026-11-01T11%3A55" in queries[1] or "since=2026-11-01T11:55" in queries[1]

    akash = await env.command(f"logs {akash_leased(env)[0]}")
    assert "Akash can't show logs" in one_liner(env, akash.response_key)


async def test_events_and_jobs_on_nosana_only(env: SlackEnv) -> None:
    events = await env.command("events llama3-chat")
    body = read_reply(env, events.response_key)
    assert body["text"].startswith("Events of llama3-chat: ")
    assert "JOB_LIST_CONFIRMED" in message_text(body)
    assert env.api("nosana").count("GET", r".*/deployments/[^/]+/events") == 1

    jobs = await env.command("jobs llama3-chat")
    body = read_reply(env, jobs.response_key)
    assert body["text"].startswith("Jobs of llama3-chat: ")
    assert "RUNNING" in message_text(body)
    assert env.api("nosana").count("GET", r".*/deployments/[^/]+/jobs") == 1

    neuranet = await env.command("jobs llama-chat")
    text = one_liner(env, neuranet.response_key)
    assert "“llama-chat” is a NeuraNET deployment, and NeuraNET can't list jobs." in text
    akash = await env.command(f"events {akash_leased(env)[0]}")
    assert "is an Akash deployment, and Akash can't show events" in one_liner(
        env, akash.response_key
    )


# -- markets, nodes, balance ------------------------------------------------------------------


async def test_markets_with_filters(env: SlackEnv) -> None:
    api = env.api("nosana")
    everything = await env.command("markets")
    body = read_reply(env, everything.response_key)
    assert body["text"] == f"Nosana markets: {len(api.markets)}"

    gpu = await env.command("markets gpu=4090")
    body = read_reply(env, gpu.response_key)
    assert body["text"] == "Nosana markets (gpu=4090): 1"
    assert "NVIDIA RTX 4090" in message_text(body) and "RTX 3090" not in message_text(body)

    premium = await env.command("markets type=premium")
    body = read_reply(env, premium.response_key)
    wanted = [m for m in api.markets.values() if m["type"] == "PREMIUM"]
    assert body["text"] == f"Nosana markets (type=premium): {len(wanted)}"
    assert any("type=PREMIUM" in r.query for r in api.requests if r.path == "/api/markets/")

    elsewhere = await env.command("markets --provider neuranet")
    assert "NeuraNET has no markets" in one_liner(env, elsewhere.response_key)


async def test_nodes_with_filters(env: SlackEnv) -> None:
    api = env.api("neuranet")
    east = await env.command("nodes region=us-east min-vram=24")
    body = read_reply(env, east.response_key)
    text = message_text(body)
    assert body["text"] == "NeuraNET nodes (region=us-east min-vram=24): 2"
    assert "Virginia L4" in text and "Brooklyn 4090 Rig" in text and "Tokyo" not in text
    queries = [r.query for r in api.requests if r.path == "/api/nodes"]
    assert queries and "region=us-east" in queries[-1]

    cheap = await env.command("nodes max-price=1")
    body = read_reply(env, cheap.response_key)
    prices = [Decimal(p) for p in re.findall(r"\$(\d+\.\d\d)/h", message_text(body))]
    assert prices and max(prices) <= 1

    h100 = await env.command("nodes gpu=h100")
    body = read_reply(env, h100.response_key)
    assert body["text"] == "NeuraNET nodes (gpu=h100): 2"

    none = await env.command("nodes region=mars")
    assert "Nothing matches those filters." in message_text(read_reply(env, none.response_key))
    nosana = await env.command("nodes --provider nosana")
    assert "Nosana has no nodes" in one_liner(env, nosana.response_key)


async def test_balance_shows_nosana_credits_and_akash_escrow_runway(env: SlackEnv) -> None:
    answer = await env.command("balance")
    body = read_reply(env, answer.response_key)
    text = message_text(body)
    credits = env.api("nosana").credits(env.keys["nosana"])
    assert f"*Nosana*: {money(credits)} available" in text
    akash = env.api("akash").balance_of(env.keys["akash"])
    assert f"*Akash*: {money(akash)} available" in text
    gpu, low = akash_leased(env)
    assert re.search(rf":warning: escrow of \*dseq {low}\* `{low}` lasts \d+ min at", text)
    assert re.search(rf"escrow of \*dseq {gpu}\* `{gpu}` lasts (\d+ d )?\d+ h( \d+ min)? at", text)
    assert "NeuraNET" not in text  # it has no balance to show

    only = await env.command("balance akash")
    assert "Nosana" not in message_text(read_reply(env, only.response_key))
    neuranet = await env.command("balance neuranet")
    assert "NeuraNET has no account balance" in one_liner(env, neuranet.response_key)


# -- deposit (command) ------------------------------------------------------------------------


async def test_deposit_adds_to_the_akash_escrow(env: SlackEnv) -> None:
    api = env.api("akash")
    dseq = akash_leased(env)[0]
    before = api.funds_usd(dseq)
    answer = await env.command(f"deposit {dseq} 5")
    result = posted_result(env, answer.response_key)
    assert f"added funds to *dseq {dseq}* ($5.00) on Akash" in result["text"]
    assert api.count("POST", r"/v1/deposit-deployment") == 1
    assert api.funds_usd(dseq) - before == pytest.approx(Decimal(5), abs=Decimal("0.01"))

    nosana = await env.command("deposit llama3-chat 5")
    assert "can't take deposits" in one_liner(env, nosana.response_key)
    assert writes(env, "nosana") == 0


# -- what a provider can't do, and wrong states -------------------------------------------------


async def test_operations_a_provider_cannot_do_are_one_liners(env: SlackEnv) -> None:
    cases = {
        "scale llama-chat 2": "“llama-chat” is a NeuraNET deployment, and NeuraNET can't scale.",
        "rename llama-chat x": "NeuraNET can't rename",
        "close llama3-chat": "Nosana can't close",
        f"start {akash_leased(env)[0]}": "Akash can't start",
        "scale llama-chat 2 --provider neuranet": "NeuraNET deployments can't scale; Nosana",
        "timeout llama-chat 2h --provider neuranet": "can't change timeouts",
    }
    for text, expected in cases.items():
        answer = await env.command(text)
        assert expected in one_liner(env, answer.response_key), text
    assert sum(writes(env, p) for p in ("nosana", "akash", "neuranet")) == 0


async def test_wrong_state_says_the_state(env: SlackEnv) -> None:
    answer = await env.command("start comfyui-dev")
    text = one_liner(env, answer.response_key)
    assert "comfyui-dev is already running on Nosana: it can stop." in text
    stopped = await env.command("stop sdxl-studio")
    assert "sdxl-studio is already stopped on NeuraNET" in one_liner(env, stopped.response_key)
    assert sum(writes(env, p) for p in ("nosana", "akash", "neuranet")) == 0


# -- provider unavailable ---------------------------------------------------------------------


async def test_provider_unavailable_is_a_one_liner_without_internals(env: SlackEnv) -> None:
    nosana = env.api("nosana")
    nosana.inject(method="POST", path=r".*/deployments/[^/]+/stop", status=503)
    stop = await env.command("stop llama3-chat")
    text = one_liner(env, stop.response_key)
    assert "Nosana is having trouble" in text
    # what to check names the deployment itself (the stop may have been carried out)
    assert f"check its status with `/deploy show {nosana_id(env, 'llama3-chat')}`" in text
    assert nosana.count("POST", r".*/deployments/[^/]+/stop") == 1  # never re-sent

    nosana.inject(path=r".*", status=503, times=50)
    shown = await env.command("show llama3-chat --provider nosana")
    text = one_liner(env, shown.response_key)
    assert text.startswith(":warning: Nosana is having trouble (HTTP 503")
    assert "No deployment" not in text

    listed = await env.command("list")
    body = read_reply(env, listed.response_key)
    assert ":warning: Nosana: Nosana is having trouble" in message_text(body)
    assert neuranet_id(env, "llama-chat") in listed_ids(body)

    anywhere = await env.command("show llama3-chat")
    text = one_liner(env, anywhere.response_key)
    assert "No deployment on Akash, NeuraNET matches “llama3-chat”." in text
    assert "Nosana could not be checked" in text

    env.api("akash").inject(path=r".*", status=503, times=50)
    balance = await env.command("balance")
    text = message_text(read_reply(env, balance.response_key))
    assert "*Nosana*: Nosana is having trouble" in text
    assert "*Akash*: Akash Console is unavailable (HTTP 503" in text
    nothing_leaked(env)
