"""How an attempt to reach one callee ended: the outcome and the resultInformation ACS sends.

Its own module so that the network (phone.py) and the legs ringing on it (ringing.py) both use
it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class LegOutcome:
    """How an attempt to reach one endpoint ended, with the resultInformation ACS would send."""

    answered: bool
    code: int
    sub_code: int
    message: str

    def result(self) -> dict[str, Any]:
        return {"code": self.code, "subCode": self.sub_code, "message": self.message}


# Call-end codes from the contract §8; which pair ACS uses per scenario is an inference there.
ANSWERED = LegOutcome(True, 200, 0, "Action completed successfully.")
DECLINED = LegOutcome(False, 603, 0, "Call declined by the remote party.")
BUSY = LegOutcome(False, 486, 560486, "The callee is busy.")
NOT_ANSWERED = LegOutcome(False, 487, 10004, "The call was not answered in time.")
UNREACHABLE = LegOutcome(False, 480, 10037, "The callee is not reachable.")
CANCELED = LegOutcome(False, 487, 0, "The call was canceled by the caller.")
FORBIDDEN = LegOutcome(False, 403, 0, "The call was rejected.")


# Why a callee did not take the call, as the control API names it (decline's `reason`).
DECLINE_REASONS: dict[str, LegOutcome] = {
    "declined": DECLINED,
    "busy": BUSY,
    "noAnswer": NOT_ANSWERED,
    "unreachable": UNREACHABLE,
}


def outcome_name(outcome: LegOutcome) -> str:
    if outcome.answered:
        return "answered"
    for reason, known in DECLINE_REASONS.items():
        if known == outcome:
            return reason
    return "canceled" if outcome == CANCELED else "failed"
