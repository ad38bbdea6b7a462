"""`make run` again: the local workspace (data/shell.db) and the sandboxes' worlds
(data/sandbox.state) carry on together, so nothing seems to change that did not; one without
the other is refused; `deploybot shell --reset` starts both afresh."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

from tests.e2e.shell_support import Say, after, button, converse

#: Status changes a restart with fresh sandboxes would invent (deployments gone, or back).
FALSE_CHANGES = re.compile(r"archived → |→ (deleted|closed)|closed outside|not found")


def _akash_dseqs(listing: str) -> list[str]:
    return re.findall(r"`(\d{10,})` · Akash", listing)


async def test_a_restarted_shell_carries_on_without_false_transitions(tmp_path: Path) -> None:
    first = await converse(
        tmp_path,
        [
            "list all",
            "watch all",
            "archive sd-render-batch",
            "as sam",
            Say(button("Approve")),
            Say("as you", after="stopped → archived"),
            "stop llama3-chat",  # waits for approval across the restart
            "quit",
        ],
        poll_interval=0.5,
    )
    assert first.code == 0 and "demo keys connected" in first.screen
    assert (tmp_path / "shell.db").exists() and (tmp_path / "sandbox.state").exists()
    dseqs = _akash_dseqs(after(first.screen, "/deploy list all"))
    assert len(dseqs) >= 2

    second = await converse(
        tmp_path,
        [
            Say("approvals", hold=3),  # the watcher polls every deployment meanwhile
            "as sam",
            Say(lambda screen: "approve " + re.findall(r"• `([0-9a-f]+)`", screen)[-1]),
            Say("list all", after="Approved by @sam and done"),
            "quit",
        ],
        poll_interval=0.5,
    )
    assert second.code == 0
    assert "sandboxes carried on" in second.screen and "--reset" in second.screen
    assert not FALSE_CHANGES.search(second.screen), second.screen
    listing = after(second.screen, "/deploy list all")
    assert re.search(r"archived\s+\*sd-render-batch\*", listing), listing
    assert _akash_dseqs(listing) == dseqs  # the same Akash deployments (fresh ones differ)
    # the request filed before the restart: its buttons are gone, the commands work
    waiting = after(second.screen, "/deploy approvals")
    assert re.search(r"`approve [0-9a-f]+` · `deny [0-9a-f]+ <reason>` · `cancel", waiting)
    assert "stopped *llama3-chat*" in second.screen


async def _deploybot(cwd: Path, *args: str, typed: bytes = b"quit\n") -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["DEPLOYBOT_DATA_DIR"] = str(cwd / "data")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=env, cwd=cwd,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(proc.communicate(typed), timeout=90)
    assert proc.returncode is not None
    return proc.returncode, out.decode()


async def test_a_database_without_its_sandboxes_is_refused_and_reset_starts_afresh(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    code, out = await _deploybot(tmp_path, "run")
    assert code == 0 and "demo keys connected" in out
    (data / "exports").mkdir(exist_ok=True)
    (data / "exports" / "mine.csv").write_text("kept")
    state = (data / "sandbox.state").read_bytes()

    (data / "sandbox.state").unlink()  # e.g. a shell.db from before the worlds were kept
    code, out = await _deploybot(tmp_path, "run")
    assert code == 2, out
    assert "data/shell.db remembers deployments" in out and "deploybot shell --reset" in out

    (data / "sandbox.state").write_bytes(state[: len(state) // 2])  # damaged
    code, out = await _deploybot(tmp_path, "shell")
    assert code == 2 and "data/sandbox.state cannot be used" in out, out

    code, out = await _deploybot(tmp_path, "shell", "--reset", typed=b"list akash\nquit\n")
    assert code == 0, out
    assert "deleted data/shell.db, data/sandbox.state" in out
    assert "demo keys connected" in out and "Deployments on Akash" in out
    assert (data / "shell.db").exists() and (data / "sandbox.state").exists()
    assert (data / "exports" / "mine.csv").read_text() == "kept"  # your files stay

    code, out = await _deploybot(tmp_path, "shell", "--reset", "--real-providers")
    assert code == 2 and "--reset" in out


async def test_two_shells_cannot_share_the_local_data(tmp_path: Path) -> None:
    first = asyncio.create_task(converse(tmp_path, [Say("quit", hold=4)]))
    for _ in range(400):  # until the first shell runs (its sandboxes are on disk)
        if (tmp_path / "sandbox.state").exists() or first.done():
            break
        await asyncio.sleep(0.05)
    second = await converse(tmp_path, ["list", "quit"])
    assert second.code == 2
    assert f"another deploybot shell (process {os.getpid()}) is using" in second.screen
    assert "Deployments on" not in second.screen
    assert (await first).code == 0
    third = await converse(tmp_path, ["quit"])  # the first one quit: its claim went with it
    assert third.code == 0 and "sandboxes carried on" in third.screen
