"""GET /api/ready's checks: each timed, each with a message; 503 when any fails (the healthy
stack and an ACS refusing the credential run in tests/e2e/test_timers.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from callcontrol.adapters.readiness import JwksProbe
from callcontrol.composition import Services, use_services
from callcontrol.composition.from_settings import SettingsProbe
from callcontrol.settings import load_settings
from callcontrol.usecases.readiness import CheckReadiness, NotReady, Readiness
from tests.support.app import http_request, invoke, json_body
from tests.support.memory_tables import MemoryTableBackend

COMPLETE = {
    "ACS_ENDPOINT": "http://127.0.0.1:9", "ACS_ACCESS_KEY": "a2V5", "ACS_RESOURCE_ID": "rid",
    "CALLBACK_BASE_URL": "http://127.0.0.1:7071", "CallStateStorage": "UseDevelopmentStorage=true",
    "ACS_CALLBACK_ISSUER": "http://127.0.0.1:9", "ACS_CALLBACK_JWKS_URL": "http://127.0.0.1:9/keys",
    "RECONCILE_SCHEDULE": "0 */5 * * * *", "RETENTION_SCHEDULE": "0 17 3 * * *",
}


class Fixed:
    def __init__(self, name: str, outcome: str | BaseException, delay: float = 0.0) -> None:
        self.name, self._outcome, self._delay = name, outcome, delay

    async def check(self) -> str:
        await asyncio.sleep(self._delay)
        if isinstance(self._outcome, BaseException):
            raise self._outcome
        return self._outcome


async def test_every_probe_reports_its_outcome_duration_and_message() -> None:
    readiness = Readiness([Fixed("good", "all fine"), Fixed("bad", NotReady("grant the role")),
                           Fixed("slow", "late", delay=1.0),
                           Fixed("broken", RuntimeError("Cannot connect to host 127.0.0.1:10002"))])
    report = await readiness.check(CheckReadiness(timeout_seconds=0.1))
    by_name = {c.name: c for c in report.checks}
    assert not report.ready
    assert (by_name["good"].ok, by_name["good"].message) == (True, "all fine")
    assert (by_name["bad"].ok, by_name["bad"].message) == (False, "grant the role")
    assert by_name["slow"].message == "no answer within 0.1 s"
    # Issue 25: an unexpected error's own text (a host and port, say) goes to the log only.
    assert by_name["broken"].message == "failed with RuntimeError (the log has the detail)"
    assert all(c.duration_ms >= 0 for c in report.checks)
    assert report.summary == ("bad: grant the role; slow: no answer within 0.1 s; "
                              "broken: failed with RuntimeError (the log has the detail)")
    assert report.to_json()["status"] == "notReady"
    fine = await Readiness([Fixed("good", "ok")]).check(CheckReadiness())
    assert fine.ready and fine.to_json()["summary"] == "every check passed"


async def test_the_settings_probe_names_every_missing_setting() -> None:
    with pytest.raises(NotReady) as missing:
        await SettingsProbe(load_settings({})).check()
    for name in ("ACS_ENDPOINT", "ACS_RESOURCE_ID", "CALLBACK_BASE_URL", "CallStateStorage"):
        assert name in str(missing.value), name
    # The jobs' schedules have defaults the app reads (one timer asks them); a bad one is named.
    with pytest.raises(NotReady, match=r"RETENTION_SCHEDULE .*the hour field '25'"):
        await SettingsProbe(load_settings({**COMPLETE, "RETENTION_SCHEDULE": "0 0 25 * * *"})).check()
    bad = {**COMPLETE, "CALL_RETENTION_DAYS": "forever"}
    with pytest.raises(NotReady, match="CALL_RETENTION_DAYS must be an integer"):
        await SettingsProbe(load_settings(bad)).check()
    assert "settings present" in await SettingsProbe(load_settings(COMPLETE)).check()
    # A text prompt would fail on every call: /api/ready says so before the first one.
    speech = {**COMPLETE, "COGNITIVE_SERVICES_ENDPOINT": "http://ai.cognitiveservices.azure.com/"}
    with pytest.raises(NotReady, match="COGNITIVE_SERVICES_ENDPOINT must be an https URL"):
        await SettingsProbe(load_settings(speech)).check()


async def test_the_callback_issuer_is_checked_as_a_url_as_documented() -> None:
    """docs/settings.md: ACS_CALLBACK_ISSUER takes http(s) URLs. A bare name used to pass every
    check (its twin ACS_CALLBACK_JWKS_URL was checked), and every callback was then refused 401."""
    for bad in ("acscallautomation.communication.azure.com", "ftp://127.0.0.1:9"):
        with pytest.raises(NotReady, match="ACS_CALLBACK_ISSUER must be an http"):
            await SettingsProbe(load_settings({**COMPLETE, "ACS_CALLBACK_ISSUER": bad})).check()
    # Read as before: a trailing slash dropped, the default when unset.
    assert load_settings({"ACS_CALLBACK_ISSUER": "http://127.0.0.1:9/"}).callback_issuer == "http://127.0.0.1:9"
    assert load_settings({}).callback_issuer == "https://acscallautomation.communication.azure.com"


async def test_the_key_probe_wants_keys() -> None:
    async def empty() -> Mapping[str, Any]:
        return {"keys": []}

    async def two() -> Mapping[str, Any]:
        return {"keys": [{"kid": "a"}, {"kid": "b"}]}

    with pytest.raises(NotReady, match="holds no signing keys"):
        await JwksProbe(lambda: "http://127.0.0.1:9/keys", fetch=empty).check()
    assert (await JwksProbe(lambda: "http://127.0.0.1:9/keys", fetch=two).check()).startswith("2 ")
    for outcome in (empty, two):  # the URL is a host and port: the message names the setting
        try:
            message = await JwksProbe(lambda: "http://127.0.0.1:9/keys", fetch=outcome).check()
        except NotReady as refused:
            message = str(refused)
        assert "127.0.0.1" not in message and "ACS_CALLBACK_JWKS_URL" in message


@pytest.fixture
def unconfigured() -> Iterator[None]:
    # No ACS settings; the key set at a loopback port nobody listens on.
    settings = load_settings({"ACS_CALLBACK_JWKS_URL": "http://127.0.0.1:9/keys"})
    with use_services(lambda: Services(settings, backend=MemoryTableBackend())):
        yield


async def test_ready_is_a_503_that_says_what_is_missing(unconfigured: None) -> None:
    response = await invoke("ready", http_request("GET", "ready"))
    assert response.status_code == 503
    body = json_body(response)
    checks = {c["name"]: c for c in body["checks"]}
    assert checks["tableStorage"]["ok"]
    assert not checks["settings"]["ok"] and "ACS_ENDPOINT" in checks["settings"]["message"]
    assert not checks["acs"]["ok"] and "ACS_ENDPOINT" in checks["acs"]["message"]
    assert not checks["callbackKeys"]["ok"]
    assert "ACS_CALLBACK_JWKS_URL could not be fetched" in checks["callbackKeys"]["message"]
    assert body["status"] == "notReady"
    # Issue 25: the 503 named the key set's host and port, and had no Retry-After.
    assert "127.0.0.1" not in response.get_body().decode()
    assert response.headers["Retry-After"] == "10"
