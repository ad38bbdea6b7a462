"""Long lists in pages, never clipped: the page arithmetic, whole lines in sections, Slack tokens
kept whole, and the approvals lists (`/deploy approvals`, App Home) that use them."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import approvals as msg
from bot.core.paging import line_sections, page_of
from bot.core.policy import ApprovalRule, Risk
from bot.core.render import SECTION_TEXT, split_text
from tests.blockkit_support import check_message, check_mrkdwn, check_view

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
DATE = re.compile(r"<!date\^\d+\^[^|>]+\|[^>]+>")


def test_page_arithmetic() -> None:
    page = page_of(57, 20, 2)
    assert (page.first, page.last, page.pages, page.offset) == (21, 40, 3, 20)
    assert page.showing() == "showing 21–40 of 57"
    assert page.has_next and page.has_previous and not page.single
    assert page.slice(list(range(57))) == list(range(20, 40))
    last = page_of(57, 20, 3)
    assert (last.first, last.last, last.has_next) == (41, 57, False)
    assert not page_of(57, 20, 4).exists
    assert page_of(57, 20, 4).past_the_end("entries") == (
        "There is no page 4: 57 entries match, 3 pages of 20."
    )
    assert page_of(0, 10, 1).exists and page_of(0, 10, 1).single
    assert page_of(10, 10, 1).single and not page_of(11, 10, 1).single
    assert page_of(5, 0, -3).number == 1 and page_of(5, 0, 1).size == 1


def test_split_text_never_ends_a_piece_inside_a_date_token() -> None:
    """The token has spaces inside (``{date_short_pretty} at {time}``): a cut between words
    used to fall inside it, leaving ``<!date^…`` open in one section."""
    stamp = f"<!date^{int(NOW.timestamp())}^{{date_short_pretty}} at {{time}}|2026-12-07 09:30 UTC>"
    line = " ".join(f"word{i} {stamp}" for i in range(200))
    pieces = split_text(line, 3000)
    assert len(pieces) > 1
    for piece in pieces:
        assert len(piece) <= 3000
        assert check_mrkdwn(piece, "piece") == []
    assert " ".join(pieces) == line


def test_split_text_keeps_links_with_labels_whole() -> None:
    link = "<https://example.test/a|the docs page>"
    line = " ".join([*(["filler"] * 3), link] * 40)
    for piece in split_text(line, 100):
        assert check_mrkdwn(piece, "piece") == []


@given(st.lists(st.text(alphabet="ab <>|@!^{}", min_size=1, max_size=80), max_size=60))
def test_line_sections_keep_every_line_whole_and_in_order(lines: list[str]) -> None:
    blocks = line_sections(lines, limit=200)
    shown = "\n".join(b["text"]["text"] for b in blocks)
    assert all(len(b["text"]["text"]) <= 200 for b in blocks)
    assert shown.split("\n") == lines if lines else blocks == []


def _rows(count: int) -> list[tuple[str, str, str, str, datetime]]:
    summary = "*llama* (`FfKKEHKS`, Nosana, running): stop; cost $0.38/h → $0.00/h"
    return [(f"{i:016x}", "U1", summary, "C1", NOW + timedelta(minutes=i)) for i in range(count)]


def test_the_approvals_command_pages_instead_of_clipping() -> None:
    first = msg.pending_reply(_rows(57))
    assert check_message({"text": first.text, "blocks": first.blocks}) == []
    assert first.text.startswith("*57 waiting for approval* (showing 1–10 of 57)")
    ids = re.findall(r"• `([0-9a-f]{16})`", first.text)
    assert ids == [f"{i:016x}" for i in range(10)]
    assert len(DATE.findall(first.text)) == 10  # every date token whole
    assert "Page 1 of 6 · next: `/deploy approvals page 2`" in first.text
    last = msg.pending_reply(_rows(57), page=6)
    assert re.findall(r"• `([0-9a-f]{16})`", last.text) == [f"{i:016x}" for i in range(50, 57)]
    assert "previous: `/deploy approvals page 5`" in last.text and "next" not in last.text
    assert msg.pending_reply(_rows(57), page=7).text == (
        "There is no page 7: 57 requests match, 6 pages of 10."
    )
    one = msg.pending_reply(_rows(3))
    assert one.text.startswith("*3 waiting for approval* · ") and "Page" not in one.text


def _view(i: int) -> msg.ApprovalView:
    return msg.ApprovalView(
        request_id=f"r{i:04d}",
        requester_id="U1",
        summary=f"*model-{i}* (`abc{i}`, Nosana, running): stop\n" + "• detail line\n" * 3,
        risk=Risk.DESTRUCTIVE,
        rule=ApprovalRule(),
        state="pending",
        expires_at=NOW + timedelta(hours=1),
    )


def _home(blocks: list[dict[str, object]]) -> dict[str, object]:
    return {"type": "home", "blocks": blocks}


@pytest.mark.parametrize("count", [1, 5, 6, 57])
def test_app_home_approvals_page_with_previous_and_next(count: int) -> None:
    views = [_view(i) for i in range(count)]
    blocks = msg.home_section(views, ["C1"] * count)
    assert check_view(_home(blocks)) == []
    approves = [
        e["value"]
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == msg.APPROVE
    ]
    assert approves == [f"r{i:04d}" for i in range(min(count, msg.HOME_PAGE_SIZE))]
    turns = [b for b in blocks if b.get("block_id") == "approvals_pages"]
    if count <= msg.HOME_PAGE_SIZE:
        assert not turns
        assert blocks[0]["text"]["text"] == f"*Approvals waiting for you* ({count})"
        return
    assert blocks[0]["text"]["text"].endswith(f"showing 1–5 of {count}")
    [nav] = turns
    assert [(e["action_id"], e["value"]) for e in nav["elements"]] == [(msg.HOME_PAGE_NEXT, "2")]


def test_app_home_last_page_and_a_page_that_no_longer_exists() -> None:
    views = [_view(i) for i in range(12)]
    last = msg.home_section(views, [None] * 12, page=3)
    assert check_view(_home(last)) == []
    assert last[0]["text"]["text"].endswith("showing 11–12 of 12")
    [nav] = [b for b in last if b.get("block_id") == "approvals_pages"]
    assert [(e["action_id"], e["value"]) for e in nav["elements"]] == [
        (msg.HOME_PAGE_PREVIOUS, "2")
    ]
    # approvals were decided since the button was drawn: the last page there is
    gone = msg.home_section(views[:4], [None] * 4, page=3)
    assert gone[0]["text"]["text"] == "*Approvals waiting for you* (4)"


def test_app_home_long_summaries_stay_within_slack_limits() -> None:
    summary = "\n".join(["• x " * 200] * 40)
    views = [msg.ApprovalView(**{**_view(i).__dict__, "summary": summary}) for i in range(7)]
    blocks = msg.home_section(views, ["C1"] * 7)
    assert check_view(_home(blocks)) == []
    assert all(len(b["text"]["text"]) <= SECTION_TEXT for b in blocks if b["type"] == "section")


def test_the_fallback_text_and_sections_are_clipped_between_tokens() -> None:
    """``Reply.payload`` clips ``text`` to 3,000 and ``section`` to 3,000: never inside a
    ``<!date^…>`` token (the cut used to fall anywhere)."""
    from bot.core.render import clip_mrkdwn
    from bot.core.replies import Reply, section

    stamp = "<!date^1796625000^{date_short_pretty} at {time}|2026-12-07 06:30 UTC>"
    for shift in range(0, 80, 7):
        text = "x" * shift + " ".join([f"row {stamp}"] * 100)
        clipped = clip_mrkdwn(text, 3000)
        assert len(clipped) <= 3000 and clipped.endswith("…")
        assert check_mrkdwn(clipped, "text") == []
        payload = Reply(text=text).payload()
        assert check_message(payload) == []
        assert check_message({"blocks": [section(text)]}) == []
    assert clip_mrkdwn("short", 10) == "short"


@pytest.mark.parametrize(
    ("channel", "words"),
    [
        ("C1", " in <#C1>"),
        ("G1", " in <#G1>"),
        ("D1", " in a direct message"),
        ("U111", " in a direct message to <@U111>"),
        (None, ""),
    ],
)
def test_where_a_request_was_posted_reads_right_for_direct_messages(
    channel: str | None, words: str
) -> None:
    """A request the channel refused goes to a direct message: ``<#U111>`` is no channel."""
    assert msg.posted_in(channel) == words
    view = _view(1)
    for reply in (msg.dm_message(view, channel), msg.reminder_message(view, channel, NOW)):
        assert check_message({"text": reply.text, "blocks": reply.blocks}) == []
    listed = msg.pending_reply([("a1b2c3d4e5f60718", "U1", "x", channel or "", NOW)])
    assert check_message({"text": listed.text, "blocks": listed.blocks}) == []
    assert check_view(_home(msg.home_section([view], [channel]))) == []
