"""The manifest's shortcuts and Workflow Builder steps each have a listener (and the other way
round), the steps' inputs and outputs are the ones the code reads and writes, and the app is
declared org-ready as Slack requires for custom steps."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from slack_bolt.async_app import AsyncApp

from bot.core import workflow_steps as steps
from tests.unit.test_manifest import manifest


def registered(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, list[str]]:
    from bot.app import build_bot
    from bot.config import Settings
    from bot.runtime import open_storage

    seen: dict[str, list[str]] = {"shortcut": [], "function": []}
    for method in seen:
        original = getattr(AsyncApp, method)

        def spy(
            self: AsyncApp,
            key: Any,
            *args: Any,
            _o: Any = original,
            _m: str = method,
            **kwargs: Any,
        ) -> Any:
            seen[_m].append(key)
            return _o(self, key, *args, **kwargs)

        monkeypatch.setattr(AsyncApp, method, spy)

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
    return seen


def test_every_shortcut_and_step_has_a_listener_and_vice_versa(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = registered(monkeypatch, tmp_path)
    data = manifest()
    assert {s["callback_id"] for s in data["features"]["shortcuts"]} == set(seen["shortcut"])
    assert set(data["functions"]) == set(seen["function"]) == set(steps.CALLBACKS)
    assert "function_executed" in data["settings"]["event_subscriptions"]["bot_events"]
    assert data["settings"]["org_deploy_enabled"] is True
    assert data["settings"]["function_runtime"] == "remote"


def test_step_inputs_and_outputs_match_the_code() -> None:
    functions = manifest()["functions"]
    for callback, spec in functions.items():
        inputs = spec["input_parameters"]
        assert inputs["run_as"]["type"] == "slack#/types/user_context"
        assert inputs["run_as"]["is_required"] is True
        assert set(spec["output_parameters"]) == {
            steps.DEPLOYMENT_ID,
            steps.STATUS,
            steps.COST_PER_HOUR,
        }
        if callback == steps.CREATE:
            assert {"template", "overrides"} <= set(inputs)
        else:
            assert inputs["deployment"]["is_required"] is True
    assert functions[steps.SCALE]["input_parameters"]["replicas"]["type"] == "integer"
