"""The ACS Call Automation gateway: the only module that talks to ACS, through the official SDK.

It converts our identifiers to the SDK's, bounds every request in time, passes an idempotency key
on as the ACS `Repeatability-Request-ID`, and translates SDK errors into the app's vocabulary
(the conversions and the error table: acs_wire.py). Nothing from azure.core escapes this module.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from azure.communication.callautomation import (
    PhoneNumberIdentifier,
    RecognizeInputType,
)
from azure.communication.callautomation.aio import CallAutomationClient, CallConnectionClient
from azure.core.credentials import AzureKeyCredential
from azure.core.credentials_async import AsyncTokenCredential

from callcontrol.adapters.acs_wire import (
    call_from_sdk,
    participant_from_sdk,
    play_source,
    status_and_code,
    to_sdk_identifier,
    translate_error,
)
from callcontrol.adapters.http_environment import transport_options
from callcontrol.adapters.telemetry.dependencies import client_options
from callcontrol.domain.callback_binding import callback_uri
from callcontrol.domain.errors import (
    NotFound,
)
from callcontrol.domain.flows.prompts import KEY_TONES, Prompt
from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.models import AcsCall, AddParticipantOutcome, Participant
from callcontrol.observability import telemetry

logger = logging.getLogger(__name__)
T = TypeVar("T")

class AcsGateway:
    def __init__(
        self,
        client: CallAutomationClient,
        *,
        callback_url: str,
        timeout_seconds: float = 10.0,
        cognitive_services_endpoint: str | None = None,
    ) -> None:
        self._client = client
        self._callback_url = callback_url
        self._timeout = timeout_seconds
        # Named on every answer and create: ACS speaks a call's text prompts with this resource
        # (None: the SDK sends no callIntelligenceOptions).
        self._speech_endpoint = cognitive_services_endpoint or None

    @property
    def callback_url(self) -> str:
        return self._callback_url

    async def _run(self, action: str, operation: Callable[[], Awaitable[T]]) -> T:
        """One ACS action: its span (azure-core's request spans inside), failures translated,
        described with ACS's own code and counted."""
        observed = telemetry()
        with observed.span(f"ACS {action}", {"acs.action": action}) as span:
            try:
                return await asyncio.wait_for(operation(), self._timeout)
            except Exception as exc:
                translated = translate_error(exc, action)
                if translated is exc:
                    raise
                status, code = status_and_code(exc)
                span.fail(str(translated), {"acs.status": status or 0, "acs.code": code or ""})
                observed.metrics.acs_error(action=action, status=status, code=code)
                # GetCall of a call ACS has dropped is its answer for every ended call, not news.
                gone = action == "get call" and isinstance(translated, NotFound)
                logger.log(logging.DEBUG if gone else logging.INFO, "ACS %s failed: %s",
                           action, translated)
                raise translated from exc

    @staticmethod
    def _headers(repeatability_id: str | None) -> dict[str, Any]:
        return {"headers": {"Repeatability-Request-ID": repeatability_id}} if repeatability_id else {}

    def _connection(self, call_connection_id: str) -> CallConnectionClient:
        # Shares the parent client's pipeline: nothing to open or close per call.
        return self._client.get_call_connection(call_connection_id)

    # --- inbound calls --------------------------------------------------------------------

    def _callback_for(self, secret: str | None) -> str:
        """The call's own callback URI: the sink with the call's secret (see domain
        callback_binding), or the bare sink."""
        return callback_uri(self._callback_url, secret) if secret else self._callback_url

    async def answer(
        self, incoming_call_context: str, *, operation_context: str | None = None,
        repeatability_id: str | None = None, callback_secret: str | None = None,
    ) -> AcsCall:
        props = await self._run(
            "answer",
            lambda: self._client.answer_call(
                incoming_call_context, self._callback_for(callback_secret),
                operation_context=operation_context,
                cognitive_services_endpoint=self._speech_endpoint,
                **self._headers(repeatability_id),
            ),
        )
        return call_from_sdk(props)

    async def reject(
        self, incoming_call_context: str, reason: str, *, repeatability_id: str | None = None
    ) -> None:
        await self._run(
            "reject",
            lambda: self._client.reject_call(
                incoming_call_context, call_reject_reason=reason, **self._headers(repeatability_id)
            ),
        )

    async def redirect(
        self, incoming_call_context: str, target: Identifier, *,
        repeatability_id: str | None = None,
    ) -> None:
        await self._run(
            "redirect",
            lambda: self._client.redirect_call(
                incoming_call_context, to_sdk_identifier(target), **self._headers(repeatability_id)
            ),
        )

    # --- outbound calls -------------------------------------------------------------------

    async def create_call(
        self,
        targets: list[Identifier],
        *,
        caller_id: str | None,
        display_name: str | None,
        operation_context: str | None,
        repeatability_id: str | None = None,
        callback_secret: str | None = None,
    ) -> AcsCall:
        sdk_targets = [to_sdk_identifier(t) for t in targets]
        callback = self._callback_for(callback_secret)
        options: dict[str, Any] = {
            "source_caller_id_number": PhoneNumberIdentifier(caller_id) if caller_id else None,
            "source_display_name": display_name,
            "operation_context": operation_context,
            "cognitive_services_endpoint": self._speech_endpoint,
            **self._headers(repeatability_id),
        }
        # One target is a 1:1 call, a list a group call (create_group_call is deprecated).
        target: Any = sdk_targets[0] if len(sdk_targets) == 1 else sdk_targets
        props = await self._run(
            "create call", lambda: self._client.create_call(target, callback, **options)
        )
        return call_from_sdk(props)

    # --- mid-call actions -----------------------------------------------------------------

    async def get_call_properties(self, call_connection_id: str) -> AcsCall:
        connection = self._connection(call_connection_id)
        return call_from_sdk(await self._run("get call", connection.get_call_properties))

    async def hang_up(
        self, call_connection_id: str, *, for_everyone: bool, repeatability_id: str | None = None
    ) -> None:
        connection = self._client.get_call_connection(call_connection_id)
        # Repeatability headers belong to the POST (terminate); the DELETE never carries them.
        headers = self._headers(repeatability_id) if for_everyone else {}
        await self._run("hang up", lambda: connection.hang_up(for_everyone, **headers))

    async def transfer(
        self,
        call_connection_id: str,
        target: Identifier,
        *,
        transferee: Identifier | None,
        caller_id: str | None,
        operation_context: str,
        repeatability_id: str | None = None,
    ) -> None:
        connection = self._connection(call_connection_id)
        await self._run(
            "transfer",
            lambda: connection.transfer_call_to_participant(
                to_sdk_identifier(target),
                operation_context=operation_context,
                transferee=to_sdk_identifier(transferee) if transferee else None,
                source_caller_id_number=PhoneNumberIdentifier(caller_id) if caller_id else None,
                **self._headers(repeatability_id),
            ),
        )

    async def list_participants(self, call_connection_id: str) -> list[Participant]:
        async def collect() -> list[Participant]:
            connection = self._connection(call_connection_id)
            return [participant_from_sdk(p) async for p in connection.list_participants()]

        return await self._run("list participants", collect)

    async def get_participant(self, call_connection_id: str, who: Identifier) -> Participant:
        connection = self._connection(call_connection_id)
        found = await self._run(
            "get participant", lambda: connection.get_participant(to_sdk_identifier(who))
        )
        return participant_from_sdk(found)

    async def add_participant(
        self,
        call_connection_id: str,
        who: Identifier,
        *,
        caller_id: str | None,
        invitation_timeout: int | None,
        operation_context: str,
        repeatability_id: str | None = None,
    ) -> AddParticipantOutcome:
        connection = self._connection(call_connection_id)
        result = await self._run(
            "add participant",
            lambda: connection.add_participant(
                to_sdk_identifier(who),
                invitation_timeout=invitation_timeout,
                operation_context=operation_context,
                source_caller_id_number=PhoneNumberIdentifier(caller_id) if caller_id else None,
                **self._headers(repeatability_id),
            ),
        )
        return AddParticipantOutcome(
            invitation_id=result.invitation_id,
            participant=participant_from_sdk(result.participant) if result.participant else None,
            operation_context=result.operation_context,
        )

    async def remove_participant(
        self, call_connection_id: str, who: Identifier, *, operation_context: str,
        repeatability_id: str | None = None,
    ) -> None:
        connection = self._connection(call_connection_id)
        await self._run(
            "remove participant",
            lambda: connection.remove_participant(
                to_sdk_identifier(who), operation_context=operation_context,
                **self._headers(repeatability_id),
            ),
        )

    async def mute_participant(
        self, call_connection_id: str, who: Identifier, *, operation_context: str,
        repeatability_id: str | None = None,
    ) -> None:
        connection = self._connection(call_connection_id)
        await self._run(
            "mute participant",
            lambda: connection.mute_participant(
                to_sdk_identifier(who), operation_context=operation_context,
                **self._headers(repeatability_id),
            ),
        )

    async def cancel_add_participant(
        self, call_connection_id: str, invitation_id: str, *, operation_context: str,
        repeatability_id: str | None = None,
    ) -> None:
        connection = self._connection(call_connection_id)
        await self._run(
            "cancel add participant",
            lambda: connection.cancel_add_participant_operation(
                invitation_id, operation_context=operation_context,
                **self._headers(repeatability_id),
            ),
        )

    # --- media (CallMedia_*: no Repeatability-Request-ID in the swagger, so none is sent) ------

    async def play_media(self, call_connection_id: str, prompt: Prompt, *, operation_context: str) -> None:
        connection = self._connection(call_connection_id)
        await self._run("play", lambda: connection.play_media(
            play_source(prompt), "all", operation_context=operation_context))

    async def recognize_dtmf(
        self, call_connection_id: str, target: Identifier, *, prompt: Prompt, max_tones: int,
        initial_silence_seconds: int, inter_tone_seconds: int, operation_context: str,
        stop_tones: str = "",
    ) -> None:
        connection = self._connection(call_connection_id)
        await self._run("recognize", lambda: connection.start_recognizing_media(
            RecognizeInputType.DTMF, to_sdk_identifier(target), play_prompt=play_source(prompt),
            interrupt_prompt=True, initial_silence_timeout=initial_silence_seconds,
            dtmf_inter_tone_timeout=inter_tone_seconds, dtmf_max_tones_to_collect=max_tones,
            dtmf_stop_tones=[KEY_TONES[key] for key in stop_tones] or None,
            operation_context=operation_context))

    async def cancel_all_media(self, call_connection_id: str) -> None:
        connection = self._connection(call_connection_id)
        await self._run("cancel media", connection.cancel_all_media_operations)

    async def close(self) -> None:
        await self._client.close()


def connect_gateway(endpoint: str, *, access_key: str | None, callback_url: str,
                    timeout_seconds: float,
                    token_credential: AsyncTokenCredential | None = None,
                    cognitive_services_endpoint: str | None = None) -> AcsGateway:
    """Key credential when an access key is given, the given token credential otherwise.

    The client is built from endpoint + credential, never from a connection string, because
    `from_connection_string` silently turns an http endpoint (the local emulator) into https.
    """
    credential: Any
    if access_key:
        credential = AzureKeyCredential(access_key)
    else:
        if token_credential is None:
            raise ValueError("an ACS gateway needs an access key or a token credential")
        credential = token_credential
    client = CallAutomationClient(endpoint, credential, retry_total=2, retry_backoff_max=4,
                                  **client_options(), **transport_options())
    return AcsGateway(client, callback_url=callback_url, timeout_seconds=timeout_seconds,
                      cognitive_services_endpoint=cognitive_services_endpoint)
