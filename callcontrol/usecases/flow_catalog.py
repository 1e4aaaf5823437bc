"""The flow a run follows: the named flow of the rule-set version the run started in.

Stored versions never change, so a flow is read once per (version, name) and kept.
"""

from __future__ import annotations

from typing import Final

from callcontrol.domain.errors import NotFound
from callcontrol.domain.flows import Flow, FlowRun
from callcontrol.domain.rules import flow_of
from callcontrol.domain.rules.versions import RuleSetVersion
from callcontrol.usecases.ports import RuleSetVersions

_KEEP: Final = 64


class FlowCatalog:
    def __init__(self, versions: RuleSetVersions) -> None:
        self._versions = versions
        self._flows: dict[tuple[int, str], Flow | None] = {}

    async def flow_for(self, run: FlowRun) -> Flow | None:
        """None for a run whose version or flow is gone: nothing moves it any more (the
        reconciler's tick says so in the log; retention keeps RULE_VERSIONS_KEPT versions)."""
        if run.version is None:
            return None
        key = (run.version, run.flow)
        if key not in self._flows:
            ruleset = await self.ruleset(run.version)
            if len(self._flows) >= _KEEP:
                self._flows.clear()
            self._flows[key] = flow_of(ruleset.rules, run.flow) if ruleset is not None else None
        return self._flows[key]

    async def ruleset(self, version: int) -> RuleSetVersion | None:
        """A stored version, or None once retention pruned it (a pruned one never comes back)."""
        try:
            return await self._versions.version(version)
        except NotFound:
            return None
