"""The baseline a platform engineer would write by hand instead of deploying gg-reset: 10 boto3 threads.

Each thread takes the next group from a shared list and, for it: `ResetDeployments(Force=False)`, polls
`GetDeploymentStatus` every 10 s until `Success` or `Failure` or 600 s; if the reset did not succeed,
`ResetDeployments(Force=True)` and polls until `Success` (600 s at most); then `DeleteGroup`. A 429 or 5xx
is retried with exponential backoff as botocore's standard mode does it (a delay drawn uniformly from
[0, 2^(attempt-1)] s, capped at 20 s). Any other error gives the group up (counted in `failed`), as a
thread pool's `future.result()` wrapped in a try/except would. A real boto3 client from
`GreengrassSimulator.client()` talks to the simulator, with the same quota as gg-reset in the benchmark.

The threads run on the simulated clock: each is a cooperative task (a generator yielding how many seconds
it sleeps or waits) and a small discrete-event scheduler always resumes the task with the earliest wake
time, first moving the `SimulatedClock` there and running the simulator's due transitions. With real
threads the 50 ms call latency overlaps between threads, so the simulator gets no latency of its own and
each task sleeps 50 ms after each call instead.
"""

from __future__ import annotations

import heapq
import random
import time
from collections import Counter, deque
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError

from benchmarks.counts import CallCounts
from gg_reset.local.clock import SimulatedClock
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import GreengrassSimulator

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

Task = Generator[float, None, None]
"""A cooperative thread: yields the seconds it sleeps before it wants to run again."""
Step = Generator[float, None, Any]
"""Part of a task (`yield from` it): yields sleeps, returns a value."""

THREADS: Final = 10
LATENCY_S: Final = 0.05
POLL_EVERY_S: Final = 10.0
POLL_TIMEOUT_S: Final = 600.0
BACKOFF_BASE_S: Final = 1.0
BACKOFF_CAP_S: Final = 20.0
RETRYABLE_CODES: Final = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded"}
)


@dataclass(frozen=True, slots=True)
class ScriptResult(CallCounts):
    groups: int
    quota: float
    completion_s: float
    """Simulated seconds from the start until the last thread finished."""
    calls: Counter[str]
    """Greengrass requests by operation, as the simulator counted them (throttled ones included)."""
    throttled: int
    deleted: int
    failed: int
    """Groups the script gave up on (an error it does not retry, or a forced reset that never succeeded)."""
    orphaned_cores: int
    wall_s: float

    @property
    def last_terminal_s(self) -> float:
        """The script's last group is done when its last thread is."""
        return self.completion_s

    @property
    def correct(self) -> bool:
        return self.deleted == self.groups and self.orphaned_cores == 0


def _retryable(error: ClientError) -> bool:
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    return status == 429 or status >= 500 or error.response.get("Error", {}).get("Code") in RETRYABLE_CODES


class _Script:
    """The hand-written script's logic, as generators (what each thread would run between sleeps)."""

    def __init__(
        self, client: GreengrassClient, clock: SimulatedClock, jitter: random.Random, latency_s: float
    ) -> None:
        self.client = client
        self.clock = clock
        self.jitter = jitter
        self.latency_s = latency_s
        self.failed = 0

    def call(self, operation: str, **params: Any) -> Step:
        """One API call with the script's retries; returns the response."""
        attempt = 0
        while True:
            try:
                response = getattr(self.client, operation)(**params)
            except ClientError as error:
                yield self.latency_s
                if not _retryable(error):
                    raise
                attempt += 1
                yield min(self.jitter.random() * BACKOFF_BASE_S * 2 ** (attempt - 1), BACKOFF_CAP_S)
                continue
            yield self.latency_s
            return response

    def wait_for(self, group_id: str, deployment_id: str) -> Step:
        """Poll every 10 s until Success or Failure, at most 600 s; returns the last status seen."""
        deadline = self.clock.now() + timedelta(seconds=POLL_TIMEOUT_S)
        while True:
            response = yield from self.call(
                "get_deployment_status", GroupId=group_id, DeploymentId=deployment_id
            )
            status = str(response["DeploymentStatus"])
            if status in ("Success", "Failure") or self.clock.now() >= deadline:
                return status
            yield POLL_EVERY_S

    def clean(self, group_id: str) -> Task:
        reset = yield from self.call("reset_deployments", GroupId=group_id, Force=False)
        status = yield from self.wait_for(group_id, reset["DeploymentId"])
        if status != "Success":
            forced = yield from self.call("reset_deployments", GroupId=group_id, Force=True)
            status = yield from self.wait_for(group_id, forced["DeploymentId"])
            if status != "Success":
                self.failed += 1
                return
        yield from self.call("delete_group", GroupId=group_id)

    def thread(self, queue: deque[str]) -> Task:
        while queue:
            group_id = queue.popleft()
            try:
                yield from self.clean(group_id)
            except ClientError:
                self.failed += 1


def run_script(
    kinds: Sequence[str],
    *,
    quota: float,
    threads: int = THREADS,
    latency_s: float = LATENCY_S,
    seed: int = 7,
) -> ScriptResult:
    """Clean a fleet of `kinds` (core kinds, in order) with the script on the simulated clock."""
    started_wall = time.perf_counter()
    clock = SimulatedClock()
    simulator = GreengrassSimulator(
        clock,
        lambda _entries: None,  # the script reads no events
        rng=random.Random(seed),
        faults=FaultProfile(requests_per_second=quota, latency_s=0.0),
    )
    queue = deque(simulator.add_group(core=kind, deployed=True) for kind in kinds)
    script = _Script(simulator.client(), clock, random.Random(seed), latency_s)
    start = clock.now()

    # The scheduler: (wake time in seconds from the start, thread number, task); earliest wake first.
    ready: list[tuple[float, int, Task]] = [(0.0, n, script.thread(queue)) for n in range(threads)]
    heapq.heapify(ready)
    finished_at = 0.0
    while ready:
        at, n, task = heapq.heappop(ready)
        clock.advance_to(start + timedelta(seconds=at))
        simulator.run_due()
        try:
            slept = next(task)
        except StopIteration:
            finished_at = max(finished_at, at)
            continue
        heapq.heappush(ready, (at + slept, n, task))

    return ScriptResult(
        groups=len(kinds),
        quota=quota,
        completion_s=finished_at,
        calls=Counter(simulator.calls),
        throttled=simulator.throttled_count,
        deleted=len(kinds) - len(simulator.group_ids()),
        failed=script.failed,
        orphaned_cores=len(simulator.orphaned_cores),
        wall_s=time.perf_counter() - started_wall,
    )
