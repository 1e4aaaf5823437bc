"""AddParticipantFailed's resultInformation read as a ring outcome (contract §8 codes)."""

from __future__ import annotations

import pytest

from callcontrol.domain.flows import RingFailure, ring_failure


@pytest.mark.parametrize(
    ("code", "sub_code", "outcome"),
    [(603, 0, RingFailure.DECLINED), (403, 8538, RingFailure.DECLINED),
     (486, 560486, RingFailure.BUSY), (486, 0, RingFailure.BUSY), (600, None, RingFailure.BUSY),
     (480, 8540, RingFailure.BUSY),
     (487, 10004, RingFailure.NO_ANSWER), (480, 10037, RingFailure.NO_ANSWER),
     (408, 10057, RingFailure.FAILED), (487, 0, RingFailure.FAILED), (500, 8500, RingFailure.FAILED),
     (None, None, RingFailure.FAILED)],
)
def test_result_codes(code: int | None, sub_code: int | None, outcome: RingFailure) -> None:
    assert ring_failure(code, sub_code) is outcome
