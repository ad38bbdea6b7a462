"""Small pieces of wording shared by the deployment service's answers."""

from __future__ import annotations

from bot.providers.errors import ProviderError
from bot.providers.models import Capability
from bot.services.errors import ServiceError

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
    Capability.ROLLBACK: "roll back",
}


def ability(capability: Capability | None) -> str:
    """What follows "can't": ``roll back``, ``show logs``, ``scale``."""
    if capability is None:
        return "do that"
    return _ABILITIES.get(capability, capability.value)


#: What to do instead, where a network can't do something people often ask for.
_INSTEAD: dict[tuple[str, Capability], str] = {
    ("akash", Capability.LOGS): (
        " Akash Console's API doesn't hand out a workload's logs (only the provider's own "
        "endpoint does, with your wallet's certificate): forward them from the container to a "
        "log service (a logging sidecar, or your app's own log shipping) and read them there."
    ),
}


def instead(provider: str, capability: Capability | None) -> str:
    """A sentence (with its leading space) on the alternative, or ''."""
    return _INSTEAD.get((provider, capability), "") if capability is not None else ""


#: Operation names that are not written as one verb in a sentence.
_VERBS = {"rollback": "roll back"}


def verb(name: str) -> str:
    """An operation's name as a verb in a sentence: ``roll back``, ``stop``."""
    return _VERBS.get(name, name)


def article(word: str) -> str:
    return "an" if word[:1].lower() in "aeiou" else "a"


def sentence(text: str) -> str:
    text = text.rstrip()
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def message(exc: BaseException) -> str:
    if isinstance(exc, ProviderError | ServiceError):
        return exc.message
    return "something went wrong"
