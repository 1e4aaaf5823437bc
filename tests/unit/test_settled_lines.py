"""The log line (and so `make run`'s terminal line) of an operation a callback settled says why
a failed one failed: "settled: failed" alone hid the 486 busy of a declined add."""

from __future__ import annotations

import logging

import pytest

from callcontrol.domain.models import (
    CallRecord,
    CallState,
    Operation,
    OperationKind,
    OperationStatus,
    ResultInfo,
)
from callcontrol.usecases.callbacks import _log_applied


def _record(status: OperationStatus, result: ResultInfo | None = None) -> CallRecord:
    add = Operation("add-1", OperationKind.ADD_PARTICIPANT, status, result=result)
    return CallRecord("call-1", state=CallState.CONNECTED, operations=(add,))


def test_a_failed_operation_line_carries_its_result(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="callcontrol")
    busy = ResultInfo(486, 560486, "The callee is busy")
    _log_applied("AddParticipantFailed", _record(OperationStatus.PENDING),
                 _record(OperationStatus.FAILED, busy))
    line = next(r.getMessage() for r in caplog.records if "settled" in r.getMessage())
    assert line == ("operation addParticipant (add-1) settled: failed: "
                    "The callee is busy (code 486, subCode 560486)")


def test_a_succeeded_operation_line_stays_short(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="callcontrol")
    _log_applied("AddParticipantSucceeded", _record(OperationStatus.PENDING),
                 _record(OperationStatus.SUCCEEDED, ResultInfo(200, 0, "ok")))
    line = next(r.getMessage() for r in caplog.records if "settled" in r.getMessage())
    assert line == "operation addParticipant (add-1) settled: succeeded"
