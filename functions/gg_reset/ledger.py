"""The ledger port: how the shell reads and (conditionally) writes a group's record and history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from gg_reset.domain.model import GroupRecord, Step, Workflow
from gg_reset.domain.workflow import Decision


class VersionConflict(Exception):
    """Another writer changed the group's record first: reload and decide again."""


class LedgerPort(Protocol):
    def load(self, group_id: str) -> GroupRecord:
        """The group's record; an empty one (version 0) if the group was never seen."""
        ...

    def save(self, previous: GroupRecord, decision: Decision) -> GroupRecord:
        """Write the decision if the stored version is still `previous.version`; else `VersionConflict`.

        Atomically: the HEAD item, the new history steps, and the finished workflows.
        Returns the record as stored (version + 1).
        """
        ...

    def due_groups(self, now: datetime, limit: int = 500) -> Sequence[str]:
        """Groups whose active workflow is due (retry, poll or deadline) at `now`, most overdue first."""
        ...

    def workflows(self, group_id: str) -> Sequence[Workflow]:
        """Every workflow of the group still retained, oldest first (the active one last)."""
        ...

    def history(self, group_id: str, workflow_id: str) -> Sequence[Step]:
        """The steps of one workflow, in order."""
        ...
