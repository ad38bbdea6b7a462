"""Parsers of ``create`` (a provider, a template, ``field=value`` overrides) and ``template``."""

from __future__ import annotations

import re
from datetime import datetime

from bot.core.arguments import args_for
from bot.core.operations import Operation, OpKind
from bot.core.parsing import values
from bot.core.parsing.problem import Problem, needs, too_many
from bot.core.parsing.words import is_provider
from bot.core.parsing.words import provider as provider_of
from bot.providers.models import ProviderName

_TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_FIELD = re.compile(r"^[a-z_]{1,32}$")
CREATE_SHAPE = "[provider] [--template <name>] [field=value …]"
TEMPLATE_SHAPE = "save <name> <deployment> | list | delete <name>"


def template_name(value: str, topic: str) -> str:
    value = value.strip()
    if not _TEMPLATE_NAME.match(value):
        raise Problem(
            f"“{value[:40]}” is not a template name (lowercase letters, digits, . _ -).",
            topic=topic,
        )
    return value


def _template_option(args: list[str], i: int, sep: str, inline: str) -> tuple[str, int]:
    """The name after ``--template`` / ``-t`` (``=name`` or the next word), and the next index."""
    if sep:
        return template_name(inline, "create"), i + 1
    if i + 1 < len(args):
        return template_name(args[i + 1], "create"), i + 2
    raise Problem(f"--template needs a name. Usage: /deploy create {CREATE_SHAPE}")


def p_create(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    template: str | None = None
    overrides: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        key, sep, inline = arg.partition("=")
        if key in ("--template", "-t"):
            template, i = _template_option(args, i, sep, inline)
            continue
        if sep and not arg.startswith("-"):
            field = key.strip().lower().replace("-", "_")
            if not _FIELD.match(field):
                raise Problem(f"“{key[:30]}” is not a form field.", topic="create")
            overrides[field] = inline
        elif is_provider(arg) and provider is None and not overrides:
            provider = provider_of(arg)
        else:
            raise Problem(
                f"Unexpected “{arg[:40]}”. Usage: /deploy create {CREATE_SHAPE}", topic="create"
            )
        i += 1
    return Operation(args=args_for(verb, template=template, overrides=overrides), provider=provider)


def p_template(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    sub = args[0].lower() if args else "list"
    if sub in ("list", "ls"):
        too_many(verb, args, 1, TEMPLATE_SHAPE)
        return Operation(args=args_for(verb, sub="list"))
    if sub in ("delete", "rm", "remove"):
        needs(verb, args, 2, TEMPLATE_SHAPE)
        too_many(verb, args, 2, TEMPLATE_SHAPE)
        return Operation(
            args=args_for(verb, sub="delete", template=template_name(args[1], "template"))
        )
    if sub == "save":
        if len(args) < 3:
            raise Problem(
                "Usage: /deploy template save <name> <deployment>. To save a form you are "
                "filling, use the “Also save as template” field of `/deploy create`.",
                topic="template",
            )
        too_many(verb, args, 3, TEMPLATE_SHAPE)
        return Operation(
            args=args_for(verb, sub="save", template=template_name(args[1], "template")),
            provider=provider,
            target=values.target(args[2]),
        )
    raise Problem(f"Usage: /deploy template {TEMPLATE_SHAPE}", topic="template")
