"""``/deploy budget`` in the local shell: the watcher records the burn, an admin caps it, a
scale over the cap is refused with the numbers, and ``--over-budget`` asks another admin."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from bot.shell import run_shell
from tests.e2e.test_shell import settings


async def test_shell_budget_caps_a_scale_and_files_an_over_budget_request(tmp_path: Path) -> None:
    lines: list[str | float] = [
        "watch nosana",
        2.0,  # the watcher's first poll records the burn
        "budget",
        "budget set 0.5/h nosana",
        "scale llama3-chat 4",
        "scale llama3-chat 4 --over-budget",
        "budget clear nosana",
        "quit",
    ]
    transcript: list[str] = []

    async def read(prompt: str) -> str | None:
        if lines and isinstance(lines[0], float):
            await asyncio.sleep(float(lines.pop(0)))
        line = str(lines.pop(0)) if lines else None
        transcript.append(f"{prompt}{line if line is not None else '<EOF>'}")
        return line

    code = await asyncio.wait_for(
        run_shell(settings(tmp_path), speed=10, read=read, write=transcript.append), timeout=120
    )
    screen = "\n".join(transcript)
    assert code == 0
    burn = re.search(r"\*Nosana\* — burn \$(\d+\.\d\d)/h", screen)
    assert burn is not None and float(burn.group(1)) > 0, screen
    assert "capped Nosana at $0.50/h" in screen
    assert "Over budget: scale llama3-chat to 4: it would raise the Nosana burn to" in screen
    assert "over its $0.50/h cap. An admin can still run it with `--over-budget`" in screen
    assert "⚠️ --over-budget: Over budget: scale llama3-chat to 4" in screen
    assert "direct message to sam" in screen
    assert "removed the budget caps of Nosana" in screen
