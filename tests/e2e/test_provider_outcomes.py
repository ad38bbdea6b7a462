"""What people read in Slack when a provider answers badly: an error page from a proxy is one
clean line, and a change the provider carried out but answered with garbage is "may or may not
have happened — check …", never "try again" (and it is not sent twice)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from sandbox.common import Fault
from tests.e2e.harness import SlackEnv

NGINX_502 = """<html>
<head><title>502 Bad Gateway</title></head>
<body>
<center><h1>502 Bad Gateway</h1></center>
<hr><center>nginx/1.25.3</center>
</body>
</html>
"""
TRACE = re.compile(r"Traceback|\b[A-Z]\w*(?:Error|Exception)\b")


def texts(node: Any) -> list[str]:
    """Every text of a message as people read it (fallback, blocks, fields, elements)."""
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for value in node.values() for t in texts(value)]
    if isinstance(node, list):
        return [t for item in node for t in texts(item)]
    return []


def error_line(env: SlackEnv, key: str | None) -> str:
    """An error: one private line replacing the ⏳ note."""
    bodies = env.responses(key)
    assert len(bodies) == 1, bodies
    assert bodies[0]["response_type"] == "ephemeral"
    text: str = bodies[0]["text"]
    assert text.startswith(":warning: ") and "\n" not in text
    return text


def nothing_leaked(env: SlackEnv) -> None:
    for call in env.slack.calls:
        dumped = json.dumps(call.body, ensure_ascii=False)
        assert not TRACE.search(dumped), (call.method, dumped)


async def test_a_proxy_error_page_in_the_list_is_one_clean_line(env: SlackEnv) -> None:
    nosana = env.api("nosana")
    nosana.inject(
        method="GET",
        path=r"/api/deployments",
        status=502,
        body=NGINX_502,
        headers={"Content-Type": "text/html"},
        times=50,
    )
    listed = await env.command("list")
    bodies = env.responses(listed.response_key)
    assert len(bodies) == 1, bodies
    lines = [line for t in texts(bodies[0]) for line in t.split("\n") if "Nosana" in line]
    trouble = [line for line in lines if "having trouble" in line]
    assert trouble, lines
    for line in trouble:
        assert "502 Bad Gateway" in line
        assert "<" not in line and "&lt;" not in line and "nginx" not in line
    assert not any("&lt;" in t or "<html" in t or "<center" in t for t in texts(bodies[0]))
    # the other providers still answered
    assert any("llama-chat" in t for t in texts(bodies[0]))
    nothing_leaked(env)


async def test_a_garbled_deposit_answer_says_check_not_try_again(env: SlackEnv) -> None:
    akash = env.api("akash")
    dseq = next(
        d.dseq
        for d in akash.deployments_of(env.keys["akash"])
        if d.state == "active" and any(lease.state == "active" for lease in d.leases)
    )
    before = akash.funds_usd(dseq)
    akash.inject(Fault(method="POST", path="/v1/deposit-deployment", garble="malformed"))
    answer = await env.command(f"deposit {dseq} 5")
    text = error_line(env, answer.response_key)
    assert "may or may not have happened — check the escrow balance" in text
    assert f"`/deploy show {dseq}`" in text
    assert "try again" not in text.lower()
    assert text.count("may or may not") == 1
    # it was deposited, once
    assert akash.count("POST", "/v1/deposit-deployment") == 1
    assert akash.funds_usd(dseq) - before == Decimal(5)
    nothing_leaked(env)


async def test_a_garbled_start_answer_says_check_not_try_again(env: SlackEnv) -> None:
    neuranet = env.api("neuranet")
    dep_id = next(d.id for d in neuranet.deployments.values() if d.name == "sdxl-studio")
    assert neuranet.deployments[dep_id].status == "stopped"
    neuranet.inject(Fault(method="POST", path=f"/api/deployments/{dep_id}/start", garble="empty"))
    answer = await env.command("start sdxl-studio")
    text = error_line(env, answer.response_key)
    assert "may or may not have happened — check its status" in text
    assert "try again" not in text.lower()
    assert neuranet.deployments[dep_id].status == "starting"  # it was started, once
    assert neuranet.count("POST", f"/api/deployments/{dep_id}/start") == 1
    nothing_leaked(env)
