"""`/deploy show` cards carry each network's facts, read from the sandboxes' own answers."""

from __future__ import annotations

from typing import Any

from tests.e2e.harness import SlackEnv


def fields(body: dict[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for block in body.get("blocks") or []:
        for f in block.get("fields") or []:
            label, _, value = f["text"].partition("\n")
            out[label.strip("*")] = value
    return out


async def show(env: SlackEnv, ref: str) -> dict[str, str]:
    answer = await env.command(f"show {ref}")
    [body] = env.responses(answer.response_key)
    return fields(body)


async def test_cards_show_what_people_look_for_on_each_network(env: SlackEnv) -> None:
    nosana = await show(env, "llama3-chat")
    market = env.api("nosana").deployments
    [raw] = [d for d in market.values() if d.name == "llama3-chat"]
    assert nosana["Timeout"] and nosana["Strategy"] == f"`{raw.strategy}`"
    assert nosana["Market"].startswith("NVIDIA") and "GPU" in nosana["Market"]

    neuranet = await show(env, "llama-chat")
    assert " · " in neuranet["Node"] and "Spent so far" in neuranet

    leased = [
        d.dseq
        for d in env.api("akash").deployments_of(env.keys["akash"])
        if d.state == "active" and any(lease.state == "active" for lease in d.leases)
    ]
    akash = await show(env, leased[0])
    assert akash["Escrow"].startswith("$") and "(until <!date^" in akash["Runway"]
    [deployment] = [
        d for d in env.api("akash").deployments_of(env.keys["akash"]) if d.dseq == leased[0]
    ]
    [lease] = [lease for lease in deployment.leases if lease.state == "active"]
    holder = lease.provider
    short = f"{holder.owner[:12]}…{holder.owner[-4:]}"
    assert akash["Lease provider"] == f"*{holder.name}* (`{short}`)"  # its name, not its address
