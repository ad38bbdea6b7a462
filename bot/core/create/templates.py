"""Templates of the create form: ``key=value`` overrides and what an existing deployment keeps."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.core.create.fields import DEFAULTS, FIELDS, known_fields
from bot.providers.models import Deployment


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
    elif provider == "akash" and any(
        k in overrides for k in FIELDS["akash"] if k != "deposit" and not k.startswith("auto_")
    ):
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
