"""Approvers see exactly what they approve: every field of a create spec, the lease's provider,
the cost change of start, current → new values along a chain; escaped and within Block Kit."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.core import create as core
from bot.core.create_summary import CreateFacts, create_summary, lease_summary, short_id
from bot.core.create_views import bid_key
from bot.core.operations import Chain, Operation, OpKind
from bot.core.policy import ApprovalRule, Risk
from bot.core.render import SECTION_TEXT, escape, split_text
from bot.providers import nosana
from bot.providers.models import Deployment, DeploymentStatus, Market

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
MARKET_ID = "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf"
RTX4090 = Market(
    id=MARKET_ID,
    name="NVIDIA RTX 4090",
    price_per_hour_usd=Decimal("0.385"),
    gpu="RTX 4090",
    vram_mb=24 * 1024,
)
NODE = Market(
    id="node_a100_eu",
    name="Frankfurt A100",
    price_per_hour_usd=Decimal("1.20"),
    gpu="A100",
    vram_mb=80 * 1024,
    status="online",
)
PROVIDER = "akash1w953u4eakw8cdljafgspngjq0errzm6phdpmwt"


def facts(
    provider: str,
    form: dict[str, str],
    catalog: list[Market] | None = None,
    **extra: Any,
) -> CreateFacts:
    """A create request as the review stores it: the spec with its summary, the estimate."""
    built = core.build_spec(provider, form, catalog)
    assert built.ok, built.errors
    est = core.estimate(provider, built.spec, built.place, None)
    spec = json.loads(json.dumps({**built.spec, "_summary": built.summary}))  # as stored
    return CreateFacts(
        provider=provider,
        title=form.get("name") or "deployment",
        spec=spec,
        estimate=core.Estimate.from_json(est.to_json()),
        **extra,
    )


def lines_of(text: str) -> list[str]:
    return text.splitlines()


# -- create: Nosana ---------------------------------------------------------------------------


NOSANA = {
    "name": "whisper-api",
    "market": MARKET_ID,
    "replicas": "2",
    "timeout": "90",
    "strategy": "SCHEDULED",
    "schedule": "0 */6 * * *",
    "image": "ollama/ollama:0.5",
    "port": "11434",
    "env": "HF_TOKEN=hf_supersecret\nMODEL=llama3",
    "gpu": "yes",
    "autostart": "yes",
}


def test_nosana_create_shows_every_field_of_the_spec() -> None:
    text = create_summary(facts("nosana", NOSANA, [RTX4090]), NOW)
    head, *rest = lines_of(text)
    assert head == "create Nosana deployment whisper-api (about $0.77/h)"
    assert "• *Provider:* Nosana" in rest
    assert "• *Market:* NVIDIA RTX 4090 (`97G9NnvBDQ…odAf`)" in rest
    assert "• *GPU:* RTX 4090, 24 GB" in rest
    assert "• *Replicas:* 2" in rest
    assert "• *Timeout:* 1 h 30 min" in rest
    assert "• *Strategy:* `SCHEDULED`" in rest
    # 09:30 → the next multiple of 6 hours
    assert "• *Cron:* `0 */6 * * *`, next run 2026-12-07 12:00 UTC" in rest
    assert "• *Image:* `ollama/ollama:0.5`" in rest
    assert "• *Exposed port:* 11434" in rest
    assert "• *Env names:* `HF_TOKEN`, `MODEL`" in rest
    assert "hf_supersecret" not in text and "llama3" not in text
    assert "• *Estimate:* about $0.77/h" in rest
    assert "• *Per timeout (1 h 30 min):* $1.16" in rest
    assert "_SCHEDULED pays this at every cron firing._" in rest


def test_nosana_simple_has_no_cron_and_says_when_it_is_unpriced() -> None:
    form = {**NOSANA, "strategy": "SIMPLE", "schedule": "", "env": "", "timeout": "1440"}
    text = create_summary(facts("nosana", form, None), NOW)  # the catalog was unreachable
    assert "Cron" not in text
    assert "• *Strategy:* `SIMPLE`" in text
    assert "• *Timeout:* 1 d" in text
    assert f"• *Market:* `{MARKET_ID}`" in text  # no name known: the full id
    assert "• *Env names:* none" in text
    assert "(cost unknown)" in lines_of(text)[0]
    assert "_The market's price is unknown: no estimate._" in text
    assert "• *Estimate:* unknown (no price for this place)" in text


def test_nosana_pasted_job_definition_lists_each_image_and_env_name() -> None:
    definition = {
        "version": "0.1",
        "type": "container",
        "meta": {"trigger": "api"},
        "ops": [
            {
                "type": "container/run",
                "id": "a",
                "args": {"image": "redis:7", "env": {"REDIS_PASSWORD": "p4ss"}},
            },
            {"type": "container/run", "id": "b", "args": {"image": "nginx:1", "gpu": True}},
        ],
    }
    form = {**NOSANA, "strategy": "SIMPLE", "schedule": "", "image": "", "env": ""}
    text = create_summary(
        facts("nosana", {**form, "job_definition": json.dumps(definition)}, [RTX4090]), NOW
    )
    assert "• *Image:* `redis:7`, `nginx:1`" in text
    assert "• *Uses the GPU:* yes" in text
    assert "• *Env names:* `REDIS_PASSWORD`" in text and "p4ss" not in text


# -- create: NeuraNET -------------------------------------------------------------------------


def test_neuranet_create_shows_node_image_env_names_and_cost_per_day() -> None:
    form = {
        "name": "chat",
        "node": NODE.id,
        "custom_image": "ghcr.io/acme/chat:2",
        "env": "API_KEY=sk-live-123",
    }
    text = create_summary(facts("neuranet", form, [NODE]), NOW)
    head, *rest = lines_of(text)
    assert head == "create NeuraNET deployment chat (about $1.20/h)"
    assert "• *Provider:* NeuraNET" in rest
    assert "• *Node:* Frankfurt A100 (`node_a100_eu`)" in rest
    assert "• *GPU:* A100, 80 GB" in rest
    assert "• *Image:* `ghcr.io/acme/chat:2`" in rest
    assert "• *Replicas:* 1 (one container on the node)" in rest
    assert "• *Timeout:* none: runs until stopped" in rest
    assert "• *Env names:* `API_KEY`" in rest and "sk-live-123" not in text
    assert "• *Per day (runs until stopped):* $28.80" in rest


def test_neuranet_template_is_named() -> None:
    form = {"name": "", "node": NODE.id, "template_id": "ollama"}
    text = create_summary(facts("neuranet", form, [NODE]), NOW)
    assert "• *Template:* `ollama`" in text and "Image" not in text


# -- create: Akash ----------------------------------------------------------------------------

AKASH = {
    "image": "vllm/vllm-openai:v0.6.3",
    "gpu_model": "rtx4090",
    "gpu_units": "1",
    "cpu": "4",
    "memory": "16Gi",
    "storage": "50Gi",
    "port": "8000",
    "max_price": "1.00",
    "env": "HF_TOKEN=hf_secret_value",
    "deposit": "5",
}


def test_akash_create_shows_services_resources_deposit_and_max_price() -> None:
    text = create_summary(facts("akash", AKASH), NOW)
    head, *rest = lines_of(text)
    assert head.startswith("create Akash deployment deployment (at most $")
    assert "• *Provider:* Akash" in rest
    assert "• *GPU asked for:* rtx4090" in rest
    service = next(line for line in rest if line.startswith("• *Service "))
    assert "image `vllm/vllm-openai:v0.6.3`" in service
    assert "1 × (4 CPU, 16 GiB, 50 GiB storage, 1 GPU (rtx4090))" in service
    assert "• *Env names:* `HF_TOKEN`" in rest and "hf_secret_value" not in text
    deposit = next(line for line in rest if line.startswith("• *Deposit:*"))
    assert deposit.startswith("• *Deposit:* $5.00 (lasts at least ")
    estimate = next(line for line in rest if line.startswith("• *Estimate:*"))
    assert "at most $" in estimate and "/h (the SDL's max price)" in estimate
    assert "/day" in estimate


# -- lease ------------------------------------------------------------------------------------


def _bid(address: str = PROVIDER, price: str = "0.459") -> dict[str, Any]:
    return {
        "deployment_id": "1793534400001",
        "provider_address": address,
        "gseq": 1,
        "oseq": 1,
        "state": "open",
        "price_per_block": "1.2",
        "denom": "uakt",
        "price_per_hour_usd": price,
        "gpu": "rtx4090",
    }


def test_a_lease_names_the_provider_as_the_bid_shows_it() -> None:
    bid = _bid()
    info = {
        "address": PROVIDER,
        "name": "europlots",
        "is_audited": True,
        "uptime_7d": 0.998,
        "region": "Hesse, Germany",
    }
    request = facts(
        "akash", AKASH, deployment_id="1793534400001", bids=[bid], providers={PROVIDER: info}
    )
    text = lease_summary(request, bid_key(bid), NOW)
    head, *rest = lines_of(text)
    assert head == ("lease Akash deployment 1793534400001 (deployment) from europlots at $0.459/h")
    assert PROVIDER not in text  # the address is shortened
    assert short_id(PROVIDER) == "akash1w953…pmwt"
    assert (
        "• *Provider:* europlots (`akash1w953…pmwt`, audited, uptime 99.8% (7d), Hesse, Germany)"
        in rest
    )
    assert "• *Price:* $0.459/h, $11.02/day" in rest
    assert "• *GPU:* rtx4090" in rest
    assert "• *Deposit:* $5.00 (lasts about 10 h 53 min at this price)" in rest
    assert "image `vllm/vllm-openai:v0.6.3`" in text and "hf_secret_value" not in text


def test_a_lease_without_provider_facts_says_what_is_unknown() -> None:
    bid = _bid(price="0.2")
    request = facts("akash", AKASH, deployment_id="42", bids=[bid])
    text = lease_summary(request, bid_key(bid), NOW)
    assert (
        lines_of(text)[0]
        == "lease Akash deployment 42 (deployment) from akash1w953…pmwt at $0.20/h"
    )
    assert "audit status unknown" in text


def test_a_lease_of_a_bid_no_longer_listed_says_so() -> None:
    request = facts("akash", AKASH, deployment_id="42", bids=[])
    text = lease_summary(request, f"{PROVIDER}/1/1", NOW)
    assert "akash1w953…pmwt" in lines_of(text)[0] and "an unknown price" in lines_of(text)[0]
    assert "no longer listed" in text


# -- escaping ---------------------------------------------------------------------------------


def test_user_text_is_escaped_once_and_only_user_text_needs_it() -> None:
    hostile = {**NOSANA, "name": "<!channel> & <@U1>"}
    text = create_summary(facts("nosana", hostile, [RTX4090]), NOW)
    shown = escape(text)  # what the gate posts
    assert "&lt;!channel&gt; &amp; &lt;@U1&gt;" in shown
    assert "<!channel>" not in shown and "&amp;lt;" not in shown
    # the rest of the text has no mrkdwn control characters of its own
    clean = create_summary(facts("nosana", NOSANA, [RTX4090]), NOW)
    assert escape(clean) == clean


def test_provider_names_are_escaped_once_too() -> None:
    bid = _bid()
    request = facts(
        "akash",
        AKASH,
        deployment_id="42",
        bids=[bid],
        providers={PROVIDER: {"name": "<https://evil|click> & co", "is_audited": False}},
    )
    shown = escape(lease_summary(request, bid_key(bid), NOW))
    assert "&lt;https://evil|click&gt; &amp; co" in shown and "<https://evil" not in shown
    assert "not audited" in shown


def test_deployment_names_in_operation_summaries_are_escaped() -> None:
    dep = _nosana_deployment(name="<!here> & co")
    text = msg.summarize(Operation(kind=OpKind.RENAME, target=dep.id, name="<@U9>"), dep)
    assert "&lt;!here&gt; &amp; co" in text and "“&lt;@U9&gt;”" in text and "<!here>" not in text


# -- start, stop and chains -------------------------------------------------------------------


def _nosana_deployment(
    status: str = "STOPPED", timeout: int | None = 60, name: str = "whisper-api"
) -> Deployment:
    raw: dict[str, Any] = {
        "id": "dep9xk2",
        "name": name,
        "status": status,
        "replicas": 2,
        "strategy": "SIMPLE",
        "market": MARKET_ID,
    }
    if timeout is not None:
        raw["timeout"] = timeout
    return nosana.to_deployment(raw, Decimal("0.385"))


def op(kind: OpKind, **values: Any) -> Operation:
    return Operation(kind=kind, target="dep9xk2", provider="nosana", **values)


def test_start_shows_the_cost_change() -> None:
    stopped = _nosana_deployment()
    assert stopped.cost_per_hour_usd == 0
    assert msg.step_summary(op(OpKind.START), stopped) == "start; cost $0.00/h → $0.77/h"
    running = _nosana_deployment("RUNNING")
    assert "already" in msg.step_summary(op(OpKind.START), running)


def test_stop_close_archive_delete_still_show_the_cost_going_to_zero() -> None:
    running = _nosana_deployment("RUNNING")
    for kind in (OpKind.STOP, OpKind.CLOSE, OpKind.ARCHIVE, OpKind.DELETE):
        assert msg.step_summary(op(kind), running) == f"{kind.value}; cost $0.77/h → $0.00/h"


def test_a_chain_compares_each_step_with_the_deployment_the_previous_steps_leave() -> None:
    chain = Chain(
        target="dep9xk2",
        provider="nosana",
        steps=(
            op(OpKind.START),
            op(OpKind.TIMEOUT, minutes=90),
            op(OpKind.SCALE, replicas=3),
            op(OpKind.TIMEOUT, minutes=120),
            op(OpKind.STOP),
        ),
    )
    text = msg.summarize(chain, _nosana_deployment())
    head, *steps = lines_of(text)
    assert head == "*whisper-api* (`dep9xk2`, Nosana, stopped), in order:"
    assert steps == [
        "1. start; cost $0.00/h → $0.77/h",
        "2. timeout 1 h → 1 h 30 min",
        "3. scale: replicas 2 → 3; cost $0.77/h → $1.16/h",
        "4. timeout 1 h 30 min → 2 h",
        "5. stop; cost $1.16/h → $0.00/h",
    ]
    assert "?" not in text


def test_scaling_a_stopped_deployment_shows_the_cost_while_running() -> None:
    text = msg.step_summary(op(OpKind.SCALE, replicas=4), _nosana_deployment())
    assert text == "scale: replicas 2 → 4; cost while running $0.77/h → $1.54/h"


def test_an_unknown_current_value_says_not_set() -> None:
    text = msg.step_summary(op(OpKind.TIMEOUT, minutes=90), _nosana_deployment(timeout=None))
    assert text == "timeout (not set) → 1 h 30 min"
    schedule = msg.step_summary(op(OpKind.SCHEDULE, cron="0 * * * *"), _nosana_deployment())
    assert schedule == "schedule (not set) → `0 * * * *`"


def test_a_chain_carries_schedule_name_and_revision_along() -> None:
    dep = _nosana_deployment().model_copy(update={"active_revision": 3})
    chain = Chain(
        target=dep.id,
        steps=(
            op(OpKind.SCHEDULE, cron="0 * * * *"),
            op(OpKind.SCHEDULE, cron="*/5 * * * *"),
            op(OpKind.RENAME, name="whisper-2"),
            op(OpKind.RENAME, name="whisper-3"),
            op(OpKind.REVISE, definition="{}"),
            op(OpKind.ROLLBACK, revision=2),
        ),
    )
    steps = lines_of(msg.summarize(chain, dep))[1:]
    assert steps == [
        "1. schedule (not set) → `0 * * * *`",
        "2. schedule `0 * * * *` → `*/5 * * * *`",
        "3. rename “whisper-api” → “whisper-2”",
        "4. rename “whisper-2” → “whisper-3”",
        "5. publish a new revision (revision 3 → 4)",
        "6. roll back: revision 4 → 2",
    ]


def test_a_neuranet_start_uses_the_nodes_rate() -> None:
    dep = Deployment(
        provider="neuranet",
        id="nn_1",
        name="chat",
        status=DeploymentStatus.STOPPED,
        raw_status="stopped",
        cost_per_hour_usd=Decimal(0),
        extras={"node_hourly_rate_usd": "1.20"},
    )
    assert msg.step_summary(op(OpKind.START), dep) == "start; cost $0.00/h → $1.20/h"


def test_without_a_deployment_the_request_is_said_in_words() -> None:
    assert msg.step_summary(op(OpKind.TIMEOUT, minutes=90), None) == "set the timeout to 1 h 30 min"
    assert msg.step_summary(op(OpKind.START), None) == "start"


# -- Block Kit limits -------------------------------------------------------------------------


def _view(summary: str) -> msg.ApprovalView:
    return msg.ApprovalView(
        request_id="r1",
        requester_id="U1",
        summary=summary,
        risk=Risk.SPEND,
        rule=ApprovalRule(),
        state="pending",
        expires_at=NOW + timedelta(hours=1),
    )


@pytest.mark.parametrize("words", [10, 150, 900])
def test_long_requests_are_split_into_sections_between_lines(words: int) -> None:
    summary = "\n".join(f"• *Env name {i}:* `VAR_{i}_NAME`" for i in range(words))
    reply = msg.request_message(_view(summary))
    sections = [b for b in reply.blocks or [] if b["type"] == "section"]
    assert all(len(s["text"]["text"]) <= SECTION_TEXT for s in sections)
    shown = "\n".join(s["text"]["text"] for s in sections)
    kept = [line for line in summary.splitlines() if line in shown.splitlines()]
    if len(summary) < 2 * SECTION_TEXT:
        assert len(sections) == max(1, -(-len(summary) // SECTION_TEXT))
        assert kept == summary.splitlines()  # nothing lost, no line cut
    else:
        assert len(sections) == msg.MAX_SUMMARY_SECTIONS
        assert "the rest is too long for one Slack message" in sections[-1]["text"]["text"]
        # every line shown is whole
        assert all(
            line in summary.splitlines() or not line.startswith("•") for line in shown.splitlines()
        )
    assert reply.blocks is not None and reply.blocks[-1]["type"] == "actions"
    dm = msg.dm_message(_view(summary), "C1")
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in dm.blocks or [] if "text" in b)


def test_split_text_cuts_between_words_when_a_line_is_too_long() -> None:
    line = " ".join(f"word{i}" for i in range(2000))
    pieces = split_text(line, 3000)
    assert all(len(p) <= 3000 for p in pieces)
    assert " ".join(pieces) == line
    assert split_text("") == [""]


def test_notification_text_keeps_whole_lines_of_the_summary() -> None:
    summary = create_summary(facts("nosana", NOSANA, [RTX4090]), NOW)
    reply = msg.request_message(_view(summary))
    assert reply.text.startswith(
        "<@U1> asks for approval: create Nosana deployment whisper-api (about $0.77/h) · "
        "• *Provider:* Nosana · "
    )
    assert reply.text.endswith(" …") and len(reply.text) <= 530
    assert msg.gist("one two three four", 10) == "one two…"
    assert msg.gist("a\nb", 100) == "a · b"


def test_the_pending_list_shows_each_request_in_a_line() -> None:
    long = create_summary(facts("nosana", NOSANA, [RTX4090]), NOW)
    rows = [("a1b2c3d4e5f60718", "U1", long, "C1", NOW)] * 30
    reply = msg.pending_reply(rows)
    assert reply.blocks is not None and 1 < len(reply.blocks) <= msg.MAX_SUMMARY_SECTIONS
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in reply.blocks)
    first = reply.text.splitlines()[1]
    assert first.startswith(
        "• `a1b2c3d4e5f60718` <@U1> in <#C1>: create Nosana deployment whisper-api"
    )
    assert "— expires <!date^" in first


def test_unknown_costs_are_left_out_or_said_in_words() -> None:
    akash = Deployment(
        provider="akash",
        id="123",
        name="dseq 123",
        status=DeploymentStatus.RUNNING,
        raw_status="active",
        replicas=1,
        extras={"escrow_funds_usd": "3.20"},
    )
    assert msg.step_summary(op(OpKind.CLOSE), akash) == "close"
    assert msg.step_summary(op(OpKind.SCALE, replicas=3), akash) == "scale: replicas 1 → 3"
    deposit = op(OpKind.DEPOSIT, amount_usd=Decimal(5))
    assert msg.step_summary(deposit, akash) == "add $5.00 to the escrow (escrow $3.20 → $8.20)"
    chain = Chain(target="123", steps=(deposit, deposit))
    assert lines_of(msg.summarize(chain, akash))[2] == (
        "2. add $5.00 to the escrow (escrow $8.20 → $13.20)"
    )
