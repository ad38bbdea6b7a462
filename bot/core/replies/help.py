"""The help: every command's shape, the details of one, and usage replies for bad input."""

from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Any

from bot.core.operations import Usage
from bot.core.registry import OpKind
from bot.core.render import escape
from bot.core.replies.base import Reply, context, section

COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("help", "help [command]", "this help, or the details of one command"),
    ("providers", "providers", "connected provider accounts (masked keys)"),
    ("connect", "connect <nosana|akash|neuranet>", "connect a provider account (admins)"),
    ("disconnect", "disconnect <provider>", "remove a provider account (admins)"),
    ("list", "list [provider] [status]", "deployments, newest first, with a Next button"),
    ("show", "show <deployment>", "one deployment's card with its buttons"),
    ("start", "start <deployment>", "start a deployment (Nosana, NeuraNET)"),
    (
        "stop",
        "stop <deployment> [--after 4h | --at 19:00]",
        "stop a deployment (Nosana, NeuraNET), now or later",
    ),
    ("archive", "archive <deployment>", "archive a stopped deployment (Nosana)"),
    ("delete", "delete <deployment>", "delete a deployment (Nosana, NeuraNET)"),
    ("close", "close <deployment>", "close a deployment and its leases (Akash)"),
    ("scale", "scale <deployment> <replicas>", "change the number of replicas (Nosana)"),
    ("timeout", "timeout <deployment> <minutes>", "change the timeout, e.g. 120 or 2h (Nosana)"),
    ("schedule", 'schedule <deployment> "<cron>"', "change a SCHEDULED deployment's cron"),
    ("revise", "revise <deployment>", "edit the job definition / SDL in a form"),
    ("rollback", "rollback <deployment> <revision>", "make an earlier revision active (Nosana)"),
    ("rename", "rename <deployment> <name>", "rename a deployment (Nosana)"),
    ("logs", "logs <deployment> [--tail N] [--since 10m] [--file | --follow [10m]]", "log lines"),
    ("events", "events <deployment>", "the deployment's event history (Nosana)"),
    ("jobs", "jobs <deployment>", "the deployment's jobs (Nosana)"),
    ("markets", "markets [type=…] [gpu=…]", "Nosana GPU markets and prices"),
    ("nodes", "nodes [gpu=…] [region=…] [min-vram=…] [max-price=…]", "NeuraNET nodes"),
    ("balance", "balance [provider]", "credits, account balance and Akash escrow runway"),
    ("deposit", "deposit <deployment> <usd>", "add funds to a deployment's escrow (Akash)"),
    ("approvals", "approvals [page N]", "requests waiting for approval here, with their ids"),
    ("approve", "approve <request id>", "approve a request (as its Approve button does)"),
    ("deny", "deny <request id> [reason]", "deny a request, saying why"),
    ("cancel", "cancel <request id>", "cancel your own request"),
    ("roles", "roles", "who is viewer, operator or admin"),
    ("role", "role grant|revoke @person|@group [role]", "give or take a role (admins)"),
    ("policy", "policy [<class|operation> allow|approve|deny …]", "show or change the rules"),
    ("audit", "audit [N] [@person] [deployment] | audit export", "the audit log"),
    ("create", "create [provider] [--template <name>] [field=value …]", "create a deployment"),
    ("template", "template save <name> <deployment> | list | delete <name>", "create templates"),
    ("bids", "bids <dseq>", "an Akash deployment's current bids again, with Accept buttons"),
    ("watch", "watch <deployment|provider|all> [#channel]", "post status changes and alerts"),
    ("unwatch", "unwatch <deployment|provider|all> [#channel]", "stop posting them"),
    ("watching", "watching", "what this workspace watches, and the alert thresholds"),
    ("timers", "timers [cancel <timer id>]", "stop timers waiting, with Extend and Cancel buttons"),
    ("digest", "digest daily <HH:MM> [#channel] | off", "a daily summary in a channel (admins)"),
    (
        "budget",
        "budget [set <usd>/h|/day|/month [provider] | clear [provider]]",
        "burn, spend today and this month, and the caps",
    ),
)
_DETAILS: dict[str, str] = {
    "list": "Statuses: draft, pending, starting, running, stopping, stopped, failed, "
    "insufficient_funds, archived, closed, or all. Example: `/deploy list nosana running`.",
    "logs": "`--tail N` keeps the last N lines (default 50); `--since` takes 10m, 2h, 1d (the "
    "last 10 minutes…) or an ISO time; `--file` uploads the whole log to the channel as a file; "
    "`--follow 10m` (1 min to 1 h) keeps adding new lines in a thread until then, until the "
    "deployment stops, or until someone clicks Stop following. "
    "Example: `/deploy logs llama --tail 100 --since 30m`.",
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
    "sdl, image, gpu_model, gpu_units, cpu, memory, storage, port, max_price, env, deposit; every "
    "provider: stop_after (e.g. 4h: a stop timer once it is created).",
    "template": "Templates are per workspace and keep the provider and the form (never keys). "
    "Save from a deployment (`/deploy template save llama llama-prod`) or tick “Also save as "
    "template” in the create form.",
    "watch": "Posts one message per deployment to the channel (this one unless you name "
    "another), edited in place as it changes, with each change in its thread; alerts when an "
    "Akash escrow runs low, a lease or deployment closes, Nosana credits run low or a deployment "
    "fails, and when it recovers. A provider or `all` includes deployments created later. "
    "Thresholds for the workspace: `/deploy watch settings runway 12h credits 5` (credits 0: off).",
    "unwatch": "`/deploy unwatch all` stops every watch of the channel.",
    "budget": "The burn ($/h of everything running, as the watcher last saw it) and the spend "
    "so far today and this month (UTC), per provider and for the workspace, with the caps. "
    "Admins set caps: `/deploy budget set 50/day`, `/deploy budget set 2/h nosana`, "
    "`/deploy budget set 900/month akash`; `/deploy budget clear [provider]` removes a scope's "
    "caps. A start, scale up, timeout increase, deposit, create or bid accept that would push the "
    "burn or the period's projected spend over a cap is refused with the numbers; an admin can "
    "still run it with `--over-budget` (a create: `/deploy create nosana --over-budget`), and it "
    "then needs approval. Channels watching a provider "
    "hear when its spend reaches 80 % and 100 % of a cap, once each per period.",
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
    "audit": "`/deploy audit 20 @ana llama` shows 20 entries at a time, filtered by person "
    "and deployment (its name, id or the start of its id); `page 2` shows the 20 before. "
    "`/deploy audit export json` uploads the whole log as a file (admins; CSV by default). "
    "`/deploy audit verify` checks the hash chain.",
    "bids": "Akash only: the dseq of a deployment deploybot created (its status message "
    "shows it). Accept leases the bid through the policy, like the status message's buttons.",
    "stop": "Stops a deployment (Nosana, NeuraNET). `--after 4h` (or 90m, 1d) or `--at 19:00` "
    "(your Slack time zone) sets a stop timer instead: the policy decides now (approval first "
    "if it needs one; `--after` then counts from the approval), a warning with Extend 1h and "
    "Cancel buttons comes 15 minutes before, and the stop runs its checks at that time.",
    "timers": "Lists the stop timers waiting in this workspace; `/deploy timers cancel <id>` "
    "cancels one (viewers can't).",
    "digest": "Posts yesterday's spend per provider (an estimate from what ran and its price), "
    "what runs now and its burn, the alerts sent and the approvals decided, once a day at that "
    "time (your Slack time zone) in the channel named (or this one). `/deploy digest` shows "
    "the setting; `/deploy digest off` stops it.",
    "approvals": "Lists pending requests, 10 at a time (`/deploy approvals page 2`). Approve "
    "or Deny from the request message or your DM, or with `/deploy approve|deny <id>`; the "
    "requester can cancel. Each request expires (60 min by default).",
}
TARGET_HELP = (
    "A deployment can be named by its id, the start of its id, or its exact name; add "
    "`--provider nosana|akash|neuranet` when the same name exists on several networks."
)


#: Commands that name no deployment (the registry says which); watch may name one.
_NO_TARGET = frozenset(k.value for k in OpKind if not k.spec.targets) - {"watch", "unwatch"}


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
        text = f"*Chains* — {escape(_DETAILS['chain'])}\n{escape(TARGET_HELP)}"
        return Reply(text=text, blocks=[section(text)])
    entries = [c for c in COMMANDS if topic and c[0] == topic]
    if entries:
        name, shape, what = entries[0]
        lines.append(f"*/deploy {escape(shape)}* — {escape(what)}")
        if name in _DETAILS:
            lines.append(escape(_DETAILS[name]))
        if name not in _NO_TARGET:
            lines.append(escape(TARGET_HELP))
        text = "\n".join(lines)
        return Reply(text=text, blocks=[section(text)])
    if problem:
        blocks.append(section(lines[0]))
    rows = [f"`/deploy {escape(shape)}` — {escape(what)}" for _, shape, what in COMMANDS]
    blocks.append(section("*deploybot* — deployments on Nosana, Akash and NeuraNET"))
    half = len(rows) // 2 + 1
    blocks.append(section("\n".join(rows[:half])))
    blocks.append(section("\n".join(rows[half:])))
    blocks.append(context(escape(f"{_DETAILS['chain']} {TARGET_HELP}")))
    # The top-level text (the notification) is mrkdwn too: escaped like the blocks.
    text = escape((problem + " " if problem else "") + "Type /deploy help <command> for details.")
    return Reply(text=text, blocks=blocks)


def usage_reply(usage: Usage) -> Reply:
    """What was wrong, with the usage of the command it was about; never the whole help."""
    if usage.topic is None and usage.problem:
        text = f"{escape(usage.problem)} Type /deploy help for the commands."
        return Reply(text=text, blocks=[section(f":information_source: {text}")])
    return help_reply(usage.topic, usage.problem)
