"""The last-admin guard (pure): no grant, revoke or default-role change locks a workspace."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from bot.core.policy import Role, effective_role
from bot.core.roles import (
    GrantRole,
    RevokeRole,
    RoleChange,
    RoleFacts,
    RoleHolder,
    SetDefaultRole,
    apply,
    has_admin,
    known_admins,
    refusal,
)

PEOPLE = ["U1", "U2", "U3", "U4"]
GROUPS = ["S1", "S2"]
roles = st.sampled_from(list(Role))


@st.composite
def facts(draw: st.DrawFn) -> RoleFacts:
    grants: dict[str, RoleHolder] = {}
    for person in draw(st.lists(st.sampled_from(PEOPLE), unique=True)):
        grants[person] = RoleHolder("user", person, draw(roles))
    for group in draw(st.lists(st.sampled_from(GROUPS), unique=True)):
        grants[group] = RoleHolder("usergroup", group, draw(roles))
    members = {
        group: frozenset(draw(st.lists(st.sampled_from(PEOPLE), unique=True))) for group in GROUPS
    }
    admins = frozenset(draw(st.lists(st.sampled_from(PEOPLE), unique=True)))
    return RoleFacts(tuple(grants.values()), draw(roles), admins, members)


changes: st.SearchStrategy[RoleChange] = st.one_of(
    st.builds(GrantRole, st.just("user"), st.sampled_from(PEOPLE), roles),
    st.builds(GrantRole, st.just("usergroup"), st.sampled_from(GROUPS), roles),
    st.builds(RevokeRole, st.sampled_from(PEOPLE + GROUPS)),
    st.builds(SetDefaultRole, roles),
)


def role_of(person: str, state: RoleFacts) -> Role:
    """What the gate would say (bot.core.policy.effective_role) about one person."""
    user_grant = next(
        (g.role for g in state.grants if g.subject_type == "user" and g.subject_id == person),
        None,
    )
    group_grants = [
        g.role
        for g in state.grants
        if g.subject_type == "usergroup" and person in state.group_members.get(g.subject_id, ())
    ]
    return effective_role(
        slack_admin=person in state.slack_admins,
        user_grant=user_grant,
        group_grants=group_grants,
        default=state.default_role,
    )


@given(facts())
def test_known_admins_are_exactly_whom_the_gate_treats_as_admins(state: RoleFacts) -> None:
    gate_admins = {p for p in PEOPLE if role_of(p, state) is Role.ADMIN}
    if state.default_role is Role.ADMIN:
        # Everyone without a grant of their own is an admin, known or not.
        personal = {g.subject_id for g in state.grants if g.subject_type == "user"}
        assert known_admins(state) <= gate_admins
        assert gate_admins - known_admins(state) <= set(PEOPLE) - personal
        assert has_admin(state)
    else:
        assert known_admins(state) == gate_admins
        assert has_admin(state) == bool(gate_admins)


@given(facts(), changes)
def test_a_change_is_refused_exactly_when_nobody_would_be_admin(
    state: RoleFacts, change: RoleChange
) -> None:
    reason = refusal(state, change)
    assert (reason is None) == has_admin(apply(state, change))
    if reason is not None:
        assert "\n" not in reason
        assert "`/deploy role grant @someone admin`" in reason


@given(facts(), st.sampled_from(PEOPLE))
def test_making_someone_admin_is_never_refused(state: RoleFacts, person: str) -> None:
    assert refusal(state, GrantRole("user", person, Role.ADMIN)) is None
    assert person in known_admins(apply(state, GrantRole("user", person, Role.ADMIN)))


@given(facts(), st.lists(changes, max_size=12))
def test_no_sequence_of_allowed_changes_locks_a_workspace(
    state: RoleFacts, sequence: list[RoleChange]
) -> None:
    if not has_admin(state):
        state = apply(state, GrantRole("user", "U1", Role.ADMIN))
    for change in sequence:
        if refusal(state, change) is None:
            state = apply(state, change)
        assert has_admin(state)


def test_the_last_admin_cannot_demote_themselves() -> None:
    state = RoleFacts((RoleHolder("user", "U1", Role.ADMIN),), Role.OPERATOR)
    reason = refusal(state, GrantRole("user", "U1", Role.VIEWER))
    assert reason is not None and reason.startswith("<@U1> is the last admin here")
    assert refusal(state, RevokeRole("U1")) is not None
    # With a second admin it works.
    two = apply(state, GrantRole("user", "U2", Role.ADMIN))
    assert refusal(two, GrantRole("user", "U1", Role.VIEWER)) is None
    assert refusal(two, RevokeRole("U1")) is None


def test_a_slack_admin_with_a_grant_is_no_admin_and_without_one_is() -> None:
    state = RoleFacts(
        (RoleHolder("user", "U1", Role.ADMIN), RoleHolder("user", "U2", Role.VIEWER)),
        Role.OPERATOR,
        slack_admins=frozenset({"U2"}),
    )
    assert known_admins(state) == {"U1"}
    assert refusal(state, RevokeRole("U1")) is not None
    # Revoking U2's viewer grant gives the Slack admin their default back: U1 may then go.
    freed = apply(state, RevokeRole("U2"))
    assert known_admins(freed) == {"U1", "U2"}
    assert refusal(freed, RevokeRole("U1")) is None


def test_an_admin_group_counts_only_through_its_members() -> None:
    empty = RoleFacts(
        (RoleHolder("usergroup", "S1", Role.ADMIN), RoleHolder("user", "U1", Role.ADMIN)),
        Role.OPERATOR,
        group_members={"S1": frozenset()},
    )
    assert refusal(empty, RevokeRole("U1")) is not None
    staffed = RoleFacts(empty.grants, Role.OPERATOR, group_members={"S1": frozenset({"U2"})})
    assert refusal(staffed, RevokeRole("U1")) is None
    reason = refusal(staffed, GrantRole("user", "U2", Role.OPERATOR))
    assert reason is None  # U1 is still an admin
    alone = apply(staffed, RevokeRole("U1"))
    reason = refusal(alone, RevokeRole("S1"))
    assert reason is not None and reason.startswith("<!subteam^S1> holds the last admin grant")
    assert refusal(alone, GrantRole("usergroup", "S1", Role.OPERATOR)) is not None


def test_an_admin_default_role_keeps_everyone_admin_until_it_changes() -> None:
    state = RoleFacts((RoleHolder("user", "U1", Role.VIEWER),), Role.ADMIN)
    assert has_admin(state) and known_admins(state) == frozenset()
    assert refusal(state, GrantRole("user", "U2", Role.VIEWER)) is None
    reason = refusal(state, SetDefaultRole(Role.OPERATOR))
    assert reason is not None
    assert reason.startswith("With operator as the default role nobody would be an admin")
    with_admin = apply(state, GrantRole("user", "U2", Role.ADMIN))
    assert refusal(with_admin, SetDefaultRole(Role.VIEWER)) is None


def test_two_last_admins_are_named() -> None:
    state = RoleFacts(
        (RoleHolder("usergroup", "S1", Role.ADMIN),),
        Role.VIEWER,
        group_members={"S1": frozenset({"U1", "U2"})},
    )
    reason = refusal(state, GrantRole("usergroup", "S1", Role.VIEWER))
    assert reason is not None and "<!subteam^S1>" in reason
    both = RoleFacts((), Role.VIEWER, slack_admins=frozenset({"U1", "U2"}))
    # Demoting one Slack admin leaves the other.
    assert refusal(both, GrantRole("user", "U1", Role.VIEWER)) is None
    one = apply(both, GrantRole("user", "U1", Role.VIEWER))
    reason = refusal(one, GrantRole("user", "U2", Role.OPERATOR))
    assert reason is not None and reason.startswith("<@U2> is the last admin here")
