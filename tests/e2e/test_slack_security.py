"""The negative paths over HTTP: request verification, hostile ``/deploy`` text, provider keys
never leaking, uninstall cleanup, the health check, and Slack rate limits.

Most tests run the whole app (see ``harness.py``); the ones where the database matters run on
SQLite and PostgreSQL (``env``), the others on SQLite only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import secrets
import string
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import MetaData, select

from bot import server
from bot.core import modals
from bot.core.operations import Operation, OpKind
from bot.core.parsing import parse
from bot.db.engine import create_engine
from bot.slack_local import payloads
from tests.e2e.harness import ADMIN, CHANNEL, MEMBER, TEAM, SlackEnv, message_text, slack_env

OTHER_TEAM = "T222"
PROVIDERS = ("nosana", "akash", "neuranet")


@pytest.fixture
async def lite(tmp_path: Path) -> AsyncIterator[SlackEnv]:
    """The whole app over HTTP on SQLite (for tests where the database backend is irrelevant)."""
    async with slack_env(f"sqlite:///{tmp_path}/deploybot.db", tmp_path) as running:
        yield running


@pytest.fixture
async def quick(tmp_path: Path) -> AsyncIterator[SlackEnv]:
    """Like ``lite``, but Bolt answers as soon as a listener returns instead of polling for the
    ack every 10 ms; the listeners only ack and hand work off, so what Slack sees is the same."""
    async with slack_env(
        f"sqlite:///{tmp_path}/deploybot.db", tmp_path, process_before_response=True
    ) as running:
        yield running


def provider_requests(env: SlackEnv) -> int:
    return sum(len(env.api(p).requests) for p in PROVIDERS)


# -- 1. request verification --------------------------------------------------------------------

Builder = Callable[[str, int | None], payloads.SignedRequest]


def _builders(env: SlackEnv) -> dict[str, Builder]:
    """One request of each kind Slack sends; the event would wipe T111's keys if accepted."""
    return {
        "slash_command": lambda secret, ts: payloads.slash_command(
            secret=secret, text="list", response_url=env.slack.response_url(), timestamp=ts
        ),
        "block_actions": lambda secret, ts: payloads.block_actions(
            secret=secret,
            action_id="list_next",
            value="",
            response_url=env.slack.response_url(),
            timestamp=ts,
        ),
        "view_submission": lambda secret, ts: payloads.view_submission(
            secret=secret,
            callback_id=modals.CONNECT,
            values=payloads.input_values({(modals.KEY_BLOCK, modals.KEY_ACTION): "k" * 40}),
            private_metadata=json.dumps({"p": "nosana", "c": CHANNEL}),
            user_id=ADMIN,
            timestamp=ts,
        ),
        "event_callback": lambda secret, ts: payloads.event_callback(
            secret=secret, event={"type": "app_uninstalled"}, timestamp=ts
        ),
    }


def _tampered(env: SlackEnv, build: Builder, tamper: str) -> payloads.SignedRequest:
    now = int(time.time())
    if tamper == "wrong_secret":
        return build("not-the-signing-secret", None)
    if tamper == "stale":
        return build(env.secret, now - 301)
    if tamper == "future":
        return build(env.secret, now + 301)
    request = build(env.secret, None)
    headers = dict(request.headers)
    if tamper == "no_signature":
        del headers["x-slack-signature"]
    elif tamper == "no_timestamp":
        del headers["x-slack-request-timestamp"]
    elif tamper == "no_headers":
        del headers["x-slack-signature"], headers["x-slack-request-timestamp"]
    elif tamper == "body_changed":
        return payloads.SignedRequest(request.body.replace("T111", "T112"), headers)
    elif tamper == "garbage_signature":
        headers["x-slack-signature"] = "v0=" + "0" * 64
    elif tamper.startswith("timestamp="):
        headers["x-slack-request-timestamp"] = tamper.partition("=")[2]
    return payloads.SignedRequest(request.body, headers)


TAMPERS = (
    "wrong_secret",
    "stale",
    "future",
    "no_signature",
    "no_timestamp",
    "no_headers",
    "body_changed",
    "garbage_signature",
    # Timestamps that Bolt's verifier can't turn into a number (a 500 before the fix).
    "timestamp=yesterday",
    "timestamp=",
    "timestamp=1.5e9",
    "timestamp=" + "9" * 400,
    "timestamp=-1",
    "timestamp=١٧٠٠٠٠٠٠٠٠",
)


async def _send(env: SlackEnv, request: payloads.SignedRequest, via: str) -> tuple[int, str]:
    """Over HTTP (``slack_events``), or dispatched to the Bolt app directly, as another
    adapter would: the status and the body of the answer."""
    if via == "http":
        answer = await env.post(request)
        return answer.status, answer.raw
    direct = await env.bot.app.async_dispatch(
        AsyncBoltRequest(body=request.body, headers=request.as_bolt_headers())
    )
    return direct.status, str(direct.body)


@pytest.mark.parametrize("via", ["http", "bolt"])
async def test_unverified_requests_of_every_kind_are_refused(
    lite: SlackEnv, caplog: pytest.LogCaptureFixture, via: str
) -> None:
    """Over HTTP the handler refuses them before anything is parsed. Bolt's own check is off
    (the handler checks every request it serves), so a request that reaches the Bolt app
    another way is checked before authorize, and refused there."""
    caplog.set_level(logging.WARNING)
    for kind, build in _builders(lite).items():
        for tamper in TAMPERS:
            status, body = await _send(lite, _tampered(lite, build, tamper), via)
            assert status == 401, (kind, tamper, body)
    await lite.settle()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert lite.slack.calls == [], "a refused request reached Slack's API"
    assert provider_requests(lite) == 0
    assert len(await lite.storage.keys.list(team_id=TEAM)) == 3, "a forged uninstall was run"
    status, body = await _send(lite, _builders(lite)["slash_command"](lite.secret, None), via)
    assert status == 200, body
    await lite.settle()


async def test_each_request_is_verified_once(
    lite: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The HTTP handler checks the signature before anything is parsed; Bolt, behind it, does
    not compute the same HMAC again."""
    computed: list[str] = []
    generate = SignatureVerifier.generate_signature

    def counted(self: SignatureVerifier, *, timestamp: str, body: str | bytes) -> str | None:
        computed.append(timestamp)
        return generate(self, timestamp=timestamp, body=body)

    kinds = ("slash_command", "block_actions", "view_submission")
    signed = {kind: _builders(lite)[kind](lite.secret, None) for kind in kinds}
    monkeypatch.setattr(SignatureVerifier, "generate_signature", counted)
    for kind, request in signed.items():
        answer = await lite.post(request)
        assert answer.status == 200, (kind, answer.raw)
    assert len(computed) == len(kinds)
    await lite.settle()


async def test_verified_requests_of_every_kind_are_accepted(lite: SlackEnv) -> None:
    builders = _builders(lite)
    # 299 s old is still inside Slack's five minutes.
    for kind in ("slash_command", "block_actions", "view_submission"):
        answer = await lite.post(builders[kind](lite.secret, int(time.time()) - 299))
        assert answer.status == 200, (kind, answer.raw)
    await lite.settle()
    home = payloads.event_callback(
        secret=lite.secret, event={"type": "app_home_opened", "user": MEMBER, "tab": "home"}
    )
    answer = await lite.post(home)
    assert answer.status == 200
    await lite.slack.wait_for("views.publish")  # Bolt runs event listeners after the ack


MALFORMED = {
    "form_payload_not_json": ("payload=%7Bnot-json", payloads.FORM),
    "json_not_json": ("{not json", payloads.JSON),
    "json_list": ("[1, 2]", payloads.JSON),
    "json_string": ('"event_callback"', payloads.JSON),
    "payload_string": ("payload=%22str%22", payloads.FORM),
    "payload_list": ("payload=%5B%5D", payloads.FORM),
    "nested_garbage": ('{"type": "event_callback", "event": "x", "team": 5}', payloads.JSON),
}


async def test_malformed_bodies_are_refused_not_a_server_error(
    lite: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    """Bolt parses the body before it checks the signature; garbage used to be a 500."""
    caplog.set_level(logging.WARNING)
    for name, (body, content_type) in MALFORMED.items():
        unsigned = payloads.SignedRequest(body, {"content-type": content_type})
        assert (await lite.post(unsigned)).status == 401, name
        signed = payloads.SignedRequest(
            body, payloads.sign(body, lite.secret, content_type=content_type)
        )
        assert (await lite.post(signed)).status in (200, 400, 404), name
    for signed_too in (False, True):
        raw = b"text=\xff\xfe&team_id=T111"
        headers = {"content-type": payloads.FORM}
        if signed_too:
            headers = payloads.sign(raw.decode("latin-1"), lite.secret)
        response = await lite.http.post("/slack/events", data=raw, headers=headers)
        assert response.status in (400, 401)
    await lite.settle()
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
    assert lite.slack.calls == [] and provider_requests(lite) == 0


async def test_ssl_check_and_url_verification(lite: SlackEnv) -> None:
    # Slack's certificate check is unsigned and must be answered 200 without doing anything.
    ssl = payloads.SignedRequest(
        "ssl_check=1&token=verification-token", {"content-type": payloads.FORM}
    )
    answer = await lite.post(ssl)
    assert answer.status == 200
    challenge = json.dumps({"type": "url_verification", "challenge": "c-123", "token": "t"})
    signed = payloads.SignedRequest(
        challenge, payloads.sign(challenge, lite.secret, content_type=payloads.JSON)
    )
    answer = await lite.post(signed)
    assert answer.status == 200
    assert answer.body.get("challenge") == "c-123"
    forged = payloads.SignedRequest(
        challenge, payloads.sign(challenge, "wrong", content_type=payloads.JSON)
    )
    assert (await lite.post(forged)).status == 401
    assert lite.slack.calls == []


# -- 2. hostile /deploy text --------------------------------------------------------------------

VERBS = [k.value for k in OpKind] + ["ls", "status", "info", "log", "replicas", "credits", "?"]
NAMES = [
    "comfyui-dev",
    "llama3-chat",
    "eval-sweep",
    "notebook-draft",
    "llama-chat",
    "mistral-api",
    "trainer-v2",
    "8vc5",
    "dep_",
    "dep_rv6sk1wj69",
    "payload-api",
    "nosana",
    "akash",
    "neuranet",
    "all",
    "running",
    "stopped",
]
OPTIONS = [
    "--provider",
    "-p",
    "--provider=akash",
    "--provider=",
    "--tail",
    "-n",
    "--tail=0",
    "--since",
    "--since=10m",
    "--since=2999-01-01",
    "--",
    "--x",
    "-",
    "type=",
    "gpu=a100",
    "min-vram=-1",
    "max-price=nan",
    "max-price=1e999",
    "region=eu",
]
PUNCTUATION = [",", ",,", '"', "'", "“", "”", "‘", "\\", "#", "`", "<@U111>", "<!channel>", "*"]
NUMBERS = st.one_of(
    st.integers(-5, 10**6).map(str),
    st.sampled_from(["0", "1e3", "NaN", "Infinity", "$5", "5,000", "0.0000001", "12.50", "r3"]),
)
CRONS = st.sampled_from(['"0 2 * * *"', '"*/5 * * * *"', '"61 * * * *"', '"* *"', "'@daily'"])
JUNK = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=12
)
WORD = st.one_of(
    st.sampled_from(VERBS),
    st.sampled_from(NAMES),
    st.sampled_from(OPTIONS),
    st.sampled_from(PUNCTUATION),
    NUMBERS,
    CRONS,
    JUNK,
)
STEP_VERBS = ["start", "stop", "archive", "delete", "close", "scale", "timeout", "schedule"]
#: Words picked at random: mostly unparseable, a usage answer.
JUMBLE = st.lists(WORD, max_size=8).map(" ".join)
#: A real verb, a deployment (or provider, or status) and maybe more: mostly reaches providers.
COMMAND = st.builds(
    lambda verb, name, rest: " ".join([verb, name, *rest]),
    st.sampled_from(VERBS),
    st.sampled_from(NAMES),
    st.one_of(
        st.just([]),
        st.tuples(NUMBERS),
        st.lists(st.one_of(NUMBERS, st.sampled_from(OPTIONS), CRONS, JUNK), max_size=2),
    ),
)
#: ``<deployment> step, step, …``
CHAIN = st.builds(
    lambda name, steps: f"{name} " + ", ".join(steps),
    st.sampled_from(NAMES),
    st.lists(
        st.builds(
            lambda verb, args: " ".join([verb, *args]),
            st.sampled_from(STEP_VERBS),
            st.lists(st.one_of(NUMBERS, CRONS, JUNK), max_size=2),
        ),
        min_size=1,
        max_size=3,
    ),
)
#: Weighted (``one_of`` would treat repeated strategies as one): over half well-formed.
TEXTS = st.sampled_from(
    [
        *[COMMAND] * 6,
        *[CHAIN] * 2,
        st.sampled_from(VERBS),
        JUMBLE,
        st.text(max_size=200),
        st.text(alphabet=string.printable, max_size=120),
        st.text(alphabet=st.sampled_from(list("\"',-= \t\n“”‘’#\\")), max_size=40),
        st.integers(1990, 2010).map(lambda n: "show " + "x" * n),
    ]
).flatmap(lambda strategy: strategy)
#: One app serves every example of a test (it is a function-scoped fixture on purpose).
HYPOTHESIS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
USAGE_MARKERS = ("Type /deploy help", "*/deploy ")


@dataclasses.dataclass
class Sent:
    """One ``/deploy`` request: what went out and the tags its follow-ups can be found by."""

    text: str
    key: str
    channel: str
    trigger_id: str
    status: int = 0
    raw: str = ""


def _command(env: SlackEnv, text: str) -> tuple[Sent, payloads.SignedRequest]:
    tag = secrets.token_hex(6)
    sent = Sent(text, key=tag, channel=f"C{tag.upper()}", trigger_id=payloads.new_trigger_id())
    request = payloads.slash_command(
        secret=env.secret,
        text=text,
        response_url=env.slack.response_url(tag),
        channel_id=sent.channel,
        trigger_id=sent.trigger_id,
    )
    return sent, request


def _check(env: SlackEnv, sent: Sent) -> str:
    """The invariants of one request, once its background work has finished; what it was."""
    text = sent.text
    assert sent.status == 200, (text, sent.status, sent.raw[:300])
    ack = json.loads(sent.raw) if sent.raw else {}
    assert isinstance(ack, dict), (text, sent.raw[:300])
    followups = [
        c
        for c in env.slack.calls
        if c.response_url == sent.key
        or c.body.get("channel") == sent.channel
        or c.body.get("trigger_id") == sent.trigger_id
    ]
    said = [c.body for c in followups if c.body.get("text") or c.body.get("blocks")]
    ack_text = str(ack.get("text", ""))
    if ack_text.startswith(":hourglass_flowing_sand:"):
        assert said, f"{text!r} was acknowledged but never answered"
        errors = [str(b["text"]) for b in said if str(b.get("text", "")).startswith(":warning:")]
        for error in errors:
            assert "\n" not in error, (text, error)
        kind = "error" if errors else "answered"
    elif not sent.raw:
        parsed = parse(text)
        assert isinstance(parsed, Operation), (text, parsed)
        assert parsed.kind in (OpKind.CONNECT, OpKind.REVISE, OpKind.CREATE), (text, parsed)
        assert said or any(c.method == "views.open" for c in followups), text
        kind = "modal"
    else:
        assert any(m in ack_text for m in USAGE_MARKERS), (text, ack_text[:300])
        assert not followups, (text, [c.method for c in followups])
        kind = "usage"
    for call in followups:
        assert "Traceback" not in json.dumps(call.body, ensure_ascii=False), text
    return kind


def _no_errors_logged(caplog: pytest.LogCaptureFixture, env: SlackEnv, context: Any) -> None:
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, (context, [f"{r.name}: {r.getMessage()}" for r in errors][:3])
    assert env.bot.work.failures == 0, context


@settings(HYPOTHESIS, max_examples=250)
@given(text=TEXTS)
async def test_random_commands_over_http(
    lite: SlackEnv, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    caplog.set_level(logging.ERROR)
    caplog.clear()
    sent, request = _command(lite, text)
    answer = await lite.post(request)
    sent.status, sent.raw = answer.status, answer.raw
    await lite.settle()
    event(_check(lite, sent))
    _no_errors_logged(caplog, lite, text)


@settings(HYPOTHESIS, max_examples=300)
@given(texts=st.lists(TEXTS, min_size=10, max_size=10))
async def test_thousands_of_random_commands_dispatched(
    quick: SlackEnv, caplog: pytest.LogCaptureFixture, texts: list[str]
) -> None:
    """300 batches of 10, each batch dispatched concurrently to Bolt (no HTTP), then checked."""
    caplog.set_level(logging.ERROR)
    caplog.clear()
    app = quick.bot.app

    async def one(text: str) -> Sent:
        sent, request = _command(quick, text)
        response = await app.async_dispatch(
            AsyncBoltRequest(body=request.body, headers=request.as_bolt_headers())
        )
        sent.status, sent.raw = response.status, response.body
        return sent

    batch = await asyncio.gather(*(one(t) for t in texts))
    await quick.settle()
    for sent in batch:
        event(_check(quick, sent))
    _no_errors_logged(caplog, quick, texts)
    quick.slack.clear()


async def test_the_word_payload_in_a_command_is_not_an_interaction(
    lite: SlackEnv, quick: SlackEnv
) -> None:
    """Bolt's form parser took any body containing "payload" for an interaction (then 404)."""
    for text in ("show payload-api", "payload"):
        answer = await lite.command(text)
        assert answer.status == 200, answer.raw
        assert answer.body["text"].startswith((":hourglass", "I don't know")), answer.body
    request = payloads.slash_command(
        secret=lite.secret, text="list", response_url=lite.slack.response_url(),
        channel_name="payload-ops", user_name="payload",
    )  # fmt: skip
    assert (await lite.post(request)).status == 200
    # The same through Bolt directly, as the shell and the tests hand it requests.
    _, request = _command(quick, "logs payload-api --tail 5")
    response = await quick.bot.app.async_dispatch(
        AsyncBoltRequest(body=request.body, headers=request.as_bolt_headers())
    )
    assert response.status == 200
    assert response.body.startswith('{"text": ":hourglass'), response.body


# -- 3. provider keys never leak -----------------------------------------------------------------


def _log_texts(records: Iterable[logging.LogRecord]) -> Iterable[str]:
    for record in records:
        yield str(record.msg)
        yield repr(record.args)
        with contextlib.suppress(Exception):  # a malformed record still has its parts above
            yield record.getMessage()
        yield record.exc_text or ""
        if record.exc_info and record.exc_info[1] is not None:
            yield "".join(traceback.format_exception(record.exc_info[1]))
        yield repr({k: v for k, v in vars(record).items() if k not in ("msg", "args", "exc_info")})


async def _database_texts(env: SlackEnv) -> list[str]:
    metadata = MetaData()
    async with env.storage.engine.connect() as conn:
        await conn.run_sync(metadata.reflect)
        assert "provider_keys" in metadata.tables
        found = []
        for table in metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                found.extend(str(value) for value in row)
    return found


async def test_provider_keys_never_leak(
    env: SlackEnv, caplog: pytest.LogCaptureFixture, db_url: str, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)
    nosana, akash = env.api("nosana"), env.api("akash")
    new_key = nosana.add_api_key(credits_usd=20).api_key
    wrong_key = "nos_sk_" + secrets.token_hex(20)
    secrets_ = [*env.keys.values(), new_key, wrong_key]
    meta = json.dumps({"p": "nosana", "c": CHANNEL})

    def paste(key: str) -> Any:
        return payloads.input_values({(modals.KEY_BLOCK, modals.KEY_ACTION): key})

    # Connect through the modal: a wrong key, a provider failure while checking, then the key.
    await env.command("connect nosana", user=ADMIN)
    assert len(env.calls("views.open")) == 1
    refused = await env.submit(modals.CONNECT, paste(wrong_key), private_metadata=meta, user=ADMIN)
    assert refused.body["response_action"] == "errors"
    nosana.inject(status=500, body={"message": f"backend down while checking {new_key}"}, times=9)
    failed = await env.submit(modals.CONNECT, paste(new_key), private_metadata=meta, user=ADMIN)
    assert failed.body["response_action"] == "errors"
    nosana.faults.clear()
    done = await env.submit(modals.CONNECT, paste(new_key), private_metadata=meta, user=ADMIN)
    assert done.body["response_action"] == "update", done.raw
    stored = await env.storage.keys.get(team_id=TEAM, provider="nosana")
    assert stored is not None and stored.get_secret_value() == new_key

    # Use it, and the other providers' keys.
    for text in ("providers", "list", "show llama-chat", "stop llama-chat", "logs llama-chat"):
        await env.command(text)
    await env.command("balance")
    # Providers failing, some of them quoting the key back in their error.
    nosana.inject(status=401, body={"message": f"invalid api key {new_key}"}, times=20)
    akash.inject(status=500, body=f"upstream failure for {env.keys['akash']}", times=20)
    env.api("neuranet").inject(
        status=401, body={"error": f"bad key {env.keys['neuranet']}"}, times=20
    )
    for text in ("list", "balance", "show llama-chat", "comfyui-dev stop, timeout 120"):
        await env.command(text)
    for provider in PROVIDERS:
        env.api(provider).faults.clear()
    # Disconnect.
    await env.command("disconnect nosana", user=ADMIN)
    assert await env.storage.keys.get(team_id=TEAM, provider="nosana") is None
    await env.settle()
    assert env.bot.work.failures == 0

    slack_texts = [
        json.dumps([c.method, c.token, c.body, c.headers, c.path, c.response], ensure_ascii=False)
        for c in env.slack.calls
    ]
    log_texts = list(_log_texts(caplog.records))
    assert log_texts, "logging was not captured"
    db_texts = await _database_texts(env)
    for secret in secrets_:
        assert not [t for t in slack_texts if secret in t], "a provider key was sent to Slack"
        assert not [t for t in log_texts if secret in t], "a provider key was logged"
        assert not [t for t in db_texts if secret in t], "a provider key is in the database"
    if db_url.startswith("sqlite"):  # the file itself, its WAL and free pages included
        assert _files_containing(tmp_path, "deploybot.db*", secrets_) == []


def _files_containing(folder: Path, pattern: str, needles: Iterable[str]) -> list[str]:
    found = []
    for path in folder.glob(pattern):
        raw = path.read_bytes()
        found += [path.name for needle in needles if needle.encode() in raw]
    return found


# -- 5. uninstall (single workspace; OAuth mode is in test_slack_oauth.py) -----------------------


async def _other_team_key(env: SlackEnv) -> None:
    await env.storage.keys.put(
        team_id=OTHER_TEAM, provider="akash", api_key=SecretStr("ac-other-0000"), connected_by="U2"
    )


def _cleanups(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "cleaned up" in r.getMessage()]


@pytest.mark.parametrize(
    "event",
    [{"type": "app_uninstalled"}, {"type": "tokens_revoked", "tokens": {"bot": ["UBOT"]}}],
    ids=["app_uninstalled", "tokens_revoked_bot"],
)
async def test_uninstall_deletes_the_workspace_keys_only(
    env: SlackEnv, caplog: pytest.LogCaptureFixture, event: dict[str, Any]
) -> None:
    caplog.set_level(logging.INFO)
    await _other_team_key(env)
    answer = await env.event(event)
    assert answer.status == 200
    assert await env.storage.keys.list(team_id=TEAM) == []
    assert [k.provider for k in await env.storage.keys.list(team_id=OTHER_TEAM)] == ["akash"]
    assert _cleanups(caplog) == [f"workspace {TEAM} cleaned up: 3 provider keys deleted"]
    # Slack redelivers when it doesn't see the 200 in time: harmless the second time.
    again = payloads.event_callback(secret=env.secret, event=event, retry_num=1)
    assert (await env.post(again)).status == 200
    await env.settle()
    assert [k.provider for k in await env.storage.keys.list(team_id=OTHER_TEAM)] == ["akash"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    # The workspace's next command says nothing is connected; no provider is called.
    before = provider_requests(env)
    answer = await env.command("list")
    assert "No provider account is connected" in env.last_response(answer.response_key)["text"]
    assert provider_requests(env) == before


async def test_revoked_user_tokens_keep_the_keys(
    env: SlackEnv, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    answer = await env.event({"type": "tokens_revoked", "tokens": {"oauth": [ADMIN, MEMBER]}})
    assert answer.status == 200
    assert len(await env.storage.keys.list(team_id=TEAM)) == 3
    assert _cleanups(caplog) == []
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- 6. /healthz ---------------------------------------------------------------------------------


async def test_healthz_is_ok_with_the_database(env: SlackEnv) -> None:
    response = await env.http.get("/healthz")
    assert response.status == 200
    assert await response.json() == {"database": "ok", "status": "ok"}


async def _healthz_with(env: SlackEnv, url: str) -> tuple[int, dict[str, str], float]:
    """/healthz of the running app with its database swapped for ``url``."""
    engine = create_engine(url)
    original = env.bot.storage
    env.bot.storage = dataclasses.replace(original, engine=engine)
    started = time.monotonic()
    try:
        response = await env.http.get("/healthz")
        return response.status, await response.json(), time.monotonic() - started
    finally:
        env.bot.storage = original
        await engine.dispose()


async def test_healthz_is_503_when_the_database_is_unreachable(
    env: SlackEnv, db_url: str, tmp_path: Path
) -> None:
    if db_url.startswith("sqlite"):
        (tmp_path / "not-a-file").mkdir()
        url = f"sqlite:///{tmp_path}/not-a-file"  # a directory: can't be opened
    else:
        with __import__("socket").socket() as sock:  # a port nobody listens on
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        url = f"postgresql://postgres@127.0.0.1:{port}/deploybot"
    status, body, _ = await _healthz_with(env, url)
    assert status == 503
    assert body["status"] == "unhealthy"
    assert body["database"].startswith("unreachable (")
    # And healthy again with the real database.
    assert (await env.http.get("/healthz")).status == 200


async def test_healthz_is_503_in_bounded_time_when_the_database_stalls(
    lite: SlackEnv, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database that accepts connections but never answers (a hung server, a black hole)."""
    monkeypatch.setattr(server, "DATABASE_CHECK_TIMEOUT", 0.5)
    held: list[asyncio.StreamWriter] = []

    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    black_hole = await asyncio.start_server(stall, "127.0.0.1", 0)
    port = black_hole.sockets[0].getsockname()[1]
    try:
        status, body, took = await _healthz_with(
            lite, f"postgresql://postgres@127.0.0.1:{port}/deploybot"
        )
    finally:
        for writer in held:
            writer.close()
        black_hole.close()
        await black_hole.wait_closed()
    assert status == 503
    assert body["database"] == "unreachable (TimeoutError)"
    assert took < 5


# -- 8. Slack rate limits -------------------------------------------------------------------------


async def test_rate_limited_chat_calls_are_retried(lite: SlackEnv) -> None:
    lite.slack.fail_next("chat.postMessage", status=429, retry_after=1)
    lite.slack.fail_next("chat.update", status=429, retry_after=1)
    answer = await lite.command("comfyui-dev stop, timeout 120")
    assert answer.status == 200
    failed = [c.method for c in lite.slack.calls if c.failed]
    assert failed == ["chat.postMessage", "chat.update"]
    [posted] = lite.calls("chat.postMessage")
    updates = lite.calls("chat.update")
    assert updates and all(u.body["ts"] == posted.response["ts"] for u in updates)
    final = message_text(updates[-1].body)
    assert final.count(":white_check_mark:") >= 2, final
    # Delivered in the channel; nothing had to fall back to the response URL.
    fallback = [b for b in lite.responses(answer.response_key) if b.get("text")]
    assert fallback == []


async def test_rate_limit_that_outlasts_the_retries_falls_back_to_response_url(
    lite: SlackEnv,
) -> None:
    lite.slack.fail_next("chat.postMessage", status=429, retry_after=0, times=10)
    answer = await lite.command("comfyui-dev stop, timeout 120")
    assert answer.status == 200
    assert lite.calls("chat.postMessage") == []
    final = lite.last_response(answer.response_key)
    assert "comfyui-dev" in message_text(final)
    assert not lite.bot.work.failures
