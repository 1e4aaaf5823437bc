"""checkov, a third-party IaC scanner, over infra/: no failure, and every skip is a known one with its reason.

checkov lives in its own venv (.venv-checkov, from requirements-checkov.txt, made by `make
bootstrap`) because its pins clash with ours. It runs offline (--skip-download, no mapping
fetch, no update check).
A new finding fails here until it is fixed or skipped inline in the template
(`//checkov:skip=CKV_...:reason`) and listed below and in docs/deployment.md.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.unit.infra.bicep_model import INFRA_DIR, REPO_ROOT

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"
DEPLOYMENT_DOC = REPO_ROOT / "docs" / "deployment.md"

# (check id, file under infra/): each skipped inline with its reason in that template.
KNOWN_SKIPS = {
    ("CKV_AZURE_225", "/app/plan.bicep"),  # zone redundancy: a parameter checkov cannot evaluate
    ("CKV_AZURE_206", "/core/storage.bicep"),  # ZRS: the same parameter
    ("CKV_AZURE_35", "/core/storage.bicep"),  # public endpoint needed without a VNet
    ("CKV_AZURE_193", "/core/call-events-topic.bicep"),  # the app publishes without a VNet
    ("CKV_AZURE_59", "/core/storage.bicep"),
    ("CKV_AZURE_222", "/app/function-app.bicep"),  # ACS and Event Grid must reach the app
    ("CKV_AZURE_17", "/app/function-app.bicep"),  # no client certificates from ACS/Event Grid
    ("CKV_AZURE_212", "/app/function-app.bicep"),  # Flex: always-ready, not an instance minimum
    ("CKV_AZURE_213", "/app/function-app.bicep"),  # Flex has no platform health check
    ("CKV_AZURE_13", "/app/function-app.bicep"),  # callbacks carry their own JWT
    ("CKV_AZURE_63", "/app/function-app.bicep"),  # IIS logging features (Windows App Service)
    ("CKV_AZURE_65", "/app/function-app.bicep"),
    ("CKV_AZURE_66", "/app/function-app.bicep"),
    ("CKV_AZURE_80", "/app/function-app.bicep"),  # .NET Framework version: a Python app
    ("CKV_AZURE_88", "/app/function-app.bicep"),  # no Azure Files on Flex Consumption
    ("CKV_AZURE_134", "/core/speech.bicep"),  # ACS reaches the AI resource over its public endpoint
    ("CKV_AZURE_238", "/core/speech.bicep"),  # the AI resource calls nothing: no identity of its own
    # The opt-in audio prompt account: ACS reads its one container without credentials.
    ("CKV_AZURE_34", "/core/prompt-audio.bicep"),
    ("CKV_AZURE_35", "/core/prompt-audio.bicep"),
    ("CKV_AZURE_59", "/core/prompt-audio.bicep"),
    ("CKV_AZURE_206", "/core/prompt-audio.bicep"),
}


def checkov_binary() -> Path:
    if not CHECKOV.is_file():
        pytest.skip(f"{CHECKOV} is absent: `make bootstrap` installs requirements-checkov.txt there")
    return CHECKOV


def scan(directory: Path) -> dict[str, Any]:
    """checkov's JSON report for the Bicep files under `directory`, offline."""
    # Nothing fetched at run time: no guideline mapping, no platform download, no update check.
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}
    result = subprocess.run(
        [str(checkov_binary()), "--directory", str(directory), "--framework", "bicep",
         "--output", "json", "--compact", "--skip-download", "--skip-results-upload"],
        capture_output=True, text=True, timeout=600, check=False, env=env,
    )
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    if isinstance(report, list):  # one entry per framework
        [report] = report
    assert report["check_type"] == "bicep"
    found: dict[str, Any] = report
    return found


@cache
def infra_report() -> dict[str, Any]:
    return scan(INFRA_DIR)


def failures(report: dict[str, Any]) -> list[str]:
    return sorted(f"{c['check_id']} {c['resource']} ({c['file_path']}): {c['check_name']}"
                  for c in report["results"]["failed_checks"])


def unexplained_skips(report: dict[str, Any]) -> list[str]:
    """Skips without a reason, or not in the known list."""
    problems = []
    for check in report["results"].get("skipped_checks", []):
        key = (check["check_id"], check["file_path"])
        reason = (check["check_result"].get("suppress_comment") or "").strip()
        if len(reason) < 20 or reason.lower() == "no comment provided":
            problems.append(f"{key}: skipped without a reason")
        if key not in KNOWN_SKIPS:
            problems.append(f"{key}: skipped but not in KNOWN_SKIPS")
    return problems


def test_infra_has_no_checkov_failure() -> None:
    report = infra_report()
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    assert failures(report) == []


def test_every_skip_is_known_and_says_why() -> None:
    report = infra_report()
    assert unexplained_skips(report) == []
    skipped = {(c["check_id"], c["file_path"]) for c in report["results"]["skipped_checks"]}
    assert skipped == KNOWN_SKIPS  # a fixed finding leaves no stale skip behind


def test_deployment_doc_lists_every_skip() -> None:
    text = DEPLOYMENT_DOC.read_text()
    missing = sorted({check for check, _ in KNOWN_SKIPS if check not in text})
    assert missing == []


def test_checkov_reports_a_deliberate_breakage(tmp_path: Path) -> None:
    # The scan must be able to fail: a storage account open to anonymous blob reads over old TLS,
    # and a skip with no reason, are both caught.
    (tmp_path / "storage.bicep").write_text(
        "resource st 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n"
        "  //checkov:skip=CKV_AZURE_206\n"
        "  name: 'stbroken'\n  location: 'westeurope'\n  kind: 'StorageV2'\n"
        "  sku: {\n    name: 'Standard_LRS'\n  }\n"
        "  properties: {\n    allowBlobPublicAccess: true\n    minimumTlsVersion: 'TLS1_0'\n"
        "    supportsHttpsTrafficOnly: false\n  }\n}\n"
    )
    report = scan(tmp_path)
    failed = {c["check_id"] for c in report["results"]["failed_checks"]}
    assert {"CKV_AZURE_44", "CKV_AZURE_3"} <= failed, failed
    assert any("without a reason" in p for p in unexplained_skips(report))


FIGURES = re.compile(r"Now: (\d+) passed, (\d+) failed, (\d+) skipped")


def figures_problems(text: str, summary: dict[str, Any]) -> list[str]:
    """The doc's checkov figures must be the report's, so they are never written from memory."""
    found = FIGURES.findall(text)
    expected = (str(summary["passed"]), str(summary["failed"]), str(summary["skipped"]))
    if found != [expected]:
        return [f"docs/deployment.md says {found}; checkov reports "
                f"'Now: {expected[0]} passed, {expected[1]} failed, {expected[2]} skipped.'"]
    return []


def test_deployment_doc_states_the_reports_figures() -> None:
    summary = infra_report()["summary"]
    assert figures_problems(DEPLOYMENT_DOC.read_text(), summary) == []
    # The check can fail: a stale figure is reported.
    stale = {**summary, "passed": summary["passed"] + 1}
    assert figures_problems(DEPLOYMENT_DOC.read_text(), stale) != []
