"""The operation registry: each kind declared once, and the facts hang together."""

from __future__ import annotations

import pytest

from bot.core import parsing
from bot.core.operations import Operation
from bot.core.registry import (
    ALIASES,
    CHAINABLE,
    MUTATIONS,
    RULE_OPERATIONS,
    SPECS,
    OpKind,
    Risk,
    classify,
)


def test_every_kind_is_declared_once() -> None:
    assert {k.value for k in OpKind} <= set(SPECS)
    assert len(SPECS) == len({s.name for s in SPECS.values()})


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_a_change_names_a_deployment_a_capability_and_its_words(kind: OpKind) -> None:
    spec = kind.spec
    assert spec.targets and spec.capability is not None
    assert spec.done and spec.doing and spec.ruled
    assert spec.risk is not Risk.READ


def test_chains_are_made_of_changes_and_rules_name_every_change() -> None:
    assert CHAINABLE <= MUTATIONS
    assert OpKind.REVISE in MUTATIONS - CHAINABLE  # a revision needs its form
    assert {k.value for k in MUTATIONS} <= RULE_OPERATIONS
    assert {"create", "accept"} <= RULE_OPERATIONS


def test_aliases_parse_to_their_kind_and_never_shadow_a_kind() -> None:
    assert not set(ALIASES) & {k.value for k in OpKind}
    for alias, kind in ALIASES.items():
        assert parsing.verb_of(alias) is kind


@pytest.mark.parametrize(
    ("kind", "args", "risk"),
    [
        ("list", {}, Risk.READ),
        ("start", {}, Risk.SPEND),
        ("stop", {}, Risk.DESTRUCTIVE),
        ("rename", {}, Risk.CHANGE),
        ("scale", {"replicas": 0, "current_replicas": 2}, Risk.DESTRUCTIVE),
        ("scale", {"replicas": 3, "current_replicas": 2}, Risk.SPEND),
        ("scale", {"replicas": 1, "current_replicas": 2}, Risk.CHANGE),
        ("scale", {"replicas": 1}, Risk.SPEND),
        ("timeout", {"minutes": 90, "current_minutes": 60}, Risk.SPEND),
        ("timeout", {"minutes": 60, "current_minutes": 90}, Risk.CHANGE),
        ("accept", {}, Risk.SPEND),
        ("unknown-thing", {}, Risk.CHANGE),
    ],
)
def test_risk_comes_from_the_declaration(kind: str, args: dict[str, int], risk: Risk) -> None:
    assert classify(kind, **args) is risk


ARGS = {
    OpKind.SCALE: "3",
    OpKind.TIMEOUT: "90",
    OpKind.SCHEDULE: '"0 * * * *"',
    OpKind.ROLLBACK: "2",
    OpKind.RENAME: "w3",
    OpKind.DEPOSIT: "5",
}


@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_a_reason_goes_with_every_change(kind: OpKind) -> None:
    parsed = parsing.parse(f"{kind.value} w2 {ARGS.get(kind, '')} --reason because")
    assert isinstance(parsed, Operation), parsed
    assert parsed.kind is kind and parsed.reason == "because"


def test_a_reason_goes_with_nothing_else() -> None:
    assert not isinstance(parsing.parse("list --reason because"), Operation)


def test_help_and_cards_read_the_registry() -> None:
    from bot.core.render import DESTRUCTIVE
    from bot.core.replies.help import COMMANDS

    assert {c[0] for c in COMMANDS} <= {k.value for k in OpKind} | {"chain"}
    destructive = {s.capability for s in SPECS.values() if s.risk is Risk.DESTRUCTIVE}
    assert destructive - {None} == DESTRUCTIVE
