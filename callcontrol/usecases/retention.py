"""Use case: expire what is kept no longer (the `retention` timer).

Deletes, in bounded batches (at most `batch` rows of each kind per run; the rest wait for the
next run, and every step can be repeated):

* calls created more than `call_retention` ago, with their events and index rows, once
  nothing has changed them for that long either (a call still changing is left alone); the
  index's table of a day past retention goes once it is empty;
* Idempotency-Key records past their 24 hours;
* inbound claims and redirect-hop rows past their 24 hours;
* callback token ids (the replay store) whose token can no longer be accepted;
* rule set versions beyond the newest `rule_versions_kept` (never the current one), once the
  version after each was stored before the calls' cutoff (a call kept may run a flow of it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.listing import IndexedCall
from callcontrol.domain.reconciliation import last_activity
from callcontrol.observability import bind_call
from callcontrol.usecases.ports import CallIndexes, CallRecords, Expiring, PrunableRuleVersions
from callcontrol.usecases.timer_runs import log_run

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionOptions:
    call_retention: timedelta
    rule_versions_kept: int
    batch: int


@dataclass(frozen=True)
class RunRetention:
    """Run retention once (on its schedule, or asked for through the host's admin API)."""

    trigger: str = "timer"


@dataclass
class RetentionReport:
    calls: int = 0
    call_rows: int = 0
    calls_kept_active: int = 0
    index_tables: int = 0
    idempotency_keys: int = 0
    claims: int = 0
    callback_tokens: int = 0
    rule_versions: int = 0
    more_to_do: bool = False  # a batch was full: the next run continues

    def to_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "callRows": self.call_rows,
                "callsKeptActive": self.calls_kept_active, "indexTables": self.index_tables,
                "idempotencyKeys": self.idempotency_keys, "claims": self.claims,
                "callbackTokens": self.callback_tokens,
                "ruleVersions": self.rule_versions, "moreToDo": self.more_to_do}


class Retention:
    def __init__(self, calls: CallRecords, indexes: CallIndexes, idempotency: Expiring,
                 claims: Expiring, rules: PrunableRuleVersions, options: RetentionOptions,
                 clock: Clock = utc_now, *, callback_tokens: Expiring | None = None) -> None:
        self._calls = calls
        self._indexes = indexes
        self._idempotency = idempotency
        self._claims = claims
        self._callback_tokens = callback_tokens
        self._rules = rules
        self._options = options
        self._clock = clock

    async def run(self, command: RunRetention) -> RetentionReport:
        now = self._clock()
        batch = self._options.batch
        report = RetentionReport()
        cutoff = now - self._options.call_retention
        expired = await self._indexes.created_before(cutoff, batch)
        for entry in expired:
            with bind_call(call_connection_id=entry.call_connection_id):
                await self._expire(entry, cutoff, report)
        report.index_tables = await self._indexes.drop_emptied_days(cutoff)
        report.idempotency_keys = await self._idempotency.purge(now, batch)
        report.claims = await self._claims.purge(now, batch)
        if self._callback_tokens is not None:
            report.callback_tokens = await self._callback_tokens.purge(now, batch)
        # A version goes only once no call kept could still be running a flow of it.
        report.rule_versions = await self._rules.prune(self._options.rule_versions_kept, batch,
                                                       superseded_before=cutoff)
        report.more_to_do = batch in (len(expired), report.idempotency_keys, report.claims,
                                      report.callback_tokens, report.rule_versions)
        log_run(logger, "retention", command.trigger, report.to_json())
        return report

    async def _expire(self, entry: IndexedCall, cutoff: datetime, report: RetentionReport) -> None:
        record = await self._calls.find(entry.call_connection_id)
        if record is None or not entry.names(record):
            # An index row whose record is gone, or another creation's: only the row goes.
            await self._indexes.unindex(entry)
            return
        last = last_activity(record)
        if last is not None and last >= cutoff:
            report.calls_kept_active += 1
            return
        report.call_rows += await self._indexes.delete_call(entry)
        report.calls += 1
