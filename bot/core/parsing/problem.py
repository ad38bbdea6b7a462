"""The parser's one failure: a :class:`Problem` (what is wrong, and which help topic fits).

``parse`` turns it into a :class:`~bot.core.operations.Usage`; nothing else escapes.
"""

from __future__ import annotations

from bot.core.operations import OpKind


class Problem(Exception):
    def __init__(self, problem: str, topic: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.topic = topic


def needs(verb: OpKind, args: list[str], count: int, shape: str) -> None:
    """At least ``count`` arguments, or a usage line for ``verb``."""
    if len(args) < count:
        raise Problem(f"Usage: /deploy {verb.value} {shape}", topic=verb.value)


def too_many(verb: OpKind, args: list[str], count: int, shape: str) -> None:
    """At most ``count`` arguments, or the first extra words and a usage line."""
    if len(args) > count:
        extra = " ".join(args[count:])[:40]
        raise Problem(
            f"Unexpected “{extra}”. Usage: /deploy {verb.value} {shape}", topic=verb.value
        )
