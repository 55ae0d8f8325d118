"""Every port: the narrow interfaces between the workflow's shell and the outside world, in one place.

Each port has one production adapter (`gg_reset.adapters`) and in-memory or simulated stand-ins in tests
and in the local runtime:

- `GreengrassPort` (inspect, reset, status, delete, list, last deployment, roll back): Greengrass V1
  behind it is what lets another backend sit behind gg-reset after the V1 end of support;
- `TeardownPort`: what a deleted group owned (definitions, the core's thing and certificate), who else
  uses each, and their deletion; `CoreDevices`: whether a core thing is now a Greengrass V2 core device;
- `LedgerPort`: a group's record and history, written conditionally (`VersionConflict`);
- `TimerPort`: wakes a workflow when it is due; `Clock`: time, and waiting;
- `Notifier` / `RunNotifier`: outcomes someone should look at, and janitor runs;
- `Telemetry`: metrics of every saved decision;
- `RequestBus`: the janitor's requests onto the service bus.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:  # annotations only: a janitor or a CLI using the ports should not load the workflow
    from gg_reset.domain.actions import Notify
    from gg_reset.domain.enums import DeploymentStatus, DeploymentType
    from gg_reset.domain.model import GroupRecord, Step, Workflow
    from gg_reset.domain.teardown import Resource, ResourceOutcome, Teardown
    from gg_reset.domain.workflow import Decision


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What the workflow needs to know about a group before it writes anything."""

    group_id: str
    exists: bool
    arn: str | None = None
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    latest_version: str | None = None
    """`LatestVersion`: where the group's core thing is named (None: no version)."""


@dataclass(frozen=True, slots=True)
class DeploymentStatusView:
    status: DeploymentStatus
    error_message: str | None = None
    deployment_type: DeploymentType | None = None


@dataclass(frozen=True, slots=True)
class GroupSummary:
    """One group as `ListGroups` describes it (no tags: those take a `GetGroup` each)."""

    group_id: str
    name: str
    arn: str
    created_at: datetime | None = None
    """`CreationTimestamp`; None if the answer had none that could be read."""
    updated_at: datetime | None = None
    """`LastUpdatedTimestamp` (a new group version, a rename); None if unreadable."""


@dataclass(frozen=True, slots=True)
class RollbackTarget:
    """What a roll back can go back to: the newest deployment of the group that worked, if any."""

    deployment_id: str | None
    """The newest `NewDeployment`/`Redeployment` whose status is `Success` (None: nothing to go back to)."""
    detail: str
    """Why, for the workflow's history: which deployment and when, or why there is none."""
    group_version_id: str | None = None
    """The group version that deployment deployed (from its `GroupArn`), when the listing tells it."""


class GreengrassPort(Protocol):
    """Greengrass V1, as gg-reset uses it. Every method raises `GreengrassError` on failure."""

    def inspect_group(self, group_id: str) -> GroupFacts: ...

    def reset_deployments(
        self, group_id: str, *, force: bool, client_token: str, adopt_since: datetime | None = None
    ) -> str:
        """Start a (forced) reset; returns the new deployment's id. With `adopt_since`, a reset of that
        kind created since then is returned instead of starting another."""
        ...

    def get_deployment_status(self, group_id: str, deployment_id: str) -> DeploymentStatusView: ...

    def find_rollback_target(
        self, group_id: str, *, failed_deployment_id: str | None, max_checked: int
    ) -> RollbackTarget:
        """The deployment a roll back redeploys: `ListDeployments` (every page, newest first), skipping
        `failed_deployment_id`, one `GetDeploymentStatus` per `NewDeployment`/`Redeployment` until one
        succeeded (at most `max_checked` of them). A reset deployment met first means there is nothing to
        go back to: the group was reset since its last good deployment."""
        ...

    def redeploy(
        self, group_id: str, deployment_id: str, *, client_token: str, group_version_id: str | None = None
    ) -> str:
        """`CreateDeployment` of type `Redeployment` of `deployment_id` (and of `group_version_id`, the
        version it deployed, when known); returns the new deployment's id (the same `client_token` again
        returns the same deployment: the call is idempotent)."""
        ...

    def delete_group(self, group_id: str) -> None: ...

    def list_groups(self) -> Iterator[GroupSummary]: ...

    def last_deployment_at(self, group_id: str) -> datetime | None:
        """When the group's newest deployment (of any type, resets included) was created; None if the
        group was never deployed (or does not exist: `ListDeployments` does not check the group)."""
        ...


Pace = Callable[[], None]
"""Called by an adapter before each Greengrass call it makes: waits for the request budget's next slot (or
raises the shell's deferral when the invocation has no time left for it)."""


def unpaced() -> None:
    return None


@dataclass(frozen=True, slots=True)
class Used:
    """Whether a resource is still used, and by whom (`group <id>`, `Greengrass V2 core device <name>`...)."""

    by: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.by)


class TeardownPort(Protocol):
    """The resources beyond the group a teardown removes. Every method raises `GreengrassError` on failure
    (AWS IoT and Greengrass V2 errors are classified by the same table)."""

    def collect(self, group_id: str, level: Teardown, *, pace: Pace) -> tuple[Resource, ...]:
        """Every resource the group's versions reference (all versions, every page) that a teardown at
        `level` would delete, each with `used_by` filled in as things stand now."""
        ...

    def tear_down(self, resource: Resource, *, deleted_group: str, pace: Pace) -> tuple[ResourceOutcome, str]:
        """Delete `resource` unless something other than `deleted_group` still uses it, asked right
        before the delete: (DELETED | ALREADY_GONE | KEPT, a detail for the history)."""
        ...


@dataclass(frozen=True, slots=True)
class CoreDeviceView:
    """A Greengrass V2 core device, as `GetCoreDevice` describes it."""

    thing_name: str
    status: str
    last_status_update: datetime | None = None
    core_version: str | None = None


class CoreDevices(Protocol):
    """Greengrass V2's core devices (the `migrated` selection, and the teardown's "still used" check)."""

    def core_device(self, thing_name: str) -> CoreDeviceView | None:
        """The V2 core device registered for this thing, or None."""
        ...


@dataclass(frozen=True, slots=True)
class CoreConnectivity:
    """What the connectivity source says of a group's core thing."""

    thing_name: str | None
    """None: the group's latest version names no core."""
    connected: bool | None
    """None: the source does not know the thing."""
    since: datetime | None = None


class ConnectivityPort(Protocol):
    """Whether a group's core is connected, and since when (AWS IoT fleet indexing). Raises
    `GreengrassError` on failure."""

    def core_connectivity(self, group_id: str, latest_version: str | None, *, pace: Pace) -> CoreConnectivity:
        """`pace` is called before each Greengrass call (finding the core thing); the source's own calls
        are paced on its own budget."""
        ...


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None:
        """Wait: the Lambdas really sleep; the local runtime's simulated clock moves forward instead."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


class TimerPort(Protocol):
    """Wakes a group's workflow at a given time (a delayed message on the work queue, in AWS)."""

    def schedule(self, group_id: str, due_at: datetime) -> None: ...


class NoTimers:
    """No timers: the sweeper alone drives due workflows (tests of the shell on its own)."""

    def schedule(self, group_id: str, due_at: datetime) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Delivery:
    """What became of one request put on the service bus: accepted (with its event id) or refused."""

    event_id: str | None = None
    error: str | None = None
    attempts: int = 1

    @property
    def accepted(self) -> bool:
        return self.error is None


class RequestBus(Protocol):
    """Puts request events (`contracts.request_entry`) on the service bus: `PutEvents`, in AWS."""

    def send(self, entries: Sequence[Mapping[str, Any]]) -> list[Delivery]:
        """One `Delivery` per entry, in order; never raises for a refused entry."""
        ...


class VersionConflict(Exception):
    """Another writer changed the group's record first: reload and decide again."""


class LedgerPort(Protocol):
    """How the shell reads and (conditionally) writes a group's record and history."""

    def load(self, group_id: str) -> GroupRecord:
        """The group's record; an empty one (version 0) if the group was never seen."""
        ...

    def save(self, previous: GroupRecord, decision: Decision) -> GroupRecord:
        """Write the decision if the stored version is still `previous.version`; else `VersionConflict`.

        Atomically: the HEAD item, the new history steps, and the finished workflows.
        Returns the record as stored (version + 1).
        """
        ...

    def due_groups(self, now: datetime, limit: int = 500) -> Sequence[str]:
        """Groups whose active workflow is due (retry, poll or deadline) at `now`, most overdue first."""
        ...

    def workflows(self, group_id: str) -> Sequence[Workflow]:
        """Every workflow of the group still retained, oldest first (the active one last)."""
        ...

    def history(self, group_id: str, workflow_id: str) -> Sequence[Step]:
        """The steps of one workflow, in order."""
        ...


class Notifier(Protocol):
    def notify(self, notice: Notify) -> None: ...


@dataclass(frozen=True, slots=True)
class RunNotice:
    """A notification about a run rather than one group's workflow (a janitor run): what it did, in a
    subject line and a bounded, JSON-serialisable summary."""

    source: str
    """Who ran: `janitor`."""
    subject: str
    details: Mapping[str, Any]


class RunNotifier(Protocol):
    """Announces runs (`RunNotice`) on the same channel as `Notifier` (the SNS topic, or the log)."""

    def notify_run(self, notice: RunNotice) -> None: ...


class Telemetry(Protocol):
    def record(self, decision: Decision) -> None:
        """Called once per saved decision: count requests, outcomes, force fallbacks, latency."""
        ...


class NullTelemetry:
    def record(self, decision: Decision) -> None:
        return None
