"""The baseline a user would pick instead of gg-reset: a plain 10-thread boto3 script.

For each group: `ResetDeployments(Force=False)`, poll `GetDeploymentStatus` every 10 s until `Success` or
`Failure` or 600 s, then (if it did not succeed) `ResetDeployments(Force=True)` and poll until `Success`,
then `DeleteGroup`. A 429 or 5xx is retried with exponential backoff (base 1 s, cap 20 s, full jitter),
like botocore's standard mode. A real boto3 client talks to the same Greengrass simulator, at the same
quota, as gg-reset in the same benchmark.

The ten threads run on the simulated clock: each is a generator that yields how long it sleeps, and a small
scheduler always resumes the thread that wakes first, moving the clock to its wake time. Call latency
overlaps between threads (each thread sleeps 50 ms after each call), as it would with real threads.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from botocore.exceptions import ClientError

from gg_reset.local.clock import SimulatedClock
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import GreengrassSimulator

Sleep = Generator[float, None, None]
RETRYABLE = {"TooManyRequestsException", "ThrottlingException", "InternalServerErrorException"}


@dataclass
class ScriptResult:
    completion_s: float
    calls: int
    deleted: int
    throttled: int


def run_script(
    kinds: list[str], *, quota: float, threads: int = 10, latency_s: float = 0.05, seed: int = 7
) -> ScriptResult:
    clock = SimulatedClock()
    sim = GreengrassSimulator(
        clock, lambda _: None, rng=random.Random(seed), faults=FaultProfile(requests_per_second=quota)
    )
    client = sim.client()
    groups = iter([sim.add_group(core=kind, deployed=True) for kind in kinds])
    jitter = random.Random(seed)
    started = clock.now()

    def call(operation: str, **params: Any) -> Iterator[float | dict[str, Any]]:
        """One API call with retries: yields sleeps, then the response."""
        attempt = 0
        while True:
            try:
                response = getattr(client, operation)(**params)
                yield latency_s
                yield response
                return
            except ClientError as error:
                yield latency_s
                if error.response["Error"]["Code"] not in RETRYABLE:
                    raise
                attempt += 1
                yield jitter.uniform(0, min(20.0, 2.0 ** (attempt - 1)))

    def wait_for(group_id: str, deployment_id: str, timeout_s: float) -> Iterator[float | str]:
        waited = 0.0
        while waited < timeout_s:
            for step in call("get_deployment_status", GroupId=group_id, DeploymentId=deployment_id):
                if isinstance(step, dict):
                    status = step["DeploymentStatus"]
                    if status in ("Success", "Failure"):
                        yield status
                        return
                else:
                    yield step
            yield 10.0
            waited += 10.0
        yield "Timeout"

    def clean(group_id: str) -> Iterator[float | str]:
        outcome = "Failure"
        for force in (False, True):
            deployment_id = ""
            try:
                for step in call("reset_deployments", GroupId=group_id, Force=force):
                    if isinstance(step, dict):
                        deployment_id = step["DeploymentId"]
                    else:
                        yield step
            except ClientError as error:
                if "has not been deployed or has already been reset" in error.response["Error"]["Message"]:
                    outcome = "Success"
                    break
                raise
            for step in wait_for(group_id, deployment_id, 600.0):
                if isinstance(step, str):
                    outcome = step
                else:
                    yield step
            if outcome == "Success":
                break
        for step in call("delete_group", GroupId=group_id):
            if not isinstance(step, dict):
                yield step
        yield "deleted"

    def worker() -> Sleep:
        for group_id in groups:
            for step in clean(group_id):
                if isinstance(step, float):
                    yield step

    # The scheduler: (wake time, thread number, generator), earliest first.
    ready: list[tuple[float, int, Sleep]] = [(0.0, n, worker()) for n in range(threads)]
    heapq.heapify(ready)
    while ready:
        at, n, thread = heapq.heappop(ready)
        clock.advance_to(started + timedelta(seconds=at))
        sim.run_due()
        try:
            slept = next(thread)
        except StopIteration:
            continue
        heapq.heappush(ready, (at + slept, n, thread))
    deleted = len(kinds) - len(sim.group_ids())
    return ScriptResult(
        completion_s=(clock.now() - started).total_seconds(),
        calls=sim.total_calls,
        deleted=deleted,
        throttled=sim.throttled_count,
    )
