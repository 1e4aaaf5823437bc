"""Logs never carry phone numbers or tokens."""

from __future__ import annotations

import pytest

from callcontrol.domain.redaction import redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("invalid target 4:+14255550123", "14255550123"),
        ("call from +1 (425) 555-0123 failed", "555-0123"),
        ("context eyJhbGciOiJub25lIn0.eyJjYyI6IngifQ. expired", "eyJjYyI6IngifQ"),
        ("key Gzc/T3ZxbMqlHA/B+SxKIAm/K+fz2ou54IhQxRBNZ+U= rejected", "T3ZxbMqlHA"),
    ],
)
def test_values_are_hidden(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_the_message_keeps_its_shape() -> None:
    assert redact("ACS refused add participant: Call not found. (code 8522)") == (
        "ACS refused add participant: Call not found. (code 8522)")
    assert redact("number 4:+14255550123") == "number 4:+…0123"
