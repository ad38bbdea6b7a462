"""The Nosana client: protocol plumbing, listing and reading deployments, jobs and logs."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import SecretStr

from bot.providers.base import RawPage, fingerprint
from bot.providers.errors import ProviderError, UnavailableError
from bot.providers.models import Capability, Deployment, Event, Job, LogLine, Page, Revision
from bot.providers.nosana.actions import NosanaActions
from bot.providers.nosana.errors import map_error as map_nosana_error
from bot.providers.nosana.normalize import (
    JOB_STATES,
    RAW_STATUS,
    START_FROM,
    STATUS_MAP,
    STOP_FROM,
    STRATEGIES,
    check_id,
    invalid_field,
    page_limit,
    result_lines,
    to_deployment,
    to_int,
    to_job,
    to_time,
)
from bot.providers.nosana_jobdef import field_errors, validate_job_definition


class NosanaProvider(NosanaActions):
    """A Nosana account (one API key) through the dashboard API."""

    name = "nosana"
    display_name = "Nosana"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CREATE,
            Capability.START,
            Capability.STOP,
            Capability.ARCHIVE,
            Capability.DELETE,
            Capability.SCALE,
            Capability.TIMEOUT,
            Capability.SCHEDULE,
            Capability.REVISE,
            Capability.ROLLBACK,
            Capability.RENAME,
            Capability.LOGS,
            Capability.EVENTS,
            Capability.JOBS,
            Capability.BALANCE,
            Capability.MARKETS,
        }
    )
    #: At most this many jobs are opened when collecting logs.
    max_log_jobs: ClassVar[int] = 20

    # -- protocol plumbing ------------------------------------------------------------------

    @classmethod
    def auth_headers(cls, api_key: SecretStr) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr(f"Bearer {api_key.get_secret_value()}")}

    def map_error(self, response: httpx.Response) -> ProviderError:
        return map_nosana_error(response, self.name)

    def available_actions(self, deployment: Deployment) -> frozenset[Capability]:
        raw = deployment.raw_status
        actions = {Capability.LOGS, Capability.EVENTS, Capability.JOBS}
        if raw in START_FROM:
            actions.add(Capability.START)
        if raw in STOP_FROM:
            actions.add(Capability.STOP)
        if raw == "STOPPED":
            actions |= {Capability.ARCHIVE, Capability.DELETE}
        if raw in STATUS_MAP and raw != "ARCHIVED":
            actions |= {
                Capability.SCALE,
                Capability.TIMEOUT,
                Capability.REVISE,
                Capability.ROLLBACK,
                Capability.RENAME,
            }
            if deployment.extras.get("strategy") == "SCHEDULED":
                actions.add(Capability.SCHEDULE)
        return frozenset(actions)

    # -- listing and reading ------------------------------------------------------------------

    def _status_filter(self, status: str) -> str:
        raws = []
        for value in (v.strip() for v in status.split(",") if v.strip()):
            raw = value.upper() if value.upper() in STATUS_MAP else RAW_STATUS.get(value.lower())
            if raw is None:
                raise invalid_field("status", f"'{value}' is not a Nosana status")
            raws.append(raw)
        return ",".join(dict.fromkeys(raws))

    async def list_page(
        self,
        *,
        cursor: str | None = None,
        limit: int = 50,
        status: str | None = None,
        strategy: str | None = None,
        search: str | None = None,
        name: str | None = None,
        sort_order: Literal["asc", "desc"] = "desc",
    ) -> Page[Deployment]:
        """One page, newest first by default; ``status`` may be Nosana's word or ours."""
        params: dict[str, str] = {"limit": str(page_limit(limit)), "sort_order": sort_order}
        if cursor:
            params["cursor"] = cursor
        if status:
            params["status"] = self._status_filter(status)
        if strategy:
            wanted = [s.strip().upper() for s in strategy.split(",") if s.strip()]
            if not wanted or any(s not in STRATEGIES for s in wanted):
                raise invalid_field(
                    "strategy", "must be SIMPLE, SIMPLE-EXTEND, SCHEDULED or INFINITE"
                )
            params["strategy"] = ",".join(wanted)
        if search:
            params["search"] = search
        if name:
            params["name"] = name
        body = await self.http.get_json("/deployments", params=params)
        total: int | None
        if isinstance(body, list):  # legacy shape: every deployment, no pagination
            items, next_cursor, total = body, None, len(body)
        elif isinstance(body, Mapping) and isinstance(body.get("deployments"), list):
            pagination = body.get("pagination") or {}
            items, next_cursor = body["deployments"], pagination.get("cursor_next") or None
            total = to_int(pagination.get("total_items"))
        else:
            raise UnavailableError(
                "Nosana answered the deployment list with an unexpected shape.", provider=self.name
            )
        prices = await self._market_prices(d.get("market") for d in items if isinstance(d, Mapping))
        deployments = [
            self._with_market(to_deployment(d, prices.get(d.get("market")))) for d in items
        ]
        return Page(items=deployments, next_cursor=next_cursor, total=total)

    async def list_raw_page(self, *, cursor: str | None = None, limit: int = 100) -> RawPage:
        """One page of raw deployment objects (see ``normalize_listed``)."""
        params: dict[str, str] = {"limit": str(page_limit(limit)), "sort_order": "desc"}
        if cursor:
            params["cursor"] = cursor
        body = await self.http.get_json("/deployments", params=params)
        if isinstance(body, list):
            return RawPage(items=body)
        if isinstance(body, Mapping) and isinstance(body.get("deployments"), list):
            pagination = body.get("pagination") or {}
            return RawPage(items=body["deployments"], next_cursor=pagination.get("cursor_next"))
        raise UnavailableError(
            "Nosana answered the deployment list with an unexpected shape.", provider=self.name
        )

    def watch_fields(self, raw: Any) -> tuple[str, str] | None:
        if type(raw) is not dict or type(raw.get("id")) is not str:  # JSON objects are dicts
            return None
        return raw["id"], fingerprint(raw.get("status"), raw.get("name"), raw.get("replicas"))

    async def get(self, deployment_id: str) -> Deployment:
        raw = await self.http.get_json(f"/deployments/{check_id(deployment_id)}")
        return await self._normalize(raw)

    async def _walk(
        self, path: str, key: str, limit: int, params: Mapping[str, str] | None = None
    ) -> list[Any]:
        """Up to ``limit`` items of a paginated sub-resource, newest first."""
        items: list[Any] = []
        cursor: str | None = None
        while len(items) < limit:
            query = {"limit": str(page_limit(limit - len(items))), **(params or {})}
            if cursor:
                query["cursor"] = cursor
            body = await self.http.get_json(path, params=query)
            if not isinstance(body, Mapping) or not isinstance(body.get(key), list):
                raise UnavailableError(
                    f"Nosana answered {key} with an unexpected shape.", provider=self.name
                )
            items.extend(body[key])
            next_cursor = (body.get("pagination") or {}).get("cursor_next")
            if not next_cursor or next_cursor == cursor:
                break
            cursor = next_cursor
        return items[:limit]

    async def jobs(
        self, deployment_id: str, *, limit: int = 50, state: str | None = None
    ) -> list[Job]:
        """The newest ``limit`` jobs; ``state`` filters (comma list, e.g. "RUNNING,QUEUED")."""
        params = {}
        if state:
            states = [s.strip().upper() for s in state.split(",") if s.strip()]
            if not states or any(s not in JOB_STATES for s in states):
                raise invalid_field("state", "must be QUEUED, RUNNING, COMPLETED or STOPPED")
            params["state"] = ",".join(states)
        path = f"/deployments/{check_id(deployment_id)}/jobs"
        return [
            to_job(j)
            for j in await self._walk(path, "jobs", limit, params)
            if isinstance(j, Mapping)
        ]

    async def job(self, deployment_id: str, job_id: str) -> Job:
        """One job with its definition and results (``extras["result"]``: per-op states, logs)."""
        path = f"/deployments/{check_id(deployment_id)}/jobs/{check_id(job_id, 'job_id')}"
        raw = await self.http.get_json(path)
        if not isinstance(raw, Mapping):
            raise UnavailableError(
                "Nosana answered a job with an unexpected shape.", provider=self.name
            )
        state = raw.get("state")
        if isinstance(state, int) and 0 <= state < len(JOB_STATES):
            state = JOB_STATES[state]
        extras = {
            "market": raw.get("market"),
            "confidential": raw.get("confidential"),
            "definition": raw.get("jobDefinition"),
            "result": raw.get("jobResult"),
        }
        return Job(
            id=job_id,
            state=str(state),
            node=raw.get("node") if isinstance(raw.get("node"), str) else None,
            revision=to_int(raw.get("revision")),
            started_at=to_time(raw.get("timeStart")),
            ended_at=to_time(raw.get("timeEnd")),
            created_at=to_time(raw.get("listedAt")),
            extras={k: v for k, v in extras.items() if v is not None},
        )

    async def logs(
        self, deployment_id: str, *, tail: int | None = None, since: datetime | None = None
    ) -> list[LogLine]:
        """Log lines from job results (newest jobs first), oldest line first in the answer.

        Only jobs whose results a node has posted have logs (spec §6.3). ``tail`` keeps the
        last lines, ``since`` drops lines (and whole jobs) that ended earlier.
        """
        if tail is not None and tail < 1:
            raise invalid_field("tail", "must be at least 1")
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        jobs = await self.jobs(deployment_id, limit=self.max_log_jobs)
        lines: list[LogLine] = []
        for start in range(0, len(jobs), 5):
            batch = [
                j
                for j in jobs[start : start + 5]
                if j.state != "QUEUED" and not (since and j.ended_at and j.ended_at < since)
            ]
            details = await asyncio.gather(*(self.job(deployment_id, j.id) for j in batch))
            for detail in details:
                lines.extend(result_lines(detail))
            if tail is not None and len(lines) >= tail:
                break
        if since is not None:
            lines = [line for line in lines if line.timestamp and line.timestamp >= since]
        epoch = datetime.min.replace(tzinfo=UTC)
        lines.sort(key=lambda line: line.timestamp or epoch)
        return lines[-tail:] if tail is not None else lines

    async def events(self, deployment_id: str, *, limit: int = 50) -> list[Event]:
        path = f"/deployments/{check_id(deployment_id)}/events"
        return [
            Event(
                type=str(e.get("type") or ""),
                message=str(e.get("message") or ""),
                created_at=to_time(e.get("created_at")),
                category=e.get("category"),
                tx=e.get("tx"),
            )
            for e in await self._walk(path, "events", limit)
            if isinstance(e, Mapping)
        ]

    async def revisions(self, deployment_id: str) -> list[Revision]:
        path = f"/deployments/{check_id(deployment_id)}/revisions"
        revisions = [
            Revision(
                revision=int(r["revision"]),
                created_at=to_time(r.get("created_at")),
                definition=r.get("job_definition") or {},
            )
            for r in await self._walk(path, "revisions", 10_000)
            if isinstance(r, Mapping) and to_int(r.get("revision")) is not None
        ]
        return sorted(revisions, key=lambda r: r.revision)

    # -- revisions ------------------------------------------------------------------

    def check_revision(self, definition: str) -> str | None:
        try:
            parsed = json.loads(definition)
        except ValueError as exc:
            return f"This is not valid JSON ({exc})."
        problems = validate_job_definition(parsed)
        if not problems:
            return None
        errors = field_errors(problems)
        lines = [f"{path} {message}" for path, message in list(errors.items())[:5]]
        more = f" (+{len(errors) - 5} more)" if len(errors) > 5 else ""
        return "; ".join(lines) + more

    async def revision_template(self, deployment: Deployment) -> tuple[str, str]:
        """The active revision's job definition, pretty-printed."""
        revisions = await self.revisions(deployment.id)
        active = next(
            (r for r in revisions if r.revision == deployment.active_revision),
            revisions[-1] if revisions else None,
        )
        return (json.dumps(active.definition, indent=2) if active else "{}"), "json"
