"""Event Grid: the system topic that brings ACS's IncomingCall to the app (system_topic.py), and
the custom topic the app publishes its call events to (topic.py and the modules beside it,
routes.py its HTTP side). Both follow Event Grid's delivery rules (retry.py). Knows nothing of
the ACS side, the phone network or the control API."""
