"""What ``create`` needs, and the mTLS certificate of the certificate era."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bot.providers.akash.convert import decimal_places


class AkashCertificate(BaseModel):
    """An mTLS client certificate from ``POST /v1/certificates`` (certificate era only).

    ``key_pem`` is the Console's ``encryptedKey`` which is in fact an *unencrypted* PKCS#8
    private key, so it is held as a secret (never in a repr, log or message).
    """

    model_config = ConfigDict(frozen=True)

    cert_pem: str
    pubkey_pem: str
    key_pem: SecretStr

    def lease_payload(self) -> dict[str, str]:
        """The ``certificate`` object for ``POST /v1/leases`` / ``PUT /v1/deployments``."""
        return {"certPem": self.cert_pem, "keyPem": self.key_pem.get_secret_value()}


class AkashCreateSpec(BaseModel):
    """What ``create`` needs: the SDL text and a deposit in USD (> 0, at most 6 decimals).

    The deposit is sent even in era C, where managed-deposit accounts ignore it and others
    require it (spec §3.2); the chain refuses deposits below its minimum (~0.5 USD).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    sdl: str = Field(min_length=1)
    deposit_usd: Decimal = Field(default=Decimal("5"), gt=0)

    @field_validator("deposit_usd")
    @classmethod
    def _micro_precision(cls, value: Decimal) -> Decimal:
        if not value.is_finite() or decimal_places(value) > 6:
            raise ValueError("deposit can have at most 6 decimal places (micro-USD)")
        return value
