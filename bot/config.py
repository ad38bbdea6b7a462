"""Settings, read from the environment (and a ``.env`` file) with pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url

NOSANA_PRODUCTION_URL = "https://dashboard.k8s.prd.nos.ci/api"
AKASH_PRODUCTION_URL = "https://console-api.akash.network"
NEURANET_PRODUCTION_URL = "https://api.neuranet.network/api"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    nosana_api_url: str = Field(NOSANA_PRODUCTION_URL, validation_alias="NOSANA_API_URL")
    akash_api_url: str = Field(AKASH_PRODUCTION_URL, validation_alias="AKASH_API_URL")
    neuranet_api_url: str = Field(NEURANET_PRODUCTION_URL, validation_alias="NEURANET_API_URL")

    #: PostgreSQL in production (Heroku's ``postgres://…`` accepted); SQLite file when unset.
    database_url: SecretStr | None = Field(None, validation_alias="DATABASE_URL")
    #: Where the default SQLite database (and its local encryption key file) live.
    data_dir: Path = Field(Path("data"), validation_alias="DEPLOYBOT_DATA_DIR")
    #: Comma-separated Fernet keys; the first encrypts. Required unless the database is SQLite.
    encryption_keys: SecretStr | None = Field(None, validation_alias="DEPLOYBOT_ENCRYPTION_KEYS")

    # -- Slack ------------------------------------------------------------------------------
    #: Single-workspace mode: the bot token (``xoxb-…``) of the one workspace.
    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    #: Multi-workspace OAuth (install link at ``/slack/install``).
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")
    slack_scopes: str = Field(
        "commands,chat:write,chat:write.public,im:write,users:read,usergroups:read,files:write",
        validation_alias="SLACK_SCOPES",
    )
    #: Socket Mode (development): an app-level token (``xapp-…``) with connections:write.
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    #: The Slack Web API base URL (tests and proxies); slack_sdk's default when unset.
    slack_api_url: str | None = Field(None, validation_alias="SLACK_API_URL")
    #: How often each replica looks for approval requests to expire or remind about (seconds).
    approval_sweep_seconds: float = Field(
        15.0, gt=0, validation_alias="DEPLOYBOT_APPROVAL_SWEEP_SECONDS"
    )
    # -- durable work (jobs) ------------------------------------------------------------------
    #: How long a worker holds a job without a heartbeat before another may take it over (s).
    job_lease_seconds: float = Field(30.0, gt=0, validation_alias="DEPLOYBOT_JOB_LEASE_SECONDS")
    #: How often an idle worker looks for jobs written by other processes (s).
    job_poll_seconds: float = Field(0.25, gt=0, validation_alias="DEPLOYBOT_JOB_POLL_SECONDS")
    #: Jobs one worker process runs at once.
    job_slots: int = Field(16, gt=0, validation_alias="DEPLOYBOT_JOB_SLOTS")
    # -- creating deployments -----------------------------------------------------------------
    #: Seconds to wait for Akash bids after a create before saying none came.
    akash_bid_timeout: float = Field(180.0, gt=0, validation_alias="DEPLOYBOT_AKASH_BID_TIMEOUT")
    #: Seconds between polls while waiting for bids or for a new deployment to come up.
    create_poll_interval: float = Field(
        5.0, gt=0, validation_alias="DEPLOYBOT_CREATE_POLL_INTERVAL"
    )
    #: Seconds a new deployment's status message is kept up to date (until it runs).
    create_follow_timeout: float = Field(
        600.0, ge=0, validation_alias="DEPLOYBOT_CREATE_FOLLOW_TIMEOUT"
    )
    #: How often each (workspace, provider) with a watch is polled, in seconds.
    poll_interval: float = Field(30.0, gt=0, validation_alias="DEPLOYBOT_POLL_INTERVAL")
    port: int = Field(3000, validation_alias="PORT")
    #: Where ``deploybot worker`` answers /livez, /readyz and /metrics.
    worker_port: int = Field(3001, validation_alias="DEPLOYBOT_WORKER_PORT")
    #: Log lines as JSON objects (for a log pipeline) or text; unset: JSON for ``serve``,
    #: text for ``run``, ``shell`` and the other commands.
    log_format: Literal["json", "text"] | None = Field(
        None, validation_alias="DEPLOYBOT_LOG_FORMAT"
    )
    #: After SIGTERM, how long ``serve`` lets in-flight requests and operations finish (s).
    shutdown_timeout: float = Field(20.0, gt=0, validation_alias="DEPLOYBOT_SHUTDOWN_TIMEOUT")
    host: str = Field("0.0.0.0", validation_alias="HOST")

    @property
    def slack_configured(self) -> bool:
        """Whether there is anything to serve Slack with (else the local shell runs)."""
        return bool(self.slack_bot_token or self.slack_client_id or self.slack_app_token)

    @property
    def oauth_enabled(self) -> bool:
        return bool(self.slack_client_id and self.slack_client_secret)

    def provider_url(self, provider: str) -> str:
        return {
            "nosana": self.nosana_api_url,
            "akash": self.akash_api_url,
            "neuranet": self.neuranet_api_url,
        }[provider]

    @property
    def effective_database_url(self) -> str:
        if self.database_url is not None and self.database_url.get_secret_value().strip():
            return self.database_url.get_secret_value().strip()
        return f"sqlite:///{(self.data_dir / 'deploybot.db').resolve()}"

    @property
    def shell_database_path(self) -> Path:
        """The database ``deploybot run`` / ``shell`` keeps when it runs the sandboxes."""
        return (self.data_dir / "shell.db").resolve()

    def for_local_tools(self) -> Settings:
        """The settings the command-line tools (audit verify, roles) use: without a
        DATABASE_URL and a ``data/deploybot.db``, the local shell's database when it has one."""
        configured = self.database_url is not None and self.database_url.get_secret_value().strip()
        default = (self.data_dir / "deploybot.db").resolve()
        if configured or default.exists() or not self.shell_database_path.exists():
            return self
        return self.model_copy(
            update={"database_url": SecretStr(f"sqlite:///{self.shell_database_path}")}
        )

    @property
    def key_file(self) -> Path:
        """The local encryption key file: next to the SQLite database."""
        url = make_url(self.effective_database_url)
        if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
            return Path(url.database).with_name("deploybot.key")
        return self.data_dir / "deploybot.key"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
