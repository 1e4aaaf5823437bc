"""Idempotency of the app's requests to ACS, in one place: the repeatability id and retries.

    client's Idempotency-Key ──▶ repeatability id ──▶ ACS Repeatability-Request-ID header
        (handlers/_idempotency.py     (derived here)       (adapters/acs_gateway.py)
         replays a finished response)        │
                                             └──▶ kept on the operation it asked for; a request
                                                  with the same one is a retry (`is_retry`)

Three layers, each catching what the one before could not:

1. the HTTP layer replays the first response of a key for 24 h (nothing reaches the use case);
2. a retry that does reach it (the first attempt failed ambiguously: a 503) finds the operation
   its first attempt reserved, by operationContext, and `is_retry` recognises it: a settled one
   is answered as it stands, a pending one is sent again (usecases/actions.py);
3. ACS, given the same Repeatability-Request-ID again, answers with its first outcome instead
   of acting twice.

The swagger asks for a version 4 (random) UUID; ours are derived from a key so that a retry of
the same logical request (an Idempotency-Key, or one offer's answer) sends the same ID. The
version bits are set to 4.
"""

from __future__ import annotations

import hashlib
import uuid

from callcontrol.domain.identifiers import Identifier
from callcontrol.domain.models import Operation, OperationKind


def repeatability_id(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))


def for_idempotency_key(key: str) -> str:
    """The ID a management request with this Idempotency-Key sends to ACS."""
    return repeatability_id("idempotency-key", key)


def for_offer(offer_key: str, action: str) -> str:
    """The ID one IncomingCall offer's answer / reject / redirect sends to ACS: a retried
    request (after a timeout that ACS did act on) gets ACS's first answer."""
    return repeatability_id("incoming", offer_key, action)  # the prefix is part of every id sent: fixed


def is_retry(existing: Operation, *, kind: OperationKind, target: Identifier | None,
             repeatability_id: str | None) -> bool:
    """Whether a request for `kind` on `target` with this repeatability id is a retry of
    `existing` (found under the same operationContext): the same id, asking the same thing.
    Without an id a request is always new."""
    return (repeatability_id is not None and existing.repeatability_id == repeatability_id
            and existing.kind is kind and existing.target == target)


def for_flow_action(call_key: str, operation_context: str) -> str:
    """The ID a call flow's request sends: its operationContext already names the flow run, the
    step's visit, the attempt and the verb, so every retry of that one request shares it."""
    return repeatability_id("flow", call_key, operation_context)
