"""Replies people see: help, results, lists, logs, errors (pure: data in, Block Kit dicts out).

A :class:`Reply` is what every entry point sends back; handlers only decide *how* it travels
(ack body, response_url, chat.postMessage, the shell's terminal). Everything user- or
provider-supplied goes through :func:`escape` and is cut to Slack's limits.

One module per family, all importable from here:

* :mod:`~bot.core.replies.base` — :class:`Reply`, sections, errors, notices, titled lists;
* :mod:`~bot.core.replies.help` — the help text and usage replies;
* :mod:`~bot.core.replies.progress` — working notes and chain progress;
* :mod:`~bot.core.replies.deployments` — results of changes, cards, pickers;
* :mod:`~bot.core.replies.reads` — logs, events and jobs;
* :mod:`~bot.core.replies.accounts` — provider accounts, markets and nodes, balances.
"""

from bot.core.replies.accounts import (
    BalanceLine,
    ConnectedProvider,
    balance_reply,
    markets_reply,
    providers_reply,
)
from bot.core.replies.base import Reply, context, error, notice, rows_reply, section
from bot.core.replies.deployments import (
    MAX_BUTTON_VALUE,
    card_reply,
    decode_pick,
    encode_pick,
    pick_reply,
    result_reply,
)
from bot.core.replies.help import COMMANDS, TARGET_HELP, help_reply, usage_reply
from bot.core.replies.progress import chain_reply, working_reply
from bot.core.replies.reads import events_reply, jobs_reply, log_file_reply, logs_reply

__all__ = [
    "COMMANDS",
    "MAX_BUTTON_VALUE",
    "TARGET_HELP",
    "BalanceLine",
    "ConnectedProvider",
    "Reply",
    "balance_reply",
    "card_reply",
    "chain_reply",
    "context",
    "decode_pick",
    "encode_pick",
    "error",
    "events_reply",
    "help_reply",
    "jobs_reply",
    "log_file_reply",
    "logs_reply",
    "markets_reply",
    "notice",
    "pick_reply",
    "providers_reply",
    "result_reply",
    "rows_reply",
    "section",
    "usage_reply",
    "working_reply",
]
