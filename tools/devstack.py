"""`make run`: start Azurite, the ACS emulator and devhost, print how to use them; Ctrl-C stops.

`make run PERSIST=1` (``--persist``) keeps table data under .run/azurite with an account key kept
in .run/azurite-account-key; `make run FUNCTION_KEY=...` (the FUNCTION_KEY environment variable)
pins the function key. The key in use is always written to .run/function-key (mode 0600).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import NoReturn

from tools import localkeys
from tools.call_lines import start_following
from tools.processes import ROOT, ensure_free
from tools.stack import Stack, start_console, start_stack
from tools.stop_signals import StopSignals

FUNCTION_KEY_VARIABLE = "FUNCTION_KEY"
# Each --*-port option and the `make run` variable that sets it, so a refusal names what to change.
PORT_SETTINGS = {"port": "PORT", "emulator_port": "EMULATOR_PORT", "table_port": "TABLE_PORT",
                 "console_port": "CONSOLE_PORT"}


def port_problems(ports: Mapping[str, int]) -> list[str]:
    """One line per port setting that cannot be used (taken, or shared with another setting)."""
    problems: list[str] = []
    first_with: dict[int, str] = {}
    for setting, port in ports.items():
        if port in first_with:
            problems.append(f"{setting}={port} is also {first_with[port]}: give each its own port")
            continue
        first_with[port] = setting
        try:
            ensure_free(port)
        except RuntimeError:
            problems.append(f"{setting}={port}: the port is already in use; "
                            f"choose another with `make run {setting}=<port>`")
    return problems


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1-65535)")
    return port


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=_port, default=7071, help="devhost port")
    parser.add_argument("--emulator-port", type=_port, default=8089)
    parser.add_argument("--table-port", type=_port, default=10002)
    parser.add_argument("--console-port", type=_port, default=8090, help="call console port")
    parser.add_argument("--persist", action="store_true",
                        help="keep table data in .run/azurite instead of memory")
    parser.add_argument("--run-dir", type=Path, default=ROOT / ".run", help=argparse.SUPPRESS)
    return parser


def progress(text: str) -> None:
    print(text, flush=True)


def look_at_the_call(stack: Stack, management_auth: str = "") -> str:
    """The banner's lines for reading the calls: with the function key, or under
    MANAGEMENT_AUTH=entra (where no key opens a management route) with a token."""
    if management_auth.strip() != "entra":
        return f"""Then look at the call (callConnectionId from the list of calls):
  curl -s '{stack.app_url}/api/calls?code={stack.function_key}'
  curl -s '{stack.app_url}/api/calls/<callConnectionId>?code={stack.function_key}'"""
    body = json.dumps({"roles": ["calls.read"], "name": "local-reader"})
    return f"""Then look at the call: MANAGEMENT_AUTH=entra, so with a token. A function key gets 401, and so
does the call console, which calls the app with the key: it shows a 502 (docs/local-stack.md).
  TOKEN=$(curl -s -X POST {stack.emulator_url}/emulator/entra/token -d '{body}' | jq -r .access_token)
  curl -s -H "Authorization: Bearer $TOKEN" '{stack.app_url}/api/calls'"""


def banner(stack: Stack, run_dir: Path, persist: bool, console_url: str = "",
           management_auth: str = "") -> str:
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
                         master key (POST /api/jobs/<job> runs a job now): {stack.master_key}
                         (also in {run_dir / localkeys.MASTER_KEY_FILE})
  ACS emulator           {stack.emulator_url}
  Table Storage (Azurite) {stack.azurite.table_endpoint}   data: {data}
  call console           {console_url or "(not started)"}
  API page               {console_url + "api-docs" if console_url else "(with the console)"}
  Event Grid topic (emulator), given to the app as:
    EVENTGRID_TOPIC_ENDPOINT={stack.topic_endpoint}
    EVENTGRID_TOPIC_KEY={stack.topic_key}
  ask receiver (a flow's ask step, docs/local-stack.md): {stack.emulator_url}/emulator/ask/<path>
    secret: {stack.ask_secret}

Place an incoming call; the app answers it:
  curl -s -X POST {stack.emulator_url}/emulator/incoming-calls \\
       -H 'Content-Type: application/json' -d '{example}'
{look_at_the_call(stack, management_auth)}

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


def fail(lines: list[str], status: int) -> NoReturn:
    print("error: " + "\n  ".join(lines), file=sys.stderr, flush=True)
    raise SystemExit(status)


def main() -> None:
    args = parser().parse_args()
    run_dir: Path = args.run_dir
    ports = {setting: getattr(args, option) for option, setting in PORT_SETTINGS.items()}
    # Every port before anything starts: a busy one used to surface as a traceback from deep in
    # the start-up, after Azurite, the emulator and devhost were already up.
    problems = port_problems(ports)
    if problems:
        fail(["cannot start the local stack:", *problems,
              "(is an earlier `make run` still running?)"], 2)
    try:
        function_key = localkeys.function_key(
            run_dir, os.environ.get(FUNCTION_KEY_VARIABLE) or None, args.persist)
    except ValueError as error:
        fail([str(error)], 2)
    try:
        stack = start_stack(
            app_port=args.port, emulator_port=args.emulator_port, table_port=args.table_port,
            data_dir=run_dir / "azurite" if args.persist else None, log_dir=run_dir / "logs",
            function_key=function_key, master_key=localkeys.master_key(run_dir, args.persist),
            storage_key=localkeys.azurite_key(run_dir, args.persist),
            progress=progress,
        )
    except (RuntimeError, TimeoutError) as error:  # a port taken since the check, a crashed child
        fail([f"the local stack did not start: {error}", f"ports: {ports}; logs: {run_dir / 'logs'}"], 1)
    stop_signals = StopSignals()
    stop_signals.install()
    stopped = threading.Event()  # tells the call-line follower to end (set here, never in a handler)
    try:
        progress(f"starting the call console on port {args.console_port} ...")
        try:
            console_url = start_console(stack, args.console_port, run_dir / "logs" / "console.log")
        except (RuntimeError, TimeoutError) as error:
            print(f"error: the call console did not start: {error}", file=sys.stderr, flush=True)
            raise SystemExit(1) from None
        print(banner(stack, run_dir, args.persist, console_url,
                     os.environ.get("MANAGEMENT_AUTH", "")), flush=True)
        start_following(run_dir / "logs" / "devhost.log", stopped,
                        lambda line: print(line, flush=True))
        while not stop_signals.wait(0.5):
            exited = [process for process in [*stack.processes, stack.azurite.process]
                      if process.poll() is not None]
            if exited:
                print(f"a process exited ({exited[0].args!r}); stopping", flush=True)
                break
    finally:
        stopped.set()
        progress("stopping ...")
        for line in stack.stop():
            print(f"warning: {line}", flush=True)
        print("stopped Azurite, the emulator, devhost and the console", flush=True)


if __name__ == "__main__":
    main()
