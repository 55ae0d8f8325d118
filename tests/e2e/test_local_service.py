"""The whole service through `LocalService`: moto's EventBridge/SQS/DynamoDB with the stack's rules, the
Greengrass V1 simulator, and the real worker and sweeper handlers. One test per path of the workflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import deque
from collections.abc import Iterator
from datetime import timedelta

import pytest

from gg_reset.contracts import RESET_DEPLOYMENT_TYPES, DeploymentType, ForcePolicy
from gg_reset.domain.model import StepKind, WorkflowState
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile
from gg_reset.local.runtime import WorkflowView

RESET_CALL = "ResetDeployments"


@pytest.fixture
def svc() -> Iterator[LocalService]:
    with LocalService(seed=3) as service:
        yield service


def finish(svc: LocalService, gid: str) -> WorkflowView:
    """Run the service until it is idle and return the group's workflow."""
    svc.run_until_idle()
    view = svc.ledger.get(gid)
    assert view is not None, f"no workflow recorded for {gid}"
    return view


def reset_forces(svc: LocalService, gid: str) -> list[bool]:
    """Force flag of every reset deployment the group got, in order."""
    types = [d.deployment_type for d in svc.simulator.deployments(gid)]
    return [t is DeploymentType.FORCE_RESET for t in types if t in RESET_DEPLOYMENT_TYPES]


def test_normal_reset_of_an_online_core_succeeds_without_force(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    svc.request_reset(gid)
    view = finish(svc, gid)
    assert view.state is WorkflowState.RESET
    assert not view.forced
    assert reset_forces(svc, gid) == [False]
    assert svc.fleet.exists(gid)


def test_deletion_of_an_online_core_resets_then_deletes(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    svc.request_deletion(gid)
    view = finish(svc, gid)
    assert view.state is WorkflowState.DELETED
    assert [s.kind for s in view.history] == [
        StepKind.REQUESTED,
        StepKind.INSPECTED,
        StepKind.RESET_STARTED,
        StepKind.DEPLOYMENT_SUCCEEDED,
        StepKind.DELETE_STARTED,  # the inspection is seconds old: fresh enough for DeleteGroup
        StepKind.FINISHED,
    ]
    assert not svc.fleet.exists(gid)
    assert svc.fleet.calls == {"GetGroup": 1, "ResetDeployments": 1, "DeleteGroup": 1}


def test_offline_core_is_forced_after_the_timeout(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="offline")
    start = svc.clock.now()
    svc.request_deletion(gid)
    view = finish(svc, gid)
    assert view.state is WorkflowState.DELETED
    assert view.forced
    assert reset_forces(svc, gid) == [False, True]
    escalation = next(s for s in view.history if s.kind is StepKind.ESCALATED)
    assert (escalation.at - start).total_seconds() >= svc.policy.reset_timeout_s
    assert "still InProgress at the deadline" in escalation.detail


def test_failing_core_is_forced_after_the_failure(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="failing")
    start = svc.clock.now()
    svc.request_reset(gid)
    view = finish(svc, gid)
    assert view.state is WorkflowState.RESET
    assert view.forced
    escalation = next(s for s in view.history if s.kind is StepKind.ESCALATED)
    assert "failed" in escalation.detail
    assert (escalation.at - start).total_seconds() < svc.policy.reset_timeout_s


def test_force_never_ends_failed_with_the_reason_and_notifies(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="offline")
    svc.request_reset(gid, force=ForcePolicy.NEVER)
    view = finish(svc, gid)
    assert view.state is WorkflowState.FAILED
    assert "force=never" in view.reason
    assert reset_forces(svc, gid) == [False]
    assert [n.group_id for n in svc.stats.notifications] == [gid]


def test_never_deployed_group_is_deleted_without_a_reset_deployment(svc: LocalService) -> None:
    gid = svc.fleet.add_group(deployed=False)
    svc.request_deletion(gid)
    view = finish(svc, gid)
    assert view.state is WorkflowState.DELETED
    assert any("has not been deployed or has already been reset" in s.detail for s in view.history)


def test_reset_of_a_never_deployed_group_ends_reset_with_that_reason(svc: LocalService) -> None:
    gid = svc.fleet.add_group(deployed=False)
    svc.request_reset(gid)
    view = finish(svc, gid)
    assert view.state is WorkflowState.RESET
    assert "has not been deployed or has already been reset" in view.reason


def test_unknown_group_ends_gone(svc: LocalService) -> None:
    svc.request_deletion("00000000-dead-beef-0000-000000000000")
    svc.run_until_idle()
    view = svc.ledger.get("00000000-dead-beef-0000-000000000000")
    assert view is not None
    assert view.state is WorkflowState.GONE


def test_protected_group_is_rejected_and_untouched(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online", tags={"gg-reset:protect": "true"})
    svc.request_deletion(gid, force=ForcePolicy.IMMEDIATELY)
    view = finish(svc, gid)
    assert view.state is WorkflowState.REJECTED
    assert "gg-reset:protect" in view.reason
    assert svc.fleet.exists(gid)
    assert reset_forces(svc, gid) == []
    assert svc.fleet.calls[RESET_CALL] == 0


def test_dry_run_plans_and_writes_nothing(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="offline")
    svc.request_deletion(gid, dry_run=True)
    view = finish(svc, gid)
    assert view.state is WorkflowState.PLANNED
    assert view.workflow.plan[0].startswith("ResetDeployments(Force=False)")
    assert view.workflow.plan[-1].endswith("then DeleteGroup")
    assert svc.fleet.calls[RESET_CALL] == 0
    assert svc.fleet.calls["DeleteGroup"] == 0


def test_same_request_five_times_and_same_status_event_five_times_make_one_reset_call(
    svc: LocalService,
) -> None:
    gid = svc.fleet.add_group(core="offline")
    for _ in range(5):
        svc.request_reset(gid, request_id="ticket-42")
    assert not svc.run_for(30)  # well before the deadline: the reset is still in progress
    view = svc.ledger.get(gid)
    assert view is not None
    deployment_id = view.workflow.deployment_id
    assert deployment_id is not None
    success = {
        "Source": "aws.greengrass",
        "DetailType": "Greengrass Deployment Status Change",
        "EventBusName": "default",
        "Detail": json.dumps(
            {
                "group-id": gid,
                "deployment-id": deployment_id,
                "deployment-type": "ResetDeployment",
                "status": "Success",
            }
        ),
    }
    for _ in range(5):
        svc.put_event(success)
    svc.run_until_idle()

    assert svc.fleet.calls[RESET_CALL] == 1
    view = svc.ledger.get(gid)
    assert view is not None
    assert view.state is WorkflowState.RESET
    kinds = [s.kind for s in view.history]
    assert kinds.count(StepKind.REQUESTED) == 1
    assert kinds.count(StepKind.DEPLOYMENT_SUCCEEDED) == 1
    assert kinds.count(StepKind.FINISHED) == 1
    assert len(svc.ledger.workflows(gid)) == 1


def test_duplicated_and_delayed_status_events_change_nothing() -> None:
    faults = FaultProfile(duplicate_event_rate=1.0, event_delay_s=30)
    with LocalService(seed=5, faults=faults) as svc:
        gids = [svc.fleet.add_group(core="online") for _ in range(5)]
        for gid in gids:
            svc.request_deletion(gid)
        svc.run_until_idle()
        for gid in gids:
            view = svc.ledger.get(gid)
            assert view is not None
            assert view.state is WorkflowState.DELETED
            assert [s.kind for s in view.history].count(StepKind.DEPLOYMENT_SUCCEEDED) == 1
        assert svc.fleet.calls[RESET_CALL] == 5


def test_lost_status_event_is_recovered_by_the_one_poll_at_the_deadline() -> None:
    with LocalService(seed=5, faults=FaultProfile(drop_event_rate=1.0)) as svc:
        gid = svc.fleet.add_group(core="online")
        svc.request_reset(gid)
        svc.run_until_idle()
        view = svc.ledger.get(gid)
        assert view is not None
        assert view.state is WorkflowState.RESET
        assert not view.forced  # the poll saw the Success: no needless Force
        (polled,) = [s for s in view.history if "(poll)" in s.detail]
        started = next(s for s in view.history if s.kind is StepKind.RESET_STARTED)
        assert polled.at - started.at == timedelta(seconds=svc.policy.reset_timeout_s)  # its timer
        assert svc.fleet.calls["GetDeploymentStatus"] == 1
        assert svc.stats.metrics["SweptWorkflows"] == 0  # the sweeper had nothing to catch


def test_routine_successful_deployments_never_reach_the_worker(svc: LocalService) -> None:
    gids = [svc.fleet.add_group(core="online") for _ in range(5)]
    for gid in gids:
        svc.simulator.deploy(gid)
    svc.run_until_idle()
    assert len(svc.simulator.published_events) == 15  # Building, InProgress, Success of each
    assert svc.stats.messages == 0  # the status rule passes none of them


def test_a_bulk_cleanup_under_the_budget_is_not_throttled_and_loses_nothing() -> None:
    faults = FaultProfile(requests_per_second=5, latency_s=0.05)
    with LocalService(seed=9, faults=faults, greengrass_rps=5) as svc:
        gids = [svc.fleet.add_group(core="offline" if n % 5 == 0 else "online") for n in range(40)]
        for gid in gids:
            svc.request_deletion(gid)
        started = svc.clock.now()
        svc.run_until_idle()
        for gid in gids:
            view = svc.ledger.get(gid)
            assert view is not None and view.state is WorkflowState.DELETED, view
        assert svc.simulator.throttled_count == 0
        calls = sum(svc.fleet.calls.values())
        # Running at the budget: the first 80 calls (inspect + reset of every group) take 80 / 5 s.
        first_resets = max(
            next(s.at for s in svc.ledger.get(gid).history if s.kind is StepKind.RESET_STARTED)  # type: ignore[union-attr]
            for gid in gids
        )
        assert first_resets - started <= timedelta(seconds=2 * len(gids) / 5 + 1)
        assert calls <= 4.5 * len(gids)
        assert svc.dead_letters == [] and svc.stats.redeliveries == 0
        assert svc.simulator.orphaned_cores == []


def test_a_tag_added_while_a_reset_waits_for_a_running_deployment_stops_that_reset() -> None:
    with LocalService(seed=4) as svc:
        gid = svc.fleet.add_group(core="offline")
        svc.simulator.deploy(gid)  # stays InProgress: the normal reset is refused and retried
        svc.request_reset(gid, force=ForcePolicy.NEVER)
        assert not svc.run_for(20)
        svc.simulator.client().tag_resource(
            ResourceArn=svc.simulator.group_arn(gid), tags={"gg-reset:protect": "true"}
        )
        view = finish(svc, gid)
        assert view.state is WorkflowState.REJECTED, view.reason
        assert "stopped before ResetDeployments" in view.reason
        assert reset_forces(svc, gid) == []  # refused while busy, then never made


def test_a_lost_reset_response_is_retried_with_the_same_token_and_resets_once() -> None:
    faults = FaultProfile(lost_response_rate=0.5)
    with LocalService(seed=2, faults=faults) as svc:
        gids = [svc.fleet.add_group(core="online") for _ in range(20)]
        for gid in gids:
            svc.request_reset(gid)
        svc.run_until_idle()
        for gid in gids:
            view = svc.ledger.get(gid)
            assert view is not None and view.state in (WorkflowState.RESET, WorkflowState.FAILED), view
            assert svc.simulator.reset_count(gid) <= 1
        assert svc.simulator.server_error_count > 0


def test_failed_deployment_is_remediated_once_and_own_resets_are_not(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="failing")
    deployment_id = svc.fleet.fail_deployment(gid)
    svc.run_until_idle()
    workflows = svc.ledger.workflows(gid)
    assert len(workflows) == 1  # the failed normal reset inside the remediation opened nothing new
    view = workflows[0]
    assert view.workflow.kind.value == "remediation"
    assert view.request_ids == (f"deployment-failure:{deployment_id}",)
    assert view.state is WorkflowState.RESET
    assert view.forced


def test_remediation_stops_at_the_cap(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    for _ in range(svc.policy.remediation_cap + 1):
        svc.fleet.fail_deployment(gid)
        svc.run_until_idle()
    states = [v.state for v in svc.ledger.workflows(gid)]
    assert states[: svc.policy.remediation_cap] == [WorkflowState.RESET] * svc.policy.remediation_cap
    assert states[-1] is WorkflowState.FAILED
    assert "remediation cap reached" in svc.ledger.workflows(gid)[-1].reason
    assert svc.stats.notifications


def test_poison_message_is_rejected_with_the_validation_error(svc: LocalService) -> None:
    svc.put_event(
        {
            "Source": "someone",
            "DetailType": "Greengrass Group Deletion Requested",
            "EventBusName": svc.bus_name,
            "Detail": json.dumps({"group-id": "g-poison", "force": "sometimes", "request-id": "bad-1"}),
        }
    )
    svc.run_until_idle()
    view = svc.ledger.get("g-poison")
    assert view is not None
    assert view.state is WorkflowState.REJECTED
    assert "force" in view.reason
    assert svc.stats.redeliveries == 0


def test_throttling_under_a_low_quota_loses_nothing() -> None:
    faults = FaultProfile(requests_per_second=2, burst=2, latency_s=0.05)
    with LocalService(seed=9, faults=faults) as svc:
        gids = [svc.fleet.add_group(core="online") for _ in range(40)]
        for gid in gids:
            svc.request_deletion(gid)
        svc.run_until_idle()
        assert svc.simulator.throttled_count > 0
        for gid in gids:
            view = svc.ledger.get(gid)
            assert view is not None
            assert view.state is WorkflowState.DELETED, view.reason
        assert svc.fleet.calls[RESET_CALL] >= 40
        assert svc.ledger.active_groups() == []


def test_a_protection_tag_added_while_the_workflow_waits_stops_the_forced_reset(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="offline")
    svc.request_deletion(gid)
    assert not svc.run_for(120)  # the normal reset is out, the core is silent
    svc.simulator.client().tag_resource(
        ResourceArn=svc.simulator.group_arn(gid), tags={"gg-reset:protect": "true"}
    )
    view = finish(svc, gid)
    assert view.state is WorkflowState.REJECTED
    assert "protected by tag" in view.reason
    assert "while the workflow ran; stopped before ResetDeployments(Force=True)" in view.reason
    assert reset_forces(svc, gid) == [False]  # no forced reset, no deletion
    assert svc.fleet.exists(gid)


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    original = svc.service.handle

    def broken(group_id: str, event: object, **options: object) -> object:
        if group_id == gid:
            raise RuntimeError("bug in the shell")
        return original(group_id, event, **options)  # type: ignore[arg-type]

    svc.service.handle = broken  # type: ignore[method-assign]
    svc.request_reset(gid)
    svc.run_until_idle()
    assert len(svc.dead_letters) == 1
    assert gid in svc.dead_letters[0]
    assert svc.stats.redeliveries == 4


LEAK_PROBE = """
import json, os, warnings
warnings.simplefilter("error")  # a Powertools "No application metrics" warning fails the probe
from gg_reset.local import LocalService
with LocalService(seed=1) as svc:
    gid = svc.fleet.add_group(core="offline")
    svc.request_reset(gid)
    svc.run_until_idle()  # sweeps with nothing due: invocations with nothing to count
    sweeps = svc.stats.sweeps
print(json.dumps({"sweeps": sweeps, "env": {k: v for k, v in os.environ.items() if "POWERTOOLS" in k}}))
"""


def test_local_service_leaves_no_environment_and_no_powertools_warning_behind() -> None:
    env = {k: v for k, v in os.environ.items() if "POWERTOOLS" not in k}
    done = subprocess.run(
        [sys.executable, "-c", LEAK_PROBE], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["sweeps"] > 0
    assert probe["env"] == {}


def test_a_force_never_deletion_joining_an_auto_reset_of_a_silent_core_is_never_forced(
    svc: LocalService,
) -> None:
    gid = svc.fleet.add_group(core="offline")
    reset_id = svc.request_reset(gid)  # force=auto
    assert not svc.run_for(30)
    deletion_id = svc.request_deletion(gid, force=ForcePolicy.NEVER)
    svc.run_until_idle()
    view = svc.ledger.find_request(gid, deletion_id)
    assert view is not None and view.request_ids == (reset_id, deletion_id)  # merged: the stricter wins
    assert view.state is WorkflowState.FAILED
    assert "force=never" in view.reason
    assert reset_forces(svc, gid) == [False]
    assert svc.fleet.exists(gid)


def test_a_force_never_request_joining_a_workflow_that_already_forced_is_answered_on_its_own(
    svc: LocalService,
) -> None:
    gid = svc.fleet.add_group(core="offline")
    svc.request_deletion(gid, force=ForcePolicy.IMMEDIATELY)
    assert not svc.run_for(1.5)  # the forced reset is out, its Success not yet in
    late = svc.request_reset(gid, force=ForcePolicy.NEVER)
    svc.run_until_idle()
    view = svc.ledger.find_request(gid, late)
    assert view is not None and view.state is WorkflowState.REJECTED
    assert "already used Force=True" in view.reason
    assert not svc.fleet.exists(gid)  # the deletion it did not join went on


def test_a_failed_deployment_during_a_dry_run_is_remediated_once_the_dry_run_ends(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="failing")
    svc.simulator.faults = FaultProfile(server_error_rate=1.0)  # the dry run's inspection keeps failing
    plan = svc.request_deletion(gid, dry_run=True)
    assert not svc.run_for(1)
    deployment_id = svc.simulator.start_failing_deployment(gid)  # its Failure event comes in 5 s
    assert not svc.run_for(8)
    planning = svc.ledger.get(gid)
    assert planning is not None and planning.state is WorkflowState.REQUESTED  # the dry run, still retrying
    svc.simulator.faults = FaultProfile()
    svc.run_until_idle()
    planned = svc.ledger.find_request(gid, plan)
    remediation = svc.ledger.find_request(gid, f"deployment-failure:{deployment_id}")
    assert planned is not None and planned.state is WorkflowState.PLANNED
    assert any("queued until this dry run ends" in s.detail for s in planned.history)
    assert remediation is not None and remediation.workflow.kind.value == "remediation"
    assert remediation.state is WorkflowState.RESET, remediation.reason


def test_a_local_service_that_fails_to_start_leaves_no_mock_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    before = dict(os.environ)
    with LocalService(seed=1):
        inside = dict(os.environ)
        failed = LocalService(seed=2)
        with pytest.raises(Exception, match="Table already exists"):
            failed.__enter__()  # the same moto table again: the start fails
        assert dict(os.environ) == inside  # its environment patch was undone
        assert failed._stack._exit_callbacks == deque()  # and its moto mock stopped
    assert dict(os.environ) == before
