"""A local emulator of the NeuraNET REST API (``/api/deployments``, ``/api/nodes``).

Same paths, bodies, envelopes and status codes as ``docs/specs/neuranet.md``; where the spec says
[U] the emulator picks the safe reading, listed here so tests and demos know what to expect:

* Auth is ``Authorization: Bearer nn_live_…``. No header → 401 ``{"error": "Missing API key"}``;
  an unknown key or another scheme → 401 ``{"error": "Invalid API key"}``. Each key is its own
  account; another account's deployment is 404 ``{"error": "Deployment not found"}``.
  ``/nodes`` is public (the spec only says the deployment endpoints need auth).
* Bad create bodies → 400 ``{"error": "Validation failed", "details": [{"path", "message"}]}``;
  unknown ``templateId`` is one of those details. Unknown node → 404 ``{"error": "Node not
  found"}``; a node that is not online or is full → 409 ``{"error": "Node node_x is not accepting
  deployments (…)"}``; a balance below one hour at the node's rate → 402 ``{"error":
  "Insufficient balance: …"}`` (balances are checked on create/start, never debited).
* Wrong-state start/stop → 409 ``{"error": "Deployment is already running"}``, ``"Deployment is
  not running (status: stopped)"`` …; DELETE works in any state and answers 404 afterwards.
* Lists are newest first; ``limit`` above 100 (or below 1) → 400.
* Logs are visible once their timestamp has passed; ``since`` is inclusive; ``tail`` ≥ 1.

The world moves only in :meth:`NeuraNetSandbox.advance` (called before every request): a heap
of scheduled transitions (pending → starting → running, stopping → stopped) keyed by due time,
so an idle world costs O(1). Cost and periodic log lines are computed lazily from the time a
deployment started running. Each account keeps its deployments in creation order (and one
such list per status), so a page is a slice, even with 100,000 deployments.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import uuid
import zlib
from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import Any

from aiohttp import web

from sandbox.clock import Clock
from sandbox.common import SandboxAPI, json_response

#: Seconds a new deployment stays ``pending`` before its container starts.
PENDING_SECONDS = 3.0
#: Seconds ``stopping`` lasts.
STOPPING_SECONDS = 4.0
#: Seconds between two periodic log lines of a running deployment.
LOG_INTERVAL = 20.0
#: Log lines kept per deployment.
MAX_LOG_LINES = 5000
#: What a new account holds, in cents ($100).
DEFAULT_BALANCE_CENTS = 10_000
MAX_LIMIT = 100
MAX_TAIL = 10_000

#: Statuses in which a deployment does not hold a slot on its node.
IDLE_STATUSES = frozenset({"stopped", "failed"})
NODE_STATUSES = ("online", "offline", "maintenance")

# Fixed node ids, so tests and demos can name them.
NODE_RTX4090 = "node_7k2m9xq4"
NODE_A100 = "node_3f8d1c6a"
NODE_H100 = "node_9b4e7t2w"
NODE_RTX3090 = "node_5h1n8r3v"
NODE_L40S = "node_2q6w4e8r"
NODE_RTX4090_X4 = "node_8u3j5k1p"
NODE_A6000_MAINTENANCE = "node_6z9x2c7v"
NODE_RTX3080_OFFLINE = "node_1m4n7b0v"
NODE_H100_X8_FULL = "node_4g7h2j9k"
NODE_RTX4070TI = "node_0p3o6i9u"
NODE_CPU_ONLY = "node_2a5s8d1f"
NODE_L4 = "node_7y4t1r8e"

_Line = tuple[str, str]  # (stream, message template)


@dataclass(frozen=True)
class Template:
    """A deployable template: image, port, boot time and what its container prints."""

    id: str
    image: str
    port: int
    boot_seconds: float
    default_model: str = ""
    boot: tuple[_Line, ...] = ()
    ready: tuple[_Line, ...] = ()
    periodic: tuple[_Line, ...] = ()


TEMPLATES: dict[str, Template] = {
    t.id: t
    for t in (
        Template(
            id="ollama",
            image="ollama/ollama:0.3.14",
            port=11434,
            boot_seconds=8.0,
            default_model="llama3.1:8b",
            boot=(
                (
                    "stderr",
                    '{gotime} routes.go:1158: INFO server config env="map[OLLAMA_HOST:'
                    'http://0.0.0.0:11434 OLLAMA_MODELS:{model}]"',
                ),
                ("stderr", 'time={ts} level=INFO source=images.go:754 msg="total blobs: 0"'),
                (
                    "stderr",
                    'time={ts} level=INFO source=routes.go:1205 msg="Listening on [::]:11434 '
                    '(version 0.3.14)"',
                ),
                (
                    "stderr",
                    'time={ts} level=INFO source=types.go:107 msg="inference compute" '
                    'id=GPU-{uuid} library=cuda compute=8.9 driver=12.4 name="{gpu}" '
                    'total="{vram_gib} GiB"',
                ),
            ),
            ready=(
                ("stdout", "Server started on port 11434"),
                ("stdout", "Loading model {model}..."),
            ),
            periodic=(
                ("stdout", '[GIN] {gin} | 200 | {secs}s | {ip} | POST "/api/generate"'),
                ("stdout", '[GIN] {gin} | 200 | {secs}s | {ip} | POST "/api/chat"'),
                ("stdout", '[GIN] {gin} | 200 | {ms}ms | {ip} | GET "/api/tags"'),
                ("stdout", '[GIN] {gin} | 200 | {secs}s | {ip} | POST "/api/chat"'),
                (
                    "stderr",
                    'time={ts} level=INFO source=server.go:601 msg="llama runner started in '
                    '{secs} seconds"',
                ),
                (
                    "stderr",
                    "time={ts} level=WARN source=sched.go:646 msg=\"gpu VRAM usage didn't recover "
                    'within timeout" seconds={secs}',
                ),
            ),
        ),
        Template(
            id="vllm",
            image="vllm/vllm-openai:v0.6.3",
            port=8000,
            boot_seconds=25.0,
            default_model="meta-llama/Llama-3.1-8B-Instruct",
            boot=(
                ("stdout", "INFO {vtime} api_server.py:528] vLLM API server version 0.6.3"),
                (
                    "stdout",
                    "INFO {vtime} api_server.py:529] args: Namespace(host=None, port=8000, "
                    "model='{model}', max_model_len=8192, gpu_memory_utilization=0.9)",
                ),
                (
                    "stderr",
                    "WARNING {vtime} arg_utils.py:930] Chunked prefill is enabled by default "
                    "for models with max_model_len > 32K.",
                ),
                (
                    "stdout",
                    "INFO {vtime} model_runner.py:1025] Loading model weights took 14.99 GB",
                ),
                (
                    "stdout",
                    "INFO {vtime} gpu_executor.py:122] # GPU blocks: 27153, # CPU blocks: 2048",
                ),
            ),
            ready=(
                ("stdout", "INFO:     Started server process [1]"),
                (
                    "stdout",
                    "INFO:     Uvicorn running on http://0.0.0.0:8000 (Press CTRL+C to quit)",
                ),
            ),
            periodic=(
                ("stdout", 'INFO:     {ip}:{cport} - "POST /v1/chat/completions HTTP/1.1" 200 OK'),
                (
                    "stdout",
                    "INFO {vtime} metrics.py:351] Avg prompt throughput: {tput} tokens/s, "
                    "Avg generation throughput: {gput} tokens/s, Running: {reqs} reqs, "
                    "Swapped: 0 reqs, Pending: 0 reqs, GPU KV cache usage: {pct}%, "
                    "CPU KV cache usage: 0.0%.",
                ),
                ("stdout", 'INFO:     {ip}:{cport} - "POST /v1/completions HTTP/1.1" 200 OK'),
                ("stdout", 'INFO:     {ip}:{cport} - "GET /v1/models HTTP/1.1" 200 OK'),
                (
                    "stderr",
                    "WARNING {vtime} serving_chat.py:94] Prompt of {ntok} tokens is close to "
                    "max_model_len",
                ),
            ),
        ),
        Template(
            id="comfyui",
            image="neuranet/comfyui:cu124",
            port=8188,
            boot_seconds=12.0,
            boot=(
                ("stdout", "Total VRAM {vram_mb} MB, total RAM {ram_mb} MB"),
                ("stdout", "Set vram state to: NORMAL_VRAM"),
                ("stdout", "Device: cuda:0 {gpu} : cudaMallocAsync"),
                ("stderr", "[Prompt Server] web root: /app/ComfyUI/web"),
                ("stdout", "Import times for custom nodes:"),
            ),
            ready=(
                ("stdout", "Starting server"),
                ("stdout", "To see the GUI go to: http://0.0.0.0:8188"),
            ),
            periodic=(
                ("stdout", "got prompt"),
                ("stdout", "model_type EPS"),
                ("stderr", "100%|##########| 20/20 [00:{ss}<00:00, {its}it/s]"),
                ("stdout", "Prompt executed in {secs} seconds"),
            ),
        ),
        Template(
            id="jupyter",
            image="quay.io/jupyter/pytorch-notebook:cuda12-2024-10-28",
            port=8888,
            boot_seconds=6.0,
            boot=(
                (
                    "stderr",
                    "[I {jtime} ServerApp] jupyter_lsp | extension was successfully linked.",
                ),
                (
                    "stderr",
                    "[I {jtime} ServerApp] Writing Jupyter server cookie secret to "
                    "/home/jovyan/.local/share/jupyter/runtime/jupyter_cookie_secret",
                ),
                (
                    "stderr",
                    "[I {jtime} ServerApp] Serving notebooks from local directory: /home/jovyan",
                ),
            ),
            ready=(
                ("stderr", "[I {jtime} ServerApp] Jupyter Server 2.14.2 is running at:"),
                ("stderr", "[I {jtime} ServerApp] http://0.0.0.0:8888/lab"),
            ),
            periodic=(
                ("stderr", "[I {jtime} ServerApp] Kernel started: {uuid}"),
                ("stderr", "[I {jtime} ServerApp] Saving file at /work/Untitled{n}.ipynb"),
                ("stderr", "[I {jtime} ServerApp] Starting buffering for {uuid}"),
                ("stdout", "[I {jtime} ServerApp] 200 GET /api/contents ({ip}) {ms}.00ms"),
            ),
        ),
        Template(
            id="tgi",
            image="ghcr.io/huggingface/text-generation-inference:2.4.0",
            port=80,
            boot_seconds=20.0,
            default_model="mistralai/Mistral-7B-Instruct-v0.3",
            boot=(
                (
                    "stdout",
                    '{isots}  INFO text_generation_launcher: Args {{ model_id: "{model}", '
                    "max_input_tokens: None, port: 80 }}",
                ),
                (
                    "stdout",
                    "{isots}  INFO download: text_generation_launcher: Successfully downloaded "
                    "weights for {model}",
                ),
                (
                    "stderr",
                    "{isots}  WARN text_generation_launcher: Could not import Flash Attention "
                    "enabled models: System not supported",
                ),
                ("stdout", "{isots}  INFO shard-manager: text_generation_launcher: Shard ready"),
            ),
            ready=(("stdout", "{isots}  INFO text_generation_router::server: Connected"),),
            periodic=(
                (
                    "stdout",
                    "{isots}  INFO compat_generate: text_generation_router::server: "
                    "Success total_time={ms}ms validation_time=1ms queue_time=0ms",
                ),
                ("stdout", "{isots}  INFO text_generation_router::server: 200 POST /generate"),
            ),
        ),
        Template(
            id="stable-diffusion-webui",
            image="neuranet/sd-webui:1.10.1",
            port=7860,
            boot_seconds=15.0,
            boot=(
                ("stdout", "Python 3.10.14 (main, Mar 21 2024, 16:24:04) [GCC 11.2.0]"),
                ("stdout", "Launching Web UI with arguments: --listen --api --xformers"),
                (
                    "stdout",
                    "Loading weights [6ce0161689] from /models/Stable-diffusion/"
                    "v1-5-pruned-emaonly.safetensors",
                ),
            ),
            ready=(
                ("stdout", "Running on local URL:  http://0.0.0.0:7860"),
                ("stdout", "Model loaded in 4.2s (load weights from disk: 0.9s)."),
            ),
            periodic=(
                ("stderr", "100%|##########| 20/20 [00:{ss}<00:00, {its}it/s]"),
                ("stdout", "API request /sdapi/v1/txt2img took {secs}s"),
            ),
        ),
    )
}

#: How a custom image boots.
CUSTOM = Template(
    id="",
    image="",
    port=8080,
    boot_seconds=10.0,
    ready=(("stdout", "Listening on 0.0.0.0:{port}"),),
    periodic=(
        ("stdout", "GET /health 200 {ms}ms"),
        ("stdout", "POST /predict 200 {ms}ms"),
        ("stdout", "processed batch of {reqs} items in {ms}ms"),
        ("stderr", "WARN request took {secs}s (slow)"),
    ),
)


@dataclass(eq=False)
class SandboxNode:
    """A compute node. ``base_load`` counts other users' deployments (fixed)."""

    id: str
    name: str
    status: str
    region: str
    country: str
    hourly_rate_cents: int
    max_deployments: int
    uptime_percent: float
    specs: dict[str, Any]
    gpus: list[dict[str, Any]]
    operator_id: str
    base_load: int = 0
    #: Slots held by deployments of the emulated accounts.
    own_load: int = 0
    created_at: float = 0.0
    last_heartbeat: float = 0.0

    @property
    def active_deployments(self) -> int:
        return self.base_load + self.own_load

    @property
    def accepting(self) -> bool:
        return self.status == "online" and self.active_deployments < self.max_deployments

    def refusal(self) -> str:
        """Why the node takes no new deployment (the 409 text)."""
        if self.status != "online":
            return f"Node {self.id} is not accepting deployments (status: {self.status})"
        return (
            f"Node {self.id} is not accepting deployments "
            f"(at capacity: {self.active_deployments}/{self.max_deployments})"
        )

    def to_json(self, *, detail: bool = False) -> dict[str, Any]:
        list_specs = ("cpuModel", "cpuCores", "cpuThreads", "ramMb", "diskGb", "diskType")
        list_gpu = ("name", "vramMb", "cudaVersion")
        body: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "specs": dict(self.specs) if detail else {k: self.specs[k] for k in list_specs},
            "gpus": [dict(g) if detail else {k: g[k] for k in list_gpu} for g in self.gpus],
            "region": self.region,
            "country": self.country,
            "hourlyRateCents": self.hourly_rate_cents,
            "activeDeployments": self.active_deployments,
            "maxDeployments": self.max_deployments,
            "uptimePercent": self.uptime_percent,
        }
        if detail:
            body["operatorId"] = self.operator_id
            body["createdAt"] = iso_ms(self.created_at)
            body["lastHeartbeat"] = iso_ms(self.last_heartbeat)
        return body


@dataclass(eq=False, slots=True)
class SandboxDeployment:
    """One deployment as the emulator keeps it (times are epoch seconds of ``clock``)."""

    id: str
    seq: int
    api_key: str
    user_id: str
    node_id: str
    template_id: str | None
    custom_image: str | None
    name: str
    env: dict[str, str]
    status: str
    created_at: float
    updated_at: float
    port: int
    boot_seconds: float
    started_at: float | None = None
    #: Cents accrued before ``running_since`` (fractional; the API shows whole cents).
    cost_cents: float = 0.0
    running_since: float | None = None
    #: The node's rate when this run started, cents per hour.
    rate_cents: int = 0
    #: Bumped at every status change; scheduled transitions of an older generation are void.
    gen: int = 0
    holds_slot: bool = False
    #: Bulk deployments (``seed_bulk``) are bookkeeping only: they take no node slot.
    bulk: bool = False
    #: (epoch milliseconds, stream, message), oldest first.
    logs: list[tuple[int, str, str]] = field(default_factory=list)
    #: When the next periodic line of the current run is due (None when not running).
    log_next_at: float | None = None
    #: Index of the next periodic line (drives its deterministic content).
    log_index: int = 0
    #: Periodic lines not written yet: (first line at, how many, first index) per run.
    log_runs: list[tuple[float, int, int]] = field(default_factory=list)

    def total_cost_cents(self, now: float) -> int:
        cost = self.cost_cents
        if self.running_since is not None:
            cost += max(0.0, now - self.running_since) * self.rate_cents / 3600
        return int(cost)

    def endpoint_url(self) -> str:
        return f"https://{self.id.replace('_', '-', 1)}.neuranet.network"


_seq_key = attrgetter("seq")


class _Listing:
    """An account's deployments in creation order, plus one such list per status."""

    def __init__(self) -> None:
        self.all: list[SandboxDeployment] = []
        self.by_status: dict[str, list[SandboxDeployment]] = {}

    def add(self, dep: SandboxDeployment) -> None:
        # Deployments are created with increasing ``seq``: appending keeps the order.
        self.all.append(dep)
        self.by_status.setdefault(dep.status, []).append(dep)

    @staticmethod
    def _drop(items: list[SandboxDeployment], dep: SandboxDeployment) -> None:
        index = bisect_left(items, dep.seq, key=_seq_key)
        if index < len(items) and items[index] is dep:
            del items[index]

    def move(self, dep: SandboxDeployment, old: str, new: str) -> None:
        if old == new:
            return
        self._drop(self.by_status.get(old, []), dep)
        insort(self.by_status.setdefault(new, []), dep, key=_seq_key)

    def remove(self, dep: SandboxDeployment) -> None:
        self._drop(self.all, dep)
        self._drop(self.by_status.get(dep.status, []), dep)

    def page(
        self, status: str | None, page: int, limit: int
    ) -> tuple[list[SandboxDeployment], int]:
        """Newest first: one slice of the creation-ordered list, reversed."""
        items = self.all if status is None else self.by_status.get(status, [])
        total = len(items)
        end = total - (page - 1) * limit
        if end <= 0:
            return [], total
        return items[max(0, end - limit) : end][::-1], total


@dataclass(eq=False)
class SandboxAccount:
    api_key: str
    user_id: str
    balance_cents: int
    listing: _Listing = field(default_factory=_Listing)


class NeuraNetSandbox(SandboxAPI):
    """The NeuraNET emulator. See the module docstring for the behaviour; helpers below.

    ``seed=True`` adds five demo deployments (running, starting, pending, stopped, failed) to
    the demo account. The twelve nodes and the demo key exist either way (reference data).
    Everything random (ids, log details) is deterministic given ``rng_seed``.
    """

    name = "neuranet"
    prefix = "/api"
    DEMO_API_KEY = "nn_live_8fK2xQ9vLm4TzR7wYp3NcB6hJd1sGa5E"

    def __init__(self, clock: Clock | None = None, *, seed: bool = True, rng_seed: int = 0) -> None:
        super().__init__(clock)
        self.rng_seed = rng_seed
        self.rng = random.Random(rng_seed)
        self.nodes: dict[str, SandboxNode] = {}
        self.accounts: dict[str, SandboxAccount] = {}
        #: Every live deployment by id (deleted ones are gone).
        self.deployments: dict[str, SandboxDeployment] = {}
        self._heap: list[tuple[float, int, str, int, str]] = []
        #: Last handed-out deployment sequence number and heap tie-breaker (plain numbers,
        #: so a world can be saved: see sandbox/state.py).
        self._seq = 0
        self._tiebreak = 0
        self._seed_nodes()
        self.add_api_key(self.DEMO_API_KEY)
        if seed:
            self._seed_demo()

    @property
    def demo_api_key(self) -> str:
        return self.DEMO_API_KEY

    # -- routes --------------------------------------------------------------------------

    def routes(self) -> list[web.RouteDef]:
        p = self.prefix
        return [
            web.post(f"{p}/deployments", self._h_create),
            web.get(f"{p}/deployments", self._h_list),
            web.get(f"{p}/deployments/{{id}}", self._h_get),
            web.delete(f"{p}/deployments/{{id}}", self._h_delete),
            web.post(f"{p}/deployments/{{id}}/start", self._h_start),
            web.post(f"{p}/deployments/{{id}}/stop", self._h_stop),
            web.get(f"{p}/deployments/{{id}}/logs", self._h_logs),
            web.get(f"{p}/nodes", self._h_nodes),
            web.get(f"{p}/nodes/{{id}}", self._h_node),
        ]

    # -- the clock -----------------------------------------------------------------------

    def advance(self) -> None:
        """Apply every scheduled transition due by ``clock.now()``, each at its own due time."""
        now = self.clock.now()
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, dep_id, gen, target = heapq.heappop(heap)
            dep = self.deployments.get(dep_id)
            if dep is None or dep.gen != gen:
                continue  # deleted, or changed since this was scheduled
            self._set_status(dep, target, at=due)

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _schedule(self, dep: SandboxDeployment, due: float, target: str) -> None:
        self._tiebreak += 1
        heapq.heappush(self._heap, (due, self._tiebreak, dep.id, dep.gen, target))

    # -- helpers for tests and demos -----------------------------------------------------

    def add_api_key(
        self, api_key: str | None = None, *, balance_cents: int = DEFAULT_BALANCE_CENTS
    ) -> str:
        """Register an API key with its own empty account; returns the key (made up if None)."""
        if api_key is None:
            api_key = "nn_live_" + "".join(
                self.rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789", k=32)
            )
        if api_key not in self.accounts:
            self.accounts[api_key] = SandboxAccount(
                api_key=api_key, user_id=self._new_id("user_", 8), balance_cents=balance_cents
            )
        return api_key

    def set_balance(self, api_key: str, cents: int) -> None:
        """Set an account's balance; create/start need at least one hour at the node's rate."""
        self.accounts[api_key].balance_cents = cents

    def deployment(self, dep_id: str) -> SandboxDeployment:
        """A live deployment by id (KeyError when unknown or deleted)."""
        return self.deployments[dep_id]

    def deployments_of(self, api_key: str) -> list[SandboxDeployment]:
        """An account's deployments, oldest first."""
        return list(self.accounts[api_key].listing.all)

    def create_deployment(
        self,
        api_key: str,
        node_id: str,
        *,
        template_id: str | None = None,
        custom_image: str | None = None,
        name: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SandboxDeployment:
        """Create as ``POST /deployments`` would, skipping its checks (node capacity, balance)."""
        if (template_id is None) == (custom_image is None):
            raise ValueError("give exactly one of template_id / custom_image")
        if template_id is not None and template_id not in TEMPLATES:
            raise ValueError(f"unknown template {template_id!r}")
        return self._new_deployment(
            self.accounts[api_key],
            self.nodes[node_id],
            template_id=template_id,
            custom_image=custom_image,
            name=name,
            env=dict(env or {}),
            at=self.now(),
        )

    def force_status(self, dep_id: str, status: str) -> SandboxDeployment:
        """Put a deployment in ``status`` now: any text, so an unknown status can be tested.

        Known statuses get their side effects (running: endpoints and billing; transitional
        ones continue on their own timers: starting → running, stopping → stopped …).
        """
        dep = self.deployments[dep_id]
        self._set_status(dep, status, at=self.now())
        return dep

    def fail(self, dep_id: str, reason: str = "Container exited with code 137 (OOMKilled)") -> None:
        """Make a deployment fail now (status "failed", the reason on stderr)."""
        dep = self.deployments[dep_id]
        self._set_status(dep, "failed", at=self.now(), reason=reason)

    def set_node_status(self, node_id: str, status: str, *, fail_deployments: bool = True) -> None:
        """Set a node online/offline/maintenance; when it leaves ``online`` its deployments
        fail (unless ``fail_deployments`` is False)."""
        node = self.nodes[node_id]
        node.status = status
        if status == "online" or not fail_deployments:
            return
        now = self.now()
        for dep in list(self.deployments.values()):
            if dep.node_id == node_id and dep.status not in IDLE_STATUSES:
                self._set_status(dep, "failed", at=now, reason=f"Node {node_id} went {status}")

    def seed_bulk(
        self,
        api_key: str,
        n: int,
        *,
        statuses: Sequence[str] = ("running", "stopped", "failed"),
    ) -> list[str]:
        """Add ``n`` settled deployments quickly (benchmarks); returns their ids, oldest first.

        Statuses cycle through ``statuses``; creation times are one second apart ending now.
        Bulk deployments take no node slot and schedule nothing (a transitional status such as
        "starting" stays put until ``force_status``); they log only while running.
        """
        account = self.accounts[api_key]
        now = self.now()
        nodes = [node for node in self.nodes.values() if node.status == "online" and node.gpus]
        templates = list(TEMPLATES.values())
        ids: list[str] = []
        for i in range(n):
            node = nodes[i % len(nodes)]
            template = templates[i % len(templates)]
            status = statuses[i % len(statuses)]
            created = now - (n - i)
            dep = SandboxDeployment(
                id=self._new_id("dep_", 10),
                seq=self._next_seq(),
                api_key=api_key,
                user_id=account.user_id,
                node_id=node.id,
                template_id=template.id,
                custom_image=None,
                name=f"{template.id}-{i:06d}",
                env={},
                status=status,
                created_at=created,
                updated_at=created,
                port=template.port,
                boot_seconds=template.boot_seconds,
                bulk=True,
            )
            if status == "running":
                dep.started_at = dep.running_since = created
                dep.rate_cents = node.hourly_rate_cents
                dep.log_next_at = created + LOG_INTERVAL
            self.deployments[dep.id] = dep
            account.listing.add(dep)
            ids.append(dep.id)
        return ids

    # -- the state machine ---------------------------------------------------------------

    def _new_id(self, prefix: str, length: int) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
        while True:
            candidate = prefix + "".join(self.rng.choices(alphabet, k=length))
            if candidate not in self.deployments:
                return candidate

    def _new_deployment(
        self,
        account: SandboxAccount,
        node: SandboxNode,
        *,
        template_id: str | None,
        custom_image: str | None,
        name: str | None,
        env: dict[str, str],
        at: float,
    ) -> SandboxDeployment:
        template = TEMPLATES[template_id] if template_id else CUSTOM
        port = template.port
        if custom_image and env.get("PORT", "").isdigit():
            port = int(env["PORT"])
        dep_id = self._new_id("dep_", 10)
        if not name:
            base = template_id or (custom_image or "app").rsplit("/", 1)[-1].split(":")[0]
            name = f"{base}-{dep_id[4:9]}"
        dep = SandboxDeployment(
            id=dep_id,
            seq=self._next_seq(),
            api_key=account.api_key,
            user_id=account.user_id,
            node_id=node.id,
            template_id=template_id,
            custom_image=custom_image,
            name=name,
            env=env,
            status="new",
            created_at=at,
            updated_at=at,
            port=port,
            boot_seconds=template.boot_seconds,
        )
        self.deployments[dep.id] = dep
        account.listing.add(dep)
        self._set_status(dep, "pending", at=at)
        return dep

    def _set_status(
        self, dep: SandboxDeployment, new: str, *, at: float, reason: str | None = None
    ) -> None:
        """Every status change goes through here: billing, node slots, logs, timers."""
        old = dep.status
        if old == "running":
            self._close_log_run(dep, at)
            dep.log_next_at = None
            if dep.running_since is not None:
                dep.cost_cents += max(0.0, at - dep.running_since) * dep.rate_cents / 3600
            dep.running_since = None
        # Lines written ahead (a boot in progress) that will now never happen.
        at_ms = _ms(at)
        while dep.logs and dep.logs[-1][0] > at_ms:
            dep.logs.pop()
        dep.status = new
        dep.updated_at = at
        dep.gen += 1
        self.accounts[dep.api_key].listing.move(dep, old, new)

        node = self.nodes.get(dep.node_id)
        holds = new not in IDLE_STATUSES
        if node is not None and not dep.bulk and holds != dep.holds_slot:
            node.own_load += 1 if holds else -1
        dep.holds_slot = holds

        if new == "pending":
            self._log(dep, at, "stdout", f"Deployment {dep.id} scheduled on node {dep.node_id}")
            self._schedule(dep, at + PENDING_SECONDS, "starting")
        elif new == "starting":
            self._write_boot_logs(dep, at)
            self._schedule(dep, at + dep.boot_seconds, "running")
        elif new == "running":
            dep.started_at = dep.running_since = at
            dep.rate_cents = node.hourly_rate_cents if node is not None else 0
            dep.log_next_at = at + LOG_INTERVAL
            for stream, text in self._template(dep).ready:
                self._log(dep, at, stream, self._render(dep, text, at, 0))
        elif new == "stopping":
            self._log(dep, at, "stdout", "Stopping container (SIGTERM)")
            self._schedule(dep, at + STOPPING_SECONDS, "stopped")
        elif new == "stopped":
            self._log(dep, at, "stdout", "Container exited with code 0")
        elif new == "failed":
            self._log(dep, at, "stderr", reason or "Container exited with code 1")

    # -- logs ----------------------------------------------------------------------------

    def _template(self, dep: SandboxDeployment) -> Template:
        return TEMPLATES.get(dep.template_id or "", CUSTOM)

    def _log(self, dep: SandboxDeployment, at: float, stream: str, message: str) -> None:
        dep.logs.append((_ms(at), stream, message))
        if len(dep.logs) > MAX_LOG_LINES + MAX_LOG_LINES // 4:
            del dep.logs[: len(dep.logs) - MAX_LOG_LINES]

    def _write_boot_logs(self, dep: SandboxDeployment, at: float) -> None:
        """Boot lines spread over the boot time (visible only once their time has come)."""
        template = self._template(dep)
        image = dep.custom_image or template.image
        self._log(dep, at, "stdout", f"Pulling image {image}")
        self._log(dep, at, "stdout", f"Status: Image is up to date for {image}")
        span = dep.boot_seconds * 0.9
        for i, (stream, text) in enumerate(template.boot, start=1):
            when = at + span * i / (len(template.boot) + 1)
            self._log(dep, when, stream, self._render(dep, text, when, i))

    def _close_log_run(self, dep: SandboxDeployment, until: float) -> None:
        """Note (without writing them) the periodic lines due by ``until`` in the current run.

        Status changes stay O(1): the lines are written only when someone reads the logs.
        """
        if dep.log_next_at is not None and dep.log_next_at <= until:
            count = int((until - dep.log_next_at) // LOG_INTERVAL) + 1
            dep.log_runs.append((dep.log_next_at, count, dep.log_index))
            dep.log_index += count
            dep.log_next_at += count * LOG_INTERVAL

    def _materialize_logs(self, dep: SandboxDeployment, until: float) -> None:
        """Write every periodic line due by ``until`` (at most MAX_LOG_LINES, newest kept)."""
        if dep.status == "running":
            self._close_log_run(dep, until)
        if not dep.log_runs:
            return
        periodic = self._template(dep).periodic
        budget = MAX_LOG_LINES
        chunks: list[list[tuple[int, str, str]]] = []
        for first_at, count, first_index in reversed(dep.log_runs):
            take = min(count, budget)
            chunk = []
            for k in range(count - take, count):
                at = first_at + k * LOG_INTERVAL
                h = self._hash(dep, first_index + k)
                stream, text = periodic[h % len(periodic)]
                chunk.append((_ms(at), stream, self._render(dep, text, at, h)))
            chunks.append(chunk)
            budget -= take
            if budget <= 0:
                break
        dep.log_runs.clear()
        lines = [line for chunk in reversed(chunks) for line in chunk]
        in_order = not dep.logs or not lines or lines[0][0] >= dep.logs[-1][0]
        dep.logs.extend(lines)
        if not in_order:
            dep.logs.sort(key=itemgetter(0))  # stable: same-time lines keep their order
        if len(dep.logs) > MAX_LOG_LINES:
            del dep.logs[: len(dep.logs) - MAX_LOG_LINES]

    def _hash(self, dep: SandboxDeployment, index: int) -> int:
        return zlib.crc32(f"{self.rng_seed}:{dep.id}:{index}".encode())

    def _render(self, dep: SandboxDeployment, text: str, at: float, salt: int) -> str:
        h = zlib.crc32(f"{dep.id}:{salt}:{at}".encode())
        moment = datetime.fromtimestamp(at, tz=UTC)
        node = self.nodes.get(dep.node_id)
        gpu = node.gpus[0] if node is not None and node.gpus else {}
        env_model = (
            dep.env.get("OLLAMA_MODELS", "").split(",")[0]
            or dep.env.get("MODEL")
            or dep.env.get("MODEL_ID")
        )
        values = {
            "model": env_model or self._template(dep).default_model or "model",
            "gpu": gpu.get("name", "CPU"),
            "vram_mb": gpu.get("vramMb", 0),
            "vram_gib": f"{gpu.get('vramMb', 0) / 1024:.1f}",
            "ram_mb": node.specs["ramMb"] if node is not None else 0,
            "ts": moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
            "isots": moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "gotime": moment.strftime("%Y/%m/%d %H:%M:%S"),
            "gin": moment.strftime("%Y/%m/%d - %H:%M:%S"),
            "vtime": moment.strftime("%m-%d %H:%M:%S"),
            "jtime": moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
            "ip": f"10.{h % 256}.{(h >> 8) % 256}.{(h >> 16) % 254 + 1}",
            "cport": 30000 + h % 30000,
            "ms": 5 + h % 900,
            "secs": f"{1 + (h % 9000) / 1000:.3f}",
            "ss": f"{2 + h % 8:02d}",
            "its": f"{5 + (h % 150) / 10:.2f}",
            "tput": f"{(h % 5000) / 10:.1f}",
            "gput": f"{(h % 900) / 10 + 20:.1f}",
            "reqs": 1 + h % 8,
            "pct": f"{(h % 900) / 10:.1f}",
            "ntok": 7000 + h % 1000,
            "n": h % 10,
            "port": dep.port,
        }
        if "{uuid}" in text:
            values["uuid"] = str(uuid.UUID(int=random.Random(h).getrandbits(128), version=4))
        return text.format(**values)

    def visible_logs(
        self, dep: SandboxDeployment, *, since_ms: int | None = None, tail: int = 100
    ) -> list[tuple[int, str, str]]:
        """The last ``tail`` lines whose time has come, from ``since_ms`` on (inclusive)."""
        self._materialize_logs(dep, self.now())
        logs = dep.logs
        end = bisect_right(logs, _ms(self.now()), key=itemgetter(0))
        start = 0 if since_ms is None else bisect_left(logs, since_ms, hi=end, key=itemgetter(0))
        return logs[max(start, end - tail) : end]

    # -- JSON ----------------------------------------------------------------------------

    def deployment_json(self, dep: SandboxDeployment) -> dict[str, Any]:
        """The wire form of a deployment, as of ``clock.now()``."""
        now = self.now()
        endpoints = (
            [{"type": "https", "url": dep.endpoint_url(), "internalPort": dep.port}]
            if dep.status == "running"
            else []
        )
        return {
            "id": dep.id,
            "userId": dep.user_id,
            "nodeId": dep.node_id,
            "templateId": dep.template_id,
            "customImage": dep.custom_image,
            "name": dep.name,
            "status": dep.status,
            "endpoints": endpoints,
            "env": dict(dep.env),
            "totalCost": dep.total_cost_cents(now),
            "createdAt": iso_ms(dep.created_at),
            "startedAt": iso_ms(dep.started_at) if dep.started_at is not None else None,
            "updatedAt": iso_ms(dep.updated_at),
        }

    # -- request plumbing ----------------------------------------------------------------

    def _account(self, request: web.Request) -> SandboxAccount:
        header = request.headers.get("Authorization", "").strip()
        if not header:
            raise _fail(401, "Missing API key")
        scheme, _, key = header.partition(" ")
        account = self.accounts.get(key.strip()) if scheme.lower() == "bearer" else None
        if account is None:
            raise _fail(401, "Invalid API key")
        return account

    def _owned(self, request: web.Request) -> tuple[SandboxAccount, SandboxDeployment]:
        account = self._account(request)
        dep = self.deployments.get(request.match_info["id"])
        if dep is None or dep.api_key != account.api_key:
            raise _fail(404, "Deployment not found")
        return account, dep

    def _check_can_run(self, account: SandboxAccount, node: SandboxNode) -> None:
        if not node.accepting:
            raise _fail(409, node.refusal())
        if account.balance_cents < node.hourly_rate_cents:
            raise _fail(
                402,
                f"Insufficient balance: node {node.id} costs {node.hourly_rate_cents} cents/hour "
                f"and your balance is {account.balance_cents} cents",
            )

    # -- handlers ------------------------------------------------------------------------

    async def _h_create(self, request: web.Request) -> web.Response:
        account = self._account(request)
        try:
            body = await request.json()
        except (ValueError, UnicodeDecodeError):
            raise _fail(400, "Invalid JSON body") from None
        if not isinstance(body, dict):
            raise _fail(400, "Request body must be a JSON object")
        details = _create_problems(body)
        if details:
            raise _fail(400, "Validation failed", details=details)
        node = self.nodes.get(body["nodeId"])
        if node is None:
            raise _fail(404, "Node not found")
        self._check_can_run(account, node)
        dep = self._new_deployment(
            account,
            node,
            template_id=body.get("templateId"),
            custom_image=body.get("customImage"),
            name=body.get("name"),
            env=dict(body.get("env") or {}),
            at=self.now(),
        )
        return json_response(
            {
                "deployment": self.deployment_json(dep),
                "estimatedHourlyCost": node.hourly_rate_cents,
            },
            status=201,
        )

    async def _h_list(self, request: web.Request) -> web.Response:
        account = self._account(request)
        page = _int_query(request, "page", 1, 1, None)
        limit = _int_query(request, "limit", 20, 1, MAX_LIMIT)
        status = request.query.get("status") or None
        items, total = account.listing.page(status, page, limit)
        return json_response(
            {
                "deployments": [self.deployment_json(d) for d in items],
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total": total,
                    "totalPages": math.ceil(total / limit),
                },
            }
        )

    async def _h_get(self, request: web.Request) -> web.Response:
        _, dep = self._owned(request)
        return json_response({"deployment": self.deployment_json(dep)})

    async def _h_start(self, request: web.Request) -> web.Response:
        account, dep = self._owned(request)
        if dep.status not in IDLE_STATUSES:
            if dep.status in ("running", "starting"):
                raise _fail(409, f"Deployment is already {dep.status}")
            raise _fail(
                409,
                f"Deployment cannot be started while {dep.status}; "
                "only stopped or failed deployments can be started",
            )
        node = self.nodes.get(dep.node_id)
        if node is None:
            raise _fail(409, f"Node {dep.node_id} is not accepting deployments (removed)")
        self._check_can_run(account, node)
        self._set_status(dep, "starting", at=self.now())
        return json_response({"deployment": {"id": dep.id, "status": dep.status}})

    async def _h_stop(self, request: web.Request) -> web.Response:
        _, dep = self._owned(request)
        if dep.status not in ("running", "starting", "pending"):
            if dep.status == "stopping":
                raise _fail(409, "Deployment is already stopping")
            if dep.status in IDLE_STATUSES:
                raise _fail(409, f"Deployment is not running (status: {dep.status})")
            raise _fail(409, f"Deployment cannot be stopped while {dep.status}")
        self._set_status(dep, "stopping", at=self.now())
        return json_response({"deployment": {"id": dep.id, "status": dep.status}})

    async def _h_delete(self, request: web.Request) -> web.Response:
        account, dep = self._owned(request)
        if dep.status not in IDLE_STATUSES:
            self._set_status(dep, "stopped", at=self.now())  # stops it first
        account.listing.remove(dep)
        del self.deployments[dep.id]
        return json_response({"success": True, "message": "Deployment deleted"})

    async def _h_logs(self, request: web.Request) -> web.Response:
        _, dep = self._owned(request)
        tail = _int_query(request, "tail", 100, 1, MAX_TAIL)
        since_ms: int | None = None
        if request.query.get("since"):
            since_ms = _parse_iso_ms(request.query["since"])
            if since_ms is None:
                raise _fail(400, "since must be an ISO 8601 timestamp")
        lines = self.visible_logs(dep, since_ms=since_ms, tail=tail)
        return json_response(
            {
                "logs": [
                    {"timestamp": iso_ms(t / 1000), "stream": s, "message": m} for t, s, m in lines
                ]
            }
        )

    async def _h_nodes(self, request: web.Request) -> web.Response:
        query = request.query
        status = query.get("status") or None
        if status is not None and status not in NODE_STATUSES:
            raise _fail(400, f"status must be one of {', '.join(NODE_STATUSES)}")
        has_gpu: bool | None = None
        if query.get("hasGpu"):
            flag = query["hasGpu"].lower()
            if flag not in ("true", "false", "1", "0"):
                raise _fail(400, "hasGpu must be true or false")
            has_gpu = flag in ("true", "1")
        min_vram = _int_query(request, "minGpuVram", None, 0, None)
        min_cores = _int_query(request, "minCpuCores", None, 0, None)
        min_ram = _int_query(request, "minRamMb", None, 0, None)
        max_rate = _int_query(request, "maxHourlyRate", None, 0, None)
        region = (query.get("region") or "").lower() or None
        page = _int_query(request, "page", 1, 1, None)
        limit = _int_query(request, "limit", 20, 1, MAX_LIMIT)

        def keep(node: SandboxNode) -> bool:
            vram = max((g["vramMb"] for g in node.gpus), default=0)
            return (
                (status is None or node.status == status)
                and (has_gpu is None or bool(node.gpus) == has_gpu)
                and (min_vram is None or vram >= min_vram)
                and (min_cores is None or node.specs["cpuCores"] >= min_cores)
                and (min_ram is None or node.specs["ramMb"] >= min_ram)
                and (max_rate is None or node.hourly_rate_cents <= max_rate)
                and (region is None or node.region.lower() == region)
            )

        matching = [n for n in self.nodes.values() if keep(n)]
        start = (page - 1) * limit
        return json_response(
            {
                "nodes": [n.to_json() for n in matching[start : start + limit]],
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total": len(matching),
                    "totalPages": math.ceil(len(matching) / limit),
                },
            }
        )

    async def _h_node(self, request: web.Request) -> web.Response:
        node = self.nodes.get(request.match_info["id"])
        if node is None:
            raise _fail(404, "Node not found")
        return json_response({"node": node.to_json(detail=True)})

    # -- seeding -------------------------------------------------------------------------

    def _seed_nodes(self) -> None:
        now = self.now()
        for row in _NODE_TABLE:
            (node_id, name, status, region, country, rate, max_dep, base, uptime) = row[:9]
            cpu, cores, threads, ram_gb, disk_gb, disk_type, gpu_count, gpu = row[9:]
            gpus: list[dict[str, Any]] = []
            if gpu is not None:
                gpu_name, vram_gb, cuda_cores, tensor_cores = gpu
                gpus = [
                    {
                        "name": gpu_name,
                        "vramMb": vram_gb * 1024,
                        "cudaVersion": "12.4",
                        "brand": "NVIDIA",
                        "cudaCores": cuda_cores,
                        "tensorCores": tensor_cores,
                        "driverVersion": "550.90.07",
                    }
                    for _ in range(gpu_count)
                ]
            self.nodes[node_id] = SandboxNode(
                id=node_id,
                name=name,
                status=status,
                region=region,
                country=country,
                hourly_rate_cents=rate,
                max_deployments=max_dep,
                base_load=base,
                uptime_percent=uptime,
                specs={
                    "cpuModel": cpu,
                    "cpuCores": cores,
                    "cpuThreads": threads,
                    "ramMb": ram_gb * 1024,
                    "diskGb": disk_gb,
                    "diskType": disk_type,
                    "networkSpeedMbps": 10_000 if rate >= 300 else 1_000,
                    "os": "Ubuntu 22.04.4 LTS",
                    "dockerVersion": "27.3.1",
                },
                gpus=gpus,
                operator_id=f"op_{zlib.crc32(node_id.encode()):08x}",
                created_at=now - 86_400 * (30 + len(self.nodes) * 7),
                last_heartbeat=now - (5 if status == "online" else 7_200),
            )

    def _seed_demo(self) -> None:
        """Five demo deployments in varied states, as if created over the last days."""
        account = self.accounts[self.DEMO_API_KEY]
        now = self.now()

        def replay(dep: SandboxDeployment, steps: Iterable[tuple[str, float]]) -> None:
            for status, at in steps:
                self._set_status(dep, status, at=at)

        def make(
            node: str, template: str | None, name: str, at: float, **kw: Any
        ) -> SandboxDeployment:
            return self._new_deployment(
                account,
                self.nodes[node],
                template_id=template,
                custom_image=kw.get("image"),
                name=name,
                env=kw.get("env", {}),
                at=at,
            )

        t0 = now - 2 * 3600
        chat = make(NODE_RTX4090, "ollama", "llama-chat", t0, env={"OLLAMA_MODELS": "llama3.1:8b"})
        replay(chat, [("starting", t0 + PENDING_SECONDS), ("running", t0 + PENDING_SECONDS + 8)])

        t1 = now - 26 * 3600
        comfy = make(NODE_L40S, "comfyui", "sdxl-studio", t1)
        replay(
            comfy,
            [
                ("starting", t1 + 3),
                ("running", t1 + 15),
                ("stopping", t1 + 3 * 3600),
                ("stopped", t1 + 3 * 3600 + STOPPING_SECONDS),
            ],
        )

        t2 = now - 5 * 3600
        trainer = make(
            NODE_H100,
            None,
            "trainer-v2",
            t2,
            image="ghcr.io/acme/trainer:2.1.0",
            env={"EPOCHS": "3"},
        )
        replay(trainer, [("starting", t2 + 3), ("running", t2 + 13)])
        self._set_status(
            trainer, "failed", at=t2 + 1800, reason="RuntimeError: CUDA error: out of memory"
        )

        vllm = make(
            NODE_A100,
            "vllm",
            "mistral-api",
            now - 10,
            env={"MODEL": "mistralai/Mistral-7B-Instruct-v0.3"},
        )
        replay(vllm, [("starting", now - 10 + PENDING_SECONDS)])

        make(NODE_RTX3090, "jupyter", "research-notebook", now)


# (id, name, status, region, country, rate cents/h, max deployments, others' load, uptime %,
#  cpu, cores, threads, ram GB, disk GB, disk type, GPU count, (GPU, VRAM GB, CUDA cores,
#  tensor cores) or None)
_NODE_TABLE: tuple[tuple[Any, ...], ...] = (
    (NODE_RTX4090, "Brooklyn 4090 Rig", "online", "us-east", "US", 150, 5, 1, 99.5,
     "AMD Ryzen 9 7950X", 16, 32, 64, 2000, "nvme", 1,
     ("NVIDIA GeForce RTX 4090", 24, 16384, 512)),
    (NODE_A100, "Frankfurt A100 Pod", "online", "eu-central", "DE", 420, 4, 0, 99.9,
     "AMD EPYC 7763", 64, 128, 512, 8000, "nvme", 2,
     ("NVIDIA A100 80GB PCIe", 80, 6912, 432)),
    (NODE_H100, "Tokyo H100", "online", "ap-northeast", "JP", 389, 2, 0, 99.7,
     "Intel Xeon Platinum 8480+", 56, 112, 256, 4000, "nvme", 1,
     ("NVIDIA H100 80GB HBM3", 80, 16896, 528)),
    (NODE_RTX3090, "Austin 3090 Box", "online", "us-central", "US", 90, 6, 2, 97.8,
     "AMD Ryzen 9 5950X", 16, 32, 128, 2000, "ssd", 2,
     ("NVIDIA GeForce RTX 3090", 24, 10496, 328)),
    (NODE_L40S, "Paris L40S", "online", "eu-west", "FR", 185, 4, 1, 99.2,
     "AMD EPYC 9354", 32, 64, 256, 4000, "nvme", 1,
     ("NVIDIA L40S", 48, 18176, 568)),
    (NODE_RTX4090_X4, "Oregon 4090 x4", "online", "us-west", "US", 520, 8, 3, 98.9,
     "AMD Threadripper PRO 5975WX", 32, 64, 256, 4000, "nvme", 4,
     ("NVIDIA GeForce RTX 4090", 24, 16384, 512)),
    (NODE_A6000_MAINTENANCE, "Singapore A6000", "maintenance", "ap-southeast", "SG",
     130, 4, 0, 95.1,
     "Intel Xeon Gold 6338", 32, 64, 192, 2000, "ssd", 1,
     ("NVIDIA RTX A6000", 48, 10752, 336)),
    (NODE_RTX3080_OFFLINE, "Toronto 3080", "offline", "ca-central", "CA", 45, 3, 0, 88.4,
     "Intel Core i9-12900K", 16, 24, 32, 1000, "ssd", 1,
     ("NVIDIA GeForce RTX 3080", 10, 8704, 272)),
    (NODE_H100_X8_FULL, "London H100 x8", "online", "eu-west", "GB", 2400, 2, 2, 99.95,
     "Intel Xeon Platinum 8468", 96, 192, 2048, 16000, "nvme", 8,
     ("NVIDIA H100 80GB HBM3", 80, 16896, 528)),
    (NODE_RTX4070TI, "Sao Paulo 4070 Ti", "online", "sa-east", "BR", 60, 3, 0, 96.3,
     "AMD Ryzen 7 7700X", 8, 16, 32, 1000, "nvme", 1,
     ("NVIDIA GeForce RTX 4070 Ti", 12, 7680, 240)),
    (NODE_CPU_ONLY, "Mumbai CPU Node", "online", "ap-south", "IN", 20, 10, 4, 99.0,
     "AMD EPYC 7443P", 24, 48, 128, 2000, "ssd", 0,
     None),
    (NODE_L4, "Virginia L4", "online", "us-east", "US", 70, 6, 1, 99.6,
     "Intel Xeon Gold 6426Y", 16, 32, 64, 1000, "nvme", 1,
     ("NVIDIA L4", 24, 7424, 240)),
)  # fmt: skip


# -- small helpers ---------------------------------------------------------------------------


def _fail(status: int, error: str, **extra: Any) -> web.HTTPException:
    classes: dict[int, type[web.HTTPException]] = {
        400: web.HTTPBadRequest,
        401: web.HTTPUnauthorized,
        402: web.HTTPPaymentRequired,
        404: web.HTTPNotFound,
        409: web.HTTPConflict,
    }
    return classes[status](
        text=json.dumps({"error": error, **extra}), content_type="application/json"
    )


def _int_query(
    request: web.Request, name: str, default: int | None, low: int, high: int | None
) -> Any:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise _fail(400, f"{name} must be an integer {bounds}")
    return value


def _ms(ts: float) -> int:
    """Epoch seconds → whole epoch milliseconds (rounded down)."""
    return math.floor(ts * 1000 + 1e-6)


def iso_ms(ts: float) -> str:
    """ISO-8601 UTC with milliseconds (rounded down, so a time never moves forward) and a Z.

    (``clock.iso`` rounds the milliseconds and can then show a time one second early.)
    """
    ms = _ms(ts)
    moment = datetime.fromtimestamp(ms // 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def _parse_iso_ms(text: str) -> int | None:
    """ISO-8601 text → epoch milliseconds (naive times are UTC); None if unparsable."""
    text = text.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return math.floor(moment.timestamp() * 1000 + 1e-6)
    except (OverflowError, OSError, ValueError):
        return None


def _create_problems(body: Mapping[str, Any]) -> list[dict[str, str]]:
    """The 400 ``details`` for a create body (empty when it is fine)."""
    details: list[dict[str, str]] = []

    def problem(path: str, message: str) -> None:
        details.append({"path": path, "message": message})

    node_id = body.get("nodeId")
    if node_id is None:
        problem("nodeId", "nodeId is required")
    elif not isinstance(node_id, str) or not node_id.strip():
        problem("nodeId", "nodeId must be a non-empty string")

    template_id, image = body.get("templateId"), body.get("customImage")
    if template_id is not None and image is not None:
        problem("templateId", "Provide either templateId or customImage, not both")
    elif template_id is None and image is None:
        problem("templateId", "Either templateId or customImage is required")
    elif template_id is not None:
        if not isinstance(template_id, str):
            problem("templateId", "templateId must be a string")
        elif template_id not in TEMPLATES:
            problem(
                "templateId",
                f"Unknown template '{template_id}'. Available: {', '.join(TEMPLATES)}",
            )
    elif not isinstance(image, str) or not image.strip() or any(c.isspace() for c in image):
        problem("customImage", "customImage must be a Docker image reference")

    name = body.get("name")
    if name is not None and (not isinstance(name, str) or not 1 <= len(name) <= 64):
        problem("name", "name must be a string of 1 to 64 characters")

    env = body.get("env")
    if env is not None:
        if not isinstance(env, dict):
            problem("env", "env must be an object of string values")
        else:
            for key, value in env.items():
                if not isinstance(value, str):
                    problem(f"env.{key}", "Environment values must be strings")
    return details


__all__ = [
    "CUSTOM",
    "NODE_A100",
    "NODE_A6000_MAINTENANCE",
    "NODE_CPU_ONLY",
    "NODE_H100",
    "NODE_H100_X8_FULL",
    "NODE_L4",
    "NODE_L40S",
    "NODE_RTX3080_OFFLINE",
    "NODE_RTX3090",
    "NODE_RTX4070TI",
    "NODE_RTX4090",
    "NODE_RTX4090_X4",
    "TEMPLATES",
    "NeuraNetSandbox",
    "SandboxAccount",
    "SandboxDeployment",
    "SandboxNode",
    "Template",
]
