"""Pure replies: help, results, logs, pickers and lists stay readable, escaped and within limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from bot.core import replies
from bot.core.operations import Chain, Operation, OpKind, Usage
from bot.core.parsing import parse
from bot.providers.models import (
    Balance,
    Capability,
    Deployment,
    DeploymentStatus,
    LogLine,
    Market,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def deployment(name: str = "llama", dep_id: str = "dep_1", provider: str = "nosana") -> Deployment:
    return Deployment(
        provider=provider,  # type: ignore[arg-type]
        id=dep_id,
        name=name,
        status=DeploymentStatus.RUNNING,
        raw_status="RUNNING",
        replicas=1,
        created_at=NOW - timedelta(hours=2),
    )


def text_of(reply: replies.Reply) -> str:
    return reply.text + json.dumps(reply.blocks or [], ensure_ascii=False)


def within_limits(reply: replies.Reply) -> None:
    blocks = reply.blocks or []
    assert len(blocks) <= 50
    assert len(json.dumps(blocks)) < 14_000
    for block in blocks:
        text = (block.get("text") or {}).get("text", "")
        assert len(text) <= 3000


def test_help_lists_every_command_that_parses() -> None:
    help_text = text_of(replies.help_reply())
    for name, shape, _ in replies.COMMANDS:
        assert f"/deploy {shape.split(' ')[0]}" in help_text.replace("&lt;", "<")
        assert not isinstance(parse(f"help {name}"), Usage)


def test_help_topic_and_usage_problem() -> None:
    topic = text_of(replies.help_reply("logs"))
    assert "--tail" in topic and "exact name" in topic
    usage = replies.usage_reply(Usage(problem="Unknown provider “x”", topic="list"))
    assert "Unknown provider" in usage.text
    assert not usage.error  # a usage reply is help, not an error
    assert usage.payload()["response_type"] == "ephemeral"


def test_result_reply_escapes_names_and_says_who_did_what() -> None:
    op = Operation(kind=OpKind.RENAME, target="dep_1", name="<!channel> & co")
    after = deployment(name="<!channel> & co")
    reply = replies.result_reply(
        op, "U1", after, before=deployment(), allowed=frozenset({Capability.STOP}), now=NOW
    )
    body = text_of(reply)
    assert "<!channel>" not in body
    assert "&lt;!channel&gt; &amp; co" in body
    assert reply.public and "<@U1> renamed" in reply.text


def test_deleted_deployment_result_has_no_card() -> None:
    op = Operation(kind=OpKind.DELETE, target="dep_1")
    reply = replies.result_reply(op, "U1", None, before=deployment(), allowed=frozenset(), now=NOW)
    assert "deleted *llama*" in reply.text
    assert "is gone" in text_of(reply)
    assert not any(b["type"] == "actions" for b in reply.blocks or [])


def test_logs_keep_the_newest_lines_within_limits() -> None:
    lines = [LogLine(message=f"line {i} " + "x" * 150) for i in range(2000)]
    reply = replies.logs_reply(deployment(), lines)
    within_limits(reply)
    body = text_of(reply)
    assert "line 1999" in body and "line 0 " not in body
    assert "older lines not shown" in body


def test_logs_cannot_break_out_of_the_code_block() -> None:
    reply = replies.logs_reply(deployment(), [LogLine(message="```<!here>```")])
    body = text_of(reply)
    assert "<!here>" not in body and "&lt;!here&gt;" in body
    assert body.count("```") == 2


def test_picker_round_trips_the_operation_and_chain() -> None:
    op = Operation(kind=OpKind.SCALE, target="llama", replicas=3)
    a, b = deployment(dep_id="a1"), deployment(dep_id="b2", provider="neuranet")
    values = [replies.encode_pick(op.retarget(d.provider, d.id)) for d in (a, b)]
    reply = replies.pick_reply("llama", [a, b], values)
    picked = replies.decode_pick(values[1] or "")
    assert isinstance(picked, Operation)
    assert (picked.provider, picked.target, picked.args.replicas) == ("neuranet", "b2", 3)
    ids = [e["action_id"] for blk in reply.blocks or [] for e in blk.get("elements", [])]
    assert ids == ["resolve_pick_0", "resolve_pick_1"]
    chain = Chain(target="llama", steps=(Operation(kind=OpKind.START, target="llama"),))
    decoded = replies.decode_pick(replies.encode_pick(chain.retarget("nosana", "a1")) or "")
    assert isinstance(decoded, Chain) and decoded.steps[0].target == "a1"


def test_huge_lists_of_markets_and_balances_stay_within_limits() -> None:
    markets = [
        Market(id=f"m{i}", name=f"<market {i}>", price_per_hour_usd=Decimal(i), gpu="RTX 4090")
        for i in range(600)
    ]
    reply = replies.markets_reply(OpKind.MARKETS, markets, {"gpu": "4090"})
    within_limits(reply)
    assert "Showing" in text_of(reply) and "<market" not in text_of(reply)
    line = replies.BalanceLine(
        "akash",
        Balance(available_usd=Decimal("12.5"), details={"balance": Decimal("12.5")}),
        runways=[("web", "123", 3.0), ("db", "456", 100.0)],
    )
    body = text_of(replies.balance_reply([line]))
    assert "$12.50 available" in body
    assert body.index("web") < body.index("db")  # shortest runway first, with a warning
    assert (
        ":warning: escrow of *web*" in body
        and "lasts 4 d 4 h at" in body
        and "lasts 3 h at" in body
    )


def test_chain_progress_marks_each_step() -> None:
    chain = parse("llama start, scale 3, timeout 2h")
    assert isinstance(chain, Chain)
    reply = replies.chain_reply(
        chain, [(":white_check_mark:", ""), (":x:", "wrong state"), (":heavy_minus_sign:", "")]
    )
    body = reply.text
    assert "3 steps" in body and "scale llama to 3 — wrong state" in body
    assert "set the timeout of llama to 2 h" in body


def test_deposit_parses_dollars() -> None:
    op = parse("deposit 12345 $12.50")
    assert isinstance(op, Operation)
    assert (op.kind, op.target, op.args.amount_usd) == (OpKind.DEPOSIT, "12345", Decimal("12.50"))
    for bad in ("deposit 12345 -1", "deposit 12345 lots", "deposit 12345 0", "deposit 1 1e9"):
        assert isinstance(parse(bad), Usage), bad


def test_help_chain_explains_chains() -> None:
    op = parse("help chain")
    assert isinstance(op, Operation) and op.args.topic == "chain"
    assert "comma-separated steps" in replies.help_reply(op.args.topic).text


def test_a_hash_is_part_of_a_name_not_a_comment() -> None:
    op = parse("show llama#2")
    assert isinstance(op, Operation) and op.target == "llama#2"
