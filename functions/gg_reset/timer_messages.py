"""The body of a workflow timer: the delayed work-queue message that wakes a group's workflow at its due
time (a retry, a reset deadline, a deferred call).

Standard library only, and apart from the contracts: the sweeper arms timers too and needs nothing else of
them. The worker reads the body back with `gg_reset.contracts.WorkflowTimer`, which takes its key, field
names and group-id rule from here, so the writer and the reader cannot drift apart.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Final, TypeGuard

TIMER_KEY: Final = "gg-reset-timer"
"""The one top-level key of a timer message body. Timers are delayed SQS messages the service sends to
its own work queue (never EventBridge events), so they cannot arrive through a rule."""
GROUP_ID_FIELD: Final = "group-id"
DUE_AT_FIELD: Final = "due-at"
GROUP_ID_PATTERN: Final = r"^[A-Za-z0-9_.:-]+$"
"""What a group id may hold (the requests' contract too): it is a ledger key and appears in log lines."""
GROUP_ID_MAX: Final = 128

_GROUP_ID: Final = re.compile(GROUP_ID_PATTERN)


def is_group_id(value: object) -> TypeGuard[str]:
    """Whether `value` is a group id the contracts accept (and so may be used as a ledger key)."""
    return isinstance(value, str) and 0 < len(value) <= GROUP_ID_MAX and bool(_GROUP_ID.fullmatch(value))


def timer_message_body(group_id: str, due_at: datetime) -> str:
    """The body of the delayed work-queue message that wakes the group's workflow at `due_at` (aware)."""
    if not is_group_id(group_id):
        raise ValueError(f"not a valid group id for a timer: {group_id!r}")
    if due_at.tzinfo is None or due_at.utcoffset() is None:
        raise ValueError(f"a timer's due time must be timezone-aware, got {due_at.isoformat()}")
    due = due_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({TIMER_KEY: {GROUP_ID_FIELD: group_id, DUE_AT_FIELD: due}})
