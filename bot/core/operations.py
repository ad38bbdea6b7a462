"""Typed operations: what every entry point (command, button, modal, shell) turns input into.

The facts about each kind (risk, capability, chains, verbs) are declared in
:mod:`bot.core.registry`."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, model_validator

from bot.core import fmt
from bot.core.arguments import (
    ARG_FIELDS,
    Args,
    Create,
    Deposit,
    Rename,
    Revise,
    Rollback,
    Scale,
    Schedule,
    Template,
    Timeout,
)
from bot.core.registry import Area, OpKind, in_area
from bot.providers.models import ProviderName

#: Watching deployments: handled by the watch service, not the deployment service.
WATCH_KINDS = in_area(Area.WATCH)


A = TypeVar("A", bound=BaseModel)


class Operation(BaseModel):
    """One thing to do. ``target`` names a deployment (id, unique id prefix or exact name);
    ``args`` are the kind's own typed arguments (bot/core/arguments.py)."""

    model_config = ConfigDict(frozen=True)

    args: Args
    provider: ProviderName | None = None
    target: str | None = None
    #: Why (``--reason …``): shown to approvers and kept in the audit log.
    reason: str | None = None
    #: ``--over-budget``: an admin runs a spend past a budget cap; it always needs approval.
    over_budget: bool = False

    @model_validator(mode="before")
    @classmethod
    def _flat(cls, data: Any) -> Any:
        """Accept the flat form — ``kind`` and its arguments side by side — which approval
        requests stored before arguments were typed still hold."""
        if not isinstance(data, dict) or "args" in data or "kind" not in data:
            return data
        data = dict(data)
        args: dict[str, Any] = {"kind": data.pop("kind")}
        for name in ARG_FIELDS & data.keys():
            value = data.pop(name)
            if value is not None and value != {}:
                args[name] = value
        return {**data, "args": args}

    @property
    def kind(self) -> OpKind:
        return self.args.kind

    def typed(self, model: type[A]) -> A:
        """The arguments as ``model`` (for code that already knows the kind)."""
        if not isinstance(self.args, model):
            raise TypeError(
                f"{self.kind.value} takes {type(self.args).__name__}, not {model.__name__}"
            )
        return self.args

    @property
    def template_op(self) -> bool:
        """``template save|list|delete`` (answered in place, no form)."""
        return self.kind is OpKind.TEMPLATE

    def describe(self) -> str:
        """A short plain-text description (``scale abc123 to 3``)."""
        target = self.target or ""
        match self.args:
            case Scale(replicas=replicas):
                return f"scale {target} to {replicas}"
            case Timeout(minutes=minutes):
                return f"set the timeout of {target} to {fmt.minutes(minutes)}"
            case Schedule(cron=cron):
                return f"set the schedule of {target} to {cron}"
            case Rollback(revision=revision):
                return f"roll {target} back to revision {revision}"
            case Rename(name=name):
                return f"rename {target} to {name}"
            case Revise():
                return f"publish a new revision of {target}"
            case Deposit(amount_usd=amount):
                return f"add {fmt.usd(amount)} to the escrow of {target}"
            case Create(template=template):
                where = f" on {self.provider}" if self.provider else ""
                return (
                    "create a deployment"
                    + where
                    + (f" from template {template}" if template else "")
                )
            case Template(sub=sub, template=template):
                return " ".join(p for p in ("template", sub, template, target) if p)
            case _:
                return " ".join(p for p in (self.kind.value, target) if p)

    def params(self) -> dict[str, Any]:
        """The operation's parameters (for audit rows and approvals), without empty values."""
        values = self.args.model_dump(mode="json", exclude_defaults=True, exclude={"command"})
        values.pop("kind", None)
        where = self.model_dump(mode="json", exclude_defaults=True, include={"provider", "target"})
        return {**where, **values}

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
    #: ``--over-budget`` (see :class:`Operation`).
    over_budget: bool = False

    def retarget(self, provider: ProviderName, deployment_id: str) -> Chain:
        return Chain(
            target=deployment_id,
            provider=provider,
            steps=tuple(step.retarget(provider, deployment_id) for step in self.steps),
            reason=self.reason,
            over_budget=self.over_budget,
        )

    def describe(self) -> str:
        return ", then ".join(step.describe() for step in self.steps)

    def named(self, name: str) -> Chain:
        """The same chain, its steps naming the deployment ``name`` (for people to read)."""
        return self.model_copy(
            update={
                "target": name,
                "steps": tuple(s.model_copy(update={"target": name}) for s in self.steps),
            }
        )


class Usage(BaseModel):
    """Input that could not be parsed: what was wrong, and the help to show."""

    model_config = ConfigDict(frozen=True)

    problem: str | None = None
    topic: str | None = None


__all__ = ["WATCH_KINDS", "Chain", "OpKind", "Operation", "Usage"]
