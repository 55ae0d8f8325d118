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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000, help="requests through the pure core")
    parser.add_argument("--groups", type=int, default=300, help="groups in the local-service runs")
    parser.add_argument("--quota", type=float, default=10.0, help="API quota (req/s) for the throttled run")
    args = parser.parse_args()
    bench_core(args.requests)
    print()
    free = bench_local(args.groups, None)
    print()
    throttled = bench_local(args.groups, args.quota)
    print()
    print(f"throttled/unthrottled wall time: {throttled / free:.2f}x")


if __name__ == "__main__":
    main()
