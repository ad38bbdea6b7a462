"""What people read: bids by price with provider names, names instead of raw ids, grammar."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import create_views as views
from bot.core import replies
from bot.core.approvals import ApprovalView, reminder_message
from bot.core.operations import Chain
from bot.core.parsing import parse
from bot.core.policy import ApprovalRule, Risk

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HURRICANE = "akash1hurricane0000000000000000000000000xq7k"
PARALLEL = "akash1parallel00000000000000000000000000z3lm"
EUROPLOTS = "akash1w953xkw8l8r5n0k9qeqq4j5y0y4whvkvcs3pmwt"
NAMELESS = "akash1nameless00000000000000000000000000a9aa"


def bid(address: str, price: str) -> dict[str, Any]:
    return {
        "provider_address": address,
        "gseq": 1,
        "oseq": 1,
        "state": "open",
        "price_per_hour_usd": price,
    }


def bidding(bids: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    reply = views.status_message(
        request_id="r1",
        provider="akash",
        state=extra.pop("state", "bidding"),
        user_id="U1",
        title="web",
        deployment_id="123",
        bids=bids,
        providers={
            PARALLEL: {"name": "parallelnode"},
            HURRICANE: {"name": "hurricane"},
            EUROPLOTS: {"host_uri": "https://provider.europlots.com:8443"},
        },
        now=NOW,
        **extra,
    )
    return reply.blocks or []


def test_bids_are_sorted_cheapest_first_not_by_name() -> None:
    blocks = bidding(
        [
            bid(PARALLEL, "0.012"),
            bid(EUROPLOTS, "0.4592"),
            bid(HURRICANE, "0.010"),
            bid(NAMELESS, "not a number"),
            bid(EUROPLOTS.replace("pmwt", "aaaa"), "0.2"),
        ]
    )
    lines = [b["text"]["text"] for b in blocks if str(b.get("block_id", "")).startswith("bid_")]
    prices = [line.split(" · ")[1] for line in lines]
    assert prices == ["$0.01/h", "$0.012/h", "$0.20/h", "$0.4592/h", "?/h"]
    assert lines[0].startswith("*hurricane*") and lines[1].startswith("*parallelnode*")
    # each Accept button carries the bid of its own line
    accepts = [json.loads(b["accessory"]["value"])["b"] for b in blocks if b.get("accessory")]
    assert accepts[0].startswith(HURRICANE) and accepts[1].startswith(PARALLEL)


def test_bid_lines_name_the_provider_and_shorten_its_address() -> None:
    blocks = bidding([bid(EUROPLOTS, "0.4592"), bid(NAMELESS, "0.5")])
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*provider.europlots.com* (`akash1w953xk…pmwt`)" in text  # its host, no name known
    assert "`akash1namele…a9aa`" in text
    shown = " ".join(b["text"]["text"] for b in blocks if b.get("type") == "section")
    assert EUROPLOTS not in shown and NAMELESS not in shown  # only in ids and button values


def test_accepting_names_the_provider_not_the_bid_key() -> None:
    [lead, *_] = bidding([], state="leasing", accepted=f"{PARALLEL}/1/1")
    text = lead["text"]["text"]
    assert "Accepting the bid of *parallelnode* (`akash1parall…z3lm`)" in text
    assert f"{PARALLEL}/1/1" not in text


def test_chain_results_name_the_deployment() -> None:
    chain = parse("sd-render-batch start, timeout 120")
    assert isinstance(chain, Chain)
    by_id = chain.retarget("nosana", "3Xk6HdZsY1tbnioRwa6ZqHyLBvNU1b7qgjukeVXWFwWt")
    reply = replies.chain_reply(by_id.named("sd-render-batch"), [(":white_check_mark:", "")] * 2)
    assert reply.text.splitlines() == [
        "*sd-render-batch*: 2 steps",
        ":white_check_mark: start sd-render-batch",
        ":white_check_mark: set the timeout of sd-render-batch to 2 h",
    ]
    # the steps still run against the id
    assert {s.target for s in by_id.steps} == {"3Xk6HdZsY1tbnioRwa6ZqHyLBvNU1b7qgjukeVXWFwWt"}


def _view(expires_at: datetime) -> ApprovalView:
    return ApprovalView(
        request_id="r1",
        requester_id="U1",
        summary="*llama* (`abc`, Nosana, running): stop",
        risk=Risk.DESTRUCTIVE,
        rule=ApprovalRule(),
        state="pending",
        expires_at=expires_at,
    )


def test_a_reminder_never_says_expires_in_zero_min() -> None:
    reminder = reminder_message(_view(NOW + timedelta(seconds=40)), "C1", NOW)
    head = reminder.blocks[0]["text"]["text"] if reminder.blocks else ""
    assert "0 min" not in head and "0 min" not in reminder.text
    assert "expires in less than a minute" in head
    later = reminder_message(_view(NOW + timedelta(minutes=25, seconds=5)), None, NOW)
    assert later.blocks and "expires in 25 min." in later.blocks[0]["text"]["text"]


def _texts(node: Any) -> list[str]:
    """Every plain_text string in a view, however deep."""
    if isinstance(node, dict):
        found = [node["text"]] if node.get("type") == "plain_text" else []
        return found + [t for v in node.values() for t in _texts(v)]
    if isinstance(node, list):
        return [t for v in node for t in _texts(v)]
    return []


def test_form_hints_are_whole_sentences_never_cut_mid_word() -> None:
    for provider in ("nosana", "akash", "neuranet"):
        view = views.form_view(provider, {}, private_metadata="{}")
        hints = [b["hint"]["text"] for b in view["blocks"] if b.get("hint")]
        assert hints, provider
        for hint in hints:
            assert not hint.endswith("…"), hint  # nothing of ours needs cutting
    akash = views.form_view("akash", {}, private_metadata="{}")
    [sdl] = [b for b in akash["blocks"] if b.get("block_id") == "sdl"]
    assert sdl["hint"]["text"].endswith("it is validated before anything is sent.")
    # whatever is too long for a button or an option is cut between words
    for text in _texts(views.provider_pick_reply(["nosana", "akash"]).blocks):
        assert len(text) <= 75
    long = "Pasted SDL wins over the quick form; it is validated before anything is sent."
    cut = views._plain(long)["text"]
    assert cut == "Pasted SDL wins over the quick form; it is validated before anything is…"
