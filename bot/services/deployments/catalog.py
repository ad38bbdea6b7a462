"""Account-wide reads: Nosana markets, NeuraNET nodes, balances (with Akash escrow runways)."""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core import results
from bot.core.arguments import Catalog
from bot.core.operations import Operation, OpKind
from bot.core.replies import BalanceLine
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import Capability, Market, ProviderName
from bot.services.deployments.accounts import Accounts
from bot.services.deployments.model import Actor
from bot.services.deployments.wording import message
from bot.services.errors import NotConnectedError, ServiceError, UnsupportedError


async def markets(accounts: Accounts, actor: Actor, op: Operation) -> results.Catalog:
    provider = op.provider or ("nosana" if op.kind is OpKind.MARKETS else "neuranet")
    capability = op.kind.capability
    client = await accounts.client(actor, provider)
    if capability not in client.capabilities:
        raise UnsupportedError(
            f"{client.display_name} has no {op.kind.value}: "
            + ("markets are Nosana's" if op.kind is OpKind.MARKETS else "nodes are NeuraNET's")
            + "."
        )
    asked = op.args.filters if isinstance(op.args, Catalog) else {}
    filters = dict(asked)
    gpu = filters.pop("gpu", None)
    items: list[Market]
    if op.kind is OpKind.MARKETS:
        items = await client.markets(**({"type": filters["type"]} if "type" in filters else {}))
    else:
        items = await client.nodes(**_node_filters(filters))
    if gpu:
        items = [m for m in items if m.gpu and gpu.casefold() in m.gpu.casefold()]
    return results.Catalog(op.kind, items, asked)


async def balance(
    accounts: Accounts, actor: Actor, provider: ProviderName | None
) -> results.Balances:
    names = [provider] if provider else await accounts.connected_names(actor)
    if not names:
        raise NotConnectedError(
            "No provider account is connected yet: an admin can run `/deploy connect …`."
        )
    clients = [await accounts.client(actor, n) for n in names]
    with_balance = [c for c in clients if Capability.BALANCE in c.capabilities]
    if not with_balance:
        raise UnsupportedError(
            ", ".join(c.display_name for c in clients) + " has no account balance to show."
        )
    return results.Balances(await asyncio.gather(*(_line(c) for c in with_balance)))


async def _line(client: BaseProvider) -> BalanceLine:
    try:
        amount = await client.balance()
    except ProviderError as exc:
        return BalanceLine(client.name, None, problem=message(exc))
    line = BalanceLine(client.name, amount)
    if Capability.DEPOSIT in client.capabilities:
        try:
            for d in await client.list_deployments():
                runway = client.funds_runway(d)
                if runway is not None:
                    line.runways.append((d.name, d.id, runway.total_seconds() / 3600))
        except ProviderError as exc:
            line.problem = message(exc)
    return line


def _node_filters(filters: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in filters.items():
        match key:
            case "region" | "status":
                out[key] = value
            case "min-vram":
                out["min_gpu_vram_mb"] = int(value) * 1024
            case "min-cpu":
                out["min_cpu_cores"] = int(value)
            case "min-ram":
                out["min_ram_mb"] = int(value) * 1024
            case "max-price":
                try:
                    out["max_hourly_rate_usd"] = Decimal(value)
                except InvalidOperation:
                    raise ServiceError(f"max-price must be a number, not “{value}”.") from None
    return out
