"""Workflow Builder steps on the pipeline: a step's run is an operation like any other
(resolve → preflight → policy → run | file approval | refuse), and its outcome becomes the
step's completion — outputs, a reason to fail, or "waiting for approval" (the step then
completes when the request ends: :meth:`WorkflowSteps.settled`)."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from bot.core import workflow_steps as steps
from bot.core.approvals import state_words
from bot.core.create import apply_overrides
from bot.core.operations import Operation
from bot.core.results import Changed
from bot.db import approvals as states
from bot.db.models import ApprovalRequest
from bot.providers.errors import ProviderError
from bot.services.approvals import requester_of
from bot.services.audit_trail import plain
from bot.services.deployments import Actor
from bot.services.errors import ServiceError
from bot.services.outcomes import Done, Outcome, Pending, Refused
from bot.services.pipeline import Pipeline
from bot.services.slack_io import SlackIO

log = logging.getLogger("deploybot.workflow")


@dataclass(frozen=True)
class Completed:
    outputs: dict[str, Any]


@dataclass(frozen=True)
class Failed:
    error: str


@dataclass(frozen=True)
class Waiting:
    """Filed for approval: the step completes when request ``request_id`` ends."""

    request_id: str


StepResult = Completed | Failed | Waiting


class WorkflowSteps:
    def __init__(self, gate: Pipeline) -> None:
        self.gate = gate

    async def run(
        self, request: steps.StepRequest, actor: Actor, slack: SlackIO, *, key: str
    ) -> StepResult:
        """One run of a step, through the pipeline (``key``: the run's own, so a retried run
        drafts one create). Never raises for what the person or the provider got wrong: that
        is a :class:`Failed` with the reason."""
        try:
            if request.op is not None:
                return await self._operation(actor, request.op, slack)
            return await self._create(actor, request, slack, key)
        except (ServiceError, ProviderError) as exc:
            return Failed(steps.failure_text(exc.message))

    async def _operation(self, actor: Actor, op: Operation, slack: SlackIO) -> StepResult:
        outcome = await self.gate.run(actor, op, slack)
        if isinstance(outcome, Done) and isinstance(outcome.result, Changed):
            changed = outcome.result
            after = changed.after
            if after is None:  # gone (closed, deleted)
                return Completed(steps.outputs(changed.before.id, "gone", 0))
            return Completed(steps.deployment_outputs(after))
        return _waiting_or_failed(outcome)

    async def _create(
        self, actor: Actor, request: steps.StepRequest, slack: SlackIO, key: str
    ) -> StepResult:
        creator = self.gate.creator
        if creator is None:
            return Failed("Creating deployments is not available here.")
        template = await creator.template(actor, request.template or "")
        provider = template.provider
        form, problems = apply_overrides(provider, template.form, request.overrides)
        if not problems:
            review = await creator.review(
                actor,
                provider,  # type: ignore[arg-type]
                form,
                submission_key=f"workflow:{key}"[:200],
            )
            problems = review.errors
        if problems or review.request is None:
            listed = "; ".join(f"{k}: {v}" for k, v in list(problems.items())[:5])
            return Failed(steps.failure_text(f"Template {request.template}: {listed}"))
        outcome = await self.gate.create(actor, review.request.id, slack)
        if isinstance(outcome, Done):
            return await self._created(review.request.id)
        return _waiting_or_failed(outcome)

    async def _created(self, create_request_id: str) -> StepResult:
        creator = self.gate.creator
        assert creator is not None
        row = await creator.store.get(create_request_id)
        if row is None:
            return Failed("The deployment request is gone.")
        if row.state == "failed" or not row.deployment_id:
            return Failed(steps.failure_text(row.error or "The provider refused the create."))
        cost = (row.estimate or {}).get("per_hour")
        dumped = (row.result or {}).get("deployment")
        status = str(dumped.get("status")) if isinstance(dumped, dict) else row.state
        return Completed(steps.outputs(row.deployment_id, status, cost))

    async def current(self, actor: Actor, request: steps.StepRequest) -> StepResult:
        """The outputs of a step whose change surely happened (read from the provider)."""
        op = request.op
        if op is None or op.kind.capability is None:
            return Failed("It may have happened; check /deploy list.")
        resolved = await self.gate.service.resolve(
            actor, op.target or "", op.provider, op.kind.capability
        )
        return Completed(steps.deployment_outputs(resolved.deployment))

    async def settled(self, request_id: str) -> StepResult:
        """How a step waiting on approval request ``request_id`` ends (Waiting: not yet)."""
        row = await self.gate.approvals.get(request_id)
        if row is None:
            return Failed("The approval request is gone.")
        if row.state not in states.FINAL:
            return Waiting(row.id)
        if row.state != states.DONE:
            note = row.decision_note or row.result or ""
            words = f"The approval request was {state_words(row.state)}"
            return Failed(steps.failure_text(f"{words}: {note}" if note else words + "."))
        try:
            return await self._done(row)
        except (ServiceError, ProviderError) as exc:
            # it ran; only the read for the outputs failed
            log.info("workflow step: reading the outputs failed: %s", exc.message)
            return Completed(steps.outputs(row.deployment_id or "", "done", None))

    async def _done(self, row: ApprovalRequest) -> StepResult:
        if row.kind == "create":
            params = json.loads(row.operation or "{}")
            return await self._created(str(params.get("request") or ""))
        if row.kind != "operation":
            return Completed(steps.outputs(row.deployment_id or "", "done", None))
        op = Operation.model_validate_json(row.operation)
        assert op.kind.capability is not None
        resolved = await self.gate.service.resolve(
            requester_of(row), op.target or "", op.provider, op.kind.capability
        )
        return Completed(steps.deployment_outputs(resolved.deployment))


def _waiting_or_failed(outcome: Outcome) -> StepResult:
    if isinstance(outcome, Pending):
        if outcome.duplicate:
            return Failed(
                "The same request already waits for approval (/deploy approvals); "
                "this run does not wait for it."
            )
        return Waiting(outcome.request_id)
    if isinstance(outcome, Refused):
        return Failed(steps.failure_text(outcome.reason))
    return Failed(steps.failure_text(plain(outcome.reply.text)))
