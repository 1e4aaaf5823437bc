"""The call console in a real browser (Chromium from the system packages, driven by Playwright):
calls placed, answered, declined and transferred from the page, the timeline drawn as it goes.

Skips with the reason where Playwright or Chromium is missing. Takes the screenshots the docs show:
into a temporary folder, or into docs/img/ with `make screenshots` (CONSOLE_SCREENSHOTS_DIR).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tests.e2e.conftest import App, Emulator, acs_user, eventually, pstn
from tests.e2e.console_support import (
    SCREENSHOTS,
    TIMEOUT_MS,
    browser_fixture,  # noqa: F401  (a fixture)
    console_url_fixture,  # noqa: F401  (a fixture)
    page_fixture,  # noqa: F401  (a fixture)
    skip_without_browser,
    steps,
)
from tests.support.http import call as http_call

sync_api = skip_without_browser()


def network_call(emulator: Emulator, caller_raw_id: str) -> dict[str, Any] | None:
    reply = emulator.control("GET", "calls")
    for call in reply.json()["value"]:
        if any(p["identifier"]["rawId"] == caller_raw_id for p in call["participants"]):
            return dict(call)
    return None


def test_place_answer_transfer_and_watch_the_timeline(page: Any, app: App, emulator: Emulator) -> None:
    expect = sync_api.expect
    caller, callee, target = pstn(), acs_user(), pstn()
    page.get_by_test_id("unscripted").select_option("ring")
    expect(page.get_by_test_id("flash")).to_contain_text("HTTP 200")

    form = page.get_by_test_id("place-form")
    form.locator("input[name=from]").fill(caller["phoneNumber"])
    form.locator("input[name=to]").fill(callee["communicationUserId"])
    form.locator("textarea[name=headers]").fill("x-ms-custom-dept: sales")
    page.get_by_test_id("place-call").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Dial: HTTP 201")

    call = eventually(lambda: network_call(emulator, f"4:{caller['phoneNumber']}"), what="the placed call")
    scid = call["serverCallId"]
    card = page.locator(f'[data-testid=app-call]:has(.head[data-select="{scid}"])')
    expect(card).to_have_attribute("data-state", "connected")  # the app answered, by its rules
    expect(page.get_by_test_id("timeline")).to_contain_text("AnswerCall → 200")
    expect(page.get_by_test_id("timeline")).to_contain_text("CallConnected")
    # One id per call on both sides: the app's callConnectionId, the correlationId beside it.
    call_id = str(card.get_attribute("data-call-connection-id"))
    network_card = page.locator(f'[data-testid=network-call][data-server-call-id="{scid}"]')
    for side in (card, network_card):
        expect(side.get_by_test_id("call-id")).to_have_text(f"call {call_id[:8]}…")
        expect(side.get_by_test_id("correlation-id")).to_have_text(f"corr {call['correlationId'][:8]}")
    expect(page.locator("#timeline-title")).to_contain_text(f"call {call_id[:8]}…")

    card.get_by_test_id("action-target").fill(target["phoneNumber"])
    card.get_by_test_id("transfer").click()
    leg = page.locator(f'[data-testid=leg][data-callee="4:{target["phoneNumber"]}"]')
    expect(leg).to_be_visible()  # the transfer target rings until someone answers here
    expect(page.get_by_test_id("timeline")).to_contain_text("rings")
    page.get_by_test_id("network-call").first.scroll_into_view_if_needed()
    # The viewport, not the whole page: the README shows it at its width, so it stays readable.
    page.screenshot(path=str(SCREENSHOTS / "console-overview.png"))

    leg.get_by_test_id("answer-leg").click()
    expect(leg).to_have_count(0)
    expect(card).to_have_attribute("data-state", "disconnected")  # 1:1 transfer: the app leaves
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("CallTransferAccepted")
    expect(timeline).to_contain_text("CallDisconnected")
    labels = steps(page)
    order = ["dials", "IncomingCall", "AnswerCall", "CallConnected", "TransferToParticipant",
             "rings", "answers", "CallTransferAccepted", "CallDisconnected"]
    positions = [next(i for i, label in enumerate(labels) if label.startswith(word)) for word in order]
    assert positions == sorted(positions), labels
    lanes = page.get_by_test_id("lane").all_text_contents()
    assert lanes == [caller["phoneNumber"], "ACS (emulator)", "App", target["phoneNumber"]]
    # The network agrees: the caller now talks to the target.
    network = emulator.control("GET", f"calls/{quote(scid, safe='')}").json()
    roster = {p["identifier"]["rawId"] for p in network["participants"]}
    assert roster == {f"4:{caller['phoneNumber']}", f"4:{target['phoneNumber']}"}
    page.locator(".timeline-card").screenshot(path=str(SCREENSHOTS / "console-timeline.png"))


def test_create_a_call_answer_it_decline_and_cancel_added_parties(
    page: Any, app: App, emulator: Emulator
) -> None:
    expect = sync_api.expect
    callee, busy_party = pstn(), acs_user()
    page.get_by_test_id("unscripted").select_option("ring")
    expect(page.get_by_test_id("flash")).to_contain_text("HTTP 200")
    form = page.get_by_test_id("create-form")
    form.locator("input[name=targets]").fill(callee["phoneNumber"])
    page.get_by_test_id("create-call").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Create call: HTTP 201")

    leg = page.locator(f'[data-testid=leg][data-callee="4:{callee["phoneNumber"]}"]')
    leg.get_by_test_id("answer-leg").click()
    call = eventually(lambda: network_call(emulator, f"4:{callee['phoneNumber']}"), what="the created call")
    card = page.locator(f'[data-testid=app-call]:has(.head[data-select="{call["serverCallId"]}"])')
    expect(card).to_have_attribute("data-state", "connected")

    card.get_by_test_id("action-target").fill(busy_party["communicationUserId"])
    card.get_by_test_id("add").click()
    expect(card).to_contain_text("addParticipant pending")
    added = page.locator(f'[data-testid=leg][data-callee="{busy_party["communicationUserId"]}"]')
    added.get_by_test_id("decline-reason").select_option("busy")
    added.get_by_test_id("decline-leg").click()
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_contain_text("AddParticipantFailed")
    expect(timeline).to_contain_text("486/560486")
    expect(card).not_to_contain_text("pending")

    waiting = acs_user()
    card.get_by_test_id("action-target").fill(waiting["communicationUserId"])
    card.get_by_test_id("add").click()
    expect(page.locator(f'[data-testid=leg][data-callee="{waiting["communicationUserId"]}"]')).to_be_visible()
    card.get_by_test_id("cancel-add").click()
    expect(timeline).to_contain_text("CancelAddParticipantSucceeded")
    expect(page.locator(f'[data-testid=leg][data-callee="{waiting["communicationUserId"]}"]')).to_have_count(0)

    agent = acs_user()
    card.get_by_test_id("action-target").fill(agent["communicationUserId"])
    card.get_by_test_id("add").click()
    page.locator(f'[data-testid=leg][data-callee="{agent["communicationUserId"]}"]').get_by_test_id("answer-leg").click()
    expect(timeline).to_contain_text("AddParticipantSucceeded")
    # The participant's row, not the pending mute's line that names it too.
    agent_row = card.locator(f'[data-testid=participant][data-raw="{agent["communicationUserId"]}"]')
    agent_row.get_by_test_id("mute").click()
    expect(agent_row).to_contain_text("muted")
    # Removing the PSTN callee: its raw id (4:+1…) travels percent-encoded through the proxy.
    card.locator("li", has_text=callee["phoneNumber"]).get_by_test_id("remove").click()
    expect(timeline).to_contain_text("RemoveParticipantSucceeded")
    expect(card.locator("li", has_text=callee["phoneNumber"])).to_have_count(0)

    card.locator('[data-keep^="everyone-"]').check()
    card.get_by_test_id("app-hangup").click()
    expect(card).to_have_attribute("data-state", "disconnected")
    expect(timeline).to_contain_text("TerminateCall")


def transfer_requests(emulator: Emulator) -> list[dict[str, Any]]:
    return [r for r in emulator.control("GET", "requests").json()["value"]
            if r["path"].endswith(":transferToParticipant")]


def test_a_group_call_transfer_names_its_transferee_and_the_app_leg_has_no_buttons(
    page: Any, app: App, emulator: Emulator
) -> None:
    # The transfer had no transferee field (ACS answered 400 on every group call) and sent no
    # caller id for a phone number; the app's own leg was offered Mute and Remove.
    expect = sync_api.expect
    emulator.control("PATCH", "settings", {"unscriptedBehavior": "answer"})
    moving, staying, target = pstn(), acs_user(), pstn()
    form = page.get_by_test_id("create-form")
    form.locator("input[name=targets]").fill(f"{moving['phoneNumber']}, {staying['communicationUserId']}")
    caller_id = form.locator("input[name=callerId]").input_value()
    page.get_by_test_id("create-call").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Create call: HTTP 201")
    call = eventually(lambda: network_call(emulator, f"4:{moving['phoneNumber']}"), what="the group call")
    card = page.locator(f'[data-testid=app-call]:has(.head[data-select="{call["serverCallId"]}"])')
    expect(card).to_have_attribute("data-state", "connected")
    expect(card.locator("li", has_text=staying["communicationUserId"][-6:])).to_have_count(1)

    own = card.get_by_test_id("app-leg")
    expect(own).to_have_count(1)
    expect(own).to_contain_text("the app")
    expect(own.locator("button")).to_have_count(0)

    card.get_by_test_id("transferee").select_option(f"4:{moving['phoneNumber']}")
    card.get_by_test_id("action-target").fill(target["phoneNumber"])
    card.get_by_test_id("transfer").click()
    expect(page.get_by_test_id("flash")).to_contain_text("Transfer: HTTP 202")
    expect(page.get_by_test_id("timeline")).to_contain_text("CallTransferAccepted")
    expect(card.locator("li", has_text=target["phoneNumber"])).to_have_count(1)
    expect(card.locator("li", has_text=moving["phoneNumber"])).to_have_count(0)
    expect(card).to_have_attribute("data-state", "connected")  # a group call stays up
    sent = transfer_requests(emulator)[-1]["body"]
    assert sent["transferee"]["rawId"] == f"4:{moving['phoneNumber']}", sent
    assert sent["sourceCallerIdNumber"]["value"] == caller_id, sent


def test_the_timeline_stays_in_view_under_many_calls(page: Any, app: App, emulator: Emulator) -> None:
    # Under a dozen call cards the timeline started ~2,500 px down the page.
    for _ in range(12):
        emulator.incoming_call(pstn(), acs_user())
    eventually(lambda: page.get_by_test_id("app-call").count() >= 12, timeout=30, what="twelve calls listed")
    top = page.locator(".timeline-card").bounding_box()["y"]
    assert top < page.viewport_size["height"], top


def test_the_console_api_is_closed_to_other_sites(console_url: str) -> None:
    snapshot = console_url + "console/snapshot"
    assert http_call(snapshot).status == 403  # no X-Call-Console header
    foreign = http_call(snapshot, headers={"Host": "evil.example", "X-Call-Console": "1"})
    assert foreign.status == 403
    assert http_call(snapshot, headers={"X-Call-Console": "1"}).status == 200
    # The proxy reaches the app's /api and the emulator's /emulator, nothing beside them.
    climbing = http_call(console_url + "console/app/%2E%2E/admin/functions", headers={"X-Call-Console": "1"})
    assert climbing.status == 400
    health = http_call(console_url + "console/app/health", headers={"X-Call-Console": "1"})
    assert health.status == 200 and health.json()["status"] == "ok"


def test_the_console_has_a_favicon(console_url: str) -> None:
    # Browsers ask for /favicon.ico whatever the page says: it was a 404 on every load.
    icon = http_call(console_url + "favicon.ico")
    assert icon.status == 200 and icon.headers["Content-Type"].startswith("image/svg+xml")
    assert "/static/favicon.svg" in http_call(console_url).text


def test_the_api_page_shows_the_apis_operations_and_asks_only_loopback(
        browser: Any, console_url: str) -> None:
    """The API page: the app's OpenAPI document, interactive, its assets from the pinned npm
    package served by the console: no request leaves loopback (issue 24)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    opened = context.new_page()
    asked: list[str] = []
    opened.on("request", lambda request: asked.append(request.url))
    try:
        opened.goto(console_url)
        opened.get_by_test_id("api-link").click()
        opened.wait_for_url("**/api-docs")
        operations = opened.locator(".opblock-summary-path")
        sync_api.expect(operations.first).to_be_visible(timeout=TIMEOUT_MS)
        paths = set(operations.all_text_contents())
        assert {"/api/calls", "/api/calls/{callConnectionId}/hangup", "/api/rules"} <= {
            p.replace("\u200b", "") for p in paths}, paths
        opened.screenshot(path=str(SCREENSHOTS / "api-page.png"))
    finally:
        context.close()
    elsewhere = [url for url in asked if not url.startswith(console_url.rstrip("/"))
                 and not url.startswith(("data:", "blob:"))]
    assert elsewhere == [], elsewhere
