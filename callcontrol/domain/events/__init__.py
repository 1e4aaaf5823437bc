"""Typed parsing of what ACS sends: callback CloudEvents (callbacks.py) and the Event Grid
IncomingCall (incoming_call.py). Part of the pure domain; anyone may import it."""
