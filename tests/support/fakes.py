"""In-memory stand-ins for the ports, for fast unit tests of the shell (the real adapters have their own
integration tests against moto, DynamoDB Local and the Greengrass simulator)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.actions import Notify
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.domain.model import GroupRecord, Step, Workflow
from gg_reset.domain.workflow import Decision
from gg_reset.ports import DeploymentStatusView, GroupFacts, GroupSummary, RollbackTarget, VersionConflict

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class ManualClock:
    current: datetime = EPOCH

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.advance(seconds)


@dataclass
class RecordingTimers:
    """`TimerPort` that remembers what was armed: (group id, due time), in order."""

    armed: list[tuple[str, datetime]] = field(default_factory=list)

    def schedule(self, group_id: str, due_at: datetime) -> None:
        self.armed.append((group_id, due_at))


@dataclass
class InMemoryLedger:
    records: dict[str, GroupRecord] = field(default_factory=dict)
    steps: dict[tuple[str, str], list[Step]] = field(default_factory=lambda: defaultdict(list))
    finished: dict[str, list[Workflow]] = field(default_factory=lambda: defaultdict(list))
    saves: int = 0

    def load(self, group_id: str) -> GroupRecord:
        return self.records.get(group_id, GroupRecord(group_id=group_id))

    def save(self, previous: GroupRecord, decision: Decision) -> GroupRecord:
        stored = self.load(previous.group_id)
        if stored.version != previous.version:
            raise VersionConflict(previous.group_id)
        record = replace(decision.record, version=previous.version + 1)
        self.records[record.group_id] = record
        for workflow_id, step in decision.steps:
            self.steps[(record.group_id, workflow_id)].append(step)
        self.finished[record.group_id].extend(decision.finished)
        self.saves += 1
        return record

    def due_groups(self, now: datetime, limit: int = 500) -> Sequence[str]:
        due = [
            (r.active.due_at, gid)
            for gid, r in self.records.items()
            if r.active is not None and r.active.due_at is not None and r.active.due_at <= now
        ]
        return [gid for _, gid in sorted(due)][:limit]

    def workflows(self, group_id: str) -> Sequence[Workflow]:
        active = self.load(group_id).active
        return [*self.finished[group_id], *([active] if active else [])]

    def history(self, group_id: str, workflow_id: str) -> Sequence[Step]:
        return list(self.steps[(group_id, workflow_id)])

    def all_steps(self, group_id: str) -> list[Step]:
        return [s for (gid, _), steps in self.steps.items() if gid == group_id for s in steps]


Script = Callable[..., object]


@dataclass
class FakeGreengrass:
    """Greengrass by script: each call pops the next scripted answer for that operation (an exception to
    raise, or a value), falling back to a default that models a healthy group."""

    groups: dict[str, dict[str, str]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    tokens: list[tuple[str, bool, str]] = field(default_factory=list)
    """(group id, force, client token) of every reset call, in order."""
    redeploys: list[tuple[str, str, str]] = field(default_factory=list)
    """(group id, deployment id redeployed, client token) of every redeploy call, in order."""
    redeployed: dict[tuple[str, str, str], str] = field(default_factory=dict)
    """The redeployment each (group id, deployment id, client token) started."""
    rollback_searches: list[tuple[str, str | None, int]] = field(default_factory=list)
    """(group id, failed deployment id, max checked) of every find_rollback_target call, in order."""
    scripted: dict[str, list[object]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, DeploymentStatus] = field(default_factory=dict)
    types: dict[str, DeploymentType] = field(default_factory=dict)
    """Deployment types other than a reset's (the default), e.g. a failed NewDeployment's."""
    next_id: int = 0
    adopt_since: list[datetime | None] = field(default_factory=list)
    """`adopt_since` of every reset call, in order."""
    names: dict[str, str] = field(default_factory=dict)
    """Names given to `add_group` (a group without one is listed under its id and inspected nameless)."""
    created: dict[str, datetime | None] = field(default_factory=dict)
    updated: dict[str, datetime | None] = field(default_factory=dict)
    deployed: dict[str, datetime | None] = field(default_factory=dict)
    """The newest deployment's creation time of each group (None or absent: never deployed)."""

    def add_group(
        self,
        group_id: str,
        tags: dict[str, str] | None = None,
        *,
        name: str | None = None,
        created_at: datetime | None = None,
        updated_at: datetime | None = None,
        deployed_at: datetime | None = None,
    ) -> str:
        self.groups[group_id] = dict(tags or {})
        if name is not None:
            self.names[group_id] = name
        self.created[group_id] = created_at
        self.updated[group_id] = updated_at if updated_at is not None else created_at
        self.deployed[group_id] = deployed_at
        return group_id

    def script(self, operation: str, *answers: object) -> None:
        self.scripted[operation].extend(answers)

    def _scripted(self, operation: str) -> object | None:
        self.calls[operation] += 1
        queue = self.scripted.get(operation)
        if queue:
            answer = queue.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer
        return None

    def inspect_group(self, group_id: str) -> GroupFacts:
        answer = self._scripted("inspect_group")
        if isinstance(answer, GroupFacts):
            return answer
        if group_id not in self.groups:
            return GroupFacts(group_id=group_id, exists=False)
        return GroupFacts(
            group_id=group_id,
            exists=True,
            arn=f"arn:{group_id}",
            name=self.names.get(group_id),
            tags=self.groups[group_id],
        )

    def reset_deployments(
        self, group_id: str, *, force: bool, client_token: str, adopt_since: datetime | None = None
    ) -> str:
        self.tokens.append((group_id, force, client_token))
        self.adopt_since.append(adopt_since)
        answer = self._scripted("reset_deployments")
        if isinstance(answer, str):
            return answer
        self.next_id += 1
        deployment_id = f"dep-{self.next_id}"
        self.statuses[deployment_id] = DeploymentStatus.IN_PROGRESS
        return deployment_id

    def get_deployment_status(self, group_id: str, deployment_id: str) -> DeploymentStatusView:
        answer = self._scripted("get_deployment_status")
        if isinstance(answer, DeploymentStatusView):
            return answer
        return DeploymentStatusView(
            status=self.statuses.get(deployment_id, DeploymentStatus.IN_PROGRESS),
            deployment_type=self.types.get(deployment_id, DeploymentType.RESET),
        )

    def fail_deployment(
        self, deployment_id: str, deployment_type: DeploymentType = DeploymentType.NEW
    ) -> str:
        """A deployment of the group that failed: what GetDeploymentStatus then confirms."""
        self.statuses[deployment_id] = DeploymentStatus.FAILURE
        self.types[deployment_id] = deployment_type
        return deployment_id

    def find_rollback_target(
        self, group_id: str, *, failed_deployment_id: str | None, max_checked: int
    ) -> RollbackTarget:
        self.rollback_searches.append((group_id, failed_deployment_id, max_checked))
        answer = self._scripted("find_rollback_target")
        if isinstance(answer, RollbackTarget):
            return answer
        return RollbackTarget("dep-good", "deployment dep-good (NewDeployment) succeeded")

    def redeploy(
        self, group_id: str, deployment_id: str, *, client_token: str, group_version_id: str | None = None
    ) -> str:
        self.redeploys.append((group_id, deployment_id, client_token))
        answer = self._scripted("redeploy")
        if isinstance(answer, str):
            return answer
        # Like CreateDeployment: the same request with the same token returns the first redeployment.
        key = (group_id, deployment_id, client_token)
        if key not in self.redeployed:
            self.next_id += 1
            self.redeployed[key] = f"dep-{self.next_id}"
            self.statuses[self.redeployed[key]] = DeploymentStatus.IN_PROGRESS
            self.types[self.redeployed[key]] = DeploymentType.REDEPLOYMENT
        return self.redeployed[key]

    def delete_group(self, group_id: str) -> None:
        self._scripted("delete_group")
        if group_id not in self.groups:
            raise GreengrassError(ErrorKind.NOT_FOUND, "DeleteGroup", "IdNotFoundException", "not found")
        del self.groups[group_id]

    def list_groups(self) -> Iterator[GroupSummary]:
        self._scripted("list_groups")
        for gid in list(self.groups):
            yield GroupSummary(
                group_id=gid,
                name=self.names.get(gid, gid),
                arn=f"arn:{gid}",
                created_at=self.created.get(gid),
                updated_at=self.updated.get(gid),
            )

    def last_deployment_at(self, group_id: str) -> datetime | None:
        answer = self._scripted("last_deployment_at")
        if isinstance(answer, datetime):
            return answer
        return self.deployed.get(group_id)


@dataclass
class RecordingNotifier:
    notices: list[Notify] = field(default_factory=list)

    def notify(self, notice: Notify) -> None:
        self.notices.append(notice)


def error(kind: ErrorKind, operation: str = "ResetDeployments", message: str = "boom") -> GreengrassError:
    return GreengrassError(kind, operation, f"{kind}-code", message)
