"""Fixtures shared by the simulator's tests: a simulated clock, the events the simulator publishes, a
simulator, and a real boto3 client on it. (`test_simulator_contested.py` makes its own simulators.)"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from gg_reset.local.clock import SimulatedClock
from gg_reset.local.greengrass_sim import GreengrassSimulator
from gg_reset.local.runtime import ACCOUNT, REGION

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

MakeSim = Callable[..., GreengrassSimulator]


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def published() -> list[dict[str, Any]]:
    """What the simulator handed to `publish`, entry by entry."""
    return []


@pytest.fixture
def make_sim(clock: SimulatedClock, published: list[dict[str, Any]]) -> MakeSim:
    def make(**kwargs: Any) -> GreengrassSimulator:
        kwargs.setdefault("rng", random.Random(42))
        return GreengrassSimulator(clock, published.extend, account=ACCOUNT, region=REGION, **kwargs)

    return make


@pytest.fixture
def sim(make_sim: MakeSim) -> GreengrassSimulator:
    return make_sim()


@pytest.fixture
def gg(sim: GreengrassSimulator) -> GreengrassClient:
    return sim.client()
