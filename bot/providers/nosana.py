"""Nosana deployments through the dashboard API (``https://dashboard.k8s.prd.nos.ci/api``).

Wire facts, as the real deployment manager behaves: Bearer ``nos_…`` keys; start, stop and
archive are POST; revisions go to ``create-revision`` with the bare job definition; the PATCH
``update-*`` routes; keyset cursors with ``limit`` ∈ {10, 20, 50, 100}; wrong state is HTTP 500
with an ``error`` text, never 409; 401 bodies are plain text; ``GET /deployments`` is
``{deployments, pagination}`` today but was a bare array before 2026-02 (both are accepted).

Money: a market's price per job-hour is ``usd_reward_per_hour × (1 + network_fee_percentage /
100)``; a deployment's ``cost_per_hour_usd`` is that price times its replicas (markets are
cached for a few minutes, and the markets endpoint is public).
"""

from __future__ import annotations

import asyncio
import json
import math
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator
from pydantic import ValidationError as PydanticValidationError

from bot.config import NOSANA_PRODUCTION_URL
from bot.providers.base import BaseProvider, RawPage, fingerprint
from bot.providers.error_text import one_line
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    NotSupportedError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import parse_retry_after, response_text
from bot.providers.models import (
    Balance,
    Capability,
    CreateResult,
    Deployment,
    DeploymentStatus,
    Endpoint,
    Event,
    Job,
    LogLine,
    Market,
    Page,
    Revision,
)
from bot.providers.nosana_jobdef import cron_problem, field_errors, validate_job_definition

__all__ = [
    "PAGE_LIMITS",
    "STATUS_MAP",
    "NosanaCreateSpec",
    "NosanaProvider",
    "RouteNotFoundError",
    "market_price_per_hour",
    "page_limit",
    "parse_field_errors",
    "to_deployment",
    "to_market",
]

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
_RAW_STATUS = {normalized.value: raw for raw, normalized in STATUS_MAP.items()}
JOB_STATES: tuple[str, ...] = ("QUEUED", "RUNNING", "COMPLETED", "STOPPED")

#: The state machine of spec §4.1/§8.2: where each action is allowed from.
START_FROM = frozenset({"DRAFT", "STOPPED", "ERROR", "INSUFFICIENT_FUNDS"})
STOP_FROM = frozenset({"RUNNING", "ERROR", "INSUFFICIENT_FUNDS"})
_ALLOWED_FROM = {
    "start": "DRAFT, STOPPED, ERROR or INSUFFICIENT_FUNDS",
    "stop": "RUNNING, ERROR or INSUFFICIENT_FUNDS",
    "archive": "STOPPED",
    "delete": "STOPPED",
}

WRONG_STATE_TEXTS = (
    "Deployment is in the incorrect state.",
    "Cannot modify an archived deployment.",
    "Deployment is using an incorrect strategy.",
)
#: ``{"error"}`` texts of 400 answers that belong to one request field.
_FIELD_OF_ERROR = {
    "The specified revision does not exist.": "active_revision",
    "Timeout for infinite deployments must be at least 1 hour.": "timeout",
    "Rotation time must be at least 10 minutes less than timeout.": "rotation_time",
}

_PUBKEY = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{43,44}$")
_ROUTE_NOT_FOUND = re.compile(r"^Route [A-Z]+:\S* not found$")
_AJV = re.compile(r"^(body|params|querystring|headers)(?:/(\S+))? (.+)$")
_AJV_REQUIRED = re.compile(r"must have required property '([^']+)'")
_SPLIT = re.compile(r", (?=(?:body|params|querystring|headers)[/ ]|[\w$.\[\]/-]*: )")


class RouteNotFoundError(NotFoundError):
    """Fastify's "Route … not found": this server has no such route (an older version)."""


# -- pure helpers --------------------------------------------------------------------------------


def _mb(gb: Any) -> int | None:
    """Gigabytes (a number the API sends) as megabytes."""
    return int(gb * 1024) if _int(gb) is not None else None


def page_limit(requested: int) -> int:
    """The allowed page size for ``requested``: rounded up to 10, 20, 50 or 100."""
    return next((allowed for allowed in PAGE_LIMITS if requested <= allowed), PAGE_LIMITS[-1])


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def market_price_per_hour(usd_reward_per_hour: Any, network_fee_percentage: Any) -> Decimal | None:
    """USD a client pays per job-hour: ``usd_reward_per_hour × (1 + fee / 100)``."""
    reward = _decimal(usd_reward_per_hour)
    if reward is None:
        return None
    fee = _decimal(network_fee_percentage) or Decimal(0)
    return reward * (1 + fee / 100)


def _time(value: Any) -> datetime | None:
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


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value) if math.isfinite(value) else None


def _one_line(text: str) -> str:
    return " ".join(text.split())


def parse_field_errors(message: str) -> dict[str, str]:
    """Field → message from a Fastify/AJV, TypeBox or typia validation ``message``.

    ``body/replicas must be >= 0`` → ``{"replicas": "must be >= 0"}``;
    ``replicas: Expected number`` → ``{"replicas": "Expected number"}``;
    ``job_definition$input.ops[0].id: string & TagBase<__type>`` and the bare
    ``$input.ops[0].id: …`` of create-revision → ``{"job_definition.ops[0].id": …}``.
    """
    out: dict[str, str] = {}
    for part in _SPLIT.split(message.strip()):
        ajv = _AJV.match(part)
        if ajv:
            where, path, text = ajv.groups()
            required = _AJV_REQUIRED.search(text)
            key = (path or "").replace("/", ".")
            if required:
                key, text = ".".join(filter(None, [key, required.group(1)])), "is required"
            out.setdefault(key or where, text)
            continue
        path, sep, text = part.partition(": ")
        if not sep:
            continue
        if not path and text == "Expected all values to match" and out:
            continue
        if "$input" in path:
            key = "job_definition" + path.split("$input", 1)[1]
        else:
            key = path.strip("/").replace("/", ".")
        out.setdefault(key or "body", text)
    return out


def _check_id(deployment_id: str, what: str = "deployment_id") -> str:
    value = deployment_id.strip() if isinstance(deployment_id, str) else ""
    if not _PUBKEY.match(value):
        raise ValidationError(
            f"'{deployment_id}' is not a Nosana id (a 43–44 character base58 address).",
            field_errors={what: "must be a 43–44 character base58 address"},
            provider="nosana",
        )
    return value


def _invalid(field: str, message: str) -> ValidationError:
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
    replicas = _int(raw.get("replicas"))
    endpoints = tuple(
        Endpoint(
            url=e["url"],
            port=e.get("port") if isinstance(e.get("port"), int | str) else None,
            label=e.get("opId") if isinstance(e.get("opId"), str) else None,
        )
        for e in raw.get("endpoints") or []
        if isinstance(e, Mapping) and isinstance(e.get("url"), str)
    )
    active_jobs = _int(raw.get("active_jobs"))
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
        created_at=_time(raw.get("created_at")),
        updated_at=_time(raw.get("updated_at")),
        active_revision=_int(raw.get("active_revision")),
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
        revision=_int(raw.get("revision")),
        started_at=_time(raw.get("time_start")),
        ended_at=_time(raw.get("updated_at")) if finished else None,
        created_at=_time(raw.get("created_at")),
        extras={k: v for k, v in extras.items() if v is not None},
    )


# -- create spec -----------------------------------------------------------------------------------


class NosanaCreateSpec(BaseModel):
    """What ``create`` sends (spec §5.1), checked locally before anything is sent.

    ``timeout`` and ``rotation_time`` are minutes. ``schedule`` is required for (and only
    allowed with) SCHEDULED; ``rotation_time`` only with INFINITE, which also needs a timeout
    of at least 60 minutes.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1)
    market: str
    strategy: Strategy = "SIMPLE"
    replicas: int = Field(default=1, ge=1)
    timeout: int = Field(ge=1)
    schedule: str | None = Field(default=None, validate_default=True)
    rotation_time: int | None = Field(default=None, ge=1)
    job_definition: dict[str, Any]
    autostart: bool = False
    confidential: bool | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value

    @field_validator("market")
    @classmethod
    def _market(cls, value: str) -> str:
        value = value.strip()
        if not _PUBKEY.match(value):
            raise ValueError("must be a GPU market address (43–44 base58 characters)")
        return value

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: int, info: ValidationInfo) -> int:
        if info.data.get("strategy") == "INFINITE" and value < 60:
            raise ValueError("must be at least 60 minutes for INFINITE deployments")
        return value

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("strategy") != "SCHEDULED":
            if value is not None:
                raise ValueError("only SCHEDULED deployments take a schedule")
            return None
        if value is None:
            raise ValueError("is required for SCHEDULED deployments")
        problem = cron_problem(value)
        if problem:
            raise ValueError(problem)
        return " ".join(str(value).split())

    @field_validator("rotation_time")
    @classmethod
    def _rotation(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is None:
            return None
        if info.data.get("strategy") != "INFINITE":
            raise ValueError("only INFINITE deployments take a rotation_time")
        timeout = info.data.get("timeout")
        if isinstance(timeout, int) and value >= timeout - 10:
            raise ValueError(f"must be less than timeout − 10 ({timeout - 10} minutes)")
        return value

    @field_validator("job_definition")
    @classmethod
    def _definition(cls, value: dict[str, Any]) -> dict[str, Any]:
        problems = validate_job_definition(value)
        if problems:
            raise ValueError("; ".join(f"{p.path}: {p.message}" for p in problems))
        return value

    @classmethod
    def parse(cls, data: BaseModel | Mapping[str, Any]) -> NosanaCreateSpec:
        """Build a spec from a model or mapping; ValidationError with field_errors if invalid."""
        if isinstance(data, NosanaCreateSpec):
            return data
        raw = data.model_dump() if isinstance(data, BaseModel) else dict(data)
        try:
            spec = cls.model_validate(raw)
        except PydanticValidationError as exc:
            errors: dict[str, str] = {}
            for error in exc.errors():
                key = ".".join(str(p) for p in error["loc"]) or "spec"
                if key == "job_definition" and isinstance(raw.get("job_definition"), dict):
                    errors.update(field_errors(validate_job_definition(raw["job_definition"])))
                else:
                    errors.setdefault(key, str(error["msg"]).removeprefix("Value error, "))
            summary = "; ".join(f"{k}: {v}" for k, v in list(errors.items())[:3])
            more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
            raise ValidationError(
                f"The Nosana deployment is not valid: {summary}{more}.",
                field_errors=errors,
                provider="nosana",
            ) from None
        return spec

    def to_body(self) -> dict[str, Any]:
        """The JSON body of ``POST /deployments/create``."""
        body = self.model_dump(exclude_none=True)
        if not self.autostart:
            del body["autostart"]  # older servers predate the field; leave it out when False
        return body


# -- the client ------------------------------------------------------------------------------


class NosanaProvider(BaseProvider):
    """A Nosana account (one API key) through the dashboard API."""

    name = "nosana"
    display_name = "Nosana"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CREATE,
            Capability.START,
            Capability.STOP,
            Capability.ARCHIVE,
            Capability.DELETE,
            Capability.SCALE,
            Capability.TIMEOUT,
            Capability.SCHEDULE,
            Capability.REVISE,
            Capability.ROLLBACK,
            Capability.RENAME,
            Capability.LOGS,
            Capability.EVENTS,
            Capability.JOBS,
            Capability.BALANCE,
            Capability.MARKETS,
        }
    )
    #: How long market prices are trusted before ``/markets/`` is read again (seconds).
    market_ttl: ClassVar[float] = 300.0
    #: At most this many jobs are opened when collecting logs.
    max_log_jobs: ClassVar[int] = 20

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        base_url: str = NOSANA_PRODUCTION_URL,
        monotonic: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(api_key, base_url=base_url, **kwargs)
        self._monotonic = monotonic
        self._markets: dict[str, tuple[float, Market | None]] = {}
        self._markets_listed_at: float | None = None

    # -- protocol plumbing ------------------------------------------------------------------

    @classmethod
    def auth_headers(cls, api_key: SecretStr) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr(f"Bearer {api_key.get_secret_value()}")}

    def map_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        # The whole one-line text is matched (field errors can be long); people see it short.
        full = response_text(response, limit=2000)  # ProviderHTTP scrubs the key afterwards
        text = one_line(full)
        kw: dict[str, Any] = {"provider": self.name, "status_code": status, "provider_text": full}
        if status in (401, 403) or "Authorization has expired" in full:
            return AuthenticationError(
                f"Nosana rejected the API key ({text or f'HTTP {status}'}).", **kw
            )
        if "Insufficient credits" in full or "InsufficientFundsForRent" in full:
            return InsufficientFundsError(f"Nosana: not enough credits ({text}).", **kw)
        if status == 404:
            if _ROUTE_NOT_FOUND.match(full):
                return RouteNotFoundError(f"This Nosana server has no such route ({text}).", **kw)
            return NotFoundError(f"Nosana: {text or 'not found.'}", **kw)
        if full in WRONG_STATE_TEXTS:
            return WrongStateError(f"Nosana refused: {text}", **kw)
        if status in (400, 422):
            fields = parse_field_errors(full)
            if full in _FIELD_OF_ERROR:
                fields = {_FIELD_OF_ERROR[full]: full}
            return ValidationError(
                f"Nosana rejected the request: {text}", field_errors=fields, **kw
            )
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimitedError("Nosana is rate limiting requests.", retry_after=wait, **kw)
        if status >= 500:
            detail = f": {text}" if text and text != f"HTTP {status}" else ""
            return UnavailableError(f"Nosana is having trouble (HTTP {status}{detail}).", **kw)
        return ProviderError(f"Nosana answered HTTP {status}: {text}", **kw)

    def available_actions(self, deployment: Deployment) -> frozenset[Capability]:
        raw = deployment.raw_status
        actions = {Capability.LOGS, Capability.EVENTS, Capability.JOBS}
        if raw in START_FROM:
            actions.add(Capability.START)
        if raw in STOP_FROM:
            actions.add(Capability.STOP)
        if raw == "STOPPED":
            actions |= {Capability.ARCHIVE, Capability.DELETE}
        if raw in STATUS_MAP and raw != "ARCHIVED":
            actions |= {
                Capability.SCALE,
                Capability.TIMEOUT,
                Capability.REVISE,
                Capability.ROLLBACK,
                Capability.RENAME,
            }
            if deployment.extras.get("strategy") == "SCHEDULED":
                actions.add(Capability.SCHEDULE)
        return frozenset(actions)

    # -- listing and reading ------------------------------------------------------------------

    def _status_filter(self, status: str) -> str:
        raws = []
        for value in (v.strip() for v in status.split(",") if v.strip()):
            raw = value.upper() if value.upper() in STATUS_MAP else _RAW_STATUS.get(value.lower())
            if raw is None:
                raise _invalid("status", f"'{value}' is not a Nosana status")
            raws.append(raw)
        return ",".join(dict.fromkeys(raws))

    async def list_page(
        self,
        *,
        cursor: str | None = None,
        limit: int = 50,
        status: str | None = None,
        strategy: str | None = None,
        search: str | None = None,
        name: str | None = None,
        sort_order: Literal["asc", "desc"] = "desc",
    ) -> Page[Deployment]:
        """One page, newest first by default; ``status`` may be Nosana's word or ours."""
        params: dict[str, str] = {"limit": str(page_limit(limit)), "sort_order": sort_order}
        if cursor:
            params["cursor"] = cursor
        if status:
            params["status"] = self._status_filter(status)
        if strategy:
            wanted = [s.strip().upper() for s in strategy.split(",") if s.strip()]
            if not wanted or any(s not in STRATEGIES for s in wanted):
                raise _invalid("strategy", "must be SIMPLE, SIMPLE-EXTEND, SCHEDULED or INFINITE")
            params["strategy"] = ",".join(wanted)
        if search:
            params["search"] = search
        if name:
            params["name"] = name
        body = await self.http.get_json("/deployments", params=params)
        total: int | None
        if isinstance(body, list):  # legacy shape: every deployment, no pagination
            items, next_cursor, total = body, None, len(body)
        elif isinstance(body, Mapping) and isinstance(body.get("deployments"), list):
            pagination = body.get("pagination") or {}
            items, next_cursor = body["deployments"], pagination.get("cursor_next") or None
            total = _int(pagination.get("total_items"))
        else:
            raise UnavailableError(
                "Nosana answered the deployment list with an unexpected shape.", provider=self.name
            )
        prices = await self._market_prices(d.get("market") for d in items if isinstance(d, Mapping))
        deployments = [to_deployment(d, prices.get(d.get("market"))) for d in items]
        return Page(items=deployments, next_cursor=next_cursor, total=total)

    async def list_raw_page(self, *, cursor: str | None = None, limit: int = 100) -> RawPage:
        """One page of raw deployment objects (see ``normalize_listed``)."""
        params: dict[str, str] = {"limit": str(page_limit(limit)), "sort_order": "desc"}
        if cursor:
            params["cursor"] = cursor
        body = await self.http.get_json("/deployments", params=params)
        if isinstance(body, list):
            return RawPage(items=body)
        if isinstance(body, Mapping) and isinstance(body.get("deployments"), list):
            pagination = body.get("pagination") or {}
            return RawPage(items=body["deployments"], next_cursor=pagination.get("cursor_next"))
        raise UnavailableError(
            "Nosana answered the deployment list with an unexpected shape.", provider=self.name
        )

    def watch_fields(self, raw: Any) -> tuple[str, str] | None:
        if type(raw) is not dict or type(raw.get("id")) is not str:  # JSON objects are dicts
            return None
        return raw["id"], fingerprint(raw.get("status"), raw.get("name"), raw.get("replicas"))

    async def normalize_listed(self, items: Sequence[Any]) -> list[Deployment]:
        prices = await self._market_prices(d.get("market") for d in items if isinstance(d, Mapping))
        return [to_deployment(d, prices.get(d.get("market"))) for d in items]

    async def get(self, deployment_id: str) -> Deployment:
        raw = await self.http.get_json(f"/deployments/{_check_id(deployment_id)}")
        return await self._normalize(raw)

    async def _normalize(self, raw: Any) -> Deployment:
        market = raw.get("market") if isinstance(raw, Mapping) else None
        prices = await self._market_prices([market])
        return to_deployment(raw, prices.get(market) if isinstance(market, str) else None)

    async def _walk(
        self, path: str, key: str, limit: int, params: Mapping[str, str] | None = None
    ) -> list[Any]:
        """Up to ``limit`` items of a paginated sub-resource, newest first."""
        items: list[Any] = []
        cursor: str | None = None
        while len(items) < limit:
            query = {"limit": str(page_limit(limit - len(items))), **(params or {})}
            if cursor:
                query["cursor"] = cursor
            body = await self.http.get_json(path, params=query)
            if not isinstance(body, Mapping) or not isinstance(body.get(key), list):
                raise UnavailableError(
                    f"Nosana answered {key} with an unexpected shape.", provider=self.name
                )
            items.extend(body[key])
            next_cursor = (body.get("pagination") or {}).get("cursor_next")
            if not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
        return items[:limit]

    async def jobs(
        self, deployment_id: str, *, limit: int = 50, state: str | None = None
    ) -> list[Job]:
        """The newest ``limit`` jobs; ``state`` filters (comma list, e.g. "RUNNING,QUEUED")."""
        params = {}
        if state:
            states = [s.strip().upper() for s in state.split(",") if s.strip()]
            if not states or any(s not in JOB_STATES for s in states):
                raise _invalid("state", "must be QUEUED, RUNNING, COMPLETED or STOPPED")
            params["state"] = ",".join(states)
        path = f"/deployments/{_check_id(deployment_id)}/jobs"
        return [
            to_job(j)
            for j in await self._walk(path, "jobs", limit, params)
            if isinstance(j, Mapping)
        ]

    async def job(self, deployment_id: str, job_id: str) -> Job:
        """One job with its definition and results (``extras["result"]``: per-op states, logs)."""
        path = f"/deployments/{_check_id(deployment_id)}/jobs/{_check_id(job_id, 'job_id')}"
        raw = await self.http.get_json(path)
        if not isinstance(raw, Mapping):
            raise UnavailableError(
                "Nosana answered a job with an unexpected shape.", provider=self.name
            )
        state = raw.get("state")
        if isinstance(state, int) and 0 <= state < len(JOB_STATES):
            state = JOB_STATES[state]
        extras = {
            "market": raw.get("market"),
            "confidential": raw.get("confidential"),
            "definition": raw.get("jobDefinition"),
            "result": raw.get("jobResult"),
        }
        return Job(
            id=job_id,
            state=str(state),
            node=raw.get("node") if isinstance(raw.get("node"), str) else None,
            revision=_int(raw.get("revision")),
            started_at=_time(raw.get("timeStart")),
            ended_at=_time(raw.get("timeEnd")),
            created_at=_time(raw.get("listedAt")),
            extras={k: v for k, v in extras.items() if v is not None},
        )

    async def logs(
        self, deployment_id: str, *, tail: int | None = None, since: datetime | None = None
    ) -> list[LogLine]:
        """Log lines from job results (newest jobs first), oldest line first in the answer.

        Only jobs whose results a node has posted have logs (spec §6.3). ``tail`` keeps the
        last lines, ``since`` drops lines (and whole jobs) that ended earlier.
        """
        if tail is not None and tail < 1:
            raise _invalid("tail", "must be at least 1")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        jobs = await self.jobs(deployment_id, limit=self.max_log_jobs)
        lines: list[LogLine] = []
        for start in range(0, len(jobs), 5):
            batch = [
                j
                for j in jobs[start : start + 5]
                if j.state != "QUEUED" and not (since and j.ended_at and j.ended_at < since)
            ]
            details = await asyncio.gather(*(self.job(deployment_id, j.id) for j in batch))
            for detail in details:
                lines.extend(_result_lines(detail))
            if tail is not None and len(lines) >= tail:
                break
        if since is not None:
            lines = [line for line in lines if line.timestamp and line.timestamp >= since]
        epoch = datetime.min.replace(tzinfo=UTC)
        lines.sort(key=lambda line: line.timestamp or epoch)
        return lines[-tail:] if tail is not None else lines

    async def events(self, deployment_id: str, *, limit: int = 50) -> list[Event]:
        path = f"/deployments/{_check_id(deployment_id)}/events"
        return [
            Event(
                type=str(e.get("type") or ""),
                message=str(e.get("message") or ""),
                created_at=_time(e.get("created_at")),
                category=e.get("category"),
                tx=e.get("tx"),
            )
            for e in await self._walk(path, "events", limit)
            if isinstance(e, Mapping)
        ]

    async def revisions(self, deployment_id: str) -> list[Revision]:
        path = f"/deployments/{_check_id(deployment_id)}/revisions"
        revisions = [
            Revision(
                revision=int(r["revision"]),
                created_at=_time(r.get("created_at")),
                definition=r.get("job_definition") or {},
            )
            for r in await self._walk(path, "revisions", 10_000)
            if isinstance(r, Mapping) and _int(r.get("revision")) is not None
        ]
        return sorted(revisions, key=lambda r: r.revision)

    # -- changing deployments ------------------------------------------------------------------

    async def create(self, spec: BaseModel | Mapping[str, Any]) -> CreateResult:
        """Create (200 from Nosana); never re-sent on its own: look before trying again."""
        checked = NosanaCreateSpec.parse(spec)
        check = f"`/deploy list` for a new Nosana deployment named “{checked.name}”"
        response = await self.http.request(
            "POST", "/deployments/create", json=checked.to_body(), idempotent=False, check=check
        )
        body = self.http.json(response, check=check)
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            raise self.http.garbled(response, "no deployment in it", check=check)
        deployment = await self._normalize(body)
        running = deployment.extras.get("cost_when_running_per_hour_usd")
        return CreateResult(
            deployment=deployment,
            estimated_cost_per_hour_usd=Decimal(running) if running is not None else None,
        )

    async def _post_action(self, deployment_id: str, action: str) -> Deployment:
        did = _check_id(deployment_id)
        check = f"its status with `/deploy show {did}`"
        try:
            response = await self.http.request(
                "POST", f"/deployments/{did}/{action}", idempotent=False, check=check
            )
        except WrongStateError as exc:
            raise self._explain(exc, action) from None
        body = self.http.json(response, check=check)  # {status, updated_at}
        if not isinstance(body, Mapping) or not isinstance(body.get("status"), str):
            raise self.http.garbled(response, "no status in it", check=check)
        return await self.get(did)

    def _explain(self, exc: WrongStateError, action: str) -> WrongStateError:
        hint = f" Nosana can {action} a deployment only when it is {_ALLOWED_FROM[action]}."
        if exc.provider_text == "Cannot modify an archived deployment.":
            hint = " Archived deployments cannot be changed."
        return WrongStateError(
            f"Nosana refused to {action} it: {exc.provider_text}{hint}",
            provider=self.name,
            status_code=exc.status_code,
            provider_text=exc.provider_text,
        )

    async def start(self, deployment_id: str) -> Deployment:
        return await self._post_action(deployment_id, "start")

    async def stop(self, deployment_id: str) -> Deployment:
        return await self._post_action(deployment_id, "stop")

    async def archive(self, deployment_id: str) -> Deployment:
        return await self._post_action(deployment_id, "archive")

    async def delete(self, deployment_id: str) -> None:
        """Delete a STOPPED deployment for good (204)."""
        did = _check_id(deployment_id)
        try:
            await self.http.request(
                "DELETE", f"/deployments/{did}", expected=(204,), check="`/deploy list`"
            )
        except WrongStateError as exc:
            raise self._explain(exc, "delete") from None

    async def _patch(self, deployment_id: str, route: str, body: dict[str, Any]) -> Deployment:
        did = _check_id(deployment_id)
        await self.http.request("PATCH", f"/deployments/{did}/{route}", json=body, idempotent=True)
        return await self.get(did)

    def check_revision(self, definition: str) -> str | None:
        try:
            parsed = json.loads(definition)
        except ValueError as exc:
            return f"This is not valid JSON ({exc})."
        problems = validate_job_definition(parsed)
        if not problems:
            return None
        errors = field_errors(problems)
        lines = [f"{path} {message}" for path, message in list(errors.items())[:5]]
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        return "; ".join(lines) + more

    async def revision_template(self, deployment: Deployment) -> tuple[str, str]:
        """The active revision's job definition, pretty-printed."""
        revisions = await self.revisions(deployment.id)
        active = next(
            (r for r in revisions if r.revision == deployment.active_revision),
            revisions[-1] if revisions else None,
        )
        return (json.dumps(active.definition, indent=2) if active else "{}"), "json"

    async def revise(self, deployment_id: str, definition: Any) -> Deployment:
        """Make ``definition`` (a dict or JSON text) the new active revision."""
        if isinstance(definition, str | bytes):
            try:
                definition = json.loads(definition)
            except ValueError as exc:
                raise _invalid("job_definition", f"is not valid JSON ({exc})") from None
        problems = validate_job_definition(definition)
        if problems:
            errors = field_errors(problems)
            first = next(iter(errors.items()))
            raise ValidationError(
                f"The job definition is not valid: {first[0]} {first[1]}"
                + (f" (+{len(errors) - 1} more)." if len(errors) > 1 else "."),
                field_errors=errors,
                provider=self.name,
            )
        did = _check_id(deployment_id)
        check = f"its revisions with `/deploy show {did}`"
        response = await self.http.request(
            "POST",
            f"/deployments/{did}/create-revision",
            json=definition,
            idempotent=False,
            check=check,
        )
        body = self.http.json(response, check=check)  # {active_revision, revisions, …}
        if not isinstance(body, Mapping) or "active_revision" not in body:
            raise self.http.garbled(response, "no active revision in it", check=check)
        return await self.get(did)

    async def rollback(self, deployment_id: str, revision: int) -> Deployment:
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
            raise _invalid("active_revision", "must be a revision number (1 or more)")
        return await self._patch(
            deployment_id, "update-active-revision", {"active_revision": revision}
        )

    async def scale(self, deployment_id: str, replicas: int) -> Deployment:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise _invalid("replicas", "must be a whole number, 0 or more")
        return await self._patch(deployment_id, "update-replica-count", {"replicas": replicas})

    async def set_timeout(self, deployment_id: str, minutes: int) -> Deployment:
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 60:
            raise _invalid("timeout", "must be at least 60 minutes")
        return await self._patch(deployment_id, "update-timeout", {"timeout": minutes})

    async def set_schedule(self, deployment_id: str, cron: str) -> Deployment:
        problem = cron_problem(cron)
        if problem:
            raise _invalid("schedule", problem)
        try:
            return await self._patch(
                deployment_id, "update-schedule", {"schedule": " ".join(cron.split())}
            )
        except WrongStateError as exc:
            if exc.provider_text != "Deployment is using an incorrect strategy.":
                raise
            raise WrongStateError(
                f"Nosana refused: {exc.provider_text} Only SCHEDULED deployments have a schedule.",
                provider=self.name,
                status_code=exc.status_code,
                provider_text=exc.provider_text,
            ) from None

    async def rename(self, deployment_id: str, name: str) -> Deployment:
        if not isinstance(name, str) or not name.strip():
            raise _invalid("name", "must not be empty")
        try:
            return await self._patch(deployment_id, "update-name", {"name": name.strip()})
        except RouteNotFoundError:
            raise NotSupportedError(
                "This Nosana server cannot rename deployments yet (it has no update-name route).",
                provider=self.name,
            ) from None

    # -- account and markets -------------------------------------------------------------------

    async def balance(self) -> Balance:
        body = await self.http.get_json("/credits/balance")
        if not isinstance(body, Mapping):
            raise UnavailableError(
                "Nosana answered the balance with an unexpected shape.", provider=self.name
            )
        parts = {
            name: _decimal(body.get(key)) or Decimal(0)
            for name, key in (
                ("assigned", "assignedCredits"),
                ("reserved", "reservedCredits"),
                ("settled", "settledCredits"),
            )
        }
        available = parts["assigned"] - parts["reserved"] - parts["settled"]
        return Balance(available_usd=available, details=parts)

    async def markets(self, **filters: Any) -> list[Market]:
        """GPU markets; filters: ``type`` (PREMIUM/COMMUNITY/OTHER), ``filter_key`` +
        ``filter_value`` (a market field to match), ``limit``."""
        aliases = {"filterKey": "filter_key", "filterValue": "filter_value"}
        filters = {aliases.get(k, k): v for k, v in filters.items() if v is not None}
        unknown = set(filters) - {"type", "filter_key", "filter_value", "limit"}
        if unknown:
            raise _invalid(
                sorted(unknown)[0],
                "is not a market filter (use type, filter_key, filter_value, limit)",
            )
        params: dict[str, str] = {}
        if "type" in filters:
            kind = str(filters["type"]).upper()
            if kind not in MARKET_TYPES:
                raise _invalid("type", "must be PREMIUM, COMMUNITY or OTHER")
            params["type"] = kind
        if ("filter_key" in filters) != ("filter_value" in filters):
            raise _invalid("filter_key", "filter_key and filter_value go together")
        if "filter_key" in filters:
            params["filterKey"] = str(filters["filter_key"])
            params["filterValue"] = str(filters["filter_value"])
        if "limit" in filters:
            limit = filters["limit"]
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise _invalid("limit", "must be a whole number, 1 or more")
            params["limit"] = str(limit)
        body = await self.http.get_json("/markets/", params=params)
        if not isinstance(body, list):
            raise UnavailableError(
                "Nosana answered markets with an unexpected shape.", provider=self.name
            )
        markets = [to_market(m) for m in body if isinstance(m, Mapping) and m.get("address")]
        now = self._monotonic()
        for market in markets:
            self._markets[market.id] = (now, market)
        if not params:
            self._markets_listed_at = now
        return markets

    async def market(self, address: str) -> Market:
        """One GPU market by address."""
        body = await self.http.get_json(f"/markets/{_check_id(address, 'market')}/")
        if not isinstance(body, Mapping):
            raise UnavailableError(
                "Nosana answered a market with an unexpected shape.", provider=self.name
            )
        market = to_market(body)
        self._markets[market.id] = (self._monotonic(), market)
        return market

    async def _market_prices(self, addresses: Iterable[Any]) -> dict[str, Decimal | None]:
        """Price per job-hour of each market, from a cache refreshed every ``market_ttl``.

        Best effort: a deployment is still shown (without a cost) when markets cannot be read.
        """
        wanted = {a for a in addresses if isinstance(a, str) and _PUBKEY.match(a)}
        now = self._monotonic()

        def fresh(address: str) -> bool:
            entry = self._markets.get(address)
            return entry is not None and now - entry[0] < self.market_ttl

        try:
            listed_recently = (
                self._markets_listed_at is not None
                and now - self._markets_listed_at < self.market_ttl
            )
            if any(not fresh(a) for a in wanted) and not listed_recently:
                await self.markets()
            for address in sorted(a for a in wanted if not fresh(a))[:5]:
                try:
                    await self.market(address)
                except NotFoundError:
                    self._markets[address] = (now, None)
        except ProviderError:
            self._markets_listed_at = now  # do not hammer a failing endpoint: wait a TTL
        prices: dict[str, Decimal | None] = {}
        for address in wanted:
            entry = self._markets.get(address)
            market = entry[1] if entry else None
            prices[address] = market.price_per_hour_usd if market else None
        return prices


def _result_lines(job: Job) -> list[LogLine]:
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
                    timestamp=_time(entry.get("timestamp")),
                    source=source,
                )
            )
    return lines
