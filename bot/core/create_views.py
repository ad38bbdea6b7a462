"""Block Kit for creating deployments (pure): the provider choice, the forms, the review with
estimates, the status message (bids with Accept buttons, URIs, no-bids advice), templates."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.core import fmt
from bot.core.card_facts import named_leases, provider_who
from bot.core.create import FIELDS, SAVE_AS, STOP_AFTER, STRATEGIES, Estimate, per_hour, usd
from bot.core.render import PROVIDER_LABEL, clip, deployment_card, escape
from bot.core.replies import Reply, context, section
from bot.providers.models import Capability, Deployment, ProviderInfo

CREATE_FORM = "create_form"
CREATE_REVIEW = "create_review"
PICK_ACTION = "create_pick"
ACCEPT_ACTION = "create_accept"
CLOSE_ACTION = "create_close"
MARKET_ACTION = "create_market"
NODE_ACTION = "create_node"
VALUE = "value"
MAX_BIDS_SHOWN = 10

NO_BIDS_ADVICE = (
    "*No bids arrived.* Providers bid only when they can run the SDL at its price:\n"
    "• raise the max price in the SDL (`pricing … amount`);\n"
    "• lower the resources (GPU model/count, CPU, memory, storage) to what the network has;\n"
    "• check the SDL (`/deploy create akash` validates it before sending).\n"
    "Close the deployment to get the deposit back, then create it again."
)

_LABELS: dict[str, str] = {
    "name": "Name",
    "market": "GPU market",
    "replicas": "Replicas",
    "timeout": "Timeout (minutes)",
    "strategy": "Strategy",
    "schedule": "Schedule (cron, SCHEDULED only)",
    "rotation_time": "Rotation time (minutes, INFINITE only)",
    "image": "Image",
    "command": "Command",
    "gpu": "GPU",
    "port": "Exposed port",
    "env": "Environment (KEY=value per line)",
    "job_definition": "…or paste a job definition (JSON)",
    "autostart": "Start right away",
    "node": "Node",
    "template_id": "Template id",
    "custom_image": "…or a custom image",
    "sdl": "SDL (YAML) — or leave empty and use the quick form",
    "gpu_model": "GPU model (rtx4090, a100, any)",
    "gpu_units": "GPUs (0 for none)",
    "cpu": "CPU cores",
    "memory": "Memory (e.g. 16Gi)",
    "storage": "Storage (e.g. 50Gi)",
    "max_price": "Max price (USD/hour)",
    "deposit": "Deposit (USD)",
    "auto_accept": "Accept a bid automatically",
    "auto_after": "…after this many seconds of bidding",
    "auto_providers": "…only from these providers (optional)",
    "auto_min_uptime": "…with at least this uptime, % (optional)",
    STOP_AFTER: "Stop after (e.g. 4h; empty: never)",
    SAVE_AS: "Also save as template (name)",
}
_OPTIONAL = {
    "schedule",
    "rotation_time",
    "command",
    "port",
    "env",
    "job_definition",
    "image",
    "template_id",
    "custom_image",
    "sdl",
    "gpu_model",
    "auto_after",
    "auto_providers",
    "auto_min_uptime",
    STOP_AFTER,
    SAVE_AS,
}
_MULTILINE = {"env", "job_definition", "sdl"}
_HINTS: dict[str, str] = {
    "market": "Type to search: a GPU name, or vram>=24, max=0.5",
    "node": "Type to search: a GPU, region=us-east, vram>=24, max=1.5 ($/h)",
    "job_definition": "Replaces the quick fields above when given (validated before sending).",
    "sdl": "Pasted SDL wins over the quick form; it is validated before anything is sent.",
    "max_price": "Providers bid at or below this; higher gets more bids.",
    "auto_accept": "The cheapest bid at or under the max price from an audited provider; "
    "the policy decides this spend when you submit, so nobody is asked again.",
    "auto_after": "Default 60: bids that arrive meanwhile compete.",
    "auto_providers": "Addresses or names, comma-separated.",
    "stop_after": "A stop timer (Akash: close) from the moment it is created, warned about "
    "15 minutes before with Extend and Cancel buttons.",
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "strategy": STRATEGIES,
    "gpu": ("yes", "no"),
    "autostart": ("yes", "no"),
    "auto_accept": ("no", "yes"),
}


#: Slack's limits on plain text: labels and hints 2000 characters, option and button text 75.
LABEL_TEXT = 2000
HINT_TEXT = 2000


def _plain(text: str, limit: int = 75) -> dict[str, Any]:
    """Plain text within ``limit``, cut between words (with "…") when longer."""
    return {"type": "plain_text", "text": fmt.shorten(text, limit) or " "}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": clip(value, 150)}


def _input(key: str, value: str, place_label: str | None) -> dict[str, Any]:
    element: dict[str, Any]
    if key in ("market", "node"):
        element = {
            "type": "external_select",
            "action_id": MARKET_ACTION if key == "market" else NODE_ACTION,
            "min_query_length": 0,
            "placeholder": _plain("Search…"),
        }
        if value:
            element["initial_option"] = _option(place_label or value, value)
    elif key in _CHOICES:
        element = {
            "type": "static_select",
            "action_id": VALUE,
            "options": [_option(c, c) for c in _CHOICES[key]],
        }
        if value in _CHOICES[key]:
            element["initial_option"] = _option(value, value)
    else:
        element = {"type": "plain_text_input", "action_id": VALUE, "max_length": 3000}
        if key in _MULTILINE:
            element["multiline"] = True
        if value and len(value) <= 3000:
            element["initial_value"] = value
    block: dict[str, Any] = {
        "type": "input",
        "block_id": key,
        "label": _plain(_LABELS.get(key, key), LABEL_TEXT),
        "element": element,
        "optional": key in _OPTIONAL,
    }
    if key in _HINTS:
        block["hint"] = _plain(_HINTS[key], HINT_TEXT)
    return block


def form_view(
    provider: str,
    form: Mapping[str, str],
    *,
    private_metadata: str,
    problems: Mapping[str, str] | None = None,
    place_label: str | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The create form for ``provider``, filled with ``form`` (a template, a previous try)."""
    label = PROVIDER_LABEL[provider]
    intro = {
        "nosana": "Run a job definition on a Nosana GPU market. Fill the quick fields, or paste "
        "a job definition.",
        "neuranet": "Run a NeuraNET template or your own image on a node you pick.",
        "akash": "Paste an SDL, or fill the quick form and deploybot writes the SDL. Providers "
        "then bid; you accept one in the channel.",
    }[provider]
    blocks: list[dict[str, Any]] = [section(intro)]
    if note:
        blocks.append(context(escape(note)))
    if problems:
        lines = [f"• *{escape(k)}*: {escape(v)}" for k, v in list(problems.items())[:10]]
        blocks.append(section(clip(":warning: Fix these first:\n" + "\n".join(lines), 3000)))
    for key in (*FIELDS[provider], STOP_AFTER, SAVE_AS):
        blocks.append(_input(key, str(form.get(key) or ""), place_label))
    return {
        "type": "modal",
        "callback_id": CREATE_FORM,
        "private_metadata": clip(private_metadata, 3000),
        "title": _plain(clip(f"New {label} deployment", 24)),
        "submit": _plain("Review"),
        "close": _plain("Cancel"),
        "blocks": blocks[:100],
    }


def estimate_lines(est: Estimate) -> list[str]:
    lines: list[str] = []
    if est.per_hour is not None:
        lines.append(f"*Estimated cost:* {per_hour(est.per_hour)}")
    if est.per_period is not None and est.period_label:
        lines.append(f"*{escape(est.period_label.capitalize())}:* {usd(est.per_period)}")
    if est.balance is not None:
        lines.append(f"*Balance:* {usd(est.balance)}")
    lines += [f":warning: {escape(w)}" for w in est.warnings]
    lines += [f"_{escape(n)}_" for n in est.notes]
    return lines


def review_view(
    provider: str,
    summary: Sequence[tuple[str, str]],
    est: Estimate,
    *,
    request_id: str,
    template_saved: str | None = None,
) -> dict[str, Any]:
    label = PROVIDER_LABEL[provider]
    facts = "\n".join(f"*{escape(k)}:* {escape(clip(v, 200))}" for k, v in summary)
    blocks = [
        section(clip(f"Create this {label} deployment?\n{facts}", 3000)),
        section(clip("\n".join(estimate_lines(est)) or "_No estimate available._", 3000)),
    ]
    if template_saved:
        blocks.append(context(f"Saved as template `{escape(template_saved)}`."))
    blocks.append(
        context("Creating spends money. The status is posted in the channel and kept up to date.")
    )
    return {
        "type": "modal",
        "callback_id": CREATE_REVIEW,
        "private_metadata": json.dumps({"r": request_id}),
        "title": _plain("Review deployment"),
        "submit": _plain("Create"),
        "close": _plain("Cancel"),
        "blocks": blocks,
    }


def provider_pick_reply(providers: Sequence[str]) -> Reply:
    if not providers:
        return Reply(
            text="No provider is connected: an admin can run `/deploy connect &lt;provider&gt;`.",
            error=True,
        )
    buttons = [
        {
            "type": "button",
            "action_id": f"{PICK_ACTION}_{p}",
            "text": _plain(PROVIDER_LABEL[p]),
            "value": p,
        }
        for p in providers
    ]
    text = "Where should the new deployment run?"
    return Reply(
        text=text,
        blocks=[section(text), {"type": "actions", "block_id": "create_pick", "elements": buttons}],
    )


# -- the status message


def bid_key(bid: Mapping[str, Any]) -> str:
    return f"{bid.get('provider_address')}/{bid.get('gseq')}/{bid.get('oseq')}"


def bids_by_price(bids: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Cheapest first (bids without a readable price last), then by provider address."""

    def key(bid: Mapping[str, Any]) -> tuple[bool, Decimal, str]:
        price = fmt.to_decimal(bid.get("price_per_hour_usd"))
        return (price is None, price or Decimal(0), str(bid.get("provider_address") or ""))

    return sorted(bids, key=key)


def _bid_line(bid: Mapping[str, Any], info: Mapping[str, Any] | None) -> str:
    info = info or {}
    price = bid.get("price_per_hour_usd")
    parts = [provider_who(str(bid.get("provider_address") or ""), info), usd_text(price)]
    gpu = bid.get("gpu")
    if gpu:
        parts.append(f"GPU {escape(str(gpu))}")
    audited = info.get("is_audited")
    if audited is not None:
        parts.append("audited" if audited else "not audited")
    uptime = info.get("uptime_7d")
    if isinstance(uptime, int | float):
        parts.append(f"uptime {uptime * 100:.1f}% (7d)")
    region = info.get("region")
    if region:
        parts.append(escape(str(region)))
    return " · ".join(parts)


def _accepted_who(key: str | None, providers: Mapping[str, Mapping[str, Any]] | None) -> str:
    """Whose bid was accepted (``key`` is ``address/gseq/oseq``), by name when known."""
    address = (key or "").partition("/")[0]
    return provider_who(address, (providers or {}).get(address)) if address else "the provider"


def usd_text(value: Any) -> str:
    """An hourly price from a bid or a node (any shape): ``$0.459/h``, ``?/h`` when unreadable."""
    return fmt.per_hour(fmt.to_decimal(value), unknown="?/h")


def status_message(
    *,
    request_id: str,
    provider: str,
    state: str,
    user_id: str,
    title: str,
    deployment: Deployment | None = None,
    deployment_id: str | None = None,
    bids: Sequence[Mapping[str, Any]] = (),
    providers: Mapping[str, Mapping[str, Any]] | None = None,
    accepted: str | None = None,
    error: str | None = None,
    allowed: frozenset[Capability] = frozenset(),
    now: datetime,
) -> Reply:
    """The one message per new deployment, edited in place as it goes."""
    label = PROVIDER_LABEL.get(provider, provider)
    head = f"*{escape(clip(title, 150))}* on {label}, requested by <@{escape(user_id)}>"
    # The top-level text (the notification) is mrkdwn too: what the user typed is escaped there.
    name = escape(clip(title, 150))
    dseq_text = escape(deployment_id or "?")
    blocks: list[dict[str, Any]] = []
    text: str
    match state:
        case "draft" | "creating":
            text = f":hourglass_flowing_sand: Creating {name} on {label}…"
            blocks.append(section(f":hourglass_flowing_sand: {head}\nCreating…"))
        case "bidding" | "no_bids" | "closed":
            dseq = escape(deployment_id or "?")
            open_bids = bids_by_price([b for b in bids if b.get("state") == "open"])
            if state == "bidding":
                text = f"Waiting for bids on {name} (dseq {dseq_text})"
                lead = f":mag: {head}\nDeployment `{dseq}` created. " + (
                    f"{len(open_bids)} bid{'s' if len(open_bids) != 1 else ''} so far — "
                    "accept one to start it:"
                    if open_bids
                    else "Waiting for bids…"
                )
                blocks.append(section(lead))
                for bid in open_bids[:MAX_BIDS_SHOWN]:
                    key = bid_key(bid)
                    blocks.append(
                        {
                            "type": "section",
                            "block_id": f"bid_{clip(key, 200)}",
                            "text": {
                                "type": "mrkdwn",
                                "text": clip(
                                    _bid_line(
                                        bid, (providers or {}).get(str(bid.get("provider_address")))
                                    ),
                                    3000,
                                ),
                            },
                            "accessory": {
                                "type": "button",
                                "action_id": f"{ACCEPT_ACTION}_{len(blocks)}",
                                "text": _plain("Accept"),
                                "style": "primary",
                                "value": json.dumps({"r": request_id, "b": key}),
                            },
                        }
                    )
                if len(open_bids) > MAX_BIDS_SHOWN:
                    blocks.append(
                        context(f"{len(open_bids) - MAX_BIDS_SHOWN} more bids not shown.")
                    )
            elif state == "no_bids":
                text = f"No bids for {name} (dseq {dseq_text})"
                blocks.append(
                    section(f":no_entry_sign: {head}\nDeployment `{dseq}`.\n{NO_BIDS_ADVICE}")
                )
            else:
                text = f"{name} (dseq {dseq_text}) closed"
                blocks.append(section(f":white_circle: {head}\nDeployment `{dseq}` closed."))
            if state in ("bidding", "no_bids"):
                blocks.append(
                    {
                        "type": "actions",
                        "block_id": "create_actions",
                        "elements": [
                            {
                                "type": "button",
                                "action_id": CLOSE_ACTION,
                                "text": _plain("Close deployment"),
                                "style": "danger",
                                "value": json.dumps({"r": request_id}),
                                "confirm": {
                                    "title": _plain("Close it?"),
                                    "text": _plain("Close the deployment and refund the deposit."),
                                    "confirm": _plain("Close"),
                                    "deny": _plain("Keep"),
                                },
                            }
                        ],
                    }
                )
        case "leasing":
            text = f"Starting the lease for {name}"
            blocks.append(
                section(
                    f":hourglass_flowing_sand: {head}\nAccepting the bid of "
                    f"{_accepted_who(accepted, providers)} and sending the manifest…"
                )
            )
        case "failed":
            text = f"Creating {name} failed"
            blocks.append(section(f":x: {head}\n{escape(clip(error or 'It failed.', 1500))}"))
            if deployment_id:
                blocks.append(context(f"Deployment id: `{escape(deployment_id)}`"))
        case _:  # created, leased
            if deployment is not None:
                ready = bool(deployment.endpoints)
                leased = accepted is not None
                lead = ":white_check_mark:" if ready or not leased else ":hourglass:"
                extra = ""
                if leased and not ready:
                    extra = "\nLease started; waiting for the services' URIs…"
                elif leased:
                    extra = "\nLeased and running."
                blocks.append(section(f"{lead} {head}{extra}"))
                named = named_leases(deployment, providers or {})
                blocks += deployment_card(named, allowed=allowed, now=now)
                text = f"{name} on {label}: {deployment.status.value}"
            else:
                text = f"{name} created on {label}"
                blocks.append(
                    section(f":white_check_mark: {head}\nCreated `{escape(deployment_id or '')}`.")
                )
    return Reply(text=clip(text, 300), blocks=blocks[:50], public=True)


def templates_reply(rows: Sequence[Any]) -> Reply:
    if not rows:
        text = (
            "No templates yet. Save one with "
            "`/deploy template save &lt;name&gt; &lt;deployment&gt;` or the "
            "“Also save as template” field of the create form."
        )
        return Reply(text=text, blocks=[section(text)])
    lines = [
        f"• `{escape(r.name)}` — {PROVIDER_LABEL.get(r.provider, r.provider)}, "
        f"{escape(_describe(r.provider, r.form))} (by <@{escape(r.created_by)}>)"
        for r in rows
    ]
    text = "*Templates*\n" + "\n".join(lines)
    return Reply(
        text=f"{len(rows)} templates",
        blocks=[
            section(clip(text, 3000)),
            context("Use one: `/deploy create --template &lt;name&gt; [field=value …]`."),
        ],
    )


def _describe(provider: str, form: Mapping[str, str]) -> str:
    if provider == "nosana":
        what = form.get("image") or ("job definition" if form.get("job_definition") else "?")
        return f"{clip(str(what), 60)}, market {clip(str(form.get('market') or '?'), 20)}"
    if provider == "neuranet":
        return clip(str(form.get("template_id") or form.get("custom_image") or "?"), 60)
    if form.get("sdl"):
        return "SDL"
    return f"{clip(str(form.get('image') or '?'), 60)} on {form.get('gpu_model') or 'any GPU'}"


def provider_info_json(info: ProviderInfo) -> dict[str, Any]:
    return info.model_dump(mode="json")


__all__ = [
    "ACCEPT_ACTION",
    "CLOSE_ACTION",
    "CREATE_FORM",
    "CREATE_REVIEW",
    "MARKET_ACTION",
    "NODE_ACTION",
    "NO_BIDS_ADVICE",
    "PICK_ACTION",
    "bid_key",
    "estimate_lines",
    "form_view",
    "provider_pick_reply",
    "review_view",
    "status_message",
    "templates_reply",
]


@dataclass(frozen=True)
class Status:
    """Where a deployment request stands: everything its status message shows."""

    request_id: str
    provider: str
    state: str
    user_id: str
    title: str
    now: datetime
    deployment: Deployment | None = None
    deployment_id: str | None = None
    bids: Sequence[Mapping[str, Any]] = ()
    providers: Mapping[str, Mapping[str, Any]] | None = None
    accepted: str | None = None
    error: str | None = None
    allowed: frozenset[Capability] = frozenset()
    #: "Accept automatically": the rule in words while bidding …
    auto_rule: str | None = None
    #: … and what it picked (``{"bid": …, "passed": [{"bid": …, "why": …}]}``).
    auto: Mapping[str, Any] | None = None


_NO_BIDS_TO_ACCEPT = {
    "leasing": "is being leased right now",
    "leased": "already has its lease",
    "closing": "is being closed",
    "closed": "is closed",
    "failed": "failed",
    "creating": "is still being created",
}


def bids_reply(status: Status) -> Reply:
    """``/deploy bids <dseq>``: the bids as the status message shows them (Accept buttons),
    for the person who asked; or why there is nothing to accept."""
    if status.state in ("bidding", "no_bids"):
        return replace(render_status(status), public=False)
    dseq = escape(status.deployment_id or "?")
    why = _NO_BIDS_TO_ACCEPT.get(status.state, f"is {escape(status.state)}")
    return Reply(text=f"Akash deployment `{dseq}` {why}: there are no bids to accept.")


def _bid_name(bid: Mapping[str, Any], providers: Mapping[str, Mapping[str, Any]] | None) -> str:
    info = (providers or {}).get(str(bid.get("provider_address"))) or {}
    name = info.get("name") or info.get("host_uri") or bid.get("provider_address") or "?"
    return escape(clip(str(name), 60))


def auto_lines(status: Status) -> str | None:
    """What "Accept automatically" did (or will do), for the status message."""
    if status.auto and isinstance(status.auto.get("bid"), Mapping):
        bid = status.auto["bid"]
        line = (
            f":robot_face: Accepted automatically: *{_bid_name(bid, status.providers)}* at "
            f"{usd_text(bid.get('price_per_hour_usd'))}"
        )
        passed = [p for p in status.auto.get("passed") or [] if isinstance(p, Mapping)]
        if passed:
            beaten = [
                f"{_bid_name(p.get('bid') or {}, status.providers)} "
                f"{usd_text((p.get('bid') or {}).get('price_per_hour_usd'))} "
                f"({escape(str(p.get('why') or ''))})"
                for p in passed[:MAX_BIDS_SHOWN]
            ]
            line += "; it beat " + ", ".join(beaten)
            if len(passed) > MAX_BIDS_SHOWN:
                line += f" and {len(passed) - MAX_BIDS_SHOWN} more"
        else:
            line += " (the only bid)"
        return clip(line + ".", 3000)
    if status.auto_rule and status.state == "bidding":
        return clip(f":robot_face: Accepting automatically: {escape(status.auto_rule)}.", 3000)
    return None


def render_status(status: Status) -> Reply:
    """The status message; while bids are awaited after a problem, the problem above them."""
    reply = status_message(
        request_id=status.request_id,
        provider=status.provider,
        state=status.state,
        user_id=status.user_id,
        title=status.title,
        deployment=status.deployment,
        deployment_id=status.deployment_id,
        bids=status.bids,
        providers=status.providers,
        accepted=status.accepted,
        error=status.error,
        allowed=status.allowed,
        now=status.now,
    )
    if status.error and status.state == "bidding" and reply.blocks is not None:
        problem = context(f":warning: {escape(clip(status.error, 500))}")
        reply = replace(reply, blocks=[reply.blocks[0], problem, *reply.blocks[1:]])
    auto = auto_lines(status)
    if auto and reply.blocks is not None:
        reply = replace(reply, blocks=[reply.blocks[0], context(auto), *reply.blocks[1:]][:50])
    return reply


@dataclass(frozen=True)
class TemplateSaved:
    name: str
    provider: str
    replaced: bool = False


def template_saved(saved: TemplateSaved) -> Reply:
    verb = "Replaced" if saved.replaced else "Saved"
    label = PROVIDER_LABEL.get(saved.provider, saved.provider)
    return Reply(
        text=f":white_check_mark: {verb} template `{escape(saved.name)}` ({label}). "
        f"Use it: `/deploy create --template {escape(saved.name)}`."
    )


def template_deleted(name: str) -> Reply:
    return Reply(text=f"Deleted template `{escape(name)}`.")
