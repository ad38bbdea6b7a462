"""Preflight, the I/O side: gather the facts ``bot.core.preflight`` judges.

At most one provider read per operation, bounded by a short timeout: the account balance when
the operation spends money (start, scale up, timeout up, deposit, create, accepting bids) and
the provider reports one; nothing otherwise (a stop needs no read). When the read fails or is
slow, preflight goes on without money facts and says so in a note: an outage never blocks it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from bot.core.arguments import Revise
from bot.core.budget import BudgetFacts
from bot.core.operations import Chain, Operation, OpKind
from bot.core.preflight import Facts, spends
from bot.core.preflight_create import AcceptFacts, CreateFacts
from bot.core.preflight_money import Account
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError
from bot.providers.models import Bid, Capability, Deployment, Market

log = logging.getLogger(__name__)

#: How long preflight waits for the one provider read (seconds).
READ_TIMEOUT = 3.0
#: How each provider's money is called in messages.
_LABEL = {"nosana": "Nosana credits", "akash": "Akash balance", "neuranet": "NeuraNET balance"}

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _steps(op: Operation | Chain) -> tuple[Operation, ...]:
    return op.steps if isinstance(op, Chain) else (op,)


def needs_balance(op: Operation | Chain, deployment: Deployment | None) -> bool:
    """Does any step spend money (so the balance is worth one read)?"""
    return any(spends(step, deployment) for step in _steps(op))


async def read_account(
    client: BaseProvider, *, timeout: float = READ_TIMEOUT
) -> tuple[Account | None, str | None]:
    """The account's balance, or None and a note saying why it was not checked."""
    if Capability.BALANCE not in client.capabilities:
        return None, (
            f"{client.display_name} does not report a balance: it checks funds itself when "
            "the deployment starts."
        )
    try:
        balance = await asyncio.wait_for(client.balance(), timeout)
    except TimeoutError:
        return None, (
            f"The balance was not checked: {client.display_name} did not answer within "
            f"{timeout:g} s."
        )
    except ProviderError as exc:
        log.warning("preflight balance read failed", extra={"provider": client.name})
        return None, f"The balance was not checked: {exc}"
    label = _LABEL.get(client.name, f"{client.display_name} balance")
    return Account(balance_usd=balance.available_usd, label=label), None


def _definition_problem(client: BaseProvider, op: Operation | Chain) -> str | None:
    for step in _steps(op):
        definition = step.typed(Revise).definition if step.kind is OpKind.REVISE else None
        problem = client.check_revision(definition) if definition else None
        if problem:
            return problem
    return None


async def gather(
    client: BaseProvider,
    op: Operation | Chain,
    deployment: Deployment | None,
    *,
    timeout: float = READ_TIMEOUT,
    clock: Clock = _utcnow,
    budget: BudgetFacts | None = None,
) -> Facts:
    """The facts for ``preflight(op)`` on ``deployment`` (already resolved by the caller)."""
    account: Account | None = None
    notes: tuple[str, ...] = ()
    if needs_balance(op, deployment):
        account, note = await read_account(client, timeout=timeout)
        notes = (note,) if note else ()
    return Facts(
        op=op,
        provider=client.name,
        display_name=client.display_name,
        deployment=deployment,
        capabilities=client.capabilities,
        allowed=client.available_actions(deployment) if deployment else frozenset(),
        now=clock(),
        account=account,
        actions_of=client.available_actions,
        definition_problem=_definition_problem(client, op),
        notes=notes,
        budget=budget,
    )


async def gather_create(
    client: BaseProvider,
    spec: Mapping[str, Any],
    place: Market | None,
    *,
    timeout: float = READ_TIMEOUT,
    clock: Clock = _utcnow,
) -> CreateFacts:
    """The facts for ``preflight_create``: the balance (one read) where the provider has one.

    NeuraNET publishes no template list (specs/neuranet.md §4), so ``templates`` stays None
    and the template id is checked by NeuraNET when it receives the create.
    """
    account, note = await read_account(client, timeout=timeout)
    notes = [note] if note else []
    if client.name == "neuranet" and spec.get("template_id"):
        notes.append(
            "NeuraNET publishes no template list: the template id is checked when NeuraNET "
            "receives the create."
        )
    return CreateFacts(
        provider=client.name,
        display_name=client.display_name,
        spec=spec,
        now=clock(),
        place=place,
        account=account,
        notes=tuple(notes),
    )


async def gather_accept(
    client: BaseProvider,
    deployment: Deployment,
    bids: Sequence[Bid],
    *,
    timeout: float = READ_TIMEOUT,
    clock: Clock = _utcnow,
) -> AcceptFacts:
    """The facts for ``preflight_accept``: the account balance (one read)."""
    account, note = await read_account(client, timeout=timeout)
    return AcceptFacts(
        deployment=deployment,
        bids=tuple(bids),
        allowed=client.available_actions(deployment),
        now=clock(),
        account=account,
        notes=(note,) if note else (),
    )
