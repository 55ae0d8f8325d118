"""Remediation policies end to end, through `LocalService`: the real worker and sweeper, the real Greengrass
adapter on the simulator, the failed deployment's own status-change event.

A group's tag `gg-reset:on-failure` chooses what a failed deployment leads to: `reset` (the default),
`rollback` (redeploy the last deployment that worked; if there is none, or it fails, the fallback) or
`notify` (no Greengrass write, one notification).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from gg_reset.domain.enums import DeploymentStatus, DeploymentType, RemediationPolicy
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import remediation_request_id
from gg_reset.local import LocalService
from gg_reset.local.runtime import ACCOUNT, REGION

ROLLBACK = {"gg-reset:on-failure": "rollback"}
NOTIFY = {"gg-reset:on-failure": "notify"}
WRITES = ("ResetDeployments", "DeleteGroup", "CreateDeployment")


@pytest.fixture
def svc() -> Iterator[LocalService]:
    with LocalService(seed=21) as service:
        yield service


def test_a_failed_deployment_tagged_rollback_redeploys_the_last_good_deployment(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online", tags=ROLLBACK)  # deployed: one NewDeployment that worked
    [good] = svc.simulator.deployments(gid)
    assert good.status is DeploymentStatus.SUCCESS
    failed = svc.fleet.fail_deployment(gid)
    svc.run_until_idle()

    [view] = svc.ledger.workflows(gid)
    assert view.state is WorkflowState.ROLLED_BACK, view.reason
    assert view.workflow.remediation is RemediationPolicy.ROLLBACK
    assert view.workflow.rollback_of == good.deployment_id
    redeployment = svc.simulator.deployment(view.workflow.rollback_deployment_id or "")
    assert redeployment.deployment_type is DeploymentType.REDEPLOYMENT
    assert redeployment.status is DeploymentStatus.SUCCESS
    assert svc.simulator.deployments(gid)[-1] == redeployment
    assert f"deployment {failed} failed" not in view.reason and "succeeded" in view.reason
    assert svc.fleet.calls["CreateDeployment"] == 1
    assert svc.fleet.calls["ResetDeployments"] == 0 and svc.simulator.reset_count(gid) == 0
    assert svc.stats.notifications == []  # a roll back that worked needs nobody


def test_a_rollback_with_nothing_to_go_back_to_follows_the_fallback(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online", tags=ROLLBACK, deployed=False)  # never deployed before
    svc.fleet.fail_deployment(gid)
    svc.run_until_idle()

    [view] = svc.ledger.workflows(gid)
    assert view.state is WorkflowState.NOTIFIED  # the default fallback
    assert "nothing to roll back to" in view.reason
    assert not any(svc.fleet.calls[write] for write in WRITES)
    [notice] = svc.stats.notifications
    assert notice.state is WorkflowState.NOTIFIED and notice.group_id == gid


def test_a_rollback_falls_back_to_a_reset_when_so_configured() -> None:
    policy = WorkflowPolicy(rollback_fallback=RemediationPolicy.RESET)
    with LocalService(seed=22, policy=policy) as svc:
        gid = svc.fleet.add_group(core="online", tags=ROLLBACK, deployed=False)
        svc.fleet.fail_deployment(gid)
        svc.run_until_idle()
        [view] = svc.ledger.workflows(gid)
        assert view.state is WorkflowState.RESET, view.reason
        assert svc.simulator.reset_count(gid) == 1 and svc.fleet.calls["CreateDeployment"] == 0


def test_notify_makes_no_greengrass_write_and_sends_one_notification(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online", tags=NOTIFY)
    failed = svc.fleet.fail_deployment(gid)
    svc.run_until_idle()

    [view] = svc.ledger.workflows(gid)
    assert view.state is WorkflowState.NOTIFIED
    assert f"deployment {failed} failed" in view.reason
    assert not any(svc.fleet.calls[write] for write in WRITES)
    assert set(svc.fleet.calls) <= {"GetGroup", "GetDeploymentStatus"}  # reads only
    [notice] = svc.stats.notifications
    assert notice.state is WorkflowState.NOTIFIED and notice.reason == view.reason


def test_the_cap_stops_a_group_whose_rollbacks_keep_failing(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online", tags=ROLLBACK)
    svc.simulator.set_core(gid, "failing")  # from now on every deployment fails, redeployments included
    for _ in range(svc.policy.remediation_cap + 1):
        svc.fleet.fail_deployment(gid)
        svc.run_until_idle()

    views = svc.ledger.workflows(gid)
    cap = svc.policy.remediation_cap
    assert [v.state for v in views] == [WorkflowState.NOTIFIED] * cap + [WorkflowState.FAILED]
    assert all("redeployment" in v.reason and "failed" in v.reason for v in views[:cap])
    assert "remediation cap reached" in views[-1].reason
    assert svc.fleet.calls["CreateDeployment"] == cap  # one redeployment per remediation, no loop
    assert len(svc.stats.notifications) == cap + 1


def test_untagged_groups_still_get_a_reset_by_default(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    svc.fleet.fail_deployment(gid)
    svc.run_until_idle()
    [view] = svc.ledger.workflows(gid)
    assert view.state is WorkflowState.RESET
    assert view.workflow.remediation is RemediationPolicy.RESET
    assert svc.fleet.calls["CreateDeployment"] == 0


def failure_event(
    group_id: str, deployment_id: str, *, region: str = REGION, time: str = "2026-12-01T00:00:00Z"
) -> dict[str, Any]:
    """An `aws.greengrass` Failure event as EventBridge delivers it to the work queue."""
    return {
        "version": "0",
        "id": f"forged-{deployment_id}",
        "detail-type": "Greengrass Deployment Status Change",
        "source": "aws.greengrass",
        "account": ACCOUNT,
        "time": time,
        "region": region,
        "resources": [],
        "detail": {
            "group-id": group_id,
            "deployment-id": deployment_id,
            "deployment-type": "NewDeployment",
            "status": "Failure",
        },
    }


@pytest.mark.parametrize("tags", [{}, ROLLBACK, NOTIFY], ids=["reset", "rollback", "notify"])
def test_a_failure_event_for_a_deployment_that_never_existed_is_rejected_with_no_write(
    svc: LocalService, tags: dict[str, str]
) -> None:
    gid = svc.fleet.add_group(core="online", tags=tags)
    before = svc.simulator.deployments(gid)
    event = failure_event(gid, "0000-forged")
    svc.put_event(
        {
            "Source": event["source"],
            "DetailType": event["detail-type"],
            "Detail": json.dumps(event["detail"]),
        }
    )
    svc.run_until_idle()

    [view] = svc.ledger.workflows(gid)
    assert view.request_ids == (remediation_request_id("0000-forged"),)
    assert view.state is WorkflowState.REJECTED
    assert "failure of deployment 0000-forged not confirmed: GetDeploymentStatus answered not found" in (
        view.reason
    )
    assert not any(svc.fleet.calls[write] for write in WRITES)
    assert svc.simulator.deployments(gid) == before and svc.fleet.exists(gid)
    assert svc.stats.notifications == []
    assert svc.stats.metrics["UnconfirmedFailureEvents"] == 1


def test_a_failure_event_from_another_region_opens_nothing(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    failed = svc.fleet.fail_deployment(gid)  # a real failure, reported as if from another region
    svc.run_until_idle()
    assert [v.state for v in svc.ledger.workflows(gid)] == [WorkflowState.RESET]
    # Sent after the reset, so only the region keeps it from opening a second remediation.
    late = failure_event(gid, failed, region="eu-west-3", time=svc.clock.now().isoformat())
    svc.work_queue.send(json.dumps(late))
    svc.run_until_idle()

    assert [v.state for v in svc.ledger.workflows(gid)] == [WorkflowState.RESET]
    assert svc.fleet.calls["ResetDeployments"] == 1
    assert svc.stats.metrics["ForeignStatusEvents"] == 1
