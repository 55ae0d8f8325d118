"""The teardown figure: N deletions with `teardown=things` through the whole local service under a Greengrass
API quota, and the same fleet deleted group-only, in one run.

Fleet (`bulk.fleet`): 90 % online and 10 % offline cores in a seeded random order, every group deployed,
50 ms simulated per Greengrass call; each group has its own core definition (its thing and certificate
real ones in moto's AWS IoT) and one group in five also uses one of `SHARED_POOLS` function definitions
shared with four other groups. gg-reset's request budget equals the quota. AWS IoT and Greengrass V2 are
other APIs: not under the Greengrass quota, and not in the Greengrass calls counted here.

The necessary Greengrass calls of a teardown, beyond the deletion's own (3 for an online core, 5 for an
offline one, see `benchmarks.bulk`): ListGroupVersions, GetGroupVersion and GetCoreDefinitionVersion of its
one version (the reference index needs the same three for every group of the fleet; each is read once),
one Delete<Kind>Definition per definition deleted, and one ListGroups page per 50 groups. The bounds:

- calls bound: those calls / quota;
- in-order bound: the deletion's in-order bound (the last offline group cannot start its wait before every
  group before it was inspected and reset) plus the calls that group still makes after its forced reset
  (re-check, the three reads, DeleteGroup, its definition), at the quota;
- limit: the larger of the two.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass
from typing import Final

from benchmarks.bulk import LATENCY_S, NECESSARY_CALLS, bounds, fleet
from benchmarks.counts import CallCounts
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.teardown import ResourceOutcome, Teardown
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile

SHARED_POOLS: Final = 0.04
"""Shared function definitions per group: 40 for 1,000 groups, each used by about five."""
SHARING: Final = 0.2
READS_PER_GROUP: Final = 3
"""ListGroupVersions, GetGroupVersion, GetCoreDefinitionVersion."""
AFTER_FORCED_RESET: Final = 6
"""The last offline group's calls after its forced reset: GetGroup (re-check), the three reads, DeleteGroup,
DeleteCoreDefinition."""
FUNCTION: Final = {
    "Id": "sensor",
    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:sensor:1",
    "FunctionConfiguration": {"MemorySize": 16384, "Timeout": 3},
}


@dataclass(frozen=True, slots=True)
class TeardownResult(CallCounts):
    groups: int
    quota: float
    teardown: Teardown
    completion_s: float
    calls: Counter[str]
    deleted: int
    torn_down: Counter[str]
    """Resource outcomes over every workflow (deleted, kept, already-gone, failed)."""
    orphans: int
    """Definitions, things and certificates of deleted groups left although nothing uses them."""
    deleted_in_use: int
    """Definitions a remaining group references that were deleted (none remain here: must be 0)."""
    necessary_calls: int
    in_order_bound_s: float
    wall_s: float

    @property
    def calls_bound_s(self) -> float:
        return self.necessary_calls / self.quota

    @property
    def limit_s(self) -> float:
        return max(self.calls_bound_s, self.in_order_bound_s)

    @property
    def vs_limit(self) -> float:
        return self.completion_s / self.limit_s

    @property
    def correct(self) -> bool:
        return self.deleted == self.groups and self.orphans == 0 and self.deleted_in_use == 0


def run_teardown(
    groups: int, quota: float, teardown: Teardown = Teardown.THINGS, seed: int = 7
) -> TeardownResult:
    kinds = fleet(groups, seed)
    rng = random.Random(seed)
    started = time.perf_counter()
    policy = WorkflowPolicy(things_teardown=teardown is Teardown.THINGS)
    faults = FaultProfile(requests_per_second=quota, latency_s=LATENCY_S)
    with LocalService(
        seed=seed, log_level="ERROR", policy=policy, faults=faults, greengrass_rps=quota
    ) as svc:
        sim = svc.simulator
        pools = [
            sim.add_definition("Function", items=[FUNCTION])
            for _ in range(max(1, round(groups * SHARED_POOLS)))
        ]
        group_ids = [
            sim.add_group(core=kind, definitions=[rng.choice(pools)] if rng.random() < SHARING else [])
            for kind in kinds
        ]
        owned = {gid: sim.group_definitions(gid) for gid in group_ids}
        cores = {gid: sim.core_thing(gid) for gid in group_ids}
        t0 = svc.clock.now()
        for gid in group_ids:
            svc.request_deletion(gid, teardown=teardown)
        svc.run_until_idle()
        completion = (svc.clock.now() - t0).total_seconds()
        workflows = svc.ledger.all_workflows()
        last = [views[-1].workflow for gid in group_ids if (views := workflows.get(gid))]
        deleted = sum(wf.state is WorkflowState.DELETED for wf in last)
        torn = Counter(str(r.outcome) for wf in last for r in wf.resources if r.outcome is not None)
        definitions = {(kind, ref.definition_id) for refs in owned.values() for kind, ref in refs.items()}
        orphans = 0
        if teardown is not Teardown.GROUP:
            orphans = sum(sim.definition_exists(kind, did) for kind, did in definitions)
        if teardown is Teardown.THINGS and svc.identities is not None:
            orphans += sum(svc.identities.thing_exists(core.thing_name) for core in cores.values())
            orphans += sum(svc.identities.certificate_exists(core.certificate_arn) for core in cores.values())
        deleted_definitions = sum(
            wf.teardown is not Teardown.GROUP
            and r.outcome is ResourceOutcome.DELETED
            and r.kind.is_definition
            for wf in last
            for r in wf.resources
        )
        calls = Counter(sim.calls)
    bulk_bounds = bounds(kinds, quota)
    extra_reads = 0 if teardown is Teardown.GROUP else READS_PER_GROUP * groups + -(-groups // 50)
    after = 0 if teardown is Teardown.GROUP else AFTER_FORCED_RESET / quota
    return TeardownResult(
        groups=groups,
        quota=quota,
        teardown=teardown,
        completion_s=completion,
        calls=calls,
        deleted=deleted,
        torn_down=torn,
        orphans=orphans,
        deleted_in_use=0,  # every group is deleted: nothing remains to reference anything
        necessary_calls=bulk_bounds.necessary_calls + extra_reads + deleted_definitions,
        in_order_bound_s=bulk_bounds.in_order_bound_s + after,
        wall_s=time.perf_counter() - started,
    )


def measure(
    groups: int, quota: float, level: Teardown = Teardown.THINGS
) -> tuple[TeardownResult, TeardownResult]:
    """(teardown=`level`, teardown=group) on the same fleet."""
    return run_teardown(groups, quota, level), run_teardown(groups, quota, Teardown.GROUP)


def report(
    groups: int, quota: float, measured: tuple[TeardownResult, TeardownResult] | None = None
) -> list[str]:
    """The lines `make bench` prints: with teardown=things and group-only, on the same fleet, in one run."""
    full, group_only = measured or measure(groups, quota)
    outcomes = ", ".join(f"{n} {o}" for o, n in sorted(full.torn_down.items()))
    return [
        f"teardown={full.teardown}, {groups} deletions @ {quota:g} req/s: "
        f"{full.completion_s:.0f} s simulated, "
        f"{full.calls_per_request:.2f} Greengrass calls per deletion ({NECESSARY_CALLS['online']}/"
        f"{NECESSARY_CALLS['offline']} for the deletion, {READS_PER_GROUP} reads, the definitions), "
        f"{full.vs_limit:.2f}x its limit {full.limit_s:.0f} s (calls bound {full.calls_bound_s:.0f} s, "
        f"in-order bound {full.in_order_bound_s:.0f} s); resources: {outcomes}; orphans {full.orphans}, "
        f"{'correct' if full.correct else 'NOT CORRECT'}; {full.wall_s:.0f} s wall",
        f"teardown=group (same fleet): {group_only.completion_s:.0f} s simulated, "
        f"{group_only.calls_per_request:.2f} calls per deletion, {group_only.vs_limit:.2f}x its limit "
        f"{group_only.limit_s:.0f} s; the full teardown costs "
        f"{full.completion_s / group_only.completion_s:.2f}x the time and "
        f"{full.calls_per_request - group_only.calls_per_request:.2f} more calls per deletion",
    ]


if __name__ == "__main__":
    import sys

    size = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    rate = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    for line in report(size, rate):
        print(line)
