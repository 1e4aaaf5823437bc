"""The logging layer: the call's identifiers on every record, one redaction, quiet SDKs.

Both filters sit on the root logger's handlers, so every record that reaches a handler passes
them, whatever logger made it (the Azure SDKs', the worker's, ours): the Functions worker's
handler, devhost's console handler, the OpenTelemetry handler that exports logs. They are
attached after telemetry is configured, so the exporting handler gets them too.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Mapping
from typing import Final

from callcontrol.domain.redaction import redact
from callcontrol.observability.context import ACS_IDS, call_ids
from callcontrol.settings import AZURE_SDK_LOG_LEVEL

# Loggers of the SDKs the app uses; children inherit (http_logging_policy's header dumps too).
SDK_LOGGERS: Final = (
    "azure",
    "azure.core.pipeline.policies.http_logging_policy",
    "azure.identity",
    "azure.monitor",
    "msal",
    "urllib3",
    "opentelemetry",
)

# The record redacted last (weakly: its traceback must not outlive it). A record passes every
# handler's filters in turn, in one thread, so the next handler finds it here and leaves it as
# it is. Not a mark on the record: the OpenTelemetry handler would export any attribute set on
# it. Another thread in between only costs a second, idempotent redaction.
_last_redacted: weakref.ref[logging.LogRecord] | None = None


class CallContextFilter(logging.Filter):
    """Stamps the identifiers of the call in hand (callConnectionId, …) on each record."""

    def __init__(self) -> None:
        super().__init__()
        # The ids last seen and their redacted form: the mapping stays the same object until
        # the invocation learns more, so the records of one step share one redaction.
        self._last: tuple[Mapping[str, str], dict[str, str]] | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        ids = call_ids()
        if ids is not None:
            for name, value in self._stamps(ids.attributes()).items():
                if not hasattr(record, name):
                    setattr(record, name, value)
        return True

    def _stamps(self, known: Mapping[str, str]) -> dict[str, str]:
        last = self._last
        if last is not None and last[0] is known:
            return last[1]
        stamps = {name: value if name in ACS_IDS else redact(value) for name, value in known.items()}
        self._last = (known, stamps)
        return stamps


class RedactionFilter(logging.Filter):
    """Formats the message once and hides phone numbers, tokens and keys in it (and in the
    traceback text). Idempotent: a record met again on the next handler is left as it is."""

    def filter(self, record: logging.LogRecord) -> bool:
        global _last_redacted
        if _last_redacted is not None and _last_redacted() is record:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the parts, never fail the caller
            message = f"{record.msg!r} {record.args!r}"
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        _last_redacted = weakref.ref(record)
        return True


def sdk_log_level(environ: Mapping[str, str]) -> int:
    """WARNING, unless AZURE_SDK_LOG_LEVEL names a level (DEBUG, INFO, …) to raise them to."""
    name = (environ.get(AZURE_SDK_LOG_LEVEL) or "").strip().upper()
    level = logging.getLevelName(name) if name else logging.WARNING
    return level if isinstance(level, int) else logging.WARNING


def configure_logging(environ: Mapping[str, str]) -> None:
    """Quiet the SDK loggers and put both filters on every root handler (idempotent)."""
    level = sdk_log_level(environ)
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(level)
    for handler in logging.getLogger().handlers:
        attach_filters(handler)


def attach_filters(handler: logging.Handler) -> None:
    """Context first (its values are redacted too), then redaction; once per handler."""
    kinds = {type(f) for f in handler.filters}
    if CallContextFilter not in kinds:
        handler.addFilter(CallContextFilter())
    if RedactionFilter not in kinds:
        handler.addFilter(RedactionFilter())
