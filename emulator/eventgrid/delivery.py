"""Pushes the local topic's events to subscriber webhooks the way Event Grid does for CloudEvents.

* Before a subscription is active: the CloudEvents webhook handshake (HTTP OPTIONS with
  ``WebHook-Request-Origin``; the subscriber answers 200 with ``WebHook-Allowed-Origin`` equal to
  that origin or ``*``).
* One event per POST in structured mode (``application/cloudevents+json; charset=utf-8``),
  with Event Grid's ``aeg-*`` headers.
* Success is 200-204; 400/401/403/413 are not retried (dead-lettered at once); anything else is
  retried on Event Grid's schedule (10 s, 30 s, 1 min, 5 min, ...) times ``retry_factor`` until the
  subscription's maxDeliveryAttempts or event time-to-live (also scaled) runs out, then
  dead-lettered. First attempts to one subscription leave in publish order; retries don't wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from emulator.common.background import Background
from emulator.common.errors import AcsError
from emulator.common.timestamps import timestamp
from emulator.eventgrid.retry import NO_RETRY_STATUSES, SUCCESS_STATUSES, retry_delay
from emulator.eventgrid.subscriptions import Subscription

logger = logging.getLogger(__name__)

REQUEST_ORIGIN = "eventgrid.azure.net"
DELIVERY_CONTENT_TYPE = "application/cloudevents+json; charset=utf-8"
_OUTCOMES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
             413: "RequestEntityTooLarge"}


@dataclass
class DeliverySettings:
    retry_factor: float
    timeout_seconds: float


@dataclass(frozen=True)
class Attempt:
    status: int | None
    error: str | None

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESS_STATUSES

    @property
    def retriable(self) -> bool:
        return self.status not in NO_RETRY_STATUSES

    @property
    def outcome(self) -> str:
        if self.succeeded:
            return "Delivered"
        if self.status is None:
            return "TimedOut" if self.error == "TimeoutError" else "CannotConnect"
        return _OUTCOMES.get(self.status, "GenericError")


def handshake_failed(url: str, reason: str) -> AcsError:
    message = f"Webhook validation handshake failed for {url}: {reason}"
    return AcsError(400, "WebhookValidationFailed", message)


class Deliverer:
    def __init__(self, settings: DeliverySettings, background: Background, log_max_entries: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self._background = background
        self._clock = clock
        self._session: aiohttp.ClientSession | None = None
        self.log: deque[dict[str, Any]] = deque(maxlen=log_max_entries)
        self.dead_letters: deque[dict[str, Any]] = deque(maxlen=log_max_entries)

    def attach(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    def reset(self) -> None:
        self.log.clear()
        self.dead_letters.clear()

    def _timeout(self) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=self.settings.timeout_seconds)

    async def handshake(self, subscription: Subscription) -> None:
        """Raise (400 WebhookValidationFailed) unless the subscriber allows Event Grid's origin."""
        assert self._session is not None, "deliverer not attached to a client session"
        url = subscription.endpoint_url
        try:
            async with self._session.options(
                url, headers={"WebHook-Request-Origin": REQUEST_ORIGIN}, timeout=self._timeout()
            ) as response:
                status, allowed = response.status, response.headers.get("WebHook-Allowed-Origin")
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._record(subscription, None, "Validation", 0, Attempt(None, type(exc).__name__))
            raise handshake_failed(url, f"the endpoint could not be reached ({type(exc).__name__})") from None
        self._record(subscription, None, "Validation", 0, Attempt(status, None))
        if status != 200:
            raise handshake_failed(url, f"OPTIONS answered {status}, not 200")
        if allowed is None or allowed.strip().lower() not in (REQUEST_ORIGIN, "*"):
            raise handshake_failed(
                url, f"WebHook-Allowed-Origin was {allowed!r}, not {REQUEST_ORIGIN!r} or '*'"
            )

    def enqueue(self, subscription: Subscription, event: dict[str, Any], publish_time: str) -> None:
        self._background.spawn(self._deliver(subscription, event, publish_time))

    async def _deliver(self, subscription: Subscription, event: dict[str, Any], publish_time: str) -> None:
        started = self._clock()
        async with subscription.first_attempts:
            if subscription.deleted:
                return
            attempt = await self._post(subscription, event, 0)
        attempts = 1
        policy = subscription.retry_policy
        while not attempt.succeeded:
            if not attempt.retriable:
                self._dead_letter(subscription, event, publish_time, "NonRetriableError", attempts, attempt)
                return
            if attempts >= policy.max_delivery_attempts:
                self._dead_letter(subscription, event, publish_time, "MaxDeliveryAttemptsExceeded",
                                  attempts, attempt)
                return
            factor = self.settings.retry_factor
            delay = retry_delay(attempts, factor)
            ttl_left = policy.event_ttl_minutes * 60 * factor - (self._clock() - started)
            if delay >= ttl_left:
                await asyncio.sleep(max(ttl_left, 0))
                self._dead_letter(subscription, event, publish_time, "TimeToLiveExceeded", attempts, attempt)
                return
            await asyncio.sleep(delay)
            if subscription.deleted:
                return
            attempt = await self._post(subscription, event, attempts)
            attempts += 1

    async def _post(self, subscription: Subscription, event: dict[str, Any], delivery_count: int) -> Attempt:
        assert self._session is not None, "deliverer not attached to a client session"
        headers = {
            "Content-Type": DELIVERY_CONTENT_TYPE,
            "aeg-event-type": "Notification",
            "aeg-subscription-name": subscription.name.upper(),
            "aeg-delivery-count": str(delivery_count),
            "aeg-metadata-version": "1",
            "aeg-output-event-id": str(event["id"]),
        }
        try:
            async with self._session.post(
                subscription.endpoint_url, data=json.dumps(event).encode("utf-8"), headers=headers,
                timeout=self._timeout(),
            ) as response:
                await response.read()
                attempt = Attempt(response.status, None)
        except (aiohttp.ClientError, TimeoutError) as exc:
            logger.warning("topic delivery to %s failed: %s", subscription.name, type(exc).__name__)
            attempt = Attempt(None, type(exc).__name__)
        self._record(subscription, event, "Notification", delivery_count, attempt)
        return attempt

    def _record(self, subscription: Subscription, event: dict[str, Any] | None, kind: str,
                delivery_count: int, attempt: Attempt) -> None:
        self.log.append({
            "time": timestamp(),
            "subscription": subscription.name,
            "url": subscription.endpoint_url,
            "aegEventType": kind,
            "eventId": event["id"] if event else None,
            "eventType": event["type"] if event else None,
            "subject": event.get("subject") if event else None,
            "deliveryCount": delivery_count,
            "status": attempt.status,
            "error": attempt.error,
        })

    def _dead_letter(self, subscription: Subscription, event: dict[str, Any], publish_time: str,
                     reason: str, attempts: int, last: Attempt) -> None:
        logger.warning("topic event %s dead-lettered for %s: %s", event["id"], subscription.name, reason)
        self.dead_letters.append({
            "subscription": subscription.name,
            "event": event,
            "deadLetterReason": reason,
            "deliveryAttempts": attempts,
            "lastDeliveryOutcome": last.outcome,
            "lastHttpStatusCode": last.status,
            "publishTime": publish_time,
            "lastDeliveryAttemptTime": timestamp(),
        })
