"""Who and where in the local workspace: its people and channels, as typed and as shown.

``@sam`` and ``#ops`` typed in the shell become what Slack sends (``<@U0SAM|sam>``,
``<#C1…|ops>``); ids in what deploybot posts become names again, and emoji codes emoji, as
Slack's client shows them. A channel's id spells its name, so nothing needs to be kept for a
restarted shell to name the channels of its watches.
"""

from __future__ import annotations

import contextlib
import re

TEAM_ID = "T0LOCAL"
USER_ID = "U0LOCAL"
#: A second person in the local workspace, so approvals can be tried (`as sam`).
TEAMMATE_ID = "U0SAM"
PEOPLE = {"you": USER_ID, "sam": TEAMMATE_ID}
CHANNEL_ID = "C0LOCAL"
#: The emoji deploybot uses, for terminals (Slack renders the :codes: itself).
EMOJI = {
    ":newspaper:": "📰",
    ":memo:": "📝",
    ":hourglass_flowing_sand:": "⏳",
    ":arrows_counterclockwise:": "🔄",
    ":large_green_circle:": "🟢",
    ":double_vertical_bar:": "⏸",
    ":white_circle:": "⚪",
    ":red_circle:": "🔴",
    ":money_with_wings:": "💸",
    ":file_cabinet:": "🗄",
    ":black_circle:": "⚫",
    ":grey_question:": "❔",
    ":white_check_mark:": "✅",
    ":warning:": "⚠️",
    ":x:": "❌",
    ":heavy_minus_sign:": "➖",
    ":information_source:": "ℹ️",
    ":electric_plug:": "🔌",
    ":alarm_clock:": "⏰",
    ":scroll:": "📜",
    ":mag:": "🔍",
    ":eyes:": "👀",
    ":bust_in_silhouette:": "👤",
    ":see_no_evil:": "🙈",
    ":scales:": "⚖️",
    ":robot_face:": "🤖",
    ":rotating_light:": "🚨",
    ":rocket:": "🚀",
    ":pencil2:": "✏️",
    ":page_facing_up:": "📄",
    ":no_entry_sign:": "🚫",
    ":no_entry:": "⛔",
    ":moneybag:": "💰",
    ":hourglass:": "⌛",
    ":gear:": "⚙️",
    ":bell:": "🔔",
}

#: Channels typed as ``#name`` get an id of their own (``#local`` is the shell's channel).
CHANNELS = {"local": CHANNEL_ID}
_CHANNEL_ID = re.compile(r"#(C[0-9A-Z]+)\b")
_MENTION = re.compile(r"(?<![<\w])@([a-z][\w.-]*)", re.I)
_CHANNEL = re.compile(r"(?<![<\w&])#([a-z0-9][\w-]*)", re.I)


def channel_id(name: str) -> str:
    """The local id of ``#name``: ``#local`` is the shell's channel; any other name is spelled
    in the id (``C1`` and its UTF-8 in hex), so a restarted shell still knows its name."""
    name = name.lower()
    return CHANNELS.get(name) or "C1" + name.encode().hex().upper()


def as_slack_text(text: str) -> str:
    """What Slack sends for what a person types: ``@sam`` becomes a mention and ``#ops`` a
    channel link (unknown names stay as typed)."""

    def person(match: re.Match[str]) -> str:
        user = PEOPLE.get(match.group(1).lower())
        return f"<@{user}|{match.group(1)}>" if user else match.group(0)

    text = _MENTION.sub(person, text)
    return _CHANNEL.sub(lambda m: f"<#{channel_id(m.group(1))}|{m.group(1).lower()}>", text)


def channel_name(channel: str) -> str:
    """``#name`` of a local channel id (the id itself when it names no channel)."""
    names = {v: k for k, v in CHANNELS.items()}
    if channel in names:
        return f"#{names[channel]}"
    if channel.startswith("C1"):
        with contextlib.suppress(ValueError):
            return "#" + bytes.fromhex(channel[2:]).decode()
    return f"#{channel}"


def for_people(text: str) -> str:
    """Emoji as emoji, people and channels by their names (Slack's client does the same)."""
    for code, char in EMOJI.items():
        text = text.replace(code, char)
    for name, user in PEOPLE.items():
        text = text.replace(f"@{user}", f"@{name}")
    return _CHANNEL_ID.sub(lambda m: channel_name(m.group(1)), text)
