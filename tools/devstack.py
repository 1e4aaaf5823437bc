"""`make run`: start Azurite, the ACS emulator and devhost, print how to use them; Ctrl-C stops."""

from __future__ import annotations

import argparse
import json
import signal
import threading

from tools.processes import ROOT
from tools.stack import Stack, start_stack


def banner(stack: Stack) -> str:
    callee = "8:acs:demo_00000000-0000-0000-0000-000000000001"
    example = json.dumps({"from": {"phoneNumber": "+14255550100"},
                          "to": {"communicationUserId": callee}})
    return f"""
Local stack is up (logs in .run/logs/):
  function app (devhost) {stack.app_url}/api/   function key: {stack.function_key}
                         master key (POST /admin/functions/<name> runs a timer now): {stack.master_key}
  ACS emulator           {stack.emulator_url}
  Table Storage (Azurite) {stack.azurite.table_endpoint}

Place an incoming call; the app answers it:
  curl -s -X POST {stack.emulator_url}/emulator/incoming-calls \\
       -H 'Content-Type: application/json' -d '{example}'
Then look at the call (callConnectionId from the list of calls):
  curl -s '{stack.app_url}/api/calls?code={stack.function_key}'
  curl -s '{stack.app_url}/api/calls/<callConnectionId>?code={stack.function_key}'

Press Ctrl-C to stop everything.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=7071, help="devhost port")
    parser.add_argument("--emulator-port", type=int, default=8089)
    parser.add_argument("--table-port", type=int, default=10002)
    parser.add_argument("--persist", action="store_true",
                        help="keep table data in .run/azurite instead of memory")
    args = parser.parse_args()
    run_dir = ROOT / ".run"
    stack = start_stack(
        app_port=args.port, emulator_port=args.emulator_port, table_port=args.table_port,
        data_dir=run_dir / "azurite" if args.persist else None, log_dir=run_dir / "logs",
    )
    stopped = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopped.set())
    try:
        print(banner(stack), flush=True)
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
