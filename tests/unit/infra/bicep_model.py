"""Read the Bicep templates under infra/ into plain data (via pycep) and resolve what tests need.

pycep turns a template into JSON: parameters, variables, resources, modules, outputs, with
expressions as nested {"function": ...} / {"operator": ...} objects and identifiers as strings.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, cast

from pycep import BicepParser

REPO_ROOT = Path(__file__).resolve().parents[3]
INFRA_DIR = REPO_ROOT / "infra"
MAIN_BICEP = INFRA_DIR / "main.bicep"
HOOKS_DIR = INFRA_DIR / "hooks"


def shared_dir() -> Path:
    """The shared folder beside the repo (override with ACS_SHARED_DIR)."""
    override = os.environ.get("ACS_SHARED_DIR")
    return Path(override) if override else REPO_ROOT.parent / "shared"


def bicep_files() -> list[Path]:
    return sorted(INFRA_DIR.rglob("*.bicep"))


def relative_id(path: Path) -> str:
    """A readable pytest id for a file under infra/."""
    return path.relative_to(INFRA_DIR).as_posix()


@cache
def template(path: Path) -> dict[str, Any]:
    parsed = cast(dict[str, Any], BicepParser().parse(file_path=path))
    for module in parsed.get("modules", {}).values():
        # `module x '...' = if (c) {...}` nests its body under config.config: lift it, so every
        # module reads the same way, and keep the condition beside it.
        if "condition" in module["config"]:
            module["condition"] = module["config"]["condition"]
            module["config"] = module["config"]["config"]
    return parsed


def resources(path: Path) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = template(path).get("resources", {})
    return found


def resource_config(resource: dict[str, Any]) -> dict[str, Any]:
    """A resource's body; for a `[for ...]` resource, the body inside the loop."""
    config: dict[str, Any] = resource["config"]
    if "loop_type" in config:
        inner: dict[str, Any] = config["config"]
        return inner
    return config


def the_resource(path: Path, resource_type: str) -> tuple[str, dict[str, Any]]:
    """The single non-existing resource of a type in a file, as (symbol, resource)."""
    matches = [
        (symbol, res)
        for symbol, res in resources(path).items()
        if res["type"] == resource_type and not res["existing"]
    ]
    assert len(matches) == 1, (
        f"{path.name}: expected one {resource_type}, found {len(matches)}"
    )
    return matches[0]


def module_file(owner: Path, module: dict[str, Any]) -> Path:
    return (owner.parent / str(module["detail"]["path"])).resolve()


def module_of(main: Path, target: Path) -> dict[str, Any]:
    """The module declaration in `main` that deploys `target`."""
    for module in template(main).get("modules", {}).values():
        if module_file(main, module) == target.resolve():
            found: dict[str, Any] = module
            return found
    raise AssertionError(f"{main.name} deploys no module {target}")


def dotted(expression: Any) -> str:
    """Render identifiers and property access (a.b.c) as text; other expressions as JSON."""
    if isinstance(expression, str):
        return expression
    operator = expression.get("operator") if isinstance(expression, dict) else None
    if operator and operator["type"] == "property_accessor":
        operands = operator["operands"]
        return f"{dotted(operands['operand_1'])}.{dotted(operands['operand_2'])}"
    return json.dumps(expression, sort_keys=True)


def object_entries(expression: Any) -> dict[str, Any]:
    """Every key an object expression can produce: literal objects, union() and ?: branches."""
    if isinstance(expression, dict) and "function" in expression:
        function = expression["function"]
        entries: dict[str, Any] = {}
        if function["type"] == "union":
            for argument in function["parameters"].values():
                if argument is not None:
                    entries.update(object_entries(argument))
            return entries
        raise AssertionError(f"cannot read keys of function {function['type']}")
    if isinstance(expression, dict) and "operator" in expression:
        operator = expression["operator"]
        if operator["type"] == "conditional":
            entries = object_entries(operator["operands"]["true_value"])
            entries.update(object_entries(operator["operands"]["false_value"]))
            return entries
        raise AssertionError(f"cannot read keys of operator {operator['type']}")
    if isinstance(expression, dict):
        return dict(expression)
    raise AssertionError(f"not an object expression: {expression!r}")


def walk(node: Any) -> Iterator[Any]:
    """Every nested value of a parsed template, depth first."""
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def function_names(node: Any) -> set[str]:
    """Names of every template function called anywhere under `node` (pycep's snake_case)."""
    return {
        value["function"]["type"]
        for value in walk(node)
        if isinstance(value, dict) and isinstance(value.get("function"), dict)
    }


def app_settings() -> dict[str, Any]:
    """The function app's settings as name -> expression, from the sites/config resource."""
    path = INFRA_DIR / "app" / "function-app.bicep"
    _, config = the_resource(path, "Microsoft.Web/sites/config")
    body = resource_config(config)
    assert body["name"] == "appsettings"
    return object_entries(body["properties"])
