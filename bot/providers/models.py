"""Provider-neutral models: what the rest of deploybot sees of any network.

Money is ``Decimal`` US dollars throughout (providers' cents, micro-denoms and per-block prices
are converted at the edge, in each provider module).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

ProviderName = Literal["nosana", "akash", "neuranet"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("nosana", "akash", "neuranet")


class Capability(StrEnum):
    """Operations a provider can perform. The UI offers only what a provider declares."""

    CREATE = "create"
    START = "start"
    STOP = "stop"
    ARCHIVE = "archive"
    DELETE = "delete"
    CLOSE = "close"
    SCALE = "scale"
    TIMEOUT = "timeout"
    SCHEDULE = "schedule"
    REVISE = "revise"
    ROLLBACK = "rollback"
    RENAME = "rename"
    LOGS = "logs"
    EVENTS = "events"
    JOBS = "jobs"
    BIDS = "bids"
    LEASE = "lease"
    DEPOSIT = "deposit"
    BALANCE = "balance"
    MARKETS = "markets"
    NODES = "nodes"


class DeploymentStatus(StrEnum):
    """Normalized status. The provider's own word is kept in ``Deployment.raw_status``."""

    DRAFT = "draft"
    PENDING = "pending"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    FAILED = "failed"
    INSUFFICIENT_FUNDS = "insufficient_funds"
    ARCHIVED = "archived"
    CLOSED = "closed"
    UNKNOWN = "unknown"

    @property
    def is_terminal(self) -> bool:
        return self in (DeploymentStatus.ARCHIVED, DeploymentStatus.CLOSED)


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Endpoint(_Model):
    url: str
    port: int | str | None = None
    #: What the endpoint belongs to: a Nosana op id, an Akash service name, an https label.
    label: str | None = None


class Deployment(_Model):
    provider: ProviderName
    id: str
    name: str
    status: DeploymentStatus
    raw_status: str
    replicas: int | None = None
    endpoints: tuple[Endpoint, ...] = ()
    #: What the deployment costs now, in USD per hour (None when the provider does not say).
    cost_per_hour_usd: Decimal | None = None
    #: What it has cost so far, in USD (None when unknown).
    total_cost_usd: Decimal | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    started_at: datetime | None = None
    active_revision: int | None = None
    #: Provider-specific facts (strategy, timeout, market, escrow, leases, node …), JSON-safe.
    extras: dict[str, Any] = Field(default_factory=dict)


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a listing; ``next_cursor`` is opaque and None on the last page."""

    model_config = ConfigDict(frozen=True)

    items: list[T]
    next_cursor: str | None = None
    total: int | None = None


class Job(_Model):
    id: str
    state: str
    node: str | None = None
    revision: int | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    created_at: datetime | None = None
    extras: dict[str, Any] = Field(default_factory=dict)


class LogLine(_Model):
    message: str
    stream: str = "stdout"
    timestamp: datetime | None = None
    #: Where the line came from (a job id, an op id, a service name), when known.
    source: str | None = None


class Event(_Model):
    type: str
    message: str
    created_at: datetime | None = None
    category: str | None = None
    tx: str | None = None


class Revision(_Model):
    revision: int
    created_at: datetime | None = None
    definition: dict[str, Any] = Field(default_factory=dict)


class Market(_Model):
    """A place to run (a Nosana GPU market or a NeuraNET node) with its price."""

    id: str
    name: str
    price_per_hour_usd: Decimal | None = None
    gpu: str | None = None
    vram_mb: int | None = None
    region: str | None = None
    status: str | None = None
    load: str | None = None
    extras: dict[str, Any] = Field(default_factory=dict)


class Bid(_Model):
    """An Akash provider's offer for one group of a deployment."""

    deployment_id: str
    provider_address: str
    gseq: int
    oseq: int
    bseq: int | None = None
    state: str
    price_per_block: Decimal
    denom: str
    price_per_hour_usd: Decimal
    gpu: str | None = None
    extras: dict[str, Any] = Field(default_factory=dict)


class ProviderInfo(_Model):
    """Public facts about an Akash provider (shown next to its bids)."""

    address: str
    name: str | None = None
    host_uri: str | None = None
    is_audited: bool | None = None
    is_online: bool | None = None
    uptime_7d: float | None = None
    region: str | None = None
    gpu_models: tuple[str, ...] = ()


class Balance(_Model):
    """Money available on the account, in USD."""

    available_usd: Decimal
    #: Breakdown as the provider reports it (assigned/reserved/settled, balance/deployments …).
    details: dict[str, Decimal] = Field(default_factory=dict)


class CreateResult(_Model):
    deployment: Deployment
    estimated_cost_per_hour_usd: Decimal | None = None
    #: Provider-specific follow-up data (Akash: the manifest to send with the lease).
    extras: dict[str, Any] = Field(default_factory=dict)
