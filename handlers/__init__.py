"""The Functions triggers, one Blueprint per family: parse the request, call one use case,
render the result. Handlers import the domain and the use cases, and reach the running services
through `handlers._services`, which function_app.py fills; never an adapter or the composition.
Imported by function_app.py only (and tests)."""
