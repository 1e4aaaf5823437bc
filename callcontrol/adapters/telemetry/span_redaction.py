"""Span attributes leave the process redacted, like log records.

azure-core's dependency spans carry the request URL, and a participant's raw id in a path is a
phone number (`…/participants/4%3A%2B1425…`). This processor runs before the exporting one and
rewrites string attributes that `redact` changes. The SDK keeps a finished span's attributes
in `_attributes` (read through a read-only view); replacing that mapping is the one place this
module reaches past the public API, and tests/unit/telemetry cover it.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from callcontrol.domain.redaction import redact
from callcontrol.observability.context import ACS_IDS

# Attributes that can carry what a caller typed or a raw id: URLs, paths, queries, messages.
_FREE_TEXT = ("url", "path", "query", "target", "message", "statement", "operationContext")


class RedactingSpanProcessor(SpanProcessor):
    def on_end(self, span: ReadableSpan) -> None:
        attributes = span.attributes or {}
        changed: dict[str, Any] = {}
        for key, value in attributes.items():
            if isinstance(value, str) and key not in ACS_IDS and any(t in key for t in _FREE_TEXT):
                hidden = redact(value)
                if hidden != value:
                    changed[key] = hidden
        if changed:
            span._attributes = {**attributes, **changed}
