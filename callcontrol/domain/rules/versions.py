"""Versions of the inbound rule set: what a version is and how its HTTP ETag is derived.

Version 0 is the shipped default (answer every call); stored versions count from 1.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from callcontrol.domain.access import Actor
from callcontrol.domain.rules.engine import default_rule_set
from callcontrol.domain.rules.model import RuleSet


@dataclass(frozen=True)
class RuleSetVersion:
    """One version of the rule set with its metadata; version 0 is the shipped default."""

    rules: RuleSet
    version: int
    etag: str
    saved_at: datetime | None = None
    source: str = "default"  # default | seed | api
    actor: Actor | None = None  # who stored it through the API (None: seed, default, older rows)

    def summary(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "version": self.version,
            "etag": self.etag,
            "savedAt": self.saved_at.isoformat() if self.saved_at else None,
            "source": self.source,
            "ruleCount": len(self.rules.rules),
        }
        if self.actor is not None:
            body["savedBy"] = self.actor.to_json()
        return body


def canonical_json(rules: RuleSet) -> str:
    return json.dumps(rules.to_json(), sort_keys=True, separators=(",", ":"))


def version_etag(version: int, rules: RuleSet) -> str:
    digest = hashlib.sha256(canonical_json(rules).encode()).hexdigest()[:16]
    return f'"{version}-{digest}"'


def default_version() -> RuleSetVersion:
    rules = default_rule_set()
    return RuleSetVersion(rules, 0, version_etag(0, rules))
