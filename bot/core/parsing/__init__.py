"""``/deploy …`` text → Operation, Chain or Usage. Pure: no I/O, never raises on any input.

The package splits the job: :mod:`.words` (tokens, the verb, ``--provider`` / ``--reason``),
:mod:`.values` (argument values), :mod:`.problem` (usage errors), the per-verb parsers
(:mod:`.verbs`, :mod:`.create`, :mod:`.governance`, :mod:`.watch`) and :mod:`.parser` (the verb
table and chains). Importers use this module's names.
"""

from __future__ import annotations

from bot.core.parsing.create import CREATE_SHAPE, TEMPLATE_SHAPE
from bot.core.parsing.parser import PARSERS, STEP_VERBS, Result, parse
from bot.core.parsing.problem import Problem
from bot.core.parsing.values import MAX_MINUTES, MAX_NAME, MAX_REPLICAS, MAX_TAIL, MAX_TARGET
from bot.core.parsing.verbs import MARKET_FILTERS, NODE_FILTERS, Parser
from bot.core.parsing.watch import SETTINGS_SHAPE, WATCH_SHAPE
from bot.core.parsing.words import MAX_REASON, MAX_TEXT, verb_of

__all__ = [
    "CREATE_SHAPE",
    "MARKET_FILTERS",
    "MAX_MINUTES",
    "MAX_NAME",
    "MAX_REASON",
    "MAX_REPLICAS",
    "MAX_TAIL",
    "MAX_TARGET",
    "MAX_TEXT",
    "NODE_FILTERS",
    "PARSERS",
    "SETTINGS_SHAPE",
    "STEP_VERBS",
    "TEMPLATE_SHAPE",
    "WATCH_SHAPE",
    "Parser",
    "Problem",
    "Result",
    "parse",
    "verb_of",
]
