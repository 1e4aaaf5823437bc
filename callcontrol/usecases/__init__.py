"""Use cases: one module per capability (calls, participants, callbacks, inbound, rules, and
the operations ones: reconcile, retention, readiness).

Each operation takes one typed command (a frozen dataclass declared beside it) and returns a
domain value. Use cases import the domain and `usecases.ports` (the Protocols the adapters
satisfy), never an adapter, a handler, the settings or an SDK. Imported by the handlers (to
call them) and by the composition root (to build them).
"""
