"""The create flow's quick form and the complete SDL v2.0 it becomes."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from typing import Any

import yaml

from bot.providers.akash_sdl.parse import check_sdl
from bot.providers.akash_sdl.problems import Problem, SdlError
from bot.providers.akash_sdl.schema import ENDPOINT_NAME_RE as _ENDPOINT_NAME_RE
from bot.providers.akash_sdl.units import amount_per_block, parse_size

_IMAGE_RE = re.compile(r"^[a-z0-9][a-z0-9._/:@-]*$", re.IGNORECASE)
_GPU_MODEL_RE = re.compile(r"^[a-z0-9][a-z0-9._-]*$", re.IGNORECASE)


@dataclass(frozen=True)
class QuickForm:
    """The create flow's short form, turned into a full SDL by :func:`build_sdl`.

    ``port`` is the container port; it is exposed globally ``as: 80`` (so it gets an HTTP
    ingress URI) when ``http`` is true, else as itself (a forwarded random port).
    ``gpu_model`` ``None`` or ``"any"`` asks for any NVIDIA model; ``gpu_units`` 0 means no GPU.
    """

    image: str
    gpu_model: str | None = None
    gpu_units: int = 1
    cpu: Decimal | float | str = Decimal(1)
    memory: str = "4Gi"
    storage: str = "10Gi"
    port: int | None = 8080
    http: bool = True
    max_price_usd_per_hour: Decimal | float | str = Decimal(1)
    service_name: str = "app"
    placement_name: str = "dcloud"
    env: tuple[str, ...] = field(default_factory=tuple)
    command: tuple[str, ...] = field(default_factory=tuple)
    args: tuple[str, ...] = field(default_factory=tuple)

    def problems(self) -> list[Problem]:
        """Problems keyed by form field name; ``[]`` when the form is usable."""
        return [
            *self._image_problems(),
            *self._gpu_problems(),
            *self._size_problems(),
            *self._port_and_price_problems(),
            *(
                (name, "Use lowercase letters, digits, - or _")
                for name, value in (
                    ("service_name", self.service_name),
                    ("placement_name", self.placement_name),
                )
                if not _ENDPOINT_NAME_RE.match(value or "")
            ),
        ]

    def _image_problems(self) -> list[Problem]:
        image = (self.image or "").strip()
        if not image:
            return [("image", "Enter a container image, e.g. nginx:1.27")]
        if not _IMAGE_RE.match(image):
            return [("image", f"{image!r} is not a valid image reference")]
        return []

    def _gpu_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if isinstance(self.gpu_units, bool) or not isinstance(self.gpu_units, int):
            problems.append(("gpu_units", "GPU count must be a whole number"))
        elif not 0 <= self.gpu_units <= 8:
            problems.append(("gpu_units", "GPU count must be between 0 and 8"))
        if (
            self.gpu_model
            and self.gpu_model.lower() != "any"
            and not _GPU_MODEL_RE.match(self.gpu_model)
        ):
            problems.append(("gpu_model", f"{self.gpu_model!r} is not a GPU model like rtx4090"))
        return problems

    def _size_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if not _decimal_in(self.cpu, low=Decimal(0), high=Decimal(256)):
            problems.append(("cpu", "CPU must be a number of cores between 0.1 and 256"))
        for name, value in (("memory", self.memory), ("storage", self.storage)):
            try:
                if parse_size(value) <= 0:
                    raise ValueError
            except ValueError:
                problems.append((name, f"{value!r} is not a size like 16Gi"))
        return problems

    def _port_and_price_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.port is not None and (
            isinstance(self.port, bool)
            or not isinstance(self.port, int)
            or not 1 <= self.port <= 65535
        ):
            problems.append(("port", "Port must be between 1 and 65535"))
        if not _decimal_in(self.max_price_usd_per_hour, low=Decimal(0), high=None):
            problems.append(("max_price_usd_per_hour", "Max price must be a positive USD amount"))
        return problems


def _decimal_in(value: object, *, low: Decimal, high: Decimal | None) -> bool:
    """True if ``value`` is a finite number with ``low < value <= high``."""
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return False
    if not number.is_finite() or number <= low:
        return False
    return high is None or number <= high


def build_sdl(form: QuickForm) -> str:
    """A complete SDL v2.0 for a quick form; raises :class:`SdlError` (form field paths)."""
    problems = form.problems()
    if problems:
        raise SdlError(problems)
    svc = form.service_name
    service: dict[str, Any] = {"image": form.image.strip()}
    if form.command:
        service["command"] = list(form.command)
    if form.args:
        service["args"] = list(form.args)
    if form.env:
        service["env"] = list(form.env)
    if form.port is not None:
        expose: dict[str, Any] = {"port": form.port}
        if form.http:
            expose["as"] = 80
        expose["to"] = [{"global": True}]
        service["expose"] = [expose]
    cpu = Decimal(str(form.cpu)).normalize()
    resources: dict[str, Any] = {
        "cpu": {"units": int(cpu) if cpu == cpu.to_integral_value() else float(cpu)},
        "memory": {"size": form.memory},
        "storage": [{"size": form.storage}],
    }
    if form.gpu_units > 0:
        model = form.gpu_model
        nvidia = None if not model or model.lower() == "any" else [{"model": model.lower()}]
        resources["gpu"] = {"units": form.gpu_units, "attributes": {"vendor": {"nvidia": nvidia}}}
    per_block = amount_per_block(Decimal(str(form.max_price_usd_per_hour))).to_integral_value(
        rounding=ROUND_CEILING
    )
    doc = {
        "version": "2.0",
        "services": {svc: service},
        "profiles": {
            "compute": {svc: {"resources": resources}},
            "placement": {
                form.placement_name: {"pricing": {svc: {"denom": "uact", "amount": int(per_block)}}}
            },
        },
        "deployment": {svc: {form.placement_name: {"profile": svc, "count": 1}}},
    }
    text = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)
    problems = check_sdl(text)
    if problems:  # pragma: no cover - a bug in this builder, not in the form
        raise SdlError(problems)
    return text
