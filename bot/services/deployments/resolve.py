"""Which deployment a reference means: an id, a unique id prefix, or an exact name, searched
across the connected providers that can do what is asked; and the answer when nothing matches."""

from __future__ import annotations

import asyncio

from bot.core.render import PROVIDER_LABEL
from bot.providers import provider_class
from bot.providers.base import BaseProvider
from bot.providers.errors import (
    AuthenticationError,
    NotFoundError,
    ProviderError,
    ValidationError,
)
from bot.providers.models import PROVIDER_NAMES, Capability, Deployment, ProviderName
from bot.services.deployments.accounts import Accounts
from bot.services.deployments.model import Actor, Resolved
from bot.services.deployments.wording import ability, article, instead
from bot.services.errors import (
    AmbiguousError,
    NoMatchError,
    NotConnectedError,
    ServiceError,
    UnsupportedError,
)


async def candidates(
    accounts: Accounts,
    actor: Actor,
    provider: ProviderName | None,
    capability: Capability | None,
) -> list[BaseProvider]:
    """The clients to search: the named provider, or every connected one able to ``capability``."""
    if provider is not None:
        client = await accounts.client(actor, provider)
        if capability is not None and capability not in client.capabilities:
            able = [
                PROVIDER_LABEL[p]
                for p in PROVIDER_NAMES
                if capability in provider_class(p).capabilities
            ]
            raise UnsupportedError(
                f"{PROVIDER_LABEL[provider]} deployments can't {ability(capability)}"
                + (f"; {', '.join(able)} ones can." if able else ".")
                + instead(provider, capability)
            )
        return [client]
    names = await accounts.connected_names(actor)
    if not names:
        raise NotConnectedError(
            "No provider account is connected to this workspace yet: an admin can run "
            "`/deploy connect nosana|akash|neuranet`."
        )
    clients = [await accounts.client(actor, name) for name in names]
    if capability is not None:
        capable = [c for c in clients if capability in c.capabilities]
        if not capable:
            connected = ", ".join(PROVIDER_LABEL[n] for n in names)
            raise UnsupportedError(
                f"None of the connected providers ({connected}) can {ability(capability)}."
            )
        clients = capable
    return clients


async def resolve(
    accounts: Accounts,
    actor: Actor,
    ref: str,
    provider: ProviderName | None = None,
    capability: Capability | None = None,
) -> Resolved:
    """The one deployment ``ref`` names: an id, a unique id prefix, or an exact name."""
    clients = await candidates(accounts, actor, provider, capability)
    failures: dict[str, ProviderError] = {}
    direct = await _direct(clients, ref, failures)
    if direct is not None:
        return direct
    unlisted: set[str] = set()
    everything = await _everything(clients, failures, unlisted)
    found = _match(ref, everything)
    if found is not None:
        return found
    if capability is not None and provider is None:
        await _refuse_if_elsewhere(accounts, actor, ref, clients, capability)
    raise no_match(ref, clients, everything, failures, unlisted)


async def _direct(
    clients: list[BaseProvider], ref: str, failures: dict[str, ProviderError]
) -> Resolved | None:
    """``ref`` read as an id on each provider: the one hit, or None (several: ambiguous)."""

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
        for c, d in zip(clients, await asyncio.gather(*(direct(c) for c in clients)), strict=True)
        if d is not None
    ]
    if len(found) > 1:
        raise AmbiguousError(
            f"“{ref}” is an id on several networks.", ref, [f.deployment for f in found]
        )
    return found[0] if found else None


async def _everything(
    clients: list[BaseProvider], failures: dict[str, ProviderError], unlisted: set[str]
) -> list[Resolved]:
    """Every deployment the clients list (a failing provider is noted and skipped)."""

    async def listing(client: BaseProvider) -> list[Deployment]:
        try:
            return await client.list_deployments()
        except ProviderError as exc:
            failures[client.name] = exc
            unlisted.add(client.name)
            return []

    lists = await asyncio.gather(*(listing(c) for c in clients))
    return [Resolved(c, d) for c, items in zip(clients, lists, strict=True) for d in items]


def _match(ref: str, everything: list[Resolved]) -> Resolved | None:
    """The first rule with exactly one match wins; a rule with several is ambiguous."""
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
    return None


async def _refuse_if_elsewhere(
    accounts: Accounts,
    actor: Actor,
    ref: str,
    clients: list[BaseProvider],
    capability: Capability,
) -> None:
    """``ref`` is a deployment on a connected provider that can't do ``capability``: say
    so, rather than "no match"."""
    searched = {c.name for c in clients}
    others = [n for n in await accounts.connected_names(actor) if n not in searched]
    if not others:
        return
    try:
        elsewhere = await _resolve_among(accounts, actor, ref, others)
    except ServiceError:
        elsewhere = None
    if elsewhere is not None:
        label = elsewhere.provider.display_name
        raise UnsupportedError(
            f"“{elsewhere.deployment.name or elsewhere.deployment.id}” is "
            f"{article(label)} {label} deployment, and {label} can't "
            f"{ability(capability)}." + instead(elsewhere.provider.name, capability)
        )


async def _resolve_among(
    accounts: Accounts, actor: Actor, ref: str, names: list[ProviderName]
) -> Resolved | None:
    for name in names:
        try:
            return await resolve(accounts, actor, ref, name, None)
        except (ServiceError, ProviderError):
            continue
    return None


def no_match(
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
