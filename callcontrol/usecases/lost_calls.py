"""A call ACS no longer knows (8522), found by a read or an action rather than by the timer.

The reconciler ends such a call once it has been quiet for `RECONCILE_AFTER_MINUTES`; a request
that hears ACS's 8522 ends it then and there, with the same change (domain/reconciliation.py)
in one guarded write, so its history and call events say what the reconciler's would.
"""

from __future__ import annotations

import logging
from datetime import datetime

from callcontrol.domain.clock import Clock
from callcontrol.domain.errors import CallControlError, CallGone
from callcontrol.domain.models import CallRecord
from callcontrol.domain.reconciliation import end_call_acs_lost
from callcontrol.usecases.ports import CallLookup, CallRecords

logger = logging.getLogger(__name__)


async def end_lost_call(calls: CallRecords, call_connection_id: str, now: datetime,
                        changed_before: datetime | None = None) -> CallRecord | None:
    """End the stored call ACS has forgotten; what was written, or None (nothing to end).
    `changed_before`: its last change before our own writes of this request (an action's)."""
    written = await calls.amend(call_connection_id,
                                lambda latest: end_call_acs_lost(latest, now, changed_before))
    if written is not None:
        logger.warning("call %s ended: ACS no longer knows it (8522)", call_connection_id)
    return written


async def end_if_gone(calls: CallRecords, acs: CallLookup, call_connection_id: str, clock: Clock,
                      changed_before: datetime | None) -> None:
    """An action got 8522, which ACS also answers for a participant it does not know: GetCall
    tells which. Only the call's own 8522 ends it; any other answer leaves it to the timer."""
    try:
        await acs.get_call_properties(call_connection_id)
    except CallGone:
        await end_lost_call(calls, call_connection_id, clock(), changed_before)
    except CallControlError as error:
        logger.info("call %s: GetCall after an 8522 failed: %s", call_connection_id, error.detail)
