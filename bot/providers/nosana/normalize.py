"""Raw Nosana objects as Deployment, Market, Job and LogLine, and the pure helpers they use."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from bot.providers.errors import UnavailableError, ValidationError
from bot.providers.models import Deployment, DeploymentStatus, Endpoint, Job, LogLine, Market

Strategy = Literal["SIMPLE", "SIMPLE-EXTEND", "SCHEDULED", "INFINITE"]
STRATEGIES: tuple[str, ...] = ("SIMPLE", "SIMPLE-EXTEND", "SCHEDULED", "INFINITE")
PAGE_LIMITS: tuple[int, ...] = (10, 20, 50, 100)
MARKET_TYPES = ("PREMIUM", "COMMUNITY", "OTHER")

STATUS_MAP: dict[str, DeploymentStatus] = {
    "DRAFT": DeploymentStatus.DRAFT,
    "STARTING": DeploymentStatus.STARTING,
    "RUNNING": DeploymentStatus.RUNNING,
    "STOPPING": DeploymentStatus.STOPPING,
    "STOPPED": DeploymentStatus.STOPPED,
    "ERROR": DeploymentStatus.FAILED,
    "INSUFFICIENT_FUNDS": DeploymentStatus.INSUFFICIENT_FUNDS,
    "ARCHIVED": DeploymentStatus.ARCHIVED,
}
RAW_STATUS = {normalized.value: raw for raw, normalized in STATUS_MAP.items()}
JOB_STATES: tuple[str, ...] = ("QUEUED", "RUNNING", "COMPLETED", "STOPPED")

#: The state machine of spec §4.1/§8.2: where each action is allowed from.
START_FROM = frozenset({"DRAFT", "STOPPED", "ERROR", "INSUFFICIENT_FUNDS"})
STOP_FROM = frozenset({"RUNNING", "ERROR", "INSUFFICIENT_FUNDS"})
ALLOWED_FROM = {
    "start": "DRAFT, STOPPED, ERROR or INSUFFICIENT_FUNDS",
    "stop": "RUNNING, ERROR or INSUFFICIENT_FUNDS",
    "archive": "STOPPED",
    "delete": "STOPPED",
}
PUBKEY = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{43,44}$")


# -- pure helpers --------------------------------------------------------------------------------


def _mb(gb: Any) -> int | None:
    """Gigabytes (a number the API sends) as megabytes."""
    return int(gb * 1024) if to_int(gb) is not None else None


def page_limit(requested: int) -> int:
    """The allowed page size for ``requested``: rounded up to 10, 20, 50 or 100."""
    return next((allowed for allowed in PAGE_LIMITS if requested <= allowed), PAGE_LIMITS[-1])


def to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def market_price_per_hour(usd_reward_per_hour: Any, network_fee_percentage: Any) -> Decimal | None:
    """USD a client pays per job-hour: ``usd_reward_per_hour × (1 + fee / 100)``."""
    reward = to_decimal(usd_reward_per_hour)
    if reward is None:
        return None
    fee = to_decimal(network_fee_percentage) or Decimal(0)
    return reward * (1 + fee / 100)


def to_time(value: Any) -> datetime | None:
    """An aware datetime from an ISO string or unix seconds/milliseconds; None otherwise."""
    if isinstance(value, bool) or value in (None, "", 0):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def to_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if math.isfinite(value) else None


def check_id(deployment_id: str, what: str = "deployment_id") -> str:
    value = deployment_id.strip() if isinstance(deployment_id, str) else ""
    if not PUBKEY.match(value):
        raise ValidationError(
            f"'{deployment_id}' is not a Nosana id (a 43–44 character base58 address).",
            field_errors={what: "must be a 43–44 character base58 address"},
            provider="nosana",
        )
    return value


def invalid_field(field: str, message: str) -> ValidationError:
    return ValidationError(f"{field}: {message}", field_errors={field: message}, provider="nosana")


_SPENDING = frozenset(
    {DeploymentStatus.STARTING, DeploymentStatus.RUNNING, DeploymentStatus.STOPPING}
)


def to_deployment(raw: Any, price_per_hour: Decimal | None = None) -> Deployment:
    """Normalize a Nosana deployment object (current or legacy shape)."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
        raise UnavailableError(
            "Nosana answered with something that is not a deployment.", provider="nosana"
        )
    raw_status = str(raw.get("status") or "")
    replicas = to_int(raw.get("replicas"))
    endpoints = tuple(
        Endpoint(
            url=e["url"],
            port=e.get("port") if isinstance(e.get("port"), int | str) else None,
            label=e.get("opId") if isinstance(e.get("opId"), str) else None,
        )
        for e in raw.get("endpoints") or []
        if isinstance(e, Mapping) and isinstance(e.get("url"), str)
    )
    active_jobs = to_int(raw.get("active_jobs"))
    legacy = isinstance(raw.get("jobs"), list)
    if active_jobs is None and legacy:
        active_jobs = sum(
            1 for j in raw["jobs"] if isinstance(j, Mapping) and j.get("state") == "RUNNING"
        )
    extras: dict[str, Any] = {
        "strategy": raw.get("strategy"),
        "timeout_minutes": raw.get("timeout"),
        "market": raw.get("market"),
        "vault": raw.get("vault"),
        "owner": raw.get("owner"),
        "confidential": raw.get("confidential"),
        "active_jobs": active_jobs,
    }
    if raw.get("schedule") is not None:
        extras["schedule"] = raw.get("schedule")
    if raw.get("rotation_time") is not None:
        extras["rotation_time_minutes"] = raw.get("rotation_time")
    if price_per_hour is not None:
        extras["price_per_replica_hour_usd"] = str(price_per_hour)
    if legacy:
        extras["legacy_shape"] = True
    # What it costs now: jobs run (and are paid for) only while starting, running or stopping.
    full = (
        price_per_hour * replicas if price_per_hour is not None and replicas is not None else None
    )
    if full is not None:
        extras["cost_when_running_per_hour_usd"] = str(full)
    status = STATUS_MAP.get(raw_status, DeploymentStatus.UNKNOWN)
    cost = full if status in _SPENDING else (Decimal(0) if full is not None else None)
    return Deployment(
        provider="nosana",
        id=raw["id"],
        name=str(raw.get("name") or ""),
        status=status,
        raw_status=raw_status,
        replicas=replicas,
        endpoints=endpoints,
        cost_per_hour_usd=cost,
        created_at=to_time(raw.get("created_at")),
        updated_at=to_time(raw.get("updated_at")),
        active_revision=to_int(raw.get("active_revision")),
        extras={k: v for k, v in extras.items() if v is not None},
    )


def to_market(raw: Mapping[str, Any]) -> Market:
    """Normalize a ``/markets/`` item (``lowest_vram`` is in GB)."""
    gpus = [g for g in raw.get("gpu_types") or [] if isinstance(g, str)]
    vram_gb = raw.get("lowest_vram")
    extras = {
        "slug": raw.get("slug"),
        "type": raw.get("type"),
        "usd_reward_per_hour": raw.get("usd_reward_per_hour"),
        "network_fee_percentage": raw.get("network_fee_percentage"),
        "premium_community_relation": raw.get("premium_community_relation"),
        "nos_reward_per_second": raw.get("nos_reward_per_second"),
    }
    return Market(
        id=str(raw.get("address") or ""),
        name=str(raw.get("name") or raw.get("slug") or raw.get("address") or ""),
        price_per_hour_usd=market_price_per_hour(
            raw.get("usd_reward_per_hour"), raw.get("network_fee_percentage")
        ),
        gpu=", ".join(gpus) or None,
        vram_mb=_mb(vram_gb),
        extras={k: v for k, v in extras.items() if v is not None},
    )


def to_job(raw: Mapping[str, Any]) -> Job:
    """Normalize a ``/jobs`` list item (a finished job's ``updated_at`` is when it ended)."""
    state = str(raw.get("state") or "")
    finished = state in ("COMPLETED", "STOPPED")
    extras = {"tx": raw.get("tx"), "market": raw.get("market")}
    return Job(
        id=str(raw.get("job") or ""),
        state=state,
        node=raw.get("node") if isinstance(raw.get("node"), str) else None,
        revision=to_int(raw.get("revision")),
        started_at=to_time(raw.get("time_start")),
        ended_at=to_time(raw.get("updated_at")) if finished else None,
        created_at=to_time(raw.get("created_at")),
        extras={k: v for k, v in extras.items() if v is not None},
    )


def result_lines(job: Job) -> list[LogLine]:
    """The log lines of one job's results (``opStates[].logs``)."""
    result = job.extras.get("result")
    if not isinstance(result, Mapping):
        return []
    lines = []
    for op in result.get("opStates") or []:
        if not isinstance(op, Mapping):
            continue
        source = f"{op.get('operationId')}@{job.id[:8]}"
        for entry in op.get("logs") or []:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("log"), str):
                continue
            lines.append(
                LogLine(
                    message=entry["log"].rstrip("\n"),
                    stream=str(entry.get("type") or "stdout"),
                    timestamp=to_time(entry.get("timestamp")),
                    source=source,
                )
            )
    return lines
