"""Every .bicep file parses with tree-sitter-bicep without error or missing nodes."""

from __future__ import annotations

from pathlib import Path

import pytest
import tree_sitter_bicep
from tree_sitter import Language, Node, Parser

from tests.unit.infra.bicep_model import INFRA_DIR, bicep_files, relative_id

PARSER = Parser(Language(tree_sitter_bicep.language()))


def syntax_problems(source: bytes) -> list[str]:
    """Each ERROR or MISSING node as 'line:column kind', in document order."""
    problems: list[str] = []

    def visit(node: Node) -> None:
        if node.is_error or node.is_missing:
            row, column = node.start_point
            kind = "missing " + node.type if node.is_missing else "unexpected input"
            problems.append(f"{row + 1}:{column + 1} {kind}")
        for child in node.children:
            visit(child)

    visit(PARSER.parse(source).root_node)
    return problems


def test_infra_has_the_expected_templates() -> None:
    names = {path.relative_to(INFRA_DIR).as_posix() for path in bicep_files()}
    assert {"main.bicep", "app/function-app.bicep", "app/access.bicep"} <= names


@pytest.mark.parametrize("path", bicep_files(), ids=relative_id)
def test_template_parses_without_errors(path: Path) -> None:
    assert syntax_problems(path.read_bytes()) == []


@pytest.mark.parametrize(
    "broken",
    [
        b"resource s 'Microsoft.Storage/storageAccounts@2023-05-01' = {\n  name: 'x'\n",
        b"param location string =\n",
        b"var x = [ 1, 2\n",
    ],
)
def test_checker_reports_broken_bicep(broken: bytes) -> None:
    # The syntax check must be able to fail: truncated templates are reported.
    assert syntax_problems(broken) != []
