"""Templates of the create form (saved, listed, deleted, used), and what an approval request
spends on."""

from __future__ import annotations

from bot.core import create as core
from bot.core import create_views as views
from bot.core.create_summary import CreateFacts, create_summary, lease_summary
from bot.db.create_store import TemplateRow
from bot.providers.errors import ProviderError
from bot.providers.models import (
    ProviderName,
)
from bot.services.create.base import (
    CreateBase,
)
from bot.services.create.status_message import title
from bot.services.deployments import Actor
from bot.services.errors import NoMatchError, ServiceError


class TemplateOps(CreateBase):
    """Saved create forms of a workspace, and the plain-text summary approvers read."""

    async def save_template(
        self, actor: Actor, name: str, ref: str, provider: ProviderName | None
    ) -> views.TemplateSaved:
        if not core.TEMPLATE_NAME.match(name):
            raise ServiceError("A template name is lowercase letters, digits, . _ - (≤ 64).")
        resolved = await self.deployments.resolve(actor, ref, provider)
        try:
            text, _ = await resolved.provider.revision_template(resolved.deployment)
        except ProviderError:
            text = ""
        form = core.form_from_deployment(resolved.deployment, text)
        if not form:
            raise ServiceError(
                f"{resolved.provider.display_name} does not give back what this deployment "
                "runs; save a template from the create form instead (“Also save as template”)."
            )
        replaced = await self.store.save_template(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            name=name,
            provider=resolved.deployment.provider,
            form=form,
            created_by=actor.user_id,
        )
        return views.TemplateSaved(name, resolved.deployment.provider, replaced=bool(replaced))

    async def list_templates(self, actor: Actor) -> list[TemplateRow]:
        return await self.store.templates(team_id=actor.team_id, enterprise_id=actor.enterprise_id)

    async def delete_template(self, actor: Actor, name: str) -> str:
        """Forget a template; its name."""
        removed = await self.store.delete_template(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, name=name
        )
        if not removed:
            raise NoMatchError(f"There is no template `{name}`: `/deploy template list`.")
        return name

    async def template(self, actor: Actor, name: str) -> TemplateRow:
        row = await self.store.template(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, name=name
        )
        if row is None:
            raise NoMatchError(f"There is no template `{name}`: `/deploy template list`.")
        return row

    async def describe(self, request_id: str, bid_key: str | None = None) -> str:
        """What an approval request spends on: the full spec and the estimate (a create), or
        the chosen bid and its provider (a lease). Plain text: the caller escapes it."""
        row = await self._row(request_id)
        facts = CreateFacts(
            provider=row.provider,
            title=title(row),
            spec=row.spec,
            estimate=core.Estimate.from_json(row.estimate),
            deployment_id=row.deployment_id,
            bids=row.bids,
            providers=row.result.get("providers") or {},
        )
        if bid_key is not None:
            return lease_summary(facts, bid_key, self.clock())
        return create_summary(facts, self.clock())
