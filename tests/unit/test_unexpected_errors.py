"""An unexpected error in an HTTP function: the client gets a problem+json 500, and since the
function returns (the host records a successful invocation) the app counts it in
`callcontrol.unexpected_errors`, which the failures alert reads (infra/app/alerts.bicep)."""

from __future__ import annotations

import json

import azure.functions as func

from callcontrol.adapters.telemetry.metrics import UNEXPECTED_ERRORS
from handlers._http import http_endpoint
from tests.support.app import http_request
from tests.support.telemetry import recording


@http_endpoint
async def broken(req: func.HttpRequest) -> func.HttpResponse:
    raise KeyError("a bug")


@http_endpoint
async def fine(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("ok")


async def test_a_bug_answers_500_and_is_counted_by_function() -> None:
    with recording() as recorded:
        response = await broken(http_request("GET", "broken"))
        assert response.status_code == 500
        assert response.mimetype == "application/problem+json"
        assert json.loads(response.get_body())["detail"] == "the request could not be completed"
        [point] = recorded.metric_points(UNEXPECTED_ERRORS)
    assert point.value == 1 and dict(point.attributes) == {"function": "broken"}


async def test_a_success_is_not_counted() -> None:
    with recording() as recorded:
        assert (await fine(http_request("GET", "fine"))).status_code == 200
        assert recorded.metric_points(UNEXPECTED_ERRORS) == []
