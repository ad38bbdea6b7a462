"""Nosana create form → the spec ``NosanaProvider.create`` takes (or field errors)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from croniter import croniter

from bot.core import fmt
from bot.core.create.built import Built
from bot.core.create.catalog import find_place, gpu_label
from bot.core.create.fields import FIELDS, MAX_REPLICAS, MAX_TIMEOUT, STRATEGIES
from bot.core.create.values import IMAGE, parse_command, parse_env, per_hour, text, whole, yes
from bot.providers.errors import ValidationError
from bot.providers.models import Market
from bot.providers.nosana import NosanaCreateSpec
from bot.providers.nosana_jobdef import cron_problem, field_errors, validate_job_definition


def build(form: dict[str, str], catalog: Sequence[Market] | None, built: Built) -> None:
    errors = built.errors
    name = _name(form, errors)
    market_ref = text(form, "market")
    market = _market(market_ref, catalog, errors)
    built.place = market
    replicas, timeout, strategy = _run_shape(form, errors)
    schedule, rotation = _timing(form, strategy, timeout, errors)
    definition = _definition(form, errors)
    spec: dict[str, Any] = {
        "name": name,
        "market": market.id if market else market_ref,
        "replicas": replicas,
        "timeout": timeout,
        "strategy": strategy,
        "job_definition": definition,
        "autostart": yes(form.get("autostart", "yes")),
    }
    if schedule and strategy == "SCHEDULED":
        spec["schedule"] = schedule
    if rotation is not None:
        spec["rotation_time"] = rotation
    if not errors:
        _check_spec(spec, errors)
    built.spec = spec
    built.summary = _summary(spec, market, market_ref)


def _name(form: Mapping[str, str], errors: dict[str, str]) -> str:
    name = text(form, "name")
    if not name:
        errors["name"] = "give the deployment a name"
    elif len(name) > 100:
        errors["name"] = "100 characters at most"
    return name


def _market(
    market_ref: str, catalog: Sequence[Market] | None, errors: dict[str, str]
) -> Market | None:
    market = find_place(catalog, market_ref)
    if not market_ref:
        errors["market"] = "choose a GPU market"
    elif market is None and catalog is not None:
        errors["market"] = f"no market “{market_ref[:40]}” (`/deploy markets` lists them)"
    return market


def _run_shape(
    form: Mapping[str, str], errors: dict[str, str]
) -> tuple[int | None, int | None, str]:
    """Replicas, the timeout (minutes) and the strategy, checked."""
    replicas, problem = whole(text(form, "replicas") or "1", 1, MAX_REPLICAS, "replicas")
    if problem:
        errors["replicas"] = problem
    timeout, problem = whole(text(form, "timeout") or "60", 1, MAX_TIMEOUT, "the timeout")
    if problem:
        errors["timeout"] = problem + " (minutes)"
    strategy = (text(form, "strategy") or "SIMPLE").upper()
    if strategy not in STRATEGIES:
        errors["strategy"] = "choose SIMPLE, SIMPLE-EXTEND, SCHEDULED or INFINITE"
    if strategy == "INFINITE" and timeout is not None and timeout < 60:
        errors["timeout"] = "INFINITE deployments need a timeout of at least 60 minutes"
    return replicas, timeout, strategy


def _check_spec(spec: dict[str, Any], errors: dict[str, str]) -> None:
    """What the provider's own spec model says, mapped onto the form's fields."""
    try:
        NosanaCreateSpec.parse(spec)
    except ValidationError as exc:
        for key, message in (exc.field_errors or {}).items():
            top = key.split(".")[0].split("$")[0]
            errors[top if top in FIELDS["nosana"] else "job_definition"] = message


def _summary(
    spec: Mapping[str, Any], market: Market | None, market_ref: str
) -> list[tuple[str, str]]:
    price = market.price_per_hour_usd if market else None
    schedule = spec.get("schedule")
    summary = [
        ("Name", str(spec["name"])),
        ("Market", market.name if market else market_ref),
        ("Replicas", str(spec["replicas"])),
        ("Timeout", fmt.minutes(int(spec["timeout"])) if spec.get("timeout") else "?"),
        ("Strategy", str(spec["strategy"]) + (f" `{schedule}`" if schedule else "")),
        ("Price", f"{per_hour(price)} per replica" if price is not None else "unknown"),
    ]
    if market is not None and market.gpu:
        summary.insert(2, ("GPU", gpu_label(market)))
    return summary


def _timing(
    form: Mapping[str, str], strategy: str, timeout: int | None, errors: dict[str, str]
) -> tuple[str | None, int | None]:
    """The cron schedule (SCHEDULED only) and the rotation time (INFINITE only), checked."""
    schedule = " ".join(text(form, "schedule").split()) or None
    if strategy == "SCHEDULED":
        if not schedule:
            errors["schedule"] = 'SCHEDULED needs a cron schedule, e.g. "0 */6 * * *"'
        else:
            problem = cron_problem(schedule)
            if problem or not croniter.is_valid(schedule):
                errors["schedule"] = problem or f"“{schedule[:60]}” is not a valid cron schedule"
    elif schedule:
        errors["schedule"] = "only SCHEDULED deployments take a schedule"
    return schedule, _rotation(form, strategy, timeout, errors)


def _rotation(
    form: Mapping[str, str], strategy: str, timeout: int | None, errors: dict[str, str]
) -> int | None:
    if not text(form, "rotation_time"):
        return None
    if strategy != "INFINITE":
        errors["rotation_time"] = "only INFINITE deployments take a rotation time"
        return None
    rotation, problem = whole(text(form, "rotation_time"), 1, MAX_TIMEOUT, "rotation")
    if problem:
        errors["rotation_time"] = problem
    elif timeout is not None and rotation is not None and rotation >= timeout - 10:
        errors["rotation_time"] = f"must be less than the timeout − 10 ({timeout - 10})"
    return rotation


def _definition(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any] | None:
    """The job definition: the pasted JSON, or one built from the image, command, port, env."""
    pasted = text(form, "job_definition")
    if pasted:
        return _pasted(pasted, errors)
    image = text(form, "image")
    if not image:
        errors["image"] = "give an image (or paste a job definition)"
        return None
    if not IMAGE.match(image):
        errors["image"] = f"“{image[:40]}” is not an image reference like ollama/ollama:0.5"
    op_id = re.sub(r"[^a-z0-9-]+", "-", (text(form, "name") or "app").lower()).strip("-")
    return {
        "version": "0.1",
        "type": "container",
        "meta": {"trigger": "api"},
        "ops": [
            {"type": "container/run", "id": op_id[:40] or "app", "args": _run_args(form, errors)}
        ],
    }


def _pasted(pasted: str, errors: dict[str, str]) -> dict[str, Any] | None:
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


def _run_args(form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The ``container/run`` op's arguments from the quick fields."""
    args: dict[str, Any] = {"image": text(form, "image"), "gpu": yes(form.get("gpu", "yes"))}
    command, problem = parse_command(text(form, "command"))
    if problem:
        errors["command"] = problem
    elif command:
        args["cmd"] = command
    if text(form, "port"):
        port, problem = whole(text(form, "port"), 1, 65535, "the port")
        if problem:
            errors["port"] = problem
        else:
            args["expose"] = port
    env, problem = parse_env(form.get("env", ""))
    if problem:
        errors["env"] = problem
    elif env:
        args["env"] = env
    return args
