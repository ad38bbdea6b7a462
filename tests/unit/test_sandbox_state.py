"""The sandboxes' worlds survive a restart: saved, loaded and resumed at the saved world time
(the same deployments, ids and states, and the same transitions still to come), and a state
file that is damaged, of another shape or crafted to run code is refused."""

from __future__ import annotations

import json
import os
import pickle
import stat
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.clock import ManualClock
from sandbox.common import RunningSandbox, SandboxAPI
from sandbox.server import SandboxCluster, build_sandboxes
from sandbox.state import SandboxStateError, StateFile, attach, dumps, loads

#: The list endpoint and auth header of each emulator.
LISTS = {
    "nosana": ("/deployments", "Authorization", "Bearer {key}"),
    "akash": ("/v1/deployments", "x-api-key", "{key}"),
    "neuranet": ("/deployments", "Authorization", "Bearer {key}"),
}


async def _call(api: SandboxAPI, method: str, path: str) -> Any:
    list_path, header, value = LISTS[api.name]
    async with RunningSandbox(api) as server, httpx.AsyncClient(base_url=server.base_url) as http:
        headers = {header: value.format(key=api.demo_api_key)}
        response = await http.request(method, path or list_path, headers=headers)
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


async def _lists(apis: list[SandboxAPI]) -> dict[str, Any]:
    return {api.name: await _call(api, "GET", "") for api in apis}


async def test_a_saved_world_resumes_where_it_stopped_with_the_same_future() -> None:
    clock = ManualClock()
    apis = build_sandboxes(clock)
    nosana, _, neuranet = apis
    llama = next(d for d in nosana.deployments.values() if d.name == "llama3-chat")
    await _call(nosana, "POST", f"/deployments/{llama.id}/stop")
    chat = next(d for d in neuranet.deployments.values() if d.name == "llama-chat")
    await _call(neuranet, "POST", f"/deployments/{chat.id}/stop")
    clock.advance(1)  # stopping, not stopped yet: the rest is scheduled

    restored, now = loads(dumps(apis, clock))
    assert now == clock.now()
    later = ManualClock(now)
    attach(restored, later)
    assert await _lists(restored) == await _lists(apis)
    # an hour later both worlds went the same way (stops finished, jobs ran on, Akash bids…)
    clock.advance(3600)
    later.advance(3600)
    assert await _lists(restored) == await _lists(apis)
    assert restored[0].deployments[llama.id].status == "STOPPED"
    assert restored[0].clock is later and restored[0].requests[-1].path.endswith("/deployments")


async def test_a_cluster_saves_on_change_and_at_stop_and_a_new_one_carries_on(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sandbox.state"
    first = SandboxCluster(state=StateFile(path), speed=10)
    assert not first.restored
    await first.start()
    assert path.exists()  # written at once: the worlds exist beside their user's data
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    akash_ids = [d.dseq for d in first.apis[1].deployments_of(first.apis[1].demo_api_key)]
    async with httpx.AsyncClient() as http:
        url = first.base_url("nosana") + "/deployments"
        key = first.apis[0].demo_api_key
        response = await http.get(url, headers={"Authorization": f"Bearer {key}"})
    assert response.status_code == 200
    await first.stop()
    saved_at = json.loads(path.read_bytes().split(b"\n")[1])["now"]
    assert saved_at <= first.clock.now()

    second = SandboxCluster(state=StateFile(path), speed=10)
    assert second.restored
    assert second.clock.now() >= saved_at  # resumed from the saved world time, not from now
    assert second.clock.now() - saved_at < 60
    # the Akash dseqs are made from the clock: a fresh world would have new ones
    assert [d.dseq for d in second.apis[1].deployments_of(second.apis[1].demo_api_key)] == (
        akash_ids
    )
    assert [d.name for d in second.apis[0].deployments.values()] == [
        d.name for d in first.apis[0].deployments.values()
    ]


def test_files_that_cannot_be_used_are_refused_with_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock()
    good = dumps(build_sandboxes(clock), clock)
    header, meta, body = good.split(b"\n", 2)
    cases = {
        b"hello": "not a sandbox state file",
        b"deploybot-sandbox-state 99\n{}\n": "another format",
        header + b"\n{not json\n" + body: "header is damaged",
        header + b"\n" + meta + b"\n" + body[: len(body) // 2]: "cannot be read",
    }
    for data, reason in cases.items():
        with pytest.raises(SandboxStateError, match=reason):
            loads(data)
    monkeypatch.setattr("sandbox.state.schema", lambda: "another-shape")
    with pytest.raises(SandboxStateError, match="another version of the sandboxes"):
        loads(good)
    with pytest.raises(SandboxStateError, match="cannot be read"):
        StateFile(tmp_path / "missing").load(ManualClock)


class _RunsCode:
    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, ("echo pwned",))


class _Outside:
    def __reduce__(self) -> tuple[Any, ...]:
        return (getattr, (Decimal(1), "__reduce__"))


def test_a_crafted_file_cannot_run_code() -> None:
    clock = ManualClock()
    header = dumps(build_sandboxes(clock), clock).split(b"\n", 2)
    cases = {_RunsCode(): "may not contain posix.system", _Outside(): "not a sandbox method"}
    for payload, reason in cases.items():
        data = header[0] + b"\n" + header[1] + b"\n" + pickle.dumps([payload])
        with pytest.raises(SandboxStateError, match=reason):
            loads(data)
