"""Cards show what people look for, per network: timeout, strategy, cron and next run, market
and GPU (Nosana); node (NeuraNET); escrow, runway and lease provider (Akash)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.core.card_facts import named_leases
from bot.core.render import deployment_card
from bot.providers.models import Deployment, DeploymentStatus

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MARKET = "97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf"
LEASER = "akash1w953xkw8l8r5n0k9qeqq4j5y0y4whvkvcs3pmwt"


def dep(provider: str, **kw: Any) -> Deployment:
    base: dict[str, Any] = {
        "provider": provider,
        "id": "d1",
        "name": "web",
        "status": DeploymentStatus.RUNNING,
        "raw_status": "running",
        "created_at": NOW - timedelta(hours=2, minutes=5),
    }
    base.update(kw)
    return Deployment(**base)


def fields(card: list[dict[str, Any]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for block in card:
        for f in block.get("fields") or []:
            label, _, value = f["text"].partition("\n")
            out[label.strip("*")] = value
    return out


def test_a_nosana_card_has_timeout_strategy_cron_with_next_run_and_market() -> None:
    card = deployment_card(
        dep(
            "nosana",
            active_revision=3,
            extras={
                "timeout_minutes": 125,
                "strategy": "SCHEDULED",
                "schedule": "0 */6 * * *",
                "market": MARKET,
                "market_name": "NVIDIA RTX 4090",
                "market_gpu": "NVIDIA GeForce RTX 4090",
            },
        ),
        allowed=[],
        now=NOW,
    )
    got = fields(card)
    assert got["Timeout"] == "2 h 5 min"
    assert got["Strategy"] == "`SCHEDULED`"
    next_run = int(datetime(2026, 11, 23, 18, 0, tzinfo=UTC).timestamp())
    assert got["Cron"].startswith("`0 */6 * * *`, next run <!date^" + str(next_run))
    assert got["Market"] == "NVIDIA RTX 4090 · GPU NVIDIA GeForce RTX 4090"
    assert got["Age"] == "2 h 5 min" and got["Revision"] == "3"
    assert len(card) <= 3 and all(len(b.get("fields") or []) <= 10 for b in card)


def test_a_nosana_card_without_market_facts_shows_the_market_address_short() -> None:
    got = fields(
        deployment_card(
            dep("nosana", extras={"market": MARKET, "schedule": "not a cron"}),
            allowed=[],
            now=NOW,
        )
    )
    assert got["Market"] == "`97G9Nn…odAf`"
    assert got["Cron"] == "`not a cron`, unreadable"
    assert "Timeout" not in got and "Revision" not in got


def test_a_neuranet_card_names_its_node() -> None:
    got = fields(
        deployment_card(
            dep(
                "neuranet",
                total_cost_usd=Decimal("2.99"),
                extras={
                    "node_id": "node_1",
                    "node_name": "Brooklyn 4090 Rig",
                    "node_gpu": "NVIDIA GeForce RTX 4090",
                    "node_region": "us-east",
                },
            ),
            allowed=[],
            now=NOW,
        )
    )
    assert got["Node"] == "Brooklyn 4090 Rig · NVIDIA GeForce RTX 4090 · us-east"
    assert got["Spent so far"] == "$2.99"


def test_an_akash_card_has_escrow_runway_lease_provider_and_its_leases() -> None:
    extras = {
        "escrow_funds_usd": "3.2",
        "runway_seconds": 6 * 3600 + 600,
        "leases": [
            {"provider": LEASER, "state": "active"},
            {"provider": "akash1old0000000000000000000000000000000000", "state": "closed"},
        ],
    }
    card = deployment_card(dep("akash", replicas=None, extras=extras), allowed=[], now=NOW)
    got = fields(card)
    assert got["Escrow"] == "$3.20"
    until = int((NOW + timedelta(hours=6, minutes=10)).timestamp())
    assert got["Runway"].startswith(f":warning: 6 h 10 min (until <!date^{until}^")
    assert got["Lease provider"] == "`akash1w953xk…pmwt`"
    # the list (and a watch card) has no lease status: say how many leases run
    assert got["Replicas"] == "unknown (1 active lease)"
    with_status = fields(
        deployment_card(dep("akash", replicas=3, extras=extras), allowed=[], now=NOW)
    )
    assert with_status["Replicas"] == "3"


def test_hostile_provider_facts_are_escaped() -> None:
    card = deployment_card(
        dep(
            "nosana",
            extras={"strategy": "<!here>", "market": MARKET, "market_name": "<@U1> & co"},
        ),
        allowed=[],
        now=NOW,
    )
    text = json.dumps(card)
    assert "<!here>" not in text and "<@U1>" not in text
    assert "&lt;@U1&gt; &amp; co" in text


def test_an_akash_card_names_the_lease_provider_when_known() -> None:
    extras = {"leases": [{"provider": LEASER, "state": "active"}]}
    named = named_leases(
        dep("akash", extras=extras), {LEASER: {"name": None, "host_uri": "https://p.euro.com:8443"}}
    )
    got = fields(deployment_card(named, allowed=[], now=NOW))
    assert got["Lease provider"] == "*p.euro.com* (`akash1w953xk…pmwt`)"
    named = named_leases(dep("akash", extras=extras), {LEASER: {"name": "europlots"}})
    got = fields(deployment_card(named, allowed=[], now=NOW))
    assert got["Lease provider"] == "*europlots* (`akash1w953xk…pmwt`)"
