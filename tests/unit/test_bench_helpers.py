"""The benchmarks' own helpers: the request mix, percentiles, the rate search, reading a
``/deploy list`` answer, and the fake Slack's arrival times that answer latency is built on."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter

import aiohttp
import pytest

from bench.ack_latency import Run, enqueue_line
from bench.answer_latency import (
    deployments_of,
    highest_passing,
    next_probe,
    parse_mix,
    percentile,
    schedule,
)
from bench.procs import Fakes


def test_parse_mix_reads_weights_and_refuses_nonsense() -> None:
    assert parse_mix("list=3, show=3,help=2,logs") == {"list": 3, "show": 3, "help": 2, "logs": 1}
    assert parse_mix("list=2,list=1,help=0") == {"list": 3}
    for bad in ("deploy=1", "list=x", "list=-1", "", "help=0"):
        with pytest.raises(ValueError):
            parse_mix(bad)


def test_schedule_keeps_the_proportions_and_interleaves() -> None:
    kinds = schedule({"list": 3, "help": 1}, 400, seed=1)
    assert len(kinds) == 400
    assert Counter(kinds) == {"list": 300, "help": 100}
    # shuffled within each round of the weights: every 4 requests hold exactly one help
    assert all(kinds[i : i + 4].count("help") == 1 for i in range(0, 400, 4))
    assert schedule({"list": 3, "help": 1}, 400, seed=1) == kinds
    assert schedule({"list": 3, "help": 1}, 5, seed=2)[:4].count("help") == 1


def test_percentile_is_nearest_rank_and_never_answered_is_infinite() -> None:
    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile(values, 100) == 100.0
    assert percentile([0.1] * 98 + [math.inf] * 2, 99) == math.inf
    assert percentile([0.1] * 99 + [math.inf], 99) == 0.1
    assert math.isnan(percentile([], 50))


def test_highest_passing_and_the_bisection_between_pass_and_fail() -> None:
    assert highest_passing({10: 0.3, 50: 1.9, 100: 4.0}, 2.0) == 50
    assert highest_passing({10: 2.5}, 2.0) is None
    assert next_probe({10: 0.3, 50: 1.9, 100: 4.0}, 2.0) == 75
    assert next_probe({10: 0.3, 50: 1.9, 75: 2.1, 100: 4.0}, 2.0) == 62
    # nothing passes, or nothing fails above the best, or the gap is already small
    assert next_probe({10: 3.0, 50: 4.0}, 2.0) is None
    assert next_probe({10: 0.3, 50: 0.5}, 2.0) is None
    assert next_probe({50: 1.0, 51: 3.0}, 2.0) is None
    # a noisy failure below the best rate is not bisected towards
    assert next_probe({10: 2.5, 50: 1.0, 100: 3.0}, 2.0) == 75


def test_deployments_of_a_list_answer() -> None:
    answer = {
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": "Deployments on Nosana"}},
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": ":large_green_circle: running  *comfyui-dev*  `8vc5iRW` · Nosana · "
                    "$0.38/h · 35d\n:white_circle: stopped  *sd*  `dep_36l` · NeuraNET · "
                    "$0.00/h · 36d\n:large_green_circle: running  *dseq 17*  `17` · Akash · x",
                },
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "`/deploy list all`"}]},
        ]
    }
    assert deployments_of(answer) == [
        ("nosana", "8vc5iRW", "running"),
        ("neuranet", "dep_36l", "stopped"),
        ("akash", "17", "running"),
    ]
    assert deployments_of({"text": "no blocks"}) == []


def test_enqueue_line_summarises_the_web_process_timings() -> None:
    run = Run("deploybot", 3, 1, 1.0, [0.1], Counter())
    assert enqueue_line([run]) == ""
    run.enqueue = {"puts": [0.010, 0.020, 0.030], "commits": [(0.008, 2), (0.012, 1)]}
    line = enqueue_line([run])
    assert "JobQueue.put p50 20.0 ms, p99 30.0 ms" in line
    assert "2 group commits of 1.5 rows" in line
    assert "max 12.0 ms" in line


async def test_fakes_time_response_url_posts_and_wait_for_them() -> None:
    fakes = Fakes()
    info = await fakes.start()
    try:
        assert set(info["providers"]) == {"nosana", "akash", "neuranet"}
        assert await fakes.wait_answered(1, 0.05) == 0  # nothing yet: bounded wait
        url = f"http://127.0.0.1:{info['slack_port']}/webhook/k1"
        before = time.monotonic()

        async def post_later() -> None:
            await asyncio.sleep(0.05)
            async with aiohttp.ClientSession() as session:
                for _ in range(2):
                    async with session.post(url, json={"text": "hi"}) as response:
                        assert response.status == 200

        task = asyncio.create_task(post_later())
        assert await fakes.wait_answered(1, 5.0) == 1
        await task
        assert fakes.responses("k1") == [{"text": "hi"}, {"text": "hi"}]
        arrivals = fakes.take_arrivals()
        assert list(arrivals) == ["k1"] and len(arrivals["k1"]) == 2
        assert before < arrivals["k1"][0] <= arrivals["k1"][1] <= time.monotonic()
        assert fakes.take_arrivals() == {} and fakes.slack_calls() == {}
    finally:
        await fakes.aclose()
