"""Every Slack call shares one HTTP session per event loop: response-URL posts (and Web API
calls) reuse a kept-alive connection instead of opening one each, and post the same bodies
Bolt's own ``respond`` posts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.context.respond.async_respond import AsyncRespond

from bot.config import Settings
from bot.services.slack_io import DirectoryCache
from bot.slack_gateway import SlackGateway, web_client
from bot.slack_http import SessionRespond, SlackSessions


class Hook:
    """A response URL on 127.0.0.1 that records each post's body and client port."""

    def __init__(self) -> None:
        self.posts: list[tuple[int, dict[str, Any]]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        self.posts.append((peer[1] if peer else 0, json.loads(await request.read())))
        return web.Response(text="ok")


@pytest.fixture
async def hook() -> AsyncIterator[Hook]:
    recorder = Hook()
    app = web.Application()
    app.router.add_post("/hook", recorder.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    recorder.url = f"http://127.0.0.1:{runner.addresses[0][1]}/hook"
    yield recorder
    await runner.cleanup()


def test_no_session_outside_a_running_loop() -> None:
    assert SlackSessions().session() is None


async def test_one_session_per_loop_until_closed() -> None:
    sessions = SlackSessions()
    first = sessions.session()
    assert first is not None and sessions.session() is first
    await sessions.aclose()
    assert first.closed
    again = sessions.session()
    assert again is not None and again is not first
    await sessions.aclose()


async def test_posts_share_one_connection(hook: Hook) -> None:
    sessions = SlackSessions()
    for n in range(5):
        await SessionRespond(response_url=hook.url, session=sessions.session())(f"answer {n}")
    await sessions.aclose()
    ports = {port for port, _ in hook.posts}
    assert len(hook.posts) == 5 and len(ports) == 1

    hook.posts.clear()
    for n in range(3):  # Bolt's own respond: a session, and a connection, per post
        await AsyncRespond(response_url=hook.url)(f"answer {n}")
    assert len({port for port, _ in hook.posts}) == 3


async def test_the_bodies_are_bolts(hook: Hook) -> None:
    sessions = SlackSessions()
    shared = SessionRespond(response_url=hook.url, session=sessions.session())
    plain = AsyncRespond(response_url=hook.url)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    for respond in (shared, plain):
        await respond("hi", blocks=blocks, response_type="ephemeral", replace_original=False)
        await respond({"text": "whole", "delete_original": True})
    await sessions.aclose()
    bodies = [body for _, body in hook.posts]
    assert bodies[:2] == bodies[2:]
    assert bodies[0] == {
        "text": "hi",
        "blocks": blocks,
        "response_type": "ephemeral",
        "replace_original": False,
    }


async def test_workspace_clients_use_the_shared_session(tmp_path: Any) -> None:
    settings = Settings(DEPLOYBOT_DATA_DIR=tmp_path)
    gateway = SlackGateway(settings, web_client(settings, "xoxb-app"), None, DirectoryCache())
    client = await gateway.client_for("T1", None)
    assert client is gateway.app_client
    assert client.session is gateway.http.session()
    respond = gateway.respond_to("https://hooks.slack.com/commands/T1/1/x")
    assert isinstance(respond, SessionRespond) and respond.session is client.session
    await gateway.http.aclose()
