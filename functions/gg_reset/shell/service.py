"""The imperative shell around the pure workflow: load, decide, save, act, feed the answer back.

The same `ResetService` runs in the worker and sweeper Lambdas, in the local runtime and in tests; only
the adapters passed to it differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from gg_reset.domain.actions import (
    Action,
    CheckConnectivity,
    CollectTeardown,
    ConfirmFailure,
    DeleteGroup,
    FindRollbackTarget,
    GreengrassAction,
    InspectGroup,
    Notify,
    PollDeployment,
    StartReset,
    StartRollback,
    TearDownResource,
)
from gg_reset.domain.enums import DeploymentType
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.domain.events import (
    CallDeferred,
    CallFailed,
    ConnectivityChecked,
    DeploymentStatusReported,
    Event,
    FailureChecked,
    GroupDeleted,
    GroupInspected,
    ResetAccepted,
    ResourceTornDown,
    RollbackStarted,
    RollbackTargetFound,
    TeardownCollected,
    Tick,
)
from gg_reset.domain.model import GroupRecord
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import transition
from gg_reset.ports import (
    Clock,
    ConnectivityPort,
    GreengrassPort,
    LedgerPort,
    Notifier,
    NoTimers,
    NullTelemetry,
    Pace,
    TeardownPort,
    Telemetry,
    TimerPort,
    VersionConflict,
    unpaced,
)
from gg_reset.shell.budget import RequestBudget

logger = logging.getLogger(__name__)

MAX_CONFLICTS = 8
MAX_STEPS_PER_EVENT = 16
"""A handful of calls answer one event (inspect, reset, delete); more means a bug, not work. A teardown
adds one step per resource it deletes or keeps (`_step_limit`)."""


@dataclass(frozen=True, slots=True)
class HandleResult:
    record: GroupRecord


@dataclass(frozen=True, slots=True)
class SweepReport:
    looked_at: tuple[str, ...]
    failed: tuple[str, ...]


MAX_ABSORBED_THROTTLES = 10
"""429s one call may absorb by waiting within an invocation before the workflow's own (ledger-kept,
timer-driven) retry takes over."""


class ResetService:
    def __init__(
        self,
        *,
        ledger: LedgerPort,
        greengrass: GreengrassPort,
        notifier: Notifier,
        clock: Clock,
        policy: WorkflowPolicy,
        telemetry: Telemetry | None = None,
        budget: RequestBudget | None = None,
        timers: TimerPort | None = None,
        teardown: TeardownPort | None = None,
        connectivity: ConnectivityPort | None = None,
    ) -> None:
        self.ledger = ledger
        self.greengrass = greengrass
        self.notifier = notifier
        self.clock = clock
        self.policy = policy
        self.telemetry = telemetry or NullTelemetry()
        self.budget = budget
        """Paces Greengrass calls; None: unpaced (a 429 then goes straight to the workflow's retry)."""
        self.timers: TimerPort = timers or NoTimers()
        self.teardown = teardown
        """Definitions, things and certificates of deleted groups; None: deletions remove the group only
        (a teardown asked of such a service fails its step with a clear error)."""
        self.connectivity = connectivity
        """AWS IoT fleet indexing, when the deployment has one (`force_when_disconnected_for_s`)."""

    def handle(
        self,
        group_id: str,
        event: Event,
        *,
        until: datetime | None = None,
        timer_for: datetime | None = None,
    ) -> HandleResult:
        """Apply `event` to the group and carry out every call it leads to, saving before each call.

        `until`: when the invocation must be done with this group; a call the budget cannot fit before it
        is deferred to the ledger (and its timer) instead. `timer_for`: the due time of the timer message
        that brought this tick (see `_arm_timer`).
        """
        record = self.ledger.load(group_id)
        due_before = _due(record)
        current: Event | None = event
        conflicts = 0
        steps = 0
        while current is not None:
            steps += 1
            if steps > _step_limit(record):
                raise RuntimeError(f"group {group_id}: more than {_step_limit(record)} steps for one event")
            decision = transition(record, current, self.clock.now(), self.policy)
            if decision.changed:
                try:
                    record = self.ledger.save(record, decision)
                except VersionConflict:
                    conflicts += 1
                    if conflicts > MAX_CONFLICTS:
                        raise
                    logger.info("ledger version conflict; deciding again", extra={"group_id": group_id})
                    record = self.ledger.load(group_id)
                    continue  # the same event, decided against the fresh record
                self.telemetry.record(decision)
            current = self._act(decision.actions, until)
        self._arm_timer(record, due_before, timer_for)
        return HandleResult(record=record)

    def _arm_timer(
        self, record: GroupRecord, due_before: datetime | None, timer_for: datetime | None
    ) -> None:
        """One timer per due time: whoever moves a workflow's due time arms the timer for the new one.

        A timer that fires before its time (SQS delays at most 15 minutes) finds the due time it was
        armed for unchanged and arms itself again; a stale timer (the due time moved meanwhile, so
        someone else armed the new one) dies quietly, so timers never multiply.
        """
        due = _due(record)
        if due is None:
            return
        early = timer_for is not None and due == timer_for and due > self.clock.now()
        if due == due_before and not early:
            return
        try:
            self.timers.schedule(record.group_id, due)
        except Exception:
            # The workflow is safe in the ledger; the sweeper drives it once it is overdue.
            logger.exception("could not arm the workflow timer", extra={"group_id": record.group_id})

    def sweep(
        self,
        limit: int = 500,
        should_stop: Callable[[], bool] | None = None,
        *,
        grace: timedelta = timedelta(0),
        until: datetime | None = None,
    ) -> SweepReport:
        """Tick every group whose workflow is overdue by more than `grace` (its timer should have fired by
        then). One group's failure does not stop the others: it stays due and is retried next sweep."""
        groups = self.ledger.due_groups(self.clock.now() - grace, limit)
        failed: list[str] = []
        looked_at: list[str] = []
        for group_id in groups:
            if should_stop is not None and should_stop():
                break  # the rest stay due: the next sweep takes them with a fresh time budget
            looked_at.append(group_id)
            try:
                self.handle(group_id, Tick(), until=until)
            except Exception:
                logger.exception("sweep failed for group", extra={"group_id": group_id})
                failed.append(group_id)
        return SweepReport(looked_at=tuple(looked_at), failed=tuple(failed))

    def _act(self, actions: Sequence[Action], until: datetime | None) -> Event | None:
        answer: Event | None = None
        for action in actions:
            if isinstance(action, Notify):
                self._notify(action)
            else:
                answer = self._paced_call(action, until)
        return answer

    def _notify(self, notice: Notify) -> None:
        try:
            self.notifier.notify(notice)
        except Exception:
            # The outcome is already in the ledger and counted as a metric (with its alarm); a lost
            # notification must not undo or repeat the step.
            logger.exception("notification failed", extra={"group_id": notice.group_id})

    def _paced_call(self, action: GreengrassAction, until: datetime | None) -> Event:
        """The call, at the pace of the request budget; a 429 is absorbed here by waiting for the budget
        (which slows down), as long as the invocation has time left.

        A teardown action makes a varying number of Greengrass calls (the reference index, a definition's
        delete): the adapter paces each of them itself through `pace`, instead of the action taking one slot.
        """
        if self.budget is None:
            return self._call(action, unpaced)
        per_call = isinstance(action, (CollectTeardown, TearDownResource, CheckConnectivity))
        pace = self._pacer(until)
        throttles = 0
        while True:
            try:
                if not per_call:
                    pace()
                answer = self._call(action, pace)
            except _OutOfTime as late:
                return CallDeferred(call=action.call, not_before=late.ready_at)
            if not (isinstance(answer, CallFailed) and answer.error is ErrorKind.THROTTLED):
                self.budget.on_success()
                return answer
            self.budget.on_throttled()
            throttles += 1
            if throttles >= MAX_ABSORBED_THROTTLES or (until is not None and self.clock.now() >= until):
                return answer  # the workflow schedules the retry (ledger + timer)

    def _pacer(self, until: datetime | None) -> Pace:
        budget = self.budget

        def pace() -> None:
            if budget is None:
                return
            wait = budget.reserve()
            ready_at = self.clock.now() + timedelta(seconds=wait)
            if until is not None and ready_at > until:
                budget.release()
                raise _OutOfTime(ready_at)
            self.clock.sleep(wait)

        return pace

    def _call(self, action: GreengrassAction, pace: Pace) -> Event:
        try:
            match action:
                case InspectGroup(group_id=gid):
                    facts = self.greengrass.inspect_group(gid)
                    return GroupInspected(
                        exists=facts.exists,
                        tags=dict(facts.tags),
                        name=facts.name,
                        latest_version=facts.latest_version,
                    )
                case ConfirmFailure(group_id=gid, deployment_id=did):
                    view = self.greengrass.get_deployment_status(gid, did)
                    return FailureChecked(
                        deployment_id=did,
                        status=view.status,
                        deployment_type=view.deployment_type,
                        error_message=view.error_message,
                    )
                case StartReset(group_id=gid, force=force, client_token=token, adopt_since=since):
                    deployment_id = self.greengrass.reset_deployments(
                        gid, force=force, client_token=token, adopt_since=since
                    )
                    return ResetAccepted(deployment_id=deployment_id, forced=force)
                case PollDeployment(group_id=gid, deployment_id=did):
                    view = self.greengrass.get_deployment_status(gid, did)
                    return DeploymentStatusReported(
                        deployment_id=did,
                        deployment_type=view.deployment_type or DeploymentType.RESET,
                        status=view.status,
                        source="poll",
                        error_message=view.error_message,
                    )
                case DeleteGroup(group_id=gid):
                    self.greengrass.delete_group(gid)
                    return GroupDeleted()
                case FindRollbackTarget(group_id=gid, failed_deployment_id=failed, max_checked=most):
                    target = self.greengrass.find_rollback_target(
                        gid, failed_deployment_id=failed, max_checked=most
                    )
                    return RollbackTargetFound(
                        deployment_id=target.deployment_id,
                        detail=target.detail,
                        group_version_id=target.group_version_id,
                    )
                case StartRollback(
                    group_id=gid, deployment_id=did, client_token=token, group_version_id=version
                ):
                    started = self.greengrass.redeploy(gid, did, client_token=token, group_version_id=version)
                    return RollbackStarted(deployment_id=started)
                case CheckConnectivity(group_id=gid, latest_version=version):
                    if self.connectivity is None:
                        raise GreengrassError(
                            kind=ErrorKind.BAD_REQUEST,
                            operation="SearchIndex",
                            code="ConnectivityNotConfigured",
                            message="this service has no connectivity source",
                        )
                    seen = self.connectivity.core_connectivity(gid, version, pace=pace)
                    return ConnectivityChecked(
                        thing_name=seen.thing_name, connected=seen.connected, since=seen.since
                    )
                case CollectTeardown(group_id=gid, level=level):
                    resources = self._teardown(action).collect(gid, level, pace=pace)
                    return TeardownCollected(resources=resources)
                case TearDownResource(group_id=gid, resource=resource):
                    outcome, detail = self._teardown(action).tear_down(resource, deleted_group=gid, pace=pace)
                    return ResourceTornDown(arn=resource.arn, outcome=outcome, detail=detail)
        except _OutOfTime:
            raise
        except GreengrassError as error:
            logger.warning(
                "greengrass call failed",
                extra={"group_id": action.group_id, "error_kind": str(error.kind), "error": str(error)},
            )
            return CallFailed(call=action.call, error=error.kind, code=error.code, message=error.message)
        except Exception as error:  # an adapter bug must still end in bounded retries, not a crash loop
            logger.exception(
                "unexpected error from the greengrass adapter", extra={"group_id": action.group_id}
            )
            return CallFailed(
                call=action.call,
                error=ErrorKind.UNKNOWN,
                code=type(error).__name__,
                message=str(error),
            )

    def _teardown(self, action: GreengrassAction) -> TeardownPort:
        if self.teardown is None:
            raise GreengrassError(
                kind=ErrorKind.BAD_REQUEST,
                operation=str(action.call),
                code="TeardownNotConfigured",
                message="this service was built without a teardown adapter; deletions remove the group only",
            )
        return self.teardown


class _OutOfTime(Exception):
    """The request budget's next slot comes after the invocation must be done: the call is deferred."""

    def __init__(self, ready_at: datetime) -> None:
        super().__init__(ready_at.isoformat())
        self.ready_at = ready_at


def _step_limit(record: GroupRecord) -> int:
    """`MAX_STEPS_PER_EVENT`, plus one for each resource of the active workflow's teardown."""
    return MAX_STEPS_PER_EVENT + (len(record.active.resources) if record.active is not None else 0)


def _due(record: GroupRecord) -> datetime | None:
    return record.active.due_at if record.active is not None else None
