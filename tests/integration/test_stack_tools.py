"""The local stack's launcher: free-port checks (TIME_WAIT is free), keys kept under .run/ with
mode 0600, Azurite data that survives a restart, and `make run` (tools.devstack) end to end."""

from __future__ import annotations

import os
import re
import select
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from azure.core.credentials import AzureKeyCredential
from azure.core.messaging import CloudEvent
from azure.data.tables import TableServiceClient
from azure.eventgrid import EventGridPublisherClient

from tests.support.http import call, call_json
from tools import devstack, localkeys
from tools.azurite import AZURITE_TABLE, start_azurite
from tools.processes import ROOT, ensure_free, free_port, start, stop, stop_all


@pytest.mark.parametrize("listener_reuses_address", [False, True])
def test_a_taken_port_is_refused_with_a_clear_reason(listener_reuses_address: bool) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        if listener_reuses_address:  # aiohttp and Node servers set it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with pytest.raises(RuntimeError, match="already in use"):
            ensure_free(taken)


def test_a_free_port_passes() -> None:
    ensure_free(free_port())


# Stopping the children ------------------------------------------------------------------------------
STUBBORN = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
            "print('ready', flush=True); time.sleep(120)")


def _stubborn_child() -> subprocess.Popen[bytes]:
    """A child that ignores SIGTERM, as a process stuck in its shutdown does."""
    child = subprocess.Popen([sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=True)
    assert child.stdout is not None and child.stdout.readline() == b"ready\n"
    return child


def test_children_that_ignore_the_stop_are_killed_together_and_named() -> None:
    stubborn = [_stubborn_child() for _ in range(3)]
    polite = start([sys.executable, "-c", "import time; time.sleep(120)"])
    started = time.monotonic()
    killed = stop_all([(child, signal.SIGTERM) for child in [*stubborn, polite]], timeout=2.0)
    elapsed = time.monotonic() - started
    assert killed == stubborn
    assert all(child.returncode == -signal.SIGKILL for child in stubborn)
    assert polite.returncode == -signal.SIGTERM
    # One grace period for all of them, not one each (3 x 2 s).
    assert elapsed < 5.0, elapsed


def test_stop_says_whether_the_child_stopped_of_itself() -> None:
    assert stop(start([sys.executable, "-c", "import time; time.sleep(120)"])) is True
    assert stop(_stubborn_child(), timeout=0.5) is False


# Ctrl-C noted without a lock ---------------------------------------------------------------------------
# The main loop's wait, as tight as it can be, so signals land at every point of it: with a handler
# that called threading.Event.set, the child hung within a few hundred signals (it holds the Event's
# lock inside Event.wait), which is how a Ctrl-C of `make run` once went unanswered.
SIGNALLED_LOOP = """
import os, signal, sys
from tools.stop_signals import StopSignals
stop = StopSignals(step_seconds=0.00001)
stop.install([signal.SIGUSR1])
print(os.getpid(), flush=True)
handled = 0
while True:
    if stop.wait(0.00001):
        stop.requested = False
        handled += 1
        print(handled, flush=True)
"""


def test_a_stop_signal_is_always_noted_wherever_the_main_loop_is() -> None:
    child = subprocess.Popen([sys.executable, "-c", SIGNALLED_LOOP], cwd=ROOT, stdout=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        assert child.stdout is not None
        pid = int(child.stdout.readline())
        for sent in range(1, 2001):
            os.kill(pid, signal.SIGUSR1)
            ready, _, _ = select.select([child.stdout], [], [], 10.0)
            assert ready, f"signal {sent} was never noted: the loop is stuck"
            assert int(child.stdout.readline()) == sent
    finally:
        child.kill()
        child.wait()


def _port_left_in_time_wait() -> int:
    """A port whose server side closed a connection first: only a TIME_WAIT socket remains on it."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as our servers bind
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = int(listener.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server closes first: its end of the connection enters TIME_WAIT
    client.recv(1)  # the client sees the close ...
    client.close()  # ... and answers it, so the server's side completes into TIME_WAIT
    listener.close()
    return port


def test_a_port_in_time_wait_after_ctrl_c_counts_as_free() -> None:
    port = _port_left_in_time_wait()
    # The failure as `make run` met it: a plain bind is refused although nothing listens.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))
    ensure_free(port)
    # And a server can really listen there again (what the restarted stack does).
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", port))
        server.listen()


# keys under .run/ -------------------------------------------------------------------------------
def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_function_key_is_written_0600_and_a_pinned_key_wins(tmp_path: Path) -> None:
    first = localkeys.function_key(tmp_path, None, persist=False)
    path = tmp_path / "function-key"
    assert path.read_text() == first
    assert _mode(path) == 0o600
    assert localkeys.function_key(tmp_path, None, persist=False) != first  # not persisting: fresh
    assert localkeys.function_key(tmp_path, "pinned-key-123", persist=False) == "pinned-key-123"
    assert path.read_text() == "pinned-key-123"


def test_a_persisted_stack_reuses_its_function_key_and_storage_key(tmp_path: Path) -> None:
    key = localkeys.function_key(tmp_path, None, persist=True)
    assert localkeys.function_key(tmp_path, None, persist=True) == key
    storage = localkeys.azurite_key(tmp_path, persist=True)
    assert localkeys.azurite_key(tmp_path, persist=True) == storage
    assert _mode(tmp_path / "azurite-account-key") == 0o600
    assert localkeys.azurite_key(tmp_path, persist=False) != storage


def test_a_widened_key_file_is_narrowed_back_to_0600(tmp_path: Path) -> None:
    path = tmp_path / "function-key"
    path.write_text("old")
    path.chmod(0o644)
    localkeys.function_key(tmp_path, "another-key-1", persist=False)
    assert _mode(path) == 0o600


@pytest.mark.parametrize("bad", ["short", "has space in it", "semi;colon-key", "x" * 300])
def test_a_malformed_pinned_key_is_refused_by_name(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ValueError, match="FUNCTION_KEY"):
        localkeys.function_key(tmp_path, bad, persist=False)
    assert not (tmp_path / "function-key").exists()


# Azurite keeps data across a restart ----------------------------------------------------------------
needs_azurite = pytest.mark.skipif(not AZURITE_TABLE.exists(), reason="Azurite is not installed (npm ci)")


@needs_azurite
def test_persisted_azurite_data_survives_a_restart_on_the_same_port(tmp_path: Path) -> None:
    key = localkeys.azurite_key(tmp_path, persist=True)
    # Written and stopped at once: well inside Azurite's 5 s autosave, so only a clean stop saves it.
    first = start_azurite(location=tmp_path / "azurite", key=key)
    port = first.port
    try:
        service = TableServiceClient.from_connection_string(first.connection_string)
        service.create_table("kept").create_entity({"PartitionKey": "p", "RowKey": "r", "v": 7})
    finally:
        first.stop()
    # Straight away, on the same port: the closed connections' TIME_WAIT must not block it.
    again = localkeys.azurite_key(tmp_path, persist=True)
    second = start_azurite(port=port, location=tmp_path / "azurite", key=again)
    try:
        service = TableServiceClient.from_connection_string(second.connection_string)
        assert service.get_table_client("kept").get_entity("p", "r")["v"] == 7
    finally:
        second.stop()


# make run (tools.devstack) end to end ---------------------------------------------------------------
def devstack_command(run_dir: Path, ports: dict[str, int]) -> list[str]:
    return [sys.executable, "-m", "tools.devstack", "--run-dir", str(run_dir),
            "--port", str(ports["app"]), "--emulator-port", str(ports["emulator"]),
            "--table-port", str(ports["table"]), "--console-port", str(ports["console"])]


class DevStack:
    """`python -m tools.devstack` as `make run` starts it, with its output collected."""

    def __init__(self, run_dir: Path, ports: dict[str, int], persist: bool, function_key: str | None) -> None:
        command = devstack_command(run_dir, ports)
        if persist:
            command.append("--persist")
        env = {k: v for k, v in os.environ.items() if k != "FUNCTION_KEY"}
        if function_key is not None:
            env["FUNCTION_KEY"] = function_key
        self.run_dir = run_dir
        self.output = run_dir.parent / f"devstack-{time.monotonic_ns()}.out"
        with open(self.output, "wb") as sink:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def wait_until_up(self, timeout: float = 90) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.output.read_text(errors="replace")
            if "Press Ctrl-C" in text:
                return text
            assert self.process.poll() is None, f"devstack exited:\n{text}"
            time.sleep(0.2)
        raise AssertionError(f"devstack not up in time:\n{self.output.read_text(errors='replace')}")

    def ctrl_c(self) -> None:
        """Ctrl-C, as a developer stops `make run`; what it printed and its logs if it hangs."""
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(45)
        except subprocess.TimeoutExpired:
            stop(self.process, sig=signal.SIGKILL)
            raise AssertionError(
                f"devstack did not stop within 45 s of Ctrl-C:\n{self.diagnosis()}") from None

    def diagnosis(self) -> str:
        logs = self.run_dir / "logs"
        tails = [f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
                 for log in sorted(logs.glob("*.log"))] if logs.is_dir() else []
        return "\n".join([self.output.read_text(errors="replace")[-4000:], *tails])


@pytest.fixture
def ports() -> dict[str, int]:
    return {"app": free_port(), "emulator": free_port(), "table": free_port(), "console": free_port()}


def test_the_devstack_tests_give_every_port_option_a_free_port(tmp_path: Path, ports: dict[str, int]) -> None:
    # The console's was left at its default (8090): these tests failed while `make run` was up.
    options = {action.option_strings[0] for action in devstack.parser()._actions
               if action.dest.endswith("port")}
    command = devstack_command(tmp_path, ports)
    given = {option: int(command[command.index(option) + 1]) for option in options if option in command}
    assert set(given) == options
    assert len(set(given.values())) == len(options)


def test_a_busy_port_stops_make_run_before_anything_starts_naming_its_setting(
    tmp_path: Path, ports: dict[str, int]
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        ports = {**ports, "console": holder.getsockname()[1]}
        result = subprocess.run(devstack_command(tmp_path / ".run", ports), cwd=ROOT, capture_output=True,
                                text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert f"CONSOLE_PORT={ports['console']}" in output
    assert "Traceback" not in output
    assert "starting" not in output.lower()  # nothing was started
    assert not (tmp_path / ".run" / "logs" / "azurite.log").exists()


def test_two_settings_on_one_port_are_refused_by_name(tmp_path: Path, ports: dict[str, int]) -> None:
    ports = {**ports, "emulator": ports["app"]}
    result = subprocess.run(devstack_command(tmp_path / ".run", ports), cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "EMULATOR_PORT" in output and "PORT=" in output and "Traceback" not in output


@pytest.fixture
def devstacks() -> Iterator[list[DevStack]]:
    started: list[DevStack] = []
    yield started
    for started_stack in started:
        stop(started_stack.process)


def _setting(banner: str, name: str) -> str:
    line = next(line for line in banner.splitlines() if line.strip().startswith(f"{name}="))
    return line.strip().split("=", 1)[1]


@needs_azurite
def test_make_run_persist_restarts_at_once_after_ctrl_c_with_its_key_and_data(
    tmp_path: Path, ports: dict[str, int], devstacks: list[DevStack]
) -> None:
    run_dir = tmp_path / ".run"
    devstacks.append(DevStack(run_dir, ports, persist=True, function_key=None))
    banner = devstacks[0].wait_until_up()
    key = (run_dir / "function-key").read_text()
    assert _mode(run_dir / "function-key") == 0o600
    assert f"function key: {key}" in banner
    app = f"http://127.0.0.1:{ports['app']}"
    assert call(f"{app}/api/calls?code={key}").status == 200
    assert call(f"{app}/api/calls?code=wrong").status == 401

    # The topic settings printed for the app are the emulator's live topic.
    endpoint = _setting(banner, "EVENTGRID_TOPIC_ENDPOINT")
    assert endpoint == f"http://127.0.0.1:{ports['emulator']}/api/events"
    EventGridPublisherClient(endpoint, AzureKeyCredential(_setting(banner, "EVENTGRID_TOPIC_KEY"))).send(
        [CloudEvent(source="/test", type="stack.check", data={})])
    assert "/emulator/eventgrid/subscriptions" in banner

    storage = localkeys.read_private(run_dir / "azurite-account-key")
    connection = (f"DefaultEndpointsProtocol=http;AccountName=callcontrol;AccountKey={storage};"
                  f"TableEndpoint=http://127.0.0.1:{ports['table']}/callcontrol;")
    TableServiceClient.from_connection_string(connection).create_table("survivor").create_entity(
        {"PartitionKey": "p", "RowKey": "r"})
    devstacks[0].ctrl_c()

    devstacks.append(DevStack(run_dir, ports, persist=True, function_key=None))  # straight away
    devstacks[1].wait_until_up()
    assert (run_dir / "function-key").read_text() == key
    assert call(f"{app}/api/calls?code={key}").status == 200
    table = TableServiceClient.from_connection_string(connection).get_table_client("survivor")
    assert table.get_entity("p", "r")["RowKey"] == "r"
    devstacks[1].ctrl_c()


@needs_azurite
def test_make_run_with_a_pinned_function_key(
    tmp_path: Path, ports: dict[str, int], devstacks: list[DevStack]
) -> None:
    run_dir = tmp_path / ".run"
    devstacks.append(DevStack(run_dir, ports, persist=False, function_key="pinned-by-test-01"))
    devstacks[0].wait_until_up()
    assert (run_dir / "function-key").read_text() == "pinned-by-test-01"
    assert call(f"http://127.0.0.1:{ports['app']}/api/calls?code=pinned-by-test-01").status == 200
    assert not (run_dir / "azurite").exists()  # in memory without PERSIST
    devstacks[0].ctrl_c()


@needs_azurite
def test_make_run_prints_a_line_per_call_event(
    tmp_path: Path, ports: dict[str, int], devstacks: list[DevStack]
) -> None:
    devstacks.append(DevStack(tmp_path / ".run", ports, persist=False, function_key=None))
    devstacks[0].wait_until_up()
    placed = call_json(f"http://127.0.0.1:{ports['emulator']}/emulator/incoming-calls", "POST",
                       {"from": {"phoneNumber": "+14255550123"},
                        "to": {"communicationUserId":
                               "8:acs:make_run_00000000-0000-0000-0000-000000000001"}})
    assert placed.status in (200, 201), placed.text

    wanted = ("inbound call decided: rule (default) → answer, answered",
              "callback CallConnected applied: ")
    deadline = time.monotonic() + 30
    lines: list[str] = []
    while time.monotonic() < deadline:
        lines = [line for line in devstacks[0].output.read_text(errors="replace").splitlines()
                 if re.match(r"\d\d:\d\d:\d\d  call ", line)]
        if all(any(text in line for line in lines) for text in wanted):
            break
        time.sleep(0.2)
    assert all(any(text in line for line in lines) for text in wanted), lines
    # One short line each: time, the call's id (8 characters; its correlationId beside it, as the
    # console shows them), what happened; no number.
    assert all(re.match(r"\d\d:\d\d:\d\d  call [0-9a-f-]{8} · corr [0-9a-f-]{8}  \S", line)
               for line in lines), lines
    assert not any("14255550123" in line for line in lines)
    devstacks[0].ctrl_c()
