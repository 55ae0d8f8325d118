"""The bulk-cleanup figure: N deletions through the whole local service under a Greengrass API quota.

Fleet (`fleet`): 90 % online and 10 % offline cores in a seeded random order, every group deployed, 50 ms
simulated per Greengrass call (`FaultProfile(requests_per_second=Q, latency_s=0.05)`), and gg-reset's own
request budget set to the same Q when `LocalService` takes one (`greengrass_rps`). `workers`: the worker
invocations that may overlap (`LocalService(worker_concurrency=...)`, the stack's `workerMaxConcurrency`):
1 runs them one at a time with the whole budget; N > 1 overlaps them as in AWS, each (and the sweeper) at
an equal share, Q / (N + 1), as the stack computes it. Everything is measured on the simulated clock, so
the figures do not depend on this machine's speed (only `wall_s` does):

- completion: simulated time from the requests until the service is idle (every request terminal);
- the quota-bound limit (`Bounds`): max(necessary calls / Q, longest unavoidable wait). The necessary
  calls are the minimum a correct run must make: 3 per online group (GetGroup for the protection check,
  ResetDeployments, DeleteGroup) and 5 per offline group (GetGroup, ResetDeployments, GetGroup again
  before the forced write, ResetDeployments(Force=True), DeleteGroup). The longest unavoidable wait is an
  offline group's: the reset timeout, then the simulator's build and forced-reset times;
- the in-order bound, tighter, for any scheduler that serves requests in arrival order and must inspect
  and reset a group before its timeout can start: the offline group at arrival position p (0-based)
  cannot finish before 2 (p + 1) / Q + the longest wait; the bound is the maximum over offline groups.
  (The simulator's token bucket starts full, ceil(Q) requests, so a run can beat either bound by up to
  about one second.)
"""

from __future__ import annotations

import inspect
import random
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from benchmarks.counts import CallCounts
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import Timings
from gg_reset.local.timeline import Timeline, TimelineRecorder

OFFLINE_SHARE: Final = 0.1
LATENCY_S: Final = 0.05
NECESSARY_CALLS: Final[Mapping[str, int]] = {"online": 3, "offline": 5}
"""The fewest Greengrass calls a correct deletion makes, by core kind (see the module docstring)."""


def fleet(groups: int, seed: int = 7) -> list[str]:
    """The core kind of each group, in arrival order: 10 % offline, the rest online, seeded shuffle."""
    kinds = ["offline"] * round(groups * OFFLINE_SHARE)
    kinds += ["online"] * (groups - len(kinds))
    random.Random(seed).shuffle(kinds)
    return kinds


@dataclass(frozen=True, slots=True)
class Bounds:
    """The lower bounds a run's completion is compared with, and the parts of their formulas."""

    quota: float
    online: int
    offline: int
    necessary_calls: int
    reset_timeout_s: float
    build_s: float
    force_reset_s: float
    in_order_bound_s: float

    @property
    def calls_bound_s(self) -> float:
        return self.necessary_calls / self.quota

    @property
    def longest_wait_s(self) -> float:
        return self.reset_timeout_s + self.build_s + self.force_reset_s

    @property
    def limit_s(self) -> float:
        return max(self.calls_bound_s, self.longest_wait_s)

    def formula(self) -> str:
        return (
            f"limit = max({NECESSARY_CALLS['online']} x {self.online} online + "
            f"{NECESSARY_CALLS['offline']} x {self.offline} offline = {self.necessary_calls} calls "
            f"/ {self.quota:g} req/s = {self.calls_bound_s:.0f} s, longest wait = reset timeout "
            f"{self.reset_timeout_s:g} s + build {self.build_s:g} s + forced reset {self.force_reset_s:g} s "
            f"= {self.longest_wait_s:g} s) = {self.limit_s:.0f} s"
        )


def bounds(kinds: Sequence[str], quota: float) -> Bounds:
    timings = Timings()
    policy = WorkflowPolicy()
    wait = policy.reset_timeout_s + timings.build_s + timings.force_reset_s
    offline_positions = [p for p, kind in enumerate(kinds) if kind == "offline"]
    return Bounds(
        quota=quota,
        online=sum(kind == "online" for kind in kinds),
        offline=len(offline_positions),
        necessary_calls=sum(NECESSARY_CALLS[kind] for kind in kinds),
        reset_timeout_s=policy.reset_timeout_s,
        build_s=timings.build_s,
        force_reset_s=timings.force_reset_s,
        in_order_bound_s=max((2 * (p + 1) / quota + wait for p in offline_positions), default=0.0),
    )


def service_options(quota: float, workers: int = 1) -> dict[str, Any]:
    """`LocalService` keywords: the simulated quota, and gg-reset's own budget and worker concurrency where
    the service has them (more than one worker only then)."""
    options: dict[str, Any] = {"faults": FaultProfile(requests_per_second=quota, latency_s=LATENCY_S)}
    parameters = inspect.signature(LocalService).parameters
    if "greengrass_rps" in parameters:
        options["greengrass_rps"] = quota
    if workers > 1 and "worker_concurrency" in parameters:
        options["worker_concurrency"] = workers
    return options


@dataclass(frozen=True, slots=True)
class BulkResult(CallCounts):
    groups: int
    quota: float
    bounds: Bounds
    completion_s: float
    """Simulated seconds from the requests to an idle service."""
    last_terminal_s: float
    """Simulated seconds from the requests to the last workflow's end (the ledger's `finished_at`)."""
    calls: Counter[str]
    """Greengrass requests by operation, as the simulator counted them (throttled ones included)."""
    throttled: int
    deleted: int
    """Groups whose workflow ended DELETED in the ledger."""
    orphaned_cores: int
    budgeted: bool
    """Whether gg-reset's own request budget was set (`LocalService(greengrass_rps=...)`)."""
    wall_s: float
    workers: int = 1
    """Worker invocations that could overlap (`LocalService(worker_concurrency=...)`)."""
    timeline: Timeline | None = None
    """Calls and finished workflows over simulated time (`make bench` draws it)."""

    @property
    def correct(self) -> bool:
        return self.deleted == self.groups and self.orphaned_cores == 0

    @property
    def vs_limit(self) -> float:
        return self.completion_s / self.bounds.limit_s

    @property
    def vs_in_order(self) -> float:
        return self.completion_s / self.bounds.in_order_bound_s


def run_bulk(groups: int, quota: float, seed: int = 7, *, workers: int = 1) -> BulkResult:
    """Delete `groups` groups of `fleet(groups, seed)` through `LocalService` at `quota` req/s, with up to
    `workers` worker invocations at once."""
    kinds = fleet(groups, seed)
    options = service_options(quota, workers)
    started = time.perf_counter()
    with LocalService(seed=seed, log_level="ERROR", **options) as svc:
        group_ids = [svc.fleet.add_group(core=kind, deployed=True) for kind in kinds]
        t0 = svc.clock.now()
        recorder = TimelineRecorder(svc.simulator, start=t0)
        for group_id in group_ids:
            svc.request_deletion(group_id)
        svc.run_until_idle()
        completion = (svc.clock.now() - t0).total_seconds()
        workflows = svc.ledger.all_workflows()
        last = [views[-1].workflow for gid in group_ids if (views := workflows.get(gid))]
        deleted = sum(wf.state is WorkflowState.DELETED for wf in last)
        ends = [(wf.finished_at - t0).total_seconds() for wf in last if wf.finished_at is not None]
        calls = Counter(svc.simulator.calls)
        throttled = svc.simulator.throttled_count
        orphans = len(svc.simulator.orphaned_cores)
        timeline = recorder.timeline(
            last,
            quota=quota,
            budget=quota if "greengrass_rps" in options else None,
            title=f"gg-reset bulk cleanup: {groups} deletions ({OFFLINE_SHARE:.0%} offline cores), "
            f"Greengrass API quota {quota:g} req/s",
            reset_timeout_s=WorkflowPolicy().reset_timeout_s,
        )
    return BulkResult(
        groups=groups,
        quota=quota,
        bounds=bounds(kinds, quota),
        completion_s=completion,
        last_terminal_s=max(ends, default=0.0),
        calls=calls,
        throttled=throttled,
        deleted=deleted,
        orphaned_cores=orphans,
        budgeted="greengrass_rps" in options,
        wall_s=time.perf_counter() - started,
        workers=options.get("worker_concurrency", 1),
        timeline=timeline,
    )
