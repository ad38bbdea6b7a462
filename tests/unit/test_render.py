"""Block Kit rendering: escaping, Slack's limits, buttons only for what can be done."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.render import deployment_card, deployment_list, escape, money
from bot.providers.models import Capability, Deployment, DeploymentStatus, Endpoint

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def dep(i: int = 0, **kw: object) -> Deployment:
    base: dict[str, object] = {
        "provider": "nosana",
        "id": f"7AtiXMSH6R1jjBxrcYjehCkkSF7zvYWte63gwEDB{i:04d}",
        "name": f"llama-{i}",
        "status": DeploymentStatus.RUNNING,
        "raw_status": "RUNNING",
        "replicas": 2,
        "cost_per_hour_usd": Decimal("0.432"),
        "created_at": NOW - timedelta(hours=3),
    }
    base.update(kw)
    return Deployment(**base)  # type: ignore[arg-type]


def all_text(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_escape() -> None:
    assert escape("<!channel> & <@U1>") == "&lt;!channel&gt; &amp; &lt;@U1&gt;"


def test_hostile_names_and_statuses_are_escaped() -> None:
    card = deployment_card(
        dep(name="<!channel> hi", status=DeploymentStatus.UNKNOWN, raw_status="<!here>"),
        allowed=[],
        now=NOW,
    )
    text = all_text(card)
    assert "<!channel>" not in text and "<!here>" not in text
    assert "&lt;!channel&gt; hi" in text
    assert "unknown (&lt;!here&gt;)" in text


def test_card_shows_facts_and_only_allowed_buttons_with_confirm_on_destructive() -> None:
    card = deployment_card(
        dep(endpoints=(Endpoint(url="https://abc.node.k8s.prd.nos.ci"),)),
        allowed={Capability.STOP, Capability.LOGS, Capability.SCALE},
        now=NOW,
    )
    text = all_text(card)
    assert ":large_green_circle: running" in text
    assert "$0.432/h" in text
    assert "3 h" in text
    assert "https://abc.node.k8s.prd.nos.ci" in text
    assert action_ids(card) == ["deployment_stop", "deployment_logs"]
    stop = next(e for b in card if b["type"] == "actions" for e in b["elements"])
    assert stop["confirm"]["confirm"]["text"] == "Stop"
    assert json.loads(stop["value"]) == {"p": "nosana", "d": dep().id, "op": "stop"}
    logs = card[-1]["elements"][1]
    assert "confirm" not in logs


def test_card_without_actions_has_no_actions_block() -> None:
    assert all(b["type"] != "actions" for b in deployment_card(dep(), allowed=[], now=NOW))


def test_list_of_500_stays_within_limits_and_paginates() -> None:
    deployments = [dep(i) for i in range(500)]
    blocks = deployment_list(deployments, now=NOW, title="Deployments", next_value="cursor-2")
    assert len(blocks) <= 50
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert sum(len(t) for t in texts) <= 11_000  # under Slack's msg_blocks_too_long threshold
    assert all(len(t) <= 3000 for t in texts)
    shown = sum(t.count("\n") + 1 for t in texts[1:])
    assert 50 <= shown < 500
    assert f"Showing {shown} of 500" in all_text(blocks)
    assert action_ids(blocks) == ["list_next"]


def test_empty_list() -> None:
    assert "No deployments." in all_text(deployment_list([], now=NOW, title="x"))


def test_money() -> None:
    assert money(None) == "—"
    assert money(Decimal("1234.5"), "/h") == "$1,234.50/h"
    assert money(Decimal("0.0042")) == "$0.0042"


@settings(max_examples=300, deadline=None)
@given(name=st.text(max_size=400), raw=st.text(max_size=100))
def test_any_name_renders_escaped_within_limits(name: str, raw: str) -> None:
    card = deployment_card(
        dep(name=name, raw_status=raw, status=DeploymentStatus.UNKNOWN),
        allowed=set(Capability),
        now=NOW,
    )
    for block in card:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
            assert "<!" not in block["text"]["text"]
    ids = action_ids(card)
    assert len(ids) == len(set(ids))
