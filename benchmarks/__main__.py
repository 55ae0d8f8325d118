"""gg-reset benchmarks: the pure workflow's throughput, the local service's cost per request, and the
bulk-cleanup figure.

Figures, not pass/fail: machines here are noisy, so timing targets live here rather than in tests.
Ratios worth watching across changes:
- transitions per second of the pure core (the upper bound of what a worker can decide);
- Greengrass calls and ledger writes per request (what the API quota and DynamoDB bill see);
- wall seconds per 100 requests of the local service, and simulated-to-wall time;
- bulk cleanup (benchmarks/bulk.py), all measured in one run on the simulated clock: the completion of N
  deletions at a quota against the quota-bound limit and the in-order bound, calls and 429s per request,
  every group DELETED with no orphaned core, and a plain 10-thread boto3 script (benchmarks/
  baseline_script.py) on the same simulator and quota; the run at the second, faster quota has its worker
  invocations overlap as the stack's `workerMaxConcurrency` lets them (`--fast-workers`);
- the demo's wall time at 300 and at 3,000 groups (how the local runtime scales);
- each Lambda handler's cold start (its import in a fresh process) against `import boto3`, and the memory
  after it (benchmarks/cold_start.py).
The last table compares the ratios with their targets. The first bulk run's timeline (requests finished,
Greengrass calls per second against the quota, 429s) is drawn into benchmarks/out/bulk-timeline.png when
matplotlib is installed (`pip install 'gg-reset[plot]'`; `--plot FILE` elsewhere, `--no-plot` not at all).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.events import (
    DeploymentStatusReported,
    Event,
    GroupDeleted,
    GroupInspected,
    RequestReceived,
    ResetAccepted,
)
from gg_reset.domain.model import GroupRecord, Request, RequestKind
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.teardown import Teardown
from gg_reset.domain.workflow import transition
from gg_reset.text import plural

if TYPE_CHECKING:
    from benchmarks.baseline_script import ScriptResult
    from benchmarks.bulk import Bounds, BulkResult

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_PLOT: Final = Path(__file__).parent / "out" / "bulk-timeline.png"
"""Where `make bench` draws the first bulk run's timeline."""
POLICY = WorkflowPolicy()


def deletion_path(i: int) -> int:
    """One deletion through every step of the happy path; returns the number of transitions."""
    gid = f"g{i}"
    record = GroupRecord(group_id=gid)
    now = EPOCH
    events: list[Event] = [
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
    print(f"local service, {plural(groups, 'group')}, {label}")
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
        f"({summary['messages'] / groups:.2f} per request), {plural(summary['redeliveries'], 'redelivery')}"
    )
    print(f"  force fallbacks: {summary['force_fallbacks']}; unexpected outcomes: {len(result.problems)}")
    print(
        f"  peak RSS of this process so far: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
    )
    return result.wall_seconds


# --- bulk cleanup -----------------------------------------------------------------------------------

SCRIPT_SPEEDUP_TARGET: Final = 5.0
"""gg-reset must finish the bulk cleanup at least this many times sooner than the 10-thread script."""
LIMIT_RATIO_TARGET: Final = 1.25
"""gg-reset's completion may exceed the quota-bound limit by at most this factor."""
DEMO_SCALING_TARGET: Final = 12.0
"""The demo at 10x the groups may take at most this many times the wall time."""
FAST_QUOTA_BEFORE_S: Final[Mapping[tuple[int, float], float]] = {(1000, 50.0): 758.0}
"""Simulated completion measured before the bulk-cleanup work (1,000 groups at 50 req/s): no regression."""
IN_ORDER_TARGETS: Final[Mapping[tuple[int, float], float]] = {(1000, 10.0): 1.02, (1000, 50.0): 1.05}
"""The most gg-reset's completion may exceed the in-order bound by, by (groups, quota)."""


@dataclass(frozen=True, slots=True)
class Check:
    """One figure against its target; `ok` is None when the figure was not measured in this run."""

    figure: str
    value: str
    target: str
    ok: bool | None


class _Run(Protocol):
    """What a table row shows: a gg-reset run (`BulkResult`) or the script's (`ScriptResult`)."""

    @property
    def groups(self) -> int: ...
    @property
    def quota(self) -> float: ...
    @property
    def completion_s(self) -> float: ...
    @property
    def last_terminal_s(self) -> float: ...
    @property
    def calls_per_request(self) -> float: ...
    @property
    def throttled(self) -> int: ...
    @property
    def deleted(self) -> int: ...
    @property
    def orphaned_cores(self) -> int: ...
    @property
    def wall_s(self) -> float: ...


TABLE_HEADER: Final = (
    f"  {'run':<16} {'groups':>6} {'quota':>5} {'completion':>10} {'last end':>9} {'limit':>7} {'ratio':>6} "
    f"{'in-order':>8} {'ratio':>6} {'calls/req':>9} {'429s':>5} {'DELETED':>7} {'orphans':>7} {'wall':>7}"
)


def _row(label: str, r: _Run, bounds: Bounds) -> str:
    done = r.completion_s
    return (
        f"  {label:<16} {r.groups:>6} {r.quota:>5g} {done:>9.0f}s {r.last_terminal_s:>8.0f}s "
        f"{bounds.limit_s:>6.0f}s {done / bounds.limit_s:>5.2f}x {bounds.in_order_bound_s:>7.0f}s "
        f"{done / bounds.in_order_bound_s:>5.2f}x {r.calls_per_request:>9.2f} {r.throttled:>5} "
        f"{r.deleted:>7} {r.orphaned_cores:>7} {r.wall_s:>6.1f}s"
    )


def _per_request(calls: Mapping[str, int], groups: int) -> str:
    return ", ".join(f"{op} {n / groups:.2f}" for op, n in sorted(calls.items()))


def _print_bounds(bounds: Bounds, groups: int) -> None:
    print(f"  {plural(groups, 'group')} at {bounds.quota:g} req/s: {bounds.formula()}")
    print(
        f"    in-order bound = max over the {plural(bounds.offline, 'offline group')} at arrival position p "
        f"of 2 (p + 1) / {bounds.quota:g} + {bounds.longest_wait_s:g} s = {bounds.in_order_bound_s:.1f} s"
    )
    if bounds.in_order_bound_s > LIMIT_RATIO_TARGET * bounds.limit_s:
        ratio = bounds.in_order_bound_s / bounds.limit_s
        print(
            f"    note: the in-order bound is {ratio:.3f}x the limit, above the {LIMIT_RATIO_TARGET:g}x "
            "target: only a scheduler that does not serve arrivals in order can meet it"
        )


def run_bulk_table(
    groups: int,
    quota: float,
    *,
    fast_quota: float,
    big: int,
    seed: int,
    gg_reset: bool,
    script: bool,
    workers: int = 1,
    fast_workers: int = 1,
) -> tuple[list[BulkResult], ScriptResult | None]:
    """Print the bulk-cleanup table (one row per run, as each run ends); return the results. `workers`,
    `fast_workers`: worker invocations that may overlap in the runs at `quota` and at `fast_quota`."""
    from benchmarks.baseline_script import run_script
    from benchmarks.bulk import LATENCY_S, OFFLINE_SHARE, bounds, fleet, run_bulk, service_options

    runs = [(groups, quota, workers)] if gg_reset else []
    if gg_reset and big:
        runs.append((big, quota, workers))
    if gg_reset and fast_quota:
        runs.append((groups, fast_quota, fast_workers))
    print(
        f"bulk cleanup: deletions, {1 - OFFLINE_SHARE:.0%} online / {OFFLINE_SHARE:.0%} offline cores, every "
        f"group deployed, {LATENCY_S * 1000:g} ms per Greengrass call, simulated seconds (seed {seed})"
    )
    if gg_reset:
        budgeted = "greengrass_rps" in service_options(quota)
        budget = "set to the quota (greengrass_rps)" if budgeted else "not in this LocalService (unset)"
        print(f"  gg-reset: LocalService, its own request budget {budget}")
        print(
            "  gg-reset xN: up to N worker invocations at once; x1: one at a time with the whole budget; "
            "N > 1: overlapping as in AWS, each one and the sweeper paced at budget / (N + 1)"
        )
    shown: set[tuple[int, float]] = set()
    for size, q in [*((size, q) for size, q, _ in runs), *([(groups, quota)] if script else [])]:
        if (size, q) not in shown:
            shown.add((size, q))
            _print_bounds(bounds(fleet(size, seed), q), size)
    print(
        "  completion: until the service is idle; last end: the last request's terminal state "
        "(the two match unless timers or redeliveries were still pending)"
    )
    print(TABLE_HEADER)
    results: list[BulkResult] = []
    details: list[str] = []
    for size, q, w in runs:
        r = run_bulk(size, q, seed, workers=w)
        results.append(r)
        print(_row(f"gg-reset x{r.workers}", r, r.bounds), flush=True)
        details.append(
            f"    gg-reset {size}@{q:g} x{r.workers}: {_per_request(r.calls, size)} "
            f"(necessary {r.bounds.necessary_calls / size:.2f})"
        )
    baseline = None
    if script:
        kinds = fleet(groups, seed)
        baseline = run_script(kinds, quota=quota, seed=seed)
        print(_row("10-thread script", baseline, bounds(kinds, quota)), flush=True)
        details.append(
            f"    script {groups}@{quota:g}: {_per_request(baseline.calls, groups)}; "
            f"{plural(baseline.failed, 'group')} given up"
        )
    print("  Greengrass calls per request by operation (429s included):")
    print("\n".join(details))
    return results, baseline


def bulk_checks(results: Sequence[BulkResult], baseline: ScriptResult | None) -> list[Check]:
    checks: list[Check] = []
    first = results[0] if results else None
    if first is not None and baseline is not None and baseline.groups == first.groups:
        speedup = baseline.completion_s / first.completion_s
        checks.append(
            Check(
                f"script / gg-reset completion, {first.groups} @ {first.quota:g} req/s",
                f"{speedup:.2f}x",
                f">= {SCRIPT_SPEEDUP_TARGET:g}x",
                speedup >= SCRIPT_SPEEDUP_TARGET,
            )
        )
    for r in results:
        in_order_target = IN_ORDER_TARGETS.get((r.groups, r.quota))
        if in_order_target is not None:
            checks.append(
                Check(
                    f"gg-reset / in-order bound, {r.groups} @ {r.quota:g} req/s x{r.workers}",
                    f"{r.vs_in_order:.2f}x ({r.completion_s:.0f}s / {r.bounds.in_order_bound_s:.0f}s, "
                    f"{r.calls_per_request:.2f} calls/req)",
                    f"<= {in_order_target:g}x",
                    r.vs_in_order <= in_order_target,
                )
            )
        if first is not None and r.quota == first.quota:
            checks.append(
                Check(
                    f"gg-reset / limit, {r.groups} @ {r.quota:g} req/s",
                    f"{r.vs_limit:.2f}x ({r.vs_in_order:.2f}x in-order)",
                    f"<= {LIMIT_RATIO_TARGET:g}x",
                    r.vs_limit <= LIMIT_RATIO_TARGET,
                )
            )
        else:
            before = FAST_QUOTA_BEFORE_S.get((r.groups, r.quota))
            checks.append(
                Check(
                    f"gg-reset completion, {r.groups} @ {r.quota:g} req/s",
                    f"{r.completion_s:.0f}s ({r.vs_limit:.2f}x limit)",
                    f"<= {before:g}s (before)" if before else "(no earlier figure)",
                    r.completion_s <= before if before else None,
                )
            )
    for r in results:
        checks.append(
            Check(
                f"every group DELETED, no orphan, {r.groups} @ {r.quota:g}",
                f"{r.deleted}/{r.groups} DELETED, {plural(r.orphaned_cores, 'orphan')}",
                "all, 0",
                r.correct,
            )
        )
    if baseline is not None:
        checks.append(
            Check(
                f"script: every group deleted, no orphan, {baseline.groups} @ {baseline.quota:g}",
                f"{baseline.deleted}/{baseline.groups} deleted, {plural(baseline.orphaned_cores, 'orphan')}",
                "all, 0",
                baseline.correct,
            )
        )
    return checks


def bench_bulk(
    groups: int,
    quota: float,
    *,
    fast_quota: float = 50.0,
    big: int = 0,
    seed: int = 7,
    gg_reset: bool = True,
    script: bool = True,
    plot: Path | None = None,
    workers: int = 1,
    fast_workers: int = 1,
) -> list[Check]:
    """The bulk-cleanup table; returns its figures against their targets. `plot`: draw the first run's
    timeline there (a PNG). `workers`, `fast_workers`: see `run_bulk_table`."""
    results, baseline = run_bulk_table(
        groups,
        quota,
        fast_quota=fast_quota,
        big=big,
        seed=seed,
        gg_reset=gg_reset,
        script=script,
        workers=workers,
        fast_workers=fast_workers,
    )
    if plot is not None and results and results[0].timeline is not None:
        draw_timeline(results[0], plot)
    return bulk_checks(results, baseline)


def draw_timeline(result: BulkResult, path: Path) -> None:
    """The run's timeline as a PNG; without matplotlib, a note instead (the figures do not need it)."""
    from gg_reset.local.timeline import PlotUnavailable, draw

    assert result.timeline is not None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        draw(result.timeline, path)
    except PlotUnavailable as exc:
        print(f"  timeline not drawn: {exc}")
        return
    print(f"  timeline of gg-reset {result.groups}@{result.quota:g}: {path}")


def bench_demo_scaling(small: int, large: int, seed: int = 7) -> list[Check]:
    from gg_reset.local.demo import run_demo

    walls = {}
    for groups in (small, large):
        result = run_demo(groups=groups, seed=seed)
        walls[groups] = result.wall_seconds
        print(
            f"demo, {groups} groups: {result.wall_seconds:.1f}s wall, "
            f"{timedelta(seconds=round(result.simulated_seconds))} simulated, "
            f"{plural(len(result.problems), 'unexpected outcome')}",
            flush=True,
        )
    ratio = walls[large] / walls[small]
    print(f"demo wall time {large}/{small} groups: {ratio:.1f}x for {large / small:g}x the groups")
    return [
        Check(
            f"demo wall time, {large} / {small} groups",
            f"{ratio:.1f}x",
            f"<= {DEMO_SCALING_TARGET:g}x" if large == 10 * small else "(target is for 10x the groups)",
            ratio <= DEMO_SCALING_TARGET if large == 10 * small else None,
        )
    ]


def bench_cold_start(runs: int) -> list[Check]:
    """Each handler's import against `import boto3`, measured in the same run (benchmarks/cold_start.py)."""
    from benchmarks import cold_start

    figures = cold_start.measure(runs)
    print("\n".join(cold_start.report(figures)))
    baseline = next(f for f in figures if f.module == cold_start.BASELINE)
    checks = []
    for f in figures:
        if f.module == cold_start.BASELINE:
            continue
        handler = f.module.rsplit(".", 1)[1]
        ratio = f.median_ms / baseline.median_ms
        checks.append(
            Check(
                f"cold start {handler} / import boto3",
                f"{ratio:.2f}x",
                f"<= {cold_start.GOAL_RATIO}x",
                ratio <= cold_start.GOAL_RATIO,
            )
        )
        checks.append(
            Check(
                f"RSS after importing the {handler}",
                f"{f.rss_mb:.0f} MB",
                f"<= {cold_start.GOAL_RSS_MB:.0f} MB",
                f.rss_mb <= cold_start.GOAL_RSS_MB,
            )
        )
    return checks


def print_checks(checks: Sequence[Check]) -> None:
    if not checks:
        return
    width = max(len(c.figure) for c in checks)
    value_width = max(len(c.value) for c in checks)
    print("figures against targets")
    for c in checks:
        verdict = {True: "ok", False: "MISSED", None: "-"}[c.ok]
        print(f"  {c.figure:<{width}}  {c.value:<{value_width}}  {c.target:<18} {verdict}")


TEARDOWN_LIMIT_TARGET: Final = 1.05
"""1,000 teardowns at the quota: within this of their limit (the larger of the calls and in-order bounds)."""


def bench_teardown(groups: int, quota: float, level: Teardown) -> list[Check]:
    from benchmarks import teardown

    full, group_only = teardown.measure(groups, quota, level)
    print("\n".join(teardown.report(groups, quota, (full, group_only))), flush=True)
    return [
        Check(
            f"teardown={level} / its limit, {groups} @ {quota:g} req/s",
            f"{full.vs_limit:.2f}x ({full.completion_s:.0f}s / {full.limit_s:.0f}s)",
            f"<= {TEARDOWN_LIMIT_TARGET:g}x",
            full.vs_limit <= TEARDOWN_LIMIT_TARGET,
        ),
        Check(
            f"teardown={level} orphans and deletions in use, {groups}",
            f"{full.orphans} / {full.deleted_in_use}, {full.calls_per_request:.2f} calls/deletion",
            "0 / 0",
            full.correct,
        ),
    ]


def bench_connectivity(groups: int, quota: float) -> list[Check]:
    from benchmarks import connectivity

    figures = connectivity.measure(groups, quota)
    print("\n".join(connectivity.report(groups, quota, figures)), flush=True)
    bound, source, without = figures.in_order_bound_s, figures.with_source, figures.without
    oracle = figures.oracle.completion_s
    return [
        Check(
            f"with the fleet index / in-order bound, {groups} @ {quota:g}",
            f"{source.completion_s / bound:.2f}x ({source.completion_s:.0f}s / {bound:.0f}s)",
            "<= 0.55x",
            source.completion_s / bound <= 0.55 and source.correct,
        ),
        Check(
            "with the fleet index / the oracle",
            f"{source.completion_s / oracle:.2f}x ({source.completion_s:.0f}s / {oracle:.0f}s)",
            "<= 1.1x",
            source.completion_s / oracle <= 1.1,
        ),
        Check(
            "with the fleet index, calls per request",
            f"{source.calls_per_request:.2f}",
            "<= 4.2",
            source.calls_per_request <= 4.2,
        ),
        Check(
            "without a source / in-order bound",
            f"{without.completion_s / bound:.2f}x",
            "<= 1.02x",
            without.completion_s / bound <= 1.02 and without.correct,
        ),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--requests", type=int, default=20_000, help="requests through the pure core")
    parser.add_argument(
        "--groups", type=int, default=300, help="groups in the local-service runs and small demo"
    )
    parser.add_argument(
        "--quota", type=float, default=10.0, help="API quota (req/s): throttled and bulk runs"
    )
    parser.add_argument("--fast-quota", type=float, default=50.0, help="a second bulk quota (0: skip)")
    parser.add_argument(
        "--workers", type=int, default=1, help="worker invocations at once in the bulk runs at --quota"
    )
    parser.add_argument(
        "--fast-workers",
        type=int,
        default=None,
        help="worker invocations at once in the bulk run at --fast-quota (default: the stack's "
        "workerMaxConcurrency)",
    )
    parser.add_argument("--bulk-groups", type=int, default=1000, help="deletions in the bulk figure")
    parser.add_argument("--bulk-big", type=int, default=3000, help="a larger bulk run at --quota (0: skip)")
    parser.add_argument("--demo-large", type=int, default=3000, help="the larger demo of the scaling figure")
    parser.add_argument("--seed", type=int, default=7, help="fleet and simulator seed of the bulk figure")
    parser.add_argument("--skip-core", action="store_true", help="skip the pure-core throughput")
    parser.add_argument("--skip-local", action="store_true", help="skip the per-request local-service runs")
    parser.add_argument("--skip-bulk", action="store_true", help="skip gg-reset's bulk runs (the slow part)")
    parser.add_argument("--skip-script", action="store_true", help="skip the 10-thread script baseline")
    parser.add_argument("--skip-demo-scaling", action="store_true", help="skip the demo at two sizes")
    parser.add_argument(
        "--plot", type=Path, default=DEFAULT_PLOT, help="the first bulk run's timeline, a PNG (%(default)s)"
    )
    parser.add_argument("--no-plot", action="store_true", help="do not draw the bulk run's timeline")
    parser.add_argument(
        "--cold-start-runs", type=int, default=15, help="fresh processes per handler in the cold-start figure"
    )
    parser.add_argument("--skip-cold-start", action="store_true", help="skip the handlers' cold start")
    parser.add_argument("--skip-teardown", action="store_true", help="skip the teardown figure")
    parser.add_argument(
        "--things-groups",
        type=int,
        default=200,
        help="deletions of the teardown=things figure (moto's AWS IoT slows quadratically with the fleet; "
        "--bulk-groups deletions get teardown=definitions)",
    )
    parser.add_argument("--skip-connectivity", action="store_true", help="skip the connectivity figure")
    args = parser.parse_args(argv)
    if args.fast_workers is None:
        from gg_reset.local.runtime import WORKER_MAX_CONCURRENCY

        args.fast_workers = WORKER_MAX_CONCURRENCY
    if not args.skip_core:
        bench_core(args.requests)
    if not args.skip_local:
        print()
        free = bench_local(args.groups, None)
        print()
        throttled = bench_local(args.groups, args.quota)
        print()
        print(f"throttled/unthrottled wall time: {throttled / free:.2f}x")
    checks: list[Check] = []
    if not (args.skip_bulk and args.skip_script):
        print()
        checks += bench_bulk(
            args.bulk_groups,
            args.quota,
            fast_quota=args.fast_quota,
            big=args.bulk_big,
            seed=args.seed,
            gg_reset=not args.skip_bulk,
            script=not args.skip_script,
            plot=None if args.no_plot else args.plot,
            workers=args.workers,
            fast_workers=args.fast_workers,
        )
    if not args.skip_teardown:
        print()
        checks += bench_teardown(args.bulk_groups, args.quota, Teardown.DEFINITIONS)
        print()
        checks += bench_teardown(args.things_groups, args.quota, Teardown.THINGS)
    if not args.skip_connectivity:
        print()
        checks += bench_connectivity(args.bulk_groups, args.quota)
    if not args.skip_demo_scaling:
        print()
        checks += bench_demo_scaling(args.groups, args.demo_large)
    if not args.skip_cold_start:
        print()
        checks += bench_cold_start(args.cold_start_runs)
    if checks:
        print()
        print_checks(checks)


if __name__ == "__main__":
    main()
