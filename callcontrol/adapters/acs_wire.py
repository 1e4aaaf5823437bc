"""What the gateway says to the SDK and hears back: our identifiers and prompts as the SDK's
types, the SDK's call and participant models as ours, and SDK errors in the app's vocabulary:
8522 → CallGone (a NotFound), another 404 → NotFound; 8501/8528 (call not established / already
ended) → Conflict; other 4xx → AcsRejected carrying ACS's code; 429/5xx (after the SDK's own
retries) and timeouts → AcsUnavailable. Used by acs_gateway.py only (loaded with it, on first use).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from azure.communication.callautomation import (
    CallConnectionProperties,
    CallParticipant,
    FileSource,
    SsmlSource,
    TextSource,
)
from azure.communication.callautomation._shared.models import identifier_from_raw_id
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

from callcontrol.domain.errors import (
    AcsErrorInfo,
    AcsRejected,
    AcsUnavailable,
    CallGone,
    Conflict,
    NotFound,
)
from callcontrol.domain.flows.prompts import Prompt, PromptKind
from callcontrol.domain.identifiers import Identifier, from_raw_id
from callcontrol.domain.models import AcsCall, CallState, Participant

logger = logging.getLogger("callcontrol.adapters.acs_gateway")  # one logger for the gateway's records

# ACS codes for "the call is not in a state that allows this" (contract §8).
_STATE_CONFLICT_CODES = {"8501", "8528"}
_GONE_CODES = {"8522"}


def to_sdk_identifier(identifier: Identifier) -> Any:
    return identifier_from_raw_id(identifier.raw_id)


def play_source(prompt: Prompt) -> FileSource | TextSource | SsmlSource:
    """A flow's prompt as the SDK's play source (text: ACS speaks it with Azure AI services)."""
    if prompt.kind is PromptKind.FILE:
        return FileSource(prompt.value)
    if prompt.kind is PromptKind.TEXT:
        return TextSource(text=prompt.value, voice_name=prompt.voice, source_locale=prompt.language)
    return SsmlSource(ssml_text=prompt.value)


def participant_from_sdk(item: CallParticipant) -> Participant:
    return Participant(
        identifier=from_raw_id(item.identifier.raw_id if item.identifier else ""),
        is_muted=bool(item.is_muted),
        is_on_hold=bool(getattr(item, "is_on_hold", False)),
    )


def call_from_sdk(props: CallConnectionProperties) -> AcsCall:
    state_value = str(getattr(props.call_connection_state, "value", props.call_connection_state))
    try:
        state = CallState(state_value)
    except ValueError:
        state = CallState.UNKNOWN
    caller = props.source_caller_id_number
    return AcsCall(
        call_connection_id=props.call_connection_id or "",
        server_call_id=props.server_call_id,
        correlation_id=props.correlation_id,
        state=state,
        targets=tuple(from_raw_id(t.raw_id) for t in props.targets or []),
        source=from_raw_id(props.source.raw_id) if props.source else None,
        source_caller_id=caller.properties.get("value") if caller else None,
        source_display_name=props.source_display_name,
        answered_by=props.answered_by.raw_id if props.answered_by else None,
    )


def translate_error(exc: Exception, action: str) -> Exception:
    if isinstance(exc, asyncio.TimeoutError | ServiceRequestError | ServiceResponseError):
        return AcsUnavailable(f"ACS did not answer {action} in time")
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 500
        code = str(exc.error.code) if exc.error is not None and exc.error.code else None
        message = (exc.error.message if exc.error is not None else None) or exc.reason or ""
        info = AcsErrorInfo(status=status, code=code, message=str(message))
        if status == 429 or status >= 500:
            wait = retry_after_seconds(exc)
            return AcsUnavailable(
                f"ACS is unavailable for {action} (HTTP {status})", retry_after_seconds=wait
            )
        if code in _GONE_CODES:
            return CallGone(f"ACS: {message or 'call not found'} ({action})")
        if isinstance(exc, ResourceNotFoundError):
            return NotFound(f"ACS: {message or 'call not found'} ({action})")
        if code in _STATE_CONFLICT_CODES:
            reason = "the call is not established" if code == "8501" else "the call has ended"
            return Conflict(f"ACS refused {action}: {reason} ({message}, code {code})")
        return AcsRejected(f"ACS refused {action}: {message}", info)
    if isinstance(exc, AzureError):
        # The SDK's message names hosts and ports: it goes to the log, not to the client.
        logger.info("ACS %s failed: %s", action, exc.message)  # the log filter redacts
        return AcsUnavailable(f"ACS request for {action} failed")
    return exc


def status_and_code(exc: Exception) -> tuple[int | None, str | None]:
    """HTTP status and ACS's error code of a failed request (None, None for a timeout)."""
    if not isinstance(exc, HttpResponseError):
        return None, None
    code = str(exc.error.code) if exc.error is not None and exc.error.code else None
    return exc.status_code, code


def retry_after_seconds(exc: HttpResponseError) -> int:
    response: Any = exc.response
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(1, int(header)) if header else 5
    except ValueError:
        return 5
