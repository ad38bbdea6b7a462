"""Workflow Builder steps (Slack functions): *Start*, *Stop*, *Scale deployment* and *Create
from template*.

The ``function_executed`` listener checks the inputs, writes the run as a job and acks; the
job runs the step through the pipeline (:class:`bot.services.workflow_steps.WorkflowSteps`)
and completes the function: ``functions.completeSuccess`` with the outputs, or
``functions.completeError`` with the reason. A step that needs approval waits: its request's
end (approved and run, denied, expired …) completes it — reported by the approval lifecycle
at once, and checked again by a job of its own after the request's expiry in case that report
was lost. Each completion is a job with the execution's id as its key: exactly once.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.context.fail.async_fail import AsyncFail
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core import workflow_steps as core
from bot.db.jobs import ClaimedJob
from bot.db.models import ApprovalRequest
from bot.providers.errors import ProviderError
from bot.services.deployments import Actor
from bot.services.errors import ServiceError
from bot.services.workflow_steps import Completed, Failed, StepResult, Waiting, WorkflowSteps
from handlers.jobs import ENDINGS, NotTaken, defer

if TYPE_CHECKING:
    from bot.app import DeployBot

log = logging.getLogger("deploybot.handlers")

RUN = "workflow_step"
WAIT = "workflow_step_wait"
DONE = "workflow_step_done"
#: A waiting step checks its request itself this long after the request's expiry.
WAIT_GRACE = timedelta(minutes=10)


def _clean_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """The inputs a job keeps: the person's id without their user context's secret."""
    kept = {k: v for k, v in inputs.items() if k != "run_as"}
    run_as = inputs.get("run_as")
    if isinstance(run_as, dict) and isinstance(run_as.get("id"), str):
        kept["run_as"] = {"id": run_as["id"]}
    return kept


def register(bot: DeployBot) -> None:
    steps = WorkflowSteps(bot.gate)

    async def executed(
        ack: AsyncAck, event: dict[str, Any], context: AsyncBoltContext, fail: AsyncFail
    ) -> None:
        callback_id = str((event.get("function") or {}).get("callback_id") or "")
        execution_id = str(context.function_execution_id or "")
        inputs = event.get("inputs") if isinstance(event.get("inputs"), dict) else {}
        try:
            request = core.read_inputs(callback_id, inputs or {})
        except core.StepInputError as exc:
            await fail(str(exc))
            await ack()
            return
        token = context.function_bot_access_token
        actor = Actor(
            team_id=context.team_id or "",
            user_id=request.user_id,
            enterprise_id=context.enterprise_id or None,
            channel_id=request.channel_id,
        )
        data = {
            "execution_id": execution_id,
            "callback_id": callback_id,
            "inputs": _clean_inputs(inputs or {}),
            # the function's own token, valid until it completes: kept encrypted
            "token": bot.storage.keyring.encrypt(SecretStr(token)) if token else None,
        }
        try:  # a redelivered event is the same job
            await defer(bot, RUN, key=f"function:{execution_id}", actor=actor, data=data)
        except NotTaken as exc:
            await fail(exc.message)
        await ack()

    for callback in core.CALLBACKS:
        bot.app.function(callback, auto_acknowledge=False)(executed)

    @bot.app.event("function_executed")
    async def unknown_step(ack: AsyncAck, event: dict[str, Any], fail: AsyncFail) -> None:
        """A step deploybot doesn't have (an older manifest): say so instead of timing out."""
        callback_id = str((event.get("function") or {}).get("callback_id") or "")
        if event.get("function_execution_id"):
            await fail(f"deploybot has no workflow step {callback_id!r}; update the app.")
        await ack()

    _register_jobs(bot, steps)
    ENDINGS[RUN] = _ended_unsure  # (told which app the job is of: any replica in a process)

    async def request_ended(row: ApprovalRequest) -> None:
        assert bot.jobs is not None
        waiting = await bot.jobs.store.by_key(f"{WAIT}:{row.id}")
        if waiting is not None:
            await _finish_later(bot, _payload(waiting))

    bot.gate.lifecycle.on_final.append(request_ended)


async def _ended_unsure(bot: DeployBot, job: ClaimedJob, text: str, happened: bool) -> None:
    """A run taken over from a dead worker (its provider call reconciled) or given up: the
    step completes too — with the deployment as it is now when the call surely happened."""
    data = job.payload.get("data") or {}
    actor = Actor.from_json(job.payload.get("actor"))
    result: StepResult = Failed(core.failure_text(text))
    if happened:
        try:
            request = core.read_inputs(str(data.get("callback_id")), data.get("inputs") or {})
            result = await WorkflowSteps(bot.gate).current(actor, request)
        except (core.StepInputError, ServiceError, ProviderError) as exc:
            log.info("workflow step: reading the outputs after a takeover failed: %s", exc)
    await _complete(bot, actor, data, result)


def _payload(job_row: dict[str, Any]) -> dict[str, Any]:
    payload = job_row.get("payload")
    loaded = json.loads(payload) if isinstance(payload, str) else payload
    return loaded if isinstance(loaded, dict) else {}


async def _finish_later(bot: DeployBot, payload: dict[str, Any]) -> None:
    """Write the completion of a waiting step (one per execution, whoever writes it)."""
    data = payload.get("data") or {}
    await bot.defer(
        DONE,
        key=f"{DONE}:{data.get('execution_id')}",
        actor=Actor.from_json(payload.get("actor")),
        data=data,
    )


def _register_jobs(bot: DeployBot, steps: WorkflowSteps) -> None:
    @bot.job(RUN)
    async def run_step(job: ClaimedJob) -> None:
        data = job.payload.get("data") or {}
        actor = Actor.from_json(job.payload.get("actor"))
        client = await bot.slack.client_for(actor.team_id, actor.enterprise_id)
        if client is None:
            log.info("workflow step %s: deploybot was uninstalled", data.get("execution_id"))
            return
        try:
            request = core.read_inputs(str(data.get("callback_id")), data.get("inputs") or {})
        except core.StepInputError as exc:
            await _complete(bot, actor, data, Failed(str(exc)))
            return
        result = await steps.run(
            request, actor, bot.slack.io(client, actor.team_id), key=str(data["execution_id"])
        )
        if isinstance(result, Waiting):
            await _wait(bot, steps, job, result.request_id)
            return
        await _complete(bot, actor, data, result)

    @bot.job(WAIT)
    async def check_waiting(job: ClaimedJob) -> None:
        """The request's expiry has long passed: finish the step whatever its state."""
        await _finish_later(bot, job.payload)

    @bot.job(DONE)
    async def finish_step(job: ClaimedJob) -> None:
        data = job.payload.get("data") or {}
        result = await steps.settled(str(data.get("request_id") or ""))
        if isinstance(result, Waiting):
            result = Failed("The approval request is still open after it should have expired.")
        await _complete(bot, Actor.from_json(job.payload.get("actor")), data, result)


async def _wait(bot: DeployBot, steps: WorkflowSteps, job: ClaimedJob, request_id: str) -> None:
    """Filed for approval: wait for the request's end (and check once after its expiry)."""
    row = await bot.gate.approvals.get(request_id)
    expires = row.expires_at.timestamp() if row is not None and row.expires_at else time.time()
    data = {**(job.payload.get("data") or {}), "request_id": request_id}
    await bot.defer(
        WAIT,
        key=f"{WAIT}:{request_id}",
        actor=Actor.from_json(job.payload.get("actor")),
        data=data,
        run_after=expires + WAIT_GRACE.total_seconds(),
    )
    # decided in the meantime (before the wait was written): finish now
    if not isinstance(await steps.settled(request_id), Waiting):
        await _finish_later(bot, {"actor": job.payload.get("actor"), "data": data})


async def _complete(bot: DeployBot, actor: Actor, data: dict[str, Any], result: StepResult) -> None:
    """``functions.completeSuccess`` / ``completeError`` with the function's token (the
    workspace's bot token if that one is refused)."""
    execution_id = str(data.get("execution_id") or "")
    clients: list[AsyncWebClient] = []
    sealed = data.get("token")
    if isinstance(sealed, str) and sealed:
        token = bot.storage.keyring.decrypt(sealed).get_secret_value()
        clients.append(AsyncWebClient(token=token, base_url=bot.slack.app_client.base_url))
    workspace = await bot.slack.client_for(actor.team_id, actor.enterprise_id)
    if workspace is not None:
        clients.append(workspace)
    for client in clients:
        try:
            if isinstance(result, Completed):
                await client.functions_completeSuccess(
                    function_execution_id=execution_id, outputs=result.outputs
                )
            else:
                error = result.error if isinstance(result, Failed) else "It did not finish."
                await client.functions_completeError(
                    function_execution_id=execution_id, error=error
                )
            return
        except SlackApiError as exc:
            log.info(
                "workflow step %s: completing failed (%s)",
                execution_id,
                exc.response.get("error"),
            )
    log.warning("workflow step %s: could not complete it", execution_id)
