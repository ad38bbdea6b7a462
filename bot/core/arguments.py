"""Each operation kind's typed arguments: a pydantic discriminated union on ``kind``.

``Operation.args`` holds one of these; the registry (bot/core/registry.py) says which kinds
exist and what they are. A kind takes only the arguments its model declares.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from bot.core.governance import Command
from bot.core.registry import OpKind

K = OpKind


class _Args(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Plain(_Args):
    """Kinds that take nothing but (maybe) a provider and a deployment."""

    kind: Literal[
        K.PROVIDERS,
        K.CONNECT,
        K.DISCONNECT,
        K.SHOW,
        K.START,
        K.STOP,
        K.ARCHIVE,
        K.DELETE,
        K.CLOSE,
        K.EVENTS,
        K.JOBS,
        K.BALANCE,
        K.BIDS,
    ]


class Help(_Args):
    kind: Literal[K.HELP]
    topic: str | None = None


class Listing(_Args):
    kind: Literal[K.LIST]
    #: A status filter (``list running``).
    status: str | None = None


class Scale(_Args):
    kind: Literal[K.SCALE]
    replicas: int


class Timeout(_Args):
    kind: Literal[K.TIMEOUT]
    minutes: int


class Schedule(_Args):
    kind: Literal[K.SCHEDULE]
    cron: str


class Rollback(_Args):
    kind: Literal[K.ROLLBACK]
    revision: int


class Rename(_Args):
    kind: Literal[K.RENAME]
    name: str


class Revise(_Args):
    kind: Literal[K.REVISE]
    #: A new revision's definition as submitted (Nosana job-definition JSON, Akash SDL
    #: YAML); None until the form is filled in.
    definition: str | None = None


class Logs(_Args):
    kind: Literal[K.LOGS]
    tail: int | None = None
    #: From this moment (``--since 2026-11-23T10:00Z``).
    since: datetime | None = None
    #: The last this many seconds (``--since 10m``), counted when the logs are read.
    since_seconds: int | None = Field(default=None, ge=1)
    #: The whole log as a file in the channel (``--file``), not lines in a message.
    file: bool = False
    #: Keep appending new lines in a thread for this many seconds (``--follow [10m]``).
    follow_seconds: int | None = Field(default=None, ge=60, le=3600)


class Deposit(_Args):
    kind: Literal[K.DEPOSIT]
    #: US dollars to add to a deployment's escrow; None opens the form that asks.
    amount_usd: Decimal | None = None


class Catalog(_Args):
    """``markets`` and ``nodes``: what can be rented, filtered."""

    kind: Literal[K.MARKETS, K.NODES]
    filters: dict[str, str] = Field(default_factory=dict)


class Governance(_Args):
    """A role, policy or audit command."""

    kind: Literal[K.ROLE, K.ROLES, K.POLICY, K.AUDIT]
    command: Command | None = None


class Approvals(_Args):
    """``approvals [page N]``: the pending requests, a page at a time."""

    kind: Literal[K.APPROVALS]
    page: int = Field(default=1, ge=1)


class Decide(_Args):
    """``approve|deny|cancel <request id> [reason]``."""

    kind: Literal[K.APPROVE, K.DENY, K.CANCEL]
    request_id: str
    #: Why it is denied (``deny`` only).
    note: str | None = None


class Create(_Args):
    kind: Literal[K.CREATE]
    #: ``create --template <name>``.
    template: str | None = None
    #: ``field=value`` words (they fill or override the form).
    overrides: dict[str, str] = Field(default_factory=dict)


class Template(_Args):
    kind: Literal[K.TEMPLATE]
    #: ``save``, ``list`` or ``delete``.
    sub: str | None = None
    template: str | None = None


class Watch(_Args):
    """``watch``, ``unwatch``, ``watching``: ``topic`` is ``all`` or ``settings``."""

    kind: Literal[K.WATCH, K.UNWATCH, K.WATCHING]
    topic: str | None = None
    filters: dict[str, str] = Field(default_factory=dict)


class Timers(_Args):
    """``stop <deployment> --after 4h|--at 19:00`` (``set``), ``timers`` (``list``),
    ``timers cancel <id>``."""

    kind: Literal[K.TIMERS]
    sub: Literal["set", "list", "cancel"] = "list"
    #: ``--after``: seconds from now (or from the approval, when the stop needs one).
    after_seconds: int | None = None
    #: ``--at``: a wall-clock time ``HH:MM`` in the person's Slack time zone.
    at: str | None = None
    timer_id: str | None = None


class Digest(_Args):
    """``digest daily 09:00 [#channel]``, ``digest off``, ``digest`` (show the setting)."""

    kind: Literal[K.DIGEST]
    sub: Literal["daily", "off", "show"] = "show"
    #: ``HH:MM`` in the person's Slack time zone.
    at: str | None = None
    channel: str | None = None


class Budget(_Args):
    """``budget`` (show), ``budget set <amount>/h|/day|/month``, ``budget clear``; the
    operation's provider names the scope (none: the whole workspace)."""

    kind: Literal[K.BUDGET]
    action: Literal["show", "set", "clear"] = "show"
    amount_usd: Decimal | None = None
    #: ``hour``, ``day`` or ``month`` (``set`` only).
    period: Literal["hour", "day", "month"] | None = None


Args = Annotated[
    Plain
    | Help
    | Listing
    | Scale
    | Timeout
    | Schedule
    | Rollback
    | Rename
    | Revise
    | Logs
    | Deposit
    | Catalog
    | Governance
    | Approvals
    | Decide
    | Create
    | Template
    | Watch
    | Timers
    | Digest
    | Budget,
    Field(discriminator="kind"),
]

#: Every field some kind's arguments declare (an old flat operation is sorted by these).
ARG_FIELDS = frozenset(
    name
    for model in (
        Help,
        Listing,
        Scale,
        Timeout,
        Schedule,
        Rollback,
        Rename,
        Revise,
        Logs,
        Deposit,
        Catalog,
        Governance,
        Approvals,
        Decide,
        Create,
        Template,
        Watch,
        Timers,
        Digest,
        Budget,
    )
    for name in model.model_fields
    if name != "kind"
)

ARGS = TypeAdapter(Args)


def args_for(kind: OpKind, **values: Any) -> Args:
    """``kind``'s typed arguments, checked against its model (unknown fields are refused)."""
    return ARGS.validate_python({"kind": kind, **values})
