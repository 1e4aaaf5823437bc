"""Use case: reconcile what was missed (the `reconciler` timer).

Walks the index of calls not ended, a bounded number per run, resuming where the last run
stopped (the cursor wraps around at the end). For each call old enough to matter:

* a stale index row (record gone, or the call has ended) is removed;
* a call unchanged for `quiet_for` is looked up at ACS; when ACS no longer knows it (404 /
  8522), it ends here with the reason "not found at ACS during reconciliation"; when ACS says it
  is connected, its participant list is read too, and a record short of that (still
  connecting, another roster: the callbacks were lost) is repaired;
* operations pending past their kind's limit are settled as failed;
* a call flow's step waiting past its deadline (a lost callback) is failed and the flow moves on
  (`FlowRuns.overdue`: the engine's StepOverdue, in the record's own guarded write).

Each change is one ETag-guarded write of the record with an entry in the call's history (and,
with a topic, the call events it announces). ACS being unreachable only postpones the lookup to
the next run. A run asks ACS at most two things per call it examines (GetCall, and the
participant list of a call ACS says is connected), for at most `max_calls` calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from callcontrol.domain.clock import Clock, utc_now
from callcontrol.domain.errors import CallControlError, NotFound
from callcontrol.domain.listing import IndexedCall
from callcontrol.domain.models import AcsCall, CallRecord, CallState, OperationStatus, Participant
from callcontrol.domain.reconciliation import (
    OperationLimits,
    Reconciled,
    end_missing_call,
    is_quiet,
    repair_from_acs,
    settle_overdue,
)
from callcontrol.observability import bind_call
from callcontrol.usecases.flow_runs import FlowRuns
from callcontrol.usecases.ports import CallIndexes, CallLookup, CallRecords
from callcontrol.usecases.timer_runs import log_run

logger = logging.getLogger(__name__)
CURSOR: Final = "reconciler"


@dataclass(frozen=True)
class ReconcileOptions:
    quiet_for: timedelta
    max_calls: int
    limits: OperationLimits

    @property
    def youngest_worth_reading(self) -> timedelta:
        # Nothing about a call younger than this can be due: its last change and its
        # operations are no older than the call itself.
        return min(self.quiet_for, self.limits.shortest)


@dataclass(frozen=True)
class AcsView:
    """What a lookup found: the call gone, or ACS's call (with its roster when connected);
    neither when ACS could not be asked."""

    gone: bool = False
    call: AcsCall | None = None
    roster: tuple[Participant, ...] | None = None


@dataclass(frozen=True)
class RunReconciliation:
    """Run the reconciler once (on its schedule, or asked for through the host's admin API)."""

    trigger: str = "timer"


@dataclass
class ReconcileReport:
    examined: int = 0
    looked_up: int = 0
    ended: list[str] = field(default_factory=list)
    operations_settled: int = 0
    acs_unreachable: int = 0
    index_rows_removed: int = 0
    repaired: list[str] = field(default_factory=list)
    flow_steps_overdue: int = 0
    completed_pass: bool = False  # this run reached the end of the open index

    def to_json(self) -> dict[str, Any]:
        return {"examined": self.examined, "lookedUp": self.looked_up, "ended": len(self.ended),
                "repaired": len(self.repaired),
                "operationsSettled": self.operations_settled,
                "acsUnreachable": self.acs_unreachable,
                "indexRowsRemoved": self.index_rows_removed,
                "flowStepsOverdue": self.flow_steps_overdue,
                "completedPass": self.completed_pass}


class Reconciler:
    def __init__(self, calls: CallRecords, indexes: CallIndexes, acs: Callable[[], CallLookup],
                 options: ReconcileOptions, clock: Clock = utc_now,
                 flows: FlowRuns | None = None) -> None:
        self._calls = calls
        self._indexes = indexes
        self._acs = acs  # resolved on use: a run with nothing quiet never needs ACS
        self._options = options
        self._clock = clock
        self._flows = flows  # None: flow runs are not checked

    async def run(self, command: RunReconciliation) -> ReconcileReport:
        now = self._clock()
        report = ReconcileReport()
        after = await self._indexes.load_cursor(CURSOR)
        entries = await self._indexes.open_calls(after=after, limit=self._options.max_calls)
        for entry in entries:
            report.examined += 1
            with bind_call(call_connection_id=entry.call_connection_id):  # logs carry its ids
                await self._reconcile(entry, now, report)
        report.completed_pass = len(entries) < self._options.max_calls
        await self._indexes.save_cursor(CURSOR, None if report.completed_pass
                                        else entries[-1].position)
        log_run(logger, "reconciler", command.trigger, report.to_json())
        return report

    async def _reconcile(self, entry: IndexedCall, now: datetime, report: ReconcileReport) -> None:
        young = now - entry.created_at < self._options.youngest_worth_reading
        if young and self._flows is None:
            return
        record = await self._calls.find(entry.call_connection_id)
        if record is not None and self._flows is not None and await self._flows.overdue(record):
            report.flow_steps_overdue += 1
            return  # the run's write changed the record: the rest waits for the next run
        if young:
            return
        if record is None or not entry.names(record) or record.state.is_final:
            await self._indexes.unindex(entry)  # a leftover: the record says otherwise
            report.index_rows_removed += 1
            return
        view = AcsView()
        if is_quiet(record, now, self._options.quiet_for):
            report.looked_up += 1
            view = await self._look_up(record.call_connection_id, report)

        repairs: list[bool] = []  # set when the write's last attempt is a repair (it may retry)

        def change(latest: CallRecord) -> Reconciled | None:
            repairs.clear()
            if view.gone:
                return end_missing_call(latest, now)
            if view.call is not None:
                repaired = repair_from_acs(latest, view.call, view.roster, now)
                if repaired is not None:
                    repairs.append(True)
                    return repaired  # an overdue operation waits for the next run
            return settle_overdue(latest, now, self._options.limits)

        written = await self._calls.amend(record.call_connection_id, change)
        if written is None:
            return
        if written.state.is_final:
            report.ended.append(record.call_connection_id)
            logger.warning("call %s ended by reconciliation: ACS no longer knows it",
                           record.call_connection_id)
            return
        if repairs:
            report.repaired.append(record.call_connection_id)
            logger.warning("call %s repaired by reconciliation from ACS's view: %s → %s, %d "
                           "participant(s)", record.call_connection_id, record.state.value,
                           written.state.value, len(written.participants))
            return
        was_pending = {op.context for op in record.operations
                       if op.status is OperationStatus.PENDING}
        settled = sum(1 for op in written.operations
                      if op.context in was_pending and op.status is not OperationStatus.PENDING)
        report.operations_settled += settled
        logger.warning("call %s: %d pending operation(s) settled as failed by reconciliation",
                       record.call_connection_id, settled)

    async def _look_up(self, call_connection_id: str, report: ReconcileReport) -> AcsView:
        try:
            call = await self._acs().get_call_properties(call_connection_id)
        except NotFound:
            return AcsView(gone=True)
        except CallControlError as error:
            report.acs_unreachable += 1
            logger.info("reconciler could not look up call %s: %s", call_connection_id,
                        error.detail)
            return AcsView()
        if call.state is not CallState.CONNECTED:
            return AcsView(call=call)
        try:
            roster = tuple(await self._acs().list_participants(call_connection_id))
        except CallControlError as error:  # the state can still be repaired; the roster later
            logger.info("reconciler could not list the participants of call %s: %s",
                        call_connection_id, error.detail)
            return AcsView(call=call)
        return AcsView(call=call, roster=roster)
