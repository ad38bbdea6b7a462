"""manifest.yml is a valid Slack app manifest (the official v1 JSON schema, vendored in shared/)."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_CANDIDATES = [
    ROOT / "tests" / "data" / "slack-manifest.schema.1.0.0.json",
    ROOT.parent / "shared" / "reference" / "slack-manifest.schema.1.0.0.json",
]


def schema() -> dict:
    for path in SCHEMA_CANDIDATES:
        if path.exists():
            return json.loads(path.read_text())
    pytest.fail("Slack's manifest schema is missing (tests/data/slack-manifest.schema.1.0.0.json)")


def manifest() -> dict:
    return yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_validates_against_slacks_schema() -> None:
    jsonschema.Draft7Validator(schema()).validate(manifest())


def test_schema_really_rejects_mistakes() -> None:
    broken = manifest()
    broken["features"]["slash_commands"][0]["command"] = "deploy"  # no leading slash
    broken["settings"]["interactivity"]["is_enabeld"] = True  # misspelled key
    errors = list(jsonschema.Draft7Validator(schema()).iter_errors(broken))
    assert len(errors) >= 2


def test_uninstall_events_are_subscribed() -> None:
    events = manifest()["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_uninstalled", "tokens_revoked"} <= set(events)
