"""The shell numbers each button once, and the number shown next to a button is the one that
clicks it for as long as the button is on screen — also when several buttons share a label
(Akash bids), when other messages and commands come in between, and when the message is
edited in place."""

from __future__ import annotations

import re
from typing import Any

from bot.slack_local.screen import Screen

BIDS = [
    ("hurricane", "$0.010/h", "h"),
    ("parallelnode", "$0.012/h", "p"),
    ("europlots", "$0.015/h", "e"),
    ("akashprov", "$0.020/h", "a"),
]


def _button(label: str, action: str, value: str | None = None) -> dict[str, Any]:
    button = {"type": "button", "action_id": action, "text": {"type": "plain_text", "text": label}}
    return button | ({"value": value} if value is not None else {})


def _bid(provider: str, price: str, value: str, position: int) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{provider}* {price}"}},
        {
            "type": "actions",
            "block_id": f"bid_{value}",
            # as deploybot's: the action id carries the bid's position in the message
            "elements": [_button("Accept", f"accept_bid_{position}", value)],
        },
    ]


def _bids(bids: list[tuple[str, str, str]]) -> dict[str, Any]:
    blocks = [b for i, bid in enumerate(bids) for b in _bid(*bid, position=i)]
    blocks.append({"type": "actions", "elements": [_button("Close", "close", "d1")]})
    return {"text": "bids", "blocks": blocks}


def _card(value: str) -> dict[str, Any]:
    buttons = [_button("Stop", "stop", value), _button("Logs", "logs", value)]
    return {"text": "card", "blocks": [{"type": "actions", "elements": buttons}]}


def _shown(screen_text: str, provider: str) -> int:
    found = re.search(rf"{provider}.*?\[(\d+)\] Accept", screen_text, re.S)
    assert found is not None, screen_text
    return int(found.group(1))


def test_repeated_labels_keep_their_own_numbers_after_other_buttons() -> None:
    for cards_before in (0, 1, 2, 3, 5):
        screen = Screen()
        for i in range(cards_before):
            screen.show(f"card{i}", _card(f"d{i}"), response_url=f"u{i}", channel="C1")
        text = screen.show("C1:1.0", _bids(BIDS), response_url="ub", channel="C1")
        for provider, _, value in BIDS:
            clicked = screen.get(_shown(text, provider))
            assert clicked is not None and clicked.element.value == value, (cards_before, text)


def test_an_edited_message_keeps_each_buttons_number_and_drops_the_ones_it_lost() -> None:
    screen = Screen()
    first = screen.show("C1:1.0", _bids(BIDS[:2]), response_url="ub", channel="C1")
    numbers = {provider: _shown(first, provider) for provider, _, _ in BIDS[:2]}
    screen.show("card", _card("x"), response_url="uc", channel="C1")  # other buttons between
    # the bids message is edited: two more bids arrive, in another order
    edited = screen.show(
        "C1:1.0", _bids([BIDS[3], BIDS[1], BIDS[2], BIDS[0]]), response_url="ub", channel="C1"
    )
    for provider, _, value in BIDS:
        number = _shown(edited, provider)
        if provider in numbers:
            assert number == numbers[provider], edited
        clicked = screen.get(number)
        assert clicked is not None and clicked.element.value == value
    # edited again, without the hurricane bid: its number is gone and never given again
    gone = numbers["hurricane"]
    screen.show("C1:1.0", _bids(BIDS[1:]), response_url="ub", channel="C1")
    assert screen.get(gone) is None and gone in screen.gone
    later = screen.show("card2", _card("y"), response_url="ud", channel="C1")
    assert f"[{gone}]" not in later


def test_buttons_of_other_messages_stay_until_their_message_is_replaced_or_deleted() -> None:
    screen = Screen()
    request = {"text": "req", "blocks": [{"type": "actions", "elements": [
        _button("Approve", "approve", "r1"), _button("Deny", "deny", "r1")]}]}  # fmt: skip
    text = screen.show("C1:2.0", request, response_url="ur", channel="C1")
    approve = int(re.search(r"\[(\d+)\] Approve", text).group(1))  # type: ignore[union-attr]
    for i in range(10):  # other commands' replies
        screen.show(f"reply{i}", _card(f"d{i}"), response_url=f"u{i}", channel="C1")
    clicked = screen.get(approve)
    assert clicked is not None and clicked.element.action_id == "approve"
    assert clicked.response_url == "ur" and clicked.channel == "C1"
    assert [n for n, _ in screen.buttons_for("r1")] == [approve, approve + 1]
    screen.show("C1:2.0", {"text": "Approved by @sam"}, response_url="ur", channel="C1")
    assert screen.get(approve) is None and screen.buttons_for("r1") == []
    screen.remove("reply0")
    assert all(c.key != "reply0" for c in screen.clickables.values())


def test_messages_that_scrolled_away_lose_their_buttons() -> None:
    screen = Screen(keep=3)
    screen.show("first", _card("a"), response_url="u0", channel="C1")
    for i in range(3):
        screen.show(f"m{i}", _card(f"b{i}"), response_url=f"u{i + 1}", channel="C1")
    assert screen.get(1) is None and screen.get(2) is None and {1, 2} <= screen.gone
    assert screen.get(3) is not None


def test_a_response_url_belongs_to_its_message_and_channel() -> None:
    screen = Screen()
    screen.show("C0OPS:1.0", _card("a"), response_url="ops-url", channel="C0OPS")
    assert screen.message_of("ops-url") == "C0OPS:1.0"
    assert screen.channel_of("ops-url", "C0LOCAL") == "C0OPS"
    assert screen.channel_of("unknown", "C0LOCAL") == "C0LOCAL"
    assert screen.url_of("C0OPS:1.0") == "ops-url"
