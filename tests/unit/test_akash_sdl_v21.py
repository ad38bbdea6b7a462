"""SDL features beyond the basics: TEE, reclamation, permissions, signedBy, denoms, credentials,
shared IP endpoints, unknown keys; accepted and refused as Akash does, and what they build."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from bot.providers.akash_sdl import (
    build_manifest,
    check_sdl,
    group_specs,
    group_specs_json,
    load_sdl,
    validate_sdl,
)

BASE: dict[str, Any] = {
    "version": "2.1",
    "services": {
        "web": {
            "image": "nginx:1.27",
            "expose": [{"port": 80, "as": 80, "to": [{"global": True}]}],
        }
    },
    "profiles": {
        "compute": {
            "web": {
                "resources": {
                    "cpu": {"units": "500m"},
                    "memory": {"size": "1Gi"},
                    "storage": {"size": "1Gi"},
                }
            },
            "gpu": {
                "resources": {
                    "cpu": {"units": 1},
                    "memory": {"size": "2Gi"},
                    "storage": {"size": "10Gi"},
                    "gpu": {"units": 1, "attributes": {"vendor": {"nvidia": [{"model": "h100"}]}}},
                }
            },
        },
        "placement": {
            "dc": {
                "pricing": {
                    "web": {"denom": "uact", "amount": 100},
                    "gpu": {"denom": "uact", "amount": 900},
                }
            }
        },
    },
    "deployment": {"web": {"dc": {"profile": "web", "count": 1}}},
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def _web(doc: dict[str, Any]) -> dict[str, Any]:
    service: dict[str, Any] = doc["services"]["web"]
    return service


def _problem(problems: list[tuple[str, str]], path: str, needle: str) -> bool:
    return any(p == path and needle in m for p, m in problems)


def test_base_document_is_valid() -> None:
    assert validate_sdl(_doc()) == []


# -- TEE -----------------------------------------------------------------------------------


def test_tee_cpu_goes_into_the_manifest_and_the_group_requirements() -> None:
    doc = _doc()
    _web(doc)["params"] = {"tee": "cpu"}
    assert validate_sdl(doc) == []
    service = build_manifest(doc)[0]["services"][0]
    assert service["params"] == {"storage": None, "tee": {"type": "cpu", "attestation": True}}
    (group,) = group_specs(doc)
    assert ("tee/type", "cpu") in group.attributes
    assert group_specs_json(doc)[0]["requirements"]["attributes"] == [
        {"key": "tee/type", "value": "cpu"}
    ]


def test_tee_cpu_gpu_needs_a_gpu() -> None:
    doc = _doc()
    _web(doc)["params"] = {"tee": "cpu-gpu"}
    assert _problem(
        validate_sdl(doc), "/services/web/params/tee", 'TEE type "cpu-gpu" requires GPU'
    )
    doc["deployment"]["web"]["dc"]["profile"] = "gpu"
    assert validate_sdl(doc) == []


def test_unknown_tee_type_is_refused_naming_the_choices() -> None:
    doc = _doc()
    _web(doc)["params"] = {"tee": "sgx"}
    assert _problem(
        validate_sdl(doc), "/services/web/params/tee", "must be one of cpu, cpu-gpu (got 'sgx')"
    )


def test_one_tee_type_per_placement_group() -> None:
    doc = _doc()
    doc["services"]["api"] = {"image": "node:20", "params": {"tee": "cpu-gpu"}}
    doc["deployment"]["api"] = {"dc": {"profile": "gpu", "count": 1}}
    _web(doc)["params"] = {"tee": "cpu"}
    assert _problem(validate_sdl(doc), "/services/web/params/tee", "mixes TEE types")


# -- reclamation ---------------------------------------------------------------------------


@pytest.mark.parametrize("window", ["30s", "90m", "24h", "720h"])
def test_reclamation_window_accepted(window: str) -> None:
    assert validate_sdl(_doc(reclamation={"min_window": window})) == []


@pytest.mark.parametrize("window", ["0s", "1h30m", "24", "1d", "-1h", ""])
def test_reclamation_window_refused(window: str) -> None:
    problems = validate_sdl(_doc(reclamation={"min_window": window}))
    assert problems and all(p == "/reclamation/min_window" for p, _ in problems), problems


def test_reclamation_needs_min_window_and_nothing_else() -> None:
    assert _problem(validate_sdl(_doc(reclamation={})), "/reclamation", "'min_window'")
    problems = validate_sdl(_doc(reclamation={"min_window": "1h", "max_window": "2h"}))
    assert _problem(problems, "/reclamation/max_window", "unknown property 'max_window'")


# -- permissions ---------------------------------------------------------------------------


def test_read_permissions_go_into_the_manifest() -> None:
    doc = _doc()
    _web(doc)["params"] = {"permissions": {"read": ["logs", "events"]}}
    assert validate_sdl(doc) == []
    params = build_manifest(doc)[0]["services"][0]["params"]
    assert params == {"storage": None, "permissions": {"read": ["logs", "events"]}}


def test_unknown_permission_is_refused() -> None:
    doc = _doc()
    _web(doc)["params"] = {"permissions": {"read": ["logs", "shell"], "write": ["logs"]}}
    problems = validate_sdl(doc)
    assert _problem(problems, "/services/web/params/permissions/read/1", "got 'shell'")
    assert _problem(problems, "/services/web/params/permissions/write", "unknown property")


# -- unknown keys name the key and the version -----------------------------------------


@pytest.mark.parametrize("version", ["2.0", "2.1"])
def test_unknown_key_names_key_and_version(version: str) -> None:
    doc = _doc(version=version, networks={"a": 1})
    assert _problem(
        validate_sdl(doc), "/networks", f"'networks': not part of SDL version {version}"
    )


def test_depends_on_points_to_dependencies() -> None:
    doc = _doc()
    _web(doc)["depends_on"] = ["db"]
    problems = validate_sdl(doc)
    assert _problem(problems, "/services/web/depends_on", "'dependencies: [{service: <name>}]'")
    _web(doc).pop("depends_on")
    doc["services"]["db"] = {"image": "postgres:16"}
    doc["deployment"]["db"] = {"dc": {"profile": "web", "count": 1}}
    _web(doc)["dependencies"] = [{"service": "db"}]
    assert validate_sdl(doc) == []


def test_unknown_version_is_refused_with_the_value() -> None:
    assert _problem(validate_sdl(_doc(version="2.2")), "/version", "got '2.2'")


# -- signedBy, denoms, storage classes, CPU ------------------------------------------------


def test_signed_by_all_of_and_any_of_reach_the_group() -> None:
    doc = _doc()
    doc["profiles"]["placement"]["dc"]["signedBy"] = {
        "allOf": ["akash1a"],
        "anyOf": ["akash1b", "akash1c"],
    }
    assert validate_sdl(doc) == []
    (group,) = group_specs(doc)
    assert group.signed_by_all_of == ("akash1a",)
    assert group.signed_by_any_of == ("akash1b", "akash1c")
    assert group_specs_json(doc)[0]["requirements"]["signed_by"] == {
        "all_of": ["akash1a"],
        "any_of": ["akash1b", "akash1c"],
    }


def test_signed_by_must_be_lists_of_addresses() -> None:
    doc = _doc()
    doc["profiles"]["placement"]["dc"]["signedBy"] = {"anyOf": "akash1b", "oneOf": ["x"]}
    problems = validate_sdl(doc)
    assert _problem(problems, "/profiles/placement/dc/signedBy/anyOf", "list of strings")
    assert _problem(problems, "/profiles/placement/dc/signedBy/oneOf", "unknown property")


@pytest.mark.parametrize("denom", ["uakt", "uact", "ibc/170C6776A1B2"])
def test_denoms_accepted(denom: str) -> None:
    doc = _doc()
    doc["profiles"]["placement"]["dc"]["pricing"]["web"]["denom"] = denom
    assert validate_sdl(doc) == []


@pytest.mark.parametrize("denom", ["usd", "akt", "UAKT", "ibc/"])
def test_denoms_refused(denom: str) -> None:
    doc = _doc()
    doc["profiles"]["placement"]["dc"]["pricing"]["web"]["denom"] = denom
    assert _problem(validate_sdl(doc), "/profiles/placement/dc/pricing/web/denom", repr(denom))


def test_group_price_is_a_chain_dec_coin() -> None:
    doc = _doc()
    doc["profiles"]["placement"]["dc"]["pricing"]["web"]["amount"] = "12.5"
    (group,) = group_specs_json(doc)
    assert group["resources"][0]["price"] == {"denom": "uact", "amount": "12.500000000000000000"}


def test_persistent_storage_class_needs_persistent_true() -> None:
    doc = _doc()
    res = doc["profiles"]["compute"]["web"]["resources"]
    res["storage"] = [
        {"size": "1Gi"},
        {"name": "data", "size": "5Gi", "attributes": {"class": "beta2"}},
    ]
    path = "/profiles/compute/web/resources/storage/1/attributes/persistent"
    assert _problem(validate_sdl(doc), path, '"beta2" requires persistent: true')


@pytest.mark.parametrize("units", [0, "0", "0m", "0.0"])
def test_zero_cpu_refused(units: Any) -> None:
    doc = _doc()
    doc["profiles"]["compute"]["web"]["resources"]["cpu"]["units"] = units
    assert _problem(
        validate_sdl(doc), "/profiles/compute/web/resources/cpu/units", "must be a number > 0"
    )


def test_proxy_buffer_size_limit() -> None:
    doc = _doc()
    _web(doc)["expose"][0]["http_options"] = {"proxy_buffer_size": 65536}
    assert validate_sdl(doc) == []
    _web(doc)["expose"][0]["http_options"] = {"proxy_buffer_size": 2_000_000}
    path = "/services/web/expose/0/http_options/proxy_buffer_size"
    assert _problem(validate_sdl(doc), path, "<= 1048576")


# -- credentials ---------------------------------------------------------------------------


def test_credentials_are_trimmed_into_the_manifest() -> None:
    doc = _doc()
    _web(doc)["credentials"] = {"host": " ghcr.io ", "username": "me", "password": "secret1"}
    assert validate_sdl(doc) == []
    assert build_manifest(doc)[0]["services"][0]["credentials"] == {
        "host": "ghcr.io",
        "email": "",
        "username": "me",
        "password": "secret1",
    }


def test_blank_credentials_are_refused() -> None:
    doc = _doc()
    _web(doc)["credentials"] = {"host": "   ", "username": "me", "password": "secret1"}
    assert _problem(validate_sdl(doc), "/services/web/credentials/host", "must not be blank")


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [("password", "12345", "at least 6"), ("email", "a@b", "at least 5")],
)
def test_short_credentials_are_refused(key: str, value: str, needle: str) -> None:
    doc = _doc()
    _web(doc)["credentials"] = {"host": "ghcr.io", "username": "me", "password": "secret1"}
    _web(doc)["credentials"][key] = value
    assert _problem(validate_sdl(doc), f"/services/web/credentials/{key}", needle)


# -- IP endpoints --------------------------------------------------------------------------


def _ip_doc() -> dict[str, Any]:
    doc = _doc(endpoints={"shared": {"kind": "ip"}})
    _web(doc)["expose"] = [{"port": 80, "to": [{"global": True, "ip": "shared"}]}]
    doc["services"]["api"] = {
        "image": "node:20",
        "expose": [{"port": 80, "as": 81, "to": [{"global": True, "ip": "shared"}]}],
    }
    doc["deployment"]["api"] = {"dc": {"profile": "web", "count": 2}}
    return doc


def test_shared_ip_endpoint_numbers_and_group_endpoints() -> None:
    doc = _ip_doc()
    assert validate_sdl(doc) == []
    services = build_manifest(doc)[0]["services"]
    assert [s["name"] for s in services] == ["api", "web"]
    # Two targets name "shared": numbered over the sorted list, the last number wins.
    assert {s["expose"][0]["endpointSequenceNumber"] for s in services} == {2}
    (group,) = group_specs_json(doc)
    (unit,) = group["resources"]
    assert unit["count"] == 3
    assert unit["resource"]["endpoints"] == [
        {"kind": 1, "sequence_number": 0},
        {"sequence_number": 0},
        {"kind": 2, "sequence_number": 2},
        {"kind": 2, "sequence_number": 2},
    ]


def test_ip_port_used_twice_is_refused() -> None:
    doc = _ip_doc()
    doc["services"]["api"]["expose"][0]["as"] = 80
    problems = validate_sdl(doc)
    assert _problem(problems, "/services/web/expose/0/to/0/ip", 'already in use by service "api"')


def test_ip_endpoint_must_be_declared_and_global() -> None:
    doc = _ip_doc()
    doc["endpoints"] = {"other": {"kind": "ip"}}
    problems = validate_sdl(doc)
    assert _problem(problems, "/endpoints/shared", 'Unknown endpoint "shared"')
    assert _problem(problems, "/endpoints/other", "declared but never used")
    doc = _ip_doc()
    _web(doc)["expose"][0]["to"][0]["global"] = False
    assert _problem(
        validate_sdl(doc), "/services/web/expose/0/to/0/global", "must be declared as global"
    )


def test_text_round_trip_through_load_sdl() -> None:
    doc = _ip_doc()
    _web(doc)["params"] = {"tee": "cpu", "permissions": {"read": ["deployment"]}}
    text = yaml.safe_dump(doc, sort_keys=False)
    assert check_sdl(text) == []
    assert load_sdl(text) == doc


def test_internal_targets_take_endpoint_numbers_before_ips() -> None:
    # The chain numbers every non-global target (as "") along with the IP targets, so an
    # internal expose shifts the IP endpoint's number to 2; the internal one itself keeps 0.
    doc = _ip_doc()
    del doc["services"]["api"]
    del doc["deployment"]["api"]
    _web(doc)["expose"].append({"port": 9000, "to": [{"service": "web"}]})
    assert validate_sdl(doc) == []
    (web,) = build_manifest(doc)[0]["services"]
    assert [(e["port"], e["endpointSequenceNumber"]) for e in web["expose"]] == [(80, 2), (9000, 0)]


def test_yaml_booleans_are_yaml_1_2() -> None:
    # "off" is a next case, not a boolean; "yes" is not a boolean either (js-yaml agrees).
    text = yaml.safe_dump(_doc(), sort_keys=False).replace(
        "    - port: 80\n", "    - port: 80\n      http_options:\n        next_cases: [off]\n", 1
    )
    assert "next_cases: [off]" in text
    assert check_sdl(text) == []
    expose = build_manifest(load_sdl(text))[0]["services"][0]["expose"][0]
    assert expose["httpOptions"]["nextCases"] == ["off"]
    refused = check_sdl(text.replace("global: true", "global: yes"))
    assert _problem(refused, "/services/web/expose/0/to/0/global", "must be boolean (got string)")
