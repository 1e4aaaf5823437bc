"""Span attributes leave the process redacted, like log records.

azure-core's dependency spans carry the request URL, and a participant's raw id in a path is a
phone number (`…/participants/4%3A%2B1425…`). This processor runs before the exporting one and
rewrites string attributes that `redact` changes. The SDK keeps a finished span's attributes
in `_attributes` (read through a read-only view); replacing that mapping is the one place this
module reaches past the public API, and tests/unit/telemetry cover it.

Every span passes here on the request path, so the work is kept to what can change: whether an
attribute is free text is decided once per attribute name, and a value's redaction is
remembered (the same URLs recur: a call's row is read and then written, `/claims`, `$batch`,
`:answer` are the same for every call).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from callcontrol.domain.redaction import redact
from callcontrol.observability.context import ACS_IDS

# Attributes that can carry what a caller typed or a raw id: URLs, paths, queries, messages.
_FREE_TEXT = ("url", "path", "query", "target", "message", "statement", "operationContext")
# Distinct values remembered; a worker's recent URLs fit many times over.
_REMEMBERED_VALUES: Final = 2048


@lru_cache(maxsize=4096)  # attribute names are few: the SDK's, azure-core's and ours
def is_free_text(key: str) -> bool:
    return key not in ACS_IDS and any(t in key for t in _FREE_TEXT)


@lru_cache(maxsize=_REMEMBERED_VALUES)
def redacted_value(value: str) -> str:
    return redact(value)


class RedactingSpanProcessor(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        attributes = span._attributes  # the mapping itself: no read-only view per span
        if not attributes:
            return
        changed: dict[str, Any] | None = None
        for key, value in attributes.items():
            if isinstance(value, str) and is_free_text(key):
                hidden = redacted_value(value)
                if hidden != value:
                    if changed is None:
                        changed = {}
                    changed[key] = hidden
        if changed:
            span._attributes = {**attributes, **changed}
