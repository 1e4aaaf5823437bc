"""The emulator's command line: the ask secret and the cancelled-invitation setting (issue 21)."""

from __future__ import annotations

import pytest

from emulator.__main__ import ASK_SECRET_VARIABLE, _parse_args

BASE = ["--access-key", "a2V5", "--resource-id", "rid"]


def test_the_ask_secret_comes_from_the_flag_else_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ASK_SECRET_VARIABLE, raising=False)
    assert _parse_args(BASE).ask_secret is None
    monkeypatch.setenv(ASK_SECRET_VARIABLE, "from-env")
    assert _parse_args(BASE).ask_secret == "from-env"
    assert _parse_args([*BASE, "--ask-secret", "from-flag"]).ask_secret == "from-flag"


def test_the_cancelled_invitation_failure_defaults_to_after() -> None:
    assert _parse_args(BASE).cancelled_invitation_failure == "after"
    chosen = _parse_args([*BASE, "--cancelled-invitation-failure", "none"])
    assert chosen.cancelled_invitation_failure == "none"
    with pytest.raises(SystemExit):
        _parse_args([*BASE, "--cancelled-invitation-failure", "sometimes"])


def test_the_media_time_scale_defaults_to_real_time() -> None:
    assert _parse_args(BASE).media_time_scale == 1.0
    assert _parse_args([*BASE, "--media-time-scale", "0.01"]).media_time_scale == 0.01
