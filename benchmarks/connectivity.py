"""The connectivity figure: the bulk fleet deleted three ways in one run, against the in-order bound.

Same fleet as `benchmarks.bulk` (90 % online, 10 % offline cores, seeded order, 50 ms per call, the quota as
gg-reset's own budget). The offline cores' things are disconnected in the fleet index since six hours before
the run (the simulator's default), the online ones connected.

- without a source: today's rules (a silent core is forced at the reset timeout);
- with the fleet index (`force_when_disconnected_for_s` = 1 h): a normal reset with no Success after 30 s
  asks the index, and a core disconnected for longer than an hour is forced at once;
- the oracle: every offline group requested with `force=immediately`, as someone who knew would.

The in-order bound (`benchmarks.bulk.bounds`) holds for a scheduler that cannot tell silent cores apart;
the source is what lets gg-reset beat it, and the oracle is what knowing for free would give.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Final

from benchmarks.bulk import LATENCY_S, bounds, fleet
from benchmarks.counts import CallCounts
from gg_reset.contracts import ForcePolicy
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile

THRESHOLD_S: Final = 3600
MODES: Final = ("without a source", "with the fleet index", "oracle")


@dataclass(frozen=True, slots=True)
class ConnectivityRun(CallCounts):
    mode: str
    groups: int
    completion_s: float
    calls: Counter[str]
    searches: int
    """`iot:SearchIndex` calls (another API: not in `calls`)."""
    deleted: int
    forced: int
    wall_s: float

    @property
    def correct(self) -> bool:
        return self.deleted == self.groups


def run(groups: int, quota: float, mode: str, seed: int = 7) -> ConnectivityRun:
    kinds = fleet(groups, seed)
    policy = WorkflowPolicy(force_when_disconnected_for_s=THRESHOLD_S if mode == MODES[1] else None)
    faults = FaultProfile(requests_per_second=quota, latency_s=LATENCY_S)
    started = time.perf_counter()
    with LocalService(
        seed=seed, log_level="ERROR", policy=policy, faults=faults, greengrass_rps=quota
    ) as svc:
        group_ids = [svc.fleet.add_group(core=kind, deployed=True) for kind in kinds]
        t0 = svc.clock.now()
        for gid, kind in zip(group_ids, kinds, strict=True):
            oracle = mode == MODES[2] and kind == "offline"
            svc.request_deletion(gid, force=ForcePolicy.IMMEDIATELY if oracle else ForcePolicy.AUTO)
        svc.run_until_idle()
        completion = (svc.clock.now() - t0).total_seconds()
        workflows = svc.ledger.all_workflows()
        last = [views[-1].workflow for gid in group_ids if (views := workflows.get(gid))]
        return ConnectivityRun(
            mode=mode,
            groups=groups,
            completion_s=completion,
            calls=Counter(svc.simulator.calls),
            searches=sum(svc.fleet_index.calls.values()),
            deleted=sum(wf.state is WorkflowState.DELETED for wf in last),
            forced=sum(wf.forced for wf in last),
            wall_s=time.perf_counter() - started,
        )


@dataclass(frozen=True, slots=True)
class Figures:
    runs: dict[str, ConnectivityRun]
    in_order_bound_s: float

    @property
    def without(self) -> ConnectivityRun:
        return self.runs[MODES[0]]

    @property
    def with_source(self) -> ConnectivityRun:
        return self.runs[MODES[1]]

    @property
    def oracle(self) -> ConnectivityRun:
        return self.runs[MODES[2]]


def measure(groups: int, quota: float) -> Figures:
    return Figures(
        {mode: run(groups, quota, mode) for mode in MODES}, bounds(fleet(groups), quota).in_order_bound_s
    )


def report(groups: int, quota: float, figures: Figures | None = None) -> list[str]:
    """The lines `make bench` prints, all measured in this run."""
    figures = figures or measure(groups, quota)
    runs, in_order = figures.runs, figures.in_order_bound_s
    oracle = figures.oracle.completion_s
    lines = [
        f"connectivity, {groups} deletions @ {quota:g} req/s "
        f"(in-order bound {in_order:.0f} s, oracle {oracle:.0f} s):"
    ]
    for mode, result in runs.items():
        lines.append(
            f"  {mode}: {result.completion_s:.0f} s simulated = {result.completion_s / in_order:.2f}x the "
            f"in-order bound, {result.completion_s / oracle:.2f}x the oracle; {result.calls_per_request:.2f} "
            f"Greengrass calls per request, {result.searches} SearchIndex, {result.forced} forced; "
            f"{'correct' if result.correct else 'NOT CORRECT'}; {result.wall_s:.0f} s wall"
        )
    return lines


if __name__ == "__main__":
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    for line in report(size, rate):
        print(line)
