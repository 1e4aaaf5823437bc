"""Event Grid delivery: handshake failure, redelivery schedule, no retry on 400/401/403/413."""

from __future__ import annotations

import itertools
import time

import pytest

from emulator.eventgrid.retry import RETRY_SCHEDULE_SECONDS, retry_delay
from tests.integration.emulator.support import AppSide, Control


def _wait_notifications(app_side: AppSide, count: int, timeout: float = 5) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(app_side.notifications()) >= count:
            break
        time.sleep(0.01)
    return app_side.notifications()


def test_failed_handshake_blocks_delivery(app_side: AppSide, control: Control) -> None:
    app_side.validation_mode = "fail"
    status, reply = control.call(
        "POST",
        "/incoming-calls",
        {"from": {"phoneNumber": "+14255550100"}, "to": {"phoneNumber": "+18005550123"}},
    )
    assert status == 502 and reply["error"]["code"] == "WebhookValidationFailed"
    assert app_side.notifications() == []


def test_manual_validation_through_the_validation_url(app_side: AppSide, control: Control) -> None:
    import urllib.request

    app_side.validation_mode = "fail"
    control.call(
        "POST",
        "/incoming-calls",
        {"from": {"phoneNumber": "+14255550100"}, "to": {"phoneNumber": "+18005550123"}},
    )
    validation_url = app_side.eventgrid[0]["body"][0]["data"]["validationUrl"]
    with urllib.request.urlopen(validation_url, timeout=5) as response:
        assert response.status == 200
    placed = control.incoming("+14255550100", "+18005550123")
    assert placed["deliveryStatus"] == 200


def test_non_2xx_is_redelivered_on_the_compressed_schedule(app_side: AppSide, control: Control) -> None:
    app_side.eventgrid_statuses = [500, 503]
    placed = control.incoming("+14255550100", "+18005550123")
    assert placed["deliveryStatus"] == 500
    deliveries = _wait_notifications(app_side, 3)
    assert [d["headers"]["aeg-delivery-count"] for d in deliveries] == ["0", "1", "2"]
    assert {d["body"][0]["id"] for d in deliveries} == {placed["eventId"]}
    gaps = [b["received"] - a["received"] for a, b in itertools.pairwise(deliveries)]
    assert gaps[0] >= 0.01 and gaps[1] >= 0.03  # 10 s and 30 s at the default factor 0.001
    log = control.ok("GET", "/eventgrid/deliveries")["value"]
    assert [e["status"] for e in log if e["aegEventType"] == "Notification"] == [500, 503, 200]


@pytest.mark.parametrize("status", [400, 401, 403, 413])
def test_no_redelivery_for_the_final_statuses(app_side: AppSide, control: Control, status: int) -> None:
    app_side.eventgrid_statuses = [status]
    placed = control.incoming("+14255550100", "+18005550123")
    assert placed["deliveryStatus"] == status
    time.sleep(0.1)  # the first retry would have gone out after 10 ms
    assert len(app_side.notifications()) == 1


def test_retry_schedule_matches_event_grid() -> None:
    assert RETRY_SCHEDULE_SECONDS == (10, 30, 60, 300, 600, 1800, 3600, 10800, 21600)
    assert retry_delay(1, 1.0) == 10 and retry_delay(10, 1.0) == 43200
    assert retry_delay(2, 0.5) == 15
