"""A retried reset adopts the reset its lost attempt started, whether or not AWS replays client tokens.

The adapter against the simulator, through a real boto3 client, under both answers to the undocumented
question "does ResetDeployments replay a repeated AmznClientToken?"."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.contracts import DeploymentType
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.local.clock import SimulatedClock
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import ContestedBehaviour, GreengrassSimulator


@pytest.mark.parametrize("replay", [True, False], ids=["token-replayed", "token-ignored"])
@pytest.mark.parametrize("force", [False, True], ids=["normal", "forced"])
def test_a_retry_after_a_lost_response_adopts_the_reset_it_started(replay: bool, force: bool) -> None:
    clock = SimulatedClock()
    sim = GreengrassSimulator(
        clock,
        lambda _: None,
        rng=random.Random(1),
        contested=ContestedBehaviour(replay_client_tokens=replay),
    )
    gid = sim.add_group(core="offline")
    adapter = Boto3Greengrass(sim.client())
    sent_at = clock.now()
    sim.faults = FaultProfile(lost_response_rate=1.0)
    with pytest.raises(GreengrassError) as lost:
        adapter.reset_deployments(gid, force=force, client_token="wf-1-n0")
    assert lost.value.kind is ErrorKind.SERVER_ERROR
    sim.faults = FaultProfile()
    clock.advance(30)

    adopted = adapter.reset_deployments(
        gid, force=force, client_token="wf-1-n0", adopt_since=sent_at - timedelta(seconds=120)
    )

    kind = DeploymentType.FORCE_RESET if force else DeploymentType.RESET
    resets = [d for d in sim.deployments(gid) if d.deployment_type is kind]
    assert [d.deployment_id for d in resets] == [adopted]  # one reset, and it is the one adopted
    assert sim.calls["ResetDeployments"] == 1
    assert sim.calls["ListDeployments"] >= 1


def test_an_older_reset_is_not_adopted() -> None:
    clock = SimulatedClock()
    sim = GreengrassSimulator(clock, lambda _: None, rng=random.Random(2))
    gid = sim.add_group(core="offline")
    adapter = Boto3Greengrass(sim.client())
    earlier = adapter.reset_deployments(gid, force=True, client_token="someone-else")
    clock.advance(600)
    sim.deploy(gid)  # deployed again since (and stuck on the offline core): there is something to reset
    fresh = adapter.reset_deployments(
        gid, force=True, client_token="wf-2-f0", adopt_since=clock.now() - timedelta(seconds=120)
    )
    assert fresh != earlier
    assert sim.calls["ResetDeployments"] == 2
