"""devhost and the emulator log JSON lines with LOG_FORMAT=json; `make run` prints call lines."""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from pathlib import Path

import pytest

from logformat import JsonFormatter, TextFormatter, formatter_from_env
from tools.call_lines import call_line, start_following


def record(message: str, level: int = logging.INFO, **extra: str) -> logging.LogRecord:
    made = logging.LogRecord("callcontrol.usecases.callbacks", level, __file__, 1, message, None, None)
    made.__dict__.update(extra)
    return made


def test_json_lines_carry_the_stamped_identifiers() -> None:
    line = JsonFormatter().format(record("applied", callConnectionId="c-1", _private="x"))
    entry = json.loads(line)
    assert entry["message"] == "applied"
    assert entry["callConnectionId"] == "c-1"
    assert entry["logger"] == "callcontrol.usecases.callbacks"
    assert entry["time"].endswith("+00:00")
    assert "_private" not in entry and "\n" not in line


def test_json_lines_keep_the_traceback_inside_the_object() -> None:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        import sys

        failed = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert "RuntimeError: boom" in entry["exception"]


def test_text_lines_show_the_identifiers_too() -> None:
    text = TextFormatter().format(record("applied", callConnectionId="c-1"))
    assert text.endswith("applied [callConnectionId=c-1]")


@pytest.mark.parametrize(("value", "kind"), [("json", JsonFormatter), ("JSON", JsonFormatter),
                                             ("", TextFormatter), ("text", TextFormatter)])
def test_log_format_setting_picks_the_formatter(monkeypatch: pytest.MonkeyPatch, value: str,
                                                kind: type) -> None:
    monkeypatch.setenv("LOG_FORMAT", value)
    assert type(formatter_from_env()) is kind


def test_call_lines_are_short_and_say_which_call() -> None:
    entry = {"time": "2026-11-30T10:02:03.123+00:00", "level": "INFO",
             "logger": "callcontrol.usecases.callbacks", "callConnectionId": "5e1f0c2a-0000-4000",
             "message": "callback CallConnected applied: connecting → connected"}
    assert call_line(entry) == (
        "10:02:03  call 5e1f0c2a  callback CallConnected applied: connecting → connected")
    assert call_line({**entry, "callConnectionId": None}) is None  # not about a call
    assert call_line({**entry, "logger": "azure.core", "level": "INFO"}) is None
    warning = call_line({**entry, "logger": "devhost", "level": "WARNING", "callConnectionId": None})
    assert warning == "10:02:03  devhost  WARNING callback CallConnected applied: connecting → connected"


def test_call_lines_name_a_call_by_its_call_connection_id_and_its_correlation_id_beside() -> None:
    """One id per call, as in the API and the console; never a correlationId posing as it."""
    entry = {"time": "2026-11-30T10:02:03.123+00:00", "level": "INFO",
             "logger": "callcontrol.usecases.inbound", "callConnectionId": "5e1f0c2a-0000-4000",
             "correlationId": "9d41a7b0-1111-4000", "message": "inbound call decided"}
    assert call_line(entry) == "10:02:03  call 5e1f0c2a · corr 9d41a7b0  inbound call decided"
    only_correlation = {**entry, "callConnectionId": None}
    assert call_line(only_correlation) == "10:02:03  corr 9d41a7b0  inbound call decided"
    rejected = {**entry, "callConnectionId": "inbound-0123456789abcdef-fedcba987654"}
    assert call_line(rejected) == (
        "10:02:03  call inbound-01234567 · corr 9d41a7b0  inbound call decided")


def test_following_the_log_prints_only_what_is_new(tmp_path: Path) -> None:
    log = tmp_path / "devhost.log"
    log.write_text('{"level": "INFO", "logger": "callcontrol.x", "callConnectionId": "old", '
                   '"message": "before", "time": "2026-11-30T10:00:00"}\n')
    seen: list[str] = []
    stopped = threading.Event()
    thread = start_following(log, stopped, seen.append)
    with log.open("a") as out:
        out.write("devhost listening on http://127.0.0.1:7071\n")
        out.write('{"level": "INFO", "logger": "callcontrol.x", "callConnectionId": "new-call", '
                  '"message": "answered", "time": "2026-11-30T10:00:01"}\n')
    deadline = time.monotonic() + 5
    while not seen and time.monotonic() < deadline:
        time.sleep(0.05)
    stopped.set()
    thread.join(2)
    assert seen == ["10:00:01  call new-call  answered"]


def test_stream_output_is_one_object_per_line() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.emit(record("one"))
    handler.emit(record("two"))
    assert [json.loads(line)["message"] for line in stream.getvalue().splitlines()] == ["one", "two"]


def test_start_up_lines_are_json_records_when_the_log_is_json(monkeypatch: pytest.MonkeyPatch) -> None:
    """devhost.log began with a plain-text banner (functions, listening on): `jq` failed on it."""
    from logformat import announce

    monkeypatch.setenv("LOG_FORMAT", "json")
    out = io.StringIO()
    announce("Functions:\n  health: [GET] http://127.0.0.1:7071/api/health (anonymous)", "devhost", out)
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(e["logger"], e["level"], e["message"]) for e in entries] == [
        ("devhost", "INFO", "Functions:"),
        ("devhost", "INFO", "  health: [GET] http://127.0.0.1:7071/api/health (anonymous)")]
    monkeypatch.setenv("LOG_FORMAT", "text")
    out = io.StringIO()
    announce("devhost listening on http://127.0.0.1:7071", "devhost", out)
    assert out.getvalue() == "devhost listening on http://127.0.0.1:7071\n"  # read by tests and people



def test_a_timer_run_is_one_readable_line_in_the_log_and_the_terminal() -> None:
    """A run by hand printed nothing in the terminal; devhost.log had a dict repr, "schedule"."""
    from callcontrol.usecases.timer_runs import log_run

    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger("callcontrol.usecases.reconcile")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        log_run(logger, "reconciler", "timer", {"examined": 2, "ended": 1, "completedPass": True})
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    entry = json.loads(JsonFormatter().format(seen[0]))
    assert entry["message"] == "reconciler run (timer): examined 2, ended 1, completedPass yes"
    assert entry["timerRun"] == {"examined": 2, "ended": 1, "completedPass": True}
    assert call_line(entry) == (
        f"{entry['time'][11:19]}  timer reconciler  reconciler run (timer): examined 2, ended 1, "
        "completedPass yes")
