"""Use case: is this deployment ready to take calls? (GET /api/ready)

Runs every probe (settings, Table Storage, ACS with the app's credential, the callback signing
keys), each bounded in time, and reports each one's outcome, duration and message. Ready only
when every probe passed. A probe says what it found in a sentence an operator can act on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from callcontrol.domain.errors import CallControlError
from callcontrol.domain.redaction import redact
from callcontrol.usecases.ports import Probe

logger = logging.getLogger(__name__)

class NotReady(Exception):
    """A probe found what stops the app from working; the message says what to do."""


@dataclass(frozen=True)
class CheckReadiness:
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    duration_ms: float
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "durationMs": self.duration_ms,
                "message": self.message}


@dataclass(frozen=True)
class ReadinessReport:
    checks: tuple[ProbeResult, ...]

    @property
    def ready(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def summary(self) -> str:
        failed = [f"{c.name}: {c.message}" for c in self.checks if not c.ok]
        return "; ".join(failed) if failed else "every check passed"

    def to_json(self) -> dict[str, Any]:
        return {"status": "ready" if self.ready else "notReady", "summary": self.summary,
                "checks": [check.to_json() for check in self.checks]}


class Readiness:
    def __init__(self, probes: Sequence[Probe]) -> None:
        self._probes = probes

    async def check(self, command: CheckReadiness) -> ReadinessReport:
        # Concurrently: the answer costs the slowest probe, not their sum.
        results = await asyncio.gather(*(self._run(p, command.timeout_seconds)
                                         for p in self._probes))
        for failed in (r for r in results if not r.ok):  # the alerts read these lines
            logger.warning("readiness check %s failed: %s", failed.name, failed.message)
        return ReadinessReport(tuple(results))

    @staticmethod
    async def _run(probe: Probe, seconds: float) -> ProbeResult:
        started = time.perf_counter()
        ok = False
        try:
            async with asyncio.timeout(seconds):
                message = await probe.check()
            ok = True
        except TimeoutError:
            message = f"no answer within {seconds:g} s"
        except NotReady as problem:
            message = str(problem)  # our own words: nothing to hide
        except CallControlError as error:
            message = redact(error.detail)
        except Exception as error:  # a probe must report, never break the report
            # Its text may name hosts and ports (security.md): the log has it, the answer not.
            logger.warning("readiness check %s raised: %s", probe.name,
                           redact(f"{type(error).__name__}: {error}"))
            message = f"failed with {type(error).__name__} (the log has the detail)"
        elapsed = round((time.perf_counter() - started) * 1000, 1)
        return ProbeResult(probe.name, ok, elapsed, message)
