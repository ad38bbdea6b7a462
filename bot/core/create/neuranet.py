"""NeuraNET create form → the spec ``NeuranetProvider.create`` takes (or field errors)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.core.create.built import Built
from bot.core.create.catalog import find_place, gpu_label
from bot.core.create.values import IMAGE, parse_env, text
from bot.providers.models import Market

_TEMPLATE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def build(form: dict[str, str], catalog: Sequence[Market] | None, built: Built) -> None:
    errors = built.errors
    node_ref = text(form, "node")
    node = _node(node_ref, catalog, errors)
    built.place = node
    template = text(form, "template_id")
    image = text(form, "custom_image")
    _check_runs(template, image, errors)
    env, problem = parse_env(form.get("env", ""))
    if problem:
        errors["env"] = problem
    name = text(form, "name")
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
        built.summary.insert(2, ("GPU", gpu_label(node)))


def _node(node_ref: str, catalog: Sequence[Market] | None, errors: dict[str, str]) -> Market | None:
    node = find_place(catalog, node_ref)
    if not node_ref:
        errors["node"] = "choose a node"
    elif node is None and catalog is not None:
        errors["node"] = f"no node “{node_ref[:40]}” (`/deploy nodes` lists them)"
    elif node is not None and node.status not in (None, "online"):
        errors["node"] = f"{node.name} is {node.status}: choose an online node"
    return node


def _check_runs(template: str, image: str, errors: dict[str, str]) -> None:
    """Exactly one of a template id and a custom image, each well-formed."""
    if template and image:
        errors["custom_image"] = "give a template or a custom image, not both"
    elif not template and not image:
        errors["template_id"] = "give a template id (e.g. ollama) or a custom image"
    if image and not IMAGE.match(image):
        errors["custom_image"] = f"“{image[:40]}” is not an image reference"
    if template and not _TEMPLATE_ID.match(template):
        errors["template_id"] = "a template id is letters, digits, . _ -"
