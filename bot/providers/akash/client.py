"""The Akash client: deployments (create, read, list, deposit, close, revise), the balance and
providers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any, ClassVar

import pydantic
import yaml
from pydantic import BaseModel

from bot.providers import akash_sdl
from bot.providers.akash import watch
from bot.providers.akash.convert import dseq_time, int_or_none, json_decimal, to_decimal
from bot.providers.akash.errors import clipped_line
from bot.providers.akash.leasing import AkashLeasing
from bot.providers.akash.normalize import escrow_runway, normalize_deployment, normalize_provider
from bot.providers.akash.plumbing import ADDRESS_RE, LEASE_TIMEOUT, TX_TIMEOUT
from bot.providers.akash.spec import AkashCreateSpec
from bot.providers.akash_sdl import SdlError
from bot.providers.base import RawPage
from bot.providers.errors import ProviderError, UnavailableError, ValidationError, WrongStateError
from bot.providers.models import (
    Balance,
    Capability,
    CreateResult,
    Deployment,
    DeploymentStatus,
    Page,
    ProviderInfo,
    ProviderName,
)


class AkashProvider(AkashLeasing):
    """Akash Console API client (managed wallet). See the module docstring for the rules."""

    name: ClassVar[ProviderName] = "akash"
    display_name: ClassVar[str] = "Akash"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {
            Capability.CREATE,
            Capability.CLOSE,
            Capability.DEPOSIT,
            Capability.BIDS,
            Capability.LEASE,
            Capability.BALANCE,
            Capability.REVISE,
        }
    )

    def available_actions(self, deployment: Deployment) -> frozenset[Capability]:
        """Active: close, deposit, revise; plus bids/lease while no lease is active.
        Closed (by the owner or by running out of funds): nothing (showing it only)."""
        if deployment.extras.get("state") != "active":
            return frozenset()
        actions = {Capability.CLOSE, Capability.DEPOSIT, Capability.REVISE}
        leases = deployment.extras.get("leases") or []
        if not any(lease.get("state") == "active" for lease in leases):
            actions |= {Capability.BIDS, Capability.LEASE}
        return frozenset(actions)

    def check_revision(self, definition: str) -> str | None:
        problems = akash_sdl.check_sdl(definition)
        return clipped_line(akash_sdl.format_problems(problems)) if problems else None

    async def revision_template(self, deployment: Deployment) -> tuple[str, str]:
        """Akash Console does not hand back a deployment's SDL: start from an empty form."""
        return "", "yaml"

    def funds_runway(self, deployment: Deployment) -> timedelta | None:
        return escrow_runway(deployment)

    async def create(self, spec: BaseModel) -> CreateResult:
        """``POST /v1/deployments`` (201) after validating the SDL locally; never retried.

        ``CreateResult.extras["manifest"]`` must be kept: :meth:`accept_bids` sends it.
        """
        if not isinstance(spec, AkashCreateSpec):
            try:
                spec = AkashCreateSpec.model_validate(spec.model_dump())
            except pydantic.ValidationError as exc:
                raise ValidationError(
                    f"Not an Akash deployment spec: {clipped_line(str(exc))}", provider=self.name
                ) from None
        assert isinstance(spec, AkashCreateSpec)
        self._check_sdl(spec.sdl)
        doc = akash_sdl.load_sdl(spec.sdl)
        deposit = self._usd_number(spec.deposit_usd, "deposit")
        check = "`/deploy list` for a new Akash deployment (and the balance in Akash Console)"
        response = await self.http.request(
            "POST",
            "/v1/deployments",
            json={"data": {"sdl": spec.sdl, "deposit": deposit}},
            idempotent=False,
            expected=(200, 201),
            timeout=self._slow(TX_TIMEOUT),
            check=check,
        )
        data = self._data(response, check)
        dseq = str(data.get("dseq") or "") if isinstance(data, dict) else ""
        manifest = data.get("manifest") if isinstance(data, dict) else None
        if not dseq or not isinstance(manifest, str):
            raise self.http.garbled(response, "no dseq and manifest in it", check=check)
        self._manifests[dseq] = manifest
        sign_tx = data.get("signTx") if isinstance(data.get("signTx"), dict) else {}
        try:
            deployment = await self.get(dseq)
        except ProviderError:
            # The deployment exists: never lose the dseq/manifest because a follow-up GET failed.
            deployment = Deployment(
                provider="akash",
                id=dseq,
                name=f"dseq {dseq}",
                status=DeploymentStatus.PENDING,
                raw_status="active (waiting for bids)",
                cost_per_hour_usd=Decimal(0),
                created_at=dseq_time(dseq),
                extras={"dseq": dseq, "state": "active", "leases": []},
            )
        max_hour = akash_sdl.max_price_per_hour_usd(doc)
        return CreateResult(
            deployment=deployment,
            estimated_cost_per_hour_usd=max_hour,
            extras={
                "dseq": dseq,
                "manifest": manifest,
                # the deployment version as the chain has it (None if the follow-up GET failed)
                "manifest_hash": deployment.extras.get("manifest_hash"),
                "transaction_hash": (sign_tx or {}).get("transactionHash"),
                "max_price_per_hour_usd": json_decimal(max_hour),
                "deposit_usd": json_decimal(Decimal(str(deposit))),
            },
        )

    async def get(self, deployment_id: str) -> Deployment:
        """``GET /v1/deployments/{dseq}`` (closed deployments are still returned)."""
        dseq = self._dseq(deployment_id)
        response = await self.http.request("GET", f"/v1/deployments/{dseq}")
        return self._detail(response)

    async def list_page(
        self, *, cursor: str | None = None, limit: int = 50, status: str | None = None
    ) -> Page[Deployment]:
        """One page of **active** deployments (the API never lists closed ones).

        The cursor is the next ``skip`` as a string. ``status`` filters the page locally by
        normalized status (a page may then hold fewer than ``limit`` items).
        """
        if cursor in (None, ""):
            skip = 0
        elif isinstance(cursor, str) and cursor.isdigit():
            skip = int(cursor)
        else:
            raise ValidationError(
                f"{cursor!r} is not an Akash list cursor.",
                field_errors={"cursor": "must be a whole number (the next skip)"},
                provider=self.name,
            )
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValidationError(
                "The page size must be at least 1.",
                field_errors={"limit": "must be >= 1"},
                provider=self.name,
            )
        response = await self.http.request(
            "GET", "/v1/deployments", params={"skip": skip, "limit": limit}
        )
        data = self._data(response)
        raw_items = data.get("deployments") if isinstance(data, dict) else None
        pagination = data.get("pagination") if isinstance(data, dict) else None
        if not isinstance(raw_items, list) or not isinstance(pagination, dict):
            raise UnavailableError(
                "Akash Console answered the deployment list in an unexpected shape.",
                provider=self.name,
            )
        items = [normalize_deployment(i) for i in raw_items if isinstance(i, dict)]
        if status:
            items = [d for d in items if status in (d.status.value, d.raw_status)]
        next_cursor = (
            str(skip + len(raw_items)) if pagination.get("hasMore") and raw_items else None
        )
        total = int_or_none(pagination.get("total"))
        return Page[Deployment](items=items, next_cursor=next_cursor, total=total)

    async def list_raw_page(self, *, cursor: str | None = None, limit: int = 100) -> RawPage:
        """One page of raw list items (active deployments; see ``list_page``)."""
        skip = int(cursor) if cursor and cursor.isdigit() else 0
        response = await self.http.request(
            "GET", "/v1/deployments", params={"skip": skip, "limit": max(1, limit)}
        )
        data = self._data(response)
        raw_items = data.get("deployments") if isinstance(data, dict) else None
        pagination = data.get("pagination") if isinstance(data, dict) else None
        if not isinstance(raw_items, list) or not isinstance(pagination, dict):
            raise UnavailableError(
                "Akash Console answered the deployment list in an unexpected shape.",
                provider=self.name,
            )
        more = pagination.get("hasMore") and raw_items
        return RawPage(items=raw_items, next_cursor=str(skip + len(raw_items)) if more else None)

    def watch_fields(self, raw: Any) -> tuple[str, str] | None:
        return watch.watch_fields(raw)

    async def normalize_listed(self, items: Sequence[Any]) -> list[Deployment]:
        return [normalize_deployment(i) for i in items if isinstance(i, dict)]

    async def deposit(self, deployment_id: str, amount_usd: Decimal) -> Deployment:
        """``POST /v1/deposit-deployment`` (USD); never retried. Deprecated by Akash in era C
        (the platform auto-funds) but still executed."""
        dseq = self._dseq(deployment_id)
        amount = self._usd_number(amount_usd, "deposit")
        check = f"the escrow balance of deployment {dseq} with `/deploy show {dseq}`"
        response = await self.http.request(
            "POST",
            "/v1/deposit-deployment",
            json={"data": {"dseq": dseq, "deposit": amount}},
            idempotent=False,
            timeout=self._slow(TX_TIMEOUT),
            check=check,
        )
        return self._detail(response, check)

    async def close(self, deployment_id: str) -> None:
        """``DELETE /v1/deployments/{dseq}``; already closed counts as done (all eras)."""
        dseq = self._dseq(deployment_id)
        try:
            await self.http.request(
                "DELETE", f"/v1/deployments/{dseq}", idempotent=True, timeout=self._slow(TX_TIMEOUT)
            )
        except WrongStateError as exc:
            if "closed" not in (exc.provider_text or "").lower():
                raise

    async def revise(self, deployment_id: str, definition: Any) -> Deployment:
        """``PUT /v1/deployments/{dseq}`` with a new SDL (text, or a document dict)."""
        dseq = self._dseq(deployment_id)
        if isinstance(definition, Mapping):
            sdl = yaml.safe_dump(dict(definition), sort_keys=False)
        elif isinstance(definition, str):
            sdl = definition
        else:
            raise ValidationError(
                "A revision needs the new SDL (YAML text).",
                field_errors={"sdl": "required"},
                provider=self.name,
            )
        self._check_sdl(sdl)
        data: dict[str, Any] = {"sdl": sdl}
        if self.certificate is not None:
            data["certificate"] = self.certificate.lease_payload()
        response = await self.http.request(
            "PUT",
            f"/v1/deployments/{dseq}",
            json={"data": data},
            idempotent=True,
            timeout=self._slow(LEASE_TIMEOUT),
        )
        try:
            doc = akash_sdl.load_sdl(sdl)
            self._manifests[dseq] = akash_sdl.manifest_json(akash_sdl.build_manifest(doc))
        except SdlError:  # pragma: no cover - validated above
            pass
        return self._detail(response)

    async def balance(self) -> Balance:
        """``GET /v1/balances``: spendable balance, escrowed in deployments, and the total."""
        response = await self.http.request("GET", "/v1/balances")
        data = self._data(response)
        if not isinstance(data, dict):
            raise UnavailableError("Akash Console answered balances oddly.", provider=self.name)
        details = {
            key: value
            for key in ("balance", "deployments", "total")
            if (value := to_decimal(data.get(key))) is not None
        }
        return Balance(available_usd=details.get("balance", Decimal(0)), details=details)

    async def provider_info(self, address: str) -> ProviderInfo:
        """``GET /v1/providers/{address}`` (public, bare object)."""
        address = str(address).strip()
        if not ADDRESS_RE.match(address):
            raise ValidationError(
                f"{address!r} is not an Akash provider address (akash1…).",
                field_errors={"address": "must be an akash1… address"},
                provider=self.name,
            )
        response = await self.http.request("GET", f"/v1/providers/{address}")
        body = self.http.json(response)
        if not isinstance(body, dict):
            raise UnavailableError("Akash Console answered the provider oddly.", provider=self.name)
        return normalize_provider(body)

    async def providers(self, addresses: Sequence[str] | None = None) -> list[ProviderInfo]:
        """``GET /v1/providers`` (public; ``addresses`` ≤ 20 narrows it)."""
        params: dict[str, str] = {}
        if addresses:
            if len(addresses) > 20:
                raise ValidationError(
                    "At most 20 provider addresses per lookup.",
                    field_errors={"addresses": "at most 20"},
                    provider=self.name,
                )
            params["addresses"] = ",".join(addresses)
        response = await self.http.request("GET", "/v1/providers", params=params or None)
        body = self.http.json(response)
        if not isinstance(body, list):
            raise UnavailableError("Akash Console answered providers oddly.", provider=self.name)
        return [normalize_provider(p) for p in body if isinstance(p, dict)]
