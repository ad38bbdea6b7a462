"""What a create or lease request spends on, for approvers (pure: stored spec in, text out).

The text is *plain* text with mrkdwn emphasis (``*bold*``, `` `code` ``, bullets). It holds no
``&``, ``<`` or ``>`` of its own, so escaping the whole text once for mrkdwn (as the approval
gate does with :func:`bot.core.render.escape`) escapes every user- or provider-supplied part
and nothing else. Env *values* never appear: only the names.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from bot.core import fmt
from bot.core.create import Estimate, per_hour, usd
from bot.core.create_views import bid_key
from bot.core.render import PROVIDER_LABEL, clip
from bot.providers import akash_sdl

#: How much of a free-text value (a name, an image, a market name) is shown.
VALUE_CHARS = 120
#: How many env names, images, services are listed before "… and N more".
MAX_LISTED = 25


@dataclass(frozen=True)
class CreateFacts:
    """Everything stored on a create request that the summary needs."""

    provider: str
    title: str
    spec: Mapping[str, Any]
    estimate: Estimate
    deployment_id: str | None = None
    #: The bids received (Akash), as stored on the request.
    bids: Sequence[Mapping[str, Any]] = ()
    #: Facts about the bidding providers by address (name, audited, uptime …).
    providers: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


# -- small helpers


def code(text: object) -> str:
    """``text`` as inline code (backticks inside would end the span, so they are dropped)."""
    value = clip(str(text).replace("`", "").replace("\n", " "), VALUE_CHARS)
    return f"`{value}`" if value else "(empty)"


def plain(text: object) -> str:
    """One line of free text, cut to a readable length."""
    return clip(" ".join(str(text).split()), VALUE_CHARS)


def short_id(value: str, head: int = 10, tail: int = 4) -> str:
    """``akash1w953…k3xz``: long addresses and ids shortened, short ones kept."""
    if len(value) <= head + tail + 1:
        return value
    return f"{value[:head]}…{value[-tail:]}"


def listed(items: Iterable[str], *, as_code: bool = True) -> str:
    names = list(dict.fromkeys(items))
    if not names:
        return "none"
    shown = [code(n) if as_code else plain(n) for n in names[:MAX_LISTED]]
    more = len(names) - MAX_LISTED
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def line(label: str, value: str) -> str:
    return f"• *{label}:* {value}"


def _pairs(spec: Mapping[str, Any]) -> dict[str, str]:
    """The review's ``(label, value)`` facts stored with the spec (names people know)."""
    pairs = spec.get("_summary") or []
    return {str(p[0]): str(p[1]) for p in pairs if isinstance(p, list | tuple) and len(p) == 2}


def _duration(minutes: int) -> str:
    return fmt.minutes(minutes)


def next_run(cron: str, now: datetime) -> str | None:
    """When a cron schedule fires next (UTC), or None when it can't be read."""
    from croniter import croniter

    try:
        moment = croniter(cron, now).get_next(datetime)
    except (ValueError, KeyError):
        return None
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def _place(label: str, pairs: Mapping[str, str], place_id: str) -> str:
    """``NVIDIA RTX 4090 (`97G9NnvB…odAf`)``: the name people know, with the id."""
    name = pairs.get(label, "")
    if not place_id:
        return plain(name) if name else "(not set)"
    if not name or name == place_id:
        return code(place_id)
    return f"{plain(name)} ({code(short_id(place_id))})"


# -- the estimate


def estimate_lines(provider: str, est: Estimate) -> list[str]:
    """Cost per hour and per timeout / day / deposit, and the balance warnings."""
    lines: list[str] = []
    if est.per_hour is None:
        lines.append(line("Estimate", "unknown (no price for this place)"))
    else:
        hour = per_hour(est.per_hour)
        if provider == "akash":
            day = usd(est.per_hour * 24)
            lines.append(line("Estimate", f"at most {hour} (the SDL's max price), {day}/day"))
        else:
            lines.append(line("Estimate", f"about {hour}"))
            if est.per_period is not None and est.period_label:
                lines.append(line(plain(est.period_label.capitalize()), usd(est.per_period)))
    lines += [f":warning: {plain(w)}" for w in est.warnings]
    lines += [f"_{plain(n)}_" for n in est.notes if not n.startswith("At most this per hour")]
    return lines


# -- per provider


def _nosana_ops(definition: Any) -> list[Mapping[str, Any]]:
    if not isinstance(definition, Mapping):
        return []
    ops = definition.get("ops")
    if not isinstance(ops, list):
        return []
    return [op for op in ops if isinstance(op, Mapping) and isinstance(op.get("args"), Mapping)]


def _nosana_run(spec: Mapping[str, Any]) -> list[str]:
    """What the job definition runs: images, GPU, ports, env names."""
    ops = _nosana_ops(spec.get("job_definition"))
    images = [str(op["args"].get("image")) for op in ops if op["args"].get("image")]
    env = [str(k) for op in ops for k in (op["args"].get("env") or {})]
    ports = [str(op["args"].get("expose")) for op in ops if op["args"].get("expose")]
    gpu = any(op["args"].get("gpu") for op in ops)
    lines = [line("Image", listed(images) if images else "(none in the job definition)")]
    if ops:
        lines.append(line("Uses the GPU", "yes" if gpu else "no"))
    if ports:
        lines.append(line("Exposed port", listed(ports, as_code=False)))
    lines.append(line("Env names", listed(env)))
    return lines


def _nosana(spec: Mapping[str, Any], pairs: Mapping[str, str], now: datetime) -> list[str]:
    lines = [line("Market", _place("Market", pairs, str(spec.get("market") or "")))]
    if pairs.get("GPU"):
        lines.append(line("GPU", plain(pairs["GPU"])))
    lines.append(line("Replicas", str(spec.get("replicas") or 1)))
    timeout = spec.get("timeout")
    lines.append(line("Timeout", _duration(int(timeout)) if timeout else "(not set)"))
    strategy = str(spec.get("strategy") or "SIMPLE")
    lines.append(line("Strategy", code(strategy)))
    schedule = spec.get("schedule")
    if schedule:
        when = next_run(str(schedule), now)
        lines.append(
            line("Cron", code(schedule) + (f", next run {when}" if when else " (unreadable)"))
        )
    if spec.get("rotation_time"):
        lines.append(line("Rotation", f"every {fmt.minutes(int(spec['rotation_time']))}"))
    lines += _nosana_run(spec)
    lines.append(line("Starts", "right away" if spec.get("autostart", True) else "when started"))
    return lines


def _neuranet(spec: Mapping[str, Any], pairs: Mapping[str, str]) -> list[str]:
    lines = [line("Node", _place("Node", pairs, str(spec.get("node_id") or "")))]
    if pairs.get("GPU"):
        lines.append(line("GPU", plain(pairs["GPU"])))
    if spec.get("template_id"):
        lines.append(line("Template", code(spec["template_id"])))
    else:
        lines.append(line("Image", code(spec.get("custom_image") or "")))
    lines.append(line("Replicas", "1 (one container on the node)"))
    lines.append(line("Timeout", "none: runs until stopped"))
    env = spec.get("env")
    lines.append(line("Env names", listed(str(k) for k in (env or {}))))
    return lines


def _gpu_text(unit: akash_sdl.ResourceUnit) -> str:
    if not unit.gpu_units:
        return "no GPU"
    models = [g.model or "any" for g in unit.gpu_options] or ["any"]
    return f"{unit.gpu_units} GPU ({', '.join(plain(m) for m in models)})"


def _gib(size: int) -> str:
    return f"{(Decimal(size) / 1024**3).quantize(Decimal('0.1')).normalize():f} GiB"


def _unit_text(unit: akash_sdl.ResourceUnit) -> str:
    cpu = Decimal(unit.cpu_millis) / 1000
    storage = sum(size for _, size, _ in unit.storage)
    disk = f", {_gib(storage)} storage" if storage else ""
    return (
        f"{unit.count} × ({cpu.normalize():f} CPU, {_gib(unit.memory_bytes)}{disk}, "
        f"{_gpu_text(unit)})"
    )


def _service_env(service: Any) -> list[str]:
    env = service.get("env") if isinstance(service, Mapping) else None
    if isinstance(env, Mapping):
        return [str(k) for k in env]
    if isinstance(env, list):
        return [str(e).partition("=")[0] for e in env]
    return []


def _akash_services(doc: Mapping[str, Any]) -> list[str]:
    services = doc.get("services") or {}
    try:
        units = {s: u for g in akash_sdl.group_specs(doc) for u in g.resources for s in u.services}
    except (akash_sdl.SdlError, ValueError, KeyError, TypeError):
        units = {}
    lines: list[str] = []
    names = list(services)
    for name in names[:MAX_LISTED]:
        service = services[name]
        image = service.get("image") if isinstance(service, Mapping) else None
        unit = units.get(name)
        facts = [f"image {code(image or '')}"]
        if unit is not None:
            facts.append(_unit_text(unit))
        lines.append(line(f"Service {plain(name)}", ", ".join(facts)))
    if len(names) > MAX_LISTED:
        lines.append(f"… and {len(names) - MAX_LISTED} more services")
    env = [n for s in services.values() for n in _service_env(s)]
    lines.append(line("Env names", listed(env)))
    return lines


def _akash(spec: Mapping[str, Any]) -> list[str]:
    try:
        doc = akash_sdl.load_sdl(str(spec.get("sdl") or ""))
    except (akash_sdl.SdlError, ValueError):
        return [line("SDL", "(unreadable)"), _deposit_line(spec, None)]
    lines = _akash_services(doc)
    gpus = akash_sdl.requested_gpu_models(doc)
    lines.insert(0, line("GPU asked for", listed(gpus, as_code=False) if gpus else "none"))
    lines.append(_deposit_line(spec, akash_sdl.max_price_per_hour_usd(doc)))
    return lines


def _deposit_line(spec: Mapping[str, Any], price: Decimal | None) -> str:
    deposit = decimal(spec.get("deposit_usd"))
    if deposit is None:
        return line("Deposit", "(not set)")
    text = usd(deposit)
    if price:
        text += f" (lasts at least {_hours(deposit / price)} at that price)"
    return line("Deposit", text)


def _hours(hours: Decimal) -> str:
    return fmt.hours(hours)


# -- the requests


def spec_lines(facts: CreateFacts, now: datetime) -> list[str]:
    """The full spec of a create request, one fact per line (no estimate)."""
    pairs = _pairs(facts.spec)
    match facts.provider:
        case "nosana":
            return _nosana(facts.spec, pairs, now)
        case "neuranet":
            return _neuranet(facts.spec, pairs)
        case "akash":
            return _akash(facts.spec)
    return [line(label, plain(value)) for label, value in pairs.items()]


def create_summary(facts: CreateFacts, now: datetime) -> str:
    """``create Nosana deployment whisper (about $0.385/h)`` then every fact of the spec."""
    label = PROVIDER_LABEL.get(facts.provider, facts.provider)
    est = facts.estimate
    cost = "cost unknown"
    if est.per_hour is not None:
        bound = "at most" if facts.provider == "akash" else "about"
        cost = f"{bound} {per_hour(est.per_hour)}"
    head = f"create {label} deployment {plain(facts.title)} ({cost})"
    lines = [head, line("Provider", label), *spec_lines(facts, now)]
    lines += estimate_lines(facts.provider, est)
    return "\n".join(lines)


def _provider_facts(address: str, info: Mapping[str, Any]) -> str:
    parts = [code(short_id(address))]
    host = info.get("host_uri")
    if host and not info.get("name"):
        parts.append(plain(host))
    audited = info.get("is_audited")
    parts.append(
        "audit status unknown" if audited is None else ("audited" if audited else "not audited")
    )
    uptime = info.get("uptime_7d")
    if isinstance(uptime, int | float):
        parts.append(f"uptime {uptime * 100:.1f}% (7d)")
    if info.get("region"):
        parts.append(plain(info["region"]))
    return ", ".join(parts)


def lease_summary(facts: CreateFacts, key: str, now: datetime) -> str:
    """``lease Akash deployment 123 (web) from europlots at $0.412/h`` and the bid's facts."""
    label = PROVIDER_LABEL.get(facts.provider, facts.provider)
    bid = next((b for b in facts.bids if bid_key(b) == key), None)
    address = str((bid or {}).get("provider_address") or key.partition("/")[0])
    info = facts.providers.get(address) or {}
    who = plain(info.get("name") or info.get("host_uri") or short_id(address) or "?")
    price = decimal((bid or {}).get("price_per_hour_usd"))
    hour = per_hour(price) if price is not None else "an unknown price"
    head = (
        f"lease {label} deployment {plain(facts.deployment_id or '?')} ({plain(facts.title)}) "
        f"from {who} at {hour}"
    )
    lines = [head, line("Provider", f"{who} ({_provider_facts(address, info)})")]
    if bid is None:
        lines.append(":warning: This bid is no longer listed on the request.")
    lines.append(
        line("Price", f"{hour}, {usd(price * 24)}/day" if price is not None else "unknown")
    )
    gpu = (bid or {}).get("gpu")
    lines.append(line("GPU", plain(gpu) if gpu else "none offered"))
    spec = spec_lines(facts, now)
    deposit = decimal(facts.spec.get("deposit_usd"))
    if deposit is not None and price:
        runway = f"{usd(deposit)} (lasts about {_hours(deposit / price)} at this price)"
        spec = [s for s in spec if not s.startswith("• *Deposit:*")] + [line("Deposit", runway)]
    return "\n".join([*lines, *spec])


__all__ = [
    "CreateFacts",
    "code",
    "create_summary",
    "estimate_lines",
    "lease_summary",
    "next_run",
    "short_id",
    "spec_lines",
]
