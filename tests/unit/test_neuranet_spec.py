"""NeuraNET create spec and node filters: local validation before anything is sent."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

from bot.providers.errors import ValidationError
from bot.providers.neuranet import (
    MAX_NAME_LENGTH,
    NeuraNetCreateSpec,
    NeuraNetNodeFilters,
    usd_to_cents_floor,
    valid_image,
)

FIELDS = {"node_id", "template_id", "custom_image", "name", "env"}


def test_a_template_spec_on_the_wire() -> None:
    spec = NeuraNetCreateSpec(
        node_id=" node_abc123 ",
        template_id="ollama",
        name="my-ollama-server",
        env={"OLLAMA_MODELS": "llama2,mistral"},
    ).check()
    assert spec.to_wire() == {
        "nodeId": "node_abc123",
        "templateId": "ollama",
        "name": "my-ollama-server",
        "env": {"OLLAMA_MODELS": "llama2,mistral"},
    }


def test_a_custom_image_spec_on_the_wire_omits_empty_parts() -> None:
    spec = NeuraNetCreateSpec(
        node_id="node_abc123", template_id="  ", custom_image="ghcr.io/acme/api:1.2", name=""
    ).check()
    assert spec.template_id is None and spec.name is None
    assert spec.to_wire() == {"nodeId": "node_abc123", "customImage": "ghcr.io/acme/api:1.2"}


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"template_id": None}, "template_id", "Choose a template"),
        ({"custom_image": "nginx:1.27"}, "template_id", "not both"),
        ({"node_id": ""}, "node_id", "Choose a node"),
        ({"node_id": "node abc"}, "node_id", "node id"),
        ({"template_id": "my template"}, "template_id", "without spaces"),
        ({"name": "x" * (MAX_NAME_LENGTH + 1)}, "name", "64 characters"),
        ({"name": "two\nlines"}, "name", "control characters"),
        ({"env": {"MY-VAR": "1"}}, "env.MY-VAR", "Variable names"),
        ({"env": {"TOKEN": "a\x00b"}}, "env.TOKEN", "NUL"),
        ({"env": {f"V{i}": "x" for i in range(101)}}, "env", "At most 100"),
    ],
)
def test_problems_are_reported_per_field(kwargs: dict[str, object], field: str, words: str) -> None:
    base: dict[str, object] = {"node_id": "node_abc123", "template_id": "ollama"}
    spec = NeuraNetCreateSpec.model_validate({**base, **kwargs})
    problems = spec.problems()
    assert field in problems and words in problems[field]
    with pytest.raises(ValidationError) as caught:
        spec.check()
    assert caught.value.field_errors == problems
    assert caught.value.provider == "neuranet"
    assert "not sent" in caught.value.message


def test_a_bad_custom_image_is_reported_on_its_field() -> None:
    spec = NeuraNetCreateSpec(node_id="node_abc123", custom_image="https://hub/x")
    assert set(spec.problems()) == {"custom_image"}


def test_every_problem_is_reported_at_once() -> None:
    spec = NeuraNetCreateSpec(node_id="", name="x" * 100, env={"1": "x"})
    assert set(spec.problems()) == {"node_id", "template_id", "name", "env.1"}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"template_id": "ollama"}, {"node_id": "Required."}),
        ({"node_id": 5, "template_id": "ollama"}, {"node_id": "Expected text."}),
        ({"node_id": "n", "template_id": "ollama", "gpu": "4090"}, {"gpu": "Unknown field."}),
        (
            {"node_id": "n", "template_id": "ollama", "env": ["A=1"]},
            {"env": "Expected a mapping of names to text."},
        ),
        ({"node_id": "n", "template_id": "ollama", "env": {"A": 1}}, {"env.A": "Expected text."}),
    ],
)
def test_parse_turns_type_errors_into_field_errors(
    data: dict[str, object], expected: dict[str, str]
) -> None:
    with pytest.raises(ValidationError) as caught:
        NeuraNetCreateSpec.parse(data)
    assert caught.value.field_errors == expected


def test_parse_accepts_another_model_and_none_env() -> None:
    class Form(BaseModel):
        node_id: str
        template_id: str
        env: dict[str, str] | None = None

    spec = NeuraNetCreateSpec.parse(Form(node_id="node_1", template_id="vllm"))
    assert spec.env == {} and spec.template_id == "vllm"


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.27",
        "library/nginx:latest",
        "ghcr.io/acme/api:1.4.2",
        "localhost:5000/team/app",
        "registry.example.com:443/a/b/c:v1_2-3",
        "ollama/ollama@sha256:" + "a" * 64,
        "docker.io/vllm/vllm-openai:v0.6.3",
    ],
)
def test_valid_images(image: str) -> None:
    assert valid_image(image)


@pytest.mark.parametrize(
    "image",
    [
        "",
        "Nginx",
        "nginx:",
        "nginx:tag with space",
        "https://ghcr.io/x/y",
        "a//b",
        "-lead",
        "x" * 256,
        "nginx@sha256:short",
    ],
)
def test_invalid_images(image: str) -> None:
    assert not valid_image(image)


@given(
    node_id=st.text(max_size=40),
    template_id=st.one_of(st.none(), st.text(max_size=40)),
    custom_image=st.one_of(st.none(), st.text(max_size=60)),
    name=st.one_of(st.none(), st.text(max_size=80)),
    env=st.dictionaries(st.text(max_size=12), st.text(max_size=20), max_size=4),
)
def test_free_text_never_crashes_and_a_clean_spec_is_sendable(
    node_id: str,
    template_id: str | None,
    custom_image: str | None,
    name: str | None,
    env: dict[str, str],
) -> None:
    spec = NeuraNetCreateSpec(
        node_id=node_id, template_id=template_id, custom_image=custom_image, name=name, env=env
    )
    problems = spec.problems()
    assert all(key.split(".", 1)[0] in FIELDS for key in problems)
    assert all(isinstance(message, str) and message for message in problems.values())
    if not problems:
        wire = spec.to_wire()
        assert ("templateId" in wire) != ("customImage" in wire)
        assert wire["nodeId"] and not any(c.isspace() for c in wire["nodeId"])
        json.dumps(wire)


# -- node filters --------------------------------------------------------------------------


def test_filters_become_the_wire_query() -> None:
    filters = NeuraNetNodeFilters.parse(
        {
            "status": "online",
            "has_gpu": True,
            "min_gpu_vram_mb": 24576,
            "min_cpu_cores": 8,
            "min_ram_mb": 32768,
            "region": " us-east ",
            "max_hourly_rate_usd": Decimal("1.5"),
        }
    )
    assert filters.to_query() == {
        "status": "online",
        "hasGpu": "true",
        "minGpuVram": "24576",
        "minCpuCores": "8",
        "minRamMb": "32768",
        "region": "us-east",
        "maxHourlyRate": "150",
    }


def test_filters_accept_wire_names_and_the_tighter_price_wins() -> None:
    filters = NeuraNetNodeFilters.parse(
        {"hasGpu": False, "minGpuVram": 0, "maxHourlyRate": 120, "max_hourly_rate_usd": "2"}
    )
    assert filters.to_query() == {"hasGpu": "false", "minGpuVram": "0", "maxHourlyRate": "120"}
    assert NeuraNetNodeFilters.parse({}).to_query() == {}
    assert NeuraNetNodeFilters.parse({"region": ""}).to_query() == {}


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "up"},
        {"min_ram_mb": -5},
        {"max_hourly_rate_usd": "cheap"},
        {"max_hourly_rate_usd": "NaN"},
        {"max_hourly_rate_usd": -1},
        {"gpu_model": "4090"},
    ],
)
def test_bad_filters(filters: dict[str, object]) -> None:
    with pytest.raises(ValidationError) as caught:
        NeuraNetNodeFilters.parse(filters)
    assert set(caught.value.field_errors) == set(filters)


@pytest.mark.parametrize(
    ("usd", "cents"),
    [
        (Decimal("1.50"), 150),
        (Decimal("1.509"), 150),
        (Decimal("0.001"), 0),
        (2, 200),
        ("0.7", 70),
        (0.29, 29),  # a float is read by its text ("0.29"), not its binary value (0.2899…)
    ],
)
def test_usd_to_cents_rounds_down(usd: Decimal | int | str | float, cents: int) -> None:
    assert usd_to_cents_floor(usd) == cents


@pytest.mark.parametrize("usd", [Decimal("-0.01"), "inf", "NaN", "abc"])
def test_usd_to_cents_refuses_non_prices(usd: Decimal | str) -> None:
    with pytest.raises((ValueError, ArithmeticError)):
        usd_to_cents_floor(usd)


@given(st.decimals(min_value=0, max_value=10_000, allow_nan=False, allow_infinity=False))
def test_a_price_limit_never_lets_a_dearer_node_through(usd: Decimal) -> None:
    cents = usd_to_cents_floor(usd)
    assert Decimal(cents) / 100 <= usd < Decimal(cents + 1) / 100
