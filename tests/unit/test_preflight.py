"""Preflight as a pure function: state, input limits and money, with the exact reasons."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bot.core.operations import Chain, Operation, OpKind
from bot.core.preflight import (
    Account,
    Change,
    Cleared,
    CostChange,
    Facts,
    Refused,
    describe_changes,
    preflight,
)
from bot.core.preflight_create import AcceptFacts, CreateFacts, preflight_accept, preflight_create
from bot.providers.akash import AkashProvider
from bot.providers.base import BaseProvider
from bot.providers.models import Bid, Deployment, DeploymentStatus, Market
from bot.providers.neuranet import NeuraNetProvider
from bot.providers.nosana import NosanaProvider

NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)
CLIENTS: dict[str, BaseProvider] = {
    "nosana": NosanaProvider("k", base_url="http://127.0.0.1:9"),
    "akash": AkashProvider("k", base_url="http://127.0.0.1:9"),
    "neuranet": NeuraNetProvider("k", base_url="http://127.0.0.1:9"),
}
CREDITS = "Nosana credits"


def nosana(raw: str = "RUNNING", replicas: int = 2, **extras: Any) -> Deployment:
    status = {
        "RUNNING": DeploymentStatus.RUNNING,
        "STOPPED": DeploymentStatus.STOPPED,
        "STARTING": DeploymentStatus.STARTING,
        "ARCHIVED": DeploymentStatus.ARCHIVED,
        "DRAFT": DeploymentStatus.DRAFT,
    }[raw]
    running = status is DeploymentStatus.RUNNING or status is DeploymentStatus.STARTING
    return Deployment(
        provider="nosana",
        id="W2" * 22,
        name="w2",
        status=status,
        raw_status=raw,
        replicas=replicas,
        cost_per_hour_usd=Decimal("0.4") * replicas if running else Decimal(0),
        active_revision=2,
        extras={
            "strategy": "SIMPLE",
            "timeout_minutes": 60,
            "price_per_replica_hour_usd": "0.4",
            "cost_when_running_per_hour_usd": str(Decimal("0.4") * replicas),
            **extras,
        },
    )


def akash(state: str = "active", funds: str = "10", leased: bool = True) -> Deployment:
    leases = [{"state": "active"}] if leased else []
    closed = state != "active"
    return Deployment(
        provider="akash",
        id="1785245500842",
        name="dseq 1785245500842",
        status=DeploymentStatus.CLOSED if closed else DeploymentStatus.RUNNING,
        raw_status=state if closed else "active",
        cost_per_hour_usd=Decimal("0.5") if leased and not closed else None,
        extras={"state": state, "escrow_funds_usd": funds, "leases": leases},
    )


def neuranet(status: DeploymentStatus = DeploymentStatus.RUNNING) -> Deployment:
    return Deployment(
        provider="neuranet",
        id="dep_abc123",
        name="my-ollama",
        status=status,
        raw_status=status.value,
        cost_per_hour_usd=Decimal(0) if status is DeploymentStatus.STOPPED else Decimal("1.5"),
        extras={"node_hourly_rate_usd": "1.5", "template_id": "ollama"},
    )


def facts(
    op: Operation | Chain,
    deployment: Deployment,
    account: Account | None = None,
    *,
    notes: tuple[str, ...] = (),
    definition_problem: str | None = None,
) -> Facts:
    client = CLIENTS[deployment.provider]
    return Facts(
        op=op,
        provider=client.name,
        display_name=client.display_name,
        deployment=deployment,
        capabilities=client.capabilities,
        allowed=client.available_actions(deployment),
        now=NOW,
        account=account,
        actions_of=client.available_actions,
        definition_problem=definition_problem,
        notes=notes,
    )


def op(kind: OpKind, **fields: Any) -> Operation:
    return Operation(kind=kind, target="w2", **fields)


REFUSALS = [
    pytest.param(
        op(OpKind.STOP),
        nosana("STOPPED"),
        None,
        "w2 is already stopped on Nosana: it can start, archive, delete.",
        id="stop-stopped",
    ),
    pytest.param(
        op(OpKind.START),
        nosana("RUNNING"),
        None,
        "w2 is already running on Nosana: it can stop.",
        id="start-running",
    ),
    pytest.param(
        op(OpKind.START),
        nosana("STARTING"),
        None,
        "w2 is already starting on Nosana: wait until it is no longer starting.",
        id="start-starting",
    ),
    pytest.param(
        op(OpKind.ARCHIVE),
        nosana("RUNNING"),
        None,
        "w2 is running on Nosana, so `archive` is not possible now: it can stop.",
        id="archive-running",
    ),
    pytest.param(
        op(OpKind.STOP),
        nosana("DRAFT"),
        None,
        "w2 is a draft on Nosana, so `stop` is not possible now: it can start.",
        id="stop-draft",
    ),
    pytest.param(
        op(OpKind.SCALE, replicas=3),
        nosana("ARCHIVED"),
        None,
        "w2 is archived on Nosana, so `scale` is not possible now: there is nothing "
        "left to do with it.",
        id="scale-archived",
    ),
    pytest.param(
        op(OpKind.SCALE, replicas=2),
        nosana("RUNNING"),
        None,
        "w2 already has 2 replicas: nothing to change.",
        id="scale-same",
    ),
    pytest.param(
        op(OpKind.SCALE, replicas=5000),
        nosana("RUNNING"),
        None,
        "Replicas must be between 0 and 1000 (got 5000).",
        id="scale-too-many",
    ),
    pytest.param(
        op(OpKind.TIMEOUT, minutes=30),
        nosana("RUNNING"),
        None,
        "Nosana needs a timeout of at least 60 minutes (got 30).",
        id="timeout-below-60",
    ),
    pytest.param(
        op(OpKind.TIMEOUT, minutes=60),
        nosana("RUNNING"),
        None,
        "w2 already has a 60-minute timeout: nothing to change.",
        id="timeout-same",
    ),
    pytest.param(
        op(OpKind.SCHEDULE, cron="0 * * * *"),
        nosana("RUNNING"),
        None,
        "w2 has no schedule to change: it runs with the SIMPLE strategy, and only SCHEDULED "
        "deployments run on a cron.",
        id="schedule-not-scheduled",
    ),
    pytest.param(
        op(OpKind.SCHEDULE, cron="every hour"),
        nosana("RUNNING", strategy="SCHEDULED"),
        None,
        "The schedule must have 5 fields (minute hour day-of-month month day-of-week), got 2.",
        id="schedule-bad-cron",
    ),
    pytest.param(
        op(OpKind.ROLLBACK, revision=2),
        nosana("RUNNING"),
        None,
        "w2 already runs revision 2: nothing to change.",
        id="rollback-same",
    ),
    pytest.param(
        op(OpKind.RENAME, name="w2"),
        nosana("RUNNING"),
        None,
        "w2 already has that name: nothing to change.",
        id="rename-same",
    ),
    pytest.param(
        op(OpKind.START),
        nosana("STOPPED"),
        Account(Decimal(0), label=CREDITS),
        "No Nosana credits left ($0.00): start w2 would not run on Nosana. Add funds first.",
        id="start-no-credits",
    ),
    pytest.param(
        op(OpKind.SCALE, replicas=4),
        nosana("RUNNING"),
        Account(Decimal("-2"), label=CREDITS),
        "No Nosana credits left (-$2.00): scale w2 to 4 would not run on Nosana. Add funds first.",
        id="scale-up-negative-credits",
    ),
    pytest.param(
        op(OpKind.DEPOSIT, amount_usd=Decimal(5)),
        akash("closed"),
        None,
        "dseq 1785245500842 is closed on Akash: deposits go only into an open "
        "deployment; there is nothing left to do with it.",
        id="deposit-closed",
    ),
    pytest.param(
        op(OpKind.DEPOSIT, amount_usd=Decimal(50)),
        akash(),
        Account(Decimal(20), label="Akash balance"),
        "The deposit ($50.00) is more than the Akash balance ($20.00): add funds to the account "
        "or deposit less.",
        id="deposit-over-balance",
    ),
    pytest.param(
        op(OpKind.DEPOSIT, amount_usd=Decimal("0.0000001")),
        akash(),
        None,
        "A deposit can have at most 6 decimal places (got 1E-7).",
        id="deposit-precision",
    ),
    pytest.param(
        op(OpKind.SCALE, replicas=3),
        neuranet(),
        None,
        "NeuraNET cannot scale deployments: it can start, stop, delete.",
        id="neuranet-no-scale",
    ),
    pytest.param(
        op(OpKind.START),
        neuranet(DeploymentStatus.RUNNING),
        None,
        "my-ollama is already running on NeuraNET: it can stop, delete.",
        id="neuranet-start-running",
    ),
    pytest.param(
        op(OpKind.STOP),
        neuranet(DeploymentStatus.STOPPED),
        None,
        "my-ollama is already stopped on NeuraNET: it can start, delete.",
        id="neuranet-stop-stopped",
    ),
]


@pytest.mark.parametrize(("operation", "deployment", "account", "reason"), REFUSALS)
def test_refuses_doomed_operations_with_the_exact_reason(
    operation: Operation, deployment: Deployment, account: Account | None, reason: str
) -> None:
    assert preflight(facts(operation, deployment, account)) == Refused(reason)


def test_start_on_a_node_that_went_offline_is_refused() -> None:
    stopped = neuranet(DeploymentStatus.STOPPED)
    offline = stopped.model_copy(
        update={"extras": {**stopped.extras, "node_status": "offline", "node_name": "GPU 1"}}
    )
    assert preflight(facts(op(OpKind.START), offline)) == Refused(
        "my-ollama runs on GPU 1, which is offline: it cannot start there; create a new "
        "deployment on an online node (`/deploy nodes` lists them)."
    )


@pytest.mark.parametrize(
    ("operation", "reason"),
    [
        (
            op(OpKind.TIMEOUT, minutes=90),
            "NeuraNET cannot change timeouts: it can start, stop, delete.",
        ),
        (
            op(OpKind.ROLLBACK, revision=1),
            "NeuraNET cannot roll deployments back: it can start, stop, delete.",
        ),
        (
            op(OpKind.DEPOSIT, amount_usd=Decimal(1)),
            "NeuraNET cannot take deposits: it can start, stop, delete.",
        ),
    ],
)
def test_what_a_provider_cannot_do_at_all_is_named(operation: Operation, reason: str) -> None:
    assert preflight(facts(operation, neuranet())) == Refused(reason)


def test_an_operation_without_a_deployment_is_refused() -> None:
    client = CLIENTS["nosana"]
    bare = Facts(
        op=op(OpKind.STOP),
        provider="nosana",
        display_name="Nosana",
        deployment=None,
        capabilities=client.capabilities,
        allowed=frozenset(),
        now=NOW,
    )
    assert preflight(bare) == Refused("Name the deployment to stop (`/deploy list` shows them).")


def test_a_revision_the_provider_rejects_locally_is_refused() -> None:
    outcome = preflight(
        facts(
            op(OpKind.REVISE, definition="{}"),
            nosana(),
            definition_problem="ops: must have at least 1 item",
        )
    )
    assert outcome == Refused("The new revision is not valid: ops: must have at least 1 item")


def test_scale_99_against_114_dollars_warns_when_the_credits_run_out() -> None:
    running = nosana("RUNNING", replicas=2, strategy="INFINITE")
    outcome = preflight(
        facts(op(OpKind.SCALE, replicas=99), running, Account(Decimal(114), label=CREDITS))
    )
    assert isinstance(outcome, Cleared)
    assert outcome.changes == (Change("replicas", "2", "99"),)
    assert outcome.cost == CostChange(Decimal("0.8"), Decimal("39.6"))
    assert outcome.warnings == (
        "The Nosana credits ($114.00) will last about 2 h 52 min at $39.60/h: they run out "
        "around 2026-12-07 08:52 UTC.",
    )
    assert outcome.after is not None and outcome.after.replicas == 99


def test_a_simple_run_only_needs_money_for_its_timeout() -> None:
    running = nosana("RUNNING", replicas=2, strategy="SIMPLE", timeout_minutes=60)
    enough = preflight(
        facts(op(OpKind.SCALE, replicas=99), running, Account(Decimal(114), label=CREDITS))
    )
    assert isinstance(enough, Cleared) and enough.warnings == ()
    short = preflight(
        facts(op(OpKind.SCALE, replicas=99), running, Account(Decimal(30), label=CREDITS))
    )
    assert isinstance(short, Cleared)
    assert short.warnings == (
        "The Nosana credits ($30.00) will last about 45 min at $39.60/h: they run out "
        "around 2026-12-07 06:45 UTC.",
    )


def test_scaling_a_stopped_deployment_spends_nothing_yet() -> None:
    outcome = preflight(
        facts(op(OpKind.SCALE, replicas=9), nosana("STOPPED"), Account(Decimal(0), label=CREDITS))
    )
    assert isinstance(outcome, Cleared)
    assert outcome.cost == CostChange(Decimal(0), Decimal(0))


def test_the_whole_account_burn_counts_when_known() -> None:
    # $30 at $1.20/h is a day for this deployment alone; the account spends more.
    account = Account(Decimal(30), burn_per_hour_usd=Decimal("10.8"), label=CREDITS)
    running = nosana("RUNNING", strategy="INFINITE")
    outcome = preflight(facts(op(OpKind.SCALE, replicas=3), running, account))
    assert isinstance(outcome, Cleared)
    assert outcome.warnings == (
        "The Nosana credits ($30.00) will last about 2 h 40 min at $11.20/h: they run out around "
        "2026-12-07 08:40 UTC.",
    )


def test_enough_money_clears_without_warnings() -> None:
    outcome = preflight(
        facts(op(OpKind.START), nosana("STOPPED"), Account(Decimal(500), label=CREDITS))
    )
    assert outcome == Cleared(
        changes=(Change("status", "stopped", "running"),),
        cost=CostChange(Decimal(0), Decimal("0.8")),
        warnings=(),
        after=outcome.after if isinstance(outcome, Cleared) else None,
    )
    assert isinstance(outcome, Cleared) and outcome.after is not None
    assert outcome.after.raw_status == "STARTING"  # what Nosana answers at once


def test_stop_needs_no_money_and_reports_the_saving() -> None:
    outcome = preflight(facts(op(OpKind.STOP), nosana("RUNNING"), None, notes=("unused",)))
    assert isinstance(outcome, Cleared)
    assert outcome.cost == CostChange(Decimal("0.8"), Decimal(0))
    assert outcome.warnings == ()  # notes about an unread balance matter only for spends


def test_a_failed_balance_read_is_a_warning_not_a_block() -> None:
    note = "The balance was not checked: Nosana did not answer within 3 s."
    outcome = preflight(facts(op(OpKind.START), nosana("STOPPED"), None, notes=(note,)))
    assert isinstance(outcome, Cleared)
    assert outcome.warnings == (note,)


def test_timeout_up_changes_the_timeout_and_checks_credits() -> None:
    outcome = preflight(
        facts(op(OpKind.TIMEOUT, minutes=90), nosana("RUNNING"), Account(Decimal(0), label=CREDITS))
    )
    assert outcome == Refused(
        "No Nosana credits left ($0.00): set the timeout of w2 to 1 h 30 min would not run on "
        "Nosana. Add funds first."
    )
    down = preflight(facts(op(OpKind.TIMEOUT, minutes=120), nosana("RUNNING", timeout_minutes=180)))
    assert isinstance(down, Cleared)
    assert down.changes == (Change("timeout", "3 h", "2 h"),)


def test_deposit_warns_when_even_the_new_escrow_lasts_less_than_a_day() -> None:
    outcome = preflight(
        facts(
            op(OpKind.DEPOSIT, amount_usd=Decimal(2)),
            akash(funds="3"),
            Account(Decimal(20), label="Akash balance"),
        )
    )
    assert isinstance(outcome, Cleared)
    assert outcome.changes == (Change("escrow", "$3.00", "$5.00"),)
    assert outcome.warnings == (
        "Even with this deposit the escrow ($5.00) lasts about 10 h at $0.50/h: the lease "
        "closes around 2026-12-07 16:00 UTC unless topped up.",
    )


def test_a_chain_is_checked_against_the_state_each_step_leaves() -> None:
    chain = Chain(target="w2", steps=(op(OpKind.ARCHIVE), op(OpKind.START)))
    assert preflight(facts(chain, nosana("STOPPED"))) == Refused(
        "Step 2 (start w2): w2 is archived on Nosana, so `start` is not possible "
        "now: there is nothing left to do with it."
    )
    # The chain runs each step at once: the deployment is still STOPPING when archive runs.
    chain = Chain(target="w2", steps=(op(OpKind.STOP), op(OpKind.ARCHIVE)))
    assert preflight(facts(chain, nosana("RUNNING"))) == Refused(
        "Step 2 (archive w2): w2 is stopping on Nosana, so `archive` is not "
        "possible now: wait until it is no longer stopping."
    )
    ok = preflight(
        facts(
            Chain(target="w2", steps=(op(OpKind.START), op(OpKind.SCALE, replicas=5))),
            nosana("STOPPED"),
            Account(Decimal(1000), label=CREDITS),
        )
    )
    assert isinstance(ok, Cleared)
    assert ok.changes == (Change("status", "stopped", "running"), Change("replicas", "2", "5"))
    assert ok.cost == CostChange(Decimal(0), Decimal("2.0"))
    assert describe_changes(ok.changes) == "status stopped → running; replicas 2 → 5"
    assert str(ok.cost) == "cost $0.00/h → $2.00/h"


def test_a_chain_step_after_a_delete_is_refused() -> None:
    chain = Chain(target="w2", steps=(op(OpKind.DELETE), op(OpKind.START)))
    outcome = preflight(facts(chain, nosana("STOPPED")))
    assert outcome == Refused(
        "Step 2 (start w2): There is no deployment to start: an earlier step deletes it."
    )


# -- create -----------------------------------------------------------------------------------


def market(price: str = "0.4", **extras: Any) -> Market:
    return Market(id="M" * 44, name="RTX 4090", price_per_hour_usd=Decimal(price), extras=extras)


def create(provider: str, spec: dict[str, Any], **kw: Any) -> CreateFacts:
    client = CLIENTS[provider]
    return CreateFacts(
        provider=client.name, display_name=client.display_name, spec=spec, now=NOW, **kw
    )


def test_create_on_nosana_without_credits_is_refused() -> None:
    outcome = preflight_create(
        create(
            "nosana",
            {"name": "llama", "replicas": 2, "timeout": 60},
            place=market(),
            account=Account(Decimal(0), label=CREDITS),
        )
    )
    assert outcome == Refused(
        "No Nosana credits left ($0.00): creating llama would not run on Nosana. Add funds first."
    )


def test_a_nosana_draft_pays_nothing_at_create() -> None:
    outcome = preflight_create(
        create(
            "nosana",
            {"name": "llama", "replicas": 2, "timeout": 60, "autostart": False},
            place=market(),
            account=Account(Decimal(0), label=CREDITS),
        )
    )
    assert isinstance(outcome, Cleared)
    assert outcome.changes == (
        Change("deployment", "none", "llama on Nosana"),
        Change("replicas", "0", "2"),
    )


def test_create_on_nosana_warns_and_prices_per_hour() -> None:
    def simple(minutes: int) -> tuple[str, ...]:
        outcome = preflight_create(
            create(
                "nosana",
                {"name": "llama", "replicas": 2, "timeout": minutes, "strategy": "SIMPLE"},
                place=market(),
                account=Account(Decimal(4), label=CREDITS),
            )
        )
        assert isinstance(outcome, Cleared)
        return outcome.warnings

    assert simple(300) == ()  # $4.00 pays the whole 5-hour run at $0.80/h
    assert simple(360) == (
        "The Nosana credits ($4.00) will last about 5 h at $0.80/h: they run out around "
        "2026-12-07 11:00 UTC.",
    )
    outcome = preflight_create(
        create(
            "nosana",
            {"name": "llama", "replicas": 2, "timeout": 60, "strategy": "INFINITE"},
            place=market(),
            account=Account(Decimal(4), label=CREDITS),
        )
    )
    assert isinstance(outcome, Cleared)
    assert outcome.cost == CostChange(Decimal(0), Decimal("0.8"))
    assert outcome.warnings == (
        "The Nosana credits ($4.00) will last about 5 h at $0.80/h: they run out around "
        "2026-12-07 11:00 UTC.",
    )


def test_create_on_neuranet_with_an_unknown_template_is_refused() -> None:
    outcome = preflight_create(
        create(
            "neuranet",
            {"node_id": "node_1", "template_id": "olama"},
            templates=frozenset({"ollama", "comfyui"}),
        )
    )
    assert outcome == Refused(
        "NeuraNET has no template “olama”: it offers comfyui, ollama (or give a custom image)."
    )


def test_create_on_a_full_neuranet_node_is_refused() -> None:
    node = Market(
        id="node_1",
        name="GPU Server 1",
        status="online",
        load="5/5",
        price_per_hour_usd=Decimal("1.5"),
        extras={"accepting": False},
    )
    outcome = preflight_create(
        create("neuranet", {"node_id": "node_1", "template_id": "ollama"}, place=node)
    )
    assert outcome == Refused(
        "Node GPU Server 1 is not accepting deployments (online, 5/5 deployments): choose "
        "another node (`/deploy nodes` lists them)."
    )


def akash_spec(deposit: str) -> dict[str, Any]:
    from bot.providers.akash_sdl import QuickForm, build_sdl

    sdl = build_sdl(QuickForm(image="nginx:1.27", max_price_usd_per_hour="1"))
    return {"sdl": sdl, "deposit_usd": deposit}


def test_create_on_akash_with_a_deposit_above_the_balance_is_refused() -> None:
    outcome = preflight_create(
        create("akash", akash_spec("50"), account=Account(Decimal(20), label="Akash balance"))
    )
    assert outcome == Refused(
        "The deposit ($50.00) is more than the Akash balance ($20.00): add funds to the account "
        "or deposit less."
    )


def test_create_on_akash_warns_when_the_deposit_lasts_less_than_a_day() -> None:
    outcome = preflight_create(
        create("akash", akash_spec("5"), account=Account(Decimal(100), label="Akash balance"))
    )
    assert isinstance(outcome, Cleared)
    assert outcome.cost is not None and outcome.cost.after_per_hour is not None
    assert outcome.cost.after_per_hour > 0
    assert len(outcome.warnings) == 1
    assert outcome.warnings[0].startswith("The deposit ($5.00) lasts about ")


# -- accepting bids ---------------------------------------------------------------------------


def bid(state: str = "open", per_hour: str = "0.5", dseq: str = "1785245500842") -> Bid:
    return Bid(
        deployment_id=dseq,
        provider_address="akash1provider",
        gseq=1,
        oseq=1,
        state=state,
        price_per_block=Decimal("1"),
        denom="uakt",
        price_per_hour_usd=Decimal(per_hour),
    )


def accept(deployment: Deployment, *bids: Bid) -> AcceptFacts:
    return AcceptFacts(
        deployment=deployment,
        bids=bids,
        allowed=CLIENTS["akash"].available_actions(deployment),
        now=NOW,
        account=Account(Decimal(7), label="Akash balance"),
    )


def test_accepting_bids_on_a_leased_or_closed_deployment_is_refused() -> None:
    assert preflight_accept(accept(akash(leased=True), bid())) == Refused(
        "dseq 1785245500842 already has an active lease on Akash: there are no bids to accept."
    )
    assert preflight_accept(accept(akash("closed", leased=False), bid())) == Refused(
        "dseq 1785245500842 is closed on Akash: there are no bids to accept."
    )


def test_accepting_a_closed_bid_is_refused() -> None:
    outcome = preflight_accept(accept(akash(leased=False), bid(state="closed")))
    assert outcome == Refused(
        "The bid from akash1provider is closed: only open bids can be accepted (list the bids "
        "again)."
    )


def test_accepting_a_bid_warns_about_the_escrow_runway() -> None:
    outcome = preflight_accept(accept(akash(funds="5", leased=False), bid(per_hour="0.5")))
    assert isinstance(outcome, Cleared)
    assert outcome.cost == CostChange(Decimal(0), Decimal("0.5"))
    assert outcome.warnings == (
        "The escrow ($5.00) lasts about 10 h at $0.50/h: the lease closes around "
        "2026-12-07 16:00 UTC unless topped up; $7.00 is left in the account for deposits.",
    )
