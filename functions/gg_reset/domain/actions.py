"""What the workflow asks the shell to do. Each Greengrass action's answer comes back as an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gg_reset.domain.model import WorkflowState


@dataclass(frozen=True, slots=True)
class InspectGroup:
    group_id: str
    recheck: bool = False
    """True for the re-check before a forced reset or a deletion (its answer goes to `RECHECK`)."""


@dataclass(frozen=True, slots=True)
class StartReset:
    group_id: str
    force: bool
    client_token: str
    adopt_since: datetime | None = None
    """Set after an attempt whose outcome is unknown: a reset of this kind created since then is this
    workflow's own, and is adopted instead of starting another."""


@dataclass(frozen=True, slots=True)
class PollDeployment:
    group_id: str
    deployment_id: str


@dataclass(frozen=True, slots=True)
class DeleteGroup:
    group_id: str


@dataclass(frozen=True, slots=True)
class Notify:
    """A terminal outcome someone should look at (FAILED, remediation cap reached)."""

    group_id: str
    workflow_id: str
    state: WorkflowState
    reason: str


GreengrassAction = InspectGroup | StartReset | PollDeployment | DeleteGroup
Action = GreengrassAction | Notify
