"""What each network adds to a deployment card: the facts people look for (pure, mrkdwn).

Nosana: timeout, strategy, cron and its next run, market and GPU. NeuraNET: the node (name,
GPU, region) and what the deployment has cost so far. Akash: the escrow, how long it lasts at
the current price, and who holds the lease. Facts a deployment doesn't carry are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from bot.core import fmt
from bot.providers.models import Deployment

#: Shorter than this, an escrow's runway is flagged.
RUNWAY_WARNING = timedelta(days=1)


def _escape(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: object, limit: int) -> str:
    return fmt.shorten(_escape(text), limit)


def _field(label: str, value: str) -> str:
    return f"*{label}*\n{value}"


def next_run(cron: str, now: datetime) -> datetime | None:
    """When a cron schedule fires next, or None when it can't be read."""
    from croniter import croniter

    try:
        moment: datetime = croniter(cron, now).get_next(datetime)
    except (ValueError, KeyError):
        return None
    return moment


def _nosana(d: Deployment, now: datetime) -> list[str]:
    x = d.extras
    out: list[str] = []
    if isinstance(x.get("timeout_minutes"), int):
        out.append(_field("Timeout", fmt.minutes(x["timeout_minutes"])))
    if x.get("strategy"):
        out.append(_field("Strategy", f"`{_clip(x['strategy'], 40)}`"))
    schedule = x.get("schedule")
    if isinstance(schedule, str) and schedule:
        when = next_run(schedule, now)
        run = f"next run {fmt.slack_date(when)}" if when else "unreadable"
        out.append(_field("Cron", f"`{_clip(schedule, 60)}`, {run}"))
    if isinstance(x.get("rotation_time_minutes"), int):
        out.append(_field("Rotation", f"every {fmt.minutes(x['rotation_time_minutes'])}"))
    market = x.get("market")
    if isinstance(market, str) and market:
        name = x.get("market_name")
        gpu = x.get("market_gpu")
        shown = _clip(name, 60) if name else f"`{_escape(fmt.short_id(market))}`"
        if gpu and gpu != name:
            shown += f" · GPU {_clip(gpu, 40)}"
        out.append(_field("Market", shown))
    return out


def _neuranet(d: Deployment, now: datetime) -> list[str]:
    x = d.extras
    out: list[str] = []
    node_id = x.get("node_id")
    if node_id:
        parts = [_clip(x.get("node_name") or fmt.short_id(str(node_id)), 60)]
        parts += [_clip(x[k], 40) for k in ("node_gpu", "node_region") if x.get(k)]
        out.append(_field("Node", " · ".join(parts)))
    if d.total_cost_usd is not None:
        out.append(_field("Spent so far", fmt.usd(d.total_cost_usd)))
    return out


def _akash(d: Deployment, now: datetime) -> list[str]:
    x = d.extras
    out: list[str] = []
    escrow = fmt.to_decimal(x.get("escrow_funds_usd"))
    if escrow is not None:
        out.append(_field("Escrow", fmt.usd(escrow)))
    runway = x.get("runway_seconds")
    if isinstance(runway, int | float | Decimal) and not isinstance(runway, bool):
        left = timedelta(seconds=float(runway))
        warn = ":warning: " if left < RUNWAY_WARNING else ""
        out.append(
            _field("Runway", f"{warn}{fmt.duration(left)} (until {fmt.slack_date(now + left)})")
        )
    active = [
        lease for lease in _leases(x) if lease.get("state") == "active" and lease.get("provider")
    ]
    who = {
        str(lease["provider"]): provider_who(
            str(lease["provider"]),
            {"name": lease.get("provider_name"), "host_uri": lease.get("provider_host")},
        )
        for lease in active
    }
    if who:
        label = "Lease provider" if len(who) == 1 else "Lease providers"
        out.append(_field(label, ", ".join(who.values())))
    return out


def provider_who(address: str, info: Mapping[str, Any] | None) -> str:
    """``*europlots* (`akash1w953xk…pmwt`)``: an Akash provider's name or host, and its address
    shortened (only the shortened address when nothing else is known). Escaped mrkdwn."""
    info = info or {}
    name = info.get("name") or _host(info.get("host_uri"))
    short = f"`{_escape(fmt.short_id(address or '?'))}`"
    return f"*{_clip(name, 80)}* ({short})" if name else short


def _host(uri: Any) -> str | None:
    if not isinstance(uri, str) or not uri:
        return None
    return uri.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0] or None


def _leases(extras: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    leases = extras.get("leases")
    return (
        [lease for lease in leases if isinstance(lease, Mapping)]
        if isinstance(leases, list)
        else []
    )


def named_leases(d: Deployment, providers: Mapping[str, Mapping[str, Any]]) -> Deployment:
    """``d`` with its leases' provider names and hosts from ``providers`` (by address)."""
    leases = d.extras.get("leases")
    if not providers or not isinstance(leases, list):
        return d
    named = [
        {
            **lease,
            "provider_name": providers[lease["provider"]].get("name"),
            "provider_host": providers[lease["provider"]].get("host_uri"),
        }
        if isinstance(lease, Mapping) and lease.get("provider") in providers
        else lease
        for lease in leases
    ]
    return d.model_copy(update={"extras": {**d.extras, "leases": named}})


def replicas(d: Deployment) -> str:
    """The replicas, or for an Akash deployment whose provider hasn't said, its leases."""
    if d.replicas is not None:
        return str(d.replicas)
    if d.provider == "akash":
        active = sum(1 for lease in _leases(d.extras) if lease.get("state") == "active")
        if active:
            return f"unknown ({active} active lease{'s' if active != 1 else ''})"
    return "—"


_BY_PROVIDER: dict[str, Callable[[Deployment, datetime], list[str]]] = {
    "nosana": _nosana,
    "neuranet": _neuranet,
    "akash": _akash,
}


def facts(deployment: Deployment, now: datetime) -> list[str]:
    """The network's own facts as card fields (``*Label*\\nvalue``), at most ten."""
    return _BY_PROVIDER.get(deployment.provider, lambda d, n: [])(deployment, now)[:10]
