"""What an operation did, as data: the pipeline audits it and renders it (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core import replies
from bot.core.budget import BudgetView
from bot.core.operations import Chain, Operation
from bot.core.registry import OpKind
from bot.core.render import PROVIDER_LABEL, deployment_card, deployment_list, escape
from bot.core.replies import BalanceLine, ConnectedProvider, Reply
from bot.core.replies.budget import budget_reply
from bot.providers.models import (
    Capability,
    Deployment,
    Event,
    Job,
    LogLine,
    Market,
    ProviderName,
)


@dataclass(frozen=True)
class Changed:
    """A change deploybot made to a deployment: the deployment before and after it."""

    op: Operation
    user_id: str
    before: Deployment
    #: None when the deployment is gone (deleted, closed and no longer listed).
    after: Deployment | None
    #: What the deployment can do now (the card's buttons).
    allowed: frozenset[Capability]
    at: datetime

    @property
    def provider_ref(self) -> str:
        """The provider's own reference for the change (a transaction, a job, a revision),
        for the audit log."""
        after = self.after
        if after is None:
            return self.before.id
        for key in ("tx", "request_id", "job", "revision"):
            value = after.extras.get(key)
            if value:
                return f"{key}:{value}"
        if after.active_revision is not None:
            return f"{after.id}@r{after.active_revision}"
        return after.id


def render_changed(changed: Changed) -> Reply:
    """Who did what, then the deployment's fresh card."""
    return replies.result_reply(
        changed.op,
        changed.user_id,
        changed.after,
        before=changed.before,
        allowed=changed.allowed,
        now=changed.at,
    )


# -- what a read found ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Help:
    topic: str | None = None


@dataclass(frozen=True)
class Providers:
    connected: Sequence[ConnectedProvider]


@dataclass(frozen=True)
class Listing:
    """One page of deployments across providers, newest first (``next_value`` and
    ``prev_value`` ask for the next and the previous page)."""

    items: Sequence[Deployment]
    providers: Sequence[ProviderName]
    status: str | None
    number: int
    next_value: str | None
    #: Providers that could not be listed, with why.
    problems: Sequence[str]
    at: datetime
    prev_value: str | None = None


@dataclass(frozen=True)
class Card:
    deployment: Deployment
    allowed: frozenset[Capability]
    at: datetime


@dataclass(frozen=True)
class Logs:
    deployment: Deployment
    lines: Sequence[LogLine]
    #: The whole log was asked for as a file (``--file``).
    file: bool = False
    at: datetime | None = None
    #: As many lines as were asked for came back: older ones may exist.
    capped: bool = False
    #: The uploaded file's name (None: not uploaded, or Slack refused it).
    uploaded: str | None = None


@dataclass(frozen=True)
class Events:
    deployment: Deployment
    events: Sequence[Event]
    at: datetime


@dataclass(frozen=True)
class Jobs:
    deployment: Deployment
    jobs: Sequence[Job]


@dataclass(frozen=True)
class Catalog:
    """Nosana markets or NeuraNET nodes, as asked for."""

    kind: OpKind
    items: Sequence[Market]
    filters: dict[str, str]


@dataclass(frozen=True)
class Balances:
    lines: Sequence[BalanceLine]


@dataclass(frozen=True)
class ChainRun:
    """Where a chain stands: a mark and a note per step, and the deployment after the last
    step that changed it."""

    chain: Chain
    statuses: Sequence[tuple[str, str]]
    after: Deployment | None = None
    allowed: frozenset[Capability] = frozenset()
    at: datetime | None = None
    failed: bool = False


Reading = Help | Providers | Listing | Card | Logs | Events | Jobs | Catalog | Balances | BudgetView
Result = Changed | ChainRun | Reading


def render(result: Result) -> Reply:
    """The one rendering step of the pipeline: what happened or what was found → Block Kit."""
    match result:
        case Changed():
            return render_changed(result)
        case ChainRun():
            return render_chain(result)
        case Help(topic=topic):
            return replies.help_reply(topic)
        case Providers(connected=connected):
            return replies.providers_reply(connected)
        case Listing():
            return render_listing(result)
        case Card(deployment=deployment, allowed=allowed, at=at):
            return replies.card_reply(deployment, allowed, at)
        case Logs(file=True):
            return replies.log_file_reply(result.deployment, result.lines, result.uploaded)
        case Logs(deployment=deployment, lines=lines):
            return replies.logs_reply(deployment, lines)
        case Events(deployment=deployment, events=events, at=at):
            return replies.events_reply(deployment, events, at)
        case Jobs(deployment=deployment, jobs=jobs):
            return replies.jobs_reply(deployment, jobs)
        case Catalog(kind=kind, items=items, filters=filters):
            return replies.markets_reply(kind, items, filters)
        case Balances(lines=lines):
            return replies.balance_reply(lines)
        case BudgetView():
            return budget_reply(result)


def render_chain(run: ChainRun) -> Reply:
    card = None
    if run.after is not None and run.at is not None:
        card = deployment_card(run.after, allowed=run.allowed, now=run.at)
    reply = replies.chain_reply(run.chain, list(run.statuses), card)
    reply.error = run.failed
    return reply


def render_listing(listing: Listing) -> Reply:
    where = ", ".join(PROVIDER_LABEL[p] for p in listing.providers)
    title = f"Deployments on {where}" + (f" ({listing.status})" if listing.status else "")
    if listing.number > 1:
        title += f", page {listing.number}"
    blocks = deployment_list(
        listing.items,
        now=listing.at,
        title=title,
        next_value=listing.next_value,
        prev_value=listing.prev_value,
    )
    if listing.status is None:
        blocks.insert(
            len(blocks) - (1 if listing.next_value or listing.prev_value else 0),
            replies.context("Archived and closed deployments are hidden: `/deploy list all`."),
        )
    for problem in listing.problems:
        blocks.insert(1, replies.context(f":warning: {escape(problem)}"))
    return Reply(text=f"{title}: {len(listing.items)} shown", blocks=blocks[:50])
