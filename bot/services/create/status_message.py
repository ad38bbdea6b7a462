"""The status message of a deployment request, rendered from its row (any replica can)."""

from __future__ import annotations

from datetime import datetime

from bot.core import create_views as views
from bot.core.create import auto_accept
from bot.core.render import PROVIDER_LABEL
from bot.db.create_store import RequestRow
from bot.providers.errors import ProviderError
from bot.providers.models import (
    Capability,
    Deployment,
)
from bot.services.deployments import Actor, DeploymentService
from bot.services.errors import ServiceError


async def status_of(row: RequestRow, deployments: DeploymentService, now: datetime) -> views.Status:
    """Where the request stands, from its row (and the provider's word on what it can do)."""
    deployment: Deployment | None = None
    raw = row.result.get("deployment")
    if isinstance(raw, dict) and row.state in ("created", "leased"):
        try:
            deployment = Deployment.model_validate(raw)
        except ValueError:
            deployment = None
    allowed: frozenset[Capability] = frozenset()
    if deployment is not None:
        try:
            client = await deployments.client(actor_of(row), row.provider)  # type: ignore[arg-type]
            allowed = client.available_actions(deployment)
        except (ServiceError, ProviderError):
            allowed = frozenset()
    return views.Status(
        request_id=row.id,
        provider=row.provider,
        state=row.state,
        user_id=row.user_id,
        title=title(row),
        deployment=deployment,
        deployment_id=row.deployment_id,
        bids=row.bids,
        providers=row.result.get("providers") or {},
        accepted=row.accepted_bid,
        error=row.error,
        allowed=allowed,
        now=now,
        auto_rule=_auto_rule(row),
        auto=row.result.get("auto") if isinstance(row.result.get("auto"), dict) else None,
    )


def _auto_rule(row: RequestRow) -> str | None:
    rule = auto_accept.Rule.from_json(row.spec.get("_auto_accept"))
    return rule.describe() if rule is not None else None


def title(row: RequestRow) -> str:
    name = row.spec.get("name") or row.form.get("name")
    if name:
        return str(name)
    image = row.form.get("image") or row.form.get("custom_image") or row.form.get("template_id")
    return str(image or f"{PROVIDER_LABEL.get(row.provider, row.provider)} deployment")


def actor_of(row: RequestRow) -> Actor:
    """Who asked for the request, from where (for the clients used on its behalf)."""
    return Actor(
        team_id=row.team_id,
        user_id=row.user_id,
        enterprise_id=row.enterprise_id or None,
        channel_id=row.channel_id,
    )
