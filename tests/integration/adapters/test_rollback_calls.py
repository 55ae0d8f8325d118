"""The adapter's two roll back calls: `find_rollback_target` and `redeploy`.

Against the Greengrass simulator through a real boto3 client (deployments that really succeed and fail,
`ListDeployments` pages, client tokens), against moto where it can play along, and against botocore's
Stubber for the orders and answers neither produces (oldest first across pages, ties, malformed entries).

moto's two deviations here (pinned below, so an upgrade that fixes them shows): its deployments never leave
`InProgress`, so its statuses are set on its backend as a core would; and it refuses every `Redeployment`
without a `GroupVersionId` ("Version None of Group Definition <id> does not exist."), which the API model
does not require, so a successful redeploy is tested on the simulator only.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.stub import Stubber
from moto.greengrass.models import greengrass_backends

from gg_reset.adapters.greengrass import PAGE_SIZE, Boto3Greengrass
from gg_reset.adapters.greengrass_errors import classify_error
from gg_reset.contracts import DeploymentStatus, DeploymentType
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.local.clock import SimulatedClock
from gg_reset.local.greengrass_sim import GreengrassSimulator
from gg_reset.ports import RollbackTarget
from support.moto_greengrass import moto_group_with_core

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

REGION = "us-east-1"
ACCOUNT = "123456789012"
UNKNOWN_GROUP = "4f1e7f0a-0000-4000-8000-00000000dead"
MANY = 20


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock()


@pytest.fixture
def sim(clock: SimulatedClock) -> GreengrassSimulator:
    return GreengrassSimulator(clock, lambda _: None, rng=random.Random(7), account=ACCOUNT, region=REGION)


@pytest.fixture
def adapter(sim: GreengrassSimulator) -> Boto3Greengrass:
    return Boto3Greengrass(sim.client())


def _settled(sim: GreengrassSimulator, deployment_id: str) -> str:
    """Let the simulated core answer; returns the deployment id."""
    sim.run_until_idle()
    return deployment_id


def _good(sim: GreengrassSimulator, group_id: str) -> str:
    return _settled(sim, sim.deploy(group_id))


def _failed(sim: GreengrassSimulator, group_id: str) -> str:
    return _settled(sim, sim.start_failing_deployment(group_id))


def _raises(kind: ErrorKind, operation: str) -> Any:
    return pytest.raises(GreengrassError, match=rf"^{operation} failed \({kind.value}\)")


# ---------------------------------------------------------------------------------------------------------
# find_rollback_target on the simulator
# ---------------------------------------------------------------------------------------------------------


def test_the_newest_successful_deployment_is_found_and_the_failed_one_is_never_checked(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online")  # with an older NewDeployment that succeeded
    good = _good(sim, group_id)
    bad = _failed(sim, group_id)

    target = adapter.find_rollback_target(group_id, failed_deployment_id=bad, max_checked=MANY)

    created = sim.deployment(good).created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert target.deployment_id == good
    assert target.detail == f"deployment {good} (NewDeployment, created {created}) succeeded"
    assert sim.calls["GetDeploymentStatus"] == 1  # the failed one is skipped without a call


def test_someone_elses_failed_deployment_is_checked_and_passed_over(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online")
    good = _good(sim, group_id)
    _failed(sim, group_id)  # an earlier failure, not the one being remediated
    bad = _failed(sim, group_id)

    target = adapter.find_rollback_target(group_id, failed_deployment_id=bad, max_checked=MANY)

    assert target.deployment_id == good
    assert sim.calls["GetDeploymentStatus"] == 2


def test_a_redeployment_that_succeeded_is_a_target_too(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online")
    redeployed = _settled(sim, sim.deploy(group_id, deployment_type=DeploymentType.REDEPLOYMENT))
    bad = _failed(sim, group_id)

    target = adapter.find_rollback_target(group_id, failed_deployment_id=bad, max_checked=MANY)

    assert target.deployment_id == redeployed
    assert "(Redeployment, created " in target.detail


def test_a_deployment_still_in_progress_is_not_a_target(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online")
    good = _good(sim, group_id)
    sim.set_core(group_id, "offline")
    sim.deploy(group_id)  # newer, never answered
    sim.run_until_idle()

    target = adapter.find_rollback_target(group_id, failed_deployment_id=None, max_checked=MANY)

    assert target.deployment_id == good
    assert sim.calls["GetDeploymentStatus"] == 2


@pytest.mark.parametrize("force", [False, True], ids=["reset", "forced-reset"])
def test_a_reset_since_the_last_good_deployment_means_there_is_nothing_to_go_back_to(
    sim: GreengrassSimulator, adapter: Boto3Greengrass, force: bool
) -> None:
    group_id = sim.add_group(core="online")
    _good(sim, group_id)
    reset = _settled(sim, adapter.reset_deployments(group_id, force=force, client_token="someone"))
    bad = _failed(sim, group_id)

    target = adapter.find_rollback_target(group_id, failed_deployment_id=bad, max_checked=MANY)

    kind = "ForceResetDeployment" if force else "ResetDeployment"
    created = sim.deployment(reset).created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert target.deployment_id is None
    assert target.detail == (
        f"the group was reset (deployment {reset}, {kind}, created {created}) since its last good deployment"
    )
    assert sim.calls["GetDeploymentStatus"] == 0  # the reset is seen in the listing alone


def test_a_group_without_a_successful_deployment_has_nothing_to_go_back_to(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online", deployed=False)
    _failed(sim, group_id)
    bad = _failed(sim, group_id)

    target = adapter.find_rollback_target(group_id, failed_deployment_id=bad, max_checked=MANY)

    assert target.deployment_id is None
    assert target.detail == "no earlier successful deployment (2 deployment(s) listed, 1 checked)"


def test_a_group_never_deployed_or_unknown_has_nothing_to_go_back_to(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    never_deployed = sim.add_group(deployed=False)

    for group_id in (never_deployed, UNKNOWN_GROUP):  # ListDeployments does not check the group
        target = adapter.find_rollback_target(group_id, failed_deployment_id=None, max_checked=MANY)
        assert target == RollbackTarget(
            None, "no earlier successful deployment (0 deployment(s) listed, 0 checked)"
        )


def test_max_checked_bounds_the_status_checks(sim: GreengrassSimulator, adapter: Boto3Greengrass) -> None:
    group_id = sim.add_group(core="online")
    good = sim.deployments(group_id)[0].deployment_id
    failures = [_failed(sim, group_id) for _ in range(5)]

    bounded = adapter.find_rollback_target(group_id, failed_deployment_id=failures[-1], max_checked=3)

    assert bounded.deployment_id is None
    assert bounded.detail == (
        "no successful deployment among the newest 3 checked "
        "(at most 3 status checks; 6 deployment(s) listed)"
    )
    assert sim.calls["GetDeploymentStatus"] == 3
    # Four failures and the good one below them: exactly five checks find it.
    assert adapter.find_rollback_target(
        group_id, failed_deployment_id=failures[-1], max_checked=5
    ).deployment_id == (good)
    assert sim.calls["GetDeploymentStatus"] == 3 + 5


def test_more_than_one_page_of_deployments_is_read(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online")
    good = sim.deployments(group_id)[0].deployment_id  # the oldest, on the last page
    failures = [_failed(sim, group_id) for _ in range(int(PAGE_SIZE) + 10)]

    target = adapter.find_rollback_target(group_id, failed_deployment_id=failures[-1], max_checked=100)

    assert target.deployment_id == good
    assert sim.calls["ListDeployments"] == 2
    assert sim.calls["GetDeploymentStatus"] == len(failures)  # every other failure, then the good one


def test_a_reset_on_a_later_page_still_ends_the_search(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online")
    reset = _settled(sim, adapter.reset_deployments(group_id, force=True, client_token="t"))
    failures = [_failed(sim, group_id) for _ in range(int(PAGE_SIZE) + 1)]

    target = adapter.find_rollback_target(group_id, failed_deployment_id=failures[-1], max_checked=100)

    assert target.deployment_id is None
    assert reset in target.detail


# ---------------------------------------------------------------------------------------------------------
# redeploy on the simulator
# ---------------------------------------------------------------------------------------------------------


def test_redeploy_starts_a_redeployment_and_the_same_token_returns_it_again(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online")
    good = _good(sim, group_id)
    bad = _failed(sim, group_id)
    target = adapter.find_rollback_target(group_id, failed_deployment_id=bad, max_checked=MANY)
    assert target.deployment_id == good

    first = adapter.redeploy(group_id, good, client_token="wf-1-r0")
    again = adapter.redeploy(group_id, good, client_token="wf-1-r0")
    other = adapter.redeploy(group_id, good, client_token="wf-1-r1")

    assert first == again != other
    assert first not in (good, bad)
    assert sim.calls["CreateDeployment"] == 3
    redeployments = [d for d in sim.deployments(group_id) if d.deployment_type is DeploymentType.REDEPLOYMENT]
    assert [d.deployment_id for d in redeployments] == [first, other]
    assert redeployments[0].client_token == "wf-1-r0"
    sim.run_until_idle()
    assert adapter.get_deployment_status(group_id, first).status is DeploymentStatus.SUCCESS


def test_redeploy_of_a_deployment_of_another_group_is_a_bad_request(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id, other = sim.add_group(), sim.add_group()
    elsewhere = sim.deployments(other)[0].deployment_id

    for target in (elsewhere, "0000-not-a-deployment"):
        with _raises(ErrorKind.BAD_REQUEST, "CreateDeployment") as caught:
            adapter.redeploy(group_id, target, client_token=f"t-{target}")
        assert (caught.value.code, caught.value.message) == (
            "InvalidInputException",
            f"Deployment ID '{target}' is invalid.",
        )


def test_redeploy_to_an_unknown_group_is_not_found(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    deployment_id = sim.deployments(sim.add_group())[0].deployment_id

    with _raises(ErrorKind.NOT_FOUND, "CreateDeployment") as caught:
        adapter.redeploy(UNKNOWN_GROUP, deployment_id, client_token="t")
    assert caught.value.code == "ResourceNotFoundException"


# ---------------------------------------------------------------------------------------------------------
# moto: oldest first, errors; statuses set on its backend
# ---------------------------------------------------------------------------------------------------------


def _moto_group(client: GreengrassClient) -> tuple[str, str]:
    return moto_group_with_core(client, "rollback")


def _moto_deployment(
    client: GreengrassClient, group_id: str, version_id: str, status: str, created: datetime
) -> str:
    deployment_id = client.create_deployment(
        GroupId=group_id, GroupVersionId=version_id, DeploymentType="NewDeployment"
    )["DeploymentId"]
    # moto never moves a deployment on and stamps it with its own clock (two in the same millisecond
    # tie): set both as a core and a clock would.
    deployment = greengrass_backends[ACCOUNT][REGION].deployments[deployment_id]
    deployment.deployment_status = status
    deployment.created_at_datetime = created
    return deployment_id


def test_moto_lists_oldest_first_and_the_newest_success_is_still_found(moto_client: GreengrassClient) -> None:
    group_id, version_id = _moto_group(moto_client)
    start = datetime(2026, 1, 1)  # moto keeps naive UTC datetimes
    older = _moto_deployment(moto_client, group_id, version_id, "Success", start)
    newer = _moto_deployment(moto_client, group_id, version_id, "Success", start + timedelta(minutes=1))
    bad = _moto_deployment(moto_client, group_id, version_id, "Failure", start + timedelta(minutes=2))
    listed = [d["DeploymentId"] for d in moto_client.list_deployments(GroupId=group_id)["Deployments"]]
    assert listed == [older, newer, bad]  # moto's order: oldest first

    target = Boto3Greengrass(moto_client).find_rollback_target(
        group_id, failed_deployment_id=bad, max_checked=MANY
    )

    assert target.deployment_id == newer
    assert target.detail == f"deployment {newer} (NewDeployment, created 2026-01-01T00:01:00Z) succeeded"
    assert target.group_version_id == version_id  # read off the deployment's GroupArn


def test_moto_redeploys_the_target_found_with_its_group_version(moto_client: GreengrassClient) -> None:
    # moto wants a GroupVersionId on a Redeployment; the version the target deployed is passed along.
    group_id, version_id = _moto_group(moto_client)
    good = _moto_deployment(moto_client, group_id, version_id, "Success", datetime(2026, 1, 1))
    adapter = Boto3Greengrass(moto_client)
    target = adapter.find_rollback_target(group_id, failed_deployment_id=None, max_checked=MANY)
    assert (target.deployment_id, target.group_version_id) == (good, version_id)

    new_id = adapter.redeploy(group_id, good, client_token="t", group_version_id=target.group_version_id)

    listed = moto_client.list_deployments(GroupId=group_id)["Deployments"]
    assert [(d["DeploymentId"], d["DeploymentType"]) for d in listed][-1] == (new_id, "Redeployment")


def test_moto_redeploy_of_an_unknown_deployment_is_a_bad_request(moto_client: GreengrassClient) -> None:
    group_id, _ = _moto_group(moto_client)

    with _raises(ErrorKind.BAD_REQUEST, "CreateDeployment") as caught:
        Boto3Greengrass(moto_client).redeploy(group_id, "0000-not-a-deployment", client_token="t")
    assert caught.value.code == "InvalidInputException"


def test_moto_redeploy_to_an_unknown_group_is_not_found(moto_client: GreengrassClient) -> None:
    group_id, version_id = _moto_group(moto_client)
    deployment_id = _moto_deployment(moto_client, group_id, version_id, "Success", datetime(2026, 1, 1))

    with _raises(ErrorKind.NOT_FOUND, "CreateDeployment") as caught:
        Boto3Greengrass(moto_client).redeploy(UNKNOWN_GROUP, deployment_id, client_token="t")
    assert (caught.value.code, caught.value.message) == (
        "ResourceNotFoundException",
        "That group definition does not exist.",
    )


def test_moto_refuses_a_redeployment_without_a_group_version(moto_client: GreengrassClient) -> None:
    # The API model requires only GroupId and DeploymentType, and the simulator redeploys by DeploymentId
    # alone; moto looks the group version up anyway, which is why the adapter passes the version the
    # target deployed (see test_moto_redeploys_the_target_found_with_its_group_version).
    group_id, version_id = _moto_group(moto_client)
    good = _moto_deployment(moto_client, group_id, version_id, "Success", datetime(2026, 1, 1))

    with _raises(ErrorKind.NOT_FOUND, "CreateDeployment") as caught:
        Boto3Greengrass(moto_client).redeploy(group_id, good, client_token="t")
    assert caught.value.message == f"Version None of Group Definition {group_id} does not exist."


# ---------------------------------------------------------------------------------------------------------
# Stubber: orders, ties, malformed answers, failures mid-search
# ---------------------------------------------------------------------------------------------------------

GROUP_ID = "4f1e7f0a-0000-4000-8000-000000000001"


def _listed(deployment_id: str, deployment_type: str, created: str) -> dict[str, str]:
    return {
        "CreatedAt": created,
        "DeploymentArn": f"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/groups/{GROUP_ID}/deployments/x",
        "DeploymentId": deployment_id,
        "DeploymentType": deployment_type,
        "GroupArn": f"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/groups/{GROUP_ID}",
    }


def _status(stubber: Stubber, deployment_id: str, status: str) -> None:
    stubber.add_response(
        "get_deployment_status",
        {
            "DeploymentStatus": status,
            "DeploymentType": "NewDeployment",
            "UpdatedAt": "2026-01-01T00:00:00.000Z",
        },
        {"GroupId": GROUP_ID, "DeploymentId": deployment_id},
    )


def test_pages_in_any_order_are_sorted_newest_first_before_checking(
    stubbed: tuple[Boto3Greengrass, Stubber],
) -> None:
    adapter, stubber = stubbed
    stubber.add_response(
        "list_deployments",
        {
            "Deployments": [
                _listed("d-1", "NewDeployment", "2026-01-01T00:01:00.000Z"),
                _listed("d-3", "NewDeployment", "2026-01-01T00:03:00.000Z"),
            ],
            "NextToken": "page-2",
        },
        {"GroupId": GROUP_ID, "MaxResults": PAGE_SIZE},
    )
    stubber.add_response(
        "list_deployments",
        {
            "Deployments": [
                _listed("d-2", "Redeployment", "2026-01-01T00:02:00.000Z"),
                _listed("d-4", "NewDeployment", "2026-01-01T00:04:00.000Z"),
            ]
        },
        {"GroupId": GROUP_ID, "MaxResults": PAGE_SIZE, "NextToken": "page-2"},
    )
    _status(stubber, "d-3", "Failure")
    _status(stubber, "d-2", "Success")

    target = adapter.find_rollback_target(GROUP_ID, failed_deployment_id="d-4", max_checked=MANY)

    assert target.deployment_id == "d-2"
    assert target.detail == "deployment d-2 (Redeployment, created 2026-01-01T00:02:00Z) succeeded"


def test_deployments_created_in_the_same_instant_keep_the_listed_order(
    stubbed: tuple[Boto3Greengrass, Stubber],
) -> None:
    adapter, stubber = stubbed
    same = "2026-01-01T00:00:00.000Z"
    stubber.add_response(
        "list_deployments",
        {"Deployments": [_listed("first", "NewDeployment", same), _listed("second", "NewDeployment", same)]},
        {"GroupId": GROUP_ID, "MaxResults": PAGE_SIZE},
    )
    _status(stubber, "first", "Success")

    assert adapter.find_rollback_target(
        GROUP_ID, failed_deployment_id=None, max_checked=MANY
    ).deployment_id == ("first")


@pytest.mark.parametrize(
    "entry",
    [
        _listed("d-1", "NewDeployment", "yesterday"),
        _listed("d-1", "SomeNewType", "2026-01-01T00:00:00.000Z"),
        {
            k: v
            for k, v in _listed("d-1", "ResetDeployment", "2026-01-01T00:00:00.000Z").items()
            if k != "CreatedAt"
        },
        {
            k: v
            for k, v in _listed("d-1", "NewDeployment", "2026-01-01T00:00:00.000Z").items()
            if k != "DeploymentId"
        },
    ],
    ids=["unreadable-created-at", "unknown-type", "no-created-at", "no-id"],
)
def test_a_deployment_that_cannot_be_placed_is_raised_not_skipped(
    stubbed: tuple[Boto3Greengrass, Stubber], entry: dict[str, str]
) -> None:
    # Skipping it could skip a reset (and undo it) or pick an older deployment than the newest good one.
    adapter, stubber = stubbed
    stubber.add_response(
        "list_deployments", {"Deployments": [entry]}, {"GroupId": GROUP_ID, "MaxResults": PAGE_SIZE}
    )

    with _raises(ErrorKind.UNKNOWN, "ListDeployments") as caught:
        adapter.find_rollback_target(GROUP_ID, failed_deployment_id=None, max_checked=MANY)
    assert caught.value.code == "MalformedResponse"


@pytest.mark.parametrize(
    ("operation", "code", "status", "kind"),
    [
        ("list_deployments", "ThrottlingException", 400, ErrorKind.THROTTLED),
        ("get_deployment_status", "InternalServerErrorException", 500, ErrorKind.SERVER_ERROR),
    ],
)
def test_a_failure_during_the_search_is_a_classified_greengrass_error(
    stubbed: tuple[Boto3Greengrass, Stubber], operation: str, code: str, status: int, kind: ErrorKind
) -> None:
    adapter, stubber = stubbed
    if operation == "list_deployments":
        stubber.add_client_error(operation, code, "Rate exceeded", status)
    else:
        stubber.add_response(
            "list_deployments",
            {"Deployments": [_listed("d-1", "NewDeployment", "2026-01-01T00:00:00.000Z")]},
            {"GroupId": GROUP_ID, "MaxResults": PAGE_SIZE},
        )
        stubber.add_client_error(operation, code, "Internal error", status)
    api_name = "ListDeployments" if operation == "list_deployments" else "GetDeploymentStatus"

    with _raises(kind, api_name):
        adapter.find_rollback_target(GROUP_ID, failed_deployment_id=None, max_checked=MANY)


def test_redeploy_sends_the_deployment_and_token_and_no_group_version(
    stubbed: tuple[Boto3Greengrass, Stubber],
) -> None:
    adapter, stubber = stubbed
    stubber.add_response(
        "create_deployment",
        {"DeploymentArn": "arn:x", "DeploymentId": "d-new"},
        {
            "GroupId": GROUP_ID,
            "DeploymentType": "Redeployment",
            "DeploymentId": "d-good",
            "AmznClientToken": "wf-1-r0",
        },
    )

    assert adapter.redeploy(GROUP_ID, "d-good", client_token="wf-1-r0") == "d-new"


def test_redeploy_without_a_deployment_id_in_the_answer_is_unknown(
    stubbed: tuple[Boto3Greengrass, Stubber],
) -> None:
    adapter, stubber = stubbed
    stubber.add_response("create_deployment", {"DeploymentArn": "arn:x"})

    with _raises(ErrorKind.UNKNOWN, "CreateDeployment") as caught:
        adapter.redeploy(GROUP_ID, "d-good", client_token="t")
    assert caught.value.code == "MalformedResponse"


@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        # Exactly what the simulator and moto answer to a redeployment of another group's (or no) deployment.
        ("InvalidInputException", "Deployment ID 'd-1' is invalid.", 400, ErrorKind.BAD_REQUEST),
        # ... and to a redeployment to a group that does not exist.
        ("ResourceNotFoundException", "That group definition does not exist.", 404, ErrorKind.NOT_FOUND),
        # AWS's own dialect: every client error is a BadRequestException; not-found only by its words.
        ("BadRequestException", "Deployment ID 'd-1' is invalid.", 400, ErrorKind.BAD_REQUEST),
        ("BadRequestException", "That group definition does not exist.", 400, ErrorKind.NOT_FOUND),
    ],
)
def test_create_deployment_answers_classify_as_bad_request_or_not_found(
    code: str, message: str, status: int, kind: ErrorKind
) -> None:
    assert classify_error("CreateDeployment", code, message, status) is kind


def test_a_polled_redeployment_says_it_is_a_redeployment(
    sim: GreengrassSimulator, adapter: Boto3Greengrass
) -> None:
    group_id = sim.add_group(core="online", deployed=False)
    good = _good(sim, group_id)
    redeployment = _settled(sim, adapter.redeploy(group_id, good, client_token="t"))
    view = adapter.get_deployment_status(group_id, redeployment)
    assert (view.status, view.deployment_type) == (DeploymentStatus.SUCCESS, DeploymentType.REDEPLOYMENT)
    assert adapter.get_deployment_status(group_id, good).deployment_type is DeploymentType.NEW
