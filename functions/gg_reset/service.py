"""The imperative shell around the pure workflow: load, decide, save, act, feed the answer back.

The same `ResetService` runs in the worker and sweeper Lambdas, in the local runtime and in tests; only
the adapters passed to it differ.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from gg_reset.contracts import DeploymentType
from gg_reset.domain.actions import Action, DeleteGroup, InspectGroup, Notify, PollDeployment, StartReset
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.domain.events import (
    CallDeferred,
    CallFailed,
    DeploymentStatusReported,
    Event,
    GroupDeleted,
    GroupInspected,
    ResetAccepted,
    Tick,
)
from gg_reset.domain.model import GroupRecord, PendingCall
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import Decision, transition
from gg_reset.ledger import LedgerPort, VersionConflict
from gg_reset.ports import Clock, GreengrassPort

logger = logging.getLogger(__name__)

MAX_CONFLICTS = 8
MAX_STEPS_PER_EVENT = 16
"""A handful of calls answer one event (inspect, reset, delete); more means a bug, not work."""


class Notifier(Protocol):
    def notify(self, notice: Notify) -> None: ...


class Telemetry(Protocol):
    def record(self, decision: Decision) -> None:
        """Called once per saved decision: count requests, outcomes, force fallbacks, latency."""
        ...


class NullTelemetry:
    def record(self, decision: Decision) -> None:
        return None


@dataclass(frozen=True, slots=True)
class HandleResult:
    record: GroupRecord
    throttled: bool = False
    """A call was throttled and a retry is scheduled: the worker hands the message back to SQS."""


@dataclass(frozen=True, slots=True)
class SweepReport:
    looked_at: tuple[str, ...]
    failed: tuple[str, ...]


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
    ) -> None:
        self.ledger = ledger
        self.greengrass = greengrass
        self.notifier = notifier
        self.clock = clock
        self.policy = policy
        self.telemetry = telemetry or NullTelemetry()
        self._paced_until: datetime | None = None

    @property
    def paced(self) -> bool:
        """Greengrass throttled this worker moments ago: hold calls back instead of adding to the load."""
        return self._paced_until is not None and self.clock.now() < self._paced_until

    def handle(self, group_id: str, event: Event) -> HandleResult:
        """Apply `event` to the group and carry out every call it leads to, saving before each call."""
        record = self.ledger.load(group_id)
        current: Event | None = event
        conflicts = 0
        steps = 0
        throttled = False
        while current is not None:
            steps += 1
            if steps > MAX_STEPS_PER_EVENT:
                raise RuntimeError(f"group {group_id}: more than {MAX_STEPS_PER_EVENT} steps for one event")
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
            current = self._act(decision.actions)
            if isinstance(current, CallFailed) and current.error is ErrorKind.THROTTLED:
                throttled = True
                self._paced_until = self.clock.now() + timedelta(seconds=self.policy.backoff_base_s)
        return HandleResult(record=record, throttled=throttled)

    def sweep(self, limit: int = 500, should_stop: Callable[[], bool] | None = None) -> SweepReport:
        """Tick every group whose workflow is due. One group's failure does not stop the others: it
        stays due and is retried on the next sweep."""
        groups = self.ledger.due_groups(self.clock.now(), limit)
        failed: list[str] = []
        looked_at: list[str] = []
        for group_id in groups:
            if self.paced or (should_stop is not None and should_stop()):
                break  # the rest stay due: the next sweep takes them (API recovered, fresh time budget)
            looked_at.append(group_id)
            try:
                self.handle(group_id, Tick())
            except Exception:
                logger.exception("sweep failed for group", extra={"group_id": group_id})
                failed.append(group_id)
        return SweepReport(looked_at=tuple(looked_at), failed=tuple(failed))

    def _act(self, actions: Sequence[Action]) -> Event | None:
        answer: Event | None = None
        for action in actions:
            if isinstance(action, Notify):
                self._notify(action)
            else:
                answer = self._call(action)
        return answer

    def _notify(self, notice: Notify) -> None:
        try:
            self.notifier.notify(notice)
        except Exception:
            # The outcome is already in the ledger and counted as a metric (with its alarm); a lost
            # notification must not undo or repeat the step.
            logger.exception("notification failed", extra={"group_id": notice.group_id})

    def _call(self, action: InspectGroup | StartReset | PollDeployment | DeleteGroup) -> Event:
        if self.paced and self._paced_until is not None:
            return CallDeferred(call=pending_call_of(action), not_before=self._paced_until)
        try:
            match action:
                case InspectGroup(group_id=gid):
                    facts = self.greengrass.inspect_group(gid)
                    return GroupInspected(exists=facts.exists, tags=dict(facts.tags))
                case StartReset(group_id=gid, force=force, client_token=token):
                    deployment_id = self.greengrass.reset_deployments(gid, force=force, client_token=token)
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
        except GreengrassError as error:
            logger.warning(
                "greengrass call failed",
                extra={"group_id": action.group_id, "error_kind": str(error.kind), "error": str(error)},
            )
            return CallFailed(
                call=pending_call_of(action), error=error.kind, code=error.code, message=error.message
            )
        except Exception as error:  # an adapter bug must still end in bounded retries, not a crash loop
            logger.exception(
                "unexpected error from the greengrass adapter", extra={"group_id": action.group_id}
            )
            return CallFailed(
                call=pending_call_of(action),
                error=ErrorKind.UNKNOWN,
                code=type(error).__name__,
                message=str(error),
            )


def pending_call_of(action: InspectGroup | StartReset | PollDeployment | DeleteGroup) -> PendingCall:
    match action:
        case InspectGroup(recheck=True):
            return PendingCall.RECHECK
        case InspectGroup():
            return PendingCall.INSPECT
        case StartReset(force=True):
            return PendingCall.FORCE_RESET
        case StartReset():
            return PendingCall.RESET
        case PollDeployment():
            return PendingCall.POLL
        case DeleteGroup():
            return PendingCall.DELETE
