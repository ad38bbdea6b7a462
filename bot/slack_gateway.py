"""The one place deploybot builds Slack Web API clients.

Every per-workspace client — background work, approvals answered by DM, the create status
message, notifications — comes from here: the workspace's installation token (OAuth) or the
app's own token, the app's base URL (SLACK_API_URL), and the app's retry handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.services.slack_io import DirectoryCache, SlackIO
from bot.slack_http import SessionRespond, SlackSessions

#: Clients kept per token (one per installed workspace, bounded).
MAX_CLIENTS = 100

TokenFor = Callable[[str, str], Awaitable[str | None]]


def base_url(settings: Settings) -> str:
    """SLACK_API_URL (with its trailing slash), or the real Web API."""
    base = settings.slack_api_url or AsyncWebClient.BASE_URL
    return base if base.endswith("/") else base + "/"


def web_client(
    settings: Settings, token: str | None = None, *, wait_on_rate_limits: bool = True
) -> AsyncWebClient:
    """A Web API client: SLACK_API_URL when set; retries on connection resets, 5xx and —
    unless the caller paces itself (the notification sender) — 429 with Retry-After."""
    handlers: list[AsyncRetryHandler] = [AsyncConnectionErrorRetryHandler(max_retry_count=1)]
    if wait_on_rate_limits:
        handlers += [
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=1),
        ]
    return AsyncWebClient(token=token, base_url=base_url(settings), retry_handlers=handlers)


class SlackGateway:
    def __init__(
        self,
        settings: Settings,
        app_client: AsyncWebClient,
        token_for: TokenFor | None,
        cache: DirectoryCache,
    ) -> None:
        self.settings = settings
        self.app_client = app_client
        #: The installation's bot token (OAuth); None: one workspace, the app's own token.
        self.token_for = token_for
        self.cache = cache
        self._clients: dict[tuple[str, bool], AsyncWebClient] = {}
        #: The connections every Slack call shares (see :mod:`bot.slack_http`).
        self.http = SlackSessions()

    def for_token(self, token: str, *, wait_on_rate_limits: bool = True) -> AsyncWebClient:
        key = (token, wait_on_rate_limits)
        client = self._clients.get(key)
        if client is None:
            client = web_client(self.settings, token, wait_on_rate_limits=wait_on_rate_limits)
            if self.app_client.base_url:
                client.base_url = self.app_client.base_url
            kept = list(self._clients.items())[: MAX_CLIENTS - 1]
            self._clients = {key: client, **dict(kept)}
        return self._shared(client)

    def _shared(self, client: AsyncWebClient) -> AsyncWebClient:
        session = self.http.session()
        if session is not None:
            client.session = session
        return client

    def respond_to(self, response_url: str) -> AsyncRespond:
        """Bolt's ``respond`` for ``response_url``, through the shared connections."""
        return SessionRespond(response_url=response_url, session=self.http.session())

    async def client_for(self, team_id: str, enterprise_id: str | None) -> AsyncWebClient | None:
        """The workspace's client; None when deploybot is no longer installed there."""
        if self.token_for is None:
            return self._shared(self.app_client)
        token = await self.token_for(enterprise_id or "", team_id)
        return self.for_token(token) if token else None

    async def slack_for(self, team_id: str, enterprise_id: str | None) -> SlackIO | None:
        client = await self.client_for(team_id, enterprise_id)
        return self.io(client, team_id) if client is not None else None

    def io(self, client: AsyncWebClient, team_id: str = "") -> SlackIO:
        """Slack calls deploybot makes with ``client`` (directory look-ups cached)."""
        return SlackIO(client, self.cache, team_id)
