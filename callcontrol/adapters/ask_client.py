"""A flow's ask step over HTTP (aiohttp): the FlowAsks port.

One POST per AskRequest: the call's description as compact JSON, signed with FLOW_ASK_SECRET
(domain/flows/ask.py: `X-Flow-Signature`, `X-Flow-Timestamp`, `X-Flow-Request-Id`), bounded by
the step's deadline as a whole (connect, send, reply), redirects not followed (a redirect could
carry the signed body elsewhere), and a reply read up to MAX_REPLY_BYTES. Every way it can fail
is an AskFailed the run reads as its fallback; nothing raises to the caller.

Logged: the run's context, the host and the outcome. Never the body (it holds the caller's
number and headers), the signature or the secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from typing import Final
from urllib.parse import urlsplit

import aiohttp

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import (
    AskAnswered,
    AskFailed,
    AskFailure,
    AskReply,
    AskRequest,
    parse_ask_answer,
    signed_headers,
)

logger = logging.getLogger(__name__)
MAX_REPLY_BYTES: Final = 64 * 1024  # a reply names a step or an action: a few hundred bytes
_CHUNK: Final = 8192


class _Refused(Exception):
    """The service answered with a status that is not 2xx (a redirect included)."""


class _Invalid(Exception):
    """The reply could not be read as an answer (the reason is logged, never the body)."""


class HttpAsks:
    """POSTs ask requests; `secret` None means unsigned asks are never sent (each fails)."""

    def __init__(self, secret: bytes | None, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    async def ask(self, request: AskRequest) -> AskReply:
        host = urlsplit(request.url).hostname or "?"
        if self._secret is None:
            logger.error("ask %s to %s not sent: FLOW_ASK_SECRET is not set", request.context, host)
            return AskFailed(request.context, AskFailure.ERROR)
        started = time.monotonic()
        outcome: AskReply
        try:
            async with asyncio.timeout(request.timeout_seconds):
                outcome = await self._post(request)
        except TimeoutError:
            outcome, why = AskFailed(request.context, AskFailure.TIMEOUT), "no reply in time"
        except (aiohttp.ClientError, OSError) as exc:
            outcome, why = AskFailed(request.context, AskFailure.ERROR), type(exc).__name__
        except _Refused as exc:
            outcome, why = AskFailed(request.context, AskFailure.ERROR), str(exc)
        except _Invalid as exc:
            outcome, why = AskFailed(request.context, AskFailure.INVALID), str(exc)
        else:
            why = _shown(outcome)  # an answer: what it names
        elapsed = (time.monotonic() - started) * 1000
        level = logging.INFO if isinstance(outcome, AskAnswered) else logging.WARNING
        logger.log(level, "ask %s to %s: %s (%s) in %.0f ms", request.context, host,
                   "answered" if isinstance(outcome, AskAnswered) else outcome.reason, why, elapsed)
        return outcome

    async def _post(self, request: AskRequest) -> AskAnswered:
        assert self._secret is not None
        body = json.dumps(request.body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json",
                   **signed_headers(self._secret, int(self._clock()), body, request.repeatability_id)}
        timeout = aiohttp.ClientTimeout(total=request.timeout_seconds)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(request.url, data=body, headers=headers, allow_redirects=False) as reply,
        ):
            if not 200 <= reply.status < 300:
                raise _Refused(f"HTTP {reply.status}")
            raw = await _bounded(reply)
        try:
            payload = json.loads(raw)
        except ValueError:
            raise _Invalid("the reply is not JSON") from None
        try:
            return AskAnswered(request.context, parse_ask_answer(payload))
        except InvalidInput as exc:
            fields = ", ".join(f"{p.field} {p.reason}" for p in exc.problems)
            raise _Invalid(f"the reply is not an answer: {fields}") from None


def _shown(outcome: AskAnswered) -> str:
    """What the log says of an answer: the step or action type named, never a target."""
    answer = outcome.answer
    return f"next:{answer.next_step}" if answer.action is None else f"action:{type(answer.action).__name__}"


async def _bounded(reply: aiohttp.ClientResponse) -> bytes:
    declared = reply.content_length
    if declared is not None and declared > MAX_REPLY_BYTES:
        raise _Invalid(f"the reply declares {declared} bytes (at most {MAX_REPLY_BYTES})")
    read = bytearray()
    async for chunk in reply.content.iter_chunked(_CHUNK):
        read.extend(chunk)
        if len(read) > MAX_REPLY_BYTES:
            raise _Invalid(f"the reply is over {MAX_REPLY_BYTES} bytes")
    return bytes(read)
