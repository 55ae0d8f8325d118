"""Local stand-ins for the AWS side of gg-reset: a simulated clock and a Greengrass V1 simulator.

moto does not emulate enough of Greengrass V1 (no `Force`, no status transitions, no events, no
paging, no tags), so the local runtime, the demo, the soak tests and the benchmarks run against the
simulator in `gg_reset.local.greengrass_sim`, driven by `gg_reset.local.clock.SimulatedClock`.

This package is kept import-light on purpose: production Lambda code never imports it, and importing
it must not pull in moto or start anything.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gg_reset.local.runtime import LocalService

__all__ = ["LocalService"]


def __getattr__(name: str) -> Any:
    # Lazy, so that importing a submodule (the clock, the simulator) does not start moto.
    if name == "LocalService":
        from gg_reset.local.runtime import LocalService

        return LocalService
    raise AttributeError(name)
