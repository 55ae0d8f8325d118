"""The reset workflow as one pure function: (group record, event, now) -> decision.

State diagram (terminal states in capitals on the right):

    request ──► REQUESTED ──inspect──► RESETTING ─────────────Success───► RESET (or DELETING)
                   │  gone ──────────────────────────────────────────────► GONE
                   │  protected tag, deny/allow list, account guard ─────► REJECTED
                   │  dry run ───────────────────────────────────────────► PLANNED
                   │  force=immediately ─► FORCE_RESETTING ──Success─────► RESET (or DELETING)
                   │                                          Failure / deadline ► FAILED
    RESETTING: "not deployed / already reset" ─► RESET, or DELETING for deletions
               deployment in progress ─► wait and retry until the deadline, then escalate
               Failure, or no Success by the deadline (one poll, at the deadline) ─►
                   FORCE_RESETTING (force=auto) / FAILED (never)
    DELETING ──DeleteGroup──► DELETED (also when the group is then found missing: our DeleteGroup's
                                       answer was lost)

    failed NewDeployment/Redeployment ─► REQUESTED (remediation) ──inspect──► GetDeploymentStatus of it:
        not this group's, or not Failure (a forged or mistaken event) ─────────► REJECTED
        Failure confirmed: the gg-reset:on-failure tag:
        reset (default) ─► RESETTING, as above
        notify ──────────────────────────────────────────────────────────────► NOTIFIED
        rollback ─► ROLLING_BACK: ListDeployments + GetDeploymentStatus ─► last good deployment
                       ──CreateDeployment(Redeployment)──► wait (one poll, at the deadline)
                       ──Success─────────────────────────────────────────────► ROLLED_BACK
                    none to go back to / Failure / deadline ─► fallback (rollbackFallback):
                       notify ───────────────────────────────────────────────► NOTIFIED
                       reset ─► RESETTING, as above

    any step: throttling, 5xx, unknown errors ─► retry with backoff, each kind within its own budget
              (cleared by progress); bad request ─► FAILED; "not found" ─► GetGroup confirms ─► GONE (or
              the call again, bounded)

Before every Greengrass write (a reset, a forced reset, a redeployment, DeleteGroup) whose protection check
is older than `WorkflowPolicy.protection_freshness_s`, the group is read again (pending RECHECK, `resume` =
the write): a protection tag added while the workflow waited ends it REJECTED there.

Other rules: one active workflow per group; a request whose id the group has seen is a no-op; a request
joining the active workflow brings the stricter force policy (or is REJECTED busy if Force was already
used against its policy); a deletion request upgrades an active reset, and a reset request turns a
remediation into a reset whatever its policy; a reset or deletion request while a roll back runs is
REJECTED busy; a failed `NewDeployment`/`Redeployment` of the group opens a remediation, capped per window
whatever its policy (an unconfirmed one is not counted), queued behind a dry run; the failure of any
deployment gg-reset made (the record keeps their ids) is that workflow's business, never a new
remediation; status events of other deployments, late or duplicated events change nothing.

Calls are claimed with a lease: a decision that asks for a Greengrass call also pushes `next_action_at`
forward, and the shell saves that (conditionally) before it calls, so two workers never make the same
call and a crashed worker's call is re-driven by the sweeper once the lease runs out.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from gg_reset.domain.actions import (
    Action,
    CheckConnectivity,
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
from gg_reset.domain.enums import RESET_DEPLOYMENT_TYPES, DeploymentStatus, ForcePolicy, RemediationPolicy
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import (
    CallDeferred,
    CallFailed,
    ConnectivityChecked,
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
    NO_FAILURES,
    GroupRecord,
    PendingCall,
    Request,
    RequestKind,
    Step,
    StepKind,
    Workflow,
    WorkflowState,
)
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.remediation import chosen_remediation
from gg_reset.domain.safety import PROTECT_TAG, is_protected  # noqa: F401 - part of this module's API
from gg_reset.domain.teardown import (
    Resource,
    ResourceOutcome,
    Teardown,
    in_teardown_order,
    next_resource,
    summary,
)

CALL_LEASE = timedelta(seconds=300)
"""Longer than a worker or sweeper invocation may run (the stack's worker timeout is 120 s): a call is
re-driven only when the invocation that claimed it is certainly gone."""
NOT_DEPLOYED_REASON = "group has not been deployed or has already been reset"
UNCONFIRMED_CALL_WINDOW = timedelta(seconds=120)
"""How long before its answer an ambiguous reset call may have taken effect: the call's timeouts (25 s)
plus room for clock skew between the Lambda and AWS."""
WRITE_NAMES = {
    PendingCall.RESET: "ResetDeployments",
    PendingCall.FORCE_RESET: "ResetDeployments(Force=True)",
    PendingCall.DELETE: "DeleteGroup",
    PendingCall.ROLLBACK: "CreateDeployment(Redeployment)",
}
"""The pending calls that change a group: each needs a fresh protection check."""

_WRITE_OF_STATE = {
    WorkflowState.RESETTING: PendingCall.RESET,
    WorkflowState.FORCE_RESETTING: PendingCall.FORCE_RESET,
    WorkflowState.DELETING: PendingCall.DELETE,
    WorkflowState.ROLLING_BACK: PendingCall.ROLLBACK,
}
"""The write a re-check guards when the record does not name it (items written before `resume`)."""

_AWAITS_DEPLOYMENT = frozenset(
    {WorkflowState.RESETTING, WorkflowState.FORCE_RESETTING, WorkflowState.ROLLING_BACK}
)
"""States that start a deployment of their own and wait for its status (polled once at the deadline)."""

_STRICTNESS = (ForcePolicy.NEVER, ForcePolicy.AUTO, ForcePolicy.IMMEDIATELY)


def stricter(a: ForcePolicy, b: ForcePolicy) -> ForcePolicy:
    """The policy that allows less Force: never < auto < immediately. Merged requests get the stricter."""
    return a if _STRICTNESS.index(a) <= _STRICTNESS.index(b) else b


@dataclass(frozen=True, slots=True)
class Decision:
    record: GroupRecord
    steps: tuple[tuple[str, Step], ...] = ()
    """New history entries as (workflow id, step)."""
    actions: tuple[Action, ...] = ()
    finished: tuple[Workflow, ...] = ()
    """Workflows that reached a terminal state in this decision."""
    changed: bool = False
    """Whether the record must be saved (a no-op decision, e.g. for a replay, changes nothing)."""


def workflow_id_for(request_id: str, received_at: datetime) -> str:
    """Sortable by time, unique per request. (A replay is recognised by its request id, not by this.)"""
    # surrogatepass: a request id is whatever JSON carried, lone surrogates included.
    digest = hashlib.sha256(request_id.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{received_at:%Y%m%dT%H%M%S}-{digest}"


def remediation_request_id(deployment_id: str) -> str:
    return f"deployment-failure:{deployment_id}"


def transition(record: GroupRecord, event: Event, now: datetime, policy: WorkflowPolicy) -> Decision:
    """Decide what `event` means for the group, at `now`. Pure: same inputs, same decision."""
    builder = _Builder(record, now, policy)
    match event:
        case RequestReceived(request=request):
            builder.on_request(request)
        case InvalidRequestReceived():
            builder.on_invalid(event)
        case DeploymentStatusReported():
            builder.on_status(event)
        case Tick():
            builder.on_tick()
        case (
            GroupInspected()
            | ConnectivityChecked()
            | FailureChecked()
            | ResetAccepted()
            | GroupDeleted()
            | TeardownCollected()
            | ResourceTornDown()
            | RollbackTargetFound()
            | RollbackStarted()
            | CallFailed()
            | CallDeferred()
        ):
            builder.on_call_result(event)
    builder.drive()
    return builder.decision()


class _Builder:
    """Accumulates one decision; each `on_*` method handles one kind of event."""

    def __init__(self, record: GroupRecord, now: datetime, policy: WorkflowPolicy) -> None:
        self.original = record
        self.record = record
        self.now = now
        self.policy = policy
        self.steps: list[tuple[str, Step]] = []
        self.actions: list[Action] = []
        self.finished: list[Workflow] = []

    # --- results -----------------------------------------------------------------------------------

    def decision(self) -> Decision:
        return Decision(
            record=self.record,
            steps=tuple(self.steps),
            actions=tuple(self.actions),
            finished=tuple(self.finished),
            changed=self.record != self.original,
        )

    def step(self, wf: Workflow, kind: StepKind, detail: str) -> Workflow:
        seq = wf.step_count + 1
        self.steps.append(
            (wf.workflow_id, Step(seq=seq, at=self.now, kind=kind, state=wf.state, detail=detail))
        )
        return replace(wf, step_count=seq, updated_at=self.now)

    def set_active(self, wf: Workflow) -> None:
        active = self.record.active
        if wf.terminal and active is not None and active.workflow_id != wf.workflow_id:
            # A request answered at once (rejected, capped) while another workflow runs: record it as
            # finished without touching the active one.
            self.finished.append(wf)
            self.record = replace(self.record, last=wf)
            return
        if wf.terminal:
            self.finished.append(wf)
            self.record = replace(self.record, active=None, last=wf)
        else:
            self.record = replace(self.record, active=wf)

    # --- requests ----------------------------------------------------------------------------------

    def remember(self, request_id: str) -> None:
        recent = (*self.record.recent_request_ids, request_id)[-self.policy.recent_request_ids :]
        self.record = replace(self.record, recent_request_ids=recent)

    def seen(self, request_id: str) -> bool:
        active = self.record.active
        return request_id in self.record.recent_request_ids or (
            active is not None and request_id in active.request_ids
        )

    def new_workflow(self, request: Request, state: WorkflowState) -> Workflow:
        wf = Workflow(
            workflow_id=workflow_id_for(request.request_id, request.received_at),
            group_id=request.group_id,
            kind=request.kind,
            request=request,
            state=state,
            started_at=self.now,
            updated_at=self.now,
            request_ids=(request.request_id,),
        )
        detail = f"{request.kind} requested by {request.requested_by}"
        if request.reason:
            detail += f": {request.reason}"
        if request.dry_run:
            detail += " (dry run)"
        return self.step(wf, StepKind.REQUESTED, detail)

    def answer_at_once(self, request: Request, state: WorkflowState, reason: str) -> None:
        """A request answered without any Greengrass call (invalid, busy, capped): a workflow of its own,
        finished as soon as it is opened, beside whatever workflow is active."""
        self.finish(self.new_workflow(request, WorkflowState.REQUESTED), state, reason)

    def on_request(self, request: Request) -> None:
        if self.seen(request.request_id):
            return  # a replay: nothing new happened (drive() still re-drives a due call)
        self.remember(request.request_id)
        ceiling = self.policy.teardown_ceiling
        if request.teardown is not None and not request.teardown.at_most(ceiling):
            reason = (
                f"teardown={request.teardown} is not enabled on this deployment (at most {ceiling}): the "
                "stack grants the AWS IoT calls only with gg-reset:thingsTeardown=true; ask for "
                f"teardown={ceiling}, or enable it"
            )
            self.answer_at_once(request, WorkflowState.REJECTED, reason)
            return
        active = self.record.active
        if active is not None:
            self.on_request_while_active(active, request)
            return
        self.start(request)

    def start(self, request: Request) -> None:
        """Open a workflow for `request` on a group with none active."""
        if request.kind is RequestKind.REMEDIATION:
            window_start = self.now - timedelta(seconds=self.policy.remediation_window_s)
            recent = tuple(t for t in self.record.remediations if t > window_start)
            if len(recent) >= self.policy.remediation_cap:
                reason = (
                    f"remediation cap reached: {len(recent)} remediations of this group in the last "
                    f"{self.policy.remediation_window_s}s; deployment {request.trigger_deployment_id} "
                    "failed again and is left for a person to look at"
                )
                self.answer_at_once(request, WorkflowState.FAILED, reason)
                self.record = replace(self.record, remediations=recent)
                return
            self.record = replace(self.record, remediations=(*recent, self.now))
        wf = self.new_workflow(request, WorkflowState.REQUESTED)
        self.set_active(replace(wf, pending=PendingCall.INSPECT, next_action_at=self.now))

    def on_request_while_active(self, active: Workflow, request: Request) -> None:
        if active.state is WorkflowState.ROLLING_BACK and request.kind is not RequestKind.REMEDIATION:
            # A roll back is not a reset: joining it would answer a reset or deletion with a redeployment.
            reason = (
                f"group busy: workflow {active.workflow_id} is rolling back a failed deployment; "
                "send the request again once it has finished"
            )
            self.answer_at_once(request, WorkflowState.REJECTED, reason)
            return
        if request.dry_run != active.request.dry_run:
            if request.kind is RequestKind.REMEDIATION:
                # Nobody would send a failed deployment again: it waits for the dry run to end.
                self.record = replace(self.record, queued=(*self.record.queued, request))
                self.set_active(
                    self.step(
                        active,
                        StepKind.MERGED,
                        f"remediation {request.request_id} queued until this dry run ends",
                    )
                )
                return
            reason = (
                f"group busy: workflow {active.workflow_id} ({active.kind}, {active.state}) is active; "
                "send the request again once it has finished"
            )
            self.answer_at_once(request, WorkflowState.REJECTED, reason)
            return
        # A remediation asks for a reset, which the active workflow makes anyway: it brings no policy.
        force = (
            active.request.force
            if request.kind is RequestKind.REMEDIATION
            else stricter(active.request.force, request.force)
        )
        teardown_refusal = self.late_smaller_teardown(active, request)
        if teardown_refusal is not None:
            self.answer_at_once(request, WorkflowState.REJECTED, teardown_refusal)
            return
        if force is not active.request.force and active.forced:
            reason = (
                f"group busy: workflow {active.workflow_id} already used Force=True, which this request's "
                f"force={request.force} does not allow; send it again once that workflow has finished"
            )
            self.answer_at_once(request, WorkflowState.REJECTED, reason)
            return
        merged = replace(
            active,
            request_ids=(*active.request_ids, request.request_id),
            request=replace(active.request, force=force, teardown=self.merged_teardown(active, request)),
        )
        if self.teardown_decided(merged) and self.teardown_of(merged.request).rank < merged.teardown.rank:
            # Decided, but nothing deleted yet: the smaller teardown is what both requests accept.
            lower = self.teardown_of(merged.request)
            resources = tuple(r for r in merged.resources if self.within(lower, r)) if lower.rank else ()
            pending = PendingCall.DELETE if merged.pending is PendingCall.COLLECT and not lower.rank else None
            merged = replace(merged, teardown=lower, resources=resources, pending=pending or merged.pending)
        if force is not active.request.force:
            merged = self.step(
                merged,
                StepKind.MERGED,
                f"request {request.request_id} asks force={request.force}: the stricter policy now applies",
            )
        if request.kind is RequestKind.DELETION and active.kind is not RequestKind.DELETION:
            merged = replace(merged, kind=RequestKind.DELETION)
            merged = self.step(
                merged,
                StepKind.UPGRADED,
                f"deletion requested by {request.requested_by} ({request.request_id}): "
                "the group is deleted once the reset completes",
            )
        elif request.kind is RequestKind.RESET and active.kind is RequestKind.REMEDIATION:
            # Someone asked for a reset: that is what the group gets, whatever its on-failure policy.
            merged = replace(merged, kind=RequestKind.RESET)
            merged = self.step(
                merged,
                StepKind.UPGRADED,
                f"reset requested by {request.requested_by} ({request.request_id}): "
                "the group is reset, whatever its on-failure policy",
            )
        else:
            merged = self.step(
                merged,
                StepKind.MERGED,
                f"{request.kind} request {request.request_id} joined the active {active.kind} workflow",
            )
        self.set_active(merged)

    def teardown_of(self, request: Request) -> Teardown:
        """What a deletion asked by `request` removes: its own choice, or the default (never beyond what
        this deployment allows, should the stack have been changed since the request was accepted)."""
        wanted = request.teardown or self.policy.teardown_default
        ceiling = self.policy.teardown_ceiling
        return wanted if wanted.at_most(ceiling) else ceiling

    @staticmethod
    def teardown_decided(wf: Workflow) -> bool:
        """Whether a real deletion's teardown level is set (the reset is done: collecting or deleting). A dry
        run's plan keeps the teardown it started with: it deletes nothing either way."""
        return wf.kind is RequestKind.DELETION and wf.state in (
            WorkflowState.DELETING,
            WorkflowState.TEARING_DOWN,
        )

    def late_smaller_teardown(self, active: Workflow, request: Request) -> str | None:
        """A deletion asking to remove less than a teardown already under way (DeleteGroup issued, or
        resources being deleted) cannot have it: answered busy, with the reason."""
        if request.kind is not RequestKind.DELETION or not self.teardown_decided(active):
            return None
        asked = self.teardown_of(request)
        if asked.rank >= active.teardown.rank:
            return None
        if not (active.delete_issued or active.state is WorkflowState.TEARING_DOWN):
            return None
        return (
            f"group busy: workflow {active.workflow_id} is already deleting the group with "
            f"teardown={active.teardown}, more than this request's teardown={asked}"
        )

    def merged_teardown(self, active: Workflow, request: Request) -> Teardown | None:
        """Two deletions of one group that ask for different teardowns get the smaller: deleting more than
        someone asked for cannot be undone. A deletion joining a reset brings its own."""
        if request.kind is not RequestKind.DELETION:
            return active.request.teardown
        if active.kind is not RequestKind.DELETION:
            return request.teardown
        mine, theirs = self.teardown_of(active.request), self.teardown_of(request)
        return mine if mine.rank <= theirs.rank else theirs

    def on_invalid(self, event: InvalidRequestReceived) -> None:
        if self.seen(event.request_id):
            return
        self.remember(event.request_id)
        request = Request(
            request_id=event.request_id,
            kind=event.kind,
            group_id=event.group_id,
            received_at=self.now,
            requested_by=event.requested_by,
        )
        self.answer_at_once(request, WorkflowState.REJECTED, f"invalid request: {event.error}")

    # --- deployment status ---------------------------------------------------------------------------

    def on_status(self, event: DeploymentStatusReported) -> None:
        active = self.record.active
        if (
            active is not None
            and active.deployment_id == event.deployment_id
            and active.state in _AWAITS_DEPLOYMENT
        ):
            self.on_own_deployment(active, event)
            return
        if (
            event.status is DeploymentStatus.FAILURE
            and event.deployment_type not in RESET_DEPLOYMENT_TYPES
            and event.source == "event"
            and not self.reset_since(event.occurred_at)
            and not self.created_by_us(event.deployment_id)
        ):
            # Never remediate our own resets: only new deployments and redeployments qualify.
            self.on_request(
                Request(
                    request_id=remediation_request_id(event.deployment_id),
                    kind=RequestKind.REMEDIATION,
                    group_id=self.record.group_id,
                    received_at=self.now,
                    requested_by="aws.greengrass",
                    reason=f"{event.deployment_type} {event.deployment_id} failed"
                    + (f": {event.error_message}" if event.error_message else ""),
                    trigger_deployment_id=event.deployment_id,
                )
            )
        # Anything else is someone else's deployment, or late/duplicated news: nothing to do.

    def reset_since(self, occurred_at: datetime | None) -> bool:
        """Whether the group was reset (or deleted) by gg-reset after `occurred_at`: then a failure from
        that time, delivered late (or one that our own forced reset cut short), needs no remediation."""
        last = self.record.last
        return (
            occurred_at is not None
            and last is not None
            and last.finished_at is not None
            and last.state in (WorkflowState.RESET, WorkflowState.DELETED, WorkflowState.ROLLED_BACK)
            and occurred_at <= last.finished_at
        )

    def created_by_us(self, deployment_id: str) -> bool:
        """Whether gg-reset created `deployment_id` (a reset, or a roll back's redeployment): its failure is
        the business of the workflow that made it (the escalation, the fallback), never a new remediation,
        however late it arrives and whatever workflows ran since. Decided from the ledger's list, not from
        the active and last workflows."""
        return deployment_id in self.record.own_deployments

    def remember_own(self, deployment_id: str) -> None:
        if self.created_by_us(deployment_id):
            return
        kept = (*self.record.own_deployments, deployment_id)[-self.policy.own_deployments_kept :]
        self.record = replace(self.record, own_deployments=kept)

    def on_own_deployment(self, wf: Workflow, event: DeploymentStatusReported) -> None:
        """The status of the deployment this workflow started and waits for: a (forced) reset's, or a roll
        back's redeployment. Success completes that step; Failure, or still running when polled at the
        deadline, is the reset's escalation or the roll back's fallback."""
        rolling_back = wf.state is WorkflowState.ROLLING_BACK
        if rolling_back:
            subject = f"redeployment {event.deployment_id} of {wf.rollback_of}"
            succeeded = subject
            did_not_work = self.fall_back
        else:
            subject = f"reset deployment {event.deployment_id}"
            succeeded = f"{'forced reset' if wf.forced else 'reset'} deployment {event.deployment_id}"
            did_not_work = self.reset_did_not_work
        if event.status is DeploymentStatus.SUCCESS:
            wf = self.step(
                replace(wf, pending=None, next_action_at=None, failures=NO_FAILURES),
                StepKind.DEPLOYMENT_SUCCEEDED,
                f"{succeeded} succeeded ({event.source})",
            )
            if rolling_back:
                self.finish(wf, WorkflowState.ROLLED_BACK, f"rolled back: {succeeded} succeeded")
            else:
                self.after_reset(wf, f"{succeeded} succeeded")
        elif event.status is DeploymentStatus.FAILURE:
            error = event.error_message or "no error message"
            wf = self.step(
                replace(wf, pending=None, next_action_at=None),
                StepKind.DEPLOYMENT_FAILED,
                f"{subject} failed: {error}",
            )
            did_not_work(wf, f"{subject} failed: {error}")
        elif event.source == "poll":
            if wf.deadline_at is not None and self.now >= wf.deadline_at:
                did_not_work(wf, f"{subject} still {event.status} at the deadline")
            else:
                # Polled early (a re-driven call): the status event is still on its way; ask again only
                # at the deadline.
                self.set_active(
                    replace(wf, pending=PendingCall.POLL, next_action_at=wf.deadline_at, failures=NO_FAILURES)
                )
        # An InProgress/Building *event* for our deployment tells us nothing new.

    def fall_back(self, wf: Workflow, why: str) -> None:
        """The roll back could not be made or did not work: the configured fallback takes over."""
        fallback = self.policy.rollback_fallback
        wf = replace(wf, pending=None, next_action_at=None, deployment_id=None)
        wf = self.step(wf, StepKind.FELL_BACK, f"{why}: falling back to {fallback}")
        if fallback is RemediationPolicy.RESET:
            self.start_reset(replace(wf, remediation=RemediationPolicy.RESET), forced=False)
        else:
            self.finish(wf, WorkflowState.NOTIFIED, f"{why}; fallback {fallback}: no Greengrass write made")

    # --- the sweeper's tick ----------------------------------------------------------------------------

    def on_tick(self) -> None:
        wf = self.record.active
        if wf is None or wf.deadline_at is None or self.now < wf.deadline_at:
            return
        if wf.state not in _AWAITS_DEPLOYMENT:
            return
        if wf.deployment_id is not None:
            # Before giving up on a reset, ask once: its Success event may have been lost. A pending poll
            # is due at the deadline (so now) or leased to a worker making it; anything else polls now.
            # A pending re-check (GetGroup confirming a "not found") is left to finish: its answer decides.
            if wf.pending not in (PendingCall.POLL, PendingCall.RECHECK):
                self.set_active(replace(wf, pending=PendingCall.POLL, next_action_at=self.now))
            return
        if wf.pending in (PendingCall.RESET, PendingCall.FORCE_RESET) and wf.token_generation > 0:
            # Refused because another deployment was running, and still waiting at the deadline. (A reset
            # held back only by throttling or a lost lease is simply driven again: the core is not at fault.)
            self.reset_did_not_work(wf, "a deployment was still in progress at the deadline")

    # --- answers to our calls ----------------------------------------------------------------------------

    def on_call_result(
        self,
        event: GroupInspected
        | ConnectivityChecked
        | FailureChecked
        | ResetAccepted
        | GroupDeleted
        | TeardownCollected
        | ResourceTornDown
        | RollbackTargetFound
        | RollbackStarted
        | CallFailed
        | CallDeferred,
    ) -> None:
        wf = self.record.active
        if wf is None:
            return  # the workflow ended meanwhile (another worker got there first)
        match event:
            case GroupInspected() if wf.pending is PendingCall.INSPECT:
                self.on_inspected(wf, event)
            case GroupInspected() if wf.pending is PendingCall.RECHECK:
                self.on_rechecked(wf, event)
            case ConnectivityChecked() if wf.pending is PendingCall.CHECK_CONNECTIVITY:
                self.on_connectivity(wf, event)
            case FailureChecked() if wf.pending is PendingCall.CONFIRM_FAILURE:
                self.on_failure_checked(wf, event)
            case ResetAccepted() if wf.pending is (
                PendingCall.FORCE_RESET if event.forced else PendingCall.RESET
            ):
                what = "forced reset" if event.forced else "reset"
                timeout = self.policy.force_timeout_s if event.forced else self.policy.reset_timeout_s
                # The core gets its full time from the moment the reset exists, however long throttling
                # or a running deployment delayed it. The status event normally ends the wait; the one
                # poll at the deadline covers a lost event (and is what escalates a silent core).
                deadline = self.now + timedelta(seconds=timeout)
                pending, next_at = PendingCall.POLL, deadline
                if self.asks_connectivity(wf, forced=event.forced):
                    # A silent core is told apart early: ask the connectivity source if no Success comes soon.
                    check_at = self.now + timedelta(seconds=self.policy.connectivity_check_after_s)
                    pending, next_at = PendingCall.CHECK_CONNECTIVITY, min(check_at, deadline)
                wf = replace(
                    wf,
                    deployment_id=event.deployment_id,
                    forced=wf.forced or event.forced,
                    pending=pending,
                    failures=NO_FAILURES,
                    deadline_at=deadline,
                    next_action_at=next_at,
                    unconfirmed_reset_since=None,
                )
                wf = self.step(
                    wf, StepKind.RESET_STARTED, f"{what} started: deployment {event.deployment_id}"
                )
                self.remember_own(event.deployment_id)
                self.set_active(wf)
            case GroupDeleted() if wf.pending is PendingCall.DELETE:
                self.group_deleted(wf, "group deleted")
            case TeardownCollected() if wf.pending is PendingCall.COLLECT:
                self.on_collected(wf, event)
            case ResourceTornDown() if wf.pending is PendingCall.TEAR_DOWN:
                self.on_torn_down(wf, event.arn, event.outcome, event.detail)
            case RollbackTargetFound(deployment_id=None) if wf.pending is PendingCall.FIND_ROLLBACK:
                self.fall_back(wf, f"nothing to roll back to: {event.detail}")
            case RollbackTargetFound(deployment_id=str(target)) if wf.pending is PendingCall.FIND_ROLLBACK:
                wf = replace(
                    wf,
                    rollback_of=target,
                    rollback_version=event.group_version_id,
                    pending=PendingCall.ROLLBACK,
                    next_action_at=self.now,
                    failures=NO_FAILURES,
                )
                self.set_active(self.step(wf, StepKind.ROLLBACK_TARGET, f"rolling back to {event.detail}"))
            case RollbackStarted() if wf.pending is PendingCall.ROLLBACK:
                deadline = self.now + timedelta(seconds=self.policy.rollback_timeout_s)
                wf = replace(
                    wf,
                    deployment_id=event.deployment_id,
                    rollback_deployment_id=event.deployment_id,
                    pending=PendingCall.POLL,
                    failures=NO_FAILURES,
                    deadline_at=deadline,
                    next_action_at=deadline,
                )
                detail = f"redeployment {event.deployment_id} of {wf.rollback_of} started"
                self.remember_own(event.deployment_id)
                self.set_active(self.step(wf, StepKind.ROLLBACK_STARTED, detail))
            case CallFailed() if wf.pending is event.call:
                self.on_call_failed(wf, event)
            case CallDeferred() if wf.pending is event.call:
                # The request budget paces the calls when they come back; no spreading needed.
                self.set_active(replace(wf, next_action_at=event.not_before))
            case _:
                pass  # an answer to a call this workflow no longer waits for

    def on_inspected(self, wf: Workflow, event: GroupInspected) -> None:
        if not event.exists:
            self.finish(wf, WorkflowState.GONE, "group does not exist")
            return
        refusal = self.policy.safety.refusal(wf.group_id, event.name, event.tags)
        if refusal is not None:
            self.finish(wf, WorkflowState.REJECTED, refusal)
            return
        wf = replace(wf, latest_version=event.latest_version or wf.latest_version)
        if wf.kind is RequestKind.REMEDIATION and not wf.request.dry_run:
            policy, how = chosen_remediation(event.tags, self.policy.remediation_default)
            wf = self.step(
                replace(wf, checked_at=self.now, remediation=policy),
                StepKind.INSPECTED,
                f"group exists and is not protected; {how}",
            )
            if wf.request.trigger_deployment_id is None:
                self.failure_not_confirmed(wf, "the remediation names no failed deployment")
                return
            # A status event is a claim: anyone allowed to put events on the default bus can forge one.
            # Greengrass itself must confirm the failure before the policy writes anything.
            self.set_active(
                replace(
                    wf, pending=PendingCall.CONFIRM_FAILURE, next_action_at=self.now, failures=NO_FAILURES
                )
            )
            return
        wf = self.step(
            replace(wf, checked_at=self.now), StepKind.INSPECTED, "group exists and is not protected"
        )
        if wf.request.dry_run:
            teardown = self.teardown_of(wf.request)
            if wf.kind is RequestKind.DELETION and teardown is not Teardown.GROUP:
                # The plan names what the teardown would delete and keep: read the group's versions first.
                wf = replace(wf, teardown=teardown, pending=PendingCall.COLLECT, next_action_at=self.now)
                self.set_active(wf)
                return
            self.finish_planned(wf)
            return
        self.start_reset(wf, forced=wf.request.force is ForcePolicy.IMMEDIATELY)

    def finish_planned(self, wf: Workflow) -> None:
        wf = replace(wf, plan=self.plan(wf))
        self.finish(wf, WorkflowState.PLANNED, "dry run: no Greengrass write made")

    def on_collected(self, wf: Workflow, event: TeardownCollected) -> None:
        resources = in_teardown_order(tuple(r for r in event.resources if self.within(wf.teardown, r)))
        listed = ", ".join(r.describe() for r in resources) or "nothing beyond the group"
        wf = replace(wf, resources=resources, collected=True, pending=None, failures=NO_FAILURES)
        detail = f"teardown={wf.teardown}: the group's versions reference {listed}"
        wf = self.step(wf, StepKind.TEARDOWN_COLLECTED, detail)
        if wf.request.dry_run:
            self.finish_planned(wf)
            return
        # DeleteGroup next; `drive` re-checks the protection tag first if the last check is stale.
        self.set_active(replace(wf, pending=PendingCall.DELETE, next_action_at=self.now))

    @staticmethod
    def within(teardown: Teardown, resource: Resource) -> bool:
        return resource.kind.is_definition or teardown is Teardown.THINGS

    def group_deleted(self, wf: Workflow, why: str) -> None:
        """DeleteGroup went through (answered, or proven by a "not found" after it was issued): what the
        group owned is torn down next, one resource at a time, or the deletion is done."""
        if next_resource(wf.resources) is None:
            self.finish_deletion(wf, why)
            return
        wf = replace(
            wf,
            state=WorkflowState.TEARING_DOWN,
            pending=PendingCall.TEAR_DOWN,
            next_action_at=self.now,
            failures=NO_FAILURES,
            reason=why,
        )
        self.set_active(self.step(wf, StepKind.TEARDOWN_STARTED, f"{why}; tearing down what it owned"))

    def finish_deletion(self, wf: Workflow, why: str) -> None:
        if not wf.collected or wf.teardown is Teardown.GROUP:
            self.finish(wf, WorkflowState.DELETED, why)
            return
        text = summary(wf.resources)
        if any(r.outcome is ResourceOutcome.FAILED for r in wf.resources):
            self.finish(wf, WorkflowState.FAILED, f"{why}, but the teardown is incomplete: {text}")
            return
        self.finish(wf, WorkflowState.DELETED, f"{why}; teardown={wf.teardown}: {text}")

    def on_torn_down(self, wf: Workflow, arn: str, outcome: ResourceOutcome, detail: str) -> None:
        current = next_resource(wf.resources)
        if current is None or current.arn != arn:
            return  # an answer about a resource whose turn has passed (a re-driven call's twin)
        ended = current.ended(outcome, detail)
        resources = tuple(ended if r.arn == arn else r for r in wf.resources)
        wf = replace(wf, resources=resources, failures=NO_FAILURES, next_action_at=self.now)
        wf = self.step(wf, StepKind.RESOURCE_TORN_DOWN, f"{current.describe()} {outcome}: {detail} ({arn})")
        if next_resource(resources) is None:
            self.finish_deletion(wf, wf.reason or "group deleted")
            return
        self.set_active(replace(wf, pending=PendingCall.TEAR_DOWN))

    def on_failure_checked(self, wf: Workflow, event: FailureChecked) -> None:
        """GetDeploymentStatus of the deployment whose Failure opened the remediation: only a deployment of
        this group that really failed, and is no reset, is remediated."""
        wf = replace(wf, failures=NO_FAILURES)
        said = f"{event.status}" + (f" ({event.deployment_type})" if event.deployment_type else "")
        if event.status is not DeploymentStatus.FAILURE or event.deployment_type in RESET_DEPLOYMENT_TYPES:
            self.failure_not_confirmed(wf, f"GetDeploymentStatus says {said}")
            return
        if wf.kind is not RequestKind.REMEDIATION:
            self.start_reset(wf, forced=wf.request.force is ForcePolicy.IMMEDIATELY)
            return
        detail = f"GetDeploymentStatus confirms deployment {event.deployment_id} {said}"
        if event.error_message:
            detail += f": {event.error_message}"
        wf = self.step(wf, StepKind.FAILURE_CONFIRMED, detail)
        self.remediate(wf, wf.remediation or self.policy.remediation_default)

    def failure_not_confirmed(self, wf: Workflow, why: str) -> None:
        """The failure that opened the remediation is not confirmed: nothing is written to the group. The
        unconfirmed remediation is not counted against the group's cap (forged events must not use up the
        remediations a real failure gets). A reset or deletion someone asked for meanwhile still goes on."""
        if wf.kind is not RequestKind.REMEDIATION:
            self.start_reset(wf, forced=wf.request.force is ForcePolicy.IMMEDIATELY)
            return
        deployment = wf.request.trigger_deployment_id
        wf = self.step(wf, StepKind.FAILURE_UNCONFIRMED, f"deployment {deployment}: {why}")
        remediations = list(self.record.remediations)
        if wf.started_at in remediations:
            remediations.remove(wf.started_at)
        self.record = replace(self.record, remediations=tuple(remediations))
        reason = (
            f"failure of deployment {deployment} not confirmed: {why}; no Greengrass write made "
            "(a forged, misrouted or mistaken status event)"
        )
        self.finish(wf, WorkflowState.REJECTED, reason)

    def remediate(self, wf: Workflow, policy: RemediationPolicy) -> None:
        """A confirmed failed deployment of an inspected, unprotected group: what its on-failure policy
        says (how the policy was chosen is in the history's INSPECTED step)."""
        failed = f"deployment {wf.request.trigger_deployment_id} failed"
        match policy:
            case RemediationPolicy.RESET:
                self.start_reset(wf, forced=wf.request.force is ForcePolicy.IMMEDIATELY)
            case RemediationPolicy.NOTIFY:
                self.finish(
                    wf, WorkflowState.NOTIFIED, f"{failed}; on-failure={policy}: no Greengrass write made"
                )
            case RemediationPolicy.ROLLBACK:
                wf = replace(
                    wf,
                    state=WorkflowState.ROLLING_BACK,
                    pending=PendingCall.FIND_ROLLBACK,
                    next_action_at=self.now,
                    failures=NO_FAILURES,
                )
                self.set_active(wf)

    def on_rechecked(self, wf: Workflow, event: GroupInspected) -> None:
        call = wf.resume or _WRITE_OF_STATE.get(wf.state, PendingCall.RESET)
        write = WRITE_NAMES.get(call, str(call))
        if not event.exists:
            if wf.delete_issued:
                # Our DeleteGroup went through and its answer was lost (a crash, a lost response, a retry
                # that found the check stale): the group is missing because this workflow deleted it.
                reason = f"group deleted (DeleteGroup was issued; GetGroup, before {write}, finds it missing)"
                self.group_deleted(replace(wf, resume=None), reason)
                return
            self.finish(wf, WorkflowState.GONE, f"group no longer exists (GetGroup, before {write})")
            return
        refusal = self.policy.safety.refusal(wf.group_id, event.name, event.tags)
        if refusal is not None:
            reason = f"{refusal}, found while the workflow ran; stopped before {write}"
            self.finish(wf, WorkflowState.REJECTED, reason)
            return
        wf = replace(
            wf,
            pending=call,
            resume=None,
            checked_at=self.now,
            next_action_at=self.now,
            latest_version=event.latest_version or wf.latest_version,
        )
        self.set_active(self.step(wf, StepKind.INSPECTED, f"still exists and is not protected: {write}"))

    def plan(self, wf: Workflow) -> tuple[str, ...]:
        """The steps a real run takes from here: the same policy that `start_reset` and
        `reset_did_not_work` apply, spelled out."""
        steps: list[str] = []
        policy = wf.request.force
        recheck = (
            f"re-check the protection tag if the last check is older than "
            f"{self.policy.protection_freshness_s}s, then "
        )
        if policy is ForcePolicy.IMMEDIATELY:
            steps.append("ResetDeployments(Force=True)")
        else:
            steps.append("ResetDeployments(Force=False) and wait for its Success")
            if policy is ForcePolicy.AUTO:
                steps.append(
                    f"if it fails or the core is silent for {self.policy.reset_timeout_s}s: "
                    f"{recheck}ResetDeployments(Force=True)"
                )
            else:
                steps.append(f"if it fails or the core is silent for {self.policy.reset_timeout_s}s: FAILED")
        if wf.kind is RequestKind.DELETION:
            steps.append(f"{recheck}DeleteGroup")
            steps.extend(self.teardown_plan(wf))
        return tuple(steps)

    @staticmethod
    def teardown_plan(wf: Workflow) -> list[str]:
        """What the teardown would do with each resource, as its users stood when collected (a real run
        asks again right before each delete)."""
        if not wf.collected:
            return []
        if not wf.resources:
            return [f"teardown={wf.teardown}: nothing else to delete"]
        steps = []
        for resource in wf.resources:
            if resource.used_by:
                steps.append(f"keep {resource.describe()}: used by {', '.join(resource.used_by)}")
            else:
                steps.append(f"delete {resource.describe()} ({resource.arn})")
        return steps

    def start_reset(self, wf: Workflow, *, forced: bool) -> None:
        timeout = self.policy.force_timeout_s if forced else self.policy.reset_timeout_s
        call = PendingCall.FORCE_RESET if forced else PendingCall.RESET
        wf = replace(
            wf,
            state=WorkflowState.FORCE_RESETTING if forced else WorkflowState.RESETTING,
            pending=call,
            next_action_at=self.now,
            deadline_at=self.now + timedelta(seconds=timeout),
            deployment_id=None,
            forced=wf.forced or forced,
            failures=NO_FAILURES,
            token_generation=0,
            unconfirmed_reset_since=None,
        )
        self.set_active(wf)

    def after_reset(self, wf: Workflow, why: str) -> None:
        if wf.kind is RequestKind.DELETION:
            teardown = self.teardown_of(wf.request)
            wf = replace(
                wf,
                state=WorkflowState.DELETING,
                teardown=teardown,
                pending=PendingCall.DELETE
                if teardown is Teardown.GROUP or wf.collected
                else PendingCall.COLLECT,
                next_action_at=self.now,
                deadline_at=None,
                deployment_id=None,  # late news of the reset deployment must not touch the deletion
                failures=NO_FAILURES,
            )
            self.set_active(self.step(wf, StepKind.DELETE_STARTED, f"{why}; deleting the group"))
        else:
            self.finish(wf, WorkflowState.RESET, why)

    def reset_did_not_work(self, wf: Workflow, why: str) -> None:
        if wf.state is WorkflowState.FORCE_RESETTING:
            self.finish(wf, WorkflowState.FAILED, f"forced reset did not complete: {why}")
        elif wf.request.force is ForcePolicy.NEVER:
            self.finish(wf, WorkflowState.FAILED, f"{why}; force=never, so no forced reset")
        else:
            wf = self.step(wf, StepKind.ESCALATED, f"{why}: escalating to ResetDeployments(Force=True)")
            self.start_reset(wf, forced=True)

    def on_call_failed(self, wf: Workflow, event: CallFailed) -> None:
        error = f"{event.code}: {event.message}"
        if event.call is PendingCall.CHECK_CONNECTIVITY:
            # Evidence only: without it, the reset is awaited as it would be without a source.
            self.wait_for_the_reset(wf, f"connectivity unknown ({event.error}, {error})")
            return
        match event.error:
            case ErrorKind.NOT_FOUND:
                if event.call is PendingCall.DELETE and next_resource(wf.resources) is not None:
                    # A teardown follows, which leaves this group out of "still used": GetGroup must confirm
                    # the group is gone before anything it references is deleted.
                    self.confirm_missing(wf, event, error)
                elif event.call is PendingCall.DELETE:
                    # This workflow found the group and reset it; its deletion is what was asked. A not-found
                    # here is most often an earlier DeleteGroup whose answer was lost (a retry, a crashed
                    # worker's call re-driven), so the outcome is DELETED either way.
                    self.group_deleted(wf, f"group deleted (DeleteGroup then answered {error})")
                elif event.call is PendingCall.TEAR_DOWN:
                    self.resource_ended(wf, ResourceOutcome.ALREADY_GONE, f"not found ({error})")
                elif event.call in (PendingCall.INSPECT, PendingCall.RECHECK):
                    # GetGroup itself answers "missing" as GroupInspected(exists=False); a not-found
                    # here came from elsewhere and proves nothing about the group.
                    self.retry(wf, event, error)
                elif event.call is PendingCall.CONFIRM_FAILURE:
                    # The group was just found; it has no such deployment.
                    self.failure_not_confirmed(wf, f"GetDeploymentStatus answered not found ({error})")
                else:
                    self.confirm_missing(wf, event, error)
            case ErrorKind.NOT_DEPLOYED if event.call in (PendingCall.RESET, PendingCall.FORCE_RESET):
                wf = replace(wf, pending=None, next_action_at=None)
                self.after_reset(wf, NOT_DEPLOYED_REASON)
            case ErrorKind.DEPLOYMENT_IN_PROGRESS if event.call in (
                PendingCall.RESET,
                PendingCall.FORCE_RESET,
            ):
                if wf.deadline_at is not None and self.now >= wf.deadline_at:
                    self.reset_did_not_work(
                        wf, f"a deployment was still in progress at the deadline ({error})"
                    )
                    return
                retry_at = self.now + timedelta(seconds=self.policy.busy_retry_s)
                if wf.deadline_at is not None:
                    retry_at = min(retry_at, wf.deadline_at)
                wf = replace(
                    wf,
                    next_action_at=retry_at,
                    token_generation=wf.token_generation + 1,
                    failures=NO_FAILURES,
                )
                self.set_active(
                    self.step(
                        wf,
                        StepKind.RETRY_SCHEDULED,
                        f"another deployment is in progress; retry at {retry_at:%H:%M:%S}",
                    )
                )
            case ErrorKind.THROTTLED:
                self.retry(wf, event, error)
            case (
                ErrorKind.SERVER_ERROR
                | ErrorKind.UNKNOWN
                | ErrorKind.NOT_DEPLOYED
                | ErrorKind.DEPLOYMENT_IN_PROGRESS
            ):
                self.retry(self.maybe_started(wf, event), event, error)
            case ErrorKind.BAD_REQUEST if event.call is PendingCall.TEAR_DOWN:
                self.resource_ended(wf, ResourceOutcome.FAILED, f"refused: {error}")
            case ErrorKind.BAD_REQUEST:
                self.finish(wf, WorkflowState.FAILED, f"{event.call} refused: {error}")

    def resource_ended(self, wf: Workflow, outcome: ResourceOutcome, detail: str) -> None:
        current = next_resource(wf.resources)
        if current is not None:
            self.on_torn_down(wf, current.arn, outcome, detail)

    def asks_connectivity(self, wf: Workflow, *, forced: bool) -> bool:
        """A normal reset that Force may follow (force=auto), with a connectivity source configured."""
        return (
            self.policy.force_when_disconnected_for_s is not None
            and not forced
            and wf.request.force is ForcePolicy.AUTO
        )

    def on_connectivity(self, wf: Workflow, event: ConnectivityChecked) -> None:
        """Evidence, not proof: a core disconnected for longer than the threshold is reset with Force now
        (the protection check before it is made as for any forced reset); anything else waits for the
        reset's own answer until the deadline, as without a source."""
        threshold = self.policy.force_when_disconnected_for_s
        thing = event.thing_name or "(no core in the latest version)"
        if event.connected is False and event.since is not None and threshold is not None:
            away = self.now - event.since
            if away >= timedelta(seconds=threshold):
                why = (
                    f"core thing {thing} disconnected since {event.since:%Y-%m-%dT%H:%M:%SZ} (fleet index), "
                    f"longer than {threshold}s"
                )
                wf = self.step(
                    replace(wf, pending=None, failures=NO_FAILURES),
                    StepKind.ESCALATED,
                    f"{why}: escalating to ResetDeployments(Force=True) without waiting for the deadline",
                )
                self.start_reset(wf, forced=True)
                return
            said = f"disconnected only since {event.since:%Y-%m-%dT%H:%M:%SZ}"
        elif event.connected is None:
            said = "not in the fleet index"
        else:
            said = "connected" if event.connected else "disconnected, since when unknown"
        self.wait_for_the_reset(wf, f"core thing {thing} {said} (fleet index)")

    def wait_for_the_reset(self, wf: Workflow, why: str) -> None:
        wf = replace(wf, pending=PendingCall.POLL, next_action_at=wf.deadline_at, failures=NO_FAILURES)
        self.set_active(
            self.step(wf, StepKind.CONNECTIVITY_CHECKED, f"{why}: waiting for the reset until the deadline")
        )

    def maybe_started(self, wf: Workflow, event: CallFailed) -> Workflow:
        """A reset call whose answer says nothing about its effect may have started a reset: remember
        since when, so the retry adopts it rather than start a second one (see `StartReset.adopt_since`)."""
        if event.call not in (PendingCall.RESET, PendingCall.FORCE_RESET) or wf.unconfirmed_reset_since:
            return wf
        return replace(wf, unconfirmed_reset_since=self.now - UNCONFIRMED_CALL_WINDOW)

    def confirm_missing(self, wf: Workflow, event: CallFailed, error: str) -> None:
        """A call answered "not found": only GetGroup may say the group is gone, so ask it before
        recording GONE. A group that is still there gets the call again, within the unknown-error
        budget (an answer nobody recognises must not loop)."""
        failures = wf.failures.plus_one(event.error)
        if failures.of(event.error) >= self.policy.attempt_limit(event.error):
            self.finish(
                wf,
                WorkflowState.FAILED,
                f"{event.call} kept answering not found ({error}) while the group exists",
            )
            return
        wf = replace(
            wf, failures=failures, pending=PendingCall.RECHECK, resume=event.call, next_action_at=self.now
        )
        detail = f"{event.call} answered not found ({error}); confirming with GetGroup"
        self.set_active(self.step(wf, StepKind.RETRY_SCHEDULED, detail))

    def retry(self, wf: Workflow, event: CallFailed, error: str) -> None:
        """Try the call again after a backoff, within the budget of this kind of error: each kind counts
        on its own (`Workflow.failures`), so a few 429s never use up the attempts a 5xx gets."""
        failures = wf.failures.plus_one(event.error)
        attempts = failures.of(event.error)
        limit = self.policy.attempt_limit(event.error)
        if attempts >= limit:
            reason = f"{event.call} failed {attempts} times; last error {error}"
            if failures.total > attempts:
                reason += f" ({failures.total} failed attempts in all)"
            if event.call is PendingCall.TEAR_DOWN:
                # The group is deleted already: the other resources still get their turn.
                self.resource_ended(wf, ResourceOutcome.FAILED, reason)
                return
            self.finish(wf, WorkflowState.FAILED, reason)
            return
        retry_at = self.now + timedelta(seconds=self.policy.backoff_s(failures.total, wf.workflow_id))
        wf = replace(wf, failures=failures, next_action_at=retry_at)
        detail = (
            f"{event.call} failed ({event.error}, attempt {attempts}/{limit}): {error}; "
            f"retry at {retry_at:%H:%M:%S}"
        )
        self.set_active(self.step(wf, StepKind.RETRY_SCHEDULED, detail))

    # --- ending and driving ----------------------------------------------------------------------------

    def finish(self, wf: Workflow, state: WorkflowState, reason: str) -> None:
        wf = replace(
            wf,
            state=state,
            reason=reason,
            pending=None,
            next_action_at=None,
            deadline_at=None,
            finished_at=self.now,
        )
        wf = self.step(wf, StepKind.FINISHED, reason)
        self.set_active(wf)
        if state in (WorkflowState.FAILED, WorkflowState.NOTIFIED):
            self.actions.append(Notify(wf.group_id, wf.workflow_id, state, reason))
        if self.record.active is None and self.record.queued:
            request, *rest = self.record.queued
            self.record = replace(self.record, queued=tuple(rest))
            self.start(request)

    def stale(self, wf: Workflow) -> bool:
        """Whether the protection check is too old to cover a Greengrass write now."""
        fresh_for = timedelta(seconds=self.policy.protection_freshness_s)
        return wf.checked_at is None or self.now - wf.checked_at > fresh_for

    def drive(self) -> None:
        """Ask for the pending call if it is due, and take the lease on it."""
        wf = self.record.active
        if wf is None or wf.pending is None or wf.next_action_at is None or wf.next_action_at > self.now:
            return
        if wf.pending in WRITE_NAMES and self.stale(wf):
            wf = replace(wf, pending=PendingCall.RECHECK, resume=wf.pending)
        action: Action
        match wf.pending:
            case PendingCall.INSPECT:
                action = InspectGroup(wf.group_id)
            case PendingCall.CONFIRM_FAILURE:
                if wf.request.trigger_deployment_id is None:
                    return
                action = ConfirmFailure(wf.group_id, wf.request.trigger_deployment_id)
            case PendingCall.RECHECK:
                action = InspectGroup(wf.group_id, recheck=True)
            case PendingCall.RESET | PendingCall.FORCE_RESET:
                force = wf.pending is PendingCall.FORCE_RESET
                action = StartReset(
                    wf.group_id,
                    force=force,
                    client_token=wf.client_token(force=force),
                    adopt_since=wf.unconfirmed_reset_since,
                )
            case PendingCall.POLL:
                if wf.deployment_id is None:
                    return
                action = PollDeployment(wf.group_id, wf.deployment_id)
            case PendingCall.CHECK_CONNECTIVITY:
                action = CheckConnectivity(wf.group_id, wf.latest_version)
            case PendingCall.DELETE:
                action = DeleteGroup(wf.group_id)
                # Saved with the lease, before the call: whatever becomes of its answer, the ledger knows.
                wf = replace(wf, delete_issued=True)
            case PendingCall.COLLECT:
                action = CollectTeardown(wf.group_id, wf.teardown)
            case PendingCall.TEAR_DOWN:
                resource = next_resource(wf.resources)
                if resource is None:
                    return
                action = TearDownResource(wf.group_id, resource)
            case PendingCall.FIND_ROLLBACK:
                action = FindRollbackTarget(
                    wf.group_id, wf.request.trigger_deployment_id, self.policy.rollback_max_checked
                )
            case PendingCall.ROLLBACK:
                if wf.rollback_of is None:
                    return
                action = StartRollback(
                    wf.group_id, wf.rollback_of, wf.rollback_token(), group_version_id=wf.rollback_version
                )
        self.actions.append(action)
        self.set_active(replace(wf, next_action_at=self.now + CALL_LEASE))
