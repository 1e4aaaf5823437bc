"""Repeatability-Request-IDs for ACS: stable for one logical request, in the form ACS expects.

The swagger asks for a version 4 (random) UUID; ours are derived from a key so that a retry of
the same logical request (an Idempotency-Key, or one offer's answer) sends the same ID, and ACS
returns its first answer instead of acting twice. The version bits are set to 4.
"""

from __future__ import annotations

import hashlib
import uuid


def repeatability_id(*parts: str) -> str:
    digest = hashlib.sha256("|".join(parts).encode()).digest()
    return str(uuid.UUID(bytes=digest[:16], version=4))
