"""deploybot's shortcuts (pure): the global "New deployment" picker and reading a deployment
card for the message shortcut "Watch in this channel"."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.render import PROVIDER_LABEL, clip
from bot.core.replies import section
from bot.providers.models import ProviderName

NEW_DEPLOYMENT = "new_deployment"
WATCH_HERE = "watch_here"
#: The picker modal (provider and channel), submitted to get the provider's create form.
PICK_VIEW = "new_deployment_pick"
PROVIDER_BLOCK = "provider"
CHANNEL_BLOCK = "channel"
VALUE = "value"

_BY_LABEL: dict[str, ProviderName] = {
    label: name  # type: ignore[misc]
    for name, label in PROVIDER_LABEL.items()
}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": clip(text, 75) or " "}


def picker_view(providers: Sequence[str]) -> dict[str, Any]:
    """Which provider, and where its status message goes; submitting opens the create form."""
    options = [{"text": _plain(PROVIDER_LABEL.get(p, p)), "value": p} for p in providers if p]
    provider: dict[str, Any] = {"type": "static_select", "action_id": VALUE, "options": options}
    if len(options) == 1:
        provider["initial_option"] = options[0]
    return {
        "type": "modal",
        "callback_id": PICK_VIEW,
        "title": _plain("New deployment"),
        "submit": _plain("Next"),
        "close": _plain("Cancel"),
        "blocks": [
            section("Where should it run? The next step is the provider's create form."),
            {
                "type": "input",
                "block_id": PROVIDER_BLOCK,
                "label": _plain("Provider"),
                "element": provider,
            },
            {
                "type": "input",
                "block_id": CHANNEL_BLOCK,
                "label": _plain("Post its status in"),
                "element": {"type": "channels_select", "action_id": VALUE},
            },
        ],
    }


def picked(view: Mapping[str, Any]) -> tuple[str, str]:
    """The provider and channel chosen in the picker ('' when missing)."""
    values = (view.get("state") or {}).get("values") or {}
    provider = ((values.get(PROVIDER_BLOCK) or {}).get(VALUE) or {}).get("selected_option")
    channel = ((values.get(CHANNEL_BLOCK) or {}).get(VALUE) or {}).get("selected_channel")
    name = provider.get("value") if isinstance(provider, Mapping) else None
    return str(name or ""), str(channel or "")


def form_metadata(provider: str, channel: str) -> str:
    return json.dumps({"p": provider, "c": channel})


def card_target(message: Mapping[str, Any], app_id: str | None) -> tuple[ProviderName, str] | None:
    """The deployment a deploybot card shows (provider, id), or None when ``message`` is not
    one of deploybot's cards."""
    if not message.get("bot_id"):
        return None
    if app_id and message.get("app_id") and message.get("app_id") != app_id:
        return None
    for block in message.get("blocks") or []:
        block_id = str(block.get("block_id") or "") if isinstance(block, Mapping) else ""
        if not block_id.startswith("card_") or len(block_id) <= 5:
            continue
        for fact in block.get("fields") or []:
            text = str(fact.get("text") or "") if isinstance(fact, Mapping) else ""
            if text.startswith("*Provider*\n"):
                provider = _BY_LABEL.get(text.split("\n", 1)[1].strip())
                if provider is not None:
                    return provider, block_id[5:]
    return None
