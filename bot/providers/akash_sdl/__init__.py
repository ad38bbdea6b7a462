"""Akash SDL (Stack Definition Language): parse, validate, build manifests and groups, price.

Pure functions only (no I/O), shared by the Akash client (validate before sending, so a bad
SDL becomes a :class:`~bot.providers.errors.ValidationError` with field errors) and by the
emulator. SDL 2.0 and 2.1 are judged as Akash judges them (spec ``akash.md`` §6.2, chain-sdk
``go/sdl``): the JSON-schema pass (:mod:`.schema`), then the semantic pass (:mod:`.semantics`).
Problems are ``(path, message)`` pairs; ``path`` is a JSON pointer into the SDL document
(``/services/web/image``), ``""`` for the document itself.

Modules: :mod:`.problems` (problem type, pointers), :mod:`.units` (sizes, CPU, prices),
:mod:`.parse` (text → validated document), :mod:`.schema` / :mod:`.schema_services` /
:mod:`.schema_profiles` (shape), :mod:`.semantics` (cross-references), :mod:`.manifest`
(provider manifest), :mod:`.groups` (deployment groups, max price), :mod:`.quick` (quick form).
"""

from __future__ import annotations

from bot.providers.akash_sdl.groups import (
    GpuRequest,
    GroupSpec,
    ResourceUnit,
    group_specs,
    group_specs_json,
    max_price_per_block,
    max_price_per_hour_usd,
    requested_gpu_models,
)
from bot.providers.akash_sdl.manifest import (
    ENDPOINT_LEASED_IP,
    ENDPOINT_RANDOM_PORT,
    ENDPOINT_SHARED_HTTP,
    build_manifest,
    gpu_attribute_keys,
    manifest_hash,
    manifest_json,
)
from bot.providers.akash_sdl.parse import check_sdl, load_sdl, parse_sdl, validate_sdl
from bot.providers.akash_sdl.problems import (
    Problem,
    SdlError,
    format_problems,
    json_type_name,
    pointer,
    pointer_to_dotted,
)
from bot.providers.akash_sdl.quick import QuickForm, build_sdl
from bot.providers.akash_sdl.schema import SDL_VERSIONS
from bot.providers.akash_sdl.schema_profiles import GPU_INTERFACES
from bot.providers.akash_sdl.schema_services import HTTP_ERROR_CODES, PROTOCOLS
from bot.providers.akash_sdl.units import (
    BLOCK_SECONDS,
    BLOCKS_PER_HOUR,
    MICRO,
    amount_per_block,
    parse_amount,
    parse_cpu_millis,
    parse_gpu_units,
    parse_size,
    usd_per_hour,
)

__all__ = [
    "BLOCKS_PER_HOUR",
    "BLOCK_SECONDS",
    "ENDPOINT_LEASED_IP",
    "ENDPOINT_RANDOM_PORT",
    "ENDPOINT_SHARED_HTTP",
    "GPU_INTERFACES",
    "HTTP_ERROR_CODES",
    "MICRO",
    "PROTOCOLS",
    "SDL_VERSIONS",
    "GpuRequest",
    "GroupSpec",
    "Problem",
    "QuickForm",
    "ResourceUnit",
    "SdlError",
    "amount_per_block",
    "build_manifest",
    "build_sdl",
    "check_sdl",
    "format_problems",
    "gpu_attribute_keys",
    "group_specs",
    "group_specs_json",
    "json_type_name",
    "load_sdl",
    "manifest_hash",
    "manifest_json",
    "max_price_per_block",
    "max_price_per_hour_usd",
    "parse_amount",
    "parse_cpu_millis",
    "parse_gpu_units",
    "parse_sdl",
    "parse_size",
    "pointer",
    "pointer_to_dotted",
    "requested_gpu_models",
    "usd_per_hour",
    "validate_sdl",
]
