"""Files deploybot uploads are saved by the shell under data/exports, never outside it and
never over an earlier file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.slack_local.exports import save_export, shown_path


def test_files_are_saved_without_overwriting(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    first = save_export(exports, "audit.csv", b"one")
    second = save_export(exports, "audit.csv", b"two")
    third = save_export(exports, "audit.csv", b"three")
    assert [p.name for p in (first, second, third)] == ["audit.csv", "audit-2.csv", "audit-3.csv"]
    assert [p.read_bytes() for p in (first, second, third)] == [b"one", b"two", b"three"]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/tmp/x.csv", ".hidden", "a b\x1b[2J.csv"])
def test_a_name_cannot_leave_the_exports_directory(tmp_path: Path, name: str) -> None:
    saved = save_export(tmp_path / "exports", name, b"x")
    assert saved.parent == tmp_path / "exports"
    assert not saved.name.startswith(".") and "\x1b" not in saved.name and " " not in saved.name


def test_paths_are_shown_relative_to_where_you_are(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert shown_path(tmp_path / "data" / "exports" / "a.csv") == "data/exports/a.csv"
    assert shown_path(Path("/elsewhere/a.csv")) == "/elsewhere/a.csv"
