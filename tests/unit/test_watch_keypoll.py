"""The watcher's per-key walk state, and what a watcher-only process imports."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

from bot.db.watch.store import PollKey
from bot.providers.models import Deployment, DeploymentStatus
from bot.watch.diff import Thresholds
from bot.watch.keypoll import SEEN, KeyPoll, burn_of


class _Client:
    """Only what ``diff_page`` reads: (id, fingerprint) of a raw list item."""

    @staticmethod
    def watch_fields(raw: Any) -> tuple[str, str] | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            return None
        return raw["id"], raw["fp"]


def _poll(prints: dict[str, str]) -> KeyPoll:
    key = PollKey(1, "", "T1", "nosana", True)
    return KeyPoll(key, _Client(), None, [], Thresholds(24.0, 0.0), {}, prints, 0.0)  # type: ignore[arg-type]


def test_diff_page_marks_listed_deployments_and_keeps_only_the_changed() -> None:
    poll = _poll({"same": "a/24", "moved": "a/24", "unlisted": "a/24", "": "account"})
    page = [
        {"id": "same", "fp": "a"},
        {"id": "moved", "fp": "b"},
        {"id": "new", "fp": "c"},
        {"no id": True},
    ]
    changed = poll.diff_page(page)
    assert [i["id"] for i in changed] == ["moved", "new"]
    assert poll.pending == [("moved", "b/24"), ("new", "c/24")]
    assert poll.listed_count == 3
    assert poll.prints["same"] == SEEN and poll.prints["moved"] == SEEN
    assert poll.prints["unlisted"] == "a/24"  # not listed: still the stored fingerprint
    assert poll.fresh == {"new"}
    assert poll.is_listed("same") and poll.is_listed("new")
    assert not poll.is_listed("unlisted") and not poll.is_listed("")


def test_an_item_repeated_by_pagination_counts_once() -> None:
    poll = _poll({"known": "a/24"})
    assert len(poll.diff_page([{"id": "known", "fp": "x"}, {"id": "new", "fp": "y"}])) == 2
    # The next page repeats both (page-number pagination while the list moves).
    assert poll.diff_page([{"id": "known", "fp": "z"}, {"id": "new", "fp": "y"}]) == []
    assert poll.listed_count == 2
    assert [i for i, _ in poll.pending] == ["known", "new"]


def test_a_watcher_only_process_leaves_the_web_and_migration_stacks_out() -> None:
    code = (
        "import sys\n"
        "import bot.runtime, bot.services.pool, bot.watch.poller, bot.db.watch.store\n"
        "print(' '.join(sorted(m for m in ('aiohttp', 'alembic', 'slack_bolt', 'bot.app',"
        " 'bot.server', 'bot.handlers') if m in sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == ""


def test_the_burn_recorded_for_a_deployment_is_what_it_costs_while_it_runs() -> None:
    def dep(status: DeploymentStatus, cost: str | None) -> Deployment:
        return Deployment(
            provider="akash",
            id="1",
            name="x",
            status=status,
            raw_status=status.value,
            cost_per_hour_usd=Decimal(cost) if cost is not None else None,
        )

    assert burn_of(dep(DeploymentStatus.RUNNING, "0.5")) == 0.5
    assert burn_of(dep(DeploymentStatus.STOPPED, "0.5")) == 0.0
    assert burn_of(dep(DeploymentStatus.RUNNING, None)) is None  # unknown, said as such
    assert burn_of(dep(DeploymentStatus.PENDING, None)) == 0.0  # no lease yet
    assert burn_of(None) == 0.0  # gone
