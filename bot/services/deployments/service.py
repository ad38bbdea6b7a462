"""The deployment service: an Operation in, a typed result out (rendering is the pipeline's
step), via the workspace's provider clients.

Every entry point (slash command, button, modal, chain, the local shell) ends here, so the
rules live in one place: which deployment a reference means, whether the provider can do the
operation in the deployment's current state, and how the outcome reads. The work itself is
done by the sibling modules; this class ties them to one workspace's keys and clients.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot import metrics
from bot.core import results
from bot.core.arguments import Help, Listing
from bot.core.operations import Chain, Operation, OpKind
from bot.core.preflight_state import state_words
from bot.core.results import ChainRun, Changed
from bot.db.keys import KeyStore
from bot.providers.base import BaseProvider
from bot.providers.models import Capability, ProviderName
from bot.services.deployments import catalog, changes, listing, reads
from bot.services.deployments import resolve as resolving
from bot.services.deployments.accounts import Accounts, utc_now
from bot.services.deployments.model import (
    Actor,
    ChangeRecorder,
    Progress,
    Resolved,
    RevisionForm,
)
from bot.services.errors import ServiceError, UnsupportedError
from bot.services.pool import ProviderPool


class DeploymentService(Accounts):
    def __init__(
        self,
        keys: KeyStore,
        pool: ProviderPool,
        *,
        clock: Callable[[], datetime] = utc_now,
        recorder: ChangeRecorder | None = None,
    ) -> None:
        super().__init__(keys, pool, clock=clock)
        #: Attribution hook (the watcher's); failures in it never fail the operation.
        self.recorder = recorder

    # -- resolving a reference -----------------------------------------------------------------

    async def _candidates(
        self, actor: Actor, provider: ProviderName | None, capability: Capability | None
    ) -> list[BaseProvider]:
        return await resolving.candidates(self, actor, provider, capability)

    async def resolve(
        self,
        actor: Actor,
        ref: str,
        provider: ProviderName | None = None,
        capability: Capability | None = None,
    ) -> Resolved:
        """The one deployment ``ref`` names: an id, a unique id prefix, or an exact name."""
        return await resolving.resolve(self, actor, ref, provider, capability)

    # -- running operations --------------------------------------------------------------------

    async def execute(self, actor: Actor, op: Operation) -> results.Reading:
        """Answer one read (raises ServiceError/ProviderError). Changes don't come here: they
        take the pipeline's road (preflight, the policy) and reach :meth:`apply`."""
        try:
            result = await self._execute(actor, op)
        except Exception:
            metrics.OPERATIONS.labels(op.kind.value, "error").inc()
            raise
        metrics.OPERATIONS.labels(op.kind.value, "ok").inc()
        return result

    async def _execute(self, actor: Actor, op: Operation) -> results.Reading:
        match op.kind:
            case OpKind.HELP:
                return results.Help(op.args.topic if isinstance(op.args, Help) else None)
            case OpKind.PROVIDERS:
                return await self.providers(actor)
            case OpKind.LIST:
                status = op.args.status if isinstance(op.args, Listing) else None
                return await self.list_page(actor, op.provider, status, state=None)
            case OpKind.MARKETS | OpKind.NODES:
                return await catalog.markets(self, actor, op)
            case OpKind.BALANCE:
                return await catalog.balance(self, actor, op.provider)
            case OpKind.SHOW | OpKind.LOGS | OpKind.EVENTS | OpKind.JOBS:
                resolved = await self.resolve(
                    actor, op.target or "", op.provider, op.kind.capability
                )
                return await reads.read(op, resolved, self.clock())
        raise ServiceError(f"`{op.kind.value}` can't be run this way.")

    async def apply(self, actor: Actor, op: Operation, resolved: Resolved) -> Changed:
        """Run one change on a resolved deployment (the policy gate has already decided)."""
        return await self._mutate(actor, op, resolved)

    async def _mutate(self, actor: Actor, op: Operation, resolved: Resolved) -> Changed:
        return await changes.mutate(actor, op, resolved, recorder=self.recorder, clock=self.clock)

    async def run_chain(self, actor: Actor, chain: Chain, progress: Progress) -> ChainRun:
        """Run the steps in order, reporting each; stop at the first failure."""
        first = chain.steps[0]
        resolved = await self.resolve(actor, chain.target, chain.provider, first.kind.capability)
        return await changes.run_chain(
            actor, chain, resolved, progress, recorder=self.recorder, clock=self.clock
        )

    # -- listing -------------------------------------------------------------------------------

    async def list_page(
        self,
        actor: Actor,
        provider: ProviderName | None,
        status: str | None,
        *,
        state: str | None,
    ) -> results.Listing:
        """One page of deployments across the chosen providers; ``state`` comes from Next."""
        return await listing.list_page(self, actor, provider, status, state=state)

    # -- revisions -----------------------------------------------------------------------------

    async def revision_form(self, actor: Actor, op: Operation) -> RevisionForm:
        resolved = await self.resolve(actor, op.target or "", op.provider, Capability.REVISE)
        allowed = resolved.provider.available_actions(resolved.deployment)
        if Capability.REVISE not in allowed:
            raise UnsupportedError(
                f"“{resolved.deployment.name}” can't take a new revision while it is "
                f"{state_words(resolved.deployment)}."
            )
        text, language = await resolved.provider.revision_template(resolved.deployment)
        return RevisionForm(resolved.provider.name, resolved.deployment, text, language)

    async def check_revision(self, actor: Actor, provider: ProviderName, text: str) -> str | None:
        client = await self.client(actor, provider)
        if not text.strip():
            return "Paste the new definition."
        return client.check_revision(text)
