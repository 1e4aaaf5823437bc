"""Liveness: answers without touching settings, storage or ACS."""

from __future__ import annotations

import azure.functions as func

from handlers._api import api_route
from handlers._http import json_response

bp = func.Blueprint()


@api_route(bp, name="health", route="health", method="GET", auth_level=func.AuthLevel.ANONYMOUS,
           summary="Liveness: the app is loaded (touches no settings, storage or ACS)",
           response="health", errors=())
async def health(req: func.HttpRequest) -> func.HttpResponse:
    return json_response({"status": "ok"})
