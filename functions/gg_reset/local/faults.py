"""Fault injection for the Greengrass simulator: the failures a real AWS API shows under load.

The V1 API reference models no throttling error, but like every AWS API it answers too many requests
with a 429 and sometimes fails with a 5xx, and EventBridge delivers events at least once, possibly
duplicated, late or out of order. gg-reset has to be correct under all of that, so the simulator can
produce each of them on demand, deterministically: every random choice comes from the simulator's
seeded `random.Random`, and every time-based one from the simulated clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class FaultProfile:
    """Which faults to inject, and how often. The default injects none.

    Attributes:
        requests_per_second: API quota, refilled continuously on the *simulated* clock. `None` means
            unlimited. A request finding the bucket empty gets 429 `TooManyRequestsException`
            ("Rate exceeded") and has no effect.
        burst: bucket capacity (how many requests may arrive at one instant). Defaults to the quota
            rounded up, at least 1.
        server_error_rate: fraction of requests answered 500 `InternalServerErrorException` *before*
            they take effect.
        lost_response_rate: fraction of requests that *do* take effect but whose answer is lost and
            replaced by a 500, the case that makes client tokens necessary: a retry without the
            same token would start a second reset.
        latency_s: simulated seconds each request takes; the simulator advances the clock by this
            much before handling it, so a chatty caller sees time (and deployments) move.
        drop_event_rate: fraction of status-change events never delivered.
        duplicate_event_rate: fraction of status-change events delivered twice.
        event_delay_s: each delivered event (and each duplicate) is held back by a uniform random
            delay in [0, event_delay_s] simulated seconds, so events can arrive late and out of order.
    """

    requests_per_second: float | None = None
    burst: int | None = None
    server_error_rate: float = 0.0
    lost_response_rate: float = 0.0
    latency_s: float = 0.0
    drop_event_rate: float = 0.0
    duplicate_event_rate: float = 0.0
    event_delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.requests_per_second is not None and self.requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive (or None for unlimited)")
        if self.burst is not None and self.burst < 1:
            raise ValueError("burst must be at least 1")
        for name in ("server_error_rate", "lost_response_rate", "drop_event_rate", "duplicate_event_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {value}")
        if self.server_error_rate + self.lost_response_rate > 1.0:
            raise ValueError("server_error_rate + lost_response_rate must not exceed 1")
        if self.latency_s < 0 or self.event_delay_s < 0:
            raise ValueError("latency_s and event_delay_s must not be negative")

    @property
    def bucket_capacity(self) -> int | None:
        """The token bucket's size, or `None` when requests are not rate limited."""
        if self.requests_per_second is None:
            return None
        if self.burst is not None:
            return self.burst
        return max(1, math.ceil(self.requests_per_second))


class TokenBucket:
    """A token bucket refilled from timestamps it is given, never from the wall clock.

    It starts full. Each request takes one token; tokens come back at `rate` per second up to
    `capacity`. Time going backwards (it cannot with `SimulatedClock`) is ignored rather than
    refunded, so the bucket can never hand out more than the quota allows.
    """

    __slots__ = ("_last", "_tokens", "capacity", "rate")

    def __init__(self, rate: float, capacity: int, now: datetime) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = float(capacity)
        self._last = now

    def try_take(self, now: datetime) -> bool:
        """Take one token if there is one at `now`; `False` means the request is throttled."""
        elapsed = (now - self._last).total_seconds()
        if elapsed > 0:
            self._tokens = min(float(self.capacity), self._tokens + elapsed * self.rate)
            self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    @property
    def tokens(self) -> float:
        """Tokens left at the last refill (for tests and diagnostics)."""
        return self._tokens
