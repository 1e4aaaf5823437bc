"""Diagnostics and alerts: what reaches Log Analytics, what alerts watch, where dead letters wait.

Each check is a function over parsed templates returning its problems, so the same check runs on
infra/ (no problem) and on a deliberately broken copy (the problem is reported).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pycep import BicepParser

from callcontrol.adapters.telemetry.metrics import OUTBOX_PENDING_CALLS, READINESS, UNEXPECTED_ERRORS
from tests.unit.infra.bicep_model import (
    INFRA_DIR,
    MAIN_BICEP,
    REPO_ROOT,
    dotted,
    module_of,
    template,
)

DIAGNOSTICS = INFRA_DIR / "app" / "diagnostics.bicep"
ALERTS = INFRA_DIR / "app" / "alerts.bicep"
ACCESS = INFRA_DIR / "app" / "access.bicep"
MONITORING = INFRA_DIR / "core" / "monitoring.bicep"
DEPLOYMENT_DOC = REPO_ROOT / "docs" / "deployment.md"
DIAGNOSTIC_SETTINGS = "Microsoft.Insights/diagnosticSettings"
# The role ACS must grant the app's identity (access.bicep); the identity alert looks for its name.
ACS_ROLE_NAME = "ACS Call Automation caller"


def parse(text: str) -> dict[str, Any]:
    return dict(BicepParser().parse(text=text))


def created(parsed: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [r for r in parsed.get("resources", {}).values()
            if r["type"] == resource_type and not r["existing"]]


def diagnostics_problems(parsed: dict[str, Any]) -> list[str]:
    """The system topic, the function app, ACS and the call events topic send their logs and
    metrics to the workspace."""
    problems = []
    resources = parsed.get("resources", {})
    wanted = {"Microsoft.EventGrid/systemTopics": "DeliveryFailures",
              "Microsoft.Web/sites": "FunctionAppLogs",
              "Microsoft.Communication/communicationServices": "CallAutomationOperational",
              "Microsoft.EventGrid/topics": "PublishFailures"}
    covered = set()
    for setting in created(parsed, DIAGNOSTIC_SETTINGS):
        config = setting["config"]
        target = resources.get(config["scope"], {}).get("type")
        properties = config["properties"]
        if properties.get("workspaceId") != "logAnalyticsId":
            problems.append(f"diagnostics of {target} do not go to the workspace")
        logs = {entry["category"] for entry in properties.get("logs", []) if entry.get("enabled")}
        metrics = {entry["category"] for entry in properties.get("metrics", []) if entry.get("enabled")}
        if target in wanted and wanted[target] in logs and "AllMetrics" in metrics:
            covered.add(target)
    problems += [f"no diagnostic setting sends {wanted[t]} and AllMetrics of {t}"
                 for t in sorted(set(wanted) - covered)]
    return problems


def alert_problems(parsed: dict[str, Any]) -> list[str]:
    """Dead-lettered IncomingCalls, failing functions and ACS refusing the identity are alerted."""
    problems = []
    metric_alerts = created(parsed, "Microsoft.Insights/metricAlerts")

    def metric_alerted(scope: str, namespace: str, metric: str) -> bool:
        """An alert on `metric` > 0 (total) of the resource `scope`, in its metric namespace."""
        return any(
            a["config"]["properties"]["scopes"] == [scope]
            and a["config"]["properties"]["targetResourceType"] == namespace
            and any(c.get("metricName") == metric and c.get("metricNamespace") == namespace
                    and c.get("operator") == "GreaterThan" and c.get("threshold") == 0
                    and c.get("timeAggregation") == "Total"
                    for c in a["config"]["properties"]["criteria"]["allOf"])
            for a in metric_alerts)

    for scope, namespace, metric, what in [
        ("systemTopicId", "Microsoft.EventGrid/systemTopics", "DeadLetteredCount", "system topic"),
        ("systemTopicId", "Microsoft.EventGrid/systemTopics", "DeliveryAttemptFailCount",
         "system topic"),
        ("callEventsTopicId", "Microsoft.EventGrid/topics", "PublishFailCount", "call events topic"),
    ]:
        if not metric_alerted(scope, namespace, metric):
            problems.append(f"no alert on {metric} > 0 of the {what}")
    queries = [
        (a["config"]["properties"]["scopes"], criterion.get("query", ""), criterion)
        for a in created(parsed, "Microsoft.Insights/scheduledQueryRules")
        for criterion in a["config"]["properties"]["criteria"]["allOf"]
    ]
    on_insights = [(q, c) for scopes, q, c in queries if scopes == ["applicationInsightsId"]]
    if not any("requests" in q and "success == false" in q and c.get("threshold") == 0
               for q, c in on_insights):
        problems.append("no alert on failed function invocations (requests, success == false)")
    role = parsed.get("variables", {}).get("acsRoleName", {}).get("value")
    if role != ACS_ROLE_NAME:
        problems.append(f"the identity alert names role {role!r}, not {ACS_ROLE_NAME!r}")
    if not any('operation_Name == "ready"' in q and '"503"' in q and "${acsRoleName}" in q
               for q, _ in on_insights):
        problems.append("no alert on the readiness check's 503 or the refused-role message")
    variables = parsed.get("variables", {})
    if variables.get("readinessMetric", {}).get("value") != READINESS:
        problems.append(f"the identity alert does not read the app's gauge {READINESS}")
    if not any('customMetrics | where name == "${readinessMetric}"' in q
               and 'tostring(customDimensions.check) == "acs"' in q and "value == 0" in q
               for q, _ in on_insights):
        problems.append("no alert on the steady-state readiness gauge's acs check failing")
    if variables.get("unexpectedErrorsMetric", {}).get("value") != UNEXPECTED_ERRORS:
        problems.append(f"the failures alert does not read the app's counter {UNEXPECTED_ERRORS}")
    if not any('customMetrics | where name == "${unexpectedErrorsMetric}"' in q
               and "by operation_Name" in q and "success == false" in q
               for q, _ in on_insights):
        problems.append("the failures alert misses the 500s the app answered to unexpected errors")
    if variables.get("outboxMetric", {}).get("value") != OUTBOX_PENDING_CALLS:
        problems.append(f"the backlog alert does not read the app's gauge {OUTBOX_PENDING_CALLS}")
    if not any('customMetrics | where name == "${outboxMetric}"' in q and "min(value)" in q
               and c.get("threshold") == 0
               and c.get("failingPeriods", {}).get("minFailingPeriodsToAlert", 0) >= 3
               for q, c in on_insights):
        problems.append("no alert on a lasting outbox backlog")
    for rule in created(parsed, "Microsoft.Insights/scheduledQueryRules"):
        properties = rule["config"]["properties"]
        reads_gauges = any("customMetrics" in c.get("query", "")
                           for c in properties["criteria"]["allOf"])
        if reads_gauges and properties.get("skipQueryValidation") is not True:
            problems.append(f"{rule['config']['name']} reads a gauge that may not exist yet "
                            "without skipQueryValidation")
    return problems


def test_system_topic_and_app_send_diagnostics_to_log_analytics() -> None:
    assert diagnostics_problems(template(DIAGNOSTICS)) == []
    passed = module_of(MAIN_BICEP, DIAGNOSTICS)["config"]["params"]
    assert dotted(passed["logAnalyticsId"]) == "monitoring.outputs.logAnalyticsId"
    assert dotted(passed["systemTopicName"]) == "eventGridTopic.outputs.name"
    assert dotted(passed["functionAppName"]) == "functionApp.outputs.name"
    assert dotted(passed["communicationName"]) == "communication.outputs.name"
    assert dotted(passed["callEventsTopicName"]) == "callEventsTopic.outputs.name"
    assert dotted(template(MONITORING)["outputs"]["logAnalyticsId"]["value"]) == "logAnalytics.id"


@pytest.mark.parametrize(("old", "new"), [
    ("category: 'DeliveryFailures'", "category: 'Nothing'"),
    ("category: 'FunctionAppLogs'", "category: 'Nothing'"),
    ("category: 'CallAutomationOperational'", "category: 'Nothing'"),
    ("category: 'PublishFailures'", "category: 'Nothing'"),
    ("workspaceId: logAnalyticsId", "workspaceId: 'elsewhere'"),
])
def test_diagnostics_check_catches_a_breakage(old: str, new: str) -> None:
    text = DIAGNOSTICS.read_text()
    assert old in text
    assert diagnostics_problems(parse(text.replace(old, new, 1))) != []


def test_alerts_watch_dead_letters_failures_and_the_identity() -> None:
    assert alert_problems(template(ALERTS)) == []
    passed = module_of(MAIN_BICEP, ALERTS)["config"]["params"]
    assert dotted(passed["systemTopicId"]) == "eventGridTopic.outputs.id"
    assert dotted(passed["callEventsTopicId"]) == "callEventsTopic.outputs.id"
    assert dotted(passed["applicationInsightsId"]) == "monitoring.outputs.applicationInsightsId"
    assert dotted(passed["deadLetterContainerName"]) == "storage.outputs.deadLetterContainerName"
    # The role the alert names is the role access.bicep grants for ACS.
    assert template(ACCESS)["variables"]["acsCallerRoleName"]["value"] == ACS_ROLE_NAME


@pytest.mark.parametrize(("old", "new"), [
    ("metricName: 'DeadLetteredCount'", "metricName: 'DeliverySuccessCount'"),
    ("metricName: 'DeliveryAttemptFailCount'", "metricName: 'DeliverySuccessCount'"),
    ("metricName: 'PublishFailCount'", "metricName: 'PublishSuccessCount'"),
    ("callEventsTopicId\n    ]", "systemTopicId\n    ]"),
    ("systemTopicId\n    ]", "applicationInsightsId\n    ]"),
    ("where success == false", "where success == true"),
    ("resultCode == \"503\"", "resultCode == \"200\""),
    (f"var acsRoleName = '{ACS_ROLE_NAME}'", "var acsRoleName = 'Contributor'"),
    ("var readinessMetric = 'callcontrol.readiness'", "var readinessMetric = 'ready'"),
    ("check) == \"acs\"", "check) == \"settings\""),
    ("var outboxMetric = 'callcontrol.outbox.pending_calls'", "var outboxMetric = 'outbox'"),
    ("minFailingPeriodsToAlert: 3", "minFailingPeriodsToAlert: 1"),
    ("var unexpectedErrorsMetric = 'callcontrol.unexpected_errors'",
     "var unexpectedErrorsMetric = 'errors'"),
    ("skipQueryValidation: true\n    scopes", "skipQueryValidation: false\n    scopes"),
])
def test_alert_check_catches_a_breakage(old: str, new: str) -> None:
    text = ALERTS.read_text()
    assert old in text
    assert alert_problems(parse(text.replace(old, new, 1))) != []


def test_alerts_notify_the_optional_email_only_when_given() -> None:
    parsed = template(ALERTS)
    group = parsed["resources"]["actionGroup"]
    assert "empty" in json.dumps(group["config"]["condition"])
    assert template(MAIN_BICEP)["parameters"]["alertEmailAddress"]["default"] == ""


def doc_problems(doc: str) -> list[str]:
    """The deployment doc names the dead-letter container, the replay, and each alert."""
    container = template(MAIN_BICEP)["variables"]["deadLetterContainerName"]["value"]
    required = [container, "replay", "DeadLetteredCount", "success == false", "/api/ready",
                "perInstanceConcurrency", "INCOMING_CALL_ALL_NUMBERS", "AZURE_TOKEN_CREDENTIALS"]
    required += [r["config"]["name"].split("-${")[0]
                 for r in template(ALERTS)["resources"].values() if "alert" in r["type"].lower()]
    return [f"docs/deployment.md does not mention {item}" for item in required if item not in doc]


def test_deployment_doc_names_dead_letters_and_alerts() -> None:
    assert doc_problems(DEPLOYMENT_DOC.read_text()) == []


def test_doc_check_catches_a_missing_container_name() -> None:
    container = template(MAIN_BICEP)["variables"]["deadLetterContainerName"]["value"]
    assert doc_problems(DEPLOYMENT_DOC.read_text().replace(container, "the container")) != []
