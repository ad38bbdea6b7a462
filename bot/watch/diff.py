"""Pure decisions of the watcher: what changed, which alerts fire or recover, what to say.

No I/O here: the poller hands in what the provider listed and what the database remembered;
these functions say which changes to record and how their thread replies read.

Alerts follow an OK → triggered → recovered cycle: an alert is *triggered* when it enters the
set of active alerts and *recovered* when it leaves it while the deployment runs again (or, for
a low escrow runway, when funds were added). Each of those is a change with its own sequence
number, so it is posted once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from bot.core.render import PROVIDER_LABEL, STATUS_EMOJI, clip, escape
from bot.providers.models import DeploymentStatus

#: Default thresholds (a workspace changes them with ``/deploy watch settings``).
DEFAULT_RUNWAY_HOURS = 24.0
DEFAULT_CREDITS_USD = 5.0
#: A low-runway alert recovers only once the runway is this much above the threshold.
RUNWAY_HYSTERESIS = 1.1
#: Statuses whose alerts stay triggered until the deployment runs again.
_STICKY = frozenset({"insufficient_funds", "failed", "stopped"})
#: Providers whose deployments stopping by themselves is worth an alert (NeuraNET: a
#: deployment only stops when someone stops it, or its node goes away).
UNEXPECTED_STOP_PROVIDERS = frozenset({"neuranet"})
#: Providers whose account credits are watched (Nosana: deployments wait when they run out).
CREDIT_ALERT_PROVIDERS = frozenset({"nosana"})
#: Pseudo-statuses for deployments that left the provider's list.
DELETED = "deleted"

ALERT_TEXT = {
    "runway_low": ":warning: Escrow runs low",
    "insufficient_funds": ":money_with_wings: Out of funds",
    "failed": ":red_circle: Failed",
    "closed": ":black_circle: Closed outside deploybot",
    "stopped": ":double_vertical_bar: Stopped unexpectedly",
    "credits_low": ":warning: Credits run low",
}
ALERTS_WITH_FUNDS_BUTTON = frozenset({"runway_low", "insufficient_funds"})
#: Alerts announced even on the first poll (they need acting on; the others are old news).
BASELINE_NEWS = frozenset({"runway_low"})


@dataclass(frozen=True)
class Thresholds:
    runway_hours: float = DEFAULT_RUNWAY_HOURS
    credits_usd: float = DEFAULT_CREDITS_USD


@dataclass(frozen=True)
class Known:
    """What the database remembers of one deployment."""

    status: str
    alerts: frozenset[str]
    seq: int
    name: str = ""
    gone: bool = False


@dataclass(frozen=True)
class Attribution:
    user_id: str
    via: str


@dataclass(frozen=True)
class Change:
    """One recorded change of a deployment (or of an account, with an empty id)."""

    deployment_id: str
    name: str
    old_status: str | None
    new_status: str
    alerts: frozenset[str]
    triggered: tuple[str, ...] = ()
    recovered: tuple[str, ...] = ()
    attribution: Attribution | None = None
    #: Facts for the alert lines: runway hours, credits, the latest event message.
    details: dict[str, str] = field(default_factory=dict)

    @property
    def transition(self) -> bool:
        return self.old_status != self.new_status


def encode_alerts(alerts: Iterable[str]) -> str:
    return ",".join(sorted(alerts))


def decode_alerts(value: str) -> frozenset[str]:
    return frozenset(a for a in value.split(",") if a)


def deployment_alerts(
    provider: str,
    status: str,
    runway: timedelta | None,
    thresholds: Thresholds,
    previous: Known | None,
    *,
    attributed: bool = False,
) -> frozenset[str]:
    """The alerts active for a deployment now (see the module docstring for the cycle)."""
    prev_alerts = previous.alerts if previous is not None else frozenset()
    prev_status = previous.status if previous is not None else None
    active: set[str] = set()
    if status == DeploymentStatus.INSUFFICIENT_FUNDS:
        active.add("insufficient_funds")
    elif status == DeploymentStatus.FAILED:
        active.add("failed")
    elif status == DeploymentStatus.CLOSED:
        if "closed" in prev_alerts or (
            prev_status not in (None, DeploymentStatus.CLOSED, DELETED) and not attributed
        ):
            active.add("closed")
    elif (
        status == DeploymentStatus.STOPPED
        and provider in UNEXPECTED_STOP_PROVIDERS
        and not attributed
        and prev_status in (DeploymentStatus.RUNNING, DeploymentStatus.STARTING)
    ):
        active.add("stopped")
    if status != DeploymentStatus.RUNNING and status not in (
        DeploymentStatus.ARCHIVED,
        DeploymentStatus.CLOSED,
        DELETED,
    ):
        active |= prev_alerts & _STICKY
    if (
        runway is not None
        and status in (DeploymentStatus.RUNNING, DeploymentStatus.STARTING)
        and thresholds.runway_hours > 0
    ):
        hours = runway.total_seconds() / 3600
        limit = thresholds.runway_hours
        if "runway_low" in prev_alerts:
            limit *= RUNWAY_HYSTERESIS
        if hours < limit:
            active.add("runway_low")
    return frozenset(active)


def assess(
    deployment_id: str,
    name: str,
    status: str,
    alerts: frozenset[str],
    previous: Known | None,
    *,
    baselined: bool,
    attribution: Attribution | None = None,
    details: dict[str, str] | None = None,
    announce: bool = False,
) -> Change | None:
    """The change to record, or None when nothing worth saying happened.

    A deployment seen for the first time is recorded silently on the first poll of a key (the
    baseline) and announced afterwards (it was created since).
    """
    if previous is None:
        if not baselined:
            # The first poll records what exists without a word, except what needs acting on
            # now (a low escrow) and the cards of deployments watched one by one.
            news = tuple(sorted(alerts & BASELINE_NEWS))
            if not news and not announce:
                return None
            return Change(
                deployment_id,
                name,
                status,
                status,
                alerts,
                triggered=news,
                details={**(details or {}), "intro": "1"},
            )
        return Change(
            deployment_id,
            name,
            None,
            status,
            alerts,
            triggered=tuple(sorted(alerts)),
            attribution=attribution,
            details=details or {},
        )
    if previous.status == status and previous.alerts == alerts and not previous.gone:
        return None
    triggered = tuple(sorted(alerts - previous.alerts))
    recovered: tuple[str, ...] = ()
    if status in (DeploymentStatus.RUNNING, DeploymentStatus.STARTING):
        recovered = tuple(sorted(previous.alerts - alerts))
    if previous.status == status and not triggered and not recovered and not previous.gone:
        # An alert ended silently (e.g. archived after failing): remember, say nothing.
        return Change(deployment_id, name, status, status, alerts, details={"silent": "1"})
    return Change(
        deployment_id,
        name,
        previous.status,
        status,
        alerts,
        triggered=triggered,
        recovered=recovered,
        attribution=attribution,
        details=details or {},
    )


def account_change(
    provider: str, credits_usd: float | None, thresholds: Thresholds, previous: Known | None
) -> Change | None:
    """The credits alert of an account (recorded under an empty deployment id)."""
    if provider not in CREDIT_ALERT_PROVIDERS or credits_usd is None:
        return None
    prev_alerts = previous.alerts if previous is not None else frozenset()
    limit = thresholds.credits_usd
    if "credits_low" in prev_alerts:
        limit *= RUNWAY_HYSTERESIS
    alerts = (
        frozenset({"credits_low"})
        if thresholds.credits_usd > 0 and credits_usd < limit
        else frozenset()
    )
    if alerts == prev_alerts:
        return None
    return Change(
        "",
        PROVIDER_LABEL.get(provider, provider),
        "ok" if previous else None,
        "ok",
        alerts,
        triggered=tuple(sorted(alerts - prev_alerts)),
        recovered=tuple(sorted(prev_alerts - alerts)),
        details={"credits": f"{credits_usd:.2f}", "threshold": f"{thresholds.credits_usd:g}"},
    )


# -- what the thread replies say ----------------------------------------------------------------


def _status_word(status: str | None) -> str:
    if status is None:
        return "new"
    return status.replace("_", " ")


def _emoji(status: str) -> str:
    try:
        return STATUS_EMOJI[DeploymentStatus(status)]
    except ValueError:
        return ":grey_question:"


def change_lines(change: Change, provider: str) -> list[str]:
    """The thread reply's lines: the transition (with who did it), then alert lines."""
    lines: list[str] = []
    label = PROVIDER_LABEL.get(provider, provider)
    if not change.deployment_id:  # the account
        for alert in change.triggered:
            lines.append(
                f"{ALERT_TEXT[alert]}: {label} credits are ${change.details.get('credits', '?')}, "
                f"below ${change.details.get('threshold', '?')}. Top up the account."
            )
        for _alert in change.recovered:
            lines.append(
                f":white_check_mark: Recovered: {label} credits are back to "
                f"${change.details.get('credits', '?')}."
            )
        return lines
    if change.transition:
        who = (
            f"by <@{escape(change.attribution.user_id)}> via {escape(change.attribution.via)}"
            if change.attribution is not None
            else "changed outside deploybot"
        )
        if change.old_status is None:
            who = "new deployment" + (
                f", by <@{escape(change.attribution.user_id)}>" if change.attribution else ""
            )
        lines.append(
            f"{_emoji(change.new_status)} {_status_word(change.old_status)} → "
            f"{_status_word(change.new_status)}, {who}"
        )
    elif change.details.get("intro"):
        lines.append(
            f":eyes: Watching: {_emoji(change.new_status)} {_status_word(change.new_status)}."
        )
    for alert in change.triggered:
        lines.append(_alert_line(alert, change))
    for alert in change.recovered:
        if alert == "runway_low":
            hours = change.details.get("runway_hours")
            lines.append(
                ":white_check_mark: Recovered: the escrow lasts "
                + (f"about {hours} h again." if hours else "long enough again.")
            )
        else:
            lines.append(f":white_check_mark: Recovered: running again (was {_alert_word(alert)}).")
    return lines


def _alert_word(alert: str) -> str:
    return {
        "insufficient_funds": "out of funds",
        "failed": "failed",
        "stopped": "stopped",
        "closed": "closed",
        "runway_low": "low on escrow",
    }.get(alert, alert)


def _alert_line(alert: str, change: Change) -> str:
    details = change.details
    event = details.get("event")
    suffix = f" Latest event: “{escape(clip(event, 300))}”" if event else ""
    raw = details.get("raw_status")
    if raw and raw.lower().replace(" ", "_") == change.new_status:
        raw = None  # "Failed (failed)" says nothing more
    match alert:
        case "runway_low":
            return (
                f"{ALERT_TEXT[alert]}: about {details.get('runway_hours', '?')} h left "
                f"(threshold {details.get('threshold', '?')} h). Add funds before the lease closes."
            )
        case "insufficient_funds":
            what = f" ({escape(raw)})" if raw else ""
            return f"{ALERT_TEXT[alert]}{what}: add funds to keep it running.{suffix}"
        case "failed":
            what = f" ({escape(raw)})" if raw else ""
            return f"{ALERT_TEXT[alert]}{what}.{suffix}"
        case _:
            return f"{ALERT_TEXT.get(alert, alert)}.{suffix}"


def wants_funds_button(change: Change) -> bool:
    return any(a in ALERTS_WITH_FUNDS_BUTTON for a in change.triggered)


def channels_for(
    watches: Iterable[tuple[str, str, str]], provider: str, deployment_id: str
) -> list[str]:
    """The channels whose watches cover a deployment: ``(provider, deployment_id, channel)``
    rows, an empty provider or id meaning "all". The account (empty id) goes to channels
    watching the provider or everything, and to those watching one of its deployments."""
    found: list[str] = []
    for w_provider, w_deployment, channel in watches:
        if w_provider and w_provider != provider:
            continue
        if deployment_id and w_deployment and w_deployment != deployment_id:
            continue
        if channel not in found:
            found.append(channel)
    return found
