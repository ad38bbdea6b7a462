"""`deploybot shell` in a terminal (a pseudo-terminal): a post that arrives while the command
prompt is open is printed on its own lines above it, and the prompt is drawn again."""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


class Terminal:
    def __init__(self, cwd: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL"))}
        env.update(DEPLOYBOT_DATA_DIR=str(cwd / "data"), DEPLOYBOT_POLL_INTERVAL="0.5")
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "shell"],
            stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd, close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.screen = b""

    def wait_for(self, text: bytes, timeout: float = 40.0) -> None:
        end = time.monotonic() + timeout
        while text not in self.screen:
            assert time.monotonic() < end, f"{text!r} never showed:\n{self.screen.decode()}"
            ready, _, _ = select.select([self.master], [], [], 0.1)
            if ready:
                try:
                    self.screen += os.read(self.master, 65536)
                except OSError:  # the shell exited
                    return

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> int:
        try:
            return self.process.wait(timeout=30)
        finally:
            os.close(self.master)


def test_a_post_at_the_open_prompt_is_printed_above_it(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    try:
        terminal.wait_for(b"demo keys connected")
        terminal.type("watch llama3-chat\n")
        terminal.wait_for(b"to watch *llama3-chat*")
        # the watcher posts the card a moment later, while the prompt waits for a command
        terminal.wait_for(b"[2] Logs")
        terminal.type("quit\n")
        assert terminal.close() == 0
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
    screen = terminal.screen.decode()
    card = screen.index("*llama3-chat*  `")
    # the open prompt's line was cleared, the post printed, then the prompt drawn again
    assert screen[:card].endswith("@you /deploy \r\x1b[2Kdeploybot → #local:\r\n  "), screen[:card]
    assert "[2] Logs\r\n@you /deploy " in screen[card:]


def test_ctrl_c_at_the_prompt_leaves_and_keeps_the_sandboxes(tmp_path: Path) -> None:
    terminal = Terminal(tmp_path)
    state = tmp_path / "data" / "sandbox.state"
    try:
        terminal.wait_for(b"demo keys connected")
        terminal.type("list nosana\n")
        terminal.wait_for(b"Deployments on Nosana")
        time.sleep(1)  # the save after the last request is done
        before = state.stat().st_mtime_ns
        terminal.process.send_signal(signal.SIGINT)  # what Ctrl-C sends
        code = terminal.process.wait(timeout=15)  # no line to wait for: it leaves at once
    finally:
        if terminal.process.poll() is None:
            terminal.process.kill()
        os.close(terminal.master)
    assert code == 0
    assert state.stat().st_mtime_ns > before  # saved on the way out
