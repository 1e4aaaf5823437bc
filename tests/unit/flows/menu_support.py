"""Builders of play and menu steps shared by the menu tests."""

from __future__ import annotations

from typing import Any

WAV = "https://media.example.com/welcome.wav"
SORRY = "https://media.example.com/sorry.wav"


def play(step_id: str = "welcome", **extra: Any) -> dict[str, Any]:
    return {"id": step_id, "type": "play", "prompt": {"file": WAV}, **extra}


def menu(step_id: str = "main", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"id": step_id, "type": "menu", "prompt": {"file": WAV},
                            "reprompt": {"file": SORRY}, "choices": {"1": "sales", "2": "support"},
                            "noInput": "operator", "invalidInput": "operator", "fallback": "bye"}
    return {**body, **extra}


TEAM = {"communicationUserId": "8:acs:menu_sales"}


def targets(step_id: str) -> dict[str, Any]:
    return {"id": step_id, "type": "ring", "targets": [TEAM], "fallback": "bye"}
