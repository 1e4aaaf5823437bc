"""No key of the local stack on a command line, where `ps` shows it to every user (issue 24)."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

import tools.stack as stack_tools
from emulator.__main__ import _parse_args

WEBHOOK = ("http://127.0.0.1:7071/runtime/webhooks/EventGrid?functionName=incoming_call"
           "&code=the-eventgrid-key")


def test_the_emulator_is_given_the_webhook_and_its_key_by_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    started: dict[str, Any] = {}

    def start(command: list[str], *, env: dict[str, str] | None = None,
              log: Path | None = None) -> subprocess.Popen[bytes]:
        started.update(command=command, env=env or {})
        return subprocess.Popen(["true"])

    monkeypatch.setattr(stack_tools, "start", start)
    monkeypatch.setattr(stack_tools, "ensure_free", lambda _port: None)
    monkeypatch.setattr(stack_tools, "wait_for_port", lambda *_args, **_kwargs: None)
    stack_tools.start_emulator(1, "a2V5", "resource", WEBHOOK, None).wait()
    assert [part for part in started["command"] if "the-eventgrid-key" in part] == []
    assert started["env"]["EMULATOR_EVENT_WEBHOOK"] == WEBHOOK


def test_the_emulator_reads_its_webhook_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMULATOR_EVENT_WEBHOOK", WEBHOOK)
    given = ["--access-key", "a2V5", "--resource-id", "resource"]
    assert _parse_args(given).event_webhook == WEBHOOK
    assert _parse_args([*given, "--event-webhook", "http://x/"]).event_webhook == "http://x/"


def test_the_master_key_is_kept_under_run_with_persist(tmp_path: Path) -> None:
    """Running a timer by hand needs the master key: it was only in the banner, new every run."""
    from tools import localkeys

    first = localkeys.master_key(tmp_path, persist=True)
    path = tmp_path / "master-key"
    assert path.read_text() == first and (path.stat().st_mode & 0o777) == 0o600
    assert localkeys.master_key(tmp_path, persist=True) == first
    fresh = localkeys.master_key(tmp_path, persist=False)
    assert fresh != first and path.read_text() == fresh
