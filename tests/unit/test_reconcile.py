"""What a provider call a dead worker sent did, judged from the deployment as it is now."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.db.jobs import Call
from bot.jobs.reconcile import Verdict, judge, judge_create
from bot.providers.models import Deployment, DeploymentStatus


def dep(status: str = "running", **fields: Any) -> Deployment:
    base: dict[str, Any] = {
        "provider": "nosana",
        "id": "d1",
        "name": "llama",
        "status": DeploymentStatus(status),
        "raw_status": status.upper(),
    }
    base.update(fields)
    return Deployment(**base)


def call(method: str, **before: str) -> Call:
    return Call(seq=1, method=method, provider="nosana", target="d1", before=before)


@pytest.mark.parametrize(
    ("method", "status", "verdict"),
    [
        ("start", "running", Verdict.HAPPENED),
        ("start", "starting", Verdict.HAPPENED),
        ("start", "stopped", Verdict.NOT_HAPPENED),
        ("stop", "stopping", Verdict.HAPPENED),
        ("stop", "running", Verdict.NOT_HAPPENED),
        ("archive", "archived", Verdict.HAPPENED),
        ("archive", "stopped", Verdict.NOT_HAPPENED),
        ("close", "closed", Verdict.HAPPENED),
        ("accept_bids", "running", Verdict.HAPPENED),
        # a lease must never be sent twice: no effect seen is "may or may not"
        ("accept_bids", "pending", Verdict.UNKNOWN),
    ],
)
def test_status_calls(method: str, status: str, verdict: Verdict) -> None:
    assert judge(call(method), dep(status)).verdict is verdict


def test_field_calls_compare_with_the_value_sent() -> None:
    assert judge(call("scale", value="3"), dep(replicas=3)).verdict is Verdict.HAPPENED
    assert judge(call("scale", value="3"), dep(replicas=1)).verdict is Verdict.NOT_HAPPENED
    assert judge(call("rename", value="llama"), dep()).verdict is Verdict.HAPPENED
    assert judge(call("rename", value="other"), dep()).verdict is Verdict.NOT_HAPPENED
    unknown = judge(call("set_timeout", value="60"), dep())  # the provider doesn't show it
    assert unknown.verdict is Verdict.UNKNOWN and "may or may not have happened" in unknown.text


def test_a_deposit_happened_when_the_escrow_grew_and_is_never_repeated() -> None:
    grown = dep(extras={"escrow_funds": "7.5"})
    assert judge(call("deposit", escrow="5"), grown).verdict is Verdict.HAPPENED
    same = dep(extras={"escrow_funds": "5"})
    assert judge(call("deposit", escrow="5"), same).verdict is Verdict.UNKNOWN
    assert judge(call("deposit"), same).verdict is Verdict.UNKNOWN  # nothing to compare with


def test_a_delete_happened_when_the_deployment_is_gone() -> None:
    assert judge(call("delete"), None).verdict is Verdict.HAPPENED
    assert judge(call("delete"), dep("stopped")).verdict is Verdict.NOT_HAPPENED
    gone = judge(call("stop"), None)
    assert gone.verdict is Verdict.UNKNOWN and "/deploy list" in gone.text


def test_a_create_is_found_by_name_after_the_job_started_never_guessed() -> None:
    since = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
    new = dep("draft", id="n1", name="mine", created_at=datetime(2026, 12, 7, 9, 1, tzinfo=UTC))
    old = dep("running", id="o1", name="mine", created_at=datetime(2026, 1, 1, tzinfo=UTC))
    made = judge_create(Call(1, "create", "nosana", "mine"), [old, new], since)
    assert made.verdict is Verdict.HAPPENED and made.found == new and "`n1`" in made.text
    twice = dep("draft", id="n2", name="mine", created_at=new.created_at)
    unsure = judge_create(Call(1, "create", "nosana", "mine"), [new, twice], since)
    assert unsure.verdict is Verdict.UNKNOWN and "before creating it again" in unsure.text
    assert judge_create(Call(1, "create", "nosana", "mine"), [old], since).verdict is (
        Verdict.UNKNOWN
    )


def test_names_are_escaped() -> None:
    text = judge(call("start"), dep(name="<!here>")).text
    assert "<!here>" not in text and "&lt;!here&gt;" in text


def test_money_before_is_decimal_safe() -> None:
    assert (
        judge(call("deposit", escrow="x"), dep(extras={"escrow_funds": str(Decimal(1))})).verdict
        is Verdict.UNKNOWN
    )
