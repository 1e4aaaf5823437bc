"""`python -m devhost` as a process: settings, host.json, the printed port, and SIGINT/SIGTERM shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
APP = "tests.unit.devhost.sample_app:app"
LISTENING = "devhost listening on "


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "devhost", *args],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _read_base_url(process: subprocess.Popen[str]) -> tuple[str, list[str]]:
    """Read stdout up to the listening line; the lines before it list functions and generated keys."""
    assert process.stdout is not None
    seen: list[str] = []
    for line in process.stdout:
        if line.startswith(LISTENING):
            return line[len(LISTENING) :].strip(), seen
        seen.append(line.rstrip("\n"))
    stderr = process.stderr.read() if process.stderr else ""
    raise AssertionError(f"devhost exited before listening: stdout={seen} stderr={stderr}")


@pytest.fixture
def app_root(tmp_path: Path) -> Path:
    (tmp_path / "host.json").write_text(
        json.dumps({"version": "2.0", "extensions": {"http": {"routePrefix": "v1"}}})
    )
    settings = {
        "IsEncrypted": False,
        "Values": {
            "DEVHOST_FUNCTION_KEY": "key-from-file",
            "DEVHOST_MASTER_KEY": "master-from-file",
            "DEVHOST_EVENTGRID_KEY": "eventgrid-from-file",
        },
    }
    (tmp_path / "local.settings.json").write_text(json.dumps(settings))
    return tmp_path


@pytest.fixture
def base_env() -> Iterator[dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEVHOST_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_serves_on_the_printed_port_and_exits_on_signal(
    app_root: Path, base_env: dict[str, str], stop_signal: signal.Signals
) -> None:
    env = {**base_env, "DEVHOST_FUNCTION_KEY": "key-from-env"}  # the environment wins over the file
    process = _start(["--port", "0", "--app", APP, "--root", str(app_root)], env)
    try:
        base_url, banner = _read_base_url(process)
        assert base_url.startswith("http://127.0.0.1:") and not base_url.endswith(":0")
        assert any("guarded: [GET]" in line and "/v1/guarded (function)" in line for line in banner)
        assert not any("generated" in line for line in banner)  # every key was set
        assert _get(f"{base_url}/v1/calls/abc")[0] == 200  # host.json routePrefix
        assert _get(f"{base_url}/api/calls/abc")[0] == 404
        assert _get(f"{base_url}/v1/guarded", {"x-functions-key": "key-from-env"}) == (
            200,
            "function level ok",
        )
        assert _get(f"{base_url}/v1/guarded", {"x-functions-key": "key-from-file"})[0] == 401
        assert _get(f"{base_url}/v1/admin-only?code=master-from-file")[0] == 200
    finally:
        process.send_signal(stop_signal)
        try:
            returncode = process.wait(timeout=10)
        finally:
            if process.poll() is None:
                process.kill()
            process.communicate()
    assert returncode == 0


def test_missing_keys_are_generated_and_printed(tmp_path: Path, base_env: dict[str, str]) -> None:
    process = _start(["--port", "0", "--app", APP, "--root", str(tmp_path)], base_env)
    try:
        base_url, banner = _read_base_url(process)
        generated = {
            line.split()[0]: line.rsplit(" ", 1)[1] for line in banner if "generated for this run" in line
        }
        assert set(generated) == {"DEVHOST_FUNCTION_KEY", "DEVHOST_MASTER_KEY", "DEVHOST_EVENTGRID_KEY"}
        assert _get(f"{base_url}/api/guarded?code={generated['DEVHOST_FUNCTION_KEY']}")[0] == 200
        assert _get(f"{base_url}/api/admin-only?code={generated['DEVHOST_FUNCTION_KEY']}")[0] == 401
        assert _get(f"{base_url}/api/admin-only?code={generated['DEVHOST_MASTER_KEY']}")[0] == 200
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        process.communicate()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--app", "no_such_module:app"], "cannot import 'no_such_module'"),
        (["--app", "tests.unit.devhost.sample_app:nope"], "has no attribute 'nope'"),
        (
            ["--app", "tests.unit.devhost.sample_app:received"],
            "is a dict, not an azure.functions.FunctionApp",
        ),
        (["--app", APP, "--settings", "missing.settings.json"], "does not exist"),
    ],
)
def test_startup_problems_exit_2_with_a_clear_message(
    tmp_path: Path, base_env: dict[str, str], args: list[str], message: str
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "devhost", "--port", "0", "--root", str(tmp_path), *args],
        cwd=REPO_ROOT,
        env=base_env,
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert completed.returncode == 2
    assert message in completed.stderr
    assert "Traceback" not in completed.stderr


def test_indexing_failure_stops_startup(tmp_path: Path, base_env: dict[str, str]) -> None:
    (tmp_path / "broken_app.py").write_text(
        "import azure.functions as func\n"
        "app = func.FunctionApp()\n"
        "@app.route(route='a')\n"
        "def one(req: func.HttpRequest, extra: str) -> str:\n"
        "    return extra\n"
    )
    completed = subprocess.run(
        [sys.executable, "-m", "devhost", "--port", "0", "--root", str(tmp_path), "--app", "broken_app:app"],
        cwd=REPO_ROOT,
        env=base_env,
        capture_output=True,
        check=False,
        text=True,
        timeout=30,
    )
    assert completed.returncode == 2
    assert "function one: parameter 'extra' matches no binding" in completed.stderr


def _post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_timer_schedule_comes_from_local_settings_and_admin_runs_it(
    tmp_path: Path, base_env: dict[str, str]
) -> None:
    settings = {"Values": {"TIMER_APP_SCHEDULE": "*/1 * * * * *", "DEVHOST_MASTER_KEY": "cli-master"}}
    (tmp_path / "local.settings.json").write_text(json.dumps(settings))
    app = "tests.unit.devhost.timer_app:app"
    process = _start(["--port", "0", "--app", app, "--root", str(tmp_path)], base_env)
    try:
        base_url, banner = _read_base_url(process)
        assert any(line.startswith("  from_setting: timerTrigger '*/1 * * * * *'") for line in banner)
        url = f"{base_url}/admin/functions/yearly"
        assert _post(url, b'{"input": ""}', {"x-functions-key": "cli-master"}) == 202
        assert _post(url, b'{"input": ""}', {}) == 401
        time.sleep(2.5)  # long enough for always_fails (every 2 s) to have run and failed once
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        _, stderr = process.communicate()
    assert "Executing yearly (timer" in stderr
    assert "Function always_fails failed (timer" in stderr  # logged, and the host kept running
    assert process.returncode == 0


def test_a_timer_schedule_naming_a_missing_setting_stops_startup(
    tmp_path: Path, base_env: dict[str, str]
) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "devhost", "--port", "0", "--root", str(tmp_path),
         "--app", "tests.unit.devhost.timer_app:app"],
        cwd=REPO_ROOT, env=base_env, capture_output=True, check=False, text=True, timeout=30,
    )
    assert completed.returncode == 2
    assert "names app setting 'TIMER_APP_SCHEDULE', which is not set" in completed.stderr
