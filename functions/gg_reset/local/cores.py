"""Simulated Greengrass cores: whether, when and how a group's core answers a deployment.

In Greengrass V1 the cloud only moves a deployment from `InProgress` to `Success` or `Failure` once the
group's core has picked it up and reported back. Everything interesting about resetting a fleet comes
from cores that do not cooperate: switched off, lost or reimaged (never answer), broken (always fail),
unreliable (sometimes fail) or on a slow link (answer after many minutes). A `CoreProfile` describes
one such core; the simulator asks it what happens to each deployment that needs the core.

A `ForceResetDeployment` never needs the core ("best-effort only core reset"), so profiles do not
apply to it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum


class CoreBehaviour(StrEnum):
    ONLINE = "online"
    """Answers every deployment after `response_delay_s`, successfully."""
    OFFLINE = "offline"
    """Never answers: deployments that need the core stay `InProgress` forever."""
    FAILING = "failing"
    """Answers every deployment after `response_delay_s`, with a failure."""
    FLAKY = "flaky"
    """Answers after `response_delay_s`; fails a `failure_rate` fraction (drawn from the seeded rng)."""
    SLOW = "slow"
    """Like ONLINE but on a slow link: answers after a long delay (15 simulated minutes by default)."""


DEFAULT_RESPONSE_DELAY_S = 5.0
SLOW_RESPONSE_DELAY_S = 15 * 60.0
DEFAULT_FLAKY_FAILURE_RATE = 0.3


@dataclass(frozen=True, slots=True)
class CoreOutcome:
    """What a core does with one deployment: answer after `delay_s` seconds, or never (`None`)."""

    delay_s: float | None
    succeeds: bool


@dataclass(frozen=True, slots=True)
class CoreProfile:
    """How the simulated core of one group behaves. Build one with the named constructors."""

    behaviour: CoreBehaviour = CoreBehaviour.ONLINE
    response_delay_s: float = DEFAULT_RESPONSE_DELAY_S
    """Seconds between a deployment reaching `InProgress` and the core's answer."""
    failure_rate: float = 0.0
    """Only for FLAKY: the fraction of deployments that fail."""

    def __post_init__(self) -> None:
        if self.response_delay_s < 0:
            raise ValueError("response_delay_s must not be negative")
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ValueError("failure_rate must be within [0, 1]")

    @classmethod
    def online(cls, delay_s: float = DEFAULT_RESPONSE_DELAY_S) -> CoreProfile:
        return cls(CoreBehaviour.ONLINE, delay_s)

    @classmethod
    def offline(cls) -> CoreProfile:
        return cls(CoreBehaviour.OFFLINE)

    @classmethod
    def failing(cls, delay_s: float = DEFAULT_RESPONSE_DELAY_S) -> CoreProfile:
        return cls(CoreBehaviour.FAILING, delay_s)

    @classmethod
    def flaky(
        cls, failure_rate: float = DEFAULT_FLAKY_FAILURE_RATE, delay_s: float = DEFAULT_RESPONSE_DELAY_S
    ) -> CoreProfile:
        return cls(CoreBehaviour.FLAKY, delay_s, failure_rate)

    @classmethod
    def slow(cls, delay_s: float = SLOW_RESPONSE_DELAY_S) -> CoreProfile:
        return cls(CoreBehaviour.SLOW, delay_s)

    @classmethod
    def of(cls, value: str | CoreBehaviour | CoreProfile) -> CoreProfile:
        """A profile from a name (`"online"`, `"offline"`, `"failing"`, `"flaky"`, `"slow"`) or as is."""
        if isinstance(value, CoreProfile):
            return value
        try:
            behaviour = CoreBehaviour(value.lower() if isinstance(value, str) else value)
        except ValueError:
            known = ", ".join(b.value for b in CoreBehaviour)
            raise ValueError(f"unknown core behaviour {value!r}; expected one of {known}") from None
        return {
            CoreBehaviour.ONLINE: cls.online,
            CoreBehaviour.OFFLINE: cls.offline,
            CoreBehaviour.FAILING: cls.failing,
            CoreBehaviour.FLAKY: cls.flaky,
            CoreBehaviour.SLOW: cls.slow,
        }[behaviour]()

    def outcome(self, rng: random.Random) -> CoreOutcome:
        """Decide what this core does with the next deployment that needs it.

        The rng is drawn only for FLAKY cores, so adding a flaky group to a fleet does not change what
        happens to the others beyond the draws that group itself makes.
        """
        if self.behaviour is CoreBehaviour.OFFLINE:
            return CoreOutcome(delay_s=None, succeeds=False)
        if self.behaviour is CoreBehaviour.FAILING:
            return CoreOutcome(self.response_delay_s, succeeds=False)
        if self.behaviour is CoreBehaviour.FLAKY:
            return CoreOutcome(self.response_delay_s, succeeds=rng.random() >= self.failure_rate)
        return CoreOutcome(self.response_delay_s, succeeds=True)
