"""The policy core: classification, decisions, approvals, roles and reminders (pure code)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from pydantic import ValidationError

from bot.core.policy import (
    ADMIN_ONLY,
    ADMINS,
    DEFAULT_RULES,
    Allow,
    ApprovalRule,
    Approver,
    ChannelScope,
    Decision,
    Deny,
    Effect,
    NeedsApproval,
    Request,
    Risk,
    Role,
    Rule,
    Step,
    WorkspacePolicy,
    approvers_text,
    can_approve,
    classify,
    decide,
    describe,
    effective_role,
    eligible,
    is_channel_id,
    is_group_id,
    is_user_id,
    quorum_met,
    rule_for,
)
from bot.services.approvals import FIRST_REMINDER, next_reminder

PROVIDERS = ("nosana", "akash", "neuranet")
CHANNELS = ("C0OPS", "C1DEV", "G2PRIV")
USERS = ("U1ANA", "U2BOB", "W3CAT", "U4DAN")
GROUPS = ("S1OPS", "S2FIN")
READS = ("list", "show", "logs", "events", "jobs", "balance", "roles", "audit", "policy")
SPENDS = ("start", "deposit", "create", "accept")
DESTRUCTIVE = ("stop", "archive", "delete", "close")
CHANGES = ("rename", "schedule", "revise", "rollback")
KINDS = (*READS, *SPENDS, *DESTRUCTIVE, *CHANGES, "scale", "timeout")

DEFAULT_APPROVAL = ApprovalRule(
    approvers=(ADMINS,), quorum=1, self_approval=False, expiry_minutes=60
)

# -- strategies ----------------------------------------------------------------------------

roles = st.sampled_from(list(Role))
risks = st.sampled_from(list(Risk))
effects = st.sampled_from(list(Effect))
providers = st.sampled_from(PROVIDERS)
kinds = st.sampled_from(KINDS)
users = st.sampled_from(USERS)
channels_or_none = st.none() | st.sampled_from(CHANNELS)

approval_rules = st.builds(
    ApprovalRule,
    approvers=st.lists(st.sampled_from((ADMINS, *USERS, *GROUPS)), min_size=1, max_size=4).map(
        tuple
    ),
    quorum=st.integers(1, 10),
    self_approval=st.booleans(),
    expiry_minutes=st.integers(1, 7 * 24 * 60),
)


@st.composite
def rules(draw: st.DrawFn) -> Rule:
    operation = draw(st.none() | kinds)
    return Rule(
        risk=draw(st.none() | risks) if operation else draw(risks),
        operation=operation,
        provider=draw(st.none() | providers),
        effect=draw(effects),
        approval=draw(approval_rules),
    )


scopes = st.builds(
    ChannelScope,
    provider=providers,
    channels=st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True).map(tuple),
    risks=st.lists(risks, min_size=1, max_size=4, unique=True).map(tuple),
)


@st.composite
def policies(draw: st.DrawFn, *, with_scopes: bool = True) -> WorkspacePolicy:
    policy = WorkspacePolicy(default_role=draw(st.sampled_from([Role.VIEWER, Role.OPERATOR])))
    for rule in draw(st.lists(rules(), max_size=6)):
        policy = policy.with_rule(rule)
    if with_scopes:
        for scope in draw(st.lists(scopes, max_size=3)):
            policy = policy.with_scope(scope, scope.provider)
    return policy


steps = st.builds(Step, kind=kinds, risk=risks)


@st.composite
def requests(draw: st.DrawFn, *, min_steps: int = 1, max_steps: int = 4) -> Request:
    return Request(
        user_id=draw(users),
        role=draw(roles),
        channel_id=draw(channels_or_none),
        provider=draw(st.none() | providers),
        steps=tuple(draw(st.lists(steps, min_size=min_steps, max_size=max_steps))),
        admin_only=draw(st.booleans()),
    )


def strictness(decision: Decision) -> int:
    match decision:
        case Allow():
            return 0
        case NeedsApproval():
            return 1
        case _:
            return 2


def request(
    *kinds_and_risks: tuple[str, Risk],
    role: Role = Role.OPERATOR,
    provider: str | None = "nosana",
    channel: str | None = "C0OPS",
    user: str = "U1ANA",
    admin_only: bool = False,
    what: str = "do that",
) -> Request:
    return Request(
        user_id=user,
        role=role,
        channel_id=channel,
        provider=provider,
        steps=tuple(Step(k, r) for k, r in kinds_and_risks),
        admin_only=admin_only,
        what=what,
    )


# -- enums and ids -------------------------------------------------------------------------


def test_ranks_order_roles_risks_and_effects() -> None:
    assert [r.rank for r in (Role.VIEWER, Role.OPERATOR, Role.ADMIN)] == [0, 1, 2]
    assert [r.rank for r in (Risk.READ, Risk.CHANGE, Risk.SPEND, Risk.DESTRUCTIVE)] == [0, 1, 2, 3]
    assert [e.rank for e in (Effect.ALLOW, Effect.APPROVE, Effect.DENY)] == [0, 1, 2]


@pytest.mark.parametrize(
    ("value", "user", "group", "chan"),
    [
        ("U1ANA", True, False, False),
        ("W3CAT", True, False, False),
        ("S1OPS", False, True, False),
        ("C0OPS", False, False, True),
        ("G2PRIV", False, False, True),
        ("D9DM", False, False, True),
        ("U1", False, False, False),  # too short
        ("u1ana", False, False, False),  # Slack ids are upper case
        ("U1-ANA", False, False, False),
        ("", False, False, False),
        ("admins", False, False, False),
    ],
)
def test_id_shapes(value: str, user: bool, group: bool, chan: bool) -> None:
    assert is_user_id(value) is user
    assert is_group_id(value) is group
    assert is_channel_id(value) is chan


# -- ApprovalRule / Rule / WorkspacePolicy -------------------------------------------------


def test_approval_rule_defaults() -> None:
    rule = ApprovalRule()
    assert rule == DEFAULT_APPROVAL


def test_approval_rule_deduplicates_approvers_keeping_order() -> None:
    rule = ApprovalRule(approvers=("U1ANA", ADMINS, "U1ANA", "S1OPS", ADMINS))
    assert rule.approvers == ("U1ANA", ADMINS, "S1OPS")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"approvers": ()},
        {"approvers": ("bob",)},
        {"approvers": ("C0OPS",)},
        {"approvers": ("U1",)},
        {"quorum": 0},
        {"quorum": 11},
        {"expiry_minutes": 0},
        {"expiry_minutes": 7 * 24 * 60 + 1},
        {"unknown": True},
    ],
)
def test_approval_rule_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        ApprovalRule(**kwargs)  # type: ignore[arg-type]


def test_approval_rule_and_rule_are_frozen() -> None:
    rule = Rule(risk=Risk.SPEND, effect=Effect.DENY)
    with pytest.raises(ValidationError):
        rule.effect = Effect.ALLOW  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ApprovalRule().quorum = 3  # type: ignore[misc]


def test_rule_specificity() -> None:
    assert Rule(risk=Risk.SPEND, effect=Effect.ALLOW).specificity == 0
    assert Rule(risk=Risk.SPEND, provider="akash", effect=Effect.ALLOW).specificity == 1
    assert Rule(operation="start", effect=Effect.ALLOW).specificity == 2
    assert Rule(operation="start", provider="akash", effect=Effect.ALLOW).specificity == 3


def test_rule_matches() -> None:
    by_class = Rule(risk=Risk.SPEND, effect=Effect.DENY)
    assert by_class.matches("start", Risk.SPEND, None)
    assert by_class.matches("scale", Risk.SPEND, "akash")
    assert not by_class.matches("scale", Risk.CHANGE, "akash")

    on_akash = Rule(risk=Risk.SPEND, provider="akash", effect=Effect.DENY)
    assert on_akash.matches("start", Risk.SPEND, "akash")
    assert not on_akash.matches("start", Risk.SPEND, "nosana")
    assert not on_akash.matches("start", Risk.SPEND, None)

    # An operation rule ignores the risk class (scale can be change, spend or destructive).
    by_op = Rule(risk=Risk.SPEND, operation="scale", effect=Effect.DENY)
    for risk in Risk:
        assert by_op.matches("scale", risk, None)
    assert not by_op.matches("start", Risk.SPEND, None)


def test_same_place() -> None:
    a = Rule(risk=Risk.SPEND, provider="akash", effect=Effect.DENY)
    assert a.same_place(Rule(risk=Risk.SPEND, provider="akash", effect=Effect.ALLOW))
    assert not a.same_place(Rule(risk=Risk.SPEND, effect=Effect.DENY))
    assert not a.same_place(
        Rule(risk=Risk.SPEND, operation="start", provider="akash", effect=Effect.DENY)
    )


def test_default_policy() -> None:
    policy = WorkspacePolicy()
    assert policy.default_role is Role.OPERATOR
    assert policy.rules == ()
    assert policy.scopes == ()
    assert policy.effective_rules() == DEFAULT_RULES


def test_effective_rules_replace_class_defaults_in_place_and_append_the_rest() -> None:
    spend = Rule(risk=Risk.SPEND, effect=Effect.DENY)
    op = Rule(operation="stop", provider="akash", effect=Effect.ALLOW)
    policy = WorkspacePolicy().with_rule(op).with_rule(spend)
    effective = policy.effective_rules()
    assert effective == (DEFAULT_RULES[0], DEFAULT_RULES[1], DEFAULT_RULES[3], op, spend)


def test_with_rule_replaces_the_rule_in_the_same_place_and_returns_a_copy() -> None:
    base = WorkspacePolicy()
    first = base.with_rule(Rule(risk=Risk.SPEND, provider="akash", effect=Effect.DENY))
    second = first.with_rule(Rule(risk=Risk.SPEND, provider="akash", effect=Effect.ALLOW))
    assert base.rules == ()
    assert len(first.rules) == 1 and first.rules[0].effect is Effect.DENY
    assert second.rules == (Rule(risk=Risk.SPEND, provider="akash", effect=Effect.ALLOW),)
    third = second.with_rule(Rule(risk=Risk.SPEND, effect=Effect.DENY))
    assert len(third.rules) == 2


def test_without_rules_removes_only_that_place() -> None:
    policy = (
        WorkspacePolicy()
        .with_rule(Rule(risk=Risk.SPEND, effect=Effect.DENY))
        .with_rule(Rule(risk=Risk.SPEND, provider="akash", effect=Effect.DENY))
        .with_rule(Rule(operation="stop", effect=Effect.ALLOW))
    )
    after = policy.without_rules(Risk.SPEND, None, "akash")
    assert after.rules == (
        Rule(risk=Risk.SPEND, effect=Effect.DENY),
        Rule(operation="stop", effect=Effect.ALLOW),
    )
    assert after.without_rules(None, "stop", None).rules == (
        Rule(risk=Risk.SPEND, effect=Effect.DENY),
    )
    # Nothing in that place: unchanged.
    assert policy.without_rules(Risk.READ, None, None).rules == policy.rules


def test_with_scope_replaces_and_clears_per_provider() -> None:
    nosana = ChannelScope(provider="nosana", channels=("C0OPS",))
    akash = ChannelScope(provider="akash", channels=("C1DEV",), risks=(Risk.SPEND,))
    policy = WorkspacePolicy().with_scope(nosana, "nosana").with_scope(akash, "akash")
    assert set(policy.scopes) == {nosana, akash}
    moved = ChannelScope(provider="nosana", channels=("C1DEV",))
    policy = policy.with_scope(moved, "nosana")
    assert set(policy.scopes) == {moved, akash}
    policy = policy.with_scope(None, "nosana")
    assert policy.scopes == (akash,)
    assert policy.with_scope(None, "neuranet").scopes == (akash,)


def test_channel_scope_defaults_to_every_change() -> None:
    assert ChannelScope(provider="akash", channels=("C0OPS",)).risks == (
        Risk.CHANGE,
        Risk.SPEND,
        Risk.DESTRUCTIVE,
    )


def test_policy_round_trips_through_json() -> None:
    policy = (
        WorkspacePolicy(default_role=Role.VIEWER)
        .with_rule(
            Rule(
                risk=Risk.SPEND,
                provider="akash",
                effect=Effect.APPROVE,
                approval=ApprovalRule(approvers=("U1ANA", "S1OPS"), quorum=2, expiry_minutes=5),
            )
        )
        .with_scope(ChannelScope(provider="nosana", channels=("C0OPS",)), "nosana")
    )
    dumped = policy.model_dump(mode="json")
    assert dumped["default_role"] == "viewer"
    assert WorkspacePolicy.model_validate(dumped) == policy
    # Unknown keys from a newer version are ignored, not an error.
    assert WorkspacePolicy.model_validate({**dumped, "future": 1}) == policy


@given(policies())
def test_any_policy_round_trips_through_json(policy: WorkspacePolicy) -> None:
    assert WorkspacePolicy.model_validate(policy.model_dump(mode="json")) == policy


# -- classify ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", (*READS, "help", "providers", "markets", "nodes", "approvals"))
def test_reads_are_read(kind: str) -> None:
    assert classify(kind) is Risk.READ


@pytest.mark.parametrize("kind", SPENDS)
def test_spends(kind: str) -> None:
    assert classify(kind) is Risk.SPEND


@pytest.mark.parametrize("kind", DESTRUCTIVE)
def test_destructive(kind: str) -> None:
    assert classify(kind) is Risk.DESTRUCTIVE


@pytest.mark.parametrize("kind", (*CHANGES, "connect", "something-new"))
def test_everything_else_is_a_change(kind: str) -> None:
    assert classify(kind) is Risk.CHANGE


@pytest.mark.parametrize(
    ("replicas", "current", "risk"),
    [
        (0, 3, Risk.DESTRUCTIVE),
        (0, None, Risk.DESTRUCTIVE),
        (0, 0, Risk.DESTRUCTIVE),
        (4, 3, Risk.SPEND),
        (1, None, Risk.SPEND),
        (3, 3, Risk.CHANGE),
        (2, 3, Risk.CHANGE),
    ],
)
def test_classify_scale(replicas: int, current: int | None, risk: Risk) -> None:
    assert classify("scale", replicas=replicas, current_replicas=current) is risk


@pytest.mark.parametrize(
    ("minutes", "current", "risk"),
    [
        (120, 60, Risk.SPEND),
        (30, None, Risk.SPEND),
        (60, 60, Risk.CHANGE),
        (30, 60, Risk.CHANGE),
    ],
)
def test_classify_timeout(minutes: int, current: int | None, risk: Risk) -> None:
    assert classify("timeout", minutes=minutes, current_minutes=current) is risk


@given(st.integers(0, 1000), st.none() | st.integers(0, 1000))
def test_classify_scale_property(replicas: int, current: int | None) -> None:
    risk = classify("scale", replicas=replicas, current_replicas=current)
    if replicas == 0:
        assert risk is Risk.DESTRUCTIVE
    elif current is None or replicas > current:
        assert risk is Risk.SPEND
    else:
        assert risk is Risk.CHANGE


@given(st.integers(1, 43200), st.none() | st.integers(1, 43200))
def test_classify_timeout_property(minutes: int, current: int | None) -> None:
    risk = classify("timeout", minutes=minutes, current_minutes=current)
    expected = Risk.SPEND if current is None or minutes > current else Risk.CHANGE
    assert risk is expected


# -- decide: the default policy ------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
@pytest.mark.parametrize("risk", [Risk.SPEND, Risk.DESTRUCTIVE])
def test_default_policy_needs_one_admin_for_spend_and_destructive(role: Role, risk: Risk) -> None:
    decision = decide(request(("x", risk), role=role), WorkspacePolicy())
    assert decision == NeedsApproval(risk=risk, rule=DEFAULT_APPROVAL)


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
@pytest.mark.parametrize("risk", [Risk.READ, Risk.CHANGE])
def test_default_policy_allows_read_and_change(role: Role, risk: Risk) -> None:
    assert decide(request(("x", risk), role=role), WorkspacePolicy()) == Allow(risk)


@given(
    role=st.sampled_from([Role.OPERATOR, Role.ADMIN]),
    step_list=st.lists(steps, min_size=1, max_size=4),
    provider=st.none() | providers,
    channel=channels_or_none,
)
def test_default_policy_property(
    role: Role, step_list: list[Step], provider: str | None, channel: str | None
) -> None:
    req = Request("U1ANA", role, channel, provider, tuple(step_list))
    decision = decide(req, WorkspacePolicy())
    if req.risk in (Risk.SPEND, Risk.DESTRUCTIVE):
        assert decision == NeedsApproval(risk=req.risk, rule=DEFAULT_APPROVAL)
    else:
        assert decision == Allow(req.risk)


def test_request_risk_is_the_highest_step_risk() -> None:
    assert request().risk is Risk.READ
    assert request(("a", Risk.CHANGE), ("b", Risk.DESTRUCTIVE), ("c", Risk.SPEND)).risk is (
        Risk.DESTRUCTIVE
    )


def test_empty_request_is_an_allowed_read() -> None:
    assert decide(request(), WorkspacePolicy()) == Allow(Risk.READ)


# -- decide: roles -------------------------------------------------------------------------


@pytest.mark.parametrize("risk", [Risk.CHANGE, Risk.SPEND, Risk.DESTRUCTIVE])
def test_viewer_is_denied_changes(risk: Risk) -> None:
    decision = decide(request(("x", risk), role=Role.VIEWER), WorkspacePolicy())
    assert isinstance(decision, Deny)
    assert "viewer" in decision.reason
    assert "/deploy role grant" in decision.reason


def test_viewer_may_read() -> None:
    assert decide(request(("list", Risk.READ), role=Role.VIEWER), WorkspacePolicy()) == Allow(
        Risk.READ
    )


def test_viewer_is_denied_even_when_the_policy_allows_everything() -> None:
    policy = WorkspacePolicy()
    for risk in (Risk.SPEND, Risk.DESTRUCTIVE):
        policy = policy.with_rule(Rule(risk=risk, effect=Effect.ALLOW))
    decision = decide(request(("stop", Risk.DESTRUCTIVE), role=Role.VIEWER), policy)
    assert isinstance(decision, Deny)


@given(requests(), policies())
def test_viewer_never_gets_allow_or_approval_for_a_non_read(
    req: Request, policy: WorkspacePolicy
) -> None:
    assume(req.risk is not Risk.READ)
    viewer = Request(req.user_id, Role.VIEWER, req.channel_id, req.provider, req.steps)
    assert isinstance(decide(viewer, policy), Deny)
    viewer_admin_only = Request(
        req.user_id, Role.VIEWER, req.channel_id, req.provider, req.steps, admin_only=True
    )
    assert isinstance(decide(viewer_admin_only, policy), Deny)


def test_admin_only_allows_admins_and_names_what_for_others() -> None:
    policy = WorkspacePolicy().with_rule(Rule(risk=Risk.CHANGE, effect=Effect.DENY))
    ok = decide(
        request(("connect", Risk.CHANGE), role=Role.ADMIN, admin_only=True, provider=None), policy
    )
    assert ok == Allow(Risk.CHANGE)
    for role in (Role.OPERATOR, Role.VIEWER):
        no = decide(
            request(
                ("connect", Risk.CHANGE),
                role=role,
                admin_only=True,
                provider=None,
                what="connect provider keys",
            ),
            policy,
        )
        assert isinstance(no, Deny)
        assert "Only deploybot admins can connect provider keys" in no.reason


def test_admin_only_set_matches_the_account_operations() -> None:
    assert frozenset({"connect", "disconnect"}) == ADMIN_ONLY


@given(requests(), policies())
def test_admin_only_is_allow_iff_admin(req: Request, policy: WorkspacePolicy) -> None:
    admin_only = Request(
        req.user_id, req.role, req.channel_id, req.provider, req.steps, admin_only=True
    )
    decision = decide(admin_only, policy)
    if req.role is Role.ADMIN:
        assert decision == Allow(req.risk)
    else:
        assert isinstance(decision, Deny)


# -- decide: rules -------------------------------------------------------------------------


def test_deny_rule_names_the_class_and_provider() -> None:
    policy = WorkspacePolicy().with_rule(
        Rule(risk=Risk.SPEND, provider="akash", effect=Effect.DENY)
    )
    decision = decide(request(("start", Risk.SPEND), provider="akash"), policy)
    assert decision == Deny("This workspace's policy doesn't allow spend operations on akash.")
    # Other providers keep the default.
    assert isinstance(
        decide(request(("start", Risk.SPEND), provider="nosana"), policy), NeedsApproval
    )


def test_deny_rule_names_the_operation() -> None:
    policy = WorkspacePolicy().with_rule(Rule(operation="delete", effect=Effect.DENY))
    decision = decide(request(("delete", Risk.DESTRUCTIVE)), policy)
    assert decision == Deny("This workspace's policy doesn't allow `delete`.")
    assert isinstance(decide(request(("stop", Risk.DESTRUCTIVE)), policy), NeedsApproval)


def test_allow_rule_lifts_the_default_approval() -> None:
    policy = WorkspacePolicy().with_rule(Rule(risk=Risk.SPEND, effect=Effect.ALLOW))
    assert decide(request(("start", Risk.SPEND)), policy) == Allow(Risk.SPEND)


def test_approval_rule_of_the_matching_rule_is_returned() -> None:
    approval = ApprovalRule(approvers=("U2BOB",), quorum=2, self_approval=True, expiry_minutes=5)
    policy = WorkspacePolicy().with_rule(
        Rule(risk=Risk.CHANGE, effect=Effect.APPROVE, approval=approval)
    )
    assert decide(request(("rename", Risk.CHANGE)), policy) == NeedsApproval(Risk.CHANGE, approval)


def test_a_deny_step_denies_the_whole_chain() -> None:
    policy = WorkspacePolicy().with_rule(Rule(operation="scale", effect=Effect.DENY))
    decision = decide(
        request(("start", Risk.SPEND), ("scale", Risk.SPEND), ("rename", Risk.CHANGE)), policy
    )
    assert decision == Deny("This workspace's policy doesn't allow `scale`.")


def test_chain_approval_comes_from_the_one_rule_its_steps_share() -> None:
    # change (allow) + destructive (approve): the destructive step's rule governs.
    decision = decide(
        request(("rename", Risk.CHANGE), ("stop", Risk.DESTRUCTIVE)), WorkspacePolicy()
    )
    assert decision == NeedsApproval(Risk.DESTRUCTIVE, DEFAULT_APPROVAL)
    # spend and destructive share the default rule: one approval, at the chain's top risk.
    decision = decide(request(("start", Risk.SPEND), ("stop", Risk.DESTRUCTIVE)), WorkspacePolicy())
    assert decision == NeedsApproval(Risk.DESTRUCTIVE, DEFAULT_APPROVAL)
    # allow + approve → approve, with the risk of the whole request.
    policy = WorkspacePolicy().with_rule(Rule(risk=Risk.DESTRUCTIVE, effect=Effect.ALLOW))
    decision = decide(request(("stop", Risk.DESTRUCTIVE), ("start", Risk.SPEND)), policy)
    assert decision == NeedsApproval(Risk.DESTRUCTIVE, DEFAULT_APPROVAL)


def test_a_chain_whose_steps_need_different_approvals_is_refused() -> None:
    three = ApprovalRule(quorum=3)
    policy = WorkspacePolicy().with_rule(
        Rule(operation="deposit", effect=Effect.APPROVE, approval=three)
    )
    decision = decide(request(("start", Risk.SPEND), ("deposit", Risk.SPEND)), policy)
    assert isinstance(decision, Deny) and "separate commands" in decision.reason


def test_chain_approval_is_never_weaker_than_a_steps_own_approval() -> None:
    strong = ApprovalRule(approvers=("S2FIN",), quorum=3)
    policy = WorkspacePolicy().with_rule(
        Rule(risk=Risk.SPEND, effect=Effect.APPROVE, approval=strong)
    )
    alone = decide(request(("start", Risk.SPEND)), policy)
    assert alone == NeedsApproval(Risk.SPEND, strong)
    chained = decide(request(("start", Risk.SPEND), ("stop", Risk.DESTRUCTIVE)), policy)
    # One admin must not let the spend step through instead of 3 of S2FIN: refused instead.
    assert isinstance(chained, Deny)


def test_most_specific_rule_wins() -> None:
    level = {
        "class": Rule(risk=Risk.SPEND, effect=Effect.ALLOW),
        "class+provider": Rule(risk=Risk.SPEND, provider="akash", effect=Effect.DENY),
        "operation": Rule(
            operation="start", effect=Effect.APPROVE, approval=ApprovalRule(quorum=2)
        ),
        "operation+provider": Rule(
            operation="start",
            provider="akash",
            effect=Effect.APPROVE,
            approval=ApprovalRule(quorum=3),
        ),
    }
    # Added least specific last, so the order of the rules can't be what decides.
    policy = WorkspacePolicy()
    for name in ("operation+provider", "operation", "class+provider", "class"):
        policy = policy.with_rule(level[name])
    assert rule_for(policy, "start", Risk.SPEND, "akash") == level["operation+provider"]
    assert rule_for(policy, "start", Risk.SPEND, "nosana") == level["operation"]
    assert rule_for(policy, "deposit", Risk.SPEND, "akash") == level["class+provider"]
    assert rule_for(policy, "deposit", Risk.SPEND, "nosana") == level["class"]
    assert rule_for(policy, "deposit", Risk.SPEND, None) == level["class"]
    assert rule_for(policy, "stop", Risk.DESTRUCTIVE, "akash") == DEFAULT_RULES[3]


_LEVELS = ("class", "class+provider", "operation", "operation+provider")


@given(
    kind=kinds,
    risk=risks,
    provider=providers,
    present=st.lists(st.sampled_from(_LEVELS), unique=True),
    level_effects=st.fixed_dictionaries({name: effects for name in _LEVELS}),
    level_approvals=st.fixed_dictionaries({name: approval_rules for name in _LEVELS}),
    noise=st.lists(rules(), max_size=4),
    order=st.randoms(use_true_random=False),
)
def test_most_specific_rule_wins_property(
    *,
    kind: str,
    risk: Risk,
    provider: str,
    present: list[str],
    level_effects: dict[str, Effect],
    level_approvals: dict[str, ApprovalRule],
    noise: list[Rule],
    order: object,
) -> None:
    def at(name: str) -> Rule:
        return Rule(
            risk=None if "operation" in name else risk,
            operation=kind if "operation" in name else None,
            provider=provider if "provider" in name else None,
            effect=level_effects[name],
            approval=level_approvals[name],
        )

    # Noise: rules that can't match this step (another operation, provider or class).
    unrelated = [
        r
        for r in noise
        if (r.operation is not None and r.operation != kind)
        or (r.provider is not None and r.provider != provider)
        or (r.operation is None and r.risk is not risk)
    ]
    chosen = [at(name) for name in present]
    mixed = chosen + unrelated
    order.shuffle(mixed)  # type: ignore[attr-defined]
    policy = WorkspacePolicy()
    for rule in mixed:
        policy = policy.with_rule(rule)

    expected = at(max(present, key=_LEVELS.index)) if present else None
    got = rule_for(policy, kind, risk, provider)
    if expected is None:
        assert got == next(r for r in DEFAULT_RULES if r.risk is risk)
    else:
        assert got == expected

    role = Role.ADMIN
    decision = decide(Request("U1ANA", role, "C0OPS", provider, (Step(kind, risk),)), policy)
    winner = got
    match winner.effect:
        case Effect.ALLOW:
            assert decision == Allow(risk)
        case Effect.APPROVE:
            assert decision == NeedsApproval(risk, winner.approval)
        case Effect.DENY:
            assert isinstance(decision, Deny)


@given(requests(min_steps=2), policies(with_scopes=False))
def test_a_chain_is_at_least_as_strict_as_each_of_its_steps(
    req: Request, policy: WorkspacePolicy
) -> None:
    whole = strictness(decide(req, policy))
    for step in req.steps:
        single = Request(
            req.user_id, req.role, req.channel_id, req.provider, (step,), admin_only=req.admin_only
        )
        assert whole >= strictness(decide(single, policy))


def test_a_chain_cannot_escape_a_channel_scope() -> None:
    scope = ChannelScope(provider="nosana", channels=("C0OPS",), risks=(Risk.SPEND,))
    policy = WorkspacePolicy().with_scope(scope, "nosana")
    start_alone = decide(request(("start", Risk.SPEND), channel="C1DEV"), policy)
    assert isinstance(start_alone, Deny)
    chained = decide(
        request(("start", Risk.SPEND), ("stop", Risk.DESTRUCTIVE), channel="C1DEV"), policy
    )
    assert isinstance(chained, Deny)


# -- decide: channel scopes ----------------------------------------------------------------


def test_scope_denies_outside_its_channels_with_a_helpful_reason() -> None:
    scope = ChannelScope(provider="nosana", channels=("C0OPS", "C1DEV"))
    policy = WorkspacePolicy().with_scope(scope, "nosana")
    decision = decide(request(("rename", Risk.CHANGE), channel="G2PRIV"), policy)
    assert decision == Deny(
        "In this workspace, change operations on the nosana account run only from "
        "<#C0OPS>, <#C1DEV>."
    )
    # No channel (e.g. a DM-less shell) is outside too.
    assert isinstance(decide(request(("rename", Risk.CHANGE), channel=None), policy), Deny)


def test_scope_allows_inside_its_channels_and_other_providers_and_other_risks() -> None:
    scope = ChannelScope(provider="nosana", channels=("C0OPS",), risks=(Risk.SPEND,))
    policy = WorkspacePolicy().with_scope(scope, "nosana")
    inside = decide(request(("start", Risk.SPEND), channel="C0OPS"), policy)
    assert inside == NeedsApproval(Risk.SPEND, DEFAULT_APPROVAL)
    other_provider = decide(
        request(("start", Risk.SPEND), channel="C1DEV", provider="akash"), policy
    )
    assert isinstance(other_provider, NeedsApproval)
    other_risk = decide(request(("rename", Risk.CHANGE), channel="C1DEV"), policy)
    assert other_risk == Allow(Risk.CHANGE)
    no_provider = decide(request(("start", Risk.SPEND), channel="C1DEV", provider=None), policy)
    assert isinstance(no_provider, NeedsApproval)


def test_scope_can_cover_reads() -> None:
    scope = ChannelScope(provider="akash", channels=("C0OPS",), risks=(Risk.READ,))
    policy = WorkspacePolicy().with_scope(scope, "akash")
    decision = decide(request(("logs", Risk.READ), provider="akash", channel="C1DEV"), policy)
    assert isinstance(decision, Deny)
    assert "read operations on the akash account" in decision.reason


def test_scope_beats_an_allow_rule() -> None:
    policy = (
        WorkspacePolicy()
        .with_rule(Rule(risk=Risk.SPEND, effect=Effect.ALLOW))
        .with_scope(ChannelScope(provider="akash", channels=("C0OPS",)), "akash")
    )
    decision = decide(
        request(("start", Risk.SPEND), provider="akash", channel="C1DEV", role=Role.ADMIN), policy
    )
    assert isinstance(decision, Deny)


@given(
    req=requests(),
    policy=policies(),
    scope_channels=st.lists(st.sampled_from(CHANNELS), min_size=1, max_size=3, unique=True),
    extra_risks=st.lists(risks, unique=True),
)
def test_a_scope_covering_the_risk_outside_its_channels_always_denies(
    req: Request,
    policy: WorkspacePolicy,
    scope_channels: list[str],
    extra_risks: list[Risk],
) -> None:
    assume(req.provider is not None)
    assume(req.channel_id not in scope_channels)
    req = Request(req.user_id, req.role, req.channel_id, req.provider, req.steps)
    scope = ChannelScope(
        provider=req.provider,
        channels=tuple(scope_channels),
        risks=tuple(dict.fromkeys([req.risk, *extra_risks])),
    )
    decision = decide(req, policy.with_scope(scope, req.provider))
    assert isinstance(decision, Deny)


# -- approving -----------------------------------------------------------------------------


def test_approvers_text() -> None:
    assert approvers_text(ApprovalRule()) == "an admin"
    assert approvers_text(ApprovalRule(approvers=("U1ANA",))) == "<@U1ANA>"
    assert approvers_text(ApprovalRule(approvers=("U1ANA", "S1OPS"))) == (
        "<@U1ANA> or <!subteam^S1OPS>"
    )
    assert approvers_text(ApprovalRule(approvers=(ADMINS, "U1ANA", "S1OPS"))) == (
        "admins, <@U1ANA> or <!subteam^S1OPS>"
    )
    assert approvers_text(ApprovalRule(approvers=(ADMINS, "U1ANA"), quorum=2)) == (
        "2 different people from: admins, <@U1ANA>"
    )
    assert approvers_text(ApprovalRule(quorum=3)) == "3 different people from: admins"


def test_eligible() -> None:
    rule = ApprovalRule(approvers=(ADMINS, "U2BOB", "S1OPS"))
    assert eligible(Approver("U9ZED", Role.ADMIN), rule)
    assert eligible(Approver("U2BOB", Role.VIEWER), rule)
    assert eligible(Approver("U9ZED", Role.OPERATOR, frozenset({"S2FIN", "S1OPS"})), rule)
    assert not eligible(Approver("U9ZED", Role.OPERATOR, frozenset({"S2FIN"})), rule)
    named_only = ApprovalRule(approvers=("U2BOB",))
    assert not eligible(Approver("U9ZED", Role.ADMIN), named_only)


def test_can_approve_refuses_the_requester_without_self_approval() -> None:
    rule = ApprovalRule()
    why = can_approve(Approver("U1ANA", Role.ADMIN), "U1ANA", rule)
    assert why is not None
    assert "self-approval" in why and "an admin must approve" in why
    assert can_approve(Approver("U2BOB", Role.ADMIN), "U1ANA", rule) is None


def test_can_approve_accepts_the_requester_with_self_approval() -> None:
    rule = ApprovalRule(self_approval=True)
    assert can_approve(Approver("U1ANA", Role.ADMIN), "U1ANA", rule) is None
    # ...but self-approval doesn't make a non-approver eligible.
    why = can_approve(Approver("U1ANA", Role.OPERATOR), "U1ANA", rule)
    assert why == "only an admin can approve this."


def test_can_approve_names_who_can() -> None:
    rule = ApprovalRule(approvers=("U2BOB", "S1OPS"))
    why = can_approve(Approver("U3CAT", Role.ADMIN), "U1ANA", rule)
    assert why == "only <@U2BOB> or <!subteam^S1OPS> can approve this."
    assert can_approve(Approver("U3CAT", Role.VIEWER, frozenset({"S1OPS"})), "U1ANA", rule) is None


approvers_ = st.builds(
    Approver,
    user_id=users,
    role=roles,
    groups=st.frozensets(st.sampled_from(GROUPS), max_size=2),
)


@given(approvers_, users, approval_rules)
def test_can_approve_property(approver: Approver, requester: str, rule: ApprovalRule) -> None:
    verdict = can_approve(approver, requester, rule)
    if approver.user_id == requester and not rule.self_approval:
        assert verdict is not None
    elif eligible(approver, rule):
        assert verdict is None
    else:
        assert verdict is not None
    if verdict is None:
        assert eligible(approver, rule)


def test_quorum_met_counts_distinct_people() -> None:
    rule = ApprovalRule(quorum=2)
    assert not quorum_met(["U2BOB", "U2BOB", "U2BOB"], "U1ANA", rule)
    assert quorum_met(["U2BOB", "U3CAT"], "U1ANA", rule)
    assert not quorum_met([], "U1ANA", ApprovalRule())


def test_quorum_met_excludes_the_requester_unless_self_approval() -> None:
    assert not quorum_met(["U1ANA", "U2BOB"], "U1ANA", ApprovalRule(quorum=2))
    assert quorum_met(["U1ANA", "U2BOB"], "U1ANA", ApprovalRule(quorum=2, self_approval=True))
    assert quorum_met(["U1ANA"], "U1ANA", ApprovalRule(self_approval=True))
    assert not quorum_met(["U1ANA"], "U1ANA", ApprovalRule())


@given(st.lists(users, max_size=12), users, approval_rules)
def test_quorum_met_property(voters: list[str], requester: str, rule: ApprovalRule) -> None:
    people = set(voters) if rule.self_approval else set(voters) - {requester}
    assert quorum_met(iter(voters), requester, rule) is (len(people) >= rule.quorum)


# -- effective_role ------------------------------------------------------------------------


def test_explicit_user_grant_wins_even_downgrading_a_slack_admin() -> None:
    role = effective_role(
        slack_admin=True,
        user_grant=Role.VIEWER,
        group_grants=[Role.ADMIN],
        default=Role.OPERATOR,
    )
    assert role is Role.VIEWER


def test_slack_admins_are_admins_by_default() -> None:
    role = effective_role(slack_admin=True, user_grant=None, group_grants=[], default=Role.VIEWER)
    assert role is Role.ADMIN


def test_best_group_grant_or_default() -> None:
    assert (
        effective_role(
            slack_admin=False,
            user_grant=None,
            group_grants=[Role.VIEWER, Role.ADMIN, Role.OPERATOR],
            default=Role.VIEWER,
        )
        is Role.ADMIN
    )
    # A group grant below the default doesn't lower anyone.
    assert (
        effective_role(
            slack_admin=False, user_grant=None, group_grants=[Role.VIEWER], default=Role.OPERATOR
        )
        is Role.OPERATOR
    )
    assert (
        effective_role(slack_admin=False, user_grant=None, group_grants=(), default=Role.VIEWER)
        is Role.VIEWER
    )


@given(
    slack_admin=st.booleans(),
    user_grant=st.none() | roles,
    group_grants=st.lists(roles, max_size=4),
    default=roles,
)
def test_effective_role_property(
    slack_admin: bool, user_grant: Role | None, group_grants: list[Role], default: Role
) -> None:
    role = effective_role(
        slack_admin=slack_admin, user_grant=user_grant, group_grants=group_grants, default=default
    )
    if user_grant is not None:
        assert role is user_grant
    else:
        base = Role.ADMIN if slack_admin else default
        assert role.rank == max([base.rank, *(g.rank for g in group_grants)])


# -- describe ------------------------------------------------------------------------------


def test_describe_default_policy() -> None:
    lines = describe(WorkspacePolicy())
    assert lines[0] == "*Default role* for people without a grant: operator"
    assert lines[1] == "*Rules*"
    assert lines[2].startswith("• *read*: allowed  _(")
    assert lines[3].startswith("• *change*: allowed  _(")
    assert lines[4].startswith(
        "• *spend*: needs approval by an admin, requester excluded, expires after 1 h"
    )
    assert lines[5].startswith("• *destructive*: needs approval by an admin")
    assert len(lines) == 6
    assert not any("Channel scopes" in line for line in lines)


def test_describe_overrides_and_scopes() -> None:
    policy = (
        WorkspacePolicy(default_role=Role.VIEWER)
        .with_rule(Rule(operation="start", provider="akash", effect=Effect.DENY))
        .with_rule(
            Rule(
                risk=Risk.SPEND,
                effect=Effect.APPROVE,
                approval=ApprovalRule(
                    approvers=("U1ANA", "S1OPS"), quorum=2, self_approval=True, expiry_minutes=90
                ),
            )
        )
        .with_rule(
            Rule(
                risk=Risk.DESTRUCTIVE,
                provider="nosana",
                effect=Effect.APPROVE,
                approval=ApprovalRule(expiry_minutes=2 * 1440),
            )
        )
        .with_rule(Rule(operation="rename", effect=Effect.APPROVE))
        .with_scope(ChannelScope(provider="nosana", channels=("C0OPS", "C1DEV")), "nosana")
    )
    lines = describe(policy)
    assert lines[0] == "*Default role* for people without a grant: viewer"
    spend = next(line for line in lines if line.startswith("• *spend*"))
    assert spend.startswith(
        "• *spend*: needs approval by 2 different people from: <@U1ANA>, <!subteam^S1OPS>, "
        "self-approval counts, expires after 1 h 30 min"
    )
    destructive = (
        "• *destructive* on nosana: needs approval by an admin, requester excluded, "
        "expires after 2 d"
    )
    rename = "• `rename`: needs approval by an admin, requester excluded, expires after 1 h"
    rule_lines = [line for line in lines if line.startswith("• ") and "only from" not in line]
    # General first: class rules, then class+provider, then operations, then op+provider.
    assert [line.split(":")[0] for line in rule_lines] == [
        "• *read*",
        "• *change*",
        "• *spend*",
        "• *destructive*",
        "• *destructive* on nosana",
        "• `rename`",
        "• `start` on akash",
    ]
    assert destructive in rule_lines
    assert rename in rule_lines
    assert rule_lines[-1] == "• `start` on akash: denied"
    assert lines[-2] == "*Channel scopes*"
    assert lines[-1] == "• nosana (change, spend, destructive): only from <#C0OPS>, <#C1DEV>"


@given(policies())
def test_describe_lists_every_effective_rule(policy: WorkspacePolicy) -> None:
    lines = describe(policy)
    bullets = [line for line in lines if line.startswith("• ")]
    assert len(bullets) == len(policy.effective_rules()) + len(policy.scopes)


# -- reminders -----------------------------------------------------------------------------

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_reminders_for_an_hour() -> None:
    expires = CREATED + timedelta(hours=1)
    assert next_reminder(CREATED, expires, 0) == CREATED + timedelta(minutes=10)
    assert next_reminder(CREATED, expires, 1) == CREATED + timedelta(minutes=30)
    assert next_reminder(CREATED, expires, 2) is None  # 70 min: past the window


def test_reminders_for_a_day() -> None:
    expires = CREATED + timedelta(days=1)
    got = [next_reminder(CREATED, expires, n) for n in range(9)]
    minutes = [10, 30, 70, 150, 310, 630, 1270, None, None]
    assert got == [CREATED + timedelta(minutes=m) if m else None for m in minutes]


def test_short_window_reminds_at_half_time() -> None:
    expires = CREATED + timedelta(minutes=8)
    assert next_reminder(CREATED, expires, 0) == CREATED + timedelta(minutes=4)
    assert next_reminder(CREATED, expires, 1) is None  # 12 min


def test_no_reminder_for_an_empty_or_inverted_window() -> None:
    assert next_reminder(CREATED, CREATED, 0) is None
    assert next_reminder(CREATED, CREATED - timedelta(minutes=5), 0) is None


def test_no_follow_up_reminder_in_the_last_minute() -> None:
    # The second reminder would be at 30 min: before expiry (30:30) but inside its last minute.
    expires = CREATED + timedelta(minutes=30, seconds=30)
    assert next_reminder(CREATED, expires, 0) == CREATED + timedelta(minutes=10)
    assert next_reminder(CREATED, expires, 1) is None
    # With a little more room it is sent.
    later = CREATED + timedelta(minutes=31, seconds=30)
    assert next_reminder(CREATED, later, 1) == CREATED + timedelta(minutes=30)


windows = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=7))


@given(
    created=st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    window=windows,
)
def test_reminder_schedule_property(created: datetime, window: timedelta) -> None:
    expires = created + window
    schedule = [next_reminder(created, expires, n) for n in range(20)]
    first = min(FIRST_REMINDER, window / 2)
    # Once None, always None.
    cut = schedule.index(None) if None in schedule else len(schedule)
    assert all(at is None for at in schedule[cut:])
    sent = [at for at in schedule[:cut] if at is not None]
    assert len(sent) == cut
    assert cut < 20  # a bounded number of reminders
    if sent:
        assert sent[0] == created + first
    for n, at in enumerate(sent):
        assert created < at < expires
        if n > 0:
            assert at < expires - timedelta(minutes=1)
            assert at > sent[n - 1]
    gaps = [b - a for a, b in zip([created, *sent], sent, strict=False)]
    for a, b in itertools.pairwise(gaps):
        assert b == 2 * a


def test_reminder_far_past_the_window_is_none_not_an_error() -> None:
    assert next_reminder(CREATED, CREATED + timedelta(hours=1), 40) is None
