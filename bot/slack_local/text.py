"""Block Kit as readable terminal text, for the local shell (pure functions).

:func:`render_message` turns a message's ``text``/``blocks`` into lines a person can read in a
terminal, numbering what can be clicked (``[1] Stop (danger, confirm)``) and returning those
elements as :class:`Interactive` so a prompt can act on them. :func:`render_view` does the same
for a modal and lists its inputs as :class:`InputField`; :func:`state_values` turns typed
answers back into the ``state.values`` of a ``view_submission``.

Slack markup is made readable (``<url|label>`` → ``label (url)``, ``<@U1>`` → ``@U1``,
``&lt;`` → ``<``) and terminal control characters are dropped, so a message can neither ping
nor drive the terminal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "InputField",
    "Interactive",
    "RenderedMessage",
    "RenderedView",
    "confirm_text",
    "match_option",
    "mrkdwn_to_text",
    "option_letter",
    "render_message",
    "render_view",
    "state_values",
]

Json = dict[str, Any]
Option = tuple[str, str]

DIVIDER = "─" * 24
CONTEXT_PREFIX = "  · "
#: Buttons in a row are wrapped to lines of about this width.
LINE_WIDTH = 80
#: C0/C1 controls (but tab and newline), DEL and the bidirectional overrides.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_TOKEN = re.compile(r"<([^<>\n]+)>")
_FIELD = re.compile(r"\*([^*\n]+)\*\n(.+)", re.DOTALL)
#: Element type → (state key, answer is a list) for inputs answered with an id or date.
_SELECTED = {
    "datepicker": ("selected_date", False),
    "timepicker": ("selected_time", False),
    "users_select": ("selected_user", False),
    "conversations_select": ("selected_conversation", False),
    "channels_select": ("selected_channel", False),
    "multi_users_select": ("selected_users", True),
    "multi_conversations_select": ("selected_conversations", True),
    "multi_channels_select": ("selected_channels", True),
}
_TEXT_INPUTS = {"plain_text_input", "multiline", "email_text_input", "url_text_input"}
_SINGLE_CHOICE = {"static_select", "external_select", "radio_buttons"}
_MULTI_CHOICE = {"checkboxes", "multi_static_select", "multi_external_select"}


@dataclass
class Interactive:
    """A clickable element of a message or modal, numbered from 1 within it."""

    number: int
    action_id: str
    block_id: str
    value: str | None
    label: str
    kind: str
    options: list[Option] = field(default_factory=list)
    confirm: Json | None = None
    style: str | None = None
    url: str | None = None


@dataclass
class RenderedMessage:
    """A message as terminal text, and what in it can be clicked."""

    text: str
    elements: list[Interactive] = field(default_factory=list)

    def __str__(self) -> str:
        return self.text


@dataclass
class InputField:
    """One input of a modal, as a prompt would ask for it."""

    block_id: str
    action_id: str
    label: str
    kind: str
    optional: bool = False
    initial_value: str | None = None
    placeholder: str | None = None
    hint: str | None = None
    options: list[Option] = field(default_factory=list)


@dataclass
class RenderedView:
    """A modal (or home tab): its title, its non-input blocks as text, and its inputs."""

    title: str
    text: str
    elements: list[Interactive]
    inputs: list[InputField]
    submit_label: str | None
    close_label: str
    callback_id: str
    private_metadata: str
    view_id: str | None = None
    external_id: str | None = None
    hash: str | None = None


# -- text objects ----------------------------------------------------------------------


def _clean(text: str) -> str:
    return _CONTROL.sub("", text)


def _token(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!"):
        keyword = target[1:]
        if keyword.startswith(("subteam^", "date^")):
            return label or "@" + keyword.split("^", 2)[1]
        return "@" + keyword
    return f"{label} ({target})" if label and label != target else target


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn made readable; ``*bold*``, ``_italics_`` and code fences stay as typed."""
    text = _TOKEN.sub(_token, text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return _clean(text)


def _text(obj: Any) -> str:
    """A text object (or a bare string, taken as mrkdwn) as readable text."""
    if obj is None:
        return ""
    if isinstance(obj, str):
        return mrkdwn_to_text(obj)
    if obj.get("type") == "plain_text":
        return _clean(str(obj.get("text", "")))
    return mrkdwn_to_text(str(obj.get("text", "")))


def _field(obj: Any) -> str:
    """A section field; the ``*Label*\\nvalue`` convention of our cards becomes one line."""
    raw = obj.get("text", "") if isinstance(obj, dict) else str(obj)
    match = _FIELD.fullmatch(raw) if isinstance(obj, str) or obj.get("type") == "mrkdwn" else None
    if match is None:
        return " ".join(_text(obj).splitlines())
    value = ", ".join(line for line in mrkdwn_to_text(match.group(2)).splitlines() if line)
    return f"{mrkdwn_to_text(match.group(1))}: {value}"


def option_letter(index: int) -> str:
    """``a``…``z``, then ``aa``, ``ab``…: the letter shown for the option at ``index``."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _options(element: Json) -> list[Option]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return [(_text(o.get("text")), str(o.get("value", ""))) for o in options]


def match_option(options: list[Option], answer: str) -> Option | None:
    """The option an answer names: by value, then by label (any case), then by its letter."""
    answer = answer.strip()
    for option in options:
        if option[1] == answer:
            return option
    for option in options:
        if option[0].casefold() == answer.casefold():
            return option
    for index, option in enumerate(options):
        if option_letter(index) == answer.lower():
            return option
    return None


def confirm_text(confirm: Json) -> str:
    """A confirm dialog as one prompt: ``Stop deployment? Stop “x”? [Stop/Cancel]``."""
    title, text = _text(confirm.get("title")), _text(confirm.get("text"))
    yes = _text(confirm.get("confirm")) or "Yes"
    no = _text(confirm.get("deny")) or "Cancel"
    return " ".join(part for part in (title, text, f"[{yes}/{no}]") if part)


# -- blocks ----------------------------------------------------------------------------


def _rich_inline(elements: Iterable[Json]) -> str:
    out: list[str] = []
    for el in elements:
        kind = el.get("type")
        if kind == "text":
            text = str(el.get("text", ""))
            style = el.get("style") or {}
            out.append(f"`{text}`" if style.get("code") else text)
        elif kind == "link":
            url, label = str(el.get("url", "")), el.get("text")
            out.append(f"{label} ({url})" if label and label != url else url)
        elif kind == "user":
            out.append("@" + str(el.get("user_id", "")))
        elif kind == "channel":
            out.append("#" + str(el.get("channel_id", "")))
        elif kind == "usergroup":
            out.append("@" + str(el.get("usergroup_id", "")))
        elif kind == "emoji":
            out.append(f":{el.get('name', '')}:")
        elif kind == "broadcast":
            out.append("@" + str(el.get("range", "")))
        elif kind == "date":
            out.append(str(el.get("fallback", el.get("timestamp", ""))))
        else:
            out.append(str(el.get("text", el.get("value", ""))))
    return _clean("".join(out))


def _rich_text(block: Json) -> list[str]:
    lines: list[str] = []
    for el in block.get("elements") or []:
        kind, inner = el.get("type"), el.get("elements") or []
        if kind == "rich_text_preformatted":
            lines += ["```", _rich_inline(inner), "```"]
        elif kind == "rich_text_quote":
            lines += ["> " + line for line in _rich_inline(inner).splitlines()]
        elif kind == "rich_text_list":
            indent = "  " * int(el.get("indent", 0))
            for i, item in enumerate(inner, start=1):
                bullet = f"{i}." if el.get("style") == "ordered" else "•"
                lines.append(f"{indent}{bullet} {_rich_inline(item.get('elements') or [])}")
        else:
            lines += _rich_inline(inner).splitlines()
    return lines


#: Gives the number to show next to an element (default: its position in the message).
Numbering = Callable[[Interactive], int]


class _Renderer:
    """Numbers interactive elements across the blocks of one message or view."""

    def __init__(self, numbering: Numbering | None = None) -> None:
        self.elements: list[Interactive] = []
        self.numbering = numbering

    def element(self, element: Json, block_id: str) -> str:
        kind = str(element.get("type", ""))
        if kind == "image":
            return f"[image: {_clean(str(element.get('alt_text', '')))}]"
        number = len(self.elements) + 1
        options = _options(element)
        label = _text(element.get("text") or element.get("placeholder"))
        if kind == "overflow":
            label = label or "More"
        item = Interactive(
            number=number,
            action_id=str(element.get("action_id") or f"a{number}"),
            block_id=block_id,
            value=element.get("value"),
            label=label or kind.replace("_", " "),
            kind=kind,
            options=options,
            confirm=element.get("confirm"),
            style=element.get("style"),
            url=element.get("url"),
        )
        self.elements.append(item)
        if self.numbering is not None:
            number = self.numbering(item)
        if kind == "button":
            hints = ["danger"] if item.style == "danger" else []
            hints += ["confirm"] if item.confirm else []
            hint = f" ({', '.join(hints)})" if hints else ""
            link = f" → {_clean(item.url)}" if item.url else ""
            return f"[{number}] {item.label}{hint}{link}"
        if options:
            choices = "  ".join(f"{option_letter(i)}) {o[0]}" for i, o in enumerate(options))
            return f"[{number}] {item.label}: {choices}"
        suffix = "type to search" if "external" in kind else kind.replace("_", " ")
        return f"[{number}] {item.label} ({suffix})"

    def elements_lines(self, elements: Iterable[Json], block_id: str) -> list[str]:
        """Consecutive buttons share lines of up to ``LINE_WIDTH``; other elements get their own."""
        lines: list[str] = []
        row = ""
        for element in elements:
            rendered = self.element(element, block_id)
            if element.get("type") == "button" and (
                not row or len(row) + 2 + len(rendered) <= LINE_WIDTH
            ):
                row = f"{row}  {rendered}" if row else rendered
                continue
            if row:
                lines.append(row)
            row = rendered if element.get("type") == "button" else ""
            if not row:
                lines.append(rendered)
        if row:
            lines.append(row)
        return lines

    def block(self, block: Json, index: int) -> list[str]:
        kind = block.get("type")
        block_id = str(block.get("block_id") or f"b{index}")
        if kind == "section":
            lines = _text(block.get("text")).splitlines() if block.get("text") else []
            lines += ["  " + _field(f) for f in block.get("fields") or []]
            if block.get("accessory"):
                lines.append("  " + self.element(block["accessory"], block_id))
            return lines
        if kind == "header":
            title = _text(block.get("text"))
            return [title, "═" * max(3, len(title))]
        if kind == "divider":
            return [DIVIDER]
        if kind == "context":
            parts = [
                _text(e) if e.get("type") != "image" else f"[image: {e.get('alt_text', '')}]"
                for e in block.get("elements") or []
            ]
            return [CONTEXT_PREFIX + _clean("  ".join(parts))]
        if kind == "actions":
            return self.elements_lines(block.get("elements") or [], block_id)
        if kind == "image":
            return [f"[image: {_clean(str(block.get('alt_text', '')))}]"]
        if kind == "rich_text":
            return _rich_text(block)
        if kind == "markdown":
            return _clean(str(block.get("text", ""))).splitlines()
        if kind == "input":
            return [f"{_text(block.get('label'))}: [{block.get('element', {}).get('type')}]"]
        if kind == "video":
            return [f"[video: {_text(block.get('title'))}]"]
        return [f"[{_clean(str(kind))}]"]

    def blocks(self, blocks: Iterable[Json]) -> str:
        lines: list[str] = []
        for index, block in enumerate(blocks):
            lines += self.block(block, index)
        return "\n".join(lines)


def render_message(
    text: str | None, blocks: list[Json] | None, numbering: Numbering | None = None
) -> RenderedMessage:
    """A message as terminal text: its blocks when it has any, else its mrkdwn ``text``.

    Each interactive element is shown as ``[n]``: its position in the message (from 1), or
    the number ``numbering`` gives it (a screen numbering across messages).
    """
    renderer = _Renderer(numbering)
    if blocks:
        return RenderedMessage(renderer.blocks(blocks), renderer.elements)
    return RenderedMessage(mrkdwn_to_text(text or ""), [])


# -- modals ----------------------------------------------------------------------------


def _initial(element: Json) -> str | None:
    if element.get("initial_option"):
        return str(element["initial_option"].get("value"))
    if element.get("initial_options"):
        return ",".join(str(o.get("value")) for o in element["initial_options"])
    for key in (
        "initial_value",
        "initial_date",
        "initial_time",
        "initial_user",
        "initial_conversation",
        "initial_channel",
    ):
        if element.get(key) is not None:
            return str(element[key])
    for key in ("initial_users", "initial_conversations", "initial_channels"):
        if element.get(key):
            return ",".join(element[key])
    return None


def render_view(view: Json) -> RenderedView:
    """A modal as a title, its non-input blocks as text, and the inputs to prompt for."""
    renderer = _Renderer()
    lines: list[str] = []
    inputs: list[InputField] = []
    for index, block in enumerate(view.get("blocks") or []):
        if block.get("type") != "input":
            lines += renderer.block(block, index)
            continue
        element = block.get("element") or {}
        kind = str(element.get("type", ""))
        if kind == "plain_text_input" and element.get("multiline"):
            kind = "multiline"
        inputs.append(
            InputField(
                block_id=str(block.get("block_id") or f"b{index}"),
                action_id=str(element.get("action_id") or f"a{index}"),
                label=_text(block.get("label")),
                kind=kind,
                optional=bool(block.get("optional", False)),
                initial_value=_initial(element),
                placeholder=_text(element.get("placeholder")) or None,
                hint=_text(block.get("hint")) or None,
                options=_options(element),
            )
        )
    submit = view.get("submit")
    return RenderedView(
        title=_text(view.get("title")),
        text="\n".join(lines),
        elements=renderer.elements,
        inputs=inputs,
        submit_label=_text(submit) if submit else None,
        close_label=_text(view.get("close")) or "Cancel",
        callback_id=str(view.get("callback_id") or ""),
        private_metadata=str(view.get("private_metadata") or ""),
        view_id=view.get("id"),
        external_id=view.get("external_id") or None,
        hash=view.get("hash"),
    )


def _option_json(option: Option) -> Json:
    return {"text": {"type": "plain_text", "text": option[0], "emoji": True}, "value": option[1]}


def _choose(field_: InputField, answer: str) -> Json:
    if not field_.options:  # external_select: the answer is the value itself
        return _option_json((answer, answer))
    option = match_option(field_.options, answer)
    if option is None:
        choices = ", ".join(f"{option_letter(i)}) {o[0]}" for i, o in enumerate(field_.options))
        raise ValueError(f"{field_.label}: {answer!r} is none of {choices}")
    return _option_json(option)


def _element_state(field_: InputField, answer: str) -> Json:
    kind = field_.kind
    if kind in _TEXT_INPUTS:
        state_type = "plain_text_input" if kind == "multiline" else kind
        return {"type": state_type, "value": answer or None}
    if kind == "number_input":
        if answer:
            try:
                float(answer)
            except ValueError:
                raise ValueError(f"{field_.label}: {answer!r} is not a number") from None
        return {"type": kind, "value": answer or None}
    if kind in _SINGLE_CHOICE:
        return {"type": kind, "selected_option": _choose(field_, answer) if answer else None}
    if kind in _MULTI_CHOICE:
        picked = [a for a in (part.strip() for part in answer.split(",")) if a]
        return {"type": kind, "selected_options": [_choose(field_, a) for a in picked]}
    if kind in _SELECTED:
        key, many = _SELECTED[kind]
        if many:
            return {"type": kind, key: [a.strip() for a in answer.split(",") if a.strip()]}
        return {"type": kind, key: answer or None}
    return {"type": kind, "value": answer or None}


def state_values(inputs: Iterable[InputField], answers: dict[tuple[str, str], str]) -> Json:
    """The ``view.state.values`` a submission of these answers carries.

    ``answers`` maps ``(block_id, action_id)`` to what was typed: text, a number, an option's
    value, label or letter (comma-separated for checkboxes and multi-selects). An input that
    is not answered keeps its initial value. Raises ValueError for a required input left empty,
    an option that does not exist or a number that is not one, so a prompt can ask again.
    """
    values: Json = {}
    for field_ in inputs:
        answer = answers.get((field_.block_id, field_.action_id))
        if answer is None:
            answer = field_.initial_value or ""
        answer = answer.strip() if field_.kind != "multiline" else answer
        if not answer and not field_.optional:
            raise ValueError(f"{field_.label} is required")
        values.setdefault(field_.block_id, {})[field_.action_id] = _element_state(field_, answer)
    return values
