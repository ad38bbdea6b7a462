"""The sandbox's own SDL reading: rules the chain-sdk fixture set does not exercise."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import yaml

from sandbox import akash_manifest, akash_sdl
from sandbox.pricing import nosana_price_per_hour, uact_per_block, usd_per_hour

BASE = """\
version: "2.1"
services:
  web:
    image: nginx:1.27
    expose:
      - port: 8080
        as: 80
        to:
          - global: true
profiles:
  compute:
    web:
      resources:
        cpu: {units: 0.5}
        memory: {size: 512Mi}
        storage:
          - size: 1Gi
  placement:
    dc:
      pricing:
        web: {denom: uact, amount: 1000}
deployment:
  web:
    dc:
      profile: web
      count: 1
"""


def _doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(BASE)
    for path, value in changes.items():
        node = doc
        *parents, last = path.split("__")
        for key in parents:
            node = node[key]
        node[last] = value
    return doc


def _problems(doc: dict[str, Any]) -> str:
    with pytest.raises(akash_sdl.SdlRejected) as caught:
        akash_sdl.load(yaml.safe_dump(doc))
    return str(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("512Mi", 512 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("1.5Ki", 1536), ("100", 100)],
)
def test_sizes(text: str, expected: int) -> None:
    assert akash_sdl.size_bytes(text) == expected


@pytest.mark.parametrize(("units", "millis"), [("100m", 100), (0.5, 500), (2, 2000), ("0.01", 10)])
def test_cpu_units(units: Any, millis: int) -> None:
    assert akash_sdl.cpu_millis(units) == millis


def test_bad_size_is_named_with_its_path() -> None:
    doc = _doc(profiles__compute__web__resources__memory={"size": "lots"})
    assert "/profiles/compute/web/resources/memory/size: invalid size 'lots'" in _problems(doc)


def test_empty_and_unparsable_sdl_are_refused() -> None:
    for text in ("", "   ", "version: [unclosed"):
        with pytest.raises(akash_sdl.SdlRejected):
            akash_sdl.load(text)


def test_references_must_resolve() -> None:
    doc = _doc(deployment={"web": {"dc": {"profile": "gpu", "count": 1}}})
    assert "no compute profile named 'gpu'" in _problems(doc)
    doc = _doc(deployment={"web": {"eu": {"profile": "web", "count": 1}}})
    assert "no placement profile named 'eu'" in _problems(doc)
    doc = _doc(deployment={"api": {"dc": {"profile": "web", "count": 1}}})
    problems = _problems(doc)
    assert "service 'web' is not in the deployment section" in problems
    assert "no service named 'api'" in problems


def test_ip_endpoint_port_collision() -> None:
    doc = _doc(endpoints={"ip1": {"kind": "ip"}})
    doc["services"]["api"] = {
        "image": "api:1",
        "expose": [{"port": 9000, "as": 80, "to": [{"global": True, "ip": "ip1"}]}],
    }
    doc["services"]["web"]["expose"][0]["to"][0]["ip"] = "ip1"
    doc["deployment"]["api"] = {"dc": {"profile": "web", "count": 1}}
    assert "already in use by" in _problems(doc)


def test_volumes_and_mounts() -> None:
    storage = [
        {"size": "1Gi"},
        {"name": "a", "size": "1Gi", "attributes": {"class": "beta2", "persistent": True}},
        {"name": "b", "size": "1Gi", "attributes": {"class": "beta2", "persistent": True}},
    ]
    doc = _doc(profiles__compute__web__resources__storage=storage)
    doc["services"]["web"]["params"] = {
        "storage": {"a": {"mount": "/data"}, "b": {"mount": "/data"}, "c": {"mount": "/c"}}
    }
    problems = _problems(doc)
    assert "mount '/data' already in use by volume 'a'" in problems
    assert "no compute volume named 'c'" in problems


def test_tee_cpu_refuses_gpus() -> None:
    gpu = {"units": 1, "attributes": {"vendor": {"nvidia": [{"model": "h100"}]}}}
    doc = _doc(profiles__compute__web__resources__gpu=gpu)
    doc["services"]["web"]["params"] = {"tee": "cpu"}
    assert "tee cpu cannot be used with GPU" in _problems(doc)


def test_v21_merges_services_sharing_a_profile_and_v20_does_not() -> None:
    doc = _doc()
    doc["services"]["api"] = {"image": "api:1"}
    doc["deployment"]["api"] = {"dc": {"profile": "web", "count": 2}}
    merged = akash_manifest.derive(akash_sdl.load(yaml.safe_dump(doc)))
    assert [(u.services, u.count) for u in merged.groups[0].resources] == [(("api", "web"), 3)]
    doc["version"] = "2.0"
    separate = akash_manifest.derive(akash_sdl.load(yaml.safe_dump(doc)))
    assert [(u.services, u.count) for u in separate.groups[0].resources] == [
        (("api",), 2),
        (("web",), 1),
    ]
    # two services, two resources; each service names its own resource id in the manifest
    ids = [s["resources"]["id"] for s in separate.manifest[0]["services"]]
    assert ids == [1, 2]


def test_group_view_for_the_bid_engine() -> None:
    gpu = {"units": 2, "attributes": {"vendor": {"nvidia": [{"model": "a100", "ram": "80Gi"}]}}}
    derived = akash_manifest.derive(
        akash_sdl.load(yaml.safe_dump(_doc(profiles__compute__web__resources__gpu=gpu)))
    )
    (group,) = derived.groups
    (unit,) = group.resources
    assert group.max_price_per_block == Decimal(1000)
    assert (unit.cpu_millis, unit.memory_bytes, unit.gpu_units) == (500, 512 * 2**20, 2)
    assert unit.gpu_options == (akash_manifest.GpuRequest("nvidia", "a100", "80Gi", None),)
    assert unit.endpoint_kinds == (akash_manifest.SHARED_HTTP,)
    attrs = derived.group_specs[0]["resources"][0]["resource"]["gpu"]["attributes"]
    assert attrs == [{"key": "vendor/nvidia/model/a100/ram/80Gi", "value": "true"}]


def test_manifest_version_is_independent_of_key_order() -> None:
    a = akash_manifest.manifest_version('[{"name":"dc","services":[]}]')
    b = akash_manifest.manifest_version('[{"services":[],"name":"dc"}]')
    assert a == b
    with pytest.raises(ValueError):
        akash_manifest.manifest_version("not json")


def test_prices() -> None:
    assert uact_per_block(1) * 600 == Decimal(1_000_000)
    assert usd_per_hour(uact_per_block(Decimal("2.5"))) == Decimal("2.5")
    assert nosana_price_per_hour("0.5", 10) == Decimal("0.55")
    assert nosana_price_per_hour(None, 10) == 0
    assert nosana_price_per_hour("nan", 10) == 0


def test_schema_reasons_read_plainly() -> None:
    doc = _doc(profiles__compute__web__resources__cpu={"units": "0m"})
    assert "/profiles/compute/web/resources/cpu/units: must be more than 0" in _problems(doc)
    ram = [{"name": "tmp", "size": "1Gi", "attributes": {"class": "ram", "persistent": True}}]
    doc = _doc(profiles__compute__web__resources__storage=ram)
    assert "attributes: a ram storage class cannot be persistent" in _problems(doc)
    doc = _doc(services__web__expose=[{"port": 70000}])
    assert "/services/web/expose/0/port: 70000 is greater than the maximum of 65535" in _problems(
        doc
    )
