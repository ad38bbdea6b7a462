"""The local shell's data: its database and the sandboxes' worlds, kept (and reset) together.

``data/shell.db`` remembers the local workspace (connected keys, roles, approvals, watches and
the last state seen of each watched deployment); ``data/sandbox.state`` holds the emulated
networks those deployments live on. Used together they keep a restarted shell consistent;
one without the other would make every remembered deployment seem to change at once, so the
shell refuses that pair and says how to start afresh (``deploybot shell --reset``).
``data/exports/`` holds the files deploybot "uploaded" (kept by a reset: they are yours).
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.slack_local.exports import shown_path

RESET_HINT = "`deploybot shell --reset` starts the local workspace afresh"


class LocalDataBusy(Exception):
    """Another shell is using the same data directory."""


@dataclass(frozen=True)
class LocalData:
    """Where the shell keeps its data, under ``directory`` (``DEPLOYBOT_DATA_DIR``)."""

    directory: Path

    @classmethod
    def under(cls, data_dir: Path | str) -> LocalData:
        """The shell's data in ``data_dir`` (made absolute)."""
        return cls(Path(data_dir).resolve())

    @property
    def database(self) -> Path:
        return self.directory / "shell.db"

    @property
    def sandbox_state(self) -> Path:
        return self.directory / "sandbox.state"

    @property
    def exports(self) -> Path:
        return self.directory / "exports"

    @property
    def lock_file(self) -> Path:
        return self.directory / ".shell.lock"

    @contextlib.contextmanager
    def claim(self) -> Iterator[None]:
        """Hold the directory for this shell while it runs (an advisory lock, released when
        the process ends, however it ends). Raises :class:`LocalDataBusy` when another shell
        holds it: two shells would each run their own sandboxes against one database."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.lock_file.open("a+", encoding="utf-8") as handle:
            if sys.platform != "win32":
                import fcntl

                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.seek(0)
                    holder = handle.read().strip() or "?"
                    raise LocalDataBusy(
                        f"another deploybot shell (process {holder}) is using "
                        f"{shown_path(self.directory)}: quit it first"
                    ) from None
            handle.seek(0)
            handle.truncate()
            handle.write(str(os.getpid()))
            handle.flush()
            yield

    def _database_files(self) -> list[Path]:
        db = self.database
        return [db, *(db.with_name(db.name + end) for end in ("-wal", "-shm", "-journal"))]

    def problem(self) -> str | None:
        """Why this pair cannot be used together (None when it can)."""
        if self.database.exists() and not self.sandbox_state.exists():
            return (
                f"{shown_path(self.database)} remembers deployments of sandboxes whose state "
                f"was not kept ({shown_path(self.sandbox_state)} is missing), so they would "
                "all seem to change at once"
            )
        return None

    def reset(self) -> list[Path]:
        """Delete the database and the sandboxes' state; the files that were deleted (call it
        while holding :meth:`claim`: not under a running shell)."""
        removed = []
        for path in [*self._database_files(), self.sandbox_state]:
            try:
                path.unlink()
            except FileNotFoundError:
                continue
            removed.append(path)
        return removed

    def reset_report(self, removed: list[Path]) -> str:
        if not removed:
            return f"nothing to reset in {shown_path(self.directory)}"
        return "deleted " + ", ".join(shown_path(path) for path in removed)
