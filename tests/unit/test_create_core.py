"""The pure part of creating deployments: form → spec, field errors, estimates, overrides."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core import create as core
from bot.core import create_views as views
from bot.core.operations import Operation, OpKind, Usage
from bot.core.parsing import parse
from bot.providers import akash_sdl
from bot.providers.models import Deployment, DeploymentStatus, Market
from bot.providers.nosana import NosanaCreateSpec

RTX4090 = Market(
    id="97G9NnvBDQ2WpKu6fasoMsAKmfj63C9rhysJnkeWodAf",
    name="NVIDIA RTX 4090",
    price_per_hour_usd=Decimal("0.385"),
    gpu="NVIDIA GeForce RTX 4090",
    vram_mb=24 * 1024,
    extras={"slug": "nvidia-4090"},
)
A100 = Market(
    id="node_a100", name="A100 box", price_per_hour_usd=Decimal("1.50"), vram_mb=80 * 1024,
    region="us-east", status="online", gpu="NVIDIA A100",
)  # fmt: skip
NOSANA = {"name": "llama", "market": "nvidia-4090", "image": "ollama/ollama", "timeout": "60"}


def test_nosana_quick_form_builds_a_valid_spec() -> None:
    built = core.build_spec(
        "nosana", {**NOSANA, "port": "11434", "env": "A=1\nB = two", "command": "serve --x 'a b'"},
        [RTX4090],
    )  # fmt: skip
    assert built.ok, built.errors
    spec = NosanaCreateSpec.parse(built.spec)
    assert spec.market == RTX4090.id
    args = spec.job_definition["ops"][0]["args"]
    assert args == {
        "image": "ollama/ollama",
        "gpu": True,
        "expose": 11434,
        "env": {"A": "1", "B": "two"},
        "cmd": ["serve", "--x", "a b"],
    }


def test_nosana_pasted_job_definition_wins() -> None:
    definition = {"version": "0.1", "type": "container", "ops": [
        {"type": "container/run", "id": "hi", "args": {"image": "ubuntu"}}]}  # fmt: skip
    built = core.build_spec(
        "nosana", {**NOSANA, "image": "", "job_definition": json.dumps(definition)}, [RTX4090]
    )
    assert built.ok and built.spec["job_definition"] == definition


def test_every_invalid_field_is_reported_at_once() -> None:
    built = core.build_spec(
        "nosana",
        {"name": "", "market": "nope", "timeout": "x", "replicas": "0", "strategy": "INFINITE",
         "schedule": "* * * * *", "image": "", "env": "bad"},
        [RTX4090],
    )  # fmt: skip
    assert {"name", "market", "timeout", "replicas", "schedule", "image"} <= set(built.errors)
    assert built.spec == {}


def test_scheduled_needs_a_valid_cron_and_infinite_rotation_rules() -> None:
    bad_cron = core.build_spec(
        "nosana", {**NOSANA, "strategy": "SCHEDULED", "schedule": "99 * * * *"}, [RTX4090]
    )
    assert "schedule" in bad_cron.errors
    good = core.build_spec(
        "nosana", {**NOSANA, "strategy": "SCHEDULED", "schedule": "0  */6 * * *"}, [RTX4090]
    )
    assert good.ok and good.spec["schedule"] == "0 */6 * * *"
    rotation = core.build_spec(
        "nosana", {**NOSANA, "strategy": "INFINITE", "timeout": "60", "rotation_time": "55"},
        [RTX4090],
    )  # fmt: skip
    assert "rotation_time" in rotation.errors


def test_without_a_catalog_an_address_is_accepted() -> None:
    built = core.build_spec("nosana", {**NOSANA, "market": RTX4090.id}, None)
    assert built.ok and built.place is None
    est = core.estimate("nosana", built.spec, None, Decimal(5))
    assert est.per_hour is None and est.notes


def test_nosana_estimate_and_balance_preflight() -> None:
    built = core.build_spec("nosana", {**NOSANA, "replicas": "2", "timeout": "90"}, [RTX4090])
    est = core.estimate("nosana", built.spec, built.place, Decimal("100"))
    assert est.per_hour == Decimal("0.770")
    assert est.per_period == Decimal("1.1550")
    assert not est.warnings
    poor = core.estimate("nosana", built.spec, built.place, Decimal("0.50"))
    assert poor.warnings and "last about" in poor.warnings[0]
    broke = core.estimate("nosana", built.spec, built.place, Decimal("0"))
    assert "No Nosana credits" in broke.warnings[0]
    assert core.Estimate.from_json(est.to_json()) == est


def test_neuranet_rules_and_estimate() -> None:
    built = core.build_spec("neuranet", {"node": "A100 box", "template_id": "ollama"}, [A100])
    assert built.ok and built.spec["node_id"] == "node_a100"
    est = core.estimate("neuranet", built.spec, built.place, None)
    assert est.per_hour == Decimal("1.50") and est.per_period == Decimal("36.00")
    both = core.build_spec(
        "neuranet", {"node": "node_a100", "template_id": "a", "custom_image": "b"}, [A100]
    )
    assert "custom_image" in both.errors
    offline = A100.model_copy(update={"status": "offline"})
    assert "node" in core.build_spec("neuranet", {"node": "node_a100", "template_id": "a"},
                                     [offline]).errors  # fmt: skip


def test_akash_quick_form_builds_a_valid_sdl_and_estimate() -> None:
    form = {"image": "nginx:1.27", "gpu_model": "rtx4090", "gpu_units": "1", "cpu": "2",
            "memory": "8Gi", "storage": "20Gi", "port": "80", "max_price": "0.80",
            "deposit": "5", "env": "A=1"}  # fmt: skip
    built = core.build_spec("akash", form)
    assert built.ok, built.errors
    assert akash_sdl.check_sdl(built.spec["sdl"]) == []
    assert akash_sdl.requested_gpu_models(akash_sdl.load_sdl(built.spec["sdl"])) == ["rtx4090"]
    est = core.estimate("akash", built.spec, None, Decimal("4"))
    assert est.per_hour is not None and abs(est.per_hour - Decimal("0.80")) < Decimal("0.001")
    assert est.warnings and "more than the Akash balance" in est.warnings[0]
    assert core.estimate("akash", built.spec, None, Decimal("500")).warnings == []


def test_akash_pasted_sdl_errors_are_on_the_sdl_field() -> None:
    built = core.build_spec("akash", {"sdl": "version: '2.0'\nservices: {}", "deposit": "5"})
    assert set(built.errors) == {"sdl"}
    assert "deposit" in core.build_spec("akash", {"image": "nginx", "deposit": "abc"}).errors


def test_overrides_apply_and_unknown_fields_are_named() -> None:
    form, errors = core.apply_overrides("nosana", NOSANA, {"replicas": "3", "colour": "red"})
    assert form["replicas"] == "3" and form["image"] == "ollama/ollama"
    assert set(errors) == {"colour"}
    sdl_form = {"sdl": "…", "deposit": "5"}
    merged, _ = core.apply_overrides("akash", sdl_form, {"image": "nginx"})
    assert "sdl" not in merged  # a quick-form override replaces the stored SDL
    kept, _ = core.apply_overrides("akash", sdl_form, {"deposit": "9"})
    assert kept["sdl"] == "…" and kept["deposit"] == "9"


def test_form_from_an_existing_nosana_deployment() -> None:
    deployment = Deployment(
        provider="nosana", id="D1", name="web", status=DeploymentStatus.RUNNING,
        raw_status="RUNNING", replicas=2,
        extras={"market": RTX4090.id, "strategy": "SCHEDULED", "timeout_minutes": 120,
                "schedule": "0 * * * *"},
    )  # fmt: skip
    form = core.form_from_deployment(deployment, '{"version": "0.1"}')
    assert form["replicas"] == "2" and form["schedule"] == "0 * * * *"
    assert form["job_definition"] == '{"version": "0.1"}'
    akash = deployment.model_copy(update={"provider": "akash", "extras": {}})
    assert core.form_from_deployment(akash, "") == {}


def test_type_ahead_filters() -> None:
    catalog = [RTX4090, A100]
    assert core.filter_places(catalog, "4090") == [RTX4090]
    assert core.filter_places(catalog, "vram>=40") == [A100]
    assert core.filter_places(catalog, "max=1") == [RTX4090]
    assert core.filter_places(catalog, "region=us-east") == [A100]
    assert core.filter_places(catalog, "") == catalog
    assert len(core.place_label(A100.model_copy(update={"name": "x" * 200}))) <= 75


def test_parse_create_and_template_commands() -> None:
    op = parse('create --template llama replicas=2 "name=big one"')
    assert isinstance(op, Operation) and op.kind is OpKind.CREATE
    assert op.args.template == "llama" and op.args.overrides == {"replicas": "2", "name": "big one"}
    assert parse("create akash").provider == "akash"  # type: ignore[union-attr]
    assert isinstance(parse("create --template"), Usage)
    assert isinstance(parse("create --template Bad!Name"), Usage)
    saved = parse("template save llama my-dep")
    assert isinstance(saved, Operation) and (saved.args.sub, saved.args.template, saved.target) == (
        "save", "llama", "my-dep")  # fmt: skip
    assert isinstance(parse("template save llama"), Usage)
    assert parse("template").args.sub == "list"  # type: ignore[union-attr]
    assert isinstance(parse("template frobnicate"), Usage)


def test_status_message_escapes_provider_text_and_offers_accept() -> None:
    from datetime import UTC, datetime

    bid = {"provider_address": "akash1xyz", "gseq": 1, "oseq": 1, "state": "open",
           "price_per_hour_usd": "0.33", "gpu": "rtx4090"}  # fmt: skip
    reply = views.status_message(
        request_id="r1", provider="akash", state="bidding", user_id="U1", title="<b>&x",
        deployment_id="123", bids=[bid],
        providers={"akash1xyz": {"name": "<evil>", "is_audited": True, "uptime_7d": 0.99}},
        now=datetime.now(UTC),
    )  # fmt: skip
    text = json.dumps(reply.blocks)
    assert "<evil>" not in text and "&lt;evil&gt;" in text
    assert "$0.33/h" in text and "audited" in text and "uptime 99.0%" in text
    accepts = [b["accessory"] for b in reply.blocks or [] if b.get("accessory")]
    assert json.loads(accepts[0]["value"]) == {"r": "r1", "b": "akash1xyz/1/1"}


@settings(max_examples=200, deadline=None)
@given(
    provider=st.sampled_from(["nosana", "neuranet", "akash"]),
    form=st.dictionaries(
        st.sampled_from(
            sorted({f for fields in core.FIELDS.values() for f in fields} | {"save_as"})
        ),
        st.text(max_size=60),
        max_size=12,
    ),
)
def test_any_form_gives_a_spec_or_field_errors_never_an_exception(
    provider: str, form: dict[str, str]
) -> None:
    built = core.build_spec(provider, form, [RTX4090, A100])
    assert built.ok or built.errors
    if built.ok:
        core.estimate(provider, built.spec, built.place, Decimal(1))
        json.dumps(built.spec)  # JSON-safe: it is stored in the request row


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_env_and_overrides_parsers_never_raise(text: str) -> None:
    env, problem = core.parse_env(text)
    assert problem is not None or all(k.isidentifier() for k in env)
    core.parse_overrides(text.split())
    assert isinstance(parse("create " + text), Operation | Usage)
