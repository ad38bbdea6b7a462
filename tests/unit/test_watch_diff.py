"""The watcher's pure decisions: transitions, the alert cycle, what the thread replies say."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.core.home import RecentAction, home_view
from bot.core.operations import Operation, OpKind, Usage
from bot.core.parsing import parse
from bot.providers.models import Deployment, DeploymentStatus
from bot.watch import diff
from bot.watch.diff import Attribution, Known, Thresholds

S = DeploymentStatus
STATUSES = [s.value for s in DeploymentStatus] + [diff.DELETED]


def known(status: str, alerts: set[str] | None = None, seq: int = 1) -> Known:
    return Known(status, frozenset(alerts or ()), seq, "llama")


def alerts(provider: str, status: str, previous: Known | None = None, **kw: object) -> set[str]:
    runway = kw.pop("runway", None)
    return set(
        diff.deployment_alerts(
            provider,
            status,
            runway,  # type: ignore[arg-type]
            kw.pop("thresholds", Thresholds()),  # type: ignore[arg-type]
            previous,
            attributed=bool(kw.pop("attributed", False)),
        )
    )


def test_status_alerts() -> None:
    assert alerts("akash", S.INSUFFICIENT_FUNDS) == {"insufficient_funds"}
    assert alerts("nosana", S.FAILED) == {"failed"}
    assert alerts("neuranet", S.RUNNING) == set()
    # closed: only when it was open before and nobody closed it through deploybot
    assert alerts("akash", S.CLOSED, known(S.RUNNING)) == {"closed"}
    assert alerts("akash", S.CLOSED, known(S.RUNNING), attributed=True) == set()
    assert alerts("akash", S.CLOSED, None) == set()
    # NeuraNET stopping by itself is worth an alert; Nosana jobs end normally
    assert alerts("neuranet", S.STOPPED, known(S.RUNNING)) == {"stopped"}
    assert alerts("neuranet", S.STOPPED, known(S.RUNNING), attributed=True) == set()
    assert alerts("nosana", S.STOPPED, known(S.RUNNING)) == set()


def test_status_alerts_stay_until_running_again() -> None:
    failed = known(S.FAILED, {"failed"})
    assert alerts("nosana", S.STOPPED, failed) == {"failed"}
    assert alerts("nosana", S.RUNNING, failed) == set()
    assert alerts("nosana", S.ARCHIVED, failed) == set()


def test_runway_alert_with_hysteresis() -> None:
    t = Thresholds(runway_hours=10)
    assert alerts("akash", S.RUNNING, runway=timedelta(hours=9), thresholds=t) == {"runway_low"}
    assert alerts("akash", S.RUNNING, runway=timedelta(hours=10.5), thresholds=t) == set()
    low = known(S.RUNNING, {"runway_low"})
    # just above the threshold is not yet a recovery (no flapping)
    h = timedelta(hours=10.5)
    assert alerts("akash", S.RUNNING, low, runway=h, thresholds=t) == {"runway_low"}
    h = timedelta(hours=12)
    assert alerts("akash", S.RUNNING, low, runway=h, thresholds=t) == set()
    off = Thresholds(runway_hours=0)
    assert alerts("akash", S.RUNNING, runway=timedelta(0), thresholds=off) == set()


def test_assess_baseline_transition_and_recovery() -> None:
    assert diff.assess("d1", "x", S.RUNNING, frozenset(), None, baselined=False) is None
    intro = diff.assess("d1", "x", S.RUNNING, frozenset(), None, baselined=False, announce=True)
    assert intro is not None and not intro.transition and intro.details["intro"]
    low = diff.assess("d1", "x", S.RUNNING, frozenset({"runway_low"}), None, baselined=False)
    assert low is not None and low.triggered == ("runway_low",)
    new = diff.assess("d1", "x", S.PENDING, frozenset(), None, baselined=True)
    assert new is not None and new.old_status is None
    same = diff.assess("d1", "x", S.RUNNING, frozenset(), known(S.RUNNING), baselined=True)
    assert same is None
    back = diff.assess(
        "d1", "x", S.RUNNING, frozenset(), known(S.FAILED, {"failed"}), baselined=True
    )
    assert back is not None and back.recovered == ("failed",)
    lines = diff.change_lines(back, "nosana")
    assert "failed → running, changed outside deploybot" in lines[0]
    assert "Recovered: running again" in lines[1]


def test_an_alert_that_ends_without_running_again_is_silent() -> None:
    change = diff.assess(
        "d1", "x", S.ARCHIVED, frozenset(), known(S.ARCHIVED, {"failed"}), baselined=True
    )
    assert change is not None and change.details.get("silent")


def test_lines_credit_the_person_and_escape_provider_text() -> None:
    change = diff.Change(
        "d1",
        "x",
        S.RUNNING,
        S.STOPPING,
        frozenset({"failed"}),
        triggered=("failed",),
        attribution=Attribution("U1", "/deploy stop"),
        details={"event": "<!channel> boom & bust", "raw_status": "ERROR"},
    )
    lines = diff.change_lines(change, "nosana")
    assert "running → stopping, by <@U1> via /deploy stop" in lines[0]
    assert "&lt;!channel&gt; boom &amp; bust" in lines[1] and "<!channel>" not in lines[1]


def test_account_credits_cycle() -> None:
    t = Thresholds(credits_usd=5)
    low = diff.account_change("nosana", 2.0, t, None)
    assert low is not None and low.triggered == ("credits_low",)
    assert diff.account_change("nosana", 2.0, t, known("ok", {"credits_low"})) is None
    assert diff.account_change("nosana", 5.2, t, known("ok", {"credits_low"})) is None
    back = diff.account_change("nosana", 9.0, t, known("ok", {"credits_low"}))
    assert back is not None and back.recovered == ("credits_low",)
    assert "Recovered" in diff.change_lines(back, "nosana")[0]
    assert diff.account_change("akash", 0.0, t, None) is None


def test_channels_for() -> None:
    watches = [("", "", "C1"), ("akash", "", "C2"), ("akash", "d1", "C3"), ("nosana", "", "C4")]
    assert diff.channels_for(watches, "akash", "d1") == ["C1", "C2", "C3"]
    assert diff.channels_for(watches, "akash", "d2") == ["C1", "C2"]
    assert diff.channels_for(watches, "akash", "") == ["C1", "C2", "C3"]


@given(
    st.sampled_from(["nosana", "akash", "neuranet"]),
    st.lists(
        st.tuples(st.sampled_from(STATUSES), st.one_of(st.none(), st.floats(0, 100))),
        min_size=1,
        max_size=12,
    ),
)
def test_every_alert_cycle_is_triggered_once_then_recovered_at_most_once(
    provider: str, steps: list[tuple[str, float | None]]
) -> None:
    """Replaying any sequence of observations: an alert is never triggered twice without being
    cleared in between, and a recovery always follows a trigger."""
    t = Thresholds(runway_hours=24)
    previous: Known | None = None
    active: set[str] = set()
    for status, hours in steps:
        runway = timedelta(hours=hours) if hours is not None else None
        now = diff.deployment_alerts(provider, status, runway, t, previous)
        change = diff.assess("d", "n", status, now, previous, baselined=True)
        if change is not None:
            for alert in change.triggered:
                assert alert not in active
                active.add(alert)
            for alert in change.recovered:
                assert alert in active
            active &= set(now)
            previous = Known(status, now, (previous.seq if previous else 0) + 1)
        assert set(now) <= active | set(now)


def test_watch_commands_parse() -> None:
    op = parse("watch all <#C0OPS|ops>")
    assert isinstance(op, Operation) and op.kind is OpKind.WATCH and op.args.topic == "all"
    assert op.args.filters == {"channel": "C0OPS"}
    op = parse("watch settings runway 2d credits $5")
    assert isinstance(op, Operation) and op.args.filters == {"runway": "48", "credits": "5"}
    assert isinstance(parse("watch settings runway"), Usage)
    assert isinstance(parse("watch settings speed 3"), Usage)
    assert isinstance(parse("watch #ops"), Usage)
    op = parse("unwatch llama --provider nosana")
    assert isinstance(op, Operation) and op.target == "llama" and op.provider == "nosana"
    assert isinstance(parse("watching extra"), Usage)


def _deployment(i: int, status: S, cost: str | None) -> Deployment:
    return Deployment(
        provider="nosana",
        id=f"d{i}",
        name=f"<b>{i}</b>",
        status=status,
        raw_status=status.value.upper(),
        cost_per_hour_usd=Decimal(cost) if cost else None,
    )


def test_home_view_totals_and_seam() -> None:
    now = datetime(2026, 11, 1, tzinfo=UTC)
    view = home_view(
        connected=[("nosana", "…abcd")],
        running=[
            _deployment(1, S.RUNNING, "0.50"),
            _deployment(2, S.RUNNING, "0.25"),
            _deployment(3, S.STOPPED, "9"),
            _deployment(4, S.RUNNING, None),
        ],
        recent=[RecentAction("stop llama", "nosana", now)],
        now=now,
        extra_sections=[{"type": "section", "text": {"type": "mrkdwn", "text": "APPROVALS"}}],
    )
    text = str(view)
    assert "3, $0.75/h in total (1 without a price)" in text
    assert "provider_connect_akash" in text and "provider_connect_nosana" not in text
    assert "&lt;b&gt;1&lt;/b&gt;" in text
    blocks = [str(b) for b in view["blocks"]]
    seam = next(i for i, b in enumerate(blocks) if "APPROVALS" in b)
    assert seam < next(i for i, b in enumerate(blocks) if "My recent actions" in b)
    assert len(view["blocks"]) <= 100
