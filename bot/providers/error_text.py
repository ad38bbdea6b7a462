"""Provider error bodies reduced to one line a person can read.

Providers and the proxies in front of them answer failures in many shapes: a JSON envelope
(``{"error": "…"}``, ``{"message": "…"}``, ``{"error": {"message": "…"}}``), an nginx or
Cloudflare HTML page, a plain-text stack of lines. :func:`summarize_body` turns any of them
into one short line: the envelope's message, the HTML page's ``<title>`` (or the HTTP status
phrase when the page has none), plain text with its whitespace collapsed; cut at a word
boundary. Pure functions, no I/O.
"""

from __future__ import annotations

import html
import json
import textwrap
from collections.abc import Mapping
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any

#: Longest line quoted from a provider (cut at a word boundary, "…" appended).
MAX_CHARS = 160
_MESSAGE_KEYS = ("message", "error", "detail", "title")


def one_line(text: str, limit: int = MAX_CHARS) -> str:
    """Whitespace (newlines included) collapsed; cut at a word boundary to ``limit`` chars."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = textwrap.shorten(text, width=limit, placeholder="…")
    if cut == "…":  # one word longer than the limit: cut inside it
        cut = text[: limit - 1] + "…"
    return cut


def status_phrase(status: int) -> str:
    """``Bad Gateway`` for 502; ``HTTP 520`` for codes without a standard phrase."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


class _TitleParser(HTMLParser):
    """Collects the text of the first ``<title>`` (scripts and styles are never text)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title: str | None = None
        self._parts: list[str] = []
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title" and self.title is None:
            self._in_title = True

    def handle_endtag(self, tag: str) -> None:
        if tag == "title" and self._in_title:
            self._in_title = False
            self.title = " ".join("".join(self._parts).split())

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self._parts.append(data)

    def result(self) -> str | None:
        """The title; an unclosed ``<title>`` (a truncated page) counts up to the end."""
        if self.title is None and self._in_title:
            return " ".join("".join(self._parts).split())
        return self.title


def html_title(text: str) -> str | None:
    """The page's ``<title>`` text (entities decoded), or None when it has none or it is empty."""
    parser = _TitleParser()
    try:
        parser.feed(text)
        parser.close()
    except Exception:  # pragma: no cover - HTMLParser is lenient; never fail an error path
        return None
    return parser.result() or None


def looks_like_html(text: str, content_type: str = "") -> bool:
    head = text.lstrip()[:200].lower()
    return "html" in content_type.lower() or head.startswith(("<!doctype", "<html", "<head", "<"))


def envelope_message(body: Any) -> str | None:
    """The message of a JSON error envelope (nested ``{"error": {"message": …}}`` too)."""
    if not isinstance(body, Mapping):
        return None
    for key in _MESSAGE_KEYS:
        value = body.get(key)
        if isinstance(value, Mapping):
            value = envelope_message(value)
        if isinstance(value, str) and value.strip():
            return value
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        return envelope_message(first) if isinstance(first, Mapping) else str(first)
    return None


def summarize_body(
    text: str, *, status: int, content_type: str = "", limit: int = MAX_CHARS
) -> str:
    """One line for a provider's error answer; empty text gives the status phrase."""
    stripped = text.strip()
    if not stripped:
        return status_phrase(status)
    if "json" in content_type.lower() or stripped[:1] in "{[":
        try:
            body = json.loads(stripped)
        except ValueError:
            body = None
        else:
            message = envelope_message(body)
            if message is None and not body:
                return status_phrase(status)
            return one_line(message if message is not None else json.dumps(body), limit)
    if looks_like_html(stripped, content_type):
        title = html_title(stripped)
        return one_line(title, limit) if title else status_phrase(status)
    return one_line(html.unescape(stripped), limit)


__all__ = [
    "MAX_CHARS",
    "envelope_message",
    "html_title",
    "looks_like_html",
    "one_line",
    "status_phrase",
    "summarize_body",
]
