"""The shell as Slack in a terminal: each button keeps its number while it is on screen,
approvals stay actionable, files land in data/exports, posts wait for an open prompt and
name their channel. Driven through the shell's input and output, as a person types."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.core.audit_replies import EXPORT_FIELDS
from tests.e2e.shell_support import Say, after, button, converse

#: `create akash`, answered: no SDL, nginx on CPU only (every audited provider bids), create.
#: (after the environment: deposit, accept automatically and its three conditions, stop after,
#: template)
AKASH_CPU_ONLY = [
    *("create akash", ".", "nginx:1.27", "", "0", "", "", "", "", "", "."),
    *("", "", "", "", "", "", ""),
    "y",
]


async def test_the_number_next_to_a_bid_accepts_that_bid(tmp_path: Path) -> None:
    session = await converse(
        tmp_path,
        [
            *AKASH_CPU_ONLY,
            Say("as sam", after="asks to run a spend operation"),
            Say(button("Approve")),
            # four bids with the same "Accept" label; then other buttons come on screen
            Say("show llama3-chat", after="4 bids so far"),
            Say("list akash"),
            Say(button("Accept", after="*parallelnode*")),
            Say("quit", after="Lease"),
        ],
    )
    assert session.code == 0
    screen = session.screen
    bids = screen[screen.rfind("4 bids so far") :]
    numbers = {
        name: int(number)
        for name, number in re.findall(
            r"\*(\w+)\*(?: \(`[^`]*`\))? · \$[\d.]+/h.*?\n\s*\[(\d+)\] Accept", bids
        )
    }
    assert set(numbers) == {"europlots", "hurricane", "parallelnode", "rtxcloud"}, bids
    # the card shown after the bids has numbers of its own: none of the bids' was reused
    card = after(screen, "/deploy show llama3-chat")
    stop = int(re.search(r"\[(\d+)\] Stop", card).group(1))  # type: ignore[union-attr]
    assert stop not in numbers.values()
    typed = re.findall(r"/deploy (\d+)\n", screen)[-1]
    assert int(typed) == numbers["parallelnode"]
    accepted = after(screen, f"/deploy {typed}")
    assert "parallelnode" in accepted and "hurricane" not in accepted.split("Lease")[0], accepted


async def test_approval_buttons_stay_actionable_and_approvals_lists_them(tmp_path: Path) -> None:
    session = await converse(
        tmp_path,
        [
            "stop llama3-chat",
            "list nosana",  # other commands, other buttons
            "show eval-sweep",
            "approvals",
            "as sam",
            Say(button("Approve")),  # the number the `approvals` list shows
            "quit",
        ],
    )
    assert session.code == 0
    screen = session.screen
    request = screen[screen.find("asks to run a destructive operation") :]  # in #local
    shown = re.search(r"\[(\d+)\] Approve  \[(\d+)\] Deny \(danger\)  \[(\d+)\] Cancel", request)
    assert shown is not None, request
    approve, deny, cancel = shown.groups()
    listed = after(screen, "/deploy approvals")
    assert "waiting for approval" in listed
    assert f"[{approve}] Approve  [{deny}] Deny  [{cancel}] Cancel request" in listed, listed
    assert re.search(rf"/deploy {approve}\n", screen)  # sam typed the request's own number
    assert "Approved by @sam and done" in after(screen, "You are now sam.")
    assert "stopped *llama3-chat*" in screen


async def test_an_audit_export_is_saved_under_data_exports(tmp_path: Path) -> None:
    steps = ["rename sd-render-batch sd-batch", "audit export", "audit export json", "quit"]
    session = await converse(tmp_path, steps)
    assert session.code == 0
    saved = re.findall(r"file saved: (\S+)", session.screen)
    assert len(saved) == 2, session.screen
    csv, js = (Path(p) for p in saved)
    assert csv.parent == js.parent == tmp_path / "exports"
    assert csv.suffix == ".csv" and js.suffix == ".json"
    header, *rows = csv.read_text().splitlines()
    assert header.split(",") == list(EXPORT_FIELDS)
    assert any("rename" in row and "sd-batch" in row for row in rows), rows
    assert "sd-batch" in json.dumps(json.loads(js.read_text()))


async def test_posts_wait_while_a_form_is_open_then_show_in_order(tmp_path: Path) -> None:
    session = await converse(
        tmp_path,
        [
            "watch llama3-chat",
            "stop llama3-chat",
            "as sam",
            Say(button("Approve")),
            "revise llama3-chat",  # open a form while the watcher is about to post
            Say("cancel", hold=4),  # the watcher polls twice meanwhile
            "quit",
        ],
        poll_interval=1.5,
    )
    assert session.code == 0
    form_prompts = [written for prompt, written in session.during_prompts if prompt.strip() == "|"]
    assert form_prompts == [[]]  # nothing was printed into the open prompt
    closed = session.screen.index("└ form closed")
    assert "stopping → stopped" not in session.screen[:closed]
    assert "stopping → stopped, by @you via /deploy stop" in session.screen[closed:]


async def test_posts_to_another_channel_are_labelled_with_its_name(tmp_path: Path) -> None:
    session = await converse(
        tmp_path,
        [
            "watch llama3-chat #ops",
            Say(button("Stop"), after="deploybot → #ops:"),  # the card the watcher posts
            "y",
            "watching",
            "quit",
        ],
        poll_interval=0.5,
    )
    assert session.code == 0
    card = after(session.screen, "deploybot → #ops:")
    assert "*llama3-chat*" in card
    # Stop clicked on the card in #ops: the request is posted where the card is
    clicked = after(session.screen, "Stop deployment?")
    assert re.search(r"deploybot → #ops:\n.*asks to run a destructive operation", clicked)
    assert "#ops: *llama3-chat*" in after(session.screen, "/deploy watching")
    assert not re.search(r"#C[0-9A-Z]{2,}", session.screen), session.screen  # no raw ids


async def test_a_message_edited_in_place_is_shown_where_it_is(tmp_path: Path) -> None:
    session = await converse(
        tmp_path, ["stop llama3-chat", "as sam", Say(button("Approve")), "quit"]
    )  # sam approves from the direct message (the latest Approve on screen)
    assert session.code == 0
    clicked = after(session.screen, "You are now sam.")
    assert "deploybot → direct message to sam (updated):" in clicked, clicked
    assert "deploybot → #local (edited):" in clicked  # the request in the channel, too
    assert "@you /deploy stop llama3-chat" in session.screen  # who is typing, in the prompt
    assert "@sam /deploy quit" in session.screen
