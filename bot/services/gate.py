"""The policy gate: every operation from every entry point passes here.

``Gate.run`` resolves the deployment, classifies the risk, asks :func:`bot.core.policy.decide`
and then executes, files an approval request, or refuses — and writes the audit row. Approve,
deny and cancel clicks, expiry and reminders come back here too. Exactly-once execution rests
on the database: votes have a unique (request, person) constraint and the request moves
``pending → approved`` with a conditional UPDATE that only one caller can win.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.core import approvals as msg
from bot.core import replies
from bot.core.governance import AuditCommand
from bot.core.operations import WATCH_KINDS, Chain, Operation, OpKind
from bot.core.policy import (
    ADMIN_ONLY,
    ADMINS,
    ApprovalRule,
    Approver,
    Decision,
    Deny,
    NeedsApproval,
    Request,
    Risk,
    Role,
    Step,
    WorkspacePolicy,
    approvers_text,
    can_approve,
    classify,
    decide,
    effective_role,
    is_group_id,
    quorum_met,
)
from bot.core.render import PROVIDER_LABEL, escape
from bot.core.replies import Reply, section
from bot.db import approvals as states
from bot.db.access import AccessStore, Grant
from bot.db.approvals import ApprovalStore, NewRequest
from bot.db.audit import AuditLog, AuditRecord
from bot.db.models import ApprovalRequest
from bot.providers.errors import ProviderError
from bot.providers.models import Deployment
from bot.services.audit import AuditService
from bot.services.deployments import (
    Actor,
    DeploymentService,
    Progress,
    Resolved,
    error_reply,
)
from bot.services.errors import NotPermittedError, ServiceError
from bot.services.governance import GovernanceService
from bot.services.slack_io import DirectoryCache, SlackIO

log = logging.getLogger("deploybot.gate")

#: First reminder after this long (or half the window, if shorter); then doubling.
FIRST_REMINDER = timedelta(minutes=10)
#: An approved request still running after this long died with its replica.
STUCK_AFTER = timedelta(minutes=15)
MAX_DMS = 20
GOVERNANCE = frozenset({OpKind.ROLE, OpKind.ROLES, OpKind.POLICY, OpKind.AUDIT})
#: Approval requests that run through the create service rather than an Operation.
SPEND_KINDS = frozenset({"create", "accept", "create_close"})
#: A create form's state while its approval request is open.
AWAITING = "approval"


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Done:
    """It ran (or was a read): here is the answer."""

    reply: Reply


@dataclass(frozen=True)
class Pending:
    """It waits for approval; ``reply`` tells the requester where."""

    reply: Reply
    request_id: str
    #: The same request was already open (nothing new was filed).
    duplicate: bool = False


Outcome = Done | Pending


@dataclass(frozen=True)
class Person:
    role: Role
    groups: frozenset[str]


def next_reminder(created: datetime, expires: datetime, sent: int) -> datetime | None:
    """10 min, then 20 more, 40 more … (half the window when that is shorter); never past
    the last minute before expiry."""
    if sent > 16:  # past any window long before this; keeps the arithmetic in range
        return None
    window = expires - created
    first = min(FIRST_REMINDER, window / 2)
    at = created + first * (2 ** (sent + 1) - 1)
    if at >= expires - timedelta(minutes=1) and sent > 0:
        return None
    if at >= expires:
        return None
    return at


class Gate:
    def __init__(
        self,
        service: DeploymentService,
        access: AccessStore,
        approvals: ApprovalStore,
        audit: AuditLog,
        *,
        governance: GovernanceService,
        audit_commands: AuditService,
        clock: Callable[[], datetime] = _now,
        cache: DirectoryCache | None = None,
    ) -> None:
        self.service = service
        #: ``/deploy roles``, ``role …`` and ``policy …``.
        self.governance = governance
        #: ``/deploy audit …``.
        self.audit_commands = audit_commands
        self.access = access
        self.approvals = approvals
        self.audit = audit
        self.clock = clock
        self.cache = cache or DirectoryCache()
        #: The create service (set by the app factory): creates and leases pass the gate too.
        self.creator: Any = None
        #: The watch service (set by the app factory): watch commands pass the gate too.
        self.watches: Any = None

    def slack(self, client: Any, team_id: str = "") -> SlackIO:
        return SlackIO(client, self.cache, team_id)

    # -- who ---------------------------------------------------------------------------------

    async def person(
        self,
        actor: Actor,
        slack: SlackIO,
        policy: WorkspacePolicy,
        grants: Sequence[Grant] | None = None,
        extra_groups: set[str] | None = None,
    ) -> Person:
        if grants is None:
            grants = await self.access.grants(actor.team_id, actor.enterprise_id)
        user_grant = next(
            (g.role for g in grants if g.subject_type == "user" and g.subject_id == actor.user_id),
            None,
        )
        candidates = {g.subject_id for g in grants if g.subject_type == "usergroup"}
        candidates |= extra_groups or set()
        groups = await slack.groups_of(actor.user_id, candidates) if candidates else frozenset()
        group_grants = [
            g.role for g in grants if g.subject_type == "usergroup" and g.subject_id in groups
        ]
        slack_admin = False if user_grant is not None else await slack.is_slack_admin(actor.user_id)
        role = effective_role(
            slack_admin=slack_admin,
            user_grant=user_grant,
            group_grants=group_grants,
            default=policy.default_role,
        )
        return Person(role, groups)

    async def authorize(self, actor: Actor, kind: str, slack: SlackIO, *, what: str) -> None:
        """Admin-only operations (connecting keys, roles, policy, exports): raise unless admin."""
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        person = await self.person(actor, slack, policy)
        decision = decide(
            Request(
                user_id=actor.user_id,
                role=person.role,
                channel_id=actor.channel_id,
                provider=None,
                steps=(Step(kind, Risk.CHANGE),),
                admin_only=True,
                what=what,
            ),
            policy,
        )
        if isinstance(decision, Deny):
            await self._audit(actor, kind, "deny", "refused", detail=decision.reason)
            raise NotPermittedError(decision.reason, mrkdwn=True)

    # -- running -----------------------------------------------------------------------------

    async def run(
        self,
        actor: Actor,
        op: Operation | Chain,
        slack: SlackIO,
        *,
        progress: Progress | None = None,
    ) -> Outcome:
        if isinstance(op, Chain):
            return await self._run_chain(actor, op, slack, progress)
        if isinstance(op.command, AuditCommand):
            return Done(await self.audit_commands.reply(actor, op.command, slack))
        if op.kind in GOVERNANCE:
            return Done(await self.governance.reply(actor, op.command, slack))
        if op.kind is OpKind.APPROVALS:
            return Done(await self.pending_reply(actor))
        if op.kind.value in ADMIN_ONLY:
            return Done(await self._account(actor, op, slack))
        if op.kind in WATCH_KINDS and self.watches is not None:
            return Done(await self._watch(actor, op, slack))
        if op.kind not in replies.MUTATIONS:
            await self._check_read(actor, op)
            return Done(await self.service.execute(actor, op))
        assert op.kind.capability is not None
        resolved = await self.service.resolve(
            actor, op.target or "", op.provider, op.kind.capability
        )
        before = resolved.deployment
        op = op.retarget(resolved.provider.name, before.id)
        step = Step(op.kind.value, _risk(op, before))
        decision = await self._decide(actor, slack, resolved.provider.name, (step,))
        if isinstance(decision, Deny):
            await self._audit_op(actor, op, "deny", "refused", detail=decision.reason)
            raise NotPermittedError(decision.reason, mrkdwn=True)
        if isinstance(decision, NeedsApproval):
            return await self._request(actor, op, before, decision, slack)
        return Done(await self._execute(actor, op, resolved, decision="allow"))

    async def _check_read(self, actor: Actor, op: Operation) -> None:
        if op.provider is None:  # reads across providers: channel scopes name one provider
            return
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        if not policy.scopes:
            return
        decision = decide(
            Request(
                user_id=actor.user_id,
                role=Role.VIEWER,
                channel_id=actor.channel_id,
                provider=op.provider,
                steps=(Step(op.kind.value, Risk.READ),),
            ),
            policy,
        )
        if isinstance(decision, Deny):
            raise NotPermittedError(decision.reason, mrkdwn=True)

    async def _decide(
        self, actor: Actor, slack: SlackIO, provider: str, steps: tuple[Step, ...]
    ) -> Decision:
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        person = await self.person(actor, slack, policy)
        return decide(
            Request(
                user_id=actor.user_id,
                role=person.role,
                channel_id=actor.channel_id,
                provider=provider,
                steps=steps,
            ),
            policy,
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
    ) -> Reply:
        try:
            reply, after = await self.service.apply(actor, op, resolved)
        except (ServiceError, ProviderError) as exc:
            await self._audit_op(
                actor,
                op,
                decision,
                "error",
                detail=getattr(exc, "message", str(exc)),
                approvers=approvers,
                request_id=request_id,
            )
            raise
        await self._audit_op(
            actor,
            op,
            decision,
            "ok",
            approvers=approvers,
            request_id=request_id,
            provider_ref=_provider_ref(after, resolved.deployment),
        )
        return reply

    async def _run_chain(
        self, actor: Actor, chain: Chain, slack: SlackIO, progress: Progress | None
    ) -> Outcome:
        first = chain.steps[0]
        resolved = await self.service.resolve(
            actor, chain.target, chain.provider, first.kind.capability
        )
        before = resolved.deployment
        # Run by the name people used (the status message shows it); store by id.
        named = chain.model_copy(update={"provider": resolved.provider.name})
        chain = chain.retarget(resolved.provider.name, before.id)
        steps = tuple(Step(s.kind.value, _risk(s, before)) for s in chain.steps)
        decision = await self._decide(actor, slack, resolved.provider.name, steps)
        if isinstance(decision, Deny):
            await self._audit_chain(actor, chain, "deny", "refused", detail=decision.reason)
            raise NotPermittedError(decision.reason, mrkdwn=True)
        if isinstance(decision, NeedsApproval):
            return await self._request(actor, chain, before, decision, slack)
        final = await self.service.run_chain(actor, named, progress or _ignore)
        await self._audit_chain(
            actor, chain, "allow", "error" if final.error else "ok", detail=_plain(final.text)
        )
        return Done(final)

    # -- accounts ----------------------------------------------------------------------------

    async def _account(self, actor: Actor, op: Operation, slack: SlackIO) -> Reply:
        assert op.provider is not None
        label = PROVIDER_LABEL[op.provider]
        if op.kind is OpKind.DISCONNECT:
            await self.authorize(actor, "disconnect", slack, what="disconnect a provider")
            removed = await self.service.disconnect(actor, op.provider)
            await self._audit(
                actor, "disconnect", "allow", "ok" if removed else "noop", provider=op.provider
            )
            if removed:
                return replies.notice(
                    f":electric_plug: <@{actor.user_id}> disconnected {label}; its key is deleted.",
                    public=True,
                )
            return replies.notice(f"{label} wasn't connected.")
        raise ServiceError("Connect a provider with `/deploy connect <provider>`.")

    async def _watch(self, actor: Actor, op: Operation, slack: SlackIO) -> Reply:
        """Watching only posts what anyone may read; the alert thresholds are admin settings."""
        if op.kind is OpKind.WATCH and op.topic == "settings" and op.filters:
            await self.authorize(actor, "watch.settings", slack, what="change alert thresholds")
            await self._audit(actor, "watch.settings", "allow", "ok", params=dict(op.filters))
        elif op.provider is not None:
            await self._check_read(actor, op)
        reply: Reply = await self.watches.execute(actor, op)
        return reply

    async def record_connect(self, actor: Actor, provider: str, key_hint: str) -> None:
        await self._audit(
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
    ) -> Pending:
        pending = await self._file(
            actor,
            kind="chain" if isinstance(op, Chain) else "operation",
            payload=op.model_dump_json(),
            provider=op.provider,
            target=before.id if before else op.target,
            summary=msg.summarize(op, before),
            reason=op.reason,
            decision=decision,
            slack=slack,
        )
        if not pending.duplicate:
            await self._audit_request(actor, op, decision, pending.request_id)
        return pending

    async def _file(
        self,
        actor: Actor,
        *,
        kind: str,
        payload: str,
        provider: str | None,
        target: str | None,
        summary: str,
        reason: str | None,
        decision: NeedsApproval,
        slack: SlackIO,
    ) -> Pending:
        """Store the request, post it in the channel and DM the approvers."""
        rule, now = decision.rule, self.clock()
        expires = now + timedelta(minutes=rule.expiry_minutes)
        open_key = hashlib.sha256(
            f"{actor.enterprise_id or ''}:{actor.team_id}:{kind}:{payload}".encode()
        ).hexdigest()[:64]
        row = await self.approvals.create(
            NewRequest(
                team_id=actor.team_id,
                enterprise_id=actor.enterprise_id,
                channel_id=actor.channel_id,
                requester_id=actor.user_id,
                kind=kind,
                operation=payload,
                provider=provider,
                deployment_id=target,
                summary=summary,
                risk=decision.risk.value,
                rule=rule.model_dump_json(),
                reason=reason,
                expires_at=expires,
                next_reminder_at=next_reminder(now, expires, 0),
                open_key=open_key,
            )
        )
        if row is None:  # the same request is already open: point there
            waiting = await self.approvals.by_open_key(open_key)
            where = (
                f" in <#{waiting.message_channel}>" if waiting and waiting.message_channel else ""
            )
            return Pending(
                reply=Reply(
                    text=f":hourglass_flowing_sand: The same request already waits for approval"
                    f"{where} (`/deploy approvals`)."
                ),
                request_id=waiting.id if waiting else "",
                duplicate=True,
            )
        view = self._view(row, [])
        approvers = await self._approver_ids(row, rule, slack)
        message = msg.request_message(view)
        if not approvers:
            assert message.blocks is not None
            message.blocks.insert(
                2,
                section(
                    ":information_source: Nobody else can approve this yet. An admin can name "
                    "approvers (`/deploy policy "
                    f"{decision.risk.value} approve by @person`), allow self-approval "
                    f"(`… approve self`), or make someone an admin (`/deploy role grant @person "
                    "admin`)."
                ),
            )
        posted = await slack.post(actor.channel_id, message) if actor.channel_id else None
        if posted is None:  # not in that channel, or a DM: keep the request with the requester
            posted = await slack.post(actor.user_id, message)
        if posted is not None:
            await self.approvals.set_message(row.id, posted.channel, posted.ts)
        dm = msg.dm_message(view, posted.channel if posted else actor.channel_id)
        for user in approvers[:MAX_DMS]:
            await slack.dm(user, dm)
        where = f"<#{posted.channel}>" if posted and posted.channel == actor.channel_id else "here"
        text = (
            f":hourglass_flowing_sand: This needs approval by {approvers_text(rule)}: "
            f"I posted the request {where}. It expires {msg.when(expires)}."
        )
        return Pending(reply=Reply(text=text), request_id=row.id)

    # -- creating deployments (the create service does the work; the gate decides) ----------

    async def create(self, actor: Actor, request_id: str, slack: SlackIO) -> Outcome:
        """A confirmed create form: a spend. Filed for approval at most once per form."""
        creator = self._creator()

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
    ) -> Outcome:
        """Decide on an operation on a create request (create, accept a bid, close), then run
        it, file it for approval, or refuse — with its audit row."""
        row = await self._creator().store.get(request_id)
        if row is None or row.team_id != actor.team_id:
            raise ServiceError(
                "That deployment request no longer exists; start again with `/deploy create`."
            )
        decision = await self._decide(actor, slack, row.provider, (step,))
        where: dict[str, Any] = {
            "provider": row.provider,
            "target": row.deployment_id,
            "params": params,
        }
        if isinstance(decision, Deny):
            await self._audit(actor, step.kind, "deny", "refused", detail=decision.reason, **where)
            raise NotPermittedError(decision.reason, mrkdwn=True)
        if isinstance(decision, NeedsApproval):
            if claim is not None and not await claim():
                raise ServiceError("This deployment was already submitted.")
            pending = await self._file(
                actor,
                kind=kind,
                payload=json.dumps(params),
                provider=row.provider,
                target=request_id,
                summary=escape(await summary(row)),
                reason=None,
                decision=decision,
                slack=slack,
            )
            if not pending.duplicate:
                await self._audit(
                    actor,
                    step.kind,
                    "approval",
                    "pending",
                    request_id=pending.request_id,
                    **where,
                )
            return pending
        return Done(await run())

    async def _spend_create(
        self, actor: Actor, request_id: str, decision: str, approvers: Sequence[str]
    ) -> Reply:
        creator = self._creator()
        row = await creator.submit(actor, request_id)
        ok = row.state not in ("failed",)
        await self._audit(
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
        return await self._gate_request(
            actor,
            slack,
            request_id=request_id,
            kind="accept",
            step=Step("accept", Risk.SPEND),
            params={"request": request_id, "bid": bid_key},
            summary=lambda row: creator.describe(request_id, bid_key),
            run=lambda: self._spend_accept(actor, request_id, bid_key, "allow", ()),
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
            await self._audit(
                actor,
                "accept",
                decision,
                "error",
                params={"request": request_id, "bid": bid_key},
                approvers=approvers,
                detail=getattr(exc, "message", str(exc)),
            )
            raise
        await self._audit(
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
        await self._audit(
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

    def _creator(self) -> Any:
        if self.creator is None:
            raise ServiceError("Creating deployments isn't available here.")
        return self.creator

    async def _approver_ids(
        self, row: ApprovalRequest, rule: ApprovalRule, slack: SlackIO
    ) -> list[str]:
        """The people who may approve (for DMs): named users, group members, admins."""
        people: list[str] = []
        grants = await self.access.grants(row.team_id, row.enterprise_id or None)
        explicit = {g.subject_id: g.role for g in grants if g.subject_type == "user"}
        for entry in rule.approvers:
            if entry == ADMINS:
                people += [u for u, r in explicit.items() if r is Role.ADMIN]
                for g in grants:
                    if g.subject_type == "usergroup" and g.role is Role.ADMIN:
                        people += sorted(await slack.group_members(g.subject_id))
                people += [u for u in await slack.slack_admins() if u not in explicit]
            elif is_group_id(entry):
                people += sorted(await slack.group_members(entry))
            else:
                people.append(entry)
        unique = list(dict.fromkeys(people))
        if not rule.self_approval:
            unique = [u for u in unique if u != row.requester_id]
        return unique

    def view_of(self, row: ApprovalRequest) -> msg.ApprovalView:
        return self._view(row, [])

    def _view(self, row: ApprovalRequest, voters: Sequence[str]) -> msg.ApprovalView:
        return msg.ApprovalView(
            request_id=row.id,
            requester_id=row.requester_id,
            summary=row.summary,
            risk=Risk(row.risk),
            rule=ApprovalRule.model_validate_json(row.rule),
            state=row.state,
            expires_at=row.expires_at,
            voters=voters,
            reason=row.reason,
            decided_by=row.decided_by,
            decision_note=row.decision_note,
            result=row.result,
        )

    async def _refresh(self, request_id: str, slack: SlackIO) -> ApprovalRequest | None:
        """Edit the request message to show the request as it is now."""
        row = await self.approvals.get(request_id)
        if row is None or not row.message_ts or not row.message_channel:
            return row
        view = self._view(row, await self.approvals.voters(row.id))
        message = (
            msg.request_message(view) if row.state == states.PENDING else msg.outcome_message(view)
        )
        await slack.update(row.message_channel, row.message_ts, message)
        return row

    async def approve(self, actor: Actor, request_id: str, slack: SlackIO) -> str | None:
        """An Approve click. Returns a note for the clicker only (None: the message says it)."""
        row = await self.approvals.get(request_id)
        if row is None or row.team_id != actor.team_id:
            return "This request no longer exists."
        if row.state != states.PENDING:
            return f"This request is already {row.state}."
        now = self.clock()
        if row.expires_at <= now:
            await self._expire(row, slack)
            return "This request has expired; ask again if it is still needed."
        rule = ApprovalRule.model_validate_json(row.rule)
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        groups = {a for a in rule.approvers if is_group_id(a)}
        person = await self.person(actor, slack, policy, extra_groups=groups)
        why = can_approve(
            Approver(actor.user_id, person.role, person.groups), row.requester_id, rule
        )
        if why:
            await self._audit(actor, "approve", "deny", "refused", detail=why, request_id=row.id)
            return f"You can't approve this: {why}"
        if not await self.approvals.vote(row.id, actor.user_id):
            return "You have already approved this."
        await self._audit(actor, "approve", "vote", "counted", request_id=row.id)
        voters = await self.approvals.voters(row.id)
        if not quorum_met(voters, row.requester_id, rule):
            await self._refresh(row.id, slack)
            counted = [v for v in voters if rule.self_approval or v != row.requester_id]
            return f"Thanks: {len(counted)} of {rule.quorum} approvals so far."
        won = await self.approvals.transition(
            row.id,
            from_states=[states.PENDING],
            to=states.APPROVED,
            unexpired_at=now,
            decided_at=now,
            decided_by=actor.user_id,
        )
        if not won:
            fresh = await self.approvals.get(row.id)
            if fresh is not None and fresh.state == states.PENDING:  # expired meanwhile
                await self._expire(fresh, slack)
                return "This request has expired; ask again if it is still needed."
            return None
        await self._carry_out(row.id, voters, slack)
        return None

    async def _carry_out(self, request_id: str, voters: list[str], slack: SlackIO) -> None:
        """Run an approved request (only the caller that won the approval gets here)."""
        row = await self._refresh(request_id, slack)
        assert row is not None
        actor = Actor(
            team_id=row.team_id,
            user_id=row.requester_id,
            enterprise_id=row.enterprise_id or None,
            channel_id=row.channel_id,
        )
        approvers = [v for v in voters if v != row.requester_id] or voters
        state = states.DONE
        try:
            if row.kind in SPEND_KINDS:
                reply = await self._carry_out_spend(row, actor, approvers)
                state = states.FAILED if reply.error else states.DONE
            elif row.kind == "chain":
                chain = Chain.model_validate_json(row.operation)
                reply = await self.service.run_chain(actor, chain, _ignore)
                state = states.FAILED if reply.error else states.DONE
                await self._audit_chain(
                    actor,
                    chain,
                    "approved",
                    "error" if reply.error else "ok",
                    approvers=approvers,
                    request_id=row.id,
                    detail=_plain(reply.text),
                )
            else:
                op = Operation.model_validate_json(row.operation)
                assert op.kind.capability is not None
                resolved = await self.service.resolve(
                    actor, op.target or "", op.provider, op.kind.capability
                )
                reply = await self._execute(
                    actor,
                    op,
                    resolved,
                    decision="approved",
                    approvers=approvers,
                    request_id=row.id,
                )
        except Exception as exc:
            if not isinstance(exc, ServiceError | ProviderError):
                log.error("approved operation failed: %s", type(exc).__name__, exc_info=exc)
            reply = error_reply(exc)
            state = states.FAILED
        await self.approvals.transition(
            row.id, from_states=[states.APPROVED], to=state, result=_plain(reply.text)[:4000]
        )
        row = await self._refresh(row.id, slack)
        if row is not None and row.message_ts and row.message_channel:
            reply.public = True
            await slack.post(row.message_channel, reply, thread_ts=row.message_ts)

    async def _carry_out_spend(
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

    async def deny(
        self, actor: Actor, request_id: str, note: str | None, slack: SlackIO
    ) -> str | None:
        """A Deny (with an optional reason). Returns why it can't, or None when denied."""
        row = await self.approvals.get(request_id)
        if row is None or row.team_id != actor.team_id:
            return "This request no longer exists."
        if row.state != states.PENDING:
            return f"This request is already {row.state}."
        why = await self.why_not_approver(actor, row, slack)
        if why:
            return f"You can't deny this: {why}"
        now = self.clock()
        won = await self.approvals.transition(
            row.id,
            from_states=[states.PENDING],
            to=states.DENIED,
            decided_at=now,
            decided_by=actor.user_id,
            decision_note=(note or None) and note[:500],
        )
        if not won:
            return "Someone decided this request a moment ago."
        await self._audit(
            actor, "deny", "deny", "denied", detail=note, request_id=row.id, provider=row.provider
        )
        row = await self._refresh(row.id, slack)
        if row is not None and row.message_ts and row.message_channel:
            why_text = f": “{escape(note)}”" if note else "."
            await slack.post(
                row.message_channel,
                Reply(text=f"<@{row.requester_id}>, <@{actor.user_id}> denied this{why_text}"),
                thread_ts=row.message_ts,
            )
        return None

    async def why_not_approver(
        self, actor: Actor, row: ApprovalRequest, slack: SlackIO
    ) -> str | None:
        rule = ApprovalRule.model_validate_json(row.rule)
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        groups = {a for a in rule.approvers if is_group_id(a)}
        person = await self.person(actor, slack, policy, extra_groups=groups)
        if actor.user_id == row.requester_id:
            return "it is your own request: cancel it instead."
        return can_approve(
            Approver(actor.user_id, person.role, person.groups), row.requester_id, rule
        )

    async def cancel(self, actor: Actor, request_id: str, slack: SlackIO) -> str | None:
        row = await self.approvals.get(request_id)
        if row is None or row.team_id != actor.team_id:
            return "This request no longer exists."
        if actor.user_id != row.requester_id:
            return f"Only <@{row.requester_id}>, who asked, can cancel this request."
        won = await self.approvals.transition(
            row.id,
            from_states=[states.PENDING],
            to=states.CANCELLED,
            decided_at=self.clock(),
            decided_by=actor.user_id,
        )
        if not won:
            return f"This request is already {row.state if row.state != 'pending' else 'decided'}."
        await self._audit(actor, "cancel", "cancel", "cancelled", request_id=row.id)
        await self._refresh(row.id, slack)
        return None

    async def _expire(self, row: ApprovalRequest, slack: SlackIO) -> bool:
        won = await self.approvals.transition(
            row.id,
            from_states=[states.PENDING],
            to=states.EXPIRED,
            decided_at=self.clock(),
        )
        if not won:
            return False
        actor = Actor(row.team_id, row.requester_id, row.enterprise_id or None, row.channel_id)
        await self._audit(actor, "expire", "expire", "expired", request_id=row.id)
        fresh = await self._refresh(row.id, slack)
        if fresh is not None and fresh.message_ts and fresh.message_channel:
            await slack.post(
                fresh.message_channel,
                Reply(
                    text=f"<@{row.requester_id}>, this request expired without approval; "
                    "ask again if it is still needed."
                ),
                thread_ts=fresh.message_ts,
            )
        return True

    async def sweep(
        self, slack_for: Callable[[str, str | None], Awaitable[SlackIO | None]]
    ) -> dict[str, int]:
        """Expire what is due, send due reminders, fail what died mid-run. Safe on every
        replica at once: each step is a conditional UPDATE that one replica wins."""
        now = self.clock()
        done = {"expired": 0, "reminded": 0, "interrupted": 0}
        for row in await self.approvals.due_for_expiry(now):
            slack = await slack_for(row.team_id, row.enterprise_id or None)
            if slack is not None and await self._expire(row, slack):
                done["expired"] += 1
        for row in await self.approvals.due_for_reminder(now):
            upcoming = next_reminder(row.created_at, row.expires_at, row.reminders_sent + 1)
            if not await self.approvals.claim_reminder(row, upcoming):
                continue
            slack = await slack_for(row.team_id, row.enterprise_id or None)
            if slack is None:
                continue
            rule = ApprovalRule.model_validate_json(row.rule)
            voters = await self.approvals.voters(row.id)
            reminder = msg.reminder_message(self._view(row, voters), row.message_channel, now)
            for user in (await self._approver_ids(row, rule, slack))[:MAX_DMS]:
                if user not in voters:
                    await slack.dm(user, reminder)
            done["reminded"] += 1
        for row in await self.approvals.stuck(now - STUCK_AFTER):
            text = (
                "deploybot stopped while running this, so it may or may not have happened: "
                "check the deployment before asking again."
            )
            if await self.approvals.transition(
                row.id, from_states=[states.APPROVED], to=states.FAILED, result=text
            ):
                done["interrupted"] += 1
                slack = await slack_for(row.team_id, row.enterprise_id or None)
                if slack is not None:
                    fresh = await self._refresh(row.id, slack)
                    if fresh and fresh.message_channel and fresh.message_ts:
                        await slack.post(
                            fresh.message_channel, Reply(text=text), thread_ts=fresh.message_ts
                        )
        return done

    async def pending_reply(self, actor: Actor) -> Reply:
        rows = await self.approvals.pending(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id
        )
        return msg.pending_reply(
            [(r.requester_id, r.summary, r.channel_id or "", r.expires_at) for r in rows]
        )

    async def waiting_for(self, actor: Actor, slack: SlackIO) -> list[ApprovalRequest]:
        """Pending requests this person could approve (for App Home)."""
        out: list[ApprovalRequest] = []
        rows = await self.approvals.pending(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id
        )
        for row in rows:
            if row.requester_id != actor.user_id and not await self.why_not_approver(
                actor, row, slack
            ):
                out.append(row)
        return out

    # -- roles, policy, audit ----------------------------------------------------------------

    # -- audit rows --------------------------------------------------------------------------

    async def _audit(
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
            await self.audit.append(
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
                    detail=_plain(detail) if detail else None,
                    provider_ref=provider_ref,
                    request_id=request_id,
                )
            )
        except Exception:
            # The operation already happened: losing its audit row must be loud, not fatal.
            log.exception("could not write the audit row for %s", action)

    async def _audit_op(
        self,
        actor: Actor,
        op: Operation,
        decision: str,
        result: str,
        **fields: Any,
    ) -> None:
        params = op.params()
        params.pop("provider", None)
        params.pop("target", None)
        if "definition" in params:  # a whole job definition / SDL: keep its size, not its text
            params["definition"] = f"{len(op.definition or '')} characters"
        if op.reason:
            params["reason"] = op.reason
        await self._audit(
            actor,
            op.kind.value,
            decision,
            result,
            provider=op.provider,
            target=op.target,
            params=params,
            **fields,
        )

    async def _audit_chain(
        self, actor: Actor, chain: Chain, decision: str, result: str, **fields: Any
    ) -> None:
        params: dict[str, Any] = {"steps": [_step_params(s) for s in chain.steps]}
        if chain.reason:
            params["reason"] = chain.reason
        await self._audit(
            actor,
            "chain",
            decision,
            result,
            provider=chain.provider,
            target=chain.target,
            params=params,
            **fields,
        )

    async def _audit_request(
        self, actor: Actor, op: Operation | Chain, decision: NeedsApproval, request_id: str
    ) -> None:
        rule = json.dumps(decision.rule.model_dump(mode="json"))
        if isinstance(op, Chain):
            await self._audit_chain(
                actor, op, "approval", "pending", detail=rule, request_id=request_id
            )
        else:
            await self._audit_op(
                actor, op, "approval", "pending", detail=rule, request_id=request_id
            )


def _risk(op: Operation, before: Deployment) -> Risk:
    minutes = before.extras.get("timeout_minutes")
    return classify(
        op.kind.value,
        replicas=op.replicas,
        current_replicas=before.replicas,
        minutes=op.minutes,
        current_minutes=minutes if isinstance(minutes, int) else None,
    )


def _step_params(op: Operation) -> dict[str, Any]:
    params = op.params()
    params.pop("provider", None)
    params.pop("target", None)
    return {"op": op.kind.value, **params}


def _provider_ref(after: Deployment | None, before: Deployment) -> str:
    if after is not None:
        for key in ("tx", "request_id", "job", "revision"):
            value = after.extras.get(key)
            if value:
                return f"{key}:{value}"
        if after.active_revision is not None:
            return f"{after.id}@r{after.active_revision}"
        return after.id
    return before.id


def _plain(text: str | None) -> str:
    return (text or "").replace("\n", " ")[:2000]


async def _ignore(reply: Reply) -> None:
    return None


__all__ = ["Done", "Gate", "Outcome", "Pending", "next_reminder"]
