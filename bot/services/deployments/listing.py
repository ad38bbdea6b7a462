"""`/deploy list`: one page of deployments across the chosen providers, and the Next state."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from bot.core import results
from bot.core.render import PROVIDER_LABEL
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import PROVIDER_NAMES, Deployment, DeploymentStatus, ProviderName
from bot.services.deployments.accounts import Accounts
from bot.services.deployments.model import Actor
from bot.services.errors import NotConnectedError, ServiceError

LIST_PAGE_SIZE = 20
#: How many provider pages one "Next" click may read to fill a page (status filters thin them).
MAX_PAGE_READS = 6
HIDDEN_BY_DEFAULT = frozenset({DeploymentStatus.ARCHIVED, DeploymentStatus.CLOSED})


@dataclass
class _Page:
    """Where a page starts: providers still to read, the cursor in the first, the filter."""

    providers: list[ProviderName]
    cursor: str | None
    status: str | None
    number: int
    items: list[Deployment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def list_page(
    accounts: Accounts,
    actor: Actor,
    provider: ProviderName | None,
    status: str | None,
    *,
    state: str | None,
) -> results.Listing:
    """One page of deployments across the chosen providers; ``state`` comes from Next."""
    page = await _start(accounts, actor, provider, status, state)
    shown = list(page.providers)
    clients = {p: await accounts.client(actor, p) for p in page.providers}
    remaining = await _fill(page, clients)
    next_value = (
        _encode_state({"p": remaining, "c": page.cursor, "s": page.status, "n": page.number + 1})
        if remaining
        else None
    )
    return results.Listing(
        items=page.items,
        providers=shown,
        status=page.status,
        number=page.number,
        next_value=next_value,
        problems=page.notes,
        at=accounts.clock(),
    )


async def _start(
    accounts: Accounts,
    actor: Actor,
    provider: ProviderName | None,
    status: str | None,
    state: str | None,
) -> _Page:
    if state:
        page_state = _decode_state(state)
        return _Page(
            providers=page_state["p"],
            cursor=page_state.get("c"),
            status=page_state.get("s"),
            number=int(page_state.get("n", 1)),
        )
    providers = [provider] if provider else await accounts.connected_names(actor)
    if not providers:
        raise NotConnectedError(
            "No provider account is connected yet: an admin can run "
            "`/deploy connect nosana|akash|neuranet`."
        )
    return _Page(providers=providers, cursor=None, status=status, number=1)


async def _fill(page: _Page, clients: dict[ProviderName, BaseProvider]) -> list[ProviderName]:
    """Read provider pages into ``page`` until it is full; the providers left to read."""
    reads = 0
    remaining = list(page.providers)
    while remaining and len(page.items) < LIST_PAGE_SIZE and reads < MAX_PAGE_READS:
        name = remaining[0]
        reads += 1
        try:
            read = await clients[name].list_page(cursor=page.cursor, limit=LIST_PAGE_SIZE)
        except ProviderError as exc:
            page.notes.append(f"{PROVIDER_LABEL[name]}: {exc.message}")
            remaining.pop(0)
            page.cursor = None
            continue
        page.items.extend(d for d in read.items if _wanted(d, page.status))
        if read.next_cursor and read.next_cursor != page.cursor:
            page.cursor = read.next_cursor
        else:
            remaining.pop(0)
            page.cursor = None
    return remaining


def _wanted(deployment: Deployment, status: str | None) -> bool:
    if status == "all":
        return True
    if status is None:
        return deployment.status not in HIDDEN_BY_DEFAULT
    return deployment.status.value == status


def _encode_state(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _decode_state(value: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(value.encode()))
        providers = [p for p in state["p"] if p in PROVIDER_NAMES]
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceError("That list is out of date: run `/deploy list` again.") from exc
    if not providers:
        raise ServiceError("That list is out of date: run `/deploy list` again.")
    state["p"] = providers
    return state
