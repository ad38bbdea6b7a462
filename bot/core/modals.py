"""Modal views (pure): connect a provider key, revise a deployment, add funds."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    PlainTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.core.render import PROVIDER_LABEL, clip, escape

CONNECT = "connect_provider"
REVISE = "revise_deployment"
DEPOSIT = "deposit_funds"
KEY_BLOCK, KEY_ACTION = "api_key", "value"
DEFINITION_BLOCK, DEFINITION_ACTION = "definition", "value"
AMOUNT_BLOCK, AMOUNT_ACTION = "amount", "value"
MAX_INPUT = 3000

_KEY_HELP = {
    "nosana": "A Nosana API key from the Nosana dashboard (Account → API keys).",
    "akash": "An Akash Console API key (console.akash.network → Settings → API keys).",
    "neuranet": "A NeuraNET API key (dashboard → Developers → API keys).",
}


def _title(text: str) -> PlainTextObject:
    return PlainTextObject(text=clip(text, 24))


def connect_view(provider: str, *, channel_id: str | None) -> dict[str, Any]:
    label = PROVIDER_LABEL[provider]
    return View(
        type="modal",
        callback_id=CONNECT,
        private_metadata=json.dumps({"p": provider, "c": channel_id}),
        title=_title(f"Connect {label}"),
        submit=PlainTextObject(text="Check and save"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"Paste this workspace's *{label}* API key. It is checked with {label} "
                    "first, then stored encrypted; nobody can read it back, in Slack or elsewhere."
                )
            ),
            InputBlock(
                block_id=KEY_BLOCK,
                label=PlainTextObject(text=f"{label} API key"),
                hint=PlainTextObject(text=_KEY_HELP[provider]),
                element=PlainTextInputElement(
                    action_id=KEY_ACTION, min_length=8, max_length=500, placeholder="paste the key"
                ),
            ),
        ],
    ).to_dict()


def connected_view(provider: str, key_hint: str) -> dict[str, Any]:
    label = PROVIDER_LABEL[provider]
    return message_view(
        f"{label} connected",
        f":white_check_mark: {label} is connected (key `{escape(key_hint)}`). Try `/deploy list`.",
    )


def loading_view(title: str) -> dict[str, Any]:
    return message_view(title, ":hourglass_flowing_sand: Loading…")


def message_view(title: str, text: str) -> dict[str, Any]:
    return View(
        type="modal",
        title=_title(title),
        close=PlainTextObject(text="Close"),
        blocks=[SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))],
    ).to_dict()


def revise_view(form: Any, *, private_metadata: str) -> dict[str, Any]:
    deployment = form.deployment
    is_json = form.language == "json"
    what = "job definition (JSON)" if is_json else "SDL (YAML)"
    note = (
        "Edit the active revision's job definition; it is checked before anything is sent."
        if is_json
        else "Paste the complete new SDL; it is checked before anything is sent. (Akash Console "
        "does not return a deployment's current SDL.)"
    )
    initial = form.text if len(form.text) <= MAX_INPUT else None
    blocks: list[Any] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=clip(
                    f"*{escape(deployment.name or deployment.id)}* `{escape(deployment.id)}` on "
                    f"{PROVIDER_LABEL[deployment.provider]}\n{note}",
                    3000,
                )
            )
        ),
        InputBlock(
            block_id=DEFINITION_BLOCK,
            label=PlainTextObject(text=f"New {what}"),
            element=PlainTextInputElement(
                action_id=DEFINITION_ACTION,
                multiline=True,
                max_length=MAX_INPUT,
                initial_value=initial,
            ),
        ),
    ]
    if initial is None and form.text:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="The current definition is longer than a Slack form can hold; "
                        "paste the new one."
                    )
                ]
            )
        )
    return View(
        type="modal",
        callback_id=REVISE,
        private_metadata=private_metadata,
        title=_title("Revise deployment"),
        submit=PlainTextObject(text="Publish revision"),
        close=PlainTextObject(text="Cancel"),
        blocks=blocks,
    ).to_dict()


def deposit_view(provider: str, deployment_id: str, *, channel_id: str | None) -> dict[str, Any]:
    return View(
        type="modal",
        callback_id=DEPOSIT,
        private_metadata=json.dumps({"p": provider, "d": deployment_id, "c": channel_id}),
        title=_title("Add funds"),
        submit=PlainTextObject(text="Deposit"),
        close=PlainTextObject(text="Cancel"),
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"Add funds to the escrow of {PROVIDER_LABEL[provider]} deployment "
                    f"`{escape(deployment_id)}`."
                )
            ),
            InputBlock(
                block_id=AMOUNT_BLOCK,
                label=PlainTextObject(text="Amount in USD"),
                element=PlainTextInputElement(action_id=AMOUNT_ACTION, placeholder="5.00"),
            ),
        ],
    ).to_dict()
