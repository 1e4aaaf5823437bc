"""The docs test's own machinery: it finds every block, and a broken example fails it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from tests.docs.blocks import Block, output_matches, parse, problems
from tests.docs.runner import run_page
from tests.support.loopback import LoopbackServer, serving

PAGE = """# A page

```sh
A=1
```

```text
expected
```

Text between.

```text
not an expected output: prose came first
```

- a list item:

   ```sh
   echo indented
   ```

```
bare
```

```console
azd up
```
"""


def test_parse_finds_every_block_and_attaches_expected_output() -> None:
    blocks = parse(PAGE, "page.md")
    assert [(b.language, b.line) for b in blocks] == [
        ("sh", 3), ("text", 13), ("sh", 19), ("", 23), ("console", 27)]
    assert blocks[0].expected == "expected\n"
    assert blocks[2].text == "echo indented\n"
    assert blocks[2].expected is None


def test_problems_name_bare_fences_and_azure_commands_in_runnable_blocks() -> None:
    blocks = parse(PAGE, "page.md")
    assert problems(blocks[3]) == [
        "page.md:23: a fence without a language; use sh to run it, console or text to show it"]
    assert problems(blocks[4]) == []  # azd is fine in a console block
    azd = Block("p.md", 1, "sh", "azd env set X 1\nazd up\n")
    assert len(problems(azd)) == 1 and "azd talks to Azure" in problems(azd)[0]
    status = Block("p.md", 1, "sh", "curl -s -o /dev/null -w '%{http_code}' $APP/calls\n")
    assert "no ```text block" in problems(status)[0]
    assert problems(Block("p.md", 1, "sh", "curl -s -w x $APP\n", expected="x\n")) == []
    assert "unknown fence language" in problems(Block("p.md", 1, "zsh", "ls\n"))[0]


def test_output_matching_is_line_by_line_with_ellipsis_wildcards() -> None:
    assert output_matches('{"id":"…","n":1}\n', '{"id":"abc-123","n":1}\n')
    assert not output_matches('{"id":"…","n":1}\n', '{"id":"abc","n":2}\n')
    assert not output_matches("a\nb\n", "a\n")
    assert output_matches("a\n", "a  \n\n")


def _blocks(*texts: str) -> list[Block]:
    return [Block("p.md", index, "sh", text) for index, text in enumerate(texts)]


def test_runner_carries_variables_across_blocks_and_stops_at_the_failing_one(tmp_path: Path) -> None:
    texts = ["CALL=42\n", "echo call=$CALL\n", "false\n", "echo never\n"]
    run = run_page(_blocks(*texts), texts, tmp_path, timeout=30)
    assert run.blocks[1].output == "call=42\n"
    assert run.exit_code != 0
    failed = run.failure()
    assert failed is not None and failed.block.line == 2
    assert not run.blocks[3].started


def test_runner_fails_on_an_unset_variable_and_a_failing_pipe(tmp_path: Path) -> None:
    for text in ("echo $NOT_SET\n", "false | cat\n"):
        run = run_page(_blocks(text), [text], tmp_path, timeout=30)
        assert run.failure() is not None, text


class _Refusing(LoopbackServer):
    async def build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/bad", self._refuse)
        return app

    async def _refuse(self, request: web.Request) -> web.Response:
        return web.json_response({"title": "no"}, status=400)


@pytest.fixture
def refusing() -> Iterator[_Refusing]:
    with serving(_Refusing()) as server:
        yield server


def test_an_http_error_fails_a_plain_curl_but_not_one_that_prints_the_status(
        tmp_path: Path, refusing: _Refusing) -> None:
    plain = f"curl -s {refusing.base_url}/bad\n"
    run = run_page(_blocks(plain), [plain], tmp_path, timeout=30)
    assert run.failure() is not None
    assert '"title": "no"' in run.blocks[0].output  # the body is still shown
    shown = f"curl -s -w '%{{http_code}}\\n' -o /dev/null {refusing.base_url}/bad\n"
    run = run_page(_blocks(shown), [shown], tmp_path, timeout=30)
    assert run.failure() is None and run.blocks[0].output == "400\n"
