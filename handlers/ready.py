"""Readiness: GET /api/ready checks what the app needs to take calls (function key).

200 when every check passed, 503 when any failed; the body lists each check with its duration
and a message an operator can act on (the postdeploy hook prints it). A 503 carries Retry-After.
"""

from __future__ import annotations

import azure.functions as func

from callcontrol.domain.access import Role
from callcontrol.usecases.readiness import CheckReadiness
from handlers._api import api_route
from handlers._http import json_response
from handlers._services import services

bp = func.Blueprint()
RETRY_AFTER_SECONDS = 10


@api_route(bp, Role.CALLS_READ, name="ready",
           route="ready", method="GET",
           summary="Readiness: settings, Table Storage, ACS with the app's credential, callback "
                   "keys (503 with the same body when a check fails)",
           response="readiness", errors=(401,), also=(503,),
           # The azd postdeploy hook checks readiness with the function key, in every mode.
           keyed_always=True)
async def ready(req: func.HttpRequest) -> func.HttpResponse:
    report = await services().readiness.check(CheckReadiness())
    if report.ready:
        return json_response(report.to_json())
    # Each check is bounded to 10 s: asking again sooner learns nothing new.
    return json_response(report.to_json(), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
