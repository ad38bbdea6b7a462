"""Prometheus metrics (``GET /metrics``), with prometheus-client.

Counters and histograms live in one registry per process (each replica is scraped on its own);
the outbox depth is read from the database at scrape time, since every replica shares it.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.providers import http as provider_http

REGISTRY = CollectorRegistry(auto_describe=True)

COMMANDS = Counter(
    "deploybot_commands_total",
    "Slash commands received, by verb and result (ok, usage, error).",
    ["command", "result"],
    registry=REGISTRY,
)
OPERATIONS = Counter(
    "deploybot_operations_total",
    "Operations run by the deployment service, by kind and result (ok, error).",
    ["operation", "result"],
    registry=REGISTRY,
)
PROVIDER_LATENCY = Histogram(
    "deploybot_provider_call_seconds",
    "Provider API call latency (retries included), by provider.",
    ["provider"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
PROVIDER_ERRORS = Counter(
    "deploybot_provider_errors_total",
    "Provider API calls that failed, by provider and error.",
    ["provider", "error"],
    registry=REGISTRY,
)
NOTIFICATIONS_SENT = Counter(
    "deploybot_notifications_sent_total",
    "Slack calls that delivered notifications, by kind (post, update, reply).",
    ["kind"],
    registry=REGISTRY,
)
NOTIFICATIONS_RETRIED = Counter(
    "deploybot_notifications_retried_total",
    "Notification deliveries put off for a retry (429 Retry-After, Slack or network errors).",
    ["reason"],
    registry=REGISTRY,
)
NOTIFICATIONS_DROPPED = Counter(
    "deploybot_notifications_dropped_total",
    "Notifications given up on (too many failures, or the channel is gone).",
    ["reason"],
    registry=REGISTRY,
)
POLL_CYCLE = Histogram(
    "deploybot_poll_cycle_seconds",
    "Wall time of one poll of a (workspace, provider) key: list pages, diff and write.",
    ["provider"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
    registry=REGISTRY,
)
POLL_ERRORS = Counter(
    "deploybot_poll_errors_total",
    "Polls that failed, by provider.",
    ["provider"],
    registry=REGISTRY,
)
OUTBOX_DEPTH = Gauge(
    "deploybot_outbox_depth",
    "Notifications waiting to be delivered (all replicas), read at scrape time.",
    registry=REGISTRY,
)
JOBS = Gauge(
    "deploybot_jobs",
    "Jobs in the job table by state (queued, running, done, failed), read at scrape time.",
    ["state"],
    registry=REGISTRY,
)
JOBS_RUN = Counter(
    "deploybot_jobs_run_total",
    "Jobs this worker ended, by kind and outcome (done, failed, resumed).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
JOBS_TAKEN_OVER = Counter(
    "deploybot_jobs_taken_over_total",
    "Jobs this worker took over from a worker whose lease ran out.",
    registry=REGISTRY,
)


def _observe_provider_call(provider: str, seconds: float, error: str | None) -> None:
    PROVIDER_LATENCY.labels(provider).observe(seconds)
    if error is not None:
        PROVIDER_ERRORS.labels(provider, error).inc()


if _observe_provider_call not in provider_http.CALL_OBSERVERS:
    provider_http.CALL_OBSERVERS.append(_observe_provider_call)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


__all__ = [
    "COMMANDS",
    "NOTIFICATIONS_DROPPED",
    "NOTIFICATIONS_RETRIED",
    "NOTIFICATIONS_SENT",
    "OPERATIONS",
    "OUTBOX_DEPTH",
    "POLL_CYCLE",
    "POLL_ERRORS",
    "PROVIDER_ERRORS",
    "PROVIDER_LATENCY",
    "REGISTRY",
    "render",
]
