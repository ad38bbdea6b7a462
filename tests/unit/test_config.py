"""Settings: production URLs by default, each overridable from the environment."""

from __future__ import annotations

import pytest

from bot.config import (
    AKASH_PRODUCTION_URL,
    NEURANET_PRODUCTION_URL,
    NOSANA_PRODUCTION_URL,
    Settings,
)
from bot.providers import build_provider, provider_class


def test_defaults_are_the_real_production_urls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir("/")  # no stray .env
    settings = Settings()
    assert settings.provider_url("nosana") == NOSANA_PRODUCTION_URL
    assert settings.provider_url("akash") == AKASH_PRODUCTION_URL
    assert settings.provider_url("neuranet") == NEURANET_PRODUCTION_URL
    assert NOSANA_PRODUCTION_URL == "https://dashboard.k8s.prd.nos.ci/api"
    assert AKASH_PRODUCTION_URL == "https://console-api.akash.network"
    assert NEURANET_PRODUCTION_URL == "https://api.neuranet.network/api"


def test_environment_overrides_each_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOSANA_API_URL", "http://127.0.0.1:1/api")
    monkeypatch.setenv("AKASH_API_URL", "http://127.0.0.1:2")
    monkeypatch.setenv("NEURANET_API_URL", "http://127.0.0.1:3/api")
    settings = Settings()
    assert settings.nosana_api_url == "http://127.0.0.1:1/api"
    assert settings.akash_api_url == "http://127.0.0.1:2"
    assert settings.neuranet_api_url == "http://127.0.0.1:3/api"


@pytest.mark.parametrize("name", ["nosana", "akash", "neuranet"])
async def test_build_provider_uses_the_configured_url(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(f"{name.upper()}_API_URL", "http://127.0.0.1:9/x")
    provider = build_provider(name, "k", Settings())
    try:
        assert provider.http.base_url.rstrip("/") == "http://127.0.0.1:9/x"
        assert provider.name == name
    finally:
        await provider.aclose()


def test_unknown_provider_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown provider 'aws'"):
        provider_class("aws")


def test_database_defaults_to_a_sqlite_file_with_the_key_beside_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DEPLOYBOT_DATA_DIR", str(tmp_path))
    settings = Settings()
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve()}/deploybot.db"
    assert settings.key_file == tmp_path.resolve() / "deploybot.key"


def test_database_url_is_secret_in_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://u:hunter2@db/app")
    settings = Settings()
    assert "hunter2" not in repr(settings)
    assert settings.effective_database_url == "postgres://u:hunter2@db/app"


def test_poll_interval_defaults_to_30_seconds_and_must_be_positive(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError

    monkeypatch.chdir("/")
    monkeypatch.delenv("DEPLOYBOT_POLL_INTERVAL", raising=False)
    assert Settings().poll_interval == 30
    monkeypatch.setenv("DEPLOYBOT_POLL_INTERVAL", "5")
    assert Settings().poll_interval == 5
    monkeypatch.setenv("DEPLOYBOT_POLL_INTERVAL", "0")
    with pytest.raises(ValidationError):
        Settings()
