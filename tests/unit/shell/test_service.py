"""The imperative shell (`ResetService`) with in-memory fakes: idempotence, conflicts, failures, sweeps."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gg_reset.contracts import DeploymentStatus, DeploymentType, ForcePolicy
from gg_reset.domain.actions import Notify
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import DeploymentStatusReported, Event, RequestReceived, Tick
from gg_reset.domain.model import GroupRecord, PendingCall, Request, RequestKind, StepKind, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import Decision
from gg_reset.ports import GroupFacts, VersionConflict
from gg_reset.shell.budget import RequestBudget
from gg_reset.shell.service import ResetService
from support.fakes import (
    EPOCH,
    FakeGreengrass,
    InMemoryLedger,
    ManualClock,
    RecordingNotifier,
    RecordingTimers,
    error,
)

POLICY = WorkflowPolicy()
GROUP = "g-1"


class Env:
    def __init__(self, ledger: InMemoryLedger | None = None, notifier: object | None = None) -> None:
        self.clock = ManualClock()
        self.ledger = ledger or InMemoryLedger()
        self.greengrass = FakeGreengrass()
        self.notifier = notifier or RecordingNotifier()
        self.greengrass.add_group(GROUP)
        self.service = ResetService(
            ledger=self.ledger,
            greengrass=self.greengrass,
            notifier=self.notifier,  # type: ignore[arg-type]
            clock=self.clock,
            policy=POLICY,
        )

    def request(
        self,
        request_id: str = "r1",
        kind: RequestKind = RequestKind.RESET,
        force: ForcePolicy = ForcePolicy.AUTO,
        group: str = GROUP,
    ) -> RequestReceived:
        return RequestReceived(
            Request(request_id, kind, group, self.clock.now(), requested_by="test", force=force)
        )

    def handle(self, event: Event, group: str = GROUP) -> GroupRecord:
        return self.service.handle(group, event).record

    def workflow(self, group: str = GROUP):  # type: ignore[no-untyped-def]
        wf = self.ledger.load(group).current
        assert wf is not None
        return wf

    def history(self, group: str = GROUP) -> list[StepKind]:
        return [s.kind for s in self.ledger.history(group, self.workflow(group).workflow_id)]

    def advance_to_next_action(self) -> timedelta:
        """Move the clock to when the active workflow's next call is due; returns how far that was."""
        active = self.ledger.load(GROUP).active
        assert active is not None and active.next_action_at is not None
        waited = active.next_action_at - self.clock.now()
        self.clock.current = active.next_action_at
        return waited

    def sweep_until_idle(self, step_s: float = 60, limit: int = 200) -> None:
        for _ in range(limit):
            if self.ledger.load(GROUP).active is None:
                return
            self.clock.advance(step_s)
            self.service.sweep()
        pytest.fail("the workflow did not finish")


def success(deployment_id: str, deployment_type: DeploymentType = DeploymentType.RESET) -> Event:
    return DeploymentStatusReported(deployment_id, deployment_type, DeploymentStatus.SUCCESS)


# --- idempotence ---------------------------------------------------------------------------------------


def test_duplicated_request_and_status_event_make_one_call_and_one_history_entry_per_step() -> None:
    env = Env()
    for _ in range(5):
        env.handle(env.request("r1"))
    deployment_id = env.workflow().deployment_id
    assert deployment_id == "dep-1"
    for _ in range(5):
        env.handle(success(deployment_id))

    assert env.greengrass.calls == {"inspect_group": 1, "reset_deployments": 1}
    wf = env.workflow()
    assert wf.state is WorkflowState.RESET
    assert env.history() == [
        StepKind.REQUESTED,
        StepKind.INSPECTED,
        StepKind.RESET_STARTED,
        StepKind.DEPLOYMENT_SUCCEEDED,
        StepKind.FINISHED,
    ]
    assert [s.seq for s in env.ledger.history(GROUP, wf.workflow_id)] == [1, 2, 3, 4, 5]
    assert env.ledger.saves == 4  # request, inspection, reset started, success: the replays saved nothing
    assert env.ledger.workflows(GROUP) == [wf]


def test_a_deletion_runs_reset_then_delete_through_the_fakes() -> None:
    env = Env()
    env.handle(env.request(kind=RequestKind.DELETION))
    env.handle(success(env.workflow().deployment_id))
    assert env.workflow().state is WorkflowState.DELETED
    assert GROUP not in env.greengrass.groups
    # inspected once: the check is still fresh when DeleteGroup comes right after the reset
    assert env.greengrass.calls == {"inspect_group": 1, "reset_deployments": 1, "delete_group": 1}


def test_a_deletion_whose_reset_took_longer_than_the_freshness_is_rechecked_before_delete() -> None:
    env = Env()
    env.handle(env.request(kind=RequestKind.DELETION))
    env.clock.advance(POLICY.protection_freshness_s + 1)
    env.handle(success(env.workflow().deployment_id))
    assert env.workflow().state is WorkflowState.DELETED
    assert env.greengrass.calls == {"inspect_group": 2, "reset_deployments": 1, "delete_group": 1}


def test_a_tag_added_while_a_reset_waited_for_a_running_deployment_is_honoured() -> None:
    env = Env()
    env.greengrass.script("reset_deployments", error(ErrorKind.DEPLOYMENT_IN_PROGRESS))
    env.handle(env.request())
    env.greengrass.add_group(GROUP, {"gg-reset:protect": "true"})
    env.advance_to_next_action()  # 30 s later: within the freshness, so no re-check yet
    env.clock.advance(POLICY.protection_freshness_s)
    env.service.sweep()
    assert env.workflow().state is WorkflowState.REJECTED
    assert env.greengrass.calls == {"inspect_group": 2, "reset_deployments": 1}


def test_a_duplicated_success_while_deleting_does_not_call_delete_again() -> None:
    env = Env()
    env.greengrass.script("delete_group", error(ErrorKind.THROTTLED, "DeleteGroup"))
    env.handle(env.request(kind=RequestKind.DELETION))
    deployment_id = env.workflow().deployment_id
    env.handle(success(deployment_id))
    assert env.greengrass.calls["delete_group"] == 1
    env.handle(success(deployment_id))  # duplicated delivery, during the backoff
    assert env.greengrass.calls["delete_group"] == 1


def test_the_sweeper_escalates_a_silent_core_to_a_forced_reset() -> None:
    env = Env()
    env.handle(env.request())
    env.clock.advance(POLICY.reset_timeout_s)
    report = env.service.sweep()
    assert report.looked_at == (GROUP,) and report.failed == ()
    wf = env.workflow()
    assert env.greengrass.tokens == [
        (GROUP, False, wf.client_token(force=False)),
        (GROUP, True, wf.client_token(force=True)),
    ]
    assert env.greengrass.calls["inspect_group"] == 2  # the protection re-check before Force
    assert env.greengrass.calls["get_deployment_status"] == 1  # polled once before escalating
    assert wf.state is WorkflowState.FORCE_RESETTING and wf.deployment_id == "dep-2"
    env.handle(success("dep-2", DeploymentType.FORCE_RESET))
    assert env.workflow().state is WorkflowState.RESET
    assert StepKind.ESCALATED in env.history()


# --- version conflicts -----------------------------------------------------------------------------------


class ConflictOnceLedger(InMemoryLedger):
    """Raises VersionConflict on the first save, as if another worker had written just before."""

    conflicts = 0

    def save(self, previous: GroupRecord, decision: Decision) -> GroupRecord:
        if self.conflicts == 0:
            self.conflicts += 1
            raise VersionConflict(previous.group_id)
        return super().save(previous, decision)


def test_a_version_conflict_reloads_and_decides_again_without_a_duplicate_call() -> None:
    env = Env(ledger=ConflictOnceLedger())
    env.handle(env.request())
    assert env.ledger.conflicts == 1  # type: ignore[attr-defined]
    assert env.greengrass.calls == {"inspect_group": 1, "reset_deployments": 1}
    assert env.workflow().state is WorkflowState.RESETTING
    assert env.history() == [StepKind.REQUESTED, StepKind.INSPECTED, StepKind.RESET_STARTED]


def test_a_real_race_the_loser_sees_the_winners_work_and_calls_nothing() -> None:
    """Two workers got the same request; the other one saves first (its whole run happens between our
    load and our save). We must not call Greengrass a second time."""
    env = Env()
    other = ResetService(
        ledger=env.ledger,
        greengrass=env.greengrass,
        notifier=RecordingNotifier(),
        clock=env.clock,
        policy=POLICY,
    )
    event = env.request()

    class RacingLedger(InMemoryLedger):
        raced = False

        def save(self, previous: GroupRecord, decision: Decision) -> GroupRecord:
            if not self.raced:
                self.raced = True
                other.handle(GROUP, event)
            return super().save(previous, decision)

    racing = RacingLedger(records=env.ledger.records, steps=env.ledger.steps, finished=env.ledger.finished)
    env.service.ledger = racing
    env.handle(event)
    assert racing.raced
    assert env.greengrass.calls == {"inspect_group": 1, "reset_deployments": 1}
    assert env.history() == [StepKind.REQUESTED, StepKind.INSPECTED, StepKind.RESET_STARTED]


def test_endless_conflicts_give_up_with_the_conflict() -> None:
    class AlwaysConflict(InMemoryLedger):
        def save(self, previous: GroupRecord, decision: Decision) -> GroupRecord:
            raise VersionConflict(previous.group_id)

    env = Env(ledger=AlwaysConflict())
    with pytest.raises(VersionConflict):
        env.handle(env.request())
    assert env.greengrass.calls == {}


# --- notifications -----------------------------------------------------------------------------------------


class BrokenNotifier:
    def __init__(self) -> None:
        self.attempts = 0

    def notify(self, notice: Notify) -> None:
        self.attempts += 1
        raise ConnectionError("SNS is down")


def test_a_failing_notifier_does_not_break_handle() -> None:
    notifier = BrokenNotifier()
    env = Env(notifier=notifier)
    env.greengrass.script("reset_deployments", error(ErrorKind.BAD_REQUEST, message="GroupId invalid"))
    env.handle(env.request())
    wf = env.workflow()
    assert wf.state is WorkflowState.FAILED and "GroupId invalid" in wf.reason
    assert notifier.attempts == 1
    assert env.ledger.load(GROUP).active is None


def test_failures_are_notified_once() -> None:
    env = Env()
    env.greengrass.script("reset_deployments", error(ErrorKind.BAD_REQUEST))
    env.handle(env.request())
    assert isinstance(env.notifier, RecordingNotifier)
    (notice,) = env.notifier.notices
    assert notice.state is WorkflowState.FAILED and notice.group_id == GROUP
    assert notice.reason == env.workflow().reason


# --- unexpected adapter exceptions and the sweeper -----------------------------------------------


def test_an_unexpected_adapter_exception_is_unknown_and_ends_failed_after_bounded_retries() -> None:
    env = Env()
    env.greengrass.script("reset_deployments", *[RuntimeError("socket closed")] * 50)
    env.handle(env.request())  # must not raise
    env.sweep_until_idle(step_s=POLICY.backoff_cap_s)
    wf = env.workflow()
    assert wf.state is WorkflowState.FAILED
    assert "socket closed" in wf.reason
    assert env.greengrass.calls["reset_deployments"] == POLICY.max_unknown_attempts


class LoadFailsFor(InMemoryLedger):
    broken: str = ""

    def load(self, group_id: str) -> GroupRecord:
        if group_id == self.broken:
            raise RuntimeError("item too large")
        return super().load(group_id)


def test_sweep_continues_after_one_groups_exception_and_reports_it() -> None:
    ledger = LoadFailsFor()
    env = Env(ledger=ledger)
    env.greengrass.add_group("g-0")
    env.greengrass.add_group("g-2")
    for group in ("g-0", GROUP, "g-2"):
        env.handle(env.request(f"r-{group}", group=group), group=group)
    ledger.broken = "g-0"
    env.clock.advance(POLICY.reset_timeout_s)
    report = env.service.sweep()
    assert set(report.looked_at) == {"g-0", GROUP, "g-2"}
    assert report.failed == ("g-0",)
    for group in (GROUP, "g-2"):
        assert ledger.load(group).active.state is WorkflowState.FORCE_RESETTING  # type: ignore[union-attr]
    ledger.broken = ""
    assert ledger.load("g-0").active.state is WorkflowState.RESETTING  # type: ignore[union-attr]
    assert env.service.sweep().failed == ()  # still due: the next sweep picks it up
    assert ledger.load("g-0").active.state is WorkflowState.FORCE_RESETTING  # type: ignore[union-attr]


def test_sweep_with_nothing_due_does_nothing() -> None:
    env = Env()
    env.handle(env.request())
    report = env.service.sweep()
    assert report.looked_at == () and report.failed == ()
    assert env.greengrass.calls == {"inspect_group": 1, "reset_deployments": 1}


@pytest.mark.parametrize(
    ("kind", "limit"),
    [
        (ErrorKind.SERVER_ERROR, POLICY.max_transient_attempts),
        (ErrorKind.THROTTLED, POLICY.max_throttled_attempts),  # throttling is retried longer, still bounded
    ],
)
def test_errors_retried_by_the_sweeper_until_failed_are_bounded(kind: ErrorKind, limit: int) -> None:
    env = Env()
    env.greengrass.script("reset_deployments", *[error(kind)] * 100)
    env.handle(env.request())
    env.sweep_until_idle(step_s=POLICY.backoff_cap_s)
    wf = env.workflow()
    assert wf.state is WorkflowState.FAILED
    assert f"failed {limit} times" in wf.reason
    assert env.greengrass.calls["reset_deployments"] == limit
    assert len({token for _, _, token in env.greengrass.tokens}) == 1, (
        "retries after a transient error reuse the token"
    )


# --- client tokens -----------------------------------------------------------------------------------


def test_client_token_is_reused_after_a_server_error() -> None:
    env = Env()
    env.greengrass.script("reset_deployments", error(ErrorKind.SERVER_ERROR))
    env.handle(env.request())
    env.advance_to_next_action()
    env.service.sweep()
    (_, f1, t1), (_, f2, t2) = env.greengrass.tokens
    assert (f1, f2) == (False, False)
    assert t1 == t2
    assert env.workflow().deployment_id == "dep-1"


def test_client_token_changes_after_deployment_in_progress() -> None:
    env = Env()
    env.greengrass.script("reset_deployments", error(ErrorKind.DEPLOYMENT_IN_PROGRESS))
    env.handle(env.request())
    assert env.advance_to_next_action() == timedelta(seconds=POLICY.busy_retry_s)
    env.service.sweep()
    (_, _, t1), (_, _, t2) = env.greengrass.tokens
    assert t1 != t2
    assert t1.endswith("-n0") and t2.endswith("-n1")
    assert GROUP not in t1  # the group is in the token as a digest
    assert env.workflow().deployment_id == "dep-1"


def test_without_a_budget_a_throttled_call_becomes_the_workflows_retry() -> None:
    env = Env()
    env.greengrass.script("inspect_group", error(ErrorKind.THROTTLED, "GetGroup"))
    record = env.service.handle(GROUP, env.request()).record
    assert record.active is not None and record.active.attempts == 1
    assert env.greengrass.calls["inspect_group"] == 1


# --- the request budget ------------------------------------------------------------------------------------


def budgeted(rate: float = 2.0) -> tuple[Env, RecordingTimers]:
    env = Env()
    timers = RecordingTimers()
    env.service.budget = RequestBudget(rate, env.clock)
    env.service.timers = timers
    return env, timers


def test_calls_are_paced_at_the_budget() -> None:
    env, _ = budgeted(rate=2.0)
    for n in range(6):
        gid = env.greengrass.add_group(f"g{n}")
        env.handle(env.request(f"r{n}", group=gid), group=gid)
    # 12 calls (inspect + reset each) at 2 per second, the first 2 from the full bucket: 5 s
    assert sum(env.greengrass.calls.values()) == 12
    assert env.clock.now() - EPOCH == timedelta(seconds=5)


def test_a_429_is_absorbed_within_the_invocation_by_waiting_for_the_budget() -> None:
    env, _ = budgeted()
    env.greengrass.script("inspect_group", error(ErrorKind.THROTTLED, "GetGroup"))
    record = env.service.handle(GROUP, env.request()).record
    assert record.active is not None
    assert record.active.state is WorkflowState.RESETTING and record.active.attempts == 0
    assert env.greengrass.calls == {"inspect_group": 2, "reset_deployments": 1}
    assert env.service.budget is not None and env.service.budget.throttles == 1
    assert env.service.budget.rate < env.service.budget.max_rate  # slowed down after the 429
    assert StepKind.RETRY_SCHEDULED not in env.history()


def test_a_429_that_outlasts_the_invocation_is_left_to_its_timer() -> None:
    env, timers = budgeted()
    env.greengrass.script("inspect_group", *[error(ErrorKind.THROTTLED, "GetGroup")] * 5)
    until = env.clock.now() + timedelta(seconds=2)
    record = env.service.handle(GROUP, env.request(), until=until).record
    assert env.clock.now() <= until
    assert 1 < env.greengrass.calls["inspect_group"] < 5  # waited, retried, then stopped in time
    assert record.active is not None and record.active.pending is PendingCall.INSPECT
    assert record.active.next_action_at is not None and record.active.next_action_at > until
    assert timers.armed == [(GROUP, record.active.next_action_at)]


def test_a_call_the_budget_cannot_fit_before_the_invocation_ends_is_deferred_not_made() -> None:
    env, timers = budgeted(rate=1.0)
    env.handle(env.request("r0", group=env.greengrass.add_group("first")), group="first")  # bucket empty
    until = env.clock.now()
    record = env.service.handle(GROUP, env.request(), until=until).record
    assert env.greengrass.calls["inspect_group"] == 1  # only the first group's
    assert record.active is not None and record.active.attempts == 0
    assert record.active.next_action_at is not None and record.active.next_action_at > until
    assert timers.armed[-1] == (GROUP, record.active.next_action_at)


# --- timers ------------------------------------------------------------------------------------------------


def test_each_new_due_time_arms_one_timer_and_a_timer_tick_drives_the_call() -> None:
    env, timers = budgeted(rate=100)
    record = env.handle(env.request())
    assert record.active is not None and record.active.deadline_at is not None
    assert timers.armed == [(GROUP, record.active.deadline_at)]  # the one poll, at the deadline
    env.clock.current = record.active.deadline_at
    env.service.handle(GROUP, Tick(), timer_for=record.active.deadline_at)
    assert env.greengrass.calls["get_deployment_status"] == 1
    assert env.workflow().state is WorkflowState.FORCE_RESETTING
    assert len(timers.armed) == 2  # the forced reset's own deadline


def test_an_early_timer_rearms_itself_and_a_stale_one_dies() -> None:
    env, timers = budgeted(rate=100)
    record = env.handle(env.request())
    assert record.active is not None and record.active.deadline_at is not None
    due = record.active.deadline_at
    env.clock.current = due - timedelta(seconds=1)  # SQS delays at most 15 minutes: it may come early
    env.service.handle(GROUP, Tick(), timer_for=due)
    assert timers.armed == [(GROUP, due), (GROUP, due)]
    env.service.handle(GROUP, Tick(), timer_for=due - timedelta(seconds=30))  # armed for a past due time
    assert len(timers.armed) == 2


def test_a_finished_workflow_arms_no_timer() -> None:
    env, timers = budgeted(rate=100)
    env.greengrass.add_group(GROUP, {"gg-reset:protect": "true"})
    env.handle(env.request())
    assert env.workflow().state is WorkflowState.REJECTED
    assert timers.armed == []


def test_a_failing_timer_does_not_fail_the_event() -> None:
    env = Env()

    class BrokenTimers:
        def schedule(self, group_id: str, due_at: object) -> None:
            raise RuntimeError("SQS is down")

    env.service.timers = BrokenTimers()
    record = env.handle(env.request())
    assert record.active is not None and record.active.state is WorkflowState.RESETTING


def test_the_sweeper_leaves_workflows_within_the_grace_to_their_timers() -> None:
    env = Env()
    env.handle(env.request())
    env.clock.advance(POLICY.reset_timeout_s + 30)
    assert env.service.sweep(grace=timedelta(seconds=60)).looked_at == ()
    env.clock.advance(31)
    assert env.service.sweep(grace=timedelta(seconds=60)).looked_at == (GROUP,)


def test_telemetry_sees_every_saved_decision_once() -> None:
    seen: list[Decision] = []

    class Recorder:
        def record(self, decision: Decision) -> None:
            seen.append(decision)

    env = Env()
    env.service.telemetry = Recorder()
    for _ in range(3):
        env.handle(env.request())
    assert len(seen) == env.ledger.saves == 3
    assert all(d.changed for d in seen)


def test_a_protected_group_is_never_written() -> None:
    env = Env()
    env.greengrass.add_group(GROUP, {"gg-reset:protect": "TRUE"})
    env.handle(env.request(kind=RequestKind.DELETION, force=ForcePolicy.IMMEDIATELY))
    assert env.workflow().state is WorkflowState.REJECTED
    assert env.greengrass.calls == {"inspect_group": 1}


def test_time_does_not_matter_for_an_idle_group() -> None:
    env = Env()
    env.clock.advance(timedelta(days=3).total_seconds())
    assert env.handle(Tick()) == GroupRecord(GROUP)
    assert env.ledger.saves == 0
    assert env.clock.now() > EPOCH


def test_a_reset_whose_outcome_is_unknown_is_retried_adopting_what_it_may_have_started() -> None:
    env = Env()
    env.greengrass.script("reset_deployments", error(ErrorKind.SERVER_ERROR), error(ErrorKind.THROTTLED))
    env.handle(env.request())
    env.advance_to_next_action()
    env.service.sweep()
    env.advance_to_next_action()
    env.service.sweep()
    first, second, third = env.greengrass.adopt_since
    assert first is None  # nothing to adopt on the first attempt
    assert second is not None and second < EPOCH + timedelta(seconds=1)  # since the 5xx'd attempt
    assert third == second  # a throttle proves nothing was started, but the 5xx'd attempt still might have
    assert env.workflow().deployment_id == "dep-1"
    assert env.workflow().unconfirmed_reset_since is None  # cleared once a reset is accepted


def test_not_found_from_a_reset_is_confirmed_with_get_group_before_gone() -> None:
    env = Env()
    not_found = error(ErrorKind.NOT_FOUND, "ResetDeployments", "Not Found")
    env.greengrass.script("reset_deployments", not_found, not_found, not_found)
    env.handle(env.request(kind=RequestKind.DELETION))
    for _ in range(3):
        if env.ledger.load(GROUP).active is None:
            break
        env.advance_to_next_action()
        env.service.sweep()
    wf = env.workflow()
    assert wf.state is WorkflowState.FAILED  # the group exists (GetGroup says so): never GONE
    assert "kept answering not found" in wf.reason
    assert env.greengrass.calls["inspect_group"] == 1 + (POLICY.max_unknown_attempts - 1)
    assert GROUP in env.greengrass.groups


def test_a_group_that_get_group_finds_missing_after_a_not_found_ends_gone() -> None:
    env = Env()
    env.greengrass.script("reset_deployments", error(ErrorKind.NOT_FOUND, "ResetDeployments"))
    env.greengrass.script(
        "inspect_group", GroupFacts(GROUP, exists=True, arn="arn:g"), GroupFacts(GROUP, exists=False)
    )
    env.handle(env.request())
    wf = env.workflow()
    assert wf.state is WorkflowState.GONE
    assert "GetGroup" in wf.reason
    assert env.greengrass.calls == {"inspect_group": 2, "reset_deployments": 1}
