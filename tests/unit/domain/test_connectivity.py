"""The connectivity source in the pure workflow: when a normal reset asks it, and what each answer does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gg_reset.domain.actions import CheckConnectivity, InspectGroup, PollDeployment, StartReset
from gg_reset.domain.enums import DeploymentStatus, DeploymentType, ForcePolicy
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import (
    CallFailed,
    ConnectivityChecked,
    DeploymentStatusReported,
    Event,
    GroupInspected,
    RequestReceived,
    ResetAccepted,
    Tick,
)
from gg_reset.domain.model import GroupRecord, PendingCall, Request, RequestKind, StepKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import Decision, transition

T0 = datetime(2026, 1, 1, tzinfo=UTC)
HOUR = 3600
POLICY = WorkflowPolicy(force_when_disconnected_for_s=HOUR)
CHECK_AT = T0 + timedelta(seconds=POLICY.connectivity_check_after_s)
DEADLINE = T0 + timedelta(seconds=POLICY.reset_timeout_s)


def waiting(force: ForcePolicy = ForcePolicy.AUTO, policy: WorkflowPolicy = POLICY) -> GroupRecord:
    record = GroupRecord(group_id="g")
    request = Request("r1", RequestKind.DELETION, "g", T0, force=force)
    events: list[Event] = [
        RequestReceived(request),
        GroupInspected(exists=True, latest_version="v-7"),
        ResetAccepted("dep-1", forced=False),
    ]
    for event in events:
        record = transition(record, event, T0, policy).record
    return record


def at_check(record: GroupRecord, event: Event) -> Decision:
    return transition(record, event, CHECK_AT, POLICY)


def test_a_normal_reset_asks_the_source_after_the_short_wait_with_the_latest_version() -> None:
    wf = waiting().active
    assert wf is not None and wf.pending is PendingCall.CHECK_CONNECTIVITY and wf.next_action_at == CHECK_AT
    decision = at_check(waiting(), Tick())
    assert decision.actions == (CheckConnectivity("g", "v-7"),)


@pytest.mark.parametrize("force", [ForcePolicy.NEVER])
def test_force_never_never_asks(force: ForcePolicy) -> None:
    wf = waiting(force).active
    assert wf is not None and wf.pending is PendingCall.POLL and wf.next_action_at == DEADLINE


def test_without_a_source_the_reset_waits_for_its_deadline() -> None:
    wf = waiting(policy=WorkflowPolicy()).active
    assert wf is not None and wf.pending is PendingCall.POLL and wf.next_action_at == DEADLINE


def test_disconnected_longer_than_the_threshold_forces_now() -> None:
    record = at_check(waiting(), Tick()).record
    decision = at_check(record, ConnectivityChecked("g_Core", False, CHECK_AT - timedelta(hours=2)))
    wf = decision.record.active
    assert wf is not None and wf.state is WorkflowState.FORCE_RESETTING and wf.forced
    assert [s.kind for _, s in decision.steps] == [StepKind.ESCALATED]
    assert "g_Core disconnected since" in decision.steps[0][1].detail
    (action,) = decision.actions
    assert isinstance(action, StartReset) and action.force  # the inspection 30 s ago is fresh


def test_the_forced_write_re_checks_a_stale_protection_check_first() -> None:
    strict = WorkflowPolicy(force_when_disconnected_for_s=HOUR, protection_freshness_s=10)
    record = waiting(policy=strict)
    record = transition(record, Tick(), CHECK_AT, strict).record
    decision = transition(
        record, ConnectivityChecked("g_Core", False, T0 - timedelta(days=1)), CHECK_AT, strict
    )
    assert decision.actions == (InspectGroup("g", recheck=True),)


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (ConnectivityChecked("g_Core", False, CHECK_AT - timedelta(minutes=59)), "disconnected only since"),
        (ConnectivityChecked("g_Core", True, T0 - timedelta(days=3)), "connected (fleet index)"),
        (ConnectivityChecked("g_Core", None), "not in the fleet index"),
        (ConnectivityChecked("g_Core", False, None), "since when unknown"),
        (ConnectivityChecked(None, None), "(no core in the latest version)"),
        (
            CallFailed(PendingCall.CHECK_CONNECTIVITY, ErrorKind.THROTTLED, "429", "slow down"),
            "connectivity unknown",
        ),
        (
            CallFailed(PendingCall.CHECK_CONNECTIVITY, ErrorKind.BAD_REQUEST, "403", "no access"),
            "connectivity unknown",
        ),
    ],
)
def test_any_other_answer_waits_for_the_reset_until_the_deadline(answer: Event, said: str) -> None:
    record = at_check(waiting(), Tick()).record
    decision = at_check(record, answer)
    wf = decision.record.active
    assert wf is not None and wf.state is WorkflowState.RESETTING and not wf.forced
    assert wf.pending is PendingCall.POLL and wf.next_action_at == DEADLINE
    assert [s.kind for _, s in decision.steps] == [StepKind.CONNECTIVITY_CHECKED]
    assert said in decision.steps[0][1].detail and decision.actions == ()


def test_success_before_the_check_ends_the_reset_as_ever() -> None:
    success = DeploymentStatusReported("dep-1", DeploymentType.RESET, DeploymentStatus.SUCCESS)
    decision = transition(waiting(), success, T0 + timedelta(seconds=6), POLICY)
    wf = decision.record.active
    assert wf is not None and wf.state is WorkflowState.DELETING


def test_a_late_answer_after_the_success_changes_nothing() -> None:
    success = DeploymentStatusReported("dep-1", DeploymentType.RESET, DeploymentStatus.SUCCESS)
    record = transition(at_check(waiting(), Tick()).record, success, CHECK_AT, POLICY).record
    decision = at_check(record, ConnectivityChecked("g_Core", False, T0 - timedelta(days=1)))
    assert not decision.changed and decision.actions == ()


def test_the_deadline_with_the_check_still_pending_polls_as_ever() -> None:
    record = waiting()
    decision = transition(record, Tick(), DEADLINE, POLICY)
    # The check never happened (a lost lease, a stalled queue): the tick at the deadline makes the one poll.
    assert decision.actions == (PollDeployment("g", "dep-1"),)
    wf = decision.record.active
    assert wf is not None and wf.pending is PendingCall.POLL
