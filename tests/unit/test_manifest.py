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


def test_every_manifest_command_has_a_listener_and_vice_versa(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Registering goes through AsyncApp.command: record what the app factory registers."""
    import asyncio

    from pydantic import SecretStr
    from slack_bolt.async_app import AsyncApp

    from bot.app import build_bot
    from bot.config import Settings
    from bot.runtime import open_storage

    registered: list[str] = []
    original = AsyncApp.command

    def spy(self: AsyncApp, command: str, *args: object, **kwargs: object) -> object:
        registered.append(command)
        return original(self, command, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(AsyncApp, "command", spy)

    async def build() -> None:
        settings = Settings(
            DATABASE_URL=SecretStr(f"sqlite:///{tmp_path}/m.db"), DEPLOYBOT_DATA_DIR=tmp_path
        )
        storage = await open_storage(settings)
        try:
            build_bot(settings, storage, token="xoxb-manifest", signing_secret="s")
        finally:
            await storage.aclose()

    asyncio.run(build())
    in_manifest = {c["command"] for c in manifest()["features"]["slash_commands"]}
    assert in_manifest == set(registered)
    from handlers.commands import COMMANDS

    assert set(COMMANDS) == in_manifest


def test_manifest_urls_point_at_the_routes_the_server_serves() -> None:
    data = manifest()
    urls = [c["url"] for c in data["features"]["slash_commands"]]
    urls += [
        data["settings"]["event_subscriptions"]["request_url"],
        data["settings"]["interactivity"]["request_url"],
    ]
    assert all(url.endswith("/slack/events") for url in urls)
    assert all(u.endswith("/slack/oauth_redirect") for u in data["oauth_config"]["redirect_urls"])


def test_manifest_scopes_match_the_default_oauth_scopes() -> None:
    from bot.config import Settings

    scopes = set(manifest()["oauth_config"]["scopes"]["bot"])
    assert scopes == set(Settings().slack_scopes.split(","))
