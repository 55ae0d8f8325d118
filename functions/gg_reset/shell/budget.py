"""The Greengrass request budget: client-side pacing so a bulk cleanup runs *at* the API quota.

Every invocation that calls Greengrass (worker or sweeper) holds one `RequestBudget` with its share of
the deployment's budget (`gg-reset:greengrassRequestsPerSecond` divided by the invocations that may run
at once). Before each call the shell reserves a slot and sleeps until it comes; a 429 lowers the rate
for a while (multiplicatively, like botocore's adaptive mode) and the call is made again within the
same invocation, instead of handing the message back to SQS for a visibility timeout.

Why not botocore's adaptive retry mode: it has no configurable ceiling (it only starts limiting after
the first throttle, at a rate it measured), so N workers each send as fast as they can until the quota
bites; and its token bucket waits on a `threading.Condition` in wall time, so it cannot run on the
simulated clock the local runtime, the tests and the benchmarks use. This bucket reads and sleeps on the
service's `Clock` port, and is a few lines of arithmetic.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from gg_reset.ports import Clock, Pace

BACKOFF_FACTOR: Final = 0.7
"""A 429 multiplies the rate by this (botocore's CUBIC uses the same beta)."""
MIN_FRACTION: Final = 0.1
"""The rate never drops below this fraction of the budget."""
RECOVERY_PER_SUCCESS: Final = 0.02
"""Each successful call gives back this fraction of the budget, up to the budget."""


def pacing(budget: RequestBudget, clock: Clock) -> Pace:
    """A `Pace` that waits for `budget`'s next slot (for an API outside the Greengrass budget)."""

    def pace() -> None:
        clock.sleep(budget.reserve())

    return pace


class RequestBudget:
    """A token bucket on a `Clock`: at most `rate` calls per second, bursts of at most `burst`.

    Reservations may run the bucket negative: the caller that took the slot waits for it, the next caller
    queues behind it. Single-threaded per instance, as a Lambda invocation is.
    """

    def __init__(self, rate: float, clock: Clock, *, burst: float | None = None) -> None:
        if rate <= 0:
            raise ValueError(f"a request budget must be positive, got {rate}")
        self.max_rate = rate
        self.rate = rate
        self.capacity = max(1.0, burst if burst is not None else rate)
        self._clock = clock
        self._tokens = self.capacity
        self._last: datetime = clock.now()
        self.throttles = 0
        """429s seen by this budget (for logs and tests)."""

    def _refill(self) -> None:
        now = self._clock.now()
        elapsed = (now - self._last).total_seconds()
        if elapsed > 0:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._last = now

    def reserve(self) -> float:
        """Take the next slot; returns how many seconds to wait before using it (0: right away)."""
        self._refill()
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def release(self) -> None:
        """Give back a slot reserved but not used (the call was deferred to a later invocation)."""
        self._tokens = min(self.capacity, self._tokens + 1.0)

    def on_success(self) -> None:
        self.rate = min(self.max_rate, self.rate + self.max_rate * RECOVERY_PER_SUCCESS)

    def on_throttled(self) -> None:
        """Greengrass said 429: someone else uses the quota too, or the budget is set above it."""
        self._refill()
        self.throttles += 1
        self.rate = max(self.max_rate * MIN_FRACTION, self.rate * BACKOFF_FACTOR)
        # Whatever burst was saved up is what just overran the quota.
        self._tokens = min(self._tokens, 0.0)
