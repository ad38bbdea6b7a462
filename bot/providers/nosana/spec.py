"""What ``create`` sends to Nosana, checked locally before anything is sent."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic import ValidationError as PydanticValidationError

from bot.providers.errors import ValidationError
from bot.providers.nosana.normalize import PUBKEY, Strategy
from bot.providers.nosana_jobdef import cron_problem, field_errors, validate_job_definition


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
        if not PUBKEY.match(value):
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
