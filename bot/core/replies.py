"""Replies people see: help, results, lists, logs, errors (pure: data in, Block Kit dicts out).

A :class:`Reply` is what every entry point sends back; handlers only decide *how* it travels
(ack body, response_url, chat.postMessage, the shell's terminal). Everything user- or
provider-supplied goes through :func:`escape` and is cut to Slack's limits.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
)

from bot.core.arguments import Deposit, Rename, Rollback, Scale, Schedule, Timeout
from bot.core.operations import Chain, Operation, OpKind, Usage
from bot.core.registry import MUTATIONS
from bot.core.render import (
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    PROVIDER_LABEL,
    SECTION_TEXT,
    clip,
    deployment_card,
    escape,
    money,
)
from bot.providers.models import (
    Balance,
    Capability,
    Deployment,
    Event,
    Job,
    LogLine,
    Market,
    ProviderName,
)

MAX_BUTTON_VALUE = 2000


@dataclass
class Reply:
    """A message: fallback ``text`` (notifications, screen readers) and optional blocks.

    ``public`` replies go to the channel (``in_channel``); the rest only to the person who asked.
    """

    text: str
    blocks: list[dict[str, Any]] | None = None
    public: bool = False
    #: True for error replies (the shell and tests tell them apart; Slack sees only text).
    error: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """Keyword arguments for ``ack``/``respond`` (text always; blocks when there are some)."""
        body: dict[str, Any] = {"text": clip(self.text, 3000)}
        if self.blocks:
            body["blocks"] = self.blocks
        body["response_type"] = "in_channel" if self.public else "ephemeral"
        return body


def section(text: str) -> dict[str, Any]:
    """A mrkdwn section (a plain dict: these are built on the ack path, where slack_sdk's
    model validation would cost more than the rest of the ack; tests validate the shape)."""
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}}


def context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": clip(text, SECTION_TEXT)}]}


def error(text: str) -> Reply:
    """A one-line, private error that says what to do."""
    line = f":warning: {text}"
    return Reply(text=line, blocks=[section(line)], error=True)


def notice(text: str, *, public: bool = False) -> Reply:
    return Reply(text=text, blocks=[section(text)], public=public)


# -- help -------------------------------------------------------------------------------------

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("help", "help [command]", "this help, or the details of one command"),
    ("providers", "providers", "connected provider accounts (masked keys)"),
    ("connect", "connect <nosana|akash|neuranet>", "connect a provider account (admins)"),
    ("disconnect", "disconnect <provider>", "remove a provider account (admins)"),
    ("list", "list [provider] [status]", "deployments, newest first, with a Next button"),
    ("show", "show <deployment>", "one deployment's card with its buttons"),
    ("start", "start <deployment>", "start a deployment (Nosana, NeuraNET)"),
    ("stop", "stop <deployment>", "stop a deployment (Nosana, NeuraNET)"),
    ("archive", "archive <deployment>", "archive a stopped deployment (Nosana)"),
    ("delete", "delete <deployment>", "delete a deployment (Nosana, NeuraNET)"),
    ("close", "close <deployment>", "close a deployment and its leases (Akash)"),
    ("scale", "scale <deployment> <replicas>", "change the number of replicas (Nosana)"),
    ("timeout", "timeout <deployment> <minutes>", "change the timeout, e.g. 120 or 2h (Nosana)"),
    ("schedule", 'schedule <deployment> "<cron>"', "change a SCHEDULED deployment's cron"),
    ("revise", "revise <deployment>", "edit the job definition / SDL in a form"),
    ("rollback", "rollback <deployment> <revision>", "make an earlier revision active (Nosana)"),
    ("rename", "rename <deployment> <name>", "rename a deployment (Nosana)"),
    ("logs", "logs <deployment> [--tail N] [--since 10m]", "recent log lines"),
    ("events", "events <deployment>", "the deployment's event history (Nosana)"),
    ("jobs", "jobs <deployment>", "the deployment's jobs (Nosana)"),
    ("markets", "markets [type=…] [gpu=…]", "Nosana GPU markets and prices"),
    ("nodes", "nodes [gpu=…] [region=…] [min-vram=…] [max-price=…]", "NeuraNET nodes"),
    ("balance", "balance [provider]", "credits, account balance and Akash escrow runway"),
    ("deposit", "deposit <deployment> <usd>", "add funds to a deployment's escrow (Akash)"),
    ("approvals", "approvals", "requests waiting for approval in this workspace"),
    ("roles", "roles", "who is viewer, operator or admin"),
    ("role", "role grant|revoke @person|@group [role]", "give or take a role (admins)"),
    ("policy", "policy [<class|operation> allow|approve|deny …]", "show or change the rules"),
    ("audit", "audit [N] [@person] [deployment] | audit export", "the audit log"),
    ("create", "create [provider] [--template <name>] [field=value …]", "create a deployment"),
    ("template", "template save <name> <deployment> | list | delete <name>", "create templates"),
    ("watch", "watch <deployment|provider|all> [#channel]", "post status changes and alerts"),
    ("unwatch", "unwatch <deployment|provider|all> [#channel]", "stop posting them"),
    ("watching", "watching", "what this workspace watches, and the alert thresholds"),
)
_DETAILS: dict[str, str] = {
    "list": "Statuses: draft, pending, starting, running, stopping, stopped, failed, "
    "insufficient_funds, archived, closed, or all. Example: `/deploy list nosana running`.",
    "logs": "`--tail N` keeps the last N lines (default 50); `--since` takes 10m, 2h, 1d or an "
    "ISO time. Example: `/deploy logs llama --tail 100 --since 30m`.",
    "schedule": 'Five cron fields in quotes: `/deploy schedule nightly "0 2 * * *"`.',
    "timeout": "Minutes, or a duration: `/deploy timeout llama 2h`. Nosana needs at least 60.",
    "revise": "Opens a form with the current job definition (Nosana, JSON) or an empty SDL "
    "(Akash, YAML); it is checked before anything is sent.",
    "connect": "Opens a form for the API key (never type a key into a command). The key is "
    "checked with the provider, then stored encrypted for this workspace.",
    "create": "Opens a form for the provider (a choice of the connected ones without it), "
    "shows the estimated cost and a balance check, then creates it once you confirm; Akash "
    "bids are posted with Accept buttons. `--template <name>` starts from a saved template and "
    "`field=value` words fill or override fields, e.g. "
    "`/deploy create --template llama replicas=2 market=nvidia-4090`. Fields: Nosana name, "
    "market, replicas, timeout, strategy, schedule, rotation_time, image, command, gpu, port, "
    "env, job_definition, autostart; NeuraNET name, node, template_id, custom_image, env; Akash "
    "sdl, image, gpu_model, gpu_units, cpu, memory, storage, port, max_price, env, deposit.",
    "template": "Templates are per workspace and keep the provider and the form (never keys). "
    "Save from a deployment (`/deploy template save llama llama-prod`) or tick “Also save as "
    "template” in the create form.",
    "watch": "Posts one message per deployment to the channel (this one unless you name "
    "another), edited in place as it changes, with each change in its thread; alerts when an "
    "Akash escrow runs low, a lease or deployment closes, Nosana credits run low or a deployment "
    "fails, and when it recovers. A provider or `all` includes deployments created later. "
    "Thresholds for the workspace: `/deploy watch settings runway 12h credits 5` (credits 0: off).",
    "unwatch": "`/deploy unwatch all` stops every watch of the channel.",
    "chain": "Name the deployment first, then comma-separated steps, run in order: "
    "`/deploy llama start, scale 3, timeout 120`. A chain needs one approval, at its "
    "riskiest step's class.",
    "role": "Roles: *viewer* (read), *operator* (change), *admin* (keys, roles, policy). "
    "Slack workspace admins and owners are admins unless granted otherwise; everyone else gets "
    "the default role. `/deploy role grant @ana operator`, `/deploy role grant @ops-team admin`, "
    "`/deploy role revoke @ana`.",
    "roles": "Lists the roles granted in this workspace and the default role.",
    "policy": "Risk classes: *read* (list, show, logs), *change* (rename, revise, scale down), "
    "*spend* (start, scale up, create, deposit, timeout increase), *destructive* (stop, archive, "
    "delete, close, scale to 0). Defaults: read and change run at once; spend and destructive "
    "need one admin's approval (not the requester's), expiring after 60 min.\n"
    "`/deploy policy spend approve by admins @ana quorum 2 expires 2h` · "
    "`/deploy policy delete deny on akash` · `/deploy policy destructive approve self` · "
    "`/deploy policy change allow` · `/deploy policy reset [spend] [on nosana]` · "
    "`/deploy policy channels nosana #ops [for spend,destructive]` (`… any` lifts it) · "
    '`/deploy policy default-role viewer`. Changes take `--reason "…"` for approvers.',
    "audit": "`/deploy audit 20 @ana llama` filters by person and deployment. "
    "`/deploy audit export json` uploads the whole log as a file (admins; CSV by default). "
    "`/deploy audit verify` checks the hash chain.",
    "approvals": "Lists pending requests. Approve or Deny from the request message or your "
    "DM; the requester can cancel. Each request expires (60 min by default).",
}
TARGET_HELP = (
    "A deployment can be named by its id, the start of its id, or its exact name; add "
    "`--provider nosana|akash|neuranet` when the same name exists on several networks."
)


_NO_TARGET = frozenset(
    {
        "help",
        "providers",
        "connect",
        "disconnect",
        "markets",
        "nodes",
        "approvals",
        "roles",
        "role",
        "policy",
        "audit",
        "create",
        "template",
    }
)


def help_reply(topic: str | None = None, problem: str | None = None) -> Reply:
    """The help (or a usage reply for input that could not be parsed). Never an error."""
    return replace(_help_reply(topic, problem))


@lru_cache(maxsize=512)
def _help_reply(topic: str | None, problem: str | None) -> Reply:
    blocks: list[dict[str, Any]] = []
    lines: list[str] = []
    if problem:
        lines.append(f":information_source: {escape(problem)}")
    if topic == "chain":
        text = f"*Chains* — {_DETAILS['chain']}\n{TARGET_HELP}"
        return Reply(text=text, blocks=[section(text)])
    entries = [c for c in COMMANDS if topic and c[0] == topic]
    if entries:
        name, shape, what = entries[0]
        lines.append(f"*/deploy {escape(shape)}* — {what}")
        if name in _DETAILS:
            lines.append(_DETAILS[name])
        if name not in _NO_TARGET:
            lines.append(TARGET_HELP)
        text = "\n".join(lines)
        return Reply(text=text, blocks=[section(text)])
    if problem:
        blocks.append(section(lines[0]))
    rows = [f"`/deploy {escape(shape)}` — {what}" for _, shape, what in COMMANDS]
    blocks.append(section("*deploybot* — deployments on Nosana, Akash and NeuraNET"))
    half = len(rows) // 2 + 1
    blocks.append(section("\n".join(rows[:half])))
    blocks.append(section("\n".join(rows[half:])))
    blocks.append(context(f"{_DETAILS['chain']} {TARGET_HELP}"))
    text = (problem + " " if problem else "") + "Type /deploy help <command> for details."
    return Reply(text=text, blocks=blocks)


def usage_reply(usage: Usage) -> Reply:
    return help_reply(usage.topic, usage.problem)


# -- providers --------------------------------------------------------------------------------


@dataclass
class ConnectedProvider:
    provider: ProviderName
    key_hint: str
    connected_by: str
    connected_at: datetime
    last_verified_at: datetime | None


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    fallback = f"{moment:%Y-%m-%d %H:%M} UTC"
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def providers_reply(connected: Sequence[ConnectedProvider]) -> Reply:
    by_name = {c.provider: c for c in connected}
    blocks: list[dict[str, Any]] = [section("*Provider accounts for this workspace*")]
    missing: list[ProviderName] = []
    for name in ("nosana", "akash", "neuranet"):
        info = by_name.get(name)  # type: ignore[call-overload]
        if info is None:
            missing.append(name)  # type: ignore[arg-type]
            continue
        blocks.append(
            section(
                f":white_check_mark: *{PROVIDER_LABEL[name]}*  key `{escape(info.key_hint)}` · "
                f"connected by <@{escape(info.connected_by)}> {_when(info.connected_at)} · "
                f"last verified {_when(info.last_verified_at)}"
            )
        )
    if missing:
        blocks.append(
            section(
                "Not connected: " + ", ".join(PROVIDER_LABEL[m] for m in missing) + ". "
                "An admin can connect one with a button or `/deploy connect <provider>`."
            )
        )
        blocks.append(
            ActionsBlock(
                block_id="providers_connect",
                elements=[
                    ButtonElement(
                        text=f"Connect {PROVIDER_LABEL[m]}",
                        action_id=f"provider_connect_{m}",
                        value=m,
                    )
                    for m in missing
                ],
            ).to_dict()
        )
    text = (
        "Connected: " + ", ".join(PROVIDER_LABEL[c.provider] for c in connected)
        if connected
        else "No provider is connected yet."
    )
    return Reply(text=text, blocks=blocks)


# -- deployments ------------------------------------------------------------------------------

_DONE: dict[OpKind, str] = {k: k.spec.done for k in MUTATIONS}
_DOING: dict[OpKind, str] = {k: k.spec.doing for k in MUTATIONS}


def working_reply(op: Operation | Chain) -> Reply:
    """The immediate acknowledgement: proof the command was received and is running."""
    if isinstance(op, Chain):
        steps = len(op.steps)
        return notice(
            f":hourglass_flowing_sand: Running {steps} steps on `{escape(clip(op.target, 80))}`…"
        )
    if op.kind in _DOING:
        what = f"{_DOING[op.kind]} `{escape(clip(op.target or '', 80))}`"
        return notice(f":hourglass_flowing_sand: {what}…")
    return notice(":hourglass_flowing_sand: Looking that up…")


def _detail(op: Operation) -> str:
    match op.args:
        case Scale(replicas=replicas):
            return f" to {replicas} replica{'s' if replicas != 1 else ''}"
        case Timeout(minutes=minutes):
            return f" to {minutes} min"
        case Schedule(cron=cron):
            return f" to `{escape(cron)}`"
        case Rollback(revision=revision):
            return f" to revision {revision}"
        case Rename(name=name):
            return f" to “{escape(clip(name, 100))}”"
        case Deposit(amount_usd=amount):
            return f" (${amount})"
        case _:
            return ""


def result_reply(
    op: Operation,
    user_id: str,
    deployment: Deployment | None,
    *,
    before: Deployment | None,
    allowed: frozenset[Capability],
    now: datetime,
) -> Reply:
    """A change that happened: who did what, then the deployment's fresh card."""
    shown = deployment or before
    # The deployment is named as it was before the change (a rename reads "renamed old to new").
    subject = before or deployment
    name = escape(clip((subject.name if subject else None) or op.target or "", 150))
    label = PROVIDER_LABEL[shown.provider] if shown else ""
    line = f":white_check_mark: <@{escape(user_id)}> {_DONE[op.kind]} *{name}*{_detail(op)}"
    if label:
        line += f" on {label}"
    blocks = [section(line)]
    if deployment is not None:
        blocks.extend(deployment_card(deployment, allowed=allowed, now=now))
    elif before is not None:
        blocks.append(context(f"`{escape(before.id)}` is gone."))
    return Reply(text=line, blocks=blocks, public=True)


def card_reply(deployment: Deployment, allowed: frozenset[Capability], now: datetime) -> Reply:
    card = deployment_card(deployment, allowed=allowed, now=now)
    text = f"{deployment.name or deployment.id} ({PROVIDER_LABEL[deployment.provider]})"
    return Reply(text=escape(text), blocks=card)


def chain_reply(
    chain: Chain, statuses: Sequence[tuple[str, str]], card: list[dict[str, Any]] | None = None
) -> Reply:
    """Progress of a chain: one line per step (⏳ pending, ✅ done, ❌ failed, ⏭ skipped)."""
    lines = [f"*{escape(clip(chain.target, 80))}*: {len(chain.steps)} steps"]
    for (mark, note), step in zip(statuses, chain.steps, strict=True):
        lines.append(f"{mark} {escape(step.describe())}{' — ' + note if note else ''}")
    text = "\n".join(lines)
    blocks = [section(text)]
    if card:
        blocks.extend(card)
    return Reply(text=text, blocks=blocks, public=True)


def pick_reply(
    ref: str, candidates: Sequence[Deployment], retargeted: Sequence[str | None]
) -> Reply:
    """Several deployments match: ask which one, with a button per candidate when possible."""
    lines = [f"“{escape(clip(ref, 80))}” matches {len(candidates)} deployments; which one?"]
    buttons: list[ButtonElement] = []
    for i, (deployment, value) in enumerate(zip(candidates, retargeted, strict=True)):
        label = f"{deployment.name or deployment.id} ({PROVIDER_LABEL[deployment.provider]})"
        lines.append(
            f"• *{escape(clip(deployment.name, 80))}* `{escape(deployment.id)}` on "
            f"{PROVIDER_LABEL[deployment.provider]} ({deployment.status.value})"
        )
        if value is not None and len(buttons) < 5:
            buttons.append(
                ButtonElement(
                    text=clip(escape(label), 75), action_id=f"resolve_pick_{i}", value=value
                )
            )
    text = "\n".join(lines[:12])
    if len(lines) > 12:
        text += f"\n… and {len(lines) - 12} more: use the full id."
    blocks = [section(text)]
    if buttons:
        blocks.append(ActionsBlock(block_id="resolve_pick", elements=buttons).to_dict())
    else:
        blocks.append(context("Run the command again with the full id or `--provider`."))
    return Reply(text=text, blocks=blocks)


def encode_pick(op: Operation | Chain) -> str | None:
    """A button value that re-runs ``op`` (already retargeted), or None if it doesn't fit."""
    kind = "chain" if isinstance(op, Chain) else "op"
    value = json.dumps({kind: op.model_dump(mode="json", exclude_defaults=True)})
    return value if len(value) <= MAX_BUTTON_VALUE else None


def decode_pick(value: str) -> Operation | Chain:
    data = json.loads(value)
    if "chain" in data:
        return Chain.model_validate(data["chain"])
    return Operation.model_validate(data["op"])


# -- reads ------------------------------------------------------------------------------------


def _code_block(lines: Sequence[str], budget: int) -> tuple[str, int]:
    """Lines in a code block, newest kept, within ``budget`` characters."""
    kept: list[str] = []
    used = 0
    for raw in reversed(lines):
        line = clip(raw.replace("```", "ˋˋˋ"), 400)
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    kept.reverse()
    return "```\n" + "\n".join(kept) + "\n```", len(lines) - len(kept)


def logs_reply(deployment: Deployment, lines: Sequence[LogLine]) -> Reply:
    title = f"*Logs of {escape(clip(deployment.name or deployment.id, 100))}* `{deployment.id}`"
    if not lines:
        return Reply(text="No log lines.", blocks=[section(title), context("No log lines yet.")])
    formatted = [
        " ".join(
            part
            for part in (
                f"{line.timestamp:%H:%M:%S}" if line.timestamp else "",
                f"[{line.source}]" if line.source else "",
                "!" if line.stream == "stderr" else "",
                escape(line.message.rstrip()),
            )
            if part
        )
        for line in lines
    ]
    blocks: list[dict[str, Any]] = [section(title)]
    remaining = list(formatted)
    chunks: list[str] = []
    budget = MESSAGE_TEXT_BUDGET - len(title) - 200
    # Up to 4 sections of ≤2900 characters, newest lines last.
    while remaining and len(chunks) < 4 and budget > 100:
        chunk, dropped = _code_block(remaining, min(2900, budget))
        if chunk == "```\n\n```":
            break
        chunks.insert(0, chunk)
        budget -= len(chunk)
        remaining = remaining[:dropped]
    blocks.extend(section(c) for c in chunks)
    if remaining:
        blocks.append(
            context(f"{len(remaining)} older lines not shown; use `--tail` or `--since`.")
        )
    return Reply(text=f"{len(lines)} log lines", blocks=blocks)


def events_reply(deployment: Deployment, events: Sequence[Event], now: datetime) -> Reply:
    title = f"*Events of {escape(clip(deployment.name or deployment.id, 100))}*"
    rows = [
        f"`{e.created_at:%Y-%m-%d %H:%M}` *{escape(clip(e.type, 60))}* "
        f"{escape(clip(e.message, 300))}"
        if e.created_at
        else f"*{escape(clip(e.type, 60))}* {escape(clip(e.message, 300))}"
        for e in events
    ]
    return _rows_reply(title, rows, "No events.")


def jobs_reply(deployment: Deployment, jobs: Sequence[Job]) -> Reply:
    title = f"*Jobs of {escape(clip(deployment.name or deployment.id, 100))}*"
    rows = [
        f"`{escape(clip(j.id, 60))}` {escape(j.state)}"
        + (f" · node `{escape(clip(j.node, 50))}`" if j.node else "")
        + (f" · rev {j.revision}" if j.revision else "")
        + (f" · started {j.started_at:%Y-%m-%d %H:%M}" if j.started_at else "")
        for j in jobs
    ]
    return _rows_reply(title, rows, "No jobs.")


def markets_reply(kind: OpKind, items: Sequence[Market], filters: dict[str, str]) -> Reply:
    noun = "Nosana markets" if kind is OpKind.MARKETS else "NeuraNET nodes"
    where = " ".join(f"{k}={v}" for k, v in filters.items())
    title = f"*{noun}*" + (f" ({escape(where)})" if where else "")
    rows = []
    for m in sorted(items, key=lambda m: (m.price_per_hour_usd is None, m.price_per_hour_usd)):
        facts = [money(m.price_per_hour_usd, "/h")]
        if m.gpu:
            facts.append(escape(clip(m.gpu, 40)))
        if m.vram_mb:
            facts.append(f"{m.vram_mb // 1024} GB VRAM")
        if m.region:
            facts.append(escape(clip(m.region, 30)))
        if m.status:
            facts.append(escape(clip(m.status, 20)))
        if m.load:
            facts.append(f"load {escape(clip(m.load, 20))}")
        rows.append(
            f"*{escape(clip(m.name, 60))}* `{escape(clip(m.id, 60))}` · " + " · ".join(facts)
        )
    return _rows_reply(title, rows, "Nothing matches those filters.")


@dataclass
class BalanceLine:
    provider: ProviderName
    balance: Balance | None
    problem: str | None = None
    #: Akash: (deployment name, id, hours of escrow left) for active deployments.
    runways: list[tuple[str, str, float]] = field(default_factory=list)


def balance_reply(lines: Sequence[BalanceLine]) -> Reply:
    rows: list[str] = []
    for line in lines:
        label = PROVIDER_LABEL[line.provider]
        if line.balance is None:
            rows.append(f"*{label}*: {escape(line.problem or 'unavailable')}")
            continue
        details = ", ".join(
            f"{escape(k)} {money(v)}" for k, v in line.balance.details.items() if v is not None
        )
        rows.append(
            f"*{label}*: {money(line.balance.available_usd)} available"
            + (f" ({details})" if details else "")
        )
        for name, dep_id, hours in sorted(line.runways, key=lambda r: r[2])[:15]:
            warn = ":warning: " if hours < 24 else ""
            rows.append(
                f"    {warn}escrow of *{escape(clip(name, 60))}* `{escape(dep_id)}` lasts "
                f"{_hours(hours)} at the current price"
            )
    return _rows_reply("*Balances*", rows, "No provider with a balance is connected.")


def _hours(hours: float) -> str:
    if hours >= 48:
        return f"{hours / 24:.1f} days"
    return f"{hours:.1f} h"


def _rows_reply(title: str, rows: Sequence[str], empty: str) -> Reply:
    blocks: list[dict[str, Any]] = [section(title)]
    if not rows:
        blocks.append(context(empty))
        return Reply(text=empty, blocks=blocks)
    used = len(title)
    chunk: list[str] = []
    shown = 0
    for row in rows:
        if used + len(row) > MESSAGE_TEXT_BUDGET or len(blocks) >= MAX_BLOCKS - 2:
            break
        if sum(len(r) + 1 for r in chunk) + len(row) > SECTION_TEXT - 10:
            blocks.append(section("\n".join(chunk)))
            chunk = []
        chunk.append(row)
        used += len(row) + 1
        shown += 1
    if chunk:
        blocks.append(section("\n".join(chunk)))
    if shown < len(rows):
        blocks.append(context(f"Showing {shown} of {len(rows)}."))
    return Reply(text=f"{title.replace('*', '')}: {len(rows)}", blocks=blocks)
