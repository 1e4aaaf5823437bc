"""ACS's Event Grid system topic: IncomingCall to the app's webhook, in the Event Grid schema.

First the SubscriptionValidation handshake, then the notifications ACS hands over.

Delivery follows the webhook contract (§6): a JSON array per POST, ``aeg-*`` headers, success
only on 200-204, no retry on 400/401/403/413, otherwise redelivery on Event Grid's schedule
multiplied by a compression factor.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from emulator.common.background import Background
from emulator.common.timestamps import timestamp
from emulator.eventgrid.retry import NO_RETRY_STATUSES, SUCCESS_STATUSES, retry_delay

logger = logging.getLogger(__name__)

VALIDATION_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent"


class WebhookValidationFailed(Exception):
    """The webhook did not complete the SubscriptionValidation handshake."""


@dataclass
class DeliverySettings:
    retry_factor: float
    max_attempts: int


class EventGridPublisher:
    def __init__(
        self,
        webhook: Callable[[], str | None],
        subscription_name: str,
        settings: DeliverySettings,
        validation_url: Callable[[str], str],
        background: Background,
        timeout_seconds: float = 30.0,
        log_max_entries: int = 5000,
    ) -> None:
        self._webhook = webhook
        self._subscription_name = subscription_name
        self.settings = settings
        self._validation_url = validation_url
        self._background = background
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._validated: set[str] = set()
        # Codes of handshakes the webhook did not answer, still confirmable by the validationUrl;
        # the oldest are dropped beyond the bound.
        self._pending_codes: OrderedDict[str, str] = OrderedDict()
        self._max_pending_codes = log_max_entries
        self._validation_lock = asyncio.Lock()
        self.log: deque[dict[str, Any]] = deque(maxlen=log_max_entries)

    def attach(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    def reset(self) -> None:
        self.log.clear()

    def is_validated(self, url: str) -> bool:
        return url in self._validated

    def confirm_manual_validation(self, code: str) -> bool:
        """The validationUrl was visited: the webhook owning that code is validated."""
        url = self._pending_codes.pop(code, None)
        if url is None:
            return False
        self._validated.add(url)
        return True

    async def ensure_validated(self) -> str:
        """Run the handshake once per webhook URL; returns the validated URL."""
        url = self._webhook()
        if not url:
            raise WebhookValidationFailed("no event webhook is configured")
        async with self._validation_lock:
            if url in self._validated:
                return url
            code = str(uuid.uuid4())
            self._pending_codes[code] = url
            while len(self._pending_codes) > self._max_pending_codes:
                self._pending_codes.popitem(last=False)
            event = {
                "id": str(uuid.uuid4()),
                "topic": "/subscriptions/00000000-0000-0000-0000-000000000000",
                "subject": "",
                "data": {"validationCode": code, "validationUrl": self._validation_url(code)},
                "eventType": VALIDATION_TYPE,
                "eventTime": timestamp(),
                "metadataVersion": "1",
                "dataVersion": "1",
            }
            status, body, error = await self._post(url, event, "SubscriptionValidation", 0)
            self._record(event, url, 0, status, error, "SubscriptionValidation")
            if url in self._validated:  # validated through the validationUrl meanwhile
                return url
            if status == 200 and _echoes(body, code):
                self._pending_codes.pop(code, None)
                self._validated.add(url)
                return url
            raise WebhookValidationFailed(
                f"webhook answered the validation with {status or error}, not 200 + validationResponse"
            )

    async def publish(self, event: dict[str, Any]) -> tuple[int | None, str | None]:
        """Deliver once now; redeliver in the background when that attempt asks for a retry.

        Returns the first attempt's HTTP status (None when no HTTP answer) and error name.
        """
        url = await self.ensure_validated()
        status, _, error = await self._post(url, event, "Notification", 0)
        self._record(event, url, 0, status, error, "Notification")
        if status not in SUCCESS_STATUSES and status not in NO_RETRY_STATUSES:
            self._background.spawn(self._redeliver(url, event))
        return status, error

    async def _redeliver(self, url: str, event: dict[str, Any]) -> None:
        for attempt in range(1, self.settings.max_attempts):
            await asyncio.sleep(retry_delay(attempt, self.settings.retry_factor))
            status, _, error = await self._post(url, event, "Notification", attempt)
            self._record(event, url, attempt, status, error, "Notification")
            if status in SUCCESS_STATUSES or status in NO_RETRY_STATUSES:
                return

    async def _post(
        self, url: str, event: dict[str, Any], event_kind: str, delivery_count: int
    ) -> tuple[int | None, Any, str | None]:
        assert self._session is not None, "publisher not attached to a client session"
        headers = {
            "Content-Type": "application/json",
            "aeg-event-type": event_kind,
            "aeg-subscription-name": self._subscription_name,
            "aeg-delivery-count": str(delivery_count),
            "aeg-metadata-version": str(event.get("metadataVersion", "1")),
            "aeg-data-version": str(event.get("dataVersion", "")),
            "aeg-output-event-id": str(event["id"]),
        }
        try:
            async with self._session.post(
                url, data=json.dumps([event]), headers=headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = None
                return response.status, body, None
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logger.warning("event grid delivery failed: %s", type(exc).__name__)
            return None, None, type(exc).__name__

    def _record(
        self,
        event: dict[str, Any],
        url: str,
        delivery_count: int,
        status: int | None,
        error: str | None,
        kind: str,
    ) -> None:
        self.log.append(
            {
                "time": time.time(),
                "url": url,
                "aegEventType": kind,
                "eventId": event["id"],
                "eventType": event["eventType"],
                "deliveryCount": delivery_count,
                "status": status,
                "error": error,
            }
        )


def _echoes(body: Any, code: str) -> bool:
    return isinstance(body, dict) and body.get("validationResponse") == code
