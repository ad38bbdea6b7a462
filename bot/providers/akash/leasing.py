"""Starting an Akash workload: certificates (eras A/B), bids and accepting them as leases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pydantic
from pydantic import SecretStr

from bot.providers.akash.normalize import normalize_bid
from bot.providers.akash.plumbing import ADDRESS_RE, LEASE_TIMEOUT, TX_TIMEOUT, AkashPlumbing
from bot.providers.akash.spec import AkashCertificate
from bot.providers.errors import NotSupportedError, UnavailableError, ValidationError
from bot.providers.models import Bid, Deployment


class AkashLeasing(AkashPlumbing):
    """Certificates, bids and leases (the base of ``AkashProvider``)."""

    async def ensure_certificate(self) -> AkashCertificate | None:
        """Fetch an mTLS certificate if the server still wants one (eras A/B).

        200 → the PEMs (kept on the client and sent with leases and revisions from then on);
        400 "removed" (era C) → None: not needed. Not retried (each call issues a certificate).
        """
        check = "the account's certificates in Akash Console"
        try:
            response = await self.http.request(
                "POST",
                "/v1/certificates",
                idempotent=False,
                timeout=self._slow(TX_TIMEOUT),
                check=check,
            )
        except NotSupportedError:  # era C: "This endpoint has been removed. …"
            self.certificate = None
            return None
        data = self._data(response, check)
        try:
            certificate = AkashCertificate(
                cert_pem=data["certPem"],
                pubkey_pem=data["pubkeyPem"],
                key_pem=SecretStr(data["encryptedKey"]),
            )
        except (KeyError, TypeError, pydantic.ValidationError) as exc:
            what = f"no {exc}" if isinstance(exc, KeyError) else "not a certificate"
            raise self.http.garbled(response, what, check=check) from None
        self.certificate = certificate
        return certificate

    async def lease_credentials(self, stored: Mapping[str, str] | None) -> dict[str, str] | None:
        """Certificates: a stored one is used as it is; without one, ask for one (eras A/B
        answer with PEMs, returned for the caller to store encrypted; era C says "removed":
        none is needed and None comes back)."""
        if stored:
            try:
                self.certificate = AkashCertificate(
                    cert_pem=stored["cert_pem"],
                    pubkey_pem=stored.get("pubkey_pem", ""),
                    key_pem=SecretStr(stored["key_pem"]),
                )
                return None
            except KeyError:
                pass
        certificate = await self.ensure_certificate()
        if certificate is None:
            return None
        return {
            "cert_pem": certificate.cert_pem,
            "pubkey_pem": certificate.pubkey_pem,
            "key_pem": certificate.key_pem.get_secret_value(),
        }

    async def bids(self, deployment_id: str) -> list[Bid]:
        """``GET /v1/bids?dseq=`` → every bid (all states), with USD/hour and the GPU model."""
        dseq = self._dseq(deployment_id)
        response = await self.http.request("GET", "/v1/bids", params={"dseq": dseq})
        data = self._data(response)
        if not isinstance(data, list):
            raise UnavailableError(
                "Akash Console answered the bids call in an unexpected shape.", provider=self.name
            )
        return [normalize_bid(item) for item in data if isinstance(item, dict)]

    async def accept_bids(
        self, deployment_id: str, bids: Sequence[Bid], *, manifest: str | None = None
    ) -> Deployment:
        """``POST /v1/leases``: lease the chosen bids (one per group) and send the manifest.

        ``manifest`` is ``CreateResult.extras["manifest"]`` (or ``akash_sdl.manifest_json(
        akash_sdl.build_manifest(doc))`` for the same SDL); it defaults to the one this client
        got from :meth:`create`. Retried only in era C (see the module docstring).
        """
        dseq = self._dseq(deployment_id)
        manifest = manifest or self._manifests.get(dseq)
        errors: dict[str, str] = {}
        if not manifest:
            errors["manifest"] = "the manifest from create is required to start the lease"
        if not bids:
            errors["bids"] = "choose at least one bid"
        seen: set[tuple[int, int]] = set()
        for i, bid in enumerate(bids):
            if bid.deployment_id and bid.deployment_id != dseq:
                errors[f"bids.{i}"] = f"bid is for deployment {bid.deployment_id}, not {dseq}"
            if not ADDRESS_RE.match(bid.provider_address):
                errors[f"bids.{i}.provider"] = "not an akash1… provider address"
            if (bid.gseq, bid.oseq) in seen:
                errors[f"bids.{i}"] = f"two bids for group {bid.gseq}/{bid.oseq}; choose one"
            seen.add((bid.gseq, bid.oseq))
        if errors:
            raise ValidationError(
                "Cannot accept these bids: " + "; ".join(f"{k}: {v}" for k, v in errors.items()),
                field_errors=errors,
                provider=self.name,
            )
        body: dict[str, Any] = {
            "manifest": manifest,
            "leases": [
                {"dseq": dseq, "gseq": b.gseq, "oseq": b.oseq, "provider": b.provider_address}
                for b in bids
            ],
        }
        if self.certificate is not None:
            body["certificate"] = self.certificate.lease_payload()
        check = f"the deployment's leases with `/deploy show {dseq}`"
        response = await self.http.request(
            "POST",
            "/v1/leases",
            json=body,
            idempotent=self.certificate is None,
            expected=(200, 201),
            timeout=self._slow(LEASE_TIMEOUT),
            check=check,
        )
        return self._detail(response, check)
