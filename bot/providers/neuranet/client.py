"""The NeuraNET client: protocol plumbing, listing, reading and changing deployments, logs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, SecretStr

from bot.providers.base import MAX_PAGES, RawPage, fingerprint
from bot.providers.errors import ProviderError, UnavailableError, WrongStateError
from bot.providers.models import (
    Capability,
    CreateResult,
    Deployment,
    DeploymentStatus,
    LogLine,
    Page,
    ProviderName,
)
from bot.providers.neuranet.errors import error_text
from bot.providers.neuranet.errors import map_error as map_neuranet_error
from bot.providers.neuranet.nodes import NeuraNetNodes
from bot.providers.neuranet.normalize import (
    MAX_LIMIT,
    cents_to_usd,
    int_or_none,
    iso_z,
    json_safe,
    normalize_deployment,
    normalize_log_line,
)
from bot.providers.neuranet.spec import (
    NeuraNetCreateSpec,
    deployment_path,
    page_number,
    validation_error,
)


class NeuraNetProvider(NeuraNetNodes):
    """Async client of the NeuraNET REST API (``https://api.neuranet.network/api``)."""

    name: ClassVar[ProviderName] = "neuranet"
    display_name: ClassVar[str] = "NeuraNET"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CREATE,
            Capability.START,
            Capability.STOP,
            Capability.DELETE,
            Capability.LOGS,
            Capability.NODES,
        }
    )

    # -- protocol plumbing ---------------------------------------------------------------

    @classmethod
    def auth_headers(cls, api_key: SecretStr) -> dict[str, SecretStr]:
        return {"Authorization": SecretStr(f"Bearer {api_key.get_secret_value()}")}

    def available_actions(self, deployment: Deployment) -> frozenset[Capability]:
        actions = {Capability.DELETE, Capability.LOGS}
        if deployment.status in (DeploymentStatus.STOPPED, DeploymentStatus.FAILED):
            actions.add(Capability.START)
        if deployment.status in (
            DeploymentStatus.RUNNING,
            DeploymentStatus.STARTING,
            DeploymentStatus.PENDING,
        ):
            actions.add(Capability.STOP)
        return frozenset(actions)

    def _scrub(self, text: str) -> str:
        # ProviderHTTP scrubs the whole header value ("Bearer …"); a server may echo the bare key.
        key = self._api_key.get_secret_value()
        return text.replace(key, "[redacted]") if key else text

    def map_error(self, response: httpx.Response) -> ProviderError:
        return map_neuranet_error(response, self.name, self._scrub)

    # -- deployments ---------------------------------------------------------------------

    async def verify(self) -> None:
        """One cheap authenticated call; raises AuthenticationError for a bad key."""
        await self._get_object("/deployments", params={"page": "1", "limit": "1"})

    async def list_page(
        self, *, cursor: str | None = None, limit: int = 50, status: str | None = None
    ) -> Page[Deployment]:
        """One page; ``cursor`` is the page number (as text) from the previous page."""
        page = page_number(cursor)
        limit = max(1, min(MAX_LIMIT, int(limit)))
        params: dict[str, str] = {"page": str(page), "limit": str(limit)}
        if status:
            params["status"] = str(status)
        body = await self._get_object("/deployments", params=params)
        raw_items = body.get("deployments")
        if not isinstance(raw_items, list):
            raise self._malformed("GET /deployments", "no deployments list")
        items = [i for i in raw_items if isinstance(i, Mapping)]
        await self._ensure_nodes({str(i["nodeId"]) for i in items if i.get("nodeId")})
        deployments = [self._normalize(i) for i in items]

        pagination = body.get("pagination")
        pagination = pagination if isinstance(pagination, Mapping) else {}
        total = int_or_none(pagination.get("total"))
        total_pages = int_or_none(pagination.get("totalPages"))
        if total_pages is None and total is not None:
            total_pages = math.ceil(total / limit)
        # Without a pagination block, a full page suggests there may be more.
        has_more = page < total_pages if total_pages is not None else len(raw_items) >= limit
        return Page(items=deployments, next_cursor=str(page + 1) if has_more else None, total=total)

    async def list_raw_page(self, *, cursor: str | None = None, limit: int = 100) -> RawPage:
        """One page of raw deployment objects (see ``normalize_listed``)."""
        page = page_number(cursor)
        limit = max(1, min(MAX_LIMIT, int(limit)))
        body = await self._get_object(
            "/deployments", params={"page": str(page), "limit": str(limit)}
        )
        raw_items = body.get("deployments")
        if not isinstance(raw_items, list):
            raise self._malformed("GET /deployments", "no deployments list")
        pagination = body.get("pagination")
        pagination = pagination if isinstance(pagination, Mapping) else {}
        total_pages = int_or_none(pagination.get("totalPages"))
        total = int_or_none(pagination.get("total"))
        if total_pages is None and total is not None:
            total_pages = math.ceil(total / limit)
        has_more = page < total_pages if total_pages is not None else len(raw_items) >= limit
        return RawPage(items=raw_items, next_cursor=str(page + 1) if has_more else None)

    def watch_fields(self, raw: Any) -> tuple[str, str] | None:
        if type(raw) is not dict or raw.get("id") in (None, ""):  # JSON objects are dicts
            return None
        return str(raw["id"]), fingerprint(
            raw.get("status"), raw.get("name"), raw.get("replicas"), raw.get("nodeId")
        )

    async def normalize_listed(self, items: Sequence[Any]) -> list[Deployment]:
        mappings = [i for i in items if isinstance(i, Mapping)]
        await self._ensure_nodes({str(i["nodeId"]) for i in mappings if i.get("nodeId")})
        return [self._normalize(i) for i in mappings]

    async def list_deployments(self, *, status: str | None = None) -> list[Deployment]:
        """Every deployment, walking pages of 100.

        Page-number pagination shifts when deployments are created or deleted during the
        walk, so a deployment may show up on two pages: the first sighting is kept.
        """
        seen: dict[str, Deployment] = {}
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await self.list_page(cursor=cursor, limit=MAX_LIMIT, status=status)
            for deployment in page.items:
                seen.setdefault(deployment.id, deployment)
            if not page.next_cursor or page.next_cursor == cursor:
                return list(seen.values())
            cursor = page.next_cursor
        raise UnavailableError(
            f"NeuraNET kept returning pages after {MAX_PAGES}; stopped listing.", provider=self.name
        )

    async def get(self, deployment_id: str) -> Deployment:
        body = await self._get_object(deployment_path(deployment_id))
        raw = body.get("deployment")
        if not isinstance(raw, Mapping):
            raise self._malformed("GET /deployments/:id", "no deployment object")
        if raw.get("nodeId"):
            await self._ensure_nodes({str(raw["nodeId"])}, one_by_one=True)
        return self._normalize(raw)

    async def create(self, spec: BaseModel | Mapping[str, Any]) -> CreateResult:
        """Create a deployment (never re-sent: a lost answer raises OutcomeUnknownError)."""
        if not isinstance(spec, NeuraNetCreateSpec):
            spec = NeuraNetCreateSpec.parse(spec)
        spec.check()
        check = f"`/deploy list` for a new NeuraNET deployment named “{spec.name}”"
        response = await self.http.request(
            "POST", "/deployments", json=spec.to_wire(), idempotent=False, check=check
        )
        body = self.http.json(response, check=check)
        if not isinstance(body, Mapping) or not isinstance(body.get("deployment"), Mapping):
            raise self.http.garbled(response, "no deployment object", check=check)
        estimate = cents_to_usd(body.get("estimatedHourlyCost"))
        raw = body["deployment"]
        node = self._cached_node(str(raw.get("nodeId") or spec.node_id))
        deployment = normalize_deployment(raw, node=node, hourly_rate_usd=estimate)
        return CreateResult(
            deployment=deployment,
            estimated_cost_per_hour_usd=estimate,
            extras={"estimated_hourly_cost_cents": json_safe(body.get("estimatedHourlyCost"))},
        )

    async def start(self, deployment_id: str) -> Deployment:
        """Start a stopped or failed deployment; returns it as it is right after."""
        await self._action(deployment_id, "start")
        return await self.get(deployment_id)

    async def stop(self, deployment_id: str) -> Deployment:
        """Stop a pending, starting or running deployment; returns it as it is right after."""
        await self._action(deployment_id, "stop")
        return await self.get(deployment_id)

    async def delete(self, deployment_id: str) -> None:
        """Delete (NeuraNET stops it first when running). Not re-sent on a lost answer."""
        check = "`/deploy list`"
        response = await self.http.request(
            "DELETE", deployment_path(deployment_id), idempotent=False, check=check
        )
        body = self.http.json(response, check=check)  # {success, message}
        if not isinstance(body, Mapping) or not isinstance(body.get("success"), bool):
            raise self.http.garbled(response, "no success flag", check=check)
        if body.get("success") is False:
            text = self._scrub(error_text(body, "Deployment not deleted"))
            raise WrongStateError(
                f"NeuraNET did not delete {deployment_id}: “{text}”.",
                provider=self.name,
                status_code=response.status_code,
                provider_text=text,
            )

    async def logs(
        self, deployment_id: str, *, tail: int | None = None, since: datetime | None = None
    ) -> list[LogLine]:
        """The last ``tail`` lines (server default 100), optionally only those from ``since``."""
        params: dict[str, str] = {}
        errors: dict[str, str] = {}
        if tail is not None:
            if isinstance(tail, bool) or not isinstance(tail, int) or tail < 1:
                errors["tail"] = "Ask for at least one line."
            else:
                params["tail"] = str(tail)
        if since is not None:
            if since.tzinfo is None or since.utcoffset() is None:
                errors["since"] = "Give a time with a timezone (e.g. UTC)."
            else:
                params["since"] = iso_z(since)
        if errors:
            raise validation_error("logs not requested", errors)
        body = await self._get_object(deployment_path(deployment_id) + "/logs", params=params)
        raw = body.get("logs")
        if not isinstance(raw, list):
            raise self._malformed("GET /deployments/:id/logs", "no logs list")
        return [normalize_log_line(item) for item in raw]

    # -- helpers -------------------------------------------------------------------------

    async def _action(self, deployment_id: str, action: Literal["start", "stop"]) -> None:
        check = f"its status with `/deploy show {deployment_id}`"
        response = await self.http.request(
            "POST", f"{deployment_path(deployment_id)}/{action}", idempotent=False, check=check
        )
        body = self.http.json(response, check=check)  # {deployment: {id, status}}
        if not isinstance(body, Mapping) or not isinstance(body.get("deployment"), Mapping):
            raise self.http.garbled(response, "no deployment object", check=check)
