"""An in-process fake of Slack's Web API (and of response URLs), served on loopback by aiohttp.

Point ``AsyncWebClient(base_url=slack.base_url)`` (or Bolt's client) at it; every call is
recorded as a :class:`SlackCall` and answered the way Slack answers: HTTP 200 with
``{"ok": true, …}`` or ``{"ok": false, "error": "…"}``, HTTP 429 with ``Retry-After`` when a
rate limit is injected with :meth:`FakeSlackAPI.fail_next`.

    async with FakeSlackAPI() as slack:
        slack.add_token("xoxb-test", "T111")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
        await client.chat_postMessage(channel="C111", text="hi")
        [call] = slack.calls_to("chat.postMessage")

Tokens, users, OAuth codes and views live in plain dicts on the object; nothing runs in the
background and the server only ever binds a loopback address.

One module per job: :mod:`.server` (routes, tokens, dispatch), :mod:`.records` (the recorded
calls), :mod:`.faults` (injected failures), :mod:`.wire` (request bodies and JSON answers),
:mod:`.workspace` (the registries), and the method families :mod:`.auth`, :mod:`.chat`,
:mod:`.views`, :mod:`.people` (users, user groups, DMs), :mod:`.files` and
:mod:`.functions` (workflow steps' completions).
"""

from bot.slack_local.fake_api.records import PayloadCheck, Rejection, SlackCall
from bot.slack_local.fake_api.server import FakeSlackAPI
from bot.slack_local.fake_api.workspace import TokenInfo

__all__ = ["FakeSlackAPI", "PayloadCheck", "Rejection", "SlackCall", "TokenInfo"]
