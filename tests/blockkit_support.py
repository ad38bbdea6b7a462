"""Slack's rules for what an app sends, checked the way Slack checks them (test support).

Every payload deploybot sends in the tests goes through :func:`check_call` (Web API calls and
response-URL posts) or :func:`check_ack` (the HTTP answer to a Slack request). They apply:

- Slack's Block Kit JSON Schema, ``shared/reference/slack-block-kit.schema.json`` (compiled
  from Slack's reference, read where it lies — never copied into the project);
- the rules that schema cannot express: at most 50 blocks per message and 100 per view,
  unique ``block_id`` s, unique ``action_id`` s within a block, a top-level ``text`` of at most
  40,000 characters, at most 100 options (text ≤ 75, value ≤ 150) in an options answer, the
  keys of a modal's ``response_action: errors`` naming input blocks of that view;
- mrkdwn: every ``<`` opens a well-formed token (``<@U…>``, ``<#C…>``, ``<!here>``,
  ``<!subteam^…>``, ``<!date^…|fallback>``, ``<https://…|label>``) closed by ``>``; anything
  else must be escaped (``&lt;``), so a clipped ``<!date^…`` or ``<@U…`` is caught.

Each finding is a :class:`Violation`; :func:`slack_error` names the error code real Slack
answers with (``invalid_blocks``, ``msg_too_long``, ``invalid_arguments``).
"""

from __future__ import annotations

import json
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from bot.slack_local.fake_api import Rejection

Json = dict[str, Any]

SCHEMA_PATH = Path("reference") / "slack-block-kit.schema.json"
REPO_ROOT = Path(__file__).resolve().parent.parent

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_OPTIONS = 100
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150

#: The Web API methods whose argument is a message, and those whose argument is a view.
MESSAGE_METHODS = frozenset(
    {"chat.postMessage", "chat.update", "chat.postEphemeral", "chat.scheduleMessage"}
)
VIEW_METHODS = frozenset({"views.open", "views.push", "views.update", "views.publish"})
RESPONSE_URL = "response_url"


@dataclass(frozen=True)
class Violation:
    """One rule a payload breaks: the rule's name, where (a JSON path) and what."""

    rule: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.path}: {self.message}"


class SchemaNotFound(RuntimeError):
    """The Block Kit schema is not where the tests look for it."""


# -- the schema -----------------------------------------------------------------------------


def schema_path() -> Path:
    """Where the schema lies: ``$DEPLOYBOT_SHARED_DIR``, beside the clone, or /work/shared."""
    candidates: list[Path] = []
    if os.environ.get("DEPLOYBOT_SHARED_DIR"):
        candidates.append(Path(os.environ["DEPLOYBOT_SHARED_DIR"]))
    candidates += [REPO_ROOT.parent / "shared", Path("/work/shared")]
    for shared in candidates:
        if (shared / SCHEMA_PATH).is_file():
            return shared / SCHEMA_PATH
    raise SchemaNotFound(
        f"Slack's Block Kit schema not found: set DEPLOYBOT_SHARED_DIR to the shared/ directory "
        f"holding {SCHEMA_PATH} (looked in {', '.join(str(c) for c in candidates)})"
    )


@cache
def _schema() -> Json:
    loaded: Json = json.loads(schema_path().read_text(encoding="utf-8"))
    return loaded


@cache
def schema_available() -> bool:
    """Whether the schema can be read. Without it only the other rules apply (with a warning);
    under ``CI=true`` its absence is an error."""
    try:
        _schema()
    except SchemaNotFound as missing:
        if os.environ.get("CI") == "true":
            raise
        warnings.warn(f"{missing}; only the limits are checked", stacklevel=2)
        return False
    return True


@cache
def _validator(definition: str) -> Draft202012Validator:
    """A validator of one ``$defs`` entry (its references resolved within the schema)."""
    root = _schema()
    schema = {"$schema": root["$schema"], "$defs": root["$defs"], "$ref": f"#/$defs/{definition}"}
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def _block_definitions() -> dict[str, str]:
    """Block type → the ``$defs`` entry describing it (read from the schema's ``block`` union)."""
    defs = _schema()["$defs"]
    found: dict[str, str] = {}
    for choice in defs["block"]["oneOf"]:
        name = choice["$ref"].rsplit("/", 1)[-1]
        const = defs[name].get("properties", {}).get("type", {}).get("const")
        if isinstance(const, str):
            found[const] = name
    return found


def _schema_violations(value: Any, definition: str, path: str) -> list[Violation]:
    if not schema_available():
        return []
    found = []
    for error in _validator(definition).iter_errors(value):
        # A oneOf/anyOf failure says little; its deepest sub-error says what is wrong.
        deepest = _deepest(error)
        where = path + "".join(
            f"[{p!r}]" if isinstance(p, str) else f"[{p}]" for p in deepest.absolute_path
        )
        found.append(Violation("schema", where, deepest.message[:300]))
    return found


def _deepest(error: Any) -> Any:
    """The sub-error deepest in the payload: the most useful one of a ``oneOf`` failure."""
    if not error.context:
        return error
    return max((_deepest(e) for e in error.context), key=lambda e: len(list(e.absolute_path)))


# -- blocks ---------------------------------------------------------------------------------


def check_blocks(blocks: Any, *, limit: int, path: str = "blocks") -> list[Violation]:
    """A list of blocks: each against its schema, their number, unique block ids, mrkdwn."""
    if not isinstance(blocks, list):
        return [Violation("schema", path, "blocks must be an array")]
    found: list[Violation] = []
    if len(blocks) > limit:
        found.append(
            Violation("too_many_blocks", path, f"{len(blocks)} blocks, at most {limit} allowed")
        )
    kinds = _block_definitions() if schema_available() else {}
    for index, block in enumerate(blocks):
        where = f"{path}[{index}]"
        kind = block.get("type") if isinstance(block, dict) else None
        if not isinstance(block, dict) or (kinds and kind not in kinds):
            found.append(Violation("schema", where, f"unknown block type {kind!r}"))
            continue
        if kinds:
            found += _schema_violations(block, kinds[kind], where)
        found += _duplicate_action_ids(block, where)
    found += _duplicate_block_ids(blocks, path)
    found += check_mrkdwn_objects(blocks, path)
    return found


def _duplicate_block_ids(blocks: list[Any], path: str) -> list[Violation]:
    seen: dict[str, int] = {}
    found = []
    for index, block in enumerate(blocks):
        block_id = block.get("block_id") if isinstance(block, dict) else None
        if not isinstance(block_id, str):
            continue
        if block_id in seen:
            found.append(
                Violation(
                    "duplicate_block_id",
                    f"{path}[{index}]",
                    f"block_id {block_id!r} already used by {path}[{seen[block_id]}]",
                )
            )
        else:
            seen[block_id] = index
    return found


def _duplicate_action_ids(block: Json, path: str) -> list[Violation]:
    elements = list(block.get("elements") or [])
    for key in ("accessory", "element"):
        if isinstance(block.get(key), dict):
            elements.append(block[key])
    seen: set[str] = set()
    found = []
    for element in elements:
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if not isinstance(action_id, str):
            continue
        if action_id in seen:
            found.append(
                Violation("duplicate_action_id", path, f"action_id {action_id!r} used twice")
            )
        seen.add(action_id)
    return found


# -- mrkdwn ---------------------------------------------------------------------------------

_LABEL = r"(?:\|[^|<>]*)?"
_TOKENS = (
    re.compile(r"@[UWB][A-Z0-9]+" + _LABEL),
    re.compile(r"#[CG][A-Z0-9]+" + _LABEL),
    re.compile(r"!(?:here|channel|everyone)" + _LABEL),
    re.compile(r"!subteam\^[A-Z0-9]+" + _LABEL),
    # <!date^epoch^format[^link]|fallback>: the fallback is required.
    re.compile(r"!date\^\d+\^[^^|<>]+(?:\^[^|<>\s]+)?\|[^|<>]+"),
    re.compile(r"(?:https?|mailto|slack|ftp):[^|<>\s]+" + _LABEL),
)


def check_mrkdwn(text: str, path: str) -> list[Violation]:
    """One mrkdwn string: every ``<`` opens a well-formed token closed by ``>``."""
    found = []
    index = text.find("<")
    while index != -1:
        close = text.find(">", index + 1)
        reopen = text.find("<", index + 1)
        if close == -1 or (reopen != -1 and reopen < close):
            snippet = text[index : index + 40]
            found.append(
                Violation("mrkdwn", path, f"unclosed '<' (escape it as &lt;): {snippet!r}")
            )
            index = reopen
            continue
        inner = text[index + 1 : close]
        if not any(token.fullmatch(inner) for token in _TOKENS):
            found.append(
                Violation(
                    "mrkdwn",
                    path,
                    f"'<{inner[:60]}>' is no Slack token (clipped, or '<' not escaped as &lt;)",
                )
            )
        index = text.find("<", close + 1)
    return found


def check_mrkdwn_objects(value: Any, path: str) -> list[Violation]:
    """Every ``{"type": "mrkdwn", "text": …}`` object inside ``value``."""
    found: list[Violation] = []
    for where, node in _walk(value, path):
        if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
            found += check_mrkdwn(node["text"], f"{where}['text']")
    return found


def _walk(value: Any, path: str) -> Iterator[tuple[str, Json]]:
    if isinstance(value, dict):
        yield path, value
        for key, child in value.items():
            yield from _walk(child, f"{path}[{key!r}]")
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, f"{path}[{index}]")


# -- surfaces -------------------------------------------------------------------------------


def check_message(body: Json) -> list[Violation]:
    """A message (``chat.*`` arguments, a response-URL post, a slash command's ack)."""
    found: list[Violation] = []
    text = body.get("text")
    blocks = body.get("blocks")
    if body.get("delete_original"):
        return found
    if isinstance(text, str):
        if len(text) > MAX_MESSAGE_TEXT:
            found.append(
                Violation(
                    "text_too_long", "text", f"{len(text)} characters, at most {MAX_MESSAGE_TEXT}"
                )
            )
        if body.get("mrkdwn", True) is not False:
            found += check_mrkdwn(text, "text")
    if blocks is not None and blocks != []:
        found += check_blocks(blocks, limit=MAX_MESSAGE_BLOCKS)
    return found


def check_view(view: Any, path: str = "view") -> list[Violation]:
    """A modal or Home tab (``views.*`` argument, or the view of a ``response_action``)."""
    if not isinstance(view, dict):
        return [Violation("schema", path, "the view must be an object")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [Violation("schema", f"{path}['type']", f"unknown view type {kind!r}")]
    # The blocks themselves are judged one by one below, with clearer paths.
    inside_blocks = f"{path}['blocks']["
    found = [
        v
        for v in _schema_violations(view, f"{kind}_view", path)
        if not v.path.startswith(inside_blocks)
    ]
    found += check_mrkdwn_objects({k: v for k, v in view.items() if k != "blocks"}, path)
    found += check_blocks(view.get("blocks"), limit=MAX_VIEW_BLOCKS, path=f"{path}['blocks']")
    return found


def check_options(body: Json) -> list[Violation]:
    """The answer to a ``block_suggestion`` (an external select's options)."""
    found: list[Violation] = []
    groups = body.get("option_groups")
    lists = [("options", body.get("options") or [])]
    if isinstance(groups, list):
        if len(groups) > MAX_OPTIONS:
            found.append(Violation("too_many_options", "option_groups", f"{len(groups)} groups"))
        lists += [
            (f"option_groups[{i}]['options']", g.get("options") or []) for i, g in enumerate(groups)
        ]
    for path, options in lists:
        if len(options) > MAX_OPTIONS:
            found.append(
                Violation("too_many_options", path, f"{len(options)} options, at most 100")
            )
        for index, option in enumerate(options):
            found += _option(option, f"{path}[{index}]")
    return found


def _option(option: Any, path: str) -> list[Violation]:
    if not isinstance(option, dict):
        return [Violation("schema", path, "an option must be an object")]
    found: list[Violation] = []
    text = (option.get("text") or {}).get("text", "")
    value = option.get("value", "")
    if not text or len(text) > MAX_OPTION_TEXT:
        found.append(Violation("option_text", path, f"text of {len(text)} characters (1–75)"))
    if not value or len(value) > MAX_OPTION_VALUE:
        found.append(Violation("option_value", path, f"value of {len(value)} characters (1–150)"))
    return found + _schema_violations(option, "option_object_plain_text", path)


def input_block_ids(view: Json) -> set[str]:
    """The ``block_id`` s of the input blocks of a view."""
    return {
        block["block_id"]
        for block in view.get("blocks") or []
        if isinstance(block, dict) and block.get("type") == "input" and block.get("block_id")
    }


def check_view_submission_ack(body: Json, input_blocks: set[str]) -> list[Violation]:
    """The answer to a ``view_submission``: ``errors`` keys name input blocks of the view."""
    action = body.get("response_action")
    if action is None:
        return []
    if action == "errors":
        errors = body.get("errors")
        if not isinstance(errors, dict) or not errors:
            return [Violation("error_keys", "errors", "response_action errors without errors")]
        return [
            Violation(
                "error_keys",
                f"errors[{key!r}]",
                f"{key!r} is no input block of the view (input blocks: {sorted(input_blocks)})",
            )
            for key in errors
            if key not in input_blocks
        ]
    if action in ("update", "push"):
        return check_view(body.get("view"))
    if action == "clear":
        return []
    return [Violation("schema", "response_action", f"unknown response_action {action!r}")]


def check_call(method: str, body: Json) -> list[Violation]:
    """What one call to the Web API (or one response-URL post) carries."""
    if method in MESSAGE_METHODS or method == RESPONSE_URL:
        return check_message(body)
    if method in VIEW_METHODS:
        view = body.get("view")
        if isinstance(view, dict) and method == "views.publish":
            view = {"type": "home", **view}
        return check_view(view)
    return []


def slack_error(method: str, violations: list[Violation]) -> str:
    """The error code real Slack answers a payload breaking these rules with."""
    rules = {v.rule for v in violations}
    if method in VIEW_METHODS:
        return "invalid_arguments"
    if rules == {"text_too_long"}:
        return "msg_too_long"
    return "invalid_blocks"


def payload_check(method: str, body: Json) -> Rejection | None:
    """:attr:`FakeSlackAPI.payload_check`: Slack's answer to a payload breaking these rules."""
    violations = check_call(method, body)
    if not violations:
        return None
    return Rejection(slack_error(method, violations), tuple(f"[ERROR] {v}" for v in violations))


def check_ack(request: Json, ack: Json, opened_views: list[Json]) -> list[Violation]:
    """The body an app answers a Slack ``request`` (decoded) with.

    A slash command's or button's answer is a message; a ``view_submission`` 's errors are
    judged against the input blocks of the view the app opened with that ``callback_id`` and
    those inputs (the last in ``opened_views``), else of the submitted view when it carries
    its blocks (a test that makes up a submission without them can't be judged on that rule);
    a ``block_suggestion`` 's is options.
    """
    if not ack:
        return []
    kind = request.get("type")
    if "command" in request or kind in ("block_actions", "message_action", "shortcut"):
        return check_message(ack)
    if kind == "view_submission":
        submitted = request.get("view") or {}
        values = set((submitted.get("state") or {}).get("values") or {})
        opened = [
            v
            for v in opened_views
            if v.get("callback_id") == submitted.get("callback_id")
            and values <= input_block_ids(v)  # the form these values were typed into
        ]
        view = opened[-1] if opened else submitted
        if not view.get("blocks") and ack.get("response_action") == "errors":
            errors = ack.get("errors")
            if isinstance(errors, dict) and errors:
                return []
            return [Violation("error_keys", "errors", "response_action errors without errors")]
        return check_view_submission_ack(ack, input_block_ids(view))
    if kind == "block_suggestion":
        return check_options(ack)
    return []
