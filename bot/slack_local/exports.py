"""Files deploybot uploads, kept by the local shell: saved under ``data/exports/``."""

from __future__ import annotations

import os
import re
from pathlib import Path

#: What a saved file's name may hold (anything else, path separators included, becomes ``_``).
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


def save_export(directory: Path, name: str, content: bytes) -> Path:
    """Write ``content`` as ``directory/name`` (created if needed) and return the path.

    The name is reduced to a plain file name (no directories, no leading dot), and an
    existing file is never overwritten: ``audit.csv`` becomes ``audit-2.csv``, and so on.
    """
    safe = _UNSAFE.sub("_", Path(name).name).lstrip(".") or "file"
    directory.mkdir(parents=True, exist_ok=True)
    stem, suffix = os.path.splitext(safe)
    path, n = directory / safe, 1
    while True:
        try:
            with path.open("xb") as out:
                out.write(content)
            return path
        except FileExistsError:
            n += 1
            path = directory / f"{stem}-{n}{suffix}"


def shown_path(path: Path) -> str:
    """``path`` as a person finds it: relative to the working directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
