"""Akash Network through the Console API's managed wallet (API key), era C shapes.

Wire facts come from ``docs/specs/akash.md`` (read from ``akash-network/console`` ``apps/api``):

* auth: ``x-api-key: <raw key>``; bodies ``{"data": …}`` except ``POST /v1/leases`` (flat);
  answers ``{"data": …}`` except the public provider endpoints (bare);
* a deployment (``dseq``) is created with an SDL and a deposit, providers bid on each of its
  groups, accepting bids (``POST /v1/leases``) starts the workload, the escrow is drawn every
  block (~6 s) at the sum of the active lease prices, and when it runs dry the chain closes the
  deployment (leases ``insufficient_funds``). There is no start/stop/scale on Akash.

Money: prices are micro-USD (``uact``, formerly IBC USDC, both pegged 1:1 to USD) per block;
USD/hour = amount x 600 / 1e6 (:func:`usd_per_hour`). Deposits are sent as USD numbers.

Idempotency (nothing here carries an idempotency key; the server has none):

* create and deposit are never re-sent (a new deployment / a second top-up each time);
* ``POST /v1/leases`` is idempotent in era C (since 2026-06-30 the server skips lease creation
  when a non-closed lease exists and only re-sends the manifest), so it is retried on 5xx and
  timeouts **only when no certificate is held**. Holding a certificate means the server is
  from the certificate era (A/B), where a retry hits "bid not open" and a timeout leaves the
  outcome unknown, so there it is sent once (``OutcomeUnknownError`` on a timeout);
* ``DELETE`` (close) is idempotent in era C; in eras A/B a repeat answers
  ``400 Deployment closed``, which :meth:`AkashProvider.close` treats as success;
* ``PUT`` (revise) with the same SDL is a no-op on the server (hash unchanged), so it is retried.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

import httpx
import pydantic
import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from bot.providers import akash_sdl
from bot.providers.akash_sdl import BLOCK_SECONDS, MICRO, SdlError, usd_per_hour
from bot.providers.base import BaseProvider, RawPage, fingerprint
from bot.providers.error_text import one_line
from bot.providers.errors import (
    AuthenticationError,
    InsufficientFundsError,
    NotFoundError,
    NotSupportedError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    ValidationError,
    WrongStateError,
)
from bot.providers.http import parse_retry_after, response_text
from bot.providers.models import (
    Balance,
    Bid,
    Capability,
    CreateResult,
    Deployment,
    DeploymentStatus,
    Endpoint,
    Page,
    ProviderInfo,
    ProviderName,
)

__all__ = [
    "AkashCertificate",
    "AkashCreateSpec",
    "AkashProvider",
    "escrow_runway",
    "normalize_bid",
    "normalize_deployment",
    "usd_per_hour",
]

#: ``POST /v1/leases`` broadcasts a tx then PUTs the manifest to every provider, retrying up to
#: 3x with 6 s pauses: it can take tens of seconds (spec §3.4 says use ≥ 120 s).
LEASE_TIMEOUT = httpx.Timeout(connect=5.0, read=150.0, write=10.0, pool=5.0)
#: Create/deposit/close/revise broadcast a transaction and wait for it.
TX_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=10.0, pool=5.0)

_DSEQ_RE = re.compile(r"^[0-9]{1,20}$")
#: bech32 account address on Akash (``akash1`` + 38 data/checksum characters).
_ADDRESS_RE = re.compile(r"^akash1[02-9ac-hj-np-z]{38}$")
#: Denoms the managed wallet pays in, all micro-USD (``uact`` since 2026-03-23, IBC USDC before).
_USD_DENOMS = ("uact", "usdc")
#: era C dseqs are ``Date.now()`` in ms; anything smaller is a block height (eras A/B).
_MS_DSEQ_MIN = 1_000_000_000_000

_INSUFFICIENT_FUNDS_REASON = "lease_closed_reason_insufficient_funds"


# -- models -------------------------------------------------------------------------------


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
        if not value.is_finite() or _decimal_places(value) > 6:
            raise ValueError("deposit can have at most 6 decimal places (micro-USD)")
        return value


# -- pure helpers -------------------------------------------------------------------------


def _decimal_places(value: Decimal) -> int:
    """Significant decimal places (``Decimal("5.250000")`` has 2)."""
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def _dec(value: Any, default: Decimal | None = None) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return default
    try:
        result = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return default
    return result if result.is_finite() else default


def _coins(value: Any) -> list[dict[str, Any]]:
    """A coin list from era C ``[{denom, amount}]`` or era A's single ``{denom, amount}``."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list):
        return [c for c in value if isinstance(c, dict)]
    return []


def _coin_total(value: Any) -> tuple[Decimal, str | None]:
    coins = _coins(value)
    total = sum((_dec(c.get("amount"), Decimal(0)) or Decimal(0) for c in coins), Decimal(0))
    denom = next((str(c["denom"]) for c in coins if c.get("denom")), None)
    return total, denom


def is_usd_denom(denom: str | None) -> bool:
    """True for the micro-USD denoms the managed wallet uses (``uact``, IBC USDC)."""
    if not denom:
        return True  # an absent denom on an empty coin list costs nothing either way
    return denom in _USD_DENOMS or denom.startswith("ibc/")


def _usd(amount_micro: Decimal) -> Decimal:
    return amount_micro / MICRO


def _json_decimal(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = format(value.normalize(), "f")
    return text


def _lease_id(lease: Mapping[str, Any]) -> dict[str, Any]:
    ident = lease.get("id") or lease.get("lease_id") or lease.get("bid_id") or {}
    return ident if isinstance(ident, dict) else {}


def _int_or_none(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _service_ready(service: Mapping[str, Any]) -> bool:
    available = _int_or_none(service.get("available")) or 0
    total = _int_or_none(service.get("total"))
    if total is not None and total > 0:
        return available >= total
    replicas = _int_or_none(service.get("replicas")) or 0
    ready = _int_or_none(service.get("ready_replicas")) or 0
    return replicas > 0 and ready >= replicas


def _dseq_time(dseq: str) -> datetime | None:
    number = _int_or_none(dseq)
    if number is None or number < _MS_DSEQ_MIN:
        return None
    try:
        return datetime.fromtimestamp(number / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _lease_endpoints(service_name_status: Mapping[str, Any]) -> list[Endpoint]:
    """Endpoints from one lease's LeaseStatus (nulls normalised to empty)."""
    endpoints: list[Endpoint] = []
    services = service_name_status.get("services") or {}
    if isinstance(services, dict):
        for name, service in sorted(services.items()):
            if not isinstance(service, dict):
                continue
            for host in service.get("uris") or []:
                if isinstance(host, str) and host:
                    url = host if "://" in host else f"http://{host}"
                    endpoints.append(Endpoint(url=url, port=80, label=str(name)))
    forwarded = service_name_status.get("forwarded_ports") or {}
    if isinstance(forwarded, dict):
        for name, ports in sorted(forwarded.items()):
            for port in ports or []:
                if not isinstance(port, dict):
                    continue
                host = port.get("host")
                external = _int_or_none(port.get("externalPort"))
                if not host or external is None:
                    continue
                endpoints.append(Endpoint(url=f"{host}:{external}", port=external, label=str(name)))
    ips = service_name_status.get("ips") or {}
    if isinstance(ips, dict):
        for name, entries in sorted(ips.items()):
            for entry in entries or []:
                if not isinstance(entry, dict) or not entry.get("IP"):
                    continue
                external = _int_or_none(entry.get("ExternalPort"))
                url = f"{entry['IP']}:{external}" if external else str(entry["IP"])
                endpoints.append(Endpoint(url=url, port=external, label=str(name)))
    return endpoints


def normalize_deployment(item: Mapping[str, Any]) -> Deployment:
    """A ``DeploymentDetail`` (or a list item) as a :class:`Deployment`; never raises on
    unexpected values (unknown states → ``UNKNOWN``, nulls → empty).

    Status: deployment ``active`` with no lease → PENDING (raw ``active (waiting for bids)``);
    with an active lease → RUNNING, or STARTING while the provider reports fewer services
    available than total; a lease in ``insufficient_funds`` (or an overdrawn escrow) →
    INSUFFICIENT_FUNDS; ``closed`` → CLOSED. List items carry no lease ``status`` and a GET
    answers ``status: null`` when the provider cannot be reached: then readiness is unknown and
    an active lease counts as RUNNING (``extras["lease_status_known"]`` is False).
    """
    dep = item.get("deployment") if isinstance(item.get("deployment"), dict) else {}
    dep = dep or {}
    dep_id = dep.get("id") or dep.get("deployment_id") or {}
    dep_id = dep_id if isinstance(dep_id, dict) else {}
    dseq = str(dep_id.get("dseq") or "")
    owner = dep_id.get("owner")
    state = str(dep.get("state") or "")
    raw_leases = item.get("leases")
    raw_leases = raw_leases if isinstance(raw_leases, list) else []
    leases = [lease for lease in raw_leases if isinstance(lease, dict)]

    escrow = item.get("escrow_account") if isinstance(item.get("escrow_account"), dict) else {}
    escrow = escrow or {}
    escrow_state_obj = escrow.get("state")
    if isinstance(escrow_state_obj, dict):  # era B/C: nested
        esc = escrow_state_obj
        escrow_state = str(esc.get("state") or "")
    else:  # era A: flat
        esc = escrow
        escrow_state = str(escrow_state_obj or "")
    funds, funds_denom = _coin_total(esc.get("funds"))
    transferred, _ = _coin_total(esc.get("transferred"))

    lease_extras: list[dict[str, Any]] = []
    endpoints: list[Endpoint] = []
    active_rate = Decimal(0)
    rate_is_usd = True
    active = 0
    insufficient = False
    status_known = True
    starting = False
    replicas = 0
    replicas_known = False
    started_at: datetime | None = None
    created_time = _dseq_time(dseq)
    created_height = _int_or_none(dep.get("created_at"))
    for lease in leases:
        ident = _lease_id(lease)
        lease_state = str(lease.get("state") or "")
        price = lease.get("price") if isinstance(lease.get("price"), dict) else {}
        price = price or {}
        amount = _dec(price.get("amount"), Decimal(0)) or Decimal(0)
        denom = price.get("denom")
        lease_extras.append(
            {
                "provider": ident.get("provider"),
                "gseq": _int_or_none(ident.get("gseq")),
                "oseq": _int_or_none(ident.get("oseq")),
                "bseq": _int_or_none(ident.get("bseq")),
                "state": lease_state,
                "price_per_block": _json_decimal(amount),
                "denom": denom,
                "price_per_hour_usd": _json_decimal(usd_per_hour(amount))
                if is_usd_denom(denom)
                else None,
                "reason": lease.get("reason"),
                "created_at": lease.get("created_at"),
                "closed_on": lease.get("closed_on"),
            }
        )
        if lease_state == "insufficient_funds" or lease.get("reason") == _INSUFFICIENT_FUNDS_REASON:
            insufficient = True
        if lease_state != "active":
            continue
        active += 1
        active_rate += amount
        rate_is_usd = rate_is_usd and is_usd_denom(denom)
        lease_height = _int_or_none(lease.get("created_at"))
        if created_time and created_height is not None and lease_height is not None:
            guess = created_time + timedelta(
                seconds=(lease_height - created_height) * BLOCK_SECONDS
            )
            started_at = guess if started_at is None else min(started_at, guess)
        status = lease.get("status")
        if not isinstance(status, dict):
            status_known = False
            continue
        endpoints.extend(_lease_endpoints(status))
        services = status.get("services") or {}
        if isinstance(services, dict) and services:
            for service in services.values():
                if not isinstance(service, dict):
                    continue
                replicas_known = True
                replicas += _int_or_none(service.get("total")) or 0
                if not _service_ready(service):
                    starting = True
        else:
            starting = True  # the provider has nothing running yet

    if escrow_state == "overdrawn":
        insufficient = True
    if insufficient:
        status_ = DeploymentStatus.INSUFFICIENT_FUNDS
        raw = f"{state} (insufficient funds)" if state else "insufficient_funds"
    elif state == "closed":
        status_, raw = DeploymentStatus.CLOSED, "closed"
    elif state == "active" and not leases:
        status_, raw = DeploymentStatus.PENDING, "active (waiting for bids)"
    elif state == "active" and active == 0:
        # Every lease was closed (by the provider); the deployment keeps its escrow.
        status_, raw = DeploymentStatus.FAILED, "active (lease closed)"
    elif state == "active" and starting:
        status_, raw = DeploymentStatus.STARTING, "active (lease starting)"
    elif state == "active":
        status_, raw = DeploymentStatus.RUNNING, "active"
    else:
        status_, raw = DeploymentStatus.UNKNOWN, state or "unknown"

    runway = None
    if state == "active" and active_rate > 0:
        runway = int(funds // active_rate) * BLOCK_SECONDS
    extras: dict[str, Any] = {
        "dseq": dseq,
        "owner": owner,
        "state": state,
        "manifest_hash": dep.get("hash") or dep.get("version"),
        "created_height": dep.get("created_at"),
        "escrow_state": escrow_state or None,
        "escrow_funds": _json_decimal(funds),
        "escrow_denom": funds_denom,
        "escrow_funds_usd": _json_decimal(_usd(funds)) if is_usd_denom(funds_denom) else None,
        "escrow_transferred_usd": _json_decimal(_usd(transferred))
        if is_usd_denom(funds_denom)
        else None,
        "escrow_settled_at": esc.get("settled_at"),
        "price_per_block": _json_decimal(active_rate),
        "runway_seconds": runway,
        "lease_status_known": status_known,
        "leases": lease_extras,
    }
    cost = usd_per_hour(active_rate) if rate_is_usd else None
    return Deployment(
        provider="akash",
        id=dseq,
        name=f"dseq {dseq}" if dseq else "unknown",
        status=status_,
        raw_status=raw,
        replicas=replicas if replicas_known else None,
        endpoints=tuple(endpoints),
        cost_per_hour_usd=cost,
        total_cost_usd=_usd(transferred) if is_usd_denom(funds_denom) else None,
        created_at=created_time,
        started_at=started_at,
        extras=extras,
    )


def _watched_escrow_and_leases(item: Mapping[str, Any]) -> list[object]:
    """What a list item's status and runway come from besides the deployment's state: the
    escrow's state and funds, and each lease's state, reason, price and service status."""
    escrow = item.get("escrow_account")
    esc = escrow.get("state") if isinstance(escrow, dict) else None
    esc = esc if isinstance(esc, dict) else escrow if isinstance(escrow, dict) else {}
    values: list[object] = [esc.get("state"), esc.get("funds")]
    leases = item.get("leases")
    for lease in leases if isinstance(leases, list) else []:
        if isinstance(lease, dict):
            price = lease.get("price")
            amount = price.get("amount") if isinstance(price, dict) else price
            values += (lease.get("state"), lease.get("reason"), amount, lease.get("status"))
    return values


def escrow_runway(deployment: Deployment) -> timedelta | None:
    """How long the escrow lasts at the current burn: funds ÷ Σ active lease price per block,
    times ~6 s (whole blocks, so never optimistic). None when nothing is drawn or it is closed.

    The funds are those the API reported (as of ``escrow_settled_at``); the chain settles
    lazily, so against a real server this is an upper bound.
    """
    extras = deployment.extras
    if extras.get("state") != "active":
        return None
    funds = _dec(extras.get("escrow_funds"))
    rate = _dec(extras.get("price_per_block"))
    if funds is None or rate is None or rate <= 0:
        return None
    blocks = max(Decimal(0), funds) // rate
    return timedelta(seconds=int(blocks) * BLOCK_SECONDS)


def _gpu_from_attributes(attributes: Any) -> tuple[str | None, dict[str, str]]:
    for attr in attributes or []:
        key = attr.get("key") if isinstance(attr, dict) else None
        if not isinstance(key, str) or not key.startswith("vendor/"):
            continue
        parts = key.split("/")
        details = {parts[i]: parts[i + 1] for i in range(0, len(parts) - 1, 2)}
        return details.get("model"), details
    return None, {}


def normalize_bid(item: Mapping[str, Any]) -> Bid:
    """One ``GET /v1/bids`` item as a :class:`Bid` (era C ``bid.id``; era A ``bid.bid_id``)."""
    bid = item.get("bid") if isinstance(item.get("bid"), dict) else {}
    bid = bid or {}
    ident = bid.get("id") or bid.get("bid_id") or {}
    ident = ident if isinstance(ident, dict) else {}
    price = bid.get("price") if isinstance(bid.get("price"), dict) else {}
    price = price or {}
    amount = _dec(price.get("amount"), Decimal(0)) or Decimal(0)
    denom = str(price.get("denom") or "")
    gpu: str | None = None
    gpu_details: dict[str, str] = {}
    gpu_units = 0
    cpu_millis = 0
    memory = 0
    storage = 0
    for offer in bid.get("resources_offer") or []:
        if not isinstance(offer, dict):
            continue
        count = _int_or_none(offer.get("count")) or 1
        res = offer.get("resources") or {}
        gpu_block = res.get("gpu") or {}
        units = _int_or_none((gpu_block.get("units") or {}).get("val")) or 0
        gpu_units += units * count
        if units and gpu is None:
            gpu, gpu_details = _gpu_from_attributes(gpu_block.get("attributes"))
        cpu_millis += (
            _int_or_none(((res.get("cpu") or {}).get("units") or {}).get("val")) or 0
        ) * count
        memory += (
            _int_or_none(((res.get("memory") or {}).get("quantity") or {}).get("val")) or 0
        ) * count
        for volume in res.get("storage") or []:
            if isinstance(volume, dict):
                storage += (_int_or_none((volume.get("quantity") or {}).get("val")) or 0) * count
    extras: dict[str, Any] = {
        "owner": ident.get("owner"),
        "created_at": bid.get("created_at"),
        "gpu_units": gpu_units,
        "gpu_vendor": gpu_details.get("vendor"),
        "gpu_ram": gpu_details.get("ram"),
        "gpu_interface": gpu_details.get("interface"),
        "cpu_millis": cpu_millis,
        "memory_bytes": memory,
        "storage_bytes": storage,
        "price_is_usd": is_usd_denom(denom),
    }
    if "isCertificateRequired" in item:
        extras["certificate_required"] = bool(item.get("isCertificateRequired"))
    if bid.get("reclamation_window"):
        extras["reclamation_window"] = bid.get("reclamation_window")
    return Bid(
        deployment_id=str(ident.get("dseq") or ""),
        provider_address=str(ident.get("provider") or ""),
        gseq=_int_or_none(ident.get("gseq")) or 0,
        oseq=_int_or_none(ident.get("oseq")) or 0,
        bseq=_int_or_none(ident.get("bseq")),
        state=str(bid.get("state") or "unknown"),
        price_per_block=amount,
        denom=denom,
        price_per_hour_usd=usd_per_hour(amount),
        gpu=gpu if gpu != "*" else None,
        extras=extras,
    )


def _field_errors_from_problems(problems: Sequence[akash_sdl.Problem]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for path, message in problems:
        key = "sdl" + ("." + akash_sdl.pointer_to_dotted(path) if path else "")
        errors[key] = f"{errors[key]}; {message}" if key in errors else message
    return errors


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _zod_field_errors(issues: list[Any]) -> dict[str, str]:
    """Field path → message from a zod ``validation_error`` envelope's ``data`` issues."""
    field_errors: dict[str, str] = {}
    for issue in issues:
        if not isinstance(issue, dict):
            continue
        path = [str(p) for p in issue.get("path") or []]
        if path and path[0] == "data":
            path = path[1:]
        key = ".".join(path) or "request"
        message = _one_line(str(issue.get("message") or "invalid"))
        field_errors[key] = f"{field_errors[key]}; {message}" if key in field_errors else message
    return field_errors


def _refusal(text: str, lower: str, quoted: str, kw: dict[str, Any]) -> ProviderError:
    """A 400 (or other 4xx) by the Console's wording (spec §2)."""
    if lower.startswith("invalid sdl"):
        detail = text.split(":", 1)[1].strip() if ":" in text else text
        return ValidationError(
            f"Akash Console refused the SDL ({quoted}); fix it and try again.",
            field_errors={"sdl": detail},
            **kw,
        )
    if "deployment closed" in lower or "account closed" in lower:
        return WrongStateError(
            f"The Akash deployment is already closed ({quoted}); create a new one.", **kw
        )
    if "no longer open" in lower or "bid not open" in lower:
        return WrongStateError(
            f"That bid can no longer be accepted ({quoted}); refresh the bids and pick "
            "an open one.",
            **kw,
        )
    if "order" in lower and ("not open" in lower or "matched or closed" in lower):
        return WrongStateError(
            f"That order is already leased or closed ({quoted}); refresh the deployment.",
            **kw,
        )
    if "cannot be settled" in lower:
        return WrongStateError(f"Akash escrow cannot be settled yet ({quoted}); retry later.", **kw)
    if "deposit too low" in lower or "deposit is required" in lower:
        return ValidationError(
            f"Akash refused the deposit ({quoted}); deposit at least 0.5 USD.",
            field_errors={"deposit": text},
            **kw,
        )
    if "trial expired" in lower:
        return InsufficientFundsError(
            f"Akash Console: {quoted}; add credits to keep deploying.", **kw
        )
    if "certificates are no longer required" in lower or "has been removed" in lower:
        return NotSupportedError(f"Akash Console no longer uses certificates ({quoted}).", **kw)
    if "credentials" in lower and "provider" in lower:
        return UnavailableError(
            f"The Akash provider refused the lease credentials ({quoted}); retry, and "
            "fetch a new certificate if it persists.",
            **kw,
        )
    if "content-type" in lower or "mutually exclusive" in lower or "malformed" in lower:
        return ValidationError(f"Akash Console refused the request ({quoted}).", **kw)
    return ValidationError(f"Akash Console refused the request ({quoted}).", **kw)


# -- client -------------------------------------------------------------------------------


class AkashProvider(BaseProvider):
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
        """The Console's error shapes (spec §2) → the taxonomy, quoting the server's text."""
        status = response.status_code
        body: Any
        try:
            body = response.json()
        except ValueError:
            body = None
        code = str(body.get("code") or "") if isinstance(body, dict) else ""
        issues = body.get("data") if isinstance(body, dict) else None
        # The whole text is matched; people see one short line (an HTML page: its title).
        full = response_text(response, limit=2000)
        text = one_line(full)
        lower = full.lower()
        quoted = f"“{text}”"
        kw: dict[str, Any] = {"provider": self.name, "status_code": status, "provider_text": full}
        by_status = self._status_error(response, code, lower, quoted, kw)
        if by_status is not None:
            return by_status
        if code == "validation_error" and isinstance(issues, list):
            field_errors = _zod_field_errors(issues)
            summary = "; ".join(f"{k}: {v}" for k, v in field_errors.items()) or text
            return ValidationError(
                f"Akash Console refused the request as invalid ({_one_line(summary)}).",
                field_errors=field_errors,
                **kw,
            )
        return _refusal(text, lower, quoted, kw)

    def _status_error(
        self,
        response: httpx.Response,
        code: str,
        lower: str,
        quoted: str,
        kw: dict[str, Any],
    ) -> ProviderError | None:
        """What the status alone decides (429, 401, 403, 404, 402, 409, 5xx); else None."""
        status = response.status_code
        if status == 429:
            wait = parse_retry_after(response.headers.get("Retry-After"))
            return RateLimitedError(
                f"Akash Console is rate limiting requests ({quoted}); wait and try again.",
                retry_after=wait,
                **kw,
            )
        if status == 401:
            return AuthenticationError(
                f"Akash Console rejected the API key ({quoted}); check it in Console → "
                "API keys and connect it again.",
                **kw,
            )
        if status == 403:
            return AuthenticationError(
                f"Akash Console refused this for the key's account ({quoted}); check that its "
                "managed wallet is set up and the key may sign transactions.",
                **kw,
            )
        if status == 404:
            if "provider" in lower:
                return NotFoundError(f"Akash provider not found ({quoted}).", **kw)
            if "wallet" in lower:
                return NotFoundError(
                    f"Akash Console has no wallet for this key's account ({quoted}); finish "
                    "the account setup in Console, then connect the key again.",
                    **kw,
                )
            return NotFoundError(
                f"Akash deployment not found ({quoted}); it may belong to another account.", **kw
            )
        if status == 402 or "insufficient funds" in lower or "not enough" in lower:
            return InsufficientFundsError(
                f"Akash Console: not enough funds ({quoted}); add credits in Console and retry.",
                **kw,
            )
        if status == 409:
            if code == "wallet_provisioning":
                return UnavailableError(
                    f"Akash Console is still provisioning this account's wallet ({quoted}); "
                    "this is temporary, retry in a minute.",
                    **kw,
                )
            return WrongStateError(f"Akash Console reported a conflict ({quoted}).", **kw)
        if status >= 500:
            return UnavailableError(
                f"Akash Console is unavailable (HTTP {status}: {quoted}); try again shortly.",
                **kw,
            )
        return None

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

    def check_revision(self, definition: str) -> str | None:
        problems = akash_sdl.check_sdl(definition)
        return _one_line(akash_sdl.format_problems(problems)) if problems else None

    async def revision_template(self, deployment: Deployment) -> tuple[str, str]:
        """Akash Console does not hand back a deployment's SDL: start from an empty form."""
        return "", "yaml"

    def funds_runway(self, deployment: Deployment) -> timedelta | None:
        return escrow_runway(deployment)

    def _check_sdl(self, sdl: str) -> None:
        problems = akash_sdl.check_sdl(sdl)
        if problems:
            raise ValidationError(
                f"The SDL is not valid: {_one_line(akash_sdl.format_problems(problems))}",
                field_errors=_field_errors_from_problems(problems),
                provider=self.name,
            )

    def _usd_number(self, amount: Decimal | int | float | str, field: str) -> int | float:
        value = _dec(amount)
        if value is None or value <= 0:
            raise ValidationError(
                f"The {field} must be a positive USD amount (got {amount!r}).",
                field_errors={field: "must be greater than 0"},
                provider=self.name,
            )
        if _decimal_places(value) > 6:
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

    # -- operations ---------------------------------------------------------------------

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

    async def create(self, spec: BaseModel) -> CreateResult:
        """``POST /v1/deployments`` (201) after validating the SDL locally; never retried.

        ``CreateResult.extras["manifest"]`` must be kept: :meth:`accept_bids` sends it.
        """
        if not isinstance(spec, AkashCreateSpec):
            try:
                spec = AkashCreateSpec.model_validate(spec.model_dump())
            except pydantic.ValidationError as exc:
                raise ValidationError(
                    f"Not an Akash deployment spec: {_one_line(str(exc))}", provider=self.name
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
                created_at=_dseq_time(dseq),
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
                "max_price_per_hour_usd": _json_decimal(max_hour),
                "deposit_usd": _json_decimal(Decimal(str(deposit))),
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
        total = _int_or_none(pagination.get("total"))
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
        """The dseq, and a digest of what status and runway come from: the deployment's
        state, its escrow account and its leases."""
        dep = raw.get("deployment") if isinstance(raw, dict) else None
        ident = dep.get("id") or dep.get("deployment_id") if isinstance(dep, dict) else None
        dseq = ident.get("dseq") if isinstance(ident, dict) else None
        if not dseq:
            return None
        return str(dseq), fingerprint(dep.get("state"), *_watched_escrow_and_leases(raw))  # type: ignore[union-attr]

    async def normalize_listed(self, items: Sequence[Any]) -> list[Deployment]:
        return [normalize_deployment(i) for i in items if isinstance(i, dict)]

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
            if not _ADDRESS_RE.match(bid.provider_address):
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
            if (value := _dec(data.get(key))) is not None
        }
        return Balance(available_usd=details.get("balance", Decimal(0)), details=details)

    async def provider_info(self, address: str) -> ProviderInfo:
        """``GET /v1/providers/{address}`` (public, bare object)."""
        address = str(address).strip()
        if not _ADDRESS_RE.match(address):
            raise ValidationError(
                f"{address!r} is not an Akash provider address (akash1…).",
                field_errors={"address": "must be an akash1… address"},
                provider=self.name,
            )
        response = await self.http.request("GET", f"/v1/providers/{address}")
        body = self.http.json(response)
        if not isinstance(body, dict):
            raise UnavailableError("Akash Console answered the provider oddly.", provider=self.name)
        return _provider_info(body)

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
        return [_provider_info(p) for p in body if isinstance(p, dict)]


def _provider_info(body: Mapping[str, Any]) -> ProviderInfo:
    uptime = body.get("uptime7d")
    region = ", ".join(str(p) for p in (body.get("ipRegion"), body.get("ipCountry")) if p) or None
    models: list[str] = []
    for gpu in body.get("gpuModels") or []:
        if isinstance(gpu, dict) and gpu.get("model") and gpu["model"] not in models:
            models.append(str(gpu["model"]))
    return ProviderInfo(
        address=str(body.get("owner") or ""),
        name=body.get("name"),
        host_uri=body.get("hostUri"),
        is_audited=body.get("isAudited"),
        is_online=body.get("isOnline"),
        uptime_7d=float(uptime) if isinstance(uptime, int | float) else None,
        region=region,
        gpu_models=tuple(models),
    )
