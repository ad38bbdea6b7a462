"""Provider clients behind one protocol (see ``base.Provider``)."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from bot.config import Settings, get_settings
from bot.providers.base import BaseProvider, Provider
from bot.providers.models import PROVIDER_NAMES, Capability, Deployment, DeploymentStatus


def provider_class(name: str) -> type[BaseProvider]:
    """The client class for a provider name ('nosana', 'akash' or 'neuranet')."""
    if name == "nosana":
        from bot.providers.nosana import NosanaProvider

        return NosanaProvider
    if name == "akash":
        from bot.providers.akash import AkashProvider

        return AkashProvider
    if name == "neuranet":
        from bot.providers.neuranet import NeuraNetProvider

        return NeuraNetProvider
    raise ValueError(f"unknown provider {name!r}; expected one of {', '.join(PROVIDER_NAMES)}")


def build_provider(
    name: str, api_key: SecretStr | str, settings: Settings | None = None, **kwargs: Any
) -> BaseProvider:
    """A ready client for ``name`` against the configured (or sandbox) base URL."""
    settings = settings or get_settings()
    kwargs.setdefault("base_url", settings.provider_url(name))
    return provider_class(name)(api_key, **kwargs)


__all__ = [
    "PROVIDER_NAMES",
    "BaseProvider",
    "Capability",
    "Deployment",
    "DeploymentStatus",
    "Provider",
    "build_provider",
    "provider_class",
]
