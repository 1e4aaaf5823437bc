"""Run one scheduled job now: `POST /api/jobs/{job}` (master key), answered when the job ends.

The jobs share one timer function (handlers/timers.py), whose admin invocation cannot say which
job to run (the host hands a timer no input); this route can, and as an HTTP function it adds no
scale group. It runs in Azure and under devhost alike.
"""

from __future__ import annotations

import azure.functions as func

from callcontrol.observability import invocation_scope
from callcontrol.usecases.jobs import JOB_NAMES
from handlers._api import api_route
from handlers._http import json_response
from handlers._services import services

bp = func.Blueprint()


@api_route(bp, name="run_job", route="jobs/{job}", method="POST",
           auth_level=func.AuthLevel.ADMIN, response="jobRun",
           summary="Run a scheduled job now (reconciler, retention or outbox; master key); the "
                   "answer carries the run's counts",
           path=(("job", {"type": "string", "enum": list(JOB_NAMES)}),), errors=(401, 404, 503))
async def run_job(req: func.HttpRequest) -> func.HttpResponse:
    job = req.route_params["job"]
    with invocation_scope():
        counts = await services().jobs.run(job, "manual")
    return json_response({"job": job, "counts": counts})
