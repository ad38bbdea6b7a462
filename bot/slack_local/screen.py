"""What is on the shell's screen: the messages shown, and one number per button on them.

A number is given to a button when it first appears and stays with it for as long as the
button is on screen: other messages, commands and clicks do not move it, and a message edited
in place keeps the numbers of the buttons it still has (a button is the same one when its
label and ``value`` are — or its ``action_id``, without a value: the *Accept* of one bid,
the *Approve* of one request; action ids may carry a position, so they do not count then). A
number is never given to another button in the same session, so a number read anywhere on
screen clicks what it was shown next to, or nothing. The buttons of a message that was
replaced without them, deleted, or scrolled away (more than ``keep`` messages later) are gone.

Messages are known by a key: ``channel:ts`` for channel messages, the response URL for what
was posted through one. Each message has a response URL of its own (the one a click on it
carries), and a post to it with ``replace_original`` replaces that message, as in Slack.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.slack_local.text import Interactive, render_message

Json = dict[str, Any]
#: A button's identity within its message: (label, value or else action_id, occurrence).
Identity = tuple[str, str, int]
#: How many messages (the latest) keep their buttons clickable.
KEEP_MESSAGES = 200


@dataclass
class Clickable:
    """A numbered button on screen and the message it is on."""

    element: Interactive
    #: The response URL a click on this message carries.
    response_url: str
    message: Json
    channel: str
    key: str


class Screen:
    """The messages on screen and their numbered buttons (see the module docstring)."""

    def __init__(self, keep: int = KEEP_MESSAGES) -> None:
        self.keep = keep
        self.clickables: dict[int, Clickable] = {}
        self._numbers: OrderedDict[str, dict[Identity, int]] = OrderedDict()
        #: The message each response URL belongs to, and the channel it is in.
        self._url_message: dict[str, str] = {}
        self._url_channel: dict[str, str] = {}
        self._last = 0
        #: Numbers that were on screen once and are gone (to say so when one is typed).
        self.gone: set[int] = set()

    # -- messages ----------------------------------------------------------------------

    def show(self, key: str, body: Json, *, response_url: str, channel: str) -> str:
        """Show (or replace) message ``key``; its text with each button's screen number."""
        previous = self._numbers.pop(key, {})
        current: dict[Identity, int] = {}
        message = {"ts": body.get("ts", ""), **body}

        def number(element: Interactive) -> int:
            value = element.value if element.value is not None else element.action_id
            pair = (element.label, value)
            identity = (*pair, sum(1 for seen in current if seen[:2] == pair))
            shown = previous.pop(identity, None) or self._new_number()
            current[identity] = shown
            self.clickables[shown] = Clickable(element, response_url, message, channel, key)
            return shown

        text = render_message(body.get("text"), body.get("blocks"), number).text
        self._forget(previous.values())
        self._numbers[key] = current
        self._url_message.setdefault(response_url, key)
        self._url_channel.setdefault(response_url, channel)
        while len(self._numbers) > self.keep:
            _, scrolled = self._numbers.popitem(last=False)
            self._forget(scrolled.values())
        return text

    def remove(self, key: str) -> None:
        """Message ``key`` was deleted: its buttons are gone."""
        self._forget(self._numbers.pop(key, {}).values())

    def message_of(self, response_url: str) -> str | None:
        """The key of the message a response URL belongs to (None for a new one)."""
        return self._url_message.get(response_url)

    def url_of(self, key: str) -> str | None:
        """The response URL of message ``key`` (None when it is not on screen)."""
        return next((url for url, k in self._url_message.items() if k == key), None)

    def channel_of(self, response_url: str, default: str) -> str:
        """The channel of the message (or command) a response URL belongs to."""
        return self._url_channel.get(response_url, default)

    def belongs(self, response_url: str, *, key: str, channel: str) -> None:
        """Record that ``response_url`` answers in ``channel`` for message ``key`` (a command's
        response URL belongs to the command's reply, before one is shown)."""
        self._url_message.setdefault(response_url, key)
        self._url_channel.setdefault(response_url, channel)

    # -- buttons -----------------------------------------------------------------------

    def get(self, number: int) -> Clickable | None:
        return self.clickables.get(number)

    def buttons_for(self, value: str) -> list[tuple[int, Clickable]]:
        """The buttons on screen whose value is ``value`` (e.g. a request id), in order."""
        return sorted(
            ((n, c) for n, c in self.clickables.items() if c.element.value == value),
            key=lambda pair: pair[0],
        )

    def _new_number(self) -> int:
        self._last += 1
        return self._last

    def _forget(self, numbers: Any) -> None:
        for number in list(numbers):
            if self.clickables.pop(number, None) is not None:
                self.gone.add(number)
