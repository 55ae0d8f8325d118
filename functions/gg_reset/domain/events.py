"""What can happen to a group's workflow: the inputs of `gg_reset.domain.workflow.transition`.

Some come from outside (requests, status-change events, the sweeper's tick); the rest are the answers
to the actions the workflow asked for, fed back by the shell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from gg_reset.domain.enums import DeploymentStatus, DeploymentType
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.model import PendingCall, Request, RequestKind
from gg_reset.domain.teardown import Resource, ResourceOutcome


@dataclass(frozen=True, slots=True)
class RequestReceived:
    request: Request


@dataclass(frozen=True, slots=True)
class InvalidRequestReceived:
    """A message that failed validation: it is recorded `REJECTED` with the error, never retried."""

    request_id: str
    group_id: str
    error: str
    requested_by: str = "unknown"
    kind: RequestKind = RequestKind.RESET
    """What the message asked for, as far as its detail-type tells (a deletion stays a deletion)."""


@dataclass(frozen=True, slots=True)
class DeploymentStatusReported:
    deployment_id: str
    deployment_type: DeploymentType
    status: DeploymentStatus
    source: Literal["event", "poll"] = "event"
    error_message: str | None = None
    occurred_at: datetime | None = None
    """When the status changed (the EventBridge event's `time`), if known."""


@dataclass(frozen=True, slots=True)
class GroupInspected:
    exists: bool
    tags: Mapping[str, str] = field(default_factory=dict)
    name: str | None = None
    latest_version: str | None = None


@dataclass(frozen=True, slots=True)
class ConnectivityChecked:
    """The answer to `CheckConnectivity`: the core thing's connectivity, as the fleet index has it."""

    thing_name: str | None
    """None: the group's latest version names no core."""
    connected: bool | None
    """None: the index does not know the thing."""
    since: datetime | None = None
    """When it last connected or disconnected (the index's `connectivity.timestamp`)."""


@dataclass(frozen=True, slots=True)
class FailureChecked:
    """The answer to `ConfirmFailure`: what GetDeploymentStatus says of the deployment whose Failure event
    opened the remediation. (A deployment the group does not have answers "not found": a `CallFailed`.)"""

    deployment_id: str
    status: DeploymentStatus
    deployment_type: DeploymentType | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class ResetAccepted:
    deployment_id: str
    forced: bool


@dataclass(frozen=True, slots=True)
class GroupDeleted:
    pass


@dataclass(frozen=True, slots=True)
class TeardownCollected:
    """The answer to `CollectTeardown`: the resources the group's versions reference (any order)."""

    resources: tuple[Resource, ...]


@dataclass(frozen=True, slots=True)
class ResourceTornDown:
    """The answer to `TearDownResource`: what became of the resource at `arn`."""

    arn: str
    outcome: ResourceOutcome
    detail: str


@dataclass(frozen=True, slots=True)
class RollbackTargetFound:
    """The answer to `FindRollbackTarget`: the deployment to redeploy, or None if there is none."""

    deployment_id: str | None
    detail: str
    group_version_id: str | None = None
    """The group version that deployment deployed, when known: redeployed with it."""


@dataclass(frozen=True, slots=True)
class RollbackStarted:
    """The answer to `StartRollback`: the redeployment's id."""

    deployment_id: str


@dataclass(frozen=True, slots=True)
class CallFailed:
    call: PendingCall
    error: ErrorKind
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CallDeferred:
    """The shell held a call back (Greengrass throttled this worker moments ago): try again after
    `not_before`. Not a failure of the workflow, so it costs no attempt and leaves no history step."""

    call: PendingCall
    not_before: datetime


@dataclass(frozen=True, slots=True)
class Tick:
    """The sweeper (or a redelivered message) looks at the group: retries, polls and deadlines."""


Event = (
    RequestReceived
    | InvalidRequestReceived
    | DeploymentStatusReported
    | GroupInspected
    | ConnectivityChecked
    | FailureChecked
    | ResetAccepted
    | GroupDeleted
    | TeardownCollected
    | ResourceTornDown
    | RollbackTargetFound
    | RollbackStarted
    | CallFailed
    | CallDeferred
    | Tick
)
