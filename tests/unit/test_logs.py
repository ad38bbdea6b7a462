"""Log lines: one JSON object per line for servers (with the ids code passes as ``extra=``),
plain text for a terminal."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from bot.cli import main
from bot.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def _lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.strip()]


def test_json_lines_carry_the_fields_and_the_ids(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    logging.getLogger("deploybot.test").info(
        "operation done",
        extra={"team": "T1", "user": "U1", "operation": "stop", "deployment": "d-1"},
    )
    [line] = _lines(capsys.readouterr().err)
    record = json.loads(line)
    assert record["message"] == "operation done"
    assert record["level"] == "INFO"
    assert record["logger"] == "deploybot.test"
    assert record["timestamp"].endswith("+00:00")  # ISO 8601, UTC
    assert (record["team"], record["user"], record["operation"], record["deployment"]) == (
        "T1",
        "U1",
        "stop",
        "d-1",
    )


def test_a_traceback_stays_inside_its_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("deploybot.test").exception("it failed")
    [line] = _lines(capsys.readouterr().err)
    record = json.loads(line)
    assert record["level"] == "ERROR"
    assert "RuntimeError: boom" in record["exc_info"]


def test_text_lines_are_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("text")
    logging.getLogger("deploybot.test").warning("careful", extra={"team": "T1"})
    [line] = _lines(capsys.readouterr().err)
    assert line.endswith("WARNING deploybot.test: careful")
    with pytest.raises(ValueError):
        json.loads(line)


def test_debug_only_when_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    logging.getLogger("deploybot.test").debug("hidden")
    configure_logging("json", verbose=True)
    logging.getLogger("deploybot.test").debug("shown")
    assert [json.loads(line)["message"] for line in _lines(capsys.readouterr().err)] == ["shown"]


def test_an_unknown_log_format_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    from bot.config import Settings

    monkeypatch.setenv("DEPLOYBOT_LOG_FORMAT", "xml")
    with pytest.raises(ValidationError, match="DEPLOYBOT_LOG_FORMAT"):
        Settings()


def test_other_commands_log_text(capsys: pytest.CaptureFixture[str]) -> None:
    main(["keys", "generate"])
    logging.getLogger("deploybot.test").warning("as text")
    assert _lines(capsys.readouterr().err)[-1].endswith("WARNING deploybot.test: as text")
