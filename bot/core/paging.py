"""Long lists in pages: which page shows which items, the words that say so, and whole lines
packed into sections (a line — and a Slack token in it — is never cut). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.render import SECTION_TEXT, split_text
from bot.core.replies import section


@dataclass(frozen=True)
class Page:
    """Page ``number`` (from 1) of ``total`` items shown ``size`` at a time."""

    number: int
    size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        """How many items come before this page."""
        return (self.number - 1) * self.size

    @property
    def first(self) -> int:
        """The 1-based position of the page's first item."""
        return min(self.offset + 1, self.total)

    @property
    def last(self) -> int:
        return min(self.offset + self.size, self.total)

    @property
    def exists(self) -> bool:
        """Whether the page holds anything (page 1 of nothing exists: it is empty)."""
        return self.number == 1 or self.offset < self.total

    @property
    def has_next(self) -> bool:
        return self.number < self.pages

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def single(self) -> bool:
        """Everything fits on this one page."""
        return self.number == 1 and self.total <= self.size

    def slice(self, items: Sequence[Any]) -> list[Any]:
        """This page's items out of all of them."""
        return list(items[self.offset : self.offset + self.size])

    def showing(self) -> str:
        """``showing 21–40 of 57``."""
        return f"showing {self.first}–{self.last} of {self.total}"

    def past_the_end(self, what: str) -> str:
        """What to say when this page does not exist."""
        pages = f"{self.pages} page{'s' if self.pages != 1 else ''} of {self.size}"
        return f"There is no page {self.number}: {self.total} {what} match, {pages}."


def page_of(total: int, size: int, number: int = 1) -> Page:
    """Page ``number`` of ``total`` items, ``size`` per page (``size`` at least 1)."""
    return Page(number=max(1, number), size=max(1, size), total=max(0, total))


def line_sections(lines: Sequence[str], limit: int = SECTION_TEXT) -> list[dict[str, Any]]:
    """``lines`` as sections of at most ``limit`` characters, cut only between lines (a line
    longer than ``limit`` alone is cut between words, never inside a Slack token)."""
    pieces: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            pieces.append(current)
        if len(line) <= limit:
            current = line
        else:
            *whole, current = split_text(line, limit)
            pieces += whole
    if current:
        pieces.append(current)
    return [section(piece) for piece in pieces]


__all__ = ["Page", "line_sections", "page_of"]
