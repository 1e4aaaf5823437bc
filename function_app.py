"""Composition root: the FunctionApp and its blueprints, nothing else."""

import azure.functions as func

from handlers import (
    callbacks,
    calls,
    health,
    incoming_call,
    openapi,
    participants,
    ready,
    rules,
    timers,
)

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (incoming_call.bp, callbacks.bp, calls.bp, participants.bp, rules.bp, health.bp,
                  openapi.bp, ready.bp, timers.bp):
    app.register_functions(blueprint)
