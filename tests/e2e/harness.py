"""End-to-end harness: the real aiohttp app, a fake Slack Web API and the three sandboxes.

Requests are signed exactly as Slack signs them and POSTed over HTTP to ``/slack/events``;
everything the app sends to Slack lands in :class:`FakeSlackAPI`; every provider call goes to
the sandbox emulators on 127.0.0.1 (driven by a manual clock).

Every payload is judged by Slack's rules (:mod:`tests.blockkit_support`): the fake Slack rejects
a message, view or response-URL post that real Slack would reject (``slack_rejections`` in
tests/conftest.py fails the test), and the answers the app gives Slack's requests (acks) are
checked when the environment closes.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import DeployBot, build_bot, web_client
from bot.config import Settings
from bot.core.policy import Effect, Risk, Rule, WorkspacePolicy
from bot.db.access import AccessStore
from bot.providers.http import RetryPolicy
from bot.runtime import Storage, open_storage
from bot.server import build_web_app
from bot.services.pool import ProviderPool
from bot.slack_local import payloads
from bot.slack_local.fake_api import FakeSlackAPI, SlackCall
from sandbox.clock import ManualClock
from sandbox.server import SandboxCluster
from tests import blockkit_support

TEAM = "T111"
ADMIN = "UADMIN"
MEMBER = "U111"
CHANNEL = "C111"
BOT_TOKEN = "xoxb-e2e-test"
#: The coroutine in which Bolt runs a listener after answering the request (HTTP mode).
BOLT_LISTENER_TASK = "run_ack_function_asynchronously"
#: Every change runs without approval (what the command and button tests need).
OPEN_POLICY = WorkspacePolicy(
    rules=(
        Rule(risk=Risk.SPEND, effect=Effect.ALLOW),
        Rule(risk=Risk.DESTRUCTIVE, effect=Effect.ALLOW),
    )
)


@dataclass
class Answer:
    """What one request got: the HTTP status, the ack body, and its response URL's key."""

    status: int
    body: dict[str, Any]
    response_key: str | None = None
    raw: str = ""


@dataclass
class SlackEnv:
    bot: DeployBot
    slack: FakeSlackAPI
    cluster: SandboxCluster
    http: TestClient[Any, Any]
    secret: str
    clock: ManualClock
    storage: Storage
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)
    #: What was wrong with the app's answers to Slack's requests (see :func:`check_ack`).
    ack_violations: list[str] = field(default_factory=list)

    # -- sending -------------------------------------------------------------------------------

    async def post(self, request: payloads.SignedRequest) -> Answer:
        response = await self.http.post("/slack/events", data=request.body, headers=request.headers)
        raw = await response.text()
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"text": raw}
        answer = Answer(response.status, body if isinstance(body, dict) else {}, raw=raw)
        if response.status == 200 and answer.body:
            violations = blockkit_support.check_ack(
                request.data(), answer.body, list(self.slack.views.values())
            )
            self.ack_violations += [str(v) for v in violations]
        return answer

    def assert_acks_accepted(self) -> None:
        """Fail unless Slack would have accepted every answer the app gave its requests."""
        assert not self.ack_violations, "Slack would reject what the app answered:\n" + "\n".join(
            self.ack_violations
        )

    async def command(
        self,
        text: str,
        *,
        user: str = MEMBER,
        channel: str = CHANNEL,
        team: str = TEAM,
        settle: bool = True,
    ) -> Answer:
        key = secrets.token_hex(6)
        answer = await self.post(
            payloads.slash_command(
                secret=self.secret,
                text=text,
                response_url=self.slack.response_url(key),
                team_id=team,
                user_id=user,
                channel_id=channel,
            )
        )
        answer.response_key = key
        if settle:
            await self.settle()
        return answer

    async def click(
        self,
        action_id: str,
        value: str | None,
        *,
        user: str = MEMBER,
        channel: str = CHANNEL,
        team: str = TEAM,
        block_id: str = "b",
        message: dict[str, Any] | None = None,
        settle: bool = True,
    ) -> Answer:
        key = secrets.token_hex(6)
        answer = await self.post(
            payloads.block_actions(
                secret=self.secret,
                action_id=action_id,
                value=value,
                block_id=block_id,
                response_url=self.slack.response_url(key),
                team_id=team,
                user_id=user,
                channel_id=channel,
                message=message,
            )
        )
        answer.response_key = key
        if settle:
            await self.settle()
        return answer

    async def submit(
        self,
        callback_id: str,
        values: dict[str, Any],
        *,
        private_metadata: str = "",
        user: str = MEMBER,
        team: str = TEAM,
        settle: bool = True,
        view_id: str | None = None,
    ) -> Answer:
        """Submit a form; each call is a form of its own (a new view id) unless ``view_id``
        names the one submitted before (what a Slack retry of the submission looks like)."""
        answer = await self.post(
            payloads.view_submission(
                secret=self.secret,
                callback_id=callback_id,
                values=values,
                private_metadata=private_metadata,
                team_id=team,
                user_id=user,
                view_id=view_id or f"V{secrets.token_hex(5).upper()}",
            )
        )
        if settle:
            await self.settle()
        return answer

    async def event(self, event: dict[str, Any], *, team: str = TEAM) -> Answer:
        answer = await self.post(
            payloads.event_callback(secret=self.secret, event=event, team_id=team)
        )
        await self.settle()
        return answer

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait for what the last requests started: the listeners Bolt still runs after their
        ack (a ``respond`` or ``views.open`` that follows ``ack()``), then background work."""
        listeners = [
            task
            for task in asyncio.all_tasks()
            if getattr(task.get_coro(), "__qualname__", "").endswith(BOLT_LISTENER_TASK)
        ]
        if listeners:
            await asyncio.wait(listeners, timeout=timeout)
        assert await self.bot.work.drain(timeout), "background work did not finish"

    # -- looking -------------------------------------------------------------------------------

    def responses(self, key: str | None) -> list[dict[str, Any]]:
        """The bodies posted to one response URL, in order."""
        return [c.body for c in self.slack.calls_to("response_url") if c.response_url == key]

    def last_response(self, key: str | None) -> dict[str, Any]:
        bodies = [b for b in self.responses(key) if b.get("text") or b.get("blocks")]
        assert bodies, f"nothing was posted to response URL {key}"
        return bodies[-1]

    def calls(self, method: str) -> list[SlackCall]:
        return self.slack.calls_to(method)

    def api(self, provider: str) -> Any:
        return self.cluster.api(provider)


def message_text(body: dict[str, Any]) -> str:
    """All the text of a message (its fallback and every block), for assertions."""
    return body.get("text", "") + "\n" + json.dumps(body.get("blocks") or [], ensure_ascii=False)


def buttons(body: dict[str, Any]) -> dict[str, str]:
    """action_id → value of every button in a message."""
    found: dict[str, str] = {}
    for block in body.get("blocks") or []:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                found[element["action_id"]] = element.get("value", "")
        accessory = block.get("accessory") or {}
        if accessory.get("type") == "button":
            found[accessory["action_id"]] = accessory.get("value", "")
    return found


@asynccontextmanager
async def slack_env(
    db_url: str,
    tmp_path: Any,
    *,
    connect: tuple[str, ...] = ("nosana", "akash", "neuranet"),
    process_before_response: bool = False,
    policy: WorkspacePolicy | None = OPEN_POLICY,
) -> AsyncIterator[SlackEnv]:
    """Sandboxes + fake Slack + deploybot on ``db_url``, with the demo keys of ``connect``.

    ``policy`` is the workspace's policy; the default lets every change run at once (the
    tests of commands and buttons); ``None`` keeps deploybot's defaults (approvals for spend
    and destructive operations).
    """
    clock = ManualClock()
    async with SandboxCluster(clock) as cluster, FakeSlackAPI() as slack:
        slack.payload_check = blockkit_support.payload_check
        slack.add_token(BOT_TOKEN, TEAM)
        slack.add_user(MEMBER, team_id=TEAM, name="ana")
        slack.add_user(ADMIN, team_id=TEAM, name="boss", is_admin=True)
        settings = Settings(
            NOSANA_API_URL=cluster.base_url("nosana"),
            AKASH_API_URL=cluster.base_url("akash"),
            NEURANET_API_URL=cluster.base_url("neuranet"),
            DATABASE_URL=SecretStr(db_url),
            DEPLOYBOT_DATA_DIR=tmp_path,
            DEPLOYBOT_ENCRYPTION_KEYS=SecretStr("Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="),
            SLACK_API_URL=slack.base_url,
        )
        storage = await open_storage(settings)
        keys: dict[str, str] = {}
        for name in connect:
            keys[name] = cluster.api(name).demo_api_key
            await storage.keys.put(
                team_id=TEAM, provider=name, api_key=SecretStr(keys[name]), connected_by=ADMIN
            )
        if policy is not None:
            await AccessStore(storage.engine).save_policy(TEAM, None, policy, updated_by=ADMIN)
        secret = secrets.token_hex(16)
        pool = ProviderPool(
            settings,
            storage.keys,
            client_kwargs={
                "retry": RetryPolicy(base_delay=0.001, max_delay=0.01, max_retry_after=5.0)
            },
        )
        bot = build_bot(
            settings,
            storage,
            token=BOT_TOKEN,
            signing_secret=secret,
            client=web_client(settings, BOT_TOKEN),
            pool=pool,
            process_before_response=process_before_response,
        )
        web_app = build_web_app(bot)
        async with TestClient(TestServer(web_app, host="127.0.0.1")) as http:
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
            env.assert_acks_accepted()


@asynccontextmanager
async def replica(env: SlackEnv) -> AsyncIterator[SlackEnv]:
    """Another app instance (its own process state, engine and HTTP server) on the same
    database, fake Slack and sandboxes: what a second replica, or a restart, looks like."""
    storage = await open_storage(env.settings)
    pool = ProviderPool(
        env.settings,
        storage.keys,
        client_kwargs={"retry": RetryPolicy(base_delay=0.001, max_delay=0.01, max_retry_after=5.0)},
    )
    bot = build_bot(
        env.settings,
        storage,
        token=BOT_TOKEN,
        signing_secret=env.secret,
        client=web_client(env.settings, BOT_TOKEN),
        pool=pool,
    )
    async with TestClient(TestServer(build_web_app(bot), host="127.0.0.1")) as http:
        other = SlackEnv(
            bot=bot,
            slack=env.slack,
            cluster=env.cluster,
            http=http,
            secret=env.secret,
            clock=env.clock,
            storage=storage,
            settings=env.settings,
            keys=env.keys,
        )
        yield other
        env.ack_violations += other.ack_violations
