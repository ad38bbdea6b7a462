"""The shell numbers each button after those already on screen, and the number shown next to a
button is the one that clicks it — also when several buttons share a label (Akash bids)."""

from __future__ import annotations

import re
from typing import Any

from bot.shell import Shell


def _bid(provider: str, price: str, value: str) -> list[dict[str, Any]]:
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{provider}* {price}"}},
        {
            "type": "actions",
            "block_id": f"bid_{value}",
            "elements": [
                {
                    "type": "button",
                    "action_id": f"accept_{value}",
                    "text": {"type": "plain_text", "text": "Accept"},
                    "value": value,
                }
            ],
        },
    ]


def _shell(already_on_screen: int) -> tuple[Shell, list[str]]:
    shell = Shell.__new__(Shell)
    out: list[str] = []
    shell.write = out.append  # type: ignore[method-assign]
    shell.clickables = {n: None for n in range(1, already_on_screen + 1)}  # type: ignore[misc]
    return shell, out


def test_repeated_labels_keep_their_own_numbers_after_other_buttons() -> None:
    for on_screen in (0, 1, 2, 3, 5):
        shell, out = _shell(on_screen)
        bids = [
            ("hurricane", "$0.010/h", "h"),
            ("parallelnode", "$0.012/h", "p"),
            ("europlots", "$0.015/h", "e"),
            ("akashprov", "$0.020/h", "a"),
        ]
        blocks = [b for provider, price, value in bids for b in _bid(provider, price, value)]
        shell._show("deploybot → #local (edited):", {"text": "bids", "blocks": blocks}, "url")
        screen = out[-1]
        for provider, _, value in bids:
            shown = re.search(rf"{provider}.*?\[(\d+)\] Accept", screen, re.S)
            assert shown is not None, screen
            assert shell.clickables[int(shown.group(1))].element.value == value, (on_screen, screen)
