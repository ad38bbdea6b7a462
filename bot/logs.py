"""Logging set-up: JSON lines for servers, plain text for a terminal.

``DEPLOYBOT_LOG_FORMAT=json|text`` chooses; without it ``deploybot serve`` writes JSON (one
object per line, for a log pipeline) and every other command text. A JSON line holds the
timestamp (UTC, ISO 8601), level, logger and message, plus whatever the code passed as
``extra=`` — the workspace (``team``), the person (``user``), the ``operation``, the
``provider`` and the ``deployment`` when they are known — and the traceback, if any, as one
string field. Work running for a job carries its ids on every line it logs: :func:`bound`
puts ``job``, ``team`` and ``user`` in a context variable and :class:`ContextFields` adds them
to each record.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

LogFormat = Literal["json", "text"]
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Record attributes → the names a JSON line uses for them.
JSON_NAMES = {"levelname": "level", "name": "logger"}


_FIELDS: ContextVar[dict[str, str]] = ContextVar("deploybot_log_fields")


@contextmanager
def bound(**fields: str) -> Iterator[None]:
    """Every record logged inside carries ``fields`` (empty values are left out)."""
    token = _FIELDS.set({**_FIELDS.get({}), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _FIELDS.reset(token)


class ContextFields(logging.Filter):
    """Adds the fields :func:`bound` set to each record (never overriding ``extra=``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _FIELDS.get({}).items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


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
    handler.addFilter(ContextFields())
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[handler], force=True
    )


__all__ = ["ContextFields", "LogFormat", "bound", "configure_logging", "json_formatter"]
