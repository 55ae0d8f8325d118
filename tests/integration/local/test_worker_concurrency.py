"""Worker invocations that overlap in simulated time (`LocalService(worker_concurrency=N)`), as the stack's
`workerMaxConcurrency` lets them in AWS: their request latencies overlap instead of adding up, each
invocation paces itself at its share of the request budget, a run repeats exactly for a seed, and the
service behaves as it does one invocation at a time. The scheduler underneath (`TaskScheduler`) first."""

from __future__ import annotations

import bisect
import json
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gg_reset.domain.model import StepKind, WorkflowState
from gg_reset.local import LocalService
from gg_reset.local.clock import SimulatedClock, TaskCancelled, TaskScheduler
from gg_reset.local.faults import FaultProfile
from gg_reset.local.runtime import WORKER_MAX_CONCURRENCY

LATENCY_S = 0.05
REPO_ROOT = Path(__file__).resolve().parents[3]

# --- the scheduler -----------------------------------------------------------------------------------


def run_all(clock: SimulatedClock, tasks: TaskScheduler) -> None:
    """What the runtime does, reduced to the tasks: jump to the next task's instant and run what is due."""
    while (wake := tasks.next_wake()) is not None:
        clock.advance_to(wake)
        for task in tasks.run_due():
            assert task.error is None, task.error


def test_tasks_that_sleep_overlap_in_time_and_run_in_time_order() -> None:
    clock = SimulatedClock()
    tasks = TaskScheduler(clock)
    start = clock.now()
    log: list[tuple[float, str]] = []

    def worker(name: str, steps: list[float]) -> str:
        for step in steps:
            clock.sleep(step)
            log.append(((clock.now() - start).total_seconds(), name))
        return name

    a = tasks.spawn("a", lambda: worker("a", [1.0, 1.0, 1.0]))
    b = tasks.spawn("b", lambda: worker("b", [0.5, 2.0]))
    run_all(clock, tasks)
    assert log == [(0.5, "b"), (1.0, "a"), (2.0, "a"), (2.5, "b"), (3.0, "a")]
    assert clock.now() - start == timedelta(seconds=3)  # not 5.5: the waits overlapped
    assert (a.result, b.result) == ("a", "b") and tasks.pending == 0
    tasks.close()


def test_advance_in_a_task_is_its_own_time_unless_the_request_was_waited_out_in_flight() -> None:
    clock = SimulatedClock()
    tasks = TaskScheduler(clock)
    start = clock.now()
    seen: dict[str, float] = {}

    def busy() -> None:
        clock.advance(1.0)  # nothing else runs meanwhile

    def requester() -> None:
        tasks.in_flight(0.5)  # the others run while this request is in flight...
        clock.advance(0.5)  # ...so the simulator's latency for it adds nothing
        tasks.settle()
        seen["requester"] = (clock.now() - start).total_seconds()

    tasks.spawn("busy", busy)
    tasks.spawn("requester", requester)
    run_all(clock, tasks)
    # "busy" ran first (spawned first) and held the clock for 1 s; "requester" started late, at 1.0.
    assert seen == {"requester": 1.5}
    tasks.close()


def test_closing_the_scheduler_unwinds_waiting_tasks_past_except_exception() -> None:
    clock = SimulatedClock()
    tasks = TaskScheduler(clock)
    unwound: list[str] = []

    def stubborn() -> None:
        try:
            clock.sleep(10)
        except Exception:  # what a batch processor does: it must not stop the cancellation
            unwound.append("swallowed")
        finally:
            unwound.append("finally")

    task = tasks.spawn("stubborn", stubborn)
    clock.advance_to(clock.now())
    assert tasks.run_due() == []  # now waiting 10 s
    before = clock.now()
    tasks.close()
    assert unwound == ["finally"] and isinstance(task.error, TaskCancelled)
    assert clock.now() == before  # cancelling moves no time
    clock.sleep(1)  # detached: the clock sleeps as a plain clock again
    assert clock.now() - before == timedelta(seconds=1)


# --- the local service -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    completion_s: float
    last_reset_s: float
    """When the last group's ResetDeployments was made (after every inspection and reset)."""
    arrivals: list[tuple[float, str]]
    """Every Greengrass request as the simulator received it: seconds since the requests, operation."""
    histories: dict[str, list[tuple[str, float, str]]]
    states: Counter[str]
    throttled: int
    orphans: int
    dead_letters: int
    invocations: int
    messages: int
    metrics: dict[str, float]


def bulk(
    worker_concurrency: int,
    kinds: list[str],
    *,
    quota: float | None,
    faults: FaultProfile | None = None,
    seed: int = 7,
    resets_every: int = 0,
) -> Run:
    """Requests for a fleet of `kinds` (deletions; a reset for every `resets_every`-th group) through the
    service at `quota` (the simulated API's quota and gg-reset's budget), until idle."""
    faults = faults or FaultProfile(requests_per_second=quota, latency_s=LATENCY_S)
    with LocalService(
        seed=seed,
        log_level="ERROR",
        faults=faults,
        greengrass_rps=quota,
        worker_concurrency=worker_concurrency,
    ) as svc:
        gids = [svc.fleet.add_group(core=kind) for kind in kinds]
        start = svc.clock.now()
        arrivals: list[tuple[float, str]] = []
        handle = svc.simulator.handle

        def recording(request: Any) -> Any:
            arrivals.append(((svc.clock.now() - start).total_seconds(), request.operation))
            return handle(request)

        svc.simulator.handle = recording  # type: ignore[method-assign]
        for n, gid in enumerate(gids):
            if resets_every and n % resets_every == 0:
                svc.request_reset(gid)
            else:
                svc.request_deletion(gid)
        stats = svc.run_until_idle()
        completion = (svc.clock.now() - start).total_seconds()
        views = {gid: svc.ledger.get(gid) for gid in gids}
        histories = {
            gid: [(s.kind.value, (s.at - start).total_seconds(), s.detail) for s in view.history]
            for gid, view in views.items()
            if view is not None
        }
        resets = [
            at
            for history in histories.values()
            for kind, at, _ in history
            if kind == StepKind.RESET_STARTED.value
        ]
        return Run(
            completion_s=completion,
            last_reset_s=max(resets, default=0.0),
            arrivals=arrivals,
            histories=histories,
            states=Counter(view.state.value for view in views.values() if view is not None),
            throttled=svc.simulator.throttled_count,
            orphans=len(svc.simulator.orphaned_cores),
            dead_letters=len(svc.dead_letters),
            invocations=stats.worker_invocations,
            messages=stats.messages,
            metrics=dict(stats.metrics),
        )


def test_overlapping_invocations_inspect_and_reset_a_fleet_sooner_than_one_at_a_time_can() -> None:
    groups, quota, workers = 100, 50.0, WORKER_MAX_CONCURRENCY
    one = bulk(1, ["online"] * groups, quota=quota)
    many = bulk(workers, ["online"] * groups, quota=quota)
    for run in (one, many):
        assert run.states == Counter({WorkflowState.DELETED.value: groups})
        assert run.throttled == 0 and run.orphans == 0
    assert len(many.arrivals) == len(one.arrivals) == 3 * groups  # the same calls, no more
    # One at a time, the latencies add up: the inspection and reset of every group (2 calls each) cannot
    # take less than 2 x groups x latency, whatever the budget allows.
    serial_floor = 2 * groups * LATENCY_S
    assert one.last_reset_s >= serial_floor - LATENCY_S
    # Overlapping, the budget is the limit: each worker invocation (and the sweeper) paces itself at an
    # equal share, so together they make at most quota x workers / (workers + 1) calls per second, after
    # the burst each one's budget starts with.
    share = quota / (workers + 1)
    budget_floor = (2 * groups - workers * share) / (workers * share)
    assert budget_floor <= many.last_reset_s < 0.6 * serial_floor
    assert many.completion_s < one.completion_s


def every_fault(*, quota: float, event_delay_s: float) -> FaultProfile:
    """Every fault at once: server errors, lost responses, duplicated, dropped and late status events."""
    return FaultProfile(
        requests_per_second=quota,
        latency_s=LATENCY_S,
        server_error_rate=0.05,
        lost_response_rate=0.03,
        duplicate_event_rate=0.2,
        drop_event_rate=0.1,
        event_delay_s=event_delay_s,
    )


def test_an_overlapping_run_repeats_exactly_for_a_seed() -> None:
    faults = every_fault(quota=20, event_delay_s=10)
    kinds = ["online", "offline", "failing", "flaky", "online", "online"] * 5
    first = bulk(WORKER_MAX_CONCURRENCY, kinds, quota=20, faults=faults, seed=11, resets_every=4)
    second = bulk(WORKER_MAX_CONCURRENCY, kinds, quota=20, faults=faults, seed=11, resets_every=4)
    assert first.arrivals == second.arrivals  # every request, to the microsecond
    assert first.histories == second.histories  # every step of every workflow, with its time
    assert first == second
    assert first.invocations > 0 and len(first.arrivals) > 3 * len(kinds)


def calls_within(times: list[float], window_s: float) -> int:
    """The most requests in any window of `window_s` seconds (`times` sorted)."""
    return max(bisect.bisect_left(times, t + window_s) - i for i, t in enumerate(times))


def test_all_invocations_together_keep_to_the_budget_at_the_simulator() -> None:
    quota, workers, groups = 30.0, WORKER_MAX_CONCURRENCY, 150
    run = bulk(workers, ["online"] * groups, quota=quota)
    assert run.states == Counter({WorkflowState.DELETED.value: groups})
    times = sorted(at for at, _ in run.arrivals)
    share = quota / (workers + 1)  # each invocation's budget, as the stack computes it
    burst = max(1.0, share)  # what each one's budget may save up (RequestBudget's default burst)
    for window_s in (1, 2, 5, 10):
        # The union of the worker invocations' token buckets: their rates, and each one's burst once.
        assert calls_within(times, window_s) <= workers * (share * window_s + burst) + 1e-9, window_s
    busy_s = times[-1] - times[0]
    assert busy_s > 10
    assert len(times) / busy_s <= quota  # on average within the budget, bursts included
    # The simulated API's quota is the budget itself: nothing was throttled. (With the whole budget for
    # each invocation, five of them would run into the quota.)
    assert run.throttled == 0


def test_an_overlapping_run_under_every_fault_still_ends_every_workflow_correctly() -> None:
    faults = every_fault(quota=10, event_delay_s=20)
    kinds = ["online", "offline", "online", "failing", "online", "flaky"] * 6
    one = bulk(1, kinds, quota=10, faults=faults, seed=5, resets_every=5)
    many = bulk(WORKER_MAX_CONCURRENCY, kinds, quota=10, faults=faults, seed=5, resets_every=5)
    for run in (one, many):
        assert run.orphans == 0 and run.dead_letters == 0
        assert sum(run.states.values()) == len(kinds)
        assert set(run.states) <= {"DELETED", "RESET", "FAILED"}, run.states
        assert sum(v for k, v in run.metrics.items() if k.startswith("Outcome")) == len(kinds)
    assert many.states == one.states  # the same outcomes, one at a time or overlapping
    deletions = [
        history for n, history in enumerate(many.histories.values()) if n % 5 and kinds[n] != "failing"
    ]
    assert all(history[-1][0] == StepKind.FINISHED.value for history in deletions)


def test_run_for_may_stop_in_the_middle_of_invocations_which_then_go_on_or_are_cancelled() -> None:
    threads_before = threading.active_count()
    faults = FaultProfile(latency_s=LATENCY_S)
    with LocalService(seed=3, faults=faults, worker_concurrency=3, log_level="ERROR") as svc:
        gids = [svc.fleet.add_group(core="online") for _ in range(40)]
        for gid in gids:
            svc.request_deletion(gid)
        assert not svc.run_for(0.12)  # three invocations under way, each in the middle of its batch
        assert threading.active_count() == threads_before + 3
        svc.run_until_idle()
        assert all(not svc.fleet.exists(gid) for gid in gids)
        assert svc.stats.worker_invocations > 3
        svc.request_deletion(svc.fleet.add_group(core="online"))
        assert not svc.run_for(0.06)  # left under way at the end of the `with`
    assert threading.active_count() == threads_before  # cancelled and joined


def test_a_handler_failing_in_an_overlapping_invocation_fails_the_run_as_it_does_one_at_a_time() -> None:
    threads_before = threading.active_count()
    with LocalService(seed=3, worker_concurrency=2) as svc:
        svc.request_deletion(svc.fleet.add_group(core="online"))

        def broken(event: Any, context: Any) -> Any:
            raise RuntimeError("handler bug")

        svc._worker = broken
        with pytest.raises(RuntimeError, match="handler bug"):
            svc.run_until_idle()
    assert threading.active_count() == threads_before


def test_the_default_is_one_invocation_at_a_time_and_the_stacks_default_is_available() -> None:
    context = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))["context"]
    assert context["gg-reset:workerMaxConcurrency"] == WORKER_MAX_CONCURRENCY
    assert LocalService().worker_concurrency == 1
    with pytest.raises(ValueError, match="at least 1"):
        LocalService(worker_concurrency=0)


LEAK_PROBE = """
import json, sys, threading, warnings
warnings.simplefilter("error")  # a Powertools "No application metrics" warning fails the probe
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile
from gg_reset.shell import wiring
stdout = sys.stdout
with LocalService(seed=1, worker_concurrency=3, greengrass_rps=4, faults=FaultProfile(latency_s=0.05)) as svc:
    gids = [svc.fleet.add_group(core="offline" if n % 3 == 0 else "online") for n in range(12)]
    for gid in gids:
        svc.request_deletion(gid)
    svc.run_until_idle()  # sweeps with nothing due alongside the workers: invocations with little to count
    stats = svc.stats
    home = wiring.service() is svc.service
print(json.dumps({
    "sweeps": stats.sweeps, "outcomes": dict(stats.outcomes), "same_stdout": sys.stdout is stdout,
    "home": home, "threads": threading.active_count(),
}))
"""


def test_overlapping_invocations_keep_their_state_to_themselves_and_leave_nothing_behind() -> None:
    done = subprocess.run(
        [sys.executable, "-c", LEAK_PROBE], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    probe = json.loads(done.stdout.strip().splitlines()[-1])
    assert probe["sweeps"] > 0
    assert probe["outcomes"] == {"DELETED": 12}  # each invocation's metrics counted once
    assert probe["same_stdout"] and probe["home"]  # stdout and the wiring are the runtime's again
    assert probe["threads"] == 1
