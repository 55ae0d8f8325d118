"""Pacing: a call the request budget cannot fit into the invocation is deferred (CallDeferred) at no cost
to its retry budget, a sweep under a throttling API paces itself and leaves nothing failed, and a reset's
deadline counts from the moment the reset exists."""

from __future__ import annotations

from datetime import timedelta

from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import CallDeferred, GroupInspected, RequestReceived, ResetAccepted
from gg_reset.domain.model import GroupRecord, PendingCall, Request, RequestKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import transition
from gg_reset.shell.budget import RequestBudget
from gg_reset.shell.service import ResetService
from support.fakes import EPOCH, FakeGreengrass, InMemoryLedger, ManualClock, RecordingNotifier, error

POLICY = WorkflowPolicy()


def inspecting() -> GroupRecord:
    request = Request("r1", RequestKind.RESET, "g", EPOCH)
    return transition(GroupRecord(group_id="g"), RequestReceived(request), EPOCH, POLICY).record


def test_a_deferred_call_is_retried_after_the_pause_without_costing_an_attempt_or_a_step() -> None:
    record = inspecting()
    not_before = EPOCH + timedelta(seconds=5)
    decision = transition(record, CallDeferred(PendingCall.INSPECT, not_before), EPOCH, POLICY)

    active = decision.record.active
    assert active is not None
    assert active.pending is PendingCall.INSPECT
    assert active.attempts == 0
    assert active.next_action_at == not_before  # the budget paces the calls when they come back
    assert decision.steps == ()
    assert decision.actions == ()


def test_a_deferral_of_a_call_the_workflow_no_longer_waits_for_changes_nothing() -> None:
    record = inspecting()
    decision = transition(record, CallDeferred(PendingCall.DELETE, EPOCH), EPOCH, POLICY)
    assert not decision.changed


def test_deferred_calls_keep_exactly_the_time_they_were_given() -> None:
    """No spreading in the workflow any more: the request budget spaced the times out already."""
    for i in range(20):
        record = transition(
            GroupRecord(group_id=f"g{i}"),
            RequestReceived(Request(f"r{i}", RequestKind.RESET, f"g{i}", EPOCH)),
            EPOCH,
            POLICY,
        ).record
        for not_before in (EPOCH + timedelta(seconds=1 + i), EPOCH + timedelta(seconds=30)):
            deferred = transition(record, CallDeferred(PendingCall.INSPECT, not_before), EPOCH, POLICY)
            assert deferred.record.active is not None
            assert deferred.record.active.next_action_at == not_before


class FixedWait:
    """A request budget that always has the next slot 7 s from now."""

    def reserve(self) -> float:
        return 7.0

    def release(self) -> None:
        return None

    def on_success(self) -> None:
        return None

    def on_throttled(self) -> None:
        return None


def test_a_call_the_budget_defers_is_due_exactly_when_the_budget_has_room() -> None:
    greengrass = FakeGreengrass()
    greengrass.add_group("a")
    service, ledger, clock = service_with(greengrass)
    service.budget = FixedWait()  # type: ignore[assignment]
    request = Request("r-a", RequestKind.RESET, "a", EPOCH)
    service.handle("a", RequestReceived(request), until=clock.now())
    assert sum(greengrass.calls.values()) == 0
    active = ledger.load("a").active
    assert active is not None
    assert (active.pending, active.attempts, active.next_action_at) == (
        PendingCall.INSPECT,
        0,
        EPOCH + timedelta(seconds=7),
    )
    assert ledger.due_groups(EPOCH + timedelta(seconds=6)) == []
    assert ledger.due_groups(EPOCH + timedelta(seconds=7)) == ["a"]


def test_the_core_gets_its_full_timeout_from_the_moment_the_reset_exists() -> None:
    record = transition(inspecting(), GroupInspected(exists=True), EPOCH, POLICY).record
    late = EPOCH + timedelta(seconds=400)  # throttling held the call back for 400 s
    active = transition(record, ResetAccepted("dep-1", forced=False), late, POLICY).record.active
    assert active is not None
    assert active.state is WorkflowState.RESETTING
    assert active.deadline_at == late + timedelta(seconds=POLICY.reset_timeout_s)
    assert active.next_action_at == active.deadline_at  # the one poll, at that deadline


def service_with(greengrass: FakeGreengrass) -> tuple[ResetService, InMemoryLedger, ManualClock]:
    ledger, clock = InMemoryLedger(), ManualClock()
    service = ResetService(
        ledger=ledger, greengrass=greengrass, notifier=RecordingNotifier(), clock=clock, policy=POLICY
    )
    return service, ledger, clock


def test_a_sweep_against_a_throttling_api_paces_itself_and_fails_nothing() -> None:
    greengrass = FakeGreengrass()
    for gid in ("a", "b", "c"):
        greengrass.add_group(gid)
    service, ledger, clock = service_with(greengrass)
    service.budget = RequestBudget(2.0, clock)
    greengrass.script("inspect_group", *[error(ErrorKind.THROTTLED, "GetGroup")] * 3)
    for gid in ("a", "b", "c"):  # the requests' inspections are throttled: each is left to a ledger retry
        service.handle(
            gid,
            RequestReceived(Request(f"r-{gid}", RequestKind.RESET, gid, clock.now())),
            until=clock.now(),
        )
    clock.advance(600)
    greengrass.script("inspect_group", error(ErrorKind.THROTTLED, "GetGroup"))

    report = service.sweep()

    assert sorted(report.looked_at) == ["a", "b", "c"] and report.failed == ()
    assert greengrass.calls["reset_deployments"] == 3  # the 429 was absorbed within the sweep
    assert service.budget.throttles >= 1
    for gid in ("a", "b", "c"):
        active = ledger.load(gid).active
        assert active is not None and active.state is WorkflowState.RESETTING
