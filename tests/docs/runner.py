"""Run one page's shell examples in order in one bash session, block by block.

Each block is sourced into the same shell (so `CALL=$(…)` in one block is `$CALL` in the next),
under `set -euo pipefail`. A status file tells which blocks started and ended, so a page that
stops early names the block that failed, and none goes unrun silently.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.docs.blocks import Block

# What a reader's `curl -s` shows is what the example runs; the wrapper only turns an HTTP error
# into a failing exit status (the body still printed), except where the example prints the
# status itself (-i, -w): there the expected output says which status is right.
PRELUDE = r"""
set -euo pipefail
curl() {
  local arg
  for arg in "$@"; do
    case "$arg" in
      -i|--include|-w|--write-out|-[!-]*i*|-[!-]*w*) command curl "$@"; return ;;
    esac
  done
  command curl --fail-with-body "$@"
}
"""

@dataclass
class BlockRun:
    block: Block
    output: str = ""
    started: bool = False
    finished: bool = False


@dataclass
class PageRun:
    blocks: list[BlockRun]
    exit_code: int
    stderr: str
    timed_out: bool = False

    def failure(self) -> BlockRun | None:
        """The block that stopped the session: the last one started and not finished."""
        for run in self.blocks:
            if run.started and not run.finished:
                return run
        return None


def run_page(blocks: list[Block], texts: list[str], workdir: Path, timeout: float) -> PageRun:
    """Run `texts` (the blocks' text, addresses already substituted) in one session in `workdir`.

    Each block is sourced with its stdout sent to its own file (a redirection on `.` keeps the
    current shell, so variables carry over); a status file records each begin and end.
    """
    status = workdir / ".docs-status"
    script = [PRELUDE]
    for index, text in enumerate(texts):
        (workdir / f".docs-block-{index}.sh").write_text(text)
        script.append(f"echo begin {index} >> {status.name}\n"
                      f". ./.docs-block-{index}.sh > .docs-out-{index}\n"
                      f"echo end {index} >> {status.name}\n")
    runs = [BlockRun(block) for block in blocks]
    env = {**os.environ, "LC_ALL": "C.UTF-8"}
    for name in ("APP", "EMU", "KEY", "CALL"):  # nothing leaks in: each page defines its own
        env.pop(name, None)
    try:
        done = subprocess.run(["bash", "--noprofile", "--norc", "-c", "".join(script)],
                              cwd=workdir, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
        stderr, code, timed_out = done.stderr, done.returncode, False
    except subprocess.TimeoutExpired as expired:
        stderr, code, timed_out = _text(expired.stderr), -1, True
    marks = status.read_text().split("\n") if status.exists() else []
    for mark in filter(None, marks):
        verb, _, number = mark.partition(" ")
        run = runs[int(number)]
        run.started = run.started or verb == "begin"
        run.finished = run.finished or verb == "end"
    for index, run in enumerate(runs):
        output = workdir / f".docs-out-{index}"
        if output.exists():
            run.output = output.read_text(errors="replace")
    return PageRun(runs, code, stderr, timed_out)


def _text(value: bytes | str | None) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
