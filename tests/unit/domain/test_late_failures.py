"""A deployment failure that predates the group's latest completed reset needs no remediation: it was
delivered late, or it was a deployment gg-reset's own forced reset cut short."""

from __future__ import annotations

from datetime import timedelta

from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.events import (
    DeploymentStatusReported,
    GroupInspected,
    RequestReceived,
    ResetAccepted,
)
from gg_reset.domain.model import GroupRecord, Request, RequestKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import transition
from support.fakes import EPOCH

POLICY = WorkflowPolicy()


def reset_group_at(finished_offset_s: int) -> GroupRecord:
    record = GroupRecord(group_id="g")
    steps = [
        RequestReceived(Request("r1", RequestKind.RESET, "g", EPOCH)),
        GroupInspected(exists=True),
        ResetAccepted("reset-1", forced=False),
        DeploymentStatusReported("reset-1", DeploymentType.RESET, DeploymentStatus.SUCCESS),
    ]
    for event in steps:
        record = transition(record, event, EPOCH + timedelta(seconds=finished_offset_s), POLICY).record
    assert record.last is not None
    assert record.last.state is WorkflowState.RESET
    return record


def failure(occurred_offset_s: int | None) -> DeploymentStatusReported:
    return DeploymentStatusReported(
        "new-1",
        DeploymentType.NEW,
        DeploymentStatus.FAILURE,
        occurred_at=None if occurred_offset_s is None else EPOCH + timedelta(seconds=occurred_offset_s),
    )


def test_a_failure_from_before_the_last_reset_opens_no_remediation() -> None:
    record = reset_group_at(100)
    decision = transition(record, failure(50), EPOCH + timedelta(seconds=200), POLICY)
    assert not decision.changed
    assert decision.actions == ()


def test_a_failure_after_the_last_reset_is_remediated() -> None:
    record = reset_group_at(100)
    decision = transition(record, failure(150), EPOCH + timedelta(seconds=200), POLICY)
    assert decision.record.active is not None
    assert decision.record.active.kind is RequestKind.REMEDIATION


def test_a_failure_of_unknown_time_is_remediated() -> None:
    record = reset_group_at(100)
    decision = transition(record, failure(None), EPOCH + timedelta(seconds=200), POLICY)
    assert decision.record.active is not None
    assert decision.record.active.kind is RequestKind.REMEDIATION


def test_during_a_dry_run_only_a_failure_after_the_last_reset_is_queued() -> None:
    record = reset_group_at(100)
    dry_run = Request("r-dry", RequestKind.RESET, "g", EPOCH, dry_run=True)
    record = transition(record, RequestReceived(dry_run), EPOCH + timedelta(seconds=200), POLICY).record
    assert record.active is not None and record.active.request.dry_run

    late = transition(record, failure(50), EPOCH + timedelta(seconds=210), POLICY)
    assert not late.changed

    queued = transition(record, failure(150), EPOCH + timedelta(seconds=210), POLICY)
    assert [r.trigger_deployment_id for r in queued.record.queued] == ["new-1"]
