"""One key's poll in progress: the raw diff by fingerprint, and what the changes record.

The list pages arrive raw. :meth:`KeyPoll.diff_page` keeps of each page only the items whose
fingerprint (a digest of the fields status, name and alerts come from, see the providers'
``watch_fields``) differs from the stored one; only those are normalized and handed to
:meth:`KeyPoll.consider`, which decides with :mod:`bot.watch.diff` what to record and credits
transitions with :mod:`bot.watch.attribution`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.preflight_state import SPENDING
from bot.db.watch.fingerprints import EMPTY, Fingerprints
from bot.db.watch.store import PollKey, Recent, StateRow, StateUpdate
from bot.db.watch.store_records import KEY_BITS, MARK_BITS, print_key, print_mark
from bot.providers.base import BaseProvider
from bot.providers.models import Deployment, DeploymentStatus
from bot.watch import attribution, diff
from bot.watch.diff import Attribution, Change, Known, Thresholds

#: What :meth:`KeyPoll.diff_page` puts in place of a stored fingerprint's mark once the
#: deployment is listed: the stored mark is no longer needed, and the table of fingerprints
#: doubles as the record of which known deployments were listed (no set of ids beside it).
#: No mark is ever negative (see ``print_mark``).
SEEN = -1


def compact(prints: dict[str, str]) -> Fingerprints:
    """id → stored fingerprint, in the compact form a poll walks with (tests, tools)."""
    table = Fingerprints(len(prints))
    for k, v in prints.items():
        table[print_key(k)] = print_mark(v)
    return table


#: Statuses of a deployment that is still doing something (worth looking up when unlisted).
LIVE = frozenset(
    s.value
    for s in (
        DeploymentStatus.DRAFT,
        DeploymentStatus.PENDING,
        DeploymentStatus.STARTING,
        DeploymentStatus.RUNNING,
        DeploymentStatus.STOPPING,
    )
)


def burn_of(d: Deployment | None) -> float | None:
    """What a deployment costs per hour now: its price while it runs, 0 otherwise (None: the
    provider does not say)."""
    if d is None or d.status not in SPENDING:
        return 0.0
    cost = d.cost_per_hour_usd
    if cost is None and d.status is DeploymentStatus.PENDING:
        return 0.0  # waiting (an Akash deployment without a lease): nothing is charged yet
    return float(cost) if cost is not None else None


def credit_for(
    recent: Recent | None, previous: Known | None, status: str, name: str, now: float
) -> Attribution | None:
    """The person a change is credited to (None: it happened outside deploybot)."""
    if recent is None or not recent.actions:
        return None
    before = (
        attribution.Observed(previous.status, {"name": previous.name})
        if previous is not None
        else None
    )
    after = attribution.Observed(status, {"name": name})
    action = attribution.credit(
        recent.actions, before, after, now=now, before_seen_at=recent.state_changed_at
    )
    return Attribution(action.user_id, action.via) if action is not None else None


@dataclass
class KeyPoll:
    key: PollKey
    client: BaseProvider
    stats: Any
    watches: list[tuple[str, str, str]]
    thresholds: Thresholds
    recent: dict[str, Recent]
    #: ``print_key(deployment id)`` → ``print_mark(fingerprint)`` of the stored states (see
    #: ``WatchStore.fingerprints``); :data:`SEEN` once the walk listed it.
    prints: Fingerprints
    now: float
    #: Full stored states, read for the changed deployments only.
    known: dict[str, tuple[int, Known]] = field(default_factory=dict)
    #: Listed deployments with no stored state (the known ones are marked in ``prints``).
    fresh: set[str] = field(default_factory=set)
    #: How many distinct deployments the walk listed.
    listed_count: int = 0
    #: Whether a part of this poll was already written (states changed, mid-walk).
    wrote: bool = False
    #: (id, fingerprint) of the current page's changed items.
    pending: list[tuple[str, str]] = field(default_factory=list)
    new_states: list[StateRow] = field(default_factory=list)
    updates: list[StateUpdate] = field(default_factory=list)
    changes: list[tuple[Change, Deployment | None, Known | None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Alerts depend on the thresholds too: a new threshold makes every item "changed".
        self.tag = f"/{self.thresholds.runway_hours:g}"
        self.one_by_one = {w[1] for w in self.watches if w[1]}

    def diff_page(self, items: list[Any]) -> list[Any]:
        """The page's items whose fingerprint changed (their ids go to ``pending``)."""
        changed: list[Any] = []
        watch_fields = self.client.watch_fields
        fresh, tag = self.fresh, self.tag
        # Fingerprints.slot, inlined (this loop runs for every listed item): the slot holding
        # the key, or the free one where it would be.
        keys, marks, mask = self.prints.keys, self.prints.marks, self.prints.mask
        for raw in items:
            fields = watch_fields(raw)
            if fields is None:
                continue
            dep_id, fp = fields
            key = hash(dep_id) & KEY_BITS  # print_key, inlined
            i = key & mask
            while (k := keys[i]) != key and k != EMPTY:
                i = (i + 1) & mask
            # Page-number pagination may repeat an item: the first one counts.
            if k == EMPTY:
                if dep_id in fresh:
                    continue
                fresh.add(dep_id)
                stored = None
            else:
                stored = marks[i]
                if stored == SEEN:
                    continue
                marks[i] = SEEN
            self.listed_count += 1
            stamp = fp + tag
            if stored == hash(stamp) & MARK_BITS:  # print_mark(stamp), inlined
                continue  # the common case: nothing changed
            changed.append(raw)
            self.pending.append((dep_id, stamp))
        return changed

    def is_known(self, dep_id: str) -> bool:
        """Whether ``dep_id`` has a stored state."""
        return print_key(dep_id) in self.prints

    def is_listed(self, dep_id: str) -> bool:
        """Whether the walk so far listed ``dep_id``."""
        return self.prints.get(print_key(dep_id)) == SEEN or dep_id in self.fresh

    def unlisted(self) -> bool:
        """Whether some known deployment, not gone, was not listed (yet); the account's
        row (id "") is never listed."""
        account = print_key("")
        return any(v != SEEN and not v & 1 and k != account for k, v in self.prints.items())

    def consider(
        self, d: Deployment | None, dep_id: str, status: str, name: str, stamp: str
    ) -> None:
        """Record one changed (or unlisted) deployment's new state and what to say about it."""
        entry = self.known.get(dep_id)
        previous = entry[1] if entry is not None else None
        credited = None
        if previous is None or previous.status != status:
            credited = credit_for(self.recent.get(dep_id), previous, status, name, self.now)
        runway = self.client.funds_runway(d) if d is not None else None
        thresholds = self.thresholds
        alerts = diff.deployment_alerts(
            self.key.provider, status, runway, thresholds, previous, attributed=credited is not None
        )
        encoded = diff.encode_alerts(alerts)
        gone = not self.is_listed(dep_id) and (d is None or status not in LIVE)
        cost = burn_of(d)
        if (
            previous is not None
            and previous.status == status
            and previous.alerts == alerts
            and not previous.gone
        ):
            # Nothing the watcher reports changed: remember the new fingerprint (and name). A
            # stamp comes with a listed item whose fingerprint differed from the stored one.
            if stamp:
                self.updates.append(
                    StateUpdate(
                        dep_id,
                        previous.seq,
                        name,
                        status,
                        encoded,
                        gone,
                        stamp,
                        touch=False,
                        cost=cost,
                    )
                )
            return
        details: dict[str, str] = {"threshold": f"{thresholds.runway_hours:g}"}
        if runway is not None:
            details["runway_hours"] = f"{runway.total_seconds() / 3600:.1f}"
        if d is not None:
            details["raw_status"] = d.raw_status
        change = diff.assess(
            dep_id,
            name,
            status,
            alerts,
            previous,
            baselined=self.key.baselined,
            attribution=credited,
            details=details,
            announce=dep_id in self.one_by_one,
        )
        if previous is None:
            self.new_states.append(StateRow(dep_id, name, status, encoded, gone, stamp, cost))
            if change is not None:
                # A deployment created since the baseline: its row starts at seq 0 and its
                # announcement is change 1, recorded by a follow-up update.
                self.updates.append(
                    StateUpdate(dep_id, 0, name, status, encoded, gone, stamp, cost=cost)
                )
                self.changes.append((change, d, None))
            return
        self.updates.append(
            StateUpdate(dep_id, previous.seq, name, status, encoded, gone, stamp, cost=cost)
        )
        if change is not None and not change.details.get("silent"):
            self.changes.append((change, d, previous))
