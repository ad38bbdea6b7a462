"""The Akash client's plumbing: auth, error mapping, slow-call timeouts, local checks of ids,
SDL and amounts, and reading the ``{"data": …}`` envelope."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any

import httpx
from pydantic import SecretStr

from bot.providers import akash_sdl
from bot.providers.akash.convert import decimal_places, to_decimal
from bot.providers.akash.errors import clipped_line, field_errors_from_problems
from bot.providers.akash.errors import map_error as map_akash_error
from bot.providers.akash.normalize import normalize_deployment
from bot.providers.akash.spec import AkashCertificate
from bot.providers.base import BaseProvider
from bot.providers.errors import ProviderError, ValidationError
from bot.providers.models import Deployment

#: ``POST /v1/leases`` broadcasts a tx then PUTs the manifest to every provider, retrying up to
#: 3x with 6 s pauses: it can take tens of seconds (spec §3.4 says use ≥ 120 s).
LEASE_TIMEOUT = httpx.Timeout(connect=5.0, read=150.0, write=10.0, pool=5.0)
#: Create/deposit/close/revise broadcast a transaction and wait for it.
TX_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=10.0, pool=5.0)

_DSEQ_RE = re.compile(r"^[0-9]{1,20}$")
#: bech32 account address on Akash (``akash1`` + 38 data/checksum characters).
ADDRESS_RE = re.compile(r"^akash1[02-9ac-hj-np-z]{38}$")


class AkashPlumbing(BaseProvider):
    """What every Akash call needs (the base of ``AkashProvider``)."""

    def __init__(
        self,
        api_key: SecretStr | str,
        *,
        certificate: AkashCertificate | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(api_key, **kwargs)
        #: A timeout given by the caller applies to every call; otherwise slow transactions
        #: get :data:`TX_TIMEOUT` and lease creation :data:`LEASE_TIMEOUT`.
        self._caller_timeout = kwargs.get("timeout") is not None
        #: Set by :meth:`ensure_certificate` in the certificate era; sent with leases/revisions.
        self.certificate: AkashCertificate | None = certificate
        #: Manifests from :meth:`create` in this process, by dseq (a convenience only: callers
        #: that may run elsewhere must keep ``CreateResult.extras["manifest"]`` themselves).
        self._manifests: dict[str, str] = {}

    def _slow(self, timeout: httpx.Timeout) -> httpx.Timeout | None:
        """The timeout for a slow call: the caller's if one was configured, else ``timeout``."""
        return None if self._caller_timeout else timeout

    # -- protocol plumbing --------------------------------------------------------------

    @classmethod
    def auth_headers(cls, api_key: SecretStr) -> dict[str, SecretStr]:
        return {"x-api-key": api_key}

    def map_error(self, response: httpx.Response) -> ProviderError:
        return map_akash_error(response, self.name)

    # -- local validation ---------------------------------------------------------------

    def _dseq(self, deployment_id: str) -> str:
        dseq = str(deployment_id).strip()
        if not _DSEQ_RE.match(dseq) or int(dseq) <= 0:
            raise ValidationError(
                f"{deployment_id!r} is not an Akash deployment id (a dseq: digits, e.g. "
                "1785245500842).",
                field_errors={"dseq": "must be a positive whole number"},
                provider=self.name,
            )
        return dseq

    def _check_sdl(self, sdl: str) -> None:
        problems = akash_sdl.check_sdl(sdl)
        if problems:
            raise ValidationError(
                f"The SDL is not valid: {clipped_line(akash_sdl.format_problems(problems))}",
                field_errors=field_errors_from_problems(problems),
                provider=self.name,
            )

    def _usd_number(self, amount: Decimal | int | float | str, field: str) -> int | float:
        value = to_decimal(amount)
        if value is None or value <= 0:
            raise ValidationError(
                f"The {field} must be a positive USD amount (got {amount!r}).",
                field_errors={field: "must be greater than 0"},
                provider=self.name,
            )
        if decimal_places(value) > 6:
            raise ValidationError(
                f"The {field} can have at most 6 decimal places (got {amount!r}).",
                field_errors={field: "at most 6 decimal places"},
                provider=self.name,
            )
        if value == value.to_integral_value():
            return int(value)
        number = float(value)
        if not math.isfinite(number):  # pragma: no cover - guarded above
            raise ValidationError(f"The {field} is not a number.", provider=self.name)
        return number

    def _data(self, response: httpx.Response, check: str | None = None) -> Any:
        """The ``data`` of the answer's envelope; ``check`` says what to look at when the
        answer to a non-idempotent call cannot be read (see ``ProviderHTTP.garbled``)."""
        body = self.http.json(response, check=check)
        if not isinstance(body, dict) or "data" not in body:
            raise self.http.garbled(response, "no data envelope", check=check)
        return body["data"]

    def _detail(self, response: httpx.Response, check: str | None = None) -> Deployment:
        data = self._data(response, check)
        if not isinstance(data, dict) or not isinstance(data.get("deployment"), dict):
            raise self.http.garbled(response, "no deployment in it", check=check)
        return normalize_deployment(data)
