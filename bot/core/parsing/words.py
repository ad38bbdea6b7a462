"""Words of a command: shell-like tokens, the verb, and the options any verb can carry
(``--provider``, ``--reason``)."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable

from bot.core.operations import OpKind
from bot.core.parsing.problem import Problem
from bot.core.registry import ALIASES
from bot.providers.models import PROVIDER_NAMES, ProviderName

MAX_TEXT = 2000
MAX_REASON = 500

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": "'"})


def verb_of(token: str) -> OpKind | None:
    token = token.lower()
    if token in ALIASES:
        return ALIASES[token]
    try:
        return OpKind(token)
    except ValueError:
        return None


#: An apostrophe inside a word (Bob's, it's) is a letter, not a quote.
_APOSTROPHE = re.compile(r"(?<=\w)'(?=\w)")
_KEPT = "\x00"


def tokens(text: str) -> list[str]:
    """Shell-like words; a comma outside quotes is a token of its own (it separates steps)."""
    text = text.translate(_QUOTES).strip()
    if len(text) > MAX_TEXT:
        raise Problem(f"That command is too long ({len(text)} characters; {MAX_TEXT} at most).")
    lexer = shlex.shlex(_APOSTROPHE.sub(_KEPT, text), posix=True, punctuation_chars=",")
    lexer.whitespace_split = True
    lexer.commenters = ""  # "#" is part of names (llama#2), not a comment
    try:
        words = [word.replace(_KEPT, "'") for word in lexer]
    except ValueError:
        raise Problem(
            'A quote is not closed: close it, or put words with quotes in "double quotes".'
        ) from None
    # shlex groups adjacent punctuation (",,"): one comma, one token.
    return [part for word in words for part in (list(word) if set(word) == {","} else [word])]


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`` Did you mean `list`?`` for a word close to one of ``choices`` ('' when none is)."""
    close = difflib.get_close_matches(word.lower(), list(choices), n=1, cutoff=0.75)
    return f" Did you mean `{close[0]}`?" if close else ""


def known_verbs() -> list[str]:
    return [k.value for k in OpKind] + list(ALIASES)


def provider(value: str) -> ProviderName:
    value = value.lower()
    for name in PROVIDER_NAMES:
        if value == name:
            return name
    raise Problem(
        f"Unknown provider “{value}”: use nosana, akash or neuranet."
        + did_you_mean(value, PROVIDER_NAMES)
    )


def is_provider(value: str) -> bool:
    return value.lower() in PROVIDER_NAMES


def pop_provider(tokens: list[str]) -> ProviderName | None:
    """Take ``--provider X`` / ``-p X`` / ``--provider=X`` out of the tokens."""
    found: ProviderName | None = None
    out: list[str] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        value: str | None = None
        if token in ("--provider", "-p"):
            if i + 1 >= len(tokens):
                raise Problem("`--provider` needs a value: nosana, akash or neuranet.")
            value = tokens[i + 1]
            i += 2
        elif token.startswith("--provider="):
            value = token.split("=", 1)[1]
            i += 1
        else:
            out.append(token)
            i += 1
            continue
        found = provider(value)
    tokens[:] = out
    return found


def pop_flag(tokens: list[str], flag: str) -> bool:
    """Take a bare flag (``--over-budget``) out of the tokens; whether it was there."""
    found = False
    for token in list(tokens):
        if token.lower() == flag:
            tokens.remove(token)
            found = True
    return found


def pop_reason(tokens: list[str]) -> str | None:
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
            raise Problem('`--reason` needs some words: --reason "rolling out v2".')
        if len(reason) > MAX_REASON:
            raise Problem(f"Keep the reason under {MAX_REASON} characters.")
        del tokens[i:end]
        return reason
    return None
