"""docs/flows.md's signature check (a ```python block, shown, not run by the page's shell session)
run here against the app's own signing: what a service copies from the page must work."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from callcontrol.domain.flows import signed_headers
from tests.docs.blocks import ROOT, parse

SECRET = b"a-secret-shared-with-the-service-0123"
BODY = b'{"flow":"screening","step":"screen","answered":false}'


def documented_check() -> Callable[..., bool]:
    page = ROOT / "docs" / "flows.md"
    blocks = [b for b in parse(page.read_text(encoding="utf-8"), "docs/flows.md")
              if "def verified(" in b.text]
    assert len(blocks) == 1, "docs/flows.md shows one signature check"
    namespace: dict[str, Any] = {}
    exec(compile(blocks[0].text, "docs/flows.md", "exec"), namespace)
    check: Callable[..., bool] = namespace["verified"]
    return check


def test_the_documented_check_accepts_what_the_app_signs_and_nothing_else() -> None:
    verified = documented_check()
    now = int(time.time())
    headers = signed_headers(SECRET, now, BODY, "request-1")
    timestamp, signature = headers["X-Flow-Timestamp"], headers["X-Flow-Signature"]
    assert verified(SECRET, timestamp, signature, BODY)
    assert not verified(SECRET, timestamp, signature, BODY + b" ")  # another body
    assert not verified(b"another-secret", timestamp, signature, BODY)
    stale = signed_headers(SECRET, now - 301, BODY, "request-1")
    assert not verified(SECRET, stale["X-Flow-Timestamp"], stale["X-Flow-Signature"], BODY)
    assert not verified(SECRET, "not-a-time", signature, BODY)
