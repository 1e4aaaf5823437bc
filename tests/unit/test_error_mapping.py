"""Errors map to HTTP statuses through one table, looked up along the exception's MRO."""

from __future__ import annotations

import pytest

from callcontrol.domain import errors
from handlers import _http
from handlers._http import STATUS_BY_ERROR, status_for


class _LateConflict(errors.Conflict):
    """A subclass the table does not list: it inherits its parent's status."""


@pytest.mark.parametrize(("error", "status"), [
    (errors.InvalidInput("x"), 400),
    (errors.Unauthenticated("x"), 401),
    (errors.NotFound("x"), 404),
    (errors.Conflict("x"), 409),
    (_LateConflict("x"), 409),
    (errors.ConcurrencyConflict("x"), 409),  # a StoreError, yet 409: the most specific class wins
    (errors.EtagMismatch("x"), 503),  # a StoreError not listed: the StoreError status
    (errors.StoreError("x"), 503),
    (errors.PayloadTooLarge("x"), 413),
    (errors.AcsUnavailable("x"), 503),
    (errors.SettingError("NAME", "x"), 500),
    (errors.InProgress("x"), 500),  # listed nowhere: the base class's status
    (errors.AcsRejected("x", errors.AcsErrorInfo(status=400, code="8523", message="m")), 400),
    # ACS refusing the app's own credentials is the app's failure, not the client's (issue 13).
    (errors.AcsRejected("x", errors.AcsErrorInfo(status=401, code="401", message="m")), 502),
    (errors.AcsRejected("x", errors.AcsErrorInfo(status=403, code="8523", message="m")), 502),
    (errors.AcsRejected("x", errors.AcsErrorInfo(status=500, code="8500", message="m")), 502),
])
def test_each_error_gets_its_status(error: errors.CallControlError, status: int) -> None:
    assert status_for(error) == status


def test_the_order_of_the_table_does_not_matter(monkeypatch: pytest.MonkeyPatch) -> None:
    reversed_table = dict(reversed(list(STATUS_BY_ERROR.items())))
    monkeypatch.setattr(_http, "STATUS_BY_ERROR", reversed_table)
    assert status_for(errors.ConcurrencyConflict("x")) == 409
    assert status_for(errors.StoreError("x")) == 503
