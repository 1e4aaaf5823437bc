"""Composition root: the FunctionApp, its blueprints and the services the handlers use."""

import azure.functions as func

from callcontrol import composition
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
from handlers._services import install

install(composition.services, composition.observe)  # builds nothing yet: parts are made on first use

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)

for blueprint in (incoming_call.bp, callbacks.bp, calls.bp, participants.bp, rules.bp, health.bp,
                  openapi.bp, ready.bp, timers.bp):
    app.register_functions(blueprint)
