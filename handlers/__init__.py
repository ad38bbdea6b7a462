"""Slack listeners, one module per Slack surface; each only acks, builds an Operation and
hands it to the services (see ``bot/services``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.app import DeployBot


def register_all(bot: DeployBot) -> None:
    from handlers import (
        actions,
        approvals,
        commands,
        create,
        events,
        functions,
        home_pages,
        log_follow,
        shortcuts,
        timers,
        views,
    )

    commands.register(bot)
    actions.register(bot)
    views.register(bot)
    events.register(bot)
    approvals.register(bot)
    create.register(bot)
    timers.register(bot)
    log_follow.register(bot)
    functions.register(bot)
    shortcuts.register(bot)
    home_pages.register(bot)
