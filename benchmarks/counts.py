"""What every benchmark result reports about its Greengrass calls."""

from __future__ import annotations

from collections import Counter


class CallCounts:
    """Mixed into the result dataclasses, which define `calls` and `groups` as fields."""

    calls: Counter[str]
    """Greengrass calls by operation."""
    groups: int
    """Requests of the run (one per group)."""

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def calls_per_request(self) -> float:
        return self.total_calls / self.groups
