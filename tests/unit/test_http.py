"""The shared HTTP layer: which calls are retried, how Retry-After is honoured, secret scrubbing."""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx
import pytest
from pydantic import SecretStr

from bot.providers.errors import (
    AuthenticationError,
    OutcomeUnknownError,
    ProviderError,
    RateLimitedError,
    UnavailableError,
    WrongStateError,
)
from bot.providers.http import ProviderHTTP, RetryPolicy, parse_retry_after, response_text

KEY = "nos_supersecret_key_0123456789"


def mapper(response: httpx.Response) -> ProviderError:
    text = response_text(response)
    if response.status_code == 401:
        return AuthenticationError(f"Key refused: {text}")
    if "incorrect state" in text:
        return WrongStateError(text, provider_text=text)
    return UnavailableError(f"HTTP {response.status_code}: {text}")


class Recorder:
    def __init__(self, answers: list[httpx.Response | Exception]) -> None:
        self.answers = answers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def client(
    answers: list[httpx.Response | Exception],
    sleeps: list[float] | None = None,
    policy: RetryPolicy | None = None,
) -> tuple[ProviderHTTP, Recorder]:
    recorder = Recorder(answers)

    async def fake_sleep(seconds: float) -> None:
        if sleeps is not None:
            sleeps.append(seconds)

    http = ProviderHTTP(
        provider="nosana",
        base_url="http://127.0.0.1:9/api",
        auth_headers={"Authorization": SecretStr(f"Bearer {KEY}")},
        secrets=(SecretStr(KEY),),
        error_mapper=mapper,
        retry=policy or RetryPolicy(base_delay=0.01, max_delay=0.05),
        transport=httpx.MockTransport(recorder),
        sleep=fake_sleep,
    )
    return http, recorder


def ok(body: object = None) -> httpx.Response:
    return httpx.Response(200, json=body if body is not None else {"ok": True})


async def test_get_retries_429_honouring_retry_after_then_succeeds() -> None:
    sleeps: list[float] = []
    http, rec = client(
        [httpx.Response(429, headers={"Retry-After": "2"}, json={"error": "slow down"}), ok()],
        sleeps,
    )
    response = await http.request("GET", "/deployments")
    assert response.status_code == 200
    assert len(rec.requests) == 2
    assert sleeps == [2.0]
    assert rec.requests[0].headers["Authorization"] == f"Bearer {KEY}"


async def test_get_retries_5xx_and_connection_errors_with_bounded_backoff() -> None:
    sleeps: list[float] = []
    http, rec = client(
        [
            httpx.ConnectError("refused"),
            httpx.Response(503, text="busy"),
            httpx.ReadTimeout("slow"),
            ok(),
        ],
        sleeps,
    )
    assert (await http.request("GET", "/x")).status_code == 200
    assert len(rec.requests) == 4
    assert len(sleeps) == 3
    assert all(0 < s <= 0.05 for s in sleeps)


async def test_get_gives_up_after_max_attempts() -> None:
    http, rec = client([httpx.Response(502, text="bad gateway")], [])
    with pytest.raises(UnavailableError) as info:
        await http.request("GET", "/x")
    assert len(rec.requests) == RetryPolicy().max_attempts
    assert info.value.status_code == 502


async def test_business_error_answered_with_500_is_not_retried() -> None:
    http, rec = client(
        [httpx.Response(500, json={"error": "Deployment is in the incorrect state."})], []
    )
    with pytest.raises(WrongStateError) as info:
        await http.request("GET", "/x")
    assert len(rec.requests) == 1
    assert info.value.provider_text == "Deployment is in the incorrect state."


async def test_create_that_times_out_is_not_resent() -> None:
    http, rec = client([httpx.ReadTimeout("no answer"), ok()], [])
    with pytest.raises(OutcomeUnknownError) as info:
        await http.request("POST", "/deployments/create", json={"name": "x"})
    assert len(rec.requests) == 1
    assert "may have been carried out" in info.value.message


async def test_post_5xx_is_not_retried_and_its_outcome_is_unknown() -> None:
    http, rec = client([httpx.Response(503, text="busy"), ok()], [])
    with pytest.raises(OutcomeUnknownError, match="may or may not have been carried out"):
        await http.request("POST", "/deposit", json={})
    assert len(rec.requests) == 1


async def test_post_is_retried_when_it_provably_was_not_processed() -> None:
    sleeps: list[float] = []
    http, rec = client(
        [httpx.ConnectError("refused"), httpx.Response(429, headers={"Retry-After": "1"}), ok()],
        sleeps,
    )
    assert (await http.request("POST", "/deployments/create", json={})).status_code == 200
    assert len(rec.requests) == 3
    assert sleeps[-1] == 1.0


async def test_explicitly_idempotent_patch_is_retried() -> None:
    http, rec = client([httpx.Response(503), ok()], [])
    await http.request("PATCH", "/d/1/update-timeout", json={"timeout": 60}, idempotent=True)
    assert len(rec.requests) == 2


async def test_retry_after_longer_than_policy_fails_fast_as_rate_limited() -> None:
    http, rec = client([httpx.Response(429, headers={"Retry-After": "3600"})], [])
    with pytest.raises(RateLimitedError) as info:
        await http.request("GET", "/x")
    assert info.value.retry_after == 3600
    assert len(rec.requests) == 1
    assert "3600" in info.value.message


async def test_key_is_scrubbed_from_provider_text_and_never_in_repr_or_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    http, _ = client(
        [httpx.Response(401, text=f"Unauthorized: bad token {KEY} (Bearer {KEY})")], []
    )
    with pytest.raises(AuthenticationError) as info:
        await http.request("GET", "/x")
    error = info.value
    for text in (str(error), repr(error), error.message, error.provider_text or "", repr(http)):
        assert KEY not in text
    assert "[redacted]" in error.message
    assert KEY not in caplog.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0.5", 0.5),
        ("-1", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = 1445412480.0  # 07:28:00 GMT that day
    assert parse_retry_after(value, now=now) == expected


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (httpx.Response(400, json={"message": "m", "error": "e"}), "m"),
        (httpx.Response(400, json={"error": "e"}), "e"),
        (httpx.Response(401, text="Unauthorized"), "Unauthorized"),
        (httpx.Response(400, json=[1, 2]), "[1, 2]"),
    ],
)
def test_response_text(response: httpx.Response, expected: str) -> None:
    assert response_text(response) == expected


def test_backoff_is_bounded() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=4.0)
    delays: list[Callable[[], float]] = [lambda a=a: policy.backoff(a) for a in range(1, 20)]
    assert all(0 < d() <= 4.0 for d in delays)


async def test_non_json_success_body_is_a_clear_error() -> None:
    http, _ = client([httpx.Response(200, text="<html>proxy</html>")], [])
    response = await http.request("GET", "/x")
    with pytest.raises(UnavailableError, match="not JSON"):
        http.json(response)


# -- answers that arrive but cannot be read ------------------------------------------------------

GARBLED = [
    pytest.param(httpx.Response(200, text='{"id": "abc", "na'), "not JSON", id="malformed"),
    pytest.param(httpx.Response(200, text=""), "an empty answer", id="empty"),
    pytest.param(httpx.Response(201, text="  \n"), "an empty answer", id="blank"),
    pytest.param(httpx.Response(200, text="<html>proxy</html>"), "not JSON", id="html"),
]


@pytest.mark.parametrize(("answer", "detail"), GARBLED)
async def test_a_garbled_answer_to_a_non_idempotent_call_is_outcome_unknown(
    answer: httpx.Response, detail: str
) -> None:
    http, rec = client([answer, ok()], [])
    response = await http.request("POST", "/deposit", json={}, check="the escrow of 42")
    with pytest.raises(OutcomeUnknownError) as info:
        http.json(response, check="the escrow of 42")
    message = info.value.message
    assert detail in message
    assert "POST /api/deposit" in message
    assert "may or may not have happened — check the escrow of 42 before trying again" in message
    assert info.value.advice in message and "try again" not in message
    assert len(rec.requests) == 1 and http.calls_sent == 1  # never re-sent
    assert KEY not in message


@pytest.mark.parametrize(("answer", "detail"), GARBLED)
async def test_a_garbled_answer_to_a_read_may_be_tried_again(
    answer: httpx.Response, detail: str
) -> None:
    http, _ = client([answer], [])
    response = await http.request("GET", "/x")
    with pytest.raises(UnavailableError) as info:
        http.json(response)
    assert not isinstance(info.value, OutcomeUnknownError)
    assert detail in info.value.message


async def test_calls_marked_idempotent_follow_their_mark() -> None:
    http, _ = client([httpx.Response(200, text="{")], [])
    response = await http.request("PUT", "/x", json={}, idempotent=True)
    with pytest.raises(UnavailableError) as info:
        http.json(response)
    assert not isinstance(info.value, OutcomeUnknownError)
    response = await http.request("GET", "/x", idempotent=False)
    with pytest.raises(OutcomeUnknownError):
        http.json(response)


async def test_an_unexpected_2xx_after_a_write_is_outcome_unknown() -> None:
    http, rec = client([httpx.Response(200, json={"deleted": True})], [])
    with pytest.raises(OutcomeUnknownError) as info:
        await http.request("DELETE", "/deployments/1", expected=(204,), check="`/deploy list`")
    assert "HTTP 200 instead of 204" in info.value.message
    assert "check `/deploy list`" in info.value.message
    assert len(rec.requests) == 1


async def test_a_204_is_no_body_not_a_garbled_one() -> None:
    http, _ = client([httpx.Response(204)], [])
    assert http.json(await http.request("DELETE", "/deployments/1")) is None


async def test_without_a_check_the_person_is_sent_to_the_list() -> None:
    http, _ = client([httpx.Response(200, text="")], [])
    response = await http.request("POST", "/x", json={})
    with pytest.raises(OutcomeUnknownError, match="check `/deploy list` before trying again"):
        http.json(response)


async def test_the_key_is_scrubbed_from_a_garbled_answer_error() -> None:
    http, _ = client([httpx.Response(200, text="")], [])
    response = await http.request("POST", f"/echo/{KEY}", json={})
    with pytest.raises(OutcomeUnknownError) as info:
        http.json(response)
    assert KEY not in info.value.message and "[redacted]" in info.value.message


async def test_a_lost_or_failed_write_names_what_to_check() -> None:
    http, _ = client([httpx.ReadTimeout("no answer")], [])
    with pytest.raises(OutcomeUnknownError) as info:
        await http.request("POST", "/deposit", json={}, check="the escrow of 42")
    assert info.value.advice == (
        "It may or may not have happened — check the escrow of 42 before trying again."
    )
    http, _ = client([httpx.Response(502, text="<html><title>502 Bad Gateway</title></html>")], [])
    with pytest.raises(OutcomeUnknownError) as info:
        await http.request("POST", "/deposit", json={}, check="the escrow of 42")
    assert "check the escrow of 42" in info.value.advice
    assert "502 Bad Gateway" in info.value.message and "<" not in info.value.message
