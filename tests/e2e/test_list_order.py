"""`/deploy list`: newest first across providers, and paging both ways."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from bot.services.deployments import Actor
from bot.services.deployments.listing import HIDDEN_BY_DEFAULT, LIST_PAGE_SIZE
from tests.e2e.harness import CHANNEL, MEMBER, TEAM, SlackEnv, buttons

ACTOR = Actor(team_id=TEAM, user_id=MEMBER, channel_id=CHANNEL)
ROW = re.compile(r"`([^`]+)` · (Nosana|Akash|NeuraNET) ·")
PROVIDERS = ("nosana", "akash", "neuranet")


def rows(body: dict[str, Any]) -> list[tuple[str, str]]:
    text = "\n".join(
        b["text"]["text"] for b in body.get("blocks", []) if b.get("type") == "section"
    )
    return ROW.findall(text)


async def created_times(env: SlackEnv) -> dict[str, datetime | None]:
    """Every listable deployment's creation time, as the providers tell it."""
    times: dict[str, datetime | None] = {}
    for provider in PROVIDERS:
        client = await env.bot.service.client(ACTOR, provider)
        cursor: str | None = None
        while True:
            page = await client.list_page(cursor=cursor, limit=100)
            for d in page.items:
                if d.status not in HIDDEN_BY_DEFAULT:
                    times[d.id] = d.created_at
            if not page.next_cursor:
                break
            cursor = page.next_cursor
    return times


async def walk(env: SlackEnv) -> list[dict[str, Any]]:
    answer = await env.command("list")
    [page] = env.responses(answer.response_key)
    pages = [page]
    while "list_next" in buttons(page):
        click = await env.click("list_next", buttons(page)["list_next"])
        [page] = env.responses(click.response_key)
        pages.append(page)
        assert len(pages) < 20, "paging does not end"
    return pages


async def test_list_is_newest_first_across_providers_and_a_first_page_is_fair(
    env: SlackEnv,
) -> None:
    # 30 fresh Nosana deployments: the old list showed Nosana first, filling page one with them
    # and hiding the newest Akash and NeuraNET deployments behind Next
    env.api("nosana").seed_bulk(env.keys["nosana"], 30)
    env.api("neuranet").seed_bulk(env.keys["neuranet"], 8)
    times = await created_times(env)
    pages = await walk(env)
    listed = [deployment_id for page in pages for deployment_id, _ in rows(page)]
    assert len(listed) == len(set(listed)) and set(listed) == set(times)

    order = [times[i] for i in listed]
    known = [t for t in order if t is not None]
    assert known == sorted(known, reverse=True), "not newest first across providers"
    assert all(t is None for t in order[len(known) :]), "undated rows go last"

    first = rows(pages[0])
    assert len(first) == LIST_PAGE_SIZE
    newest = sorted((t for t in times.values() if t is not None), reverse=True)[LIST_PAGE_SIZE - 1]
    # every deployment newer than the page's oldest row is on page one, whatever its provider
    for deployment_id, created in times.items():
        if created is not None and created > newest:
            assert deployment_id in {i for i, _ in first}, deployment_id
    assert "NeuraNET" in {p for _, p in first}  # its 8 are the newest of all


async def test_pages_have_previous_and_next_and_previous_goes_back(env: SlackEnv) -> None:
    env.api("nosana").seed_bulk(env.keys["nosana"], 30)
    env.api("akash").seed_bulk(env.keys["akash"], 12)
    answer = await env.command("list")
    [first] = env.responses(answer.response_key)
    assert "list_prev" not in buttons(first) and "list_next" in buttons(first)

    click = await env.click("list_next", buttons(first)["list_next"])
    [second] = env.responses(click.response_key)
    assert "page 2" in second["text"]
    assert {"list_prev", "list_next"} <= set(buttons(second))
    labels = [
        e["text"]["text"]
        for b in second["blocks"]
        if b.get("type") == "actions"
        for e in b["elements"]
    ]
    assert labels == ["Previous page", "Next page"]

    click = await env.click("list_next", buttons(second)["list_next"])
    [third] = env.responses(click.response_key)
    assert "page 3" in third["text"]

    back = await env.click("list_prev", buttons(third)["list_prev"])
    [again] = env.responses(back.response_key)
    assert again["replace_original"] is True
    assert "page 2" in again["text"] and rows(again) == rows(second)

    back = await env.click("list_prev", buttons(second)["list_prev"])
    [start] = env.responses(back.response_key)
    assert rows(start) == rows(first)
    assert "page" not in start["text"].split(":")[0] and "list_prev" not in buttons(start)


async def test_a_deployment_created_while_paging_is_not_shown_twice(env: SlackEnv) -> None:
    env.api("nosana").seed_bulk(env.keys["nosana"], 30)
    answer = await env.command("list")
    [first] = env.responses(answer.response_key)
    env.api("neuranet").seed_bulk(env.keys["neuranet"], 3)  # newer than everything shown
    click = await env.click("list_next", buttons(first)["list_next"])
    [second] = env.responses(click.response_key)
    shown = [i for i, _ in rows(first)]
    assert not set(shown) & {i for i, _ in rows(second)}


async def test_a_stale_previous_value_is_a_one_liner(env: SlackEnv) -> None:
    click = await env.click("list_prev", "bm90LWEtc3RhdGU=")
    [note] = env.responses(click.response_key)
    assert "out of date" in note["text"] and note["replace_original"] is False
