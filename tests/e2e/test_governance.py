"""Roles over HTTP: nobody can lock a workspace out of managing roles, and the command line
lets a locked-out workspace back in (on SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.policy import Role, WorkspacePolicy
from bot.db.access import AccessStore
from bot.db.audit import AuditLog
from tests.e2e.harness import ADMIN, MEMBER, TEAM, SlackEnv, replica, slack_env

OTHER = "U222"
ADMIN2 = "UADMIN2"
OPS = "S0OPS"
GUARD_ADVICE = "make someone else an admin first (`/deploy role grant @someone admin`)"


@pytest.fixture
async def env(db_url: str, tmp_path: Path) -> AsyncIterator[SlackEnv]:
    async with slack_env(db_url, tmp_path, policy=None) as running:
        running.slack.add_user(OTHER, team_id=TEAM, name="olga")
        running.slack.add_usergroup(OPS, [OTHER])
        yield running


def note(env: SlackEnv, answer: Any) -> str:
    return str(env.last_response(answer.response_key)["text"])


async def say(env: SlackEnv, text: str, user: str) -> str:
    return note(env, await env.command(text, user=user))


async def grants(env: SlackEnv) -> dict[str, Role]:
    return {g.subject_id: g.role for g in await AccessStore(env.storage.engine).grants(TEAM)}


async def refusals(env: SlackEnv) -> list[tuple[str, str | None, str | None]]:
    rows = await AuditLog(env.storage.engine).export(team_id=TEAM)
    return [(r.action, r.target, r.detail) for r in rows if r.result == "refused"]


async def test_the_last_admin_cannot_demote_themselves(env: SlackEnv) -> None:
    said = await say(env, f"role grant <@{ADMIN}|boss> viewer", ADMIN)
    assert f"<@{ADMIN}> is the last admin here" in said and GUARD_ADVICE in said
    assert "\n" not in said
    assert await grants(env) == {}
    # Still an admin: the policy can still be changed.
    changed = await say(env, "policy spend allow", ADMIN)
    assert "changed the policy" in changed
    assert [(a, t) for a, t, _ in await refusals(env)] == [("role.grant", ADMIN)]
    assert "last admin" in ((await refusals(env))[0][2] or "")


async def test_with_a_second_admin_the_first_may_step_down(env: SlackEnv) -> None:
    await say(env, f"role grant <@{MEMBER}> admin", ADMIN)
    said = await say(env, f"role grant <@{ADMIN}> viewer", ADMIN)
    assert f"made <@{ADMIN}> a viewer" in said
    # Now MEMBER is the only admin and cannot give up the admin grant.
    said = await say(env, f"role revoke <@{MEMBER}>", MEMBER)
    assert f"<@{MEMBER}> is the last admin here" in said and GUARD_ADVICE in said
    said = await say(env, f"role grant <@{MEMBER}> operator", MEMBER)
    assert f"<@{MEMBER}> is the last admin here" in said
    assert await grants(env) == {ADMIN: Role.VIEWER, MEMBER: Role.ADMIN}
    # Giving the Slack admin their default back makes a second admin: then it works.
    await say(env, f"role revoke <@{ADMIN}>", MEMBER)
    said = await say(env, f"role revoke <@{MEMBER}>", MEMBER)
    assert f"revoked <@{MEMBER}>'s admin role" in said
    assert await grants(env) == {}


async def test_the_last_admin_group_grant_cannot_be_revoked(env: SlackEnv) -> None:
    await say(env, f"role grant <!subteam^{OPS}|@ops> admin", ADMIN)
    await say(env, f"role grant <@{ADMIN}> operator", ADMIN)  # OTHER is an admin via @ops
    said = await say(env, f"role revoke <!subteam^{OPS}>", OTHER)
    assert f"<!subteam^{OPS}> holds the last admin grant" in said and GUARD_ADVICE in said
    said = await say(env, f"role grant <!subteam^{OPS}> viewer", OTHER)
    assert f"<!subteam^{OPS}> holds the last admin grant" in said
    said = await say(env, f"role grant <@{OTHER}> operator", OTHER)
    assert f"<@{OTHER}> is the last admin here" in said
    assert (await grants(env))[OPS] is Role.ADMIN
    # With a second admin the group can go.
    await say(env, f"role grant <@{MEMBER}> admin", OTHER)
    said = await say(env, f"role revoke <!subteam^{OPS}>", OTHER)
    assert f"revoked <!subteam^{OPS}>'s admin role" in said
    assert [a for a, _, _ in await refusals(env)] == ["role.revoke", "role.grant", "role.grant"]


async def test_a_default_role_that_leaves_nobody_admin_is_refused(env: SlackEnv) -> None:
    access = AccessStore(env.storage.engine)
    # An admin default (e.g. set before the parser refused it): everyone is an admin.
    await access.save_policy(TEAM, None, WorkspacePolicy(default_role=Role.ADMIN), updated_by=ADMIN)
    said = await say(env, f"role grant <@{ADMIN}> viewer", MEMBER)
    assert f"made <@{ADMIN}> a viewer" in said
    said = await say(env, "policy default-role operator", MEMBER)
    assert "With operator as the default role nobody would be an admin" in said
    assert GUARD_ADVICE in said
    assert (await access.policy(TEAM)).default_role is Role.ADMIN
    # With an admin of their own, the default can go down.
    await say(env, f"role grant <@{OTHER}> admin", MEMBER)
    said = await say(env, "policy default-role operator", MEMBER)
    assert "*Default role* for people without a grant: operator" in said
    assert (await access.policy(TEAM)).default_role is Role.OPERATOR
    refused = await refusals(env)
    assert [(a, t) for a, t, _ in refused] == [("policy.default-role", None)]


# -- the command line --------------------------------------------------------------------------


async def cli(env: SlackEnv, *args: str) -> tuple[int, str, str]:
    environment = {
        **os.environ,
        "DATABASE_URL": env.settings.effective_database_url,
        "DEPLOYBOT_DATA_DIR": str(env.settings.data_dir),
    }
    environment.pop("DEPLOYBOT_ENCRYPTION_KEYS", None)  # roles need no provider keys
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "roles", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=environment,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_a_locked_out_workspace_recovers_from_the_command_line(env: SlackEnv) -> None:
    # Locked out the way older versions allowed: the only admin demoted themselves.
    await AccessStore(env.storage.engine).grant(
        TEAM, None, subject_type="user", subject_id=ADMIN, role=Role.VIEWER, granted_by=ADMIN
    )
    said = await say(env, f"role grant <@{ADMIN}> admin", ADMIN)
    assert "Only deploybot admins can change roles" in said

    code, out, err = await cli(env, "grant", TEAM, OTHER, "admin")
    assert code == 0, err
    assert out.strip() == f"made user {OTHER} an admin in {TEAM}"
    # The granted person manages roles over Slack at once.
    said = await say(env, f"role grant <@{ADMIN}> admin", OTHER)
    assert f"<@{OTHER}> made <@{ADMIN}> an admin (was viewer)" in said
    assert await grants(env) == {ADMIN: Role.ADMIN, OTHER: Role.ADMIN}

    code, out, err = await cli(env, "list", TEAM)
    assert code == 0, err
    lines = out.splitlines()
    assert sorted(line.split("\t")[:4] for line in lines[:-1]) == [
        ["user", OTHER, "admin", "by cli"],
        ["user", ADMIN, "admin", f"by {OTHER}"],
    ]
    assert lines[-1].startswith("everyone else: operator")

    code, out, err = await cli(env, "revoke", TEAM, OTHER)
    assert code == 0, err
    assert out.strip() == f"revoked {OTHER}'s admin role in {TEAM}"
    code, out, _ = await cli(env, "revoke", TEAM, OTHER)
    assert code == 1 and "had no role granted" in out
    assert await grants(env) == {ADMIN: Role.ADMIN}

    rows = await AuditLog(env.storage.engine).export(team_id=TEAM)
    by_cli = [(r.action, r.target, r.result, r.params) for r in rows if r.user_id == "cli"]
    assert by_cli == [
        ("role.grant", OTHER, "ok", {"role": "admin", "previous": None}),
        ("role.revoke", OTHER, "ok", {"previous": "admin"}),
        ("role.revoke", OTHER, "noop", {"previous": None}),
    ]
    assert (await AuditLog(env.storage.engine).verify(team_id=TEAM)).ok


async def test_the_command_line_refuses_what_is_not_a_workspace_or_a_person(
    env: SlackEnv,
) -> None:
    code, out, err = await cli(env, "grant", TEAM, "bob", "admin")
    assert code == 2 and out == ""
    assert "'bob' is not a Slack user id (U…/W…) or user group id (S…)" in err
    code, _, err = await cli(env, "grant", "acme", OTHER, "admin")
    assert code == 2 and "'acme' is not a Slack team id" in err
    code, _, err = await cli(env, "grant", TEAM, OTHER, "root")
    assert code == 2 and "invalid choice: 'root'" in err
    assert await grants(env) == {}


async def test_two_admins_stepping_down_at_once_on_two_replicas_leave_one(env: SlackEnv) -> None:
    env.slack.add_user(ADMIN2, team_id=TEAM, name="chief", is_admin=True)
    async with replica(env) as second:
        answers = await asyncio.gather(
            env.command(f"role grant <@{ADMIN}> viewer", user=ADMIN, settle=False),
            second.command(f"role grant <@{ADMIN2}> viewer", user=ADMIN2, settle=False),
        )
        await env.settle()
        await second.settle()
    said = [note(env, a) for a in answers]
    stepped_down = [s for s in said if "a viewer" in s]
    assert len(stepped_down) <= 1
    # Refused by the guard before writing, or put back after seeing the other change.
    assert len([s for s in said if GUARD_ADVICE in s]) == 2 - len(stepped_down)
    left = {ADMIN, ADMIN2} - set(await grants(env))
    assert len(left) == 1 + (1 - len(stepped_down))
