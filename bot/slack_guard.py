"""Refuse malformed Slack requests before any listener sees them.

A request can be correctly signed and still not have the shape Slack gives it (a test tool, a
proxy that rewrote it, a truncated retry): ``block_actions`` without ``actions``, an action
without ``action_id``, a ``view_submission`` without ``view`` or ``state``, a slash command
without ``user_id``. Bolt's listener matchers and our listeners assume the shape, so such a
request would end in a 500 and a traceback. :class:`SlackPayloadGuard` checks the shape once,
with pydantic models of the fields deploybot reads, and answers 400 with what is wrong.

Only the fields deploybot relies on are checked; everything else passes through untouched
(``extra="allow"``), and request types deploybot doesn't model (shortcuts, …) go on to Bolt.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack_middleware import RequestStep

log = logging.getLogger(__name__)

_SHAPE = ConfigDict(extra="allow")


class _Named(BaseModel):
    """A ``user`` or ``team`` object: deploybot reads its id."""

    model_config = _SHAPE
    id: str


class _Element(BaseModel):
    """One input's state in ``view.state.values`` (text, select, multi-select, …)."""

    model_config = _SHAPE
    type: str | None = None
    value: str | None = None
    selected_option: dict[str, Any] | None = None
    selected_options: list[dict[str, Any]] | None = None


class _State(BaseModel):
    model_config = _SHAPE
    values: dict[str, dict[str, _Element]]


class _View(BaseModel):
    """The view a click or a type-ahead came from (App Home, a modal)."""

    model_config = _SHAPE
    id: str | None = None
    state: _State | None = None
    private_metadata: str = ""


class _SubmittedView(_View):
    callback_id: str
    state: _State


class _Action(BaseModel):
    model_config = _SHAPE
    action_id: str
    block_id: str | None = None
    value: str | None = None
    selected_option: dict[str, Any] | None = None


class _Interaction(BaseModel):
    model_config = _SHAPE
    user: _Named
    team: _Named | None = None


class _BlockActions(_Interaction):
    type: Literal["block_actions"]
    actions: Annotated[list[_Action], Field(min_length=1)]
    trigger_id: str
    response_url: str | None = None
    channel: _Named | None = None
    view: _View | None = None


class _ViewSubmission(_Interaction):
    type: Literal["view_submission", "view_closed"]
    view: _SubmittedView


class _BlockSuggestion(_Interaction):
    type: Literal["block_suggestion"]
    action_id: str
    value: str
    view: _View | None = None


class _Event(BaseModel):
    model_config = _SHAPE
    type: str


class _EventCallback(BaseModel):
    model_config = _SHAPE
    type: Literal["event_callback"]
    team_id: str | None = None
    event: _Event


class _SlashCommand(BaseModel):
    model_config = _SHAPE
    command: str
    text: str
    user_id: Annotated[str, Field(min_length=1)]
    team_id: Annotated[str, Field(min_length=1)]
    channel_id: str | None = None
    response_url: str | None = None
    trigger_id: str | None = None


_MODELS: dict[str, TypeAdapter[Any]] = {
    "block_actions": TypeAdapter(_BlockActions),
    "view_submission": TypeAdapter(_ViewSubmission),
    "view_closed": TypeAdapter(_ViewSubmission),
    "block_suggestion": TypeAdapter(_BlockSuggestion),
    "event_callback": TypeAdapter(_EventCallback),
}
_COMMAND = TypeAdapter(_SlashCommand)


def _describe(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "the request"
    return f"{where}: {first['msg']}"


def payload_problem(body: dict[str, Any]) -> str | None:
    """What is wrong with a Slack request body, in one line; None when it can be handled.

    Pure: no I/O, so it is tested on its own as well as through the HTTP app.
    """
    kind = body.get("type")
    if kind is None and "command" in body:
        adapter = _COMMAND
    elif isinstance(kind, str):
        found = _MODELS.get(kind)
        if found is None:
            return None  # a type deploybot doesn't model: Bolt decides
        adapter = found
    else:
        return "the request has neither a type nor a command"
    try:
        adapter.validate_python(body)
    except ValidationError as exc:
        return _describe(exc)
    return None


class SlackPayloadGuard(RequestStep):
    """Answer 400 to a request whose body hasn't the shape deploybot reads (see module doc)."""

    def step(self, req: AsyncBoltRequest) -> BoltResponse | None:
        body = req.body if isinstance(req.body, dict) else None
        problem = "the body is not a JSON object" if body is None else payload_problem(body)
        if problem is None:
            return None
        log.warning("refused a malformed Slack request: %s", problem)
        return BoltResponse(
            status=400,
            body=json.dumps({"error": "malformed request", "detail": problem}),
            headers={"content-type": ["application/json"]},
        )


__all__ = ["SlackPayloadGuard", "payload_problem"]
