"""Changing Nosana deployments: create, start/stop/archive/delete and the PATCH routes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from bot.providers.errors import NotSupportedError, ValidationError, WrongStateError
from bot.providers.models import CreateResult, Deployment
from bot.providers.nosana.errors import RouteNotFoundError
from bot.providers.nosana.markets import NosanaMarkets
from bot.providers.nosana.normalize import ALLOWED_FROM, check_id, invalid_field
from bot.providers.nosana.spec import NosanaCreateSpec
from bot.providers.nosana_jobdef import cron_problem, field_errors, validate_job_definition


class NosanaActions(NosanaMarkets):
    """The calls that change a deployment (the base of ``NosanaProvider``)."""

    async def create(self, spec: BaseModel | Mapping[str, Any]) -> CreateResult:
        """Create (200 from Nosana); never re-sent on its own: look before trying again."""
        checked = NosanaCreateSpec.parse(spec)
        check = f"`/deploy list` for a new Nosana deployment named “{checked.name}”"
        response = await self.http.request(
            "POST", "/deployments/create", json=checked.to_body(), idempotent=False, check=check
        )
        body = self.http.json(response, check=check)
        if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
            raise self.http.garbled(response, "no deployment in it", check=check)
        deployment = await self._normalize(body)
        running = deployment.extras.get("cost_when_running_per_hour_usd")
        return CreateResult(
            deployment=deployment,
            estimated_cost_per_hour_usd=Decimal(running) if running is not None else None,
        )

    async def _post_action(self, deployment_id: str, action: str) -> Deployment:
        did = check_id(deployment_id)
        check = f"its status with `/deploy show {did}`"
        try:
            response = await self.http.request(
                "POST", f"/deployments/{did}/{action}", idempotent=False, check=check
            )
        except WrongStateError as exc:
            raise self._explain(exc, action) from None
        body = self.http.json(response, check=check)  # {status, updated_at}
        if not isinstance(body, Mapping) or not isinstance(body.get("status"), str):
            raise self.http.garbled(response, "no status in it", check=check)
        return await self.get(did)

    def _explain(self, exc: WrongStateError, action: str) -> WrongStateError:
        hint = f" Nosana can {action} a deployment only when it is {ALLOWED_FROM[action]}."
        if exc.provider_text == "Cannot modify an archived deployment.":
            hint = " Archived deployments cannot be changed."
        return WrongStateError(
            f"Nosana refused to {action} it: {exc.provider_text}{hint}",
            provider=self.name,
            status_code=exc.status_code,
            provider_text=exc.provider_text,
        )

    async def start(self, deployment_id: str) -> Deployment:
        return await self._post_action(deployment_id, "start")

    async def stop(self, deployment_id: str) -> Deployment:
        return await self._post_action(deployment_id, "stop")

    async def archive(self, deployment_id: str) -> Deployment:
        return await self._post_action(deployment_id, "archive")

    async def delete(self, deployment_id: str) -> None:
        """Delete a STOPPED deployment for good (204)."""
        did = check_id(deployment_id)
        try:
            await self.http.request(
                "DELETE", f"/deployments/{did}", expected=(204,), check="`/deploy list`"
            )
        except WrongStateError as exc:
            raise self._explain(exc, "delete") from None

    async def _patch(self, deployment_id: str, route: str, body: dict[str, Any]) -> Deployment:
        did = check_id(deployment_id)
        await self.http.request("PATCH", f"/deployments/{did}/{route}", json=body, idempotent=True)
        return await self.get(did)

    async def revise(self, deployment_id: str, definition: Any) -> Deployment:
        """Make ``definition`` (a dict or JSON text) the new active revision."""
        if isinstance(definition, str | bytes):
            try:
                definition = json.loads(definition)
            except ValueError as exc:
                raise invalid_field("job_definition", f"is not valid JSON ({exc})") from None
        problems = validate_job_definition(definition)
        if problems:
            errors = field_errors(problems)
            first = next(iter(errors.items()))
            raise ValidationError(
                f"The job definition is not valid: {first[0]} {first[1]}"
                + (f" (+{len(errors) - 1} more)." if len(errors) > 1 else "."),
                field_errors=errors,
                provider=self.name,
            )
        did = check_id(deployment_id)
        check = f"its revisions with `/deploy show {did}`"
        response = await self.http.request(
            "POST",
            f"/deployments/{did}/create-revision",
            json=definition,
            idempotent=False,
            check=check,
        )
        body = self.http.json(response, check=check)  # {active_revision, revisions, …}
        if not isinstance(body, Mapping) or "active_revision" not in body:
            raise self.http.garbled(response, "no active revision in it", check=check)
        return await self.get(did)

    async def rollback(self, deployment_id: str, revision: int) -> Deployment:
        if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
            raise invalid_field("active_revision", "must be a revision number (1 or more)")
        return await self._patch(
            deployment_id, "update-active-revision", {"active_revision": revision}
        )

    async def scale(self, deployment_id: str, replicas: int) -> Deployment:
        if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
            raise invalid_field("replicas", "must be a whole number, 0 or more")
        return await self._patch(deployment_id, "update-replica-count", {"replicas": replicas})

    async def set_timeout(self, deployment_id: str, minutes: int) -> Deployment:
        if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes < 60:
            raise invalid_field("timeout", "must be at least 60 minutes")
        return await self._patch(deployment_id, "update-timeout", {"timeout": minutes})

    async def set_schedule(self, deployment_id: str, cron: str) -> Deployment:
        problem = cron_problem(cron)
        if problem:
            raise invalid_field("schedule", problem)
        try:
            return await self._patch(
                deployment_id, "update-schedule", {"schedule": " ".join(cron.split())}
            )
        except WrongStateError as exc:
            if exc.provider_text != "Deployment is using an incorrect strategy.":
                raise
            raise WrongStateError(
                f"Nosana refused: {exc.provider_text} Only SCHEDULED deployments have a schedule.",
                provider=self.name,
                status_code=exc.status_code,
                provider_text=exc.provider_text,
            ) from None

    async def rename(self, deployment_id: str, name: str) -> Deployment:
        if not isinstance(name, str) or not name.strip():
            raise invalid_field("name", "must not be empty")
        try:
            return await self._patch(deployment_id, "update-name", {"name": name.strip()})
        except RouteNotFoundError:
            raise NotSupportedError(
                "This Nosana server cannot rename deployments yet (it has no update-name route).",
                provider=self.name,
            ) from None
