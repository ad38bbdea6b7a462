"""The watcher's per-key walk state, and what a watcher-only process imports."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

from bot.db.watch.store import PollKey
from bot.db.watch.store_records import print_key, print_mark
from bot.providers.models import Deployment, DeploymentStatus
from bot.watch.diff import Thresholds
from bot.watch.keypoll import SEEN, KeyPoll, burn_of, compact


class _Client:
    """Only what ``diff_page`` reads: (id, fingerprint) of a raw list item."""

    @staticmethod
    def watch_fields(raw: Any) -> tuple[str, str] | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
            return None
        return raw["id"], raw["fp"]


def _poll(prints: dict[str, str]) -> KeyPoll:
    key = PollKey(1, "", "T1", "nosana", True)
    return KeyPoll(key, _Client(), None, [], Thresholds(24.0, 0.0), {}, compact(prints), 0.0)  # type: ignore[arg-type]


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
    assert poll.prints[print_key("same")] == SEEN and poll.prints[print_key("moved")] == SEEN
    # not listed: still the stored fingerprint
    assert poll.prints[print_key("unlisted")] == print_mark("a/24")
    assert poll.fresh == {"new"}
    assert poll.is_listed("same") and poll.is_listed("new")
    assert not poll.is_listed("unlisted") and not poll.is_listed("")
    assert poll.unlisted()  # "unlisted" is known, not gone, and was not listed
    assert poll.is_known("unlisted") and not poll.is_known("new")


def test_a_gone_state_is_neither_unlisted_nor_equal_to_a_listed_item() -> None:
    poll = _poll({"": "account"})
    poll.prints[print_key("closed")] = print_mark("a/24", gone=True)
    assert not poll.unlisted()  # the account row and a gone state are never looked up
    # Listed again with the same fingerprint: a change (it is back), not "nothing changed".
    assert [i["id"] for i in poll.diff_page([{"id": "closed", "fp": "a"}])] == ["closed"]
    assert not poll.unlisted()


def test_compact_fingerprints_are_small_non_negative_ints() -> None:
    # Below 2**60: two of CPython's 30-bit digits (32 bytes), not a full 64-bit hash's three
    # (48 bytes once allocated); never negative, so never SEEN; the low bit says "gone".
    ids = [f"dep-{i}" for i in range(2000)]
    for value in [print_key(i) for i in ids] + [print_mark(i) for i in ids]:
        assert 0 <= value < 2**60
        assert sys.getsizeof(value) <= sys.getsizeof(2**59)
    assert all(print_mark(i) & 1 == 0 for i in ids)
    assert print_mark("a/24", gone=True) == print_mark("a/24") | 1 != SEEN
    # the dict the walk uses agrees with the helpers (the loop inlines them)
    poll = _poll({"x": "a/24"})
    assert poll.diff_page([{"id": "x", "fp": "a"}]) == []


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
