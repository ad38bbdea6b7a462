"""Socket Mode: with SLACK_APP_TOKEN the server connects out to Slack and serves commands there."""

from __future__ import annotations

from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.config import Settings
from bot.server import create_server_app
from bot.slack_local.socket_mode import FakeSocketModeSlack
from sandbox.clock import ManualClock
from sandbox.server import SandboxCluster

APP_TOKEN = "xapp-1-socket-test"
BOT_TOKEN = "xoxb-socket-test"


async def test_socket_mode_serves_commands_without_a_signing_secret(tmp_path: Path) -> None:
    async with SandboxCluster(ManualClock()) as cluster, FakeSocketModeSlack() as slack:
        slack.add_token(BOT_TOKEN, "T111")
        slack.add_token(APP_TOKEN, "T111")
        settings = Settings(
            SLACK_BOT_TOKEN=SecretStr(BOT_TOKEN),
            SLACK_APP_TOKEN=SecretStr(APP_TOKEN),
            SLACK_API_URL=slack.base_url,
            DATABASE_URL=SecretStr(f"sqlite:///{tmp_path}/socket.db"),
            DEPLOYBOT_DATA_DIR=tmp_path,
            NOSANA_API_URL=cluster.base_url("nosana"),
            AKASH_API_URL=cluster.base_url("akash"),
            NEURANET_API_URL=cluster.base_url("neuranet"),
        )
        web_app = await create_server_app(settings)
        async with TestClient(TestServer(web_app, host="127.0.0.1")) as http:
            await slack.wait_connected()
            health = await http.get("/healthz")
            assert health.status == 200
            assert (await health.json())["socket_mode"] == "connected"

            command = {
                "team_id": "T111",
                "user_id": "U111",
                "channel_id": "C111",
                "command": "/deploy",
                "text": "help list",
                "response_url": slack.response_url("sock"),
                "trigger_id": "1.2.3",
                "api_app_id": "A111",
            }
            ack = await slack.send("slash_commands", command)
            assert "/deploy list" in ack["payload"]["text"]
            assert ack["payload"]["response_type"] == "ephemeral"

            command["text"] = "providers"
            ack = await slack.send("slash_commands", command)
            calls = await slack.wait_for("response_url")
            assert "No provider is connected yet" in calls[-1].body["text"]

        assert not slack.connected  # shutting the server down closes the connection
