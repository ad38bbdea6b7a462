"""The approval lifecycle: file a request, count votes, deny, cancel, expire, remind,
supersede and conclude. Running what was approved is the pipeline's job (bot/services/gate.py).

Exactly-once rests on the database: votes have a unique (request, person) constraint and a
request moves ``pending → approved`` with a conditional UPDATE that only one caller wins.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.core import approvals as msg
from bot.core import fmt
from bot.core.policy import (
    ADMINS,
    ApprovalRule,
    Approver,
    NeedsApproval,
    Risk,
    Role,
    approvers_text,
    can_approve,
    is_group_id,
    quorum_met,
)
from bot.core.render import escape
from bot.core.replies import Reply, section
from bot.db import approvals as states
from bot.db.access import AccessStore
from bot.db.approvals import ApprovalStore, NewRequest
from bot.db.models import ApprovalRequest
from bot.services.audit_trail import AuditTrail, plain
from bot.services.deployments import Actor
from bot.services.people import People
from bot.services.slack_io import SlackIO

log = logging.getLogger("deploybot.approvals")

#: First reminder after this long (or half the window, if shorter); then doubling.
FIRST_REMINDER = timedelta(minutes=10)
#: An approved request still running after this long died with its replica.
STUCK_AFTER = timedelta(minutes=15)
MAX_DMS = 20


def _now() -> datetime:
    return datetime.now(UTC)


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


def requester_of(row: ApprovalRequest) -> Actor:
    """The person who asked, in the channel they asked from."""
    return Actor(
        team_id=row.team_id,
        user_id=row.requester_id,
        enterprise_id=row.enterprise_id or None,
        channel_id=row.channel_id,
    )


@dataclass(frozen=True)
class Filed:
    """A request is open for approval; ``reply`` tells the requester where."""

    reply: Reply
    request_id: str
    #: The same request was already open (nothing new was filed).
    duplicate: bool = False


@dataclass(frozen=True)
class Quorum:
    """This vote completed the quorum and won the request: run it now."""

    row: ApprovalRequest
    voters: list[str]


@dataclass(frozen=True)
class NewFiling:
    """What to file: the operation as JSON, what it targets and how to describe it."""

    kind: str
    payload: str
    provider: str | None
    target: str | None
    summary: str
    reason: str | None


class ApprovalLifecycle:
    def __init__(
        self,
        approvals: ApprovalStore,
        access: AccessStore,
        people: People,
        audit: AuditTrail,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.approvals = approvals
        self.access = access
        self.people = people
        self.audit = audit
        self.clock = clock

    # -- filing --------------------------------------------------------------------------------

    async def file(
        self, actor: Actor, new: NewFiling, decision: NeedsApproval, slack: SlackIO
    ) -> Filed:
        """Store the request, post it in the channel and DM the approvers. Older open requests
        for the same deployment are superseded."""
        rule, now = decision.rule, self.clock()
        expires = now + timedelta(minutes=rule.expiry_minutes)
        open_key = hashlib.sha256(
            f"{actor.enterprise_id or ''}:{actor.team_id}:{new.kind}:{new.payload}".encode()
        ).hexdigest()[:64]
        row = await self.approvals.create(
            NewRequest(
                team_id=actor.team_id,
                enterprise_id=actor.enterprise_id,
                channel_id=actor.channel_id,
                requester_id=actor.user_id,
                kind=new.kind,
                operation=new.payload,
                provider=new.provider,
                deployment_id=new.target,
                summary=new.summary,
                risk=decision.risk.value,
                rule=rule.model_dump_json(),
                reason=new.reason,
                expires_at=expires,
                next_reminder_at=next_reminder(now, expires, 0),
                open_key=open_key,
            )
        )
        if row is None:  # the same request is already open: point there
            return await self._already_open(open_key)
        await self._supersede_older(row, slack)
        posted = await self._post_request(actor, row, rule, decision.risk, slack)
        text = (
            f":hourglass_flowing_sand: This needs approval by {approvers_text(rule)}: "
            f"{_posted_where(posted, actor)} It expires {msg.when(expires)}."
        )
        return Filed(reply=Reply(text=text), request_id=row.id)

    async def _already_open(self, open_key: str) -> Filed:
        waiting = await self.approvals.by_open_key(open_key)
        where = f" in <#{waiting.message_channel}>" if waiting and waiting.message_channel else ""
        return Filed(
            reply=Reply(
                text=f":hourglass_flowing_sand: The same request already waits for approval"
                f"{where} (`/deploy approvals`)."
            ),
            request_id=waiting.id if waiting else "",
            duplicate=True,
        )

    async def _post_request(
        self, actor: Actor, row: ApprovalRequest, rule: ApprovalRule, risk: Risk, slack: SlackIO
    ) -> str | None:
        """Post the request where it was asked (or to the requester) and DM the approvers;
        returns the channel it was posted in."""
        view = self.view(row, [])
        approvers = await self.approver_ids(row, rule, slack)
        message = msg.request_message(view)
        if not approvers:
            message = _with_nobody_hint(message, risk)
        posted = await slack.post(actor.channel_id, message) if actor.channel_id else None
        if posted is None:  # not in that channel, or a DM: keep the request with the requester
            posted = await slack.post(actor.user_id, message)
        if posted is not None:
            await self.approvals.set_message(row.id, posted.channel, posted.ts)
        dm = msg.dm_message(view, posted.channel if posted else actor.channel_id)
        for user in approvers[:MAX_DMS]:
            await slack.dm(user, dm)
        return posted.channel if posted else None

    async def _supersede_older(self, row: ApprovalRequest, slack: SlackIO) -> None:
        """A new request for a deployment cancels the older open ones for it, with a note."""
        if not row.deployment_id:
            return
        for old in await self.approvals.open_for(
            row.team_id, row.enterprise_id or None, row.deployment_id
        ):
            if old.id == row.id:
                continue
            note = f"a newer request from <@{row.requester_id}> replaced it"
            await self.conclude(old, states.SUPERSEDED, note, slack, from_states=[states.PENDING])

    # -- who may approve -------------------------------------------------------------------------

    async def approver_ids(
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

    async def _why_not(self, actor: Actor, row: ApprovalRequest, slack: SlackIO) -> str | None:
        rule = ApprovalRule.model_validate_json(row.rule)
        policy = await self.access.policy(actor.team_id, actor.enterprise_id)
        groups = {a for a in rule.approvers if is_group_id(a)}
        person = await self.people.person(actor, slack, policy, extra_groups=groups)
        return can_approve(
            Approver(actor.user_id, person.role, person.groups), row.requester_id, rule
        )

    async def why_not_approver(
        self, actor: Actor, row: ApprovalRequest, slack: SlackIO
    ) -> str | None:
        if actor.user_id == row.requester_id:
            return "it is your own request: cancel it instead."
        return await self._why_not(actor, row, slack)

    # -- the message -----------------------------------------------------------------------------

    def view(self, row: ApprovalRequest, voters: Sequence[str]) -> msg.ApprovalView:
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

    async def refresh(self, request_id: str, slack: SlackIO) -> ApprovalRequest | None:
        """Edit the request message to show the request as it is now."""
        row = await self.approvals.get(request_id)
        if row is None or not row.message_ts or not row.message_channel:
            return row
        view = self.view(row, await self.approvals.voters(row.id))
        message = (
            msg.request_message(view) if row.state == states.PENDING else msg.outcome_message(view)
        )
        await slack.update(row.message_channel, row.message_ts, message)
        return row

    async def say_in_thread(self, row: ApprovalRequest | None, text: str, slack: SlackIO) -> None:
        if row is not None and row.message_ts and row.message_channel:
            await slack.post(
                row.message_channel, Reply(text=text, public=True), thread_ts=row.message_ts
            )

    # -- votes and decisions ---------------------------------------------------------------------

    async def open_row(self, actor: Actor, request_id: str) -> ApprovalRequest | str:
        """The request if it is still open in this workspace, else why not (for the clicker)."""
        row = await self.approvals.get(request_id)
        if row is None or row.team_id != actor.team_id:
            return "This request no longer exists."
        if row.state != states.PENDING:
            return f"This request is already {msg.state_words(row.state)}."
        return row

    async def vote(self, actor: Actor, request_id: str, slack: SlackIO) -> Quorum | str | None:
        """An Approve click: a note for the clicker, None (the message says it), or the
        Quorum this vote completed — the caller then runs the request."""
        row = await self.open_row(actor, request_id)
        if isinstance(row, str):
            return row
        now = self.clock()
        if row.expires_at <= now:
            await self.expire(row, slack)
            return "This request has expired; ask again if it is still needed."
        why = await self._why_not(actor, row, slack)
        if why:
            await self.audit.record(
                actor, "approve", "deny", "refused", detail=why, request_id=row.id
            )
            return f"You can't approve this: {why}"
        if not await self.approvals.vote(row.id, actor.user_id):
            return "You have already approved this."
        await self.audit.record(actor, "approve", "vote", "counted", request_id=row.id)
        voters = await self.approvals.voters(row.id)
        rule = ApprovalRule.model_validate_json(row.rule)
        if not quorum_met(voters, row.requester_id, rule):
            await self.refresh(row.id, slack)
            counted = [v for v in voters if rule.self_approval or v != row.requester_id]
            return f"Thanks: {len(counted)} of {rule.quorum} approvals so far."
        return await self._win(actor, row, voters, slack, now)

    async def _win(
        self,
        actor: Actor,
        row: ApprovalRequest,
        voters: list[str],
        slack: SlackIO,
        now: datetime,
    ) -> Quorum | str | None:
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
                await self.expire(fresh, slack)
                return "This request has expired; ask again if it is still needed."
            return None
        return Quorum(row, voters)

    async def deny(
        self, actor: Actor, request_id: str, note: str | None, slack: SlackIO
    ) -> str | None:
        """A Deny (with an optional reason). Returns why it can't, or None when denied."""
        row = await self.open_row(actor, request_id)
        if isinstance(row, str):
            return row
        why = await self.why_not_approver(actor, row, slack)
        if why:
            return f"You can't deny this: {why}"
        won = await self.approvals.transition(
            row.id,
            from_states=[states.PENDING],
            to=states.DENIED,
            decided_at=self.clock(),
            decided_by=actor.user_id,
            decision_note=(note or None) and note[:500],
        )
        if not won:
            return "Someone decided this request a moment ago."
        await self.audit.record(
            actor, "deny", "deny", "denied", detail=note, request_id=row.id, provider=row.provider
        )
        why_text = f": “{escape(note)}”" if note else "."
        await self.say_in_thread(
            await self.refresh(row.id, slack),
            f"<@{row.requester_id}>, <@{actor.user_id}> denied this{why_text}",
            slack,
        )
        return None

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
            return f"This request is already {msg.state_words(row.state, decided=True)}."
        await self.audit.record(actor, "cancel", "cancel", "cancelled", request_id=row.id)
        await self.refresh(row.id, slack)
        return None

    async def conclude(
        self,
        row: ApprovalRequest,
        state: str,
        note: str,
        slack: SlackIO,
        *,
        from_states: Sequence[str] = (states.APPROVED,),
    ) -> bool:
        """End a request without running it (superseded, no longer applicable, resolved by a
        policy change): the message shows why and the thread says so."""
        won = await self.approvals.transition(
            row.id,
            from_states=list(from_states),
            to=state,
            decided_at=self.clock(),
            decision_note=note[:500],
            result=plain(note)[:4000],
        )
        if not won:
            return False
        await self.audit.record(
            requester_of(row), state, state, state, detail=note, request_id=row.id
        )
        fresh = await self.refresh(row.id, slack)
        said = f"<@{row.requester_id}>, {msg.state_words(state)}: {note}"
        await self.say_in_thread(fresh, said, slack)
        return True

    async def finish(self, row: ApprovalRequest, state: str, result: str, slack: SlackIO) -> None:
        """An approved request ran: record how it went and edit the message."""
        await self.approvals.transition(
            row.id, from_states=[states.APPROVED], to=state, result=plain(result)[:4000]
        )
        await self.refresh(row.id, slack)

    async def expire(self, row: ApprovalRequest, slack: SlackIO) -> bool:
        won = await self.approvals.transition(
            row.id,
            from_states=[states.PENDING],
            to=states.EXPIRED,
            decided_at=self.clock(),
        )
        if not won:
            return False
        await self.audit.record(requester_of(row), "expire", "expire", "expired", request_id=row.id)
        await self.say_in_thread(
            await self.refresh(row.id, slack),
            f"<@{row.requester_id}>, this request expired without approval; "
            "ask again if it is still needed.",
            slack,
        )
        return True

    # -- the sweeper -----------------------------------------------------------------------------

    async def sweep(
        self, slack_for: Callable[[str, str | None], Awaitable[SlackIO | None]]
    ) -> dict[str, int]:
        """Expire what is due, send due reminders, fail what died mid-run. Safe on every
        replica at once: each step is a conditional UPDATE that one replica wins."""
        now = self.clock()
        done = {"expired": 0, "reminded": 0, "interrupted": 0}
        for row in await self.approvals.due_for_expiry(now):
            slack = await slack_for(row.team_id, row.enterprise_id or None)
            if slack is not None and await self.expire(row, slack):
                done["expired"] += 1
        for row in await self.approvals.due_for_reminder(now):
            if await self._remind(row, now, slack_for):
                done["reminded"] += 1
        for row in await self.approvals.stuck(now - STUCK_AFTER):
            if await self._interrupted(row, slack_for):
                done["interrupted"] += 1
        return done

    async def _remind(
        self,
        row: ApprovalRequest,
        now: datetime,
        slack_for: Callable[[str, str | None], Awaitable[SlackIO | None]],
    ) -> bool:
        upcoming = next_reminder(row.created_at, row.expires_at, row.reminders_sent + 1)
        if not await self.approvals.claim_reminder(row, upcoming):
            return False
        slack = await slack_for(row.team_id, row.enterprise_id or None)
        if slack is None:
            return False
        rule = ApprovalRule.model_validate_json(row.rule)
        voters = await self.approvals.voters(row.id)
        reminder = msg.reminder_message(self.view(row, voters), row.message_channel, now)
        for user in (await self.approver_ids(row, rule, slack))[:MAX_DMS]:
            if user not in voters:
                await slack.dm(user, reminder)
        return True

    async def _interrupted(
        self,
        row: ApprovalRequest,
        slack_for: Callable[[str, str | None], Awaitable[SlackIO | None]],
    ) -> bool:
        text = (
            "deploybot stopped while running this, so it may or may not have happened: "
            "check the deployment before asking again."
        )
        if not await self.approvals.transition(
            row.id, from_states=[states.APPROVED], to=states.FAILED, result=text
        ):
            return False
        slack = await slack_for(row.team_id, row.enterprise_id or None)
        if slack is not None:
            await self.say_in_thread(await self.refresh(row.id, slack), text, slack)
        return True

    # -- lists -----------------------------------------------------------------------------------

    async def pending_reply(self, actor: Actor) -> Reply:
        rows = await self.approvals.pending(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id
        )
        return msg.pending_reply(
            [(r.id, r.requester_id, r.summary, r.channel_id or "", r.expires_at) for r in rows]
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


def _posted_where(posted: str | None, actor: Actor) -> str:
    """Where the request message went, as a sentence: the channel, a DM, or nowhere."""
    if posted is None:
        return "I could not post the request; it is listed in `/deploy approvals`."
    if posted == actor.channel_id and not posted.startswith("D"):
        return f"I posted the request in {fmt.channel(posted)}."
    return "I posted the request in a direct message to you."


def _with_nobody_hint(message: Reply, risk: Risk) -> Reply:
    """The request message, saying how to get out of "nobody else can approve this"."""
    hint = section(
        ":information_source: Nobody else can approve this yet. An admin can name "
        f"approvers (`/deploy policy {risk.value} approve by @person`), allow self-approval "
        "(`… approve self`), or make someone an admin (`/deploy role grant @person admin`)."
    )
    blocks = list(message.blocks or [])
    return Reply(  # just above the buttons, below however many sections the summary takes
        text=message.text,
        blocks=[*blocks[:-1], hint, *blocks[-1:]],
        public=message.public,
    )
