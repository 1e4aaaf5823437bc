"""`make run`: start Azurite, the ACS emulator and devhost, print how to use them; Ctrl-C stops.

`make run PERSIST=1` (``--persist``) keeps table data under .run/azurite with an account key kept
in .run/azurite-account-key; `make run FUNCTION_KEY=...` (the FUNCTION_KEY environment variable)
pins the function key. The key in use is always written to .run/function-key (mode 0600).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from tools import localkeys
from tools.call_lines import start_following
from tools.processes import ROOT
from tools.stack import Stack, start_console, start_stack

FUNCTION_KEY_VARIABLE = "FUNCTION_KEY"



def banner(stack: Stack, run_dir: Path, persist: bool, console_url: str = "") -> str:
    callee = "8:acs:demo_00000000-0000-0000-0000-000000000001"
    example = json.dumps({"from": {"phoneNumber": "+14255550100"},
                          "to": {"communicationUserId": callee}})
    subscription = json.dumps({"name": "my-listener", "endpointUrl": "http://127.0.0.1:9000/events",
                               "filter": {"subjectBeginsWith": "calls/"}})
    data = (f"kept in {run_dir / 'azurite'} (PERSIST=1)" if persist
            else "in memory (make run PERSIST=1 keeps it)")
    return f"""
Local stack is up (logs in .run/logs/):
  function app (devhost) {stack.app_url}/api/   function key: {stack.function_key}
                         (also in {run_dir / localkeys.FUNCTION_KEY_FILE})
                         master key (POST /admin/functions/<name> runs a timer now): {stack.master_key}
  ACS emulator           {stack.emulator_url}
  Table Storage (Azurite) {stack.azurite.table_endpoint}   data: {data}
  call console           {console_url or "(not started)"}
  Event Grid topic (emulator), given to the app as:
    EVENTGRID_TOPIC_ENDPOINT={stack.topic_endpoint}
    EVENTGRID_TOPIC_KEY={stack.topic_key}

Place an incoming call; the app answers it:
  curl -s -X POST {stack.emulator_url}/emulator/incoming-calls \\
       -H 'Content-Type: application/json' -d '{example}'
Then look at the call (callConnectionId from the list of calls):
  curl -s '{stack.app_url}/api/calls?code={stack.function_key}'
  curl -s '{stack.app_url}/api/calls/<callConnectionId>?code={stack.function_key}'

Subscribe a local URL to the topic (it must answer the OPTIONS handshake with
WebHook-Allowed-Origin; then it gets one CloudEvent per POST):
  curl -s -X POST {stack.emulator_url}/emulator/eventgrid/subscriptions \\
       -H 'Content-Type: application/json' -d '{subscription}'
Events the topic received, and dead letters:
  curl -s {stack.emulator_url}/emulator/eventgrid/events
  curl -s {stack.emulator_url}/emulator/eventgrid/dead-letters

Calls show up below as they happen (full JSON logs in .run/logs/devhost.log).
Press Ctrl-C to stop everything.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=7071, help="devhost port")
    parser.add_argument("--emulator-port", type=int, default=8089)
    parser.add_argument("--table-port", type=int, default=10002)
    parser.add_argument("--console-port", type=int, default=8090, help="call console port")
    parser.add_argument("--persist", action="store_true",
                        help="keep table data in .run/azurite instead of memory")
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run", help=argparse.SUPPRESS)
    args = parser.parse_args()
    run_dir: Path = args.run_dir
    try:
        function_key = localkeys.function_key(
            run_dir, os.environ.get(FUNCTION_KEY_VARIABLE) or None, args.persist)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    stack = start_stack(
        app_port=args.port, emulator_port=args.emulator_port, table_port=args.table_port,
        data_dir=run_dir / "azurite" if args.persist else None, log_dir=run_dir / "logs",
        function_key=function_key, storage_key=localkeys.azurite_key(run_dir, args.persist),
    )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        console_url = start_console(stack, args.console_port, run_dir / "logs" / "console.log")
        print(banner(stack, run_dir, args.persist, console_url), flush=True)
        start_following(run_dir / "logs" / "devhost.log", stopped,
                        lambda line: print(line, flush=True))
        while not stopped.wait(0.5):
            for process in [*stack.processes, stack.azurite.process]:
                if process.poll() is not None:
                    print(f"a process exited ({process.args!r}); stopping", flush=True)
                    stopped.set()
    finally:
        stack.stop()
        print("stopped Azurite, the emulator and devhost", flush=True)


if __name__ == "__main__":
    main()
