"""``/deploy …`` text → Operation, Chain or Usage. Pure: no I/O, never raises on any input."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from croniter import croniter

from bot.core.arguments import args_for
from bot.core.governance import GovernanceError, parse_audit, parse_policy, parse_role
from bot.core.operations import Chain, Operation, OpKind, Usage
from bot.core.registry import ALIASES, CHAINABLE, MUTATIONS, Area, in_area
from bot.providers.models import PROVIDER_NAMES, DeploymentStatus, ProviderName

MAX_TEXT = 2000
MAX_TARGET = 200
MAX_NAME = 100
MAX_REPLICAS = 1000
MAX_TAIL = 5000
MAX_MINUTES = 60 * 24 * 30

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})
_DURATION = re.compile(r"^(\d{1,7})\s*(s|sec|secs|m|min|mins|h|hr|hrs|d|day|days)?$", re.I)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

#: Verbs that take a deployment first; only these can be steps of a chain.
STEP_VERBS = CHAINABLE
_ALIASES = ALIASES
MARKET_FILTERS = {"type": str, "gpu": str}
NODE_FILTERS = {
    "gpu": str,
    "region": str,
    "status": str,
    "min-vram": int,
    "min-cpu": int,
    "min-ram": int,
    "max-price": float,
}

Result = Operation | Chain | Usage


class _Problem(Exception):
    def __init__(self, problem: str, topic: str | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.topic = topic


def verb_of(token: str) -> OpKind | None:
    token = token.lower()
    if token in _ALIASES:
        return _ALIASES[token]
    try:
        return OpKind(token)
    except ValueError:
        return None


def parse(text: str, *, now: datetime | None = None) -> Result:
    """Parse the text after ``/deploy``. Anything unparseable becomes a :class:`Usage`.

    Results are immutable; those that don't depend on the time (no ``--since``) are cached,
    since the same few commands arrive over and over and this runs before Slack's ack.
    """
    if now is None and len(text) <= 200 and "since" not in text:
        return _parse_cached(text)
    return _parse_now(text, now)


@lru_cache(maxsize=4096)
def _parse_cached(text: str) -> Result:
    return _parse_now(text, None)


def _parse_now(text: str, now: datetime | None) -> Result:
    now = now or datetime.now(UTC)
    try:
        return _parse(text, now)
    except _Problem as problem:
        return Usage(problem=problem.problem, topic=problem.topic)


def _tokens(text: str) -> list[str]:
    """Shell-like words; a comma outside quotes is a token of its own (it separates steps)."""
    text = text.translate(_QUOTES).strip()
    if len(text) > MAX_TEXT:
        raise _Problem(f"That command is too long ({len(text)} characters; {MAX_TEXT} at most).")
    lexer = shlex.shlex(text, posix=True, punctuation_chars=",")
    lexer.whitespace_split = True
    lexer.commenters = ""  # "#" is part of names (llama#2), not a comment
    try:
        words = list(lexer)
    except ValueError:
        raise _Problem('A quote is not closed: put the cron schedule in "double quotes".') from None
    # shlex groups adjacent punctuation (",,"): one comma, one token.
    return [part for word in words for part in (list(word) if set(word) == {","} else [word])]


def _pop_provider(tokens: list[str]) -> ProviderName | None:
    """Take ``--provider X`` / ``-p X`` / ``--provider=X`` out of the tokens."""
    provider: ProviderName | None = None
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value: str | None = None
        if token in ("--provider", "-p"):
            if i + 1 >= len(tokens):
                raise _Problem("`--provider` needs a value: nosana, akash or neuranet.")
            value = tokens[i + 1]
            i += 2
        elif token.startswith("--provider="):
            value = token.split("=", 1)[1]
            i += 1
        else:
            out.append(token)
            i += 1
            continue
        provider = _provider(value)
    tokens[:] = out
    return provider


def _provider(value: str) -> ProviderName:
    value = value.lower()
    for name in PROVIDER_NAMES:
        if value == name:
            return name
    raise _Problem(f"Unknown provider “{value}”: use nosana, akash or neuranet.")


def _is_provider(value: str) -> bool:
    return value.lower() in PROVIDER_NAMES


MAX_REASON = 500
_GOVERNANCE = in_area(Area.GOVERNANCE)


def _pop_reason(tokens: list[str]) -> str | None:
    """Take ``--reason TEXT`` / ``--reason=TEXT`` out (the rest of the words up to a comma)."""
    for i, token in enumerate(tokens):
        key, sep, inline = token.partition("=")
        if key not in ("--reason", "-r"):
            continue
        end = i + 1
        words = [inline] if sep else []
        while (
            not sep
            and end < len(tokens)
            and tokens[end] != ","
            and not (tokens[end].startswith("--") and len(tokens[end]) > 2)
        ):
            words.append(tokens[end])
            end += 1
        reason = " ".join(words).strip()
        if not reason:
            raise _Problem('`--reason` needs some words: --reason "rolling out v2".')
        if len(reason) > MAX_REASON:
            raise _Problem(f"Keep the reason under {MAX_REASON} characters.")
        del tokens[i:end]
        return reason
    return None


def _parse(text: str, now: datetime) -> Result:
    tokens = _tokens(text)
    provider = _pop_provider(tokens)
    reason = _pop_reason(tokens)
    if not tokens:
        return Operation(args=args_for(OpKind.HELP))
    verb = verb_of(tokens[0])
    result: Operation | Chain
    if verb is None:
        result = _chain(tokens, provider, now)  # type: ignore[assignment]
    else:
        if "," in tokens and verb not in _GOVERNANCE:
            raise _Problem(
                "To run several steps, name the deployment first: "
                "/deploy <deployment> start, scale 3, timeout 120"
            )
        result = _operation(verb, tokens[1:], provider, now)
    if reason is not None:
        if isinstance(result, Operation) and result.kind not in MUTATIONS:
            raise _Problem("`--reason` goes with changes (start, stop, scale …), for approvers.")
        result = result.model_copy(update={"reason": reason})
    return result


def _chain(tokens: list[str], provider: ProviderName | None, now: datetime) -> Result:
    """``<target> step, step, …`` (the target comes first, then comma-separated steps)."""
    if len(tokens) < 2 or verb_of(tokens[1]) is None:
        raise _Problem(f"I don't know the command “{tokens[0][:40]}”.")
    target = _target(tokens[0])
    groups: list[list[str]] = [[]]
    for token in tokens[1:]:
        if token == ",":
            groups.append([])
        else:
            groups[-1].append(token)
    steps: list[Operation] = []
    for group in groups:
        if not group:
            raise _Problem("A step of the chain is empty: separate steps with single commas.")
        verb = verb_of(group[0])
        if verb is None or verb not in STEP_VERBS:
            allowed = ", ".join(sorted(v.value for v in STEP_VERBS))
            raise _Problem(
                f"“{group[0][:40]}” can't be a step of a chain; steps can be: {allowed}."
            )
        steps.append(_operation(verb, [target, *group[1:]], provider, now))
    if len(steps) == 1:
        return steps[0]
    return Chain(target=target, provider=provider, steps=tuple(steps))


def _target(token: str) -> str:
    token = token.strip()
    if not token:
        raise _Problem("Name a deployment (its id, the start of its id, or its exact name).")
    if len(token) > MAX_TARGET:
        raise _Problem(f"That deployment reference is too long ({MAX_TARGET} characters at most).")
    if any(ch in token for ch in "<>\n\r\t"):
        raise _Problem("A deployment reference can't contain <, > or line breaks.")
    return token


def _int(value: str, what: str, low: int, high: int) -> int:
    try:
        number = int(value)
    except ValueError:
        raise _Problem(f"{what} must be a whole number, not “{value[:40]}”.") from None
    if not low <= number <= high:
        raise _Problem(f"{what} must be between {low} and {high}, not {number}.")
    return number


def _duration_seconds(value: str, what: str) -> int:
    match = _DURATION.match(value.strip())
    if not match:
        raise _Problem(f"{what} must look like 90, 90m, 2h or 1d, not “{value[:40]}”.")
    amount, unit = int(match.group(1)), (match.group(2) or "").lower()
    return amount * _UNIT_SECONDS.get(unit[:1], 60)


def _minutes(value: str) -> int:
    seconds = _duration_seconds(value, "The timeout")
    if seconds % 60:
        raise _Problem("The timeout is counted in whole minutes.")
    minutes = seconds // 60
    if not 1 <= minutes <= MAX_MINUTES:
        raise _Problem(f"The timeout must be between 1 minute and {MAX_MINUTES // 1440} days.")
    return minutes


def _since(value: str, now: datetime) -> datetime:
    if _DURATION.match(value.strip()):
        seconds = _duration_seconds(value, "--since")
        if value.strip().isdigit():
            raise _Problem("--since needs a unit (10m, 2h, 1d) or a time (2026-11-23T10:00Z).")
        return now - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise _Problem(
            f"--since must be a duration (10m, 2h, 1d) or an ISO time, not “{value[:40]}”."
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when > now:
        raise _Problem("--since is in the future.")
    return when


def _cron(value: str) -> str:
    value = " ".join(value.split())
    fields = value.split(" ")
    if len(fields) != 5:
        raise _Problem(
            f"A schedule is 5 cron fields (minute hour day month weekday), e.g. "
            f'"0 */6 * * *"; “{value[:60]}” has {len(fields)}.',
            topic="schedule",
        )
    if not croniter.is_valid(value):
        raise _Problem(f"“{value[:60]}” is not a valid cron schedule.", topic="schedule")
    return value


def _status(value: str) -> str:
    value = value.lower()
    if value == "all":
        return value
    try:
        return DeploymentStatus(value).value
    except ValueError:
        names = ", ".join(s.value for s in DeploymentStatus if s is not DeploymentStatus.UNKNOWN)
        raise _Problem(f"Unknown status “{value[:30]}”: use one of {names}, or all.") from None


def _filters(args: list[str], allowed: dict[str, type], topic: str) -> dict[str, str]:
    filters: dict[str, str] = {}
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.lower().lstrip("-")
        if not sep or key not in allowed or not value:
            keys = ", ".join(f"{k}=…" for k in allowed)
            raise _Problem(f"“{arg[:40]}” is not a filter here; use {keys}.", topic=topic)
        kind = allowed[key]
        if kind is not str:
            try:
                number = kind(value)
            except ValueError:
                raise _Problem(
                    f"{key} must be a number, not “{value[:20]}”.", topic=topic
                ) from None
            if number < 0:
                raise _Problem(f"{key} can't be negative.", topic=topic)
        filters[key] = value
    return filters


def _operation(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    parser = _PARSERS[verb]
    return parser(verb, args, provider, now)


Parser = Callable[[OpKind, list[str], ProviderName | None, datetime], Operation]


def _needs(verb: OpKind, args: list[str], count: int, shape: str) -> None:
    if len(args) < count:
        raise _Problem(f"Usage: /deploy {verb.value} {shape}", topic=verb.value)


def _too_many(verb: OpKind, args: list[str], count: int, shape: str) -> None:
    if len(args) > count:
        extra = " ".join(args[count:])[:40]
        raise _Problem(
            f"Unexpected “{extra}”. Usage: /deploy {verb.value} {shape}", topic=verb.value
        )


def _p_help(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    topic = args[0].lower() if args else None
    if topic in ("chain", "chains"):
        return Operation(args=args_for(OpKind.HELP, topic="chain"))
    known = topic is None or verb_of(topic) is not None
    return Operation(
        args=args_for(OpKind.HELP, topic=verb_of(topic).value if topic and known else None)
    )  # type: ignore[union-attr]


def _p_plain(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _too_many(verb, args, 0, "")
    return Operation(args=args_for(verb), provider=provider)


def _p_provider_required(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    if provider is None:
        _needs(verb, args, 1, "<nosana|akash|neuranet>")
        provider = _provider(args[0])
        args = args[1:]
    _too_many(verb, args, 0, "<nosana|akash|neuranet>")
    return Operation(args=args_for(verb), provider=provider)


def _p_list(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    status: str | None = None
    for arg in args:
        if _is_provider(arg) and provider is None:
            provider = _provider(arg)
        elif status is None:
            status = _status(arg)
        else:
            _too_many(verb, args, len(args) - 1, "[provider] [status]")
    return Operation(args=args_for(verb, status=status), provider=provider)


def _p_balance(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    if args and provider is None:
        provider = _provider(args[0])
        args = args[1:]
    _too_many(verb, args, 0, "[provider]")
    return Operation(args=args_for(verb), provider=provider)


def _p_target(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _needs(verb, args, 1, "<deployment>")
    _too_many(verb, args, 1, "<deployment>")
    return Operation(args=args_for(verb), provider=provider, target=_target(args[0]))


def _p_scale(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _needs(verb, args, 2, "<deployment> <replicas>")
    _too_many(verb, args, 2, "<deployment> <replicas>")
    replicas = _int(args[1], "The number of replicas", 0, MAX_REPLICAS)
    return Operation(
        args=args_for(verb, replicas=replicas), provider=provider, target=_target(args[0])
    )


def _p_timeout(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _needs(verb, args, 2, "<deployment> <minutes>")
    _too_many(verb, args, 2, "<deployment> <minutes>")
    return Operation(
        args=args_for(verb, minutes=_minutes(args[1])), provider=provider, target=_target(args[0])
    )


def _p_schedule(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _needs(verb, args, 2, '<deployment> "<cron>"')
    return Operation(
        args=args_for(verb, cron=_cron(" ".join(args[1:]))),
        provider=provider,
        target=_target(args[0]),
    )


def _p_rollback(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _needs(verb, args, 2, "<deployment> <revision>")
    _too_many(verb, args, 2, "<deployment> <revision>")
    revision = _int(args[1].lstrip("rv#"), "The revision", 1, 1_000_000)
    return Operation(
        args=args_for(verb, revision=revision), provider=provider, target=_target(args[0])
    )


def _p_rename(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _needs(verb, args, 2, "<deployment> <new name>")
    name = " ".join(args[1:]).strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise _Problem(f"The new name must be 1 to {MAX_NAME} characters.", topic="rename")
    return Operation(args=args_for(verb, name=name), provider=provider, target=_target(args[0]))


def _p_logs(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    shape = "<deployment> [--tail N] [--since 10m|ISO time]"
    _needs(verb, args, 1, shape)
    target: str | None = None
    tail: int | None = None
    since: datetime | None = None
    i = 0
    while i < len(args):
        arg = args[i]
        key, sep, inline = arg.partition("=")
        if key in ("--tail", "-n", "--since"):
            if sep:
                value = inline
                i += 1
            elif i + 1 < len(args):
                value = args[i + 1]
                i += 2
            else:
                raise _Problem(f"{key} needs a value. Usage: /deploy logs {shape}", topic="logs")
            if key == "--since":
                since = _since(value, now)
            else:
                tail = _int(value, "--tail", 1, MAX_TAIL)
            continue
        if arg.startswith("--"):
            raise _Problem(f"Unknown option {arg[:30]}. Usage: /deploy logs {shape}", topic="logs")
        if target is not None:
            _too_many(verb, args, i, shape)
        target = _target(arg)
        i += 1
    if target is None:
        raise _Problem(f"Usage: /deploy logs {shape}", topic="logs")
    return Operation(args=args_for(verb, tail=tail, since=since), provider=provider, target=target)


def _p_deposit(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _needs(verb, args, 2, "<deployment> <usd>")
    _too_many(verb, args, 2, "<deployment> <usd>")
    raw = args[1].lstrip("$").replace(",", "")
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise _Problem(
            f"The amount must be US dollars like 5 or 12.50, not “{args[1][:20]}”."
        ) from None
    if not amount.is_finite() or amount <= 0 or amount > 100_000:
        raise _Problem("The amount must be more than $0 and at most $100,000.", topic="deposit")
    if amount.as_tuple().exponent < -6:  # type: ignore[operator]
        raise _Problem("The amount can have at most 6 decimal places.", topic="deposit")
    return Operation(
        args=args_for(verb, amount_usd=amount), provider=provider, target=_target(args[0])
    )


def _p_markets(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    allowed = MARKET_FILTERS if verb is OpKind.MARKETS else NODE_FILTERS
    return Operation(
        args=args_for(verb, filters=_filters(args, allowed, verb.value)),
        provider=provider or ("nosana" if verb is OpKind.MARKETS else "neuranet"),
    )


def _p_governance(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    try:
        match verb:
            case OpKind.ROLE | OpKind.ROLES:
                command = parse_role(args, listing=verb is OpKind.ROLES)
            case OpKind.POLICY:
                command = parse_policy(args)  # type: ignore[assignment]
            case _:
                command = parse_audit(args)  # type: ignore[assignment]
    except GovernanceError as exc:
        raise _Problem(exc.message, topic=exc.topic) from None
    if provider is not None:
        raise _Problem(f"`--provider` doesn't go with `{verb.value}`.", topic=verb.value)
    return Operation(args=args_for(verb, command=command))


def _p_approvals(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    _too_many(verb, args, 0, "")
    return Operation(args=args_for(verb))


# -- create and templates -------------------------------------------------------------------

_TEMPLATE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
CREATE_SHAPE = "[provider] [--template <name>] [field=value …]"


def _template_name(value: str, topic: str) -> str:
    value = value.strip()
    if not _TEMPLATE_NAME.match(value):
        raise _Problem(
            f"“{value[:40]}” is not a template name (lowercase letters, digits, . _ -).",
            topic=topic,
        )
    return value


def _p_create(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    template: str | None = None
    overrides: dict[str, str] = {}
    i = 0
    while i < len(args):
        arg = args[i]
        key, sep, inline = arg.partition("=")
        if key in ("--template", "-t"):
            if sep:
                template = _template_name(inline, "create")
                i += 1
            elif i + 1 < len(args):
                template = _template_name(args[i + 1], "create")
                i += 2
            else:
                raise _Problem(f"--template needs a name. Usage: /deploy create {CREATE_SHAPE}")
            continue
        if sep and not arg.startswith("-"):
            field = key.strip().lower().replace("-", "_")
            if not re.match(r"^[a-z_]{1,32}$", field):
                raise _Problem(f"“{key[:30]}” is not a form field.", topic="create")
            overrides[field] = inline
        elif _is_provider(arg) and provider is None and not overrides:
            provider = _provider(arg)
        else:
            raise _Problem(
                f"Unexpected “{arg[:40]}”. Usage: /deploy create {CREATE_SHAPE}", topic="create"
            )
        i += 1
    return Operation(args=args_for(verb, template=template, overrides=overrides), provider=provider)


def _p_template(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    shape = "save <name> <deployment> | list | delete <name>"
    sub = args[0].lower() if args else "list"
    if sub in ("list", "ls"):
        _too_many(verb, args, 1, shape)
        return Operation(args=args_for(verb, sub="list"))
    if sub in ("delete", "rm", "remove"):
        _needs(verb, args, 2, shape)
        _too_many(verb, args, 2, shape)
        return Operation(
            args=args_for(verb, sub="delete", template=_template_name(args[1], "template"))
        )
    if sub == "save":
        if len(args) < 3:
            raise _Problem(
                "Usage: /deploy template save <name> <deployment>. To save a form you are "
                "filling, use the “Also save as template” field of `/deploy create`.",
                topic="template",
            )
        _too_many(verb, args, 3, shape)
        return Operation(
            args=args_for(verb, sub="save", template=_template_name(args[1], "template")),
            provider=provider,
            target=_target(args[2]),
        )
    raise _Problem(f"Usage: /deploy template {shape}", topic="template")


# -- watch / unwatch / watching (channel notifications) --------------------------------------

_CHANNEL_LINK = re.compile(r"^<#([CG][A-Z0-9]{2,30})(?:\|[^>]*)?>$")
WATCH_SHAPE = "<deployment|provider|all> [#channel]"
SETTINGS_SHAPE = "settings [runway <hours, e.g. 12h or 2d>] [credits <usd>]"


def _channel_arg(args: list[str]) -> str | None:
    """Take a channel mention (``<#C123|name>``, as Slack escapes it) out of ``args``."""
    channel: str | None = None
    for arg in list(args):
        match = _CHANNEL_LINK.match(arg)
        if match:
            channel = match.group(1)
            args.remove(arg)
        elif arg.startswith("#") and len(arg) > 1:
            raise _Problem(
                f"I can't tell which channel “{arg[:40]}” is: pick it from Slack's # suggestions "
                "(so it becomes a link), or run the command in that channel."
            )
    return channel


def _hours(value: str) -> float:
    match = re.match(r"^(\d{1,5}(?:\.\d+)?)\s*(h|hr|hrs|hours?|d|days?|m|min|mins)?$", value, re.I)
    if not match:
        raise _Problem(f"The runway must look like 12, 12h or 2d, not “{value[:40]}”.")
    amount, unit = float(match.group(1)), (match.group(2) or "h").lower()
    hours = amount * {"h": 1.0, "d": 24.0, "m": 1 / 60}[unit[:1]]
    if hours > 24 * 365:
        raise _Problem("The runway threshold can be a year at most.")
    return hours


def _usd(value: str) -> float:
    try:
        amount = float(value.lstrip("$").replace(",", ""))
    except ValueError:
        problem = f"Credits must be US dollars (e.g. 5 or 12.50), not “{value[:40]}”."
        raise _Problem(problem) from None
    if not 0 <= amount <= 1_000_000:
        raise _Problem("Credits must be between 0 (off) and 1,000,000 dollars.")
    return amount


def _p_watch(
    verb: OpKind, args: list[str], provider: ProviderName | None, now: datetime
) -> Operation:
    args = list(args)
    filters: dict[str, str] = {}
    channel = _channel_arg(args)
    if channel:
        filters["channel"] = channel
    if verb is OpKind.WATCHING:
        _too_many(verb, args, 0, "[#channel]")
        return Operation(args=args_for(verb, filters=filters))
    if verb is OpKind.WATCH and args and args[0].lower() == "settings":
        rest = args[1:]
        if len(rest) % 2:
            raise _Problem(f"Usage: /deploy watch {SETTINGS_SHAPE}", topic="watch")
        for name, value in zip(rest[::2], rest[1::2], strict=True):
            match name.lower():
                case "runway":
                    filters["runway"] = f"{_hours(value):g}"
                case "credits":
                    filters["credits"] = f"{_usd(value):g}"
                case _:
                    raise _Problem(
                        f"Unknown setting “{name[:40]}”. Usage: /deploy watch {SETTINGS_SHAPE}",
                        topic="watch",
                    )
        return Operation(args=args_for(verb, topic="settings", filters=filters))
    if not args and provider is not None:
        return Operation(args=args_for(verb, filters=filters), provider=provider)
    _needs(verb, args, 1, WATCH_SHAPE)
    _too_many(verb, args, 1, WATCH_SHAPE)
    what = args[0]
    if what.lower() == "all":
        return Operation(args=args_for(verb, topic="all", filters=filters))
    if _is_provider(what):
        return Operation(args=args_for(verb, filters=filters), provider=_provider(what))
    return Operation(args=args_for(verb, filters=filters), provider=provider, target=_target(what))


_PARSERS: dict[OpKind, Parser] = {
    OpKind.CREATE: _p_create,
    OpKind.TEMPLATE: _p_template,
    OpKind.HELP: _p_help,
    OpKind.PROVIDERS: _p_plain,
    OpKind.CONNECT: _p_provider_required,
    OpKind.DISCONNECT: _p_provider_required,
    OpKind.LIST: _p_list,
    OpKind.BALANCE: _p_balance,
    OpKind.SHOW: _p_target,
    OpKind.START: _p_target,
    OpKind.STOP: _p_target,
    OpKind.ARCHIVE: _p_target,
    OpKind.DELETE: _p_target,
    OpKind.CLOSE: _p_target,
    OpKind.REVISE: _p_target,
    OpKind.EVENTS: _p_target,
    OpKind.JOBS: _p_target,
    OpKind.SCALE: _p_scale,
    OpKind.TIMEOUT: _p_timeout,
    OpKind.SCHEDULE: _p_schedule,
    OpKind.ROLLBACK: _p_rollback,
    OpKind.RENAME: _p_rename,
    OpKind.LOGS: _p_logs,
    OpKind.DEPOSIT: _p_deposit,
    OpKind.MARKETS: _p_markets,
    OpKind.NODES: _p_markets,
    OpKind.ROLE: _p_governance,
    OpKind.ROLES: _p_governance,
    OpKind.POLICY: _p_governance,
    OpKind.AUDIT: _p_governance,
    OpKind.APPROVALS: _p_approvals,
    OpKind.WATCH: _p_watch,
    OpKind.UNWATCH: _p_watch,
    OpKind.WATCHING: _p_watch,
}
