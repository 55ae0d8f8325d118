"""The soak's fleet: its group kinds, how each is set up, the events forged against it, and the terminal
state each kind must end in (`tests/reliability/test_soak.py` runs it).

Request groups get a reset or deletion request (10 % force=never, 20 % sent twice). Remediation groups get
no request: a deployment their core fails (`Fleet.fail_deployment`), whose Failure event opens a
remediation that does what the group's `gg-reset:on-failure` tag says. Forged groups are healthy online
groups that get a Failure event for a deployment that never existed, from this region or another one.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gg_reset.contracts import GREENGRASS_SOURCE, DeploymentStatus, DeploymentType, DetailType, ForcePolicy
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.remediation import ON_FAILURE_TAG
from gg_reset.domain.safety import PROTECT_TAG
from gg_reset.domain.workflow import remediation_request_id
from gg_reset.local import LocalService
from gg_reset.local.greengrass_http import ApiRequest, ApiResponse
from gg_reset.local.runtime import ACCOUNT, REGION, WorkflowView

S = WorkflowState
REQUEST_KINDS = (
    "online",
    "online",
    "online",
    "offline",
    "failing",
    "flaky",
    "slow",
    "protected",
    "dry-run",
    "gone",
)
REMEDIATION_KINDS = ("rollback", "notify", "reset-by-default", "rollback-failing-core")
FORGED_KINDS = ("forged-rollback", "forged-untagged", "foreign-rollback", "foreign-untagged")
DRY_RUN_AFTER_ROLLBACK = "dry-run-after-rollback"
FORCE_NEVER_SHARE = 0.1
DUPLICATED_REQUESTS = 0.20
OTHER_REGION = "eu-west-3"
WRITES = ("ResetDeployments", "CreateDeployment", "DeleteGroup")

_CORE = {
    "offline": "offline",
    "failing": "failing",
    "flaky": "flaky",
    "slow": "slow",
    "rollback-failing-core": "failing",
}
"""The simulated core of each kind; every other kind's core is online (`CoreProfile`: online answers every
deployment with Success after 5 s, failing with Failure after 5 s, offline never, flaky fails 30 %, slow
answers after 15 min)."""
_TAGS: dict[str, dict[str, str]] = {
    "protected": dict([PROTECT_TAG]),
    "rollback": {ON_FAILURE_TAG: "rollback"},
    "rollback-failing-core": {ON_FAILURE_TAG: "rollback"},
    "notify": {ON_FAILURE_TAG: "notify"},
    "forged-rollback": {ON_FAILURE_TAG: "rollback"},
    "foreign-rollback": {ON_FAILURE_TAG: "rollback"},
}
REMEDIATION_ENDS = {
    "rollback": S.ROLLED_BACK,  # online core, an earlier NewDeployment that worked: redeployed, Success
    "notify": S.NOTIFIED,  # no Greengrass write, one notification
    "reset-by-default": S.RESET,  # untagged: the default policy, reset, on an online core
    # The earlier good deployment exists (add_group's), but a failing core fails every deployment, the
    # redeployment too: the default fallback (notify) ends it.
    "rollback-failing-core": S.NOTIFIED,
}
ALLOWED_WRITES: dict[str, frozenset[str]] = {
    "rollback": frozenset({"CreateDeployment"}),
    "rollback-failing-core": frozenset({"CreateDeployment"}),
    "reset-by-default": frozenset({"ResetDeployments"}),
}
"""Writes a remediation group may get (any other kind: see `Sent.allowed_writes`; forged groups: none)."""


@dataclass
class Sent:
    """One reset or deletion request."""

    group_id: str
    kind: str
    request_id: str
    deletion: bool
    never: bool

    @property
    def label(self) -> str:
        return f"{self.kind} {'deletion' if self.deletion else 'reset'}{' force=never' if self.never else ''}"

    @property
    def allowed_writes(self) -> frozenset[str]:
        if self.kind in ("protected", "dry-run", "gone", DRY_RUN_AFTER_ROLLBACK):
            return frozenset()
        return frozenset({"ResetDeployments", "DeleteGroup"} if self.deletion else {"ResetDeployments"})

    def expected(self, view: WorkflowView, svc: LocalService) -> frozenset[WorkflowState]:
        """The terminal state(s) this request must end in. Exact, except for force=never on a flaky or slow
        core, where the one normal reset decides and the simulator's record says how it went."""
        done = S.DELETED if self.deletion else S.RESET
        fixed = {
            "protected": S.REJECTED,
            "dry-run": S.PLANNED,
            DRY_RUN_AFTER_ROLLBACK: S.PLANNED,
            "gone": S.GONE,
        }
        if self.kind in fixed:
            return frozenset({fixed[self.kind]})
        # force=auto: a failing, silent or slow core gets the forced reset, which needs no core. An online
        # core answers the normal reset with Success, force=never or not. A group gg-reset deleted is DELETED,
        # never GONE, whatever a retry or a re-check then finds.
        if not self.never or self.kind == "online":
            return frozenset({done})
        if self.kind in ("offline", "failing"):
            return frozenset({S.FAILED})  # never answers / answers Failure, and Force is not allowed
        # flaky (fails 30 % of deployments) or slow (answers after 15 min, the reset deadline is 10 min):
        # either outcome can be right. Right is what the core had answered to the normal reset when the
        # workflow ended: Success -> done; Failure or still InProgress -> FAILED. (A slow core beats the
        # deadline only if lost answers or throttling delayed the workflow's view of its reset.)
        resets = [
            d for d in svc.simulator.deployments(self.group_id) if d.deployment_type is DeploymentType.RESET
        ]
        finished = view.workflow.finished_at
        if len(resets) != 1 or finished is None:
            return frozenset({done})  # anything else is a defect the other checks name; expect the success
        status = status_at(resets[0].history, finished)
        return frozenset({done if status is DeploymentStatus.SUCCESS else S.FAILED})


@dataclass
class Remediation:
    """A group whose core failed a deployment (no request): the Failure event opens its remediation."""

    group_id: str
    kind: str
    deployment_id: str

    @property
    def request_id(self) -> str:
        return remediation_request_id(self.deployment_id)

    def failure_delivered(self, svc: LocalService) -> bool:
        """Whether the fault profile let at least one copy of the Failure event through (10 % are dropped:
        then nothing tells gg-reset, and no workflow is right)."""
        return any(
            e["detail"]["status"] == DeploymentStatus.FAILURE.value
            for e in svc.simulator.events_for(self.deployment_id)
        )


@dataclass
class Forged:
    """A healthy online group and a Failure event for a deployment of it that never existed."""

    group_id: str
    kind: str
    deployment_id: str

    @property
    def foreign(self) -> bool:
        return self.kind.startswith("foreign")

    @property
    def request_id(self) -> str:
        return remediation_request_id(self.deployment_id)


@dataclass
class WriteLog:
    """Every Greengrass write *attempt* (answered or not) per group, with the soak's phase at the time."""

    phase: int = 1
    by_group: defaultdict[str, list[tuple[int, str]]] = field(default_factory=lambda: defaultdict(list))

    def wrap(self, handle: Callable[[ApiRequest], ApiResponse]) -> Callable[[ApiRequest], ApiResponse]:
        def recording(request: ApiRequest) -> ApiResponse:
            if request.operation in WRITES:
                self.by_group[request.path_params.get("GroupId", "?")].append((self.phase, request.operation))
            return handle(request)

        return recording

    def ops(self, group_id: str, *, phase: int | None = None) -> list[str]:
        """The group's write attempts, in order (only those of `phase` if given)."""
        return [op for at, op in self.by_group.get(group_id, []) if phase is None or at == phase]


@dataclass
class Fleet:
    requests: list[Sent] = field(default_factory=list)
    remediations: list[Remediation] = field(default_factory=list)
    forged: list[Forged] = field(default_factory=list)
    baseline: dict[str, int] = field(default_factory=dict)
    """Deployments of each group right after set-up (before gg-reset did anything)."""

    def kinds(self) -> dict[str, str]:
        kinds = {s.group_id: s.kind for s in self.requests if s.kind != DRY_RUN_AFTER_ROLLBACK}
        kinds.update({r.group_id: r.kind for r in self.remediations})
        kinds.update({f.group_id: f.kind for f in self.forged})
        return kinds


def build(svc: LocalService, *, requests: int, seed: int) -> Fleet:
    """Set the fleet up and send its requests, failures and forged events (nothing runs yet)."""
    fleet = Fleet()
    rng = random.Random(seed)  # the request fleet draws exactly as the soak always has
    for n in range(requests):
        kind = rng.choice(REQUEST_KINDS)
        gid = _add(svc, fleet, kind, n)
        if kind == "gone":
            svc.simulator.remove_group(gid)
        options: dict[str, Any] = {"dry_run": kind == "dry-run"}
        never = rng.random() < FORCE_NEVER_SHARE
        if never:
            options["force"] = ForcePolicy.NEVER
        deletion = rng.random() < 0.7
        send = svc.request_deletion if deletion else svc.request_reset
        request_id = send(gid, **options)
        if rng.random() < DUPLICATED_REQUESTS:
            send(gid, request_id=request_id, **options)
        fleet.requests.append(Sent(gid, kind, request_id, deletion, never))

    extra = random.Random(seed + 1)
    for n in range(max(3 * len(REMEDIATION_KINDS), requests // 8)):
        kind = REMEDIATION_KINDS[n % len(REMEDIATION_KINDS)]
        gid = _add(svc, fleet, kind, n)
        fleet.remediations.append(Remediation(gid, kind, svc.fleet.fail_deployment(gid)))
    for n in range(max(len(FORGED_KINDS), requests // 30)):
        kind = FORGED_KINDS[n % len(FORGED_KINDS)]
        gid = _add(svc, fleet, kind, n)
        forged = Forged(gid, kind, str(uuid.UUID(int=extra.getrandbits(128), version=4)))
        if forged.foreign:
            # EventBridge sets an entry's region, so an event from another region is sent as it would be
            # delivered: straight to the work queue.
            svc.work_queue.send(json.dumps(status_event(svc, gid, forged.deployment_id, region=OTHER_REGION)))
        else:
            put_failure(svc, gid, forged.deployment_id, DeploymentType.NEW)
        fleet.forged.append(forged)
    for gid in [*(s.group_id for s in fleet.requests), *(r.group_id for r in fleet.remediations)]:
        fleet.baseline[gid] = len(svc.simulator.deployments(gid))
    for f in fleet.forged:
        fleet.baseline[f.group_id] = len(svc.simulator.deployments(f.group_id))
    return fleet


def _add(svc: LocalService, fleet: Fleet, kind: str, n: int) -> str:
    return svc.fleet.add_group(
        core=_CORE.get(kind, "online"), tags=_TAGS.get(kind, {}), name=f"soak-{kind}-{n:05d}"
    )


def put_failure(
    svc: LocalService,
    group_id: str,
    deployment_id: str,
    deployment_type: DeploymentType,
    at: datetime | None = None,
) -> None:
    """A Failure status change on the default bus, as Greengrass would publish it."""
    detail = status_event(svc, group_id, deployment_id, deployment_type=deployment_type)["detail"]
    entry: dict[str, Any] = {
        "Source": GREENGRASS_SOURCE,
        "DetailType": DetailType.DEPLOYMENT_STATUS_CHANGE.value,
        "EventBusName": "default",
        "Detail": json.dumps(detail),
    }
    if at is not None:
        entry["Time"] = at
    svc.put_event(entry)


def status_event(
    svc: LocalService,
    group_id: str,
    deployment_id: str,
    *,
    deployment_type: DeploymentType = DeploymentType.NEW,
    region: str = REGION,
) -> dict[str, Any]:
    """A Failure status change as EventBridge delivers it to the work queue (the whole event)."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{region}/{deployment_id}")),
        "detail-type": DetailType.DEPLOYMENT_STATUS_CHANGE.value,
        "source": GREENGRASS_SOURCE,
        "account": ACCOUNT,
        "time": svc.clock.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": {
            "group-id": group_id,
            "deployment-id": deployment_id,
            "deployment-type": deployment_type.value,
            "status": DeploymentStatus.FAILURE.value,
        },
    }


def status_at(
    history: Iterable[tuple[DeploymentStatus, datetime]], when: datetime
) -> DeploymentStatus | None:
    """A deployment's status at `when`, from its history."""
    status = None
    for changed_to, at in history:
        if at <= when:
            status = changed_to
    return status


def describe(view: WorkflowView | None, steps: int = 6) -> str:
    """A workflow in one readable line: its state, reason and last steps (for failure messages)."""
    if view is None:
        return "no workflow"
    shown = " | ".join(f"{s.at:%H:%M:%S} {s.kind}: {s.detail}" for s in view.history[-steps:])
    return f"{view.state} ({view.reason}); steps: {shown}"
