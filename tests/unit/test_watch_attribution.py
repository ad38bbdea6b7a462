"""The attribution rules: a transition is credited only to an operation that explains it."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.operations import Operation, OpKind
from bot.providers.models import DeploymentStatus as S
from bot.watch import attribution as a
from bot.watch.attribution import Action, Observed

STATUSES = [s.value for s in S] + ["deleted"]
KINDS = sorted(a.STATUS_EFFECTS) + sorted(a.FIELD_EFFECTS)
NOW = 10_000.0


def action(kind: str, value: str = "", at: float = NOW - 60, user: str = "U1") -> Action:
    effect = a.expected_effect(kind, value)
    assert effect is not None
    return Action(user, f"/deploy {kind}", effect, at)


def seen(status: str, name: str = "w1") -> Observed:
    return Observed(status, {"name": name})


def test_each_status_operation_explains_its_own_statuses_only() -> None:
    cases = {
        "stop": ({"stopping", "stopped"}, {"running", "failed", "archived", "deleted"}),
        "start": ({"pending", "starting", "running"}, {"stopped", "failed", "closed"}),
        "archive": ({"archived"}, {"stopped", "deleted"}),
        "delete": ({"deleted"}, {"archived", "stopped", "closed"}),
        "close": ({"closed"}, {"stopped", "insufficient_funds"}),
    }
    for kind, (yes, no) in cases.items():
        for status in yes:
            assert a.credit([action(kind)], seen("draft"), seen(status), now=NOW), (kind, status)
        for status in no:
            assert not a.credit([action(kind)], seen("draft"), seen(status), now=NOW), (
                kind,
                status,
            )


def test_a_rename_never_explains_a_status_transition() -> None:
    rename = action("rename", "w2")
    assert a.credit([rename], seen("running"), seen("stopped", "w2"), now=NOW) is None
    assert a.credit([rename], seen("running"), seen("running", "w2"), now=NOW) == rename
    assert a.credit([rename], seen("running"), seen("running", "other"), now=NOW) is None


def test_field_operations_need_their_field_to_change() -> None:
    scale = action("scale", "3")
    before = Observed("running", {"replicas": "1"})
    assert a.credit([scale], before, Observed("running", {"replicas": "3"}), now=NOW) == scale
    assert a.credit([scale], before, Observed("running", {"replicas": "2"}), now=NOW) is None
    assert a.credit([scale], before, before, now=NOW) is None
    deposit = action("deposit")
    low = Observed("running", {"escrow": "5"})
    assert a.credit([deposit], low, Observed("running", {"escrow": "25"}), now=NOW) == deposit
    assert a.credit([deposit], low, Observed("running", {"escrow": "4"}), now=NOW) is None
    assert a.credit([deposit], low, Observed("running", {"escrow": "n/a"}), now=NOW) is None


def test_the_window_is_bounded() -> None:
    old = action("stop", at=NOW - a.WINDOW_SECONDS - 1)
    assert a.credit([old], seen("running"), seen("stopped"), now=NOW) is None
    edge = action("stop", at=NOW - a.WINDOW_SECONDS)
    assert a.credit([edge], seen("running"), seen("stopped"), now=NOW) == edge


def test_the_latest_explaining_operation_wins() -> None:
    first = action("stop", at=NOW - 300, user="U1")
    rename = action("rename", "w2", at=NOW - 200, user="U2")
    second = action("stop", at=NOW - 100, user="U3")
    assert a.credit([first, rename], seen("running"), seen("stopped"), now=NOW) == first
    assert a.credit([second, first, rename], seen("running"), seen("stopped"), now=NOW) == second


def test_a_credit_is_spent_once_the_deployment_was_seen_in_a_state_it_does_not_explain() -> None:
    stop = action("stop", at=NOW - 600)
    # stopping seen after the stop: still its effect, so stopped is credited too
    assert a.credit([stop], seen("stopping"), seen("stopped"), now=NOW, before_seen_at=NOW - 300)
    # running seen after the stop (started from the dashboard): a later stop is not this one
    assert (
        a.credit([stop], seen("running"), seen("stopped"), now=NOW, before_seen_at=NOW - 300)
        is None
    )
    # running seen before the stop: the stop's effect
    assert a.credit([stop], seen("running"), seen("stopped"), now=NOW, before_seen_at=NOW - 900)


def test_effects_of_operations_and_their_stored_form() -> None:
    scale = a.effect_of(Operation(kind=OpKind.SCALE, target="x", replicas=3))
    assert scale == a.Effect("scale", field="replicas", value="3")
    rename = a.effect_of(Operation(kind=OpKind.RENAME, target="x", name="w = 2"))
    assert a.decode_effect("rename", a.encode_effect(rename)) == rename
    stop = a.effect_of(Operation(kind=OpKind.STOP, target="x"))
    assert stop is not None and "stopped" in stop.statuses
    assert a.decode_effect("stop", a.encode_effect(stop)) == stop
    assert a.effect_of(Operation(kind=OpKind.LOGS, target="x")) is None
    assert a.decode_effect("", "") is None and a.decode_effect("logs", "") is None


@given(
    kind=st.sampled_from(KINDS),
    before=st.sampled_from(STATUSES),
    after=st.sampled_from(STATUSES),
    age=st.floats(min_value=0, max_value=2 * a.WINDOW_SECONDS),
)
def test_a_credited_transition_is_always_an_expected_effect(
    kind: str, before: str, after: str, age: float
) -> None:
    act = action(kind, at=NOW - age)
    got = a.credit([act], seen(before), seen(after), now=NOW)
    if got is not None:
        assert age <= a.WINDOW_SECONDS
        assert after in act.effect.statuses and before != after
    elif age <= a.WINDOW_SECONDS and before != after:
        assert after not in act.effect.statuses


@given(
    kinds=st.lists(st.sampled_from(KINDS), min_size=1, max_size=5),
    before=st.sampled_from(STATUSES),
    after=st.sampled_from(STATUSES),
)
def test_field_operations_never_take_credit_for_a_status_change(
    kinds: list[str], before: str, after: str
) -> None:
    actions = [action(k, "w2", at=NOW - i) for i, k in enumerate(kinds)]
    got = a.credit(actions, seen(before), seen(after, "w2"), now=NOW)
    if before != after:
        assert got is None or got.effect.kind in a.STATUS_EFFECTS
    else:
        assert got is None or got.effect.kind == "rename"
