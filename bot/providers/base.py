"""The one protocol every provider implements, and a base class with the shared plumbing.

Nothing outside ``bot.providers`` should ask which provider it holds: it asks
``capabilities`` (what the network can do at all) and ``available_actions(deployment)``
(what it can do to that deployment in its current state).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, ClassVar, Protocol, runtime_checkable

import httpx
from pydantic import BaseModel, SecretStr

from bot.providers.errors import NotSupportedError, ProviderError, UnavailableError
from bot.providers.http import ProviderHTTP, RetryPolicy, Sleep
from bot.providers.models import (
    Balance,
    Bid,
    Capability,
    CreateResult,
    Deployment,
    Event,
    Job,
    LogLine,
    Market,
    Page,
    ProviderInfo,
    ProviderName,
    Revision,
)

#: Upper bound on pages walked by ``list_deployments`` (100k deployments at 100 a page).
MAX_PAGES = 2000


@dataclass(frozen=True)
class RawPage:
    """One list page as the provider sent it (for the watcher, which normalizes only the
    items that changed): raw items, and the cursor of the next page (None on the last)."""

    items: list[Any]
    next_cursor: str | None = None


def fingerprint(*values: object) -> str:
    """A short stable digest of the values a watcher compares (not Python's salted hash)."""
    text = "\x1f".join(map(str, values))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


@runtime_checkable
class Provider(Protocol):
    name: ClassVar[ProviderName]
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]]

    def available_actions(self, deployment: Deployment) -> frozenset[Capability]: ...

    async def verify(self) -> None: ...
    async def list_page(
        self, *, cursor: str | None = None, limit: int = 50, status: str | None = None
    ) -> Page[Deployment]: ...
    async def list_deployments(self, *, status: str | None = None) -> list[Deployment]: ...
    async def get(self, deployment_id: str) -> Deployment: ...
    async def create(self, spec: BaseModel) -> CreateResult: ...
    async def start(self, deployment_id: str) -> Deployment: ...
    async def stop(self, deployment_id: str) -> Deployment: ...
    async def archive(self, deployment_id: str) -> Deployment: ...
    async def delete(self, deployment_id: str) -> None: ...
    async def close(self, deployment_id: str) -> None: ...
    async def scale(self, deployment_id: str, replicas: int) -> Deployment: ...
    async def set_timeout(self, deployment_id: str, minutes: int) -> Deployment: ...
    async def set_schedule(self, deployment_id: str, cron: str) -> Deployment: ...
    async def revise(self, deployment_id: str, definition: Any) -> Deployment: ...
    async def rollback(self, deployment_id: str, revision: int) -> Deployment: ...
    async def rename(self, deployment_id: str, name: str) -> Deployment: ...
    async def logs(
        self, deployment_id: str, *, tail: int | None = None, since: datetime | None = None
    ) -> list[LogLine]: ...
    async def events(self, deployment_id: str, *, limit: int = 50) -> list[Event]: ...
    async def jobs(self, deployment_id: str, *, limit: int = 50) -> list[Job]: ...
    async def revisions(self, deployment_id: str) -> list[Revision]: ...
    async def bids(self, deployment_id: str) -> list[Bid]: ...
    async def accept_bids(
        self, deployment_id: str, bids: Sequence[Bid], *, manifest: str | None = None
    ) -> Deployment: ...
    async def lease_credentials(
        self, stored: Mapping[str, str] | None
    ) -> dict[str, str] | None: ...
    async def provider_info(self, address: str) -> ProviderInfo: ...
    async def deposit(self, deployment_id: str, amount_usd: Decimal) -> Deployment: ...
    async def balance(self) -> Balance: ...
    async def markets(self, **filters: Any) -> list[Market]: ...
    async def nodes(self, **filters: Any) -> list[Market]: ...
    async def aclose(self) -> None: ...


class BaseProvider:
    """Shared plumbing: the pooled HTTP client, NotSupported defaults, walking all pages."""

    name: ClassVar[ProviderName]
    display_name: ClassVar[str]
    capabilities: ClassVar[frozenset[Capability]] = frozenset()
    default_timeout: ClassVar[httpx.Timeout] = httpx.Timeout(
        connect=5.0, read=30.0, write=10.0, pool=5.0
    )

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        base_url: str,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        sleep: Sleep | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        self._api_key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        kwargs: dict[str, Any] = {}
        if sleep is not None:
            kwargs["sleep"] = sleep
        self.http = ProviderHTTP(
            provider=self.name,
            label=self.display_name,
            base_url=base_url,
            auth_headers=self.auth_headers(self._api_key),
            error_mapper=self.map_error,
            timeout=timeout or self.default_timeout,
            retry=retry,
            transport=transport,
            secrets=(self._api_key,),
            **kwargs,
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.http.base_url!r})"

    # -- to implement ------------------------------------------------------------------

    @classmethod
    def auth_headers(cls, api_key: SecretStr) -> dict[str, SecretStr]:
        raise NotImplementedError

    def map_error(self, response: httpx.Response) -> ProviderError:
        raise NotImplementedError

    def available_actions(self, deployment: Deployment) -> frozenset[Capability]:
        return frozenset()

    async def list_page(
        self, *, cursor: str | None = None, limit: int = 50, status: str | None = None
    ) -> Page[Deployment]:
        raise self._unsupported("listing deployments")

    # -- raw listing for the watcher (providers override these with cheaper versions) --

    async def list_raw_page(self, *, cursor: str | None = None, limit: int = 100) -> RawPage:
        """One list page, items as sent (this default: normalized Deployments)."""
        page = await self.list_page(cursor=cursor, limit=limit)
        return RawPage(items=list(page.items), next_cursor=page.next_cursor)

    def watch_fields(self, raw: Any) -> tuple[str, str] | None:
        """(id, fingerprint of what the watcher diffs) of one raw item; None if malformed."""
        if not isinstance(raw, Deployment):
            return None
        return raw.id, fingerprint(raw.raw_status, raw.name, raw.replicas, raw.extras)

    async def normalize_listed(self, items: Sequence[Any]) -> list[Deployment]:
        """The Deployments of raw list items (only the changed ones are asked for)."""
        return [i for i in items if isinstance(i, Deployment)]

    # -- shared ------------------------------------------------------------------------

    async def aclose(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> BaseProvider:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def supports(self, capability: Capability) -> bool:
        return capability in self.capabilities

    async def verify(self) -> None:
        """A cheap authenticated call; raises AuthenticationError for a bad key."""
        await self.list_page(limit=10)

    def check_revision(self, definition: str) -> str | None:
        """Check a new revision's text locally (no I/O): None when valid, else what is wrong."""
        return None

    async def revision_template(self, deployment: Deployment) -> tuple[str, str]:
        """The text to start a revision from and its language ("json" or "yaml")."""
        raise self._unsupported("revisions")

    def funds_runway(self, deployment: Deployment) -> timedelta | None:
        """How long the deployment's prepaid funds last at the current price (None: n/a)."""
        return None

    async def list_deployments(self, *, status: str | None = None) -> list[Deployment]:
        """Every deployment, walking all pages with the largest page size."""
        items: list[Deployment] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self.list_page(cursor=cursor, limit=100, status=status)
            items.extend(page.items)
            if not page.next_cursor or page.next_cursor == cursor:
                return items
            cursor = page.next_cursor
        raise UnavailableError(
            f"{self.display_name} kept returning pages after {MAX_PAGES}; stopped listing.",
            provider=self.name,
        )

    def _unsupported(self, what: str) -> NotSupportedError:
        return NotSupportedError(
            f"{self.display_name} does not support {what}.", provider=self.name
        )

    async def create(self, spec: BaseModel) -> CreateResult:
        raise self._unsupported("creating deployments")

    async def get(self, deployment_id: str) -> Deployment:
        raise self._unsupported("showing a deployment")

    async def start(self, deployment_id: str) -> Deployment:
        raise self._unsupported("start")

    async def stop(self, deployment_id: str) -> Deployment:
        raise self._unsupported("stop")

    async def archive(self, deployment_id: str) -> Deployment:
        raise self._unsupported("archive")

    async def delete(self, deployment_id: str) -> None:
        raise self._unsupported("delete")

    async def close(self, deployment_id: str) -> None:
        raise self._unsupported("close")

    async def scale(self, deployment_id: str, replicas: int) -> Deployment:
        raise self._unsupported("scaling")

    async def set_timeout(self, deployment_id: str, minutes: int) -> Deployment:
        raise self._unsupported("timeouts")

    async def set_schedule(self, deployment_id: str, cron: str) -> Deployment:
        raise self._unsupported("schedules")

    async def revise(self, deployment_id: str, definition: Any) -> Deployment:
        raise self._unsupported("revisions")

    async def rollback(self, deployment_id: str, revision: int) -> Deployment:
        raise self._unsupported("rollback")

    async def rename(self, deployment_id: str, name: str) -> Deployment:
        raise self._unsupported("renaming")

    async def logs(
        self, deployment_id: str, *, tail: int | None = None, since: datetime | None = None
    ) -> list[LogLine]:
        raise self._unsupported("logs")

    async def events(self, deployment_id: str, *, limit: int = 50) -> list[Event]:
        raise self._unsupported("events")

    async def jobs(self, deployment_id: str, *, limit: int = 50) -> list[Job]:
        raise self._unsupported("jobs")

    async def revisions(self, deployment_id: str) -> list[Revision]:
        raise self._unsupported("revisions")

    async def bids(self, deployment_id: str) -> list[Bid]:
        raise self._unsupported("bids")

    async def accept_bids(
        self, deployment_id: str, bids: Sequence[Bid], *, manifest: str | None = None
    ) -> Deployment:
        raise self._unsupported("leases")

    async def lease_credentials(self, stored: Mapping[str, str] | None) -> dict[str, str] | None:
        """Get ready to lease: use ``stored`` client credentials (kept encrypted by the caller
        from an earlier call), or obtain new ones when the network wants them.

        Returns new credentials for the caller to store (secrets), or None when there is
        nothing new to keep (none needed, or ``stored`` was used).
        """
        return None

    async def provider_info(self, address: str) -> ProviderInfo:
        raise self._unsupported("provider lookup")

    async def deposit(self, deployment_id: str, amount_usd: Decimal) -> Deployment:
        raise self._unsupported("deposits")

    async def balance(self) -> Balance:
        raise self._unsupported("balances")

    async def markets(self, **filters: Any) -> list[Market]:
        raise self._unsupported("markets")

    async def nodes(self, **filters: Any) -> list[Market]:
        raise self._unsupported("nodes")
