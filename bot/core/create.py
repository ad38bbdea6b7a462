"""Creating deployments, the pure part: form values → provider spec, field errors, estimates.

A *form* is a flat ``{field: text}`` mapping, whatever it came from (the Slack modal, a stored
template, ``key=value`` overrides on ``/deploy create --template``, the local shell). Each
provider has its own fields (:data:`FIELDS`); :func:`build_spec` checks them all at once and
returns either the JSON-safe spec the provider's ``create`` takes or ``{field: message}`` for
the modal's ``response_action: errors``. Nothing here does I/O: the market/node catalog and the
balance are passed in.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from bot.providers import akash_sdl
from bot.providers.errors import ValidationError
from bot.providers.models import Deployment, Market
from bot.providers.nosana import NosanaCreateSpec
from bot.providers.nosana_jobdef import cron_problem, field_errors, validate_job_definition

STRATEGIES = ("SIMPLE", "SIMPLE-EXTEND", "SCHEDULED", "INFINITE")
MAX_FIELD = 3000
MAX_REPLICAS = 100
MAX_TIMEOUT = 60 * 24 * 30
MAX_DEPOSIT = Decimal(100_000)
TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)

#: The form fields of each provider, in the order the modal shows them. ``save_as`` (save the
#: form as a template too) is common to all.
FIELDS: dict[str, tuple[str, ...]] = {
    "nosana": (
        "name",
        "market",
        "replicas",
        "timeout",
        "strategy",
        "schedule",
        "rotation_time",
        "image",
        "command",
        "gpu",
        "port",
        "env",
        "job_definition",
        "autostart",
    ),
    "neuranet": ("name", "node", "template_id", "custom_image", "env"),
    "akash": (
        "sdl",
        "image",
        "gpu_model",
        "gpu_units",
        "cpu",
        "memory",
        "storage",
        "port",
        "max_price",
        "env",
        "deposit",
    ),
}
DEFAULTS: dict[str, dict[str, str]] = {
    "nosana": {
        "replicas": "1",
        "timeout": "60",
        "strategy": "SIMPLE",
        "gpu": "yes",
        "autostart": "yes",
    },
    "neuranet": {},
    "akash": {
        "gpu_model": "any",
        "gpu_units": "1",
        "cpu": "2",
        "memory": "8Gi",
        "storage": "20Gi",
        "port": "8080",
        "max_price": "1.00",
        "deposit": "5",
    },
}
SAVE_AS = "save_as"


def known_fields(provider: str) -> tuple[str, ...]:
    return (*FIELDS[provider], SAVE_AS)


# -- small parsers


def _text(form: Mapping[str, str], key: str) -> str:
    return str(form.get(key) or "").strip()


def _int(value: str, low: int, high: int, what: str) -> tuple[int | None, str | None]:
    try:
        number = int(value.strip())
    except ValueError:
        return None, f"{what} must be a whole number"
    if not low <= number <= high:
        return None, f"{what} must be between {low} and {high}"
    return number, None


def _money(value: str) -> Decimal | None:
    try:
        number = Decimal(value.strip().lstrip("$").replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _yes(value: str) -> bool:
    return value.strip().lower() in ("yes", "y", "true", "1", "on")


def parse_env(text: str) -> tuple[dict[str, str], str | None]:
    """``KEY=value`` lines (or ``;``-separated) → a dict; a message when a line is not one."""
    env: dict[str, str] = {}
    for raw in re.split(r"[\n;]", text or ""):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not _ENV_NAME.match(key):
            return {}, f"“{line[:40]}” is not KEY=value (one per line)"
        env[key] = value.strip()
    return env, None


def parse_command(text: str) -> tuple[list[str], str | None]:
    text = (text or "").strip()
    if not text:
        return [], None
    try:
        return shlex.split(text), None
    except ValueError:
        return [], "a quote is not closed"


def usd(value: Decimal | None, places: str = "0.01") -> str:
    if value is None:
        return "?"
    return "$" + str(value.quantize(Decimal(places), rounding=ROUND_HALF_UP))


# -- catalogs


def find_place(catalog: Sequence[Market] | None, ref: str) -> Market | None:
    """A market/node by id, or by exact slug/name (case-insensitive)."""
    ref = ref.strip()
    if not catalog or not ref:
        return None
    for item in catalog:
        if item.id == ref:
            return item
    low = ref.casefold()
    for item in catalog:
        if low in (item.name.casefold(), str(item.extras.get("slug") or "").casefold()):
            return item
    return None


def filter_places(catalog: Sequence[Market], query: str, limit: int = 100) -> list[Market]:
    """Type-ahead over markets/nodes: words match name, GPU, region or id; ``vram>=24`` (GB),
    ``region=us-east`` and ``max=1.5`` ($/hour) filter."""
    items = list(catalog)
    for token in (query or "").split():
        low = token.casefold()
        if match := re.fullmatch(r"vram>=?(\d+)", low):
            gb = int(match.group(1))
            items = [m for m in items if (m.vram_mb or 0) >= gb * 1024]
        elif match := re.fullmatch(r"(?:max|\$)<?=?\$?([0-9.]+)", low):
            cap = _money(match.group(1))
            if cap is not None:
                items = [
                    m
                    for m in items
                    if m.price_per_hour_usd is not None and m.price_per_hour_usd <= cap
                ]
        elif low.startswith("region="):
            region = low.split("=", 1)[1]
            items = [m for m in items if (m.region or "").casefold() == region]
        else:
            items = [
                m
                for m in items
                if low
                in " ".join(
                    [m.id, m.name, m.gpu or "", m.region or "", str(m.extras.get("slug") or "")]
                ).casefold()
            ]
    return items[:limit]


def place_label(item: Market) -> str:
    """``NVIDIA RTX 4090 · $0.39/h · RTX 4090 24 GB · load 2/5`` (≤ 75 characters)."""
    parts = [item.name]
    if item.price_per_hour_usd is not None:
        parts.append(f"{usd(item.price_per_hour_usd, '0.001')}/h")
    if item.gpu and item.gpu not in item.name:
        parts.append(item.gpu)
    if item.region:
        parts.append(item.region)
    if item.load:
        parts.append(f"load {item.load}")
    label = " · ".join(parts)
    return label if len(label) <= 75 else label[:74] + "…"


# -- form → spec ---------------------------------------------------------------------------------


@dataclass
class Built:
    """The outcome of checking a form: a spec (JSON-safe) or field errors, plus facts for the
    estimate (the place's price per hour, the timeout in hours …)."""

    spec: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    place: Market | None = None
    summary: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def build_spec(
    provider: str, form: Mapping[str, str], catalog: Sequence[Market] | None = None
) -> Built:
    """Check every field; the spec the provider's ``create`` takes, or all the field errors."""
    form = {k: str(v) for k, v in form.items() if v is not None}
    built = Built()
    for key, value in form.items():
        if len(value) > MAX_FIELD * 4:
            built.errors[key] = "too long"
    name = _text(form, SAVE_AS)
    if name and not TEMPLATE_NAME.match(name):
        built.errors[SAVE_AS] = "a template name is lowercase letters, digits, . _ - (≤ 64)"
    match provider:
        case "nosana":
            _nosana(form, catalog, built)
        case "neuranet":
            _neuranet(form, catalog, built)
        case "akash":
            _akash(form, built)
        case _:
            built.errors["provider"] = "unknown provider"
    if built.errors:
        built.spec = {}
    return built


def _nosana(form: dict[str, str], catalog: Sequence[Market] | None, built: Built) -> None:
    errors = built.errors
    name = _text(form, "name")
    if not name:
        errors["name"] = "give the deployment a name"
    elif len(name) > 100:
        errors["name"] = "100 characters at most"
    market_ref = _text(form, "market")
    market = find_place(catalog, market_ref)
    if not market_ref:
        errors["market"] = "choose a GPU market"
    elif market is None and catalog is not None:
        errors["market"] = f"no market “{market_ref[:40]}” (`/deploy markets` lists them)"
    built.place = market
    replicas, problem = _int(_text(form, "replicas") or "1", 1, MAX_REPLICAS, "replicas")
    if problem:
        errors["replicas"] = problem
    timeout, problem = _int(_text(form, "timeout") or "60", 1, MAX_TIMEOUT, "the timeout")
    if problem:
        errors["timeout"] = problem + " (minutes)"
    strategy = (_text(form, "strategy") or "SIMPLE").upper()
    if strategy not in STRATEGIES:
        errors["strategy"] = "choose SIMPLE, SIMPLE-EXTEND, SCHEDULED or INFINITE"
    if strategy == "INFINITE" and timeout is not None and timeout < 60:
        errors["timeout"] = "INFINITE deployments need a timeout of at least 60 minutes"
    schedule, rotation = _nosana_timing(form, strategy, timeout, errors)
    definition = _nosana_definition(form, errors)
    spec: dict[str, Any] = {
        "name": name,
        "market": market.id if market else market_ref,
        "replicas": replicas,
        "timeout": timeout,
        "strategy": strategy,
        "job_definition": definition,
        "autostart": _yes(form.get("autostart", "yes")),
    }
    if schedule and strategy == "SCHEDULED":
        spec["schedule"] = schedule
    if rotation is not None:
        spec["rotation_time"] = rotation
    if not errors:
        try:
            NosanaCreateSpec.parse(spec)
        except ValidationError as exc:
            for key, message in (exc.field_errors or {}).items():
                top = key.split(".")[0].split("$")[0]
                errors[top if top in FIELDS["nosana"] else "job_definition"] = message
    built.spec = spec
    built.summary = _nosana_summary(spec, market, market_ref)


def _nosana_summary(
    spec: Mapping[str, Any], market: Market | None, market_ref: str
) -> list[tuple[str, str]]:
    price = market.price_per_hour_usd if market else None
    schedule = spec.get("schedule")
    summary = [
        ("Name", str(spec["name"])),
        ("Market", market.name if market else market_ref),
        ("Replicas", str(spec["replicas"])),
        ("Timeout", f"{spec['timeout']} min"),
        ("Strategy", str(spec["strategy"]) + (f" `{schedule}`" if schedule else "")),
        ("Price", f"{usd(price, '0.001')}/h per replica" if price is not None else "unknown"),
    ]
    if market is not None and market.gpu:
        summary.insert(2, ("GPU", _gpu_label(market)))
    return summary


def _nosana_timing(
    form: Mapping[str, str], strategy: str, timeout: int | None, errors: dict[str, str]
) -> tuple[str | None, int | None]:
    """The cron schedule (SCHEDULED only) and the rotation time (INFINITE only), checked."""
    schedule = " ".join(_text(form, "schedule").split()) or None
    if strategy == "SCHEDULED":
        if not schedule:
            errors["schedule"] = 'SCHEDULED needs a cron schedule, e.g. "0 */6 * * *"'
        else:
            from croniter import croniter

            problem = cron_problem(schedule)
            if problem or not croniter.is_valid(schedule):
                errors["schedule"] = problem or f"“{schedule[:60]}” is not a valid cron schedule"
    elif schedule:
        errors["schedule"] = "only SCHEDULED deployments take a schedule"
    rotation: int | None = None
    if _text(form, "rotation_time"):
        if strategy != "INFINITE":
            errors["rotation_time"] = "only INFINITE deployments take a rotation time"
        else:
            rotation, problem = _int(_text(form, "rotation_time"), 1, MAX_TIMEOUT, "rotation")
            if problem:
                errors["rotation_time"] = problem
            elif timeout is not None and rotation is not None and rotation >= timeout - 10:
                errors["rotation_time"] = f"must be less than the timeout − 10 ({timeout - 10})"
    return schedule, rotation


def _nosana_definition(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any] | None:
    pasted = _text(form, "job_definition")
    if pasted:
        try:
            definition = json.loads(pasted)
        except ValueError as exc:
            errors["job_definition"] = f"not valid JSON ({exc})"
            return None
        problems = validate_job_definition(definition)
        if problems:
            found = field_errors(problems)
            errors["job_definition"] = "; ".join(f"{k} {v}" for k, v in list(found.items())[:3])
            return None
        return definition if isinstance(definition, dict) else None
    image = _text(form, "image")
    if not image:
        errors["image"] = "give an image (or paste a job definition)"
        return None
    if not _IMAGE.match(image):
        errors["image"] = f"“{image[:40]}” is not an image reference like ollama/ollama:0.5"
    args: dict[str, Any] = {"image": image, "gpu": _yes(form.get("gpu", "yes"))}
    command, problem = parse_command(_text(form, "command"))
    if problem:
        errors["command"] = problem
    elif command:
        args["cmd"] = command
    if _text(form, "port"):
        port, problem = _int(_text(form, "port"), 1, 65535, "the port")
        if problem:
            errors["port"] = problem
        else:
            args["expose"] = port
    env, problem = parse_env(form.get("env", ""))
    if problem:
        errors["env"] = problem
    elif env:
        args["env"] = env
    op_id = re.sub(r"[^a-z0-9-]+", "-", (_text(form, "name") or "app").lower()).strip("-")
    return {
        "version": "0.1",
        "type": "container",
        "meta": {"trigger": "api"},
        "ops": [{"type": "container/run", "id": op_id[:40] or "app", "args": args}],
    }


def _neuranet(form: dict[str, str], catalog: Sequence[Market] | None, built: Built) -> None:
    errors = built.errors
    node_ref = _text(form, "node")
    node = find_place(catalog, node_ref)
    if not node_ref:
        errors["node"] = "choose a node"
    elif node is None and catalog is not None:
        errors["node"] = f"no node “{node_ref[:40]}” (`/deploy nodes` lists them)"
    elif node is not None and node.status not in (None, "online"):
        errors["node"] = f"{node.name} is {node.status}: choose an online node"
    built.place = node
    template = _text(form, "template_id")
    image = _text(form, "custom_image")
    if template and image:
        errors["custom_image"] = "give a template or a custom image, not both"
    elif not template and not image:
        errors["template_id"] = "give a template id (e.g. ollama) or a custom image"
    if image and not _IMAGE.match(image):
        errors["custom_image"] = f"“{image[:40]}” is not an image reference"
    if template and not re.match(r"^[A-Za-z0-9._-]{1,64}$", template):
        errors["template_id"] = "a template id is letters, digits, . _ -"
    env, problem = parse_env(form.get("env", ""))
    if problem:
        errors["env"] = problem
    name = _text(form, "name")
    if len(name) > 100:
        errors["name"] = "100 characters at most"
    built.spec = {
        "node_id": node.id if node else node_ref,
        "template_id": template or None,
        "custom_image": image or None,
        "name": name or None,
        "env": env,
    }
    built.summary = [
        ("Name", name or "(NeuraNET picks one)"),
        ("Node", node.name if node else node_ref),
        ("Runs", f"template `{template}`" if template else f"image `{image}`"),
        ("Env", ", ".join(sorted(env)) or "none"),
    ]
    if node is not None and node.gpu:
        built.summary.insert(2, ("GPU", _gpu_label(node)))


def _gpu_label(place: Market) -> str:
    """``RTX 4090, 24 GB`` (the VRAM when the catalog says it)."""
    if place.vram_mb and str(place.vram_mb // 1024) not in (place.gpu or ""):
        return f"{place.gpu}, {place.vram_mb // 1024} GB"
    return str(place.gpu)


def _akash(form: dict[str, str], built: Built) -> None:
    errors = built.errors
    sdl = form.get("sdl", "").strip()
    if sdl:
        problems = akash_sdl.check_sdl(sdl)
        if problems:
            errors["sdl"] = akash_sdl.format_problems(problems[:4])[:1900]
    else:
        env, problem = parse_env(form.get("env", ""))
        if problem:
            errors["env"] = problem
        gpu_units, problem = _int(_text(form, "gpu_units") or "0", 0, 8, "GPU count")
        if problem:
            errors["gpu_units"] = problem
        port: int | None = None
        if _text(form, "port"):
            port, problem = _int(_text(form, "port"), 1, 65535, "the port")
            if problem:
                errors["port"] = problem
        quick = akash_sdl.QuickForm(
            image=_text(form, "image"),
            gpu_model=_text(form, "gpu_model") or None,
            gpu_units=gpu_units if gpu_units is not None else 0,
            cpu=_text(form, "cpu") or "1",
            memory=_text(form, "memory") or "4Gi",
            storage=_text(form, "storage") or "10Gi",
            port=port,
            max_price_usd_per_hour=(_text(form, "max_price").lstrip("$") or "1"),
            env=tuple(f"{k}={v}" for k, v in env.items()),
        )
        rename = {"max_price_usd_per_hour": "max_price"}
        for problem_key, message in quick.problems():
            key = rename.get(problem_key, problem_key)
            if key not in errors:
                errors[key if key in FIELDS["akash"] else "image"] = message
        if not errors:
            sdl = akash_sdl.build_sdl(quick)
    deposit = _money(_text(form, "deposit") or "5")
    if deposit is None or deposit <= 0 or deposit > MAX_DEPOSIT:
        errors["deposit"] = "a deposit in US dollars, more than 0 (e.g. 5)"
    elif deposit.as_tuple().exponent < -6:  # type: ignore[operator]
        errors["deposit"] = "at most 6 decimal places"
    if errors:
        return
    doc = akash_sdl.load_sdl(sdl)
    max_hour = akash_sdl.max_price_per_hour_usd(doc)
    built.spec = {"sdl": sdl, "deposit_usd": str(deposit)}
    gpus = akash_sdl.requested_gpu_models(doc)
    services = ", ".join(str(s) for s in (doc.get("services") or {}))
    built.summary = [
        ("Services", services or "?"),
        ("GPU", ", ".join(gpus) if gpus else "none"),
        ("Max price", f"{usd(max_hour, '0.001')}/h"),
        ("Deposit", usd(deposit)),
    ]


# -- estimates


@dataclass
class Estimate:
    """What the review shows: cost per hour and per period, and the balance pre-flight."""

    per_hour: Decimal | None = None
    period_label: str = ""
    per_period: Decimal | None = None
    balance: Decimal | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "per_hour": None if self.per_hour is None else str(self.per_hour),
            "period_label": self.period_label,
            "per_period": None if self.per_period is None else str(self.per_period),
            "balance": None if self.balance is None else str(self.balance),
            "warnings": list(self.warnings),
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Estimate:
        def dec(key: str) -> Decimal | None:
            value = data.get(key)
            return None if value in (None, "") else Decimal(str(value))

        return cls(
            per_hour=dec("per_hour"),
            period_label=str(data.get("period_label") or ""),
            per_period=dec("per_period"),
            balance=dec("balance"),
            warnings=[str(w) for w in data.get("warnings") or []],
            notes=[str(n) for n in data.get("notes") or []],
        )


def _hours(hours: Decimal) -> str:
    if hours >= 48:
        return f"{(hours / 24).quantize(Decimal('0.1'))} days"
    if hours >= 1:
        return f"{hours.quantize(Decimal('0.1'))} hours"
    return f"{int(hours * 60)} minutes"


def estimate(
    provider: str,
    spec: Mapping[str, Any],
    place: Market | None,
    balance: Decimal | None,
    *,
    balance_problem: str | None = None,
) -> Estimate:
    """Cost per hour and per period, and whether the money runs out first (pure)."""
    est = Estimate(balance=balance)
    if balance_problem:
        est.notes.append(f"Balance not checked: {balance_problem}")
    match provider:
        case "nosana":
            price = place.price_per_hour_usd if place else None
            replicas = int(spec.get("replicas") or 1)
            timeout = int(spec.get("timeout") or 60)
            strategy = str(spec.get("strategy") or "SIMPLE")
            if price is None:
                est.notes.append("The market's price is unknown: no estimate.")
                return est
            est.per_hour = price * replicas
            est.period_label = f"per timeout ({timeout} min)"
            est.per_period = (est.per_hour * timeout / 60).quantize(Decimal("0.0001"))
            if strategy in ("SIMPLE-EXTEND", "INFINITE"):
                est.notes.append(f"{strategy} keeps running past the timeout while credits last.")
            if strategy == "SCHEDULED":
                est.notes.append("SCHEDULED pays this at every cron firing.")
            if balance is not None:
                if balance <= 0:
                    est.warnings.append(
                        f"No Nosana credits left ({usd(balance)}): jobs won't start."
                    )
                elif balance < est.per_period:
                    est.warnings.append(
                        f"Credits ({usd(balance)}) last about {_hours(balance / est.per_hour)}: "
                        f"less than the timeout; jobs stop when they run out."
                    )
        case "neuranet":
            price = place.price_per_hour_usd if place else None
            if price is None:
                est.notes.append("The node's rate is unknown: no estimate.")
                return est
            est.per_hour = price
            est.period_label = "per day (runs until stopped)"
            est.per_period = price * 24
        case "akash":
            try:
                doc = akash_sdl.load_sdl(str(spec.get("sdl") or ""))
                max_hour = akash_sdl.max_price_per_hour_usd(doc)
            except (akash_sdl.SdlError, ValueError):
                return est
            deposit = Decimal(str(spec.get("deposit_usd") or "0"))
            est.per_hour = max_hour
            est.notes.append(
                "At most this per hour (the SDL's max price); bids usually come lower."
            )
            if max_hour > 0:
                est.period_label = f"deposit runway ({_hours(deposit / max_hour)} at the max price)"
            est.per_period = deposit
            if balance is not None and balance < deposit:
                est.warnings.append(
                    f"The deposit ({usd(deposit)}) is more than the Akash balance "
                    f"({usd(balance)}): the create will be refused."
                )
            elif balance is not None and max_hour > 0 and balance - deposit < max_hour * 24:
                est.warnings.append(
                    f"After the deposit, {usd(balance - deposit)} is left: less than a day at "
                    "the max price for top-ups."
                )
    return est


# -- templates and overrides


def parse_overrides(tokens: Sequence[str]) -> tuple[dict[str, str], str | None]:
    """``key=value`` words (values may be quoted) → a dict, or a message for the first bad one."""
    out: dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.partition("=")
        key = key.strip().lower().replace("-", "_")
        if not sep or not key:
            return {}, f"“{token[:40]}” is not key=value"
        out[key] = value
    return out, None


def apply_overrides(
    provider: str, form: Mapping[str, str], overrides: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The template's form with overrides applied; unknown keys come back as errors."""
    allowed = set(known_fields(provider))
    errors = {
        key: f"not a {provider} field (use {', '.join(FIELDS[provider])})"
        for key in overrides
        if key not in allowed
    }
    merged = {**DEFAULTS.get(provider, {}), **form}
    merged.update({k: v for k, v in overrides.items() if k in allowed})
    if "job_definition" in overrides or "sdl" in overrides:
        pass
    elif provider == "akash" and any(k in overrides for k in FIELDS["akash"] if k != "deposit"):
        merged.pop("sdl", None)  # quick-form overrides replace a stored SDL built from them
    return merged, errors


def form_from_deployment(deployment: Deployment, definition: str) -> dict[str, str]:
    """What a template can keep of an existing deployment (what the provider gives back)."""
    extras = deployment.extras
    match deployment.provider:
        case "nosana":
            form = {
                "name": deployment.name,
                "market": str(extras.get("market") or ""),
                "replicas": str(deployment.replicas or 1),
                "timeout": str(extras.get("timeout_minutes") or 60),
                "strategy": str(extras.get("strategy") or "SIMPLE"),
                "job_definition": definition,
                "autostart": "yes",
            }
            if extras.get("schedule"):
                form["schedule"] = str(extras["schedule"])
            if extras.get("rotation_time_minutes"):
                form["rotation_time"] = str(extras["rotation_time_minutes"])
            return form
        case "neuranet":
            return {
                "name": deployment.name,
                "node": str(extras.get("node_id") or ""),
                "template_id": str(extras.get("template_id") or ""),
                "custom_image": str(extras.get("custom_image") or ""),
            }
        case _:
            return {"sdl": definition, "deposit": "5"} if definition.strip() else {}


__all__ = [
    "DEFAULTS",
    "FIELDS",
    "SAVE_AS",
    "STRATEGIES",
    "TEMPLATE_NAME",
    "Built",
    "Estimate",
    "apply_overrides",
    "build_spec",
    "estimate",
    "filter_places",
    "find_place",
    "form_from_deployment",
    "known_fields",
    "parse_env",
    "parse_overrides",
    "place_label",
    "usd",
]
