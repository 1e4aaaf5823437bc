"""Reading an invitation's end (AddParticipantFailed's resultInformation) as a ring outcome, and a
recognize's failure as a menu outcome.

ACS documents its codes as call-end codes, not per AddParticipantFailed scenario (the contract
marks these mappings as inferred), so the reading is generous: anything it does not recognise is
`failed`, which a flow routes like any other failure. A PSTN callee's voicemail may answer a
declined call; ACS then reports success, and no code can tell.
"""

from __future__ import annotations

from typing import Final

from callcontrol.domain.flows.model import RingFailure
from callcontrol.domain.flows.prompts import MenuFailure

_DECLINED_CODES: Final = frozenset({603})
_BUSY_CODES: Final = frozenset({486, 600})
_NO_ANSWER_CODES: Final = frozenset({480})  # offline / not registered: nobody there to answer
_DECLINED_SUBCODES: Final = frozenset({8538})
_BUSY_SUBCODES: Final = frozenset({8539, 8540, 560486})  # busy, busy everywhere, PSTN busy
_NO_ANSWER_SUBCODES: Final = frozenset({10004})  # 487: not answered within the invitation timeout
# The inviting side gave up: 487 "canceled by the caller" (subcode 0 or 540487), 8542 "call
# canceled", 8543 "call doesn't exist" (contract §8). Our own cancels are told apart by the run
# (the invitation is `cancelling`); on one still ringing it is the call ending under it.
_CALL_GONE_SUBCODES: Final = frozenset({8542, 8543})
_CANCELED_CODE: Final = 487
_CANCELED_SUBCODES: Final = frozenset({0, 540487})


def ring_failure(code: int | None, sub_code: int | None) -> RingFailure:
    if sub_code in _DECLINED_SUBCODES or code in _DECLINED_CODES:
        return RingFailure.DECLINED
    if sub_code in _BUSY_SUBCODES or code in _BUSY_CODES:
        return RingFailure.BUSY
    if sub_code in _NO_ANSWER_SUBCODES or code in _NO_ANSWER_CODES:
        return RingFailure.NO_ANSWER
    return RingFailure.FAILED


def ended_by_call(code: int | None, sub_code: int | None) -> bool:
    """Whether an invitation's end says the call it rang for went away (not the callee)."""
    return sub_code in _CALL_GONE_SUBCODES or (code == _CANCELED_CODE and sub_code in _CANCELED_SUBCODES)


# ACS's MediaEventReasonCode subcodes on RecognizeFailed: no key before the initial silence
# timeout; an entry cut short by the inter-digit timeout. Anything else (8511 the prompt
# failed, a download or format failure) is a failure of the menu itself.
_NO_INPUT_SUBCODES: Final = frozenset({8510})
_INVALID_SUBCODES: Final = frozenset({8532})


def menu_failure(sub_code: int | None) -> MenuFailure:
    if sub_code in _NO_INPUT_SUBCODES:
        return MenuFailure.NO_INPUT
    if sub_code in _INVALID_SUBCODES:
        return MenuFailure.INVALID
    return MenuFailure.FAILED
