"""The local shell: the same app, driven from text, against the sandboxes (as `make run` does)."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import SecretStr

from bot.config import Settings
from bot.shell import run_shell

#: A line to type, or what to type given the screen so far (a person reads, then types).
Line = str | Callable[[str], str]


def button(label: str) -> Callable[[str], str]:
    """The number shown next to the latest button labelled ``label`` on the screen."""

    def number(screen: str) -> str:
        shown = re.findall(rf"\[(\d+)\] {re.escape(label)}\b", screen)
        assert shown, f"no {label!r} button on screen:\n{screen}"
        return shown[-1]

    return number


def scripted(lines: list[Line]) -> tuple[Callable[[str], Awaitable[str | None]], list[str]]:
    """A reader that answers prompts from ``lines`` (None at the end) and a transcript."""
    transcript: list[str] = []
    queue = list(lines)

    async def read(prompt: str) -> str | None:
        item = queue.pop(0) if queue else None
        line = item("\n".join(transcript)) if callable(item) else item
        transcript.append(f"{prompt}{line if line is not None else '<EOF>'}")
        return line

    return read, transcript


def settings(tmp_path: Path) -> Settings:
    return Settings(
        DEPLOYBOT_DATA_DIR=tmp_path,
        DEPLOYBOT_ENCRYPTION_KEYS=SecretStr("Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="),
    )


async def run(tmp_path: Path, lines: list[Line]) -> tuple[int, str]:
    read, transcript = scripted(lines)
    out: list[str] = []

    def write(text: str) -> None:
        out.append(text)
        transcript.append(text)

    code = await asyncio.wait_for(
        run_shell(settings(tmp_path), speed=10, read=read, write=write), timeout=120
    )
    return code, "\n".join(transcript)


async def test_shell_lists_shows_and_clicks_a_confirmed_button(tmp_path: Path) -> None:
    code, screen = await run(
        tmp_path, ["list", "show llama3-chat", "1", "y", "as sam", button("Approve"), "quit"]
    )
    assert code == 0
    assert "demo keys connected" in screen
    assert "llama3-chat" in screen and "NeuraNET" in screen and "Akash" in screen
    # the card's first button is Stop, and it asks first, as Slack's confirm dialog does
    assert re.search(r"\[1\] Stop", screen)
    assert "Stop deployment?" in screen
    # stopping needs an admin's approval: the request, then sam (an admin) approves it
    assert "asks to run a destructive operation" in screen
    assert "direct message to sam" in screen
    assert "You are now sam." in screen
    assert "Approved by @sam and done" in screen
    assert "stopped *llama3-chat*" in screen


async def test_shell_declining_a_confirmation_changes_nothing(tmp_path: Path) -> None:
    code, screen = await run(tmp_path, ["show llama3-chat", "1", "n", "show llama3-chat", "quit"])
    assert code == 0
    assert "Cancelled." in screen
    assert "stopped *llama3-chat*" not in screen
    assert screen.count("🟢 running") >= 2


async def test_shell_forms_are_prompts_with_field_errors(tmp_path: Path) -> None:
    code, screen = await run(
        tmp_path, ["connect nosana", "not-a-real-key-123", "cancel", "providers", "quit"]
    )
    assert code == 0
    assert "┌ Connect Nosana" in screen
    assert "Nosana rejected this key" in screen
    assert "form closed" in screen
    assert "not-a-real-key-123" not in screen.split("form closed")[1]


async def test_shell_revise_keeps_the_current_definition_and_publishes_it(tmp_path: Path) -> None:
    code, screen = await run(tmp_path, ["revise llama3-chat", ".", "quit"])
    assert code == 0
    assert '"image": "vllm/vllm-openai' in screen
    assert "published a new revision of *llama3-chat*" in screen
    assert "Revision: 2" in screen


async def test_shell_usage_for_nonsense_and_end_of_input_exits(tmp_path: Path) -> None:
    code, screen = await run(tmp_path, ["frobnicate the thing", "7"])
    assert code == 0
    assert "I don't know the command" in screen
    assert "There is no button [7]" in screen


async def test_make_run_command_starts_the_shell_without_slack_credentials(
    tmp_path: Path,
) -> None:
    """`deploybot run` (what `make run` runs) with no Slack settings is the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
    env["DEPLOYBOT_DATA_DIR"] = str(tmp_path)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp_path,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(b"list neuranet\nquit\n"), timeout=90)
    assert proc.returncode == 0, err.decode()
    text = out.decode()
    assert "demo keys connected" in text
    assert "Deployments on NeuraNET" in text and "llama-chat" in text
    assert (tmp_path / "shell.db").exists()


async def test_shell_creates_a_nosana_deployment_through_the_form_and_review(
    tmp_path: Path,
) -> None:
    answers = ["create nosana", "shell-llama", "nvidia-4090", "", "", "", "", "", "ubuntu"]
    # … env, job definition, autostart, stop after, save as template; then Create? y
    answers += ["", "", "", ".", ".", "", "", "", "y", "as sam", button("Approve"), "quit"]
    code, screen = await run(tmp_path, answers)
    assert code == 0
    assert "Review deployment" in screen and "$0.385/h" in screen
    assert "Submitted" in screen
    # creating spends money: sam, another admin, approves the request
    assert "asks to run a spend operation" in screen
    assert "Approved by @sam" in screen
    assert "shell-llama" in screen and "requested by" in screen


async def test_the_shell_shows_watch_notifications(tmp_path: Path) -> None:
    transcript: list[str] = []
    #: (line to type, text to wait for on screen before typing it)
    script: list[tuple[Line, str | None]] = [
        ("watch llama3-chat", None),
        ("stop llama3-chat", "Status: 🟢 running"),
        ("as sam", "asks to run a destructive operation"),  # sam, an admin, approves
        (button("Approve"), "You are now sam."),
        ("quit", "via /deploy stop"),
    ]

    async def read(prompt: str) -> str | None:
        if not script:
            return None
        item, wait_for = script.pop(0)
        for _ in range(150):
            if wait_for is None or wait_for in "\n".join(transcript):
                break
            await asyncio.sleep(0.1)
        line = item("\n".join(transcript)) if callable(item) else item
        transcript.append(f"{prompt}{line}")
        return line

    quick = settings(tmp_path).model_copy(update={"poll_interval": 0.3})
    code = await asyncio.wait_for(
        run_shell(quick, speed=10, read=read, write=transcript.append), timeout=120
    )
    screen = "\n".join(transcript)
    assert code == 0
    assert "to watch *llama3-chat*" in screen
    assert "deploybot → #local (edited):" in screen
    assert "running → stopping, by @you via /deploy stop" in screen


async def test_home_opens_the_app_home_tab_and_its_buttons_work(tmp_path: Path) -> None:
    code, screen = await run(tmp_path, ["stop llama3-chat", "as sam", "home", "quit"])
    assert code == 0
    home = screen.split("/deploy home", 1)[1]
    assert "App Home:" in home
    assert "*Running deployments*" in home or "Running deployments" in home
    # sam can approve the stop from Home: its buttons are numbered like any other
    assert re.search(r"\[\d+\] Approve", home), home
    assert ":large_green_circle:" not in home  # emoji print as emoji


async def test_a_form_error_asks_again_only_for_the_field_it_names(tmp_path: Path) -> None:
    answers = ["create nosana", "shell-llama", "4090", "many", "", "", "", "", "ubuntu"]
    answers += ["", "", "", ".", ".", "", "", ""]  # the rest of the form, as in the test above
    answers += ["2", "y", "quit"]  # only the replicas are asked again
    code, screen = await run(tmp_path, answers)
    assert code == 0
    assert "✗ replicas" in screen and "only those are asked again" in screen
    assert screen.count("  Name") == 1  # the name was kept, not asked twice
    assert "Review deployment" in screen and "Submitted" in screen


async def test_cancel_closes_a_form_even_in_a_multiline_field(tmp_path: Path) -> None:
    code, screen = await run(tmp_path, ["revise llama3-chat", "cancel", "list", "quit"])
    assert code == 0
    assert "form closed" in screen
    assert "Deployments on" in screen  # the prompt is back for the next command


async def test_a_type_to_search_field_searches(tmp_path: Path) -> None:
    answers = ["create nosana", "shell-llama", "zzz-nothing", "4090", "", "", "", "", ""]
    answers += ["ubuntu", "", "", "", ".", ".", "", "", "cancel", "quit"]
    code, screen = await run(tmp_path, answers)
    assert code == 0
    assert "nothing matches “zzz-nothing”" in screen
    assert "→ NVIDIA RTX 4090" in screen


async def test_shell_sets_lists_and_cancels_a_stop_timer_and_sets_the_digest(
    tmp_path: Path,
) -> None:
    code, screen = await run(
        tmp_path,
        [
            "stop llama3-chat --after 2h",
            "as sam",
            "1",
            "timers",
            "digest daily 09:00",
            "digest",
            "quit",
        ],
    )
    assert code == 0
    assert "A stop timer: the stop runs in 2h" in screen  # the approver reads it
    assert "set stop timer" in screen, screen[-3000:]
    assert "Stop timers" in screen and "Cancel timer" in screen
    assert "The daily digest is posted in" in screen
