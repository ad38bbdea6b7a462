"""Settings, read from the environment (and a ``.env`` file) with pydantic-settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

NOSANA_PRODUCTION_URL = "https://dashboard.k8s.prd.nos.ci/api"
AKASH_PRODUCTION_URL = "https://console-api.akash.network"
NEURANET_PRODUCTION_URL = "https://api.neuranet.network/api"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    nosana_api_url: str = Field(NOSANA_PRODUCTION_URL, validation_alias="NOSANA_API_URL")
    akash_api_url: str = Field(AKASH_PRODUCTION_URL, validation_alias="AKASH_API_URL")
    neuranet_api_url: str = Field(NEURANET_PRODUCTION_URL, validation_alias="NEURANET_API_URL")

    def provider_url(self, provider: str) -> str:
        return {
            "nosana": self.nosana_api_url,
            "akash": self.akash_api_url,
            "neuranet": self.neuranet_api_url,
        }[provider]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
