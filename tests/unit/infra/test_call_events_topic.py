"""The call events topic (infra/core/call-events-topic.bicep): a CloudEvents custom topic that admits
only Entra tokens, the app's identity as its one sender, and the app told where it is."""

from __future__ import annotations

from typing import Any

from pycep import BicepParser

from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    app_settings,
    dotted,
    module_of,
    resource_config,
    the_resource,
)

TOPIC = INFRA_DIR / "core" / "call-events-topic.bicep"
FUNCTION_APP = INFRA_DIR / "app" / "function-app.bicep"


def topic_problems(parsed: dict[str, Any]) -> list[str]:
    """What would make the topic unfit: wrong schema, keys accepted, a public-key path."""
    found = [r for r in parsed.get("resources", {}).values()
             if r["type"] == "Microsoft.EventGrid/topics"]
    if len(found) != 1:
        return [f"expected one custom topic, found {len(found)}"]
    properties = resource_config(found[0])["properties"]
    problems = []
    if properties.get("inputSchema") != "CloudEventSchemaV1_0":
        problems.append("inputSchema must be CloudEventSchemaV1_0 (the app publishes CloudEvents)")
    if properties.get("disableLocalAuth") is not True:
        problems.append("disableLocalAuth must be true (identity only, no topic keys)")
    return problems


def test_the_topic_takes_cloudevents_from_identities_only() -> None:
    assert topic_problems(dict(BicepParser().parse(text=TOPIC.read_text()))) == []


def test_the_check_catches_a_topic_that_accepts_keys_or_the_event_grid_schema() -> None:
    broken = (TOPIC.read_text().replace("disableLocalAuth: true", "disableLocalAuth: false")
              .replace("'CloudEventSchemaV1_0'", "'EventGridSchema'"))
    assert len(topic_problems(dict(BicepParser().parse(text=broken)))) == 2


def test_the_app_identity_is_the_sender() -> None:
    _, grant = the_resource(TOPIC, "Microsoft.Authorization/roleAssignments")
    assert resource_config(grant)["scope"] == "topic"
    passed = module_of(MAIN_BICEP, TOPIC)["config"]["params"]
    assert dotted(passed["appPrincipalId"]) == "identity.outputs.principalId"


def test_the_app_gets_the_topic_endpoint_and_the_outbox_schedule() -> None:
    settings = app_settings()
    assert settings["EVENTGRID_TOPIC_ENDPOINT"] == "callEventsTopicEndpoint"
    assert settings["OUTBOX_SCHEDULE"] == "outboxSchedule"
    assert "EVENTGRID_TOPIC_KEY" not in settings
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]
    assert dotted(passed["callEventsTopicEndpoint"]) == "callEventsTopic.outputs.endpoint"
    _, topic = the_resource(TOPIC, "Microsoft.EventGrid/topics")
    assert topic is not None
