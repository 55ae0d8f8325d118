"""Regressions found by the adversarial soak (no request budget, every fault, forged and late events),
through the real shell (`ResetService`) with the in-memory fakes. Each test failed on the code before its
fix and names the wrong outcome it prevents:

- one retry counter for every kind of error ended a step FAILED after five 429s and one 5xx, and a
  protected group FAILED instead of REJECTED;
- a group whose DeleteGroup went through but whose answer was lost ended GONE ("did not exist");
- a late copy of our own redeployment's Failure, arriving after another workflow (a dry run) of the group,
  opened a new remediation and a second CreateDeployment;
- a Failure event for a deployment that never existed reset (or redeployed) a healthy group.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import DeploymentStatusReported, Event, RequestReceived, Tick
from gg_reset.domain.model import GroupRecord, Request, RequestKind, Workflow, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import remediation_request_id
from gg_reset.shell.service import ResetService
from support.fakes import EPOCH, FakeGreengrass, InMemoryLedger, ManualClock, RecordingNotifier, error

POLICY = WorkflowPolicy()
GROUP = "g-1"
WRITES = ("reset_deployments", "delete_group", "redeploy")


class LostDeleteAnswer(FakeGreengrass):
    """DeleteGroup deletes the group, then its answer is lost (a 5xx after the fact, a timeout)."""

    def delete_group(self, group_id: str) -> None:
        super().delete_group(group_id)
        raise error(ErrorKind.SERVER_ERROR, "DeleteGroup", "connection reset after the request was sent")


class HealthyCores(FakeGreengrass):
    """Every reset succeeds (seen by the one poll at the deadline: this world sends no status events)."""

    def reset_deployments(self, group_id: str, **options: Any) -> str:
        deployment_id = super().reset_deployments(group_id, **options)
        self.statuses[deployment_id] = DeploymentStatus.SUCCESS
        return deployment_id


class World:
    def __init__(self, greengrass: FakeGreengrass | None = None, tags: dict[str, str] | None = None) -> None:
        self.clock = ManualClock()
        self.ledger = InMemoryLedger()
        self.greengrass = greengrass or FakeGreengrass()
        self.greengrass.add_group(GROUP, tags)
        self.notifier = RecordingNotifier()
        self.service = ResetService(
            ledger=self.ledger,
            greengrass=self.greengrass,
            notifier=self.notifier,
            clock=self.clock,
            policy=POLICY,
        )
        self.requests = 0

    def request(self, kind: RequestKind = RequestKind.RESET, *, dry_run: bool = False) -> str:
        self.requests += 1
        request_id = f"r{self.requests}"
        request = Request(request_id, kind, GROUP, self.clock.now(), requested_by="test", dry_run=dry_run)
        self.handle(RequestReceived(request))
        return request_id

    def failure_event(self, deployment_id: str, deployment_type: DeploymentType = DeploymentType.NEW) -> None:
        self.handle(DeploymentStatusReported(deployment_id, deployment_type, DeploymentStatus.FAILURE))

    def handle(self, event: Event) -> GroupRecord:
        return self.service.handle(GROUP, event).record

    def run_until_idle(self, limit: int = 400) -> None:
        """Move the clock to each due time and tick, as the timers and the sweeper do."""
        for _ in range(limit):
            active = self.ledger.load(GROUP).active
            if active is None:
                return
            due = active.due_at
            assert due is not None
            self.clock.current = max(self.clock.now(), due)
            self.handle(Tick())
        raise AssertionError(f"still active: {self.ledger.load(GROUP).active}")

    def workflows(self) -> list[Workflow]:
        return list(self.ledger.workflows(GROUP))

    def writes(self) -> int:
        return sum(self.greengrass.calls[op] for op in WRITES)


def test_five_429s_and_a_5xx_do_not_end_a_step_failed() -> None:
    world = World(greengrass=HealthyCores())
    world.greengrass.script(
        "reset_deployments",
        *[error(ErrorKind.THROTTLED) for _ in range(5)],
        error(ErrorKind.SERVER_ERROR),
    )
    world.request()
    world.run_until_idle()
    [wf] = world.workflows()
    assert wf.state is WorkflowState.RESET, wf.reason
    assert world.greengrass.calls["reset_deployments"] == 7


def test_each_kind_of_error_keeps_its_own_budget_and_the_last_one_names_the_totals() -> None:
    """Interleaved 429s do not save a step that keeps answering 5xx: it ends FAILED at its 5xx budget."""
    world = World()
    answers = []
    for _ in range(POLICY.max_transient_attempts):
        answers += [error(ErrorKind.THROTTLED), error(ErrorKind.SERVER_ERROR)]
    world.greengrass.script("reset_deployments", *answers)
    world.request()
    world.run_until_idle()
    [wf] = world.workflows()
    assert wf.state is WorkflowState.FAILED
    assert f"failed {POLICY.max_transient_attempts} times; last error server-error-code" in wf.reason
    assert f"({2 * POLICY.max_transient_attempts} failed attempts in all)" in wf.reason


def test_a_protected_group_is_rejected_however_often_its_read_was_throttled() -> None:
    world = World(tags={"gg-reset:protect": "true"})
    world.greengrass.script(
        "inspect_group",
        *[error(ErrorKind.THROTTLED, "GetGroup") for _ in range(5)],
        error(ErrorKind.SERVER_ERROR, "GetGroup"),
        *[error(ErrorKind.THROTTLED, "GetGroup") for _ in range(5)],
    )
    world.request(RequestKind.DELETION)
    world.run_until_idle()
    [wf] = world.workflows()
    assert wf.state is WorkflowState.REJECTED, wf.reason
    assert world.writes() == 0


def test_a_group_whose_delete_answer_was_lost_ends_deleted_not_gone() -> None:
    world = World(greengrass=LostDeleteAnswer())
    world.request(RequestKind.DELETION)
    [reset] = [d for d, s in world.greengrass.statuses.items() if s is DeploymentStatus.IN_PROGRESS]
    world.greengrass.statuses[reset] = DeploymentStatus.SUCCESS
    # The reset's Success arrives after the protection check has gone stale: DeleteGroup re-checks first,
    # and the 5xx that follows is retried only after the re-check has gone stale too.
    world.clock.advance(POLICY.protection_freshness_s + 1)
    world.handle(DeploymentStatusReported(reset, DeploymentType.RESET, DeploymentStatus.SUCCESS))
    world.clock.advance(POLICY.protection_freshness_s + 1)
    world.run_until_idle()
    [wf] = world.workflows()
    assert world.greengrass.calls["delete_group"] == 1 and GROUP not in world.greengrass.groups
    assert wf.state is WorkflowState.DELETED, wf.reason
    assert "DeleteGroup was issued" in wf.reason


def test_a_group_missing_before_our_delete_group_is_still_gone() -> None:
    world = World()
    world.request(RequestKind.DELETION)
    [reset] = list(world.greengrass.statuses)
    del world.greengrass.groups[GROUP]  # someone else deleted it while the reset ran
    world.clock.advance(POLICY.protection_freshness_s + 1)
    world.handle(DeploymentStatusReported(reset, DeploymentType.RESET, DeploymentStatus.SUCCESS))
    [wf] = world.workflows()
    assert wf.state is WorkflowState.GONE and world.greengrass.calls["delete_group"] == 0


def test_a_late_failure_of_our_redeployment_after_a_dry_run_opens_no_remediation() -> None:
    world = World(tags={"gg-reset:on-failure": "rollback"})
    world.greengrass.fail_deployment("dep-bad")
    world.failure_event("dep-bad")
    [(_, _, _)] = world.greengrass.redeploys
    [redeployment] = world.greengrass.redeployed.values()
    world.greengrass.fail_deployment(redeployment, DeploymentType.REDEPLOYMENT)
    world.failure_event(redeployment, DeploymentType.REDEPLOYMENT)  # our roll back failed: fallback notify
    assert world.ledger.load(GROUP).last.state is WorkflowState.NOTIFIED  # type: ignore[union-attr]
    world.request(dry_run=True)
    assert world.ledger.load(GROUP).last.state is WorkflowState.PLANNED  # type: ignore[union-attr]

    world.clock.advance(3600)
    world.failure_event(redeployment, DeploymentType.REDEPLOYMENT)  # a late copy of that Failure
    world.run_until_idle()
    assert [wf.state for wf in world.workflows()] == [WorkflowState.NOTIFIED, WorkflowState.PLANNED]
    assert len(world.greengrass.redeploys) == 1


def test_a_failure_event_for_a_deployment_that_never_existed_writes_nothing() -> None:
    world = World()
    world.failure_event("forged-1")
    world.run_until_idle()
    [wf] = world.workflows()
    assert wf.request_ids == (remediation_request_id("forged-1"),)
    assert wf.state is WorkflowState.REJECTED
    assert "failure of deployment forged-1 not confirmed" in wf.reason
    assert world.writes() == 0
    # Forged events do not use up the group's remediations: a real failure is still remediated.
    assert world.ledger.load(GROUP).remediations == ()


def test_a_failure_event_for_a_deployment_that_succeeded_writes_nothing() -> None:
    world = World(tags={"gg-reset:on-failure": "rollback"})
    world.greengrass.statuses["dep-ok"] = DeploymentStatus.SUCCESS
    world.greengrass.types["dep-ok"] = DeploymentType.NEW
    world.failure_event("dep-ok")
    world.run_until_idle()
    [wf] = world.workflows()
    assert wf.state is WorkflowState.REJECTED
    assert "GetDeploymentStatus says Success (NewDeployment)" in wf.reason
    assert world.writes() == 0 and world.greengrass.rollback_searches == []


def test_a_confirmed_failure_is_remediated_after_one_status_read() -> None:
    world = World()
    world.greengrass.fail_deployment("dep-bad")
    world.failure_event("dep-bad")
    [reset] = list(world.greengrass.statuses.keys() - {"dep-bad"})
    world.clock.advance(30)
    world.handle(DeploymentStatusReported(reset, DeploymentType.RESET, DeploymentStatus.SUCCESS))
    [wf] = world.workflows()
    assert wf.state is WorkflowState.RESET
    assert world.greengrass.calls["get_deployment_status"] == 1
    assert world.ledger.load(GROUP).remediations == (EPOCH,)


def test_the_failure_of_a_reset_we_made_is_never_remediated_even_when_called_new() -> None:
    """Our deployments are known from the ledger's list, whatever type a (forged) event gives them."""
    world = World()
    world.request()
    [reset] = list(world.greengrass.statuses)
    world.handle(DeploymentStatusReported(reset, DeploymentType.RESET, DeploymentStatus.SUCCESS))
    world.clock.advance(timedelta(days=2).total_seconds())
    world.failure_event(reset, DeploymentType.NEW)
    assert [wf.state for wf in world.workflows()] == [WorkflowState.RESET]
