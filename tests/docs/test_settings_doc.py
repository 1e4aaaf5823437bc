"""docs/settings.md lists exactly the settings `callcontrol/settings.py` declares, as declared."""

from __future__ import annotations

import re

from callcontrol.settings import SETTINGS
from tests.docs.settings_table import PAGE, generated_section, rewrite, table


def test_the_settings_page_matches_the_code() -> None:
    text = PAGE.read_text(encoding="utf-8")
    assert generated_section(text) == table(), (
        "docs/settings.md disagrees with callcontrol/settings.py SETTINGS; "
        "regenerate it with: .venv/bin/python -m tests.docs.settings_table")


def test_every_declared_setting_has_one_row() -> None:
    names = re.findall(r"^\| `([^`]+)` \|", generated_section(PAGE.read_text(encoding="utf-8")),
                       flags=re.MULTILINE)
    assert names == [spec.name for spec in SETTINGS]
    assert len(set(names)) == len(names)


def test_rewrite_replaces_only_the_generated_table() -> None:
    page = PAGE.read_text(encoding="utf-8")
    stale = page.replace(generated_section(page), "| stale | row |")
    assert rewrite(stale) == rewrite(page)
    assert rewrite(stale).startswith(page.split("<!--")[0])
