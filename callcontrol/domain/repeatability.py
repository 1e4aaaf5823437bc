"""Repeatability-Request-IDs for ACS: stable for one logical request, in the form ACS expects.

The only place they are derived. The swagger asks for a version 4 (random) UUID; ours are
derived from a key so that a retry of the same logical request (an Idempotency-Key, or one
offer's answer) sends the same ID, and ACS returns its first answer instead of acting twice.
The version bits are set to 4.
"""

from __future__ import annotations

import hashlib
import uuid


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


def for_flow_action(call_key: str, operation_context: str) -> str:
    """The ID a call flow's request sends: its operationContext already names the flow run, the
    step's visit, the attempt and the verb, so every retry of that one request shares it."""
    return repeatability_id("flow", call_key, operation_context)
