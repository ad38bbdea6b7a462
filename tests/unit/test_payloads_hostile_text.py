"""The pure renderers, fed what users and providers can type (``<!here>``, ``<@U…>``, ``&``,
``|``, very long names), give payloads Slack accepts (tests/blockkit_support.py): everything
is escaped, every limit kept, nothing cut inside a token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import approvals as msg
from bot.core import create_views as views
from bot.core.arguments import args_for
from bot.core.audit_replies import audit_listing
from bot.core.home import RecentAction, home_view
from bot.core.operations import Operation, OpKind
from bot.core.paging import page_of
from bot.core.policy import ApprovalRule, Risk
from bot.core.render import deployment_card, deployment_list
from bot.core.replies.help import help_reply
from bot.providers.models import Capability, Deployment, DeploymentStatus, Endpoint
from tests.blockkit_support import check_message, check_view

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
#: What people and providers type, at its worst.
HOSTILE = st.one_of(
    st.sampled_from(
        [
            "<!here>",
            "<!channel> & <@U0BOSS>",
            "a <b> c",
            "x < y > z &amp; &lt;",
            "<https://evil.test|click>",
            "<!date^1^{date}|x>",
            "|||^^^!!!",
            "name" * 400,
        ]
    ),
    st.text(alphabet="ab <>&|@!#^*_~`\n", max_size=300),
)
FEW = settings(max_examples=40, deadline=None)
ALL = frozenset(Capability)


def deployment(name: str, id_: str = "dep-1", provider: str = "nosana") -> Deployment:
    return Deployment(
        provider=provider,  # type: ignore[arg-type]
        id=id_,
        name=name,
        status=DeploymentStatus.RUNNING,
        raw_status="running",
        replicas=1,
        cost_per_hour_usd=Decimal("0.385"),
        created_at=NOW - timedelta(hours=3),
        endpoints=(Endpoint(url=f"https://{name[:20]}.test/x", label=name[:30]),),
    )


def message(reply: Any) -> dict[str, Any]:
    return {"text": reply.text, "blocks": reply.blocks}


@FEW
@given(HOSTILE, HOSTILE)
def test_cards_and_lists(name: str, id_: str) -> None:
    card = deployment_card(deployment(name, id_ or "x"), allowed=ALL, now=NOW)
    assert check_message({"text": "card", "blocks": card}) == []
    many = [deployment(f"{name}{i}", f"{id_}{i}") for i in range(120)]
    listed = deployment_list(many, now=NOW, title=name or "t", next_value="n")
    assert check_message({"text": "list", "blocks": listed}) == []


@FEW
@given(HOSTILE, HOSTILE, HOSTILE)
def test_status_messages_in_every_state(title: str, error: str, provider_name: str) -> None:
    bid = {"gseq": 1, "oseq": 1, "state": "open", "price_per_hour_usd": "0.33", "gpu": error}
    bids = [{**bid, "provider_address": f"akash1{i}"} for i in range(30)]
    providers = {f"akash1{i}": {"name": provider_name, "is_audited": True} for i in range(30)}
    for state in ("creating", "bidding", "no_bids", "closed", "leasing", "failed", "created"):
        reply = views.status_message(
            request_id="r1", provider="akash", state=state, user_id="U1", title=title or "x",
            deployment_id=error or "1", bids=bids, providers=providers, accepted=provider_name,
            error=error, deployment=deployment(title or "x") if state == "created" else None,
            allowed=ALL, now=NOW,
        )  # fmt: skip
        assert check_message(message(reply)) == [], state


@FEW
@given(HOSTILE, HOSTILE, HOSTILE)
def test_approval_messages(name: str, reason: str, note: str) -> None:
    stop = Operation(args=args_for(OpKind.STOP), target="dep-1", provider="nosana")
    summary = msg.summarize(stop, deployment(name or "x"))  # what the pipeline files
    view = msg.ApprovalView(
        request_id="r1", requester_id="U1", summary=summary, risk=Risk.SPEND,
        rule=ApprovalRule(), state="denied", expires_at=NOW, reason=reason or None,
        decided_by="U2", decision_note=note or None, result=note or None,
    )  # fmt: skip
    for reply in (
        msg.request_message(view),
        msg.dm_message(view, "C1"),
        msg.outcome_message(view),
        msg.reminder_message(view, "C1", NOW),
    ):
        assert check_message(message(reply)) == []
    assert check_view(msg.deny_view("r1", summary)) == []


@FEW
@given(HOSTILE, HOSTILE)
def test_home(name: str, note: str) -> None:
    view = home_view(
        connected=[("nosana", note[:8])],
        running=[deployment(f"{name}{i}", f"d{i}") for i in range(30)],
        recent=[RecentAction(note, "nosana", NOW)] * 20,
        now=NOW,
        notes=[note] * 3,
    )
    assert check_view(view) == []


@FEW
@given(HOSTILE, HOSTILE)
def test_audit_rows(target: str, value: str) -> None:
    class Row:
        seq = 1
        created_at = NOW
        user_id = "U1"
        action = "rename"
        provider = "nosana"
        decision = "allow"
        approvers = ["U2"]
        result = "ok"

        def __init__(self, n: int) -> None:
            self.seq = n
            self.target = target or None
            self.params = {"name": value, "reason": value, "steps": [{"op": "x", "v": value}]}

        def as_dict(self) -> dict[str, Any]:
            return {}

    rows = [Row(n) for n in range(50, 0, -1)]
    reply = audit_listing(rows, page_of(120, 50, 1))  # type: ignore[arg-type]
    assert check_message(message(reply)) == []


@FEW
@given(HOSTILE)
def test_help_and_templates(problem: str) -> None:
    assert check_message(message(help_reply(None, problem or None))) == []
    assert check_message(message(help_reply("create", problem or None))) == []

    class Template:
        name = problem or "t"
        provider = "nosana"
        created_by = "U1"
        form = {"image": problem, "market": problem}

    assert check_message(message(views.templates_reply([Template()] * 40))) == []


@FEW
@given(HOSTILE)
def test_create_form_with_problems(value: str) -> None:
    form = dict.fromkeys(("name", "image", "env", "command"), value)
    view = views.form_view(
        "nosana", form, private_metadata="{}", problems={"name": value, "env": value}, note=value
    )
    assert check_view(view) == []
