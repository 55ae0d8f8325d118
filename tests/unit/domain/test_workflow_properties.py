"""Property-based: random histories of requests, status events, stray answers, Greengrass failures and
time, applied through the real shell (`ResetService`) with the in-memory fakes.

Invariants, checked after every operation and after a final drain:
- every request id ends up in exactly one workflow of its group (nothing lost, nothing doubled; a
  remediation queued behind a dry run counts once it has started);
- at most one active workflow per group, and every recorded history belongs to a known workflow;
- step seq numbers of each workflow are 1, 2, 3, ... (strictly increasing, no gaps);
- no Greengrass write (ResetDeployments, DeleteGroup, CreateDeployment) ever for a dry run, nor without a
  protection check at most `protection_freshness_s` old, so never for a group protected longer than that
  (the protection tag may be added while a workflow runs);
- a redeployment only for a remediation of a group tagged `gg-reset:on-failure=rollback`, never for a
  request, and never more than one per remediation;
- no `Force=True` reset for a workflow answering a `force=never` request;
- no write caused by a forged Failure event (one for a deployment Greengrass does not confirm);
- a workflow ends GONE only for a group that really is gone (a stray "not found" proves nothing), and never
  once it has called DeleteGroup (then the group is missing because of it: DELETED);
- only remediations are queued, and only behind an active workflow;
- terminal workflows never change (and never come back);
- once errors stop and the clock has moved past every deadline, every workflow is terminal with a reason;
- neither `handle` nor `sweep` ever fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gg_reset.contracts import DeploymentStatus, DeploymentType, ForcePolicy
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.events import (
    CallFailed,
    DeploymentStatusReported,
    Event,
    GroupInspected,
    InvalidRequestReceived,
    RequestReceived,
    ResetAccepted,
    Tick,
)
from gg_reset.domain.model import PendingCall, Request, RequestKind, Workflow, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import PROTECT_TAG, is_protected, remediation_request_id
from gg_reset.shell.service import ResetService
from support.fakes import EPOCH, FakeGreengrass, InMemoryLedger, ManualClock, RecordingNotifier, error

POLICY = WorkflowPolicy()
OPEN, PROTECTED, DRY, ROLLBACK = "g-open", "g-protected", "g-dry", "g-rollback"
GROUPS = (OPEN, PROTECTED, DRY, ROLLBACK)
TAGS = {
    OPEN: {"team": "iot"},
    PROTECTED: {"gg-reset:protect": "True"},
    DRY: {},
    ROLLBACK: {"gg-reset:on-failure": "rollback"},
}
OPERATIONS = (
    "inspect_group",
    "reset_deployments",
    "get_deployment_status",
    "delete_group",
    "find_rollback_target",
    "redeploy",
)
WRITES = ("reset_deployments", "delete_group", "redeploy")
FORGED = "forged-"
"""Prefix of the deployment ids of forged Failure events (no such deployment exists)."""


class GuardedGreengrass(FakeGreengrass):
    """Records every write together with what the ledger said about the group at the time of the call
    (the shell saves before it calls, so the active workflow is the one making the call)."""

    ledger: InMemoryLedger
    clock: ManualClock
    violations: list[str]
    protected_since: dict[str, datetime]
    """When each protected group got its protection tag."""
    never_ids: set[str]
    """Request ids that asked for `force=never`."""

    def _check_write(self, operation: str, group_id: str) -> None:
        active = self.ledger.load(group_id).active
        now = self.clock.now()
        fresh_for = timedelta(seconds=POLICY.protection_freshness_s)
        since = self.protected_since.get(group_id)
        if since is not None and now - since > fresh_for:
            self.violations.append(f"{operation} on {group_id}, protected since {since}")
        if active is None:
            self.violations.append(f"{operation} on {group_id} without an active workflow")
            return
        if active.request.dry_run:
            self.violations.append(f"{operation} on {group_id} for dry run {active.workflow_id}")
        trigger = active.request.trigger_deployment_id
        if active.kind is RequestKind.REMEDIATION and trigger is not None and trigger.startswith(FORGED):
            self.violations.append(f"{operation} on {group_id} caused by forged failure {trigger}")
        if active.checked_at is None or now - active.checked_at > fresh_for:
            self.violations.append(f"{operation} on {group_id} with a check from {active.checked_at}")

    def reset_deployments(
        self, group_id: str, *, force: bool, client_token: str, adopt_since: datetime | None = None
    ) -> str:
        self._check_write("reset_deployments", group_id)
        active = self.ledger.load(group_id).active
        if force and active is not None and self.never_ids.intersection(active.request_ids):
            self.violations.append(f"Force=True on {group_id} for a force=never request")
        return super().reset_deployments(
            group_id, force=force, client_token=client_token, adopt_since=adopt_since
        )

    def delete_group(self, group_id: str) -> None:
        self._check_write("delete_group", group_id)
        super().delete_group(group_id)

    def redeploy(
        self, group_id: str, deployment_id: str, *, client_token: str, group_version_id: str | None = None
    ) -> str:
        self._check_write("redeploy", group_id)
        active = self.ledger.load(group_id).active
        if active is None or active.kind is not RequestKind.REMEDIATION or group_id != ROLLBACK:
            self.violations.append(f"redeploy on {group_id} outside a rollback remediation")
        elif active.rollback_deployment_id is not None:
            self.violations.append(f"a second redeployment for remediation {active.workflow_id}")
        return super().redeploy(
            group_id, deployment_id, client_token=client_token, group_version_id=group_version_id
        )


@dataclass
class World:
    clock: ManualClock = field(default_factory=ManualClock)
    ledger: InMemoryLedger = field(default_factory=InMemoryLedger)
    greengrass: GuardedGreengrass = field(default_factory=GuardedGreengrass)
    notifier: RecordingNotifier = field(default_factory=RecordingNotifier)
    expected_ids: dict[str, set[str]] = field(default_factory=lambda: {g: set() for g in GROUPS})
    finished: dict[tuple[str, str], tuple[Workflow, int]] = field(default_factory=dict)
    """Snapshot of every terminal workflow (by group and id) and the length of its history when it ended."""
    stray: int = 0

    def __post_init__(self) -> None:
        self.greengrass.ledger = self.ledger
        self.greengrass.clock = self.clock
        self.greengrass.violations = []
        self.greengrass.never_ids = set()
        self.greengrass.protected_since = {
            g: EPOCH - timedelta(days=1) for g in GROUPS if is_protected(TAGS[g])
        }
        for group in GROUPS:
            self.greengrass.add_group(group, TAGS[group])
        self.service = ResetService(
            ledger=self.ledger,
            greengrass=self.greengrass,
            notifier=self.notifier,
            clock=self.clock,
            policy=POLICY,
        )

    # --- applying operations ------------------------------------------------------------------------

    def handle(self, group: str, event: Event) -> None:
        self.service.handle(group, event)

    def sweep(self) -> None:
        report = self.service.sweep()
        assert report.failed == (), f"sweep failed for {report.failed}"

    def apply(self, op: tuple[Any, ...]) -> None:
        match op:
            case ("request", group, n, kind, force, dry_run):
                request_id = f"{group}:r{n}"
                if force is ForcePolicy.NEVER and request_id not in self.expected_ids[group]:
                    self.greengrass.never_ids.add(request_id)  # (a replayed id is the first request's)
                self.expected_ids[group].add(request_id)
                request = Request(
                    request_id, kind, group, self.clock.now(), "prop", force=force, dry_run=dry_run
                )
                self.handle(group, RequestReceived(request))
            case ("invalid", group, n):
                request_id = f"{group}:r{n}"
                self.expected_ids[group].add(request_id)
                self.handle(group, InvalidRequestReceived(request_id, group, "detail.force: bad"))
            case ("status", group, which, deployment_type, status):
                record = self.ledger.load(group)
                active = record.active
                if which == "current":
                    deployment_id = (active.deployment_id if active else None) or "dep-1"
                else:
                    deployment_id = which
                remediable = status is DeploymentStatus.FAILURE and deployment_type in (
                    DeploymentType.NEW,
                    DeploymentType.REDEPLOYMENT,
                )
                if remediable and deployment_id not in record.own_deployments:
                    self.expected_ids[group].add(remediation_request_id(deployment_id))
                    if not deployment_id.startswith(FORGED):
                        # A true event: Greengrass confirms the failure when asked.
                        self.greengrass.fail_deployment(deployment_id, deployment_type)
                self.handle(group, DeploymentStatusReported(deployment_id, deployment_type, status))
            case ("forged", group, deployment_id, deployment_type):
                # A Failure event for a deployment the group never had: Greengrass does not confirm it.
                self.apply(("status", group, deployment_id, deployment_type, DeploymentStatus.FAILURE))
            case ("complete", group, status):
                active = self.ledger.load(group).active
                if active is not None and active.deployment_id is not None:
                    self.greengrass.statuses[active.deployment_id] = status
            case ("script", operation, kind):
                self.greengrass.script(operation, error(kind, operation))
            case ("stray", group, answer):
                self.handle(group, self.stray_answer(group, answer))
            case ("tick", group):
                self.handle(group, Tick())
            case ("planning", group, n, deployment_id):
                # A dry run whose inspection has to be retried, and a deployment of the group failing
                # meanwhile: the remediation waits for the dry run to end.
                self.greengrass.script("inspect_group", error(ErrorKind.SERVER_ERROR, "GetGroup"))
                self.apply(("request", group, n, RequestKind.RESET, ForcePolicy.AUTO, True))
                self.apply(("status", group, deployment_id, DeploymentType.NEW, DeploymentStatus.FAILURE))
            case ("protect", group):
                # Someone tags the group while workflows run: honoured at the next write, at the latest
                # `protection_freshness_s` later.
                tags = self.greengrass.groups.get(group)
                if tags is not None and group not in self.greengrass.protected_since:
                    key, value = PROTECT_TAG
                    tags[key] = value
                    self.greengrass.protected_since[group] = self.clock.now()
            case ("sweep", seconds):
                self.clock.advance(seconds)
                self.sweep()

    def stray_answer(self, group: str, answer: Any) -> Event:
        """An answer arriving late, twice, or for a call already answered: true facts, made-up ids."""
        if answer == "inspected":
            tags = self.greengrass.groups.get(group, {})
            return GroupInspected(exists=group in self.greengrass.groups, tags=dict(tags))
        if answer == "accepted":
            self.stray += 1
            return ResetAccepted(f"stray-{self.stray}", forced=self.stray % 2 == 0)
        call, kind = answer
        return CallFailed(call, kind, f"{kind}-code", "stray failure")

    # --- invariants ----------------------------------------------------------------------------------

    def check(self) -> None:
        assert self.greengrass.violations == []
        for group in GROUPS:
            record = self.ledger.load(group)
            workflows = self.ledger.workflows(group)
            ids = [wf.workflow_id for wf in workflows]
            assert len(ids) == len(set(ids)), "a workflow was recorded twice"
            active = [wf for wf in workflows if not wf.terminal]
            assert active == ([record.active] if record.active else []), "one active workflow per group"
            if record.queued:
                assert record.active is not None, "a queued remediation with nothing to wait for"
                assert all(r.kind is RequestKind.REMEDIATION for r in record.queued)
            known = set(ids)
            for (gid, workflow_id), steps in self.ledger.steps.items():
                if gid == group:
                    assert workflow_id in known, f"history of a workflow that was lost: {workflow_id}"
                    assert [s.seq for s in steps] == list(range(1, len(steps) + 1))
            for wf in workflows:
                history = self.ledger.history(group, wf.workflow_id)
                assert wf.step_count == len(history)
                if wf.terminal:
                    assert wf.reason, "a terminal workflow needs a reason"
                    if (group, wf.workflow_id) not in self.finished and wf.state is WorkflowState.GONE:
                        assert group not in self.greengrass.groups, f"GONE, but {group} exists: {wf.reason}"
                        assert not wf.delete_issued, f"GONE after our DeleteGroup: {wf.reason}"
                    snapshot = self.finished.setdefault((group, wf.workflow_id), (wf, len(history)))
                    assert snapshot == (wf, len(history)), "a terminal workflow changed"
            seen: dict[str, int] = {}
            for wf in workflows:
                for request_id in wf.request_ids:
                    seen[request_id] = seen.get(request_id, 0) + 1
            assert all(n == 1 for n in seen.values()), f"request in two workflows: {seen}"
            assert set(seen) <= self.expected_ids[group]

    def drain(self, *, cores_answer: bool) -> None:
        """Errors stop; time runs past every deadline and backoff; everything must end. With
        `cores_answer`, every reset deployment succeeds from now on; otherwise the cores stay silent."""
        self.greengrass.scripted.clear()
        for _ in range(60):
            if all(self.ledger.load(g).active is None for g in GROUPS):
                break
            if cores_answer:
                for deployment_id in self.greengrass.statuses:
                    self.greengrass.statuses[deployment_id] = DeploymentStatus.SUCCESS
            self.clock.advance(POLICY.reset_timeout_s + POLICY.force_timeout_s)
            self.sweep()
            self.check()
        for group in GROUPS:
            assert self.ledger.load(group).active is None, f"{group} never finished"
            ids = [i for wf in self.ledger.workflows(group) for i in wf.request_ids]
            assert sorted(ids) == sorted(self.expected_ids[group]), (
                "every request ends in exactly one workflow"
            )
            for wf in self.ledger.workflows(group):
                assert wf.terminal and wf.reason


# --- strategies --------------------------------------------------------------------------------------------

request_numbers = st.integers(0, 5)
kinds = st.sampled_from([RequestKind.RESET, RequestKind.DELETION])
forces = st.sampled_from(list(ForcePolicy))
own_types = st.sampled_from([DeploymentType.RESET, DeploymentType.FORCE_RESET])
statuses = st.sampled_from(list(DeploymentStatus))
calls = st.sampled_from(list(PendingCall))
errors = st.sampled_from(list(ErrorKind))
advances = st.sampled_from([0, 1, 5, 30, 61, 121, 300, 601, 1200])


def operations(*, mixed: bool) -> st.SearchStrategy[tuple[Any, ...]]:
    """`mixed=False` keeps each group's requests to one dry-run flag and sends no invalid requests (see
    the xfail below); `mixed=True` lets them all mix."""
    real_groups = st.sampled_from([OPEN, PROTECTED, ROLLBACK])
    groups = st.sampled_from(GROUPS)

    def requests(group_st: st.SearchStrategy[str], dry: st.SearchStrategy[bool]) -> st.SearchStrategy[Any]:
        return st.tuples(st.just("request"), group_st, request_numbers, kinds, forces, dry)

    if mixed:
        request_ops = requests(groups, st.booleans())
    else:
        request_ops = st.one_of(requests(real_groups, st.just(False)), requests(st.just(DRY), st.just(True)))
    own_status = st.tuples(
        st.just("status"),
        groups,
        st.sampled_from(["current", "dep-1", "dep-2", "dep-3"]),
        own_types,
        statuses,
    )
    foreign = st.tuples(
        st.just("status"),
        real_groups if not mixed else groups,
        st.sampled_from(["other-1", "other-2", "other-3"]),
        st.sampled_from(list(DeploymentType)),
        statuses,
    )
    forged = st.tuples(
        st.just("forged"),
        real_groups if not mixed else groups,
        st.sampled_from([f"{FORGED}1", f"{FORGED}2"]),
        st.sampled_from([DeploymentType.NEW, DeploymentType.REDEPLOYMENT]),
    )
    ops = [
        request_ops,
        request_ops,
        own_status,
        own_status,
        foreign,
        forged,
        st.tuples(
            st.just("complete"), groups, st.sampled_from([DeploymentStatus.SUCCESS, DeploymentStatus.FAILURE])
        ),
        st.tuples(st.just("script"), st.sampled_from(OPERATIONS), errors),
        st.tuples(
            st.just("stray"),
            groups,
            st.one_of(st.sampled_from(["inspected", "accepted"]), st.tuples(calls, errors)),
        ),
        # Rarely (so that most histories still reset and delete the open group), someone protects it.
        st.sampled_from([*[("tick", group) for group in GROUPS] * 3, ("protect", OPEN)]),
        st.tuples(st.just("sweep"), advances),
        st.tuples(st.just("sweep"), advances),
    ]
    if mixed:
        ops.append(st.tuples(st.just("invalid"), groups, request_numbers))
        ops.append(
            st.tuples(
                st.just("planning"),
                groups,
                request_numbers,
                st.sampled_from(["other-1", "other-2", "other-3"]),
            )
        )
    return st.one_of(*ops)


def run(ops: list[tuple[Any, ...]], *, cores_answer: bool = False) -> World:
    world = World()
    for op in ops:
        world.apply(op)
        world.check()
    world.drain(cores_answer=cores_answer)
    world.check()
    return world


PROPERTY_SETTINGS = settings(
    max_examples=1200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@PROPERTY_SETTINGS
@given(st.lists(operations(mixed=False), min_size=10, max_size=80), st.booleans())
def test_invariants_hold_for_any_history(ops: list[tuple[Any, ...]], cores_answer: bool) -> None:
    run(ops, cores_answer=cores_answer)


@settings(PROPERTY_SETTINGS, max_examples=200)
@given(st.lists(operations(mixed=True), max_size=40))
def test_invariants_hold_when_invalid_and_dry_run_requests_mix_in(ops: list[tuple[Any, ...]]) -> None:
    run(ops)


def test_the_guard_sees_writes() -> None:
    """The write guard itself works: a write for a protected group, one without an active workflow, one
    on a stale check and a forced one against a force=never request are reported."""
    world = World()
    world.greengrass.reset_deployments(PROTECTED, force=False, client_token="t")
    assert world.greengrass.violations == [
        f"reset_deployments on {PROTECTED}, protected since {EPOCH - timedelta(days=1)}",
        f"reset_deployments on {PROTECTED} without an active workflow",
    ]
    world.greengrass.violations.clear()
    world.apply(("request", OPEN, 0, RequestKind.RESET, ForcePolicy.NEVER, False))
    assert world.greengrass.violations == []
    world.clock.advance(POLICY.protection_freshness_s + 1)
    world.greengrass.reset_deployments(OPEN, force=True, client_token="t")
    assert world.greengrass.violations == [
        f"reset_deployments on {OPEN} with a check from {EPOCH}",
        f"Force=True on {OPEN} for a force=never request",
    ]


def test_a_tag_added_while_a_reset_waits_is_honoured_before_the_next_write() -> None:
    ops: list[tuple[Any, ...]] = [
        *[("script", "reset_deployments", ErrorKind.DEPLOYMENT_IN_PROGRESS)] * 3,
        ("request", OPEN, 0, RequestKind.DELETION, ForcePolicy.AUTO, False),
        ("protect", OPEN),
        ("sweep", 30),
        ("sweep", 30),
        ("sweep", 30),
    ]
    world = run(ops)
    (wf,) = world.ledger.workflows(OPEN)
    assert wf.state is WorkflowState.REJECTED and "stopped before ResetDeployments" in wf.reason
    # refused at 0, 30 and 60 s (each within the freshness of the inspection); at 90 s the tags are read
    assert world.greengrass.calls["reset_deployments"] == 3


def test_stray_not_found_answers_never_end_a_workflow_gone() -> None:
    ops: list[tuple[Any, ...]] = [
        ("request", OPEN, 0, RequestKind.RESET, ForcePolicy.AUTO, False),
        ("script", "get_deployment_status", ErrorKind.NOT_FOUND),
        ("sweep", 601),
    ]
    world = run(ops, cores_answer=True)
    (wf,) = world.ledger.workflows(OPEN)
    assert wf.state is WorkflowState.RESET
    assert world.greengrass.calls["inspect_group"] >= 2  # the inspection, then GetGroup confirming


def test_a_busy_history_ends_cleanly() -> None:
    """A fixed, readable example of what the property explores."""
    ops: list[tuple[Any, ...]] = [
        ("request", OPEN, 0, RequestKind.RESET, ForcePolicy.AUTO, False),
        ("request", OPEN, 0, RequestKind.RESET, ForcePolicy.AUTO, False),
        ("script", "get_deployment_status", ErrorKind.THROTTLED),
        ("request", OPEN, 1, RequestKind.DELETION, ForcePolicy.NEVER, False),
        ("status", OPEN, "other-1", DeploymentType.NEW, DeploymentStatus.FAILURE),
        ("request", PROTECTED, 0, RequestKind.DELETION, ForcePolicy.IMMEDIATELY, False),
        ("request", DRY, 0, RequestKind.DELETION, ForcePolicy.IMMEDIATELY, True),
        ("sweep", 601),
        ("status", OPEN, "current", DeploymentType.RESET, DeploymentStatus.SUCCESS),
        ("status", OPEN, "current", DeploymentType.RESET, DeploymentStatus.SUCCESS),
    ]
    world = run(ops)
    states = {g: [wf.state.value for wf in world.ledger.workflows(g)] for g in GROUPS}
    assert states == {OPEN: ["DELETED"], PROTECTED: ["REJECTED"], DRY: ["PLANNED"], ROLLBACK: []}
    assert world.greengrass.calls["delete_group"] == 1


def test_a_failed_deployment_of_the_rollback_group_is_rolled_back_once_through_errors() -> None:
    """A fixed example of the roll back under the property's faults: one redeployment, however often the
    answers are lost, and a reset request meanwhile is answered on its own."""
    ops: list[tuple[Any, ...]] = [
        ("script", "find_rollback_target", ErrorKind.SERVER_ERROR),
        ("script", "redeploy", ErrorKind.THROTTLED),
        ("status", ROLLBACK, "other-1", DeploymentType.NEW, DeploymentStatus.FAILURE),
        ("sweep", 61),
        ("sweep", 61),
        ("request", ROLLBACK, 0, RequestKind.RESET, ForcePolicy.AUTO, False),
        ("status", ROLLBACK, "other-1", DeploymentType.NEW, DeploymentStatus.FAILURE),
        ("complete", ROLLBACK, DeploymentStatus.SUCCESS),
        ("sweep", 601),
    ]
    world = run(ops)
    states = [wf.state.value for wf in world.ledger.workflows(ROLLBACK)]
    assert sorted(states) == ["REJECTED", "ROLLED_BACK"]
    assert world.greengrass.calls["redeploy"] == 2  # the throttled attempt, then the one that worked
