"""``/deploy watch|unwatch|watching``."""

from __future__ import annotations

import logging
from collections import defaultdict

from bot.core import replies
from bot.core.arguments import Watch
from bot.core.operations import Operation, OpKind
from bot.core.render import PROVIDER_LABEL, clip, escape
from bot.core.replies import Reply
from bot.db.watch.store import WatchStore
from bot.services.deployments import Actor, DeploymentService
from bot.services.errors import NotConnectedError, ServiceError

log = logging.getLogger(__name__)


class WatchService:
    def __init__(self, store: WatchStore, deployments: DeploymentService) -> None:
        self.store = store
        self.deployments = deployments

    # -- commands --------------------------------------------------------------------------

    async def execute(self, actor: Actor, op: Operation) -> Reply:
        match op.kind:
            case OpKind.WATCHING:
                return await self.watching(actor)
            case OpKind.WATCH if _args(op).topic == "settings":
                return await self.settings(actor, op)
            case OpKind.WATCH:
                return await self.watch(actor, op)
            case OpKind.UNWATCH:
                return await self.unwatch(actor, op)
        raise ServiceError(f"`{op.kind.value}` is not a watch command.")

    def _channel(self, actor: Actor, op: Operation) -> str:
        channel = _args(op).filters.get("channel") or actor.channel_id
        if not channel:
            raise ServiceError("Run this in the channel to post to, or name one: `#channel`.")
        return channel

    async def watch(self, actor: Actor, op: Operation) -> Reply:
        channel = self._channel(actor, op)
        connected = await self.deployments.connected_names(actor)
        if not connected:
            raise NotConnectedError(
                "No provider account is connected yet: an admin can run "
                "`/deploy connect nosana|akash|neuranet`."
            )
        provider, deployment_id, label = "", "", ""
        if op.target:
            resolved = await self.deployments.resolve(actor, op.target, op.provider)
            provider = resolved.provider.name
            deployment_id = resolved.deployment.id
            label = resolved.deployment.name or deployment_id
            what = (
                f"*{escape(clip(label, 80))}* (`{escape(deployment_id)}`, "
                f"{PROVIDER_LABEL[provider]})"
            )
        elif op.provider:
            if op.provider not in connected:
                raise NotConnectedError(
                    f"{PROVIDER_LABEL[op.provider]} isn't connected: an admin can run "
                    f"`/deploy connect {op.provider}`."
                )
            provider = op.provider
            what = f"every {PROVIDER_LABEL[provider]} deployment (new ones too)"
        else:
            what = "every deployment on " + ", ".join(PROVIDER_LABEL[p] for p in connected)
            what += " (new ones too)"
        created = await self.store.add_watch(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            provider=provider,
            deployment_id=deployment_id,
            label=label,
            channel_id=channel,
            user_id=actor.user_id,
        )
        if not created:
            return replies.notice(f"<#{channel}> already watches {what}.")
        return replies.notice(
            f":eyes: <@{escape(actor.user_id)}> set <#{channel}> to watch {what}: one message per "
            "deployment, updated in place, with each status change in its thread, and alerts. "
            "`/deploy unwatch` stops it.",
            public=True,
        )

    async def unwatch(self, actor: Actor, op: Operation) -> Reply:
        channel = self._channel(actor, op)
        provider: str | None
        deployment_id: str | None
        if _args(op).topic == "all":
            provider = deployment_id = None
            what = "anything"
        elif op.target:
            rows = await self.store.list_watches(
                team_id=actor.team_id, enterprise_id=actor.enterprise_id
            )
            ref = op.target
            match = [
                r
                for r in rows
                if r.channel_id == channel
                and r.deployment_id
                and (not op.provider or r.provider == op.provider)
                and (ref in (r.deployment_id, r.label) or r.deployment_id.startswith(ref))
            ]
            if len(match) == 1:
                provider, deployment_id = match[0].provider, match[0].deployment_id
                what = f"*{escape(clip(match[0].label or deployment_id, 80))}*"
            else:
                resolved = await self.deployments.resolve(actor, ref, op.provider)
                provider, deployment_id = resolved.provider.name, resolved.deployment.id
                what = f"*{escape(clip(resolved.deployment.name or deployment_id, 80))}*"
        else:
            provider, deployment_id = op.provider or "", ""
            what = (
                f"every {PROVIDER_LABEL[op.provider]} deployment"
                if op.provider
                else "every deployment"
            )
        removed = await self.store.remove_watches(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            channel_id=channel,
            provider=provider,
            deployment_id=deployment_id,
        )
        if not removed:
            return replies.notice(
                f"<#{channel}> wasn't watching {what}. `/deploy watching` lists the watches."
            )
        return replies.notice(
            f":see_no_evil: <@{escape(actor.user_id)}> stopped <#{channel}> watching {what}.",
            public=True,
        )

    async def watching(self, actor: Actor) -> Reply:
        rows = await self.store.list_watches(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id
        )
        thresholds = await self.store.thresholds(actor.team_id, actor.enterprise_id)
        settings_line = (
            f"Alerts: Akash escrow below {thresholds.runway_hours:g} h; Nosana credits below "
            + (f"${thresholds.credits_usd:g}" if thresholds.credits_usd > 0 else "— (off)")
            + ". Change: `/deploy watch settings runway 12h credits 5`."
        )
        if not rows:
            return Reply(
                text="Nothing is watched.",
                blocks=[
                    replies.section(
                        "Nothing is watched yet. `/deploy watch all` in a channel posts every "
                        "deployment's status changes and alerts there."
                    ),
                    replies.context(settings_line),
                ],
            )
        by_channel: dict[str, list[str]] = defaultdict(list)
        for r in rows:
            if r.deployment_id:
                item = (
                    f"*{escape(clip(r.label or r.deployment_id, 60))}* "
                    f"(`{escape(clip(r.deployment_id, 60))}`, {PROVIDER_LABEL.get(r.provider)})"
                )
            elif r.provider:
                item = f"every {PROVIDER_LABEL.get(r.provider, r.provider)} deployment"
            else:
                item = "every deployment"
            by_channel[r.channel_id].append(item)
        lines = [f"<#{ch}>: " + "; ".join(items) for ch, items in by_channel.items()]
        text = "*Watching*\n" + "\n".join(lines)
        return Reply(
            text=f"{len(rows)} watches",
            blocks=[replies.section(text), replies.context(settings_line)],
        )

    async def settings(self, actor: Actor, op: Operation) -> Reply:
        runway = _args(op).filters.get("runway")
        credits = _args(op).filters.get("credits")
        if runway is None and credits is None:
            return await self.watching(actor)
        new = await self.store.set_thresholds(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            user_id=actor.user_id,
            runway_hours=float(runway) if runway is not None else None,
            credits_usd=float(credits) if credits is not None else None,
        )
        return replies.notice(
            f":gear: <@{escape(actor.user_id)}> set the alert thresholds: Akash escrow below "
            f"{new.runway_hours:g} h, Nosana credits below "
            + (f"${new.credits_usd:g}." if new.credits_usd > 0 else "— (off)."),
            public=True,
        )


def _args(op: Operation) -> Watch:
    if not isinstance(op.args, Watch):
        raise ServiceError(f"`{op.kind.value}` is not a watch command.")
    return op.args
