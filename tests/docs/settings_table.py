"""docs/settings.md's table of app settings, generated from `callcontrol.settings.SETTINGS`.

`python -m tests.docs.settings_table` rewrites the table in place; test_settings_doc.py fails
when the page and the code disagree.
"""

from __future__ import annotations

from pathlib import Path

from callcontrol.settings import SETTINGS, SettingSpec, Where

PAGE = Path(__file__).resolve().parents[2] / "docs" / "settings.md"
BEGIN = "<!-- settings table: generated from callcontrol/settings.py SETTINGS; do not edit -->"
END = "<!-- end of settings table -->"

WHERE = {
    Where.INFRA: "set by infra",
    Where.OPTIONAL: "optional",
    Where.LOCAL_ONLY: "local only",
}


def _cell(text: str) -> str:
    # `<name>` would read as an HTML tag when rendered
    return text.replace("|", "\\|").replace("\n", " ").replace("<", "&lt;").replace(">", "&gt;")


def _row(spec: SettingSpec) -> str:
    default = f"`{spec.default}`" if spec.default is not None else ""
    return f"| `{spec.name}` | {WHERE[spec.where]} | {_cell(default)} | {_cell(spec.description)} |"


def table() -> str:
    rows = [_row(spec) for spec in SETTINGS]
    return "\n".join(["| Name | Where | Default | Meaning |", "| --- | --- | --- | --- |", *rows])


def generated_section(page_text: str) -> str:
    """The text between the markers, as the page has it."""
    start = page_text.index(BEGIN) + len(BEGIN)
    return page_text[start:page_text.index(END, start)].strip("\n")


def rewrite(page_text: str) -> str:
    start = page_text.index(BEGIN) + len(BEGIN)
    return page_text[:start] + "\n" + table() + "\n" + page_text[page_text.index(END, start):]


if __name__ == "__main__":
    PAGE.write_text(rewrite(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {len(SETTINGS)} settings to {PAGE}")
