"""The fenced code blocks of the README and docs/*.md, and the rules that make them runnable.

The convention (docs/testing.md, "Examples in the docs"):

- ```sh, ```bash and ```shell blocks run against the local stack, a page's blocks in order in one
  shell session; each must exit 0.
- ```console and ```text blocks are shown, never run: a session transcript, a banner, anything
  that needs Azure (azd, az), Core Tools (func) or starts a long-running process (make run).
- A ```text block directly after a runnable block (nothing but blank lines between) is that
  block's expected output, compared line by line; `…` stands for any text within a line.
- Every fence names its language, so nothing meant to run is skipped by accident.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

RUNNABLE = frozenset({"sh", "bash", "shell"})
SHOWN = frozenset({"console", "text", "json", "python", "bicep", "powershell", "http", "jsonc",
                   "yaml", "toml", "ini", "dotenv"})

# Commands an example run locally cannot use; such an example belongs in a ```console block.
NOT_LOCAL = {
    r"(^|[;&|(]\s*)azd\b": "azd talks to Azure",
    r"(^|[;&|(]\s*|\$\()az\b": "the az CLI talks to Azure",
    r"(^|[;&|(]\s*)func\b": "func needs Azure Functions Core Tools",
    r"(^|[;&|(]\s*)pwsh\b": "PowerShell is not part of the local toolchain",
    r"\bmake\s+(run|test|bench|e2e|integration|unit|bootstrap|screenshots)\b":
        "make targets start processes or run test tiers, not requests",
}

# A curl that prints the HTTP status itself (-i, -w) is checked by its expected output instead of
# failing on an error status; the runner's curl wrapper (runner.py) makes the same distinction.
SHOWS_STATUS = re.compile(r"\bcurl\b.*\s(-[a-zA-Z]*[iw][a-zA-Z]*|--include|--write-out)(\s|$)")

_FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>[^`]*)$")


@dataclass(frozen=True)
class Block:
    page: str  # path relative to the repository root
    line: int  # 1-based line of the opening fence
    language: str
    text: str
    expected: str | None = None  # the ```text block right after a runnable one

    @property
    def runnable(self) -> bool:
        return self.language in RUNNABLE

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"


def pages(root: Path = ROOT) -> list[Path]:
    """The README, then every page under docs/ (sorted)."""
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def parse(markdown: str, page: str) -> list[Block]:
    """Every fenced block of a page, in order; expected-output blocks are attached, not listed."""
    raw: list[tuple[int, str, str, int, int]] = []  # line, language, text, start row, end row
    lines = markdown.splitlines()
    row = 0
    while row < len(lines):
        opening = _FENCE.match(lines[row])
        if opening is None:
            row += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        language = opening["info"].strip().split(" ")[0].lower() if opening["info"].strip() else ""
        body: list[str] = []
        end = row + 1
        while end < len(lines):
            closing = _FENCE.match(lines[end])
            if closing and closing["fence"].startswith(fence) and not closing["info"].strip():
                break
            body.append(lines[end][indent:] if lines[end][:indent].strip() == "" else lines[end])
            end += 1
        else:
            raise ValueError(f"{page}:{row + 1}: a fence that never closes")
        raw.append((row + 1, language, "\n".join(body) + "\n", row, end))
        row = end + 1

    blocks: list[Block] = []
    skip_next = False
    for index, (line, language, text, _start, end) in enumerate(raw):
        if skip_next:
            skip_next = False
            continue
        expected = None
        if language in RUNNABLE and index + 1 < len(raw):
            following = raw[index + 1]
            between = lines[end + 1:following[3]]
            if following[1] == "text" and all(not gap.strip() for gap in between):
                expected = following[2]
                skip_next = True
        blocks.append(Block(page, line, language, text, expected))
    return blocks


def problems(block: Block) -> list[str]:
    """Why a block breaks the convention (empty when it does not)."""
    found: list[str] = []
    if not block.language:
        found.append(f"{block.where}: a fence without a language; use sh to run it, "
                     "console or text to show it")
    elif block.language not in RUNNABLE | SHOWN:
        found.append(f"{block.where}: unknown fence language {block.language!r}")
    if block.runnable:
        for pattern, why in NOT_LOCAL.items():
            offending = [c for c in _commands(block.text) if re.search(pattern, c)]
            if offending:
                found.append(f"{block.where}: {why}; fence it as console, not "
                             f"{block.language}: {offending[0].strip()[:80]}")
        shows_status = any(SHOWS_STATUS.search(command) for command in _commands(block.text))
        if shows_status and block.expected is None:
            found.append(f"{block.where}: curl prints the status (-i/-w) but no ```text block "
                         "after it says what to expect")
    return found


def _commands(text: str) -> list[str]:
    """Shell lines without comments and with continuations joined."""
    joined = re.sub(r"\\\n", " ", text)
    return [line.split(" #")[0] for line in joined.splitlines()
            if line.strip() and not line.lstrip().startswith("#")]


def output_matches(expected: str, actual: str) -> bool:
    """Line by line; `…` in an expected line matches any text (possibly none) within that line."""
    wanted = [line.rstrip() for line in expected.strip("\n").splitlines()]
    got = [line.rstrip() for line in actual.strip("\n").splitlines()]
    if len(wanted) != len(got):
        return False
    return all(_line_pattern(w).fullmatch(g) for w, g in zip(wanted, got, strict=True))


def _line_pattern(line: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in line.split("…")))


def substitute(text: str, replacements: dict[str, str]) -> str:
    """The documented default addresses replaced by the test stack's own."""
    for documented, actual in replacements.items():
        text = text.replace(documented, actual)
    return text
