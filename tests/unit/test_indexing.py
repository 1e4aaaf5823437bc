"""The app indexes as the Functions host will see it: names, triggers, routes, auth levels."""

from __future__ import annotations

import azure.functions as func

from tests.support.app import indexed

EXPECTED_HTTP = {
    "callbacks": ("callbacks", {"POST"}, func.AuthLevel.ANONYMOUS),
    "list_calls": ("calls", {"GET"}, func.AuthLevel.FUNCTION),
    "get_call": ("calls/{callConnectionId}", {"GET"}, func.AuthLevel.FUNCTION),
    "get_call_events": ("calls/{callConnectionId}/events", {"GET"}, func.AuthLevel.FUNCTION),
    "health": ("health", {"GET"}, func.AuthLevel.ANONYMOUS),
    "openapi": ("openapi.json", {"GET"}, func.AuthLevel.ANONYMOUS),
    "create_call": ("calls", {"POST"}, func.AuthLevel.FUNCTION),
    "hang_up": ("calls/{callConnectionId}/hangup", {"POST"}, func.AuthLevel.FUNCTION),
    "transfer_call": ("calls/{callConnectionId}/transfer", {"POST"}, func.AuthLevel.FUNCTION),
    "list_participants": ("calls/{callConnectionId}/participants", {"GET"}, func.AuthLevel.FUNCTION),
    "add_participant": ("calls/{callConnectionId}/participants", {"POST"}, func.AuthLevel.FUNCTION),
    "get_participant": ("calls/{callConnectionId}/participants/{rawId}", {"GET"},
                        func.AuthLevel.FUNCTION),
    "remove_participant": ("calls/{callConnectionId}/participants/{rawId}", {"DELETE"},
                           func.AuthLevel.FUNCTION),
    "mute_participant": ("calls/{callConnectionId}/participants/{rawId}/mute", {"POST"},
                         func.AuthLevel.FUNCTION),
    "cancel_add_participant": ("calls/{callConnectionId}/invitations/{invitationId}", {"DELETE"},
                               func.AuthLevel.FUNCTION),
    "get_rules": ("rules", {"GET"}, func.AuthLevel.FUNCTION),
    "put_rules": ("rules", {"PUT"}, func.AuthLevel.FUNCTION),
    "list_rule_versions": ("rules/versions", {"GET"}, func.AuthLevel.FUNCTION),
    "get_rule_version": ("rules/versions/{version}", {"GET"}, func.AuthLevel.FUNCTION),
    "evaluate_rules": ("rules/evaluate", {"POST"}, func.AuthLevel.FUNCTION),
    "ready": ("ready", {"GET"}, func.AuthLevel.FUNCTION),
    "run_job": ("jobs/{job}", {"POST"}, func.AuthLevel.ADMIN),
}
JOB_SCHEDULES = {"RECONCILE_SCHEDULE", "RETENTION_SCHEDULE", "OUTBOX_SCHEDULE"}


def triggers() -> dict[str, object]:
    return {f.get_function_name(): f.get_trigger() for f in indexed()}


def test_every_http_function_has_its_route_methods_and_auth_level() -> None:
    found = triggers()
    for name, (route, methods, auth) in EXPECTED_HTTP.items():
        trigger = found[name]
        assert trigger.route == route, name
        assert {str(getattr(m, "value", m)) for m in trigger.methods} == methods
        assert trigger.auth_level == auth, name


def test_incoming_call_is_an_event_grid_trigger() -> None:
    assert triggers()["incoming_call"].type == "eventGridTrigger"


def test_no_unexpected_functions_and_no_duplicates() -> None:
    names = [f.get_function_name() for f in indexed()]
    assert len(names) == len(set(names))
    assert set(names) == {*EXPECTED_HTTP, "timers", "incoming_call"}


def test_one_timer_ticks_every_minute_and_the_jobs_schedules_are_settings_infra_provides() -> None:
    from callcontrol.settings import SETTINGS, Where

    timers = [t for t in triggers().values() if getattr(t, "type", None) == "timerTrigger"]
    assert len(timers) == 1  # one scale group for every job (docs/deployment.md)
    [trigger] = timers
    assert trigger.schedule == "0 * * * * *"  # type: ignore[attr-defined]
    assert not trigger.run_on_startup  # type: ignore[attr-defined]  # a restart must not sweep at once
    declared = {spec.name: spec for spec in SETTINGS}
    for name in JOB_SCHEDULES:
        assert declared[name].where is Where.INFRA and declared[name].default, name


def test_the_local_stack_sets_the_schedules_as_declared() -> None:
    from callcontrol.settings import SETTINGS
    from tools.stack import TIMER_SCHEDULES

    declared = {spec.name: spec.default for spec in SETTINGS}
    assert {name: declared[name] for name in TIMER_SCHEDULES} == TIMER_SCHEDULES
    assert set(TIMER_SCHEDULES) == JOB_SCHEDULES
