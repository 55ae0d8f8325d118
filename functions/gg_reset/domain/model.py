"""The ledger's vocabulary: requests, workflows, steps and the per-group record.

All values are frozen: the workflow never mutates a record, it returns a new one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from gg_reset.domain.enums import ForcePolicy, RemediationPolicy
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.teardown import Resource, Teardown


class RequestKind(StrEnum):
    RESET = "reset"
    DELETION = "deletion"
    REMEDIATION = "remediation"
    """Opened by a failed `NewDeployment`/`Redeployment` event: reset, roll back or notify, as the group's
    `gg-reset:on-failure` tag says (`RemediationPolicy`)."""


class WorkflowState(StrEnum):
    REQUESTED = "REQUESTED"
    """Claimed for the group; the group has not been inspected yet."""
    RESETTING = "RESETTING"
    """A normal reset is being started or awaited."""
    FORCE_RESETTING = "FORCE_RESETTING"
    """A `Force=True` reset is being started or awaited."""
    DELETING = "DELETING"
    """The group is reset; `DeleteGroup` is being called."""
    TEARING_DOWN = "TEARING_DOWN"
    """The group is deleted; the resources it owned (`Workflow.resources`) are being deleted or kept, one
    at a time."""
    ROLLING_BACK = "ROLLING_BACK"
    """A remediation with on-failure=rollback: finding the last good deployment, redeploying it, and
    waiting for the redeployment's status."""
    RESET = "RESET"
    DELETED = "DELETED"
    GONE = "GONE"
    """The group no longer exists."""
    REJECTED = "REJECTED"
    """Invalid request, protected group, or group busy with another kind of workflow."""
    PLANNED = "PLANNED"
    """Dry run: the steps a real run would take, decided by the same code, with no Greengrass write."""
    ROLLED_BACK = "ROLLED_BACK"
    """The last good deployment was redeployed and succeeded."""
    NOTIFIED = "NOTIFIED"
    """A failed deployment was recorded and notified, with no Greengrass write (on-failure=notify, or a
    roll back that could not be made and falls back to notify)."""
    FAILED = "FAILED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset(
    {
        WorkflowState.RESET,
        WorkflowState.DELETED,
        WorkflowState.GONE,
        WorkflowState.REJECTED,
        WorkflowState.PLANNED,
        WorkflowState.ROLLED_BACK,
        WorkflowState.NOTIFIED,
        WorkflowState.FAILED,
    }
)
ACTIVE_STATES = frozenset(set(WorkflowState) - TERMINAL_STATES)


class PendingCall(StrEnum):
    """The Greengrass call a workflow is waiting to make (or to see the answer of)."""

    INSPECT = "inspect"
    CONFIRM_FAILURE = "confirm-failure"
    """GetDeploymentStatus of the deployment whose Failure event opened a remediation: the event is taken
    as a claim, and nothing is written to the group unless Greengrass confirms the failure."""
    RECHECK = "recheck"
    """Read the group again right before a Greengrass write whose protection check has gone stale (see
    `WorkflowPolicy.protection_freshness_s`), or to confirm that a group some call called missing is
    really gone. The write to make afterwards is `Workflow.resume`."""
    RESET = "reset"
    CHECK_CONNECTIVITY = "check-connectivity"
    """While a normal reset waits: ask the connectivity source (AWS IoT fleet indexing) whether the core has
    been disconnected for longer than `WorkflowPolicy.force_when_disconnected_for_s`; then Force at once."""
    FORCE_RESET = "force-reset"
    POLL = "poll"
    DELETE = "delete"
    COLLECT = "collect"
    """Before DeleteGroup (or for a dry run's plan): read the group's versions for the resources a teardown
    deletes (reads only; the versions go with the group, so this comes first)."""
    TEAR_DOWN = "tear-down"
    """After DeleteGroup: the next resource of `Workflow.resources`, deleted unless still used."""
    FIND_ROLLBACK = "find-rollback"
    """ListDeployments and GetDeploymentStatus: the newest deployment that worked."""
    ROLLBACK = "rollback"
    """CreateDeployment(Redeployment) of that deployment."""


class StepKind(StrEnum):
    """Fixed vocabulary of history entries; reports and metrics are built from it."""

    REQUESTED = "requested"
    MERGED = "merged"
    UPGRADED = "upgraded"
    INSPECTED = "inspected"
    FAILURE_CONFIRMED = "failure-confirmed"
    """GetDeploymentStatus confirmed the failure that opened a remediation."""
    FAILURE_UNCONFIRMED = "failure-unconfirmed"
    """GetDeploymentStatus did not confirm it (no such deployment of the group, or another status): the
    remediation ends REJECTED with no Greengrass write."""
    RESET_STARTED = "reset-started"
    RETRY_SCHEDULED = "retry-scheduled"
    ESCALATED = "escalated"
    CONNECTIVITY_CHECKED = "connectivity-checked"
    """What the connectivity source said of the core, when it did not lead to Force at once."""
    DEPLOYMENT_SUCCEEDED = "deployment-succeeded"
    DEPLOYMENT_FAILED = "deployment-failed"
    DELETE_STARTED = "delete-started"
    TEARDOWN_COLLECTED = "teardown-collected"
    """The resources the group's versions reference, found before DeleteGroup."""
    TEARDOWN_STARTED = "teardown-started"
    """The group is deleted; its resources are next."""
    RESOURCE_TORN_DOWN = "resource-torn-down"
    """One resource of the teardown: deleted, already gone, kept (by whom) or failed; with its ARN."""
    ROLLBACK_TARGET = "rollback-target"
    """The deployment a roll back will redeploy was found."""
    ROLLBACK_STARTED = "rollback-started"
    FELL_BACK = "fell-back"
    """A roll back could not be made, or failed: the configured fallback takes over."""
    FINISHED = "finished"


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    kind: RequestKind
    group_id: str
    received_at: datetime
    requested_by: str = "unknown"
    reason: str = ""
    force: ForcePolicy = ForcePolicy.AUTO
    dry_run: bool = False
    trigger_deployment_id: str | None = None
    """For remediations: the failed deployment that opened it."""
    teardown: Teardown | None = None
    """For deletions: how much to remove (None: the deployment's `WorkflowPolicy.teardown_default`)."""


@dataclass(frozen=True, slots=True)
class Step:
    seq: int
    at: datetime
    kind: StepKind
    state: WorkflowState
    detail: str


@dataclass(frozen=True, slots=True)
class Failures:
    """Failed attempts of the pending call, counted per kind of error: each kind has its own budget
    (`WorkflowPolicy.attempt_limit`), so 429s during a bulk cleanup do not use up the 5xx budget, and a
    step that makes progress starts again from nothing (`NO_FAILURES`)."""

    throttled: int = 0
    server_errors: int = 0
    other: int = 0
    """Unknown errors, unexpected answers, and "not found"s that GetGroup contradicted."""

    def of(self, kind: ErrorKind) -> int:
        match kind:
            case ErrorKind.THROTTLED:
                return self.throttled
            case ErrorKind.SERVER_ERROR:
                return self.server_errors
        return self.other

    def plus_one(self, kind: ErrorKind) -> Failures:
        match kind:
            case ErrorKind.THROTTLED:
                return replace(self, throttled=self.throttled + 1)
            case ErrorKind.SERVER_ERROR:
                return replace(self, server_errors=self.server_errors + 1)
        return replace(self, other=self.other + 1)

    @property
    def total(self) -> int:
        return self.throttled + self.server_errors + self.other


NO_FAILURES = Failures()


@dataclass(frozen=True, slots=True)
class Workflow:
    workflow_id: str
    group_id: str
    kind: RequestKind
    request: Request
    state: WorkflowState
    started_at: datetime
    updated_at: datetime
    reason: str = ""
    request_ids: tuple[str, ...] = ()
    """Every request this workflow answers: the one that opened it and those merged into it."""
    pending: PendingCall | None = None
    next_action_at: datetime | None = None
    deadline_at: datetime | None = None
    deployment_id: str | None = None
    """The reset deployment in flight, whose `Success` completes the reset."""
    forced: bool = False
    failures: Failures = NO_FAILURES
    """Failed attempts of the pending call, per kind of error; cleared by every success."""
    token_generation: int = 0
    """Bumped when a reset is definitively refused, so the retry gets a fresh client token."""
    plan: tuple[str, ...] = ()
    finished_at: datetime | None = None
    step_count: int = 0
    checked_at: datetime | None = None
    """When the group's protection tag was last read (inspection or re-check)."""
    resume: PendingCall | None = None
    """While `pending` is RECHECK: the call to make once the re-check finds the group there and
    unprotected."""
    remediation: RemediationPolicy | None = None
    """For remediations: the policy chosen when the group was inspected (its `gg-reset:on-failure` tag)."""
    rollback_of: str | None = None
    """While rolling back: the earlier deployment being redeployed."""
    rollback_version: str | None = None
    """The group version `rollback_of` deployed, when the listing told it."""
    rollback_deployment_id: str | None = None
    """The redeployment this workflow created: its late news never opens a remediation."""
    delete_issued: bool = False
    """DeleteGroup has been called (the call is saved before it is made): a group found missing from then
    on was deleted by this workflow, whose answer was lost, so the outcome is DELETED, never GONE."""
    teardown: Teardown = Teardown.GROUP
    """For deletions: the teardown decided when the deletion began (the request's, or the default)."""
    resources: tuple[Resource, ...] = ()
    """What the group's versions referenced (found by COLLECT), in teardown order, each with its outcome
    once its turn has come."""
    collected: bool = False
    """COLLECT has answered (`resources` may still be empty: nothing beyond the group to delete)."""
    latest_version: str | None = None
    """The group's latest version when it was last read (GetGroup): where its core thing is found."""
    unconfirmed_reset_since: datetime | None = None
    """A reset call of this workflow failed in a way that leaves open whether AWS started it (a 5xx, a
    lost response): the next attempt first looks for a reset created since then and adopts it, so a
    retry never starts a second reset even if AWS does not replay the client token."""

    @property
    def terminal(self) -> bool:
        return self.state.terminal

    @property
    def attempts(self) -> int:
        """Failed attempts of the pending call, all kinds together (for reading; budgets are per kind)."""
        return self.failures.total

    @property
    def due_at(self) -> datetime | None:
        """When the sweeper must look at this workflow again (None once it is finished)."""
        if self.terminal:
            return None
        # A pending call carries its own time (retry, poll, lease, pause), which the workflow never sets
        # past a deadline that still needs checking; the deadline alone counts only without one.
        return self.next_action_at or self.deadline_at

    def client_token(self, *, force: bool) -> str:
        """`AmznClientToken` for this workflow's reset: a retry after a timeout or 5xx reuses it.

        It names the group too (a digest of its id): two groups whose requests share a request id in the
        same second have the same workflow id, and must still get different tokens.
        """
        return self._token("f" if force else "n")

    def rollback_token(self) -> str:
        """`AmznClientToken` for this workflow's redeployment (`CreateDeployment` is idempotent on it)."""
        return self._token("r")

    def _token(self, kind: str) -> str:
        group = hashlib.sha256(self.group_id.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        return f"{self.workflow_id}-{group}-{kind}{self.token_generation}"


@dataclass(frozen=True, slots=True)
class GroupRecord:
    """The HEAD item of a group: what a conditional write protects."""

    group_id: str
    version: int = 0
    active: Workflow | None = None
    last: Workflow | None = None
    """The most recently finished workflow (for reads; every finished workflow is also stored alone)."""
    recent_request_ids: tuple[str, ...] = ()
    remediations: tuple[datetime, ...] = field(default=())
    """When remediations of this group were opened (pruned to the cap window)."""
    own_deployments: tuple[str, ...] = ()
    """The deployments gg-reset created for this group (resets, forced resets, redeployments), newest last,
    the last `WorkflowPolicy.own_deployments_kept`: the news of one of them never opens a remediation,
    however late it comes and whichever workflows ran since."""
    queued: tuple[Request, ...] = ()
    """Remediations that arrived while a dry run was under way: started, in order, once it ends (a
    failed deployment is not forgotten because someone was planning)."""

    @property
    def current(self) -> Workflow | None:
        """The active workflow, or else the last finished one."""
        return self.active or self.last
