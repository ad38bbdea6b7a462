"""``auth.test`` and ``oauth.v2.access`` (which installs the bot: its token is then accepted)."""

from __future__ import annotations

from bot.slack_local.fake_api.workspace import Json, Method, TokenInfo, Workspace


def auth_test(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    assert auth is not None
    domain = auth.team_name.lower().replace(" ", "-")
    return {
        "ok": True,
        "url": f"https://{domain}.slack.com/",
        "team": auth.team_name,
        "user": "deploybot",
        "team_id": auth.team_id,
        "user_id": auth.bot_user_id,
        "bot_id": auth.bot_id,
        "enterprise_id": auth.enterprise_id,
        "is_enterprise_install": False,
    }


def oauth_v2_access(ws: Workspace, body: Json, auth: TokenInfo | None) -> Json:
    grant = ws.oauth_codes.pop(str(body.get("code", "")), None)
    if grant is None:
        return {"ok": False, "error": "invalid_code"}
    info = ws.add_token(
        grant.bot_token,
        grant.team_id,
        bot_user_id=grant.bot_user_id,
        bot_id=f"B{grant.team_id}",
        team_name=grant.team_name,
        enterprise_id=grant.enterprise_id,
    )
    enterprise = {"id": grant.enterprise_id, "name": "Enterprise"} if grant.enterprise_id else None
    return {
        "ok": True,
        "app_id": "A111",
        "authed_user": {"id": grant.user_id},
        "scope": grant.scope,
        "token_type": "bot",
        "access_token": info.token,
        "bot_user_id": info.bot_user_id,
        "team": {"id": grant.team_id, "name": grant.team_name},
        "enterprise": enterprise,
        "is_enterprise_install": False,
    }


METHODS: dict[str, Method] = {"auth.test": auth_test, "oauth.v2.access": oauth_v2_access}
