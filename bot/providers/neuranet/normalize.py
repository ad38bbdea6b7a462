"""Raw NeuraNET objects (deployments, nodes, log lines, cents) as the shared models."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation, localcontext
from typing import Any

from bot.providers.errors import UnavailableError
from bot.providers.models import Deployment, DeploymentStatus, Endpoint, LogLine, Market

#: The API's largest page size.
MAX_LIMIT = 100
#: How long a node's facts (price, GPU, region) are reused before asking again, in seconds.
NODE_CACHE_TTL = 60.0

STATUS_MAP: dict[str, DeploymentStatus] = {
    "pending": DeploymentStatus.PENDING,
    "starting": DeploymentStatus.STARTING,
    "running": DeploymentStatus.RUNNING,
    "stopping": DeploymentStatus.STOPPING,
    "stopped": DeploymentStatus.STOPPED,
    "failed": DeploymentStatus.FAILED,
    "error": DeploymentStatus.FAILED,
}

#: Statuses in which a deployment holds its node (and is billed at the node's rate).
HOLDS_NODE = frozenset(
    {
        DeploymentStatus.PENDING,
        DeploymentStatus.STARTING,
        DeploymentStatus.RUNNING,
        DeploymentStatus.STOPPING,
    }
)
#: Statuses that hold nothing: they cost nothing per hour.
IDLE = frozenset({DeploymentStatus.STOPPED, DeploymentStatus.FAILED})

NODE_STATUSES = ("online", "offline", "maintenance")

#: Wire field names (camelCase) → the create spec's field names.
WIRE_FIELDS: dict[str, str] = {
    "nodeId": "node_id",
    "templateId": "template_id",
    "customImage": "custom_image",
    "name": "name",
    "env": "env",
}


def cents_to_usd(value: Any) -> Decimal | None:
    """Cents on the wire (int, float or numeric text) → exact Decimal USD; None if not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite():
        return None
    return amount.scaleb(-2)


def usd_to_cents_floor(usd: Decimal | float | int | str) -> int:
    """USD → whole cents, rounded down (a price limit never lets a dearer node through)."""
    amount = Decimal(str(usd))
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"not a price: {usd!r}")
    # Exact arithmetic: the default 28-digit context would round 0.99999…9 cents up.
    with localcontext() as exact:
        exact.prec = max(28, len(amount.as_tuple().digits) + 4)
        return int((amount * 100).to_integral_value(rounding=ROUND_FLOOR))


def parse_time(value: Any) -> datetime | None:
    """ISO-8601 text (or epoch seconds/milliseconds) → aware UTC datetime; None if unparsable."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            if not math.isfinite(value):
                return None
            seconds = value / 1000 if abs(value) > 1e11 else value
            return datetime.fromtimestamp(seconds, tz=UTC)
        if not isinstance(value, str) or not value.strip():
            return None
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def normalize_status(raw: Any) -> tuple[DeploymentStatus, str]:
    """(normalized, raw text) for any status value; never raises."""
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    return STATUS_MAP.get(text.strip().lower(), DeploymentStatus.UNKNOWN), text


def int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def json_safe(value: Any) -> Any:
    """A copy of ``value`` made only of JSON types (anything else becomes its text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return str(value)


def node_to_market(raw: Mapping[str, Any]) -> Market:
    """A node (list or detail form) → Market: price/hour USD, GPU, VRAM, region, load."""
    node_id = str(raw.get("id") or "")
    if not node_id:
        raise UnavailableError("NeuraNET sent a node without an id.", provider="neuranet")
    raw_gpus = raw.get("gpus")
    gpus = [g for g in raw_gpus if isinstance(g, Mapping)] if isinstance(raw_gpus, list) else []
    names = [str(g.get("name")) for g in gpus if g.get("name")]
    gpu: str | None = None
    if names:
        if len(set(names)) == 1:
            gpu = names[0] if len(names) == 1 else f"{len(names)}x {names[0]}"
        else:
            gpu = ", ".join(names)
    vrams = [v for v in (int_or_none(g.get("vramMb")) for g in gpus) if v is not None]
    active = int_or_none(raw.get("activeDeployments"))
    maximum = int_or_none(raw.get("maxDeployments"))
    load = f"{active}/{maximum}" if active is not None and maximum is not None else None
    status = raw.get("status")
    status_text = status if isinstance(status, str) else None
    extras: dict[str, Any] = {
        "country": raw.get("country"),
        "gpu_count": len(gpus),
        "gpus": json_safe(gpus),
        "specs": json_safe(raw.get("specs") or {}),
        "uptime_percent": json_safe(raw.get("uptimePercent")),
        "active_deployments": active,
        "max_deployments": maximum,
        "hourly_rate_cents": json_safe(raw.get("hourlyRateCents")),
        "accepting": status_text == "online"
        and (active is None or maximum is None or active < maximum),
    }
    for wire, key in (
        ("operatorId", "operator_id"),
        ("lastHeartbeat", "last_heartbeat"),
        ("lastSeen", "last_seen"),
        ("createdAt", "created_at"),
    ):
        if wire in raw:
            extras[key] = json_safe(raw[wire])
    return Market(
        id=node_id,
        name=str(raw.get("name") or node_id),
        price_per_hour_usd=cents_to_usd(raw.get("hourlyRateCents")),
        gpu=gpu,
        vram_mb=max(vrams) if vrams else None,
        region=str(raw["region"]) if raw.get("region") is not None else None,
        status=status_text,
        load=load,
        extras=extras,
    )


def normalize_deployment(
    raw: Mapping[str, Any],
    *,
    node: Market | None = None,
    hourly_rate_usd: Decimal | None = None,
) -> Deployment:
    """A NeuraNET deployment object → Deployment. Tolerant: unknown values never raise."""
    dep_id = raw.get("id")
    if not isinstance(dep_id, str | int) or isinstance(dep_id, bool) or not str(dep_id):
        raise UnavailableError("NeuraNET sent a deployment without an id.", provider="neuranet")
    dep_id = str(dep_id)
    status, raw_status = normalize_status(raw.get("status"))

    endpoints: list[Endpoint] = []
    raw_endpoints = raw.get("endpoints")
    for item in raw_endpoints if isinstance(raw_endpoints, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("url"), str) and item["url"]:
            port = item.get("internalPort")
            endpoints.append(
                Endpoint(
                    url=item["url"],
                    port=port
                    if isinstance(port, int | str) and not isinstance(port, bool)
                    else None,
                    label=str(item["type"]) if item.get("type") is not None else None,
                )
            )
        elif isinstance(item, str) and item:
            endpoints.append(Endpoint(url=item))

    rate = hourly_rate_usd
    if rate is None and node is not None:
        rate = node.price_per_hour_usd
    if rate is None or status is DeploymentStatus.UNKNOWN:
        cost_now = None
    elif status in IDLE:
        cost_now = Decimal("0")
    else:
        cost_now = rate

    env = raw.get("env")
    node_id = raw.get("nodeId")
    extras: dict[str, Any] = {
        "node_id": str(node_id) if node_id is not None else None,
        "template_id": json_safe(raw.get("templateId")),
        "custom_image": json_safe(raw.get("customImage")),
        "user_id": json_safe(raw.get("userId")),
        "env_keys": sorted(str(k) for k in env) if isinstance(env, Mapping) else [],
        "total_cost_cents": json_safe(raw.get("totalCost")),
    }
    if rate is not None:
        extras["node_hourly_rate_usd"] = str(rate)
    if node is not None:
        extras.update(
            node_name=node.name, node_gpu=node.gpu, node_region=node.region, node_status=node.status
        )
    name = raw.get("name")
    template = raw.get("templateId")
    if not name:
        name = template if isinstance(template, str) and template else dep_id
    return Deployment(
        provider="neuranet",
        id=dep_id,
        name=str(name),
        status=status,
        raw_status=raw_status,
        endpoints=tuple(endpoints),
        cost_per_hour_usd=cost_now,
        total_cost_usd=cents_to_usd(raw.get("totalCost")),
        created_at=parse_time(raw.get("createdAt")),
        updated_at=parse_time(raw.get("updatedAt")),
        started_at=parse_time(raw.get("startedAt")),
        extras=extras,
    )


def normalize_log_line(item: Any) -> LogLine:
    if isinstance(item, Mapping):
        message = item.get("message")
        stream = item.get("stream")
        return LogLine(
            message=message
            if isinstance(message, str)
            else ("" if message is None else str(message)),
            stream=str(stream) if stream else "stdout",
            timestamp=parse_time(item.get("timestamp")),
        )
    return LogLine(message=str(item))


def iso_z(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"
