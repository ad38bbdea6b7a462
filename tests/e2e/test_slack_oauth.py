"""Multi-workspace (OAuth) mode over HTTP: unknown workspaces, the install flow, uninstalls.

The bot is built the way ``deploybot serve`` builds it with SLACK_CLIENT_ID/SECRET set: no
explicit token, slack_sdk's SQLAlchemy installation and state stores on deploybot's database,
and the authorize cache on. Slack is the fake Web API; the providers are the sandboxes.
"""

from __future__ import annotations

import base64
import logging
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from sqlalchemy import column, func, select, table

from bot.app import UNKNOWN_WORKSPACE, build_bot
from bot.config import Settings
from bot.db.audit import AuditLog
from bot.db.schema import SLACK_BOTS, SLACK_INSTALLATIONS
from bot.providers.http import RetryPolicy
from bot.runtime import open_storage
from bot.server import build_web_app
from bot.services.pool import ProviderPool
from bot.slack_local.fake_api import FakeSlackAPI
from sandbox.clock import ManualClock
from sandbox.server import SandboxCluster
from tests import blockkit_support
from tests.e2e.harness import ADMIN, MEMBER, TEAM, SlackEnv, message_text

CLIENT_ID = "1111.2222"
NEW_TEAM = "T222"
STRANGER = "T999"


@asynccontextmanager
async def oauth_env(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    """Like ``harness.slack_env``, but in OAuth mode and with no workspace installed yet.

    The demo provider keys are stored for ``TEAM`` (as if it had connected them before an
    uninstall); no installation exists until a test runs the OAuth flow.
    """
    clock = ManualClock()
    async with SandboxCluster(clock) as cluster, FakeSlackAPI() as slack:
        for team in (TEAM, NEW_TEAM):
            slack.add_user(MEMBER if team == TEAM else "U222", team_id=team, name="ana")
        slack.add_user(ADMIN, team_id=TEAM, name="boss", is_admin=True)
        secret = secrets.token_hex(16)
        settings = Settings(
            NOSANA_API_URL=cluster.base_url("nosana"),
            AKASH_API_URL=cluster.base_url("akash"),
            NEURANET_API_URL=cluster.base_url("neuranet"),
            DATABASE_URL=SecretStr(db_url),
            DEPLOYBOT_DATA_DIR=tmp_path,
            DEPLOYBOT_ENCRYPTION_KEYS=SecretStr("Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="),
            SLACK_API_URL=slack.base_url,
            SLACK_CLIENT_ID=CLIENT_ID,
            SLACK_CLIENT_SECRET=SecretStr("client-secret"),
            SLACK_SIGNING_SECRET=SecretStr(secret),
            SLACK_BOT_TOKEN=None,
        )
        storage = await open_storage(settings)
        keys: dict[str, str] = {}
        for name in ("nosana", "akash", "neuranet"):
            keys[name] = cluster.api(name).demo_api_key
            await storage.keys.put(
                team_id=TEAM, provider=name, api_key=SecretStr(keys[name]), connected_by=ADMIN
            )
        pool = ProviderPool(
            settings,
            storage.keys,
            client_kwargs={"retry": RetryPolicy(base_delay=0.001, max_delay=0.01)},
        )
        bot = build_bot(settings, storage, pool=pool)
        assert bot.installation_store is not None, "SLACK_CLIENT_ID/SECRET must mean OAuth mode"
        slack.payload_check = blockkit_support.payload_check
        async with TestClient(TestServer(build_web_app(bot), host="127.0.0.1")) as http:
            try:
                env = SlackEnv(
                    bot=bot,
                    slack=slack,
                    cluster=cluster,
                    http=http,
                    secret=secret,
                    clock=clock,
                    storage=storage,
                    settings=settings,
                    keys=keys,
                )
                yield env
            finally:
                await bot.work.drain(10)
            env.assert_acks_accepted()


@pytest.fixture
async def oauth(db_url: str, tmp_path: Any) -> AsyncIterator[SlackEnv]:
    async with oauth_env(db_url, tmp_path) as running:
        yield running


async def install(env: SlackEnv, team: str, *, user: str = ADMIN) -> str:
    """Run the OAuth flow for ``team`` through the app's own pages; return the bot token."""
    page = await env.http.get("/slack/install")
    assert page.status == 200
    html = await page.text()
    links = [unescape(h) for h in re.findall(r'href="([^"]+)"', html)]
    authorize = [h for h in links if h.startswith("https://slack.com/oauth/v2/authorize")]
    assert authorize, f"no Slack authorize link on the install page: {html[:300]}"
    query = parse_qs(urlsplit(authorize[0]).query)
    assert query["client_id"] == [CLIENT_ID]
    state = query["state"][0]
    assert state
    # The state cookie is ``Secure``: a browser sends it back over https; here, by hand.
    cookie = page.cookies["slack-app-oauth-state"]
    assert cookie.value == state and cookie["httponly"]
    code = secrets.token_hex(8)
    token = env.slack.add_oauth_code(code, team_id=team, user_id=user, team_name=f"Team {team}")
    done = await env.http.get(
        "/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers={"Cookie": f"{cookie.key}={cookie.value}"},
    )
    body = await done.text()
    assert done.status == 200, body[:300]
    return token


async def count_rows(env: SlackEnv, name: str, team: str) -> int:
    query = select(func.count()).select_from(table(name)).where(column("team_id") == team)
    async with env.storage.engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


def provider_calls(env: SlackEnv) -> int:
    return sum(len(env.api(p).requests) for p in ("nosana", "akash", "neuranet"))


# -- an unknown workspace ------------------------------------------------------------------------


async def test_command_from_a_workspace_without_installation_is_told_so(
    oauth: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    before = provider_calls(oauth)
    for text in ("list", "help", "stop comfyui-dev"):
        answer = await oauth.command(text, team=STRANGER)
        assert answer.status == 200
        told = [b.get("text", "") for b in oauth.responses(answer.response_key)]
        assert UNKNOWN_WORKSPACE in [*told, answer.body.get("text", ""), answer.raw]
    assert provider_calls(oauth) == before
    assert oauth.calls("chat.postMessage") == []
    assert "Traceback" not in caplog.text


async def test_button_from_a_workspace_without_installation_is_told_so(oauth: SlackEnv) -> None:
    answer = await oauth.click("list_next", "", team=STRANGER)
    assert answer.status == 200
    told = [b.get("text", "") for b in oauth.responses(answer.response_key)]
    assert UNKNOWN_WORKSPACE in [*told, answer.raw]
    assert provider_calls(oauth) == 0


# -- the install flow ----------------------------------------------------------------------------


async def test_install_page_links_to_slack_with_a_state(oauth: SlackEnv) -> None:
    page = await oauth.http.get("/slack/install")
    assert page.status == 200
    html = await page.text()
    assert "https://slack.com/oauth/v2/authorize" in html
    assert "state=" in html and f"client_id={CLIENT_ID}" in html


async def test_oauth_redirect_rejects_a_forged_state(oauth: SlackEnv) -> None:
    code = "c0de"
    oauth.slack.add_oauth_code(code, team_id=NEW_TEAM)
    answer = await oauth.http.get(
        "/slack/oauth_redirect", params={"code": code, "state": "forged-state"}
    )
    assert answer.status >= 400
    assert await count_rows(oauth, SLACK_INSTALLATIONS, NEW_TEAM) == 0
    assert oauth.calls("oauth.v2.access") == []


async def test_install_then_commands_work_and_auth_is_cached(oauth: SlackEnv) -> None:
    token = await install(oauth, NEW_TEAM)
    assert await count_rows(oauth, SLACK_INSTALLATIONS, NEW_TEAM) == 1
    assert await count_rows(oauth, SLACK_BOTS, NEW_TEAM) == 1
    [exchange] = oauth.calls("oauth.v2.access")
    scheme, _, credentials = exchange.headers["authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(credentials).decode() == f"{CLIENT_ID}:client-secret"
    oauth.slack.clear()

    answer = await oauth.command("help", team=NEW_TEAM, user="U222")
    assert answer.status == 200
    assert "/deploy list" in message_text(answer.body)

    answer = await oauth.command("providers", team=NEW_TEAM, user="U222")
    final = oauth.last_response(answer.response_key)
    assert "No provider is connected yet." in final["text"]
    assert "Nosana" in message_text(final)

    answer = await oauth.command("list", team=NEW_TEAM, user="U222")
    assert "No provider account is connected" in oauth.last_response(answer.response_key)["text"]
    assert provider_calls(oauth) == 0  # T222 has no keys; T111's are never used for it

    assert len(oauth.calls("auth.test")) <= 1, "the authorize cache should hold the token"
    for call in oauth.calls("auth.test"):
        assert call.token == token


async def test_installed_workspace_can_use_its_own_keys(oauth: SlackEnv) -> None:
    await install(oauth, TEAM)
    answer = await oauth.command("list")
    text = message_text(oauth.last_response(answer.response_key))
    assert "llama3-chat" in text and "Akash" in text


# -- uninstalling --------------------------------------------------------------------------------


async def test_app_uninstalled_deletes_installation_and_keys(
    oauth: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deploybot")
    await install(oauth, TEAM)
    await install(oauth, NEW_TEAM, user="U222")
    await oauth.bot.storage.keys.put(
        team_id=NEW_TEAM, provider="akash", api_key=SecretStr("ac-other"), connected_by="U222"
    )
    answer = await oauth.event({"type": "app_uninstalled"})
    assert answer.status == 200
    assert await count_rows(oauth, SLACK_INSTALLATIONS, TEAM) == 0
    assert await count_rows(oauth, SLACK_BOTS, TEAM) == 0
    assert await oauth.storage.keys.list(team_id=TEAM) == []
    # The other workspace keeps everything.
    assert await count_rows(oauth, SLACK_INSTALLATIONS, NEW_TEAM) == 1
    assert [k.provider for k in await oauth.storage.keys.list(team_id=NEW_TEAM)] == ["akash"]
    cleaned = [r for r in caplog.records if "cleaned up" in r.getMessage()]
    assert len(cleaned) == 1
    # The audit log stays, and says what happened.
    rows = await AuditLog(oauth.storage.engine).export(team_id=TEAM)
    assert [(r.action, r.result, r.params) for r in rows][-1:] == [
        ("uninstall", "ok", {"keys_deleted": 3})
    ]

    # Its next command is told to reinstall; nothing reaches a provider.
    before = provider_calls(oauth)
    answer = await oauth.command("list")
    told = [b.get("text", "") for b in oauth.responses(answer.response_key)]
    assert UNKNOWN_WORKSPACE in [*told, answer.raw]
    assert provider_calls(oauth) == before


async def test_tokens_revoked_bot_deletes_bot_and_keys(
    oauth: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="deploybot")
    await install(oauth, TEAM)
    answer = await oauth.event({"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}})
    assert answer.status == 200
    assert await count_rows(oauth, SLACK_BOTS, TEAM) == 0
    assert await oauth.storage.keys.list(team_id=TEAM) == []
    assert len([r for r in caplog.records if "cleaned up" in r.getMessage()]) == 1


async def test_tokens_revoked_user_tokens_only_keeps_keys(oauth: SlackEnv) -> None:
    await install(oauth, TEAM)
    answer = await oauth.event({"type": "tokens_revoked", "tokens": {"oauth": [ADMIN]}})
    assert answer.status == 200
    # The installer's own (user) installation row is gone, the bot and the keys stay.
    assert await count_rows(oauth, SLACK_INSTALLATIONS, TEAM) == 0
    assert await count_rows(oauth, SLACK_BOTS, TEAM) == 1
    assert len(await oauth.storage.keys.list(team_id=TEAM)) == 3


async def test_watch_notifications_use_the_installed_bot_token(oauth: SlackEnv) -> None:
    token = await install(oauth, TEAM)
    assert await oauth.bot.token_for("", TEAM) == token  # type: ignore[misc]
    assert await oauth.bot.token_for("", STRANGER) is None  # type: ignore[misc]
    await oauth.command("watch dep_rv6sk1wj69")
    runner = oauth.bot.build_watcher(pace=0.0)
    await runner.poller.poll_once(force=True)
    assert await runner.sender.send_once() == 1
    [post] = oauth.calls("chat.postMessage")
    assert post.token == token and "dep_rv6sk1wj69" in message_text(post.body)
