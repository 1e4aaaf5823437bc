"""Every record that reaches a handler carries the call's ids and is redacted, the SDKs' too."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from callcontrol.adapters.telemetry.logs import (
    CallContextFilter,
    RedactionFilter,
    attach_filters,
    configure_logging,
    sdk_log_level,
)
from callcontrol.observability import bind_call, invocation_scope, note_call

FORMAT = "%(name)s %(levelname)s %(message)s [call=%(callConnectionId)s]"


class _Defaults(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        record.__dict__.setdefault("callConnectionId", "-")
        return super().format(record)


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """A root handler as a host would have one, with the app's filters attached."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_Defaults(FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.DEBUG)
    levels = {name: logging.getLogger(name).level for name in ("azure", "azure.identity")}
    configure_logging({})
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def test_records_carry_the_ids_of_the_call_in_hand(captured: io.StringIO) -> None:
    with invocation_scope():
        note_call(call_connection_id="421e0b00-conn", correlation_id="corr-1")
        logging.getLogger("callcontrol.usecases.callbacks").info("applied CallConnected")
    logging.getLogger("callcontrol.usecases.callbacks").info("outside any call")
    lines = captured.getvalue().splitlines()
    assert lines[0].endswith("[call=421e0b00-conn]")
    assert lines[1].endswith("[call=-]")


def test_bind_call_narrows_the_context_for_a_block(captured: io.StringIO) -> None:
    log = logging.getLogger("callcontrol.test")
    with invocation_scope():
        note_call(call_connection_id="first")
        with bind_call(call_connection_id="second"):
            log.info("inside")
        log.info("after")
    assert [line.rsplit("=", 1)[1] for line in captured.getvalue().splitlines()] == [
        "second]", "first]"]


def test_sdk_records_pass_the_same_redaction(captured: io.StringIO) -> None:
    sdk = logging.getLogger("azure.core.pipeline.policies.http_logging_policy")
    sdk.warning("Request URL: %r", "http://127.0.0.1:8089/calling/callConnections/c/participants/"
                "4%3A%2B14255550123?api-version=2025-06-15")
    logging.getLogger("some.library").error("failed for %s", "+1 (425) 555-0123")
    text = captured.getvalue()
    assert "14255550123" not in text and "555-0123" not in text
    assert "127.0.0.1:8089" in text  # an address is not a phone number


def test_exception_text_is_redacted(captured: io.StringIO) -> None:
    try:
        raise ValueError("no route to 4:+14255550123")
    except ValueError:
        logging.getLogger("callcontrol.test").exception("boom")
    assert "14255550123" not in captured.getvalue()
    assert "ValueError" in captured.getvalue()


def test_operation_context_is_redacted_but_acs_ids_are_kept() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with invocation_scope():
        note_call(call_connection_id="14255550123", operation_context="call +14255550123 back")
        assert CallContextFilter().filter(record)
    assert record.callConnectionId == "14255550123"  # ACS's own id: opaque, never a number
    assert "14255550123" not in record.operationContext


def test_sdk_loggers_are_quiet_unless_raised(captured: io.StringIO) -> None:
    logging.getLogger("azure.core.pipeline.policies.http_logging_policy").info("Request headers: …")
    logging.getLogger("azure.identity").info("token acquired")
    assert captured.getvalue() == ""
    assert sdk_log_level({"AZURE_SDK_LOG_LEVEL": "info"}) == logging.INFO
    assert sdk_log_level({"AZURE_SDK_LOG_LEVEL": "nonsense"}) == logging.WARNING


def test_filters_are_attached_once_per_handler() -> None:
    handler = logging.StreamHandler(io.StringIO())
    attach_filters(handler)
    attach_filters(handler)
    assert [type(f) for f in handler.filters] == [CallContextFilter, RedactionFilter]


def test_a_record_met_again_is_not_formatted_twice() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "to %s", ("+14255550123",), None)
    redaction = RedactionFilter()
    assert redaction.filter(record) and redaction.filter(record)
    assert record.getMessage() == "to +…0123"


def test_the_ids_mapping_follows_what_the_invocation_learns() -> None:
    with invocation_scope() as ids:
        note_call(correlation_id="corr-1")
        first = ids.attributes()
        assert ids.attributes() is first  # made once, shared until something changes
        note_call(call_connection_id="conn-1")
        assert dict(ids.attributes()) == {"callConnectionId": "conn-1", "correlationId": "corr-1"}
        ids.outcome = "answered"
        assert ids.attributes()["outcome"] == "answered"
        with bind_call(call_connection_id="conn-2") as narrowed:
            assert narrowed.attributes()["callConnectionId"] == "conn-2"
        assert ids.attributes()["callConnectionId"] == "conn-1"
    assert dict(first) == {"correlationId": "corr-1"}  # a mapping handed out is never changed


def test_a_record_gets_the_ids_known_when_it_was_made() -> None:
    context = CallContextFilter()
    first = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    second = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with invocation_scope():
        note_call(operation_context="dial +14255550123")
        assert context.filter(first)
        note_call(call_connection_id="conn-1", operation_context="retry +14255550199")
        assert context.filter(second)
    assert not hasattr(first, "callConnectionId") and "dial" in first.operationContext
    assert second.callConnectionId == "conn-1" and "retry" in second.operationContext
    assert "14255550199" not in second.operationContext


def test_an_exported_record_has_the_ids_and_nothing_of_the_filters_own() -> None:
    from opentelemetry.instrumentation.logging.handler import LoggingHandler
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    console, exporting = logging.StreamHandler(io.StringIO()), LoggingHandler(logger_provider=provider)
    logger = logging.getLogger("callcontrol.test.exported")
    logger.propagate = False
    for handler in (console, exporting):  # the exporting handler second, as in the worker
        attach_filters(handler)
        logger.addHandler(handler)
    try:
        with invocation_scope():
            note_call(call_connection_id="conn-1")
            logger.warning("transfer to %s refused", "+14255550123")
    finally:
        logger.removeHandler(console)
        logger.removeHandler(exporting)
        provider.shutdown()

    [exported] = exporter.get_finished_logs()
    record = exported.log_record
    assert record.body == "transfer to +…0123 refused"
    assert dict(record.attributes or {}) == {"callConnectionId": "conn-1"}
