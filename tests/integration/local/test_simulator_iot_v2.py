"""What a full teardown of a Greengrass V1 group touches beyond V1: the core's AWS IoT thing, certificate and
policy (moto's IoT backend), and Greengrass V2 core devices (`GreengrassV2Simulator`).

Three parts, each through real boto3 clients:

* The Greengrass V2 simulator: `GetCoreDevice` and `ListCoreDevices` with their documented answers and errors.
* `MotoCoreIdentities`: the fleet's core things, certificates and policies exist in moto, and the V1 simulator
  names them in each group's core definition version.
* moto's AWS IoT, asserted as facts a teardown depends on (each test is named for its fact). Where moto and
  AWS's documentation differ, the test pins moto's answer and says so; docs/greengrass-v1.md, "AWS IoT and
  Greengrass V2 (what a teardown touches)", lists the facts, their sources and the differences.
"""

from __future__ import annotations

import base64
import json
import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from gg_reset.local.clock import SimulatedClock
from gg_reset.local.greengrass_sim import GreengrassSimulator
from gg_reset.local.greengrass_v2_sim import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    SERVED_OPERATIONS,
    GreengrassV2Simulator,
)
from gg_reset.local.iot_fleet import CORE_POLICY_DOCUMENT, MotoCoreIdentities, core_policy_name
from gg_reset.local.runtime import ACCOUNT, REGION

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient
    from mypy_boto3_greengrassv2 import GreengrassV2Client
    from mypy_boto3_iot import IoTClient

UNKNOWN_CERTIFICATE_ID = "ab" * 32
"""Well formed (64 hex digits, the model's fixed length) and never issued."""


# --- fixtures and helpers ----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here waits: neither the simulators nor botocore on their behalf (retries are off)."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called during a simulator test")

    monkeypatch.setattr(time, "sleep", refuse)


@pytest.fixture
def v2_sim(clock: SimulatedClock) -> GreengrassV2Simulator:
    return GreengrassV2Simulator(clock, account=ACCOUNT, region=REGION)


@pytest.fixture
def v2(v2_sim: GreengrassV2Simulator) -> GreengrassV2Client:
    return v2_sim.client()


@pytest.fixture
def iot() -> Iterator[IoTClient]:
    """A boto3 IoT client on moto's in-process backend, as the local runtime makes it."""
    with mock_aws():
        yield boto3.client("iot", region_name=REGION)


@pytest.fixture
def identities(iot: IoTClient) -> MotoCoreIdentities:
    return MotoCoreIdentities(iot)


def error_of(call: Callable[[], object]) -> tuple[int, str, str, dict[str, Any]]:
    """(HTTP status, code, message, the whole parsed response) of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call()
    response: dict[str, Any] = dict(caught.value.response)
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
        response,
    )


def certificate_id(certificate_arn: str) -> str:
    return certificate_arn.rpartition("/")[2]


def inactive_certificate(iot: IoTClient) -> tuple[str, str]:
    """(ARN, id) of a fresh INACTIVE certificate attached to nothing."""
    created = iot.create_keys_and_certificate(setAsActive=False)
    return created["certificateArn"], created["certificateId"]


# --- Greengrass V2: GetCoreDevice ----------------------------------------------------------------------


def test_get_core_device_answers_every_documented_field(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    seen = datetime(2026, 3, 4, 5, 6, 7, 891_000, tzinfo=UTC)
    v2_sim.register_core_device(
        "plant_Core", status="UNHEALTHY", last_status_update=seen, core_version="2.14.0", tags={"site": "x"}
    )

    answer = v2.get_core_device(coreDeviceThingName="plant_Core")

    assert {key: value for key, value in answer.items() if key != "ResponseMetadata"} == {
        "coreDeviceThingName": "plant_Core",
        "coreVersion": "2.14.0",
        "platform": "linux",
        "architecture": "amd64",
        "runtime": "aws_nucleus_classic",
        "status": "UNHEALTHY",
        "lastStatusUpdateTimestamp": seen,
        "tags": {"site": "x"},
    }


def test_get_core_device_without_tags_answers_an_empty_tag_map_and_now_as_its_last_update(
    clock: SimulatedClock, v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    v2_sim.register_core_device("plant_Core")

    answer = v2.get_core_device(coreDeviceThingName="plant_Core")

    assert answer["tags"] == {}  # the AWS CLI's get-core-device example shows "tags": {}
    assert answer["status"] == "HEALTHY"
    assert answer["lastStatusUpdateTimestamp"] == clock.now()


def test_core_device_timestamps_travel_as_epoch_seconds(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    """The model gives `Timestamp` no format, so rest-json's default applies: a JSON number."""
    seen = datetime(2026, 3, 4, 5, 6, 7, 891_000, tzinfo=UTC)
    v2_sim.register_core_device("plant_Core", last_status_update=seen)
    bodies: list[dict[str, Any]] = []
    v2.meta.events.register(
        "after-call.greengrassv2", lambda http_response, **_: bodies.append(json.loads(http_response.content))
    )

    v2.get_core_device(coreDeviceThingName="plant_Core")
    v2.list_core_devices()

    assert bodies[0]["lastStatusUpdateTimestamp"] == seen.timestamp()
    assert bodies[1]["coreDevices"][0]["lastStatusUpdateTimestamp"] == seen.timestamp()


def test_get_core_device_of_an_unknown_name_is_404_resource_not_found(v2: GreengrassV2Client) -> None:
    status, code, message, response = error_of(lambda: v2.get_core_device(coreDeviceThingName="ghost_Core"))

    assert (status, code) == (404, "ResourceNotFoundException")
    assert "ghost_Core" in message
    # The model's required members of the error shape, parsed by botocore into the response.
    assert response["resourceId"] == "ghost_Core"
    assert response["resourceType"] == "CoreDevice"


@pytest.mark.parametrize(
    "name",
    [pytest.param("a" * 129, id="over-128-characters"), "has/slash", "has space", "dotted.name"],
)
def test_get_core_device_of_a_name_no_thing_can_have_is_400_validation_exception(
    v2: GreengrassV2Client, name: str
) -> None:
    status, code, _, response = error_of(lambda: v2.get_core_device(coreDeviceThingName=name))

    assert (status, code) == (400, "ValidationException")
    assert response["reason"] == "FIELD_VALIDATION_FAILED"
    assert [field["name"] for field in response["fields"]] == ["coreDeviceThingName"]


def test_an_empty_core_device_name_is_refused_by_botocore_before_any_request(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    with pytest.raises(ParamValidationError):
        v2.get_core_device(coreDeviceThingName="")

    assert v2_sim.calls == {}


# --- Greengrass V2: ListCoreDevices --------------------------------------------------------------------


def test_list_core_devices_lists_every_device_in_registration_order_with_the_core_device_members(
    clock: SimulatedClock, v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    for name in ("b_Core", "a_Core", "c_Core"):
        v2_sim.register_core_device(name)

    answer = v2.list_core_devices()

    assert [device["coreDeviceThingName"] for device in answer["coreDevices"]] == [
        "b_Core",
        "a_Core",
        "c_Core",
    ]
    assert answer["coreDevices"][0] == {
        "coreDeviceThingName": "b_Core",
        "status": "HEALTHY",
        "lastStatusUpdateTimestamp": clock.now(),
        "platform": "linux",
        "architecture": "amd64",
        "runtime": "aws_nucleus_classic",
    }
    assert "nextToken" not in answer


def test_list_core_devices_of_an_empty_fleet_is_an_empty_list(v2: GreengrassV2Client) -> None:
    assert v2.list_core_devices()["coreDevices"] == []


def test_list_core_devices_filters_by_status_and_runtime(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    v2_sim.register_core_device("ok_Core")
    v2_sim.register_core_device("sick_Core", status="UNHEALTHY")
    v2_sim.register_core_device("lite_Core", runtime="aws_nucleus_lite")

    def names(**filters: Any) -> list[str]:
        return [d["coreDeviceThingName"] for d in v2.list_core_devices(**filters)["coreDevices"]]

    assert names(status="UNHEALTHY") == ["sick_Core"]
    assert names(status="HEALTHY") == ["ok_Core", "lite_Core"]
    assert names(runtime="aws_nucleus_lite") == ["lite_Core"]


def test_list_core_devices_pages_with_max_results_and_next_token(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    for index in range(5):
        v2_sim.register_core_device(f"core_{index}")

    first = v2.list_core_devices(maxResults=2)
    second = v2.list_core_devices(maxResults=2, nextToken=first["nextToken"])
    third = v2.list_core_devices(maxResults=2, nextToken=second["nextToken"])

    pages = [[d["coreDeviceThingName"] for d in page["coreDevices"]] for page in (first, second, third)]
    assert pages == [["core_0", "core_1"], ["core_2", "core_3"], ["core_4"]]
    assert "nextToken" not in third
    # botocore's paginator (paginators-1.json: nextToken/maxResults/coreDevices) walks the same pages.
    paginated = v2.get_paginator("list_core_devices").paginate(PaginationConfig={"PageSize": 2})
    assert [d["coreDeviceThingName"] for page in paginated for d in page["coreDevices"]] == [
        f"core_{index}" for index in range(5)
    ]


def test_list_core_devices_pages_hold_the_default_number_of_devices(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    for index in range(DEFAULT_PAGE_SIZE + 1):
        v2_sim.register_core_device(f"core_{index}")

    first = v2.list_core_devices()

    assert len(first["coreDevices"]) == DEFAULT_PAGE_SIZE
    assert len(v2.list_core_devices(nextToken=first["nextToken"])["coreDevices"]) == 1


def test_a_device_removed_between_pages_neither_shifts_nor_repeats_the_next_page(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    for index in range(4):
        v2_sim.register_core_device(f"core_{index}")
    first = v2.list_core_devices(maxResults=2)

    v2_sim.remove_core_device("core_0")
    v2_sim.register_core_device("core_4")

    rest = v2.list_core_devices(maxResults=10, nextToken=first["nextToken"])
    assert [d["coreDeviceThingName"] for d in rest["coreDevices"]] == ["core_2", "core_3", "core_4"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        pytest.param({"status": "BROKEN"}, "status", id="status-outside-the-enum"),
        pytest.param({"maxResults": MAX_PAGE_SIZE + 1}, "maxResults", id="max-results-over-100"),
        pytest.param({"nextToken": "not-a-token"}, None, id="next-token-never-issued"),
    ],
)
def test_list_core_devices_refuses_a_bad_parameter_with_400_validation_exception(
    v2: GreengrassV2Client, params: dict[str, Any], field: str | None
) -> None:
    status, code, _, response = error_of(lambda: v2.list_core_devices(**params))

    assert (status, code) == (400, "ValidationException")
    if field is not None:
        assert response["reason"] == "FIELD_VALIDATION_FAILED"
        assert [f["name"] for f in response["fields"]] == [field]


def test_max_results_below_one_is_refused_by_botocore_before_any_request(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    with pytest.raises(ParamValidationError):
        v2.list_core_devices(maxResults=0)

    assert v2_sim.calls == {}


def test_a_next_token_naming_no_position_is_refused(v2: GreengrassV2Client) -> None:
    forged = base64.urlsafe_b64encode(json.dumps({"coreDevices": "x"}).encode()).decode()

    assert error_of(lambda: v2.list_core_devices(nextToken=forged))[:2] == (400, "ValidationException")


# --- Greengrass V2: everything else --------------------------------------------------------------------


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(
            lambda v2: v2.delete_core_device(coreDeviceThingName="plant_Core"), id="DeleteCoreDevice"
        ),
        pytest.param(lambda v2: v2.list_deployments(), id="ListDeployments"),
        pytest.param(
            lambda v2: v2.list_installed_components(coreDeviceThingName="plant_Core"),
            id="ListInstalledComponents",
        ),
        pytest.param(
            lambda v2: v2.list_core_devices(
                thingGroupArn=f"arn:aws:iot:{REGION}:{ACCOUNT}:thinggroup/plants"
            ),
            id="ListCoreDevices-by-thing-group",
        ),
    ],
)
def test_what_the_v2_simulator_does_not_serve_is_501_not_implemented(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client, call: Callable[[GreengrassV2Client], object]
) -> None:
    v2_sim.register_core_device("plant_Core")

    status, code, message, _ = error_of(lambda: call(v2))

    assert (status, code) == (501, "NotImplementedException")
    assert "does not implement" in message
    assert v2_sim.core_device_names() == ["plant_Core"]  # nothing happened


def test_the_v2_simulator_serves_exactly_get_and_list_core_devices() -> None:
    assert SERVED_OPERATIONS == ("GetCoreDevice", "ListCoreDevices")


def test_the_v2_simulator_answers_a_client_for_the_real_endpoint_inside_moto_mock_aws(
    v2_sim: GreengrassV2Simulator,
) -> None:
    """moto has no Greengrass V2 backend; the local runtime runs under `mock_aws()` all the same."""
    v2_sim.register_core_device("plant_Core")
    with mock_aws():
        client = boto3.client("greengrassv2", region_name=REGION)
        v2_sim.attach(client)

        assert client.get_core_device(coreDeviceThingName="plant_Core")["status"] == "HEALTHY"
    assert v2_sim.calls == {"GetCoreDevice": 1}


def test_attach_refuses_a_client_of_another_service(v2_sim: GreengrassV2Simulator) -> None:
    with pytest.raises(ValueError, match="greengrassv2"):
        v2_sim.attach(boto3.client("greengrass", region_name=REGION))


def test_counters_record_calls_and_error_codes(v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client) -> None:
    v2_sim.register_core_device("plant_Core")
    v2.get_core_device(coreDeviceThingName="plant_Core")
    error_of(lambda: v2.get_core_device(coreDeviceThingName="ghost_Core"))
    v2.list_core_devices()

    assert v2_sim.calls == {"GetCoreDevice": 2, "ListCoreDevices": 1}
    assert v2_sim.errors == {"ResourceNotFoundException": 1}


# --- Greengrass V2: fleet helpers ----------------------------------------------------------------------


def test_registering_a_device_again_updates_it_in_place(
    clock: SimulatedClock, v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    v2_sim.register_core_device("a_Core")
    v2_sim.register_core_device("b_Core")
    clock.advance(60)

    v2_sim.register_core_device("a_Core", status="UNHEALTHY")

    assert v2_sim.core_device_names() == ["a_Core", "b_Core"]
    answer = v2.get_core_device(coreDeviceThingName="a_Core")
    assert (answer["status"], answer["lastStatusUpdateTimestamp"]) == ("UNHEALTHY", clock.now())


def test_a_removed_device_is_not_found_any_more(
    v2_sim: GreengrassV2Simulator, v2: GreengrassV2Client
) -> None:
    v2_sim.register_core_device("plant_Core")

    v2_sim.remove_core_device("plant_Core")

    assert v2_sim.core_device_names() == []
    assert (
        error_of(lambda: v2.get_core_device(coreDeviceThingName="plant_Core"))[1]
        == "ResourceNotFoundException"
    )
    with pytest.raises(KeyError):
        v2_sim.remove_core_device("plant_Core")
    with pytest.raises(KeyError):
        v2_sim.core_device("plant_Core")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        pytest.param({"thing_name": "bad name"}, "thing name", id="invalid-name"),
        pytest.param({"thing_name": "ok", "status": "BROKEN"}, "status", id="invalid-status"),
        pytest.param(
            {"thing_name": "ok", "last_status_update": datetime(2026, 1, 1)}, "timezone", id="naive-time"
        ),
    ],
)
def test_register_core_device_refuses_what_aws_could_not_hold(
    v2_sim: GreengrassV2Simulator, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        v2_sim.register_core_device(**kwargs)
    assert v2_sim.core_device_names() == []


# --- MotoCoreIdentities ------------------------------------------------------------------------------


def test_provision_creates_the_thing_with_an_active_certificate_and_the_core_policy_attached(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    thing_arn, certificate_arn = identities.provision("plant_Core")

    assert thing_arn == iot.describe_thing(thingName="plant_Core")["thingArn"]
    assert thing_arn == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/plant_Core"
    assert certificate_arn.startswith(f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/")
    assert identities.thing_exists("plant_Core")
    assert identities.certificate_exists(certificate_arn)
    assert identities.certificate_status(certificate_arn) == "ACTIVE"
    assert identities.principals_of("plant_Core") == [certificate_arn]
    assert identities.things_of(certificate_arn) == ["plant_Core"]
    assert (
        identities.policies_of(certificate_arn) == ["plant_Core-policy"] == [core_policy_name("plant_Core")]
    )
    assert json.loads(iot.get_policy(policyName="plant_Core-policy")["policyDocument"]) == json.loads(
        CORE_POLICY_DOCUMENT
    )


def test_provisioning_an_existing_thing_again_keeps_it_and_adds_a_second_certificate(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    _, first = identities.provision("plant_Core")
    thing_id = iot.describe_thing(thingName="plant_Core")["thingId"]

    _, second = identities.provision("plant_Core")

    assert iot.describe_thing(thingName="plant_Core")["thingId"] == thing_id
    assert second != first
    assert sorted(identities.principals_of("plant_Core")) == sorted([first, second])
    assert identities.policies_of(second) == ["plant_Core-policy"]  # the one policy, attached to both


def test_share_certificate_attaches_the_same_certificate_to_a_second_thing(
    identities: MotoCoreIdentities,
) -> None:
    _, certificate_arn = identities.provision("plant_Core")

    other_arn = identities.share_certificate(certificate_arn, "sensor_7")

    assert other_arn == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/sensor_7"
    assert sorted(identities.things_of(certificate_arn)) == ["plant_Core", "sensor_7"]
    assert identities.principals_of("sensor_7") == [certificate_arn]


def test_read_helpers_report_absence_rather_than_fail(identities: MotoCoreIdentities) -> None:
    unknown_certificate = f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{UNKNOWN_CERTIFICATE_ID}"

    assert not identities.thing_exists("ghost_Core")
    assert identities.principals_of("ghost_Core") == []
    assert identities.certificate_status(unknown_certificate) is None
    assert not identities.certificate_exists(unknown_certificate)
    assert identities.policies_of(unknown_certificate) == []
    assert identities.things_of(unknown_certificate) == []
    assert not identities.policy_exists("ghost_Core-policy")


def test_motocoreidentities_refuses_a_client_of_another_service() -> None:
    with pytest.raises(ValueError, match="iot"):
        MotoCoreIdentities(boto3.client("greengrass", region_name=REGION))  # type: ignore[arg-type]


def test_core_policy_is_named_like_the_v1_consoles_per_core_policy() -> None:
    assert core_policy_name("MyPiGroup_Core") == "MyPiGroup_Core-policy"


# --- the V1 simulator with identities ------------------------------------------------------------------


def core_definition_version_through_the_v1_api(gg: GreengrassClient, group_id: str) -> dict[str, Any]:
    """GetGroup -> LatestVersion -> GetGroupVersion -> CoreDefinitionVersionArn -> GetCoreDefinitionVersion:
    what a teardown reads to find the core's thing and certificate."""
    group = gg.get_group(GroupId=group_id)
    version = gg.get_group_version(GroupId=group_id, GroupVersionId=group["LatestVersion"])
    arn = version["Definition"]["CoreDefinitionVersionArn"]
    # arn:aws:greengrass:<region>:<account>:/greengrass/definition/cores/<id>/versions/<version id>
    parts = arn.split("/")
    definition_id, version_id = parts[parts.index("cores") + 1], parts[parts.index("versions") + 1]
    return dict(
        gg.get_core_definition_version(CoreDefinitionId=definition_id, CoreDefinitionVersionId=version_id)
    )


def test_with_identities_a_groups_core_definition_version_names_the_provisioned_thing_and_certificate(
    clock: SimulatedClock, published: list[dict[str, Any]], identities: MotoCoreIdentities
) -> None:
    sim = GreengrassSimulator(
        clock, published.extend, rng=random.Random(7), account=ACCOUNT, region=REGION, identities=identities
    )
    group_id = sim.add_group(name="plant")

    cores = core_definition_version_through_the_v1_api(sim.client(), group_id)["Definition"]["Cores"]

    assert len(cores) == 1
    thing_arn, certificate_arn = cores[0]["ThingArn"], cores[0]["CertificateArn"]
    assert thing_arn == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/plant_Core"
    assert identities.thing_exists("plant_Core")
    assert identities.certificate_status(certificate_arn) == "ACTIVE"
    assert identities.principals_of("plant_Core") == [certificate_arn]
    assert identities.policies_of(certificate_arn) == ["plant_Core-policy"]
    core = sim.core_thing(group_id)
    assert (core.thing_name, core.thing_arn, core.certificate_arn) == (
        "plant_Core",
        thing_arn,
        certificate_arn,
    )
    assert core.certificate_id == certificate_id(certificate_arn)


def test_identities_change_no_id_of_a_seeded_fleet(
    clock: SimulatedClock, published: list[dict[str, Any]], identities: MotoCoreIdentities
) -> None:
    """The fake certificate id is still drawn with identities, so group, definition and version ids (and the
    core's `Id`) of a seed are the same with and without them; only the two ARNs differ."""

    def fleet(**kwargs: Any) -> tuple[GreengrassSimulator, list[str]]:
        sim = GreengrassSimulator(
            clock, published.extend, rng=random.Random(11), account=ACCOUNT, region=REGION, **kwargs
        )
        return sim, [sim.add_group(name=f"g{index}") for index in range(3)]

    plain, plain_ids = fleet()
    provisioned, provisioned_ids = fleet(identities=identities)

    assert provisioned_ids == plain_ids
    for group_id in plain_ids:
        before, after = plain.core_thing(group_id), provisioned.core_thing(group_id)
        assert (after.core_definition_id, after.core_definition_version_id, after.thing_arn) == (
            before.core_definition_id,
            before.core_definition_version_id,
            before.thing_arn,
        )
        assert after.certificate_arn != before.certificate_arn
        assert identities.certificate_exists(after.certificate_arn)
        assert not identities.certificate_exists(before.certificate_arn)  # made up, as before
        plain_core = plain.group_definitions(group_id)["Core"]
        provisioned_core = provisioned.group_definitions(group_id)["Core"]
        assert (plain_core.definition_id, plain_core.version_id) == (
            provisioned_core.definition_id,
            provisioned_core.version_id,
        )


def test_without_identities_the_fleet_names_made_up_arns_as_before(
    clock: SimulatedClock, published: list[dict[str, Any]]
) -> None:
    sim = GreengrassSimulator(clock, published.extend, rng=random.Random(42), account=ACCOUNT, region=REGION)

    core = sim.core_thing(sim.add_group(name="plant"))

    assert core.thing_arn == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/plant_Core"
    assert core.certificate_arn == f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{core.certificate_id}"
    assert len(core.certificate_id) == 64
    int(core.certificate_id, 16)


def test_a_v1_core_migrated_to_v2_is_its_v1_thing_as_a_core_device(
    clock: SimulatedClock,
    published: list[dict[str, Any]],
    identities: MotoCoreIdentities,
    v2_sim: GreengrassV2Simulator,
    v2: GreengrassV2Client,
) -> None:
    """The "migrated to V2" selection: a V1 group whose core thing now answers `GetCoreDevice`."""
    sim = GreengrassSimulator(
        clock, published.extend, rng=random.Random(3), account=ACCOUNT, region=REGION, identities=identities
    )
    migrated, legacy = sim.add_group(name="migrated"), sim.add_group(name="legacy")
    v2_sim.register_core_device(sim.core_thing(migrated).thing_name)

    assert v2.get_core_device(coreDeviceThingName=sim.core_thing(migrated).thing_name)["status"] == "HEALTHY"
    legacy_thing = sim.core_thing(legacy).thing_name
    assert error_of(lambda: v2.get_core_device(coreDeviceThingName=legacy_thing))[:2] == (
        404,
        "ResourceNotFoundException",
    )


# --- moto's AWS IoT: the facts a teardown depends on ---------------------------------------------------


def test_delete_certificate_of_an_active_certificate_is_406_certificate_state_exception(
    iot: IoTClient,
) -> None:
    created = iot.create_keys_and_certificate(setAsActive=True)

    status, code, message, _ = error_of(
        lambda: iot.delete_certificate(certificateId=created["certificateId"])
    )

    assert (status, code) == (406, "CertificateStateException")
    assert (
        message
        == f"Certificate must be deactivated (not ACTIVE) before deletion. Id: {created['certificateId']}"
    )


def test_an_active_certificate_still_attached_fails_on_its_state_first(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    _, certificate_arn = identities.provision("plant_Core")

    status, code, _, _ = error_of(
        lambda: iot.delete_certificate(certificateId=certificate_id(certificate_arn))
    )

    assert (status, code) == (406, "CertificateStateException")


def test_delete_certificate_still_attached_to_a_thing_is_409_delete_conflict_even_with_force_delete(
    iot: IoTClient,
) -> None:
    certificate_arn, cert_id = inactive_certificate(iot)
    iot.create_thing(thingName="plant_Core")
    iot.attach_thing_principal(thingName="plant_Core", principal=certificate_arn)

    for force in (False, True):
        status, code, message, _ = error_of(
            partial(iot.delete_certificate, certificateId=cert_id, forceDelete=force)
        )
        assert (status, code) == (409, "DeleteConflictException")
        assert message == f"Things must be detached before deletion (arn: {certificate_arn})"


def test_delete_certificate_with_a_policy_attached_is_409_delete_conflict_unless_force_delete(
    iot: IoTClient,
) -> None:
    certificate_arn, cert_id = inactive_certificate(iot)
    iot.create_policy(policyName="p", policyDocument=CORE_POLICY_DOCUMENT)
    iot.attach_policy(policyName="p", target=certificate_arn)

    status, code, message, _ = error_of(lambda: iot.delete_certificate(certificateId=cert_id))
    assert (status, code) == (409, "DeleteConflictException")
    assert message == f"Certificate policies must be detached before deletion (arn: {certificate_arn})"

    iot.delete_certificate(certificateId=cert_id, forceDelete=True)  # "inactive and not attached to a thing"
    assert error_of(lambda: iot.describe_certificate(certificateId=cert_id))[1] == "ResourceNotFoundException"


def test_detach_policy_that_is_not_attached_is_404_resource_not_found(iot: IoTClient) -> None:
    certificate_arn, _ = inactive_certificate(iot)
    iot.create_policy(policyName="p", policyDocument=CORE_POLICY_DOCUMENT)

    status, code, _, _ = error_of(lambda: iot.detach_policy(policyName="p", target=certificate_arn))

    assert (status, code) == (404, "ResourceNotFoundException")


def test_detach_policy_twice_is_404_resource_not_found_the_second_time(iot: IoTClient) -> None:
    certificate_arn, _ = inactive_certificate(iot)
    iot.create_policy(policyName="p", policyDocument=CORE_POLICY_DOCUMENT)
    iot.attach_policy(policyName="p", target=certificate_arn)

    iot.detach_policy(policyName="p", target=certificate_arn)

    assert error_of(lambda: iot.detach_policy(policyName="p", target=certificate_arn))[:2] == (
        404,
        "ResourceNotFoundException",
    )


def test_detach_thing_principal_that_is_not_attached_is_404_resource_not_found(iot: IoTClient) -> None:
    certificate_arn, _ = inactive_certificate(iot)
    iot.create_thing(thingName="plant_Core")

    status, code, _, _ = error_of(
        lambda: iot.detach_thing_principal(thingName="plant_Core", principal=certificate_arn)
    )

    assert (status, code) == (404, "ResourceNotFoundException")


def test_detach_thing_principal_of_an_unknown_thing_is_404_resource_not_found(iot: IoTClient) -> None:
    certificate_arn, _ = inactive_certificate(iot)

    status, code, _, _ = error_of(
        lambda: iot.detach_thing_principal(thingName="ghost_Core", principal=certificate_arn)
    )

    assert (status, code) == (404, "ResourceNotFoundException")


def test_update_certificate_to_inactive_twice_succeeds(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    _, certificate_arn = identities.provision("plant_Core")

    iot.update_certificate(certificateId=certificate_id(certificate_arn), newStatus="INACTIVE")
    iot.update_certificate(certificateId=certificate_id(certificate_arn), newStatus="INACTIVE")

    assert identities.certificate_status(certificate_arn) == "INACTIVE"


def test_update_certificate_of_an_unknown_id_is_404_resource_not_found(iot: IoTClient) -> None:
    assert error_of(
        lambda: iot.update_certificate(certificateId=UNKNOWN_CERTIFICATE_ID, newStatus="INACTIVE")
    )[:2] == (404, "ResourceNotFoundException")


def test_delete_certificate_of_an_unknown_id_is_404_resource_not_found(iot: IoTClient) -> None:
    status, code, message, _ = error_of(lambda: iot.delete_certificate(certificateId=UNKNOWN_CERTIFICATE_ID))

    assert (status, code, message) == (
        404,
        "ResourceNotFoundException",
        "The specified resource does not exist",
    )


def test_delete_thing_of_an_unknown_thing_is_404_in_moto_where_aws_documents_success(iot: IoTClient) -> None:
    """AWS: "Returns successfully with no error if the deletion is successful or you specify a thing that
    doesn't exist." moto answers 404, so a teardown must read that 404 as "already gone"."""
    status, code, _, _ = error_of(lambda: iot.delete_thing(thingName="ghost_Core"))

    assert (status, code) == (404, "ResourceNotFoundException")


def test_delete_thing_with_a_principal_attached_is_409_invalid_request_exception(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    """AWS documents `InvalidRequestException` as a 400; moto sends the same code and message with 409."""
    identities.provision("plant_Core")

    status, code, message, _ = error_of(lambda: iot.delete_thing(thingName="plant_Core"))

    assert (status, code) == (409, "InvalidRequestException")
    assert message == "Cannot delete. Thing plant_Core is still attached to one or more principals"
    assert identities.thing_exists("plant_Core")


def test_delete_policy_still_attached_is_409_delete_conflict(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    identities.provision("plant_Core")

    status, code, _, _ = error_of(lambda: iot.delete_policy(policyName="plant_Core-policy"))

    assert (status, code) == (409, "DeleteConflictException")


def test_list_principal_things_answers_thing_names(iot: IoTClient, identities: MotoCoreIdentities) -> None:
    _, certificate_arn = identities.provision("plant_Core")
    identities.share_certificate(certificate_arn, "sensor_7")

    answer = iot.list_principal_things(principal=certificate_arn)

    assert {key for key in answer if key != "ResponseMetadata"} == {"things"}  # one page: no nextToken
    assert sorted(answer["things"]) == ["plant_Core", "sensor_7"]


def test_list_principal_things_of_an_unknown_certificate_is_an_empty_list(iot: IoTClient) -> None:
    unknown = f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{UNKNOWN_CERTIFICATE_ID}"

    assert iot.list_principal_things(principal=unknown)["things"] == []


def test_list_thing_principals_answers_certificate_arns(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    _, certificate_arn = identities.provision("plant_Core")

    answer = iot.list_thing_principals(thingName="plant_Core")

    assert {key for key in answer if key != "ResponseMetadata"} == {"principals"}
    assert answer["principals"] == [certificate_arn]


def test_list_thing_principals_of_an_unknown_thing_is_404_resource_not_found(iot: IoTClient) -> None:
    status, code, message, _ = error_of(lambda: iot.list_thing_principals(thingName="ghost_Core"))

    assert (status, code) == (404, "ResourceNotFoundException")
    assert message == (
        "Failed to list principals for thing ghost_Core because the thing does not exist in your account"
    )


def test_create_thing_of_an_existing_name_succeeds_with_a_new_thing_id_in_moto(iot: IoTClient) -> None:
    """AWS: the same name and configuration "will succeed" (the existing thing); moto replaces the thing."""
    first = iot.create_thing(thingName="plant_Core")

    second = iot.create_thing(thingName="plant_Core")

    assert second["thingArn"] == first["thingArn"]
    assert second["thingId"] != first["thingId"]


def test_the_documented_teardown_order_removes_a_core_completely(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    """DeleteCertificate's documentation: detach the policies, set INACTIVE, (detach the thing), delete; then
    the thing has no principal and can go, and the policy, attached to nothing, too."""
    _, certificate_arn = identities.provision("plant_Core")
    cert_id = certificate_id(certificate_arn)

    iot.detach_policy(policyName="plant_Core-policy", target=certificate_arn)
    iot.detach_thing_principal(thingName="plant_Core", principal=certificate_arn)
    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")
    iot.delete_certificate(certificateId=cert_id)
    iot.delete_thing(thingName="plant_Core")
    iot.delete_policy(policyName="plant_Core-policy")

    assert not identities.thing_exists("plant_Core")
    assert not identities.certificate_exists(certificate_arn)
    assert not identities.policy_exists("plant_Core-policy")


def test_a_certificate_shared_with_another_thing_still_blocks_its_deletion_after_the_core_lets_go(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    """Detaching the core's thing is not enough when another thing uses the certificate: it stays attached,
    and DeleteCertificate refuses (so a teardown must check ListPrincipalThings and keep it)."""
    _, certificate_arn = identities.provision("plant_Core")
    identities.share_certificate(certificate_arn, "sensor_7")
    cert_id = certificate_id(certificate_arn)
    iot.detach_policy(policyName="plant_Core-policy", target=certificate_arn)
    iot.detach_thing_principal(thingName="plant_Core", principal=certificate_arn)
    iot.update_certificate(certificateId=cert_id, newStatus="INACTIVE")

    assert error_of(lambda: iot.delete_certificate(certificateId=cert_id))[:2] == (
        409,
        "DeleteConflictException",
    )
    assert identities.things_of(certificate_arn) == ["sensor_7"]


def test_a_deleted_certificate_can_be_deleted_no_more_than_a_never_issued_one(iot: IoTClient) -> None:
    _, cert_id = inactive_certificate(iot)
    iot.delete_certificate(certificateId=cert_id)

    assert error_of(lambda: iot.delete_certificate(certificateId=cert_id))[:2] == (
        404,
        "ResourceNotFoundException",
    )


def test_describe_certificate_reports_the_status_a_teardown_set(
    iot: IoTClient, identities: MotoCoreIdentities
) -> None:
    _, certificate_arn = identities.provision("plant_Core")
    iot.update_certificate(certificateId=certificate_id(certificate_arn), newStatus="REVOKED")

    assert identities.certificate_status(certificate_arn) == "REVOKED"
    # A status change does not detach anything.
    assert identities.principals_of("plant_Core") == [certificate_arn]
    assert identities.policies_of(certificate_arn) == ["plant_Core-policy"]


def test_the_simulated_clock_is_not_moved_by_iot_or_v2_calls(
    clock: SimulatedClock,
    v2_sim: GreengrassV2Simulator,
    v2: GreengrassV2Client,
    identities: MotoCoreIdentities,
) -> None:
    start = clock.now()
    identities.provision("plant_Core")
    v2_sim.register_core_device("plant_Core", last_status_update=start - timedelta(days=1))
    v2.get_core_device(coreDeviceThingName="plant_Core")

    assert clock.now() == start
