"""Buttons, modals, chains and resolving references, over HTTP, with the provider side checked.

Cards' buttons edit the card in place; modals answer with ``response_action`` and post results
to the channel; chains keep one status message up to date; ambiguous references get a picker.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from bot.core import modals
from bot.slack_local.payloads import input_values
from tests.e2e.harness import ADMIN, MEMBER, TEAM, SlackEnv, buttons, message_text

WRITES = ("POST", "PUT", "PATCH", "DELETE")
TRACE = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception)\b")
EVIL = "<!channel> & <@U1>"
EVIL_ESCAPED = "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def nosana_id(env: SlackEnv, name: str) -> str:
    return next(d.id for d in env.api("nosana").deployments.values() if d.name == name)


def neuranet_id(env: SlackEnv, name: str) -> str:
    return next(d.id for d in env.api("neuranet").deployments.values() if d.name == name)


def akash_leased(env: SlackEnv) -> list[str]:
    return [
        d.dseq
        for d in env.api("akash").deployments_of(env.keys["akash"])
        if d.state == "active" and any(lease.state == "active" for lease in d.leases)
    ]


def writes(env: SlackEnv, provider: str) -> int:
    api = env.api(provider)
    return sum(api.count(method) for method in WRITES)


def no_writes(env: SlackEnv) -> bool:
    return sum(writes(env, p) for p in ("nosana", "akash", "neuranet")) == 0


async def card(env: SlackEnv, ref: str) -> dict[str, Any]:
    """The card ``/deploy show <ref>`` answers with (as Slack would show it)."""
    answer = await env.command(f"show {ref}")
    [body] = env.responses(answer.response_key)
    assert body["blocks"][0]["block_id"].startswith("card_"), body
    return body


def step_lines(call_text: str) -> list[str]:
    return call_text.split("\n")[1:]


# -- card buttons -----------------------------------------------------------------------------


async def test_card_stop_button_replaces_the_card_and_stops_once(env: SlackEnv) -> None:
    api = env.api("nosana")
    shown = await card(env, "llama3-chat")
    value = buttons(shown)["deployment_stop"]
    click = await env.click("deployment_stop", value, message=shown)
    assert click.status == 200 and click.body == {}
    [updated] = env.responses(click.response_key)
    assert updated["replace_original"] is True
    assert updated["response_type"] == "in_channel"
    assert "stopped *llama3-chat* on Nosana" in updated["text"]
    assert ":double_vertical_bar: stopping" in message_text(updated)
    assert "deployment_stop" not in buttons(updated)  # the fresh card offers what is possible now
    assert api.count("POST", r".*/deployments/[^/]+/stop") == 1
    assert api.deployment(nosana_id(env, "llama3-chat")).status == "STOPPING"
    assert env.calls("chat.postMessage") == []

    # A second click on the old card: the state is checked again, nothing is sent.
    again = await env.click("deployment_stop", value, message=shown)
    [note] = env.responses(again.response_key)
    assert note["replace_original"] is False and note["response_type"] == "ephemeral"
    assert "llama3-chat is already stopping on Nosana: " in note["text"]
    assert api.count("POST", r".*/deployments/[^/]+/stop") == 1


async def test_card_start_and_delete_buttons_on_neuranet(env: SlackEnv) -> None:
    api = env.api("neuranet")
    studio = neuranet_id(env, "sdxl-studio")
    shown = await card(env, "sdxl-studio")
    click = await env.click("deployment_start", buttons(shown)["deployment_start"])
    [updated] = env.responses(click.response_key)
    assert updated["replace_original"] is True and "started *sdxl-studio*" in updated["text"]
    assert api.count("POST", r".*/deployments/[^/]+/start") == 1

    gone = await env.click("deployment_delete", buttons(shown)["deployment_delete"])
    [updated] = env.responses(gone.response_key)
    assert updated["replace_original"] is True
    assert f"`{studio}` is gone." in message_text(updated) and buttons(updated) == {}
    assert studio not in api.deployments


async def test_card_logs_button_answers_privately_below_the_card(env: SlackEnv) -> None:
    shown = await card(env, "llama-chat")
    click = await env.click("deployment_logs", buttons(shown)["deployment_logs"])
    [logs] = env.responses(click.response_key)
    assert logs["replace_original"] is False
    assert logs["response_type"] == "ephemeral"
    assert logs["text"].endswith("log lines")
    assert "*Logs of llama-chat*" in message_text(logs)
    assert env.api("neuranet").count("GET", r".*/deployments/[^/]+/logs") == 1
    assert no_writes(env)


async def test_card_close_button_on_akash(env: SlackEnv) -> None:
    dseq = akash_leased(env)[1]
    shown = await card(env, dseq)
    click = await env.click("deployment_close", buttons(shown)["deployment_close"])
    [updated] = env.responses(click.response_key)
    assert updated["replace_original"] is True and f"closed *dseq {dseq}*" in updated["text"]
    assert env.api("akash").deployment(dseq).state == "closed"
    assert env.api("akash").count("DELETE", rf"/v1/deployments/{dseq}") == 1


@pytest.mark.parametrize(
    "value",
    ["not json", json.dumps({"p": "nosana", "d": "x"}), json.dumps({"p": "n", "d": 1, "op": "x"})],
)
async def test_an_out_of_date_card_button_is_a_one_liner(env: SlackEnv, value: str) -> None:
    click = await env.click("deployment_stop", value)
    [note] = env.responses(click.response_key)
    assert note["replace_original"] is False
    assert "out of date" in note["text"]
    assert sum(len(env.api(p).requests) for p in ("nosana", "akash", "neuranet")) == 0


# -- deposit: the card's "Add funds" → modal → submit -------------------------------------------


async def test_add_funds_button_opens_the_deposit_modal_and_submitting_deposits(
    env: SlackEnv,
) -> None:
    api = env.api("akash")
    dseq = akash_leased(env)[0]
    shown = await card(env, dseq)
    click = await env.click("deployment_deposit", buttons(shown)["deployment_deposit"])
    assert env.responses(click.response_key) == []
    [opened] = env.calls("views.open")
    view = opened.body["view"]
    assert view["callback_id"] == modals.DEPOSIT
    meta = view["private_metadata"]
    assert json.loads(meta) == {"p": "akash", "d": dseq, "c": "C111"}
    assert api.count("POST") == 0

    for bad in ("abc", "0", "-3", "1000000"):
        refused = await env.submit(
            modals.DEPOSIT,
            input_values({(modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION): bad}),
            private_metadata=meta,
        )
        assert refused.body["response_action"] == "errors", bad
        assert modals.AMOUNT_BLOCK in refused.body["errors"]
    assert api.count("POST", r"/v1/deposit-deployment") == 0

    before = api.funds_usd(dseq)
    done = await env.submit(
        modals.DEPOSIT,
        input_values({(modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION): "$7.50"}),
        private_metadata=meta,
    )
    assert done.body == {"response_action": "clear"}
    [post] = env.calls("chat.postMessage")
    assert post.body["channel"] == "C111"
    assert f"<@{MEMBER}> added funds to *dseq {dseq}* ($7.50) on Akash" in post.body["text"]
    assert api.count("POST", r"/v1/deposit-deployment") == 1
    assert api.funds_usd(dseq) - before == pytest.approx(Decimal("7.5"), abs=Decimal("0.01"))


async def test_a_failed_deposit_is_told_only_to_the_person(env: SlackEnv) -> None:
    dseq = akash_leased(env)[0]
    env.api("akash").inject(method="POST", path=r"/v1/deposit-deployment", status=503)
    meta = json.dumps({"p": "akash", "d": dseq, "c": "C111"})
    done = await env.submit(
        modals.DEPOSIT,
        input_values({(modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION): "5"}),
        private_metadata=meta,
    )
    assert done.body == {"response_action": "clear"}
    assert env.calls("chat.postMessage") == []
    [note] = env.calls("chat.postEphemeral")
    assert note.body["user"] == MEMBER and note.body["text"].startswith(":warning:")
    assert not TRACE.search(note.body["text"])


async def test_a_deposit_result_reaches_the_person_when_the_channel_post_fails(
    env: SlackEnv,
) -> None:
    api = env.api("akash")
    dseq = akash_leased(env)[0]
    meta = json.dumps({"p": "akash", "d": dseq, "c": "C111"})
    amount = input_values({(modals.AMOUNT_BLOCK, modals.AMOUNT_ACTION): "5"})

    env.slack.fail_next("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
    done = await env.submit(modals.DEPOSIT, amount, private_metadata=meta)
    assert done.body == {"response_action": "clear"}
    [note] = env.calls("chat.postEphemeral")
    assert note.body["user"] == MEMBER and note.body["channel"] == "C111"
    assert f"added funds to *dseq {dseq}*" in note.body["text"]

    # Not even an ephemeral note gets in: a direct message from the app.
    env.slack.fail_next("chat.postMessage", status=200, retry_after=None, error="not_in_channel")
    env.slack.fail_next("chat.postEphemeral", status=200, retry_after=None, error="not_in_channel")
    await env.submit(modals.DEPOSIT, amount, private_metadata=meta)
    dm = env.calls("chat.postMessage")[-1]
    assert dm.body["channel"] == MEMBER and "added funds" in dm.body["text"]
    assert api.count("POST", r"/v1/deposit-deployment") == 2


# -- connect: the form, a wrong key, a good key -------------------------------------------------


async def stored_rows(env: SlackEnv) -> dict[str, tuple[str, str]]:
    async with env.storage.engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT provider, encrypted_key, key_hint FROM provider_keys WHERE team_id = :t"),
            {"t": TEAM},
        )
        return {row[0]: (row[1], row[2]) for row in rows}


async def test_connect_with_a_wrong_key_stores_nothing(env: SlackEnv) -> None:
    before = await stored_rows(env)
    meta = json.dumps({"p": "nosana", "c": "C111"})
    for key, problem in (
        ("nos_sk_this_key_does_not_exist", "Nosana rejected this key"),
        ("short", "doesn't look like an API key"),
        ("has a space in it", "doesn't look like an API key"),
    ):
        answer = await env.submit(
            modals.CONNECT,
            input_values({(modals.KEY_BLOCK, modals.KEY_ACTION): key}),
            private_metadata=meta,
            user=ADMIN,
        )
        assert answer.body["response_action"] == "errors", key
        assert problem in answer.body["errors"][modals.KEY_BLOCK]
        assert key not in json.dumps(answer.body)
    assert await stored_rows(env) == before
    assert env.calls("chat.postEphemeral") == []
    # Only the plausible key was checked with Nosana.
    assert len(env.api("nosana").requests) == 1


async def test_connect_with_a_good_key_stores_it_encrypted(env: SlackEnv) -> None:
    api = env.api("nosana")
    account = api.add_api_key(credits_usd=42)
    key = account.api_key
    meta = json.dumps({"p": "nosana", "c": "C111"})
    values = input_values({(modals.KEY_BLOCK, modals.KEY_ACTION): f"  {key}\n"})

    refused = await env.submit(modals.CONNECT, values, private_metadata=meta, user=MEMBER)
    assert refused.body["response_action"] == "errors"
    assert "Only deploybot admins" in refused.body["errors"][modals.KEY_BLOCK]

    answer = await env.submit(modals.CONNECT, values, private_metadata=meta, user=ADMIN)
    assert answer.body["response_action"] == "update"
    assert f"`…{key[-4:]}`" in json.dumps(answer.body["view"], ensure_ascii=False)
    rows = await stored_rows(env)
    encrypted, hint = rows["nosana"]
    assert hint == f"…{key[-4:]}"
    assert key not in encrypted and key[:-4] not in encrypted
    stored = await env.storage.keys.get(team_id=TEAM, provider="nosana")
    assert stored is not None and stored.get_secret_value() == key
    [note] = env.calls("chat.postEphemeral")
    assert note.body["user"] == ADMIN and f"`…{key[-4:]}`" in note.body["text"]

    # The workspace now works on the new (empty) account.
    listed = await env.command("list nosana")
    [body] = env.responses(listed.response_key)
    assert "No deployments." in message_text(body)
    balance = await env.command("balance nosana")
    [body] = env.responses(balance.response_key)
    assert "$42.00 available" in message_text(body)
    everything = json.dumps([c.body for c in env.slack.calls], ensure_ascii=False)
    assert key not in everything


async def test_connect_buttons_open_the_form_for_admins(env: SlackEnv) -> None:
    await env.command("disconnect neuranet", user=ADMIN)
    providers = await env.command("providers", user=ADMIN)
    [body] = env.responses(providers.response_key)
    value = buttons(body)["provider_connect_neuranet"]

    refused = await env.click("provider_connect_neuranet", value, user=MEMBER)
    [note] = env.responses(refused.response_key)
    assert note["text"].startswith(":warning: Only deploybot admins")
    assert env.calls("views.open") == []

    await env.click("provider_connect_neuranet", value, user=ADMIN)
    [opened] = env.calls("views.open")
    assert opened.body["view"]["callback_id"] == modals.CONNECT
    meta = opened.body["view"]["private_metadata"]
    assert json.loads(meta)["p"] == "neuranet"

    key = env.api("neuranet").add_api_key()
    answer = await env.submit(
        modals.CONNECT,
        input_values({(modals.KEY_BLOCK, modals.KEY_ACTION): key}),
        private_metadata=meta,
        user=ADMIN,
    )
    assert answer.body["response_action"] == "update"
    stored = await env.storage.keys.get(team_id=TEAM, provider="neuranet")
    assert stored is not None and stored.get_secret_value() == key


# -- revise -------------------------------------------------------------------------------------


async def open_revise(env: SlackEnv, ref: str) -> dict[str, Any]:
    answer = await env.command(f"revise {ref}")
    assert answer.status == 200 and answer.body == {}
    [opened] = env.calls("views.open")
    assert "Loading" in json.dumps(opened.body["view"])
    [updated] = env.calls("views.update")
    assert updated.body["view_id"] == env.slack.views[updated.body["view_id"]]["id"]
    view: dict[str, Any] = updated.body["view"]
    return view


async def submit_revision(env: SlackEnv, view: dict[str, Any], definition: str) -> dict[str, Any]:
    answer = await env.submit(
        modals.REVISE,
        input_values({(modals.DEFINITION_BLOCK, modals.DEFINITION_ACTION): definition}),
        private_metadata=view["private_metadata"],
    )
    return answer.body


async def test_revise_nosana_checks_the_definition_then_publishes(env: SlackEnv) -> None:
    api = env.api("nosana")
    comfy = nosana_id(env, "comfyui-dev")
    view = await open_revise(env, "comfyui-dev")
    assert view["callback_id"] == modals.REVISE
    assert json.loads(view["private_metadata"]) == {"p": "nosana", "d": comfy, "c": "C111"}
    current = view["blocks"][1]["element"]["initial_value"]
    definition = json.loads(current)
    assert definition["ops"][0]["args"]["image"] == "ghcr.io/ai-dock/comfyui:latest"

    for bad, problem in (
        ("{not json", "not valid JSON"),
        ('{"version": "0.1"}', "ops is required"),
        ("   ", "Paste the new definition"),
    ):
        body = await submit_revision(env, view, bad)
        assert body["response_action"] == "errors", bad
        assert problem in body["errors"][modals.DEFINITION_BLOCK]
    assert api.count("POST", r".*/create-revision") == 0
    assert len(api.deployment(comfy).revisions) == 1

    definition["ops"][0]["args"]["image"] = "ghcr.io/ai-dock/comfyui:v2"
    body = await submit_revision(env, view, json.dumps(definition))
    assert body == {"response_action": "clear"}
    [post] = env.calls("chat.postMessage")
    assert post.body["channel"] == "C111"
    assert "published a new revision of *comfyui-dev* on Nosana" in post.body["text"]
    assert "*Revision*\\n2" in json.dumps(post.body["blocks"])
    assert api.count("POST", r".*/create-revision") == 1
    deployment = api.deployment(comfy)
    assert deployment.active_revision == 2
    assert deployment.definition["ops"][0]["args"]["image"] == "ghcr.io/ai-dock/comfyui:v2"


async def test_revise_akash_rejects_an_invalid_sdl(env: SlackEnv) -> None:
    dseq = akash_leased(env)[0]
    view = await open_revise(env, dseq)
    assert json.loads(view["private_metadata"])["p"] == "akash"
    assert "SDL (YAML)" in json.dumps(view)
    for bad in ("version: '2.0'\nservices: {}\n", "::: [ not yaml"):
        body = await submit_revision(env, view, bad)
        assert body["response_action"] == "errors"
        assert body["errors"][modals.DEFINITION_BLOCK]
    assert env.api("akash").count("PUT") == 0
    assert env.calls("chat.postMessage") == []


async def test_revise_where_it_cannot_be_done_says_why_in_the_modal(env: SlackEnv) -> None:
    await env.command("revise llama-chat")
    [updated] = env.calls("views.update")
    shown = json.dumps(updated.body["view"], ensure_ascii=False)
    assert "NeuraNET can't take new revisions" in shown
    assert "callback_id" not in updated.body["view"] or not updated.body["view"]["callback_id"]
    assert no_writes(env)


# -- chains -----------------------------------------------------------------------------------


async def test_a_chain_posts_once_and_edits_as_each_step_runs(env: SlackEnv) -> None:
    api = env.api("nosana")
    batch = nosana_id(env, "sd-render-batch")
    assert api.deployment(batch).status == "STOPPED"
    answer = await env.command("sd-render-batch start, scale 3, timeout 120")
    assert answer.body["text"] == ":hourglass_flowing_sand: Running 3 steps on `sd-render-batch`…"
    assert env.responses(answer.response_key) == [{"text": "", "delete_original": True}]
    [post] = env.calls("chat.postMessage")
    updates = env.calls("chat.update")
    assert len(updates) == 3
    assert all(u.body["ts"] == post.response["ts"] for u in updates)
    assert step_lines(post.body["text"])[0].startswith(":hourglass_flowing_sand: start")
    assert step_lines(updates[0].body["text"])[1].startswith(":hourglass_flowing_sand: scale")
    final = updates[-1].body
    assert step_lines(final["text"]) == [
        ":white_check_mark: start sd-render-batch",
        ":white_check_mark: scale sd-render-batch to 3",
        ":white_check_mark: set the timeout of sd-render-batch to 2 h",
    ]
    assert any(b.get("block_id") == f"card_{batch}" for b in final["blocks"])
    assert api.count("POST", r".*/deployments/[^/]+/start") == 1
    assert api.count("PATCH", r".*/update-replica-count") == 1
    assert api.count("PATCH", r".*/update-timeout") == 1
    deployment = api.deployment(batch)
    assert (deployment.replicas, deployment.timeout) == (3, 120)


async def test_a_failing_step_stops_the_chain_and_skips_the_rest(env: SlackEnv) -> None:
    """A step that fails at the provider (preflight could not foresee it) ends the chain."""
    api = env.api("nosana")
    api.inject(
        method="PATCH",
        path=r".*/update-timeout",
        status=400,
        body={"message": "timeout change rejected by the node"},
    )
    answer = await env.command("sd-render-batch start, timeout 90, scale 3")
    [post] = env.calls("chat.postMessage")
    final = env.calls("chat.update")[-1].body["text"]
    lines = step_lines(final)
    assert lines[0] == ":white_check_mark: start sd-render-batch"
    assert lines[1].startswith(":x: set the timeout of sd-render-batch to 1 h 30 min — ")
    assert "rejected by the node" in lines[1]
    assert lines[2] == ":heavy_minus_sign: scale sd-render-batch to 3 — skipped"
    assert post.body["channel"] == "C111"
    assert api.count("PATCH", r".*/update-replica-count") == 0
    assert api.deployment(nosana_id(env, "sd-render-batch")).replicas == 2
    assert not TRACE.search(final)
    assert len(env.responses(answer.response_key)) == 1  # only the ⏳ note was removed


async def test_a_chain_with_a_step_the_provider_would_refuse_is_refused_at_once(
    env: SlackEnv,
) -> None:
    answer = await env.command("sd-render-batch start, timeout 30, scale 3")
    [note] = env.responses(answer.response_key)
    assert note["text"] == (
        ":warning: Step 2 (set the timeout of sd-render-batch to 30 min): "
        "Nosana needs a timeout of at least 60 minutes (got 30)."
    )
    assert env.calls("chat.postMessage") == []
    assert no_writes(env)


async def test_a_chain_that_cannot_start_is_refused_before_anything_runs(env: SlackEnv) -> None:
    """Preflight: the first step can't happen from the deployment's state, so the chain is
    refused at once in one private line; no status message, no provider write."""
    answer = await env.command("comfyui-dev start, scale 2")
    [note] = env.responses(answer.response_key)
    assert note["replace_original"] is True
    assert note["response_type"] == "ephemeral"
    assert note["text"] == (
        ":warning: Step 1 (start comfyui-dev): comfyui-dev is already running on Nosana: "
        "it can stop."
    )
    assert env.calls("chat.postMessage") == []
    assert env.calls("chat.update") == []
    assert no_writes(env)


async def test_a_chain_on_an_unknown_deployment_is_a_one_liner(env: SlackEnv) -> None:
    answer = await env.command("nothing-here start, scale 2")
    [note] = env.responses(answer.response_key)
    assert note["replace_original"] is True
    assert "No deployment" in note["text"] and "nothing-here" in note["text"]
    assert env.calls("chat.postMessage") == []
    assert no_writes(env)


# -- resolving references ---------------------------------------------------------------------


async def test_references_by_id_prefix_exact_and_case_insensitive_name(env: SlackEnv) -> None:
    llama = nosana_id(env, "llama3-chat")
    chat = neuranet_id(env, "llama-chat")
    dseq = akash_leased(env)[0]
    for ref, expected in (
        (llama, llama),
        (llama[:5], llama),
        ("llama3-chat", llama),
        ("LLAMA3-Chat", llama),
        (chat[:7], chat),
        ("llama-chat", chat),
        (dseq, dseq),
    ):
        body = await card(env, ref)
        assert body["blocks"][0]["block_id"] == f"card_{expected}", ref


async def test_an_unknown_name_says_no_match_and_suggests(env: SlackEnv) -> None:
    answer = await env.command("stop llama")
    [note] = env.responses(answer.response_key)
    assert note["text"] == (
        ":warning: No deployment on Nosana, NeuraNET matches “llama”. "
        "Did you mean “llama-chat”, “llama3-chat”? `/deploy list` shows what exists."
    )
    too_short = await env.command(f"show {nosana_id(env, 'llama3-chat')[:2]}")
    [note] = env.responses(too_short.response_key)
    assert "No deployment" in note["text"]
    assert no_writes(env)


async def test_an_ambiguous_name_gets_a_picker_and_the_pick_runs_on_that_one(
    env: SlackEnv,
) -> None:
    nosana, neuranet = env.api("nosana"), env.api("neuranet")
    twin = neuranet.create_deployment(
        env.keys["neuranet"], "node_7k2m9xq4", template_id="ollama", name="comfyui-dev"
    )
    answer = await env.command("stop comfyui-dev")
    [picker] = env.responses(answer.response_key)
    assert picker["replace_original"] is True and picker["response_type"] == "ephemeral"
    assert "“comfyui-dev” matches 2 deployments; which one?" in picker["text"]
    choices = buttons(picker)
    assert set(choices) == {"resolve_pick_0", "resolve_pick_1"}
    assert no_writes(env)

    to_neuranet = next(v for v in choices.values() if twin.id in v)
    action = next(k for k, v in choices.items() if v == to_neuranet)
    click = await env.click(action, to_neuranet)
    bodies = env.responses(click.response_key)
    assert bodies[0]["text"] == f":hourglass_flowing_sand: Stopping `{twin.id}`…"
    assert bodies[0]["replace_original"] is True
    assert bodies[1] == {"text": "", "delete_original": True}
    assert bodies[2]["response_type"] == "in_channel"
    assert "stopped *comfyui-dev* on NeuraNET" in bodies[2]["text"]
    assert neuranet.count("POST", r".*/deployments/[^/]+/stop") == 1
    assert nosana.count("POST", r".*/deployments/[^/]+/stop") == 0
    neuranet.advance()
    assert neuranet.deployment(twin.id).status in ("stopping", "stopped")

    # A picked chain runs its steps on the chosen deployment.
    chain = await env.command("comfyui-dev stop, scale 2")
    [picker] = env.responses(chain.response_key)
    assert "“comfyui-dev” matches 2 deployments" in picker["text"]
    to_nosana = next(v for v in buttons(picker).values() if '"nosana"' in v)
    assert json.loads(to_nosana)["chain"]["provider"] == "nosana"
    await env.click("resolve_pick_0", to_nosana)
    final = env.calls("chat.update")[-1].body["text"]
    assert final.count(":white_check_mark:") == 2, final
    comfy = nosana.deployment(nosana_id(env, "comfyui-dev"))
    assert (comfy.status, comfy.replicas) == ("STOPPING", 2)
    assert neuranet.count("POST", r".*/deployments/[^/]+/stop") == 1


async def test_a_picker_button_that_is_garbage_is_a_one_liner(env: SlackEnv) -> None:
    click = await env.click("resolve_pick_0", "{broken")
    [note] = env.responses(click.response_key)
    assert "out of date" in note["text"]
    assert no_writes(env)


# -- escaping -----------------------------------------------------------------------------------


async def test_a_hostile_name_is_escaped_in_every_slack_payload(env: SlackEnv) -> None:
    api = env.api("nosana")
    batch = nosana_id(env, "sd-render-batch")
    await env.command(f"rename {batch} {EVIL}")
    assert api.deployment(batch).name == EVIL

    shown = await card(env, batch)
    await env.command("list nosana")
    await env.command("list all")
    await env.command(f"logs {batch} --tail 3")
    await env.command(f"events {batch}")
    await env.command(f"jobs {batch}")
    await env.command("show channel")  # "Did you mean …" names it
    await env.command(f"stop {batch}")  # wrong state: the one-liner names it
    await env.click("deployment_start", buttons(shown)["deployment_start"])
    await env.command(f"{batch} scale 3, timeout 90")
    view = await open_revise(env, batch)
    definition = view["blocks"][1]["element"]["initial_value"]
    assert await submit_revision(env, view, definition) == {"response_action": "clear"}
    # A twin on NeuraNET: the picker's buttons name both (plain text is escaped too).
    env.api("neuranet").create_deployment(
        env.keys["neuranet"], "node_7k2m9xq4", template_id="ollama", name="r&d"
    )
    await env.command(f"rename {batch} r&d")
    answer = await env.command("show r&d")
    [picker] = env.responses(answer.response_key)
    labels = [e["text"]["text"] for e in picker["blocks"][-1]["elements"]]
    assert sorted(labels) == ["r&amp;d (NeuraNET)", "r&amp;d (Nosana)"]

    mentioned = 0
    for call in env.slack.calls:
        dumped = json.dumps(call.body, ensure_ascii=False)
        assert "<!channel>" not in dumped, (call.method, dumped)
        assert "<@U1>" not in dumped and "r&d" not in dumped, (call.method, dumped)
        if "channel&gt;" in dumped:
            assert EVIL_ESCAPED in dumped, (call.method, dumped)
            mentioned += 1
    assert mentioned >= 10
    methods = {c.method for c in env.slack.calls if "channel&gt;" in json.dumps(c.body)}
    assert {"response_url", "chat.postMessage", "chat.update", "views.update"} <= methods


async def test_nothing_internal_reaches_slack_when_everything_fails(env: SlackEnv) -> None:
    for provider in ("nosana", "akash", "neuranet"):
        env.api(provider).inject(path=r".*", status=503, times=100)
    for command in ("list", "show llama3-chat", "stop llama-chat", "balance", "markets", "nodes"):
        answer = await env.command(command)
        assert answer.status == 200
    await env.click("list_next", "eyJwIjpbIm5vc2FuYSJdfQ==")
    await env.click(
        "deployment_stop", json.dumps({"p": "neuranet", "d": "dep_rv6sk1wj69", "op": "stop"})
    )
    await env.command("sd-render-batch start, scale 2")
    assert env.slack.calls
    for call in env.slack.calls:
        dumped = json.dumps(call.body, ensure_ascii=False)
        assert not TRACE.search(dumped), (call.method, dumped)
        assert "Something went wrong on our side" not in dumped, (call.method, dumped)
