"""Slack's request signatures, checked once per request.

:func:`bot.server.slack_events` checks every HTTP request's signature before anything is
parsed and marks the request it hands to Bolt (:data:`CHECKED` in its context), so Bolt's own
check, which would compute the same HMAC a second time on every ack, is off in the app
:func:`bot.app.build_bot` builds. :class:`SignedOnly` stands where Bolt's check would (before
authorize): an HTTP request that reached Bolt any other way — the app dispatched directly, or
served by another adapter — is checked there with the same verifier, and refused with 401
unless validly signed. Socket Mode requests carry no signature and pass.
"""

from __future__ import annotations

from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.slack_middleware import Answer, RequestStep

#: The context key :func:`bot.server.slack_events` sets on the requests whose signature it
#: checked (the context is built by code, never from the request).
CHECKED = "deploybot_signature_checked"

REFUSED = '{"error": "invalid request"}'


def signature_valid(
    verifier: SignatureVerifier | None, body: str, timestamp: str, signature: str
) -> bool:
    """Slack's v0 signature, valid and at most five minutes old; any malformed header is false."""
    if verifier is None or not signature or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    try:
        return verifier.is_valid(body, timestamp, signature)
    except (ValueError, OverflowError):  # a timestamp too large to compare with the clock
        return False


class SignedOnly(RequestStep):
    """Refuse (401) an HTTP request whose signature nobody checked and that is not validly
    signed (see the module's docstring)."""

    def __init__(self, verifier: SignatureVerifier | None) -> None:
        self.verifier = verifier

    def step(self, req: AsyncBoltRequest) -> Answer:
        if req.mode != "http" or req.context.get(CHECKED) is True:
            return None
        timestamp = _header(req, "x-slack-request-timestamp")
        signature = _header(req, "x-slack-signature")
        if signature_valid(self.verifier, req.raw_body, timestamp, signature):
            return None
        return BoltResponse(status=401, body=REFUSED, headers={"content-type": "application/json"})


def _header(req: AsyncBoltRequest, name: str) -> str:
    values = req.headers.get(name) or []
    return str(values[0]) if values else ""


__all__ = ["CHECKED", "SignedOnly", "signature_valid"]
