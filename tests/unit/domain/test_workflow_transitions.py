"""Every transition of the reset workflow, table-driven.

The heart of this file is a matrix: every workflow state (built by driving the pure `transition` itself,
so the states are the real ones) x every kind of event. Each cell is looked up in `TABLE`; a cell that is
not in the table must be a no-op (nothing saved, no step, no action). So every transition the workflow
makes is written down here with its resulting state, reason, steps and actions, and every other
combination is asserted to change nothing.

All states are built at `T0`; the events of the matrix arrive at `NOW` (one second later: leases held,
nothing due, deadlines far), except the three ticks: at `NOW`, at `DUE` (every lease and retry time has
passed, the deadline has not) and at `DEADLINE` (exactly the reset deadline, `reset_timeout_s` = 600).

Rules that need several events or other times (deadline polls, retry limits, the remediation cap, dry-run
plans, the lease) have their own tests after the matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from unittest.mock import ANY

import pytest

from gg_reset.contracts import DeploymentStatus, DeploymentType, ForcePolicy
from gg_reset.domain.actions import (
    Action,
    DeleteGroup,
    InspectGroup,
    Notify,
    PollDeployment,
    StartReset,
)
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import (
    CallFailed,
    DeploymentStatusReported,
    Event,
    GroupDeleted,
    GroupInspected,
    InvalidRequestReceived,
    RequestReceived,
    ResetAccepted,
    Tick,
)
from gg_reset.domain.model import (
    GroupRecord,
    PendingCall,
    Request,
    RequestKind,
    StepKind,
    WorkflowState,
)
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import (
    CALL_LEASE,
    NOT_DEPLOYED_REASON,
    Decision,
    remediation_request_id,
    transition,
    workflow_id_for,
)
from support.fakes import EPOCH

POLICY = WorkflowPolicy()
GROUP = "g-1"
T0 = EPOCH
NOW = T0 + timedelta(seconds=1)
DUE = T0 + CALL_LEASE + timedelta(seconds=10)
DEADLINE = T0 + timedelta(seconds=POLICY.reset_timeout_s)
WF1 = workflow_id_for("r1", T0)
"""Id of the workflow every active state was opened with (request `r1` at `T0`)."""
OWN = "dep-own"
"""The reset deployment the waiting states wait for."""

S = WorkflowState
K = StepKind
E = ErrorKind
C = PendingCall


# --- building blocks -----------------------------------------------------------------------------------


def request(
    request_id: str = "r1",
    kind: RequestKind = RequestKind.RESET,
    *,
    force: ForcePolicy = ForcePolicy.AUTO,
    dry_run: bool = False,
    at: datetime = T0,
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
        )
    )


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


INSPECTED_OK = GroupInspected(exists=True, tags={"team": "iot", "gg-reset:protect": "false"})
EMPTY = GroupRecord(group_id=GROUP)


def apply(record: GroupRecord, *events: Event, at: datetime = T0) -> GroupRecord:
    for event in events:
        record = transition(record, event, at, POLICY).record
    return record


def token(force: bool, generation: int = 0) -> str:
    return f"{WF1}-{'f' if force else 'n'}{generation}"


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


# --- the states ----------------------------------------------------------------------------------------

_waiting = (INSPECTED_OK, ResetAccepted(OWN, forced=False))
STATES: dict[str, Callable[[], GroupRecord]] = {
    "no workflow": lambda: EMPTY,
    "REQUESTED": lambda: apply(EMPTY, request()),
    "REQUESTED deletion": lambda: apply(EMPTY, request(kind=RequestKind.DELETION)),
    "REQUESTED dry-run": lambda: apply(EMPTY, request(dry_run=True)),
    "REQUESTED force=immediately": lambda: apply(EMPTY, request(force=ForcePolicy.IMMEDIATELY)),
    "RESETTING starting": lambda: apply(EMPTY, request(), INSPECTED_OK),
    "RESETTING starting deletion": lambda: apply(EMPTY, request(kind=RequestKind.DELETION), INSPECTED_OK),
    "RESETTING waiting": lambda: apply(EMPTY, request(), *_waiting),
    "RESETTING waiting force=never": lambda: apply(EMPTY, request(force=ForcePolicy.NEVER), *_waiting),
    "RESETTING waiting deletion": lambda: apply(EMPTY, request(kind=RequestKind.DELETION), *_waiting),
    "RESETTING busy-retry": lambda: apply(
        EMPTY, request(), INSPECTED_OK, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS)
    ),
    "RESETTING transient-retry": lambda: apply(
        EMPTY, request(), INSPECTED_OK, failed(C.RESET, E.SERVER_ERROR)
    ),
    "FORCE_RESETTING starting": lambda: apply(EMPTY, request(force=ForcePolicy.IMMEDIATELY), INSPECTED_OK),
    "FORCE_RESETTING waiting": lambda: apply(
        EMPTY, request(force=ForcePolicy.IMMEDIATELY), INSPECTED_OK, ResetAccepted(OWN, forced=True)
    ),
    "FORCE_RESETTING recheck": lambda: apply(
        EMPTY, request(), *_waiting, status(OWN, DeploymentStatus.FAILURE)
    ),
    "DELETING recheck": lambda: apply(
        EMPTY, request(kind=RequestKind.DELETION), *_waiting, status(OWN, DeploymentStatus.SUCCESS)
    ),
    "DELETING": lambda: apply(
        EMPTY,
        request(kind=RequestKind.DELETION),
        *_waiting,
        status(OWN, DeploymentStatus.SUCCESS),
        INSPECTED_OK,
    ),
    "DELETING transient-retry": lambda: apply(
        EMPTY,
        request(kind=RequestKind.DELETION),
        *_waiting,
        status(OWN, DeploymentStatus.SUCCESS),
        INSPECTED_OK,
        failed(C.DELETE, E.SERVER_ERROR),
    ),
    "after RESET": lambda: apply(EMPTY, request(), *_waiting, status(OWN, DeploymentStatus.SUCCESS)),
    "after DELETED": lambda: apply(
        EMPTY,
        request(kind=RequestKind.DELETION),
        *_waiting,
        status(OWN, DeploymentStatus.SUCCESS),
        INSPECTED_OK,
        GroupDeleted(),
    ),
    "after GONE": lambda: apply(EMPTY, request(), GroupInspected(exists=False)),
    "after REJECTED": lambda: apply(EMPTY, request(), GroupInspected(True, {"gg-reset:protect": "true"})),
    "after PLANNED": lambda: apply(EMPTY, request(dry_run=True), INSPECTED_OK),
    "after FAILED": lambda: apply(EMPTY, request(), failed(C.INSPECT, E.BAD_REQUEST)),
}
IDLE = [name for name in STATES if name == "no workflow" or name.startswith("after ")]
ACTIVE = [name for name in STATES if name not in IDLE]
REQUESTED_STATES = [name for name in ACTIVE if name.startswith("REQUESTED")]
WAITING = ["RESETTING waiting", "RESETTING waiting force=never", "RESETTING waiting deletion"]
DELETING = ["DELETING", "DELETING transient-retry"]
RECHECKING = ["FORCE_RESETTING recheck", "DELETING recheck"]
RESET_PENDING = [
    "RESETTING starting",
    "RESETTING starting deletion",
    "RESETTING busy-retry",
    "RESETTING transient-retry",
]


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
    last: WorkflowState | None = None


_lease = T0 + CALL_LEASE
_poll = T0 + timedelta(seconds=POLICY.poll_interval_s)
_del = RequestKind.DELETION
SHAPES: dict[str, Shape] = {
    "no workflow": Shape(None),
    "REQUESTED": Shape(S.REQUESTED, C.INSPECT, _lease),
    "REQUESTED deletion": Shape(S.REQUESTED, C.INSPECT, _lease, kind=_del),
    "REQUESTED dry-run": Shape(S.REQUESTED, C.INSPECT, _lease),
    "REQUESTED force=immediately": Shape(S.REQUESTED, C.INSPECT, _lease),
    "RESETTING starting": Shape(S.RESETTING, C.RESET, _lease, DEADLINE),
    "RESETTING starting deletion": Shape(S.RESETTING, C.RESET, _lease, DEADLINE, kind=_del),
    "RESETTING waiting": Shape(S.RESETTING, C.POLL, _poll, DEADLINE, deployment_id=OWN),
    "RESETTING waiting force=never": Shape(S.RESETTING, C.POLL, _poll, DEADLINE, deployment_id=OWN),
    "RESETTING waiting deletion": Shape(S.RESETTING, C.POLL, _poll, DEADLINE, kind=_del, deployment_id=OWN),
    "RESETTING busy-retry": Shape(
        S.RESETTING, C.RESET, T0 + timedelta(seconds=POLICY.busy_retry_s), DEADLINE, token_generation=1
    ),
    "RESETTING transient-retry": Shape(
        S.RESETTING, C.RESET, after_backoff(T0, 1), DEADLINE, attempts=1
    ),
    "FORCE_RESETTING starting": Shape(S.FORCE_RESETTING, C.FORCE_RESET, _lease, DEADLINE),
    "FORCE_RESETTING waiting": Shape(S.FORCE_RESETTING, C.POLL, _poll, DEADLINE, deployment_id=OWN),
    "FORCE_RESETTING recheck": Shape(S.FORCE_RESETTING, C.RECHECK, _lease, DEADLINE),
    "DELETING recheck": Shape(S.DELETING, C.RECHECK, _lease, kind=_del),
    "DELETING": Shape(S.DELETING, C.DELETE, _lease, kind=_del),
    "DELETING transient-retry": Shape(
        S.DELETING, C.DELETE, after_backoff(T0, 1), kind=_del, attempts=1,
    ),
    "after RESET": Shape(None, last=S.RESET),
    "after DELETED": Shape(None, last=S.DELETED),
    "after GONE": Shape(None, last=S.GONE),
    "after REJECTED": Shape(None, last=S.REJECTED),
    "after PLANNED": Shape(None, last=S.PLANNED),
    "after FAILED": Shape(None, last=S.FAILED),
}  # fmt: skip


@pytest.mark.parametrize("name", list(STATES))
def test_state_builders_give_the_documented_states(name: str) -> None:
    record = STATES[name]()
    shape = SHAPES[name]
    wf = record.active
    if shape.state is None:
        assert wf is None
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
        record.last.state if record.last else None,
    )
    assert actual == shape
    assert wf.workflow_id == WF1


# --- the events ----------------------------------------------------------------------------------------

EVENTS: dict[str, tuple[Event, datetime]] = {
    "request new id": (request("r-new", at=NOW), NOW),
    "request replayed id": (request("r1", at=NOW), NOW),
    "request deletion": (request("r-del", RequestKind.DELETION, at=NOW), NOW),
    "request dry-run": (request("r-dry", dry_run=True, at=NOW), NOW),
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
    "NewDeployment Failure": (status("dep-x", DeploymentStatus.FAILURE, DeploymentType.NEW), NOW),
    "Redeployment Failure": (status("dep-x", DeploymentStatus.FAILURE, DeploymentType.REDEPLOYMENT), NOW),
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
    "inspected protected": (GroupInspected(exists=True, tags={"gg-reset:protect": "TRUE"}), NOW),
    "inspected ok": (INSPECTED_OK, NOW),
    "reset accepted": (ResetAccepted("dep-new", forced=False), NOW),
    "force reset accepted": (ResetAccepted("dep-new", forced=True), NOW),
    "group deleted": (GroupDeleted(), NOW),
    **{
        f"{call.value} failed {kind.value}": (failed(call, kind), NOW)
        for call in PendingCall
        for kind in ErrorKind
    },
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
    bug: str | None = None
    noop: bool = False


NOOP = Expect(noop=True)


def active_is(**fields: object) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        wf = decision.record.active
        assert wf is not None
        for name, value in fields.items():
            assert getattr(wf, name) == value, name

    return check


def step_detail(fragment: str, index: int = -1) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        assert fragment in decision.steps[index][1].detail

    return check


def opened(request_id: str, kind: RequestKind, *, dry_run: bool = False) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        wf = decision.record.active
        assert wf is not None
        assert wf.workflow_id == workflow_id_for(request_id, NOW)
        assert wf.request_ids == (request_id,)
        assert (wf.kind, wf.request.dry_run, wf.pending) == (kind, dry_run, C.INSPECT)
        assert request_id in decision.record.recent_request_ids
        assert decision.record.last == before.last

    return check


def merged(request_id: str, kind: RequestKind) -> Check:
    def check(before: GroupRecord, decision: Decision) -> None:
        wf, was = decision.record.active, before.active
        assert wf is not None and was is not None
        assert wf.workflow_id == was.workflow_id
        assert wf.request_ids == (*was.request_ids, request_id)
        assert wf.kind is kind
        assert (wf.pending, wf.next_action_at, wf.deadline_at) == (
            was.pending,
            was.next_action_at,
            was.deadline_at,
        )

    return check


def kept_active(before: GroupRecord, decision: Decision) -> None:
    """A rejected request must leave the active workflow alone."""
    assert before.active is not None
    assert decision.record.active is not None
    assert decision.record.active.workflow_id == before.active.workflow_id
    assert decision.record.active.state is before.active.state


def remediation_counted(before: GroupRecord, decision: Decision) -> None:
    wf = decision.record.active
    assert wf is not None and wf.request.trigger_deployment_id == "dep-x"
    assert decision.record.remediations == (NOW,)


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


def build_table() -> dict[tuple[str, str], Expect]:
    table: dict[tuple[str, str], Expect] = {}
    records = {name: build() for name, build in STATES.items()}
    active_wf = {name: records[name].active for name in ACTIVE}

    # -- requests and remediation triggers on a group without an active workflow
    remediation_id = remediation_request_id("dep-x")
    for s in IDLE:
        new = {
            "request new id": ("r-new", RequestKind.RESET, False),
            "request deletion": ("r-del", RequestKind.DELETION, False),
            "request dry-run": ("r-dry", RequestKind.RESET, True),
            "NewDeployment Failure": (remediation_id, RequestKind.REMEDIATION, False),
            "Redeployment Failure": (remediation_id, RequestKind.REMEDIATION, False),
        }
        if s == "no workflow":
            new["request replayed id"] = ("r1", RequestKind.RESET, False)
        for event, (rid, kind, dry) in new.items():
            table[s, event] = Expect(
                active=S.REQUESTED,
                steps=(K.REQUESTED,),
                actions=(InspectGroup(GROUP),),
                checks=(opened(rid, kind, dry_run=dry), leased(NOW)),
            )
        table[s, "invalid request"] = Expect(
            finished=S.REJECTED,
            reason="invalid request: detail.force: Input should be 'auto'",
            steps=(K.REQUESTED, K.FINISHED),
        )
    for event in ("NewDeployment Failure", "Redeployment Failure"):
        for s in IDLE:
            table[s, event] = Expect(
                active=S.REQUESTED,
                steps=(K.REQUESTED,),
                actions=(InspectGroup(GROUP),),
                checks=(*table[s, event].checks, remediation_counted),
            )

    # -- requests while a workflow is active: join it (one active workflow per group)
    for s in ACTIVE:
        wf = active_wf[s]
        assert wf is not None
        state, dry = wf.state, wf.request.dry_run
        busy = Expect(
            active=state,
            finished=S.REJECTED,
            reason="group busy",
            steps=(K.REQUESTED, K.FINISHED),
            checks=(kept_active,),
        )
        table[s, "invalid request"] = Expect(
            active=state,
            finished=S.REJECTED,
            reason="invalid request",
            steps=(K.REQUESTED, K.FINISHED),
            checks=(kept_active,),
        )
        if dry:
            for event in (
                "request new id",
                "request deletion",
                "NewDeployment Failure",
                "Redeployment Failure",
            ):
                table[s, event] = busy
            table[s, "request dry-run"] = Expect(
                active=state, steps=(K.MERGED,), checks=(merged("r-dry", wf.kind),)
            )
            continue
        table[s, "request dry-run"] = busy
        table[s, "request new id"] = Expect(
            active=state,
            steps=(K.MERGED,),
            checks=(merged("r-new", wf.kind), step_detail("reset request r-new joined the active")),
        )
        for event in ("NewDeployment Failure", "Redeployment Failure"):
            table[s, event] = Expect(
                active=state,
                steps=(K.MERGED,),
                checks=(merged(remediation_id, wf.kind), step_detail("remediation request")),
            )
        if wf.kind is RequestKind.DELETION:
            table[s, "request deletion"] = Expect(
                active=state, steps=(K.MERGED,), checks=(merged("r-del", RequestKind.DELETION),)
            )
        else:
            table[s, "request deletion"] = Expect(
                active=state,
                steps=(K.UPGRADED,),
                checks=(
                    merged("r-del", RequestKind.DELETION),
                    step_detail("the group is deleted once the reset completes"),
                ),
            )

    # -- the status of our own reset deployment
    for source in ("event", "poll"):
        for s in ["RESETTING waiting", "RESETTING waiting force=never"]:
            table[s, f"own Success {source}"] = Expect(
                finished=S.RESET,
                reason=f"reset deployment {OWN} succeeded",
                steps=(K.DEPLOYMENT_SUCCEEDED, K.FINISHED),
                checks=(step_detail(f"({source})", 0),),
            )
        table["RESETTING waiting deletion", f"own Success {source}"] = Expect(
            active=S.DELETING,
            steps=(K.DEPLOYMENT_SUCCEEDED, K.DELETE_STARTED),
            actions=(InspectGroup(GROUP, recheck=True),),
            checks=(active_is(pending=C.RECHECK, deadline_at=None, attempts=0), leased(NOW)),
        )
        table["FORCE_RESETTING waiting", f"own Success {source}"] = Expect(
            finished=S.RESET,
            reason=f"forced reset deployment {OWN} succeeded",
            steps=(K.DEPLOYMENT_SUCCEEDED, K.FINISHED),
        )
        escalated = Expect(
            active=S.FORCE_RESETTING,
            steps=(K.DEPLOYMENT_FAILED, K.ESCALATED),
            actions=(InspectGroup(GROUP, recheck=True),),
            checks=(
                active_is(
                    pending=C.RECHECK,
                    deployment_id=None,
                    forced=True,
                    deadline_at=NOW + timedelta(seconds=POLICY.force_timeout_s),
                ),
                step_detail(f"reset deployment {OWN} failed: core refused", 0),
                step_detail("escalating to ResetDeployments(Force=True)"),
                leased(NOW),
            ),
        )
        table["RESETTING waiting", f"own Failure {source}"] = escalated
        table["RESETTING waiting deletion", f"own Failure {source}"] = escalated
        table["RESETTING waiting force=never", f"own Failure {source}"] = Expect(
            finished=S.FAILED,
            reason=f"reset deployment {OWN} failed: core refused; force=never, so no forced reset",
            steps=(K.DEPLOYMENT_FAILED, K.FINISHED),
            actions=(notify(),),
        )
        table["FORCE_RESETTING waiting", f"own Failure {source}"] = Expect(
            finished=S.FAILED,
            reason=f"forced reset did not complete: reset deployment {OWN} failed: core refused",
            steps=(K.DEPLOYMENT_FAILED, K.FINISHED),
            actions=(notify(),),
        )
        for s in [*DELETING, "DELETING recheck"]:
            # Late/duplicated news of the reset that already completed must change nothing.
            table[s, f"own Success {source}"] = Expect(noop=True)
            table[s, f"own Failure {source}"] = Expect(noop=True)
    for s in [*WAITING, "FORCE_RESETTING waiting"]:
        # Polled before the deadline and still running: poll again later, never later than the deadline.
        table[s, "own InProgress poll"] = Expect(
            active=active_wf[s].state,  # type: ignore[union-attr]
            checks=(
                active_is(pending=C.POLL, next_action_at=NOW + timedelta(seconds=POLICY.poll_interval_s)),
            ),
        )
    for s in [*DELETING, "DELETING recheck"]:
        table[s, "own InProgress poll"] = Expect(noop=True)

    # -- answers to the re-check before a forced reset or a deletion
    for s in RECHECKING:
        write = "DeleteGroup" if s.startswith("DELETING") else "ResetDeployments(Force=True)"
        table[s, "inspected missing"] = Expect(
            finished=S.GONE,
            reason=f"group no longer exists (found missing before {write})",
            steps=(K.FINISHED,),
        )
        table[s, "inspected protected"] = Expect(
            finished=S.REJECTED,
            reason="group was protected by tag gg-reset:protect=true while the workflow ran; "
            f"stopped before {write}",
            steps=(K.FINISHED,),
        )
    table["DELETING recheck", "inspected ok"] = Expect(
        active=S.DELETING,
        steps=(K.INSPECTED,),
        actions=(DeleteGroup(GROUP),),
        checks=(active_is(pending=C.DELETE, attempts=0), leased(NOW)),
    )
    table["FORCE_RESETTING recheck", "inspected ok"] = Expect(
        active=S.FORCE_RESETTING,
        steps=(K.INSPECTED,),
        actions=(StartReset(GROUP, force=True, client_token=token(True)),),
        checks=(active_is(pending=C.FORCE_RESET, attempts=0), leased(NOW)),
    )

    # -- answers to InspectGroup
    for s in REQUESTED_STATES:
        table[s, "inspected missing"] = Expect(
            finished=S.GONE, reason="group does not exist", steps=(K.FINISHED,)
        )
        table[s, "inspected protected"] = Expect(
            finished=S.REJECTED, reason="group is protected by tag gg-reset:protect=true", steps=(K.FINISHED,)
        )
    started = (
        active_is(
            pending=C.RESET,
            deadline_at=NOW + timedelta(seconds=POLICY.reset_timeout_s),
            forced=False,
            deployment_id=None,
        ),
        leased(NOW),
    )
    table["REQUESTED", "inspected ok"] = Expect(
        active=S.RESETTING,
        steps=(K.INSPECTED,),
        actions=(StartReset(GROUP, force=False, client_token=token(False)),),
        checks=started,
    )
    table["REQUESTED deletion", "inspected ok"] = table["REQUESTED", "inspected ok"]
    table["REQUESTED force=immediately", "inspected ok"] = Expect(
        active=S.FORCE_RESETTING,
        steps=(K.INSPECTED,),
        actions=(StartReset(GROUP, force=True, client_token=token(True)),),
        checks=(
            active_is(
                pending=C.FORCE_RESET,
                deadline_at=NOW + timedelta(seconds=POLICY.force_timeout_s),
                forced=True,
            ),
            leased(NOW),
        ),
    )
    table["REQUESTED dry-run", "inspected ok"] = Expect(
        finished=S.PLANNED,
        reason="dry run: no Greengrass write made",
        steps=(K.INSPECTED, K.FINISHED),
        checks=(
            planned(
                "ResetDeployments(Force=False) and wait for its Success",
                "if it fails or the core is silent for 600s: "
                "re-check the protection tag, then ResetDeployments(Force=True)",
            ),
        ),
    )

    # -- answers to ResetDeployments
    for s in RESET_PENDING:
        table[s, "reset accepted"] = Expect(
            active=S.RESETTING,
            steps=(K.RESET_STARTED,),
            checks=(
                active_is(
                    deployment_id="dep-new",
                    forced=False,
                    pending=C.POLL,
                    attempts=0,
                    next_action_at=NOW + timedelta(seconds=POLICY.poll_interval_s),
                ),
                step_detail("reset started: deployment dep-new"),
            ),
        )
        table[s, "force reset accepted"] = Expect(noop=True)
    table["FORCE_RESETTING starting", "force reset accepted"] = Expect(
        active=S.FORCE_RESETTING,
        steps=(K.RESET_STARTED,),
        checks=(
            active_is(deployment_id="dep-new", forced=True, pending=C.POLL),
            step_detail("forced reset started: deployment dep-new"),
        ),
    )
    table["FORCE_RESETTING starting", "reset accepted"] = Expect(noop=True)

    # -- answer to DeleteGroup
    for s in DELETING:
        table[s, "group deleted"] = Expect(finished=S.DELETED, reason="group deleted", steps=(K.FINISHED,))

    # -- failed calls: only the answer to the call the workflow waits for counts
    for s in ACTIVE:
        wf = active_wf[s]
        assert wf is not None and wf.pending is not None
        call, attempts, gen = wf.pending, wf.attempts, wf.token_generation
        is_reset = call in (C.RESET, C.FORCE_RESET)

        def retry(limit: int, kind: ErrorKind, wf=wf, call=call, attempts=attempts, gen=gen) -> Expect:
            n = attempts + 1
            assert n < limit
            return Expect(
                active=wf.state,
                steps=(K.RETRY_SCHEDULED,),
                checks=(
                    retry_scheduled(n, after_backoff(NOW, n), gen),
                    active_is(pending=call),
                    step_detail(f"{call} failed ({kind}, attempt {n}/{limit})"),
                ),
            )

        for kind in ErrorKind:
            event = f"{call.value} failed {kind.value}"
            if kind is E.NOT_FOUND:
                if call is C.DELETE:
                    table[s, event] = Expect(
                        finished=S.DELETED,
                        reason="group deleted (DeleteGroup then answered",
                        steps=(K.FINISHED,),
                    )
                else:
                    table[s, event] = Expect(
                        finished=S.GONE, reason="group no longer exists", steps=(K.FINISHED,)
                    )
            elif kind is E.NOT_DEPLOYED and is_reset:
                if wf.kind is RequestKind.DELETION:
                    table[s, event] = Expect(
                        active=S.DELETING,
                        steps=(K.DELETE_STARTED,),
                        actions=(InspectGroup(GROUP, recheck=True),),
                        checks=(step_detail(NOT_DEPLOYED_REASON), leased(NOW)),
                    )
                else:
                    table[s, event] = Expect(
                        finished=S.RESET, reason=NOT_DEPLOYED_REASON, steps=(K.FINISHED,)
                    )
            elif kind is E.DEPLOYMENT_IN_PROGRESS and is_reset:
                table[s, event] = Expect(
                    active=wf.state,
                    steps=(K.RETRY_SCHEDULED,),
                    checks=(
                        retry_scheduled(0, NOW + timedelta(seconds=POLICY.busy_retry_s), gen + 1),
                        step_detail("another deployment is in progress"),
                    ),
                )
            elif kind.transient:
                table[s, event] = retry(RETRY_LIMIT[kind], kind)
            elif kind is E.BAD_REQUEST:
                table[s, event] = Expect(
                    finished=S.FAILED,
                    reason=f"{call} refused: bad-request-code: went wrong",
                    steps=(K.FINISHED,),
                    actions=(notify(),),
                )
            else:  # UNKNOWN, and NOT_DEPLOYED / DEPLOYMENT_IN_PROGRESS from a call they make no sense for
                table[s, event] = retry(POLICY.max_unknown_attempts, kind)

    # -- ticks: re-drive a call whose time has come; at the deadline, poll once or escalate
    due_action: dict[str, Action] = {}
    for s in ACTIVE:
        wf = active_wf[s]
        assert wf is not None
        match wf.pending:
            case C.INSPECT:
                due_action[s] = InspectGroup(GROUP)
            case C.RECHECK:
                due_action[s] = InspectGroup(GROUP, recheck=True)
            case C.RESET:
                due_action[s] = StartReset(GROUP, force=False, client_token=token(False, wf.token_generation))
            case C.FORCE_RESET:
                due_action[s] = StartReset(GROUP, force=True, client_token=token(True))
            case C.POLL:
                due_action[s] = PollDeployment(GROUP, OWN)
            case C.DELETE:
                due_action[s] = DeleteGroup(GROUP)
        table[s, "tick due"] = Expect(active=wf.state, actions=(due_action[s],), checks=(leased(DUE),))
        table[s, "tick at deadline"] = Expect(
            active=wf.state, actions=(due_action[s],), checks=(leased(DEADLINE),)
        )
    # At the deadline, a reset refused because another deployment runs escalates; one that was only
    # held back (throttling, a lost lease) is driven again: the core is not at fault.
    table["RESETTING busy-retry", "tick at deadline"] = Expect(
        active=S.FORCE_RESETTING,
        steps=(K.ESCALATED,),
        actions=(InspectGroup(GROUP, recheck=True),),
        checks=(
            step_detail("a deployment was still in progress at the deadline"),
            active_is(
                pending=C.RECHECK,
                deadline_at=DEADLINE + timedelta(seconds=POLICY.force_timeout_s),
            ),
            leased(DEADLINE),
        ),
    )
    return table


TABLE = build_table()
MATRIX = [
    pytest.param(
        s,
        e,
        id=f"{s} | {e}",
        marks=[pytest.mark.xfail(strict=True, reason=TABLE[s, e].bug)]
        if (s, e) in TABLE and TABLE[s, e].bug
        else [],
    )
    for s in STATES
    for e in EVENTS
]


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


def assert_steps_are_well_formed(before: GroupRecord, decision: Decision, now: datetime) -> None:
    """Seq numbers continue the workflow's history without gaps; each step carries its state."""
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
    if decision.finished:
        assert decision.steps[-1][1].kind is K.FINISHED
        assert decision.steps[-1][1].state is decision.finished[-1].state


def assert_lease_taken(decision: Decision, now: datetime) -> None:
    """A Greengrass call is asked for only together with its lease."""
    if any(not isinstance(a, Notify) for a in decision.actions):
        wf = decision.record.active
        assert decision.changed
        assert wf is not None and wf.next_action_at == now + CALL_LEASE


# --- deadlines: poll once, then escalate (or fail) -----------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected", "fragment", "actions"),
    [
        (
            "RESETTING waiting",
            S.FORCE_RESETTING,
            f"reset deployment {OWN} still InProgress at the deadline: escalating",
            (InspectGroup(GROUP, recheck=True),),  # the protection tag is read again before Force
        ),
        (
            "RESETTING waiting deletion",
            S.FORCE_RESETTING,
            "still InProgress at the deadline: escalating",
            (InspectGroup(GROUP, recheck=True),),
        ),
        (
            "RESETTING waiting force=never",
            S.FAILED,
            "still InProgress at the deadline; force=never, so no forced reset",
            (notify(),),
        ),
        (
            "FORCE_RESETTING waiting",
            S.FAILED,
            "forced reset did not complete: reset deployment dep-own still InProgress at the deadline",
            (notify(),),
        ),
    ],
)
def test_at_the_deadline_the_workflow_polls_once_then_escalates(
    state: str, expected: WorkflowState, fragment: str, actions: tuple[Action, ...]
) -> None:
    record = STATES[state]()
    tick = transition(record, Tick(), DEADLINE, POLICY)
    assert tick.actions == (PollDeployment(GROUP, OWN),)
    assert tick.steps == ()

    answer = status(OWN, DeploymentStatus.IN_PROGRESS, source="poll")
    decision = transition(tick.record, answer, DEADLINE + timedelta(seconds=1), POLICY)
    assert decision.actions == actions
    wf = decision.record.current
    assert wf is not None and wf.state is expected
    assert fragment in decision.steps[-1][1].detail


def test_a_poll_at_the_deadline_that_finds_success_completes_the_reset() -> None:
    record = transition(STATES["RESETTING waiting"](), Tick(), DEADLINE, POLICY).record
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS, source="poll"), DEADLINE, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.RESET
    assert decision.actions == ()


def test_polls_before_the_deadline_never_go_past_it() -> None:
    record = STATES["RESETTING waiting"]()
    late = DEADLINE - timedelta(seconds=10)
    answer = status(OWN, DeploymentStatus.BUILDING, source="poll")
    decision = transition(record, answer, late, POLICY)
    assert decision.record.active is not None
    assert decision.record.active.next_action_at == DEADLINE


def test_the_whole_escalation_path_by_deadline_with_the_events_lost() -> None:
    """Normal reset, core silent, its events lost: poll at the deadline, Force, Force succeeds."""
    record = STATES["RESETTING waiting"]()
    now = T0
    polls = 0
    while now < DEADLINE:
        now += timedelta(seconds=POLICY.poll_interval_s)
        decision = transition(record, Tick(), now, POLICY)
        record = decision.record
        for action in decision.actions:
            assert isinstance(action, PollDeployment)
            polls += 1
            record = transition(
                record, status(OWN, DeploymentStatus.IN_PROGRESS, source="poll"), now, POLICY
            ).record
    assert record.active is not None and record.active.state is S.FORCE_RESETTING
    assert polls == POLICY.reset_timeout_s // POLICY.poll_interval_s
    force = transition(record, Tick(), now, POLICY)
    assert force.actions == ()  # the re-check was asked for with the escalation; lease held
    recheck = transition(record, INSPECTED_OK, now, POLICY)
    assert recheck.actions == (StartReset(GROUP, force=True, client_token=token(True)),)
    record = apply(recheck.record, ResetAccepted("dep-force", forced=True), at=now)
    done = transition(
        record, status("dep-force", DeploymentStatus.SUCCESS, DeploymentType.FORCE_RESET), now, POLICY
    )
    assert done.record.last is not None and done.record.last.state is S.RESET
    assert "forced reset deployment dep-force succeeded" in done.record.last.reason


# --- DEPLOYMENT_IN_PROGRESS: wait and retry until the deadline ------------------------------------------


def test_busy_retries_get_a_new_token_each_time_until_the_deadline_then_escalate() -> None:
    record = STATES["RESETTING starting"]()
    now = T0
    tokens = [token(False, 0)]
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
        assert isinstance(action, StartReset) and not action.force
        tokens.append(action.client_token)
    assert len(tokens) == len(set(tokens)), "every busy retry needs a fresh client token"
    assert len(tokens) == POLICY.reset_timeout_s // POLICY.busy_retry_s
    assert now <= DEADLINE


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
        (ForcePolicy.AUTO, S.FORCE_RESETTING, "a deployment was still in progress at the deadline"),
        (ForcePolicy.NEVER, S.FAILED, "force=never, so no forced reset"),
        (ForcePolicy.IMMEDIATELY, S.FAILED, "forced reset did not complete"),
    ],
)
def test_busy_at_the_deadline_escalates_or_fails(
    force: ForcePolicy, expected: WorkflowState, fragment: str
) -> None:
    record = apply(EMPTY, request(force=force), INSPECTED_OK)
    call = C.FORCE_RESET if force is ForcePolicy.IMMEDIATELY else C.RESET
    decision = transition(record, failed(call, E.DEPLOYMENT_IN_PROGRESS), DEADLINE, POLICY)
    wf = decision.record.current
    assert wf is not None and wf.state is expected
    assert fragment in decision.steps[-1][1].detail
    if expected is S.FORCE_RESETTING:
        assert decision.actions == (InspectGroup(GROUP, recheck=True),)
    else:
        assert decision.actions == (notify(),)


def test_force_never_busy_until_the_deadline_fails_at_the_tick() -> None:
    record = apply(
        EMPTY, request(force=ForcePolicy.NEVER), INSPECTED_OK, failed(C.RESET, E.DEPLOYMENT_IN_PROGRESS)
    )
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


# --- remediation of failed deployments ------------------------------------------------------------------


def fail_deployment(deployment_id: str, deployment_type: DeploymentType = DeploymentType.NEW) -> Event:
    return status(deployment_id, DeploymentStatus.FAILURE, deployment_type)


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
    record = apply(EMPTY, fail_deployment("dep-bad"), INSPECTED_OK, ResetAccepted("dep-r", forced=False))
    done = transition(record, status("dep-r", DeploymentStatus.SUCCESS), T0, POLICY)
    last = done.record.last
    assert last is not None and last.state is S.RESET and last.kind is RequestKind.REMEDIATION
    assert last.request_ids == (remediation_request_id("dep-bad"),)
    assert "NewDeployment dep-bad failed: core refused" in last.request.reason


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
    decision = transition(record, GroupInspected(True, {"gg-reset:protect": "true"}), NOW, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.REJECTED
    assert decision.actions == ()


@pytest.mark.parametrize(
    ("force", "kind", "plan"),
    [
        (
            ForcePolicy.AUTO,
            RequestKind.DELETION,
            (
                "ResetDeployments(Force=False) and wait for its Success",
                "if it fails or the core is silent for 600s: "
                "re-check the protection tag, then ResetDeployments(Force=True)",
                "re-check the protection tag",
                "DeleteGroup",
            ),
        ),
        (
            ForcePolicy.NEVER,
            RequestKind.RESET,
            (
                "ResetDeployments(Force=False) and wait for its Success",
                "if it fails or the core is silent for 600s: FAILED",
            ),
        ),
        (
            ForcePolicy.IMMEDIATELY,
            RequestKind.DELETION,
            ("ResetDeployments(Force=True)", "re-check the protection tag", "DeleteGroup"),
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


def test_a_dry_run_of_a_protected_group_is_rejected_like_a_real_run() -> None:
    record = STATES["REQUESTED dry-run"]()
    decision = transition(record, GroupInspected(True, {"gg-reset:protect": "True"}), NOW, POLICY)
    assert decision.record.last is not None and decision.record.last.state is S.REJECTED


# --- whole paths -------------------------------------------------------------------------------------------


def test_deletion_path_reset_then_delete() -> None:
    record = STATES["RESETTING waiting deletion"]()
    d1 = transition(record, status(OWN, DeploymentStatus.SUCCESS), NOW, POLICY)
    assert d1.actions == (InspectGroup(GROUP, recheck=True),)
    recheck = transition(d1.record, INSPECTED_OK, NOW, POLICY)
    assert recheck.actions == (DeleteGroup(GROUP),)
    d2 = transition(recheck.record, GroupDeleted(), NOW, POLICY)
    last = d2.record.last
    assert last is not None and last.state is S.DELETED
    assert [s.kind for _, s in (*d1.steps, *recheck.steps, *d2.steps)] == [
        K.DEPLOYMENT_SUCCEEDED,
        K.DELETE_STARTED,
        K.INSPECTED,
        K.FINISHED,
    ]
    # requested, inspected, reset-started, succeeded, delete-started, re-checked, finished
    assert last.step_count == 7


def test_a_deletion_upgrades_an_active_reset_which_then_deletes() -> None:
    record = apply(STATES["RESETTING waiting"](), request("r-del", RequestKind.DELETION), at=NOW)
    decision = transition(record, status(OWN, DeploymentStatus.SUCCESS), NOW, POLICY)
    assert decision.record.active is not None and decision.record.active.state is S.DELETING
    assert decision.actions == (InspectGroup(GROUP, recheck=True),)


def test_not_deployed_on_a_forced_deletion_goes_on_to_delete() -> None:
    record = STATES["REQUESTED force=immediately"]()
    record = apply(record, request("r-del", RequestKind.DELETION), INSPECTED_OK, at=NOW)
    decision = transition(record, failed(C.FORCE_RESET, E.NOT_DEPLOYED), NOW, POLICY)
    assert decision.actions == (InspectGroup(GROUP, recheck=True),)
    assert NOT_DEPLOYED_REASON in decision.steps[-1][1].detail


def test_delete_not_found_is_deleted_on_a_first_attempt_and_on_a_retry() -> None:
    # A first DeleteGroup may be botocore's retry of a call whose answer was lost, or a crashed worker's
    # call re-driven: the group this workflow reset is gone, as asked.
    first = transition(STATES["DELETING"](), failed(C.DELETE, E.NOT_FOUND), NOW, POLICY)
    assert first.record.last is not None and first.record.last.state is S.DELETED
    retry = transition(STATES["DELETING transient-retry"](), failed(C.DELETE, E.NOT_FOUND), NOW, POLICY)
    assert retry.record.last is not None and retry.record.last.state is S.DELETED


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


# --- replays and the lease --------------------------------------------------------------------------------


@pytest.mark.parametrize("state", ACTIVE)
def test_a_replayed_request_redrives_only_a_due_call(state: str) -> None:
    record = STATES[state]()
    replay = request("r1", at=DUE)
    early = transition(record, replay, NOW, POLICY)
    assert not early.changed and early.actions == () and early.steps == ()
    due = transition(record, replay, DUE, POLICY)
    assert due.steps == ()
    assert len(due.actions) == 1 and not isinstance(due.actions[0], Notify)
    assert due.record.active is not None and due.record.active.next_action_at == DUE + CALL_LEASE


@pytest.mark.parametrize("state", ACTIVE)
@pytest.mark.parametrize("at", [DUE, DUE + CALL_LEASE + timedelta(seconds=1)])
def test_the_lease_a_second_transition_at_the_same_time_emits_nothing(state: str, at: datetime) -> None:
    first = transition(STATES[state](), Tick(), at, POLICY)
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
    for name in ("request new id", "request deletion", "NewDeployment Failure", "tick due"):
        event, now = EVENTS[name]
        first = transition(record, event, now, POLICY)
        again = transition(first.record, event, now, POLICY)
        assert not again.changed, name
        assert again.actions == () and again.steps == (), name
