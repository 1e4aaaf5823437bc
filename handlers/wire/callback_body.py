"""The callback request body: JSON bytes in, typed callback events out.

`CallbackBatch` describes the body for the OpenAPI document only; `parse_callback_body` (the
domain's parser) is what reads it, and the models state the same requirements.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, RootModel

from callcontrol.domain.events.callbacks import ACS_TYPE_PREFIX, CallbackEvent, parse_callback_events
from handlers.wire.json_body import decode_json

NonEmpty = Annotated[str, Field(min_length=1)]


class CallbackEventData(BaseModel):
    """`data` of an ACS callback; members besides callConnectionId depend on the type."""

    model_config = ConfigDict(extra="allow")
    callConnectionId: NonEmpty
    serverCallId: str | None = None
    correlationId: str | None = None
    operationContext: str | None = None
    participants: list[dict[str, Any]] | None = Field(
        default=None, description="required (an array) in ParticipantsUpdated")


class CloudEventIn(BaseModel):
    """One CloudEvent (1.0) as ACS posts it; unknown types are stored and otherwise ignored."""

    model_config = ConfigDict(extra="allow")
    id: NonEmpty
    type: NonEmpty = Field(examples=[f"{ACS_TYPE_PREFIX}CallConnected"])
    source: str | None = None
    specversion: str | None = None
    subject: str | None = None
    time: str | None = Field(default=None, description="RFC 3339 timestamp")
    data: CallbackEventData


class CallbackBatch(RootModel[list[CloudEventIn]]):
    """The callback body: a JSON array of at least one CloudEvent, applied all or nothing."""

    root: Annotated[list[CloudEventIn], Field(min_length=1)]


def parse_callback_body(body: bytes) -> list[CallbackEvent]:
    """A JSON array of CloudEvents, all or nothing (InvalidInput names the bad field)."""
    return parse_callback_events(decode_json(body))
