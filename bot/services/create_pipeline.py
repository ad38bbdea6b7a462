"""Creates, bid leases and closes of new deployments on the pipeline: preflight, the policy,
then run, file for approval, or refuse — with their audit rows. The create service does the
provider work; this decides."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

from bot.core import budget
from bot.core.policy import ApprovalRule, Deny, NeedsApproval, Risk, Step
from bot.core.preflight import Cleared
from bot.core.preflight import Refused as NotPossible
from bot.core.render import PROVIDER_LABEL, escape
from bot.core.replies import Reply
from bot.db.models import ApprovalRequest
from bot.providers.errors import ProviderError
from bot.services.approvals import ApprovalLifecycle, NewFiling
from bot.services.audit_trail import AuditTrail
from bot.services.budget import BudgetService
from bot.services.create import CreateService
from bot.services.deployments import Actor
from bot.services.errors import NotPermittedError, ServiceError
from bot.services.outcomes import Done, Outcome, pending, refused
from bot.services.people import People
from bot.services.slack_io import SlackIO

#: Approval requests that run through the create service rather than an Operation.
SPEND_KINDS = frozenset({"create", "accept", "create_close"})
#: A create form's state while its approval request is open.
AWAITING = "approval"
CREATE_HINT = (
    "An admin can still create it with `/deploy create <provider> --over-budget`; it then "
    "needs approval."
)
ACCEPT_HINT = (
    "An admin can raise the cap (`/deploy budget set …`), or create the deployment again with "
    "`/deploy create akash --over-budget` (its create and lease then need approval)."
)


class CreatePipeline:
    def __init__(
        self,
        creator: CreateService | None,
        lifecycle: ApprovalLifecycle,
        people: People,
        trail: AuditTrail,
        *,
        budgets: BudgetService | None = None,
    ) -> None:
        self.creator = creator
        #: Budget caps a create or a bid accept must stay within.
        self.budgets = budgets
        self.lifecycle = lifecycle
        self.people = people
        self.trail = trail

    async def create(self, actor: Actor, request_id: str, slack: SlackIO) -> Outcome:
        """A confirmed create form: a spend. Filed for approval at most once per form."""
        creator = self._creator()
        checked = await creator.preflight(actor, request_id)
        if isinstance(checked, NotPossible):  # it cannot succeed: nobody is asked
            await self.trail.record(
                actor,
                "create",
                "preflight",
                "refused",
                detail=checked.reason,
                params={"request": request_id},
            )
            return refused(checked.reason)
        over, flagged = await self._over_budget(actor, request_id, checked, "create")
        if over is not None and not flagged:
            reason = f"{over} {CREATE_HINT}"
            await self.trail.record(
                actor, "create", "budget", "refused", detail=reason, params={"request": request_id}
            )
            return refused(reason)

        async def claim() -> bool:  # one approval request per form, whatever Slack retries
            return bool(await creator.store.transition(request_id, ["draft"], AWAITING))

        return await self._gate_request(
            actor,
            slack,
            request_id=request_id,
            kind="create",
            step=Step("create", Risk.SPEND),
            params={"request": request_id},
            summary=lambda row: creator.describe(request_id),
            claim=claim,
            run=lambda: self._spend_create(actor, request_id, "allow", ()),
            over_budget=over,
        )

    async def _gate_request(
        self,
        actor: Actor,
        slack: SlackIO,
        *,
        request_id: str,
        kind: str,
        step: Step,
        params: dict[str, str],
        summary: Callable[[Any], Awaitable[str]],
        run: Callable[[], Awaitable[Reply]],
        claim: Callable[[], Awaitable[bool]] | None = None,
        over_budget: str | None = None,
    ) -> Outcome:
        """Decide on an operation on a create request (create, accept a bid, close), then run
        it, file it for approval, or refuse — with its audit row. ``over_budget``: the request
        was made with ``--over-budget`` and passes a cap: admins only, and always approved."""
        row = await self._creator().store.get(request_id)
        if row is None or row.team_id != actor.team_id:
            raise ServiceError(
                "That deployment request no longer exists; start again with `/deploy create`."
            )
        decision = await self.people.decide(actor, slack, row.provider, (step,))
        where: dict[str, Any] = {
            "provider": row.provider,
            "target": row.deployment_id,
            "params": params,
        }
        if isinstance(decision, Deny):
            await self.trail.record(
                actor, step.kind, "deny", "refused", detail=decision.reason, **where
            )
            raise NotPermittedError(decision.reason, mrkdwn=True)
        note = ""
        if over_budget is not None:
            await self.people.authorize(
                actor, "budget.override", slack, what="spend over a budget cap"
            )
            if not isinstance(decision, NeedsApproval):
                decision = NeedsApproval(risk=Risk.SPEND, rule=ApprovalRule())
            note = f"\n:warning: {escape(f'--over-budget: {over_budget}')}"
        if isinstance(decision, NeedsApproval):
            if claim is not None and not await claim():
                raise ServiceError("This deployment was already submitted.")
            filed = await self.lifecycle.file(
                actor,
                NewFiling(
                    kind=kind,
                    payload=json.dumps(params),
                    provider=row.provider,
                    target=request_id,
                    summary=escape(await summary(row)) + note,
                    reason=None,
                ),
                decision,
                slack,
            )
            if not filed.duplicate:
                await self.trail.record(
                    actor, step.kind, "approval", "pending", request_id=filed.request_id, **where
                )
            return pending(filed)
        return Done(await run())

    async def _spend_create(
        self, actor: Actor, request_id: str, decision: str, approvers: Sequence[str]
    ) -> Reply:
        creator = self._creator()
        row = await creator.submit(actor, request_id)
        ok = row.state not in ("failed",)
        await self.trail.record(
            actor,
            "create",
            decision,
            "ok" if ok else "error",
            provider=row.provider,
            target=row.deployment_id,
            params={"request": request_id},
            approvers=approvers,
            detail=row.error,
            provider_ref=row.deployment_id,
        )
        text = await creator.describe(request_id)
        status = f"{row.state}" + (f": {row.error}" if row.error else "")
        return Reply(text=f"{escape(text)} — {escape(status)}", error=not ok)

    async def accept(self, actor: Actor, request_id: str, bid_key: str, slack: SlackIO) -> Outcome:
        """An Accept on a bid: a spend (the lease starts paying the provider)."""
        creator = self._creator()
        checked = await creator.preflight_accept(actor, request_id, bid_key)
        if isinstance(checked, NotPossible):  # it cannot succeed: nobody is asked
            await self.trail.record(
                actor,
                "accept",
                "preflight",
                "refused",
                detail=checked.reason,
                params={"request": request_id, "bid": bid_key},
            )
            return refused(checked.reason)
        over, flagged = await self._over_budget(actor, request_id, checked, "accept", bid_key)
        if over is not None and not flagged:
            reason = f"{over} {ACCEPT_HINT}"
            await self.trail.record(
                actor,
                "accept",
                "budget",
                "refused",
                detail=reason,
                params={"request": request_id, "bid": bid_key},
            )
            return refused(reason)
        return await self._gate_request(
            actor,
            slack,
            request_id=request_id,
            kind="accept",
            step=Step("accept", Risk.SPEND),
            params={"request": request_id, "bid": bid_key},
            summary=lambda row: creator.describe(request_id, bid_key),
            run=lambda: self._spend_accept(actor, request_id, bid_key, "allow", ()),
            over_budget=over,
        )

    async def _spend_accept(
        self,
        actor: Actor,
        request_id: str,
        bid_key: str,
        decision: str,
        approvers: Sequence[str],
    ) -> Reply:
        creator = self._creator()
        try:
            row = await creator.accept_bid(actor, request_id, bid_key)
        except (ServiceError, ProviderError) as exc:
            await self.trail.record(
                actor,
                "accept",
                decision,
                "error",
                params={"request": request_id, "bid": bid_key},
                approvers=approvers,
                detail=getattr(exc, "message", str(exc)),
            )
            raise
        await self.trail.record(
            actor,
            "accept",
            decision,
            "ok",
            provider=row.provider,
            target=row.deployment_id,
            params={"request": request_id, "bid": bid_key},
            approvers=approvers,
            provider_ref=row.accepted_bid,
        )
        return Reply(text=escape(f"{await creator.describe(request_id, bid_key)} — {row.state}"))

    async def close_request(self, actor: Actor, request_id: str, slack: SlackIO) -> Outcome:
        """Close a new deployment that got no lease: a destructive operation like any close."""

        async def summary(row: Any) -> str:
            label = PROVIDER_LABEL.get(row.provider, row.provider)
            return (
                f"close {label} deployment {row.deployment_id} "
                "(no lease yet; the deposit is refunded)"
            )

        return await self._gate_request(
            actor,
            slack,
            request_id=request_id,
            kind="create_close",
            step=Step("close", Risk.DESTRUCTIVE),
            params={"request": request_id},
            summary=summary,
            run=lambda: self._spend_close(actor, request_id, "allow", ()),
        )

    async def _spend_close(
        self, actor: Actor, request_id: str, decision: str, approvers: Sequence[str]
    ) -> Reply:
        row = await self._creator().close(actor, request_id)
        await self.trail.record(
            actor,
            "close",
            decision,
            "ok" if row.state == "closed" else "noop",
            provider=row.provider,
            target=row.deployment_id,
            params={"request": request_id},
            approvers=approvers,
        )
        return Reply(text=f"Deployment {escape(row.deployment_id or '')}: {row.state}.")

    async def _over_budget(
        self,
        actor: Actor,
        request_id: str,
        checked: Cleared,
        verb: str,
        bid_key: str | None = None,
    ) -> tuple[str | None, bool]:
        """Why this create (or bid accept) would go over a budget cap, with the numbers, and
        whether the request was made with ``--over-budget``."""
        creator = self._creator()
        row = await creator.store.get(request_id)
        if self.budgets is None or row is None:
            return None, False
        facts = await self.budgets.facts(actor.team_id, actor.enterprise_id, row.provider)
        if facts is None:
            return None, False
        cost = checked.cost
        added = (cost.delta if cost is not None else None) or (
            cost.after_per_hour if cost is not None else None
        )
        spend = budget.Spend(per_hour=max(Decimal(0), added or Decimal(0)))
        described = (await creator.describe(request_id, bid_key)).splitlines()
        what = described[0] if described else verb
        return budget.check(facts, spend, what), bool(row.spec.get("_over_budget"))

    def _creator(self) -> CreateService:
        if self.creator is None:
            raise ServiceError("Creating deployments isn't available here.")
        return self.creator

    async def carry_out(
        self, row: ApprovalRequest, actor: Actor, approvers: Sequence[str]
    ) -> Reply:
        params = json.loads(row.operation)
        request_id = str(params["request"])
        if row.kind == "create":
            creator = self._creator()
            if not await creator.store.transition(request_id, [AWAITING], "draft"):
                raise ServiceError("This deployment was already submitted.")
            return await self._spend_create(actor, request_id, "approved", approvers)
        if row.kind == "accept":
            return await self._spend_accept(
                actor, request_id, str(params["bid"]), "approved", approvers
            )
        return await self._spend_close(actor, request_id, "approved", approvers)
