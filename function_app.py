"""Composition root: the FunctionApp, its blueprints and the services the handlers use."""

import azure.functions as func

from callcontrol import composition
from handlers import (
    callbacks,
    calls,
    health,
    incoming_call,
    jobs,
    openapi,
    participants,
    ready,
    rules,
    timers,
)
from handlers._services import install

install(composition.services, composition.observe)  # builds nothing yet: parts are made on first use

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (incoming_call.bp, callbacks.bp, calls.bp, participants.bp, rules.bp, health.bp,
                  openapi.bp, ready.bp, jobs.bp, timers.bp):
    app.register_functions(blueprint)

# Close the SDK clients and credentials when the host stops. The devhost honours this list; the
# Python worker has no shutdown hook yet (azure-functions-python-worker#1904), so in Azure the
# process exit is what ends them.
setattr(app, "shutdown_hooks", [composition.close_services])  # noqa: B010 - FunctionApp declares no such attribute
