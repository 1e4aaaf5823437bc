"""The console and call flows (issue 21), in a real browser: a call placed from the page into a
flow of the active rule set (through the rule that starts it), the run's step and path on the
selected call's panel, each ringing target answered, declined or busy from its buttons (the
emulator's control API), and the run's steps on the timeline.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.console_support import (
    SCREENSHOTS,
    browser_fixture,  # noqa: F401  (a fixture)
    console_url_fixture,  # noqa: F401  (a fixture)
    page_fixture,  # noqa: F401  (a fixture)
    skip_without_browser,
    steps,
)
from tests.e2e.inbound_support import (
    RuleSetter,
    inbound_calls,
    raw_id,
    use_rules_fixture,  # noqa: F401  (a fixture)
)

sync_api = skip_without_browser()


def flow_rules(rule_id: str, callee: dict[str, str], flow: dict[str, Any]) -> dict[str, Any]:
    return {"rules": [{"id": rule_id, "conditions": {"to": [raw_id(callee)]},
                       "action": {"type": "flow", "flow": "desk"}}],
            "defaultAction": {"type": "answer"}, "flows": {"desk": flow}}


def dial_into_the_flow(page: Any, rule_id: str, caller: dict[str, str], callee: dict[str, str]) -> None:
    """Pick the flow by the rule that starts it: the To field fills with the rule's number."""
    expect = sync_api.expect
    page.get_by_test_id("unscripted").select_option("ring")  # targets ring until answered here
    expect(page.get_by_test_id("flash")).to_contain_text("HTTP 200")
    form = page.get_by_test_id("flow-form")
    entry = form.get_by_test_id("flow-entry")
    expect(entry.locator("option", has_text=f"rule {rule_id}")).to_have_count(1)  # the set polled in
    entry.select_option(label=f"desk · rule {rule_id}")
    expect(form.get_by_test_id("flow-to")).to_have_value(raw_id(callee))
    expect(form.get_by_test_id("flow-note")).to_contain_text("starts at team")
    form.locator("input[name=from]").fill(caller["phoneNumber"])
    page.get_by_test_id("place-flow-call").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Dial into the flow: HTTP 201")


def target(page: Any, who: dict[str, str]) -> Any:
    return page.get_by_test_id("control-flow").locator(
        f'[data-testid=flow-target][data-callee="{who["communicationUserId"]}"]')


def flow_labels(page: Any) -> list[str]:
    return list(page.locator('[data-testid=step][data-kind="flow"]').all_text_contents())


def in_order(labels: list[str], expected: list[str]) -> bool:
    positions = [next((i for i, label in enumerate(labels) if label.startswith(word)), -1)
                 for word in expected]
    return -1 not in positions and positions == sorted(positions)


def test_simultaneous_ring_answered_in_the_browser_cancels_the_other_target(
    page: Any, app: App, emulator: Emulator, use_rules: RuleSetter,
) -> None:
    expect = sync_api.expect
    caller, callee, anna, ben = pstn(), acs_user(), acs_user(), acs_user()
    use_rules(flow_rules("console-team", callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "mode": "simultaneous", "timeoutSeconds": 60,
         "targets": [anna, ben], "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    dial_into_the_flow(page, "console-team", caller, callee)

    panel = page.get_by_test_id("control-flow")
    expect(panel.get_by_test_id("flow-name")).to_have_text("desk")
    expect(panel.get_by_test_id("flow-step")).to_have_text("team")
    expect(target(page, anna)).to_be_visible()
    expect(target(page, ben)).to_be_visible()  # both ring at once
    expect(page.get_by_test_id("timeline")).to_contain_text("flow desk → team")
    page.get_by_test_id("call-panel").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "console-flow.png"))

    target(page, ben).get_by_test_id("flow-answer").click()
    expect(panel.get_by_test_id("flow-outcome")).to_have_text("ended: connected")
    expect(panel.get_by_test_id("flow-target")).to_have_count(0)  # anna's invitation was cancelled
    expect(panel.get_by_test_id("flow-path")).to_have_text("team · answered")
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("flow desk ends: connected")
    expect(timeline).to_contain_text("stops ringing")  # anna, on her lane
    eventually(lambda: in_order(flow_labels(page), ["flow desk → team", "team: answered",
                                                    "flow desk ends: connected"]),
               what="the run's steps in order")
    labels = steps(page)
    assert in_order(labels, ["dials", "IncomingCall", "flow desk → team", "AddParticipant",
                             "answers", "team: answered"]), labels
    assert page.locator('[data-kind="flow"] rect').count() >= 3  # drawn as tags, not arrows

    scid = page.get_by_test_id("network-call").first.get_attribute("data-server-call-id")
    call = inbound_calls(app, str(scid))[0]
    assert call["inbound"]["ruleId"] == "console-team"
    assert [(p["step"], p["outcome"]) for p in call["flow"]["path"]] == [("team", "answered")]
    journal = emulator.control("GET", f"network-log?serverCallId={quote(str(scid), safe='')}").json()
    targets = {anna["communicationUserId"]: "anna", ben["communicationUserId"]: "ben"}
    ended = {(targets[e["party"]["rawId"]], e["kind"]) for e in journal["value"]
             if e["party"]["rawId"] in targets and e["kind"] != "ringing"}
    assert ended == {("ben", "answered"), ("anna", "canceled")}, ended
    network = emulator.control("GET", f"calls/{quote(str(scid), safe='')}").json()
    roster = {p["identifier"]["rawId"] for p in network["participants"]}
    assert roster == {f"4:{caller['phoneNumber']}", ben["communicationUserId"]}, roster
    page.locator(".timeline-card").screenshot(path=str(SCREENSHOTS / "console-flow-timeline.png"))


def test_a_declined_target_takes_the_fallback_and_a_busy_one_the_next(
    page: Any, app: App, emulator: Emulator, use_rules: RuleSetter,
) -> None:
    expect = sync_api.expect
    caller, callee, anna, ben = pstn(), acs_user(), acs_user(), acs_user()
    use_rules(flow_rules("console-fallback", callee, {"start": "team", "steps": [
        {"id": "team", "type": "ring", "targets": [anna], "timeoutSeconds": 60, "fallback": "backup"},
        {"id": "backup", "type": "ring", "targets": [ben], "timeoutSeconds": 60, "fallback": "bye"},
        {"id": "bye", "type": "hangup"}]}))
    dial_into_the_flow(page, "console-fallback", caller, callee)

    panel = page.get_by_test_id("control-flow")
    target(page, anna).get_by_test_id("flow-decline").click()
    expect(panel.get_by_test_id("flow-step")).to_have_text("backup")  # the fallback rings ben
    target(page, ben).get_by_test_id("flow-busy").click()
    expect(panel.get_by_test_id("flow-outcome")).to_have_text("ended: hungUp")
    expect(panel.get_by_test_id("flow-path-entry")).to_have_text(
        ["team · declined", "backup · busy", "bye"], timeout=5_000)

    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("486/560486")  # ben's AddParticipantFailed, busy
    eventually(lambda: in_order(flow_labels(page), [
        "flow desk → team", "team: declined", "flow desk → backup", "backup: busy", "flow desk → bye",
        "flow desk ends: hungUp"]), what="the run's steps in order")
    declined = page.locator('[data-testid=step][data-kind="flow"]', has_text="team: declined")
    assert declined.locator("xpath=..").locator("rect").get_attribute("fill") == "#fdecea"  # red tag
