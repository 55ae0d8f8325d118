"""The bulk-cleanup figure: N deletions through the whole local service under a Greengrass API quota.

Fleet: 90 % online and 10 % offline cores, every group deployed, 50 ms simulated per Greengrass call,
the quota enforced by the simulator and gg-reset's request budget set to it (a deployment configured for
its account). Measured on the simulated clock, so the figures do not depend on this machine's speed:

- completion: from the requests to the last request's terminal state;
- the quota-bound limit: max(necessary calls / quota, longest unavoidable wait), where the necessary calls
  are what the safety rules require: 4 per online group (GetGroup, ResetDeployments, GetGroup again
  before DeleteGroup, since at the quota the first check is older than the freshness by then,
  DeleteGroup) and 6 per offline group (the same plus the one GetDeploymentStatus at the deadline and the
  forced ResetDeployments), and the longest unavoidable wait is the reset timeout plus the simulator's
  build and forced-reset times;
- the in-order bound: a tighter limit for any scheduler that serves requests in arrival order and must
  inspect and reset a group before its timeout starts: the offline group at arrival position p cannot
  finish before 2 (p + 1) / quota + the longest wait.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import Timings

OFFLINE_SHARE = 0.1
LATENCY_S = 0.05
NECESSARY_CALLS = {"online": 4, "offline": 6}


def fleet(groups: int, seed: int) -> list[str]:
    kinds = ["offline"] * round(groups * OFFLINE_SHARE)
    kinds += ["online"] * (groups - len(kinds))
    random.Random(seed).shuffle(kinds)
    return kinds


def longest_wait_s() -> float:
    timings = Timings()
    return WorkflowPolicy().reset_timeout_s + timings.build_s + timings.force_reset_s


@dataclass
class BulkResult:
    groups: int
    quota: float
    completion_s: float
    limit_s: float
    in_order_bound_s: float
    necessary_calls: int
    calls: Counter[str]
    throttled: int
    deleted: int
    orphaned_cores: int
    wall_s: float

    @property
    def calls_per_request(self) -> float:
        return sum(self.calls.values()) / self.groups


def run_bulk(groups: int, quota: float, seed: int = 7) -> BulkResult:
    kinds = fleet(groups, seed)
    started = time.perf_counter()
    faults = FaultProfile(requests_per_second=quota, latency_s=LATENCY_S)
    with LocalService(seed=seed, faults=faults, greengrass_rps=quota, log_level="ERROR") as svc:
        for kind in kinds:
            svc.request_deletion(svc.fleet.add_group(core=kind, deployed=True))
        t0 = svc.clock.now()
        svc.run_until_idle()
        workflows = svc.ledger.all_workflows()
        finished = [views[-1].workflow for views in workflows.values()]
        completion = max((wf.finished_at - t0).total_seconds() for wf in finished if wf.finished_at)
        deleted = sum(wf.state.value == "DELETED" for wf in finished)
        calls = Counter(svc.fleet.calls)
        throttled = svc.simulator.throttled_count
        orphans = len(svc.simulator.orphaned_cores)
    necessary = sum(NECESSARY_CALLS[kind] for kind in kinds)
    wait = longest_wait_s()
    in_order = max(2 * (p + 1) / quota + wait for p, kind in enumerate(kinds) if kind == "offline")
    return BulkResult(
        groups=groups,
        quota=quota,
        completion_s=completion,
        limit_s=max(necessary / quota, wait),
        in_order_bound_s=in_order,
        necessary_calls=necessary,
        calls=calls,
        throttled=throttled,
        deleted=deleted,
        orphaned_cores=orphans,
        wall_s=time.perf_counter() - started,
    )
