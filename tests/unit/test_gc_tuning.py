"""Both kinds of process move their start-up heap out of the collector's way and collect the
young generation in larger batches (under load the default collected every few requests)."""

from __future__ import annotations

import gc

from aiohttp import web

from bot.server import GC_YOUNG_THRESHOLD, _tune_gc


async def test_start_up_freezes_the_heap_and_raises_the_young_threshold() -> None:
    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, 10, 10)
        await _tune_gc(web.Application())
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, 10, 10)
        assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*saved)
