"""Every shell example in README.md and docs/*.md runs against the local stack and does what the
page says (the convention: docs/testing.md, "Examples in the docs")."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

from tests.docs.blocks import ROOT, Block, output_matches, pages, parse, problems, substitute
from tests.docs.runner import run_page
from tools.stack import Stack

PAGE_TIMEOUT = 90.0


def _blocks(page: Path) -> list[Block]:
    return parse(page.read_text(encoding="utf-8"), str(page.relative_to(ROOT)))


ALL = {str(page.relative_to(ROOT)): _blocks(page) for page in pages()}
RUNNABLE = {page: [b for b in blocks if b.runnable] for page, blocks in ALL.items()}


def test_every_fence_follows_the_convention() -> None:
    found = [problem for blocks in ALL.values() for block in blocks for problem in problems(block)]
    assert not found, "\n".join(found)


def test_the_readme_and_the_docs_have_examples_to_run() -> None:
    """Guards the parser: the README's quick start alone has a dozen runnable blocks."""
    assert len(RUNNABLE["README.md"]) >= 10
    assert sum(len(blocks) for blocks in RUNNABLE.values()) >= 20


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_relative_links_lead_to_files_that_exist() -> None:
    broken = []
    for page in pages():
        text = re.sub(r"```.*?```", "", page.read_text(encoding="utf-8"), flags=re.DOTALL)
        for target in _LINK.findall(text):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue
            path = (page.parent / target.split("#")[0]).resolve()
            if not path.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target}")
    assert not broken, "links to missing files:\n" + "\n".join(broken)


def test_the_readme_links_every_page_under_docs() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unlinked = [p.name for p in sorted((ROOT / "docs").glob("*.md")) if f"(docs/{p.name})" not in readme]
    assert not unlinked, f"README.md does not link: {unlinked}"


def test_the_benchmarks_page_names_every_benchmark_and_results_file() -> None:
    page = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    modules = [f"bench.{p.stem}" for p in sorted((ROOT / "bench").glob("*_bench.py"))]
    results = [p.name for p in sorted((ROOT / "bench" / "results").glob("*.json"))]
    missing = [name for name in modules + results if f"`{name}`" not in page]
    assert modules and not missing, f"docs/benchmarks.md does not name: {missing}"


@pytest.mark.timeout(PAGE_TIMEOUT + 30)
@pytest.mark.parametrize("page", [page for page, blocks in RUNNABLE.items() if blocks])
def test_page_examples_run(page: str, docs_stack: tuple[Stack, str],
                           replacements: dict[str, str], workdir: Path) -> None:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the examples need {', '.join(missing)} on PATH (.ci/run installs them)")
    stack, _console = docs_stack
    _reset_emulator(stack)
    blocks = RUNNABLE[page]
    texts = [substitute(block.text, replacements) for block in blocks]
    run = run_page(blocks, texts, workdir, PAGE_TIMEOUT)

    failed = run.failure()
    if run.timed_out or failed is not None or run.exit_code != 0:
        where = failed.block.where if failed else "after the last block"
        shown = failed.output if failed else ""
        pytest.fail(f"{page}: stopped at {where} (exit {run.exit_code}, timed out: {run.timed_out})"
                    f"\n--- block ---\n{failed.block.text if failed else ''}"
                    f"--- stdout ---\n{shown}--- stderr ---\n{run.stderr[-3000:]}")
    unrun = [r.block.where for r in run.blocks if not r.finished]
    assert not unrun, f"blocks never ran: {unrun}"
    for block_run in run.blocks:
        expected = block_run.block.expected
        if expected is not None:
            assert output_matches(expected, block_run.output), (
                f"{block_run.block.where}: output differs from the ```text block after it\n"
                f"--- expected ---\n{expected}--- actual ---\n{block_run.output}")


def _reset_emulator(stack: Stack) -> None:
    """Each page starts from a phone network without scripted endpoints or faults."""
    request = Request(f"{stack.emulator_url}/emulator/reset", data=json.dumps({}).encode(),
                      method="POST", headers={"Content-Type": "application/json"})
    with urlopen(request, timeout=10) as reply:
        assert reply.status == 204
