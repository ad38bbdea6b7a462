"""Provider accounts, GPU markets and nodes, and balances with Akash escrow runways."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement

from bot.core import fmt
from bot.core.operations import OpKind
from bot.core.render import PROVIDER_LABEL, clip, escape, money
from bot.core.replies.base import Reply, rows_reply, section
from bot.providers.models import PROVIDER_NAMES, Balance, Market, ProviderName


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
    return fmt.slack_date(moment)


def providers_reply(connected: Sequence[ConnectedProvider]) -> Reply:
    by_name = {c.provider: c for c in connected}
    blocks: list[dict[str, Any]] = [section("*Provider accounts for this workspace*")]
    missing: list[ProviderName] = []
    for name in PROVIDER_NAMES:
        info = by_name.get(name)
        if info is None:
            missing.append(name)
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
    return rows_reply(title, rows, "Nothing matches those filters.")


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
    return rows_reply("*Balances*", rows, "No provider with a balance is connected.")


def _hours(hours: float) -> str:
    return fmt.hours(hours)
