"""The deployment service: an Operation in, a Reply out, via the workspace's provider clients.

Every entry point (slash command, button, modal, chain, the local shell) ends here, so the
rules live in one place: which deployment a reference means, whether the provider can do the
operation in the deployment's current state, and how the outcome reads.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from pydantic import SecretStr

from bot import metrics
from bot.core import replies
from bot.core.arguments import (
    Catalog,
    Deposit,
    Help,
    Listing,
    Logs,
    Rename,
    Revise,
    Rollback,
    Scale,
    Schedule,
    Timeout,
)
from bot.core.operations import Chain, Operation, OpKind
from bot.core.registry import MUTATIONS
from bot.core.render import PROVIDER_LABEL, deployment_card, deployment_list, escape
from bot.core.replies import BalanceLine, ConnectedProvider, Reply
from bot.core.results import Changed, render_changed
from bot.db.keys import KeyStore, StoredKeyInfo
from bot.providers import provider_class
from bot.providers.base import BaseProvider
from bot.providers.errors import (
    AuthenticationError,
    NotFoundError,
    ProviderError,
    ValidationError,
)
from bot.providers.models import (
    PROVIDER_NAMES,
    Capability,
    Deployment,
    DeploymentStatus,
    Market,
    ProviderName,
)
from bot.services.errors import (
    AmbiguousError,
    NoMatchError,
    NotConnectedError,
    ServiceError,
    UnsupportedError,
)
from bot.services.pool import ProviderPool

log = logging.getLogger(__name__)

LIST_PAGE_SIZE = 20
#: How many provider pages one "Next" click may read to fill a page (status filters thin them).
MAX_PAGE_READS = 6
DEFAULT_TAIL = 50
HIDDEN_BY_DEFAULT = frozenset({DeploymentStatus.ARCHIVED, DeploymentStatus.CLOSED})


@dataclass(frozen=True)
class Actor:
    """Who asks, from where."""

    team_id: str
    user_id: str
    enterprise_id: str | None = None
    channel_id: str | None = None


@dataclass
class Resolved:
    provider: BaseProvider
    deployment: Deployment


@dataclass
class RevisionForm:
    provider: ProviderName
    deployment: Deployment
    text: str
    language: str


Progress = Callable[[Reply], Awaitable[None]]


class ChangeRecorder(Protocol):
    """Told about every change deploybot makes to a deployment (after it succeeded), so the
    watcher can credit the person in the channel ("by @ana via /deploy stop")."""

    async def record_change(
        self, actor: Actor, op: Operation, provider: ProviderName, deployment_id: str
    ) -> None: ...


def _now() -> datetime:
    return datetime.now(UTC)


class DeploymentService:
    def __init__(
        self,
        keys: KeyStore,
        pool: ProviderPool,
        *,
        clock: Callable[[], datetime] = _now,
        recorder: ChangeRecorder | None = None,
    ) -> None:
        self.keys = keys
        self.pool = pool
        self.clock = clock
        #: Attribution hook (the watcher's); failures in it never fail the operation.
        self.recorder = recorder

    # -- provider accounts ---------------------------------------------------------------------

    async def connected(self, actor: Actor) -> list[StoredKeyInfo]:
        rows = await self.keys.list(team_id=actor.team_id)
        return [r for r in rows if r.enterprise_id == (actor.enterprise_id or "")]

    async def connected_names(self, actor: Actor) -> list[ProviderName]:
        names = {r.provider for r in await self.connected(actor)}
        return [p for p in PROVIDER_NAMES if p in names]

    async def providers_reply(self, actor: Actor) -> Reply:
        rows = await self.connected(actor)
        return replies.providers_reply(
            [
                ConnectedProvider(
                    provider=r.provider,
                    key_hint=r.key_hint,
                    connected_by=r.connected_by,
                    connected_at=r.connected_at,
                    last_verified_at=r.last_verified_at,
                )
                for r in rows
                if r.provider in PROVIDER_NAMES
            ]
        )

    async def verify_key(self, provider: ProviderName, key: SecretStr) -> None:
        """A cheap authenticated call with ``key``; raises a ProviderError when it fails."""
        client = self.pool.build(provider, key)
        try:
            await client.verify()
        finally:
            await client.aclose()

    async def connect(
        self, actor: Actor, provider: ProviderName, key: SecretStr, *, verified: bool = True
    ) -> StoredKeyInfo:
        info = await self.keys.put(
            team_id=actor.team_id,
            enterprise_id=actor.enterprise_id,
            provider=provider,
            api_key=key,
            connected_by=actor.user_id,
            verified=verified,
        )
        return info

    async def disconnect(self, actor: Actor, provider: ProviderName) -> bool:
        removed = await self.keys.remove(
            team_id=actor.team_id, enterprise_id=actor.enterprise_id, provider=provider
        )
        self.pool.forget(actor.team_id, actor.enterprise_id)
        return removed > 0

    async def forget_workspace(self, team_id: str, enterprise_id: str | None) -> int:
        """Delete everything deploybot stores for a workspace (after an uninstall)."""
        removed = await self.keys.remove(team_id=team_id, enterprise_id=enterprise_id)
        self.pool.forget(team_id, enterprise_id)
        return removed

    async def client(self, actor: Actor, provider: ProviderName) -> BaseProvider:
        return await self.pool.get(actor.team_id, provider, actor.enterprise_id)

    # -- resolving a reference -----------------------------------------------------------------

    async def _candidates(
        self, actor: Actor, provider: ProviderName | None, capability: Capability | None
    ) -> list[BaseProvider]:
        if provider is not None:
            client = await self.client(actor, provider)
            if capability is not None and capability not in client.capabilities:
                able = [
                    PROVIDER_LABEL[p]
                    for p in PROVIDER_NAMES
                    if capability in provider_class(p).capabilities
                ]
                raise UnsupportedError(
                    f"{PROVIDER_LABEL[provider]} deployments can't {_ability(capability)}"
                    + (f"; {', '.join(able)} ones can." if able else ".")
                )
            return [client]
        names = await self.connected_names(actor)
        if not names:
            raise NotConnectedError(
                "No provider account is connected to this workspace yet: an admin can run "
                "`/deploy connect nosana|akash|neuranet`."
            )
        clients = [await self.client(actor, name) for name in names]
        if capability is not None:
            capable = [c for c in clients if capability in c.capabilities]
            if not capable:
                connected = ", ".join(PROVIDER_LABEL[n] for n in names)
                raise UnsupportedError(
                    f"None of the connected providers ({connected}) can {_ability(capability)}."
                )
            clients = capable
        return clients

    async def resolve(
        self,
        actor: Actor,
        ref: str,
        provider: ProviderName | None = None,
        capability: Capability | None = None,
    ) -> Resolved:
        """The one deployment ``ref`` names: an id, a unique id prefix, or an exact name."""
        clients = await self._candidates(actor, provider, capability)
        failures: dict[str, ProviderError] = {}

        async def direct(client: BaseProvider) -> Deployment | None:
            try:
                return await client.get(ref)
            except (NotFoundError, ValidationError):
                return None
            except ProviderError as exc:
                failures[client.name] = exc
                return None

        found = [
            Resolved(c, d)
            for c, d in zip(
                clients, await asyncio.gather(*(direct(c) for c in clients)), strict=True
            )
            if d is not None
        ]
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            raise AmbiguousError(
                f"“{ref}” is an id on several networks.", ref, [f.deployment for f in found]
            )

        unlisted: set[str] = set()

        async def listing(client: BaseProvider) -> list[Deployment]:
            try:
                return await client.list_deployments()
            except ProviderError as exc:
                failures[client.name] = exc
                unlisted.add(client.name)
                return []

        lists = await asyncio.gather(*(listing(c) for c in clients))
        everything = [
            Resolved(c, d) for c, items in zip(clients, lists, strict=True) for d in items
        ]
        for rule in (
            lambda d: d.id == ref,
            lambda d: d.name == ref,
            lambda d: d.id.startswith(ref) and len(ref) >= 3,
            lambda d: d.name.casefold() == ref.casefold(),
        ):
            matches = [r for r in everything if rule(r.deployment)]
            if len(matches) == 1:
                return matches[0]
            if len(matches) > 1:
                raise AmbiguousError(
                    f"“{ref}” matches {len(matches)} deployments.",
                    ref,
                    [m.deployment for m in matches],
                )
        if capability is not None and provider is None:
            await self._refuse_if_elsewhere(actor, ref, clients, capability)
        raise self._no_match(ref, clients, everything, failures, unlisted)

    async def _refuse_if_elsewhere(
        self, actor: Actor, ref: str, clients: list[BaseProvider], capability: Capability
    ) -> None:
        """``ref`` is a deployment on a connected provider that can't do ``capability``: say
        so, rather than "no match"."""
        searched = {c.name for c in clients}
        others = [n for n in await self.connected_names(actor) if n not in searched]
        if not others:
            return
        try:
            elsewhere = await self._resolve_among(actor, ref, others)
        except ServiceError:
            elsewhere = None
        if elsewhere is not None:
            label = elsewhere.provider.display_name
            raise UnsupportedError(
                f"“{elsewhere.deployment.name or elsewhere.deployment.id}” is "
                f"{_article(label)} {label} deployment, and {label} can't "
                f"{_ability(capability)}."
            )

    @staticmethod
    def _no_match(
        ref: str,
        clients: list[BaseProvider],
        everything: list[Resolved],
        failures: dict[str, ProviderError],
        unlisted: set[str],
    ) -> Exception:
        """Nothing matched ``ref``: what was searched, names close to it, what failed."""
        listed = [c for c in clients if c.name not in unlisted]
        if not listed:
            # Nothing could be searched: the provider's failure is the answer, not "no match".
            return failures[clients[0].name]
        searched = ", ".join(PROVIDER_LABEL[c.name] for c in listed)
        message = f"No deployment on {searched} matches “{ref}”."
        close = sorted(
            {
                r.deployment.name
                for r in everything
                if r.deployment.name and ref.casefold() in r.deployment.name.casefold()
            }
        )[:5]
        if close:
            message += " Did you mean " + ", ".join(f"“{n}”" for n in close) + "?"
        if failures:
            name, exc = next(iter(failures.items()))
            message += f" {PROVIDER_LABEL[name]} could not be checked: {exc.message}"
            if isinstance(exc, AuthenticationError):
                message += f" An admin can reconnect it with `/deploy connect {name}`."
        else:
            message += " `/deploy list` shows what exists."
        return NoMatchError(message)

    async def _resolve_among(
        self, actor: Actor, ref: str, names: list[ProviderName]
    ) -> Resolved | None:
        for name in names:
            try:
                return await self.resolve(actor, ref, name, None)
            except (ServiceError, ProviderError):
                continue
        return None

    # -- running operations --------------------------------------------------------------------

    async def execute(self, actor: Actor, op: Operation) -> Reply:
        """Run one operation and say how it went (raises ServiceError/ProviderError)."""
        try:
            reply = await self._execute(actor, op)
        except Exception:
            metrics.OPERATIONS.labels(op.kind.value, "error").inc()
            raise
        metrics.OPERATIONS.labels(op.kind.value, "ok").inc()
        return reply

    async def _execute(self, actor: Actor, op: Operation) -> Reply:
        match op.kind:
            case OpKind.HELP:
                return replies.help_reply(op.args.topic if isinstance(op.args, Help) else None)
            case OpKind.PROVIDERS:
                return await self.providers_reply(actor)
            case OpKind.LIST:
                status = op.args.status if isinstance(op.args, Listing) else None
                return await self.list_reply(actor, op.provider, status, state=None)
            case OpKind.MARKETS | OpKind.NODES:
                return await self._markets(actor, op)
            case OpKind.BALANCE:
                return await self._balance(actor, op.provider)
            case kind if kind in MUTATIONS:
                resolved = await self.resolve(
                    actor, op.target or "", op.provider, op.kind.capability
                )
                return render_changed(await self._mutate(actor, op, resolved))
            case OpKind.SHOW | OpKind.LOGS | OpKind.EVENTS | OpKind.JOBS:
                resolved = await self.resolve(
                    actor, op.target or "", op.provider, op.kind.capability
                )
                return await self._read(op, resolved)
        raise ServiceError(f"`{op.kind.value}` can't be run this way.")

    async def apply(self, actor: Actor, op: Operation, resolved: Resolved) -> Changed:
        """Run one change on a resolved deployment (the policy gate has already decided)."""
        return await self._mutate(actor, op, resolved)

    async def _mutate(self, actor: Actor, op: Operation, resolved: Resolved) -> Changed:
        client, before = resolved.provider, resolved.deployment
        problem = state_problem(client, before, op.kind)
        if problem is not None:
            raise UnsupportedError(problem)
        did = before.id
        after = await _call(client, did, op)
        log.info(
            "operation done",
            extra={
                "team": actor.team_id,
                "user": actor.user_id,
                "operation": op.kind.value,
                "provider": client.name,
                "deployment": did,
            },
        )
        if self.recorder is not None:
            try:
                await self.recorder.record_change(actor, op, client.name, did)
            except Exception:
                log.warning("recording who made a change failed", exc_info=True)
        return Changed(
            op=op,
            user_id=actor.user_id,
            before=before,
            after=after,
            allowed=client.available_actions(after) if after else frozenset(),
            at=self.clock(),
        )

    async def _read(self, op: Operation, resolved: Resolved) -> Reply:
        client, deployment = resolved.provider, resolved.deployment
        match op.args:
            case Logs(tail=tail, since=since):
                lines = await client.logs(deployment.id, tail=tail or DEFAULT_TAIL, since=since)
                return replies.logs_reply(deployment, lines)
        match op.kind:
            case OpKind.SHOW:
                return replies.card_reply(
                    deployment, client.available_actions(deployment), self.clock()
                )
            case OpKind.EVENTS:
                return replies.events_reply(
                    deployment, await client.events(deployment.id), self.clock()
                )
            case OpKind.JOBS:
                return replies.jobs_reply(deployment, await client.jobs(deployment.id))
        raise ServiceError(f"`{op.kind.value}` is not a read.")  # pragma: no cover

    async def run_chain(self, actor: Actor, chain: Chain, progress: Progress) -> Reply:
        """Run the steps in order, reporting each; stop at the first failure."""
        first = chain.steps[0]
        resolved = await self.resolve(actor, chain.target, chain.provider, first.kind.capability)
        statuses: list[tuple[str, str]] = [(":white_circle:", "")] * len(chain.steps)
        card: list[dict[str, Any]] | None = None
        target_id = resolved.deployment.id
        for i, step in enumerate(chain.steps):
            statuses[i] = (":hourglass_flowing_sand:", "running")
            await progress(replies.chain_reply(chain, statuses))
            try:
                if step.kind.capability not in resolved.provider.capabilities:
                    raise UnsupportedError(
                        f"{resolved.provider.display_name} deployments can't {step.kind.value}."
                    )
                current = await resolved.provider.get(target_id) if i else resolved.deployment
                changed = await self._mutate(
                    actor,
                    step.retarget(resolved.provider.name, target_id),
                    Resolved(resolved.provider, current),
                )
            except (ServiceError, ProviderError) as exc:
                statuses[i] = (":x:", escape(_message(exc)))
                for j in range(i + 1, len(chain.steps)):
                    statuses[j] = (":heavy_minus_sign:", "skipped")
                reply = replies.chain_reply(chain, statuses, card)
                reply.error = True
                return reply
            statuses[i] = (":white_check_mark:", "")
            if changed.after is not None:
                card = deployment_card(changed.after, allowed=changed.allowed, now=changed.at)
        return replies.chain_reply(chain, statuses, card)

    # -- listing -------------------------------------------------------------------------------

    async def list_reply(
        self,
        actor: Actor,
        provider: ProviderName | None,
        status: str | None,
        *,
        state: str | None,
    ) -> Reply:
        """One page of deployments across the chosen providers; ``state`` comes from Next."""
        if state:
            page_state = _decode_state(state)
            providers: list[ProviderName] = page_state["p"]
            cursor: str | None = page_state.get("c")
            status = page_state.get("s")
            number = int(page_state.get("n", 1))
        else:
            providers = [provider] if provider else await self.connected_names(actor)
            cursor = None
            number = 1
            if not providers:
                raise NotConnectedError(
                    "No provider account is connected yet: an admin can run "
                    "`/deploy connect nosana|akash|neuranet`."
                )
        clients = {p: await self.client(actor, p) for p in providers}
        items: list[Deployment] = []
        notes: list[str] = []
        reads = 0
        remaining = list(providers)
        while remaining and len(items) < LIST_PAGE_SIZE and reads < MAX_PAGE_READS:
            name = remaining[0]
            reads += 1
            try:
                page = await clients[name].list_page(cursor=cursor, limit=LIST_PAGE_SIZE)
            except ProviderError as exc:
                notes.append(f"{PROVIDER_LABEL[name]}: {exc.message}")
                remaining.pop(0)
                cursor = None
                continue
            items.extend(d for d in page.items if _wanted(d, status))
            if page.next_cursor and page.next_cursor != cursor:
                cursor = page.next_cursor
            else:
                remaining.pop(0)
                cursor = None
        next_value = (
            _encode_state({"p": remaining, "c": cursor, "s": status, "n": number + 1})
            if remaining
            else None
        )
        where = ", ".join(PROVIDER_LABEL[p] for p in providers)
        title = f"Deployments on {where}" + (f" ({status})" if status else "")
        if number > 1:
            title += f", page {number}"
        blocks = deployment_list(items, now=self.clock(), title=title, next_value=next_value)
        if status is None:
            blocks.insert(
                len(blocks) - (1 if next_value else 0),
                replies.context("Archived and closed deployments are hidden: `/deploy list all`."),
            )
        for note in notes:
            blocks.insert(1, replies.context(f":warning: {escape(note)}"))
        return Reply(text=f"{title}: {len(items)} shown", blocks=blocks[:50])

    # -- markets, nodes, balance ---------------------------------------------------------------

    async def _markets(self, actor: Actor, op: Operation) -> Reply:
        provider = op.provider or ("nosana" if op.kind is OpKind.MARKETS else "neuranet")
        capability = op.kind.capability
        client = await self.client(actor, provider)
        if capability not in client.capabilities:
            raise UnsupportedError(
                f"{client.display_name} has no {op.kind.value}: "
                + ("markets are Nosana's" if op.kind is OpKind.MARKETS else "nodes are NeuraNET's")
                + "."
            )
        asked = op.args.filters if isinstance(op.args, Catalog) else {}
        filters = dict(asked)
        gpu = filters.pop("gpu", None)
        items: list[Market]
        if op.kind is OpKind.MARKETS:
            items = await client.markets(**({"type": filters["type"]} if "type" in filters else {}))
        else:
            items = await client.nodes(**_node_filters(filters))
        if gpu:
            items = [m for m in items if m.gpu and gpu.casefold() in m.gpu.casefold()]
        return replies.markets_reply(op.kind, items, asked)

    async def _balance(self, actor: Actor, provider: ProviderName | None) -> Reply:
        names = [provider] if provider else await self.connected_names(actor)
        if not names:
            raise NotConnectedError(
                "No provider account is connected yet: an admin can run `/deploy connect …`."
            )
        clients = [await self.client(actor, n) for n in names]
        with_balance = [c for c in clients if Capability.BALANCE in c.capabilities]
        if not with_balance:
            raise UnsupportedError(
                ", ".join(c.display_name for c in clients) + " has no account balance to show."
            )

        async def one(client: BaseProvider) -> BalanceLine:
            try:
                balance = await client.balance()
            except ProviderError as exc:
                return BalanceLine(client.name, None, problem=_message(exc))
            line = BalanceLine(client.name, balance)
            if Capability.DEPOSIT in client.capabilities:
                try:
                    for d in await client.list_deployments():
                        runway = client.funds_runway(d)
                        if runway is not None:
                            line.runways.append((d.name, d.id, runway.total_seconds() / 3600))
                except ProviderError as exc:
                    line.problem = _message(exc)
            return line

        return replies.balance_reply(await asyncio.gather(*(one(c) for c in with_balance)))

    # -- revisions -----------------------------------------------------------------------------

    async def revision_form(self, actor: Actor, op: Operation) -> RevisionForm:
        resolved = await self.resolve(actor, op.target or "", op.provider, Capability.REVISE)
        allowed = resolved.provider.available_actions(resolved.deployment)
        if Capability.REVISE not in allowed:
            raise UnsupportedError(
                f"“{resolved.deployment.name}” can't take a new revision while it is "
                f"{resolved.deployment.status.value}."
            )
        text, language = await resolved.provider.revision_template(resolved.deployment)
        return RevisionForm(resolved.provider.name, resolved.deployment, text, language)

    async def check_revision(self, actor: Actor, provider: ProviderName, text: str) -> str | None:
        client = await self.client(actor, provider)
        if not text.strip():
            return "Paste the new definition."
        return client.check_revision(text)


_VERBS = {v.value for v in MUTATIONS}
#: How "can't …" reads for capabilities whose name is not a verb.
_ABILITIES: dict[Capability, str] = {
    Capability.LOGS: "show logs",
    Capability.EVENTS: "show events",
    Capability.JOBS: "list jobs",
    Capability.MARKETS: "list markets",
    Capability.NODES: "list nodes",
    Capability.BALANCE: "show a balance",
    Capability.TIMEOUT: "change timeouts",
    Capability.SCHEDULE: "change schedules",
    Capability.REVISE: "take new revisions",
    Capability.DEPOSIT: "take deposits",
}


async def _call(client: BaseProvider, did: str, op: Operation) -> Deployment | None:
    """The provider call that carries out one change (the deployment after it, if any)."""
    match op.args:
        case Scale(replicas=replicas):
            return await client.scale(did, replicas)
        case Timeout(minutes=minutes):
            return await client.set_timeout(did, minutes)
        case Schedule(cron=cron):
            return await client.set_schedule(did, cron)
        case Rollback(revision=revision):
            return await client.rollback(did, revision)
        case Rename(name=name):
            return await client.rename(did, name)
        case Revise(definition=str(definition)):
            return await client.revise(did, definition)
        case Deposit(amount_usd=Decimal() as amount):
            return await client.deposit(did, amount)
    match op.kind:
        case OpKind.START:
            return await client.start(did)
        case OpKind.STOP:
            return await client.stop(did)
        case OpKind.ARCHIVE:
            return await client.archive(did)
        case OpKind.DELETE:
            await client.delete(did)
            return None
        case OpKind.CLOSE:
            await client.close(did)
            return await _get_or_none(client, did)
    raise ServiceError(f"`{op.describe()}` is not a change deploybot can make.")


def state_problem(client: BaseProvider, before: Deployment, kind: OpKind) -> str | None:
    """Why ``kind`` can't be done to the deployment in its current state (None: it can)."""
    capability = kind.capability
    assert capability is not None
    strategy = before.extras.get("strategy")
    if capability is Capability.SCHEDULE and strategy not in (None, "SCHEDULED"):
        return (
            f"“{before.name or before.id}” has no schedule to change: it runs with the "
            f"{strategy} strategy, and only SCHEDULED deployments run on a cron."
        )
    allowed = client.available_actions(before)
    if capability in allowed:
        return None
    can = sorted(c.value for c in allowed if c.value in _VERBS)
    return (
        f"Can't {kind.value} “{before.name or before.id}”: it is "
        f"{before.status.value.replace('_', ' ')} on {client.display_name} "
        f"({before.raw_status})." + (f" It can: {', '.join(can)}." if can else "")
    )


def _ability(capability: Capability) -> str:
    return _ABILITIES.get(capability, capability.value)


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def _sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def _wanted(deployment: Deployment, status: str | None) -> bool:
    if status == "all":
        return True
    if status is None:
        return deployment.status not in HIDDEN_BY_DEFAULT
    return deployment.status.value == status


def _encode_state(state: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode()


def _decode_state(value: str) -> dict[str, Any]:
    try:
        state = json.loads(base64.urlsafe_b64decode(value.encode()))
        providers = [p for p in state["p"] if p in PROVIDER_NAMES]
    except (ValueError, KeyError, TypeError) as exc:
        raise ServiceError("That list is out of date: run `/deploy list` again.") from exc
    if not providers:
        raise ServiceError("That list is out of date: run `/deploy list` again.")
    state["p"] = providers
    return state


def _message(exc: BaseException) -> str:
    if isinstance(exc, ProviderError | ServiceError):
        return exc.message
    return "something went wrong"


async def _get_or_none(client: BaseProvider, deployment_id: str) -> Deployment | None:
    try:
        return await client.get(deployment_id)
    except ProviderError:
        return None


def _node_filters(filters: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in filters.items():
        match key:
            case "region" | "status":
                out[key] = value
            case "min-vram":
                out["min_gpu_vram_mb"] = int(value) * 1024
            case "min-cpu":
                out["min_cpu_cores"] = int(value)
            case "min-ram":
                out["min_ram_mb"] = int(value) * 1024
            case "max-price":
                try:
                    out["max_hourly_rate_usd"] = Decimal(value)
                except InvalidOperation:
                    raise ServiceError(f"max-price must be a number, not “{value}”.") from None
    return out


def error_reply(exc: BaseException) -> Reply:
    """The one-line, private answer for a failure (never a stack trace)."""
    if isinstance(exc, ProviderError):
        label = PROVIDER_LABEL.get(exc.provider, exc.provider or "The provider")
        message = exc.message
        if exc.advice and exc.advice not in message:
            message = f"{_sentence(message)} {exc.advice}"
        if isinstance(exc, AuthenticationError):
            message = (
                f"{label} rejected the stored API key (wrong, revoked or expired): an admin can "
                f"run `/deploy connect {exc.provider}` with a new one."
            )
        return replies.error(escape(message))
    if isinstance(exc, ServiceError):
        return replies.error(exc.message if exc.mrkdwn else escape(exc.message))
    return replies.error("Something went wrong on our side; it has been logged. Try again.")


def pick_reply(exc: AmbiguousError, op: Operation | Chain) -> Reply:
    values = [replies.encode_pick(op.retarget(d.provider, d.id)) for d in exc.candidates[:5]] + [
        None
    ] * max(0, len(exc.candidates) - 5)
    return replies.pick_reply(exc.ref, exc.candidates, values)


__all__: Sequence[str] = (
    "Actor",
    "DeploymentService",
    "Resolved",
    "RevisionForm",
    "error_reply",
    "pick_reply",
)
