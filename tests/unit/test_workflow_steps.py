"""A workflow step's inputs → a typed request (or why not), and its outputs."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.core import workflow_steps as steps
from bot.core.arguments import Scale
from bot.core.operations import OpKind

RUN_AS = {"id": "U1", "secret": "s"}


def test_scale_inputs_become_a_typed_operation() -> None:
    request = steps.read_inputs(
        steps.SCALE,
        {
            "deployment": " llama ",
            "replicas": 3,
            "provider": "Nosana",
            "run_as": RUN_AS,
            "channel": "C1",
            "reason": "traffic",
        },
    )
    assert request.user_id == "U1" and request.channel_id == "C1"
    assert request.op is not None and request.op.kind is OpKind.SCALE
    assert isinstance(request.op.args, Scale) and request.op.args.replicas == 3
    assert request.op.target == "llama" and request.op.provider == "nosana"
    assert request.op.reason == "traffic"


@pytest.mark.parametrize(
    ("callback", "inputs", "words"),
    [
        (steps.STOP, {"deployment": "x"}, "Run as"),
        (steps.STOP, {"deployment": "x", "run_as": "U1"}, "Run as"),
        (steps.START, {"run_as": RUN_AS}, "Name the deployment"),
        (steps.SCALE, {"deployment": "x", "run_as": RUN_AS, "replicas": 101}, "Replicas"),
        (steps.SCALE, {"deployment": "x", "run_as": RUN_AS, "replicas": True}, "Replicas"),
        (steps.START, {"deployment": "x", "run_as": RUN_AS, "provider": "aws"}, "Unknown provider"),
        (steps.CREATE, {"run_as": RUN_AS}, "template"),
        (steps.CREATE, {"run_as": RUN_AS, "template": "t", "overrides": "oops"}, "field=value"),
        ("reboot", {"run_as": RUN_AS}, "no step"),
    ],
)
def test_bad_inputs_say_what_is_wrong(callback: str, inputs: dict[str, object], words: str) -> None:
    with pytest.raises(steps.StepInputError, match=words):
        steps.read_inputs(callback, inputs)


def test_create_overrides_take_quotes() -> None:
    request = steps.read_inputs(
        steps.CREATE, {"run_as": RUN_AS, "template": "llama", "overrides": 'replicas=2 "name=a b"'}
    )
    assert request.overrides == {"replicas": "2", "name": "a b"}


def test_outputs_are_numbers_and_failures_plain() -> None:
    assert steps.outputs("d1", "running", Decimal("0.375")) == {
        "deployment_id": "d1",
        "status": "running",
        "cost_per_hour": 0.375,
    }
    assert steps.outputs("d1", "stopped", None)["cost_per_hour"] == 0.0
    assert steps.failure_text("*Nope*: `x` &lt;y&gt;\n  more") == "Nope: x <y> more"
