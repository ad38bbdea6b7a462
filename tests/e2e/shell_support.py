"""Driving `deploybot shell` as a person does: read the screen, wait for what you expect,
then type (numbers included: read off the screen, never assumed)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import SecretStr

from bot.config import Settings
from bot.shell import run_shell

#: What to type: text, or what to type given the screen so far.
Typed = str | Callable[[str], str]
#: How long to wait for something to show up before typing anyway (the test then fails).
PATIENCE = 40.0


def settings(data_dir: Path, **update: object) -> Settings:
    base = Settings(
        DEPLOYBOT_DATA_DIR=data_dir,
        DEPLOYBOT_ENCRYPTION_KEYS=SecretStr("Zm9yLXRlc3RzLW9ubHktMzItYnl0ZXMtbG9uZy1rZXk="),
    )
    return base.model_copy(update=update)


def button(label: str, *, after: str | None = None) -> Callable[[str], str]:
    """The number shown next to the latest ``label`` button (the first one following the
    latest ``after`` text, when given: e.g. the *Accept* of one bid)."""

    def number(screen: str) -> str:
        if after is not None:
            start = screen.rfind(after)
            assert start >= 0, f"{after!r} is not on screen:\n{screen}"
            found = re.search(rf"\[(\d+)\] {re.escape(label)}\b", screen[start:])
            assert found, f"no {label!r} button after {after!r}:\n{screen}"
            return found.group(1)
        shown = re.findall(rf"\[(\d+)\] {re.escape(label)}\b", screen)
        assert shown, f"no {label!r} button on screen:\n{screen}"
        return shown[-1]

    return number


@dataclass
class Say:
    """Type ``typed`` once ``after`` shows up on screen (since the previous line was typed),
    having kept the prompt open ``hold`` seconds (as someone thinking)."""

    typed: Typed
    after: str | None = None
    hold: float = 0.0


@dataclass
class Session:
    """A finished conversation: its exit code, the whole screen, and what was written while
    each prompt was open (prompt → lines written before it was answered)."""

    code: int
    screen: str
    during_prompts: list[tuple[str, list[str]]] = field(default_factory=list)


async def converse(data_dir: Path, steps: list[Say | str], **update: object) -> Session:
    """Run the shell on ``data_dir`` through ``steps``; end of input after the last one."""
    transcript: list[str] = []
    during: list[tuple[str, list[str]]] = []
    queue = [s if isinstance(s, Say) else Say(s) for s in steps]
    mark = 0

    async def read(prompt: str) -> str | None:
        nonlocal mark
        if not queue:
            transcript.append(f"{prompt}<EOF>")
            return None
        step = queue.pop(0)
        for _ in range(int(PATIENCE / 0.05)):
            if step.after is None or step.after in "\n".join(transcript[mark:]):
                break
            await asyncio.sleep(0.05)
        opened = len(transcript)
        if step.hold:
            await asyncio.sleep(step.hold)
        during.append((prompt, transcript[opened:]))
        screen = "\n".join(transcript)
        line = step.typed(screen) if callable(step.typed) else step.typed
        transcript.append(f"{prompt}{line}")
        mark = len(transcript)
        return line

    code = await asyncio.wait_for(
        run_shell(settings(data_dir, **update), speed=10, read=read, write=transcript.append),
        timeout=150,
    )
    return Session(code, "\n".join(transcript), during)


def after(screen: str, marker: str) -> str:
    """The screen after the last ``marker`` (what happened since a line was typed)."""
    index = screen.rfind(marker)
    assert index >= 0, f"{marker!r} is not on screen:\n{screen}"
    return screen[index:]
