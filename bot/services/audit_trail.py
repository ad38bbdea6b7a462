"""Audit rows from what happened: one writer every part of the pipeline uses.

Losing an audit row after the operation happened must be loud (an ERROR log), never fatal.
Definitions (job JSON, SDL) are kept as a length only; secrets never reach a row.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

from bot.core.arguments import Revise
from bot.core.operations import Chain, Operation
from bot.core.policy import NeedsApproval
from bot.db.audit import AuditLog, AuditRecord
from bot.services.deployments import Actor

log = logging.getLogger("deploybot.audit")


def plain(text: str | None) -> str:
    """One line of at most 2,000 characters (audit details, request results)."""
    return (text or "").replace("\n", " ")[:2000]


def op_params(op: Operation) -> dict[str, Any]:
    """An operation's parameters for an audit row: no target/provider (own columns), a
    definition as its size only."""
    params = op.params()
    params.pop("provider", None)
    params.pop("target", None)
    if "definition" in params:  # a whole job definition / SDL: keep its size, not its text
        definition = op.args.definition if isinstance(op.args, Revise) else None
        params["definition"] = f"{len(definition or '')} characters"
    return params


def step_params(op: Operation) -> dict[str, Any]:
    return {"op": op.kind.value, **op_params(op)}


class AuditTrail:
    def __init__(self, log_: AuditLog) -> None:
        self.log = log_

    async def record(
        self,
        actor: Actor,
        action: str,
        decision: str,
        result: str,
        *,
        provider: str | None = None,
        target: str | None = None,
        params: dict[str, Any] | None = None,
        approvers: Sequence[str] = (),
        detail: str | None = None,
        provider_ref: str | None = None,
        request_id: str | None = None,
    ) -> None:
        try:
            await self.log.append(
                AuditRecord(
                    team_id=actor.team_id,
                    enterprise_id=actor.enterprise_id,
                    user_id=actor.user_id,
                    channel_id=actor.channel_id,
                    action=action,
                    decision=decision,
                    result=result,
                    provider=provider,
                    target=target,
                    params=params or {},
                    approvers=list(approvers),
                    detail=plain(detail) if detail else None,
                    provider_ref=provider_ref,
                    request_id=request_id,
                )
            )
        except Exception:
            # The operation already happened: losing its audit row must be loud, not fatal.
            log.exception("could not write the audit row for %s", action)

    async def operation(
        self, actor: Actor, op: Operation, decision: str, result: str, **fields: Any
    ) -> None:
        params = op_params(op)
        if op.reason:
            params["reason"] = op.reason
        await self.record(
            actor,
            op.kind.value,
            decision,
            result,
            provider=op.provider,
            target=op.target,
            params=params,
            **fields,
        )

    async def chain(
        self, actor: Actor, chain: Chain, decision: str, result: str, **fields: Any
    ) -> None:
        params: dict[str, Any] = {"steps": [step_params(s) for s in chain.steps]}
        if chain.reason:
            params["reason"] = chain.reason
        await self.record(
            actor,
            "chain",
            decision,
            result,
            provider=chain.provider,
            target=chain.target,
            params=params,
            **fields,
        )

    async def request(
        self, actor: Actor, op: Operation | Chain, decision: NeedsApproval, request_id: str
    ) -> None:
        rule = json.dumps(decision.rule.model_dump(mode="json"))
        if isinstance(op, Chain):
            await self.chain(actor, op, "approval", "pending", detail=rule, request_id=request_id)
        else:
            await self.operation(
                actor, op, "approval", "pending", detail=rule, request_id=request_id
            )

    async def refused(
        self, actor: Actor, op: Operation | Chain, reason: str, *, decision: str = "preflight"
    ) -> None:
        """An operation refused before anyone was asked (preflight) or by the policy."""
        if isinstance(op, Chain):
            await self.chain(actor, op, decision, "refused", detail=reason)
        else:
            await self.operation(actor, op, decision, "refused", detail=reason)
