"""What moves a play or menu step: ACS's media callbacks, read by from_callback.py.

Each carries the operationContext of the request it answers, matched against the current wait
(a redelivered RecognizeCompleted of an attempt already handled finds the run moved on). The
digits pressed travel only as far as the engine, which records the choice they make.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from callcontrol.domain.flows.prompts import MenuFailure


@dataclass(frozen=True)
class PromptPlayed:
    """PlayCompleted."""

    context: str


@dataclass(frozen=True)
class PromptFailed:
    """PlayFailed or PlayCanceled (the prompt did not play to its end)."""

    context: str


@dataclass(frozen=True)
class DigitsPressed:
    """RecognizeCompleted with DTMF tones, as the characters a choice is written in."""

    context: str
    digits: str = field(repr=False)  # personal data: never in a repr, a log or the path


@dataclass(frozen=True)
class RecognizeEnded:
    """RecognizeFailed / RecognizeCanceled (or a RecognizeCompleted with no tones), read as a
    menu failure (outcomes.py `menu_failure`)."""

    context: str
    failure: MenuFailure


MediaEvent = PromptPlayed | PromptFailed | DigitsPressed | RecognizeEnded
