"""Creating deployments over HTTP against the sandboxes: the form, the type-ahead, field
errors, the review with estimates and balance, exactly-once creates, Akash bids → lease → URIs,
no bids, certificates, and templates."""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.core import create_views as views
from bot.core import fmt
from bot.db.models import CreateRequest, CreateTemplate, ProviderCertificate
from bot.services.deployments import Actor
from bot.slack_local import payloads
from bot.slack_local.payloads import input_values
from tests.e2e.harness import CHANNEL, MEMBER, TEAM, Answer, SlackEnv, buttons, message_text

pytestmark = pytest.mark.asyncio

ACTOR = Actor(team_id=TEAM, user_id=MEMBER, channel_id=CHANNEL)
RTX4090 = "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf"


@pytest.fixture(autouse=True)
def _fast(env: SlackEnv) -> None:
    """Bounded background loops that finish within a test's settle()."""
    assert env.bot.create is not None
    env.bot.create.poll_interval = 0.02
    env.bot.create.bid_timeout = 0.4
    env.bot.create.follow_timeout = 0.3
    akash = env.api("akash")
    akash.bid_delay = 0
    akash.lease_ready_delay = 0


def _form(values: dict[str, str | dict[str, Any]]) -> dict[str, Any]:
    mapping: dict[tuple[str, str], str | dict[str, Any]] = {}
    for key, value in values.items():
        action = {"market": views.MARKET_ACTION, "node": views.NODE_ACTION}.get(key, views.VALUE)
        if key in ("market", "node", "strategy", "gpu", "autostart"):
            kind = "external_select" if key in ("market", "node") else "static_select"
            mapping[(key, action)] = {"type": kind, "selected_option": {"value": value}}
        else:
            mapping[(key, action)] = value
    return input_values(mapping)


async def submit(
    env: SlackEnv, callback: str, values: dict[str, Any], meta: dict[str, Any], view_id: str
) -> Answer:
    answer = await env.post(
        payloads.view_submission(
            secret=env.secret,
            callback_id=callback,
            values=values,
            private_metadata=json.dumps(meta),
            team_id=TEAM,
            user_id=MEMBER,
            view_id=view_id,
        )
    )
    await env.settle()
    return answer


async def open_form(env: SlackEnv, text: str) -> dict[str, Any]:
    """Run the command; the loading view opened at once, then the form (or review) in it."""
    await env.command(text)
    assert env.calls("views.open"), "no modal was opened"
    update = env.calls("views.update")[-1].body
    assert update["view_id"] == env.calls("views.open")[-1].response["view"]["id"]
    return update["view"]


async def review(env: SlackEnv, provider: str, values: dict[str, str]) -> tuple[Answer, str]:
    view_id = "V" + secrets.token_hex(4)
    answer = await submit(
        env, views.CREATE_FORM, _form(values), {"p": provider, "c": CHANNEL}, view_id
    )
    return answer, view_id


async def confirm(env: SlackEnv, review_answer: Answer) -> Answer:
    view = review_answer.body["view"]
    assert view["callback_id"] == views.CREATE_REVIEW
    return await submit(
        env,
        views.CREATE_REVIEW,
        {},
        json.loads(view["private_metadata"]),
        "V" + secrets.token_hex(4),
    )


async def requests_in(env: SlackEnv, *states: str) -> int:
    sessions = async_sessionmaker(env.storage.engine)
    async with sessions() as session:
        query = select(func.count()).select_from(CreateRequest)
        if states:
            query = query.where(CreateRequest.state.in_(states))
        return int(await session.scalar(query) or 0)


async def created_dseq(env: SlackEnv) -> Any:
    """The sandbox's record of the Akash deployment the latest request created."""
    sessions = async_sessionmaker(env.storage.engine)
    async with sessions() as session:
        row = await session.scalar(
            select(CreateRequest).order_by(CreateRequest.created_at.desc()).limit(1)
        )
    assert row is not None and row.deployment_id
    return env.api("akash").deployment(row.deployment_id)


def posted(env: SlackEnv) -> list[dict[str, Any]]:
    return [c.body for c in env.calls("chat.postMessage")]


def last_status(env: SlackEnv) -> dict[str, Any]:
    updates = [c.body for c in env.calls("chat.update")]
    return updates[-1] if updates else posted(env)[-1]


async def deployments(env: SlackEnv, provider: str) -> list[Any]:
    client = await env.bot.service.client(ACTOR, provider)  # type: ignore[arg-type]
    return await client.list_deployments()


# -- Nosana ----------------------------------------------------------------------------------------


async def test_nosana_create_from_the_form_with_estimate_then_once(env: SlackEnv) -> None:
    view = await open_form(env, "create nosana")
    assert view["callback_id"] == views.CREATE_FORM
    blocks = {b.get("block_id") for b in view["blocks"]}
    assert {"name", "market", "strategy", "schedule", "job_definition", "autostart"} <= blocks

    # the market type-ahead answers with prices, filtered by what is typed
    options = await env.post(
        payloads.block_suggestion(
            secret=env.secret, action_id=views.MARKET_ACTION, value="4090", team_id=TEAM
        )
    )
    labels = [o["text"]["text"] for o in options.body["options"]]
    assert labels and all("4090" in label for label in labels)
    assert "$0.385/h" in labels[0]

    before = len(await deployments(env, "nosana"))
    answer, _ = await review(
        env,
        "nosana",
        {
            "name": "llama-e2e",
            "market": RTX4090,
            "replicas": "2",
            "timeout": "90",
            "strategy": "SIMPLE",
            "image": "ollama/ollama:0.5",
            "port": "11434",
            "env": "OLLAMA_MODELS=llama3",
            "gpu": "yes",
            "autostart": "yes",
        },
    )
    assert answer.body["response_action"] == "update"
    shown = json.dumps(answer.body["view"])
    # 0.35 USD/h reward + 10 % network fee, two replicas, 90 minutes
    assert "$0.77/h" in shown and "$1.16" in shown and "Balance" in shown
    assert len(await deployments(env, "nosana")) == before  # nothing created yet

    done = await confirm(env, answer)
    assert done.body["response_action"] == "update"
    created = await deployments(env, "nosana")
    assert len(created) == before + 1
    new = next(d for d in created if d.name == "llama-e2e")
    assert new.replicas == 2
    [status] = [p for p in posted(env) if p.get("channel") == CHANNEL]
    assert "llama-e2e" in message_text(status)
    assert new.id in message_text(last_status(env))

    [request] = await env.bot.create.store.in_states(["created"])  # type: ignore[union-attr]
    described = await env.bot.create.describe(request.id)  # type: ignore[union-attr]
    head, *facts = described.splitlines()
    assert head == "create Nosana deployment llama-e2e (about $0.77/h)"
    assert "• *Replicas:* 2" in facts and "• *Timeout:* 1 h 30 min" in facts
    assert "• *Env names:* `OLLAMA_MODELS`" in facts and "llama3" not in described

    # Slack retries the confirmation, a colleague double-clicks: still one deployment
    await confirm(env, answer)
    await confirm(env, answer)
    assert len(await deployments(env, "nosana")) == before + 1
    assert len([p for p in posted(env) if p.get("channel") == CHANNEL]) == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"name": ""}, "name"),
        ({"market": "no-such-market"}, "market"),
        ({"timeout": "soon"}, "timeout"),
        ({"replicas": "0"}, "replicas"),
        ({"strategy": "SCHEDULED"}, "schedule"),
        ({"strategy": "SCHEDULED", "schedule": "61 * * * *"}, "schedule"),
        ({"strategy": "INFINITE", "timeout": "30"}, "timeout"),
        ({"rotation_time": "5"}, "rotation_time"),
        ({"job_definition": "{not json"}, "job_definition"),
        (
            {"job_definition": '{"version":"0.1","type":"container","ops":[{"id":"a b"}]}'},
            "job_definition",
        ),
        ({"image": "", "job_definition": ""}, "image"),
        ({"env": "no equals sign"}, "env"),
        ({"port": "70000"}, "port"),
    ],
)
async def test_nosana_invalid_fields_come_back_as_field_errors(
    env: SlackEnv, values: dict[str, str], field: str
) -> None:
    good = {
        "name": "x",
        "market": RTX4090,
        "timeout": "60",
        "strategy": "SIMPLE",
        "image": "ubuntu",
    }
    before = len(await deployments(env, "nosana"))
    answer, _ = await review(env, "nosana", {**good, **values})
    assert answer.body["response_action"] == "errors"
    assert field in answer.body["errors"]
    assert await requests_in(env) == 0
    assert len(await deployments(env, "nosana")) == before


async def test_low_credits_warn_in_the_review(env: SlackEnv) -> None:
    env.api("nosana").set_credits(env.keys["nosana"], Decimal("0.10"))
    answer, _ = await review(
        env,
        "nosana",
        {"name": "x", "market": RTX4090, "timeout": "60", "image": "ubuntu", "strategy": "SIMPLE"},
    )
    shown = json.dumps(answer.body["view"])
    assert "last about" in shown and ":warning:" in shown


# -- NeuraNET --------------------------------------------------------------------------------------


async def test_neuranet_create_with_node_typeahead_and_estimate(env: SlackEnv) -> None:
    client = await env.bot.service.client(ACTOR, "neuranet")
    nodes = [n for n in await client.nodes() if n.status == "online" and (n.vram_mb or 0) >= 24576]
    node = nodes[0]
    options = await env.post(
        payloads.block_suggestion(
            secret=env.secret, action_id=views.NODE_ACTION, value="vram>=24", team_id=TEAM
        )
    )
    values = [o["value"] for o in options.body["options"]]
    assert node.id in values
    before = len(await deployments(env, "neuranet"))
    answer, _ = await review(
        env,
        "neuranet",
        {"name": "nn-e2e", "node": node.id, "template_id": "ollama", "env": "OLLAMA_MODELS=x"},
    )
    assert answer.body["response_action"] == "update", answer.body
    shown = json.dumps(answer.body["view"])
    assert fmt.per_hour(node.price_per_hour_usd) in shown
    await confirm(env, answer)
    created = await deployments(env, "neuranet")
    assert len(created) == before + 1
    new = next(d for d in created if d.name == "nn-e2e")
    assert new.cost_per_hour_usd == node.price_per_hour_usd  # estimate matches what it costs
    assert "nn-e2e" in message_text(last_status(env))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"template_id": "ollama", "custom_image": "nginx"}, "custom_image"),
        ({"template_id": "", "custom_image": ""}, "template_id"),
        ({"node": "node_nope"}, "node"),
        ({"custom_image": "Not An Image!", "template_id": ""}, "custom_image"),
    ],
)
async def test_neuranet_invalid_fields(env: SlackEnv, values: dict[str, str], field: str) -> None:
    client = await env.bot.service.client(ACTOR, "neuranet")
    node = next(n for n in await client.nodes() if n.status == "online")
    answer, _ = await review(env, "neuranet", {"node": node.id, "template_id": "ollama", **values})
    assert answer.body["response_action"] == "errors"
    assert field in answer.body["errors"]
    assert await requests_in(env) == 0


# -- Akash -----------------------------------------------------------------------------------------

QUICK = {
    "image": "vllm/vllm-openai:v0.6.3",
    "gpu_model": "rtx4090",
    "gpu_units": "1",
    "cpu": "4",
    "memory": "16Gi",
    "storage": "50Gi",
    "port": "8000",
    "max_price": "1.00",
    "deposit": "5",
}


async def test_akash_bids_arrive_accept_creates_the_lease_once_and_shows_uris(
    env: SlackEnv,
) -> None:
    view = await open_form(env, "create akash")
    assert {"sdl", "image", "max_price", "deposit"} <= {b.get("block_id") for b in view["blocks"]}
    answer, _ = await review(env, "akash", QUICK)
    assert answer.body["response_action"] == "update", answer.body
    shown = json.dumps(answer.body["view"])
    client = await env.bot.service.client(ACTOR, "akash")
    balance = (await client.balance()).available_usd
    assert "$1.00/h" in shown and f"*Balance:* {fmt.usd(balance)}" in shown
    await confirm(env, answer)

    dep = await created_dseq(env)
    status = last_status(env)
    text = message_text(status)
    accept = {k: v for k, v in buttons(status).items() if k.startswith(views.ACCEPT_ACTION)}
    assert len(accept) == 2  # europlots and rtxcloud have 4090s
    assert "rtxcloud" in text and "europlots" in text and "audited" in text and "uptime" in text
    # the bid prices shown are the sandbox's (USD/hour)
    for bid in await client.bids(dep.dseq):
        assert fmt.per_hour(bid.price_per_hour_usd) in text

    cheapest = min(await client.bids(dep.dseq), key=lambda b: b.price_per_hour_usd)
    value = next(v for v in accept.values() if cheapest.provider_address in v)
    action = next(k for k, v in accept.items() if v == value)
    [row] = await env.bot.create.store.in_states(["bidding"])  # type: ignore[union-attr]
    bid_key = json.loads(value)["b"]
    assert (await env.bot.create.describe(row.id, bid_key)).startswith(  # type: ignore[union-attr]
        f"lease Akash deployment {dep.dseq}"
    )
    await env.click(action, value, settle=False)
    await env.click(action, value, settle=False)  # a double click, maybe on another replica
    await env.settle()
    leases = [lease for lease in dep.leases]
    assert len(leases) == 1
    final = message_text(last_status(env))
    assert "ingress" in final  # the service URI once the lease is ready
    assert await requests_in(env, "leased") == 1


async def test_akash_without_bids_says_so_with_advice_and_offers_close(env: SlackEnv) -> None:
    answer, _ = await review(env, "akash", {**QUICK, "gpu_model": "b200"})
    await confirm(env, answer)
    status = last_status(env)
    text = message_text(status)
    assert "No bids arrived" in text
    assert "raise the max price" in text and "lower the resources" in text
    assert "check the SDL" in text
    assert views.CLOSE_ACTION in buttons(status)
    dep = await created_dseq(env)
    await env.click(views.CLOSE_ACTION, buttons(status)[views.CLOSE_ACTION])
    assert dep.state == "closed"
    assert await requests_in(env, "closed") == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"sdl": "version: '2.0'\nservices: {}\n"}, "sdl"),
        ({"sdl": "not: [valid"}, "sdl"),
        ({"memory": "lots"}, "memory"),
        ({"image": ""}, "image"),
        ({"max_price": "-1"}, "max_price"),
        ({"deposit": "0"}, "deposit"),
        ({"port": "0"}, "port"),
    ],
)
async def test_akash_invalid_input(env: SlackEnv, values: dict[str, str], field: str) -> None:
    before = len(env.api("akash").deployments_of(env.keys["akash"]))
    answer, _ = await review(env, "akash", {**QUICK, **values})
    assert answer.body["response_action"] == "errors"
    assert field in answer.body["errors"]
    assert len(env.api("akash").deployments_of(env.keys["akash"])) == before


async def test_akash_certificate_era_gets_one_transparently_stored_encrypted(
    env: SlackEnv,
) -> None:
    akash = env.api("akash")
    akash.certificates_required = True
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    status = last_status(env)
    action, value = next(
        (k, v) for k, v in buttons(status).items() if k.startswith(views.ACCEPT_ACTION)
    )
    await env.click(action, value)
    dep = await created_dseq(env)
    assert len(dep.leases) == 1
    sessions = async_sessionmaker(env.storage.engine)
    async with sessions() as session:
        rows = list(await session.scalars(select(ProviderCertificate)))
    assert len(rows) == 1 and "PRIVATE KEY" not in rows[0].encrypted


async def test_current_akash_api_needs_no_certificate(env: SlackEnv) -> None:
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    status = last_status(env)
    action, value = next(
        (k, v) for k, v in buttons(status).items() if k.startswith(views.ACCEPT_ACTION)
    )
    await env.click(action, value)
    sessions = async_sessionmaker(env.storage.engine)
    async with sessions() as session:
        assert list(await session.scalars(select(ProviderCertificate))) == []
    assert await requests_in(env, "leased") == 1


# -- choosing the provider, retries ----------------------------------------------------------------


async def test_create_without_provider_offers_the_connected_ones(env: SlackEnv) -> None:
    answer = await env.command("create")
    body = env.last_response(answer.response_key)
    picks = {k: v for k, v in buttons(body).items() if k.startswith(views.PICK_ACTION)}
    assert set(picks.values()) == {"nosana", "akash", "neuranet"}
    await env.click(f"{views.PICK_ACTION}_akash", "akash")
    view = env.calls("views.update")[-1].body["view"]
    assert view["callback_id"] == views.CREATE_FORM
    assert json.loads(view["private_metadata"])["p"] == "akash"


async def test_a_retried_form_submission_keeps_one_request(env: SlackEnv) -> None:
    values = {"name": "x", "market": RTX4090, "image": "ubuntu", "strategy": "SIMPLE"}
    view_id = "Vretry"
    for _ in range(3):
        answer = await submit(
            env, views.CREATE_FORM, _form(values), {"p": "nosana", "c": CHANNEL}, view_id
        )
        assert answer.body["response_action"] == "update"
    assert await requests_in(env) == 1


# -- templates -------------------------------------------------------------------------------------


async def test_template_from_the_form_then_one_command_with_overrides(env: SlackEnv) -> None:
    answer, _ = await review(
        env,
        "nosana",
        {
            "name": "llama",
            "market": RTX4090,
            "image": "ollama/ollama",
            "strategy": "SIMPLE",
            "timeout": "60",
            "env": "HF_TOKEN=hf_topsecret42",
            "save_as": "llama",
        },
    )
    assert "Saved as template" in json.dumps(answer.body["view"])
    assert "hf_topsecret42" not in json.dumps(answer.body["view"])
    # env values may be tokens: forms, specs and templates are encrypted at rest
    sessions = async_sessionmaker(env.storage.engine)
    async with sessions() as session:
        raw = [(r.form, r.spec) for r in await session.scalars(select(CreateRequest))] + [
            (t.form, "") for t in await session.scalars(select(CreateTemplate))
        ]
    assert len(raw) == 2 and not any("hf_topsecret42" in a + b for a, b in raw)
    assert await env.bot.create.store.reencrypt_all() == 2  # type: ignore[union-attr]
    listed = await env.command("template list")
    assert "llama" in message_text(env.last_response(listed.response_key))

    before = len(await deployments(env, "nosana"))
    view = await open_form(env, 'create --template llama replicas=3 name="llama-big"')
    assert view["callback_id"] == views.CREATE_REVIEW  # one click from created
    assert "$1.16/h" in json.dumps(view)  # three replicas on the 4090 market
    await submit(env, views.CREATE_REVIEW, {}, json.loads(view["private_metadata"]), "Vt2")
    created = await deployments(env, "nosana")
    assert len(created) == before + 1
    assert next(d for d in created if d.name == "llama-big").replicas == 3

    # a bad override opens the form with the problem named, nothing is created
    view = await open_form(env, "create --template llama replicas=zero colour=red")
    assert view["callback_id"] == views.CREATE_FORM
    assert "colour" in json.dumps(view) and "replicas" in json.dumps(view)

    gone = await env.command("template delete llama")
    assert "Deleted" in message_text(env.last_response(gone.response_key))
    missing = await env.command("create --template llama")
    assert "no template" in json.dumps(env.calls("views.update")[-1].body["view"])
    assert missing.status == 200


async def test_template_saved_from_an_existing_deployment(env: SlackEnv) -> None:
    client = await env.bot.service.client(ACTOR, "nosana")
    existing = (await client.list_deployments())[0]
    saved = await env.command(f"template save web {existing.id}")
    assert "Saved template `web`" in message_text(env.last_response(saved.response_key))
    view = await open_form(env, "create --template web name=web-copy")
    assert view["callback_id"] in (views.CREATE_REVIEW, views.CREATE_FORM)
    assert "web-copy" in json.dumps(view)


async def test_a_bid_wait_resumes_on_another_replica_and_any_replica_accepts(
    env: SlackEnv,
) -> None:
    from datetime import UTC, datetime, timedelta

    from bot.services.create import CreateService
    from bot.services.create_status import StatusMessages

    akash = env.api("akash")
    akash.bid_delay = 30  # sandbox seconds: no bids until the clock moves
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    dep = await created_dseq(env)
    assert "No bids arrived" in message_text(last_status(env))

    # the process died while waiting: the row says "bidding" with time left
    sessions = async_sessionmaker(env.storage.engine)
    async with sessions() as session:
        row = await session.scalar(select(CreateRequest))
        assert row is not None
        request_id = row.id
    store = env.bot.create.store  # type: ignore[union-attr]
    await store.transition(
        request_id,
        ["no_bids"],
        "bidding",
        bid_deadline=datetime.now(UTC) + timedelta(seconds=5),
    )
    env.clock.advance(31)
    replica = CreateService(
        store,
        env.bot.service,
        env.settings,
        env.bot.work,
        publisher=StatusMessages(env.bot.slack, store).publish,
    )
    replica.poll_interval = 0.02
    assert await replica.resume() == 1
    await env.settle()
    status = last_status(env)
    accept = {k: v for k, v in buttons(status).items() if k.startswith(views.ACCEPT_ACTION)}
    assert len(accept) == 2
    action, value = next(iter(accept.items()))
    await env.click(action, value)  # handled by the first replica's service
    assert len(dep.leases) == 1
    assert await requests_in(env, "leased") == 1


async def test_a_create_the_provider_refuses_is_reported_in_the_status_message(
    env: SlackEnv,
) -> None:
    client = await env.bot.service.client(ACTOR, "neuranet")
    node = next(n for n in await client.nodes() if n.status == "online")
    answer, _ = await review(env, "neuranet", {"node": node.id, "template_id": "ollama"})
    env.api("neuranet").set_node_status(node.id, "offline")  # between review and confirm
    before = len(await deployments(env, "neuranet"))
    await confirm(env, answer)
    text = message_text(last_status(env))
    assert ":x:" in text and "failed" in text.lower()
    assert await requests_in(env, "failed") == 1
    assert len(await deployments(env, "neuranet")) == before
    await confirm(env, answer)  # confirming again does not retry a failed create
    assert await requests_in(env, "failed") == 1


async def test_a_bid_that_closed_meanwhile_is_refused_and_the_wait_goes_on(env: SlackEnv) -> None:
    answer, _ = await review(env, "akash", QUICK)
    await confirm(env, answer)
    dep = await created_dseq(env)
    status = last_status(env)
    action, value = next(
        (k, v) for k, v in buttons(status).items() if k.startswith(views.ACCEPT_ACTION)
    )
    env.api("akash").close_bids(dep.dseq)
    clicked = await env.click(action, value)
    said = message_text(env.last_response(clicked.response_key))
    assert "no longer open" in said
    assert not dep.leases
    assert await requests_in(env, "bidding") == 1
    assert "no longer open" in message_text(last_status(env))


async def test_start_up_reports_interrupted_creates_and_forgets_old_drafts(env: SlackEnv) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import update

    svc = env.bot.create
    assert svc is not None
    answer, _ = await review(env, "akash", QUICK)
    draft_id = json.loads(answer.body["view"]["private_metadata"])["r"]
    nosana, _ = await review(
        env, "nosana", {"name": "n", "market": RTX4090, "image": "ubuntu", "strategy": "SIMPLE"}
    )
    stuck_id = json.loads(nosana.body["view"]["private_metadata"])["r"]
    assert await svc.store.transition(stuck_id, ["draft"], "creating")
    old = datetime.now(UTC) - timedelta(days=3)
    sessions = async_sessionmaker(env.storage.engine)
    async with sessions.begin() as session:
        await session.execute(update(CreateRequest).values(updated_at=old))
    assert await svc.resume() == 0
    await env.settle()
    assert await svc.store.get(draft_id) is None
    failed = await svc.store.get(stuck_id)
    assert failed is not None and failed.state == "failed"
    assert "may exist" in message_text(last_status(env))
