"""deploybot's own tables (Slack's installation/state tables belong to slack_sdk's stores)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ProviderKey(Base):
    """One workspace's API key for one provider, encrypted (Fernet token), never in plaintext."""

    __tablename__ = "provider_keys"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: Empty string (not NULL) outside Enterprise Grid, so the unique constraint holds.
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    encrypted_key: Mapped[str] = mapped_column(Text, nullable=False)
    #: The last characters of the key, for people to tell keys apart (``…abcd``).
    key_hint: Mapped[str] = mapped_column(String(16), nullable=False)
    connected_by: Mapped[str] = mapped_column(String(64), nullable=False)
    connected_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    last_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    def __repr__(self) -> str:
        return (
            f"ProviderKey(team_id={self.team_id!r}, provider={self.provider!r}, "
            f"key_hint={self.key_hint!r})"
        )


class RoleGrant(Base):
    """A role given to a person (``U…``) or a Slack user group (``S…``) in one workspace."""

    __tablename__ = "role_grants"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "subject_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    #: ``user`` or ``usergroup``.
    subject_type: Mapped[str] = mapped_column(String(16), nullable=False)
    subject_id: Mapped[str] = mapped_column(String(32), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    granted_by: Mapped[str] = mapped_column(String(32), nullable=False)
    granted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )


class WorkspacePolicyRow(Base):
    """A workspace's policy document (default role, rule overrides, channel scopes) as JSON."""

    __tablename__ = "workspace_policies"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    document: Mapped[str] = mapped_column(Text, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(32), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )


class ApprovalRequest(Base):
    """An operation waiting for approval. ``state`` only moves forward, by conditional UPDATEs:
    pending → approved → done | failed, or pending → denied | cancelled | expired."""

    __tablename__ = "approval_requests"
    __table_args__ = (Index("ix_approval_requests_state_expires_at", "state", "expires_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    requester_id: Mapped[str] = mapped_column(String(32), nullable=False)
    #: ``operation`` or ``chain`` (what ``operation`` holds, as JSON).
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    operation: Mapped[str] = mapped_column(Text, nullable=False)
    provider: Mapped[str | None] = mapped_column(String(16))
    deployment_id: Mapped[str | None] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, nullable=False)
    risk: Mapped[str] = mapped_column(String(16), nullable=False)
    rule: Mapped[str] = mapped_column(Text, nullable=False)
    reason: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), nullable=False, default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decision_note: Mapped[str | None] = mapped_column(Text)
    result: Mapped[str | None] = mapped_column(Text)
    message_channel: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    next_reminder_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminders_sent: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    #: Set while the request is open (pending or running), NULL once it is decided: the unique
    #: constraint keeps the same request from being filed twice at once (double clicks,
    #: Slack retries, two replicas).
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class ApprovalVote(Base):
    """One person's approval; the unique constraint makes double clicks count once."""

    __tablename__ = "approval_votes"
    __table_args__ = (UniqueConstraint("request_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("approval_requests.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[str] = mapped_column(String(32), nullable=False)
    voted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class AuditEntry(Base):
    """Append-only: each row carries the hash of the previous row of its workspace's chain."""

    __tablename__ = "audit_log"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    #: 1, 2, 3 … within the workspace; a gap means a deleted row.
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    user_id: Mapped[str] = mapped_column(String(32), nullable=False)
    channel_id: Mapped[str | None] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str | None] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[str] = mapped_column(Text, nullable=False, default="{}")
    decision: Mapped[str] = mapped_column(String(16), nullable=False)
    approvers: Mapped[str] = mapped_column(Text, nullable=False, default="[]")
    result: Mapped[str] = mapped_column(String(16), nullable=False)
    detail: Mapped[str | None] = mapped_column(Text)
    provider_ref: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(32))
    prev_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    hash: Mapped[str] = mapped_column(String(64), nullable=False)


class CreateRequest(Base):
    """One deployment to create, from the form's first submission to its lease.

    ``submission_key`` (the Slack view id of the form) makes a retried or doubled submission
    land on the same row; ``state`` moves only through conditional updates
    (draft → creating → created | bidding → leasing → leased, or failed / no_bids / closed),
    so the create and the lease each run once whichever replica handles the click.
    """

    __tablename__ = "create_requests"
    __table_args__ = (UniqueConstraint("submission_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    submission_key: Mapped[str] = mapped_column(String(200), nullable=False)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    channel_id: Mapped[str | None] = mapped_column(String(64))
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    state: Mapped[str] = mapped_column(String(16), nullable=False, index=True)
    #: The form as entered and the validated provider spec: JSON, encrypted with the key ring
    #: (env values may be tokens).
    form: Mapped[str] = mapped_column(Text, nullable=False)
    spec: Mapped[str] = mapped_column(Text, nullable=False)
    #: Cost estimate and balance pre-flight shown in the review (JSON).
    estimate: Mapped[str | None] = mapped_column(Text)
    deployment_id: Mapped[str | None] = mapped_column(String(128))
    #: What the provider gave back that later steps need (Akash: the manifest, which carries
    #: the env), JSON encrypted with the key ring.
    result: Mapped[str | None] = mapped_column(Text)
    #: Akash bids seen so far (JSON list) and the one accepted.
    bids: Mapped[str | None] = mapped_column(Text)
    accepted_bid: Mapped[str | None] = mapped_column(String(200))
    message_channel: Mapped[str | None] = mapped_column(String(64))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    error: Mapped[str | None] = mapped_column(Text)
    bid_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )


class CreateTemplate(Base):
    """A named, reusable create form (provider + form values; never keys), per workspace."""

    __tablename__ = "create_templates"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    #: The form values, JSON encrypted with the key ring (env values may be tokens).
    form: Mapped[str] = mapped_column(Text, nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )


class ProviderCertificate(Base):
    """A workspace's provider client certificate (Akash mTLS, older API), encrypted."""

    __tablename__ = "provider_certificates"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    encrypted: Mapped[str] = mapped_column(Text, nullable=False)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, nullable=False
    )


# -- watching deployments and channel notifications (see ``bot/watch``) ------------------------
# Times the watcher compares in SQL (leases, due times, pacing) are epoch seconds (floats), the
# same on SQLite and PostgreSQL.


class Watch(Base):
    """A channel watching one deployment, one provider's deployments, or all of them."""

    __tablename__ = "watches"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "team_id", "provider", "deployment_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False, index=True)
    #: Empty: every connected provider.
    provider: Mapped[str] = mapped_column(String(16), default="", nullable=False)
    #: Empty: every deployment of ``provider`` (including ones created later).
    deployment_id: Mapped[str] = mapped_column(String(128), default="", nullable=False)
    #: What people called it (a deployment's name), for ``/deploy watching``.
    label: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    channel_id: Mapped[str] = mapped_column(String(32), nullable=False)
    created_by: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)


class WatchSettings(Base):
    """Per-workspace alert thresholds."""

    __tablename__ = "watch_settings"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Akash: alert when a deployment's escrow lasts less than this many hours.
    runway_hours: Mapped[float] = mapped_column(Float, nullable=False)
    #: Nosana: alert when the account's credits fall below this many US dollars (0: off).
    credits_usd: Mapped[float] = mapped_column(Float, nullable=False)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


class WatchedState(Base):
    """The last known state of one deployment (or, with an empty id, of the account)."""

    __tablename__ = "watched_states"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "provider", "deployment_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    deployment_id: Mapped[str] = mapped_column(String(128), nullable=False)
    name: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    status: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Alerts currently triggered, comma-separated and sorted ("" when all is well).
    alerts: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    #: How many changes were recorded: the notification de-duplication sequence.
    seq: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    #: The provider no longer lists it (and a direct look-up said it is gone or final).
    gone: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    #: A digest of the raw list item's watched fields (and the thresholds): an item whose
    #: digest is unchanged is not normalized again (bot.watch.poller).
    fingerprint: Mapped[str] = mapped_column(
        String(32), default="", server_default="", nullable=False
    )
    #: What it costs per hour now, as last listed: its price while it runs (pending, starting,
    #: running, stopping), 0 otherwise; None when the provider does not say. The budget's burn
    #: is the sum over a key's rows that are not gone (bot/db/budget_store.py).
    cost_per_hour: Mapped[float | None] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


class NotificationOutbox(Base):
    """One notification to deliver: written with the state change, sent exactly once."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        UniqueConstraint(
            "enterprise_id", "team_id", "provider", "deployment_id", "channel_id", "seq"
        ),
        Index("ix_notification_outbox_pending", "state", "not_before"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    deployment_id: Mapped[str] = mapped_column(String(128), nullable=False)
    channel_id: Mapped[str] = mapped_column(String(32), nullable=False)
    seq: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The thread reply (mrkdwn) and its blocks (JSON), and the deployment's current card.
    text: Mapped[str] = mapped_column(Text, nullable=False)
    reply_blocks: Mapped[str | None] = mapped_column(Text)
    card: Mapped[str | None] = mapped_column(Text)
    #: pending → sent, or dropped after too many failures.
    state: Mapped[str] = mapped_column(String(16), default="pending", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    not_before: Mapped[float] = mapped_column(Float, nullable=False)
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    sent_at: Mapped[float | None] = mapped_column(Float)


class DeploymentMessage(Base):
    """The channel message that shows a deployment's card (edited in place by every replica)."""

    __tablename__ = "deployment_messages"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "team_id", "provider", "deployment_id", "channel_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    deployment_id: Mapped[str] = mapped_column(String(128), nullable=False)
    channel_id: Mapped[str] = mapped_column(String(32), nullable=False)
    ts: Mapped[str] = mapped_column(String(32), nullable=False)
    posted_at: Mapped[float] = mapped_column(Float, nullable=False)


class NotificationChannel(Base):
    """Per-channel delivery: which replica sends to it now, and when it may post next."""

    __tablename__ = "notification_channels"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "channel_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    channel_id: Mapped[str] = mapped_column(String(32), nullable=False)
    next_post_at: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)


class PollLease(Base):
    """One (workspace, provider key) to poll: who polls it now, and when it is due next."""

    __tablename__ = "poll_leases"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    next_due: Mapped[float] = mapped_column(Float, default=0.0, nullable=False)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    #: Whether a first poll recorded the baseline (deployments seen before are not "new").
    baselined: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    last_polled_at: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(String(200))


class ChangeAttribution(Base):
    """Who changed a deployment through deploybot (the watcher credits them in the thread)."""

    __tablename__ = "change_attributions"
    __table_args__ = (Index("ix_change_attributions_lookup", "team_id", "provider", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    deployment_id: Mapped[str] = mapped_column(String(128), nullable=False)
    user_id: Mapped[str] = mapped_column(String(64), nullable=False)
    #: How, e.g. "/deploy stop".
    via: Mapped[str] = mapped_column(String(64), nullable=False)
    #: The operation's one-line description ("stop llama"), for App Home's recent actions.
    summary: Mapped[str] = mapped_column(String(200), default="", nullable=False)
    #: The operation's kind ("stop", "rename", …) and its expected effect beyond what the kind
    #: implies ("name=w3", "replicas=2"): only that effect is credited (bot.watch.attribution).
    op_kind: Mapped[str] = mapped_column(String(16), default="", server_default="", nullable=False)
    expects: Mapped[str] = mapped_column(String(200), default="", server_default="", nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)


class Job(Base):
    """One piece of work acknowledged to Slack and not yet finished: written before the ack,
    claimed by a worker under a heartbeat lease, taken over by another when the lease expires.

    ``key`` makes a Slack retry or a double click one job; ``calls`` records each
    non-idempotent provider call before it is sent (and confirms it after), so a job taken over
    from a dead worker never re-sends one blindly.
    """

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_due", "state", "run_after"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True, nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    #: The work's inputs (JSON): who asked, where to answer, what to do.
    payload: Mapped[str] = mapped_column(Text, nullable=False)
    #: queued → running → done | failed (a running job whose lease ran out is claimable).
    state: Mapped[str] = mapped_column(String(16), default="queued", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    user_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[float | None] = mapped_column(Float)
    run_after: Mapped[float] = mapped_column(Float, nullable=False)
    #: Provider calls recorded before sending (JSON list): what, on which deployment, and
    #: whether the answer was seen.
    calls: Mapped[str] = mapped_column(Text, default="[]", server_default="[]", nullable=False)
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
    finished_at: Mapped[float | None] = mapped_column(Float)


class BudgetCap(Base):
    """A workspace's spending caps, for one provider or (provider "") all of them together;
    each period's cap is optional (None: no cap)."""

    __tablename__ = "budget_caps"
    __table_args__ = (UniqueConstraint("enterprise_id", "team_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), default="", nullable=False)
    per_hour: Mapped[float | None] = mapped_column(Float)
    per_day: Mapped[float | None] = mapped_column(Float)
    per_month: Mapped[float | None] = mapped_column(Float)
    updated_by: Mapped[str] = mapped_column(String(64), nullable=False)
    updated_at: Mapped[float] = mapped_column(Float, nullable=False)


class BurnSample(Base):
    """What a (workspace, provider) key burned per hour from ``at`` on (until the next sample):
    spend is the integral of these steps (bot/core/budget.py)."""

    __tablename__ = "burn_samples"
    __table_args__ = (Index("ix_burn_samples_key_at", "team_id", "provider", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    provider: Mapped[str] = mapped_column(String(16), nullable=False)
    at: Mapped[float] = mapped_column(Float, nullable=False)
    per_hour: Mapped[float] = mapped_column(Float, nullable=False)


class BudgetAlert(Base):
    """A budget alert that fired: one row per (scope, period, cap, level), so each is posted
    once whatever the number of replicas."""

    __tablename__ = "budget_alerts"
    __table_args__ = (
        UniqueConstraint("enterprise_id", "team_id", "provider", "period", "cap", "level"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    enterprise_id: Mapped[str] = mapped_column(String(32), default="", nullable=False)
    team_id: Mapped[str] = mapped_column(String(32), nullable=False)
    #: The cap's scope: a provider, or "" for the whole workspace.
    provider: Mapped[str] = mapped_column(String(16), default="", nullable=False)
    #: ``day:2026-12-07``, ``month:2026-12`` (an hourly cap's alerts are kept per day).
    period: Mapped[str] = mapped_column(String(32), nullable=False)
    #: Which cap: ``hour``, ``day`` or ``month``.
    cap: Mapped[str] = mapped_column(String(8), nullable=False)
    #: 80 or 100 (percent of the cap).
    level: Mapped[int] = mapped_column(Integer, nullable=False)
    #: The spend (or, for an hourly cap, the burn) that reached the level, and the cap.
    value_usd: Mapped[float] = mapped_column(Float, nullable=False)
    cap_usd: Mapped[float] = mapped_column(Float, nullable=False)
    created_at: Mapped[float] = mapped_column(Float, nullable=False)
