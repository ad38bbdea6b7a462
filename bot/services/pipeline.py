"""The pipeline: every operation from every entry point passes here.

``Pipeline.run`` resolves the deployment, runs **preflight** (can this succeed from the state the
deployment is in?), asks :func:`bot.core.policy.decide`, and then executes, files an
approval request, or refuses — and writes the audit row. The outcome is typed:
``Done | Pending | Refused``. An Approve click that completes the quorum comes back here:
preflight runs again against the live state, and a request the world has overtaken ends
"no longer applicable" without a provider call. The approval lifecycle itself (votes, deny,
cancel, expiry, reminders, superseding) lives in :mod:`bot.services.approvals`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import approvals as msg
from bot.core import audit_replies as audit_view
from bot.core import governance_replies as governance_view
from bot.core import replies
from bot.core.arguments import (
    Approvals,
    Decide,
    Governance,
    Scale,
    Timeout,
    Timers,
    Watch,
    args_for,
)
from bot.core.governance import AuditCommand, PolicyCommand
from bot.core.operations import WATCH_KINDS, Chain, Operation, OpKind
from bot.core.policy import (
    ADMIN_ONLY,
    Allow,
    ApprovalRule,
    Deny,
    NeedsApproval,
    Risk,
    Step,
    WorkspacePolicy,
    classify,
)
from bot.core.preflight import Cleared, preflight
from bot.core.preflight import Refused as NotPossible
from bot.core.registry import MUTATIONS, Area, in_area
from bot.core.render import PROVIDER_LABEL, escape
from bot.core.replies import Reply, context, section
from bot.core.results import ChainRun, Changed, Logs, render, render_changed
from bot.core.timers import Timer, When, summary_line
from bot.db import approvals as states
from bot.db.access import AccessStore, Grant
from bot.db.approvals import ApprovalStore
from bot.db.models import ApprovalRequest
from bot.providers.errors import NotFoundError, ProviderError
from bot.providers.models import Capability, Deployment
from bot.services import log_files
from bot.services.approvals import (
    ApprovalLifecycle,
    NewFiling,
    Quorum,
    requester_of,
)
from bot.services.audit import AuditService
from bot.services.audit_trail import AuditTrail, plain
from bot.services.budget import BudgetService
from bot.services.create import CreateService
from bot.services.create_pipeline import SPEND_KINDS, CreatePipeline
from bot.services.deployments import (
    Actor,
    DeploymentService,
    Resolved,
    error_reply,
)
from bot.services.digest import DigestService
from bot.services.errors import NoMatchError, NotPermittedError, ServiceError
from bot.services.governance import GovernanceService
from bot.services.outcomes import Done, Outcome, Pending, pending, refused
from bot.services.people import People, Person
from bot.services.preflight import gather, needs_balance
from bot.services.slack_io import SlackIO
from bot.services.timers import REQUEST_KIND as TIMER_REQUEST
from bot.services.timers import TimerService
from bot.watch.service import WatchService

log = logging.getLogger("deploybot.gate")

GOVERNANCE = in_area(Area.GOVERNANCE)
#: Stop timers and the daily digest: durable jobs with a time.
SCHEDULED = in_area(Area.TIMERS) | in_area(Area.DIGEST)

__all__ = ["Pipeline"]


#: An approved request with no run after this long gets one (see ``sweep``).
ORPHANED_AFTER = timedelta(seconds=60)


def _now() -> datetime:
    return datetime.now(UTC)


class Pipeline:
    def __init__(
        self,
        service: DeploymentService,
        access: AccessStore,
        approvals: ApprovalStore,
        people: People,
        trail: AuditTrail,
        *,
        governance: GovernanceService,
        audit_commands: AuditService,
        creator: CreateService | None = None,
        watches: WatchService | None = None,
        budgets: BudgetService | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.service = service
        self.access = access
        self.approvals = approvals
        self.trail = trail
        self.people = people
        #: ``/deploy roles``, ``role …`` and ``policy …``.
        self.governance = governance
        #: ``/deploy audit …``.
        self.audit_commands = audit_commands
        self.lifecycle = ApprovalLifecycle(
            approvals, access, self.people, self.trail, clock=self._time
        )
        #: ``/deploy budget`` and the caps preflight checks spends against.
        self.budgets = budgets
        self.creates = CreatePipeline(creator, self.lifecycle, people, trail, budgets=budgets)
        self._clock = clock
        #: Creates, leases and closes of new deployments pass the gate too.
        self.creator = creator
        #: Watch commands pass the gate too.
        self.watches = watches
        #: Where an approved request goes to run: a durable job (set by the app); None runs
        #: it at once, in the approving call.
        self.run_approved: Callable[[str], Awaitable[None]] | None = None
        #: Stop timers (durable jobs) and the daily digest (set by the app).
        self.timers: TimerService | None = None
        self.digests: DigestService | None = None
        #: Starts following a deployment's logs (``logs --follow``; set by the app).
        self.follow_logs: Callable[[Actor, Logs, int, SlackIO], Awaitable[Reply]] | None = None

    def _time(self) -> datetime:
        return self._clock()

    @property
    def clock(self) -> Callable[[], datetime]:
        return self._clock

    @clock.setter
    def clock(self, value: Callable[[], datetime]) -> None:
        self._clock = value

    # -- who ---------------------------------------------------------------------------------

    async def person(
        self,
        actor: Actor,
        slack: SlackIO,
        policy: WorkspacePolicy,
        grants: Sequence[Grant] | None = None,
        extra_groups: set[str] | None = None,
    ) -> Person:
        return await self.people.person(actor, slack, policy, grants, extra_groups)

    async def authorize(self, actor: Actor, kind: str, slack: SlackIO, *, what: str) -> None:
        await self.people.authorize(actor, kind, slack, what=what)

    # -- running -----------------------------------------------------------------------------

    async def run(
        self,
        actor: Actor,
        op: Operation | Chain,
        slack: SlackIO,
        *,
        progress: Show | None = None,
    ) -> Outcome:
        if isinstance(op, Chain):
            return await self._run_chain(actor, op, slack, progress)
        routed = await self._route(actor, op, slack)
        if routed is not None:
            return routed
        return await self._change(actor, op, slack)

    async def _route(self, actor: Actor, op: Operation, slack: SlackIO) -> Outcome | None:
        """Every kind that isn't a change of one deployment (None: it is one)."""
        if op.kind in GOVERNANCE:
            return Done(await self._governance(actor, op, slack))
        if op.kind is OpKind.APPROVALS:
            page = op.args.page if isinstance(op.args, Approvals) else 1
            return Done(await self.lifecycle.pending_reply(actor, page=page))
        if isinstance(op.args, Decide):
            return Done(await self._decide_by_command(actor, op.args, slack))
        if op.kind.value in ADMIN_ONLY:
            return Done(await self._account(actor, op, slack))
        if op.kind in WATCH_KINDS and self.watches is not None:
            return Done(await self._watch(actor, op, slack))
        if op.kind in SCHEDULED:
            return await self._scheduled(actor, op, slack)
        if op.kind is OpKind.BUDGET and self.budgets is not None:
            budget = await self.budgets.run(actor, op, slack)
            if isinstance(budget, Reply):
                return Done(budget)
            return Done(render(budget), result=budget)
        if op.kind is OpKind.BIDS:
            return Done(await self.creates.bids(actor, op))
        if op.kind not in MUTATIONS:
            return await self._read(actor, op, slack)
        return None

    async def _change(self, actor: Actor, op: Operation, slack: SlackIO) -> Outcome:
        """A change of one deployment: resolve, preflight, decide, then run, ask or refuse."""
        assert op.kind.capability is not None
        resolved = await self.service.resolve(
            actor, op.target or "", op.provider, op.kind.capability
        )
        before = resolved.deployment
        op = op.retarget(resolved.provider.name, before.id)
        checked = await self._preflight(resolved, op, actor)
        if isinstance(checked, NotPossible):  # it cannot succeed, so nobody is asked
            await self.trail.refused(actor, op, checked.reason)
            return refused(checked.reason)
        step = Step(op.kind.value, _risk(op, before))
        decision = await self.people.decide(actor, slack, resolved.provider.name, (step,))
        if isinstance(decision, Deny):
            await self.trail.operation(actor, op, "deny", "refused", detail=decision.reason)
            raise NotPermittedError(decision.reason, mrkdwn=True)
        if checked.over_budget is not None:
            return await self._over_budget(actor, op, before, decision, checked, slack=slack)
        if isinstance(decision, NeedsApproval):
            return await self._request(
                actor, op, before, decision, slack, warnings=checked.warnings
            )
        changed = await self._execute(actor, op, resolved, decision="allow")
        return Done(_warned(render_changed(changed), checked.warnings), result=changed)

    async def _read(self, actor: Actor, op: Operation, slack: SlackIO) -> Outcome:
        """A read (list, show, logs …): who may read, then the answer; a log file is uploaded,
        a followed log starts its thread."""
        await self.people.check_read(actor, op)
        found = await self.service.execute(actor, op)
        if isinstance(found, Logs) and found.file:
            found = await log_files.upload(found, actor, slack)
        follow = getattr(op.args, "follow_seconds", None)
        if isinstance(found, Logs) and follow and self.follow_logs is not None:
            return Done(await self.follow_logs(actor, found, follow, slack), result=found)
        return Done(render(found), result=found)

    async def _preflight(
        self, resolved: Resolved, op: Operation | Chain, actor: Actor
    ) -> Cleared | NotPossible:
        """Can this succeed from the deployment's current state, within the provider's limits,
        with the money the account has and within the budget caps? At most one provider read
        (the balance); the budget is the database's."""
        budget = None
        if self.budgets is not None and needs_balance(op, resolved.deployment):
            budget = await self.budgets.facts(
                actor.team_id, actor.enterprise_id, resolved.provider.name
            )
        facts = await gather(
            resolved.provider, op, resolved.deployment, clock=self.clock, budget=budget
        )
        return preflight(facts)

    async def _over_budget(
        self,
        actor: Actor,
        op: Operation | Chain,
        before: Deployment,
        decision: Allow | NeedsApproval,
        checked: Cleared,
        *,
        slack: SlackIO,
    ) -> Pending:
        """``--over-budget``: admins only, and always filed for approval (the policy's rule
        when it asks for one, else one admin's), the request saying which cap it passes."""
        await self.authorize(actor, "budget.override", slack, what="spend over a budget cap")
        if not isinstance(decision, NeedsApproval):
            decision = NeedsApproval(risk=Risk.SPEND, rule=ApprovalRule())
        note = f"--over-budget: {checked.over_budget}"
        return await self._request(
            actor, op, before, decision, slack, warnings=(note, *checked.warnings)
        )

    async def _execute(
        self,
        actor: Actor,
        op: Operation,
        resolved: Resolved,
        *,
        decision: str,
        approvers: Sequence[str] = (),
        request_id: str | None = None,
    ) -> Changed:
        """Carry out a decided change and audit it from what happened."""
        try:
            changed = await self.service.apply(actor, op, resolved)
        except (ServiceError, ProviderError) as exc:
            await self.trail.operation(
                actor,
                op,
                decision,
                "error",
                detail=getattr(exc, "message", str(exc)),
                approvers=approvers,
                request_id=request_id,
            )
            raise
        await self.trail.operation(
            actor,
            op,
            decision,
            "ok",
            approvers=approvers,
            request_id=request_id,
            provider_ref=changed.provider_ref,
        )
        return changed

    async def _run_chain(
        self, actor: Actor, chain: Chain, slack: SlackIO, progress: Show | None
    ) -> Outcome:
        first = chain.steps[0]
        resolved = await self.service.resolve(
            actor, chain.target, chain.provider, first.kind.capability
        )
        before = resolved.deployment
        # Run by the name people used (the status message shows it); store by id.
        named = chain.model_copy(update={"provider": resolved.provider.name})
        chain = chain.retarget(resolved.provider.name, before.id)
        checked = await self._preflight(resolved, chain, actor)
        if isinstance(checked, NotPossible):
            await self.trail.refused(actor, chain, checked.reason)
            return refused(checked.reason)
        steps = tuple(Step(s.kind.value, _risk(s, before)) for s in chain.steps)
        decision = await self.people.decide(actor, slack, resolved.provider.name, steps)
        if isinstance(decision, Deny):
            await self.trail.chain(actor, chain, "deny", "refused", detail=decision.reason)
            raise NotPermittedError(decision.reason, mrkdwn=True)
        if checked.over_budget is not None:
            return await self._over_budget(actor, chain, before, decision, checked, slack=slack)
        if isinstance(decision, NeedsApproval):
            return await self._request(
                actor, chain, before, decision, slack, warnings=checked.warnings
            )
        final = await self.service.run_chain(actor, named, _showing(progress))
        reply = render(final)
        await self.trail.chain(
            actor, chain, "allow", "error" if final.failed else "ok", detail=plain(reply.text)
        )
        return Done(_warned(reply, checked.warnings), result=final)

    # -- accounts ----------------------------------------------------------------------------

    async def _account(self, actor: Actor, op: Operation, slack: SlackIO) -> Reply:
        assert op.provider is not None
        label = PROVIDER_LABEL[op.provider]
        if op.kind is OpKind.DISCONNECT:
            await self.authorize(actor, "disconnect", slack, what="disconnect a provider")
            removed = await self.service.disconnect(actor, op.provider)
            await self.trail.record(
                actor, "disconnect", "allow", "ok" if removed else "noop", provider=op.provider
            )
            if removed:
                return replies.notice(
                    f":electric_plug: <@{actor.user_id}> disconnected {label}; its key is deleted.",
                    public=True,
                )
            return replies.notice(f"{label} wasn't connected.")
        raise ServiceError("Connect a provider with `/deploy connect &lt;provider&gt;`.")

    async def _watch(self, actor: Actor, op: Operation, slack: SlackIO) -> Reply:
        """Watching only posts what anyone may read; the alert thresholds are admin settings."""
        args = op.args
        if isinstance(args, Watch) and args.kind is OpKind.WATCH and args.topic == "settings":
            if args.filters:
                await self.authorize(actor, "watch.settings", slack, what="change alert thresholds")
                await self.trail.record(
                    actor, "watch.settings", "allow", "ok", params=dict(args.filters)
                )
        elif op.provider is not None:
            await self.people.check_read(actor, op)
        assert self.watches is not None  # run() routes watch commands here only when it is set
        return await self.watches.execute(actor, op)

    async def forget_workspace(
        self, team_id: str, enterprise_id: str | None, *, uninstalled: bool
    ) -> None:
        """The app was uninstalled (or its bot token revoked): forget the workspace's keys,
        create requests, templates and watches; on uninstall its roles and policy too. The
        audit log stays, with a row saying so."""
        removed = await self.service.forget_workspace(team_id, enterprise_id)
        if uninstalled:
            await self.access.forget_workspace(team_id, enterprise_id)
        if self.creator is not None:
            await self.creator.store.forget_workspace(team_id, enterprise_id)
        if self.watches is not None:
            await self.watches.store.forget_workspace(team_id, enterprise_id)
        if self.budgets is not None:
            await self.budgets.forget_workspace(team_id, enterprise_id)
        actor = Actor(team_id=team_id, user_id="slack", enterprise_id=enterprise_id)
        action = "uninstall" if uninstalled else "tokens_revoked"
        await self.trail.record(actor, action, "allow", "ok", params={"keys_deleted": removed})
        log.info("workspace %s cleaned up: %d provider keys deleted", team_id, removed)

    async def record_connect(self, actor: Actor, provider: str, key_hint: str) -> None:
        await self.trail.record(
            actor, "connect", "allow", "ok", provider=provider, params={"key": key_hint}
        )

    # -- approval requests -------------------------------------------------------------------

    async def _request(
        self,
        actor: Actor,
        op: Operation | Chain,
        before: Deployment | None,
        decision: NeedsApproval,
        slack: SlackIO,
        *,
        warnings: Sequence[str] = (),
        timer: When | None = None,
    ) -> Pending:
        summary = "\n".join(
            [
                msg.summarize(op, before),
                *(f":warning: {escape(w)}" for w in warnings),
                *(
                    [
                        summary_line(
                            timer,
                            op.steps[0].kind.value if isinstance(op, Chain) else op.kind.value,
                        )
                    ]
                    if timer is not None
                    else []
                ),
            ]
        )
        kind = "chain" if isinstance(op, Chain) else "operation"
        payload = op.model_dump_json()
        if timer is not None:  # approving it files the timer (see _run_approved)
            kind, payload = TIMER_REQUEST, json.dumps({"op": payload, "when": timer.as_json()})
        filed = await self.lifecycle.file(
            actor,
            NewFiling(
                kind=kind,
                payload=payload,
                provider=op.provider,
                target=before.id if before else op.target,
                summary=summary,
                reason=op.reason,
            ),
            decision,
            slack,
        )
        if not filed.duplicate:
            await self.trail.request(actor, op, decision, filed.request_id)
        return pending(filed)

    # -- creates, leases and closes of new deployments ---------------------------------------

    async def create(self, actor: Actor, request_id: str, slack: SlackIO) -> Outcome:
        return await self.creates.create(actor, request_id, slack)

    async def accept(self, actor: Actor, request_id: str, bid_key: str, slack: SlackIO) -> Outcome:
        return await self.creates.accept(actor, request_id, bid_key, slack)

    async def close_request(self, actor: Actor, request_id: str, slack: SlackIO) -> Outcome:
        return await self.creates.close_request(actor, request_id, slack)

    # -- stop timers and the digest ----------------------------------------------------------

    async def _scheduled(self, actor: Actor, op: Operation, slack: SlackIO) -> Outcome:
        if op.kind is OpKind.DIGEST:
            if self.digests is None:
                raise ServiceError("The daily digest isn't available here.")
            return Done(await self.digests.execute(actor, op, slack))
        if self.timers is None:
            raise ServiceError("Stop timers aren't available here.")
        args = op.typed(Timers)
        if args.sub == "list":
            return Done(await self.timers.listing(actor))
        if args.sub == "cancel":
            return Done(await self.timers.cancel(actor, args.timer_id or "", slack))
        return await self._set_timer(actor, op, args, slack)

    async def _set_timer(
        self, actor: Actor, op: Operation, args: Timers, slack: SlackIO
    ) -> Outcome:
        """The stop's policy decision is taken now: allowed → the timer is filed; needs
        approval → a request that files it once approved; refused → nothing. Preflight
        first: a deployment that can't be stopped gets no timer. Where the provider can't
        stop but can close (Akash), the timer closes."""
        assert self.timers is not None
        resolved = await self.service.resolve(actor, op.target or "", op.provider, None)
        before = resolved.deployment
        stop = _ending(resolved, op.reason)
        checked = await self._preflight(resolved, stop, actor)
        if isinstance(checked, NotPossible):
            await self.trail.record(
                actor,
                "timer.set",
                "preflight",
                "refused",
                provider=before.provider,
                target=before.id,
                detail=checked.reason,
            )
            return refused(checked.reason)
        tz = await slack.tz_offset(actor.user_id) if args.at else 0
        when = When(after_seconds=args.after_seconds, at=args.at, tz_offset=tz)
        return await self._decide_timer(
            actor, resolved, stop, when, slack, warnings=checked.warnings
        )

    async def timer_for_new(
        self, actor: Actor, resolved: Resolved, seconds: int, slack: SlackIO, *, timer_id: str
    ) -> Outcome:
        """A create form's "Stop after": decided as a timer set by command, without
        preflight now (the new deployment is still starting; the stop's preflight runs at
        fire time)."""
        stop = _ending(resolved, "stop after, from the create form")
        when = When(after_seconds=seconds)
        return await self._decide_timer(actor, resolved, stop, when, slack, timer_id=timer_id)

    async def _decide_timer(
        self,
        actor: Actor,
        resolved: Resolved,
        stop: Operation,
        when: When,
        slack: SlackIO,
        *,
        warnings: Sequence[str] = (),
        timer_id: str | None = None,
    ) -> Outcome:
        assert self.timers is not None
        before = resolved.deployment
        decision = await self.people.decide(
            actor, slack, resolved.provider.name, (Step(stop.kind.value, _risk(stop, before)),)
        )
        if isinstance(decision, Deny):
            await self.trail.operation(actor, stop, "deny", "refused", detail=decision.reason)
            raise NotPermittedError(decision.reason, mrkdwn=True)
        if isinstance(decision, NeedsApproval):
            return await self._request(
                actor, stop, before, decision, slack, warnings=warnings, timer=when
            )
        reply = await self.timers.file(
            actor,
            before,
            when,
            decision="allow",
            reason=stop.reason,
            action=stop.kind.value,
            timer_id=timer_id,
        )
        return Done(reply)

    async def _arm_approved(
        self, row: ApprovalRequest, actor: Actor, approvers: Sequence[str]
    ) -> Reply:
        """An approved stop timer: filed now (``--after`` counts from here)."""
        assert self.timers is not None
        stop, when = _timer_request(row.operation)
        requester = Actor(actor.team_id, actor.user_id, actor.enterprise_id, row.channel_id)
        resolved = await self.service.resolve(
            requester, stop.target or "", stop.provider, OpKind.STOP.capability
        )
        return await self.timers.file(
            requester,
            resolved.deployment,
            when,
            decision="approved",
            approvers=approvers,
            request_id=row.id,
            reason=row.reason,
            action=stop.kind.value,
        )

    async def fire_timer(self, actor: Actor, timer: Timer) -> Reply:
        """A stop timer's time has come: the stop runs through preflight (against the
        deployment as it is now) and is audited like any operation. The policy decided when
        the timer was set."""
        kind = OpKind.CLOSE if timer.action == "close" else OpKind.STOP
        stop = Operation(
            args=args_for(kind),
            provider=timer.provider,  # type: ignore[arg-type]
            target=timer.deployment_id,
            reason=timer.reason or f"stop timer {timer.timer_id}",
        )
        try:
            resolved = await self.service.resolve(
                actor, timer.deployment_id, stop.provider, kind.capability
            )
            checked = await self._preflight(resolved, stop, actor)
            if isinstance(checked, NotPossible):
                await self.trail.refused(actor, stop, checked.reason)
                return replies.notice(f"Nothing to stop: {escape(checked.reason)}")
            changed = await self._execute(
                actor,
                stop,
                resolved,
                decision=timer.decision,
                approvers=timer.approvers,
                request_id=timer.request_id,
            )
        except (NoMatchError, NotFoundError):
            return replies.notice("Nothing to stop: the deployment no longer exists.")
        except (ServiceError, ProviderError) as exc:
            return error_reply(exc)
        return render_changed(changed)

    # -- approvals: clicks come here; the lifecycle keeps the request -----------------------

    def view_of(self, row: ApprovalRequest) -> Any:
        return self.lifecycle.view(row, [])

    async def approve(self, actor: Actor, request_id: str, slack: SlackIO) -> str | None:
        """An Approve click. Returns a note for the clicker only (None: the message says it)."""
        result = await self.lifecycle.vote(actor, request_id, slack)
        if isinstance(result, Quorum):
            if self.run_approved is not None:
                await self.run_approved(result.row.id)
            else:
                await self._carry_out(result.row.id, result.voters, slack)
            return None
        return result

    async def deny(
        self, actor: Actor, request_id: str, note: str | None, slack: SlackIO
    ) -> str | None:
        return await self.lifecycle.deny(actor, request_id, note, slack)

    async def cancel(self, actor: Actor, request_id: str, slack: SlackIO) -> str | None:
        return await self.lifecycle.cancel(actor, request_id, slack)

    async def why_not_approver(
        self, actor: Actor, row: ApprovalRequest, slack: SlackIO
    ) -> str | None:
        return await self.lifecycle.why_not_approver(actor, row, slack)

    async def waiting_for(self, actor: Actor, slack: SlackIO) -> list[ApprovalRequest]:
        return await self.lifecycle.waiting_for(actor, slack)

    async def pending_reply(self, actor: Actor, *, page: int = 1) -> Reply:
        return await self.lifecycle.pending_reply(actor, page=page)

    async def sweep(
        self, slack_for: Callable[[str, str | None], Awaitable[SlackIO | None]]
    ) -> dict[str, int]:
        done = await self.lifecycle.sweep(slack_for)
        if self.run_approved is not None:
            # approved, but the run was never written (its approver's worker died in between):
            # write it now (a run already written keeps its key: nothing twice)
            for row in await self.approvals.stuck(self.clock() - ORPHANED_AFTER):
                await self.run_approved(row.id)
        return done

    async def carry_out(
        self, request_id: str, slack_for: Callable[[str, str | None], Awaitable[SlackIO | None]]
    ) -> None:
        """Run an approved request that is still approved and unfinished (a durable job)."""
        row = await self.approvals.get(request_id)
        if row is None or row.state != states.APPROVED:
            return
        slack = await slack_for(row.team_id, row.enterprise_id or None)
        if slack is None:
            return
        await self._carry_out(row.id, await self.approvals.voters(row.id), slack)

    async def _carry_out(self, request_id: str, voters: list[str], slack: SlackIO) -> None:
        """Run an approved request (only the caller that won the approval gets here).
        Preflight runs again first: a request the world has overtaken is not run."""
        row = await self.lifecycle.refresh(request_id, slack)
        assert row is not None
        actor = requester_of(row)
        approvers = [v for v in voters if v != row.requester_id] or voters
        try:
            stale = await self._stale(row, actor)
            if stale is not None:
                await self.lifecycle.conclude(row, states.NOT_APPLICABLE, stale, slack)
                return
            reply = await self._run_approved(row, actor, approvers)
            state = states.FAILED if reply.error else states.DONE
        except Exception as exc:
            if not isinstance(exc, ServiceError | ProviderError):
                log.error("approved operation failed: %s", type(exc).__name__, exc_info=exc)
            reply = error_reply(exc)
            state = states.FAILED
        await self.lifecycle.finish(row, state, reply.text, slack)
        fresh = await self.approvals.get(row.id)
        await self.lifecycle.say_in_thread(fresh, reply.text, slack)

    async def _stale(self, row: ApprovalRequest, actor: Actor) -> str | None:
        """Preflight again, against the deployment as it is now: why the approved request no
        longer applies (None: it still does)."""
        if row.kind in SPEND_KINDS:
            return None
        op: Operation | Chain
        if row.kind == "chain":
            op = Chain.model_validate_json(row.operation)
            first = op.steps[0]
        else:
            op = first = _stop_of(row)
        try:
            resolved = await self.service.resolve(
                actor, first.target or "", first.provider, first.kind.capability
            )
        except (NoMatchError, NotFoundError):
            return f"the deployment {first.target or ''} no longer exists"
        checked = await self._preflight(resolved, op, actor)
        return checked.reason if isinstance(checked, NotPossible) else None

    async def _run_approved(
        self, row: ApprovalRequest, actor: Actor, approvers: Sequence[str]
    ) -> Reply:
        if row.kind in SPEND_KINDS:
            return await self.creates.carry_out(row, actor, approvers)
        if row.kind == TIMER_REQUEST:
            return await self._arm_approved(row, actor, approvers)
        if row.kind == "chain":
            chain = Chain.model_validate_json(row.operation)
            reply = render(await self.service.run_chain(actor, chain, _showing(None)))
            await self.trail.chain(
                actor,
                chain,
                "approved",
                "error" if reply.error else "ok",
                approvers=approvers,
                request_id=row.id,
                detail=plain(reply.text),
            )
            return reply
        op = Operation.model_validate_json(row.operation)
        assert op.kind.capability is not None
        resolved = await self.service.resolve(
            actor, op.target or "", op.provider, op.kind.capability
        )
        changed = await self._execute(
            actor, op, resolved, decision="approved", approvers=approvers, request_id=row.id
        )
        return render_changed(changed)

    async def _decide_by_command(self, actor: Actor, args: Decide, slack: SlackIO) -> Reply:
        """``/deploy approve|deny|cancel <id>``: what the buttons do, typed."""
        match args.kind:
            case OpKind.APPROVE:
                note = await self.approve(actor, args.request_id, slack)
                done = ":white_check_mark: Approved: the request message says how it went."
            case OpKind.DENY:
                note = await self.deny(actor, args.request_id, args.note, slack)
                done = ":no_entry: Denied."
            case _:
                note = await self.cancel(actor, args.request_id, slack)
                done = ":heavy_minus_sign: Cancelled."
        return replies.notice(note or done)  # our own words (mrkdwn with mentions)

    # -- a policy change decides what it no longer needs to wait for ---------------------------

    async def policy_changed(self, actor: Actor, slack: SlackIO) -> None:
        """Re-decide the workspace's pending operations under the new policy: what needs no
        approval any more runs now (preflight first), what is now refused ends; each says so
        in its thread. Requests that still need approval stay as they are."""
        rows = await self.approvals.pending(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, limit=200
        )
        for row in rows:
            if row.kind not in ("operation", "chain", TIMER_REQUEST) or not row.provider:
                continue
            requester = requester_of(row)
            op = _stored(row)
            if op.over_budget:
                continue  # past a budget cap: it needs approval whatever the policy says
            steps = tuple(Step(s.kind.value, Risk(row.risk)) for s in _steps(op))
            decision = await self.people.decide(requester, slack, row.provider, steps)
            if isinstance(decision, Deny):
                note = f"<@{actor.user_id}> changed the policy, which now refuses this: " + (
                    decision.reason
                )
                await self.lifecycle.conclude(
                    row, states.RESOLVED, note, slack, from_states=[states.PENDING]
                )
            elif isinstance(decision, Allow) and await self.approvals.transition(
                row.id,
                from_states=[states.PENDING],
                to=states.APPROVED,
                decided_at=self.clock(),
                decided_by=actor.user_id,
                decision_note="the policy no longer requires approval",
            ):
                await self.lifecycle.say_in_thread(
                    row,
                    f"<@{row.requester_id}>, <@{actor.user_id}> changed the policy: this no "
                    "longer needs approval, so I am running it now.",
                    slack,
                )
                await self._carry_out(row.id, [], slack)

    # -- roles, policy, audit: their services answer; a policy change decides what waits ----

    async def _governance(self, actor: Actor, op: Operation, slack: SlackIO) -> Reply:
        command = op.args.command if isinstance(op.args, Governance) else None
        if isinstance(command, AuditCommand):
            return audit_view.render(await self.audit_commands.run(actor, command, slack))
        reply = governance_view.render(await self.governance.run(actor, command, slack))
        if isinstance(command, PolicyCommand) and command.action != "show":
            await self.policy_changed(actor, slack)
        return reply


def _ending(resolved: Resolved, reason: str | None) -> Operation:
    """The stop a timer runs: ``stop``, or ``close`` where the provider can only close."""
    capabilities = resolved.provider.capabilities
    kind = OpKind.STOP
    if Capability.STOP not in capabilities and Capability.CLOSE in capabilities:
        kind = OpKind.CLOSE
    if kind.capability not in capabilities:
        raise ServiceError(
            f"{PROVIDER_LABEL[resolved.provider.name]} deployments can't be stopped."
        )
    return Operation(
        args=args_for(kind),
        provider=resolved.provider.name,
        target=resolved.deployment.id,
        reason=reason,
    )


def _stored(row: ApprovalRequest) -> Operation | Chain:
    if row.kind == "chain":
        return Chain.model_validate_json(row.operation)
    return _stop_of(row)


def _stop_of(row: ApprovalRequest) -> Operation:
    """The operation a request holds (a stop timer's: its stop)."""
    if row.kind == TIMER_REQUEST:
        return _timer_request(row.operation)[0]
    return Operation.model_validate_json(row.operation)


def _timer_request(text: str) -> tuple[Operation, When]:
    data = json.loads(text)
    return Operation.model_validate_json(data["op"]), When.from_json(data.get("when"))


def _steps(op: Operation | Chain) -> tuple[Operation, ...]:
    return op.steps if isinstance(op, Chain) else (op,)


def _warned(reply: Reply, warnings: Sequence[str]) -> Reply:
    """A result with preflight's warnings (money running out soon) below it."""
    if not warnings:
        return reply
    lines = [f":warning: {escape(w)}" for w in warnings]
    blocks = [*(reply.blocks or [section(reply.text)]), context("\n".join(lines))]
    return replace(reply, text=reply.text + "\n" + "\n".join(lines), blocks=blocks)


def _risk(op: Operation, before: Deployment) -> Risk:
    minutes = before.extras.get("timeout_minutes")
    return classify(
        op.kind.value,
        replicas=op.args.replicas if isinstance(op.args, Scale) else None,
        current_replicas=before.replicas,
        minutes=op.args.minutes if isinstance(op.args, Timeout) else None,
        current_minutes=minutes if isinstance(minutes, int) else None,
    )


#: Shows a chain's progress to the person (the delivery step: a message edited in place).
Show = Callable[[Reply], Awaitable[None]]


def _showing(show: Show | None) -> Callable[[ChainRun], Awaitable[None]]:
    """The chain's progress, rendered, for ``show`` (nothing when there is nobody to show)."""

    async def rendered(run: ChainRun) -> None:
        if show is not None:
            await show(render(run))

    return rendered
