"""A clock that only moves when told to, so simulated hours pass in milliseconds and runs repeat exactly.

Everything time-dependent in a local run (deployment status transitions, rate-limit refills, the
sweeper's "overdue" checks, ledger timestamps) reads one `SimulatedClock`. The runtime jumps it to the
next interesting instant instead of sleeping, which is what lets a demo cover a 15-minute slow core
in well under a second and lets two runs with the same seed produce the same ledger.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

DEFAULT_EPOCH: Final = datetime(2026, 1, 1, tzinfo=UTC)
"""Where a simulated clock starts unless told otherwise: fixed, so timestamps are reproducible."""


class SimulatedClock:
    """A manually advanced, timezone-aware UTC clock (satisfies `gg_reset.ports.Clock`).

    Time never goes backwards: `advance` refuses negative steps and `advance_to` refuses the past,
    because a scheduler that saw time reverse could apply a transition twice or skip one.
    """

    __slots__ = ("_now",)

    def __init__(self, start: datetime = DEFAULT_EPOCH) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("SimulatedClock needs a timezone-aware start time")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, seconds: float) -> datetime:
        """Move the clock forward by `seconds` (>= 0) and return the new time."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards (advance by {seconds} s)")
        self._now += timedelta(seconds=seconds)
        return self._now

    def sleep(self, seconds: float) -> None:
        """What a sleeping caller sees: simulated time passes (satisfies `gg_reset.ports.Clock`)."""
        if seconds > 0:
            self.advance(seconds)

    def advance_to(self, when: datetime) -> datetime:
        """Move the clock forward to `when`; a time already passed is a no-op, not an error.

        Jumping "to the next due transition" may race with another component having moved the clock
        further already; treating that as a no-op keeps such callers simple.
        """
        if when.tzinfo is None or when.utcoffset() is None:
            raise ValueError("advance_to needs a timezone-aware time")
        when = when.astimezone(UTC)
        if when > self._now:
            self._now = when
        return self._now

    def __repr__(self) -> str:
        return f"SimulatedClock({self._now.isoformat()})"
