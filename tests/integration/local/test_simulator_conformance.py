"""The Greengrass V1 simulator conforms to the documented API behaviour gg-reset depends on.

Each test is named after the fact it checks and talks to the simulator through a real boto3 client, so
serialisation, the `$reset` path, client-token headers, string `MaxResults` and error parsing are the
SDK's own. Several run inside `moto.mock_aws()`, as the local runtime does, to prove moto does not
intercept the simulator's traffic and that status events flow through moto's EventBridge.

Facts (docs/greengrass-v1.md, with their sources) and simulator decisions (module docstring of
`gg_reset.local.greengrass_sim`, and docs/greengrass-v1.md, "The simulator's decisions") are checked in that
order, then fault injection and determinism. The contested decisions are checked here at their defaults and
under every setting in `test_simulator_contested.py`.
"""

from __future__ import annotations

import contextlib
import json
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from gg_reset.contracts import (
    DeploymentStatus,
    DeploymentStatusEvent,
    DeploymentType,
    deployment_status_pattern,
)
from gg_reset.local.clock import DEFAULT_EPOCH, SimulatedClock
from gg_reset.local.cores import CoreProfile
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import (
    DEFAULT_PAGE_SIZE,
    GreengrassSimulator,
    Timings,
    eventbridge_publisher,
)

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

ACCOUNT = "123456789012"
REGION = "us-east-1"

MakeSim = Callable[..., GreengrassSimulator]


# --- fixtures ---------------------------------------------------------------------------------------


def error_of(error: ClientError) -> tuple[int, str, str]:
    response = error.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def statuses(sim: GreengrassSimulator, deployment_id: str) -> list[str]:
    return [status.value for status, _ in sim.deployment(deployment_id).history]


def event_statuses(sim: GreengrassSimulator, deployment_id: str) -> list[str]:
    return [e["detail"]["status"] for e in sim.events_for(deployment_id)]


def new_deployment(gg: GreengrassClient, group_id: str) -> str:
    version = gg.get_group(GroupId=group_id)["LatestVersion"]
    return gg.create_deployment(GroupId=group_id, DeploymentType="NewDeployment", GroupVersionId=version)[
        "DeploymentId"
    ]


# --- plumbing: a real boto3 client, also inside mock_aws ------------------------------------------------


def test_simulator_serves_a_real_boto3_client_inside_moto_mock_aws(make_sim: MakeSim) -> None:
    with mock_aws():
        sim = make_sim()
        gg = sim.client()
        created = gg.create_group(Name="under-moto", tags={"team": "edge"})
        assert sim.group_exists(created["Id"])
        assert gg.get_group(GroupId=created["Id"])["tags"] == {"team": "edge"}
        # moto's own Greengrass backend never saw the request.
        assert boto3.client("greengrass", region_name=REGION).list_groups()["Groups"] == []


def test_attach_answers_a_client_built_for_the_real_aws_endpoint_even_under_mock_aws(
    sim: GreengrassSimulator,
) -> None:
    group_id = sim.add_group()
    with mock_aws():
        client = boto3.client("greengrass", region_name=REGION)
        sim.attach(client)
        assert client.get_group(GroupId=group_id)["Id"] == group_id
    assert sim.calls["GetGroup"] == 1


def test_unsupported_operations_fail_loudly_instead_of_pretending(gg: GreengrassClient) -> None:
    with pytest.raises(NotImplementedError, match="does not serve"):
        gg.get_associated_role(GroupId="any")


def test_error_codes_reach_botocore_through_the_x_amzn_error_type_header(gg: GreengrassClient) -> None:
    with pytest.raises(ClientError) as excinfo:
        gg.get_group(GroupId="missing")
    assert excinfo.value.response["Error"]["Code"] == "IdNotFoundException"


# --- Building -> InProgress -> Success/Failure, driven by the core ----------------------------------


def test_deployment_moves_building_then_in_progress_then_success_when_the_core_answers(
    sim: GreengrassSimulator, gg: GreengrassClient, clock: SimulatedClock
) -> None:
    group_id = sim.add_group(core=CoreProfile.online(delay_s=5), deployed=False)
    deployment_id = new_deployment(gg, group_id)

    def status() -> str:
        return gg.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)["DeploymentStatus"]

    assert status() == "Building"
    sim.advance(1)
    assert status() == "InProgress"
    sim.advance(4.9)
    assert status() == "InProgress"
    sim.advance(0.1)
    answer = gg.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)
    assert answer["DeploymentStatus"] == "Success"
    assert answer["DeploymentType"] == "NewDeployment"
    assert answer["UpdatedAt"] == "2026-01-01T00:00:06.000Z"
    assert "ErrorMessage" not in answer
    assert statuses(sim, deployment_id) == ["Building", "InProgress", "Success"]


def test_deployment_stays_in_progress_forever_when_the_core_is_offline(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline", deployed=False)
    deployment_id = new_deployment(gg, group_id)
    sim.advance(30 * 24 * 3600)
    assert sim.run_until_idle() == 0
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)
    assert status["DeploymentStatus"] == "InProgress"
    assert sim.next_due() is None


def test_failing_core_ends_every_deployment_that_needs_it_in_failure_with_error_details(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="failing")
    reset_id = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
    sim.run_until_idle()
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=reset_id)
    assert status["DeploymentStatus"] == "Failure"
    assert status["DeploymentType"] == "ResetDeployment"
    assert status["ErrorMessage"].startswith(
        f"Deployment {reset_id} of type ResetDeployment for group {group_id}"
    )
    assert status["ErrorDetails"][0]["DetailedErrorCode"]
    assert status["ErrorDetails"][0]["DetailedErrorMessage"]
    new_id = new_deployment(gg, group_id)
    sim.run_until_idle()
    assert sim.deployment(new_id).status is DeploymentStatus.FAILURE


def test_flaky_core_fails_about_its_failure_rate(make_sim: MakeSim) -> None:
    sim = make_sim(rng=random.Random(7))
    gg = sim.client()
    group_id = sim.add_group(core=CoreProfile.flaky(failure_rate=0.3), deployed=False)
    outcomes = []
    for _ in range(300):
        deployment_id = new_deployment(gg, group_id)
        sim.run_until_idle()
        outcomes.append(sim.deployment(deployment_id).status)
    failure_share = outcomes.count(DeploymentStatus.FAILURE) / len(outcomes)
    assert 0.2 < failure_share < 0.4


def test_slow_core_answers_after_fifteen_simulated_minutes(
    sim: GreengrassSimulator, gg: GreengrassClient, clock: SimulatedClock
) -> None:
    group_id = sim.add_group(core="slow")
    reset_id = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
    sim.advance(1 + 15 * 60 - 1)
    assert sim.deployment(reset_id).status is DeploymentStatus.IN_PROGRESS
    sim.advance(1)
    assert sim.deployment(reset_id).status is DeploymentStatus.SUCCESS
    assert clock.now() - DEFAULT_EPOCH == timedelta(minutes=15, seconds=1)


# --- ResetDeployments: Force false waits for the core, Force true does not --------------------------


def test_normal_reset_creates_a_reset_deployment_that_waits_for_the_core(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline")
    answer = gg.reset_deployments(GroupId=group_id, Force=False)
    assert answer["DeploymentArn"] == (
        f"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/groups/{group_id}/deployments/{answer['DeploymentId']}"
    )
    sim.advance(3600)
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=answer["DeploymentId"])
    assert (status["DeploymentType"], status["DeploymentStatus"]) == ("ResetDeployment", "InProgress")
    sim.set_core(group_id, "online")  # the core comes back and answers
    sim.run_until_idle()
    assert sim.deployment(answer["DeploymentId"]).status is DeploymentStatus.SUCCESS


def test_force_reset_succeeds_without_the_core(sim: GreengrassSimulator, gg: GreengrassClient) -> None:
    group_id = sim.add_group(core="offline")
    deployment_id = gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]
    sim.advance(Timings().build_s + Timings().force_reset_s)
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)
    assert (status["DeploymentType"], status["DeploymentStatus"]) == ("ForceResetDeployment", "Success")
    assert statuses(sim, deployment_id) == ["Building", "InProgress", "Success"]


@pytest.mark.parametrize("stuck_status", ["Building", "InProgress"])
def test_normal_reset_is_refused_while_a_deployment_is_building_or_in_progress(
    sim: GreengrassSimulator, gg: GreengrassClient, stuck_status: str
) -> None:
    group_id = sim.add_group(core="offline")
    deployment_id = new_deployment(gg, group_id)
    if stuck_status == "InProgress":
        sim.advance(1)
    with pytest.raises(ClientError) as excinfo:
        gg.reset_deployments(GroupId=group_id)
    assert error_of(excinfo.value) == (
        400,
        "BadRequestException",
        f"Deployment {deployment_id} of group {group_id} is {stuck_status}; "
        "a reset cannot start while a deployment is in progress.",
    )
    assert excinfo.value.__class__ is gg.exceptions.BadRequestException


def test_force_reset_is_accepted_while_a_deployment_is_in_progress_and_supersedes_it(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    """A contested decision (`force_over_in_progress`), at its default."""
    group_id = sim.add_group(core="offline")
    stuck_id = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
    sim.advance(600)
    forced_id = gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]
    stuck = gg.get_deployment_status(GroupId=group_id, DeploymentId=stuck_id)
    assert stuck["DeploymentStatus"] == "Failure"
    assert stuck["ErrorMessage"].endswith(f"superseded by forced reset {forced_id}.")
    assert event_statuses(sim, stuck_id) == ["Building", "InProgress", "Failure"]
    sim.run_until_idle()
    assert sim.deployment(forced_id).status is DeploymentStatus.SUCCESS


@pytest.mark.parametrize("force", [False, True])
def test_reset_of_a_never_deployed_group_is_refused_with_the_nothing_to_reset_message(
    sim: GreengrassSimulator, gg: GreengrassClient, force: bool
) -> None:
    group_id = sim.add_group(deployed=False)
    with pytest.raises(gg.exceptions.BadRequestException) as excinfo:
        gg.reset_deployments(GroupId=group_id, Force=force)
    assert error_of(excinfo.value) == (
        400,
        "BadRequestException",
        f"Group id: {group_id} has not been deployed or has already been reset.",
    )


@pytest.mark.parametrize("force", [False, True])
def test_reset_of_an_already_reset_group_is_refused_with_the_nothing_to_reset_message(
    sim: GreengrassSimulator, gg: GreengrassClient, force: bool
) -> None:
    group_id = sim.add_group(core="online")
    gg.reset_deployments(GroupId=group_id, Force=force)
    sim.run_until_idle()
    for second_force in (False, True):
        with pytest.raises(ClientError) as excinfo:
            gg.reset_deployments(GroupId=group_id, Force=second_force)
        assert error_of(excinfo.value) == (
            400,
            "BadRequestException",
            f"Group id: {group_id} has not been deployed or has already been reset.",
        )


def test_already_reset_check_looks_at_the_requested_group_only(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    """moto judges this on the newest deployment of *any* group; AWS on the group asked about."""
    reset_group = sim.add_group()
    never_deployed = sim.add_group(deployed=False)
    gg.reset_deployments(GroupId=reset_group, Force=True)
    sim.run_until_idle()
    deployed_group = sim.add_group()  # deployed after the other group's reset
    assert gg.reset_deployments(GroupId=deployed_group)["DeploymentId"]
    sim.run_until_idle()
    with pytest.raises(gg.exceptions.BadRequestException, match="has not been deployed"):
        gg.reset_deployments(GroupId=never_deployed)


def test_a_failed_reset_leaves_the_group_deployed_so_it_can_be_reset_again(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="failing")
    gg.reset_deployments(GroupId=group_id)
    sim.run_until_idle()
    forced_id = gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]
    sim.run_until_idle()
    assert sim.deployment(forced_id).status is DeploymentStatus.SUCCESS


def test_a_new_deployment_after_a_reset_makes_the_group_resettable_again(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group()
    gg.reset_deployments(GroupId=group_id)
    sim.run_until_idle()
    new_deployment(gg, group_id)
    sim.run_until_idle()
    assert gg.reset_deployments(GroupId=group_id)["DeploymentId"]


# --- unknown groups answer like moto ------------------------------------------------------------------

UNKNOWN = "00000000-0000-4000-8000-00000000dead"
UNKNOWN_ARN = f"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/groups/{UNKNOWN}"

UNKNOWN_GROUP_CASES: list[tuple[str, dict[str, Any], tuple[int, str, str]]] = [
    (
        "get_group",
        {"GroupId": UNKNOWN},
        (404, "IdNotFoundException", "That Group Definition does not exist."),
    ),
    (
        "delete_group",
        {"GroupId": UNKNOWN},
        (404, "IdNotFoundException", "That group definition does not exist."),
    ),
    (
        "create_deployment",
        {"GroupId": UNKNOWN, "DeploymentType": "NewDeployment", "GroupVersionId": "v"},
        (404, "ResourceNotFoundException", "That group definition does not exist."),
    ),
    (
        "reset_deployments",
        {"GroupId": UNKNOWN, "Force": True},
        (404, "ResourceNotFoundException", "That Group Definition does not exist."),
    ),
    (
        "get_deployment_status",
        {"GroupId": UNKNOWN, "DeploymentId": "d-1"},
        (400, "InvalidInputException", "Deployment 'd-1' does not exist."),
    ),
    (
        "list_tags_for_resource",
        {"ResourceArn": UNKNOWN_ARN},
        (404, "ResourceNotFoundException", "That Group Definition does not exist."),
    ),
    (
        "tag_resource",
        {"ResourceArn": UNKNOWN_ARN, "tags": {"a": "b"}},
        (404, "ResourceNotFoundException", "That Group Definition does not exist."),
    ),
    (
        "untag_resource",
        {"ResourceArn": UNKNOWN_ARN, "TagKeys": ["a"]},
        (404, "ResourceNotFoundException", "That Group Definition does not exist."),
    ),
]


@pytest.mark.parametrize(("operation", "params", "expected"), UNKNOWN_GROUP_CASES, ids=lambda v: str(v)[:30])
def test_unknown_group_answers_with_the_code_and_message_of_its_operation(
    gg: GreengrassClient, operation: str, params: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    with pytest.raises(ClientError) as excinfo:
        getattr(gg, operation)(**params)
    assert error_of(excinfo.value) == expected


@pytest.mark.parametrize(
    ("operation", "params", "expected"),
    [case for case in UNKNOWN_GROUP_CASES if "ResourceArn" not in case[1]],
    ids=lambda v: str(v)[:30],
)
def test_unknown_group_errors_match_moto(
    gg: GreengrassClient, operation: str, params: dict[str, Any], expected: tuple[int, str, str]
) -> None:
    with mock_aws():
        moto_gg = boto3.client("greengrass", region_name=REGION)
        with pytest.raises(ClientError) as excinfo:
            getattr(moto_gg, operation)(**params)
    _, moto_code, moto_message = error_of(excinfo.value)
    assert (moto_code, moto_message) == expected[1:]


def test_list_deployments_of_an_unknown_group_is_empty_like_aws(gg: GreengrassClient) -> None:
    assert gg.list_deployments(GroupId=UNKNOWN)["Deployments"] == []


# --- DeleteGroup: allowed on a deployed group, which strands its core ---------------------------------


def test_delete_group_of_a_deployed_group_succeeds_and_records_an_orphaned_core(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    """A contested decision (`refuse_deleting_deployed_groups`), at its default."""
    group_id = sim.add_group(name="still-deployed")
    deployment_id = sim.deployments(group_id)[0].deployment_id
    gg.delete_group(GroupId=group_id)
    assert not sim.group_exists(group_id)
    [orphan] = sim.orphaned_cores
    assert (orphan.group_id, orphan.group_name, orphan.deployment_id) == (
        group_id,
        "still-deployed",
        deployment_id,
    )
    assert orphan.deployment_type is DeploymentType.NEW


@pytest.mark.parametrize("force", [False, True])
def test_delete_group_after_a_successful_reset_strands_no_core(
    sim: GreengrassSimulator, gg: GreengrassClient, force: bool
) -> None:
    group_id = sim.add_group()
    gg.reset_deployments(GroupId=group_id, Force=force)
    sim.run_until_idle()
    gg.delete_group(GroupId=group_id)
    never_deployed = sim.add_group(deployed=False)
    gg.delete_group(GroupId=never_deployed)
    assert sim.orphaned_cores == []


def test_delete_group_with_a_reset_still_in_progress_strands_the_core(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline")
    gg.reset_deployments(GroupId=group_id)
    gg.delete_group(GroupId=group_id)
    assert [o.deployment_type for o in sim.orphaned_cores] == [DeploymentType.RESET]


def test_delete_group_can_be_configured_to_refuse_deployed_groups(make_sim: MakeSim) -> None:
    sim = make_sim(refuse_deleting_deployed_groups=True)
    gg = sim.client()
    group_id = sim.add_group()
    with pytest.raises(gg.exceptions.BadRequestException, match="reset its deployments before deleting"):
        gg.delete_group(GroupId=group_id)
    gg.reset_deployments(GroupId=group_id, Force=True)
    sim.run_until_idle()
    gg.delete_group(GroupId=group_id)
    assert not sim.group_exists(group_id)


def test_a_deleted_groups_deployments_leave_the_api_but_stay_inspectable(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="online")
    reset_id = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
    gg.delete_group(GroupId=group_id)
    assert sim.run_until_idle() == 0  # nothing of a deleted group is applied or published any more
    with pytest.raises(ClientError, match="does not exist"):
        gg.get_deployment_status(GroupId=group_id, DeploymentId=reset_id)
    assert sim.deployment(reset_id).status is DeploymentStatus.BUILDING
    assert [d.deployment_type for d in sim.deployments(group_id)] == [
        DeploymentType.NEW,
        DeploymentType.RESET,
    ]


# --- AmznClientToken -------------------------------------------------------------------------------


def test_same_client_token_on_a_repeated_reset_returns_the_same_deployment(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline")
    first = gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
    sim.advance(60)  # the deployment is InProgress now; a retry must not be refused for it
    again = gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
    assert again["DeploymentId"] == first["DeploymentId"]
    assert sim.reset_count(group_id) == 1
    assert sim.deployment(first["DeploymentId"]).client_token == "req-1"


def test_same_client_token_still_returns_the_deployment_after_it_finished(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group()
    first = gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="req-1")["DeploymentId"]
    sim.run_until_idle()
    assert (
        gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="req-1")["DeploymentId"] == first
    )


def test_client_token_reused_with_different_parameters_is_refused(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline")
    gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
    with pytest.raises(gg.exceptions.BadRequestException, match="already used with different parameters"):
        gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken="req-1")


def test_client_token_is_scoped_to_its_group(sim: GreengrassSimulator, gg: GreengrassClient) -> None:
    first, second = sim.add_group(), sim.add_group()
    a = gg.reset_deployments(GroupId=first, AmznClientToken="same")["DeploymentId"]
    b = gg.reset_deployments(GroupId=second, AmznClientToken="same")["DeploymentId"]
    assert a != b


def test_create_deployment_and_create_group_are_idempotent_with_the_client_token(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    core = sim.group_definitions(sim.add_group(deployed=False))["Core"]
    initial: Any = {"CoreDefinitionVersionArn": core.version_arn}
    group = gg.create_group(Name="g", InitialVersion=initial, AmznClientToken="create-1")
    assert gg.create_group(Name="g", InitialVersion=initial, AmznClientToken="create-1")["Id"] == group["Id"]
    kwargs: dict[str, Any] = {
        "GroupId": group["Id"],
        "DeploymentType": "NewDeployment",
        "GroupVersionId": group["LatestVersion"],
        "AmznClientToken": "deploy-1",
    }
    assert gg.create_deployment(**kwargs)["DeploymentId"] == gg.create_deployment(**kwargs)["DeploymentId"]
    assert len(sim.deployments(group["Id"])) == 1


# --- status-change events ---------------------------------------------------------------------------


def test_every_status_change_publishes_an_aws_shaped_deployment_status_change_event(
    sim: GreengrassSimulator, gg: GreengrassClient, published: list[dict[str, Any]]
) -> None:
    group_id = sim.add_group(core="failing", deployed=False)
    deployment_id = new_deployment(gg, group_id)
    sim.run_until_idle()
    assert [json.loads(e["Detail"])["status"] for e in published] == ["Building", "InProgress", "Failure"]
    for entry, event in zip(published, sim.published_events, strict=True):
        assert entry["Source"] == "aws.greengrass"
        assert entry["DetailType"] == "Greengrass Deployment Status Change"
        assert entry["EventBusName"] == "default"
        assert entry["Resources"] == []
        assert json.loads(entry["Detail"]) == event["detail"]
        assert set(event["detail"]) == {"group-id", "deployment-id", "deployment-type", "status"}
        parsed = DeploymentStatusEvent.parse(event)
        assert (parsed.envelope.account, parsed.envelope.region) == (ACCOUNT, REGION)
        assert parsed.detail.group_id == group_id
        assert parsed.detail.deployment_id == deployment_id
        assert parsed.detail.deployment_type is DeploymentType.NEW
    assert [e["Time"] for e in published] == [h[1] for h in sim.deployment(deployment_id).history]


def test_status_events_reach_an_eventbridge_rule_with_the_deployment_status_pattern_under_moto(
    clock: SimulatedClock,
) -> None:
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queue_url = sqs.create_queue(QueueName="status")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        events.put_rule(Name="status", EventPattern=json.dumps(deployment_status_pattern(ACCOUNT, REGION)))
        events.put_targets(Rule="status", Targets=[{"Id": "q", "Arn": queue_arn}])
        sim = GreengrassSimulator(clock, eventbridge_publisher(events), rng=random.Random(1), account=ACCOUNT)
        gg = sim.client()
        group_id = sim.add_group(core="offline")
        stuck = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
        forced = gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]
        sim.run_until_idle()
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    delivered = [json.loads(m["Body"]) for m in messages]
    # Building/InProgress are published too, but the pattern only lets Success/Failure through.
    assert sorted((e["detail"]["deployment-id"], e["detail"]["status"]) for e in delivered) == sorted(
        [(stuck, "Failure"), (forced, "Success")]
    )
    for event in delivered:
        assert (event["source"], event["region"]) == ("aws.greengrass", REGION)
        # moto's default SQS input template drops `account` (AWS keeps it); the pattern still matched it.
        event.setdefault("account", ACCOUNT)
        DeploymentStatusEvent.parse(event)
    # PutEvents `Time` is honoured: the event carries the simulated transition time, not the wall clock.
    forced_success = next(e for e in delivered if e["detail"]["deployment-id"] == forced)
    assert forced_success["time"] == sim.deployment(forced).updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_add_group_deployed_has_a_past_successful_new_deployment_and_emits_nothing(
    sim: GreengrassSimulator, gg: GreengrassClient, clock: SimulatedClock, published: list[dict[str, Any]]
) -> None:
    group_id = sim.add_group(deployed=True)
    [listed] = gg.list_deployments(GroupId=group_id)["Deployments"]
    assert listed["DeploymentType"] == "NewDeployment"
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=listed["DeploymentId"])
    assert status["DeploymentStatus"] == "Success"
    assert sim.deployment(listed["DeploymentId"]).created_at < clock.now()
    assert published == []
    assert sim.next_due() is None


def test_start_failing_deployment_produces_a_new_deployment_failure_event(
    sim: GreengrassSimulator, published: list[dict[str, Any]]
) -> None:
    group_id = sim.add_group(core="online")
    deployment_id = sim.start_failing_deployment(group_id)
    sim.run_until_idle()
    last = json.loads(published[-1]["Detail"])
    assert last == {
        "group-id": group_id,
        "deployment-id": deployment_id,
        "deployment-type": "NewDeployment",
        "status": "Failure",
    }
    assert sim.calls.total() == 0  # scenario set-up is not API traffic


# --- tags and paging ---------------------------------------------------------------------------------


def test_tags_on_groups_round_trip_through_create_tag_untag_and_list(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group = gg.create_group(Name="tagged", tags={"gg-reset:protect": "true", "team": "edge"})
    arn = group["Arn"]
    assert arn == f"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/groups/{group['Id']}"
    assert gg.list_tags_for_resource(ResourceArn=arn)["tags"] == {"gg-reset:protect": "true", "team": "edge"}
    gg.tag_resource(ResourceArn=arn, tags={"expires": "2026-02-01", "team": "platform"})
    gg.untag_resource(ResourceArn=arn, TagKeys=["gg-reset:protect"])
    expected = {"team": "platform", "expires": "2026-02-01"}
    assert gg.list_tags_for_resource(ResourceArn=arn)["tags"] == expected
    assert gg.get_group(GroupId=group["Id"])["tags"] == expected
    assert sim.tags(group["Id"]) == expected


def test_tag_operations_refuse_an_arn_that_is_not_a_group_arn(gg: GreengrassClient) -> None:
    with pytest.raises(gg.exceptions.BadRequestException, match="Invalid resource ARN"):
        gg.list_tags_for_resource(ResourceArn="arn:aws:iot:us-east-1:123456789012:thing/core")


def test_list_groups_pages_with_next_token_and_string_max_results(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    ids = [sim.add_group(deployed=False) for _ in range(7)]
    gg.delete_group(GroupId=ids.pop(3))
    seen, pages, token = [], 0, None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": "2"}
        if token:
            kwargs["NextToken"] = token
        page = gg.list_groups(**kwargs)
        pages += 1
        assert len(page["Groups"]) <= 2
        seen += [g["Id"] for g in page["Groups"]]
        token = page.get("NextToken")
        if not token:
            break
    assert seen == ids
    assert pages == 3


def test_list_groups_defaults_to_pages_of_fifty(sim: GreengrassSimulator, gg: GreengrassClient) -> None:
    for _ in range(DEFAULT_PAGE_SIZE + 1):
        sim.add_group(deployed=False)
    first = gg.list_groups()
    assert len(first["Groups"]) == DEFAULT_PAGE_SIZE
    assert len(gg.list_groups(NextToken=first["NextToken"])["Groups"]) == 1


def test_list_deployments_pages_newest_first_with_string_max_results(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="online")
    expected = [sim.deployments(group_id)[0].deployment_id]
    for _ in range(4):
        expected.append(new_deployment(gg, group_id))
        sim.run_until_idle()
    paginator = gg.get_paginator("list_deployments")
    # The paginator sends PageSize as the string MaxResults the API wants (an int MaxResults would not pass
    # botocore's validation: see test_max_results_must_be_a_string_in_boto3).
    pages = list(paginator.paginate(GroupId=group_id, PaginationConfig={"PageSize": 2}))
    assert [len(p["Deployments"]) for p in pages] == [2, 2, 1]
    listed = [d for p in pages for d in p["Deployments"]]
    assert [d["DeploymentId"] for d in listed] == expected[::-1]
    version_arn = gg.get_group(GroupId=group_id)["LatestVersionArn"]
    assert {d["GroupArn"] for d in listed} == {version_arn}


def test_list_deployments_paging_is_stable_while_new_deployments_arrive(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="online")
    for _ in range(3):
        new_deployment(gg, group_id)
        sim.run_until_idle()
    first = gg.list_deployments(GroupId=group_id, MaxResults="2")
    new_deployment(gg, group_id)  # arrives between two pages
    second = gg.list_deployments(GroupId=group_id, MaxResults="2", NextToken=first["NextToken"])
    ids = [d["DeploymentId"] for d in first["Deployments"] + second["Deployments"]]
    assert len(ids) == len(set(ids)) == 4


def test_max_results_must_be_a_string_in_boto3(gg: GreengrassClient) -> None:
    with pytest.raises(ParamValidationError, match="MaxResults"):
        gg.list_groups(MaxResults=5)  # type: ignore[arg-type]


@pytest.mark.parametrize("max_results", ["0", "-1", "ten"])
def test_invalid_max_results_is_a_bad_request(gg: GreengrassClient, max_results: str) -> None:
    with pytest.raises(gg.exceptions.BadRequestException, match="MaxResults"):
        gg.list_groups(MaxResults=max_results)


def test_invalid_next_token_is_a_bad_request(sim: GreengrassSimulator, gg: GreengrassClient) -> None:
    group_id = sim.add_group()
    with pytest.raises(gg.exceptions.BadRequestException, match="NextToken"):
        gg.list_deployments(GroupId=group_id, NextToken="not-a-token")


# --- CreateDeployment validation --------------------------------------------------------------------


@pytest.mark.parametrize("deployment_type", ["ResetDeployment", "ForceResetDeployment"])
def test_create_deployment_accepts_only_new_deployment_and_redeployment(
    sim: GreengrassSimulator, gg: GreengrassClient, deployment_type: Any
) -> None:
    group_id = sim.add_group()
    with pytest.raises(ClientError) as excinfo:
        gg.create_deployment(GroupId=group_id, DeploymentType=deployment_type)
    assert error_of(excinfo.value) == (
        400,
        "InvalidInputException",
        f"{deployment_type} is not valid for CreateDeployment: only NewDeployment and Redeployment are; "
        "use ResetDeployments to reset a group's deployments.",
    )


def test_an_unknown_deployment_type_is_refused_listing_all_four_types_like_moto(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group()
    with pytest.raises(ClientError) as simulated:
        gg.create_deployment(GroupId=group_id, DeploymentType="Bogus", GroupVersionId="v")  # type: ignore[arg-type]
    with mock_aws():
        moto_gg = boto3.client("greengrass", region_name=REGION)
        with pytest.raises(ClientError) as moto:
            moto_gg.create_deployment(GroupId=UNKNOWN, DeploymentType="Bogus", GroupVersionId="v")  # type: ignore[arg-type]
    expected = (
        400,
        "InvalidInputException",
        "That deployment type is not valid.  Please specify one of the following types: "
        "{NewDeployment,Redeployment,ResetDeployment,ForceResetDeployment}.",
    )
    assert error_of(simulated.value) == error_of(moto.value) == expected


def test_redeployment_redeploys_an_earlier_deployment_of_the_same_group(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id, other = sim.add_group(core="online"), sim.add_group()
    good = sim.deployments(group_id)[0].deployment_id
    answer = gg.create_deployment(GroupId=group_id, DeploymentType="Redeployment", DeploymentId=good)
    sim.run_until_idle()
    assert sim.deployment(answer["DeploymentId"]).deployment_type is DeploymentType.REDEPLOYMENT
    assert event_statuses(sim, answer["DeploymentId"]) == ["Building", "InProgress", "Success"]
    with pytest.raises(ClientError, match="is invalid"):
        gg.create_deployment(
            GroupId=other, DeploymentType="Redeployment", DeploymentId=good
        )  # not a deployment of `other`
    with pytest.raises(ClientError, match="DeploymentId"):
        gg.create_deployment(GroupId=group_id, DeploymentType="Redeployment")


def test_new_deployment_needs_an_existing_group_version(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group()
    with pytest.raises(ClientError) as excinfo:
        gg.create_deployment(GroupId=group_id, DeploymentType="NewDeployment", GroupVersionId="nope")
    assert error_of(excinfo.value)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(ClientError, match="GroupVersionId"):
        gg.create_deployment(GroupId=group_id, DeploymentType="NewDeployment")


def test_get_deployment_status_of_another_groups_deployment_does_not_exist(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    first, second = sim.add_group(), sim.add_group()
    deployment_id = sim.deployments(first)[0].deployment_id
    with pytest.raises(ClientError) as excinfo:
        gg.get_deployment_status(GroupId=second, DeploymentId=deployment_id)
    assert error_of(excinfo.value) == (
        400,
        "InvalidInputException",
        f"Deployment '{deployment_id}' does not exist.",
    )


# --- Redeployment: a deployment like any other -------------------------------------------------------


def redeploy(gg: GreengrassClient, group_id: str, deployment_id: str, token: str | None = None) -> str:
    """A `Redeployment` of an earlier deployment through the API, as gg-reset's roll back makes it."""
    kwargs: dict[str, Any] = {"AmznClientToken": token} if token else {}
    return gg.create_deployment(
        GroupId=group_id, DeploymentType="Redeployment", DeploymentId=deployment_id, **kwargs
    )["DeploymentId"]


@pytest.mark.parametrize(
    ("core", "history"),
    [
        ("online", ["Building", "InProgress", "Success"]),
        ("failing", ["Building", "InProgress", "Failure"]),
        ("offline", ["Building", "InProgress"]),
    ],
)
def test_a_redeployment_waits_for_the_core_like_any_deployment(
    sim: GreengrassSimulator, gg: GreengrassClient, core: str, history: list[str]
) -> None:
    group_id = sim.add_group(core=core)
    good = sim.deployments(group_id)[0].deployment_id
    redeployment_id = redeploy(gg, group_id, good)
    sim.advance(30 * 24 * 3600)
    sim.run_until_idle()
    assert statuses(sim, redeployment_id) == history
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=redeployment_id)
    assert (status["DeploymentStatus"], status["DeploymentType"]) == (history[-1], "Redeployment")
    if core == "failing":
        assert status["ErrorMessage"].startswith(
            f"Deployment {redeployment_id} of type Redeployment for group {group_id}"
        )
        assert status["ErrorDetails"][0]["DetailedErrorCode"]
    else:
        assert "ErrorMessage" not in status


def test_a_redeployment_publishes_its_status_changes_with_deployment_type_redeployment(
    sim: GreengrassSimulator, gg: GreengrassClient, published: list[dict[str, Any]]
) -> None:
    group_id = sim.add_group(core="failing")
    redeployment_id = redeploy(gg, group_id, sim.deployments(group_id)[0].deployment_id)
    sim.run_until_idle()
    assert [json.loads(e["Detail"]) for e in published] == [
        {
            "group-id": group_id,
            "deployment-id": redeployment_id,
            "deployment-type": "Redeployment",
            "status": status,
        }
        for status in ("Building", "InProgress", "Failure")
    ]
    for event in sim.events_for(redeployment_id):
        assert DeploymentStatusEvent.parse(event).detail.deployment_type is DeploymentType.REDEPLOYMENT


def test_a_redeployment_is_listed_newest_first_like_any_deployment(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="online")
    good = sim.deployments(group_id)[0].deployment_id
    redeployment_id = redeploy(gg, group_id, good)
    sim.run_until_idle()
    listed = gg.list_deployments(GroupId=group_id)["Deployments"]
    assert [(d["DeploymentId"], d["DeploymentType"]) for d in listed] == [
        (redeployment_id, "Redeployment"),
        (good, "NewDeployment"),
    ]
    assert listed[0]["GroupArn"] == gg.get_group(GroupId=group_id)["LatestVersionArn"]
    assert listed[0]["CreatedAt"] > listed[1]["CreatedAt"]


def test_a_redeployment_is_idempotent_with_the_client_token(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline")
    good = sim.deployments(group_id)[0].deployment_id
    first = redeploy(gg, group_id, good, token="rollback-1")
    sim.advance(60)  # InProgress now: a retry is answered with the same redeployment, not refused
    assert redeploy(gg, group_id, good, token="rollback-1") == first
    assert len(sim.deployments(group_id)) == 2
    with pytest.raises(gg.exceptions.BadRequestException, match="already used with different parameters"):
        redeploy(gg, group_id, first, token="rollback-1")


def test_a_normal_reset_is_refused_while_a_redeployment_is_in_progress(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline")
    redeployment_id = redeploy(gg, group_id, sim.deployments(group_id)[0].deployment_id)
    sim.advance(1)
    with pytest.raises(ClientError) as excinfo:
        gg.reset_deployments(GroupId=group_id)
    assert error_of(excinfo.value) == (
        400,
        "BadRequestException",
        f"Deployment {redeployment_id} of group {group_id} is InProgress; "
        "a reset cannot start while a deployment is in progress.",
    )


# --- time: never sleeps, jumps to what is due ---------------------------------------------------------


def test_next_due_names_the_next_transition_and_none_when_nothing_is_scheduled(
    sim: GreengrassSimulator, gg: GreengrassClient, clock: SimulatedClock
) -> None:
    assert sim.next_due() is None
    group_id = sim.add_group(core=CoreProfile.online(delay_s=5))
    gg.reset_deployments(GroupId=group_id)
    assert sim.next_due() == clock.now() + timedelta(seconds=1)
    clock.advance_to(sim.next_due() or clock.now())
    assert sim.run_due() == 1
    assert sim.next_due() == clock.now() + timedelta(seconds=5)
    sim.run_until_idle()
    assert sim.next_due() is None


def test_a_clock_jump_yields_the_same_history_as_small_steps(make_sim: MakeSim) -> None:
    def history(step_s: float) -> list[tuple[str, str]]:
        sim = GreengrassSimulator(SimulatedClock(), lambda _: None, rng=random.Random(3))
        gg = sim.client()
        groups = [sim.add_group(core=core) for core in ("online", "slow", "flaky", "failing", "offline")]
        ids = [gg.reset_deployments(GroupId=g)["DeploymentId"] for g in groups]
        for _ in range(int(3600 / step_s)):
            sim.advance(step_s)
        return [(s.value, at.isoformat()) for d in ids for s, at in sim.deployment(d).history]

    assert history(3600) == history(0.5)


def test_set_core_back_online_completes_a_deployment_waiting_for_it(
    sim: GreengrassSimulator, gg: GreengrassClient, clock: SimulatedClock
) -> None:
    group_id = sim.add_group(core="offline", deployed=False)
    deployment_id = new_deployment(gg, group_id)
    sim.advance(3600)
    sim.set_core(group_id, CoreProfile.online(delay_s=5))
    sim.advance(5)
    record = sim.deployment(deployment_id)
    assert record.status is DeploymentStatus.SUCCESS
    assert record.updated_at == clock.now()


# --- fault injection -----------------------------------------------------------------------------------


def test_throttling_lets_the_burst_through_then_answers_429_rate_exceeded(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultProfile(requests_per_second=5, burst=10))
    gg = sim.client()
    answers: list[tuple[int, str, str]] = []
    for _ in range(25):  # all at one simulated instant
        try:
            gg.list_groups()
            answers.append((200, "", ""))
        except ClientError as error:
            answers.append(error_of(error))
    throttled = (429, "TooManyRequestsException", "Rate exceeded")
    assert answers == [(200, "", "")] * 10 + [throttled] * 15
    assert sim.throttled_count == 15
    assert sim.calls["ListGroups"] == 25


def test_throttling_tokens_refill_as_the_simulated_clock_advances(
    make_sim: MakeSim, clock: SimulatedClock
) -> None:
    sim = make_sim(faults=FaultProfile(requests_per_second=5, burst=10))
    gg = sim.client()

    def successes(attempts: int) -> int:
        ok = 0
        for _ in range(attempts):
            try:
                gg.list_groups()
                ok += 1
            except gg.exceptions.ClientError:
                pass
        return ok

    assert successes(20) == 10
    clock.advance(1)  # 5 tokens back
    assert successes(20) == 5
    clock.advance(60)  # refills to the burst, not beyond
    assert successes(20) == 10


def test_throttled_requests_have_no_effect(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultProfile(requests_per_second=1, burst=1))
    gg = sim.client()
    group_id = sim.add_group()
    gg.get_group(GroupId=group_id)
    with pytest.raises(ClientError, match="Rate exceeded"):
        gg.reset_deployments(GroupId=group_id)
    assert sim.reset_count(group_id) == 0


def test_assigning_a_fault_profile_mid_run_starts_and_ends_an_outage(sim: GreengrassSimulator) -> None:
    gg = sim.client()
    gg.list_groups()
    sim.faults = FaultProfile(server_error_rate=1.0)
    with pytest.raises(ClientError, match="InternalServerErrorException"):
        gg.list_groups()
    sim.faults = FaultProfile()
    assert gg.list_groups()["Groups"] == []


def test_server_error_rate_answers_roughly_that_fraction_with_500_before_any_effect(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(faults=FaultProfile(server_error_rate=0.2), rng=random.Random(11))
    gg = sim.client()
    group_id = sim.add_group(core="offline")
    answers: list[tuple[int, str]] = []
    for i in range(500):
        try:
            gg.reset_deployments(GroupId=group_id, Force=True, AmznClientToken=f"t-{i}")
        except ClientError as error:
            answers.append(
                (error.response["ResponseMetadata"]["HTTPStatusCode"], error.response["Error"]["Code"])
            )
    errors = len(answers)
    assert set(answers) == {(500, "InternalServerErrorException")}
    assert 70 <= errors <= 130
    assert sim.server_error_count == errors
    assert sim.reset_count(group_id) == 500 - errors  # a 500 here means nothing happened


def test_a_lost_response_took_effect_and_a_retry_with_the_same_token_returns_it(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultProfile(lost_response_rate=1.0))
    gg = sim.client()
    group_id = sim.add_group(core="offline")
    with pytest.raises(ClientError, match="InternalServerErrorException"):
        gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")
    assert sim.reset_count(group_id) == 1
    sim.faults = FaultProfile()
    retried = gg.reset_deployments(GroupId=group_id, AmznClientToken="req-1")["DeploymentId"]
    assert [d.deployment_id for d in sim.deployments(group_id)][-1] == retried
    assert sim.reset_count(group_id) == 1


def test_latency_advances_the_simulated_clock_on_every_call(make_sim: MakeSim, clock: SimulatedClock) -> None:
    sim = make_sim(faults=FaultProfile(latency_s=0.25))
    gg = sim.client()
    for _ in range(8):
        gg.list_groups()
    assert clock.now() - DEFAULT_EPOCH == timedelta(seconds=2)


def test_latency_lets_a_polling_caller_see_the_deployment_move(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultProfile(latency_s=1.0))
    gg = sim.client()
    group_id = sim.add_group(core=CoreProfile.online(delay_s=5))
    deployment_id = gg.reset_deployments(GroupId=group_id)["DeploymentId"]
    seen = [
        gg.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)["DeploymentStatus"]
        for _ in range(7)
    ]
    assert seen[0] == "InProgress"
    assert seen[-1] == "Success"


def test_dropped_events_are_never_published(make_sim: MakeSim, published: list[dict[str, Any]]) -> None:
    sim = make_sim(faults=FaultProfile(drop_event_rate=1.0))
    group_id = sim.add_group(core="online")
    sim.client().reset_deployments(GroupId=group_id)
    sim.run_until_idle()
    assert published == []
    assert [e["detail"]["status"] for e in sim.dropped_events] == ["Building", "InProgress", "Success"]


def test_a_drop_rate_drops_roughly_that_fraction_of_events(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultProfile(drop_event_rate=0.25), rng=random.Random(5))
    for _ in range(100):
        sim.deploy(sim.add_group(core="online", deployed=False))
    sim.run_until_idle()
    total = len(sim.published_events) + len(sim.dropped_events)
    assert total == 300
    assert 50 <= len(sim.dropped_events) <= 100


def test_duplicated_events_are_published_twice(make_sim: MakeSim, published: list[dict[str, Any]]) -> None:
    sim = make_sim(faults=FaultProfile(duplicate_event_rate=1.0))
    group_id = sim.add_group(core="online")
    sim.client().reset_deployments(GroupId=group_id, Force=True)
    sim.run_until_idle()
    assert [json.loads(e["Detail"])["status"] for e in published] == [
        "Building",
        "Building",
        "InProgress",
        "InProgress",
        "Success",
        "Success",
    ]


def test_delayed_events_can_arrive_late_and_out_of_order(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultProfile(event_delay_s=30), rng=random.Random(2))
    deployment_ids = [
        sim.deploy(sim.add_group(core=CoreProfile.online(delay_s=1), deployed=False)) for _ in range(20)
    ]
    sim.run_until_idle()
    order = {"Building": 0, "InProgress": 1, "Success": 2}
    out_of_order = 0
    for deployment_id in deployment_ids:
        seen = [order[s] for s in event_statuses(sim, deployment_id)]
        assert sorted(seen) == [0, 1, 2]  # late, never lost
        out_of_order += seen != sorted(seen)
    assert out_of_order > 0


def test_same_seed_gives_the_same_run_and_a_fault_does_not_change_ids(clock: SimulatedClock) -> None:
    def run(seed: int, faults: FaultProfile) -> tuple[list[str], list[tuple[str, str]], dict[str, int]]:
        sim = GreengrassSimulator(SimulatedClock(), lambda _: None, rng=random.Random(seed), faults=faults)
        gg = sim.client()
        groups = [sim.add_group(core=c) for c in ("online", "flaky", "failing", "offline")] * 5
        for i, group_id in enumerate(groups):
            with contextlib.suppress(ClientError):
                gg.reset_deployments(GroupId=group_id, AmznClientToken=str(i))
        sim.advance(3600)
        events = [(e["detail"]["deployment-id"], e["detail"]["status"]) for e in sim.published_events]
        return groups, events, dict(sim.errors)

    faulty = FaultProfile(server_error_rate=0.3, duplicate_event_rate=0.3)
    assert run(1, faulty) == run(1, faulty)
    assert run(1, faulty) != run(2, faulty)
    assert run(1, FaultProfile())[0] == run(1, faulty)[0]


# --- scale --------------------------------------------------------------------------------------------


def test_a_fleet_of_hundreds_of_groups_and_thousands_of_calls_runs_in_seconds(
    make_sim: MakeSim, clock: SimulatedClock
) -> None:
    """A bulk cleanup like gg-reset's (inspect, reset, poll, force the stuck, delete) of 400 groups."""
    sim = make_sim(
        faults=FaultProfile(requests_per_second=20, burst=40, latency_s=0.01, server_error_rate=0.02)
    )
    gg = sim.client()
    cores = ("online", "offline", "failing", "flaky", "slow")
    groups = [sim.add_group(core=cores[i % len(cores)]) for i in range(400)]

    def call(operation: str, **params: Any) -> dict[str, Any]:
        while True:
            try:
                response: dict[str, Any] = getattr(gg, operation)(**params)
                return response
            except ClientError as error:
                code = error.response["Error"]["Code"]
                if code not in ("TooManyRequestsException", "InternalServerErrorException"):
                    raise
                sim.advance(0.5)  # back off on the simulated clock

    started = time.perf_counter()
    for group_id in groups:
        call("get_group", GroupId=group_id)
    waiting = {
        g: call("reset_deployments", GroupId=g, AmznClientToken=f"{g}-normal")["DeploymentId"] for g in groups
    }
    outcome: dict[str, str] = {}
    deadline = clock.now() + timedelta(minutes=2)
    while waiting and clock.now() < deadline:
        sim.advance(5)
        for group_id, deployment_id in list(waiting.items()):
            status = call("get_deployment_status", GroupId=group_id, DeploymentId=deployment_id)
            if status["DeploymentStatus"] in ("Success", "Failure"):
                outcome[group_id] = status["DeploymentStatus"]
                del waiting[group_id]
    forced = {
        g: call("reset_deployments", GroupId=g, Force=True, AmznClientToken=f"{g}-force")["DeploymentId"]
        for g in groups
        if outcome.get(g) != "Success"
    }
    sim.advance(5)
    for group_id, deployment_id in forced.items():
        status = call("get_deployment_status", GroupId=group_id, DeploymentId=deployment_id)
        assert status["DeploymentStatus"] == "Success"
    for group_id in groups:
        call("delete_group", GroupId=group_id)
    elapsed = time.perf_counter() - started

    assert sim.orphaned_cores == []
    assert not any(sim.group_exists(g) for g in groups)
    assert sim.total_calls >= 3000
    assert sim.throttled_count > 0
    assert elapsed < 30, f"{sim.total_calls} simulated calls took {elapsed:.1f} s"


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator never sleeps; neither may botocore on its behalf (retries are off by default)."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called during a simulator test")

    monkeypatch.setattr(time, "sleep", refuse)
