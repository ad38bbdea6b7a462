"""deploybot's Workflow Builder steps (pure): what each step takes, what it gives back.

Each step is a Slack function (``manifest.yml`` → ``functions``); its inputs arrive in a
``function_executed`` event and become a typed :class:`StepRequest`; its outputs (deployment
id, status, cost per hour) are what later steps of the workflow can use.

The person a step runs as is a ``slack#/types/user_context`` input: Slack fills it from the
person who started the workflow and it can't be typed in, so a workflow can't act as someone
else. Their role and the workspace policy decide, as for ``/deploy``.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.providers.models import PROVIDER_NAMES, Deployment, ProviderName

START = "start_deployment"
STOP = "stop_deployment"
SCALE = "scale_deployment"
CREATE = "create_from_template"
CALLBACKS = (START, STOP, SCALE, CREATE)
_KINDS = {START: OpKind.START, STOP: OpKind.STOP, SCALE: OpKind.SCALE}

#: Output names, as declared in the manifest.
DEPLOYMENT_ID = "deployment_id"
STATUS = "status"
COST_PER_HOUR = "cost_per_hour"

MAX_REPLICAS = 100


class StepInputError(ValueError):
    """The step's inputs can't make an operation (the workflow is told why)."""


@dataclass(frozen=True)
class StepRequest:
    """One run of a step: who, where, and what."""

    callback_id: str
    user_id: str
    channel_id: str | None
    #: Start, stop or scale.
    op: Operation | None = None
    #: Create from template.
    template: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)


def _text(inputs: Mapping[str, Any], name: str) -> str:
    value = inputs.get(name)
    return value.strip() if isinstance(value, str) else ""


def _user(inputs: Mapping[str, Any]) -> str:
    context = inputs.get("run_as")
    user = context.get("id") if isinstance(context, Mapping) else None
    if not isinstance(user, str) or not user:
        raise StepInputError(
            "This step needs “Run as” set to the person who runs the workflow "
            "(deploybot checks their role and the workspace's policy)."
        )
    return user


def _provider(inputs: Mapping[str, Any]) -> ProviderName | None:
    name = _text(inputs, "provider").lower()
    if not name:
        return None
    found = next((p for p in PROVIDER_NAMES if p == name), None)
    if found is None:
        raise StepInputError(f"Unknown provider {name!r}: use nosana, akash or neuranet.")
    return found


def _replicas(inputs: Mapping[str, Any]) -> int:
    value = inputs.get("replicas")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_REPLICAS:
        raise StepInputError(f"Replicas must be a whole number from 0 to {MAX_REPLICAS}.")
    return value


def parse_overrides(text: str) -> dict[str, str]:
    """``field=value`` words (quotes allowed), as ``/deploy create --template`` takes them."""
    try:
        words = shlex.split(text)
    except ValueError as exc:
        raise StepInputError(f"Overrides: {exc}.") from None
    found: dict[str, str] = {}
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise StepInputError(f"Overrides are field=value words; {word!r} is not one.")
        found[key.strip().lower()] = value
    return found


def read_inputs(callback_id: str, inputs: Mapping[str, Any]) -> StepRequest:
    """The typed request of one step run; raises :class:`StepInputError` when it isn't one."""
    user = _user(inputs)
    channel = _text(inputs, "channel") or None
    if callback_id == CREATE:
        template = _text(inputs, "template")
        if not template:
            raise StepInputError("Name the template to create from.")
        overrides = parse_overrides(_text(inputs, "overrides"))
        return StepRequest(callback_id, user, channel, template=template, overrides=overrides)
    kind = _KINDS.get(callback_id)
    if kind is None:
        raise StepInputError(f"deploybot has no step {callback_id!r}.")
    target = _text(inputs, "deployment")
    if not target:
        raise StepInputError("Name the deployment (its id, a unique start of it, or its name).")
    args = args_for(kind, replicas=_replicas(inputs)) if kind is OpKind.SCALE else args_for(kind)
    op = Operation(
        args=args,
        provider=_provider(inputs),
        target=target[:200],
        reason=_text(inputs, "reason")[:500] or "from a workflow",
    )
    return StepRequest(callback_id, user, channel, op=op)


def outputs(
    deployment_id: str, status: str, cost_per_hour: Decimal | float | str | None
) -> dict[str, Any]:
    """The step's outputs (cost per hour in USD; 0 when unknown or stopped)."""
    try:
        cost = float(Decimal(str(cost_per_hour))) if cost_per_hour is not None else 0.0
    except ArithmeticError:
        cost = 0.0
    return {DEPLOYMENT_ID: deployment_id, STATUS: status, COST_PER_HOUR: round(cost, 6)}


def deployment_outputs(deployment: Deployment) -> dict[str, Any]:
    return outputs(deployment.id, deployment.status.value, deployment.cost_per_hour_usd)


def failure_text(text: str) -> str:
    """A failure reason as the workflow shows it: plain, one paragraph, bounded."""
    plain = text.replace("*", "").replace("`", "").replace("&lt;", "<").replace("&gt;", ">")
    return " ".join(plain.replace("&amp;", "&").split())[:1000] or "It failed."
