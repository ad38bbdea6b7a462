"""Akash create form → an SDL and a deposit (or field errors).

The SDL is pasted, or built from the quick fields (image, GPU, CPU, memory …).
"""

from __future__ import annotations

from decimal import Decimal

from bot.core.create.built import Built
from bot.core.create.fields import FIELDS, MAX_DEPOSIT
from bot.core.create.values import money, parse_env, per_hour, text, usd, whole
from bot.providers import akash_sdl

_RENAME = {"max_price_usd_per_hour": "max_price"}


def build(form: dict[str, str], built: Built) -> None:
    errors = built.errors
    sdl = form.get("sdl", "").strip()
    if sdl:
        problems = akash_sdl.check_sdl(sdl)
        if problems:
            errors["sdl"] = akash_sdl.format_problems(problems[:4])[:1900]
    else:
        sdl = _quick_sdl(form, errors)
    deposit = _deposit(form, errors)
    if errors or deposit is None:
        return
    doc = akash_sdl.load_sdl(sdl)
    max_hour = akash_sdl.max_price_per_hour_usd(doc)
    built.spec = {"sdl": sdl, "deposit_usd": str(deposit)}
    gpus = akash_sdl.requested_gpu_models(doc)
    services = ", ".join(str(s) for s in (doc.get("services") or {}))
    built.summary = [
        ("Services", services or "?"),
        ("GPU", ", ".join(gpus) if gpus else "none"),
        ("Max price", per_hour(max_hour)),
        ("Deposit", usd(deposit)),
    ]


def _quick_sdl(form: dict[str, str], errors: dict[str, str]) -> str:
    """The SDL built from the quick fields; empty when the form (so far) has errors."""
    env, problem = parse_env(form.get("env", ""))
    if problem:
        errors["env"] = problem
    gpu_units, problem = whole(text(form, "gpu_units") or "0", 0, 8, "GPU count")
    if problem:
        errors["gpu_units"] = problem
    port: int | None = None
    if text(form, "port"):
        port, problem = whole(text(form, "port"), 1, 65535, "the port")
        if problem:
            errors["port"] = problem
    quick = akash_sdl.QuickForm(
        image=text(form, "image"),
        gpu_model=text(form, "gpu_model") or None,
        gpu_units=gpu_units if gpu_units is not None else 0,
        cpu=text(form, "cpu") or "1",
        memory=text(form, "memory") or "4Gi",
        storage=text(form, "storage") or "10Gi",
        port=port,
        max_price_usd_per_hour=(text(form, "max_price").lstrip("$") or "1"),
        env=tuple(f"{k}={v}" for k, v in env.items()),
    )
    for problem_key, message in quick.problems():
        key = _RENAME.get(problem_key, problem_key)
        if key not in errors:
            errors[key if key in FIELDS["akash"] else "image"] = message
    return "" if errors else akash_sdl.build_sdl(quick)


def _deposit(form: dict[str, str], errors: dict[str, str]) -> Decimal | None:
    deposit = money(text(form, "deposit") or "5")
    if deposit is None or deposit <= 0 or deposit > MAX_DEPOSIT:
        errors["deposit"] = "a deposit in US dollars, more than 0 (e.g. 5)"
        return None
    if deposit.as_tuple().exponent < -6:  # type: ignore[operator]
        errors["deposit"] = "at most 6 decimal places"
        return None
    return deposit
