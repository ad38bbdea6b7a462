"""`/deploy list`: one page of deployments across the chosen providers, newest first.

The providers' own lists are not in one order (Nosana sorts by creation, Akash and NeuraNET by
whatever they keep), so each provider's deployments are read (up to ``MAX_PAGE_READS`` pages of
``READ_LIMIT``) and merged by creation time, newest first: a first page holds the newest
deployments of every provider, not one provider's. Pages are cut by position in that order
(keyset): Next and Previous carry the sort key of the row at the page's edge, so a deployment
created or deleted meanwhile never makes a row appear twice or vanish between pages.
"""

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
#: How many pages one list may read from each provider (of ``READ_LIMIT`` deployments each).
MAX_PAGE_READS = 6
READ_LIMIT = 100
HIDDEN_BY_DEFAULT = frozenset({DeploymentStatus.ARCHIVED, DeploymentStatus.CLOSED})

#: A row's place in the list: (no creation time?, -created, provider, id) — smaller first.
Rank = tuple[int, float, str, str]


@dataclass
class _Page:
    """Which page: the providers, the filter, and the edge it starts after (or ends before)."""

    providers: list[ProviderName]
    status: str | None
    number: int
    after: Rank | None = None
    before: Rank | None = None
    notes: list[str] = field(default_factory=list)


def rank(deployment: Deployment) -> Rank:
    """Newest first; deployments without a creation time last; then provider, then id."""
    created = deployment.created_at
    return (
        0 if created else 1,
        -created.timestamp() if created else 0.0,
        deployment.provider,
        deployment.id,
    )


async def list_page(
    accounts: Accounts,
    actor: Actor,
    provider: ProviderName | None,
    status: str | None,
    *,
    state: str | None,
) -> results.Listing:
    """One page of deployments across the chosen providers; ``state`` comes from Next or
    Previous."""
    page = await _start(accounts, actor, provider, status, state)
    clients = {p: await accounts.client(actor, p) for p in page.providers}
    ordered = sorted(
        [d for name in page.providers for d in await _read(page, name, clients[name])], key=rank
    )
    items, number = _window(ordered, page)
    first, last = (rank(items[0]), rank(items[-1])) if items else (None, None)
    more_after = last is not None and rank(ordered[-1]) > last
    more_before = first is not None and rank(ordered[0]) < first
    base = {"p": page.providers, "s": page.status}
    next_value = _encode_state({**base, "a": last, "n": number + 1}) if more_after else None
    prev_value = (
        _encode_state({**base, "b": first, "n": max(1, number - 1)}) if more_before else None
    )
    return results.Listing(
        items=items,
        providers=list(page.providers),
        status=page.status,
        number=number if more_before else 1,
        next_value=next_value,
        prev_value=prev_value,
        problems=page.notes,
        at=accounts.clock(),
    )


def _window(ordered: list[Deployment], page: _Page) -> tuple[list[Deployment], int]:
    """The rows of the page asked for, and its number (back to 1 when nothing is before)."""
    if page.after is not None:
        after = page.after
        rest = [d for d in ordered if rank(d) > after]
        if rest:
            return rest[:LIST_PAGE_SIZE], page.number
    elif page.before is not None:
        before = page.before
        earlier = [d for d in ordered if rank(d) < before]
        if len(earlier) > LIST_PAGE_SIZE:
            return earlier[-LIST_PAGE_SIZE:], page.number
    return ordered[:LIST_PAGE_SIZE], 1


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
            status=page_state.get("s"),
            number=int(page_state.get("n", 1)),
            after=page_state.get("a"),
            before=page_state.get("b"),
        )
    providers = [provider] if provider else await accounts.connected_names(actor)
    if not providers:
        raise NotConnectedError(
            "No provider account is connected yet: an admin can run "
            "`/deploy connect nosana|akash|neuranet`."
        )
    return _Page(providers=providers, status=status, number=1)


async def _read(page: _Page, name: ProviderName, client: BaseProvider) -> list[Deployment]:
    """Every deployment of one provider the filter wants (up to ``MAX_PAGE_READS`` pages);
    a provider that fails or has more than that gets a note on the page."""
    items: list[Deployment] = []
    cursor: str | None = None
    for _ in range(MAX_PAGE_READS):
        try:
            read = await client.list_page(cursor=cursor, limit=READ_LIMIT)
        except ProviderError as exc:
            page.notes.append(f"{PROVIDER_LABEL[name]}: {exc.message}")
            return items
        items.extend(d for d in read.items if _wanted(d, page.status))
        if not read.next_cursor or read.next_cursor == cursor:
            return items
        cursor = read.next_cursor
    page.notes.append(
        f"{PROVIDER_LABEL[name]} has more than {MAX_PAGE_READS * READ_LIMIT} deployments: "
        "only the first ones it listed are here."
    )
    return items


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
        for edge in ("a", "b"):
            if state.get(edge) is not None:
                state[edge] = _rank_of(state[edge])
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceError("That list is out of date: run `/deploy list` again.") from exc
    if not providers:
        raise ServiceError("That list is out of date: run `/deploy list` again.")
    state["p"] = providers
    return state


def _rank_of(value: Any) -> Rank:
    missing, created, provider, deployment_id = value
    if not isinstance(provider, str) or not isinstance(deployment_id, str):
        raise TypeError("not a list position")
    return (int(missing), float(created), provider, deployment_id)
