"""Pure SDL handling: parsing, schema + semantic validation, manifests, prices, the quick form."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.providers import akash_sdl
from bot.providers.akash_sdl import (
    QuickForm,
    SdlError,
    build_manifest,
    build_sdl,
    check_sdl,
    gpu_attribute_keys,
    group_specs,
    load_sdl,
    manifest_hash,
    max_price_per_block,
    max_price_per_hour_usd,
    parse_cpu_millis,
    parse_size,
    requested_gpu_models,
    usd_per_hour,
    validate_sdl,
)

# The spec's minimal valid GPU SDL (§6.1).
MINIMAL = """\
version: "2.0"
services:
  app:
    image: nvidia/cuda:12.4.1-base-ubuntu22.04
    command: ["bash", "-c"]
    args: ["nvidia-smi && sleep infinity"]
    expose:
      - port: 8080
        as: 80
        to:
          - global: true
profiles:
  compute:
    app:
      resources:
        cpu: {units: 4}
        memory: {size: 16Gi}
        storage:
          - size: 50Gi
        gpu:
          units: 1
          attributes:
            vendor:
              nvidia:
                - model: rtx4090
  placement:
    dcloud:
      pricing:
        app: {denom: uact, amount: 100000}
deployment:
  app:
    dcloud:
      profile: app
      count: 1
"""

# chain-sdk ts/src/sdl/fixtures/gpu_basic_ram_interface.sdl.yml and its expected manifest
# (ts/src/sdl/SDL/fixtures/gpu_basic_ram_interface.manifest.json).
CHAIN_SDK_SDL = """\
version: "2.0"
services:
  web:
    image: nginx
    expose:
      - port: 80
        accept:
          - ahostname.com
        to:
          - global: true
      - port: 12345
        to:
          - global: true
        proto: udp
profiles:
  compute:
    web:
      resources:
        cpu:
          units: "100m"
        gpu:
          units: 1
          attributes:
            vendor:
              nvidia:
              - model: a100
                ram: 40Gi
                interface: pcie
        memory:
          size: "128Mi"
        storage:
        - size: "1Gi"
  placement:
    westcoast:
      attributes:
        region: us-west
        foo: bar
      signedBy:
        anyOf:
          - akash1123123
          - akash1124123123
        allOf:
          - akash1123123
          - akash11241231
      pricing:
        web:
          denom: uakt
          amount: 50
deployment:
  web:
    westcoast:
      profile: web
      count: 2
"""

_HTTP_OPTIONS = {
    "maxBodySize": 1048576,
    "nextCases": ["error", "timeout"],
    "nextTimeout": 0,
    "nextTries": 3,
    "readTimeout": 60000,
    "sendTimeout": 60000,
}
CHAIN_SDK_MANIFEST = [
    {
        "name": "westcoast",
        "services": [
            {
                "args": None,
                "command": None,
                "count": 2,
                "credentials": None,
                "env": None,
                "expose": [
                    {
                        "endpointSequenceNumber": 0,
                        "externalPort": 0,
                        "global": True,
                        "hosts": ["ahostname.com"],
                        "httpOptions": _HTTP_OPTIONS,
                        "ip": "",
                        "port": 80,
                        "proto": "TCP",
                        "service": "",
                    },
                    {
                        "endpointSequenceNumber": 0,
                        "externalPort": 0,
                        "global": True,
                        "hosts": None,
                        "httpOptions": _HTTP_OPTIONS,
                        "ip": "",
                        "port": 12345,
                        "proto": "UDP",
                        "service": "",
                    },
                ],
                "image": "nginx",
                "name": "web",
                "resources": {
                    "cpu": {"units": {"val": "100"}},
                    "endpoints": [{"sequence_number": 0}, {"kind": 1, "sequence_number": 0}],
                    "gpu": {
                        "attributes": [
                            {
                                "key": "vendor/nvidia/model/a100/ram/40Gi/interface/pcie",
                                "value": "true",
                            }
                        ],
                        "units": {"val": "1"},
                    },
                    "id": 1,
                    "memory": {"size": {"val": "134217728"}},
                    "storage": [{"name": "default", "size": {"val": "1073741824"}}],
                },
            }
        ],
    }
]


def _doc(text: str = MINIMAL) -> dict[str, Any]:
    return yaml.safe_load(text)


def _paths(problems: list[tuple[str, str]]) -> list[str]:
    return [p for p, _ in problems]


# -- the happy path ---------------------------------------------------------------------------


def test_minimal_spec_sdl_is_valid() -> None:
    assert check_sdl(MINIMAL) == []


def test_manifest_matches_chain_sdk_fixture_exactly() -> None:
    manifest = build_manifest(load_sdl(CHAIN_SDK_SDL))
    assert manifest == CHAIN_SDK_MANIFEST


def test_manifest_hash_ignores_key_order_but_not_content() -> None:
    manifest = build_manifest(load_sdl(MINIMAL))
    shuffled = json.loads(json.dumps(manifest, sort_keys=True))
    assert manifest_hash(manifest) == manifest_hash(json.dumps(shuffled))
    changed = copy.deepcopy(manifest)
    changed[0]["services"][0]["image"] = "nginx:other"
    assert manifest_hash(changed) != manifest_hash(manifest)


def test_group_specs_bind_profiles_and_sum_prices() -> None:
    doc = _doc()
    doc["services"]["worker"] = {"image": "busybox"}
    doc["deployment"]["worker"] = {"dcloud": {"profile": "app", "count": 2}}
    doc["profiles"]["placement"]["edge"] = {"pricing": {"small": {"denom": "uact", "amount": 7}}}
    doc["profiles"]["compute"]["small"] = {
        "resources": {
            "cpu": {"units": "250m"},
            "memory": {"size": "1Gi"},
            "storage": {"size": "1Gi"},
        }
    }
    doc["services"]["edge"] = {"image": "caddy"}
    doc["deployment"]["edge"] = {"edge": {"profile": "small", "count": 3}}
    assert validate_sdl(doc) == []
    groups = group_specs(doc)
    assert [g.name for g in groups] == ["dcloud", "edge"]
    dcloud, edge = groups
    # app and worker share the "app" profile in dcloud: one resource unit, counts added.
    assert len(dcloud.resources) == 1
    assert dcloud.resources[0].count == 3
    assert dcloud.resources[0].services == ("app", "worker")
    assert dcloud.max_price_per_block == Decimal(300000)
    assert edge.resources[0].cpu_millis == 250
    assert max_price_per_block(doc) == Decimal(300021)
    manifest = build_manifest(doc)
    assert [g["name"] for g in manifest] == ["dcloud", "edge"]
    assert [s["name"] for s in manifest[0]["services"]] == ["app", "worker"]


def test_gpu_attribute_keys() -> None:
    assert gpu_attribute_keys(
        {"vendor": {"nvidia": [{"model": "h100", "ram": "80Gi", "interface": "sxm"}]}}
    ) == ["vendor/nvidia/model/h100/ram/80Gi/interface/sxm"]
    assert gpu_attribute_keys({"vendor": {"nvidia": [{"model": "a100"}, {"model": "h100"}]}}) == [
        "vendor/nvidia/model/a100",
        "vendor/nvidia/model/h100",
    ]
    assert gpu_attribute_keys({"vendor": {"nvidia": None}}) == ["vendor/nvidia/model/*"]
    assert gpu_attribute_keys(None) == []


def test_nvidia_without_models_means_any_model() -> None:
    doc = _doc()
    doc["profiles"]["compute"]["app"]["resources"]["gpu"]["attributes"]["vendor"]["nvidia"] = None
    assert validate_sdl(doc) == []
    assert requested_gpu_models(doc) == ["*"]
    assert requested_gpu_models(_doc()) == ["rtx4090"]


# -- prices -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "usd"),
    [
        ("100000", Decimal(60)),
        ("1.523000000000000000", Decimal("0.0009138")),
        (Decimal(0), Decimal(0)),
        (750, Decimal("0.45")),
    ],
)
def test_usd_per_hour(amount: Any, usd: Decimal) -> None:
    assert usd_per_hour(amount) == usd


def test_max_price_per_hour_of_spec_example() -> None:
    assert max_price_per_hour_usd(load_sdl(MINIMAL)) == Decimal(60)


def test_price_roundtrip() -> None:
    assert usd_per_hour(akash_sdl.amount_per_block(Decimal("1.2"))) == Decimal("1.2")


# -- sizes ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("128Mi", 134217728),
        ("1Gi", 2**30),
        ("1G", 10**9),
        ("1.5Gi", 3 * 2**29),
        ("1024", 1024),
        ("512k", 512_000),
        ("2Ti", 2 * 2**40),
    ],
)
def test_parse_size(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "Gi", "12 apples", "1Xi", "-1Gi", "1Gx"])
def test_parse_size_rejects_junk(text: str) -> None:
    with pytest.raises(ValueError):
        parse_size(text)


@pytest.mark.parametrize(
    ("units", "millis"), [(4, 4000), (0.5, 500), ("100m", 100), ("2", 2000), ("1.5", 1500)]
)
def test_parse_cpu(units: Any, millis: int) -> None:
    assert parse_cpu_millis(units) == millis


@pytest.mark.parametrize("units", ["abc", "1x", -1, True])
def test_parse_cpu_rejects_junk(units: Any) -> None:
    with pytest.raises(ValueError):
        parse_cpu_millis(units)


# -- schema rules (§6.2 item 5) ---------------------------------------------------------------


def _mutated(mutate: Any) -> list[tuple[str, str]]:
    doc = _doc()
    mutate(doc)
    return validate_sdl(doc)


def _res(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["profiles"]["compute"]["app"]["resources"]


SCHEMA_CASES: list[tuple[str, Any, str, str]] = [
    ("missing version", lambda d: d.pop("version"), "", "'version'"),
    ("numeric version", lambda d: d.update(version=2.0), "/version", "must be one of"),
    ("unknown top-level key", lambda d: d.update(extra=1), "/extra", "unknown property"),
    ("missing profiles", lambda d: d.pop("profiles"), "", "'profiles'"),
    ("missing placement", lambda d: d["profiles"].pop("placement"), "/profiles", "'placement'"),
    (
        "empty image",
        lambda d: d["services"]["app"].update(image=""),
        "/services/app/image",
        "must not be empty",
    ),
    ("no image", lambda d: d["services"]["app"].pop("image"), "/services/app", "'image'"),
    (
        "unknown service key",
        lambda d: d["services"]["app"].update(ports=[80]),
        "/services/app/ports",
        "unknown property",
    ),
    (
        "port too big",
        lambda d: d["services"]["app"]["expose"][0].update(port=70000),
        "/services/app/expose/0/port",
        "<= 65535",
    ),
    (
        "port zero",
        lambda d: d["services"]["app"]["expose"][0].update(port=0),
        "/services/app/expose/0/port",
        ">= 1",
    ),
    (
        "as not a number",
        lambda d: d["services"]["app"]["expose"][0].update({"as": "80"}),
        "/services/app/expose/0/as",
        "integer",
    ),
    (
        "bad proto",
        lambda d: d["services"]["app"]["expose"][0].update(proto="HTTP"),
        "/services/app/expose/0/proto",
        "TCP or UDP",
    ),
    (
        "command not a list",
        lambda d: d["services"]["app"].update(command="bash"),
        "/services/app/command",
        "list of strings",
    ),
    (
        "cpu units missing",
        lambda d: _res(d)["cpu"].pop("units"),
        "/profiles/compute/app/resources/cpu",
        "'units'",
    ),
    (
        "cpu units junk",
        lambda d: _res(d)["cpu"].update(units="lots"),
        "/profiles/compute/app/resources/cpu/units",
        "number",
    ),
    (
        "memory missing",
        lambda d: _res(d).pop("memory"),
        "/profiles/compute/app/resources",
        "'memory'",
    ),
    (
        "memory size junk",
        lambda d: _res(d)["memory"].update(size="big"),
        "/profiles/compute/app/resources/memory/size",
        "invalid size",
    ),
    (
        "storage without size",
        lambda d: _res(d).update(storage=[{"name": "data"}]),
        "/profiles/compute/app/resources/storage/0",
        "'size'",
    ),
    (
        "ram storage persistent",
        lambda d: _res(d).update(
            storage=[{"size": "1Gi", "attributes": {"class": "ram", "persistent": True}}]
        ),
        "/profiles/compute/app/resources/storage/0/attributes",
        "cannot be persistent",
    ),
    (
        "gpu without units",
        lambda d: _res(d)["gpu"].pop("units"),
        "/profiles/compute/app/resources/gpu",
        "'units'",
    ),
    (
        "gpu vendor amd",
        lambda d: _res(d)["gpu"]["attributes"].update(vendor={"amd": None}),
        "/profiles/compute/app/resources/gpu/attributes/vendor/amd",
        "unknown property",
    ),
    (
        "gpu interface",
        lambda d: _res(d)["gpu"]["attributes"]["vendor"]["nvidia"][0].update(interface="nvlink"),
        "/profiles/compute/app/resources/gpu/attributes/vendor/nvidia/0/interface",
        "pcie or sxm",
    ),
    (
        "gpu unknown model key",
        lambda d: _res(d)["gpu"]["attributes"]["vendor"]["nvidia"][0].update(vram="24Gi"),
        "/profiles/compute/app/resources/gpu/attributes/vendor/nvidia/0/vram",
        "unknown property",
    ),
    (
        "pricing missing",
        lambda d: d["profiles"]["placement"]["dcloud"].pop("pricing"),
        "/profiles/placement/dcloud",
        "'pricing'",
    ),
    (
        "price without denom",
        lambda d: d["profiles"]["placement"]["dcloud"]["pricing"]["app"].pop("denom"),
        "/profiles/placement/dcloud/pricing/app",
        "'denom'",
    ),
    (
        "negative price",
        lambda d: d["profiles"]["placement"]["dcloud"]["pricing"]["app"].update(amount=-1),
        "/profiles/placement/dcloud/pricing/app/amount",
        ">= 0",
    ),
    (
        "count zero",
        lambda d: d["deployment"]["app"]["dcloud"].update(count=0),
        "/deployment/app/dcloud/count",
        ">= 1",
    ),
    (
        "profile missing",
        lambda d: d["deployment"]["app"]["dcloud"].pop("profile"),
        "/deployment/app/dcloud",
        "'profile'",
    ),
    (
        "deployment unknown key",
        lambda d: d["deployment"]["app"]["dcloud"].update(replicas=2),
        "/deployment/app/dcloud/replicas",
        "unknown property",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "needle"),
    [(m, p, n) for _, m, p, n in SCHEMA_CASES],
    ids=[c[0] for c in SCHEMA_CASES],
)
def test_schema_rules(mutate: Any, path: str, needle: str) -> None:
    problems = _mutated(mutate)
    assert any(p == path and needle in m for p, m in problems), problems


def test_not_a_mapping() -> None:
    assert validate_sdl(["a", "list"]) == [("", "must be object (got array)")]
    assert check_sdl("just text") == [("", "must be object (got string)")]


def test_yaml_errors_are_one_problem() -> None:
    problems = check_sdl("services: [unclosed")
    assert len(problems) == 1
    assert problems[0][0] == ""
    assert "\n" not in problems[0][1]
    assert check_sdl("   ") == [("", "SDL is empty")]


# -- semantic rules (§6.2 item 6) -------------------------------------------------------------


SEMANTIC_CASES: list[tuple[str, Any, str, str]] = [
    (
        "service not deployed",
        lambda d: d["services"].update(extra={"image": "x"}),
        "/deployment",
        'Service "extra" is not defined',
    ),
    (
        "deployment of unknown service",
        lambda d: d["deployment"].update(ghost={"dcloud": {"profile": "app", "count": 1}}),
        "/deployment/ghost",
        "ghost",
    ),
    (
        "unknown placement",
        lambda d: d["deployment"].update(app={"nowhere": {"profile": "app", "count": 1}}),
        "/profiles/placement",
        '"nowhere"',
    ),
    (
        "unpriced profile",
        lambda d: d["profiles"]["placement"]["dcloud"].update(
            pricing={"other": {"denom": "uact", "amount": 1}}
        ),
        "/profiles/placement/dcloud/pricing",
        'pricing for the "app" profile',
    ),
    (
        "unknown compute profile",
        lambda d: (
            d["deployment"]["app"]["dcloud"].update(profile="big"),
            d["profiles"]["placement"]["dcloud"]["pricing"].update(
                big={"denom": "uact", "amount": 1}
            ),
        ),
        "/profiles/compute",
        '"big" profile',
    ),
    (
        "gpu units without attributes",
        lambda d: _res(d)["gpu"].pop("attributes"),
        "/profiles/compute/app/resources/gpu",
        "must have attributes",
    ),
    (
        "gpu units without vendor",
        lambda d: _res(d)["gpu"].update(attributes={}),
        "/profiles/compute/app/resources/gpu/attributes",
        "must specify a vendor",
    ),
    (
        "gpu zero with attributes",
        lambda d: _res(d)["gpu"].update(units=0),
        "/profiles/compute/app/resources/gpu/attributes",
        "must not have attributes",
    ),
    (
        "persistent storage without mount",
        lambda d: _res(d).update(
            storage=[
                {"size": "1Gi"},
                {
                    "name": "data",
                    "size": "10Gi",
                    "attributes": {"persistent": True, "class": "beta3"},
                },
            ]
        ),
        "/services/app/params/storage/data",
        "requires a mount",
    ),
    (
        "mount of unknown volume",
        lambda d: d["services"]["app"].update(params={"storage": {"data": {"mount": "/data"}}}),
        "/profiles/compute/app/resources/storage",
        'non-existing compute volume "data"',
    ),
    (
        "duplicate expose",
        lambda d: d["services"]["app"]["expose"].append(
            {"port": 8080, "as": 80, "to": [{"global": True}]}
        ),
        "/services/app/expose/1",
        "more than once",
    ),
    (
        "unused endpoint",
        lambda d: d.update(endpoints={"myip": {"kind": "ip"}}),
        "/endpoints/myip",
        "never used",
    ),
    (
        "undeclared ip endpoint",
        lambda d: d["services"]["app"]["expose"][0]["to"][0].update(ip="myip"),
        "/endpoints/myip",
        "Unknown endpoint",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "path", "needle"),
    [(m, p, n) for _, m, p, n in SEMANTIC_CASES],
    ids=[c[0] for c in SEMANTIC_CASES],
)
def test_semantic_rules(mutate: Any, path: str, needle: str) -> None:
    problems = _mutated(mutate)
    assert any(p == path and needle in m for p, m in problems), problems


def test_ip_endpoint_declared_and_used_is_valid() -> None:
    doc = _doc()
    doc["endpoints"] = {"myip": {"kind": "ip"}}
    doc["services"]["app"]["expose"][0]["to"][0]["ip"] = "myip"
    assert validate_sdl(doc) == []
    assert build_manifest(doc)[0]["services"][0]["expose"][0]["endpointSequenceNumber"] == 1
    kinds = [
        e.get("kind", 0) for e in build_manifest(doc)[0]["services"][0]["resources"]["endpoints"]
    ]
    assert kinds == [0, 2]


def test_ip_without_global_is_refused() -> None:
    doc = _doc()
    doc["endpoints"] = {"myip": {"kind": "ip"}}
    doc["services"]["app"]["expose"][0]["to"][0] = {"ip": "myip"}
    assert any("must be declared as global" in m for _, m in validate_sdl(doc))


def test_persistent_storage_with_mount_is_valid() -> None:
    doc = _doc()
    _res(doc)["storage"] = [
        {"size": "1Gi"},
        {"name": "data", "size": "10Gi", "attributes": {"persistent": True, "class": "beta3"}},
    ]
    doc["services"]["app"]["params"] = {"storage": {"data": {"mount": "/data"}}}
    assert validate_sdl(doc) == []
    params = build_manifest(doc)[0]["services"][0]["params"]
    assert params == {"storage": [{"name": "data", "mount": "/data", "readOnly": False}]}


def test_semantic_checks_wait_for_a_clean_schema() -> None:
    # A schema error (count 0) hides the semantic one (undeployed service), as in chain-sdk.
    doc = _doc()
    doc["deployment"]["app"]["dcloud"]["count"] = 0
    doc["services"]["extra"] = {"image": "x"}
    assert _paths(validate_sdl(doc)) == ["/deployment/app/dcloud/count"]


def test_load_sdl_raises_with_every_problem() -> None:
    with pytest.raises(SdlError) as info:
        load_sdl("version: '2.0'\nservices: {}\n")
    assert len(info.value.problems) == 2
    assert "'profiles'" in str(info.value) and "'deployment'" in str(info.value)


# -- quick form -------------------------------------------------------------------------------


def test_build_sdl_gpu_form() -> None:
    text = build_sdl(
        QuickForm(
            image="vllm/vllm-openai:v0.6.3",
            gpu_model="H100",
            gpu_units=2,
            cpu=8,
            memory="64Gi",
            storage="200Gi",
            port=8000,
            max_price_usd_per_hour=Decimal("4.5"),
        )
    )
    doc = load_sdl(text)
    assert doc["version"] == "2.0"
    expose = doc["services"]["app"]["expose"][0]
    assert expose == {"port": 8000, "as": 80, "to": [{"global": True}]}
    gpu = doc["profiles"]["compute"]["app"]["resources"]["gpu"]
    assert gpu == {"units": 2, "attributes": {"vendor": {"nvidia": [{"model": "h100"}]}}}
    # 4.5 USD/h = 7500 micro-USD per block
    assert doc["profiles"]["placement"]["dcloud"]["pricing"]["app"] == {
        "denom": "uact",
        "amount": 7500,
    }
    assert max_price_per_hour_usd(doc) == Decimal("4.5")


def test_build_sdl_any_gpu_no_http_and_cpu_only() -> None:
    any_gpu = load_sdl(build_sdl(QuickForm(image="busybox", gpu_model="any", port=22, http=False)))
    assert any_gpu["profiles"]["compute"]["app"]["resources"]["gpu"]["attributes"] == {
        "vendor": {"nvidia": None}
    }
    assert "as" not in any_gpu["services"]["app"]["expose"][0]
    cpu_only = load_sdl(build_sdl(QuickForm(image="busybox", gpu_units=0, cpu="0.5", port=None)))
    assert "gpu" not in cpu_only["profiles"]["compute"]["app"]["resources"]
    assert "expose" not in cpu_only["services"]["app"]
    assert cpu_only["profiles"]["compute"]["app"]["resources"]["cpu"]["units"] == 0.5


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"image": ""}, "image"),
        ({"image": "not an image"}, "image"),
        ({"gpu_units": -1}, "gpu_units"),
        ({"gpu_units": 99}, "gpu_units"),
        ({"gpu_model": "rtx 4090"}, "gpu_model"),
        ({"cpu": 0}, "cpu"),
        ({"cpu": "many"}, "cpu"),
        ({"memory": "lots"}, "memory"),
        ({"storage": "0"}, "storage"),
        ({"port": 0}, "port"),
        ({"port": 70000}, "port"),
        ({"max_price_usd_per_hour": 0}, "max_price_usd_per_hour"),
        ({"max_price_usd_per_hour": "free"}, "max_price_usd_per_hour"),
        ({"service_name": "App!"}, "service_name"),
    ],
)
def test_build_sdl_refuses_bad_forms(changes: dict[str, Any], field: str) -> None:
    form = QuickForm(**{"image": "nginx:1.27", **changes})
    with pytest.raises(SdlError) as info:
        build_sdl(form)
    assert field in [path for path, _ in info.value.problems]


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_check_sdl_never_raises_on_free_text(text: str) -> None:
    problems = check_sdl(text)
    assert isinstance(problems, list)
    assert all(isinstance(p, str) and isinstance(m, str) for p, m in problems)


_json_leaf = st.none() | st.booleans() | st.integers(-5, 70000) | st.text(max_size=8)
_json = st.recursive(
    _json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["services", "profiles", "deployment"]), _json)
def test_validate_never_raises_on_odd_sections(section: str, value: Any) -> None:
    doc = _doc()
    doc[section] = value
    problems = validate_sdl(doc)
    assert isinstance(problems, list)


_forms = st.builds(
    QuickForm,
    image=st.from_regex(r"[a-z][a-z0-9]{0,10}(:[0-9]{1,2}\.[0-9]{1,2})?", fullmatch=True),
    gpu_model=st.sampled_from([None, "any", "rtx4090", "h100", "a100"]),
    gpu_units=st.integers(0, 8),
    cpu=st.decimals(min_value=Decimal("0.1"), max_value=64, places=1),
    memory=st.sampled_from(["512Mi", "4Gi", "16Gi", "1.5Gi"]),
    port=st.none() | st.integers(1, 65535),
    http=st.booleans(),
    max_price_usd_per_hour=st.decimals(min_value=Decimal("0.01"), max_value=100, places=2),
)


@settings(max_examples=60, deadline=None)
@given(_forms)
def test_quick_form_always_builds_a_valid_sdl(form: QuickForm) -> None:
    doc = load_sdl(build_sdl(form))
    price = Decimal(str(form.max_price_usd_per_hour))
    # never below what was asked (rounded up to a whole micro-USD per block)
    assert max_price_per_hour_usd(doc) >= price
    assert max_price_per_hour_usd(doc) - price < Decimal("0.0006")
    assert build_manifest(doc)[0]["services"][0]["image"] == form.image
    gpu = doc["profiles"]["compute"]["app"]["resources"].get("gpu")
    assert (gpu or {}).get("units", 0) == form.gpu_units
