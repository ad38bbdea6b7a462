"""The watcher store's records: poll keys, state rows and updates, outbox rows, what one poll
cycle reads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.watch.attribution import Action
from bot.watch.diff import Thresholds

#: Prefix of a gone state's fingerprint (kept for callers that spell it; the compact
#: fingerprints below flag a gone state with the low bit instead).
GONE = "!"


#: The compact fingerprints keep 60 bits of a hash: a non-negative int below 2⁶⁰ is two of
#: CPython's 30-bit digits, a 32-byte object (a full 64-bit hash needs three: 48 bytes once
#: the allocator rounds it). Two ints a watched deployment, 32 bytes less each.
KEY_BITS = (1 << 60) - 1
#: A mark's bits: the key's, with the low bit kept for "gone".
MARK_BITS = KEY_BITS & ~1


def print_key(deployment_id: str) -> int:
    """A deployment id as a key of the compact fingerprints (``WatchStore.fingerprints``): 60
    bits of Python's string hash, stable within the process that built the dict. Two ids of
    one key colliding (about n² / 2⁶¹: 4·10⁻¹¹ for 10,000 deployments) is accepted."""
    return hash(deployment_id) & KEY_BITS


def print_mark(fingerprint: str, *, gone: bool = False) -> int:
    """A stored fingerprint, compactly: 60 bits of its hash with the low bit cleared (set: the
    provider no longer lists the deployment), so a gone state never equals a listed item's
    mark, and no mark is ever negative (``keypoll.SEEN`` is -1)."""
    return (hash(fingerprint) & MARK_BITS) | (1 if gone else 0)


Clock = Callable[[], float]


@dataclass(frozen=True)
class PollKey:
    id: int
    enterprise_id: str
    team_id: str
    provider: str
    baselined: bool


@dataclass(frozen=True, slots=True)
class StateRow:
    deployment_id: str
    name: str
    status: str
    alerts: str
    gone: bool = False
    fingerprint: str = ""
    #: Its cost per hour now (0 when it is not running; None: unknown).
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class StateUpdate:
    deployment_id: str
    expected_seq: int
    name: str
    status: str
    alerts: str
    gone: bool
    fingerprint: str = ""
    #: False when only the fingerprint moved (the state's change time stays).
    touch: bool = True
    #: Its cost per hour now (0 when it is not running; None: unknown).
    cost: float | None = None


@dataclass(frozen=True, slots=True)
class OutboxRow:
    deployment_id: str
    channel_id: str
    seq: int
    text: str
    reply_blocks: str | None
    card: str | None


@dataclass
class Recent:
    """A deployment's recent deploybot operations and when its state row last changed."""

    actions: list[Action] = field(default_factory=list)
    state_changed_at: float | None = None


@dataclass
class CycleContext:
    """What a poll cycle reads once for all its keys (see ``WatchStore.cycle_context``)."""

    watches: dict[tuple[str, str], list[tuple[str, str, str]]] = field(default_factory=dict)
    thresholds: dict[tuple[str, str], Thresholds] = field(default_factory=dict)
    #: Operations deploybot executed recently, per key and deployment, with when the
    #: deployment's state row last changed (None: no row yet).
    actions: dict[tuple[str, str, str], dict[str, Recent]] = field(default_factory=dict)
    #: Keys polled without anything to write: their leases are released together.
    quiet: list[tuple[PollKey, float]] = field(default_factory=list)
    #: The keys whose quiet leases this cycle releases (others commit on their own).
    batch: set[PollKey] = field(default_factory=set)
    #: (enterprise, team) of the cycle's workspaces with budget caps.
    capped: set[tuple[str, str]] = field(default_factory=set)

    def for_key(
        self, key: PollKey
    ) -> tuple[list[tuple[str, str, str]], Thresholds, dict[str, Recent]]:
        team = (key.enterprise_id, key.team_id)
        watches = [w for w in self.watches.get(team, []) if not w[0] or w[0] == key.provider]
        return (
            watches,
            self.thresholds.get(team, Thresholds()),
            self.actions.get((*team, key.provider), {}),
        )


class LostLease(Exception):
    """Another replica took the poll lease over (this one was too slow): its results stand."""
