"""Typed operations: what every entry point (command, button, modal, shell) turns input into.

The facts about each kind (risk, capability, chains, verbs) are declared in
:mod:`bot.core.registry`."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.core.governance import Command
from bot.core.registry import Area, OpKind, in_area
from bot.providers.models import ProviderName

#: Watching deployments: handled by the watch service, not the deployment service.
WATCH_KINDS = in_area(Area.WATCH)


class Operation(BaseModel):
    """One thing to do. ``target`` names a deployment (id, unique id prefix or exact name)."""

    model_config = ConfigDict(frozen=True)

    kind: OpKind
    provider: ProviderName | None = None
    target: str | None = None
    replicas: int | None = None
    minutes: int | None = None
    cron: str | None = None
    revision: int | None = None
    name: str | None = None
    tail: int | None = None
    since: datetime | None = None
    status: str | None = None
    topic: str | None = None
    filters: dict[str, str] = Field(default_factory=dict)
    #: A new revision's definition as submitted (Nosana job-definition JSON, Akash SDL YAML).
    definition: str | None = None
    #: US dollars to add to a deployment's escrow (deposit).
    amount_usd: Decimal | None = None
    #: Why (``--reason …``): shown to approvers and kept in the audit log.
    reason: str | None = None
    #: A role, policy or audit command (``kind`` ROLE/ROLES/POLICY/AUDIT).
    command: Command | None = None
    # -- create / template --
    #: ``create --template <name>``, or the template a ``template`` subcommand names.
    template: str | None = None
    #: ``field=value`` words of ``create`` (they fill or override the form).
    overrides: dict[str, str] = Field(default_factory=dict)
    #: ``template save|list|delete``.
    sub: str | None = None

    @property
    def template_op(self) -> bool:
        """``template save|list|delete`` (answered in place, no form)."""
        return self.kind is OpKind.TEMPLATE

    def describe(self) -> str:
        """A short plain-text description (``scale abc123 to 3``)."""
        target = self.target or ""
        match self.kind:
            case OpKind.SCALE:
                return f"scale {target} to {self.replicas}"
            case OpKind.TIMEOUT:
                return f"set the timeout of {target} to {self.minutes} min"
            case OpKind.SCHEDULE:
                return f"set the schedule of {target} to {self.cron}"
            case OpKind.ROLLBACK:
                return f"roll {target} back to revision {self.revision}"
            case OpKind.RENAME:
                return f"rename {target} to {self.name}"
            case OpKind.REVISE:
                return f"publish a new revision of {target}"
            case OpKind.DEPOSIT:
                return f"add ${self.amount_usd} to the escrow of {target}"
            case OpKind.CREATE:
                where = f" on {self.provider}" if self.provider else ""
                return (
                    "create a deployment"
                    + where
                    + (f" from template {self.template}" if self.template else "")
                )
            case OpKind.TEMPLATE:
                return " ".join(p for p in ("template", self.sub, self.template, target) if p)
            case _:
                return " ".join(p for p in (self.kind.value, target) if p)

    def params(self) -> dict[str, Any]:
        """The operation's parameters (for audit rows and approvals), without empty values."""
        return self.model_dump(
            mode="json", exclude_defaults=True, exclude={"kind", "reason", "command"}
        )

    def retarget(self, provider: ProviderName, deployment_id: str) -> Operation:
        """The same operation on a resolved deployment (a full id and a known provider)."""
        return self.model_copy(update={"provider": provider, "target": deployment_id})


class Chain(BaseModel):
    """Several operations on one deployment, run in order (``/deploy abc start, scale 3``)."""

    model_config = ConfigDict(frozen=True)

    target: str
    provider: ProviderName | None = None
    steps: tuple[Operation, ...]
    reason: str | None = None

    def retarget(self, provider: ProviderName, deployment_id: str) -> Chain:
        return Chain(
            target=deployment_id,
            provider=provider,
            steps=tuple(step.retarget(provider, deployment_id) for step in self.steps),
            reason=self.reason,
        )

    def describe(self) -> str:
        return ", then ".join(step.describe() for step in self.steps)


class Usage(BaseModel):
    """Input that could not be parsed: what was wrong, and the help to show."""

    model_config = ConfigDict(frozen=True)

    problem: str | None = None
    topic: str | None = None


__all__ = ["WATCH_KINDS", "Chain", "OpKind", "Operation", "Usage"]
