"""A local emulator of the Akash Console API (managed wallet, API key), era C shapes.

It answers the lifecycle endpoints the way ``akash-network/console`` ``apps/api`` does
(spec ``akash.md``): same paths, auth checks, ``{"data": …}`` envelopes, status codes and error
bodies, and the chain's state machine underneath:

* ``POST /v1/deployments`` validates the SDL (``bot.providers.akash_sdl``), takes the deposit
  from the account balance into the deployment's escrow, answers 201 with a ms-timestamp dseq;
* ``bid_delay`` seconds later every seeded, audited, online provider that has the requested GPU
  model (any, when no model is named) and whose price is within the SDL's max price bids on each
  group — so an SDL can get no bids at all; open bids close after ``bid_timeout``;
* ``POST /v1/leases`` (flat body) turns the chosen bids into leases (other bids → ``lost``),
  checks the manifest, and the lease becomes ready ``lease_ready_delay`` seconds later with
  ingress ``uris`` and ``forwarded_ports`` (nulls before that, as providers send them);
* the escrow is drawn every 6-s block at the sum of the active lease prices; when it cannot pay
  a block the escrow is ``overdrawn``, the deployment ``closed``, its leases
  ``insufficient_funds`` (reason ``lease_closed_reason_insufficient_funds``): it leaves the list
  but ``GET /v1/deployments/{dseq}`` still returns it;
* ``DELETE`` closes and refunds the escrow to the balance (idempotent, era C).

Time is ``self.clock``; nothing runs in the background. Every request first calls
:meth:`AkashSandbox.advance`, which pops only the due entries of a heap of scheduled
transitions (bids arriving, bids expiring, escrow running dry), so an idle world costs O(1).
Escrow balances are computed on read from (funds at last settlement, rate, block count); the
exhaustion moment is computed in closed form and scheduled. Each account keeps its deployments
in creation order with a Fenwick tree over the "listed" (active) flags, so a list page costs
O(limit x log n) however many deployments exist.

Amounts are held as integers of 1e-18 micro-USD (the chain's DecCoin precision), so sums are
exact and they print as the chain's 18-decimal strings.

The certificate era (A/B) is available with ``certificates_required=True``:
``POST /v1/certificates`` then answers 200 with real PEMs, leases and revisions need the
``certificate``, lease creation is no longer idempotent (a retry hits "bid no longer open"), a
repeated close answers ``400 Deployment closed``, and bids carry ``isCertificateRequired``.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from sandbox import akash_sdl
from sandbox.akash_manifest import Derived, GpuRequest, GroupSpec, derive, manifest_version
from sandbox.clock import DEFAULT_START, Clock
from sandbox.common import SandboxAPI, json_response
from sandbox.pricing import uact_per_block

__all__ = [
    "AUDITOR",
    "DEMO_API_KEY",
    "AkashSandbox",
    "FakeProvider",
    "GpuOffer",
    "bech32_address",
]

DEMO_API_KEY = "ac.sk.production.e7c2c1f9bcc4bec7a29991c330d1da37e4deb77983894276767225f43b93c831"
#: The auditor whose audited providers the Console accepts bids from.
AUDITOR = "akash1365yvmc4s7awdyj3n2sav7xfx76adc6dnmlx63"
DENOM = "uact"
BLOCK_SECONDS = 6.0
#: Block height at ``DEFAULT_START``; heights advance one per 6 s of clock time.
REFERENCE_HEIGHT = 24_000_000
ATTO = 10**18
MICRO = 10**6
#: 1 USD in stored units (1e6 micro x 1e18).
USD = MICRO * ATTO
BID_DEPOSIT = Decimal("0.5")

KEY_RE = re.compile(r"^ac\.sk\.production\.[0-9a-f]{64}$")
ADDRESS_RE = re.compile(r"^akash1[02-9ac-hj-np-z]{38}$")
DSEQ_RE = re.compile(r"^[0-9]+$")

LEASE_NOT_OPEN = (
    "Failed to create lease: Cannot create lease: The selected bid is no longer open. "
    "Please refresh and select an available bid."
)
CERT_REMOVED = (
    "This endpoint has been removed. mTLS certificates are no longer required as identity is "
    "now verified via API key."
)
NOT_ENOUGH_BALANCE = (
    "Not enough balance to cover the deployment deposit. Add credits or turn on auto recharge "
    "to continue."
)

# -- small helpers ---------------------------------------------------------------------------

_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_GEN = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)


def _polymod(values: Iterable[int]) -> int:
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i, gen in enumerate(_BECH32_GEN):
            if (top >> i) & 1:
                chk ^= gen
    return chk


def bech32_address(payload: bytes, hrp: str = "akash") -> str:
    """A valid bech32 address (``akash1…``, 44 characters for 20 bytes) for ``payload``."""
    acc = bits = 0
    data: list[int] = []
    for byte in payload:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    mod = _polymod([*expanded, *data, 0, 0, 0, 0, 0, 0]) ^ 1
    checksum = [(mod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def _address_for(seed: str) -> str:
    return bech32_address(hashlib.sha256(seed.encode()).digest()[:20])


def dec_coin(units: int) -> str:
    """Stored units (1e-18 micro) as the chain's DecCoin amount string (18 decimals)."""
    whole, frac = divmod(units, ATTO)
    return f"{whole}.{frac:018d}"


def _units_from_usd(amount: Decimal) -> int:
    return int((amount * USD).to_integral_value(rounding=ROUND_DOWN))


def _usd_number(units: int) -> float:
    return round(units / USD, 6)


def height_at(ts: float) -> int:
    """The fake chain's block height at a clock time."""
    return REFERENCE_HEIGHT + int((ts - DEFAULT_START) // BLOCK_SECONDS)


def _error(
    status: int,
    message: str,
    *,
    error: str = "BadRequestError",
    code: str | None = None,
    type_: str | None = None,
    data: Any = None,
) -> web.Response:
    """The HonoErrorHandlerService envelope (spec §2)."""
    default_code = {
        400: "bad_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        409: "conflict",
        502: "service_unavailable",
        503: "service_unavailable",
    }
    body: dict[str, Any] = {
        "error": error,
        "message": message,
        "code": code or default_code.get(status, "unknown_error"),
        "type": type_ or ("server_error" if status >= 500 else "client_error"),
    }
    if data is not None:
        body["data"] = data
    return json_response(body, status=status)


def _validation_error(issues: list[dict[str, Any]]) -> web.Response:
    return _error(
        400, "Validation error", code="validation_error", type_="validation_error", data=issues
    )


class _Reply(Exception):
    """Raised inside a handler to answer immediately with ``response``."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


def json_type_name(value: Any) -> str:
    """The type zod names in ``received`` for a parsed JSON value."""
    if value is None:
        return "null"
    names = ((bool, "boolean"), (int | float, "number"), (str, "string"), (list, "array"))
    for kind, name in (*names, (dict, "object")):
        if isinstance(value, kind):
            return name
    return type(value).__name__


class _Zod:
    """Collects zod-style issues (``{code, message, path, …}``) for a request body."""

    def __init__(self) -> None:
        self.issues: list[dict[str, Any]] = []

    def _type(self, path: list[Any], expected: str, value: Any, present: bool) -> None:
        received = json_type_name(value) if present else "undefined"
        self.issues.append(
            {
                "code": "invalid_type",
                "expected": expected,
                "received": received,
                "path": path,
                "message": "Required"
                if not present
                else f"Expected {expected}, received {received}",
            }
        )

    def obj(self, parent: Any, key: str, path: list[Any]) -> dict[str, Any] | None:
        present = isinstance(parent, dict) and key in parent
        value = parent.get(key) if isinstance(parent, dict) else None
        if not isinstance(value, dict):
            self._type([*path, key], "object", value, present)
            return None
        return value

    def string(
        self, parent: dict[str, Any], key: str, path: list[Any], *, optional: bool = False
    ) -> str | None:
        if key not in parent:
            if not optional:
                self._type([*path, key], "string", None, False)
            return None
        value = parent[key]
        if not isinstance(value, str):
            self._type([*path, key], "string", value, True)
            return None
        return value

    def number(
        self,
        parent: dict[str, Any],
        key: str,
        path: list[Any],
        *,
        optional: bool = False,
        positive: bool = False,
    ) -> Decimal | None:
        if key not in parent or (parent[key] is None and optional):
            if not optional:
                self._type([*path, key], "number", None, False)
            return None
        value = parent[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            self._type([*path, key], "number", value, True)
            return None
        number = Decimal(str(value))
        if positive and number <= 0:
            self.issues.append(
                {
                    "code": "too_small",
                    "minimum": 0,
                    "type": "number",
                    "inclusive": False,
                    "exact": False,
                    "message": "Number must be greater than 0",
                    "path": [*path, key],
                }
            )
            return None
        return number

    def dseq(self, value: Any, path: list[Any], *, present: bool = True) -> str | None:
        """``DseqSchema``: coerced to BigInt, > 0, re-emitted as a decimal string."""
        if not present:
            self._type(path, "bigint", None, False)
            return None
        if isinstance(value, bool) or not isinstance(value, int | str):
            self._type(path, "bigint", value, True)
            return None
        text = str(value).strip()
        if not DSEQ_RE.match(text):
            self._type(path, "bigint", value, True)
            return None
        if int(text) <= 0:
            self.issues.append(
                {
                    "code": "too_small",
                    "minimum": "0",
                    "type": "bigint",
                    "inclusive": False,
                    "exact": False,
                    "message": "BigInt must be greater than 0",
                    "path": path,
                }
            )
            return None
        return str(int(text))

    def check(self) -> None:
        if self.issues:
            raise _Reply(_validation_error(self.issues))


# -- the fake world ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuOffer:
    """A GPU model a provider has, and what it charges per GPU-hour (USD)."""

    model: str
    ram: str
    interface: str
    usd_per_hour: Decimal
    available: int = 8

    @property
    def key(self) -> str:
        return f"vendor/nvidia/model/{self.model}/ram/{self.ram}/interface/{self.interface}"


@dataclass
class FakeProvider:
    """A seeded Akash provider (what ``/v1/providers`` shows and what bids)."""

    name: str
    host: str
    country: str
    country_code: str
    region: str
    region_code: str
    city: str
    lat: str
    lon: str
    gpus: tuple[GpuOffer, ...] = ()
    cpu_usd_per_core_hour: Decimal = Decimal("0.008")
    memory_usd_per_gi_hour: Decimal = Decimal("0.003")
    storage_usd_per_gi_hour: Decimal = Decimal("0.00015")
    uptime: tuple[float, float, float] = (0.999, 0.998, 0.997)
    audited: bool = True
    online: bool = True
    attributes: dict[str, str] = field(default_factory=dict)
    akash_version: str = "0.10.4"
    owner: str = ""

    def __post_init__(self) -> None:
        if not self.owner:
            self.owner = _address_for(f"provider:{self.name}")

    @property
    def host_uri(self) -> str:
        return f"https://{self.host}:8443"

    @property
    def ingress_domain(self) -> str:
        return "ingress." + self.host.removeprefix("provider.")

    def gpu_for(self, options: tuple[GpuRequest, ...]) -> GpuOffer | None:
        """The first of this provider's GPUs that satisfies any requested option."""
        for option in options or (GpuRequest(),):
            for gpu in self.gpus:
                if option.model not in (None, "*", gpu.model):
                    continue
                if option.ram not in (None, gpu.ram):
                    continue
                if option.interface not in (None, gpu.interface):
                    continue
                return gpu
        return None

    def quote(self, group: GroupSpec) -> tuple[Decimal, dict[str, GpuOffer]] | None:
        """(USD/hour for the whole group, GPU chosen per profile), or None if it cannot bid."""
        if not (self.audited and self.online):
            return None
        for key, value in group.attributes:
            if self.attributes.get(key) != value:
                return None
        hourly = Decimal(0)
        chosen: dict[str, GpuOffer] = {}
        for unit in group.resources:
            per_unit = (
                Decimal(unit.cpu_millis) / 1000 * self.cpu_usd_per_core_hour
                + Decimal(unit.memory_bytes) / 2**30 * self.memory_usd_per_gi_hour
                + sum((Decimal(size) for _, size, _ in unit.storage), Decimal(0))
                / 2**30
                * self.storage_usd_per_gi_hour
            )
            if unit.gpu_units > 0:
                gpu = self.gpu_for(unit.gpu_options)
                if gpu is None or gpu.available < unit.gpu_units * unit.count:
                    return None
                chosen[unit.profile] = gpu
                per_unit += gpu.usd_per_hour * unit.gpu_units
            hourly += per_unit * unit.count
        return hourly, chosen

    def to_json(self, height: int, now: float) -> dict[str, Any]:
        """The bare provider object of ``GET /v1/providers/{address}``."""
        checked = datetime.fromtimestamp(now - 90, tz=UTC).isoformat().replace("+00:00", "Z")
        gpus = sum(g.available for g in self.gpus)
        return {
            "owner": self.owner,
            "name": self.name,
            "hostUri": self.host_uri,
            "createdHeight": 9_000_000
            + int(hashlib.sha256(self.name.encode()).hexdigest(), 16) % 5_000_000,
            "email": f"ops@{self.host.removeprefix('provider.')}",
            "website": f"https://{self.host.removeprefix('provider.')}",
            "lastCheckDate": checked,
            "deploymentCount": 40 + len(self.name) * 7,
            "leaseCount": 55 + len(self.name) * 9,
            "cosmosSdkVersion": "v0.53.3",
            "akashVersion": self.akash_version,
            "ipRegion": self.region,
            "ipRegionCode": self.region_code,
            "ipCountry": self.country,
            "ipCountryCode": self.country_code,
            "ipLat": self.lat,
            "ipLon": self.lon,
            "uptime1d": self.uptime[0],
            "uptime7d": self.uptime[1],
            "uptime30d": self.uptime[2],
            "isValidVersion": True,
            "isOnline": self.online,
            "lastOnlineDate": checked if self.online else None,
            "isAudited": self.audited,
            "stats": {
                "cpu": {"active": 64_000, "available": 192_000, "pending": 0},
                "gpu": {"active": max(0, gpus // 4), "available": gpus, "pending": 0},
                "memory": {"active": 256 * 2**30, "available": 768 * 2**30, "pending": 0},
                "storage": {
                    "ephemeral": {"active": 2 * 2**40, "available": 8 * 2**40, "pending": 0},
                    "persistent": {"active": 0, "available": 4 * 2**40, "pending": 0},
                },
            },
            "gpuModels": [
                {"vendor": "nvidia", "model": g.model, "ram": g.ram, "interface": g.interface}
                for g in self.gpus
            ],
            "attributes": [
                {"key": k, "value": v, "auditedBy": [AUDITOR] if self.audited else []}
                for k, v in sorted(self.attributes.items())
            ],
            "host": self.attributes.get("host"),
            "organization": self.attributes.get("organization"),
            "statusPage": None,
            "locationRegion": self.attributes.get("location-region"),
            "country": self.country_code,
            "city": self.city,
            "timezone": None,
            "locationType": "datacenter",
            "hostingProvider": None,
            "hardwareCpu": "amd",
            "hardwareCpuArch": "x86-64",
            "hardwareGpuVendor": "nvidia" if self.gpus else None,
            "hardwareGpuModels": [g.model for g in self.gpus],
            "hardwareDisk": ["nvme"],
            "featPersistentStorage": True,
            "featPersistentStorageType": ["beta3"],
            "hardwareMemory": "ddr5",
            "networkProvider": None,
            "networkSpeedDown": 10_000,
            "networkSpeedUp": 10_000,
            "tier": self.attributes.get("tier"),
            "featEndpointCustomDomain": True,
            "workloadSupportChia": False,
            "workloadSupportChiaCapabilities": [],
            "featEndpointIp": False,
            "uptime": [],
        }


def default_providers() -> list[FakeProvider]:
    """The seeded providers: four audited ones with different GPUs and one unaudited."""
    return [
        FakeProvider(
            name="europlots",
            host="provider.europlots.com",
            country="Germany",
            country_code="DE",
            region="Hesse",
            region_code="HE",
            city="Frankfurt am Main",
            lat="50.1109",
            lon="8.6821",
            gpus=(
                GpuOffer("rtx4090", "24Gi", "pcie", Decimal("0.38")),
                GpuOffer("a100", "80Gi", "pcie", Decimal("1.05")),
            ),
            uptime=(0.9993, 0.9981, 0.9962),
            attributes={"region": "eu-central", "host": "akash", "tier": "community"},
        ),
        FakeProvider(
            name="hurricane",
            host="provider.hurricane.akash.pub",
            country="United States",
            country_code="US",
            region="California",
            region_code="CA",
            city="Fremont",
            lat="37.5483",
            lon="-121.9886",
            gpus=(),
            cpu_usd_per_core_hour=Decimal("0.006"),
            uptime=(1.0, 0.9996, 0.9991),
            attributes={"region": "us-west", "host": "akash", "tier": "community"},
        ),
        FakeProvider(
            name="parallelnode",
            host="provider.parallelnode.io",
            country="United States",
            country_code="US",
            region="Texas",
            region_code="TX",
            city="Dallas",
            lat="32.7767",
            lon="-96.7970",
            gpus=(
                GpuOffer("h100", "80Gi", "sxm", Decimal("1.85")),
                GpuOffer("a100", "80Gi", "sxm", Decimal("1.10")),
            ),
            uptime=(0.998, 0.9952, 0.9917),
            attributes={"region": "us-central", "host": "akash", "tier": "premium"},
        ),
        FakeProvider(
            name="rtxcloud",
            host="provider.rtxcloud.ca",
            country="Canada",
            country_code="CA",
            region="Quebec",
            region_code="QC",
            city="Montreal",
            lat="45.5019",
            lon="-73.5674",
            gpus=(
                GpuOffer("rtx4090", "24Gi", "pcie", Decimal("0.33")),
                GpuOffer("rtx3090", "24Gi", "pcie", Decimal("0.21")),
            ),
            uptime=(0.997, 0.9934, 0.9871),
            attributes={"region": "ca-east", "host": "akash", "tier": "community"},
        ),
        FakeProvider(
            name="homelab-unaudited",
            host="provider.homelab.example.net",
            country="Netherlands",
            country_code="NL",
            region="North Holland",
            region_code="NH",
            city="Amsterdam",
            lat="52.3676",
            lon="4.9041",
            gpus=(GpuOffer("rtx3090", "24Gi", "pcie", Decimal("0.12")),),
            uptime=(0.91, 0.87, 0.82),
            audited=False,
            attributes={"region": "eu-west"},
            akash_version="0.8.2",
        ),
    ]


@dataclass(slots=True)
class Account:
    """One API key's world: its wallet address, spendable balance and deployments."""

    api_key: str
    owner: str
    balance: int
    index: _ActiveIndex
    wallet_provisioning: bool = False
    certificates: set[str] = field(default_factory=set)


@dataclass(slots=True)
class FakeBid:
    provider: FakeProvider
    gseq: int
    oseq: int
    bseq: int
    state: str
    price: int
    created_height: int
    resources_offer: list[dict[str, Any]]


@dataclass(slots=True)
class FakeLease:
    provider: FakeProvider
    gseq: int
    oseq: int
    bseq: int
    state: str
    price: int
    created_height: int
    created_time: float
    closed_height: int = 0
    reason: str | None = None
    #: The provider has the (right) manifest and the certificate checked out.
    manifest_ok: bool = True
    ready_at: float = 0.0
    generation: int = 1
    _ready_status: dict[str, Any] | None = None


@dataclass(slots=True)
class FakeDeployment:
    account: Account
    dseq: str
    state: str
    manifest: str
    hash: str
    groups: tuple[GroupSpec, ...]
    manifest_groups: list[dict[str, Any]]
    created_height: int
    created_time: float
    #: Escrow funds/transferred as of ``settled_time`` (stored units, see ``USD``).
    funds: int
    transferred: int = 0
    settled_time: float = 0.0
    escrow_state: str = "open"
    deposits: list[tuple[int, int]] = field(default_factory=list)
    bids: list[FakeBid] = field(default_factory=list)
    leases: list[FakeLease] = field(default_factory=list)
    index_pos: int = -1
    #: Bumped whenever the burn rate or funds change; stale exhaustion events are skipped.
    generation: int = 0
    bids_arrived: bool = False

    @property
    def rate(self) -> int:
        return sum(lease.price for lease in self.leases if lease.state == "active")


class _ActiveIndex:
    """Items in creation order; a growable Fenwick tree over their "listed" flags.

    ``kth(k)`` finds the k-th listed item in O(log n), so a page at any ``skip`` costs
    O(limit x log n) and closing a deployment anywhere costs O(log n).
    """

    __slots__ = ("_flags", "_tree", "items", "listed")

    def __init__(self) -> None:
        self.items: list[FakeDeployment] = []
        self._flags = bytearray()
        self._tree = [0]
        self.listed = 0

    def _prefix(self, i: int) -> int:
        total = 0
        tree = self._tree
        while i > 0:
            total += tree[i]
            i &= i - 1
        return total

    def append(self, item: FakeDeployment, listed: bool = True) -> int:
        self.items.append(item)
        self._flags.append(1 if listed else 0)
        i = len(self.items)
        low = i & -i
        self._tree.append((1 if listed else 0) + self._prefix(i - 1) - self._prefix(i - low))
        self.listed += 1 if listed else 0
        return i - 1

    def unlist(self, pos: int) -> None:
        if pos < 0 or not self._flags[pos]:
            return
        self._flags[pos] = 0
        self.listed -= 1
        i, n, tree = pos + 1, len(self.items), self._tree
        while i <= n:
            tree[i] -= 1
            i += i & -i

    def kth(self, k: int) -> int:
        """Position of the k-th (0-based) listed item."""
        pos, remaining, n, tree = 0, k + 1, len(self.items), self._tree
        step = 1 << n.bit_length()
        while step:
            nxt = pos + step
            if nxt <= n and tree[nxt] < remaining:
                pos = nxt
                remaining -= tree[nxt]
            step >>= 1
        return pos

    def page(self, skip: int, limit: int) -> list[FakeDeployment]:
        end = min(self.listed, skip + limit)
        return [self.items[self.kth(k)] for k in range(skip, end)]


# -- the emulator ------------------------------------------------------------------------------

_DEMO_GPU_SDL = """\
version: "2.0"
services:
  vllm:
    image: vllm/vllm-openai:v0.6.3
    args: ["--model", "Qwen/Qwen2.5-7B-Instruct", "--port", "8000"]
    expose:
      - port: 8000
        as: 80
        to:
          - global: true
      - port: 22
        to:
          - global: true
profiles:
  compute:
    vllm:
      resources:
        cpu: {units: 8}
        memory: {size: 32Gi}
        storage:
          - size: 100Gi
        gpu:
          units: 1
          attributes:
            vendor:
              nvidia:
                - model: rtx4090
  placement:
    dcloud:
      pricing:
        vllm: {denom: uact, amount: 2000}
deployment:
  vllm:
    dcloud:
      profile: vllm
      count: 1
"""


def _small_web_sdl(image: str, expose: str) -> str:
    """A one-service CPU SDL (0.5 CPU, 512Mi, 1Gi) at most 1 USD/hour (1667 uact a block)."""
    return f"""\
version: "2.0"
services:
  app:
    image: {image}
    expose:
      - {expose}
        to:
          - global: true
profiles:
  compute:
    app:
      resources:
        cpu: {{units: 0.5}}
        memory: {{size: 512Mi}}
        storage:
          - size: 1Gi
  placement:
    dcloud:
      pricing:
        app: {{denom: uact, amount: 1667}}
deployment:
  app:
    dcloud:
      profile: app
      count: 1
"""


_DEMO_WEB_SDL = _small_web_sdl("nginx:1.27-alpine", "port: 80\n        as: 80")
_BULK_SDL = _small_web_sdl("nginx:1.27", "port: 80")


class AkashSandbox(SandboxAPI):
    """The Akash Console API emulator. Knobs (all plain attributes, change them any time):

    * ``bid_delay`` (10 s): clock seconds from create until providers bid;
    * ``bid_timeout`` (300 s): open bids close this long after they arrive;
    * ``lease_ready_delay`` (15 s): from lease (or a revision) until services are available;
    * ``min_deposit`` (0.5 USD): smaller deposits → ``Failed to create deployment: Deposit too
      low``; ``default_deposit`` (0.5 USD) used when ``managed_deposits`` ignores the request's;
    * ``certificates_required`` (False): the certificate era (see module docstring);
    * ``providers``: the providers that exist and bid (see :func:`default_providers`).

    Helpers for tests and later features: :meth:`add_api_key`, :meth:`set_balance`,
    :meth:`balance_of`, :meth:`seed_bulk`, :meth:`deployment`, :meth:`deployments_of`,
    :meth:`close_bids`, :meth:`force_close`, :meth:`drain`, :meth:`set_wallet_provisioning`,
    :meth:`provider`, :meth:`owner_of`.
    """

    name = "akash"
    prefix = ""

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        seed: bool = True,
        rng_seed: int = 0,
        certificates_required: bool = False,
        managed_deposits: bool = False,
        bid_delay: float = 10.0,
        bid_timeout: float = 300.0,
        lease_ready_delay: float = 15.0,
        min_deposit: Decimal = Decimal("0.5"),
        default_deposit: Decimal = Decimal("0.5"),
        providers: list[FakeProvider] | None = None,
    ) -> None:
        super().__init__(clock)
        self.rng_seed = rng_seed
        self._rng = random.Random(rng_seed)
        self.certificates_required = certificates_required
        self.managed_deposits = managed_deposits
        self.bid_delay = bid_delay
        self.bid_timeout = bid_timeout
        self.lease_ready_delay = lease_ready_delay
        self.min_deposit = Decimal(min_deposit)
        self.default_deposit = Decimal(default_deposit)
        self.providers: list[FakeProvider] = (
            providers if providers is not None else default_providers()
        )
        self.accounts: dict[str, Account] = {}
        self._deployments: dict[str, FakeDeployment] = {}
        self._events: list[tuple[float, int, str, Any, int]] = []
        self._event_seq = 0
        self._last_dseq = 0
        if seed:
            self._seed()

    # -- identity ---------------------------------------------------------------------------

    @property
    def demo_api_key(self) -> str:
        return DEMO_API_KEY

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/v1/certificates", self._route(self._certificates)),
            web.post("/v1/deployments", self._route(self._create)),
            web.get("/v1/deployments", self._route(self._list)),
            web.get("/v1/deployments/{dseq}", self._route(self._get)),
            web.put("/v1/deployments/{dseq}", self._route(self._update)),
            web.delete("/v1/deployments/{dseq}", self._route(self._close)),
            web.post("/v1/deposit-deployment", self._route(self._deposit)),
            web.get("/v1/bids", self._route(self._bids)),
            web.get("/v1/bids/{dseq}", self._route(self._bids)),
            web.post("/v1/leases", self._route(self._leases)),
            web.get("/v1/balances", self._route(self._balances)),
            web.get("/v1/providers", self._route(self._providers)),
            web.get("/v1/providers/{address}", self._route(self._provider)),
        ]

    # -- time -------------------------------------------------------------------------------

    def _schedule(self, due: float, kind: str, obj: Any, token: int = 0) -> None:
        self._event_seq += 1
        heapq.heappush(self._events, (due, self._event_seq, kind, obj, token))

    def advance(self) -> None:
        """Play scheduled transitions up to ``clock.now()`` (O(1) when none is due)."""
        now = self.clock.now()
        events = self._events
        while events and events[0][0] <= now:
            due, _, kind, obj, token = heapq.heappop(events)
            if kind == "bids":
                self._arrive_bids(obj, due)
            elif kind == "bids_expire":
                self._expire_bids(obj)
            elif kind == "exhaust":
                self._exhaust(obj, due, token)

    # -- accounts and helpers ---------------------------------------------------------------

    def add_api_key(
        self, key: str | None = None, *, balance_usd: Decimal | int | str = Decimal(100)
    ) -> str:
        """Create an account (its own wallet and deployments); returns its API key.

        Without ``key`` a fresh, deterministic ``ac.sk.production.<64 hex>`` key is made.
        """
        if key is None:
            key = f"ac.sk.production.{self._rng.getrandbits(256):064x}"
        if not KEY_RE.match(key):
            raise ValueError("API keys look like ac.sk.production.<64 hex>")
        if key in self.accounts:
            raise ValueError("that API key already exists")
        self.accounts[key] = Account(
            api_key=key,
            owner=_address_for(f"wallet:{key}"),
            balance=_units_from_usd(Decimal(str(balance_usd))),
            index=_ActiveIndex(),
        )
        return key

    def _account(self, key: str) -> Account:
        try:
            return self.accounts[key]
        except KeyError:
            raise KeyError(f"no account for that API key ({key[:12]}…)") from None

    def owner_of(self, key: str) -> str:
        """The wallet address (``akash1…``) of an API key's account."""
        return self._account(key).owner

    def set_balance(self, key: str, usd: Decimal | int | str) -> None:
        """Set an account's spendable balance (USD)."""
        self._account(key).balance = _units_from_usd(Decimal(str(usd)))

    def certificates_of(self, key: str) -> set[str]:
        """The certificates (PEM) issued to an API key's account (eras A/B)."""
        return set(self._account(key).certificates)

    def balance_of(self, key: str) -> Decimal:
        """An account's spendable balance (USD)."""
        return Decimal(self._account(key).balance) / USD

    def set_wallet_provisioning(self, key: str, provisioning: bool = True) -> None:
        """While true, the account's writes answer 409 ``wallet_provisioning`` (retriable)."""
        self._account(key).wallet_provisioning = provisioning

    def provider(self, address_or_name: str) -> FakeProvider:
        for p in self.providers:
            if address_or_name in (p.owner, p.name):
                return p
        raise KeyError(address_or_name)

    def deployment(self, dseq: str) -> FakeDeployment:
        """Direct access to a deployment (after playing time forward)."""
        self.advance()
        return self._deployments[str(dseq)]

    def deployments_of(self, key: str) -> list[FakeDeployment]:
        """All of an account's deployments (closed too), in creation order."""
        self.advance()
        return list(self._account(key).index.items)

    def funds_usd(self, dseq: str) -> Decimal:
        """A deployment's escrow funds now (USD)."""
        dep = self.deployment(dseq)
        funds, _ = self._escrow_now(dep, self.clock.now())
        return Decimal(funds) / USD

    def close_bids(self, dseq: str) -> None:
        """Close every open bid now (as if the providers timed out)."""
        self._expire_bids(self.deployment(dseq))

    def force_close(self, dseq: str, reason: str = "lease_closed_owner") -> None:
        """Close a deployment now as its owner would (escrow refunded)."""
        dep = self.deployment(dseq)
        self._close_deployment(dep, self.clock.now(), reason=reason)

    def drain(self, dseq: str, runway_seconds: float = 0.0) -> None:
        """Leave only ``runway_seconds`` of escrow (0: funds run out at the next block)."""
        dep = self.deployment(dseq)
        now = self.clock.now()
        self._settle(dep, now)
        rate = dep.rate
        if rate <= 0:
            raise ValueError("the deployment has no active lease drawing its escrow")
        blocks = int(runway_seconds // BLOCK_SECONDS)
        keep = min(dep.funds, rate * blocks)
        dep.transferred += dep.funds - keep
        dep.funds = keep
        self._reschedule(dep)
        self.advance()

    def seed_bulk(self, key: str, n: int, *, leased_every: int = 2) -> list[str]:
        """Add ``n`` active deployments to an account quickly (for benchmarks); their dseqs.

        One SDL shared by all (a small CPU service); every ``leased_every``-th gets a ready
        lease on the first audited provider with a runway of days, the rest wait for bids
        (no bids are scheduled for them). The balance is not debited.
        """
        account = self._account(key)
        now = self.clock.now()
        derived = derive(akash_sdl.load(_BULK_SDL))
        manifest, digest, groups = derived.manifest_json, derived.version, derived.groups
        manifest_groups = derived.manifest
        provider = next(p for p in self.providers if p.audited and p.online)
        height = height_at(now)
        price = 10 * ATTO + 250 * ATTO // 1000  # 10.25 uact per block (~0.006 USD/h)
        funds = 5 * USD
        dseqs: list[str] = []
        for i in range(n):
            dseq = self._new_dseq(now)
            dep = FakeDeployment(
                account=account,
                dseq=dseq,
                state="active",
                manifest=manifest,
                hash=digest,
                groups=groups,
                manifest_groups=manifest_groups,
                created_height=height,
                created_time=now,
                funds=funds,
                settled_time=now,
                deposits=[(height, funds)],
                bids_arrived=True,
            )
            if leased_every and i % leased_every == 0:
                dep.leases.append(
                    FakeLease(
                        provider=provider,
                        gseq=1,
                        oseq=1,
                        bseq=0,
                        state="active",
                        price=price,
                        created_height=height,
                        created_time=now,
                        ready_at=now,
                    )
                )
                self._reschedule(dep)
            dep.index_pos = account.index.append(dep)
            self._deployments[dseq] = dep
            dseqs.append(dseq)
        return dseqs

    # -- world mechanics ----------------------------------------------------------------------

    def _new_dseq(self, at: float) -> str:
        dseq = max(int(at * 1000), self._last_dseq + 1)
        self._last_dseq = dseq
        return str(dseq)

    def _escrow_now(self, dep: FakeDeployment, now: float) -> tuple[int, int]:
        """(funds, transferred) at ``now`` without changing anything."""
        rate = dep.rate
        if rate <= 0 or dep.state != "active" or now <= dep.settled_time:
            return dep.funds, dep.transferred
        blocks = min(int((now - dep.settled_time) // BLOCK_SECONDS), dep.funds // rate)
        return dep.funds - blocks * rate, dep.transferred + blocks * rate

    def _settled_at(self, dep: FakeDeployment, now: float) -> int:
        if dep.state != "active":
            return height_at(dep.settled_time)
        rate = dep.rate
        if rate <= 0:
            return height_at(now)
        blocks = min(int((now - dep.settled_time) // BLOCK_SECONDS), dep.funds // rate)
        return height_at(dep.settled_time + blocks * BLOCK_SECONDS)

    def _settle(self, dep: FakeDeployment, at: float) -> None:
        """Move the blocks played so far from funds to transferred (before a change)."""
        rate = dep.rate
        if rate <= 0 or dep.state != "active":
            dep.settled_time = max(dep.settled_time, at)
            return
        blocks = min(int((at - dep.settled_time) // BLOCK_SECONDS), dep.funds // rate)
        if blocks > 0:
            dep.funds -= blocks * rate
            dep.transferred += blocks * rate
            dep.settled_time += blocks * BLOCK_SECONDS

    def _reschedule(self, dep: FakeDeployment) -> None:
        """Schedule the block at which the escrow can no longer pay (closed form)."""
        dep.generation += 1
        rate = dep.rate
        if rate <= 0 or dep.state != "active":
            return
        due = dep.settled_time + (dep.funds // rate + 1) * BLOCK_SECONDS
        self._schedule(due, "exhaust", dep, dep.generation)

    def _exhaust(self, dep: FakeDeployment, due: float, token: int) -> None:
        if token != dep.generation or dep.state != "active":
            return
        self._settle(dep, due)
        height = height_at(due)
        dep.transferred += dep.funds
        dep.funds = 0
        dep.settled_time = due
        dep.escrow_state = "overdrawn"
        dep.state = "closed"
        for lease in dep.leases:
            if lease.state == "active":
                lease.state = "insufficient_funds"
                lease.reason = "lease_closed_reason_insufficient_funds"
                lease.closed_height = height
        for bid in dep.bids:
            if bid.state in ("open", "active"):
                bid.state = "closed"
        dep.account.index.unlist(dep.index_pos)
        dep.generation += 1

    def _close_deployment(self, dep: FakeDeployment, at: float, *, reason: str) -> None:
        self._settle(dep, at)
        height = height_at(at)
        dep.account.balance += dep.funds
        dep.funds = 0
        dep.escrow_state = "closed"
        dep.state = "closed"
        for lease in dep.leases:
            if lease.state == "active":
                lease.state = "closed"
                lease.reason = reason
                lease.closed_height = height
        for bid in dep.bids:
            if bid.state in ("open", "active"):
                bid.state = "closed"
        dep.account.index.unlist(dep.index_pos)
        dep.generation += 1

    def _create_deployment(
        self, account: Account, doc: dict[str, Any], deposit: int, at: float
    ) -> FakeDeployment:
        derived = derive(doc)
        height = height_at(at)
        dep = FakeDeployment(
            account=account,
            dseq=self._new_dseq(at),
            state="active",
            manifest=derived.manifest_json,
            hash=derived.version,
            groups=derived.groups,
            manifest_groups=derived.manifest,
            created_height=height,
            created_time=at,
            funds=deposit,
            settled_time=at,
            deposits=[(height, deposit)],
        )
        account.balance -= deposit
        dep.index_pos = account.index.append(dep)
        self._deployments[dep.dseq] = dep
        return dep

    def _quote_rng(self, dep: FakeDeployment, provider: FakeProvider, gseq: int) -> Decimal:
        seed = f"{self.rng_seed}:{dep.dseq}:{provider.owner}:{gseq}"
        rng = random.Random(seed)
        return Decimal(str(round(rng.uniform(0.93, 1.07), 4)))

    def _arrive_bids(self, dep: FakeDeployment, at: float) -> None:
        if dep.bids_arrived:
            return
        dep.bids_arrived = True
        if dep.state != "active":
            return
        height = height_at(at)
        for gseq, group in enumerate(dep.groups, start=1):
            max_units = int(group.max_price_per_block * ATTO)
            for provider in self.providers:
                quote = provider.quote(group)
                if quote is None:
                    continue
                hourly, chosen = quote
                per_block = uact_per_block(hourly) * self._quote_rng(dep, provider, gseq)
                per_block = per_block.quantize(Decimal("0.001"))
                units = int(per_block * ATTO)
                if units <= 0 or units > max_units:
                    continue
                dep.bids.append(
                    FakeBid(
                        provider=provider,
                        gseq=gseq,
                        oseq=1,
                        bseq=0,
                        state="open",
                        price=units,
                        created_height=height,
                        resources_offer=self._resources_offer(group, chosen),
                    )
                )
        self._schedule(at + self.bid_timeout, "bids_expire", dep)

    @staticmethod
    def _resources_offer(group: GroupSpec, chosen: dict[str, GpuOffer]) -> list[dict[str, Any]]:
        kinds = {0: "SHARED_HTTP", 1: "RANDOM_PORT", 2: "LEASED_IP"}
        offer = []
        for unit in group.resources:
            gpu = chosen.get(unit.profile)
            offer.append(
                {
                    "count": unit.count,
                    "resources": {
                        "cpu": {"units": {"val": str(unit.cpu_millis)}, "attributes": []},
                        "gpu": {
                            "units": {"val": str(unit.gpu_units)},
                            "attributes": [{"key": gpu.key, "value": "true"}] if gpu else [],
                        },
                        "memory": {"quantity": {"val": str(unit.memory_bytes)}, "attributes": []},
                        "storage": [
                            {
                                "name": name,
                                "quantity": {"val": str(size)},
                                "attributes": [{"key": k, "value": v} for k, v in attrs],
                            }
                            for name, size, attrs in unit.storage
                        ],
                        "endpoints": [
                            {"kind": kinds.get(kind, "RANDOM_PORT"), "sequence_number": 0}
                            for kind in unit.endpoint_kinds
                        ],
                    },
                }
            )
        return offer

    def _expire_bids(self, dep: FakeDeployment) -> None:
        for bid in dep.bids:
            if bid.state == "open":
                bid.state = "closed"

    def _create_leases(
        self, dep: FakeDeployment, bids: list[FakeBid], at: float, *, manifest_ok: bool
    ) -> None:
        self._settle(dep, at)
        height = height_at(at)
        for bid in bids:
            bid.state = "active"
            for other in dep.bids:
                if (
                    other is not bid
                    and other.state == "open"
                    and (other.gseq, other.oseq)
                    == (
                        bid.gseq,
                        bid.oseq,
                    )
                ):
                    other.state = "lost"
            dep.leases.append(
                FakeLease(
                    provider=bid.provider,
                    gseq=bid.gseq,
                    oseq=bid.oseq,
                    bseq=bid.bseq,
                    state="active",
                    price=bid.price,
                    created_height=height,
                    created_time=at,
                    manifest_ok=manifest_ok,
                    ready_at=at + self.lease_ready_delay,
                )
            )
        self._reschedule(dep)

    # -- JSON shapes --------------------------------------------------------------------------

    def _coin(self, units: int) -> dict[str, str]:
        return {"denom": DENOM, "amount": dec_coin(units)}

    def _escrow_json(self, dep: FakeDeployment, now: float) -> dict[str, Any]:
        funds, transferred = self._escrow_now(dep, now)
        owner = dep.account.owner
        return {
            "id": {"scope": "deployment", "xid": f"{owner}/{dep.dseq}"},
            "state": {
                "owner": owner,
                "state": dep.escrow_state,
                "transferred": [self._coin(transferred)],
                "settled_at": str(self._settled_at(dep, now)),
                "funds": [self._coin(funds)],
                "deposits": [
                    {
                        "owner": owner,
                        "height": str(height),
                        "source": "grant",
                        "balance": self._coin(amount),
                    }
                    for height, amount in dep.deposits
                ],
            },
        }

    def _lease_status(self, dep: FakeDeployment, lease: FakeLease, now: float) -> Any:
        """LeaseStatus as the provider reports it (None when it has nothing for us)."""
        if lease.state != "active" or not lease.manifest_ok:
            return None
        group = (
            dep.manifest_groups[lease.gseq - 1] if lease.gseq <= len(dep.manifest_groups) else {}
        )
        services = group.get("services") or []
        if now < lease.ready_at:
            return {
                "services": {
                    s["name"]: {
                        "name": s["name"],
                        "available": 0,
                        "total": s["count"],
                        "uris": None,
                        "observed_generation": lease.generation,
                        "replicas": s["count"],
                        "updated_replicas": 0,
                        "ready_replicas": 0,
                        "available_replicas": 0,
                    }
                    for s in services
                },
                "forwarded_ports": None,
                "ips": None,
            }
        if lease._ready_status is None:
            lease._ready_status = self._ready_status(dep, lease, services)
        return lease._ready_status

    def _ready_status(
        self, dep: FakeDeployment, lease: FakeLease, services: list[dict[str, Any]]
    ) -> dict[str, Any]:
        rng = random.Random(f"{self.rng_seed}:{dep.dseq}:{lease.gseq}:{lease.generation}")
        alphabet = "0123456789abcdefghijklmnopqrstuv"
        status: dict[str, Any] = {"services": {}, "forwarded_ports": {}, "ips": {}}
        provider = lease.provider
        for s in services:
            uris: list[str] = []
            ports: list[dict[str, Any]] = []
            ips: list[dict[str, Any]] = []
            for expose in s.get("expose") or []:
                if not expose.get("global"):
                    continue
                if expose.get("ip"):
                    ips.append(
                        {
                            "IP": f"203.0.113.{rng.randint(2, 254)}",
                            "Port": expose["port"],
                            "ExternalPort": expose.get("externalPort") or expose["port"],
                            "Protocol": expose["proto"],
                        }
                    )
                    continue
                external = expose.get("externalPort") or 0
                if expose["proto"] == "TCP" and (external or expose["port"]) == 80:
                    token = "".join(rng.choice(alphabet) for _ in range(26))
                    uris.append(f"{token}.{provider.ingress_domain}")
                    uris.extend(expose.get("hosts") or [])
                else:
                    ports.append(
                        {
                            "host": provider.host,
                            "port": expose["port"],
                            "externalPort": rng.randint(30000, 32767),
                            "proto": expose["proto"],
                            "name": s["name"],
                            "available": s["count"],
                        }
                    )
            status["services"][s["name"]] = {
                "name": s["name"],
                "available": s["count"],
                "total": s["count"],
                "uris": uris,
                "observed_generation": lease.generation,
                "replicas": s["count"],
                "updated_replicas": s["count"],
                "ready_replicas": s["count"],
                "available_replicas": s["count"],
            }
            if ports:
                status["forwarded_ports"][s["name"]] = ports
            if ips:
                status["ips"][s["name"]] = ips
        return status

    def _lease_json(
        self, dep: FakeDeployment, lease: FakeLease, now: float, *, with_status: bool
    ) -> dict[str, Any]:
        item: dict[str, Any] = {
            "id": {
                "owner": dep.account.owner,
                "dseq": dep.dseq,
                "gseq": lease.gseq,
                "oseq": lease.oseq,
                "provider": lease.provider.owner,
                "bseq": lease.bseq,
            },
            "state": lease.state,
            "price": self._coin(lease.price),
            "created_at": str(lease.created_height),
            "closed_on": str(lease.closed_height),
        }
        if lease.reason:
            item["reason"] = lease.reason
        if with_status:
            item["status"] = self._lease_status(dep, lease, now)
        return item

    def _deployment_json(
        self, dep: FakeDeployment, now: float, *, with_status: bool = True
    ) -> dict[str, Any]:
        return {
            "deployment": {
                "id": {"owner": dep.account.owner, "dseq": dep.dseq},
                "state": dep.state,
                "hash": dep.hash,
                "created_at": str(dep.created_height),
            },
            "leases": [
                self._lease_json(dep, lease, now, with_status=with_status) for lease in dep.leases
            ],
            "escrow_account": self._escrow_json(dep, now),
        }

    def _bid_json(self, dep: FakeDeployment, bid: FakeBid) -> dict[str, Any]:
        provider = bid.provider.owner
        open_ = bid.state in ("open", "active")
        deposit = _units_from_usd(BID_DEPOSIT)
        item: dict[str, Any] = {
            "bid": {
                "id": {
                    "owner": dep.account.owner,
                    "dseq": dep.dseq,
                    "gseq": bid.gseq,
                    "oseq": bid.oseq,
                    "provider": provider,
                    "bseq": bid.bseq,
                },
                "state": bid.state,
                "price": self._coin(bid.price),
                "created_at": str(bid.created_height),
                "resources_offer": bid.resources_offer,
            },
            "escrow_account": {
                "id": {
                    "scope": "bid",
                    "xid": f"{dep.account.owner}/{dep.dseq}/{bid.gseq}/{bid.oseq}/{provider}/"
                    f"{bid.bseq}",
                },
                "state": {
                    "owner": provider,
                    "state": "open" if open_ else "closed",
                    "transferred": [self._coin(0)],
                    "settled_at": str(bid.created_height),
                    "funds": [self._coin(deposit if open_ else 0)],
                    "deposits": [
                        {
                            "owner": provider,
                            "height": str(bid.created_height),
                            "source": "balance",
                            "balance": self._coin(deposit),
                        }
                    ],
                },
            },
        }
        if self.certificates_required:
            item["isCertificateRequired"] = True
        return item

    # -- request plumbing ---------------------------------------------------------------------

    def _route(self, handler: Callable[[web.Request], Any]) -> Callable[[web.Request], Any]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            try:
                response: web.StreamResponse = await handler(request)
            except _Reply as reply:
                return reply.response
            if request.method == "GET" and response.status == 200:
                response.headers.setdefault("Cache-Control", "private, max-age=0")
            return response

        return wrapped

    def _authenticate(self, request: web.Request, *, body: bool = False) -> Account:
        """Auth interceptor + ``@Protected`` + content-type middleware, in the server's order."""
        key = request.headers.get("x-api-key")
        bearer = request.headers.get("Authorization")
        if key is not None and bearer is not None:
            raise _Reply(_error(400, "Authorization and X-Api-Key headers are mutually exclusive"))
        account = None
        if key is not None:
            account = self.accounts.get(key.strip()) if KEY_RE.match(key.strip()) else None
            if account is None:
                raise _Reply(_error(401, "Invalid API key", error="UnauthorizedError"))
        if body:
            content_type = request.headers.get("Content-Type")
            if not content_type:
                raise _Reply(json_response({"error": "Content-Type header is required"}, 400))
            if content_type.split(";")[0].strip().lower() != "application/json":
                raise _Reply(json_response({"error": "Unsupported Content-Type"}, 400))
        if account is None:
            raise _Reply(_error(401, "Unauthorized", error="UnauthorizedError"))
        return account

    def _writable(self, account: Account) -> None:
        if account.wallet_provisioning:
            raise _Reply(
                _error(
                    409,
                    "Your wallet is still being provisioned. Please retry in a few seconds.",
                    error="ConflictError",
                    code="wallet_provisioning",
                )
            )

    async def _json_body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw or b"")
        except ValueError:
            raise _Reply(
                _error(400, "Malformed JSON in request body", error="HTTPException")
            ) from None

    def _owned(self, account: Account, dseq: str) -> FakeDeployment:
        dep = self._deployments.get(dseq)
        if dep is None or dep.account is not account:
            raise _Reply(_error(404, "Deployment not found", error="NotFoundError"))
        return dep

    def _path_dseq(self, request: web.Request) -> str:
        zod = _Zod()
        dseq = zod.dseq(request.match_info["dseq"], ["dseq"])
        zod.check()
        assert dseq is not None
        return dseq

    @staticmethod
    def _sdl_or_400(sdl: str) -> dict[str, Any]:
        try:
            return akash_sdl.load(sdl, grant_denom=DENOM)
        except akash_sdl.SdlRejected as exc:
            raise _Reply(_error(400, f"Invalid SDL: {exc}")) from None

    # -- handlers -----------------------------------------------------------------------------

    async def _certificates(self, request: web.Request) -> web.Response:
        account = self._authenticate(request)
        if not self.certificates_required:
            return json_response({"error": CERT_REMOVED}, status=400)
        self._writable(account)
        cert_pem, pubkey_pem, key_pem = self._make_certificate(account.owner)
        account.certificates.add(cert_pem)
        return json_response(
            {"data": {"certPem": cert_pem, "pubkeyPem": pubkey_pem, "encryptedKey": key_pem}}
        )

    def _make_certificate(self, owner: str) -> tuple[str, str, str]:
        """A client certificate as chain-sdk's CertificateManager makes it (EC P-256)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, owner)])
        start = datetime.fromtimestamp(self.clock.now(), tz=UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=True,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(key, hashes.SHA256())
        )
        cert_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        pubkey_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
            .replace("BEGIN PUBLIC KEY", "BEGIN EC PUBLIC KEY")
            .replace("END PUBLIC KEY", "END EC PUBLIC KEY")
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return cert_pem, pubkey_pem, key_pem

    async def _create(self, request: web.Request) -> web.Response:
        account = self._authenticate(request, body=True)
        self._writable(account)
        body = await self._json_body(request)
        zod = _Zod()
        data = zod.obj(body if isinstance(body, dict) else {}, "data", [])
        sdl = deposit = None
        if data is not None:
            sdl = zod.string(data, "sdl", ["data"])
            deposit = zod.number(data, "deposit", ["data"], optional=True)
        zod.check()
        assert sdl is not None
        if self.managed_deposits:
            deposit = self.default_deposit
        elif deposit is None:
            return _error(400, "deposit is required")
        doc = self._sdl_or_400(sdl)
        units = _units_from_usd(deposit)
        if units > account.balance:
            return _error(402, NOT_ENOUGH_BALANCE, error="PaymentRequiredError")
        if deposit < self.min_deposit:
            return _error(400, "Failed to create deployment: Deposit too low")
        now = self.clock.now()
        dep = self._create_deployment(account, doc, units, now)
        self._schedule(now + self.bid_delay, "bids", dep)
        tx = f"{self._rng.getrandbits(256):064X}"
        return json_response(
            {
                "data": {
                    "dseq": dep.dseq,
                    "manifest": dep.manifest,
                    "signTx": {"code": 0, "transactionHash": tx, "rawLog": "[]"},
                }
            },
            status=201,
        )

    async def _list(self, request: web.Request) -> web.Response:
        account = self._authenticate(request)
        zod = _Zod()
        params: dict[str, int | None] = {"skip": None, "limit": None}
        for name, minimum in (("skip", 0), ("limit", 1)):
            raw = request.query.get(name)
            if raw is None or raw == "":
                continue
            try:
                value = Decimal(raw)
                if not value.is_finite() or value != value.to_integral_value():
                    raise InvalidOperation
            except InvalidOperation:
                zod.issues.append(
                    {
                        "code": "invalid_type",
                        "expected": "number",
                        "received": "nan",
                        "path": [name],
                        "message": "Expected number, received nan",
                    }
                )
                continue
            if value < minimum:
                zod.issues.append(
                    {
                        "code": "too_small",
                        "minimum": minimum,
                        "type": "number",
                        "inclusive": True,
                        "exact": False,
                        "message": f"Number must be greater than or equal to {minimum}",
                        "path": [name],
                    }
                )
                continue
            params[name] = int(value)
        zod.check()
        index = account.index
        total = index.listed
        skip = params["skip"] or 0
        limit = params["limit"]
        items = index.page(skip, limit if limit is not None else total)
        now = self.clock.now()
        has_more = (
            total > skip + limit if params["skip"] is not None and limit is not None else False
        )
        return json_response(
            {
                "data": {
                    "deployments": [
                        self._deployment_json(dep, now, with_status=False) for dep in items
                    ],
                    "pagination": {
                        "total": total,
                        "skip": skip,
                        "limit": limit if limit is not None else total,
                        "hasMore": has_more,
                    },
                }
            }
        )

    async def _get(self, request: web.Request) -> web.Response:
        account = self._authenticate(request)
        dep = self._owned(account, self._path_dseq(request))
        return json_response({"data": self._deployment_json(dep, self.clock.now())})

    async def _update(self, request: web.Request) -> web.Response:
        account = self._authenticate(request, body=True)
        self._writable(account)
        dseq = self._path_dseq(request)
        body = await self._json_body(request)
        zod = _Zod()
        data = zod.obj(body if isinstance(body, dict) else {}, "data", [])
        sdl = None
        if data is not None:
            sdl = zod.string(data, "sdl", ["data"])
            if self.certificates_required:
                self._certificate_issues(zod, data, ["data"])
        zod.check()
        assert sdl is not None and data is not None
        dep = self._owned(account, dseq)
        if dep.state != "active":
            return _error(400, "Deployment closed")
        doc = self._sdl_or_400(sdl)
        derived: Derived = derive(doc)
        now = self.clock.now()
        if derived.version != dep.hash:
            dep.hash = derived.version
            dep.manifest_groups = derived.manifest
            dep.manifest = derived.manifest_json
            dep.groups = derived.groups
            for lease in dep.leases:
                if lease.state == "active":
                    lease.generation += 1
                    lease.ready_at = now + self.lease_ready_delay
                    lease._ready_status = None
        return json_response({"data": self._deployment_json(dep, now)})

    async def _close(self, request: web.Request) -> web.Response:
        account = self._authenticate(request)
        self._writable(account)
        dep = self._owned(account, self._path_dseq(request))
        if dep.state == "closed":
            if self.certificates_required:  # eras A/B
                return _error(400, "Deployment closed")
            return json_response({"data": {"success": True}})
        self._close_deployment(dep, self.clock.now(), reason="lease_closed_owner")
        return json_response({"data": {"success": True}})

    async def _deposit(self, request: web.Request) -> web.Response:
        account = self._authenticate(request, body=True)
        self._writable(account)
        body = await self._json_body(request)
        zod = _Zod()
        data = zod.obj(body if isinstance(body, dict) else {}, "data", [])
        dseq = amount = None
        if data is not None:
            dseq = zod.dseq(data.get("dseq"), ["data", "dseq"], present="dseq" in data)
            amount = zod.number(data, "deposit", ["data"], positive=True)
        zod.check()
        assert dseq is not None and amount is not None
        dep = self._owned(account, dseq)
        if dep.state != "active":
            return _error(400, "Deployment closed")
        units = _units_from_usd(amount)
        if units > account.balance:
            return _error(402, NOT_ENOUGH_BALANCE, error="PaymentRequiredError")
        now = self.clock.now()
        self._settle(dep, now)
        dep.funds += units
        dep.escrow_state = "open"
        dep.deposits.append((height_at(now), units))
        account.balance -= units
        self._reschedule(dep)
        return json_response({"data": self._deployment_json(dep, now)})

    async def _bids(self, request: web.Request) -> web.Response:
        account = self._authenticate(request)
        zod = _Zod()
        if "dseq" in request.match_info:
            dseq = zod.dseq(request.match_info["dseq"], ["dseq"])
        else:
            dseq = zod.dseq(request.query.get("dseq"), ["dseq"], present="dseq" in request.query)
        zod.check()
        dep = self._deployments.get(dseq or "")
        if dep is None or dep.account is not account:
            return json_response({"data": []})  # the chain query simply finds nothing
        audited = [b for b in dep.bids if b.provider.audited]
        return json_response({"data": [self._bid_json(dep, b) for b in audited]})

    def _certificate_issues(self, zod: _Zod, parent: dict[str, Any], path: list[Any]) -> None:
        cert = zod.obj(parent, "certificate", path)
        if cert is not None:
            zod.string(cert, "certPem", [*path, "certificate"])
            zod.string(cert, "keyPem", [*path, "certificate"])

    async def _leases(self, request: web.Request) -> web.Response:
        account = self._authenticate(request, body=True)
        self._writable(account)
        body = await self._json_body(request)
        zod = _Zod()
        if not isinstance(body, dict):
            zod._type([], "object", body, True)
            zod.check()
        manifest = zod.string(body, "manifest", [])
        entries = _lease_entries(zod, body)
        if self.certificates_required:
            self._certificate_issues(zod, body, [])
        zod.check()
        assert manifest is not None
        if not entries:
            # The real server crashes on an empty list (spec §3.4).
            return _error(
                500,
                "Internal server error",
                error="InternalServerError",
                code="internal_server_error",
            )
        deps = {dseq: self._owned(account, dseq) for dseq, _, _, _ in entries}
        now = self.clock.now()
        manifest_ok = self._manifest_matches(manifest, deps)
        cert = body.get("certificate") if isinstance(body.get("certificate"), dict) else {}
        cert_ok = not self.certificates_required or (cert or {}).get("certPem") in (
            account.certificates
        )
        delivered = manifest_ok and cert_ok
        skipped = self._resend_manifests(deps, now, delivered=delivered)
        chosen = _chosen_bids(entries, deps, skipped)
        if chosen is None:
            return _error(400, LEASE_NOT_OPEN)
        for dseq, bids in chosen.items():
            self._create_leases(deps[dseq], bids, now, manifest_ok=delivered)
        if not cert_ok:
            return _error(400, "Invalid provider mtls credentials")
        if not manifest_ok:
            return _error(400, "manifest version validation failed", error="ProviderError")
        first = deps[entries[0][0]]
        return json_response({"data": self._deployment_json(first, now)})

    def _resend_manifests(
        self, deps: dict[str, FakeDeployment], now: float, *, delivered: bool
    ) -> set[str]:
        """Era C: a deployment with a non-closed lease gets no new lease; the manifest is sent
        again to its active leases instead. The dseqs skipped."""
        skipped: set[str] = set()
        if self.certificates_required:
            return skipped
        for dseq, dep in deps.items():
            if not any(lease.state != "closed" for lease in dep.leases):
                continue
            skipped.add(dseq)
            if delivered:
                for lease in dep.leases:
                    if lease.state == "active" and not lease.manifest_ok:
                        lease.manifest_ok = True
                        lease.ready_at = now + self.lease_ready_delay
        return skipped

    @staticmethod
    def _manifest_matches(manifest: str, deps: dict[str, FakeDeployment]) -> bool:
        try:
            digest = manifest_version(manifest)
        except (ValueError, TypeError):
            return False
        return all(dep.hash == digest for dep in deps.values())

    async def _balances(self, request: web.Request) -> web.Response:
        address = request.query.get("address")
        if address and not (
            request.headers.get("x-api-key") or request.headers.get("Authorization")
        ):
            account = next((a for a in self.accounts.values() if a.owner == address), None)
        else:
            account = self._authenticate(request)
        now = self.clock.now()
        balance = account.balance if account else 0
        escrowed = 0
        if account is not None:  # O(deployments): fine for a balance call
            for dep in account.index.items:
                if dep.state == "active":
                    escrowed += self._escrow_now(dep, now)[0]
        return json_response(
            {
                "data": {
                    "balance": _usd_number(balance),
                    "deployments": _usd_number(escrowed),
                    "total": _usd_number(balance + escrowed),
                }
            }
        )

    async def _providers(self, request: web.Request) -> web.Response:
        now = self.clock.now()
        height = height_at(now)
        wanted = request.query.get("addresses")
        providers = self.providers
        if wanted:
            addresses = {a.strip() for a in wanted.split(",") if a.strip()}
            providers = [p for p in providers if p.owner in addresses]
        if request.query.get("scope") == "trial":
            providers = [p for p in providers if p.audited]
        return json_response([p.to_json(height, now) for p in providers])

    async def _provider(self, request: web.Request) -> web.Response:
        address = request.match_info["address"]
        if not ADDRESS_RE.match(address):
            return web.Response(text="Invalid address", status=400)
        provider = next((p for p in self.providers if p.owner == address), None)
        if provider is None:
            return web.Response(text="Provider not found.", status=404)
        now = self.clock.now()
        return json_response(provider.to_json(height_at(now), now))

    # -- demo world -------------------------------------------------------------------------

    def _seed(self) -> None:
        """The demo account: a running GPU service, a CPU service about to run out of funds,
        one with open bids, one waiting for bids, one closed, one that ran out of funds."""
        key = self.add_api_key(DEMO_API_KEY, balance_usd=Decimal(250))
        account = self.accounts[key]
        now = self.clock.now()
        gpu_doc = akash_sdl.load(_DEMO_GPU_SDL)
        web_doc = akash_sdl.load(_DEMO_WEB_SDL)
        usd = _units_from_usd

        def leased(
            doc: dict[str, Any], deposit: Decimal, at: float, provider: str
        ) -> FakeDeployment:
            dep = self._create_deployment(account, doc, usd(deposit), at)
            self._arrive_bids(dep, at + self.bid_delay)
            bid = next(b for b in dep.bids if b.provider.name == provider)
            self._create_leases(dep, [bid], at + self.bid_delay + 20, manifest_ok=True)
            return dep

        # (created oldest first, so dseqs grow with creation time as on the real chain)
        # 1. closed by its owner an hour ago
        closed = leased(web_doc, Decimal(5), now - 5 * 3600, "europlots")
        # 2. ran out of funds about three hours ago (its exhaustion is played by advance())
        leased(gpu_doc, Decimal("0.6"), now - 4 * 3600, "europlots")
        # 3. a GPU inference service, running for three hours
        leased(gpu_doc, Decimal(25), now - 3 * 3600, "rtxcloud")
        # 4. a small web server whose escrow lasts 40 more minutes (400 blocks)
        low = leased(web_doc, Decimal(1), now - 2 * 3600, "hurricane")
        self._settle(low, now)
        keep = min(low.funds, low.rate * 400)
        low.transferred += low.funds - keep
        low.funds = keep
        self._reschedule(low)
        # 5. bids in, waiting for someone to pick one
        open_bids = self._create_deployment(account, gpu_doc, usd(Decimal(5)), now - 60)
        self._arrive_bids(open_bids, now - 50)
        # 6. just created: bids arrive in ``bid_delay`` seconds
        fresh = self._create_deployment(account, web_doc, usd(Decimal(5)), now)
        self._schedule(now + self.bid_delay, "bids", fresh)
        self._close_deployment(closed, now - 3600, reason="lease_closed_owner")
        self.advance()


def _lease_entries(zod: _Zod, body: dict[str, Any]) -> list[tuple[str, int, int, str]]:
    """The valid (dseq, gseq, oseq, provider) of ``body["leases"]``; problems go to ``zod``."""
    entries: list[tuple[str, int, int, str]] = []
    raw_leases = body.get("leases")
    if not isinstance(raw_leases, list):
        zod._type(["leases"], "array", raw_leases, "leases" in body)
        return entries
    for i, entry in enumerate(raw_leases):
        path: list[str | int] = ["leases", i]
        if not isinstance(entry, dict):
            zod._type(path, "object", entry, True)
            continue
        parsed = _lease_entry(zod, entry, path)
        if parsed is not None:
            entries.append(parsed)
    return entries


def _lease_entry(
    zod: _Zod, entry: dict[str, Any], path: list[str | int]
) -> tuple[str, int, int, str] | None:
    dseq = zod.dseq(entry.get("dseq"), [*path, "dseq"], present="dseq" in entry)
    seqs = [zod.number(entry, key, path) for key in ("gseq", "oseq")]
    provider = zod.string(entry, "provider", path)
    if provider is not None and not ADDRESS_RE.match(provider):
        zod.issues.append(
            {"code": "custom", "message": "Invalid akash address", "path": [*path, "provider"]}
        )
        provider = None
    if dseq and seqs[0] is not None and seqs[1] is not None and provider:
        return (dseq, int(seqs[0]), int(seqs[1]), provider)
    return None


def _chosen_bids(
    entries: list[tuple[str, int, int, str]],
    deps: dict[str, FakeDeployment],
    skipped: set[str],
) -> dict[str, list[FakeBid]] | None:
    """The open bid each entry names, per dseq (None: an entry names no open bid)."""
    chosen: dict[str, list[FakeBid]] = {}
    for dseq, gseq, oseq, provider in entries:
        if dseq in skipped:
            continue
        bid = next(
            (
                b
                for b in deps[dseq].bids
                if (b.gseq, b.oseq, b.provider.owner) == (gseq, oseq, provider)
                and b.state == "open"
            ),
            None,
        )
        if bid is None:
            return None
        chosen.setdefault(dseq, []).append(bid)
    return chosen
