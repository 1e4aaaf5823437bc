"""CallMedia_Recognize for DTMF: an optional prompt, then tones collected from one participant
until max tones, a stop tone, or a silence timeout (dtmf.py decides; this module keeps time)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from emulator.acs import mediacodes
from emulator.acs.dtmf import TONES, DtmfCollector, Outcome
from emulator.acs.media import finish, optional_bool, require_participant, start
from emulator.acs.mediaqueue import Body, MediaOperation, Phase
from emulator.acs.midcall import require_established
from emulator.acs.models import CallConnection
from emulator.acs.prompts import PlaySource, parse_source, parse_sources, reject_unknown, require_speech
from emulator.acs.validation import callback_uri, optional_int, optional_string, require_object
from emulator.common.errors import invalid_argument
from emulator.services import Services

_REQUEST_FIELDS = {
    "recognizeInputType",
    "playPrompt",
    "playPrompts",
    "interruptCallMediaOperation",
    "recognizeOptions",
    "operationContext",
    "operationCallbackUri",
}
_OPTIONS_FIELDS = {
    "interruptPrompt",
    "initialSilenceTimeoutInSeconds",
    "targetParticipant",
    "speechLanguage",
    "speechRecognitionModelEndpointId",
    "dtmfOptions",
    "choices",
    "speechOptions",
}
_DTMF_FIELDS = {"interToneTimeoutInSeconds", "maxTonesToCollect", "stopTones"}
_INPUT_TYPES = ("dtmf", "speech", "speechOrDtmf", "choices")
# ACS's defaults when the request leaves them out (MicrosoftDocs/azure-docs, the recognize
# how-to's "Technical specifications": InterToneTimeout 2 s, InitialSilenceTimeout 5 s,
# InterruptPrompt true; MaxTonesToCollect has no default and is required).
DEFAULT_INITIAL_SILENCE_SECONDS = 5
DEFAULT_INTER_TONE_SECONDS = 2


@dataclass(frozen=True)
class RecognizeRequest:
    prompts: list[PlaySource]
    initial_silence_seconds: int
    inter_tone_seconds: int
    max_tones: int
    stop_tones: frozenset[str]


def recognize(services: Services, connection: CallConnection, body: Any) -> None:
    body = require_object(body)
    require_established(connection)
    reject_unknown(body, _REQUEST_FIELDS, "")
    input_type = body.get("recognizeInputType")
    if input_type is None:
        raise invalid_argument("The recognizeInputType field is required.")
    if input_type not in _INPUT_TYPES:
        raise invalid_argument(f"The field recognizeInputType must be one of: {', '.join(_INPUT_TYPES)}.")
    if input_type != "dtmf":
        # The emulator hears keys, not speech: refused loudly rather than never completing.
        raise invalid_argument(f"The emulator recognizes dtmf only, not recognizeInputType {input_type}.")
    prompts = _prompts(body)
    require_speech(prompts, connection.cognitive_services_endpoint)
    options = body.get("recognizeOptions")
    if not isinstance(options, dict):
        raise invalid_argument("The recognizeOptions field is required and must be an object.")
    reject_unknown(options, _OPTIONS_FIELDS, "recognizeOptions")
    if options.get("targetParticipant") is None:
        raise invalid_argument("The recognizeOptions.targetParticipant field is required.")
    target = require_participant(
        connection, options["targetParticipant"], "recognizeOptions.targetParticipant"
    )
    silence = optional_int(options, "initialSilenceTimeoutInSeconds", 0, 300)
    request = _dtmf_request(options.get("dtmfOptions"), prompts, silence)
    operation = MediaOperation(
        "recognize",
        optional_string(body, "operationContext"),
        callback_uri(body, "operationCallbackUri", required=False),
        _recognize_body(services, connection, request),
        target=target,
        interrupt_prompt=_interrupt_prompt(options),
    )
    start(services, connection, operation, optional_bool(body, "interruptCallMediaOperation"))


def _interrupt_prompt(options: dict[str, Any]) -> bool:
    if options.get("interruptPrompt") is None:
        return True
    return optional_bool(options, "interruptPrompt", "recognizeOptions.")


def _prompts(body: dict[str, Any]) -> list[PlaySource]:
    single, several = body.get("playPrompt"), body.get("playPrompts")
    if single is not None and several is not None:
        raise invalid_argument("Give playPrompt or playPrompts, not both.")
    if single is not None:
        return [parse_source(single, "playPrompt")]
    return parse_sources(several, "playPrompts") if several is not None else []


def _dtmf_request(value: Any, prompts: list[PlaySource], silence: int | None) -> RecognizeRequest:
    if not isinstance(value, dict):
        raise invalid_argument(
            "The field recognizeOptions.dtmfOptions is required for dtmf and must be an object."
        )
    dtmf: dict[str, Any] = value
    reject_unknown(dtmf, _DTMF_FIELDS, "recognizeOptions.dtmfOptions")
    inter_tone = optional_int(dtmf, "interToneTimeoutInSeconds", 1, 60)
    max_tones = optional_int(dtmf, "maxTonesToCollect", 1, 2**31 - 1)
    if max_tones is None:
        raise invalid_argument("The field recognizeOptions.dtmfOptions.maxTonesToCollect is required.")
    stop_tones = dtmf.get("stopTones") or []
    # A tone is checked as a string first: an object or a list is not hashable (set lookup).
    if not isinstance(stop_tones, list) or not all(
        isinstance(tone, str) and tone in TONES for tone in stop_tones
    ):
        raise invalid_argument(
            "The field recognizeOptions.dtmfOptions.stopTones must list tones such as pound or asterisk."
        )
    return RecognizeRequest(
        prompts,
        DEFAULT_INITIAL_SILENCE_SECONDS if silence is None else silence,
        DEFAULT_INTER_TONE_SECONDS if inter_tone is None else inter_tone,
        max_tones,
        frozenset(stop_tones),
    )


def _recognize_body(services: Services, connection: CallConnection, request: RecognizeRequest) -> Body:
    async def run(operation: MediaOperation) -> None:
        collector = DtmfCollector(
            request.max_tones, request.stop_tones, services.media.inter_tone_timeout_event
        )
        outcome = await _prompt(services, operation, request, collector)
        if outcome is None:
            operation.phase = Phase.COLLECTING
            outcome = await _collect(services, operation, request, collector)
        finish(services, connection, operation, outcome.event_type, outcome.result, outcome.fields())

    return run


async def _prompt(
    services: Services, operation: MediaOperation, request: RecognizeRequest, collector: DtmfCollector
) -> Outcome | None:
    """Play the prompts; a tone cuts them short when `interruptPrompt` let it through (tones
    pressed during a prompt that cannot be interrupted are not heard: mediaqueue.hears)."""
    for index, source in enumerate(request.prompts):
        prompt = await services.prompts.resolve(source)
        if prompt.failure is not None:
            return Outcome("RecognizeFailed", mediacodes.PROMPT_FAILED, failed_index=index)
        try:
            tone = await asyncio.wait_for(operation.tones.get(), services.media.scaled(prompt.seconds))
        except TimeoutError:
            continue
        operation.phase = Phase.COLLECTING
        return collector.feed(tone)
    return None


async def _collect(
    services: Services, operation: MediaOperation, request: RecognizeRequest, collector: DtmfCollector
) -> Outcome:
    while True:
        seconds = request.inter_tone_seconds if collector.tones else request.initial_silence_seconds
        try:
            tone = await asyncio.wait_for(operation.tones.get(), services.media.scaled(seconds))
        except TimeoutError:
            return collector.timed_out()
        outcome = collector.feed(tone)
        if outcome is not None:
            return outcome
