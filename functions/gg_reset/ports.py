"""The narrow interfaces between the workflow's shell and the outside world.

Each port has one production adapter (`gg_reset.adapters`) and in-memory or simulated stand-ins in tests
and in the local runtime. Keeping Greengrass behind `GreengrassPort` (reset, status, delete, inspect,
list, last deployment) is what lets another backend sit behind gg-reset after the V1 end of support.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from gg_reset.contracts import DeploymentStatus, DeploymentType


@dataclass(frozen=True, slots=True)
class GroupFacts:
    """What the workflow needs to know about a group before it writes anything."""

    group_id: str
    exists: bool
    arn: str | None = None
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)


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

    def delete_group(self, group_id: str) -> None: ...

    def list_groups(self) -> Iterator[GroupSummary]: ...

    def last_deployment_at(self, group_id: str) -> datetime | None:
        """When the group's newest deployment (of any type, resets included) was created; None if the
        group was never deployed (or does not exist: `ListDeployments` does not check the group)."""
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
