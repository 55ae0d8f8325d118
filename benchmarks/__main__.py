"""gg-reset benchmarks: the pure workflow's throughput and the local service's cost per request.

Figures, not pass/fail: machines here are noisy, so timing targets live here rather than in tests.
Ratios worth watching across changes:
- transitions per second of the pure core (the upper bound of what a worker can decide);
- Greengrass calls and ledger writes per request (what the API quota and DynamoDB bill see);
- wall seconds per 100 requests of the local service, and simulated-to-wall time.
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.events import (
    DeploymentStatusReported,
    GroupDeleted,
    GroupInspected,
    RequestReceived,
    ResetAccepted,
)
from gg_reset.domain.model import GroupRecord, Request, RequestKind
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import transition

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = WorkflowPolicy()


def deletion_path(i: int) -> int:
    """One deletion through every step of the happy path; returns the number of transitions."""
    gid = f"g{i}"
    record = GroupRecord(group_id=gid)
    now = EPOCH
    events = [
        RequestReceived(Request(f"r{i}", RequestKind.DELETION, gid, now)),
        GroupInspected(exists=True),
        ResetAccepted(deployment_id=f"d{i}", forced=False),
        DeploymentStatusReported(f"d{i}", DeploymentType.RESET, DeploymentStatus.SUCCESS),
        GroupInspected(exists=True),  # the protection re-check before DeleteGroup
        GroupDeleted(),
    ]
    for n, event in enumerate(events):
        record = transition(record, event, now + timedelta(seconds=n), POLICY).record
    assert record.last is not None and record.last.state.value == "DELETED"
    return len(events)


def timed(fn: Callable[[], int]) -> tuple[float, int]:
    start = time.perf_counter()
    count = fn()
    return time.perf_counter() - start, count


def bench_core(requests: int) -> None:
    seconds, transitions = timed(lambda: sum(deletion_path(i) for i in range(requests)))
    tracemalloc.start()
    records = []
    for i in range(1000):
        record = GroupRecord(group_id=f"g{i}")
        record = transition(
            record, RequestReceived(Request(f"r{i}", RequestKind.RESET, f"g{i}", EPOCH)), EPOCH, POLICY
        ).record
        records.append(record)
    current, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print("pure workflow (deletion happy path)")
    print(f"  {requests} requests, {transitions} transitions in {seconds:.3f} s")
    print(f"  {transitions / seconds:,.0f} transitions/s, {requests / seconds:,.0f} requests/s")
    print(f"  memory: {current / 1000 / 1024:.2f} KiB per active group record")


def bench_local(groups: int, quota: float | None) -> float:
    """One demo-sized run of the local service; returns its wall seconds."""
    from gg_reset.local.demo import run_demo
    from gg_reset.local.faults import FaultProfile

    result = run_demo(groups=groups, seed=11, faults=FaultProfile(requests_per_second=quota, latency_s=0.05))
    summary = result.summary()
    calls = sum(result.api_calls.values())
    label = f"quota {quota:g} req/s" if quota else "no quota"
    print(f"local service, {groups} groups, {label}")
    print(f"  outcomes: {summary['outcomes']}")
    print(f"  wall {result.wall_seconds:.2f} s = {100 * result.wall_seconds / groups:.2f} s per 100 requests")
    print(
        f"  simulated {timedelta(seconds=round(result.simulated_seconds))}, "
        f"simulated/wall = {result.simulated_seconds / result.wall_seconds:,.0f}x"
    )
    print(
        f"  Greengrass calls: {calls} = {calls / groups:.2f} per request; "
        f"{dict(sorted(result.api_calls.items()))}"
    )
    print(
        f"  worker: {summary['worker_invocations']} invocations, {summary['messages']} messages "
        f"({summary['messages'] / groups:.2f} per request), {summary['redeliveries']} redeliveries"
    )
    print(f"  force fallbacks: {summary['force_fallbacks']}; unexpected outcomes: {len(result.problems)}")
    print(
        f"  peak RSS of this process so far: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    return result.wall_seconds


def bench_bulk(groups: int, quotas: tuple[float, ...], script_groups: int, big: int) -> None:
    from benchmarks.baseline_script import run_script
    from benchmarks.bulk import fleet, run_bulk

    print("bulk cleanup: deletions, 90% online / 10% offline cores, 50 ms per call (simulated time)")
    print(
        f"  {'groups':>6} {'quota':>5} {'completion':>10} {'limit':>7} {'ratio':>6} {'in-order':>8} "
        f"{'ratio':>6} {'calls/req':>9} {'429s':>5} {'DELETED':>8} {'orphans':>7} {'wall':>7}"
    )
    runs = [(groups, quota) for quota in quotas] + ([(big, quotas[0])] if big else [])
    first = None
    for size, quota in runs:
        r = run_bulk(size, quota)
        first = first or r
        print(
            f"  {r.groups:>6} {r.quota:>5g} {r.completion_s:>9.0f}s {r.limit_s:>6.0f}s "
            f"{r.completion_s / r.limit_s:>5.2f}x {r.in_order_bound_s:>7.0f}s "
            f"{r.completion_s / r.in_order_bound_s:>5.2f}x {r.calls_per_request:>9.2f} {r.throttled:>5} "
            f"{r.deleted:>8} {r.orphaned_cores:>7} {r.wall_s:>6.0f}s"
        )
        print(f"         calls by operation: {dict(sorted(r.calls.items()))}")
    assert first is not None
    script = run_script(fleet(script_groups, 7), quota=quotas[0])
    print(
        f"  plain 10-thread boto3 script, {script_groups} groups at {quotas[0]:g} req/s: "
        f"{script.completion_s:.0f}s simulated, {script.calls} calls ({script.throttled} throttled), "
        f"{script.deleted} deleted"
    )
    if script_groups == first.groups:
        print(f"  gg-reset is {script.completion_s / first.completion_s:.1f}x faster than the script")


def bench_demo_scaling(small: int, large: int) -> None:
    from gg_reset.local.demo import run_demo

    walls = {}
    for groups in (small, large):
        result = run_demo(groups=groups, seed=7)
        walls[groups] = result.wall_seconds
        print(
            f"demo, {groups} groups: {result.wall_seconds:.1f}s wall, "
            f"{len(result.problems)} unexpected outcomes"
        )
    print(
        f"demo wall time {large}/{small} groups: {walls[large] / walls[small]:.1f}x "
        f"for {large / small:g}x the groups"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000, help="requests through the pure core")
    parser.add_argument("--groups", type=int, default=300, help="groups in the local-service runs")
    parser.add_argument("--quota", type=float, default=10.0, help="API quota (req/s) for the throttled run")
    parser.add_argument("--bulk-groups", type=int, default=1000, help="deletions in the bulk figure")
    parser.add_argument(
        "--bulk-big", type=int, default=3000, help="a larger bulk run at the first quota (0: skip)"
    )
    parser.add_argument("--demo-large", type=int, default=3000, help="the larger demo of the scaling figure")
    parser.add_argument("--skip-local", action="store_true", help="skip the per-request local-service runs")
    args = parser.parse_args()
    bench_core(args.requests)
    if not args.skip_local:
        print()
        free = bench_local(args.groups, None)
        print()
        throttled = bench_local(args.groups, args.quota)
        print()
        print(f"throttled/unthrottled wall time: {throttled / free:.2f}x")
    print()
    bench_bulk(args.bulk_groups, (args.quota, 50.0), args.bulk_groups, args.bulk_big)
    print()
    bench_demo_scaling(args.groups, args.demo_large)


if __name__ == "__main__":
    main()
