"""The domain: identifiers, call records, callback and IncomingCall events, the call state
machine, inbound rules, claims, errors, clock. Pure: no I/O, no Azure SDK, no settings.

Anyone in the app may import it (use cases, adapters, handlers, composition); it imports
nothing of the app outside itself (checked by import-linter, see pyproject.toml).
"""
