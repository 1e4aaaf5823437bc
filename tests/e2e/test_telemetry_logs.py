"""After a full call flow through the stack, the logs are operable: quiet SDKs, no phone numbers,
every app record about the call carries its callConnectionId.

The flow: an incoming PSTN call is answered, a PSTN participant is added and then fetched by
its raw id (the SDK's request URL embeds `4%3A%2B1425…`), the call is hung up for everyone.
Then the log files of the three processes are read back.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import App, Emulator, acs_user, encoded, eventually, pstn
from tools.stack import Stack

APP_LOGGERS = ("callcontrol", "handlers")
# Records about the process, not one call: telemetry set up, signing keys fetched, and a timer
# run's summary (a sweep that found several calls, which may land inside the flow).
PROCESS_LOGGERS = ("telemetry.setup", "callback_auth", "handlers.timers")
# Any spelling of a +1425555xxxx number that keeps more than its last four digits.
NUMBER_IN_ANY_FORM = re.compile(r"1\D{0,6}425\D{0,6}555")


def _entries(log: Path, since: int) -> list[dict[str, Any]]:
    entries = []
    with log.open("rb") as file:
        file.seek(since)
        for raw in file.read().splitlines():
            try:
                entry = json.loads(raw)
            except ValueError:
                continue  # the start-up lines devhost prints on stdout
            if isinstance(entry, dict):
                entries.append(entry)
    return entries


@pytest.fixture
def logs(stack: Stack) -> Path:
    assert stack.log_dir is not None
    return stack.log_dir


def test_a_call_flow_leaves_operable_logs(app: App, emulator: Emulator, stack: Stack,
                                          logs: Path) -> None:
    devhost_log = logs / "devhost.log"
    start = devhost_log.stat().st_size
    caller, added = pstn(), pstn()

    placed = emulator.incoming_call(caller, acs_user())

    def connected() -> dict[str, Any] | None:
        return next((c for c in app.calls(direction="inbound")
                     if c["serverCallId"] == placed["serverCallId"] and c["state"] == "connected"),
                    None)

    call_id = str(eventually(connected, what="the answered call")["callConnectionId"])
    reply = app.request("POST", f"calls/{call_id}/participants",
                        {"participant": added, "sourceCallerIdNumber": "+14255550100"})
    assert reply.status == 202, reply.text
    raw_id = encoded(f"4:{added['phoneNumber']}")
    eventually(lambda: app.request("GET", f"calls/{call_id}/participants/{raw_id}").status == 200,
               what="the added participant")
    reply = app.request("POST", f"calls/{call_id}/hangup", {"forEveryone": True})
    assert reply.status == 202, reply.text
    eventually(lambda: app.call(call_id)["state"] == "disconnected", what="the call to end")

    entries = _entries(devhost_log, start)
    assert entries, "devhost writes JSON lines (LOG_FORMAT=json)"

    # No Azure SDK record below WARNING (azure-core's header dumps were 80% of the log).
    chatty = [e for e in entries if str(e["logger"]).startswith(("azure", "msal", "urllib3"))
              and e["level"] in ("DEBUG", "INFO")]
    assert chatty == []

    # No phone number in any form in any log file of the stack.
    for log in sorted(logs.glob("*.log")):
        text = log.read_text(errors="replace")
        leaked = [m.group() for m in NUMBER_IN_ANY_FORM.finditer(text)]
        assert leaked == [], f"{log.name} leaks phone numbers: {leaked[:5]}"

    # Every app record about this call carries its callConnectionId.
    ours = [e for e in entries if str(e["logger"]).startswith(APP_LOGGERS)
            and (e.get("callConnectionId") == call_id
                 or e.get("correlationId") == placed["correlationId"]
                 or e.get("serverCallId") == placed["serverCallId"])]
    assert ours, "the app logged the call's steps"
    assert [e for e in ours if e.get("callConnectionId") != call_id] == []
    # ... and every other app record of the flow is about some call, except the process's own
    # (PROCESS_LOGGERS): none lost its identifiers.
    anonymous = [e for e in entries if str(e["logger"]).startswith(APP_LOGGERS)
                 and not str(e["logger"]).endswith(PROCESS_LOGGERS)
                 and "timer" not in e  # a timer run's summary (usecases/timer_runs.py)
                 and not (e.get("callConnectionId") or e.get("correlationId"))]
    assert anonymous == []
    # The steps are there, once each: decision, action sent, callbacks applied, settled.
    messages = [str(e["message"]) for e in ours]
    assert sum("decided" in m for m in messages) == 1, messages
    assert any("sent" in m and "add" in m.lower() for m in messages), messages
    assert any("CallConnected" in m and "applied" in m for m in messages), messages
    assert any("settled" in m for m in messages), messages
