"""What the client sends to NeuraNET, checked locally before anything is sent: the create
spec, node filters, ids and page numbers."""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from bot.providers.errors import ValidationError
from bot.providers.neuranet.normalize import usd_to_cents_floor

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


def page_number(cursor: str | None) -> int:
    if cursor is None or cursor == "":
        return 1
    text = str(cursor).strip()
    if not text.isdigit() or int(text) < 1:
        raise validation_error(
            "page not requested", {"cursor": "Expected a page number from a list."}
        )
    return int(text)


def check_id(value: str, field: str) -> None:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise validation_error(
            "request not sent", {field: "Expected an id such as dep_xyz789 (letters, digits, _ -)."}
        )


def deployment_path(deployment_id: str) -> str:
    check_id(deployment_id, "deployment_id")
    return f"/deployments/{quote(deployment_id, safe='')}"


def validation_error(what: str, fields: Mapping[str, str]) -> ValidationError:
    summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
    return ValidationError(
        f"NeuraNET {what}: {summary}", field_errors=dict(fields), provider="neuranet"
    )
