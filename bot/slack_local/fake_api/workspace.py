"""What the fake Slack knows: bot tokens, users, user groups, OAuth codes, views, files, DMs.

Plain dicts on one object; the method families (:mod:`.chat`, :mod:`.views`, …) read and
change them. Message timestamps and object ids are handed out in order, so runs repeat.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Json = dict[str, Any]

#: The first message ts handed out (``1700000000.000100``), in microseconds; each next one is +100.
FIRST_TS_MICROS = 1_700_000_000_000_100


@dataclass
class TokenInfo:
    """A bot token the fake accepts and the install it belongs to."""

    token: str
    team_id: str
    bot_user_id: str = "UBOT"
    bot_id: str = "BBOT"
    team_name: str = "Test Workspace"
    enterprise_id: str | None = None


@dataclass
class OAuthCode:
    team_id: str
    team_name: str
    user_id: str
    bot_token: str
    bot_user_id: str
    scope: str
    enterprise_id: str | None


class Workspace:
    """The registries the Web API methods answer from.

    ``upload_root`` gives the URL files are uploaded under (known once the server runs).
    """

    def __init__(self, upload_root: Callable[[], str]) -> None:
        self.upload_root = upload_root
        self.tokens: dict[str, TokenInfo] = {}
        self.users: dict[str, Json] = {}
        self.views: dict[str, Json] = {}
        #: User groups (``S…``) and their members, for ``usergroups.users.list``.
        self.usergroups: dict[str, list[str]] = {}
        #: Files uploaded with files.getUploadURLExternal + completeUploadExternal, by id.
        self.files: dict[str, Json] = {}
        self.oauth_codes: dict[str, OAuthCode] = {}
        self.dm_channels: dict[str, str] = {}
        #: Workflow step runs completed with functions.completeSuccess/completeError:
        #: execution id → ``{"ok": True, "outputs": …}`` or ``{"ok": False, "error": …}``.
        self.completions: dict[str, Json] = {}
        self._ts = FIRST_TS_MICROS
        self._serial = 0

    def next_ts(self) -> str:
        """The next message timestamp (``1700000000.000100``, then ``.000200``, …)."""
        self._ts += 100
        ts = self._ts - 100
        return f"{ts // 1_000_000}.{ts % 1_000_000:06d}"

    def next_id(self, prefix: str) -> str:
        """The next object id with ``prefix`` (``V…`` views, ``F…`` files, ``D…`` DMs)."""
        self._serial += 1
        return f"{prefix}{self._serial:08X}"

    def add_token(
        self,
        token: str,
        team_id: str,
        *,
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        team_name: str = "Test Workspace",
        enterprise_id: str | None = None,
    ) -> TokenInfo:
        """Accept ``token`` as a bot token of ``team_id``."""
        info = TokenInfo(token, team_id, bot_user_id, bot_id, team_name, enterprise_id)
        self.tokens[token] = info
        return info

    def revoke_token(self, token: str) -> None:
        """Make ``token`` answer ``invalid_auth`` from now on."""
        self.tokens.pop(token, None)

    def add_user(
        self,
        user_id: str,
        *,
        team_id: str = "T111",
        name: str | None = None,
        real_name: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        tz: str = "UTC",
        tz_offset: int = 0,
    ) -> Json:
        """Make ``users.info`` know ``user_id``; returns the user object it will answer."""
        name = name or user_id.lower()
        user: Json = {
            "id": user_id,
            "team_id": team_id,
            "name": name,
            "real_name": real_name or name,
            "deleted": False,
            "is_bot": False,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "tz": tz,
            "tz_offset": tz_offset,
            "profile": {"real_name": real_name or name, "display_name": name},
        }
        self.users[user_id] = user
        return user

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        """Make ``usergroups.users.list`` answer ``members`` for ``group_id``."""
        self.usergroups[group_id] = list(members)

    def add_oauth_code(
        self,
        code: str,
        *,
        team_id: str = "T111",
        team_name: str = "Test Workspace",
        user_id: str = "U111",
        bot_token: str | None = None,
        bot_user_id: str = "UBOT",
        scope: str = "commands,chat:write",
        enterprise_id: str | None = None,
    ) -> str:
        """Make ``oauth.v2.access`` exchange ``code`` (once, like Slack) for a bot install.

        The bot token (``xoxb-…``, generated unless given) is returned, and registered with
        :meth:`add_token` when the code is exchanged.
        """
        bot_token = bot_token or f"xoxb-{team_id}-{secrets.token_hex(12)}"
        self.oauth_codes[code] = OAuthCode(
            team_id, team_name, user_id, bot_token, bot_user_id, scope, enterprise_id
        )
        return bot_token


#: A Web API method: the workspace, the request body and the caller's install (None for
#: tokenless methods) in, Slack's JSON answer out.
Method = Callable[[Workspace, Json, TokenInfo | None], Json]
