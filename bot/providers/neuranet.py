"""NeuraNET client: container deployments on a chosen GPU node (``/deployments``, ``/nodes``).

Wire facts (see ``docs/specs/neuranet.md``): ``Authorization: Bearer nn_live_…``; page/limit
pagination (limit ≤ 100) with ``{page, limit, total, totalPages}``; money in **cents**;
start/stop answer only ``{id, status}`` so the client refetches the deployment.

Decisions where the spec is silent ([U]):

* Unknown status words map to ``DeploymentStatus.UNKNOWN`` with ``raw_status`` verbatim.
* A node that is offline, in maintenance or full answers create/start with 409/400 "Node …
  is not accepting deployments". That is mapped to :class:`ValidationError` with
  ``field_errors["node_id"]``: the fix is to pick another node, and the create form can show
  the message next to the node field. Other 409s (and 400s whose text says "not running",
  "already running" …) are :class:`WrongStateError`.
* A 5xx answer to a POST or DELETE is :class:`OutcomeUnknownError` (it may have been carried out).
* ``cost_per_hour_usd`` is the node's ``hourlyRateCents`` while the deployment holds the node
  (pending, starting, running, stopping), ``0`` when stopped or failed, and ``None`` when the
  status or the node's rate is unknown. The node's rate is always in ``extras``.
* Env values may hold secrets (tokens), so only the env *names* go into ``extras``.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal, InvalidOperation, localcontext
from typing import Any, ClassVar, Literal
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic import ValidationError as PydanticValidationError

from bot.providers.base import MAX_PAGES, BaseProvider, RawPage, fingerprint
from bot.providers.error_text import one_line, status_phrase
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import parse_retry_after, response_text
from bot.providers.models import (
    Capability,
    CreateResult,
    Deployment,
    DeploymentStatus,
    Endpoint,
    LogLine,
    Market,
    Page,
    ProviderName,
)

log = logging.getLogger(__name__)

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

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
_TEMPLATE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,63}$")
_ENV_KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
# An image reference as Docker's distribution/reference grammar has it:
# [registry[:port]/]path[:tag][@digest], path components lower case.
_IMAGE_RE = re.compile(
    r"^(?:(?P<registry>(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*(?::[0-9]+)?)/)?"
    r"(?P<path>[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?"
    r"(?:@(?P<digest>[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}))?$"
)
MAX_NAME_LENGTH = 64
MAX_ENV_VARS = 100
MAX_ENV_VALUE_LENGTH = 32_768

_WRONG_STATE_RE = re.compile(
    r"not running|not stopped|already (?:running|started|stopped|stopping|starting|deleted)"
    r"|cannot (?:be )?(?:start|stop|restart)|can't (?:start|stop)|invalid (?:state|status)"
    r"|current (?:state|status)|is (?:stopping|starting|pending|deleting)\b",
    re.IGNORECASE,
)
_NODE_UNAVAILABLE_RE = re.compile(
    r"\bnode\b.*(?:not accepting|offline|maintenance|\bfull\b|capacity|unavailable|not available"
    r"|no (?:free )?slots?)",
    re.IGNORECASE,
)
_INSUFFICIENT_RE = re.compile(
    r"insufficient (?:funds|balance|credits?)|not enough (?:credits?|funds|balance)|top up"
    r"|payment required",
    re.IGNORECASE,
)


# -- the create spec ---------------------------------------------------------------------


def _blank_to_none(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


class NeuraNetCreateSpec(BaseModel):
    """What to deploy: a node and either a template or a custom image.

    Build it from untrusted input with :meth:`parse` (type problems become a
    :class:`~bot.providers.errors.ValidationError` with ``field_errors``); :meth:`check`
    applies the business rules (``create`` calls it before anything is sent).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    node_id: str
    template_id: str | None = None
    custom_image: str | None = None
    name: str | None = None
    env: dict[str, str] = Field(default_factory=dict)

    @field_validator("node_id", mode="before")
    @classmethod
    def _strip_node(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("template_id", "custom_image", "name", mode="before")
    @classmethod
    def _strip_optional(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @field_validator("env", mode="before")
    @classmethod
    def _env_none(cls, value: Any) -> Any:
        return {} if value is None else value

    @classmethod
    def parse(cls, data: Mapping[str, Any] | BaseModel) -> NeuraNetCreateSpec:
        """Build a spec from a mapping (or another model), raising our ValidationError."""
        raw = data.model_dump() if isinstance(data, BaseModel) else dict(data)
        try:
            return cls.model_validate(raw)
        except PydanticValidationError as exc:
            fields: dict[str, str] = {}
            for error in exc.errors():
                path = ".".join(str(part) for part in error["loc"]) or "spec"
                fields.setdefault(path, _pydantic_message(error))
            raise _local_error(fields) from None

    def problems(self) -> dict[str, str]:
        """Business-rule problems, field name → message (empty when the spec is fine)."""
        errors: dict[str, str] = {}
        if not self.node_id:
            errors["node_id"] = "Choose a node (`/deploy nodes` lists them)."
        elif not _ID_RE.match(self.node_id):
            errors["node_id"] = (
                "A node id is letters, digits, '_', '-', '.' or ':' (e.g. node_abc123)."
            )

        if self.template_id and self.custom_image:
            errors["template_id"] = "Give either a template or a custom image, not both."
        elif not self.template_id and not self.custom_image:
            errors["template_id"] = "Choose a template (e.g. ollama) or give a custom image."
        elif self.template_id and not _TEMPLATE_RE.match(self.template_id):
            errors["template_id"] = "A template id is a short name without spaces, e.g. ollama."
        elif self.custom_image and not valid_image(self.custom_image):
            errors["custom_image"] = (
                "Not a container image reference; expected e.g. ghcr.io/org/app:1.2 or "
                "nginx:latest."
            )

        if self.name is not None:
            if len(self.name) > MAX_NAME_LENGTH:
                errors["name"] = f"Keep the name to {MAX_NAME_LENGTH} characters or fewer."
            elif _CONTROL_RE.search(self.name):
                errors["name"] = "The name cannot contain control characters."

        if len(self.env) > MAX_ENV_VARS:
            errors["env"] = f"At most {MAX_ENV_VARS} environment variables."
        for key, value in self.env.items():
            if not _ENV_KEY_RE.match(key):
                errors[f"env.{key}"] = (
                    "Variable names are letters, digits and '_', not starting with a digit."
                )
            elif "\x00" in value:
                errors[f"env.{key}"] = "The value cannot contain a NUL character."
            elif len(value) > MAX_ENV_VALUE_LENGTH:
                errors[f"env.{key}"] = (
                    f"The value is longer than {MAX_ENV_VALUE_LENGTH} characters."
                )
        return errors

    def check(self) -> NeuraNetCreateSpec:
        """Return self, or raise ValidationError listing every problem."""
        errors = self.problems()
        if errors:
            raise _local_error(errors)
        return self

    def to_wire(self) -> dict[str, Any]:
        """The POST /deployments body."""
        body: dict[str, Any] = {"nodeId": self.node_id}
        if self.template_id:
            body["templateId"] = self.template_id
        else:
            body["customImage"] = self.custom_image
        if self.name:
            body["name"] = self.name
        if self.env:
            body["env"] = dict(self.env)
        return body


def valid_image(reference: str) -> bool:
    """Whether ``reference`` is a syntactically valid container image reference."""
    return len(reference) <= 255 and _IMAGE_RE.match(reference) is not None


def _pydantic_message(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "missing":
        return "Required."
    if kind == "extra_forbidden":
        return "Unknown field."
    if kind in ("string_type", "dict_type"):
        return "Expected " + ("text." if kind == "string_type" else "a mapping of names to text.")
    return str(error.get("msg", "Invalid value."))


def _local_error(fields: Mapping[str, str]) -> ValidationError:
    summary = "; ".join(f"{field}: {message}" for field, message in fields.items())
    return ValidationError(
        f"NeuraNET deployment not sent: {summary}", field_errors=dict(fields), provider="neuranet"
    )


# -- node filters --------------------------------------------------------------------------


class NeuraNetNodeFilters(BaseModel):
    """Filters for ``GET /nodes``; camelCase wire names are accepted as aliases.

    ``max_hourly_rate_usd`` is US dollars (converted to whole cents, rounded down, so a node
    dearer than the limit is never included); ``max_hourly_rate_cents`` gives cents directly.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    status: Literal["online", "offline", "maintenance"] | None = None
    has_gpu: bool | None = Field(None, alias="hasGpu")
    min_gpu_vram_mb: int | None = Field(None, ge=0, alias="minGpuVram")
    min_cpu_cores: int | None = Field(None, ge=0, alias="minCpuCores")
    min_ram_mb: int | None = Field(None, ge=0, alias="minRamMb")
    region: str | None = None
    max_hourly_rate_usd: Decimal | None = Field(None, ge=0, allow_inf_nan=False)
    max_hourly_rate_cents: int | None = Field(None, ge=0, alias="maxHourlyRate")

    @field_validator("region", mode="before")
    @classmethod
    def _strip_region(cls, value: Any) -> Any:
        return _blank_to_none(value)

    @classmethod
    def parse(cls, filters: Mapping[str, Any]) -> NeuraNetNodeFilters:
        try:
            return cls.model_validate(dict(filters))
        except PydanticValidationError as exc:
            fields = {
                ".".join(str(p) for p in e["loc"]) or "filters": _pydantic_message(e)
                for e in exc.errors()
            }
            summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
            raise ValidationError(
                f"NeuraNET node filters not valid: {summary}",
                field_errors=fields,
                provider="neuranet",
            ) from None

    def max_rate_cents(self) -> int | None:
        limits = []
        if self.max_hourly_rate_usd is not None:
            limits.append(usd_to_cents_floor(self.max_hourly_rate_usd))
        if self.max_hourly_rate_cents is not None:
            limits.append(self.max_hourly_rate_cents)
        return min(limits) if limits else None

    def to_query(self) -> dict[str, str]:
        query: dict[str, str] = {}
        if self.status is not None:
            query["status"] = self.status
        if self.has_gpu is not None:
            query["hasGpu"] = "true" if self.has_gpu else "false"
        if self.min_gpu_vram_mb is not None:
            query["minGpuVram"] = str(self.min_gpu_vram_mb)
        if self.min_cpu_cores is not None:
            query["minCpuCores"] = str(self.min_cpu_cores)
        if self.min_ram_mb is not None:
            query["minRamMb"] = str(self.min_ram_mb)
        if self.region is not None:
            query["region"] = self.region
        rate = self.max_rate_cents()
        if rate is not None:
            query["maxHourlyRate"] = str(rate)
        return query


# -- pure conversions ------------------------------------------------------------------------


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


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _json_safe(value: Any) -> Any:
    """A copy of ``value`` made only of JSON types (anything else becomes its text)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
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
    vrams = [v for v in (_int_or_none(g.get("vramMb")) for g in gpus) if v is not None]
    active = _int_or_none(raw.get("activeDeployments"))
    maximum = _int_or_none(raw.get("maxDeployments"))
    load = f"{active}/{maximum}" if active is not None and maximum is not None else None
    status = raw.get("status")
    status_text = status if isinstance(status, str) else None
    extras: dict[str, Any] = {
        "country": raw.get("country"),
        "gpu_count": len(gpus),
        "gpus": _json_safe(gpus),
        "specs": _json_safe(raw.get("specs") or {}),
        "uptime_percent": _json_safe(raw.get("uptimePercent")),
        "active_deployments": active,
        "max_deployments": maximum,
        "hourly_rate_cents": _json_safe(raw.get("hourlyRateCents")),
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
            extras[key] = _json_safe(raw[wire])
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
        "template_id": _json_safe(raw.get("templateId")),
        "custom_image": _json_safe(raw.get("customImage")),
        "user_id": _json_safe(raw.get("userId")),
        "env_keys": sorted(str(k) for k in env) if isinstance(env, Mapping) else [],
        "total_cost_cents": _json_safe(raw.get("totalCost")),
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


# -- error mapping ---------------------------------------------------------------------------


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_text(body: Any, fallback: str) -> str:
    """The provider's own words from ``{"error": …}``, ``{"message": …}`` or plain text."""
    if isinstance(body, Mapping):
        parts: list[str] = []
        for key in ("error", "message", "detail"):
            value = body.get(key)
            if isinstance(value, Mapping):
                value = value.get("message") or value.get("error")
            if isinstance(value, str) and value.strip():
                value = value.strip()
                if not any(value in p or p in value for p in parts):
                    parts.append(value)
        if parts:
            return _one_line(": ".join(parts))
        return _one_line(str(body)) if body else fallback
    if isinstance(body, str) and body.strip():
        return _one_line(body)
    return fallback


def _wire_path_to_field(path: str) -> str:
    head, _, rest = path.partition(".")
    head = WIRE_FIELDS.get(head, head)
    return f"{head}.{rest}" if rest else head


def field_errors_from(body: Any) -> dict[str, str]:
    """Field messages from the shapes validation libraries send (zod, express-validator, …)."""
    if not isinstance(body, Mapping):
        return {}
    containers = [body]
    if isinstance(body.get("error"), Mapping):
        containers.append(body["error"])
    for container in containers:
        for key in ("details", "errors", "fields", "issues", "fieldErrors"):
            found = _fields_of(container.get(key))
            if found:
                return found
    return {}


def _fields_of(details: Any) -> dict[str, str]:
    fields: dict[str, str] = {}
    if isinstance(details, Mapping):
        for key, value in details.items():
            if isinstance(value, list):
                message: Any = "; ".join(str(v) for v in value)
            elif isinstance(value, Mapping):
                message = value.get("message") or value.get("msg") or str(value)
            else:
                message = value
            fields[_wire_path_to_field(str(key))] = _one_line(str(message), 200)
    elif isinstance(details, list):
        for item in details:
            if not isinstance(item, Mapping):
                continue
            path = next(
                (item[k] for k in ("path", "field", "param", "loc", "property") if item.get(k)),
                None,
            )
            if path is None:
                continue
            if isinstance(path, list | tuple):
                path = ".".join(str(p) for p in path if p not in ("body",))
            message = item.get("message") or item.get("msg") or item.get("error") or "Invalid."
            fields.setdefault(_wire_path_to_field(str(path)), _one_line(str(message), 200))
    return fields


# -- the client ------------------------------------------------------------------------------


class NeuraNetProvider(BaseProvider):
    """Async client of the NeuraNET REST API (``https://api.neuranet.network/api``)."""

    name: ClassVar[ProviderName] = "neuranet"
    display_name: ClassVar[str] = "NeuraNET"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CREATE,
            Capability.START,
            Capability.STOP,
            Capability.DELETE,
            Capability.LOGS,
            Capability.NODES,
        }
    )

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        node_cache_ttl: float = NODE_CACHE_TTL,
        **kwargs: Any,
    ) -> None:
        """``kwargs`` as for BaseProvider (``base_url`` required, ``transport``, ``retry`` …)."""
        super().__init__(api_key, **kwargs)
        self.node_cache_ttl = node_cache_ttl
        #: node id → (monotonic expiry, the node or None when it could not be read).
        self._nodes: dict[str, tuple[float, Market | None]] = {}
        self._nodes_listed_until = 0.0

    # -- protocol plumbing ---------------------------------------------------------------

    @classmethod
    def auth_headers(cls, api_key: SecretStr) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr(f"Bearer {api_key.get_secret_value()}")}

    def available_actions(self, deployment: Deployment) -> frozenset[Capability]:
        actions = {Capability.DELETE, Capability.LOGS}
        if deployment.status in (DeploymentStatus.STOPPED, DeploymentStatus.FAILED):
            actions.add(Capability.START)
        if deployment.status in (
            DeploymentStatus.RUNNING,
            DeploymentStatus.STARTING,
            DeploymentStatus.PENDING,
        ):
            actions.add(Capability.STOP)
        return frozenset(actions)

    def _scrub(self, text: str) -> str:
        # ProviderHTTP scrubs the whole header value ("Bearer …"); a server may echo the bare key.
        key = self._api_key.get_secret_value()
        return text.replace(key, "[redacted]") if key else text

    def map_error(self, response: httpx.Response) -> ProviderError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        # The whole text is matched; people see one short line (an HTML page: its title).
        if isinstance(body, Mapping):
            full = self._scrub(error_text(body, status_phrase(status)))
        else:
            full = self._scrub(response_text(response, limit=2000))
        text = one_line(full)
        fields = {self._scrub(k): self._scrub(v) for k, v in field_errors_from(body).items()}
        method, path = _request_of(response)
        common: dict[str, Any] = {
            "provider": self.name,
            "status_code": status,
            "provider_text": full,
        }

        if status == 401:
            return AuthenticationError(f"NeuraNET refused the API key: “{text}”.", **common)
        if status == 402 or (status < 500 and _INSUFFICIENT_RE.search(full)):
            return InsufficientFundsError(
                f"NeuraNET: not enough credits: “{text}”. Top up the account.", **common
            )
        if status == 403:
            return AuthenticationError(
                f"NeuraNET denied access: “{text}”; the key may lack permission.", **common
            )
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimitedError(
                f"NeuraNET is rate limiting requests: “{text}”.", retry_after=wait, **common
            )
        if status >= 500:
            if method not in ("GET", "HEAD", "OPTIONS"):
                return OutcomeUnknownError(
                    f"NeuraNET failed while handling {method} {path} (HTTP {status}: “{text}”); "
                    "it may or may not have been carried out.",
                    **common,
                )
            return UnavailableError(
                f"NeuraNET is not answering properly (HTTP {status}: “{text}”).", **common
            )
        if status == 404:
            about_node = "/nodes" in path or re.search(r"\bnode\b", full, re.IGNORECASE)
            what = "node" if about_node else "deployment"
            return NotFoundError(f"NeuraNET has no such {what}: “{text}”.", **common)
        if status in (400, 409, 422) and _NODE_UNAVAILABLE_RE.search(full):
            return ValidationError(
                f"NeuraNET: that node cannot take a deployment now: “{text}”. "
                "Pick another node (`/deploy nodes`).",
                field_errors={"node_id": text, **fields},
                **common,
            )
        if status == 409 or (status in (400, 422) and not fields and _WRONG_STATE_RE.search(full)):
            return WrongStateError(f"NeuraNET refused: “{text}”.", **common)
        if status in (400, 422):
            detail = "; ".join(f"{k}: {v}" for k, v in fields.items())
            suffix = f" ({detail})" if detail and detail not in text else ""
            return ValidationError(
                f"NeuraNET rejected the request: “{text}”{suffix}.", field_errors=fields, **common
            )
        return ProviderError(f"NeuraNET answered HTTP {status}: “{text}”.", **common)

    # -- deployments ---------------------------------------------------------------------

    async def verify(self) -> None:
        """One cheap authenticated call; raises AuthenticationError for a bad key."""
        await self._get_object("/deployments", params={"page": "1", "limit": "1"})

    async def list_page(
        self, *, cursor: str | None = None, limit: int = 50, status: str | None = None
    ) -> Page[Deployment]:
        """One page; ``cursor`` is the page number (as text) from the previous page."""
        page = _page_number(cursor)
        limit = max(1, min(MAX_LIMIT, int(limit)))
        params: dict[str, str] = {"page": str(page), "limit": str(limit)}
        if status:
            params["status"] = str(status)
        body = await self._get_object("/deployments", params=params)
        raw_items = body.get("deployments")
        if not isinstance(raw_items, list):
            raise self._malformed("GET /deployments", "no deployments list")
        items = [i for i in raw_items if isinstance(i, Mapping)]
        await self._ensure_nodes({str(i["nodeId"]) for i in items if i.get("nodeId")})
        deployments = [self._normalize(i) for i in items]

        pagination = body.get("pagination")
        pagination = pagination if isinstance(pagination, Mapping) else {}
        total = _int_or_none(pagination.get("total"))
        total_pages = _int_or_none(pagination.get("totalPages"))
        if total_pages is None and total is not None:
            total_pages = math.ceil(total / limit)
        # Without a pagination block, a full page suggests there may be more.
        has_more = page < total_pages if total_pages is not None else len(raw_items) >= limit
        return Page(items=deployments, next_cursor=str(page + 1) if has_more else None, total=total)

    async def list_raw_page(self, *, cursor: str | None = None, limit: int = 100) -> RawPage:
        """One page of raw deployment objects (see ``normalize_listed``)."""
        page = _page_number(cursor)
        limit = max(1, min(MAX_LIMIT, int(limit)))
        body = await self._get_object(
            "/deployments", params={"page": str(page), "limit": str(limit)}
        )
        raw_items = body.get("deployments")
        if not isinstance(raw_items, list):
            raise self._malformed("GET /deployments", "no deployments list")
        pagination = body.get("pagination")
        pagination = pagination if isinstance(pagination, Mapping) else {}
        total_pages = _int_or_none(pagination.get("totalPages"))
        total = _int_or_none(pagination.get("total"))
        if total_pages is None and total is not None:
            total_pages = math.ceil(total / limit)
        has_more = page < total_pages if total_pages is not None else len(raw_items) >= limit
        return RawPage(items=raw_items, next_cursor=str(page + 1) if has_more else None)

    def watch_fields(self, raw: Any) -> tuple[str, str] | None:
        if type(raw) is not dict or raw.get("id") in (None, ""):  # JSON objects are dicts
            return None
        return str(raw["id"]), fingerprint(
            raw.get("status"), raw.get("name"), raw.get("replicas"), raw.get("nodeId")
        )

    async def normalize_listed(self, items: Sequence[Any]) -> list[Deployment]:
        mappings = [i for i in items if isinstance(i, Mapping)]
        await self._ensure_nodes({str(i["nodeId"]) for i in mappings if i.get("nodeId")})
        return [self._normalize(i) for i in mappings]

    async def list_deployments(self, *, status: str | None = None) -> list[Deployment]:
        """Every deployment, walking pages of 100.

        Page-number pagination shifts when deployments are created or deleted during the
        walk, so a deployment may show up on two pages: the first sighting is kept.
        """
        seen: dict[str, Deployment] = {}
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self.list_page(cursor=cursor, limit=MAX_LIMIT, status=status)
            for deployment in page.items:
                seen.setdefault(deployment.id, deployment)
            if not page.next_cursor or page.next_cursor == cursor:
                return list(seen.values())
            cursor = page.next_cursor
        raise UnavailableError(
            f"NeuraNET kept returning pages after {MAX_PAGES}; stopped listing.", provider=self.name
        )

    async def get(self, deployment_id: str) -> Deployment:
        body = await self._get_object(_deployment_path(deployment_id))
        raw = body.get("deployment")
        if not isinstance(raw, Mapping):
            raise self._malformed("GET /deployments/:id", "no deployment object")
        if raw.get("nodeId"):
            await self._ensure_nodes({str(raw["nodeId"])}, one_by_one=True)
        return self._normalize(raw)

    async def create(self, spec: BaseModel | Mapping[str, Any]) -> CreateResult:
        """Create a deployment (never re-sent: a lost answer raises OutcomeUnknownError)."""
        if not isinstance(spec, NeuraNetCreateSpec):
            spec = NeuraNetCreateSpec.parse(spec)
        spec.check()
        check = f"`/deploy list` for a new NeuraNET deployment named “{spec.name}”"
        response = await self.http.request(
            "POST", "/deployments", json=spec.to_wire(), idempotent=False, check=check
        )
        body = self.http.json(response, check=check)
        if not isinstance(body, Mapping) or not isinstance(body.get("deployment"), Mapping):
            raise self.http.garbled(response, "no deployment object", check=check)
        estimate = cents_to_usd(body.get("estimatedHourlyCost"))
        raw = body["deployment"]
        node = self._cached_node(str(raw.get("nodeId") or spec.node_id))
        deployment = normalize_deployment(raw, node=node, hourly_rate_usd=estimate)
        return CreateResult(
            deployment=deployment,
            estimated_cost_per_hour_usd=estimate,
            extras={"estimated_hourly_cost_cents": _json_safe(body.get("estimatedHourlyCost"))},
        )

    async def start(self, deployment_id: str) -> Deployment:
        """Start a stopped or failed deployment; returns it as it is right after."""
        await self._action(deployment_id, "start")
        return await self.get(deployment_id)

    async def stop(self, deployment_id: str) -> Deployment:
        """Stop a pending, starting or running deployment; returns it as it is right after."""
        await self._action(deployment_id, "stop")
        return await self.get(deployment_id)

    async def delete(self, deployment_id: str) -> None:
        """Delete (NeuraNET stops it first when running). Not re-sent on a lost answer."""
        check = "`/deploy list`"
        response = await self.http.request(
            "DELETE", _deployment_path(deployment_id), idempotent=False, check=check
        )
        body = self.http.json(response, check=check)  # {success, message}
        if not isinstance(body, Mapping) or not isinstance(body.get("success"), bool):
            raise self.http.garbled(response, "no success flag", check=check)
        if body.get("success") is False:
            text = self._scrub(error_text(body, "Deployment not deleted"))
            raise WrongStateError(
                f"NeuraNET did not delete {deployment_id}: “{text}”.",
                provider=self.name,
                status_code=response.status_code,
                provider_text=text,
            )

    async def logs(
        self, deployment_id: str, *, tail: int | None = None, since: datetime | None = None
    ) -> list[LogLine]:
        """The last ``tail`` lines (server default 100), optionally only those from ``since``."""
        params: dict[str, str] = {}
        errors: dict[str, str] = {}
        if tail is not None:
            if isinstance(tail, bool) or not isinstance(tail, int) or tail < 1:
                errors["tail"] = "Ask for at least one line."
            else:
                params["tail"] = str(tail)
        if since is not None:
            if since.tzinfo is None or since.utcoffset() is None:
                errors["since"] = "Give a time with a timezone (e.g. UTC)."
            else:
                params["since"] = _iso_z(since)
        if errors:
            raise _validation("logs not requested", errors)
        body = await self._get_object(_deployment_path(deployment_id) + "/logs", params=params)
        raw = body.get("logs")
        if not isinstance(raw, list):
            raise self._malformed("GET /deployments/:id/logs", "no logs list")
        return [normalize_log_line(item) for item in raw]

    # -- nodes ---------------------------------------------------------------------------

    async def nodes(self, **filters: Any) -> list[Market]:
        """All nodes matching the filters (walks every page).

        Filters: ``status`` (online/offline/maintenance), ``has_gpu``, ``min_gpu_vram_mb``,
        ``min_cpu_cores``, ``min_ram_mb``, ``region``, ``max_hourly_rate_usd`` (Decimal USD)
        or ``max_hourly_rate_cents``; the wire's camelCase names are accepted too.
        """
        query = NeuraNetNodeFilters.parse(filters).to_query()
        markets: list[Market] = []
        seen: set[str] = set()
        page = 1
        for _ in range(MAX_PAGES):
            body = await self._get_object(
                "/nodes", params={**query, "page": str(page), "limit": str(MAX_LIMIT)}
            )
            raw = body.get("nodes")
            if not isinstance(raw, list):
                raise self._malformed("GET /nodes", "no nodes list")
            for item in raw:
                if isinstance(item, Mapping) and item.get("id"):
                    market = node_to_market(item)
                    self._remember(market)
                    if market.id not in seen:
                        seen.add(market.id)
                        markets.append(market)
            pagination = body.get("pagination")
            pagination = pagination if isinstance(pagination, Mapping) else {}
            total_pages = _int_or_none(pagination.get("totalPages"))
            more = page < total_pages if total_pages is not None else len(raw) >= MAX_LIMIT
            if not more or not raw:
                return markets
            page += 1
        raise UnavailableError(
            f"NeuraNET kept returning node pages after {MAX_PAGES}; stopped.", provider=self.name
        )

    async def node(self, node_id: str) -> Market:
        """One node in detail (operator, OS, Docker version, GPU driver …, in ``extras``)."""
        _check_id(node_id, "node_id")
        body = await self._get_object(f"/nodes/{quote(node_id, safe='')}")
        raw = body.get("node")
        if not isinstance(raw, Mapping):
            raise self._malformed("GET /nodes/:id", "no node object")
        market = node_to_market(raw)
        self._remember(market)
        return market

    # -- helpers -------------------------------------------------------------------------

    async def _action(self, deployment_id: str, action: Literal["start", "stop"]) -> None:
        check = f"its status with `/deploy show {deployment_id}`"
        response = await self.http.request(
            "POST", f"{_deployment_path(deployment_id)}/{action}", idempotent=False, check=check
        )
        body = self.http.json(response, check=check)  # {deployment: {id, status}}
        if not isinstance(body, Mapping) or not isinstance(body.get("deployment"), Mapping):
            raise self.http.garbled(response, "no deployment object", check=check)

    async def _get_object(
        self, path: str, *, params: Mapping[str, str] | None = None
    ) -> Mapping[str, Any]:
        body = await self.http.get_json(path, params=params)
        if not isinstance(body, Mapping):
            raise self._malformed(f"GET {path}", "not an object")
        return body

    def _malformed(self, call: str, what: str) -> UnavailableError:
        return UnavailableError(
            f"NeuraNET sent an unexpected answer to {call} ({what}).", provider=self.name
        )

    def _normalize(self, raw: Mapping[str, Any]) -> Deployment:
        node_id = raw.get("nodeId")
        return normalize_deployment(raw, node=self._cached_node(str(node_id)) if node_id else None)

    def _remember(self, market: Market) -> None:
        self._nodes[market.id] = (time.monotonic() + self.node_cache_ttl, market)

    def _cached_node(self, node_id: str) -> Market | None:
        entry = self._nodes.get(node_id)
        return entry[1] if entry is not None else None

    def _fresh(self, node_id: str) -> bool:
        entry = self._nodes.get(node_id)
        return entry is not None and entry[0] > time.monotonic()

    async def _ensure_nodes(self, node_ids: set[str], *, one_by_one: bool = False) -> None:
        """Make the nodes' prices known (best effort: a failure only leaves costs unknown)."""
        missing = {n for n in node_ids if not self._fresh(n)}
        if not missing:
            return
        now = time.monotonic()
        try:
            if one_by_one or len(missing) == 1:
                for node_id in missing:
                    try:
                        await self.node(node_id)
                    except NotFoundError:
                        self._nodes[node_id] = (now + self.node_cache_ttl, None)
            elif self._nodes_listed_until <= now:
                self._nodes_listed_until = now + self.node_cache_ttl
                await self.nodes()
                for node_id in missing:
                    if not self._fresh(node_id):
                        self._nodes[node_id] = (now + self.node_cache_ttl, None)
        except ProviderError as exc:
            log.info("NeuraNET node prices unavailable: %s", exc.message)


def _request_of(response: httpx.Response) -> tuple[str, str]:
    try:
        request = response.request
    except RuntimeError:
        return "GET", ""
    return request.method.upper(), request.url.path


def _page_number(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 1
    text = str(cursor).strip()
    if not text.isdigit() or int(text) < 1:
        raise _validation("page not requested", {"cursor": "Expected a page number from a list."})
    return int(text)


def _check_id(value: str, field: str) -> None:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise _validation(
            "request not sent", {field: "Expected an id such as dep_xyz789 (letters, digits, _ -)."}
        )


def _deployment_path(deployment_id: str) -> str:
    _check_id(deployment_id, "deployment_id")
    return f"/deployments/{quote(deployment_id, safe='')}"


def _validation(what: str, fields: Mapping[str, str]) -> ValidationError:
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return ValidationError(
        f"NeuraNET {what}: {summary}", field_errors=dict(fields), provider="neuranet"
    )


def _iso_z(moment: datetime) -> str:
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


__all__ = [
    "NeuraNetCreateSpec",
    "NeuraNetNodeFilters",
    "NeuraNetProvider",
    "cents_to_usd",
    "field_errors_from",
    "node_to_market",
    "normalize_deployment",
    "normalize_log_line",
    "normalize_status",
    "parse_time",
    "usd_to_cents_floor",
]
