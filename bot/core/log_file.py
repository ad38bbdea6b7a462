"""A deployment's log as a file (``/deploy logs <deployment> --file``): name and text (pure)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.core import fmt
from bot.providers.models import Deployment, LogLine

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def filename(deployment: Deployment, at: datetime) -> str:
    """``logs-llama3-chat-20261207-0930.txt`` (only safe characters, never empty)."""
    name = _UNSAFE.sub("-", deployment.name or deployment.id).strip("-.")[:60] or "deployment"
    return f"logs-{name}-{at:%Y%m%d-%H%M}.txt"


def text(lines: Sequence[LogLine]) -> str:
    """One line per log line, oldest first: ISO time, source, ``!`` for stderr, the message."""
    out = []
    for line in lines:
        parts = [
            line.timestamp.isoformat() if line.timestamp else "-",
            f"[{line.source}]" if line.source else "",
            "!" if line.stream == "stderr" else "",
            line.message.rstrip("\n"),
        ]
        out.append(" ".join(p for p in parts if p))
    return "\n".join(out) + ("\n" if out else "")


def title(deployment: Deployment, count: int) -> str:
    return f"Logs of {deployment.name or deployment.id} ({count:,} lines)"


def comment(actor_id: str, deployment: Deployment, count: int, capped: bool) -> str:
    which = f"the last {count:,} lines" if capped else f"all {count:,} lines"
    return f"{fmt.user(actor_id)} asked for the log of {deployment.name or deployment.id}: {which}."
