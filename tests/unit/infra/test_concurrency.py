"""perInstanceConcurrency: a parameter wired to Flex Consumption, its default taken from the curve
that bench/concurrency_bench.py measured (bench/results/concurrency.json) by the stated rule."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pycep import BicepParser

from bench.concurrency_bench import LEVELS, largest_within
from tests.unit.infra.bicep_model import INFRA_DIR, MAIN_BICEP, REPO_ROOT, module_of, template

FUNCTION_APP = INFRA_DIR / "app" / "function-app.bicep"
CURVE = REPO_ROOT / "bench" / "results" / "concurrency.json"
PARAMETERS = INFRA_DIR / "main.parameters.json"


def curve_choice(curve: dict[str, Any]) -> int:
    """The rule, applied again to the recorded points of both request kinds."""
    choices = []
    for kind in ("callback", "management_read"):
        points = curve[kind]["curve"]
        assert [p["concurrency"] for p in points] == list(LEVELS), kind
        choices.append(largest_within(points))
    return min(choices)


def concurrency_problems(function_app: dict[str, Any], main: dict[str, Any],
                         parameters: dict[str, Any], curve: dict[str, Any]) -> list[str]:
    problems = []
    [site] = [r for r in function_app["resources"].values()
              if r["type"] == "Microsoft.Web/sites" and not r["existing"]]
    scale = site["config"]["properties"]["functionAppConfig"]["scaleAndConcurrency"]
    wired = scale.get("triggers", {}).get("http", {}).get("perInstanceConcurrency")
    if wired != "perInstanceConcurrency":
        problems.append(f"scaleAndConcurrency.triggers.http.perInstanceConcurrency is {wired!r}")
    declared = function_app["parameters"].get("perInstanceConcurrency", {})
    if declared.get("type") != "int":
        problems.append("function-app.bicep declares no int perInstanceConcurrency")
    chosen = curve_choice(curve)
    if curve.get("chosen_per_instance_concurrency") != chosen:
        problems.append("the curve's recorded choice does not follow its own rule")
    default = main["parameters"].get("perInstanceConcurrency", {}).get("default")
    if default != chosen:
        problems.append(f"main.bicep default {default} is not the curve's choice {chosen}")
    raw = parameters["parameters"].get("perInstanceConcurrency", {}).get("value", "")
    match = re.fullmatch(r"\$\{FUNCTION_PER_INSTANCE_CONCURRENCY=(\d+)\}", raw)
    if match is None or int(match.group(1)) != chosen:
        problems.append(f"main.parameters.json gives {raw!r}, not the curve's choice {chosen}")
    return problems


def inputs() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]:
    return (template(FUNCTION_APP), template(MAIN_BICEP), json.loads(PARAMETERS.read_text()),
            json.loads(CURVE.read_text()))


def test_per_instance_concurrency_follows_the_measured_curve() -> None:
    assert concurrency_problems(*inputs()) == []
    passed = module_of(MAIN_BICEP, FUNCTION_APP)["config"]["params"]
    assert passed["perInstanceConcurrency"] == "perInstanceConcurrency"


def test_rule_is_the_largest_level_under_twice_the_unloaded_p99() -> None:
    points = [{"concurrency": c, "p99_ms": p99} for c, p99 in
              [(1, 10.0), (2, 12.0), (4, 19.9), (8, 20.0), (16, 50.0)]]
    assert largest_within(points) == 4
    assert largest_within([{"concurrency": 1, "p99_ms": 10.0}, {"concurrency": 2, "p99_ms": 30.0}]) == 1


@pytest.mark.parametrize("breakage", ["unwired", "default", "parameters-file", "curve"])
def test_concurrency_check_catches_a_breakage(breakage: str) -> None:
    function_app, main, parameters, curve = inputs()
    if breakage == "unwired":
        text = FUNCTION_APP.read_text().replace(
            "perInstanceConcurrency: perInstanceConcurrency", "perInstanceConcurrency: 1")
        function_app = dict(BicepParser().parse(text=text))
    elif breakage == "default":
        text = re.sub(r"param perInstanceConcurrency int = \d+", "param perInstanceConcurrency int = 999",
                      MAIN_BICEP.read_text())
        main = dict(BicepParser().parse(text=text))
    elif breakage == "parameters-file":
        parameters = json.loads(json.dumps(parameters).replace(
            "FUNCTION_PER_INSTANCE_CONCURRENCY=", "FUNCTION_PER_INSTANCE_CONCURRENCY=9"))
    else:  # a re-measured curve whose choice differs: the default must follow it
        curve = json.loads(json.dumps(curve))
        for point in curve["callback"]["curve"] + curve["management_read"]["curve"]:
            point["p99_ms"] = 1.0  # flat: every level within the limit, so the choice is 32
        curve["chosen_per_instance_concurrency"] = 32
    assert concurrency_problems(function_app, main, parameters, curve) != []


def test_instance_memory_matches_one_python_worker() -> None:
    # 2048 MB is about one vCPU on Flex Consumption: what one Python worker process (the unit
    # the curve measures) can use. 512 MB would be a quarter of it, 4096 MB a second core idle.
    assert template(MAIN_BICEP)["parameters"]["instanceMemoryMB"]["default"] == 2048
    assert json.loads(PARAMETERS.read_text())["parameters"]["instanceMemoryMB"]["value"] == (
        "${FUNCTION_INSTANCE_MEMORY_MB=2048}")
