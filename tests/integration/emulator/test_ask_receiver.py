"""The ask receiver (issue 21): requests signed by the app's own `signed_headers` are accepted,
tampered, stale or wrongly keyed ones refused; every request is on record; replies are scripted
per path (next step, inline action, delay, garbage, HTTP error, a sequence)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from callcontrol.domain.errors import InvalidInput
from callcontrol.domain.flows import parse_ask_answer, signed_headers
from callcontrol.domain.flows.targets import ask_url_problem
from emulator import EmulatorThread, start_in_thread
from tests.integration.emulator.conftest import make_config
from tests.integration.emulator.support import AppSide, Control

SECRET = "ask-secret-for-tests"
BODY = {"flow": "front-desk", "runId": "run-1", "step": "ask-crm", "answered": False, "call": {}, "path": []}


@pytest.fixture
def emulator(app_side: AppSide) -> Iterator[EmulatorThread]:
    running = start_in_thread(make_config(app_side, ask_secret=SECRET))
    try:
        yield running
    finally:
        running.stop()


def ask(
    emulator: EmulatorThread, path: str, body: bytes | None = None, *, secret: str = SECRET,
    skew: int = 0, tamper: bool = False, timeout: float = 5,
) -> tuple[int, bytes, str]:
    """POST as the app's ask step does: signed by the app's own function."""
    raw = body if body is not None else json.dumps(BODY).encode()
    headers = signed_headers(secret.encode(), int(time.time()) + skew, raw, "req-1")
    sent = raw + b" " if tamper else raw
    request = urllib.request.Request(
        f"{emulator.base_url}/emulator/ask/{path}", data=sent, method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers["Content-Type"]


def script(control: Control, path: str, reply: Any) -> dict[str, Any]:
    result: dict[str, Any] = control.ok("PUT", f"/ask-replies/{path}", reply)
    return result


def test_a_request_signed_by_the_app_gets_the_scripted_next_step(emulator, control: Control) -> None:
    script(control, "crm", {"answer": {"next": "sales"}})
    status, body, content_type = ask(emulator, "crm")
    assert (status, content_type) == (200, "application/json; charset=utf-8")
    assert parse_ask_answer(json.loads(body)).next_step == "sales"  # the app reads it as an answer
    (record,) = control.ok("GET", "/ask-requests?path=crm")["value"]
    assert record["verified"] is True and record["refusal"] is None
    assert record["body"] == BODY and record["requestId"] == "req-1"
    assert record["signature"].startswith("v1=") and record["reply"]["answer"] == {"next": "sales"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"tamper": True}, "does not match"),
        ({"secret": "another-secret"}, "does not match"),
        ({"skew": -310}, "tolerance"),
        ({"skew": 310}, "tolerance"),
    ],
)
def test_tampered_wrongly_keyed_or_stale_requests_are_refused_and_recorded(
    emulator, control: Control, change: dict[str, Any], reason: str
) -> None:
    script(control, "crm", {"answer": {"next": "sales"}})
    status, body, _ = ask(emulator, "crm", **change)
    assert status == 401 and reason in json.loads(body)["error"]["message"]
    (record,) = control.ok("GET", "/ask-requests")["value"]
    assert record["verified"] is False and reason in record["refusal"]
    assert control.ok("GET", "/ask-replies")["value"][0]["used"] == 0  # a refusal takes no reply


def test_unsigned_requests_and_a_missing_secret_are_refused(emulator, control: Control) -> None:
    request = urllib.request.Request(f"{emulator.base_url}/emulator/ask/crm", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 401
    assert control.ok("PATCH", "/ask", {"secret": None})["secretSet"] is False
    status, body, _ = ask(emulator, "crm")
    assert status == 401 and "no ask secret" in json.loads(body)["error"]["message"]
    control.ok("PATCH", "/ask", {"secret": "rotated"})
    assert ask(emulator, "crm", secret="rotated")[0] == 404  # authentic, but nothing scripted


@pytest.mark.parametrize(
    ("reply", "status", "check"),
    [
        ({"answer": {"action": {"type": "reject", "reason": "busy"}}}, 200, "inline"),
        ({"raw": "<html>not json</html>"}, 200, "garbage"),
        ({"answer": {"next": 7}}, 200, "invalid"),
        ({"status": 503, "answer": {"error": "down"}}, 503, None),
        ({"status": 500}, 500, None),
    ],
)
def test_scripted_replies_reach_the_app_as_set(
    emulator, control: Control, reply: dict[str, Any], status: int, check: str | None
) -> None:
    script(control, "crm", reply)
    got, body, _ = ask(emulator, "crm")
    assert got == status
    if check == "inline":
        assert parse_ask_answer(json.loads(body)).action is not None
    elif check == "garbage":
        assert body == b"<html>not json</html>"
    elif check == "invalid":
        with pytest.raises(InvalidInput):
            parse_ask_answer(json.loads(body))


def test_a_delayed_reply_outlasts_the_asks_timeout_but_is_on_record(emulator, control: Control) -> None:
    script(control, "slow", {"delaySeconds": 2, "answer": {"next": "sales"}})
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        ask(emulator, "slow", timeout=0.5)
    assert time.monotonic() - started < 1.5
    (record,) = control.ok("GET", "/ask-requests?path=slow")["value"]
    assert record["verified"] is True and record["reply"]["delaySeconds"] == 2


def test_a_sequence_answers_in_turn_and_then_keeps_its_last_reply(emulator, control: Control) -> None:
    script(control, "seq", {"sequence": [{"status": 502}, {"answer": {"next": "a"}}]})
    assert [ask(emulator, "seq")[0] for _ in range(3)] == [502, 200, 200]
    first = {"status": 502, "delaySeconds": 0.0}
    second = {"status": 200, "delaySeconds": 0.0, "answer": {"next": "a"}}
    scripts = control.ok("GET", "/ask-replies")["value"]
    assert scripts == [{"path": "seq", "sequence": [first, second], "used": 3}]
    assert len(control.ok("GET", "/ask-requests")["value"]) == 3


def test_paths_are_scripted_apart_and_unscripted_ones_answer_404(emulator, control: Control) -> None:
    script(control, "team/a", {"answer": {"next": "a"}})
    script(control, "team/b", {"answer": {"next": "b"}})
    assert json.loads(ask(emulator, "team/b")[1]) == {"next": "b"}
    assert json.loads(ask(emulator, "team/a")[1]) == {"next": "a"}
    status, body, _ = ask(emulator, "nobody")
    assert status == 404 and json.loads(body)["error"]["code"] == "NoReplyScripted"
    assert control.call("DELETE", "/ask-replies/team/a")[0] == 204
    assert control.call("DELETE", "/ask-replies/team/a")[0] == 404
    assert [s["path"] for s in control.ok("GET", "/ask-replies")["value"]] == ["team/b"]


@pytest.mark.parametrize(
    "bad",
    [
        [1], {"answer": 1, "raw": "x"}, {"status": 99}, {"delaySeconds": -1}, {"raw": 5},
        {"sequence": []}, {"sequence": [{"status": 200}], "status": 200}, {"nope": 1},
    ],
)
def test_bad_scripts_are_refused(emulator, control: Control, bad: Any) -> None:
    status, reply = control.call("PUT", "/ask-replies/crm", bad)
    assert status == 400 and reply["error"]["code"] == "InvalidInput"


def test_settings_hide_the_secret_and_reset_restores_them(emulator, control: Control) -> None:
    described = control.ok("GET", "/ask")
    assert described == {
        "receiverUrl": f"{emulator.base_url}/emulator/ask/<path>",
        "secretSet": True, "toleranceSeconds": 300, "paths": [],
    }
    assert control.call("PATCH", "/ask", {"toleranceSeconds": 0})[0] == 400
    assert control.call("PATCH", "/ask", {"secret": ""})[0] == 400
    control.ok("PATCH", "/ask", {"toleranceSeconds": 1, "secret": "other"})
    script(control, "crm", {"answer": {"next": "sales"}})
    ask(emulator, "crm", secret="other")
    control.ok("POST", "/reset")
    assert control.ok("GET", "/ask") == described
    assert control.ok("GET", "/ask-requests")["value"] == []
    assert ask(emulator, "crm")[0] == 404  # the original secret again; the script is gone


def test_the_flow_validation_accepts_the_receivers_loopback_url(emulator) -> None:
    assert ask_url_problem(f"{emulator.base_url}/emulator/ask/crm") is None
    assert ask_url_problem(emulator.base_url.replace("127.0.0.1", "localhost") + "/emulator/ask/crm") is None
