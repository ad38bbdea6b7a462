"""Logging set-up: JSON lines for servers, plain text for a terminal.

``DEPLOYBOT_LOG_FORMAT=json|text`` chooses; without it ``deploybot serve`` writes JSON (one
object per line, for a log pipeline) and every other command text. A JSON line holds the
timestamp (UTC, ISO 8601), level, logger and message, plus whatever the code passed as
``extra=`` — the workspace (``team``), the person (``user``), the ``operation``, the
``provider`` and the ``deployment`` when they are known — and the traceback, if any, as one
string field.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Record attributes → the names a JSON line uses for them.
JSON_NAMES = {"levelname": "level", "name": "logger"}


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{levelname}{name}{message}",
        style="{",
        rename_fields=JSON_NAMES,
        timestamp=True,
    )


def configure_logging(fmt: LogFormat, *, verbose: bool = False) -> None:
    """Route the root logger to standard error in ``fmt`` (replacing earlier set-up)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(json_formatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )


__all__ = ["LogFormat", "configure_logging", "json_formatter"]
