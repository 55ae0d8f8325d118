"""What the workflow asks the shell to do. Each Greengrass action's answer comes back as an event.

Every Greengrass action names the `PendingCall` it carries out (`call`): the shell reports a failure or a
deferral of the action as that call, and the workflow, which saved the call as pending before asking,
knows from the ledger alone what to drive again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from gg_reset.domain.model import PendingCall, WorkflowState
from gg_reset.domain.teardown import Resource, Teardown


@dataclass(frozen=True, slots=True)
class InspectGroup:
    group_id: str
    recheck: bool = False
    """True for the re-check before a forced reset or a deletion (its answer goes to `RECHECK`)."""

    @property
    def call(self) -> PendingCall:
        return PendingCall.RECHECK if self.recheck else PendingCall.INSPECT


@dataclass(frozen=True, slots=True)
class ConfirmFailure:
    """GetDeploymentStatus of the failed deployment that opened a remediation, before anything is written."""

    group_id: str
    deployment_id: str

    @property
    def call(self) -> PendingCall:
        return PendingCall.CONFIRM_FAILURE


@dataclass(frozen=True, slots=True)
class StartReset:
    group_id: str
    force: bool
    client_token: str
    adopt_since: datetime | None = None
    """Set after an attempt whose outcome is unknown: a reset of this kind created since then is this
    workflow's own, and is adopted instead of starting another."""

    @property
    def call(self) -> PendingCall:
        return PendingCall.FORCE_RESET if self.force else PendingCall.RESET


@dataclass(frozen=True, slots=True)
class CheckConnectivity:
    """Ask the connectivity source about the group's core thing (found from `latest_version`)."""

    group_id: str
    latest_version: str | None

    @property
    def call(self) -> PendingCall:
        return PendingCall.CHECK_CONNECTIVITY


@dataclass(frozen=True, slots=True)
class PollDeployment:
    group_id: str
    deployment_id: str

    @property
    def call(self) -> PendingCall:
        return PendingCall.POLL


@dataclass(frozen=True, slots=True)
class DeleteGroup:
    group_id: str

    @property
    def call(self) -> PendingCall:
        return PendingCall.DELETE


@dataclass(frozen=True, slots=True)
class CollectTeardown:
    """Read the group's versions (every page) for the resources a teardown at `level` deletes, and who else
    uses each: reads only, made before DeleteGroup (the versions go with the group)."""

    group_id: str
    level: Teardown

    @property
    def call(self) -> PendingCall:
        return PendingCall.COLLECT


@dataclass(frozen=True, slots=True)
class TearDownResource:
    """Delete one resource the deleted group owned, unless something still uses it (asked right before the
    delete, not taken from the collection): already gone is success."""

    group_id: str
    resource: Resource

    @property
    def call(self) -> PendingCall:
        return PendingCall.TEAR_DOWN


@dataclass(frozen=True, slots=True)
class FindRollbackTarget:
    group_id: str
    failed_deployment_id: str | None
    """The failed deployment that opened the remediation: never the one to go back to."""
    max_checked: int
    """At most this many deployments' statuses are read."""

    @property
    def call(self) -> PendingCall:
        return PendingCall.FIND_ROLLBACK


@dataclass(frozen=True, slots=True)
class StartRollback:
    group_id: str
    deployment_id: str
    """The earlier deployment to redeploy."""
    client_token: str
    group_version_id: str | None = None
    """The group version it deployed, when known."""

    @property
    def call(self) -> PendingCall:
        return PendingCall.ROLLBACK


@dataclass(frozen=True, slots=True)
class Notify:
    """A terminal outcome someone should look at (FAILED, NOTIFIED, remediation cap reached)."""

    group_id: str
    workflow_id: str
    state: WorkflowState
    reason: str


GreengrassAction = (
    InspectGroup
    | ConfirmFailure
    | StartReset
    | CheckConnectivity
    | PollDeployment
    | DeleteGroup
    | CollectTeardown
    | TearDownResource
    | FindRollbackTarget
    | StartRollback
)
Action = GreengrassAction | Notify
