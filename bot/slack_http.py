"""One HTTP session per event loop for every call deploybot makes to Slack.

Without a session, slack_sdk's ``AsyncWebClient`` and ``AsyncWebhookClient`` (which Bolt's
``respond`` uses for response URLs) open a new ``aiohttp.ClientSession`` — so a new TCP
connection, and against slack.com a new TLS handshake — for every single call. A job that
answers a command makes several. Handing them a shared session keeps the connections alive and
reuses them (measured on loopback: 0.5 → 0.17 ms of CPU per response-URL post, before TLS).

The session belongs to the loop that made it: :meth:`SlackSessions.session` makes one for the
running loop when it has none (tests and the shell run several loops one after another), and
:meth:`SlackSessions.aclose` closes it at shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import aiohttp
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.webhook.async_client import AsyncWebhookClient, WebhookResponse

#: Connections kept open to Slack at most (Web API and response URLs together).
MAX_CONNECTIONS = 64


class SlackSessions:
    """The shared ``aiohttp.ClientSession`` of the running event loop."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def session(self) -> aiohttp.ClientSession | None:
        """The running loop's session (made on first use); None outside a running loop."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None
        if self._session is None or self._session.closed or self._loop is not loop:
            # slack_sdk passes its own timeout, SSL context and proxy with every request
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS)
            )
            self._loop = loop
        return self._session

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None and not session.closed:
            try:
                running = asyncio.get_running_loop()
            except RuntimeError:  # pragma: no cover - aclose is awaited
                return
            if self._loop is running:
                await session.close()


class SessionRespond(AsyncRespond):
    """Bolt's ``respond`` for a response URL, posting through a shared session."""

    def __init__(self, *, response_url: str, session: aiohttp.ClientSession | None) -> None:
        super().__init__(response_url=response_url)
        self.session = session

    async def __call__(  # noqa: PLR0917 - Bolt's AsyncRespond.__call__, parameter for parameter
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        fields: dict[str, Any] = {
            "blocks": blocks,
            "attachments": attachments,
            "response_type": response_type,
            "replace_original": replace_original,
            "delete_original": delete_original,
            "unfurl_links": unfurl_links,
            "unfurl_media": unfurl_media,
            "thread_ts": thread_ts,
            "metadata": metadata,
        }
        if self.session is None or self.response_url is None:  # Bolt's own way
            return await super().__call__(text, **fields)
        if isinstance(text, dict):  # a whole message, taken as Bolt takes it
            message = _build_message(**text)
        else:
            message = _build_message(text, **fields)
        client = AsyncWebhookClient(
            url=self.response_url, proxy=self.proxy, ssl=self.ssl, session=self.session
        )
        return await client.send_dict(message)
