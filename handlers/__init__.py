"""The Functions triggers, one Blueprint per family: parse the request, call one use case,
render the result. Handlers import the domain, the use cases and `callcontrol.composition`
(for `services()`); never an adapter. Imported by function_app.py only (and tests)."""
