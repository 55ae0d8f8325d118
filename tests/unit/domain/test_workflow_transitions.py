"""Every transition of the reset workflow, table-driven.

The heart of this file is a matrix: every workflow state (built by driving the pure `transition` itself,
so the states are the real ones) x every kind of event. Each cell is looked up in `TABLE`; a cell that is
not in the table must be a no-op (nothing saved, no step, no action). So every transition the workflow
makes is written down here with its resulting state, reason, steps and actions, and every other
combination is asserted to change nothing.

All states are built at `T0` (a few start earlier, at `EARLY`, so that their protection check is already
stale at `T0` and the write waits behind a re-check); the events of the matrix arrive at `NOW` (one second
later: leases held, nothing due, deadlines far, a check made at `T0` still fresh), except the three ticks:
at `NOW`, at `DUE` (every lease and retry time has passed, no deadline has, every check is stale) and at
`DEADLINE` (exactly the reset deadline of the states built at `T0`, `reset_timeout_s` = 600).

Remediations follow the group's `gg-reset:on-failure` tag (reset by default, rollback, notify): the matrix
holds a remediation waiting for its inspection and the states of a roll back (finding the deployment to go
back to, redeploying it, waiting for it, re-checking before it), with `WorkflowPolicy`'s default fallback
(notify).

Deletions may tear down what the group owned (`teardown=definitions`, the most the default policy allows;
`teardown=things` is REJECTED at once): the matrix holds such a deletion collecting the group's resources
(COLLECT, before DeleteGroup), about to delete the group once they are collected, re-checking before that
DeleteGroup after its first attempt failed, tearing down its resources one at a time (the first, after a 5xx,
the last), a dry run collecting for its plan, and the group after such a deletion. The resources are
`FUNCTIONS` (first in teardown order of the states, its turn in every TEARING_DOWN state) and `LOGGERS`, or
`CORE` (answered already) and `FUNCTIONS`.

Rules that need several events or other times (deadline polls, freshness, not-found confirmation,
merging, queued remediations, retry limits, the remediation cap, dry-run plans, the lease, roll back
fallbacks) have their own tests after the matrix.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from unittest.mock import ANY

import pytest

from gg_reset.contracts import DeploymentStatus, DeploymentType, ForcePolicy
from gg_reset.domain.actions import (
    Action,
    CollectTeardown,
    ConfirmFailure,
    DeleteGroup,
    FindRollbackTarget,
    InspectGroup,
    Notify,
    PollDeployment,
    StartReset,
    StartRollback,
    TearDownResource,
)
from gg_reset.domain.enums import RemediationPolicy
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import (
    CallDeferred,
    CallFailed,
    DeploymentStatusReported,
    Event,
    FailureChecked,
    GroupDeleted,
    GroupInspected,
    InvalidRequestReceived,
    RequestReceived,
    ResetAccepted,
    ResourceTornDown,
    RollbackStarted,
    RollbackTargetFound,
    TeardownCollected,
    Tick,
)
from gg_reset.domain.model import (
    GroupRecord,
    PendingCall,
    Request,
    RequestKind,
    StepKind,
    Workflow,
    WorkflowState,
)
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.teardown import Resource, ResourceKind, ResourceOutcome, Teardown
from gg_reset.domain.workflow import (
    CALL_LEASE,
    NOT_DEPLOYED_REASON,
    UNCONFIRMED_CALL_WINDOW,
    WRITE_NAMES,
    Decision,
    remediation_request_id,
    stricter,
    transition,
    workflow_id_for,
)
from support.fakes import EPOCH

POLICY = WorkflowPolicy()
GROUP = "g-1"
T0 = EPOCH
FRESH_FOR = timedelta(seconds=POLICY.protection_freshness_s)
EARLY = T0 - FRESH_FOR - timedelta(seconds=1)
"""States built partly at `EARLY` have a protection check that is stale at `T0`."""
NOW = T0 + timedelta(seconds=1)
DUE = T0 + CALL_LEASE + timedelta(seconds=10)
DEADLINE = T0 + timedelta(seconds=POLICY.reset_timeout_s)
NOT_BEFORE = NOW + timedelta(seconds=7)
"""When a deferred call may be made again (the matrix's `CallDeferred` events)."""
WF1 = workflow_id_for("r1", T0)
"""Id of the workflow most active states were opened with (request `r1` at `T0`)."""
WF_EARLY = workflow_id_for("r1", EARLY)
"""Id of the workflow of the states opened at `EARLY`."""
OWN = "dep-own"
"""The reset deployment the waiting states wait for."""
QUEUED = remediation_request_id("dep-q")
"""The remediation queued behind the dry run of "REQUESTED dry-run queued"."""
FAILED_DEPLOYMENT = "dep-f"
"""The failed deployment that opened the remediation states."""
WF_REMEDIATION = workflow_id_for(remediation_request_id(FAILED_DEPLOYMENT), T0)
WF_REMEDIATION_EARLY = workflow_id_for(remediation_request_id(FAILED_DEPLOYMENT), EARLY)
GOOD = "dep-good"
"""The earlier deployment that worked: what a roll back redeploys."""

S = WorkflowState
K = StepKind
E = ErrorKind
C = PendingCall
F = ForcePolicy
WRITES = tuple(WRITE_NAMES)
assert set(WRITES) == {C.RESET, C.FORCE_RESET, C.DELETE, C.ROLLBACK}


# --- building blocks -----------------------------------------------------------------------------------


def request(
    request_id: str = "r1",
    kind: RequestKind = RequestKind.RESET,
    *,
    force: ForcePolicy = F.AUTO,
    dry_run: bool = False,
    at: datetime = T0,
    teardown: Teardown | None = None,
) -> RequestReceived:
    return RequestReceived(
        Request(
            request_id=request_id,
            kind=kind,
            group_id=GROUP,
            received_at=at,
            requested_by="alice",
            reason="ticket-42",
            force=force,
            dry_run=dry_run,
            teardown=teardown,
        )
    )


def owned(kind: ResourceKind, resource_id: str, *used_by: str, core_thing: str = "") -> Resource:
    """A resource the group's versions reference, as COLLECT reports it."""
    service = "greengrass" if kind.is_definition else "iot"
    arn = f"arn:aws:{service}:eu-west-1:111122223333:{kind.value.lower()}/{resource_id}"
    return Resource(kind, arn, resource_id, core_thing=core_thing, used_by=used_by)


CORE = owned(ResourceKind.CORE_DEFINITION, "c-1")
FUNCTIONS = owned(ResourceKind.FUNCTION_DEFINITION, "f-1", "group g-2")
"""Used by another group when collected (a dry run plans to keep it; a real run asks again)."""
LOGGERS = owned(ResourceKind.LOGGER_DEFINITION, "l-1")
CERTIFICATE = owned(ResourceKind.CERTIFICATE, "cert-1", core_thing="core-1")
THING = owned(ResourceKind.THING, "core-1")
COLLECTED = TeardownCollected((FUNCTIONS, THING, CORE, CERTIFICATE, FUNCTIONS))
"""The matrix's COLLECT answer: out of order, one resource twice, and the core's certificate and thing,
which `teardown=definitions` leaves alone: what is kept is `(CORE, FUNCTIONS)`."""
TORN_DOWN = ResourceTornDown(FUNCTIONS.arn, ResourceOutcome.DELETED, "deleted")
"""The answer about `FUNCTIONS`, whose turn it is in every TEARING_DOWN state."""
NOT_ITS_TURN = ResourceTornDown(CORE.arn, ResourceOutcome.DELETED, "deleted")
"""An answer about `CORE`: answered already (a re-driven call's twin), or no resource of the workflow."""


def failed(call: PendingCall, kind: ErrorKind) -> CallFailed:
    return CallFailed(call=call, error=kind, code=f"{kind.value}-code", message="went wrong")


def status(
    deployment_id: str,
    status_: DeploymentStatus,
    deployment_type: DeploymentType = DeploymentType.RESET,
    source: str = "event",
) -> DeploymentStatusReported:
    return DeploymentStatusReported(
        deployment_id=deployment_id,
        deployment_type=deployment_type,
        status=status_,
        source=source,  # type: ignore[arg-type]
        error_message="core refused" if status_ is DeploymentStatus.FAILURE else None,
    )


def fail_deployment(deployment_id: str, deployment_type: DeploymentType = DeploymentType.NEW) -> Event:
    return status(deployment_id, DeploymentStatus.FAILURE, deployment_type)


INSPECTED_OK = GroupInspected(exists=True, tags={"team": "iot", "gg-reset:protect": "false"})
INSPECTED_ROLLBACK = GroupInspected(exists=True, tags={"gg-reset:on-failure": "rollback"})
INSPECTED_NOTIFY = GroupInspected(exists=True, tags={"gg-reset:on-failure": "Notify "})
TARGET_FOUND = RollbackTargetFound(GOOD, f"deployment {GOOD} (NewDeployment) succeeded")
NO_TARGET = RollbackTargetFound(None, "no earlier successful deployment")
PROTECTED = GroupInspected(exists=True, tags={"gg-reset:protect": "TRUE"})
CONFIRMED = FailureChecked(FAILED_DEPLOYMENT, DeploymentStatus.FAILURE, DeploymentType.NEW, "core refused")
"""GetDeploymentStatus confirms the failure that opened the remediation states."""
EMPTY = GroupRecord(group_id=GROUP)


def apply(record: GroupRecord, *events: Event, at: datetime = T0) -> GroupRecord:
    for event in events:
        record = transition(record, event, at, POLICY).record
    return record


def group_digest(group_id: str = GROUP) -> str:
    return hashlib.sha256(group_id.encode()).hexdigest()[:8]


def token(force: bool, generation: int = 0, workflow_id: str = WF1) -> str:
    """`AmznClientToken`: workflow id, a digest of the group id, the kind of reset and the generation."""
    return f"{workflow_id}-{group_digest()}-{'f' if force else 'n'}{generation}"


def rollback_token(workflow_id: str = WF_REMEDIATION, generation: int = 0) -> str:
    return f"{workflow_id}-{group_digest()}-r{generation}"


RETRY_LIMIT = {
    E.THROTTLED: POLICY.max_throttled_attempts,
    E.SERVER_ERROR: POLICY.max_transient_attempts,
    E.UNKNOWN: POLICY.max_unknown_attempts,
}
"""How many attempts a step gets when it keeps failing with this kind of error."""


def backoff_ceiling(attempt: int) -> int:
    """Exponential, capped: the longest wait before retry number `attempt`."""
    return min(POLICY.backoff_cap_s, POLICY.backoff_base_s * 2 ** (attempt - 1))


@dataclass(frozen=True)
class Within:
    """Equal to any time in [start, end]: the retry time of a jittered backoff."""

    start: datetime
    end: datetime

    def __eq__(self, other: object) -> bool:
        return isinstance(other, datetime) and self.start <= other <= self.end

    __hash__ = None  # type: ignore[assignment]


def after_backoff(at: datetime, attempt: int) -> Within:
    """Jitter scales the exponential backoff into [50 %, 100 %] of its ceiling."""
    ceiling = backoff_ceiling(attempt)
    return Within(at + timedelta(seconds=ceiling // 2), at + timedelta(seconds=ceiling))


def stale(wf: Workflow, at: datetime) -> bool:
    """The freshness rule: a protection check older than `protection_freshness_s` no longer covers a write."""
    return wf.checked_at is None or at - wf.checked_at > FRESH_FOR


def call_action(wf: Workflow, call: PendingCall) -> Action:
    """The Greengrass call that `call` means for this workflow (no freshness rule applied)."""
    match call:
        case C.INSPECT:
            return InspectGroup(GROUP)
        case C.CONFIRM_FAILURE:
            return ConfirmFailure(GROUP, FAILED_DEPLOYMENT)
        case C.RECHECK:
            return InspectGroup(GROUP, recheck=True)
        case C.RESET | C.FORCE_RESET:
            force = call is C.FORCE_RESET
            return StartReset(
                GROUP,
                force=force,
                client_token=token(force, wf.token_generation, wf.workflow_id),
                adopt_since=wf.unconfirmed_reset_since,
            )
        case C.POLL:
            assert wf.deployment_id is not None
            return PollDeployment(GROUP, wf.deployment_id)
        case C.DELETE:
            return DeleteGroup(GROUP)
        case C.COLLECT:
            return CollectTeardown(GROUP, wf.teardown)
        case C.TEAR_DOWN:
            return TearDownResource(GROUP, turn_of(wf))
        case C.FIND_ROLLBACK:
            return FindRollbackTarget(GROUP, FAILED_DEPLOYMENT, POLICY.rollback_max_checked)
        case C.ROLLBACK:
            assert wf.rollback_of is not None
            return StartRollback(GROUP, wf.rollback_of, rollback_token(wf.workflow_id))
    raise AssertionError(call)


def turn_of(wf: Workflow) -> Resource:
    """The resource whose turn it is: the first without an outcome (the resources are kept in teardown
    order)."""
    return next(r for r in wf.resources if r.outcome is None)


def driven(wf: Workflow, at: datetime) -> tuple[Action, PendingCall, PendingCall | None]:
    """What driving the workflow's pending call at `at` asks for: (action, pending, resume) afterwards. A
    write whose protection check is stale is preceded by a re-check that resumes it."""
    assert wf.pending is not None
    if wf.pending in WRITES and stale(wf, at):
        return InspectGroup(GROUP, recheck=True), C.RECHECK, wf.pending
    return call_action(wf, wf.pending), wf.pending, wf.resume


# --- the states ----------------------------------------------------------------------------------------

_waiting = (INSPECTED_OK, ResetAccepted(OWN, forced=False))
_deletion = request(kind=RequestKind.DELETION)
_immediately = request(force=F.IMMEDIATELY)
_immediate_deletion = request(kind=RequestKind.DELETION, force=F.IMMEDIATELY)
_remediation = fail_deployment(FAILED_DEPLOYMENT)
_finding = (_remediation, INSPECTED_ROLLBACK, CONFIRMED)
_definitions = request(kind=RequestKind.DELETION, teardown=Teardown.DEFINITIONS)
_collecting = (_definitions, *_waiting, status(OWN, DeploymentStatus.SUCCESS))
_two = TeardownCollected((LOGGERS, FUNCTIONS))
"""What the teardown states collected: `FUNCTIONS` comes first in teardown order."""
_tearing_down = (*_collecting, _two, GroupDeleted())
STATES: dict[str, Callable[[], GroupRecord]] = {
    "no workflow": lambda: EMPTY,
    "REQUESTED": lambda: apply(EMPTY, request()),
    "REQUESTED deletion": lambda: apply(EMPTY, _deletion),
    "REQUESTED dry-run": lambda: apply(EMPTY, request(dry_run=True)),
    "REQUESTED dry-run queued": lambda: apply(EMPTY, request(dry_run=True), fail_deployment("dep-q")),
    "REQUESTED force=immediately": lambda: apply(EMPTY, _immediately),
    "RESETTING starting": lambda: apply(EMPTY, request(), INSPECTED_OK),
    "RESETTING starting deletion": lambda: apply(EMPTY, _deletion, INSPECTED_OK),
    "RESETTING waiting": lambda: apply(EMPTY, request(), *_waiting),
    "RESETTING waiting force=never": lambda: apply(EMPTY, request(force=F.NEVER), *_waiting),
    "RESETTING waiting deletion": lambda: apply(EMPTY, _deletion, *_waiting),
    "RESETTING busy-retry": lambda: apply(
        EMPTY, request(), INSPECTED_OK, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS)
    ),
    "RESETTING transient-retry": lambda: apply(
        EMPTY, request(), INSPECTED_OK, failed(C.RESET, E.SERVER_ERROR)
    ),
    # A busy retry whose time came after the check went stale: the reset waits behind a re-check.
    "RESETTING recheck": lambda: apply(
        apply(EMPTY, request(at=EARLY), INSPECTED_OK, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS), at=EARLY),
        Tick(),
    ),
    # ResetDeployments answered not found: GetGroup confirms before anything is recorded GONE.
    "RESETTING not-found": lambda: apply(EMPTY, request(), INSPECTED_OK, failed(C.RESET, E.NOT_FOUND)),
    "RESETTING waiting not-found": lambda: apply(EMPTY, request(), *_waiting, failed(C.POLL, E.NOT_FOUND)),
    "FORCE_RESETTING starting": lambda: apply(EMPTY, _immediately, INSPECTED_OK),
    "FORCE_RESETTING waiting": lambda: apply(
        EMPTY, _immediately, INSPECTED_OK, ResetAccepted(OWN, forced=True)
    ),
    # A deletion with force=immediately: its forced reset's Success leads to DeleteGroup.
    "FORCE_RESETTING waiting deletion": lambda: apply(
        EMPTY, _immediate_deletion, INSPECTED_OK, ResetAccepted(OWN, forced=True)
    ),
    # The core's Failure within the freshness of the inspection: Force at once, no re-check.
    "FORCE_RESETTING escalated": lambda: apply(
        EMPTY, request(), *_waiting, status(OWN, DeploymentStatus.FAILURE)
    ),
    # The same Failure once the check has gone stale: Force waits behind a re-check.
    "FORCE_RESETTING recheck": lambda: apply(
        apply(EMPTY, request(at=EARLY), *_waiting, at=EARLY), status(OWN, DeploymentStatus.FAILURE)
    ),
    "FORCE_RESETTING not-found": lambda: apply(
        EMPTY, _immediately, INSPECTED_OK, failed(C.FORCE_RESET, E.NOT_FOUND)
    ),
    "DELETING": lambda: apply(EMPTY, _deletion, *_waiting, status(OWN, DeploymentStatus.SUCCESS)),
    "DELETING transient-retry": lambda: apply(
        EMPTY, _deletion, *_waiting, status(OWN, DeploymentStatus.SUCCESS), failed(C.DELETE, E.SERVER_ERROR)
    ),
    "DELETING recheck": lambda: apply(
        apply(EMPTY, request(kind=RequestKind.DELETION, at=EARLY), *_waiting, at=EARLY),
        status(OWN, DeploymentStatus.SUCCESS),
    ),
    # DeleteGroup was called (and answered a 5xx) before the check went stale: its retry re-checks first.
    "DELETING issued recheck": lambda: apply(
        apply(
            EMPTY,
            request(kind=RequestKind.DELETION, at=EARLY),
            *_waiting,
            status(OWN, DeploymentStatus.SUCCESS),
            failed(C.DELETE, E.SERVER_ERROR),
            at=EARLY,
        ),
        Tick(),
    ),
    # teardown=definitions: after the reset, the group's versions are read for what it owns (COLLECT, a
    # read), then the group is deleted, then each resource in turn.
    "DELETING collecting": lambda: apply(EMPTY, *_collecting),
    "DELETING collected": lambda: apply(EMPTY, *_collecting, _two),
    # DeleteGroup answered a 5xx, and its retry came after the check went stale: re-check first.
    "DELETING collected issued recheck": lambda: apply(
        apply(
            EMPTY,
            request(kind=RequestKind.DELETION, at=EARLY, teardown=Teardown.DEFINITIONS),
            *_waiting,
            status(OWN, DeploymentStatus.SUCCESS),
            _two,
            failed(C.DELETE, E.SERVER_ERROR),
            at=EARLY,
        ),
        Tick(),
    ),
    "TEARING_DOWN": lambda: apply(EMPTY, *_tearing_down),
    "TEARING_DOWN transient-retry": lambda: apply(EMPTY, *_tearing_down, failed(C.TEAR_DOWN, E.SERVER_ERROR)),
    "TEARING_DOWN last resource": lambda: apply(
        EMPTY,
        *_collecting,
        TeardownCollected((FUNCTIONS, CORE)),
        GroupDeleted(),
        ResourceTornDown(CORE.arn, ResourceOutcome.DELETED, "deleted"),
    ),
    # A dry run reads what the teardown would delete and keep, for its plan.
    "REQUESTED dry-run deletion collecting": lambda: apply(
        EMPTY, request(kind=RequestKind.DELETION, dry_run=True, teardown=Teardown.DEFINITIONS), INSPECTED_OK
    ),
    "REQUESTED remediation": lambda: apply(EMPTY, _remediation),
    # Inspected (tag rollback): GetDeploymentStatus must confirm the failure before anything is written.
    "REQUESTED confirming": lambda: apply(EMPTY, _remediation, INSPECTED_ROLLBACK),
    "REQUESTED confirming notify": lambda: apply(EMPTY, _remediation, INSPECTED_NOTIFY),
    "ROLLING_BACK finding": lambda: apply(EMPTY, *_finding),
    "ROLLING_BACK starting": lambda: apply(EMPTY, *_finding, TARGET_FOUND),
    "ROLLING_BACK waiting": lambda: apply(EMPTY, *_finding, TARGET_FOUND, RollbackStarted(OWN)),
    # The deployment to go back to was found once the inspection had gone stale: re-check first.
    "ROLLING_BACK recheck": lambda: apply(apply(EMPTY, *_finding, at=EARLY), TARGET_FOUND),
    "after RESET": lambda: apply(EMPTY, request(), *_waiting, status(OWN, DeploymentStatus.SUCCESS)),
    "after DELETED": lambda: apply(
        EMPTY, _deletion, *_waiting, status(OWN, DeploymentStatus.SUCCESS), GroupDeleted()
    ),
    "after DELETED with teardown": lambda: apply(
        EMPTY,
        *_tearing_down,
        ResourceTornDown(FUNCTIONS.arn, ResourceOutcome.KEPT, "used by group g-2"),
        ResourceTornDown(LOGGERS.arn, ResourceOutcome.DELETED, "deleted"),
    ),
    "after GONE": lambda: apply(EMPTY, request(), GroupInspected(exists=False)),
    "after REJECTED": lambda: apply(EMPTY, request(), PROTECTED),
    "after PLANNED": lambda: apply(EMPTY, request(dry_run=True), INSPECTED_OK),
    "after FAILED": lambda: apply(EMPTY, request(), failed(C.INSPECT, E.BAD_REQUEST)),
    "after ROLLED_BACK": lambda: apply(
        EMPTY, *_finding, TARGET_FOUND, RollbackStarted(OWN), status(OWN, DeploymentStatus.SUCCESS)
    ),
    "after NOTIFIED": lambda: apply(EMPTY, _remediation, INSPECTED_NOTIFY, CONFIRMED),
}
IDLE = [name for name in STATES if name == "no workflow" or name.startswith("after ")]
ACTIVE = [name for name in STATES if name not in IDLE]
WAITING = ["RESETTING waiting", "RESETTING waiting force=never", "RESETTING waiting deletion"]
ROLLING_BACK = [name for name in STATES if name.startswith("ROLLING_BACK")]
OPENED_BY_A_FAILED_DEPLOYMENT = {
    "REQUESTED remediation",
    "REQUESTED confirming",
    "REQUESTED confirming notify",
    *ROLLING_BACK,
    "after ROLLED_BACK",
    "after NOTIFIED",
}
"""States whose workflow a failed deployment opened: request `r1` is new to them, not a replay."""
RECHECKING = [name for name in ACTIVE if name.endswith(("recheck", "not-found"))]
"""The states whose pending call is the re-check (GetGroup) resuming another call."""


@dataclass(frozen=True)
class Shape:
    """What a built state looks like: documents the states and guards the builders."""

    state: WorkflowState | None
    pending: PendingCall | None = None
    next_action_at: datetime | Within | None = None
    deadline_at: datetime | None = None
    kind: RequestKind = RequestKind.RESET
    attempts: int = 0
    token_generation: int = 0
    deployment_id: str | None = None
    resume: PendingCall | None = None
    checked_at: datetime | None = None
    forced: bool = False
    force: ForcePolicy = F.AUTO
    unconfirmed_reset_since: datetime | None = None
    workflow_id: str = WF1
    last: WorkflowState | None = None
    rollback_of: str | None = None
    delete_issued: bool = False
    teardown: Teardown = Teardown.GROUP
    collected: bool = False
    resources: tuple[tuple[str, ResourceOutcome | None], ...] = ()
    """(resource id, outcome) of each resource, in the order the workflow keeps them."""


_lease = T0 + CALL_LEASE
_del = RequestKind.DELETION
_force_deadline = T0 + timedelta(seconds=POLICY.force_timeout_s)
_early_deadline = EARLY + timedelta(seconds=POLICY.reset_timeout_s)
_rollback_deadline = T0 + timedelta(seconds=POLICY.rollback_timeout_s)
_rem = RequestKind.REMEDIATION
_defs = Teardown.DEFINITIONS
_two_left = (("f-1", None), ("l-1", None))
SHAPES: dict[str, Shape] = {
    "no workflow": Shape(None),
    "REQUESTED": Shape(S.REQUESTED, C.INSPECT, _lease),
    "REQUESTED deletion": Shape(S.REQUESTED, C.INSPECT, _lease, kind=_del),
    "REQUESTED dry-run": Shape(S.REQUESTED, C.INSPECT, _lease),
    "REQUESTED dry-run queued": Shape(S.REQUESTED, C.INSPECT, _lease),
    "REQUESTED force=immediately": Shape(S.REQUESTED, C.INSPECT, _lease, force=F.IMMEDIATELY),
    "RESETTING starting": Shape(S.RESETTING, C.RESET, _lease, DEADLINE, checked_at=T0),
    "RESETTING starting deletion": Shape(S.RESETTING, C.RESET, _lease, DEADLINE, kind=_del, checked_at=T0),
    "RESETTING waiting": Shape(S.RESETTING, C.POLL, DEADLINE, DEADLINE, deployment_id=OWN, checked_at=T0),
    "RESETTING waiting force=never": Shape(
        S.RESETTING, C.POLL, DEADLINE, DEADLINE, deployment_id=OWN, checked_at=T0, force=F.NEVER
    ),
    "RESETTING waiting deletion": Shape(
        S.RESETTING, C.POLL, DEADLINE, DEADLINE, kind=_del, deployment_id=OWN, checked_at=T0
    ),
    "RESETTING busy-retry": Shape(
        S.RESETTING, C.RESET, T0 + timedelta(seconds=POLICY.busy_retry_s), DEADLINE, token_generation=1,
        checked_at=T0,
    ),
    "RESETTING transient-retry": Shape(
        S.RESETTING, C.RESET, after_backoff(T0, 1), DEADLINE, attempts=1, checked_at=T0,
        unconfirmed_reset_since=T0 - UNCONFIRMED_CALL_WINDOW,
    ),
    "RESETTING recheck": Shape(
        S.RESETTING, C.RECHECK, _lease, _early_deadline, token_generation=1, resume=C.RESET,
        checked_at=EARLY, workflow_id=WF_EARLY,
    ),
    "RESETTING not-found": Shape(
        S.RESETTING, C.RECHECK, _lease, DEADLINE, attempts=1, resume=C.RESET, checked_at=T0
    ),
    "RESETTING waiting not-found": Shape(
        S.RESETTING, C.RECHECK, _lease, DEADLINE, attempts=1, deployment_id=OWN, resume=C.POLL,
        checked_at=T0,
    ),
    "FORCE_RESETTING starting": Shape(
        S.FORCE_RESETTING, C.FORCE_RESET, _lease, _force_deadline, checked_at=T0, forced=True,
        force=F.IMMEDIATELY,
    ),
    "FORCE_RESETTING waiting": Shape(
        S.FORCE_RESETTING, C.POLL, _force_deadline, _force_deadline, deployment_id=OWN, checked_at=T0,
        forced=True, force=F.IMMEDIATELY,
    ),
    "FORCE_RESETTING waiting deletion": Shape(
        S.FORCE_RESETTING, C.POLL, _force_deadline, _force_deadline, kind=_del, deployment_id=OWN,
        checked_at=T0, forced=True, force=F.IMMEDIATELY,
    ),
    "FORCE_RESETTING escalated": Shape(
        S.FORCE_RESETTING, C.FORCE_RESET, _lease, _force_deadline, checked_at=T0, forced=True
    ),
    "FORCE_RESETTING recheck": Shape(
        S.FORCE_RESETTING, C.RECHECK, _lease, _force_deadline, resume=C.FORCE_RESET, checked_at=EARLY,
        forced=True, workflow_id=WF_EARLY,
    ),
    "FORCE_RESETTING not-found": Shape(
        S.FORCE_RESETTING, C.RECHECK, _lease, _force_deadline, attempts=1, resume=C.FORCE_RESET,
        checked_at=T0, forced=True, force=F.IMMEDIATELY,
    ),
    "DELETING": Shape(S.DELETING, C.DELETE, _lease, kind=_del, checked_at=T0, delete_issued=True),
    "DELETING transient-retry": Shape(
        S.DELETING, C.DELETE, after_backoff(T0, 1), kind=_del, attempts=1, checked_at=T0, delete_issued=True
    ),
    "DELETING recheck": Shape(
        S.DELETING, C.RECHECK, _lease, kind=_del, resume=C.DELETE, checked_at=EARLY, workflow_id=WF_EARLY
    ),
    "DELETING issued recheck": Shape(
        S.DELETING, C.RECHECK, _lease, kind=_del, attempts=1, resume=C.DELETE, checked_at=EARLY,
        workflow_id=WF_EARLY, delete_issued=True,
    ),
    "DELETING collecting": Shape(S.DELETING, C.COLLECT, _lease, kind=_del, checked_at=T0, teardown=_defs),
    "DELETING collected": Shape(
        S.DELETING, C.DELETE, _lease, kind=_del, checked_at=T0, delete_issued=True, teardown=_defs,
        collected=True, resources=_two_left,
    ),
    "DELETING collected issued recheck": Shape(
        S.DELETING, C.RECHECK, _lease, kind=_del, attempts=1, resume=C.DELETE, checked_at=EARLY,
        workflow_id=WF_EARLY, delete_issued=True, teardown=_defs, collected=True, resources=_two_left,
    ),
    "TEARING_DOWN": Shape(
        S.TEARING_DOWN, C.TEAR_DOWN, _lease, kind=_del, checked_at=T0, delete_issued=True, teardown=_defs,
        collected=True, resources=_two_left,
    ),
    "TEARING_DOWN transient-retry": Shape(
        S.TEARING_DOWN, C.TEAR_DOWN, after_backoff(T0, 1), kind=_del, attempts=1, checked_at=T0,
        delete_issued=True, teardown=_defs, collected=True, resources=_two_left,
    ),
    "TEARING_DOWN last resource": Shape(
        S.TEARING_DOWN, C.TEAR_DOWN, _lease, kind=_del, checked_at=T0, delete_issued=True, teardown=_defs,
        collected=True, resources=(("c-1", ResourceOutcome.DELETED), ("f-1", None)),
    ),
    "REQUESTED dry-run deletion collecting": Shape(
        S.REQUESTED, C.COLLECT, _lease, kind=_del, checked_at=T0, teardown=_defs
    ),
    "REQUESTED remediation": Shape(
        S.REQUESTED, C.INSPECT, _lease, kind=_rem, workflow_id=WF_REMEDIATION
    ),
    "REQUESTED confirming": Shape(
        S.REQUESTED, C.CONFIRM_FAILURE, _lease, kind=_rem, checked_at=T0, workflow_id=WF_REMEDIATION
    ),
    "REQUESTED confirming notify": Shape(
        S.REQUESTED, C.CONFIRM_FAILURE, _lease, kind=_rem, checked_at=T0, workflow_id=WF_REMEDIATION
    ),
    "ROLLING_BACK finding": Shape(
        S.ROLLING_BACK, C.FIND_ROLLBACK, _lease, kind=_rem, checked_at=T0, workflow_id=WF_REMEDIATION
    ),
    "ROLLING_BACK starting": Shape(
        S.ROLLING_BACK, C.ROLLBACK, _lease, kind=_rem, checked_at=T0, workflow_id=WF_REMEDIATION,
        rollback_of=GOOD,
    ),
    "ROLLING_BACK waiting": Shape(
        S.ROLLING_BACK, C.POLL, _rollback_deadline, _rollback_deadline, kind=_rem, deployment_id=OWN,
        checked_at=T0, workflow_id=WF_REMEDIATION, rollback_of=GOOD,
    ),
    "ROLLING_BACK recheck": Shape(
        S.ROLLING_BACK, C.RECHECK, _lease, kind=_rem, resume=C.ROLLBACK, checked_at=EARLY,
        workflow_id=WF_REMEDIATION_EARLY, rollback_of=GOOD,
    ),
    "after RESET": Shape(None, last=S.RESET),
    "after DELETED": Shape(None, last=S.DELETED),
    "after DELETED with teardown": Shape(None, last=S.DELETED),
    "after GONE": Shape(None, last=S.GONE),
    "after REJECTED": Shape(None, last=S.REJECTED),
    "after PLANNED": Shape(None, last=S.PLANNED),
    "after FAILED": Shape(None, last=S.FAILED),
    "after ROLLED_BACK": Shape(None, last=S.ROLLED_BACK),
    "after NOTIFIED": Shape(None, last=S.NOTIFIED),
}  # fmt: skip


@pytest.mark.parametrize("name", list(STATES))
def test_state_builders_give_the_documented_states(name: str) -> None:
    record = STATES[name]()
    shape = SHAPES[name]
    wf = record.active
    if shape.state is None:
        assert wf is None
        assert record.queued == ()
        assert (record.last.state if record.last else None) is shape.last
        return
    assert wf is not None
    actual = Shape(
        wf.state,
        wf.pending,
        wf.next_action_at,
        wf.deadline_at,
        wf.kind,
        wf.attempts,
        wf.token_generation,
        wf.deployment_id,
        wf.resume,
        wf.checked_at,
        wf.forced,
        wf.request.force,
        wf.unconfirmed_reset_since,
        wf.workflow_id,
        record.last.state if record.last else None,
        wf.rollback_of,
        delete_issued=wf.delete_issued,
        teardown=wf.teardown,
        collected=wf.collected,
        resources=tuple((r.resource_id, r.outcome) for r in wf.resources),
    )
    assert actual == shape
    queued = tuple(r.request_id for r in record.queued)
    assert queued == ((QUEUED,) if name == "REQUESTED dry-run queued" else ())


def test_every_kind_of_re_check_resume_is_among_the_states() -> None:
    """Stale writes (RESET, FORCE_RESET, DELETE, ROLLBACK) and confirmed not-founds (RESET, FORCE_RESET,
    POLL)."""
    resumes = set()
    for name in RECHECKING:
        wf = STATES[name]().active
        assert wf is not None and wf.pending is C.RECHECK
        resumes.add((wf.resume, wf.attempts > 0))
    assert resumes == {
        (C.RESET, False),
        (C.FORCE_RESET, False),
        (C.DELETE, False),
        (C.DELETE, True),
        (C.ROLLBACK, False),
        (C.RESET, True),
        (C.FORCE_RESET, True),
        (C.POLL, True),
    }


# --- the events ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Asked:
    """What a request-like event asks for (requests, and the remediations failed deployments open)."""

    request_id: str
    kind: RequestKind
    force: ForcePolicy = F.AUTO
    dry_run: bool = False
    teardown: Teardown | None = None


REMEDIATION = remediation_request_id("dep-x")
REQUESTS: dict[str, Asked] = {
    "request new id": Asked("r-new", RequestKind.RESET),
    "request deletion": Asked("r-del", RequestKind.DELETION),
    "request deletion force=never": Asked("r-del-never", RequestKind.DELETION, F.NEVER),
    "request deletion teardown=definitions": Asked(
        "r-del-defs", RequestKind.DELETION, teardown=Teardown.DEFINITIONS
    ),
    "request force=never": Asked("r-never", RequestKind.RESET, F.NEVER),
    "request force=immediately": Asked("r-imm", RequestKind.RESET, F.IMMEDIATELY),
    "request dry-run": Asked("r-dry", RequestKind.RESET, dry_run=True),
    "NewDeployment Failure": Asked(REMEDIATION, RequestKind.REMEDIATION),
    "Redeployment Failure": Asked(REMEDIATION, RequestKind.REMEDIATION),
}
REMEDIATION_EVENTS = ("NewDeployment Failure", "Redeployment Failure")


def requests_for(state: str) -> dict[str, Asked]:
    """The request-like events and what they ask of `state`: "request replayed id" replays `r1` in the
    states `r1` opened, and is a new reset request in those a failed deployment opened."""
    if state in OPENED_BY_A_FAILED_DEPLOYMENT:
        return {**REQUESTS, "request replayed id": Asked("r1", RequestKind.RESET)}
    return REQUESTS


EVENTS: dict[str, tuple[Event, datetime]] = {
    **{
        name: (
            request(a.request_id, a.kind, force=a.force, dry_run=a.dry_run, at=NOW, teardown=a.teardown),
            NOW,
        )
        for name, a in REQUESTS.items()
        if a.kind is not RequestKind.REMEDIATION
    },
    "request replayed id": (request("r1", at=NOW), NOW),
    # More than the default policy allows (things_teardown is off): REJECTED at once, whatever is active.
    "request deletion teardown=things": (
        request("r-things", RequestKind.DELETION, at=NOW, teardown=Teardown.THINGS),
        NOW,
    ),
    "invalid request": (
        InvalidRequestReceived("r-bad", GROUP, "detail.force: Input should be 'auto'", "bob"),
        NOW,
    ),
    "own Success event": (status(OWN, DeploymentStatus.SUCCESS), NOW),
    "own Failure event": (status(OWN, DeploymentStatus.FAILURE), NOW),
    "own InProgress event": (status(OWN, DeploymentStatus.IN_PROGRESS), NOW),
    "own Success poll": (status(OWN, DeploymentStatus.SUCCESS, source="poll"), NOW),
    "own Failure poll": (status(OWN, DeploymentStatus.FAILURE, source="poll"), NOW),
    "own InProgress poll": (status(OWN, DeploymentStatus.IN_PROGRESS, source="poll"), NOW),
    "own Building poll": (status(OWN, DeploymentStatus.BUILDING, source="poll"), NOW),
    "NewDeployment Failure": (fail_deployment("dep-x"), NOW),
    "Redeployment Failure": (fail_deployment("dep-x", DeploymentType.REDEPLOYMENT), NOW),
    "NewDeployment Failure poll": (
        status("dep-x", DeploymentStatus.FAILURE, DeploymentType.NEW, source="poll"),
        NOW,
    ),
    "NewDeployment Success": (status("dep-x", DeploymentStatus.SUCCESS, DeploymentType.NEW), NOW),
    "ResetDeployment Failure": (status("dep-x", DeploymentStatus.FAILURE, DeploymentType.RESET), NOW),
    "ForceResetDeployment Failure": (
        status("dep-x", DeploymentStatus.FAILURE, DeploymentType.FORCE_RESET),
        NOW,
    ),
    "inspected missing": (GroupInspected(exists=False), NOW),
    "inspected protected": (PROTECTED, NOW),
    "inspected ok": (INSPECTED_OK, NOW),
    "inspected ok on-failure=rollback": (INSPECTED_ROLLBACK, NOW),
    "inspected ok on-failure=notify": (INSPECTED_NOTIFY, NOW),
    "failure confirmed": (CONFIRMED, NOW),
    "failure not confirmed": (
        FailureChecked(FAILED_DEPLOYMENT, DeploymentStatus.SUCCESS, DeploymentType.NEW),
        NOW,
    ),
    "failure of a reset deployment": (
        FailureChecked(FAILED_DEPLOYMENT, DeploymentStatus.FAILURE, DeploymentType.RESET),
        NOW,
    ),
    "rollback target found": (TARGET_FOUND, NOW),
    "no rollback target": (NO_TARGET, NOW),
    "rollback started": (RollbackStarted("dep-new"), NOW),
    "reset accepted": (ResetAccepted("dep-new", forced=False), NOW),
    "force reset accepted": (ResetAccepted("dep-new", forced=True), NOW),
    "group deleted": (GroupDeleted(), NOW),
    "teardown collected": (COLLECTED, NOW),
    "resource torn down (current)": (TORN_DOWN, NOW),
    "resource torn down (other arn)": (NOT_ITS_TURN, NOW),
    **{
        f"{call.value} failed {kind.value}": (failed(call, kind), NOW)
        for call in PendingCall
        for kind in ErrorKind
    },
    **{f"{call.value} deferred": (CallDeferred(call, NOT_BEFORE), NOW) for call in PendingCall},
    "tick early": (Tick(), NOW),
    "tick due": (Tick(), DUE),
    "tick at deadline": (Tick(), DEADLINE),
}


# --- the expected transitions --------------------------------------------------------------------------

Check = Callable[[GroupRecord, Decision], None]


@dataclass(frozen=True)
class Expect:
    active: WorkflowState | None = None
    """State of `record.active` after the decision (None: no active workflow)."""
    finished: WorkflowState | None = None
    """The terminal state a workflow reached in this decision, if any."""
    reason: str = ""
    """A fragment of the finished workflow's reason."""
    steps: tuple[StepKind, ...] = ()
    actions: tuple[Action, ...] = ()
    checks: tuple[Check, ...] = ()
    noop: bool = False


NOOP = Expect(noop=True)


def active_is(**fields: object) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        wf = decision.record.active
        assert wf is not None
        for name, value in fields.items():
            assert getattr(wf, name) == value, name

    return check


def request_force_is(force: ForcePolicy) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        assert decision.record.active is not None
        assert decision.record.active.request.force is force

    return check


def step_detail(fragment: str, index: int = -1) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        assert fragment in decision.steps[index][1].detail

    return check


def opened(asked: Asked) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        wf = decision.record.active
        assert wf is not None
        assert wf.workflow_id == workflow_id_for(asked.request_id, NOW)
        assert wf.request_ids == (asked.request_id,)
        assert (wf.kind, wf.request.dry_run, wf.request.force, wf.request.teardown, wf.pending) == (
            asked.kind,
            asked.dry_run,
            asked.force,
            asked.teardown,
            C.INSPECT,
        )
        assert wf.checked_at is None
        assert asked.request_id in decision.record.recent_request_ids
        assert decision.record.last == before.last

    return check


UNTOUCHED = (
    "state",
    "pending",
    "resume",
    "next_action_at",
    "deadline_at",
    "deployment_id",
    "attempts",
    "token_generation",
    "checked_at",
    "forced",
    "collected",
    "delete_issued",
)


def merged(request_id: str, kind: RequestKind, force: ForcePolicy, teardown: Teardown | None = None) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        wf, was = decision.record.active, before.active
        assert wf is not None and was is not None
        assert wf.workflow_id == was.workflow_id
        assert wf.request_ids == (*was.request_ids, request_id)
        assert wf.kind is kind
        assert wf.request.force is force
        assert wf.request.teardown is teardown
        # Joining changes neither the calls nor their times.
        assert {name: getattr(wf, name) for name in UNTOUCHED} == {
            name: getattr(was, name) for name in UNTOUCHED
        }
        assert decision.record.queued == before.queued
        assert decision.record.remediations == before.remediations

    return check


def merged_lowered(request_id: str, teardown: Teardown) -> Check:
    """A deletion asking less than the decided teardown, before anything was deleted: the workflow takes the
    smaller level, keeps only the resources within it, and with `group` deletes the group next."""

    def check(before: GroupRecord, decision: Decision) -> None:
        wf, was = decision.record.active, before.active
        assert wf is not None and was is not None
        assert wf.request_ids == (*was.request_ids, request_id)
        assert wf.teardown is teardown and wf.request.teardown is teardown
        if teardown is Teardown.GROUP:
            assert wf.resources == ()
            assert wf.pending is (C.DELETE if was.pending is C.COLLECT else was.pending)
        assert wf.state is was.state and wf.next_action_at == was.next_action_at

    return check


def queued(request_id: str) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        wf, was = decision.record.active, before.active
        assert wf is not None and was is not None
        assert replace(wf, step_count=0, updated_at=T0) == replace(was, step_count=0, updated_at=T0)
        assert tuple(r.request_id for r in decision.record.queued) == (
            *(r.request_id for r in before.queued),
            request_id,
        )
        assert decision.record.queued[-1].kind is RequestKind.REMEDIATION
        assert decision.record.remediations == before.remediations  # counted when it starts
        assert request_id in decision.record.recent_request_ids

    return check


def kept_active(before: GroupRecord, decision: Decision) -> None:
    """A rejected request must leave the active workflow alone."""
    assert before.active is not None
    assert decision.record.active == before.active
    assert decision.record.queued == before.queued


def remediation_counted(before: GroupRecord, decision: Decision) -> None:
    wf = decision.record.active
    assert wf is not None and wf.request.trigger_deployment_id == "dep-x"
    assert decision.record.remediations == (*before.remediations, NOW)


def remediation_uncounted(before: GroupRecord, decision: Decision) -> None:
    """An unconfirmed failure gives back its place under the remediation cap."""
    (done,) = decision.finished
    assert done.started_at in before.remediations
    assert decision.record.remediations == tuple(t for t in before.remediations if t != done.started_at)


def dequeued(before: GroupRecord, decision: Decision) -> None:
    """The dry run ended: the remediation queued behind it starts in the same decision."""
    wf = decision.record.active
    assert wf is not None and before.active is not None
    assert decision.finished[0].workflow_id == before.active.workflow_id
    assert wf.workflow_id == workflow_id_for(QUEUED, T0)  # received when it was queued
    assert wf.request_ids == (QUEUED,)
    assert (wf.kind, wf.request.dry_run, wf.pending, wf.started_at) == (
        RequestKind.REMEDIATION,
        False,
        C.INSPECT,
        NOW,
    )
    assert wf.request.trigger_deployment_id == "dep-q"
    assert decision.record.queued == ()
    assert decision.record.remediations == (NOW,)
    assert [s.kind for wid, s in decision.steps if wid == wf.workflow_id] == [K.REQUESTED]


def planned(*plan: str) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        assert decision.finished[0].plan == plan

    return check


def leased(at: datetime) -> Check:
    return active_is(next_action_at=at + CALL_LEASE)


def retry_scheduled(attempts: int, at: datetime | Within, generation: int) -> Check:
    return active_is(attempts=attempts, next_action_at=at, token_generation=generation)


def notify(state: WorkflowState = S.FAILED, workflow_id: str = WF1) -> Notify:
    return Notify(GROUP, workflow_id, state, ANY)


def rejected_on_its_own(request_id: str, teardown: Teardown) -> Check:
    """The request is answered by a workflow of its own, remembered, and nothing else changes."""

    def check(before: GroupRecord, decision: Decision) -> None:
        (done,) = decision.finished
        assert done.request_ids == (request_id,) and done.request.teardown is teardown
        assert done.kind is RequestKind.DELETION and done.resources == ()
        assert decision.record.recent_request_ids[-1] == request_id
        assert decision.record.active == before.active and decision.record.queued == before.queued

    return check


def resource_ended(arn: str, outcome: ResourceOutcome, detail: str) -> Check:
    """The resource at `arn` has its outcome, in the active workflow or the one that just finished."""

    def check(before: GroupRecord, decision: Decision) -> None:
        wf = decision.record.active or decision.finished[0]
        (resource,) = [r for r in wf.resources if r.arn == arn]
        assert (resource.outcome, resource.detail) == (outcome, detail)

    return check


def finished_with(**fields: object) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        (done,) = decision.finished
        for name, value in fields.items():
            assert getattr(done, name) == value, name

    return check


def every_resource_ended(before: GroupRecord, decision: Decision) -> None:
    (done,) = decision.finished
    assert done.resources and all(r.outcome is not None for r in done.resources)


_ORDER = [F.NEVER, F.AUTO, F.IMMEDIATELY]


def strictest(a: ForcePolicy, b: ForcePolicy) -> ForcePolicy:
    """never < auto < immediately: the policy that allows less Force (written out, not imported)."""
    return min(a, b, key=_ORDER.index)


_LEVELS = [Teardown.GROUP, Teardown.DEFINITIONS, Teardown.THINGS]


def joined_teardown(wf: Workflow, asked: Asked) -> Teardown | None:
    """The teardown of the request once `asked` joins `wf` (written out, not imported): two deletions get
    the smaller (a request without one has the policy's default); a deletion joining a reset or a
    remediation brings its own; any other request leaves it as it was."""
    if asked.kind is not RequestKind.DELETION:
        return wf.request.teardown
    if wf.kind is not RequestKind.DELETION:
        return asked.teardown
    mine = wf.request.teardown or POLICY.teardown_default
    theirs = asked.teardown or POLICY.teardown_default
    return min(mine, theirs, key=_LEVELS.index)


def group_deleted_by_us(wf: Workflow, why: str) -> Expect:
    """DeleteGroup went through (answered, or proven by a "not found" once issued): DELETED, or, with
    resources collected, the teardown begins with the first of them, asked for at once."""
    if not wf.resources:
        return Expect(finished=S.DELETED, reason=why, steps=(K.FINISHED,))
    return Expect(
        active=S.TEARING_DOWN,
        steps=(K.TEARDOWN_STARTED,),
        actions=(TearDownResource(GROUP, turn_of(wf)),),
        checks=(
            active_is(pending=C.TEAR_DOWN, resume=None, attempts=0, resources=wf.resources, deadline_at=None),
            step_detail(f"{why}; tearing down what it owned"),
            leased(NOW),
        ),
    )


def resource_answered(
    wf: Workflow,
    outcome: ResourceOutcome,
    detail: str,
    ending: tuple[WorkflowState, str] | None = None,
) -> Expect:
    """The resource whose turn it is ends with `outcome`: the next one is asked for at once, or, after the
    last, the workflow ends as `ending` says (a state and its reason)."""
    current, *rest = [r for r in wf.resources if r.outcome is None]
    checks = (
        step_detail(f"{current.kind} {current.resource_id} {outcome}: {detail} ({current.arn})", 0),
        resource_ended(current.arn, outcome, detail),
    )
    if rest:
        assert ending is None
        return Expect(
            active=S.TEARING_DOWN,
            steps=(K.RESOURCE_TORN_DOWN,),
            actions=(TearDownResource(GROUP, rest[0]),),
            checks=(*checks, active_is(pending=C.TEAR_DOWN, attempts=0), leased(NOW)),
        )
    assert ending is not None
    state, reason = ending
    return Expect(
        finished=state,
        reason=reason,
        steps=(K.RESOURCE_TORN_DOWN, K.FINISHED),
        actions=(notify(workflow_id=wf.workflow_id),) if state is S.FAILED else (),
        checks=(*checks, every_resource_ended),
    )


def write_name(call: PendingCall) -> str:
    return WRITE_NAMES.get(call, str(call))


def then_queued_starts(expect: Expect) -> Expect:
    """The same ending for the dry run that has a remediation queued: the remediation starts with it."""
    assert expect.finished is not None
    return replace(
        expect,
        active=S.REQUESTED,
        steps=(*expect.steps, K.REQUESTED),
        actions=(*expect.actions, InspectGroup(GROUP)),
        checks=(*expect.checks, dequeued, leased(NOW)),
    )


def drive_expect(wf: Workflow, at: datetime) -> tuple[Action, Check]:
    """The action and the resulting pending call/lease when the workflow's call is driven at `at`."""
    action, pending, resume = driven(wf, at)
    return action, active_is(pending=pending, resume=resume, next_action_at=at + CALL_LEASE)


def build_table() -> dict[tuple[str, str], Expect]:
    table: dict[tuple[str, str], Expect] = {}
    records = {name: build() for name, build in STATES.items()}
    active_wf: dict[str, Workflow] = {}
    for name in ACTIVE:
        wf = records[name].active
        assert wf is not None
        active_wf[name] = wf

    # -- requests and remediation triggers on a group without an active workflow
    for s in IDLE:
        for event, asked in requests_for(s).items():
            table[s, event] = Expect(
                active=S.REQUESTED,
                steps=(K.REQUESTED,),
                actions=(InspectGroup(GROUP),),
                checks=(
                    opened(asked),
                    leased(NOW),
                    *((remediation_counted,) if event in REMEDIATION_EVENTS else ()),
                ),
            )
        if s == "no workflow":
            table[s, "request replayed id"] = Expect(
                active=S.REQUESTED,
                steps=(K.REQUESTED,),
                actions=(InspectGroup(GROUP),),
                checks=(opened(Asked("r1", RequestKind.RESET)), leased(NOW)),
            )
        table[s, "invalid request"] = Expect(
            finished=S.REJECTED,
            reason="invalid request: detail.force: Input should be 'auto'",
            steps=(K.REQUESTED, K.FINISHED),
        )

    # -- requests while a workflow is active: join it (one active workflow per group), the stricter force
    #    policy wins (a remediation brings none); a request stricter than the Force already used is answered
    #    on its own
    for s in ACTIVE:
        wf = active_wf[s]
        table[s, "invalid request"] = Expect(
            active=wf.state,
            finished=S.REJECTED,
            reason="invalid request",
            steps=(K.REQUESTED, K.FINISHED),
            checks=(kept_active,),
        )
        for event, asked in requests_for(s).items():
            if wf.state is S.ROLLING_BACK and asked.kind is not RequestKind.REMEDIATION:
                # A roll back is not a reset: a reset or deletion joining it is answered on its own.
                table[s, event] = Expect(
                    active=wf.state,
                    finished=S.REJECTED,
                    reason=f"group busy: workflow {wf.workflow_id} is rolling back a failed deployment",
                    steps=(K.REQUESTED, K.FINISHED),
                    checks=(kept_active,),
                )
                continue
            if asked.dry_run != wf.request.dry_run:
                if asked.kind is RequestKind.REMEDIATION:
                    # A failed deployment is not forgotten because someone was planning.
                    table[s, event] = Expect(
                        active=wf.state,
                        steps=(K.MERGED,),
                        checks=(
                            queued(asked.request_id),
                            step_detail(f"remediation {asked.request_id} queued until this dry run ends"),
                        ),
                    )
                else:
                    table[s, event] = Expect(
                        active=wf.state,
                        finished=S.REJECTED,
                        reason=f"group busy: workflow {wf.workflow_id} ({wf.kind}, {wf.state}) is active",
                        steps=(K.REQUESTED, K.FINISHED),
                        checks=(kept_active,),
                    )
                continue
            # A remediation asks for the reset the active workflow makes anyway: it brings no force policy.
            remediation = asked.kind is RequestKind.REMEDIATION
            force = wf.request.force if remediation else strictest(wf.request.force, asked.force)
            if force is not wf.request.force and wf.forced:
                table[s, event] = Expect(
                    active=wf.state,
                    finished=S.REJECTED,
                    reason=f"group busy: workflow {wf.workflow_id} already used Force=True, which this "
                    f"request's force={asked.force} does not allow",
                    steps=(K.REQUESTED, K.FINISHED),
                    checks=(kept_active,),
                )
                continue
            steps: tuple[StepKind, ...] = ()
            checks: list[Check] = []
            if force is not wf.request.force:
                steps = (K.MERGED,)
                checks.append(
                    step_detail(f"request {asked.request_id} asks force={asked.force}: the stricter", 0)
                )
            upgrade = asked.kind is RequestKind.DELETION and wf.kind is not RequestKind.DELETION
            # Someone asking for a reset gets one, whatever the group's on-failure policy.
            reset_wins = asked.kind is RequestKind.RESET and wf.kind is RequestKind.REMEDIATION
            kind = RequestKind.DELETION if upgrade else RequestKind.RESET if reset_wins else wf.kind
            if upgrade:
                steps = (*steps, K.UPGRADED)
                checks.append(step_detail("the group is deleted once the reset completes"))
            elif reset_wins:
                steps = (*steps, K.UPGRADED)
                checks.append(step_detail("the group is reset, whatever its on-failure policy"))
            else:
                steps = (*steps, K.MERGED)
                checks.append(step_detail(f"{asked.kind} request {asked.request_id} joined the active"))
            teardown = joined_teardown(wf, asked)
            decided = wf.kind is RequestKind.DELETION and wf.state in (S.DELETING, S.TEARING_DOWN)
            lowered = (
                decided
                and asked.kind is RequestKind.DELETION
                and _LEVELS.index(teardown or POLICY.teardown_default) < _LEVELS.index(wf.teardown)
            )
            if lowered and (wf.delete_issued or wf.state is S.TEARING_DOWN):
                # Too late to remove less: the teardown is under way. Answered on its own.
                table[s, event] = Expect(
                    active=wf.state,
                    finished=S.REJECTED,
                    reason=f"group busy: workflow {wf.workflow_id} is already deleting the group with "
                    f"teardown={wf.teardown}",
                    steps=(K.REQUESTED, K.FINISHED),
                    checks=(kept_active,),
                )
                continue
            if lowered:
                # Decided but nothing deleted yet: the smaller teardown is what both requests accept.
                table[s, event] = Expect(
                    active=wf.state,
                    steps=steps,
                    checks=(merged_lowered(asked.request_id, teardown or POLICY.teardown_default), *checks),
                )
                continue
            table[s, event] = Expect(
                active=wf.state,
                steps=steps,
                checks=(merged(asked.request_id, kind, force, teardown), *checks),
            )

    # -- a teardown beyond what this deployment allows (things_teardown is off): REJECTED at once, on its
    #    own, whatever is active (a roll back, a dry run, a teardown under way)
    for s in STATES:
        wf_or_none = active_wf.get(s)
        table[s, "request deletion teardown=things"] = Expect(
            active=wf_or_none.state if wf_or_none else None,
            finished=S.REJECTED,
            reason="teardown=things is not enabled on this deployment (at most definitions): the stack "
            "grants the AWS IoT calls only with gg-reset:thingsTeardown=true; ask for teardown=definitions",
            steps=(K.REQUESTED, K.FINISHED),
            checks=(rejected_on_its_own("r-things", Teardown.THINGS),),
        )

    # -- the status of our own reset deployment (whatever call is pending: the news is the news)
    for s in ACTIVE:
        wf = active_wf[s]
        if wf.deployment_id != OWN:
            continue  # late/duplicated news of a reset already completed, or of someone else's: nothing
        for source in ("event", "poll"):
            if wf.state is S.ROLLING_BACK:
                table[s, f"own Success {source}"] = Expect(
                    finished=S.ROLLED_BACK,
                    reason=f"rolled back: redeployment {OWN} of {GOOD} succeeded",
                    steps=(K.DEPLOYMENT_SUCCEEDED, K.FINISHED),
                )
                # The default fallback: notify, with no further Greengrass write.
                table[s, f"own Failure {source}"] = Expect(
                    finished=S.NOTIFIED,
                    reason=f"redeployment {OWN} of {GOOD} failed: core refused; fallback notify",
                    steps=(K.DEPLOYMENT_FAILED, K.FELL_BACK, K.FINISHED),
                    actions=(notify(S.NOTIFIED, wf.workflow_id),),
                )
                continue
            forced = wf.state is S.FORCE_RESETTING
            succeeded = f"{'forced reset' if forced else 'reset'} deployment {OWN} succeeded"
            if wf.kind is RequestKind.DELETION:
                # The inspection at T0 is still fresh at NOW: DeleteGroup at once, no re-check.
                table[s, f"own Success {source}"] = Expect(
                    active=S.DELETING,
                    steps=(K.DEPLOYMENT_SUCCEEDED, K.DELETE_STARTED),
                    actions=(DeleteGroup(GROUP),),
                    checks=(
                        active_is(pending=C.DELETE, deadline_at=None, deployment_id=None, attempts=0),
                        step_detail(f"{succeeded} ({source})", 0),
                        leased(NOW),
                    ),
                )
            else:
                table[s, f"own Success {source}"] = Expect(
                    finished=S.RESET,
                    reason=succeeded,
                    steps=(K.DEPLOYMENT_SUCCEEDED, K.FINISHED),
                    checks=(step_detail(f"({source})", 0),),
                )
            if forced:
                table[s, f"own Failure {source}"] = Expect(
                    finished=S.FAILED,
                    reason=f"forced reset did not complete: reset deployment {OWN} failed: core refused",
                    steps=(K.DEPLOYMENT_FAILED, K.FINISHED),
                    actions=(notify(),),
                )
                continue
            if wf.request.force is F.NEVER:
                table[s, f"own Failure {source}"] = Expect(
                    finished=S.FAILED,
                    reason=f"reset deployment {OWN} failed: core refused; force=never, so no forced reset",
                    steps=(K.DEPLOYMENT_FAILED, K.FINISHED),
                    actions=(notify(),),
                )
            else:
                # The inspection at T0 is still fresh at NOW: Force at once, no re-check.
                table[s, f"own Failure {source}"] = Expect(
                    active=S.FORCE_RESETTING,
                    steps=(K.DEPLOYMENT_FAILED, K.ESCALATED),
                    actions=(StartReset(GROUP, force=True, client_token=token(True)),),
                    checks=(
                        active_is(
                            pending=C.FORCE_RESET,
                            deployment_id=None,
                            forced=True,
                            token_generation=0,
                            attempts=0,
                            deadline_at=NOW + timedelta(seconds=POLICY.force_timeout_s),
                        ),
                        step_detail(f"reset deployment {OWN} failed: core refused", 0),
                        step_detail("escalating to ResetDeployments(Force=True)"),
                        leased(NOW),
                    ),
                )
        for poll in ("own InProgress poll", "own Building poll"):
            if wf.pending is C.POLL:
                # Already waiting for the one poll at the deadline: an early answer changes nothing.
                continue
            # A poll answer while GetGroup confirms a not-found poll: the deployment is there after all;
            # wait for the deadline.
            table[s, poll] = Expect(
                active=wf.state,
                checks=(active_is(pending=C.POLL, next_action_at=wf.deadline_at, attempts=0),),
            )

    # -- answers to InspectGroup
    for s in ACTIVE:
        wf = active_wf[s]
        if wf.pending is not C.INSPECT:
            continue
        table[s, "inspected missing"] = Expect(
            finished=S.GONE, reason="group does not exist", steps=(K.FINISHED,)
        )
        table[s, "inspected protected"] = Expect(
            finished=S.REJECTED, reason="group is protected by tag gg-reset:protect=true", steps=(K.FINISHED,)
        )
        if wf.request.dry_run:
            table[s, "inspected ok"] = Expect(
                finished=S.PLANNED,
                reason="dry run: no Greengrass write made",
                steps=(K.INSPECTED, K.FINISHED),
                checks=(
                    planned(
                        "ResetDeployments(Force=False) and wait for its Success",
                        "if it fails or the core is silent for 600s: "
                        "re-check the protection tag if the last check is older than 60s, then "
                        "ResetDeployments(Force=True)",
                    ),
                ),
            )
            if records[s].queued:
                for answer in ("inspected missing", "inspected protected", "inspected ok"):
                    table[s, answer] = then_queued_starts(table[s, answer])
            continue
        force = wf.request.force is F.IMMEDIATELY
        timeout = POLICY.force_timeout_s if force else POLICY.reset_timeout_s
        table[s, "inspected ok"] = Expect(
            active=S.FORCE_RESETTING if force else S.RESETTING,
            steps=(K.INSPECTED,),
            actions=(StartReset(GROUP, force=force, client_token=token(force)),),
            checks=(
                active_is(
                    pending=C.FORCE_RESET if force else C.RESET,
                    deadline_at=NOW + timedelta(seconds=timeout),
                    forced=force,
                    deployment_id=None,
                    checked_at=NOW,
                ),
                leased(NOW),
            ),
        )

    # -- a group's on-failure tag matters to remediations only: for any other workflow, and for a re-check,
    #    a group tagged rollback or notify is just a group that exists and is not protected
    for s in ACTIVE:
        if (s, "inspected ok") in table:
            for tagged in ("inspected ok on-failure=rollback", "inspected ok on-failure=notify"):
                table[s, tagged] = table[s, "inspected ok"]
    # A remediation remembers the tag's policy (reset without one, the default; roll back; notify), and
    # first asks GetDeploymentStatus to confirm the failure: nothing is written on an event's word alone.
    remediation = active_wf["REQUESTED remediation"]
    assert remediation.kind is RequestKind.REMEDIATION
    for answer, policy, how in (
        (
            "inspected ok",
            RemediationPolicy.RESET,
            "on-failure=reset (the default: no gg-reset:on-failure tag)",
        ),
        ("inspected ok on-failure=rollback", RemediationPolicy.ROLLBACK, "on-failure=rollback (tag "),
        ("inspected ok on-failure=notify", RemediationPolicy.NOTIFY, "on-failure=notify (tag "),
    ):
        table["REQUESTED remediation", answer] = Expect(
            active=S.REQUESTED,
            steps=(K.INSPECTED,),
            actions=(ConfirmFailure(GROUP, FAILED_DEPLOYMENT),),
            checks=(
                active_is(pending=C.CONFIRM_FAILURE, remediation=policy, checked_at=NOW, deployment_id=None),
                step_detail(how),
                leased(NOW),
            ),
        )
    # Confirmed: the policy acts (here rollback; reset and notify in their own tests).
    table["REQUESTED confirming", "failure confirmed"] = Expect(
        active=S.ROLLING_BACK,
        steps=(K.FAILURE_CONFIRMED,),
        actions=(FindRollbackTarget(GROUP, FAILED_DEPLOYMENT, POLICY.rollback_max_checked),),
        checks=(
            active_is(
                pending=C.FIND_ROLLBACK,
                remediation=RemediationPolicy.ROLLBACK,
                checked_at=T0,
                deadline_at=None,
                deployment_id=None,
            ),
            step_detail(
                f"GetDeploymentStatus confirms deployment {FAILED_DEPLOYMENT} Failure (NewDeployment)"
            ),
            leased(NOW),
        ),
    )
    # Confirmed with on-failure=notify: recorded and notified, no Greengrass write.
    table["REQUESTED confirming notify", "failure confirmed"] = Expect(
        finished=S.NOTIFIED,
        reason=f"deployment {FAILED_DEPLOYMENT} failed; on-failure=notify: no Greengrass write made",
        steps=(K.FAILURE_CONFIRMED, K.FINISHED),
        actions=(notify(S.NOTIFIED, WF_REMEDIATION),),
    )
    # Not confirmed: REJECTED with no write, and not counted against the group's remediation cap.
    for answer, said in (
        ("failure not confirmed", "GetDeploymentStatus says Success (NewDeployment)"),
        ("failure of a reset deployment", "GetDeploymentStatus says Failure (ResetDeployment)"),
        ("confirm-failure failed not-found", "GetDeploymentStatus answered not found (not-found-code"),
    ):
        for confirming in ("REQUESTED confirming", "REQUESTED confirming notify"):
            table[confirming, answer] = Expect(
                finished=S.REJECTED,
                reason=f"failure of deployment {FAILED_DEPLOYMENT} not confirmed: {said}",
                steps=(K.FAILURE_UNCONFIRMED, K.FINISHED),
                checks=(remediation_uncounted,),
            )

    # -- answers to the re-check (GetGroup) before a stale write, or confirming a not-found
    for s in RECHECKING:
        wf = active_wf[s]
        assert wf.resume is not None
        write = write_name(wf.resume)
        table[s, "inspected missing"] = (
            # Our DeleteGroup was called: its answer was lost, and the group is missing because of it (what
            # it owned is torn down next).
            group_deleted_by_us(
                wf,
                "group deleted (DeleteGroup was issued; GetGroup, before DeleteGroup, finds it missing)",
            )
            if wf.delete_issued
            else Expect(
                finished=S.GONE,
                reason=f"group no longer exists (GetGroup, before {write})",
                steps=(K.FINISHED,),
            )
        )
        table[s, "inspected protected"] = Expect(
            finished=S.REJECTED,
            reason="group is protected by tag gg-reset:protect=true, found while the workflow ran; "
            f"stopped before {write}",
            steps=(K.FINISHED,),
        )
        # Fresh now: the call it resumes is asked for in the same decision.
        for answer in ("inspected ok", "inspected ok on-failure=rollback", "inspected ok on-failure=notify"):
            table[s, answer] = Expect(
                active=wf.state,
                steps=(K.INSPECTED,),
                actions=(call_action(wf, wf.resume),),
                checks=(
                    active_is(pending=wf.resume, resume=None, checked_at=NOW, attempts=wf.attempts),
                    step_detail(f"still exists and is not protected: {write}"),
                    leased(NOW),
                ),
            )

    # -- answers to ResetDeployments: wait for the status event; poll once, at the deadline
    for s in ACTIVE:
        wf = active_wf[s]
        for forced, event in ((False, "reset accepted"), (True, "force reset accepted")):
            if wf.pending is not (C.FORCE_RESET if forced else C.RESET):
                continue  # the other kind of reset, or an answer to a call no longer awaited
            deadline = NOW + timedelta(seconds=POLICY.force_timeout_s if forced else POLICY.reset_timeout_s)
            table[s, event] = Expect(
                active=wf.state,
                steps=(K.RESET_STARTED,),
                checks=(
                    active_is(
                        deployment_id="dep-new",
                        forced=forced or wf.forced,
                        pending=C.POLL,
                        attempts=0,
                        deadline_at=deadline,
                        next_action_at=deadline,
                        unconfirmed_reset_since=None,
                    ),
                    step_detail(f"{'forced reset' if forced else 'reset'} started: deployment dep-new"),
                ),
            )

    # -- answers to the search for the deployment to roll back to, and to the redeployment
    for s in ACTIVE:
        wf = active_wf[s]
        if wf.pending is C.FIND_ROLLBACK:
            # The inspection at T0 is still fresh at NOW: the redeployment is asked for at once.
            table[s, "rollback target found"] = Expect(
                active=S.ROLLING_BACK,
                steps=(K.ROLLBACK_TARGET,),
                actions=(StartRollback(GROUP, GOOD, rollback_token(wf.workflow_id)),),
                checks=(
                    active_is(pending=C.ROLLBACK, rollback_of=GOOD, attempts=0),
                    step_detail(f"rolling back to deployment {GOOD} (NewDeployment) succeeded"),
                    leased(NOW),
                ),
            )
            table[s, "no rollback target"] = Expect(
                finished=S.NOTIFIED,
                reason="nothing to roll back to: no earlier successful deployment; fallback notify",
                steps=(K.FELL_BACK, K.FINISHED),
                actions=(notify(S.NOTIFIED, wf.workflow_id),),
            )
        if wf.pending is C.ROLLBACK:
            deadline = NOW + timedelta(seconds=POLICY.rollback_timeout_s)
            table[s, "rollback started"] = Expect(
                active=S.ROLLING_BACK,
                steps=(K.ROLLBACK_STARTED,),
                checks=(
                    active_is(
                        deployment_id="dep-new",
                        rollback_deployment_id="dep-new",
                        pending=C.POLL,
                        attempts=0,
                        deadline_at=deadline,
                        next_action_at=deadline,
                    ),
                    step_detail(f"redeployment dep-new of {GOOD} started"),
                ),
            )

    # -- answer to DeleteGroup: DELETED, or the teardown of what the group owned begins
    for s in ACTIVE:
        if active_wf[s].pending is C.DELETE:
            table[s, "group deleted"] = group_deleted_by_us(active_wf[s], "group deleted")

    # -- answer to COLLECT (reads only): what a teardown=definitions keeps of it, in teardown order, without
    #    the core's certificate and thing; then DeleteGroup (the inspection at T0 is still fresh at NOW), or
    #    a dry run's plan
    kept = (CORE, FUNCTIONS)
    for s in ACTIVE:
        wf = active_wf[s]
        if wf.pending is not C.COLLECT:
            continue
        assert wf.teardown is Teardown.DEFINITIONS
        collected = step_detail(
            "teardown=definitions: the group's versions reference CoreDefinition c-1, FunctionDefinition f-1",
            0,
        )
        if wf.request.dry_run:
            table[s, "teardown collected"] = Expect(
                finished=S.PLANNED,
                reason="dry run: no Greengrass write made",
                steps=(K.TEARDOWN_COLLECTED, K.FINISHED),
                checks=(
                    collected,
                    finished_with(resources=kept, collected=True, delete_issued=False),
                    planned(
                        "ResetDeployments(Force=False) and wait for its Success",
                        "if it fails or the core is silent for 600s: "
                        "re-check the protection tag if the last check is older than 60s, then "
                        "ResetDeployments(Force=True)",
                        "re-check the protection tag if the last check is older than 60s, then DeleteGroup",
                        f"delete CoreDefinition c-1 ({CORE.arn})",
                        "keep FunctionDefinition f-1: used by group g-2",
                    ),
                ),
            )
            continue
        table[s, "teardown collected"] = Expect(
            active=S.DELETING,
            steps=(K.TEARDOWN_COLLECTED,),
            actions=(DeleteGroup(GROUP),),
            checks=(
                collected,
                active_is(
                    pending=C.DELETE,
                    resources=kept,
                    collected=True,
                    teardown=Teardown.DEFINITIONS,
                    delete_issued=True,
                    attempts=0,
                ),
                leased(NOW),
            ),
        )

    # -- answers to TEAR_DOWN: the resource whose turn it is ends; then the next, or the end. An answer about
    #    another resource (its turn has passed, or has not come) changes nothing.
    last_resource = {
        ResourceOutcome.DELETED: (S.DELETED, "group deleted; teardown=definitions: 2 deleted"),
        ResourceOutcome.ALREADY_GONE: (
            S.DELETED,
            "group deleted; teardown=definitions: 1 deleted, 1 already-gone",
        ),
        ResourceOutcome.FAILED: (
            S.FAILED,
            "group deleted, but the teardown is incomplete: 1 deleted, 1 failed; not deleted: "
            "FunctionDefinition f-1: refused: bad-request-code: went wrong",
        ),
    }
    for s in ACTIVE:
        wf = active_wf[s]
        if wf.pending is not C.TEAR_DOWN:
            continue
        assert turn_of(wf) == FUNCTIONS and NOT_ITS_TURN.arn != FUNCTIONS.arn
        last = len([r for r in wf.resources if r.outcome is None]) == 1
        table[s, "resource torn down (current)"] = resource_answered(
            wf, ResourceOutcome.DELETED, "deleted", last_resource[ResourceOutcome.DELETED] if last else None
        )

    # -- failed calls: only the answer to the call the workflow waits for counts
    for s in ACTIVE:
        wf = active_wf[s]
        assert wf.pending is not None
        call, attempts, gen = wf.pending, wf.attempts, wf.token_generation
        is_reset = call in (C.RESET, C.FORCE_RESET)
        notice = notify(workflow_id=wf.workflow_id)

        def retry(limit: int, kind: ErrorKind, wf: Workflow = wf) -> Expect:
            """Attempt `k` of this kind of error, within its own budget; the backoff grows with every failed
            attempt of the step (`n`, all kinds)."""
            assert wf.pending is not None
            n = wf.attempts + 1
            k = wf.failures.of(kind) + 1
            assert k < limit
            unconfirmed = wf.unconfirmed_reset_since
            if wf.pending in (C.RESET, C.FORCE_RESET) and kind is not E.THROTTLED and unconfirmed is None:
                # The call may have started a reset: the retry adopts one created since then.
                unconfirmed = NOW - UNCONFIRMED_CALL_WINDOW
            return Expect(
                active=wf.state,
                steps=(K.RETRY_SCHEDULED,),
                checks=(
                    retry_scheduled(n, after_backoff(NOW, n), wf.token_generation),
                    active_is(pending=wf.pending, resume=wf.resume, unconfirmed_reset_since=unconfirmed),
                    step_detail(f"{wf.pending} failed ({kind}, attempt {k}/{limit})"),
                ),
            )

        for kind in ErrorKind:
            event = f"{call.value} failed {kind.value}"
            last = call is C.TEAR_DOWN and len([r for r in wf.resources if r.outcome is None]) == 1
            # With a teardown to follow, the group's absence must be proven: GetGroup is asked first.
            teardown_next = call is C.DELETE and any(r.outcome is None for r in wf.resources)
            if kind is E.NOT_FOUND:
                if call is C.DELETE and not teardown_next:
                    table[s, event] = group_deleted_by_us(
                        wf, "group deleted (DeleteGroup then answered not-found-code: went wrong)"
                    )
                elif call is C.TEAR_DOWN:
                    # Nothing of the group is left either way: the resource is already gone.
                    outcome = ResourceOutcome.ALREADY_GONE
                    table[s, event] = resource_answered(
                        wf,
                        outcome,
                        "not found (not-found-code: went wrong)",
                        last_resource[outcome] if last else None,
                    )
                elif call in (C.INSPECT, C.RECHECK):
                    # GetGroup says "missing" with GroupInspected(exists=False); this proves nothing.
                    table[s, event] = retry(POLICY.max_unknown_attempts, kind)
                elif call is C.CONFIRM_FAILURE:
                    pass  # the group has no such deployment: written out with the confirmation's answers
                elif wf.failures.other + 1 >= POLICY.max_unknown_attempts:
                    table[s, event] = Expect(
                        finished=S.FAILED,
                        reason=f"{call} kept answering not found",
                        steps=(K.FINISHED,),
                        actions=(notice,),
                    )
                else:
                    # Only GetGroup may say the group is gone: ask it now.
                    table[s, event] = Expect(
                        active=wf.state,
                        steps=(K.RETRY_SCHEDULED,),
                        actions=(InspectGroup(GROUP, recheck=True),),
                        checks=(
                            active_is(
                                pending=C.RECHECK,
                                resume=call,
                                attempts=attempts + 1,
                                token_generation=gen,
                                deployment_id=wf.deployment_id,
                            ),
                            step_detail(
                                f"{call} answered not found (not-found-code: went wrong); confirming"
                            ),
                            leased(NOW),
                        ),
                    )
            elif kind is E.NOT_DEPLOYED and is_reset:
                if wf.kind is RequestKind.DELETION:
                    deleting = replace(wf, pending=C.DELETE)
                    action, check = drive_expect(deleting, NOW)
                    table[s, event] = Expect(
                        active=S.DELETING,
                        steps=(K.DELETE_STARTED,),
                        actions=(action,),
                        checks=(step_detail(NOT_DEPLOYED_REASON), check, active_is(deadline_at=None)),
                    )
                else:
                    table[s, event] = Expect(
                        finished=S.RESET, reason=NOT_DEPLOYED_REASON, steps=(K.FINISHED,)
                    )
            elif kind is E.DEPLOYMENT_IN_PROGRESS and is_reset:
                assert wf.deadline_at is not None
                table[s, event] = Expect(
                    active=wf.state,
                    steps=(K.RETRY_SCHEDULED,),
                    checks=(
                        retry_scheduled(
                            0, min(NOW + timedelta(seconds=POLICY.busy_retry_s), wf.deadline_at), gen + 1
                        ),
                        step_detail("another deployment is in progress"),
                    ),
                )
            elif kind.transient:
                table[s, event] = retry(RETRY_LIMIT[kind], kind)
            elif kind is E.BAD_REQUEST and call is C.TEAR_DOWN:
                # The group is deleted already: the resource FAILED, and the next one still gets its turn.
                outcome = ResourceOutcome.FAILED
                table[s, event] = resource_answered(
                    wf,
                    outcome,
                    "refused: bad-request-code: went wrong",
                    last_resource[outcome] if last else None,
                )
            elif kind is E.BAD_REQUEST:
                table[s, event] = Expect(
                    finished=S.FAILED,
                    reason=f"{call} refused: bad-request-code: went wrong",
                    steps=(K.FINISHED,),
                    actions=(notice,),
                )
                if records[s].queued:
                    table[s, event] = then_queued_starts(table[s, event])
            else:  # UNKNOWN, and NOT_DEPLOYED / DEPLOYMENT_IN_PROGRESS from a call they make no sense for
                table[s, event] = retry(POLICY.max_unknown_attempts, kind)

    # -- a call held back by the shell: made again at exactly the time given, no attempt, no step
    for s in ACTIVE:
        wf = active_wf[s]
        assert wf.pending is not None
        table[s, f"{wf.pending.value} deferred"] = Expect(
            active=wf.state,
            checks=(
                active_is(
                    pending=wf.pending, resume=wf.resume, attempts=wf.attempts, next_action_at=NOT_BEFORE
                ),
            ),
        )

    # -- ticks: re-drive a call whose time has come (re-checking first if the write's check is stale); at
    #    the deadline, poll once or escalate
    for s in ACTIVE:
        wf = active_wf[s]
        assert wf.next_action_at is not None
        for event, at in (("tick due", DUE), ("tick at deadline", DEADLINE)):
            if wf.next_action_at > at:
                continue  # nothing due yet (the waiting states poll only at the deadline)
            action, check = drive_expect(wf, at)
            table[s, event] = Expect(active=wf.state, actions=(action,), checks=(check,))
    # At the deadline, a reset refused because another deployment runs escalates (and the stale check is
    # read again before Force); one that was only held back (throttling, a lost lease) is driven again:
    # the core is not at fault.
    table["RESETTING busy-retry", "tick at deadline"] = Expect(
        active=S.FORCE_RESETTING,
        steps=(K.ESCALATED,),
        actions=(InspectGroup(GROUP, recheck=True),),
        checks=(
            step_detail("a deployment was still in progress at the deadline"),
            active_is(
                pending=C.RECHECK,
                resume=C.FORCE_RESET,
                forced=True,
                token_generation=0,
                deadline_at=DEADLINE + timedelta(seconds=POLICY.force_timeout_s),
            ),
            leased(DEADLINE),
        ),
    )
    # Past the deadline, the confirmation of the earlier not-found (its lease ran out) is asked again: its
    # answer decides between GONE and the poll, so the tick does not replace it with a poll.
    table["RESETTING waiting not-found", "tick at deadline"] = Expect(
        active=S.RESETTING,
        actions=(InspectGroup(GROUP, recheck=True),),
        checks=(active_is(pending=C.RECHECK, resume=C.POLL), leased(DEADLINE)),
    )
    return table


TABLE = build_table()
MATRIX = [pytest.param(s, e, id=f"{s} | {e}") for s in STATES for e in EVENTS]


def test_the_table_only_names_known_states_and_events() -> None:
    assert {s for s, _ in TABLE} <= set(STATES)
    assert {e for _, e in TABLE} <= set(EVENTS)
    assert len(MATRIX) == len(STATES) * len(EVENTS)


@pytest.mark.parametrize(("state", "event"), MATRIX)
def test_transition(state: str, event: str) -> None:
    before = STATES[state]()
    ev, now = EVENTS[event]
    expect = TABLE.get((state, event), NOOP)
    decision = transition(before, ev, now, POLICY)

    assert transition(before, ev, now, POLICY) == decision, "transition must be deterministic"
    if expect.noop:
        assert not decision.changed
        assert decision.record == before
        assert decision.steps == ()
        assert decision.actions == ()
        assert decision.finished == ()
        return

    record = decision.record
    assert decision.changed
    assert (record.active.state if record.active else None) is expect.active
    if expect.finished is None:
        assert decision.finished == ()
    else:
        (done,) = decision.finished
        assert done.state is expect.finished
        assert expect.reason and expect.reason in done.reason
        assert done.finished_at == now and done.pending is None and done.next_action_at is None
        assert record.last == done
    assert tuple(step.kind for _, step in decision.steps) == expect.steps
    assert decision.actions == expect.actions
    for action in decision.actions:
        if isinstance(action, Notify):
            assert action.reason == decision.finished[0].reason
    for check in expect.checks:
        check(before, decision)
    assert_steps_are_well_formed(before, decision, now)
    assert_lease_taken(decision, now)
    assert_no_write_on_a_stale_check(decision, now)


def assert_steps_are_well_formed(before: GroupRecord, decision: Decision, now: datetime) -> None:
    """Seq numbers continue each workflow's history without gaps; each step carries its state; a workflow
    that finished in the decision ends its history with its FINISHED step."""
    counts: dict[str, int] = {}
    if before.active is not None:
        counts[before.active.workflow_id] = before.active.step_count
    for workflow_id, step in decision.steps:
        expected = counts.get(workflow_id, 0) + 1
        assert step.seq == expected
        counts[workflow_id] = step.seq
        assert step.at == now
    for wf in (decision.record.active, *decision.finished):
        if wf is not None and wf.workflow_id in counts:
            assert wf.step_count == counts[wf.workflow_id]
    for done in decision.finished:
        last = [step for workflow_id, step in decision.steps if workflow_id == done.workflow_id][-1]
        assert last.kind is K.FINISHED and last.state is done.state


def assert_lease_taken(decision: Decision, now: datetime) -> None:
    """A Greengrass call is asked for only together with its lease."""
    if any(not isinstance(a, Notify) for a in decision.actions):
        wf = decision.record.active
        assert decision.changed
        assert wf is not None and wf.next_action_at == now + CALL_LEASE


def assert_no_write_on_a_stale_check(decision: Decision, now: datetime) -> None:
    """A write is asked for only with a protection check at most `protection_freshness_s` old."""
    if any(isinstance(a, StartReset | DeleteGroup | StartRollback) for a in decision.actions):
        wf = decision.record.active
        assert wf is not None and not stale(wf, now)


# --- deadlines: wait for the status event, poll once at the deadline, then escalate (or fail) -----------


@pytest.mark.parametrize("state", [*WAITING, "FORCE_RESETTING waiting"])
def test_after_a_reset_starts_the_only_poll_is_at_the_deadline(state: str) -> None:
    record = STATES[state]()
    wf = record.active
    assert wf is not None and wf.pending is C.POLL
    assert wf.next_action_at == wf.deadline_at == DEADLINE
    now = T0
    while now + timedelta(seconds=60) < DEADLINE:
        now += timedelta(seconds=60)  # not every 60 s any more
        decision = transition(record, Tick(), now, POLICY)
        assert not decision.changed and decision.actions == ()
    assert transition(record, Tick(), DEADLINE, POLICY).actions == (PollDeployment(GROUP, OWN),)


@pytest.mark.parametrize("answer", [DeploymentStatus.IN_PROGRESS, DeploymentStatus.BUILDING])
@pytest.mark.parametrize("late", [timedelta(0), timedelta(seconds=1), timedelta(seconds=100)])
@pytest.mark.parametrize(
    ("state", "expected", "fragment", "actions"),
    [
        (
            "RESETTING waiting",
            S.FORCE_RESETTING,
            f"reset deployment {OWN} still {{status}} at the deadline: escalating",
            (InspectGroup(GROUP, recheck=True),),  # the check of T0 is stale: read again before Force
        ),
        (
            "RESETTING waiting deletion",
            S.FORCE_RESETTING,
            "still {status} at the deadline: escalating",
            (InspectGroup(GROUP, recheck=True),),
        ),
        (
            "RESETTING waiting force=never",
            S.FAILED,
            "still {status} at the deadline; force=never, so no forced reset",
            (notify(),),
        ),
        (
            "FORCE_RESETTING waiting",
            S.FAILED,
            f"forced reset did not complete: reset deployment {OWN} still {{status}} at the deadline",
            (notify(),),
        ),
    ],
)
def test_at_the_deadline_the_workflow_polls_once_then_escalates(
    state: str,
    expected: WorkflowState,
    fragment: str,
    actions: tuple[Action, ...],
    late: timedelta,
    answer: DeploymentStatus,
) -> None:
    record = STATES[state]()
    tick = transition(record, Tick(), DEADLINE, POLICY)
    assert tick.actions == (PollDeployment(GROUP, OWN),)
    assert tick.steps == ()

    decision = transition(tick.record, status(OWN, answer, source="poll"), DEADLINE + late, POLICY)
    assert decision.actions == actions
    wf = decision.record.current
    assert wf is not None and wf.state is expected
    assert fragment.format(status=answer) in decision.steps[-1][1].detail
    if expected is S.FORCE_RESETTING:
        assert wf.pending is C.RECHECK and wf.resume is C.FORCE_RESET and wf.forced


def test_a_poll_at_the_deadline_that_finds_success_completes_the_reset() -> None:
    record = transition(STATES["RESETTING waiting"](), Tick(), DEADLINE, POLICY).record
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS, source="poll"), DEADLINE, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.RESET
    assert decision.actions == ()


@pytest.mark.parametrize("answer", [DeploymentStatus.IN_PROGRESS, DeploymentStatus.BUILDING])
@pytest.mark.parametrize("at", [NOW, DEADLINE - timedelta(seconds=10), DEADLINE - timedelta(seconds=1)])
def test_a_poll_answered_before_the_deadline_sets_the_next_poll_at_the_deadline(
    at: datetime, answer: DeploymentStatus
) -> None:
    # A poll made before the deadline: the one that re-tries a not-found poll GetGroup found the group for.
    record = apply(STATES["RESETTING waiting not-found"](), INSPECTED_OK, at=NOW)
    assert record.active is not None and record.active.pending is C.POLL
    assert record.active.next_action_at == NOW + CALL_LEASE
    decision = transition(record, status(OWN, answer, source="poll"), at, POLICY)
    wf = decision.record.active
    assert wf is not None and wf.state is S.RESETTING
    assert (wf.pending, wf.next_action_at, wf.attempts) == (C.POLL, DEADLINE, 0)
    assert decision.actions == () and decision.steps == ()


def test_an_in_progress_event_changes_nothing() -> None:
    record = STATES["RESETTING waiting"]()
    assert not transition(record, status(OWN, DeploymentStatus.IN_PROGRESS), NOW, POLICY).changed


def test_the_whole_escalation_path_by_deadline_with_the_events_lost() -> None:
    """Normal reset, core silent, its events lost: one poll at the deadline, re-check, Force, success."""
    record = STATES["RESETTING waiting"]()
    now = T0
    polls = 0
    while now < DEADLINE:
        now += timedelta(seconds=60)
        decision = transition(record, Tick(), now, POLICY)
        record = decision.record
        for action in decision.actions:
            assert isinstance(action, PollDeployment)
            polls += 1
            record = transition(
                record, status(OWN, DeploymentStatus.IN_PROGRESS, source="poll"), now, POLICY
            ).record
    assert record.active is not None and record.active.state is S.FORCE_RESETTING
    assert polls == 1
    force = transition(record, Tick(), now, POLICY)
    assert force.actions == ()  # the re-check was asked for with the escalation; lease held
    recheck = transition(record, INSPECTED_OK, now, POLICY)
    assert recheck.actions == (StartReset(GROUP, force=True, client_token=token(True)),)
    record = apply(recheck.record, ResetAccepted("dep-force", forced=True), at=now)
    assert record.active is not None
    assert (
        record.active.next_action_at
        == record.active.deadline_at
        == now + timedelta(seconds=POLICY.force_timeout_s)
    )
    done = transition(
        record, status("dep-force", DeploymentStatus.SUCCESS, DeploymentType.FORCE_RESET), now, POLICY
    )
    assert done.record.last is not None and done.record.last.state is S.RESET
    assert "forced reset deployment dep-force succeeded" in done.record.last.reason


# --- protection freshness: a write needs a check at most `protection_freshness_s` old -------------------


@pytest.mark.parametrize(
    ("after_s", "rechecked"),
    [
        (1, False),
        (POLICY.protection_freshness_s, False),
        (POLICY.protection_freshness_s + 1, True),
        (500, True),
    ],
)
def test_a_failing_core_escalates_to_force_directly_while_the_check_is_fresh(
    after_s: int, rechecked: bool
) -> None:
    record = STATES["RESETTING waiting"]()  # inspected at T0
    at = T0 + timedelta(seconds=after_s)
    decision = transition(record, status(OWN, DeploymentStatus.FAILURE), at, POLICY)
    wf = decision.record.active
    assert wf is not None and wf.state is S.FORCE_RESETTING and wf.forced
    if rechecked:
        assert decision.actions == (InspectGroup(GROUP, recheck=True),)
        assert (wf.pending, wf.resume) == (C.RECHECK, C.FORCE_RESET)
    else:
        assert decision.actions == (StartReset(GROUP, force=True, client_token=token(True)),)
        assert (wf.pending, wf.resume, wf.checked_at) == (C.FORCE_RESET, None, T0)


@pytest.mark.parametrize(
    ("after_s", "rechecked"),
    [
        (1, False),
        (POLICY.protection_freshness_s, False),
        (POLICY.protection_freshness_s + 1, True),
        (599, True),
    ],
)
def test_a_deletion_re_checks_before_delete_group_only_when_the_check_is_stale(
    after_s: int, rechecked: bool
) -> None:
    record = STATES["RESETTING waiting deletion"]()
    at = T0 + timedelta(seconds=after_s)
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), at, POLICY)
    wf = decision.record.active
    assert wf is not None and wf.state is S.DELETING
    if rechecked:
        assert decision.actions == (InspectGroup(GROUP, recheck=True),)
        assert (wf.pending, wf.resume) == (C.RECHECK, C.DELETE)
        decision = transition(decision.record, INSPECTED_OK, at, POLICY)
        assert decision.record.active is not None and decision.record.active.checked_at == at
    assert decision.actions == (DeleteGroup(GROUP),)


def test_a_busy_retry_is_re_checked_once_stale_and_a_tag_added_meanwhile_is_honoured() -> None:
    """The hole this closes: a normal reset delayed by a running deployment used to be made without
    reading the tags again, however long it had waited."""
    record = STATES["RESETTING starting"]()
    now = T0
    writes = 0
    while True:
        record = apply(record, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS), at=now)
        assert record.active is not None and record.active.next_action_at is not None
        now = record.active.next_action_at
        decision = transition(record, Tick(), now, POLICY)
        record = decision.record
        (action,) = decision.actions
        if isinstance(action, InspectGroup):
            break
        assert isinstance(action, StartReset)
        writes += 1
    assert action == InspectGroup(GROUP, recheck=True)
    assert now - T0 > FRESH_FOR and writes == POLICY.protection_freshness_s // POLICY.busy_retry_s
    assert record.active is not None and (record.active.pending, record.active.resume) == (C.RECHECK, C.RESET)

    decision = transition(record, PROTECTED, now, POLICY)
    last = decision.record.last
    assert decision.record.active is None and last is not None and last.state is S.REJECTED
    assert "found while the workflow ran; stopped before ResetDeployments" in last.reason
    assert decision.actions == ()


def test_a_throttled_reset_retried_after_the_freshness_is_re_checked_first() -> None:
    record = STATES["RESETTING starting"]()
    now = T0
    while True:
        record = apply(record, failed(C.RESET, E.THROTTLED), at=now)
        assert record.active is not None and record.active.next_action_at is not None
        now = record.active.next_action_at
        decision = transition(record, Tick(), now, POLICY)
        record = decision.record
        (action,) = decision.actions
        if now - T0 > FRESH_FOR:
            break
        assert action == StartReset(GROUP, force=False, client_token=token(False))
    assert action == InspectGroup(GROUP, recheck=True)
    # The re-check finds the group as it was: the same reset (same token) in the same decision.
    decision = transition(record, INSPECTED_OK, now, POLICY)
    assert decision.actions == (StartReset(GROUP, force=False, client_token=token(False)),)
    wf = decision.record.active
    assert wf is not None and (wf.pending, wf.resume, wf.checked_at) == (C.RESET, None, now)
    assert wf.attempts == record.active.attempts  # type: ignore[union-attr] - a re-check is no success


def test_a_deferred_write_coming_back_stale_is_re_checked() -> None:
    record = STATES["RESETTING starting"]()
    later = T0 + timedelta(seconds=120)
    record = apply(record, CallDeferred(C.RESET, later), at=NOW)
    assert transition(record, Tick(), later - timedelta(seconds=1), POLICY).actions == ()
    assert transition(record, Tick(), later, POLICY).actions == (InspectGroup(GROUP, recheck=True),)


def test_a_write_soon_after_a_re_check_is_made_without_another() -> None:
    record = apply(STATES["RESETTING recheck"](), INSPECTED_OK, at=NOW)  # checked at NOW
    record = apply(record, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS), at=NOW)
    retry_at = NOW + timedelta(seconds=POLICY.busy_retry_s)
    decision = transition(record, Tick(), retry_at, POLICY)
    assert decision.actions == (StartReset(GROUP, force=False, client_token=token(False, 2, WF_EARLY)),)


def test_checked_at_records_the_inspection_and_each_re_check() -> None:
    record = apply(EMPTY, _deletion)
    assert record.active is not None and record.active.checked_at is None
    record = apply(record, INSPECTED_OK, at=NOW)
    assert record.active is not None and record.active.checked_at == NOW
    record = apply(record, ResetAccepted(OWN, forced=False), at=NOW)
    later = NOW + timedelta(seconds=300)
    record = apply(record, status(OWN, DeploymentStatus.SUCCESS), at=later)
    assert record.active is not None and record.active.checked_at == NOW  # success is not a check
    record = apply(record, INSPECTED_OK, at=later)
    assert record.active is not None and record.active.checked_at == later


@pytest.mark.parametrize(
    ("freshness_s", "after_s", "rechecked"),
    [(0, 0, False), (0, 1, True), (3600, 599, False), (3600, 3601, True)],
)
def test_the_freshness_is_a_policy_setting(freshness_s: int, after_s: int, rechecked: bool) -> None:
    policy = replace(POLICY, protection_freshness_s=freshness_s)
    record = GroupRecord(GROUP)
    for event in (_deletion, INSPECTED_OK, ResetAccepted(OWN, forced=False)):
        record = transition(record, event, T0, policy).record
    at = T0 + timedelta(seconds=after_s)
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), at, policy)
    expected = InspectGroup(GROUP, recheck=True) if rechecked else DeleteGroup(GROUP)
    assert decision.actions == (expected,)


@pytest.mark.parametrize(
    ("state", "write"),
    [
        ("RESETTING recheck", StartReset(GROUP, force=False, client_token=token(False, 1, WF_EARLY))),
        ("FORCE_RESETTING recheck", StartReset(GROUP, force=True, client_token=token(True, 0, WF_EARLY))),
        ("DELETING recheck", DeleteGroup(GROUP)),
    ],
)
def test_a_re_check_stored_without_resume_guards_the_write_of_its_state(state: str, write: Action) -> None:
    """Items written before `resume` existed: the state tells which write the re-check guards."""
    record = STATES[state]()
    assert record.active is not None
    legacy = replace(record, active=replace(record.active, resume=None))
    decision = transition(legacy, INSPECTED_OK, NOW, POLICY)
    assert decision.actions == (write,)


# --- "not found" is confirmed with GetGroup -----------------------------------------------------------------

_NOT_FOUND_CASES = [
    ("RESETTING starting", C.RESET, "ResetDeployments"),
    ("FORCE_RESETTING starting", C.FORCE_RESET, "ResetDeployments(Force=True)"),
    ("RESETTING waiting", C.POLL, "poll"),
]


@pytest.mark.parametrize(("state", "call", "write"), _NOT_FOUND_CASES)
def test_not_found_ends_gone_only_once_get_group_confirms_it(
    state: str, call: PendingCall, write: str
) -> None:
    record = STATES[state]()
    decision = transition(record, failed(call, E.NOT_FOUND), NOW, POLICY)
    assert decision.record.active is not None and decision.record.last is None
    assert decision.actions == (InspectGroup(GROUP, recheck=True),)
    assert [s.kind for _, s in decision.steps] == [K.RETRY_SCHEDULED]
    gone = transition(decision.record, GroupInspected(exists=False), NOW, POLICY)
    last = gone.record.last
    assert gone.record.active is None and last is not None and last.state is S.GONE
    assert last.reason == f"group no longer exists (GetGroup, before {write})"
    assert gone.actions == ()


@pytest.mark.parametrize(("state", "call", "write"), _NOT_FOUND_CASES)
def test_a_call_that_keeps_answering_not_found_while_the_group_exists_ends_failed(
    state: str, call: PendingCall, write: str
) -> None:
    record = STATES[state]()
    wf = record.active
    assert wf is not None
    again = call_action(wf, call)
    get_groups = 0
    for n in range(1, POLICY.max_unknown_attempts):
        decision = transition(record, failed(call, E.NOT_FOUND), NOW, POLICY)
        assert decision.actions == (InspectGroup(GROUP, recheck=True),)
        assert decision.record.active is not None and decision.record.active.attempts == n
        get_groups += 1
        decision = transition(decision.record, INSPECTED_OK, NOW, POLICY)
        assert decision.actions == (again,)  # the same call again (a reset with the same token)
        record = decision.record
    decision = transition(record, failed(call, E.NOT_FOUND), NOW, POLICY)
    last = decision.record.last
    assert decision.record.active is None and last is not None and last.state is S.FAILED
    assert (
        f"{call} kept answering not found (not-found-code: went wrong) while the group exists" in last.reason
    )
    assert decision.actions == (notify(),)
    assert get_groups == POLICY.max_unknown_attempts - 1


@pytest.mark.parametrize("state", ["REQUESTED", "DELETING recheck"])
def test_not_found_from_get_group_itself_is_retried_like_an_unknown_error(state: str) -> None:
    record = STATES[state]()
    wf = record.active
    assert wf is not None and wf.pending is not None
    call = wf.pending
    now = NOW
    for n in range(1, POLICY.max_unknown_attempts):
        decision = transition(record, failed(call, E.NOT_FOUND), now, POLICY)
        active = decision.record.active
        assert active is not None and active.attempts == n and active.pending is call
        assert decision.actions == ()
        assert active.next_action_at is not None
        now = active.next_action_at
        record = transition(decision.record, Tick(), now, POLICY).record
    decision = transition(record, failed(call, E.NOT_FOUND), now, POLICY)
    last = decision.record.last
    assert last is not None and last.state is S.FAILED
    assert f"{call} failed {POLICY.max_unknown_attempts} times; last error not-found-code" in last.reason


def test_delete_not_found_is_deleted_on_a_first_attempt_and_on_a_retry() -> None:
    # A first DeleteGroup may be botocore's retry of a call whose answer was lost, or a crashed worker's
    # call re-driven: the group this workflow reset is gone, as asked.
    first = transition(STATES["DELETING"](), failed(C.DELETE, E.NOT_FOUND), NOW, POLICY)
    assert first.record.last is not None and first.record.last.state is S.DELETED
    retry = transition(STATES["DELETING transient-retry"](), failed(C.DELETE, E.NOT_FOUND), NOW, POLICY)
    assert retry.record.last is not None and retry.record.last.state is S.DELETED


def test_a_tick_leaves_a_leased_get_group_confirming_a_not_found_poll_alone() -> None:
    """The poll at the deadline answers not found; GetGroup is asked (and leased). A tick arriving while
    that call is under way (a redelivered timer message) must neither make another call nor drop the
    confirmation: GetGroup's answer "missing" must still end the workflow GONE."""
    record = transition(STATES["RESETTING waiting"](), Tick(), DEADLINE, POLICY).record
    confirming = transition(record, failed(C.POLL, E.NOT_FOUND), DEADLINE, POLICY)
    assert confirming.actions == (InspectGroup(GROUP, recheck=True),)
    tick = transition(confirming.record, Tick(), DEADLINE + timedelta(seconds=1), POLICY)
    assert tick.actions == (), "a second call while the lease on GetGroup is held"
    gone = transition(tick.record, GroupInspected(exists=False), DEADLINE + timedelta(seconds=2), POLICY)
    assert gone.record.last is not None and gone.record.last.state is S.GONE


# --- merging: the stricter force policy wins ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (F.NEVER, F.NEVER, F.NEVER),
        (F.NEVER, F.AUTO, F.NEVER),
        (F.NEVER, F.IMMEDIATELY, F.NEVER),
        (F.AUTO, F.NEVER, F.NEVER),
        (F.AUTO, F.AUTO, F.AUTO),
        (F.AUTO, F.IMMEDIATELY, F.AUTO),
        (F.IMMEDIATELY, F.NEVER, F.NEVER),
        (F.IMMEDIATELY, F.AUTO, F.AUTO),
        (F.IMMEDIATELY, F.IMMEDIATELY, F.IMMEDIATELY),
    ],
)
def test_stricter_allows_less_force(a: ForcePolicy, b: ForcePolicy, expected: ForcePolicy) -> None:
    assert stricter(a, b) is expected


def test_a_stricter_request_joining_before_the_inspection_turns_force_immediately_into_a_normal_reset() -> (
    None
):
    record = apply(STATES["REQUESTED force=immediately"](), request("r-never", force=F.NEVER, at=NOW), at=NOW)
    assert record.active is not None and record.active.request.force is F.NEVER
    decision = transition(record, INSPECTED_OK, NOW, POLICY)
    assert decision.actions == (StartReset(GROUP, force=False, client_token=token(False)),)
    assert decision.record.active is not None and not decision.record.active.forced


@pytest.mark.parametrize("core", ["silent", "failing"])
def test_regression_a_force_never_deletion_joining_a_force_auto_reset_of_an_offline_core_never_forces(
    core: str,
) -> None:
    record = STATES["RESETTING waiting"]()
    joined = transition(record, request("r-del", RequestKind.DELETION, force=F.NEVER, at=NOW), NOW, POLICY)
    assert [s.kind for _, s in joined.steps] == [K.MERGED, K.UPGRADED]
    record = joined.record
    assert record.active is not None
    assert (record.active.request.force, record.active.kind) == (F.NEVER, RequestKind.DELETION)
    actions: list[Action] = []
    if core == "failing":
        decision = transition(record, status(OWN, DeploymentStatus.FAILURE), NOW, POLICY)
        actions.extend(decision.actions)
        record = decision.record
    now = NOW
    while record.active is not None:
        now += timedelta(seconds=60)
        assert now < DEADLINE + timedelta(seconds=POLICY.force_timeout_s), "the workflow never ended"
        decision = transition(record, Tick(), now, POLICY)
        actions.extend(decision.actions)
        record = decision.record
        if any(isinstance(a, PollDeployment) for a in decision.actions):
            decision = transition(
                record, status(OWN, DeploymentStatus.IN_PROGRESS, source="poll"), now, POLICY
            )
            actions.extend(decision.actions)
            record = decision.record
    last = record.last
    assert last is not None and last.state is S.FAILED
    assert "force=never, so no forced reset" in last.reason
    assert last.request_ids == ("r1", "r-del") and not last.forced
    assert not any(isinstance(a, StartReset) for a in actions)


@pytest.mark.parametrize(
    "state", ["FORCE_RESETTING escalated", "FORCE_RESETTING recheck", "FORCE_RESETTING waiting"]
)
def test_a_request_stricter_than_the_force_already_used_is_rejected_on_its_own(state: str) -> None:
    record = STATES[state]()
    active = record.active
    assert active is not None and active.forced
    decision = transition(record, request("r-del", RequestKind.DELETION, force=F.NEVER, at=NOW), NOW, POLICY)
    assert decision.record.active == active
    (rejected,) = decision.finished
    assert rejected.state is S.REJECTED and rejected.request_ids == ("r-del",)
    assert rejected.reason == (
        f"group busy: workflow {active.workflow_id} already used Force=True, which this request's "
        "force=never does not allow; send it again once that workflow has finished"
    )
    assert decision.record.last == rejected
    assert decision.actions == ()


def test_a_laxer_request_joins_without_loosening_the_policy() -> None:
    record = STATES["RESETTING waiting force=never"]()
    decision = transition(record, request("r-imm", force=F.IMMEDIATELY, at=NOW), NOW, POLICY)
    assert decision.record.active is not None and decision.record.active.request.force is F.NEVER
    assert [s.kind for _, s in decision.steps] == [K.MERGED]
    assert decision.record.active.request_ids == ("r1", "r-imm")


# --- remediation of failed deployments ------------------------------------------------------------------


def test_remediation_cap_per_window_fails_with_reason_and_notifies() -> None:
    record = EMPTY
    now = T0
    for n in range(POLICY.remediation_cap):
        decision = transition(record, fail_deployment(f"dep-{n}"), now, POLICY)
        assert decision.record.active is not None
        assert decision.record.active.kind is RequestKind.REMEDIATION
        assert decision.record.active.request.trigger_deployment_id == f"dep-{n}"
        record = apply(decision.record, GroupInspected(exists=False), at=now)  # quickly done
        now += timedelta(hours=1)
    capped = transition(record, fail_deployment("dep-cap"), now, POLICY)
    last = capped.record.last
    assert capped.record.active is None and last is not None
    assert last.state is S.FAILED and last.kind is RequestKind.REMEDIATION
    assert "remediation cap reached: 3 remediations of this group" in last.reason
    assert "deployment dep-cap failed again" in last.reason
    assert capped.actions == (Notify(GROUP, last.workflow_id, S.FAILED, last.reason),)
    assert [s.kind for _, s in capped.steps] == [K.REQUESTED, K.FINISHED]

    # A duplicate of the capped event changes nothing; once the window has moved on, remediation resumes.
    assert not transition(capped.record, fail_deployment("dep-cap"), now, POLICY).changed
    later = T0 + timedelta(seconds=POLICY.remediation_window_s + 1)
    reopened = transition(capped.record, fail_deployment("dep-later"), later, POLICY)
    assert reopened.record.active is not None
    assert reopened.actions == (InspectGroup(GROUP),)
    assert len(reopened.record.remediations) == POLICY.remediation_cap


def test_remediations_merged_into_an_active_workflow_do_not_count_against_the_cap() -> None:
    record = STATES["RESETTING waiting"]()
    for n in range(5):
        record = apply(record, fail_deployment(f"dep-{n}"), at=NOW)
    assert record.remediations == ()
    assert record.active is not None and len(record.active.request_ids) == 6


@pytest.mark.parametrize("deployment_type", [DeploymentType.RESET, DeploymentType.FORCE_RESET])
@pytest.mark.parametrize("state", list(STATES))
def test_failed_resets_never_open_a_remediation(state: str, deployment_type: DeploymentType) -> None:
    record = STATES[state]()
    decision = transition(record, fail_deployment("dep-foreign", deployment_type), NOW, POLICY)
    assert not decision.changed and decision.actions == () and decision.steps == ()


def test_a_remediation_resets_the_group_and_ends_reset() -> None:
    record = apply(
        EMPTY,
        fail_deployment("dep-bad"),
        INSPECTED_OK,
        replace(CONFIRMED, deployment_id="dep-bad"),
        ResetAccepted("dep-r", forced=False),
    )
    done = transition(record, status("dep-r", DeploymentStatus.SUCCESS), T0, POLICY)
    last = done.record.last
    assert last is not None and last.state is S.RESET and last.kind is RequestKind.REMEDIATION
    assert last.request_ids == (remediation_request_id("dep-bad"),)
    assert "NewDeployment dep-bad failed: core refused" in last.request.reason


def test_a_remediation_during_a_dry_run_is_queued_then_started_and_run_when_the_dry_run_ends() -> None:
    record = STATES["REQUESTED dry-run"]()
    queued_ = transition(record, fail_deployment("dep-bad"), NOW, POLICY)
    assert queued_.finished == () and queued_.actions == ()
    assert [(wid, s.kind) for wid, s in queued_.steps] == [(WF1, K.MERGED)]
    assert "queued until this dry run ends" in queued_.steps[0][1].detail
    record = queued_.record
    assert [r.request_id for r in record.queued] == [remediation_request_id("dep-bad")]
    assert not transition(record, fail_deployment("dep-bad"), NOW, POLICY).changed  # not queued twice

    ended = transition(record, INSPECTED_OK, NOW, POLICY)
    (planned_,) = ended.finished
    assert planned_.state is S.PLANNED and planned_.workflow_id == WF1
    remediation = ended.record.active
    assert remediation is not None and remediation.kind is RequestKind.REMEDIATION
    assert remediation.state is S.REQUESTED and remediation.pending is C.INSPECT
    assert ended.actions == (InspectGroup(GROUP),)
    assert [(wid, s.kind) for wid, s in ended.steps] == [
        (WF1, K.INSPECTED),
        (WF1, K.FINISHED),
        (remediation.workflow_id, K.REQUESTED),
    ]
    assert ended.record.queued == () and ended.record.remediations == (NOW,)

    record = apply(
        ended.record,
        INSPECTED_OK,
        replace(CONFIRMED, deployment_id="dep-bad"),
        ResetAccepted("dep-r", forced=False),
        at=NOW,
    )
    done = transition(record, status("dep-r", DeploymentStatus.SUCCESS), NOW, POLICY)
    last = done.record.last
    assert last is not None and last.state is S.RESET and last.workflow_id == remediation.workflow_id


def test_remediations_queued_behind_a_dry_run_start_in_order() -> None:
    record = apply(STATES["REQUESTED dry-run"](), fail_deployment("dep-a"), fail_deployment("dep-b"), at=NOW)
    assert [r.trigger_deployment_id for r in record.queued] == ["dep-a", "dep-b"]
    record = apply(record, INSPECTED_OK, at=NOW)
    assert record.active is not None and record.active.request.trigger_deployment_id == "dep-a"
    assert [r.trigger_deployment_id for r in record.queued] == ["dep-b"]
    decision = transition(record, GroupInspected(exists=False), NOW, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.GONE
    active = decision.record.active
    assert active is not None and active.request.trigger_deployment_id == "dep-b"
    assert decision.record.queued == () and decision.actions == (InspectGroup(GROUP),)


def test_the_remediation_cap_applies_when_a_queued_remediation_starts() -> None:
    record = EMPTY
    for n in range(POLICY.remediation_cap):
        record = apply(record, fail_deployment(f"dep-{n}"), GroupInspected(exists=False))
    record = apply(record, request("r-dry", dry_run=True), fail_deployment("dep-late"), at=NOW)
    assert len(record.queued) == 1 and len(record.remediations) == POLICY.remediation_cap
    decision = transition(record, INSPECTED_OK, NOW, POLICY)
    planned_, capped = decision.finished
    assert planned_.state is S.PLANNED
    assert capped.state is S.FAILED and "remediation cap reached" in capped.reason
    assert decision.actions == (Notify(GROUP, capped.workflow_id, S.FAILED, capped.reason),)
    assert decision.record.active is None and decision.record.queued == ()
    assert decision.record.last == capped


# --- client tokens and workflow ids ---------------------------------------------------------------------


def test_the_client_token_names_the_workflow_the_group_the_kind_of_reset_and_the_generation() -> None:
    record = STATES["RESETTING starting"]()
    assert record.active is not None
    assert record.active.client_token(force=False) == f"{WF1}-{group_digest()}-n0"
    assert record.active.client_token(force=True) == f"{WF1}-{group_digest()}-f0"
    busy = STATES["RESETTING busy-retry"]().active
    assert busy is not None and busy.client_token(force=False) == f"{WF1}-{group_digest()}-n1"


def test_two_groups_with_the_same_request_id_and_second_get_different_tokens() -> None:
    tokens = []
    for group_id in ("g-a", "g-b"):
        r = Request("shared-id", RequestKind.RESET, group_id, T0)
        record = GroupRecord(group_id)
        record = transition(record, RequestReceived(r), T0, POLICY).record
        decision = transition(record, INSPECTED_OK, T0, POLICY)
        assert decision.record.active is not None
        assert decision.record.active.workflow_id == workflow_id_for("shared-id", T0)  # the same id
        (action,) = decision.actions
        assert isinstance(action, StartReset)
        tokens.append(action.client_token)
    assert tokens[0] != tokens[1]


def test_a_request_id_or_group_id_with_a_lone_surrogate_does_not_break_the_workflow() -> None:
    assert workflow_id_for("\ud800", T0) != workflow_id_for("\udc00", T0)
    assert workflow_id_for("\ud800", T0).startswith(f"{T0:%Y%m%dT%H%M%S}-")
    group_id = "g-\udc80"
    r = Request("\ud800", RequestKind.RESET, group_id, T0)
    record = transition(GroupRecord(group_id), RequestReceived(r), T0, POLICY).record
    decision = transition(record, INSPECTED_OK, T0, POLICY)
    (action,) = decision.actions
    assert isinstance(action, StartReset) and action.client_token.endswith("-n0")


# --- protection and dry run -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "protected"),
    [
        ("true", True),
        ("TRUE", True),
        ("True", True),
        (" true ", True),
        ("false", False),
        ("yes", False),
        ("", False),
    ],
)
def test_the_protect_tag_is_case_insensitive(value: str, protected: bool) -> None:
    record = STATES["REQUESTED deletion"]()
    decision = transition(record, GroupInspected(True, {"gg-reset:protect": value}), NOW, POLICY)
    if protected:
        assert decision.record.last is not None and decision.record.last.state is S.REJECTED
        assert decision.actions == ()
    else:
        assert decision.record.active is not None and decision.record.active.state is S.RESETTING
        assert decision.actions == (StartReset(GROUP, force=False, client_token=token(False)),)


def test_a_protect_tag_under_another_key_does_not_protect() -> None:
    decision = transition(STATES["REQUESTED"](), GroupInspected(True, {"protect": "true"}), NOW, POLICY)
    assert decision.record.active is not None


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("force", list(ForcePolicy))
def test_a_protected_group_is_rejected_before_any_write_whatever_the_request(
    force: ForcePolicy, dry_run: bool
) -> None:
    record = apply(EMPTY, request(kind=RequestKind.DELETION, force=force, dry_run=dry_run))
    decision = transition(record, PROTECTED, NOW, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.REJECTED
    assert decision.actions == ()


@pytest.mark.parametrize(
    ("force", "kind", "plan"),
    [
        (
            F.AUTO,
            RequestKind.DELETION,
            (
                "ResetDeployments(Force=False) and wait for its Success",
                "if it fails or the core is silent for 600s: "
                "re-check the protection tag if the last check is older than 60s, then "
                "ResetDeployments(Force=True)",
                "re-check the protection tag if the last check is older than 60s, then DeleteGroup",
            ),
        ),
        (
            F.NEVER,
            RequestKind.RESET,
            (
                "ResetDeployments(Force=False) and wait for its Success",
                "if it fails or the core is silent for 600s: FAILED",
            ),
        ),
        (
            F.IMMEDIATELY,
            RequestKind.DELETION,
            (
                "ResetDeployments(Force=True)",
                "re-check the protection tag if the last check is older than 60s, then DeleteGroup",
            ),
        ),
    ],
)
def test_a_dry_run_is_planned_without_any_greengrass_write(
    force: ForcePolicy, kind: RequestKind, plan: tuple[str, ...]
) -> None:
    first = transition(EMPTY, request(kind=kind, force=force, dry_run=True), T0, POLICY)
    assert first.actions == (InspectGroup(GROUP),)  # a read
    decision = transition(first.record, INSPECTED_OK, T0, POLICY)
    last = decision.record.last
    assert last is not None and last.state is S.PLANNED and last.plan == plan
    assert decision.actions == ()
    assert "(dry run)" in first.steps[0][1].detail


def test_a_dry_run_plans_with_the_stricter_policy_of_the_requests_merged_into_it() -> None:
    record = apply(EMPTY, request(force=F.IMMEDIATELY, dry_run=True))
    record = apply(record, request("r-never", force=F.NEVER, dry_run=True, at=NOW), INSPECTED_OK, at=NOW)
    assert record.last is not None and record.last.state is S.PLANNED
    assert record.last.plan[-1] == "if it fails or the core is silent for 600s: FAILED"


def test_a_dry_run_of_a_protected_group_is_rejected_like_a_real_run() -> None:
    record = STATES["REQUESTED dry-run"]()
    decision = transition(record, GroupInspected(True, {"gg-reset:protect": "True"}), NOW, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.REJECTED


# --- whole paths -------------------------------------------------------------------------------------------


def test_deletion_path_reset_then_delete() -> None:
    record = STATES["RESETTING waiting deletion"]()
    d1 = transition(record, status(OWN, DeploymentStatus.SUCCESS), NOW, POLICY)
    assert d1.actions == (DeleteGroup(GROUP),)  # checked at T0, still fresh
    d2 = transition(d1.record, GroupDeleted(), NOW, POLICY)
    last = d2.record.last
    assert last is not None and last.state is S.DELETED
    assert [s.kind for _, s in (*d1.steps, *d2.steps)] == [
        K.DEPLOYMENT_SUCCEEDED,
        K.DELETE_STARTED,
        K.FINISHED,
    ]
    # requested, inspected, reset-started, succeeded, delete-started, finished
    assert last.step_count == 6


def test_deletion_path_with_a_slow_core_re_checks_before_delete() -> None:
    record = STATES["RESETTING waiting deletion"]()
    later = T0 + timedelta(seconds=300)
    d1 = transition(record, status(OWN, DeploymentStatus.SUCCESS), later, POLICY)
    assert d1.actions == (InspectGroup(GROUP, recheck=True),)
    recheck = transition(d1.record, INSPECTED_OK, later, POLICY)
    assert recheck.actions == (DeleteGroup(GROUP),)
    d2 = transition(recheck.record, GroupDeleted(), later, POLICY)
    last = d2.record.last
    assert last is not None and last.state is S.DELETED
    assert [s.kind for _, s in (*d1.steps, *recheck.steps, *d2.steps)] == [
        K.DEPLOYMENT_SUCCEEDED,
        K.DELETE_STARTED,
        K.INSPECTED,
        K.FINISHED,
    ]
    assert last.step_count == 7


def test_a_deletion_upgrades_an_active_reset_which_then_deletes() -> None:
    record = apply(STATES["RESETTING waiting"](), request("r-del", RequestKind.DELETION), at=NOW)
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), NOW, POLICY)
    assert decision.record.active is not None and decision.record.active.state is S.DELETING
    assert decision.actions == (DeleteGroup(GROUP),)


def test_not_deployed_on_a_forced_deletion_goes_on_to_delete() -> None:
    record = STATES["REQUESTED force=immediately"]()
    record = apply(record, request("r-del", RequestKind.DELETION, force=F.IMMEDIATELY), INSPECTED_OK, at=NOW)
    decision = transition(record, failed(C.FORCE_RESET, E.NOT_DEPLOYED), NOW, POLICY)
    assert decision.actions == (DeleteGroup(GROUP),)
    assert NOT_DEPLOYED_REASON in decision.steps[-1][1].detail


def test_terminal_workflows_are_kept_as_last_and_the_next_request_starts_fresh() -> None:
    record = STATES["after FAILED"]()
    last = record.last
    decision = transition(record, request("r2", at=NOW), NOW, POLICY)
    assert decision.record.last == last
    assert decision.record.active is not None and decision.record.active.workflow_id != WF1
    assert decision.record.recent_request_ids == ("r1", "r2")


def test_recent_request_ids_are_bounded() -> None:
    record = EMPTY
    for n in range(POLICY.recent_request_ids + 10):
        record = apply(record, InvalidRequestReceived(f"bad-{n}", GROUP, "nope"))
    assert len(record.recent_request_ids) == POLICY.recent_request_ids
    assert record.recent_request_ids[-1] == f"bad-{POLICY.recent_request_ids + 9}"


# --- DEPLOYMENT_IN_PROGRESS: wait and retry until the deadline ------------------------------------------


def test_busy_retries_get_a_new_token_each_time_until_the_deadline_then_escalate() -> None:
    record = STATES["RESETTING starting"]()
    now = T0
    tokens = [token(False, 0)]
    rechecks = []
    while True:
        decision = transition(record, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS), now, POLICY)
        record = decision.record
        wf = record.active
        assert wf is not None
        if wf.state is S.FORCE_RESETTING:
            break
        assert wf.next_action_at is not None and wf.next_action_at <= DEADLINE
        now = wf.next_action_at
        decision = transition(record, Tick(), now, POLICY)
        record = decision.record
        if decision.steps:  # the deadline itself: the tick escalates
            assert record.active is not None and record.active.state is S.FORCE_RESETTING
            break
        (action,) = decision.actions
        if isinstance(action, InspectGroup):
            assert action.recheck
            rechecks.append((now - T0).total_seconds())
            decision = transition(record, INSPECTED_OK, now, POLICY)
            record = decision.record
            (action,) = decision.actions
        assert isinstance(action, StartReset) and not action.force
        tokens.append(action.client_token)
    assert len(tokens) == len(set(tokens)), "every busy retry needs a fresh client token"
    assert len(tokens) == POLICY.reset_timeout_s // POLICY.busy_retry_s
    assert now <= DEADLINE
    # A check covers the retries within the freshness: the tags are read again every third retry.
    assert rechecks == [90.0, 180.0, 270.0, 360.0, 450.0, 540.0]


def test_busy_retry_is_never_scheduled_past_the_deadline() -> None:
    record = STATES["RESETTING starting"]()
    decision = transition(
        record, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS), DEADLINE - timedelta(seconds=5), POLICY
    )
    assert decision.record.active is not None
    assert decision.record.active.next_action_at == DEADLINE


@pytest.mark.parametrize(
    ("force", "expected", "fragment"),
    [
        (F.AUTO, S.FORCE_RESETTING, "a deployment was still in progress at the deadline"),
        (F.NEVER, S.FAILED, "force=never, so no forced reset"),
        (F.IMMEDIATELY, S.FAILED, "forced reset did not complete"),
    ],
)
def test_busy_at_the_deadline_escalates_or_fails(
    force: ForcePolicy, expected: WorkflowState, fragment: str
) -> None:
    record = apply(EMPTY, request(force=force), INSPECTED_OK)
    call = C.FORCE_RESET if force is F.IMMEDIATELY else C.RESET
    decision = transition(record, failed(call, E.DEPLOYMENT_IN_PROGRESS), DEADLINE, POLICY)
    wf = decision.record.current
    assert wf is not None and wf.state is expected
    assert fragment in decision.steps[-1][1].detail
    if expected is S.FORCE_RESETTING:
        assert decision.actions == (InspectGroup(GROUP, recheck=True),)  # the check of T0 is stale
    else:
        assert decision.actions == (notify(),)


def test_force_never_busy_until_the_deadline_fails_at_the_tick() -> None:
    record = apply(EMPTY, request(force=F.NEVER), INSPECTED_OK, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS))
    decision = transition(record, Tick(), DEADLINE, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.FAILED
    assert "a deployment was still in progress at the deadline; force=never" in decision.record.last.reason
    assert decision.actions == (notify(),)


# --- bounded retries: transient, unknown, bad request ---------------------------------------------------


@pytest.mark.parametrize("kind", list(RETRY_LIMIT))
@pytest.mark.parametrize("state", ["REQUESTED", "RESETTING starting", "RESETTING waiting", "DELETING"])
def test_retries_are_bounded_with_backoff_then_failed(state: str, kind: ErrorKind) -> None:
    limit = RETRY_LIMIT[kind]
    record = STATES[state]()
    wf = record.active
    assert wf is not None and wf.pending is not None
    call = wf.pending
    now = T0
    delays = []
    calls = 0
    for attempt in range(1, limit + 1):
        decision = transition(record, failed(call, kind), now, POLICY)
        record = decision.record
        if attempt == limit:
            break
        wf = record.active
        assert wf is not None and wf.attempts == attempt and wf.pending is call
        assert wf.next_action_at is not None
        assert wf.next_action_at == after_backoff(now, attempt)
        delays.append((wf.next_action_at - now).total_seconds())
        now = wf.next_action_at
        redrive = transition(record, Tick(), now, POLICY)
        if call in WRITES and stale(wf, now):
            # A write retried after the freshness: the tags are read first, then the same write.
            assert redrive.actions == (InspectGroup(GROUP, recheck=True),)
            redrive = transition(redrive.record, INSPECTED_OK, now, POLICY)
        assert len(redrive.actions) == 1
        calls += 1
        if isinstance(redrive.actions[0], StartReset):
            assert redrive.actions[0].client_token == token(False), "a transient retry reuses the token"
        record = redrive.record
    assert len(delays) == calls == limit - 1
    assert len(set(delays)) > 1
    last = record.last
    assert record.active is None and last is not None and last.state is S.FAILED
    assert f"{call} failed {limit} times; last error {kind.value}-code: went wrong" in last.reason
    assert decision.actions == (notify(),)


def test_backoff_is_exponential_capped_and_jittered_but_deterministic() -> None:
    assert [backoff_ceiling(n) for n in range(1, 9)] == [5, 10, 20, 40, 80, 160, 300, 300]
    record = STATES["RESETTING starting"]()
    for n in range(1, 9):
        decision = transition(record, failed(C.RESET, E.THROTTLED), T0, POLICY)
        assert decision == transition(record, failed(C.RESET, E.THROTTLED), T0, POLICY)
        record = decision.record
        assert record.active is not None
        assert record.active.next_action_at == after_backoff(T0, n)
    # Twenty workflows throttled at the same moment do not all come back at the same moment.
    retry_times = set()
    for n in range(20):
        throttled = apply(EMPTY, request(f"r-{n}"), INSPECTED_OK, failed(C.RESET, E.THROTTLED))
        assert throttled.active is not None
        retry_times.add(throttled.active.next_action_at)
    assert len(retry_times) > 1


def test_a_successful_answer_resets_the_attempt_counter() -> None:
    record = apply(STATES["RESETTING transient-retry"](), ResetAccepted("dep-1", forced=False), at=NOW)
    assert record.active is not None and record.active.attempts == 0


@pytest.mark.parametrize("kind", list(ErrorKind))
@pytest.mark.parametrize("force", list(ForcePolicy))
@pytest.mark.parametrize("deletion", [False, True])
def test_a_greengrass_that_always_fails_never_loops_forever(
    kind: ErrorKind, force: ForcePolicy, deletion: bool
) -> None:
    """Every call answered with the same error, time moving on: the workflow ends, with a reason."""
    record = apply(EMPTY, request(kind=RequestKind.DELETION if deletion else RequestKind.RESET, force=force))
    now = T0
    events = 0
    pending_answer: Event | None = None
    while record.active is not None:
        events += 1
        assert events < 5000, "the workflow does not terminate"
        if pending_answer is None:
            now += timedelta(seconds=60)
            decision = transition(record, Tick(), now, POLICY)
        else:
            decision = transition(record, pending_answer, now, POLICY)
            pending_answer = None
        record = decision.record
        for action in decision.actions:
            match action:
                case InspectGroup():
                    pending_answer = INSPECTED_OK  # so that the failures reach the write calls
                case StartReset(force=f):
                    pending_answer = failed(C.FORCE_RESET if f else C.RESET, kind)
                case PollDeployment():
                    pending_answer = failed(C.POLL, kind)
                case DeleteGroup():
                    pending_answer = failed(C.DELETE, kind)
    last = record.last
    assert last is not None and last.terminal and last.reason


# --- replays and the lease --------------------------------------------------------------------------------


def due_time(record: GroupRecord) -> datetime:
    """When the state's pending call is due: `DUE`, or the deadline for the states that wait for it."""
    assert record.active is not None and record.active.next_action_at is not None
    return max(DUE, record.active.next_action_at)


@pytest.mark.parametrize("state", ACTIVE)
def test_a_replayed_request_redrives_only_a_due_call(state: str) -> None:
    record = STATES[state]()
    due_at = due_time(record)
    replay = fail_deployment(FAILED_DEPLOYMENT) if state in OPENED_BY_A_FAILED_DEPLOYMENT else request("r1")
    early = transition(record, replay, NOW, POLICY)
    assert not early.changed and early.actions == () and early.steps == ()
    due = transition(record, replay, due_at, POLICY)
    assert due.steps == ()
    assert len(due.actions) == 1 and not isinstance(due.actions[0], Notify)
    assert due.record.active is not None and due.record.active.next_action_at == due_at + CALL_LEASE


@pytest.mark.parametrize("state", ACTIVE)
@pytest.mark.parametrize("later", [timedelta(0), CALL_LEASE + timedelta(seconds=1)])
def test_the_lease_a_second_transition_at_the_same_time_emits_nothing(state: str, later: timedelta) -> None:
    record = STATES[state]()
    at = due_time(record) + later
    first = transition(record, Tick(), at, POLICY)
    assert first.actions
    second = transition(first.record, Tick(), at, POLICY)
    assert second.actions == ()
    assert not second.changed
    # and once the lease has run out, the call is asked for again (a crashed worker's call is re-driven)
    third = transition(first.record, Tick(), at + CALL_LEASE, POLICY)
    assert third.actions


@pytest.mark.parametrize("state", [*WAITING, "FORCE_RESETTING waiting"])
def test_the_lease_holds_for_the_poll_at_the_deadline(state: str) -> None:
    first = transition(STATES[state](), Tick(), DEADLINE, POLICY)
    assert first.actions == (PollDeployment(GROUP, OWN),)
    second = transition(first.record, Tick(), DEADLINE, POLICY)
    assert second.actions == ()


def test_the_backoff_of_a_failed_poll_holds_past_the_deadline() -> None:
    record = transition(STATES["RESETTING waiting"](), Tick(), DEADLINE, POLICY).record
    record = apply(record, failed(C.POLL, E.THROTTLED), at=DEADLINE)
    decision = transition(record, Tick(), DEADLINE + timedelta(seconds=1), POLICY)
    assert decision.actions == ()


@pytest.mark.parametrize("state", list(STATES))
def test_every_event_replayed_at_once_is_a_no_op(state: str) -> None:
    """Duplicated delivery: after any event, the same event again at the same moment changes nothing,
    unless it is a request/answer that legitimately moved on (checked by the matrix)."""
    record = STATES[state]()
    for name in (
        "request new id",
        "request deletion",
        "request force=never",
        "NewDeployment Failure",
        "reset deferred",
        "tick due",
        "tick at deadline",
    ):
        event, now = EVENTS[name]
        first = transition(record, event, now, POLICY)
        again = transition(first.record, event, now, POLICY)
        assert not again.changed, name
        assert again.actions == () and again.steps == (), name


# --- teardown: what a deleted group owned, one resource at a time ------------------------------------------

THINGS_POLICY = WorkflowPolicy(things_teardown=True)
"""A deployment whose stack grants the AWS IoT calls: `teardown=things` is allowed."""


def apply_under(
    policy: WorkflowPolicy, record: GroupRecord, *events: Event, at: datetime = T0
) -> GroupRecord:
    for event in events:
        record = transition(record, event, at, policy).record
    return record


def test_a_teardown_deletion_collects_before_delete_group_then_tears_down_each_resource_in_order() -> None:
    record = apply(EMPTY, _definitions, *_waiting)
    decisions = []
    answers: list[Event] = [
        status(OWN, DeploymentStatus.SUCCESS),
        TeardownCollected((LOGGERS, CERTIFICATE, FUNCTIONS, CORE)),
        GroupDeleted(),
        ResourceTornDown(CORE.arn, ResourceOutcome.DELETED, "deleted"),
        ResourceTornDown(FUNCTIONS.arn, ResourceOutcome.KEPT, "used by group g-2"),
        ResourceTornDown(LOGGERS.arn, ResourceOutcome.ALREADY_GONE, "not found"),
    ]
    for answer in answers:
        decision = transition(record, answer, NOW, POLICY)
        decisions.append(decision)
        record = decision.record
    assert [d.actions for d in decisions] == [
        (CollectTeardown(GROUP, Teardown.DEFINITIONS),),  # reads only: no re-check needed
        (DeleteGroup(GROUP),),
        (TearDownResource(GROUP, CORE),),
        (TearDownResource(GROUP, FUNCTIONS),),
        (TearDownResource(GROUP, LOGGERS),),
        (),
    ]
    last = record.last
    assert record.active is None and last is not None and last.state is S.DELETED
    assert last.reason == (
        "group deleted; teardown=definitions: 1 deleted, 1 already-gone, 1 kept; "
        "kept: FunctionDefinition f-1: used by group g-2"
    )
    assert [(r.resource_id, r.outcome) for r in last.resources] == [
        ("c-1", ResourceOutcome.DELETED),
        ("f-1", ResourceOutcome.KEPT),
        ("l-1", ResourceOutcome.ALREADY_GONE),
    ]
    assert [s.kind for d in decisions for _, s in d.steps] == [
        K.DEPLOYMENT_SUCCEEDED,
        K.DELETE_STARTED,
        K.TEARDOWN_COLLECTED,
        K.TEARDOWN_STARTED,
        K.RESOURCE_TORN_DOWN,
        K.RESOURCE_TORN_DOWN,
        K.RESOURCE_TORN_DOWN,
        K.FINISHED,
    ]
    torn = [s for d in decisions for _, s in d.steps if s.kind is K.RESOURCE_TORN_DOWN]
    assert all(s.state is S.TEARING_DOWN for s in torn)
    assert torn[1].detail == f"FunctionDefinition f-1 kept: used by group g-2 ({FUNCTIONS.arn})"


def test_a_slow_collection_is_followed_by_a_re_check_before_delete_group() -> None:
    record = STATES["DELETING collecting"]()
    later = T0 + FRESH_FOR + timedelta(seconds=1)
    decision = transition(record, _two, later, POLICY)
    assert decision.actions == (InspectGroup(GROUP, recheck=True),)
    wf = decision.record.active
    assert wf is not None and (wf.pending, wf.resume, wf.delete_issued) == (C.RECHECK, C.DELETE, False)
    # A protection tag added while the resources were read still stops the deletion: nothing is torn down.
    stopped = transition(decision.record, PROTECTED, later, POLICY)
    last = stopped.record.last
    assert last is not None and last.state is S.REJECTED and "stopped before DeleteGroup" in last.reason
    assert stopped.actions == ()


def test_a_collection_that_finds_nothing_ends_deleted_with_delete_group() -> None:
    record = apply(STATES["DELETING collecting"](), TeardownCollected(()), at=NOW)
    wf = record.active
    assert wf is not None and wf.collected and wf.resources == () and wf.pending is C.DELETE
    decision = transition(record, GroupDeleted(), NOW, POLICY)
    last = decision.record.last
    assert last is not None and last.state is S.DELETED
    assert last.reason == "group deleted; teardown=definitions: nothing else to delete"
    assert decision.actions == ()


@pytest.mark.parametrize("kind", list(RETRY_LIMIT))
def test_a_resource_that_keeps_failing_fails_alone_and_the_next_still_gets_its_turn(kind: ErrorKind) -> None:
    record = STATES["TEARING_DOWN"]()
    now = NOW
    asked = 0
    for _ in range(RETRY_LIMIT[kind] - 1):
        record = apply(record, failed(C.TEAR_DOWN, kind), at=now)
        assert record.active is not None and record.active.next_action_at is not None
        now = record.active.next_action_at
        redrive = transition(record, Tick(), now, POLICY)
        assert redrive.actions == (TearDownResource(GROUP, FUNCTIONS),)
        asked += 1
        record = redrive.record
    decision = transition(record, failed(C.TEAR_DOWN, kind), now, POLICY)
    assert decision.actions == (TearDownResource(GROUP, LOGGERS),)  # the group is deleted: go on
    wf = decision.record.active
    assert wf is not None and wf.state is S.TEARING_DOWN and wf.attempts == 0
    failed_one = wf.resources[0]
    assert failed_one.outcome is ResourceOutcome.FAILED
    assert f"tear-down failed {RETRY_LIMIT[kind]} times; last error {kind.value}-code" in failed_one.detail
    assert asked == RETRY_LIMIT[kind] - 1

    done = transition(
        decision.record, ResourceTornDown(LOGGERS.arn, ResourceOutcome.DELETED, "deleted"), now, POLICY
    )
    last = done.record.last
    assert last is not None and last.state is S.FAILED
    assert last.reason.startswith(
        "group deleted, but the teardown is incomplete: 1 deleted, 1 failed; not deleted: "
    )
    assert done.actions == (Notify(GROUP, WF1, S.FAILED, last.reason),)


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_a_teardown_whose_every_call_fails_still_ends_with_every_resource_answered(kind: ErrorKind) -> None:
    """COLLECT and DeleteGroup work; every TEAR_DOWN fails with the same error, time moving on."""
    record = STATES["TEARING_DOWN"]()
    now = NOW
    calls: list[Resource] = []
    while record.active is not None:
        assert len(calls) < 100, "the teardown does not terminate"
        decision = transition(record, failed(C.TEAR_DOWN, kind), now, POLICY)
        record = decision.record
        if record.active is not None and not decision.actions:
            assert record.active.next_action_at is not None
            now = record.active.next_action_at
            decision = transition(record, Tick(), now, POLICY)
            record = decision.record
        calls.extend(a.resource for a in decision.actions if isinstance(a, TearDownResource))
    last = record.last
    assert last is not None and all(r.outcome is not None for r in last.resources)
    if kind is E.NOT_FOUND:
        assert last.state is S.DELETED
        assert {r.outcome for r in last.resources} == {ResourceOutcome.ALREADY_GONE}
    else:
        assert last.state is S.FAILED and "the teardown is incomplete: 2 failed" in last.reason
    assert set(calls) <= {FUNCTIONS, LOGGERS}


def test_an_answer_about_a_resource_whose_turn_has_not_come_changes_nothing() -> None:
    record = STATES["TEARING_DOWN"]()
    early = ResourceTornDown(LOGGERS.arn, ResourceOutcome.DELETED, "deleted")
    decision = transition(record, early, NOW, POLICY)
    assert not decision.changed and decision.actions == () and decision.steps == ()
    # The same answer for the resource whose turn has passed (a re-driven call's twin), after it moved on.
    moved = apply(record, TORN_DOWN, at=NOW)
    again = transition(moved, TORN_DOWN, NOW, POLICY)
    assert not again.changed and again.actions == ()


@pytest.mark.parametrize(
    ("policy", "teardown", "level", "kept"),
    [
        (POLICY, Teardown.DEFINITIONS, Teardown.DEFINITIONS, (CORE, FUNCTIONS)),
        (THINGS_POLICY, Teardown.DEFINITIONS, Teardown.DEFINITIONS, (CORE, FUNCTIONS)),
        (THINGS_POLICY, Teardown.THINGS, Teardown.THINGS, (CORE, FUNCTIONS, CERTIFICATE, THING)),
        # No teardown in the request: the policy's default.
        (
            WorkflowPolicy(teardown_default=Teardown.DEFINITIONS),
            None,
            Teardown.DEFINITIONS,
            (CORE, FUNCTIONS),
        ),
        (
            WorkflowPolicy(teardown_default=Teardown.THINGS, things_teardown=True),
            None,
            Teardown.THINGS,
            (CORE, FUNCTIONS, CERTIFICATE, THING),
        ),
    ],
)
def test_the_teardown_level_decides_what_is_collected_and_torn_down(
    policy: WorkflowPolicy, teardown: Teardown | None, level: Teardown, kept: tuple[Resource, ...]
) -> None:
    """Definitions first, then the core's certificate (detached from the thing), then the thing; the
    certificate and thing only with teardown=things."""
    deletion = request(kind=RequestKind.DELETION, teardown=teardown)
    record = apply_under(policy, EMPTY, deletion, *_waiting)
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), T0, policy)
    assert decision.actions == (CollectTeardown(GROUP, level),)
    record = apply_under(policy, decision.record, COLLECTED, GroupDeleted())
    asked: list[Resource] = []
    while record.active is not None:
        wf = record.active
        assert wf.teardown is level
        (action,) = transition(record, Tick(), DUE + timedelta(days=len(asked)), policy).actions
        assert isinstance(action, TearDownResource)
        asked.append(action.resource)
        record = apply_under(
            policy, record, ResourceTornDown(action.resource.arn, ResourceOutcome.DELETED, "ok")
        )
    assert tuple(asked) == kept
    assert record.last is not None and record.last.state is S.DELETED
    assert record.last.reason == f"group deleted; teardown={level}: {len(kept)} deleted"


@pytest.mark.parametrize("policy", [POLICY, WorkflowPolicy(teardown_default=Teardown.DEFINITIONS)])
def test_teardown_group_deletes_the_group_only(policy: WorkflowPolicy) -> None:
    record = apply_under(
        policy, EMPTY, request(kind=RequestKind.DELETION, teardown=Teardown.GROUP), *_waiting
    )
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), T0, policy)
    assert decision.actions == (DeleteGroup(GROUP),)
    done = transition(decision.record, GroupDeleted(), T0, policy)
    assert done.record.last is not None and done.record.last.reason == "group deleted"
    assert not done.record.last.collected


def test_teardown_things_is_accepted_where_it_is_enabled() -> None:
    decision = transition(EMPTY, EVENTS["request deletion teardown=things"][0], NOW, THINGS_POLICY)
    wf = decision.record.active
    assert wf is not None and wf.request.teardown is Teardown.THINGS
    assert decision.actions == (InspectGroup(GROUP),)


def test_a_teardown_accepted_before_the_stack_disabled_it_goes_no_further_than_allowed_now() -> None:
    """teardown=things accepted while the stack granted the IoT calls; the stack changed since: the
    deletion removes what it may now (the definitions), not more."""
    things = request(kind=RequestKind.DELETION, teardown=Teardown.THINGS)
    record = apply_under(THINGS_POLICY, EMPTY, things, *_waiting)
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), T0, POLICY)
    assert decision.actions == (CollectTeardown(GROUP, Teardown.DEFINITIONS),)
    collected = apply(decision.record, COLLECTED)
    assert collected.active is not None and collected.active.resources == (CORE, FUNCTIONS)


@pytest.mark.parametrize(
    ("first", "second", "collects"),
    [
        (Teardown.DEFINITIONS, None, None),  # None: the default, group
        (Teardown.DEFINITIONS, Teardown.GROUP, None),
        (None, Teardown.DEFINITIONS, None),
        (Teardown.DEFINITIONS, Teardown.DEFINITIONS, Teardown.DEFINITIONS),
    ],
)
def test_two_deletions_merged_before_the_reset_completes_get_the_smaller_teardown(
    first: Teardown | None, second: Teardown | None, collects: Teardown | None
) -> None:
    record = apply(EMPTY, request(kind=RequestKind.DELETION, teardown=first), *_waiting)
    record = apply(record, request("r-2", RequestKind.DELETION, teardown=second, at=NOW), at=NOW)
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), NOW, POLICY)
    expected = CollectTeardown(GROUP, collects) if collects else DeleteGroup(GROUP)
    assert decision.actions == (expected,)


def test_a_deletion_joining_a_reset_brings_its_own_teardown() -> None:
    record = apply(
        STATES["RESETTING waiting"](),
        request("r-del", RequestKind.DELETION, teardown=Teardown.DEFINITIONS, at=NOW),
        at=NOW,
    )
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), NOW, POLICY)
    assert decision.actions == (CollectTeardown(GROUP, Teardown.DEFINITIONS),)


@pytest.mark.parametrize("state", ["DELETING collecting"])
def test_a_group_only_deletion_merged_once_the_teardown_is_decided_deletes_the_group_only(state: str) -> None:
    """Two deletions merging get the smaller teardown (deleting more than someone asked for cannot be
    undone), also once the deletion has decided its teardown (COLLECT under way, or resources collected,
    DeleteGroup not yet issued): the workflow's level and resources follow the request's."""
    record = apply(STATES[state](), request("r-2", RequestKind.DELETION, at=NOW), at=NOW)
    wf = record.active
    assert wf is not None and wf.request.teardown is Teardown.GROUP  # the merge itself is recorded
    if state == "DELETING collecting":
        record = apply(record, _two, at=NOW)
    decision = transition(record, GroupDeleted(), NOW, POLICY)
    assert not any(isinstance(a, TearDownResource) for a in decision.actions), decision.actions
    last = decision.record.last
    assert last is not None and last.state is S.DELETED and "teardown=definitions" not in last.reason


def test_a_group_only_deletion_after_delete_group_was_issued_is_answered_busy() -> None:
    """DeleteGroup issued with a teardown to follow: too late to remove less; the request says so."""
    record = STATES["DELETING collected"]()
    assert record.active is not None and record.active.delete_issued
    decision = transition(record, request("r-2", RequestKind.DELETION, at=NOW), NOW, POLICY)
    (answered,) = decision.finished
    assert (
        answered.state is S.REJECTED
        and "already deleting the group with teardown=definitions" in answered.reason
    )
    assert decision.record.active == record.active


def test_a_dry_run_deletion_plans_its_teardown_from_what_it_collected() -> None:
    record = STATES["REQUESTED dry-run deletion collecting"]()
    wf = record.active
    assert wf is not None and wf.request.dry_run
    nothing = transition(record, TeardownCollected(()), NOW, POLICY)
    last = nothing.record.last
    assert last is not None and last.state is S.PLANNED
    assert last.plan[-2:] == (
        "re-check the protection tag if the last check is older than 60s, then DeleteGroup",
        "teardown=definitions: nothing else to delete",
    )
    assert nothing.actions == ()
    # teardown=group (the default): planned at the inspection, nothing collected.
    plain = apply(EMPTY, request(kind=RequestKind.DELETION, dry_run=True), INSPECTED_OK)
    assert plain.last is not None and plain.last.state is S.PLANNED and not plain.last.collected
    assert plain.last.plan[-1].endswith("DeleteGroup")


def test_a_dry_run_with_teardown_things_under_the_things_policy_plans_the_certificate_and_thing() -> None:
    dry = request(kind=RequestKind.DELETION, dry_run=True, teardown=Teardown.THINGS)
    record = apply_under(THINGS_POLICY, EMPTY, dry, INSPECTED_OK, COLLECTED)
    last = record.last
    assert last is not None and last.state is S.PLANNED
    assert last.plan[-4:] == (
        f"delete CoreDefinition c-1 ({CORE.arn})",
        "keep FunctionDefinition f-1: used by group g-2",
        f"delete Certificate cert-1 ({CERTIFICATE.arn})",
        f"delete Thing core-1 ({THING.arn})",
    )


def test_the_teardown_after_a_lost_delete_answer_starts_from_the_re_check() -> None:
    """DeleteGroup's answer was lost, and the retry's re-check finds the group missing: the group was
    deleted by this workflow, so what it owned is torn down (never GONE, never skipped)."""
    record = STATES["DELETING collected issued recheck"]()
    decision = transition(record, GroupInspected(exists=False), NOW, POLICY)
    assert decision.actions == (TearDownResource(GROUP, FUNCTIONS),)
    wf = decision.record.active
    assert wf is not None and wf.state is S.TEARING_DOWN and wf.resume is None
