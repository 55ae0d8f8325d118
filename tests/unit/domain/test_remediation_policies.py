"""Remediation policies (the `gg-reset:on-failure` tag): the rules the transition matrix cannot show in one
event, because they need several events, other times or another `WorkflowPolicy`."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from gg_reset.domain.actions import FindRollbackTarget, Notify, PollDeployment, StartReset, StartRollback
from gg_reset.domain.enums import DeploymentStatus, DeploymentType, RemediationPolicy
from gg_reset.domain.events import (
    DeploymentStatusReported,
    Event,
    FailureChecked,
    GroupInspected,
    RequestReceived,
    RollbackStarted,
    RollbackTargetFound,
    Tick,
)
from gg_reset.domain.model import GroupRecord, Request, RequestKind, StepKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.remediation import ON_FAILURE_TAG, chosen_remediation
from gg_reset.domain.workflow import Decision, transition
from support.fakes import EPOCH

GROUP = "g-1"
POLICY = WorkflowPolicy()
RESET_FALLBACK = WorkflowPolicy(rollback_fallback=RemediationPolicy.RESET)
S = WorkflowState


def failure(
    deployment_id: str, deployment_type: DeploymentType = DeploymentType.NEW
) -> DeploymentStatusReported:
    return DeploymentStatusReported(
        deployment_id, deployment_type, DeploymentStatus.FAILURE, error_message="core refused"
    )


def tagged(value: str | None) -> GroupInspected:
    return GroupInspected(exists=True, tags={} if value is None else {ON_FAILURE_TAG: value})


def confirmed(deployment_id: str = "dep-bad") -> FailureChecked:
    """GetDeploymentStatus confirms the failure (every remediation asks before it writes anything)."""
    return FailureChecked(deployment_id, DeploymentStatus.FAILURE, DeploymentType.NEW, "core refused")


def run(
    events: list[Event], *, policy: WorkflowPolicy = POLICY, start: datetime = EPOCH, every_s: int = 1
) -> tuple[GroupRecord, list[Decision]]:
    record, decisions, at = GroupRecord(GROUP), [], start
    for event in events:
        decision = transition(record, event, at, policy)
        record = decision.record
        decisions.append(decision)
        at += timedelta(seconds=every_s)
    return record, decisions


ROLLING_BACK = [
    failure("dep-bad"),
    tagged("rollback"),
    confirmed(),
    RollbackTargetFound("dep-good", "dep-good worked"),
]


def test_a_rollback_redeploys_the_last_good_deployment_and_ends_rolled_back() -> None:
    record, decisions = run([*ROLLING_BACK, RollbackStarted("dep-redo")])
    assert decisions[2].actions == (FindRollbackTarget(GROUP, "dep-bad", POLICY.rollback_max_checked),)
    [start] = decisions[3].actions
    assert isinstance(start, StartRollback) and start.deployment_id == "dep-good"
    success = DeploymentStatusReported("dep-redo", DeploymentType.REDEPLOYMENT, DeploymentStatus.SUCCESS)
    done = transition(record, success, EPOCH + timedelta(seconds=30), POLICY)
    assert done.record.last is not None and done.record.last.state is S.ROLLED_BACK
    assert done.record.last.reason == "rolled back: redeployment dep-redo of dep-good succeeded"
    assert done.actions == ()  # a rollback that worked needs nobody


@pytest.mark.parametrize(
    ("last_event", "why"),
    [
        (RollbackTargetFound(None, "no earlier successful deployment"), "nothing to roll back to"),
        (failure("dep-redo", DeploymentType.REDEPLOYMENT), "redeployment dep-redo of dep-good failed"),
    ],
)
def test_a_rollback_that_cannot_be_made_or_fails_falls_back_to_reset_when_so_configured(
    last_event: Event, why: str
) -> None:
    events: list[Event] = [failure("dep-bad"), tagged("rollback"), confirmed()]
    if isinstance(last_event, DeploymentStatusReported):
        events += [RollbackTargetFound("dep-good", "dep-good worked"), RollbackStarted("dep-redo")]
    record, decisions = run([*events, last_event], policy=RESET_FALLBACK)
    wf = record.active
    assert wf is not None and wf.state is S.RESETTING and wf.remediation is RemediationPolicy.RESET
    [action] = decisions[-1].actions
    assert isinstance(action, StartReset) and not action.force
    kinds = [step.kind for _, step in decisions[-1].steps]
    assert kinds[0] is StepKind.FELL_BACK or kinds[:2] == [StepKind.DEPLOYMENT_FAILED, StepKind.FELL_BACK]
    assert why in " ".join(step.detail for _, step in decisions[-1].steps)


def test_a_redeployment_still_running_at_its_deadline_falls_back_after_one_poll() -> None:
    record, _ = run([*ROLLING_BACK, RollbackStarted("dep-redo")])
    deadline = record.active.deadline_at  # type: ignore[union-attr]
    assert deadline is not None
    assert transition(record, Tick(), deadline - timedelta(seconds=1), POLICY).actions == ()
    tick = transition(record, Tick(), deadline, POLICY)
    assert tick.actions == (PollDeployment(GROUP, "dep-redo"),)
    still = DeploymentStatusReported(
        "dep-redo", DeploymentType.REDEPLOYMENT, DeploymentStatus.IN_PROGRESS, source="poll"
    )
    done = transition(tick.record, still, deadline, POLICY)
    assert done.record.last is not None and done.record.last.state is S.NOTIFIED
    assert "still InProgress at the deadline; fallback notify" in done.record.last.reason
    [notice] = done.actions
    assert isinstance(notice, Notify) and notice.state is S.NOTIFIED


def test_the_failure_of_our_own_redeployment_never_opens_a_remediation_even_late() -> None:
    record, _ = run([*ROLLING_BACK, RollbackStarted("dep-redo")], policy=RESET_FALLBACK)
    # The redeployment fails: the fallback resets, which supersedes nothing; later the same Failure again.
    record = transition(
        record, failure("dep-redo", DeploymentType.REDEPLOYMENT), EPOCH, RESET_FALLBACK
    ).record
    assert record.active is not None and record.active.state is S.RESETTING
    again = transition(record, failure("dep-redo", DeploymentType.REDEPLOYMENT), EPOCH, RESET_FALLBACK)
    assert not again.changed
    # Once that workflow has ended, too.
    ended = replace(record, active=None, last=replace(record.active, state=S.RESET, finished_at=EPOCH))
    late = transition(ended, failure("dep-redo", DeploymentType.REDEPLOYMENT), EPOCH, RESET_FALLBACK)
    assert not late.changed


def test_the_remediation_cap_stops_a_group_whose_rollbacks_keep_failing() -> None:
    record = GroupRecord(GROUP)
    at = EPOCH
    outcomes = []
    for n in range(POLICY.remediation_cap + 1):
        failed_one = f"dep-bad-{n}"
        for event in (
            failure(failed_one),
            tagged("rollback"),
            confirmed(failed_one),
            RollbackTargetFound("dep-good", "worked"),
            RollbackStarted(f"dep-redo-{n}"),
            failure(f"dep-redo-{n}", DeploymentType.REDEPLOYMENT),
        ):
            record = transition(record, event, at, POLICY).record
            at += timedelta(seconds=20)  # within the protection check's freshness
        assert record.active is None and record.last is not None
        outcomes.append(record.last.state)
    assert outcomes == [S.NOTIFIED] * POLICY.remediation_cap + [S.FAILED]
    assert record.last is not None and "remediation cap reached" in record.last.reason


def test_a_reset_request_joining_a_remediation_gets_a_reset_whatever_the_tag() -> None:
    request = Request("r-reset", RequestKind.RESET, GROUP, EPOCH, requested_by="alice")
    record, decisions = run([failure("dep-bad"), RequestReceived(request), tagged("rollback")])
    wf = record.active
    assert wf is not None and wf.kind is RequestKind.RESET and wf.state is S.RESETTING
    assert wf.remediation is None
    [action] = decisions[-1].actions
    assert isinstance(action, StartReset)


def test_a_reset_or_deletion_request_while_rolling_back_is_rejected_busy() -> None:
    record, _ = run(ROLLING_BACK)
    for kind in (RequestKind.RESET, RequestKind.DELETION):
        request = Request(f"r-{kind}", kind, GROUP, EPOCH, requested_by="bob")
        decision = transition(record, RequestReceived(request), EPOCH, POLICY)
        [rejected] = decision.finished
        assert rejected.state is S.REJECTED and "is rolling back a failed deployment" in rejected.reason
        assert decision.record.active == record.active


@pytest.mark.parametrize(
    ("value", "expected", "note"),
    [
        (None, RemediationPolicy.RESET, "the default: no gg-reset:on-failure tag"),
        ("rollback", RemediationPolicy.ROLLBACK, "tag gg-reset:on-failure"),
        (" NOTIFY ", RemediationPolicy.NOTIFY, "tag gg-reset:on-failure"),
        ("roll-back", RemediationPolicy.RESET, "'roll-back' is not reset|rollback|notify"),
        ("x" * 500, RemediationPolicy.RESET, "is not reset|rollback|notify"),
    ],
)
def test_the_tag_chooses_the_policy_and_a_bad_value_gets_the_default_with_a_note(
    value: str | None, expected: RemediationPolicy, note: str
) -> None:
    policy, how = chosen_remediation(
        {} if value is None else {ON_FAILURE_TAG: value}, RemediationPolicy.RESET
    )
    assert policy is expected and note in how and len(how) < 200


def test_the_stack_wide_default_applies_to_untagged_groups() -> None:
    notify_by_default = WorkflowPolicy(remediation_default=RemediationPolicy.NOTIFY)
    record, decisions = run([failure("dep-bad"), tagged(None), confirmed()], policy=notify_by_default)
    assert record.last is not None and record.last.state is S.NOTIFIED
    assert "on-failure=notify: no Greengrass write made" in record.last.reason
    [(_, inspected)] = decisions[-2].steps
    assert "on-failure=notify (the default" in inspected.detail
    assert [type(a) for a in decisions[-1].actions] == [Notify]


def test_a_rollback_may_not_fall_back_to_a_rollback() -> None:
    with pytest.raises(ValueError, match="rollback_fallback must be one of notify, reset"):
        WorkflowPolicy(rollback_fallback=RemediationPolicy.ROLLBACK)
