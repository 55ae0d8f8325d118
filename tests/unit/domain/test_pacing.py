"""Pacing under throttling: a worker that was just throttled holds its calls back (CallDeferred) instead
of adding to the load, and a reset's deadline counts from the moment the reset exists."""

from __future__ import annotations

from datetime import timedelta

from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import CallDeferred, GroupInspected, RequestReceived, ResetAccepted
from gg_reset.domain.model import GroupRecord, PendingCall, Request, RequestKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import transition
from gg_reset.service import ResetService
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
    assert active.next_action_at is not None
    assert not_before < active.next_action_at <= not_before + timedelta(seconds=POLICY.busy_retry_s)
    assert decision.steps == ()
    assert decision.actions == ()


def test_a_deferral_of_a_call_the_workflow_no_longer_waits_for_changes_nothing() -> None:
    record = inspecting()
    decision = transition(record, CallDeferred(PendingCall.DELETE, EPOCH), EPOCH, POLICY)
    assert not decision.changed


def test_deferred_calls_of_many_groups_are_spread_out() -> None:
    times = set()
    for i in range(50):
        request = Request(f"r{i}", RequestKind.RESET, f"g{i}", EPOCH)
        record = transition(GroupRecord(group_id=f"g{i}"), RequestReceived(request), EPOCH, POLICY).record
        active = transition(record, CallDeferred(PendingCall.INSPECT, EPOCH), EPOCH, POLICY).record.active
        assert active is not None
        times.add(active.next_action_at)
    assert len(times) > 5


def test_the_core_gets_its_full_timeout_from_the_moment_the_reset_exists() -> None:
    record = transition(inspecting(), GroupInspected(exists=True), EPOCH, POLICY).record
    late = EPOCH + timedelta(seconds=400)  # throttling held the call back for 400 s
    active = transition(record, ResetAccepted("dep-1", forced=False), late, POLICY).record.active
    assert active is not None
    assert active.state is WorkflowState.RESETTING
    assert active.deadline_at == late + timedelta(seconds=POLICY.reset_timeout_s)


def service_with(greengrass: FakeGreengrass) -> tuple[ResetService, InMemoryLedger, ManualClock]:
    ledger, clock = InMemoryLedger(), ManualClock()
    service = ResetService(
        ledger=ledger, greengrass=greengrass, notifier=RecordingNotifier(), clock=clock, policy=POLICY
    )
    return service, ledger, clock


def test_after_a_throttle_the_service_holds_calls_back_for_a_moment() -> None:
    greengrass = FakeGreengrass()
    for gid in ("a", "b", "c"):
        greengrass.add_group(gid)
    greengrass.script("inspect_group", error(ErrorKind.THROTTLED, "GetGroup"))
    service, ledger, clock = service_with(greengrass)

    for gid in ("a", "b", "c"):
        service.handle(gid, RequestReceived(Request(f"r-{gid}", RequestKind.RESET, gid, EPOCH)))

    assert greengrass.calls["inspect_group"] == 1  # b and c were held back, not sent into the throttle
    assert service.paced
    for gid in ("b", "c"):
        active = ledger.load(gid).active
        assert active is not None
        assert active.attempts == 0
    clock.advance(60)
    assert not service.paced
    report = service.sweep()
    assert sorted(report.looked_at) == ["a", "b", "c"]
    assert greengrass.calls["reset_deployments"] == 3


def test_a_throttled_sweep_stops_and_leaves_the_rest_due() -> None:
    greengrass = FakeGreengrass()
    for gid in ("a", "b", "c"):
        greengrass.add_group(gid)
    service, ledger, clock = service_with(greengrass)
    greengrass.script("inspect_group", *[error(ErrorKind.THROTTLED, "GetGroup")] * 3)
    for gid in ("a", "b", "c"):
        clock.advance(10)  # each request after the previous pause
        service.handle(gid, RequestReceived(Request(f"r-{gid}", RequestKind.RESET, gid, clock.now())))
    clock.advance(600)
    greengrass.script("inspect_group", error(ErrorKind.THROTTLED, "GetGroup"))

    report = service.sweep()

    assert len(report.looked_at) == 1
    still_due = ledger.due_groups(clock.now())
    assert len(still_due) == 2
    assert report.looked_at[0] not in still_due
