"""The operations deploybot knows, each declared once: its kind, risk class, the provider
capability it needs, whether it names a deployment, whether it can be a step of a chain,
whether a policy rule can name it, its verbs and how results speak of it.

The parser, the policy, cards, help, the gate and the audit log read these facts from here;
nothing derives them from what the UI says.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.providers.models import Capability


class Risk(StrEnum):
    READ = "read"
    CHANGE = "change"
    SPEND = "spend"
    DESTRUCTIVE = "destructive"

    @property
    def rank(self) -> int:
        return _RISK_RANK[self]


_RISK_RANK = {Risk.READ: 0, Risk.CHANGE: 1, Risk.SPEND: 2, Risk.DESTRUCTIVE: 3}


class OpKind(StrEnum):
    HELP = "help"
    PROVIDERS = "providers"
    CONNECT = "connect"
    DISCONNECT = "disconnect"
    LIST = "list"
    SHOW = "show"
    START = "start"
    STOP = "stop"
    ARCHIVE = "archive"
    DELETE = "delete"
    CLOSE = "close"
    SCALE = "scale"
    TIMEOUT = "timeout"
    SCHEDULE = "schedule"
    REVISE = "revise"
    ROLLBACK = "rollback"
    RENAME = "rename"
    LOGS = "logs"
    EVENTS = "events"
    JOBS = "jobs"
    MARKETS = "markets"
    NODES = "nodes"
    BALANCE = "balance"
    DEPOSIT = "deposit"
    # governance: roles, policy, audit, approvals
    ROLE = "role"
    ROLES = "roles"
    POLICY = "policy"
    AUDIT = "audit"
    APPROVALS = "approvals"
    APPROVE = "approve"
    DENY = "deny"
    CANCEL = "cancel"
    # creating deployments and templates
    CREATE = "create"
    TEMPLATE = "template"
    BIDS = "bids"
    # channel notifications (bot/watch)
    WATCH = "watch"
    UNWATCH = "unwatch"
    WATCHING = "watching"
    # stop timers and the daily digest (durable jobs: bot/services/timers.py, digest.py)
    TIMERS = "timers"
    DIGEST = "digest"
    # spending caps (bot/services/budget.py)
    BUDGET = "budget"

    @property
    def spec(self) -> Spec:
        return SPECS[self.value]

    @property
    def capability(self) -> Capability | None:
        """The provider capability this operation needs (None for bot-level operations)."""
        return SPECS[self.value].capability

    @property
    def needs_target(self) -> bool:
        return SPECS[self.value].targets


class Area(StrEnum):
    """Which part of deploybot answers an operation."""

    DEPLOYMENTS = "deployments"
    ACCOUNTS = "accounts"
    GOVERNANCE = "governance"
    APPROVALS = "approvals"
    APPROVE = "approve"
    DENY = "deny"
    CANCEL = "cancel"
    CREATE = "create"
    WATCH = "watch"
    TIMERS = "timers"
    DIGEST = "digest"
    BUDGET = "budget"


@dataclass(frozen=True)
class Spec:
    """Everything deploybot knows about one operation."""

    name: str
    risk: Risk
    area: Area = Area.DEPLOYMENTS
    capability: Capability | None = None
    #: It names a deployment (``stop <deployment>``).
    targets: bool = False
    #: It can be a step of a chain (``/deploy w2 start, scale 3``).
    chainable: bool = False
    #: It changes a deployment (runs through preflight, the policy and the audit log).
    mutates: bool = False
    #: Connecting keys, roles, policy: admins only, whatever the policy says.
    admin_only: bool = False
    #: A policy rule can name it (``/deploy policy scale approve``).
    ruled: bool = False
    #: How a result speaks of it: "started", "changed the timeout of".
    done: str = ""
    #: How the acknowledgement speaks of it: "Starting", "Changing the timeout of".
    doing: str = ""
    #: Other words people type for it.
    aliases: tuple[str, ...] = ()
    #: The value whose growth costs money (scale: replicas, timeout: minutes).
    grows: str | None = None


def _change(
    name: str,
    risk: Risk,
    capability: Capability,
    done: str,
    doing: str,
    *,
    chainable: bool = True,
    aliases: tuple[str, ...] = (),
    grows: str | None = None,
) -> Spec:
    return Spec(
        name,
        risk,
        capability=capability,
        targets=True,
        chainable=chainable,
        mutates=True,
        ruled=True,
        done=done,
        doing=doing,
        aliases=aliases,
        grows=grows,
    )


def _read(
    name: str,
    *,
    capability: Capability | None = None,
    targets: bool = False,
    area: Area = Area.DEPLOYMENTS,
    aliases: tuple[str, ...] = (),
) -> Spec:
    return Spec(name, Risk.READ, area=area, capability=capability, targets=targets, aliases=aliases)


_C = Capability
_SPECS: tuple[Spec, ...] = (
    _read("help", aliases=("?",)),
    _read("providers"),
    Spec("connect", Risk.CHANGE, area=Area.ACCOUNTS, admin_only=True),
    Spec("disconnect", Risk.CHANGE, area=Area.ACCOUNTS, admin_only=True),
    _read("list", aliases=("ls",)),
    _read("show", targets=True, aliases=("status", "info", "get")),
    _change("start", Risk.SPEND, _C.START, "started", "Starting"),
    _change("stop", Risk.DESTRUCTIVE, _C.STOP, "stopped", "Stopping"),
    _change("archive", Risk.DESTRUCTIVE, _C.ARCHIVE, "archived", "Archiving"),
    _change("delete", Risk.DESTRUCTIVE, _C.DELETE, "deleted", "Deleting"),
    _change("close", Risk.DESTRUCTIVE, _C.CLOSE, "closed", "Closing"),
    _change(
        "scale", Risk.CHANGE, _C.SCALE, "scaled", "Scaling", aliases=("replicas",), grows="replicas"
    ),
    _change(
        "timeout",
        Risk.CHANGE,
        _C.TIMEOUT,
        "changed the timeout of",
        "Changing the timeout of",
        grows="minutes",
    ),
    _change(
        "schedule", Risk.CHANGE, _C.SCHEDULE, "changed the schedule of", "Changing the schedule of"
    ),
    _change(
        "revise",
        Risk.CHANGE,
        _C.REVISE,
        "published a new revision of",
        "Publishing a new revision of",
        chainable=False,
    ),
    _change("rollback", Risk.CHANGE, _C.ROLLBACK, "rolled back", "Rolling back"),
    _change("rename", Risk.CHANGE, _C.RENAME, "renamed", "Renaming"),
    _read("logs", capability=_C.LOGS, targets=True, aliases=("log",)),
    _read("events", capability=_C.EVENTS, targets=True),
    _read("jobs", capability=_C.JOBS, targets=True),
    _read("markets", capability=_C.MARKETS, aliases=("market",)),
    _read("nodes", capability=_C.NODES, aliases=("node",)),
    _read("balance", capability=_C.BALANCE, aliases=("balances", "credits")),
    _change("deposit", Risk.SPEND, _C.DEPOSIT, "added funds to", "Adding funds to"),
    Spec("role", Risk.CHANGE, area=Area.GOVERNANCE),
    _read("roles", area=Area.GOVERNANCE),
    _read("policy", area=Area.GOVERNANCE),
    _read("audit", area=Area.GOVERNANCE),
    _read("approvals", area=Area.APPROVALS),
    # Deciding a request by its id (the buttons' command form); who may is the approval rule's.
    Spec("approve", Risk.CHANGE, area=Area.APPROVALS),
    Spec("deny", Risk.CHANGE, area=Area.APPROVALS),
    Spec("cancel", Risk.CHANGE, area=Area.APPROVALS),
    Spec("create", Risk.SPEND, area=Area.CREATE, ruled=True, aliases=("new",)),
    Spec("template", Risk.CHANGE, area=Area.CREATE, aliases=("templates",)),
    _read("bids", targets=True, area=Area.CREATE, aliases=("bid",)),
    Spec("watch", Risk.CHANGE, area=Area.WATCH),
    Spec("unwatch", Risk.CHANGE, area=Area.WATCH),
    Spec("watching", Risk.CHANGE, area=Area.WATCH),
    # ``stop <deployment> --after 4h|--at 19:00`` files one; ``timers [cancel <id>]``.
    Spec("timers", Risk.CHANGE, area=Area.TIMERS, aliases=("timer",)),
    Spec("digest", Risk.CHANGE, area=Area.DIGEST),
    # Anyone may read the budget; setting and clearing caps is for admins (the service checks).
    Spec("budget", Risk.CHANGE, area=Area.BUDGET, aliases=("budgets",)),
    # Not commands of their own: buttons of the create flow that the policy governs.
    Spec("accept", Risk.SPEND, area=Area.CREATE, ruled=True),
)
SPECS: dict[str, Spec] = {s.name: s for s in _SPECS}


def kinds(*, where: str) -> frozenset[OpKind]:
    """The operation kinds whose spec has the boolean fact ``where`` set."""
    return frozenset(OpKind(s.name) for s in _SPECS if s.name in _KIND_NAMES and getattr(s, where))


def in_area(area: Area) -> frozenset[OpKind]:
    return frozenset(OpKind(s.name) for s in _SPECS if s.name in _KIND_NAMES and s.area is area)


_KIND_NAMES = frozenset(k.value for k in OpKind)
#: Changes to a deployment: preflight, policy, audit.
MUTATIONS = kinds(where="mutates")
#: Verbs that take a deployment first; only these can be steps of a chain.
CHAINABLE = kinds(where="chainable")
#: Operations a policy rule can name (changes; reads are governed by roles).
RULE_OPERATIONS = frozenset(s.name for s in _SPECS if s.ruled)
#: Operations on provider accounts: admins only.
ADMIN_ONLY = frozenset(s.name for s in _SPECS if s.admin_only)
ALIASES: dict[str, OpKind] = {a: OpKind(s.name) for s in _SPECS for a in s.aliases}


def classify(
    kind: str,
    *,
    replicas: int | None = None,
    current_replicas: int | None = None,
    minutes: int | None = None,
    current_minutes: int | None = None,
) -> Risk:
    """The risk class of one operation, given what it changes from (when known).

    Scaling up and raising a timeout spend money; scaling to 0 is destructive; when the current
    value is unknown the more expensive reading wins.
    """
    spec = SPECS.get(kind)
    if spec is None:
        return Risk.CHANGE
    if spec.grows == "replicas":
        if replicas == 0:
            return Risk.DESTRUCTIVE
        return _growth(replicas, current_replicas, spec.risk)
    if spec.grows == "minutes":
        return _growth(minutes, current_minutes, spec.risk)
    return spec.risk


def _growth(new: int | None, current: int | None, otherwise: Risk) -> Risk:
    if current is None or (new or 0) > current:
        return Risk.SPEND
    return otherwise
