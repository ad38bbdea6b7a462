"""Long lists page instead of being clipped (`/deploy audit 50`, `/deploy approvals`, App Home's
approvals), and the audit log is found by deployment name and reads in words.

Every payload here is also judged by Slack's rules (tests/blockkit_support.py): a section cut
inside a ``<!date^…>`` token, as these lists used to be, is rejected by the fake Slack.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from bot.core import approvals as msg
from bot.core.render import MESSAGE_TEXT_BUDGET
from bot.db.approvals import NewRequest
from bot.db.audit import AuditLog, AuditRecord
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, SlackEnv, slack_env


@pytest.fixture
async def approvals_env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """deploybot's default policy: spend and destructive changes wait for an admin."""
    async with slack_env(db_url, tmp_path, policy=None) as running:
        yield running


def nosana_id(env: SlackEnv, name: str) -> str:
    return next(d.id for d in env.api("nosana").deployments.values() if d.name == name)


def said(env: SlackEnv, key: str | None) -> dict[str, Any]:
    return env.last_response(key)


def sections(body: dict[str, Any]) -> str:
    """The text of a message's sections (what people read; ``text`` is the fallback)."""
    return "\n".join(b["text"]["text"] for b in body.get("blocks") or [] if b["type"] == "section")


def all_text(body: dict[str, Any]) -> str:
    parts = [body.get("text") or ""]
    for block in body.get("blocks") or []:
        if "text" in block:
            parts.append(block["text"]["text"])
        parts += [e.get("text", "") for e in block.get("elements") or [] if "text" in e]
    return "\n".join(p if isinstance(p, str) else json.dumps(p) for p in parts)


async def fill_audit(env: SlackEnv, count: int) -> None:
    log = AuditLog(env.storage.engine)
    for n in range(count):
        await log.append(
            AuditRecord(
                team_id=TEAM,
                user_id=MEMBER,
                channel_id=CHANNEL,
                action="scale",
                decision="allow",
                result="ok",
                provider="nosana",
                target=f"dep{n:03d}",
                params={"replicas": n, "note": "a rather long note about why " * 4},
            )
        )


# -- audit ------------------------------------------------------------------------------------


async def test_audit_50_pages_and_never_cuts_a_row(env: SlackEnv) -> None:
    await fill_audit(env, 57)
    shown = await env.command("audit 50")
    body = said(env, shown.response_key)
    text = all_text(body)
    assert "*Audit log* · newest first · showing 1–50 of 57" in text
    seqs = [int(s) for s in re.findall(r"^#(\d+) <!date\^", sections(body), flags=re.M)]
    assert seqs == list(range(57, 7, -1))  # 50 whole rows, newest first, none dropped
    assert len(sections(body)) <= MESSAGE_TEXT_BUDGET + 100  # fits one Slack message
    assert "Page 1 of 2 · older: `/deploy audit 50 page 2`" in text
    for block in body["blocks"]:
        if block["type"] == "section":  # each row whole in one section
            rows = block["text"]["text"].splitlines()
            assert all(r.startswith(("#", "*Audit log*")) for r in rows)

    older = await env.command("audit 50 page 2")
    text = all_text(said(env, older.response_key))
    assert "showing 51–57 of 57" in text
    assert re.findall(r"^#(\d+) ", sections(said(env, older.response_key)), flags=re.M) == [
        str(n) for n in range(7, 0, -1)
    ]
    assert "newer: `/deploy audit 50 page 1`" in text

    past = await env.command("audit 50 page 3")
    assert said(env, past.response_key)["text"] == (
        "There is no page 3: 57 entries match, 2 pages of 50."
    )


async def test_audit_finds_a_deployment_by_name_and_reads_in_words(env: SlackEnv) -> None:
    llama = nosana_id(env, "llama3-chat")
    await env.command("timeout llama3-chat 120")
    await env.command("rename llama3-chat llama-prod")
    await env.command("timeout comfyui-dev 2h")

    by_name = await env.command("audit llama-prod")
    text = said(env, by_name.response_key)["text"]
    assert f"timeout `{llama}` on Nosana (minutes: 120)" in text
    assert f"rename `{llama}` on Nosana (name: llama-prod)" in text
    assert "comfyui" not in text and nosana_id(env, "comfyui-dev") not in text
    assert "{" not in text.replace("{date_short_pretty}", "").replace("{time}", "")
    # the name ignoring case, and still the start of an id
    assert llama in said(env, (await env.command("audit LLAMA-PROD")).response_key)["text"]
    by_id = await env.command(f"audit {llama[:6]}")
    assert "(minutes: 120)" in said(env, by_id.response_key)["text"]
    nothing = await env.command("audit no-such-deployment")
    assert said(env, nothing.response_key)["text"] == "No audit entries match."


# -- approvals --------------------------------------------------------------------------------


async def ask_many(env: SlackEnv, count: int) -> None:
    """One request filed by a command, and ``count - 1`` more like it (other deployments'
    requests: one deployment has one open request at a time)."""
    await env.command("timeout llama3-chat 180 --reason 'longer runs'")
    [real] = await env.bot.gate.approvals.pending(team_id=TEAM, enterprise_id=None)
    for n in range(1, count):
        await env.bot.gate.approvals.create(
            NewRequest(
                team_id=TEAM,
                enterprise_id=None,
                channel_id=CHANNEL,
                requester_id=MEMBER,
                kind=real.kind,
                operation=real.operation,
                provider=real.provider,
                deployment_id=f"dep{n:03d}",
                summary=f"*model-{n}* (`dep{n:03d}`, Nosana, running): " + real.summary,
                risk=real.risk,
                rule=real.rule,
                reason=f"need {n}",
                expires_at=real.expires_at + timedelta(minutes=n),
                next_reminder_at=None,
                open_key=f"test-{n}",
            )
        )
    pending = await env.bot.gate.approvals.pending(team_id=TEAM, enterprise_id=None)
    assert len(pending) == count


async def test_the_approvals_command_pages(approvals_env: SlackEnv) -> None:
    env = approvals_env
    await ask_many(env, 12)
    first = await env.command("approvals", user=ADMIN)
    text = said(env, first.response_key)["text"]
    assert text.startswith("*12 waiting for approval* (showing 1–10 of 12)")
    assert len(re.findall(r"^• `[0-9a-f]+` ", text, flags=re.M)) == 10
    assert "next: `/deploy approvals page 2`" in text
    second = await env.command("approvals page 2", user=ADMIN)
    text = said(env, second.response_key)["text"]
    assert "(showing 11–12 of 12)" in text
    assert len(re.findall(r"^• `[0-9a-f]+` ", text, flags=re.M)) == 2


async def test_app_home_pages_the_approvals_with_previous_and_next(
    approvals_env: SlackEnv,
) -> None:
    env = approvals_env
    await ask_many(env, 12)
    await env.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    (call,) = await env.slack.wait_for("views.publish")
    blocks = call.body["view"]["blocks"]
    text = json.dumps(blocks, ensure_ascii=False)
    assert "*Approvals waiting for you* · showing 1–5 of 12" in text
    approve = [
        e for b in blocks for e in b.get("elements") or [] if e.get("action_id") == msg.APPROVE
    ]
    assert len(approve) == 5
    [nav] = [b for b in blocks if b.get("block_id") == "approvals_pages"]
    assert [(e["action_id"], e["value"]) for e in nav["elements"]] == [(msg.HOME_PAGE_NEXT, "2")]

    await env.click(msg.HOME_PAGE_NEXT, "2", user=ADMIN, block_id="approvals_pages")
    calls = await env.slack.wait_for("views.publish", 2)
    blocks = calls[-1].body["view"]["blocks"]
    assert calls[-1].body["user_id"] == ADMIN
    assert "showing 6–10 of 12" in json.dumps(blocks, ensure_ascii=False)
    [nav] = [b for b in blocks if b.get("block_id") == "approvals_pages"]
    assert [e["action_id"] for e in nav["elements"]] == [msg.HOME_PAGE_PREVIOUS, msg.HOME_PAGE_NEXT]

    await env.click(msg.HOME_PAGE_NEXT, "3", user=ADMIN, block_id="approvals_pages")
    calls = await env.slack.wait_for("views.publish", 3)
    last = json.dumps(calls[-1].body["view"]["blocks"], ensure_ascii=False)
    assert "showing 11–12 of 12" in last
    # Opening Home again starts from the first page.
    await env.event({"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    calls = await env.slack.wait_for("views.publish", 4)
    assert "showing 1–5 of 12" in json.dumps(calls[-1].body["view"]["blocks"], ensure_ascii=False)
