"""Call events to an Event Grid custom topic, with azure-eventgrid's async publisher client.

Imported only when a topic is configured (the composition root imports it lazily), so an app
without EVENTGRID_TOPIC_ENDPOINT never loads azure.eventgrid. Authenticates with the app's
managed identity (role EventGrid Data Sender on the topic), or with the topic key locally.
The SDK's own retries are off: the outbox is the retry, and the call path never waits for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential
from azure.core.exceptions import AzureError
from azure.core.messaging import CloudEvent
from azure.eventgrid.aio import EventGridPublisherClient

from callcontrol.adapters.http_environment import transport_options
from callcontrol.domain.events.call_events import EVENT_SOURCE, CallEvent
from callcontrol.usecases.outbox import PublishFailed


def to_cloud_event(event: CallEvent) -> CloudEvent[Any]:
    """The CloudEvent 1.0 as published: our id, type, subject and time; the call's sequence
    number joins the data so a subscriber can order a call's events."""
    return CloudEvent(source=EVENT_SOURCE, type=event.type, subject=event.subject, id=event.id,
                      time=event.time, datacontenttype="application/json",
                      data={**event.data, "sequence": event.sequence})


class EventGridPublisher:
    def __init__(self, client: EventGridPublisherClient) -> None:
        self._client = client

    async def publish(self, events: Sequence[CallEvent]) -> None:
        try:
            await self._client.send([to_cloud_event(e) for e in events])
        except AzureError as error:
            raise PublishFailed(getattr(error, "message", None) or type(error).__name__) from error

    async def close(self) -> None:
        await self._client.close()


def connect_publisher(endpoint: str, *, access_key: str | None,
                      token_credential: AsyncTokenCredential | None,
                      timeout_seconds: float) -> EventGridPublisher:
    """Topic key when given (local emulator), else the app's token credential (Azure; chosen
    by callcontrol/adapters/credentials.py, role EventGrid Data Sender on the topic)."""
    credential: AzureKeyCredential | AsyncTokenCredential
    if access_key:
        credential = AzureKeyCredential(access_key)
    elif token_credential is not None:
        credential = token_credential
    else:
        raise ValueError("a topic key or a token credential is required")
    client = EventGridPublisherClient(endpoint, credential, retry_total=0,
                                      connection_timeout=timeout_seconds,
                                      read_timeout=timeout_seconds, **transport_options())
    return EventGridPublisher(client)
