"""The simulator's contested decisions: each switch of `ContestedBehaviour`, under every other setting.

Where AWS documents nothing, the simulator does not pick one answer for good (see `ContestedBehaviour` and
docs/greengrass-v1.md, "The simulator's decisions"). Each test here covers one switch and runs under all
16 combinations, so it also proves that the answer depends on that switch alone. Everything goes through a
real boto3 client, as in `test_simulator_conformance.py`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import fields
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.local.clock import SimulatedClock
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import ContestedBehaviour, GreengrassSimulator

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

REGION = "us-east-1"
EVERY_SETTING = ContestedBehaviour.combinations()


def every_setting() -> Any:
    return pytest.mark.parametrize("contested", EVERY_SETTING, ids=lambda c: c.label)


MakeSim = Callable[..., GreengrassSimulator]


@pytest.fixture
def make_sim() -> MakeSim:
    def make(**kwargs: Any) -> GreengrassSimulator:
        kwargs.setdefault("rng", random.Random(42))
        return GreengrassSimulator(SimulatedClock(), lambda _: None, region=REGION, **kwargs)

    return make


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called during a simulator test")

    monkeypatch.setattr(time, "sleep", refuse)


def error_of(error: ClientError) -> tuple[int, str, str]:
    response = error.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def in_progress(group_id: str, deployment_id: str, status: str) -> tuple[int, str, str]:
    return (
        400,
        "BadRequestException",
        f"Deployment {deployment_id} of group {group_id} is {status}; "
        "a reset cannot start while a deployment is in progress.",
    )


def not_deployed(contested: ContestedBehaviour, group_id: str) -> tuple[int, str, str]:
    return (
        contested.not_deployed_status,
        contested.not_deployed_code,
        f"Group id: {group_id} has not been deployed or has already been reset.",
    )


# --- the switches themselves ------------------------------------------------------------------------------


def test_combinations_list_every_setting_once_with_the_default_first() -> None:
    assert len(EVERY_SETTING) == len(set(EVERY_SETTING)) == 2 ** len(fields(ContestedBehaviour))
    assert EVERY_SETTING[0] == ContestedBehaviour()
    assert len({c.label for c in EVERY_SETTING}) == len(EVERY_SETTING)
    assert ContestedBehaviour().label == "default"


def test_one_at_a_time_is_the_default_then_each_switch_flipped_alone() -> None:
    default = ContestedBehaviour()
    settings = ContestedBehaviour.one_at_a_time()

    assert settings[0] == default
    assert len(settings) == 1 + len(fields(ContestedBehaviour))
    for setting, spec in zip(settings[1:], fields(ContestedBehaviour), strict=True):
        changed = [
            f.name for f in fields(ContestedBehaviour) if getattr(setting, f.name) != getattr(default, f.name)
        ]
        assert changed == [spec.name]


def test_the_defaults_are_the_simulators_long_standing_answers(make_sim: MakeSim) -> None:
    assert make_sim().contested == ContestedBehaviour(
        force_over_in_progress=True,
        refuse_deleting_deployed_groups=False,
        replay_client_tokens=True,
        not_deployed_status=400,
    )
    assert ContestedBehaviour().not_deployed_code == "BadRequestException"
    assert ContestedBehaviour(not_deployed_status=404).not_deployed_code == "ResourceNotFoundException"


def test_not_deployed_status_is_400_or_404() -> None:
    with pytest.raises(ValueError, match="400 or 404"):
        ContestedBehaviour(not_deployed_status=409)  # type: ignore[arg-type]


def test_the_older_refuse_deleting_keyword_overrides_that_one_switch(make_sim: MakeSim) -> None:
    assert make_sim(refuse_deleting_deployed_groups=True).contested == ContestedBehaviour(
        refuse_deleting_deployed_groups=True
    )
    contested = ContestedBehaviour(refuse_deleting_deployed_groups=True, replay_client_tokens=False)
    sim = make_sim(contested=contested, refuse_deleting_deployed_groups=False)
    assert sim.contested == ContestedBehaviour(replay_client_tokens=False)


# --- force_over_in_progress ---------------------------------------------------------------------------------


@every_setting()
@pytest.mark.parametrize("stuck_status", ["Building", "InProgress"])
def test_a_forced_reset_while_a_deployment_is_in_flight_follows_force_over_in_progress(
    make_sim: MakeSim, contested: ContestedBehaviour, stuck_status: str
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group(core="offline")
    stuck_id = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
    if stuck_status == "InProgress":
        sim.advance(600)

    if contested.force_over_in_progress:
        forced_id = gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]
        stuck = sim.deployment(stuck_id)
        assert stuck.status is DeploymentStatus.FAILURE
        assert stuck.error_message is not None
        assert stuck.error_message.endswith(f"superseded by forced reset {forced_id}.")
        sim.run_until_idle()
        assert sim.deployment(forced_id).status is DeploymentStatus.SUCCESS
    else:
        with pytest.raises(ClientError) as excinfo:
            gg.reset_deployments(GroupId=group_id, Force=True)
        assert error_of(excinfo.value) == in_progress(group_id, stuck_id, stuck_status)
        assert sim.deployment(stuck_id).status.value == stuck_status  # untouched
        assert sim.reset_count(group_id) == 1


def test_without_force_over_in_progress_a_reset_stuck_on_a_dead_core_can_never_be_forced(
    make_sim: MakeSim,
) -> None:
    """The price of that setting, which callers must survive: only the core coming back ends it."""
    sim = make_sim(contested=ContestedBehaviour(force_over_in_progress=False))
    gg = sim.client()
    group_id = sim.add_group(core="offline")
    stuck_id = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
    for _ in range(3):
        sim.advance(30 * 24 * 3600)
        with pytest.raises(gg.exceptions.BadRequestException, match="cannot start"):
            gg.reset_deployments(GroupId=group_id, Force=True)
    sim.set_core(group_id, "online")
    sim.run_until_idle()
    assert sim.deployment(stuck_id).status is DeploymentStatus.SUCCESS


@every_setting()
def test_a_forced_reset_after_a_failed_reset_is_accepted_under_every_setting(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group(core="failing")
    gg.reset_deployments(GroupId=group_id)
    sim.run_until_idle()
    forced_id = gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]
    sim.run_until_idle()
    assert sim.deployment(forced_id).status is DeploymentStatus.SUCCESS


# --- refuse_deleting_deployed_groups ------------------------------------------------------------------------


@every_setting()
def test_delete_group_of_a_deployed_group_follows_refuse_deleting_deployed_groups(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group()

    if contested.refuse_deleting_deployed_groups:
        with pytest.raises(ClientError) as excinfo:
            gg.delete_group(GroupId=group_id)
        assert error_of(excinfo.value) == (
            400,
            "BadRequestException",
            f"Group id: {group_id} is deployed; reset its deployments before deleting it.",
        )
        assert sim.group_exists(group_id)
        assert sim.orphaned_cores == []
    else:
        gg.delete_group(GroupId=group_id)
        assert not sim.group_exists(group_id)
        assert [o.group_id for o in sim.orphaned_cores] == [group_id]


@every_setting()
def test_delete_group_after_a_successful_reset_or_of_a_never_deployed_group_always_works(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    reset_group, never_deployed = sim.add_group(core="offline"), sim.add_group(deployed=False)
    gg.reset_deployments(GroupId=reset_group, Force=True)
    sim.run_until_idle()

    gg.delete_group(GroupId=reset_group)
    gg.delete_group(GroupId=never_deployed)

    assert sim.group_ids() == []
    assert sim.orphaned_cores == []


@pytest.mark.parametrize("refuse", [False, True])
def test_delete_group_with_a_reset_still_in_flight_counts_as_deployed(
    make_sim: MakeSim, refuse: bool
) -> None:
    sim = make_sim(contested=ContestedBehaviour(refuse_deleting_deployed_groups=refuse))
    gg = sim.client()
    group_id = sim.add_group(core="offline")
    gg.reset_deployments(GroupId=group_id)

    if refuse:
        with pytest.raises(gg.exceptions.BadRequestException, match="before deleting"):
            gg.delete_group(GroupId=group_id)
    else:
        gg.delete_group(GroupId=group_id)
        assert [o.deployment_type for o in sim.orphaned_cores] == [DeploymentType.RESET]


# --- replay_client_tokens -----------------------------------------------------------------------------------


def _lose_the_response(sim: GreengrassSimulator, gg: GreengrassClient, **params: Any) -> None:
    """Make one call whose effect happens but whose answer is a 500, as a dropped connection would."""
    sim.faults = FaultProfile(lost_response_rate=1.0)
    with pytest.raises(ClientError, match="InternalServerErrorException"):
        gg.reset_deployments(**params)
    sim.faults = FaultProfile()


@every_setting()
def test_a_retried_normal_reset_after_a_lost_response_follows_replay_client_tokens(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group(core="offline")
    _lose_the_response(sim, gg, GroupId=group_id, AmznClientToken="req-1")
    [first] = [d for d in sim.deployments(group_id) if d.deployment_type is DeploymentType.RESET]
    sim.advance(60)

    if contested.replay_client_tokens:
        retried = gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
        assert retried["DeploymentId"] == first.deployment_id
    else:
        with pytest.raises(ClientError) as excinfo:
            gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
        assert error_of(excinfo.value) == in_progress(group_id, first.deployment_id, "InProgress")
    assert sim.reset_count(group_id) == 1
    assert first.client_token == "req-1"


@every_setting()
def test_a_retried_forced_reset_after_a_lost_response_follows_replay_client_tokens(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    """Without replay, the retry is a new forced reset: it supersedes the first one if AWS lets Force run
    over an in-flight deployment, and is refused otherwise; either way the group ends reset."""
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group(core="offline")
    _lose_the_response(sim, gg, GroupId=group_id, Force=True, AmznClientToken="force-1")
    [first] = [d for d in sim.deployments(group_id) if d.deployment_type is DeploymentType.FORCE_RESET]

    if contested.replay_client_tokens:
        assert gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="force-1")[
            "DeploymentId"
        ] == (first.deployment_id)
        assert sim.reset_count(group_id) == 1
    elif contested.force_over_in_progress:
        second = gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="force-1")["DeploymentId"]
        assert second != first.deployment_id
        assert sim.deployment(first.deployment_id).status is DeploymentStatus.FAILURE
        assert sim.reset_count(group_id) == 2
    else:
        with pytest.raises(ClientError) as excinfo:
            gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="force-1")
        assert error_of(excinfo.value) == in_progress(group_id, first.deployment_id, "Building")
    sim.run_until_idle()
    assert sim.deployments(group_id)[-1].status is DeploymentStatus.SUCCESS


@every_setting()
def test_a_retry_after_the_first_reset_succeeded_follows_replay_client_tokens(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group(core="online")
    first = gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")["DeploymentId"]
    sim.run_until_idle()

    if contested.replay_client_tokens:
        assert gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")["DeploymentId"] == first
    else:
        with pytest.raises(ClientError) as excinfo:
            gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
        assert error_of(excinfo.value) == not_deployed(contested, group_id)
    assert sim.reset_count(group_id) == 1


@every_setting()
def test_a_token_reused_with_other_parameters_follows_replay_client_tokens(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group(core="failing")
    gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
    sim.run_until_idle()  # the normal reset failed: the group can be reset again

    if contested.replay_client_tokens:
        with pytest.raises(gg.exceptions.BadRequestException, match="already used with different parameters"):
            gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="req-1")
        assert sim.reset_count(group_id) == 1
    else:
        gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="req-1")
        assert sim.reset_count(group_id) == 2


@every_setting()
def test_create_deployment_replays_its_token_under_every_setting(
    make_sim: MakeSim, contested: ContestedBehaviour
) -> None:
    """Only ResetDeployments is contested: CreateDeployment is documented idempotent on its token."""
    sim = make_sim(contested=contested)
    gg = sim.client()
    group_id = sim.add_group()
    version = gg.get_group(GroupId=group_id)["LatestVersion"]
    kwargs: dict[str, Any] = {
        "GroupId": group_id,
        "DeploymentType": "NewDeployment",
        "GroupVersionId": version,
        "AmznClientToken": "deploy-1",
    }
    assert gg.create_deployment(**kwargs)["DeploymentId"] == gg.create_deployment(**kwargs)["DeploymentId"]


# --- not_deployed_status ------------------------------------------------------------------------------------


@every_setting()
@pytest.mark.parametrize("force", [False, True])
def test_nothing_to_reset_answers_with_not_deployed_status_and_the_same_message(
    make_sim: MakeSim, contested: ContestedBehaviour, force: bool
) -> None:
    sim = make_sim(contested=contested)
    gg = sim.client()
    never_deployed, reset_group = sim.add_group(deployed=False), sim.add_group()
    gg.reset_deployments(GroupId=reset_group, Force=True)
    sim.run_until_idle()

    for group_id in (never_deployed, reset_group):
        with pytest.raises(ClientError) as excinfo:
            gg.reset_deployments(GroupId=group_id, Force=force)
        assert error_of(excinfo.value) == not_deployed(contested, group_id)


@pytest.mark.parametrize("status", [400, 404])
def test_gg_resets_adapter_reads_either_not_deployed_answer_as_nothing_to_reset(
    make_sim: MakeSim, status: Any
) -> None:
    sim = make_sim(contested=ContestedBehaviour(not_deployed_status=status))
    adapter = Boto3Greengrass(sim.client())
    group_id = sim.add_group(deployed=False)

    with pytest.raises(GreengrassError) as caught:
        adapter.reset_deployments(group_id, force=False, client_token="t")

    assert caught.value.kind is ErrorKind.NOT_DEPLOYED
    assert caught.value.code == ContestedBehaviour(not_deployed_status=status).not_deployed_code


def test_not_deployed_status_404_answers_exactly_like_moto(make_sim: MakeSim) -> None:
    sim = make_sim(contested=ContestedBehaviour(not_deployed_status=404))
    group_id = sim.add_group(deployed=False)
    with pytest.raises(ClientError) as simulated:
        sim.client().reset_deployments(GroupId=group_id)

    with mock_aws():
        moto_gg = boto3.client("greengrass", region_name=REGION)
        moto_group = moto_gg.create_group(Name="fresh")["Id"]
        with pytest.raises(ClientError) as moto:
            moto_gg.reset_deployments(GroupId=moto_group)

    assert error_of(moto.value) == (
        404,
        "ResourceNotFoundException",
        f"Group id: {moto_group} has not been deployed or has already been reset.",
    )
    moto_status, moto_code, _ = error_of(moto.value)
    assert error_of(simulated.value) == (
        moto_status,
        moto_code,
        f"Group id: {group_id} has not been deployed or has already been reset.",
    )
