"""The simulator models Greengrass V1 definitions and group versions as AWS documents them.

Every check goes through a real boto3 client (`sim.client()`), so paths, labels, string `MaxResults` and
error parsing are the SDK's own. The `*_like_moto` tests run the same calls against moto's Greengrass
backend (whose authors recorded AWS's answers) and pin where moto differs: its slips are asserted as moto's
answers, so a moto that changes shows up here (and in docs/greengrass-v1.md, "Definitions and group
versions"). Facts and decisions: that section, and the module docstring of `gg_reset.local.greengrass_sim`.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_http import SUPPORTED_OPERATIONS
from gg_reset.local.greengrass_sim import (
    DEFAULT_PAGE_SIZE,
    DEFINITION_KINDS,
    DEFINITION_OPERATIONS,
    DefinitionKind,
    GreengrassSimulator,
)

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

ACCOUNT = "123456789012"
REGION = "us-east-1"
UNKNOWN = "00000000-0000-4000-8000-00000000dead"
LAMBDA_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:relay:1"
THING_ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/edge_Core"
CERT_ARN = f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{'ab' * 32}"

MakeSim = Callable[..., GreengrassSimulator]

ITEMS: dict[str, list[dict[str, Any]]] = {
    "Core": [{"Id": "core-1", "ThingArn": THING_ARN, "CertificateArn": CERT_ARN, "SyncShadow": True}],
    "Device": [{"Id": "dev-1", "ThingArn": THING_ARN, "CertificateArn": CERT_ARN, "SyncShadow": False}],
    "Function": [
        {
            "Id": "fn-1",
            "FunctionArn": LAMBDA_ARN,
            "FunctionConfiguration": {"Pinned": False, "Timeout": 3, "MemorySize": 16384},
        }
    ],
    "Subscription": [{"Id": "sub-1", "Source": "cloud", "Subject": "hello/world", "Target": LAMBDA_ARN}],
    "Logger": [
        {"Id": "log-1", "Component": "GreengrassSystem", "Level": "INFO", "Type": "FileSystem", "Space": 128}
    ],
    "Resource": [
        {
            "Id": "res-1",
            "Name": "tmp",
            "ResourceDataContainer": {
                "LocalVolumeResourceData": {"SourcePath": "/tmp", "DestinationPath": "/tmp"}
            },
        }
    ],
    "Connector": [
        {
            "Id": "con-1",
            "ConnectorArn": f"arn:aws:greengrass:{REGION}::/connectors/TwilioNotifications/versions/1",
            "Parameters": {"DefaultFromPhoneNumber": "+15555550100"},
        }
    ],
}
"""One valid item per kind (the Model's required members, values moto accepts)."""

KINDS = {kind.name: kind for kind in DEFINITION_KINDS}
MOTO_KINDS = ("Core", "Device", "Function", "Subscription", "Resource")
"""moto 5.2 serves no Logger or Connector definition operation (404 "Not yet implemented")."""


# --- fixtures and helpers ----------------------------------------------------------------------------


@pytest.fixture
def moto_gg() -> Iterator[GreengrassClient]:
    with mock_aws():
        yield boto3.client("greengrass", region_name=REGION)


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator never sleeps; neither may botocore on its behalf (retries are off by default)."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called during a simulator test")

    monkeypatch.setattr(time, "sleep", refuse)


def api(gg: GreengrassClient, template: str, kind: DefinitionKind, **params: Any) -> dict[str, Any]:
    """Call the boto3 method `template` (`get_{}_definition`) for `kind`, with the kind's id labels
    (`Id=`, `VersionId=`) spelled as the operation wants them (`CoreDefinitionId=`, ...)."""
    labels = {"Id": f"{kind.name}DefinitionId", "VersionId": f"{kind.name}DefinitionVersionId"}
    named = {labels.get(key, key): value for key, value in params.items()}
    response: dict[str, Any] = getattr(gg, template.format(kind.name.lower()))(**named)
    response.pop("ResponseMetadata", None)
    return response


def error_of(error: ClientError) -> tuple[int, str, str]:
    response = error.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def answer_of(call: Callable[[], object]) -> tuple[object, ...]:
    """What a call answered: `("ok",)`, `(status, code, message)`, or `("raised", exception type)` (moto
    lets some backend crashes escape the boto3 call)."""
    try:
        call()
    except ClientError as error:
        return error_of(error)
    except Exception as error:  # moto's crashes are part of what is pinned here
        return ("raised", type(error).__name__)
    return ("ok",)


def initial(kind_name: str, **extra: Any) -> Any:
    """An `InitialVersion` of `kind_name` holding its `ITEMS` (typed `Any`: the stubs' TypedDicts are stricter
    than the JSON the API takes)."""
    return {KINDS[kind_name].items: ITEMS[kind_name], **extra}


def create(gg: GreengrassClient, kind: DefinitionKind, name: str = "defs", **extra: Any) -> dict[str, Any]:
    return api(
        gg, "create_{}_definition", kind, Name=name, InitialVersion={kind.items: ITEMS[kind.name]}, **extra
    )


def definition_arn_pattern(kind: DefinitionKind, *, moto: bool = False) -> str:
    # moto's ARNs lack the "/" after the account that AWS's have (the CLI reference's examples).
    slash = "" if moto else "/"
    return rf"arn:aws:greengrass:{REGION}:{ACCOUNT}:{slash}greengrass/definition/{kind.path}/[0-9a-f-]{{36}}"


def core_version_arn(sim: GreengrassSimulator) -> str:
    """A live core definition version (a fleet group's) to build group versions from."""
    return sim.group_definitions(sim.add_group(deployed=False))["Core"].version_arn


all_kinds = pytest.mark.parametrize("kind", DEFINITION_KINDS, ids=lambda k: k.name)
moto_kinds = pytest.mark.parametrize("kind", [KINDS[name] for name in MOTO_KINDS], ids=lambda k: k.name)


# --- plumbing ----------------------------------------------------------------------------------------


def test_every_supported_operation_has_a_handler_and_every_definition_operation_is_routed() -> None:
    families = set(DEFINITION_OPERATIONS)
    assert len(families) == 7 * 8
    assert families <= set(SUPPORTED_OPERATIONS)
    for operation in SUPPORTED_OPERATIONS:
        assert operation in families or callable(getattr(GreengrassSimulator, f"_op_{operation}", None)), (
            operation
        )
    assert {"CreateGroupVersion", "GetGroupVersion", "ListGroupVersions"} <= set(SUPPORTED_OPERATIONS)


# --- the seven definition types ----------------------------------------------------------------------


@all_kinds
def test_definition_create_get_list_update_delete(
    sim: GreengrassSimulator, gg: GreengrassClient, kind: DefinitionKind
) -> None:
    created = create(gg, kind, "first", tags={"team": "edge"})
    definition_id = created["Id"]
    assert re.fullmatch(definition_arn_pattern(kind), created["Arn"])
    assert created["Arn"].endswith(f"/{definition_id}")
    assert created["LatestVersionArn"] == f"{created['Arn']}/versions/{created['LatestVersion']}"
    assert created["Name"] == "first"

    got = api(gg, "get_{}_definition", kind, Id=definition_id)
    assert got == {**created, "tags": {"team": "edge"}}
    listed = api(gg, "list_{}_definitions", kind)["Definitions"]
    assert [d["Id"] for d in listed] == [definition_id]
    assert listed[0]["Tags"] == {"team": "edge"}  # the Model's `Tags`, sent as `tags`

    sim.advance(60)
    assert api(gg, "update_{}_definition", kind, Id=definition_id, Name="renamed") == {}
    renamed = api(gg, "get_{}_definition", kind, Id=definition_id)
    assert renamed["Name"] == "renamed"
    assert renamed["LastUpdatedTimestamp"] > renamed["CreationTimestamp"]
    assert renamed["LatestVersion"] == created["LatestVersion"]

    assert api(gg, "delete_{}_definition", kind, Id=definition_id) == {}
    with pytest.raises(ClientError) as excinfo:
        api(gg, "get_{}_definition", kind, Id=definition_id)
    assert error_of(excinfo.value) == (
        404,
        "IdNotFoundException",
        f"That {kind.list_label} List Definition does not exist.",
    )
    assert api(gg, "list_{}_definitions", kind)["Definitions"] == []
    assert not sim.definition_exists(kind.name, definition_id)


@all_kinds
def test_definition_versions_are_created_got_and_listed_newest_first(
    sim: GreengrassSimulator, gg: GreengrassClient, kind: DefinitionKind
) -> None:
    empty = api(gg, "create_{}_definition", kind, Name="empty")
    assert (
        "LatestVersion" not in empty and "LatestVersionArn" not in empty
    )  # the CLI's create-core-definition
    versions = []
    for _ in range(3):
        sim.advance(1)
        version = api(
            gg, "create_{}_definition_version", kind, Id=empty["Id"], **{kind.items: ITEMS[kind.name]}
        )
        assert set(version) == {"Arn", "CreationTimestamp", "Id", "Version"}
        assert version["Id"] == empty["Id"]
        assert version["Arn"] == f"{empty['Arn']}/versions/{version['Version']}"
        versions.append(version)
        latest = api(gg, "get_{}_definition", kind, Id=empty["Id"])
        assert (latest["LatestVersion"], latest["LatestVersionArn"]) == (version["Version"], version["Arn"])
        assert latest["LastUpdatedTimestamp"] == empty["LastUpdatedTimestamp"]  # a new version is no update

    got = api(gg, "get_{}_definition_version", kind, Id=empty["Id"], VersionId=versions[0]["Version"])
    assert got == {**versions[0], "Definition": {kind.items: ITEMS[kind.name]}}

    paginator = gg.get_paginator(f"list_{kind.name.lower()}_definition_versions")  # type: ignore[call-overload]
    pages = list(
        paginator.paginate(**{f"{kind.name}DefinitionId": empty["Id"]}, PaginationConfig={"PageSize": 2})
    )
    assert [len(page["Versions"]) for page in pages] == [2, 1]
    listed = [v for page in pages for v in page["Versions"]]
    assert listed == versions[::-1]


def test_core_definition_version_items_carry_id_thing_arn_certificate_arn_and_sync_shadow(
    gg: GreengrassClient,
) -> None:
    core = gg.create_core_definition(Name="edge_Core", InitialVersion=initial("Core"))
    version = gg.get_core_definition_version(
        CoreDefinitionId=core["Id"], CoreDefinitionVersionId=core["LatestVersion"]
    )
    assert version["Definition"]["Cores"] == [
        {"Id": "core-1", "ThingArn": THING_ARN, "CertificateArn": CERT_ARN, "SyncShadow": True}
    ]


def test_function_definition_version_keeps_its_default_config(gg: GreengrassClient) -> None:
    default = {"Execution": {"IsolationMode": "NoContainer", "RunAs": {"Uid": 0, "Gid": 0}}}
    created = gg.create_function_definition(
        Name="fns",
        InitialVersion=initial("Function", DefaultConfig=default),
    )
    version = gg.get_function_definition_version(
        FunctionDefinitionId=created["Id"], FunctionDefinitionVersionId=created["LatestVersion"]
    )
    assert version["Definition"] == {"Functions": ITEMS["Function"], "DefaultConfig": default}


def test_a_definition_version_item_missing_a_member_the_model_requires_is_a_bad_request(
    sim: GreengrassSimulator,
) -> None:
    # botocore refuses this before sending; a client that does not validate reaches the server's check.
    raw = sim.client(config=Config(parameter_validation=False, retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as excinfo:
        raw.create_core_definition(Name="c", InitialVersion=cast(Any, {"Cores": [{"Id": "core-1"}]}))
    assert error_of(excinfo.value) == (
        400,
        "BadRequestException",
        "Cores[0] is missing the following required parameter(s): {CertificateArn,ThingArn}.",
    )
    assert sim.definition_ids("Core") == []


@all_kinds
def test_update_definition_without_a_name_is_refused_like_moto(
    gg: GreengrassClient, kind: DefinitionKind
) -> None:
    created = create(gg, kind)
    with pytest.raises(ClientError) as excinfo:
        api(gg, "update_{}_definition", kind, Id=created["Id"], Name="")
    assert error_of(excinfo.value) == (
        400,
        "InvalidContainerDefinitionException",
        "Input does not contain any attributes to be updated",
    )


UNKNOWN_DEFINITION_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("get_{}_definition", {"Id": UNKNOWN}),
    ("update_{}_definition", {"Id": UNKNOWN, "Name": "n"}),
    ("delete_{}_definition", {"Id": UNKNOWN}),
    ("create_{}_definition_version", {"Id": UNKNOWN}),
    ("get_{}_definition_version", {"Id": UNKNOWN, "VersionId": UNKNOWN}),
    ("list_{}_definition_versions", {"Id": UNKNOWN}),
]


def unknown_definition_answer(template: str, kind: DefinitionKind) -> tuple[int, str, str]:
    if template == "get_{}_definition":
        return (404, "IdNotFoundException", f"That {kind.list_label} List Definition does not exist.")
    return (404, "IdNotFoundException", f"That {kind.noun} definition does not exist.")


@all_kinds
@pytest.mark.parametrize(
    ("template", "params"), UNKNOWN_DEFINITION_CALLS, ids=[c[0] for c in UNKNOWN_DEFINITION_CALLS]
)
def test_unknown_definition_answers_with_the_code_and_message_of_its_operation(
    gg: GreengrassClient, kind: DefinitionKind, template: str, params: dict[str, Any]
) -> None:
    answer = answer_of(lambda: api(gg, template, kind, **params))
    assert answer == unknown_definition_answer(template, kind)


@all_kinds
def test_unknown_definition_version_is_version_not_found(gg: GreengrassClient, kind: DefinitionKind) -> None:
    created = create(gg, kind)
    answer = answer_of(
        lambda: api(gg, "get_{}_definition_version", kind, Id=created["Id"], VersionId=UNKNOWN)
    )
    assert answer == (
        404,
        "VersionNotFoundException",
        f"Version {UNKNOWN} of {kind.list_label} List Definition {created['Id']} does not exist.",
    )


MOTO_UNKNOWN_DEFINITION_SLIPS: dict[tuple[str, str], tuple[object, ...]] = {
    ("Core", "get_{}_definition"): (404, "IdNotFoundException", "That Core List Definition does not exist"),
    ("Core", "create_{}_definition_version"): ("raised", "KeyError"),
    ("Function", "create_{}_definition_version"): (
        404,
        "IdNotFoundException",
        "That lambdas does not exist.",
    ),
    ("Resource", "create_{}_definition_version"): (
        404,
        "IdNotFoundException",
        "That resource definition does not exist.",
    ),
    ("Subscription", "create_{}_definition_version"): (
        404,
        "IdNotFoundException",
        "That subscriptions does not exist.",
    ),
}
"""Where moto's answer to an unknown definition is a slip the simulator does not copy (its message lacks a
period or names the wrong noun; it crashes on an unknown core definition)."""


@moto_kinds
@pytest.mark.parametrize(
    ("template", "params"), UNKNOWN_DEFINITION_CALLS, ids=[c[0] for c in UNKNOWN_DEFINITION_CALLS]
)
def test_unknown_definition_errors_match_moto(
    moto_gg: GreengrassClient, kind: DefinitionKind, template: str, params: dict[str, Any]
) -> None:
    if template == "create_{}_definition_version":
        params = {**params, kind.items: ITEMS[kind.name]}
    moto_answer = answer_of(lambda: api(moto_gg, template, kind, **params))
    expected = MOTO_UNKNOWN_DEFINITION_SLIPS.get(
        (kind.name, template), unknown_definition_answer(template, kind)
    )
    assert moto_answer == expected


@moto_kinds
def test_unknown_definition_version_matches_moto(moto_gg: GreengrassClient, kind: DefinitionKind) -> None:
    created = create(moto_gg, kind)
    answer = answer_of(
        lambda: api(moto_gg, "get_{}_definition_version", kind, Id=created["Id"], VersionId=UNKNOWN)
    )
    code = "IdNotFoundException" if kind.name == "Function" else "VersionNotFoundException"  # moto's slip
    message = f"Version {UNKNOWN} of {kind.list_label} List Definition {created['Id']} does not exist."
    assert answer == (404, code, message)


@moto_kinds
def test_definition_lifecycle_answers_like_moto(
    gg: GreengrassClient, moto_gg: GreengrassClient, kind: DefinitionKind
) -> None:
    def run(client: GreengrassClient) -> dict[str, Any]:
        created = create(client, kind, "shared")
        version = api(
            client, "create_{}_definition_version", kind, Id=created["Id"], **{kind.items: ITEMS[kind.name]}
        )
        got = api(client, "get_{}_definition", kind, Id=created["Id"])
        got_version = api(
            client, "get_{}_definition_version", kind, Id=created["Id"], VersionId=version["Version"]
        )
        listed = api(client, "list_{}_definition_versions", kind, Id=created["Id"])["Versions"]
        update = api(client, "update_{}_definition", kind, Id=created["Id"], Name="renamed")
        renamed = api(client, "get_{}_definition", kind, Id=created["Id"])["Name"]
        deleted = api(client, "delete_{}_definition", kind, Id=created["Id"])
        return {
            "created": sorted(created),
            "got": sorted(got),
            "latest_is_new_version": got["LatestVersion"] == version["Version"],
            "version": sorted(version),
            "got_version": sorted(got_version),
            "items": got_version["Definition"][kind.items],
            "listed": sorted(v["Version"] for v in listed)
            == sorted([created["LatestVersion"], version["Version"]]),
            "update": update,
            "renamed": renamed,
            "deleted": deleted,
            "listed_after_delete": api(client, "list_{}_definitions", kind)["Definitions"],
        }

    simulated, moto = run(gg), run(moto_gg)
    if kind.name == "Subscription":
        # moto's slip: a new subscription definition version does not become the LatestVersion.
        assert moto.pop("latest_is_new_version") is False
        simulated.pop("latest_is_new_version")
    assert simulated == moto


@moto_kinds
def test_a_definition_without_an_initial_version_has_no_latest_version_where_moto_crashes(
    gg: GreengrassClient, moto_gg: GreengrassClient, kind: DefinitionKind
) -> None:
    created = api(gg, "create_{}_definition", kind, Name="empty")  # the CLI's create-core-definition
    assert "LatestVersion" not in created
    assert answer_of(lambda: api(moto_gg, "create_{}_definition", kind, Name="empty"))[0] == "raised"


def test_moto_drops_default_config_and_ignores_max_results(moto_gg: GreengrassClient) -> None:
    default = {"Execution": {"IsolationMode": "NoContainer"}}
    for name in ("a", "b"):
        created = moto_gg.create_function_definition(
            Name=name, InitialVersion=initial("Function", DefaultConfig=default)
        )
    version = moto_gg.get_function_definition_version(
        FunctionDefinitionId=created["Id"], FunctionDefinitionVersionId=created["LatestVersion"]
    )
    assert "DefaultConfig" not in version["Definition"]  # the simulator keeps it (see above)
    assert len(moto_gg.list_function_definitions(MaxResults="1")["Definitions"]) == 2


@moto_kinds
def test_definition_arns_have_aws_format_and_moto_drops_the_slash(
    gg: GreengrassClient, moto_gg: GreengrassClient, kind: DefinitionKind
) -> None:
    assert re.fullmatch(definition_arn_pattern(kind), create(gg, kind)["Arn"])
    assert re.fullmatch(definition_arn_pattern(kind, moto=True), create(moto_gg, kind)["Arn"])


def test_list_definitions_pages_oldest_first_with_string_max_results_and_skips_deleted(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    ids = [create(gg, KINDS["Function"], f"fns-{i}")["Id"] for i in range(7)]
    gg.delete_function_definition(FunctionDefinitionId=ids.pop(3))
    paginator = gg.get_paginator("list_function_definitions")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 2}))
    assert [len(page["Definitions"]) for page in pages] == [2, 2, 2]
    assert [d["Id"] for page in pages for d in page["Definitions"]] == ids == sim.definition_ids("Function")
    with pytest.raises(gg.exceptions.BadRequestException, match="NextToken"):
        gg.list_function_definitions(NextToken="not-a-token")


def test_list_definitions_defaults_to_pages_of_fifty(sim: GreengrassSimulator, gg: GreengrassClient) -> None:
    for _ in range(DEFAULT_PAGE_SIZE + 1):
        sim.add_definition("Logger", items=ITEMS["Logger"])
    first = gg.list_logger_definitions()
    assert len(first["Definitions"]) == DEFAULT_PAGE_SIZE
    assert len(gg.list_logger_definitions(NextToken=first["NextToken"])["Definitions"]) == 1


def test_a_next_token_of_one_list_is_refused_by_another(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    for _ in range(3):
        sim.add_definition("Device", items=ITEMS["Device"])
    token = gg.list_device_definitions(MaxResults="1")["NextToken"]
    with pytest.raises(gg.exceptions.BadRequestException, match="NextToken"):
        gg.list_core_definitions(NextToken=token)


def test_definition_tags_round_trip_through_the_tag_operations(gg: GreengrassClient) -> None:
    arn = create(gg, KINDS["Subscription"], tags={"team": "edge"})["Arn"]
    gg.tag_resource(ResourceArn=arn, tags={"expires": "2026-02-01"})
    gg.untag_resource(ResourceArn=arn, TagKeys=["team"])
    assert gg.list_tags_for_resource(ResourceArn=arn)["tags"] == {"expires": "2026-02-01"}
    missing = arn.rsplit("/", 1)[0] + f"/{UNKNOWN}"
    with pytest.raises(ClientError) as excinfo:
        gg.list_tags_for_resource(ResourceArn=missing)
    assert error_of(excinfo.value)[:2] == (404, "ResourceNotFoundException")
    with pytest.raises(gg.exceptions.BadRequestException, match="Invalid resource ARN"):
        gg.list_tags_for_resource(ResourceArn=f"{arn}/versions/{UNKNOWN}")


# --- group versions ----------------------------------------------------------------------------------


def test_create_group_without_an_initial_version_has_no_latest_version(gg: GreengrassClient) -> None:
    created = gg.create_group(Name="bare")
    assert "LatestVersion" not in created and "LatestVersionArn" not in created  # the CLI's create-group
    assert "LatestVersion" not in gg.get_group(GroupId=created["Id"])
    assert gg.list_group_versions(GroupId=created["Id"])["Versions"] == []


def test_create_group_with_an_initial_version_makes_it_the_latest_version(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    core = core_version_arn(sim)
    created = gg.create_group(Name="with-core", InitialVersion={"CoreDefinitionVersionArn": core})
    group_arn = f"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/groups/{created['Id']}"
    assert created["LatestVersionArn"] == f"{group_arn}/versions/{created['LatestVersion']}"
    version = gg.get_group_version(GroupId=created["Id"], GroupVersionId=created["LatestVersion"])
    assert version["Definition"] == {"CoreDefinitionVersionArn": core}


def test_create_group_with_an_invalid_initial_version_creates_nothing(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    with pytest.raises(gg.exceptions.BadRequestException, match="Cores definition reference does not exist"):
        gg.create_group(Name="broken", InitialVersion={"CoreDefinitionVersionArn": "arn:nothing"})
    assert sim.group_ids() == []


def test_create_group_version_becomes_get_groups_latest_version_without_updating_the_group(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(deployed=False)
    before = gg.get_group(GroupId=group_id)
    fn = sim.add_definition("Function", items=ITEMS["Function"])
    sim.advance(60)
    created = gg.create_group_version(
        GroupId=group_id,
        CoreDefinitionVersionArn=sim.group_definitions(group_id)["Core"].version_arn,
        FunctionDefinitionVersionArn=fn.version_arn,
    )
    assert set(created) - {"ResponseMetadata"} == {"Arn", "CreationTimestamp", "Id", "Version"}
    assert created["Id"] == group_id
    assert created["Arn"] == f"{before['Arn']}/versions/{created['Version']}"
    after = gg.get_group(GroupId=group_id)
    assert (after["LatestVersion"], after["LatestVersionArn"]) == (created["Version"], created["Arn"])
    assert after["LastUpdatedTimestamp"] == before["LastUpdatedTimestamp"]  # the CLI's get-group example
    assert sim.group_version_ids(group_id) == [before["LatestVersion"], created["Version"]]


def test_get_group_version_names_every_referenced_definition_version(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(deployed=False)
    refs = {kind.name: sim.add_definition(kind.name, items=ITEMS[kind.name]) for kind in DEFINITION_KINDS}
    created = gg.create_group_version(
        GroupId=group_id, **{KINDS[k].version_arn_key: r.version_arn for k, r in refs.items()}
    )
    version = gg.get_group_version(GroupId=group_id, GroupVersionId=created["Version"])
    assert version["Definition"] == {KINDS[k].version_arn_key: r.version_arn for k, r in refs.items()}
    assert (version["Arn"], version["Id"], version["Version"]) == (
        created["Arn"],
        group_id,
        created["Version"],
    )
    assert version["CreationTimestamp"] == created["CreationTimestamp"]


def test_list_group_versions_pages_newest_first(sim: GreengrassSimulator, gg: GreengrassClient) -> None:
    group_id = sim.add_group(deployed=False)
    core = sim.group_definitions(group_id)["Core"].version_arn
    expected = [gg.get_group(GroupId=group_id)["LatestVersion"]]
    for _ in range(4):
        sim.advance(1)
        expected.append(gg.create_group_version(GroupId=group_id, CoreDefinitionVersionArn=core)["Version"])
    pages = list(
        gg.get_paginator("list_group_versions").paginate(GroupId=group_id, PaginationConfig={"PageSize": 2})
    )
    assert [len(page["Versions"]) for page in pages] == [2, 2, 1]
    listed = [v for page in pages for v in page["Versions"]]
    assert [v["Version"] for v in listed] == expected[::-1]  # the CLI's list-group-versions example
    assert {v["Id"] for v in listed} == {group_id}


@pytest.mark.parametrize(
    ("kind", "arn_of"),
    [
        (
            "Core",
            lambda sim: "arn:aws:greengrass:us-east-1:123456789012:/greengrass/definition/cores/x/versions/y",
        ),
        ("Core", lambda sim: sim.add_definition("Function", items=ITEMS["Function"]).version_arn),
        ("Function", lambda sim: core_version_arn(sim)),
        ("Logger", lambda sim: "not an arn"),
    ],
    ids=["unknown", "function-as-core", "core-as-function", "garbage"],
)
def test_a_group_version_must_reference_live_definition_versions_of_its_kind(
    sim: GreengrassSimulator, gg: GreengrassClient, kind: str, arn_of: Callable[[GreengrassSimulator], str]
) -> None:
    group_id = sim.add_group(deployed=False)
    with pytest.raises(ClientError) as excinfo:
        gg.create_group_version(GroupId=group_id, **{KINDS[kind].version_arn_key: arn_of(sim)})
    assert error_of(excinfo.value) == (
        400,
        "BadRequestException",
        "The group is invalid or corrupted. "
        f"(ErrorDetails: [{KINDS[kind].reference} definition reference does not exist])",
    )
    assert len(sim.group_version_ids(group_id)) == 1


def test_every_bad_reference_is_named_in_moto_order(sim: GreengrassSimulator, gg: GreengrassClient) -> None:
    group_id = sim.add_group(deployed=False)
    bad = {KINDS[name].version_arn_key: "arn:nothing" for name in ("Connector", "Device", "Core", "Function")}
    with pytest.raises(
        ClientError,
        match=re.escape(
            "[Cores definition reference does not exist, Lambda "
            "definition reference does not exist, Devices definition "
            "reference does not exist, Connectors definition reference "
            "does not exist]"
        ),
    ):
        gg.create_group_version(GroupId=group_id, **bad)


def test_a_group_version_may_not_reference_a_deleted_definitions_version(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(deployed=False)
    fn = sim.add_definition("Function", items=ITEMS["Function"])
    gg.delete_function_definition(FunctionDefinitionId=fn.definition_id)
    with pytest.raises(gg.exceptions.BadRequestException, match="Lambda definition reference does not exist"):
        gg.create_group_version(GroupId=group_id, FunctionDefinitionVersionArn=fn.version_arn)


GROUP_VERSION_ERROR_CASES: list[tuple[str, dict[str, Any], tuple[int, str, str]]] = [
    (
        "create_group_version",
        {"GroupId": UNKNOWN},
        (404, "IdNotFoundException", "That group does not exist."),
    ),
    (
        "get_group_version",
        {"GroupId": UNKNOWN, "GroupVersionId": UNKNOWN},
        (404, "IdNotFoundException", "That group definition does not exist."),
    ),
    (
        "list_group_versions",
        {"GroupId": UNKNOWN},
        (404, "IdNotFoundException", "That group definition does not exist."),
    ),
]


@pytest.mark.parametrize(
    ("operation", "params", "expected"), GROUP_VERSION_ERROR_CASES, ids=lambda v: str(v)[:20]
)
def test_unknown_group_answers_group_version_operations_like_moto(
    gg: GreengrassClient,
    moto_gg: GreengrassClient,
    operation: str,
    params: dict[str, Any],
    expected: tuple[int, str, str],
) -> None:
    assert answer_of(lambda: getattr(gg, operation)(**params)) == expected
    assert answer_of(lambda: getattr(moto_gg, operation)(**params)) == expected


def test_unknown_group_version_is_version_not_found_like_moto(
    sim: GreengrassSimulator, gg: GreengrassClient, moto_gg: GreengrassClient
) -> None:
    for client, group_id in ((gg, sim.add_group()), (moto_gg, moto_gg.create_group(Name="g")["Id"])):
        answer = answer_of(partial(client.get_group_version, GroupId=group_id, GroupVersionId=UNKNOWN))
        assert answer == (
            404,
            "VersionNotFoundException",
            f"Version {UNKNOWN} of Group Definition {group_id} does not exist.",
        )


def test_group_versions_answer_like_moto(
    sim: GreengrassSimulator, gg: GreengrassClient, moto_gg: GreengrassClient
) -> None:
    def run(client: GreengrassClient) -> dict[str, Any]:
        core = client.create_core_definition(Name="c", InitialVersion=initial("Core"))
        fn = client.create_function_definition(Name="f", InitialVersion=initial("Function"))
        group = client.create_group(
            Name="g", InitialVersion={"CoreDefinitionVersionArn": core["LatestVersionArn"]}
        )
        created = client.create_group_version(
            GroupId=group["Id"],
            CoreDefinitionVersionArn=core["LatestVersionArn"],
            FunctionDefinitionVersionArn=fn["LatestVersionArn"],
        )
        latest = client.get_group(GroupId=group["Id"])
        version = client.get_group_version(GroupId=group["Id"], GroupVersionId=created["Version"])
        listed = client.list_group_versions(GroupId=group["Id"])["Versions"]
        bad = answer_of(
            lambda: client.create_group_version(
                GroupId=group["Id"], CoreDefinitionVersionArn=fn["LatestVersionArn"]
            )
        )
        return {
            "created": sorted(set(created) - {"ResponseMetadata"}),
            "latest": (latest["LatestVersion"], latest["LatestVersionArn"])
            == (created["Version"], created["Arn"]),
            "version": sorted(set(version) - {"ResponseMetadata"}),
            "definition": version["Definition"]
            == {
                "CoreDefinitionVersionArn": core["LatestVersionArn"],
                "FunctionDefinitionVersionArn": fn["LatestVersionArn"],
            },
            "listed": sorted(v["Version"] for v in listed),
            "newest_first": listed[0]["Version"] == created["Version"],
            "expected_listed": sorted([group["LatestVersion"], created["Version"]]),
            "bad_message": bad[2],
            "bad_status": bad[0],
        }

    simulated, moto = run(gg), run(moto_gg)
    assert simulated.pop("listed") == simulated.pop("expected_listed")
    assert moto.pop("listed") == moto.pop("expected_listed")
    # moto's slip: ListGroupVersions lists oldest first (the CLI reference's example: newest first).
    assert (simulated.pop("newest_first"), moto.pop("newest_first")) == (True, False)
    assert simulated == moto


def test_invalid_group_version_answers_like_moto_but_with_the_models_code(
    gg: GreengrassClient, moto_gg: GreengrassClient
) -> None:
    message = "The group is invalid or corrupted. (ErrorDetails: [Cores definition reference does not exist])"
    for client, code in ((gg, "BadRequestException"), (moto_gg, "400")):  # moto's code is the status
        group_id = client.create_group(Name="g")["Id"]
        answer = answer_of(
            partial(client.create_group_version, GroupId=group_id, CoreDefinitionVersionArn="arn:x")
        )
        assert answer == (400, code, message)


def test_create_group_without_an_initial_version_is_an_empty_version_in_moto(
    moto_gg: GreengrassClient,
) -> None:
    """moto's slip: it always makes a first (empty) version; AWS makes none (the CLI's create-group)."""
    group = moto_gg.create_group(Name="bare")
    version = moto_gg.get_group_version(GroupId=group["Id"], GroupVersionId=group["LatestVersion"])
    assert version["Definition"] == {}


# --- deployments deploy group versions ---------------------------------------------------------------


def test_a_new_deployment_deploys_the_requested_group_version(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="online", deployed=False)
    first = gg.get_group(GroupId=group_id)
    core = sim.group_definitions(group_id)["Core"].version_arn
    second = gg.create_group_version(GroupId=group_id, CoreDefinitionVersionArn=core)
    old = gg.create_deployment(
        GroupId=group_id, DeploymentType="NewDeployment", GroupVersionId=first["LatestVersion"]
    )
    new = gg.create_deployment(
        GroupId=group_id, DeploymentType="NewDeployment", GroupVersionId=second["Version"]
    )
    sim.run_until_idle()
    listed = {d["DeploymentId"]: d["GroupArn"] for d in gg.list_deployments(GroupId=group_id)["Deployments"]}
    assert listed == {old["DeploymentId"]: first["LatestVersionArn"], new["DeploymentId"]: second["Arn"]}
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=new["DeploymentId"])
    assert status["DeploymentStatus"] == "Success"


def test_a_redeployment_deploys_the_group_version_of_the_deployment_it_redeploys(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="online")
    [good] = gg.list_deployments(GroupId=group_id)["Deployments"]
    core = sim.group_definitions(group_id)["Core"].version_arn
    gg.create_group_version(GroupId=group_id, CoreDefinitionVersionArn=core)  # a newer version exists
    redeployment = gg.create_deployment(
        GroupId=group_id, DeploymentType="Redeployment", DeploymentId=good["DeploymentId"]
    )
    listed = {d["DeploymentId"]: d["GroupArn"] for d in gg.list_deployments(GroupId=group_id)["Deployments"]}
    assert listed[redeployment["DeploymentId"]] == good["GroupArn"]


def test_a_new_deployment_of_a_group_version_without_a_core_is_refused_with_gg_303(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(deployed=False)
    fn = sim.add_definition("Function", items=ITEMS["Function"])
    empty_core = gg.create_core_definition(Name="no-cores", InitialVersion={"Cores": []})
    bodies: list[dict[str, Any]] = []  # botocore keeps ErrorDetails of modelled errors only: read the body

    def keep_body(http_response: Any, **_: Any) -> None:
        bodies.append(json.loads(http_response.content))

    gg.meta.events.register("after-call.greengrass.CreateDeployment", keep_body)
    for references in (
        {"FunctionDefinitionVersionArn": fn.version_arn},
        {"CoreDefinitionVersionArn": empty_core["LatestVersionArn"]},
    ):
        version = gg.create_group_version(GroupId=group_id, **references)["Version"]
        with pytest.raises(ClientError) as excinfo:
            gg.create_deployment(GroupId=group_id, DeploymentType="NewDeployment", GroupVersionId=version)
        assert error_of(excinfo.value) == (
            400,
            "MissingCoreException",
            "You need a Greengrass Core in this Group before you can deploy.",
        )
        assert bodies.pop()["ErrorDetails"] == [
            {
                "DetailedErrorCode": "GG-303",
                "DetailedErrorMessage": "You need a Greengrass Core in this Group before you can deploy.",
            }
        ]
    assert sim.deployments(group_id) == []


def test_a_deployment_without_a_core_is_refused_by_moto_with_the_detail_in_its_message(
    moto_gg: GreengrassClient,
) -> None:
    group = moto_gg.create_group(Name="no-core")
    answer = answer_of(
        lambda: moto_gg.create_deployment(
            GroupId=group["Id"], DeploymentType="NewDeployment", GroupVersionId=group["LatestVersion"]
        )
    )
    assert answer[:2] == (400, "MissingCoreException")
    assert "GG-303" in str(answer[2]) and "You need a Greengrass Core in this Group" in str(answer[2])


# --- deleting definitions that group versions reference ----------------------------------------------


def test_deleting_a_referenced_definition_is_accepted_and_a_later_deployment_of_it_fails_in_the_cloud(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(core="offline")  # an offline core: the failure cannot come from it
    group = gg.get_group(GroupId=group_id)
    core = sim.group_definitions(group_id)["Core"]
    gg.delete_core_definition(CoreDefinitionId=core.definition_id)

    version = gg.get_group_version(GroupId=group_id, GroupVersionId=group["LatestVersion"])
    assert version["Definition"]["CoreDefinitionVersionArn"] == core.version_arn  # versions are immutable
    with pytest.raises(ClientError, match=re.escape("That cores definition does not exist.")):
        gg.get_core_definition_version(
            CoreDefinitionId=core.definition_id, CoreDefinitionVersionId=core.version_id
        )
    assert sim.core_thing(group_id).thing_name == f"{group['Name']}_Core"

    deployment_id = gg.create_deployment(
        GroupId=group_id, DeploymentType="NewDeployment", GroupVersionId=group["LatestVersion"]
    )["DeploymentId"]
    sim.run_until_idle()
    status = gg.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)
    assert status["DeploymentStatus"] == "Failure"
    assert status["ErrorDetails"][0]["DetailedErrorCode"] == "SimulatedMissingDefinition"
    assert core.version_arn in status["ErrorMessage"]
    assert [s.value for s, _ in sim.deployment(deployment_id).history] == ["Building", "Failure"]
    # A forced reset deploys no group version: the teardown can still reset the group.
    forced = gg.reset_deployments(GroupId=group_id, Force=True)["DeploymentId"]
    sim.run_until_idle()
    assert gg.get_deployment_status(GroupId=group_id, DeploymentId=forced)["DeploymentStatus"] == "Success"


def test_deleting_a_referenced_definition_is_accepted_by_moto_too(moto_gg: GreengrassClient) -> None:
    core = moto_gg.create_core_definition(Name="c", InitialVersion=initial("Core"))
    group = moto_gg.create_group(
        Name="g", InitialVersion={"CoreDefinitionVersionArn": core["LatestVersionArn"]}
    )
    assert answer_of(lambda: moto_gg.delete_core_definition(CoreDefinitionId=core["Id"])) == ("ok",)
    version = moto_gg.get_group_version(GroupId=group["Id"], GroupVersionId=group["LatestVersion"])
    assert version["Definition"]["CoreDefinitionVersionArn"] == core["LatestVersionArn"]


def test_delete_group_deletes_its_versions_but_never_its_definitions(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(deployed=False)
    core = sim.group_definitions(group_id)["Core"]
    gg.delete_group(GroupId=group_id)
    with pytest.raises(ClientError, match=re.escape("That group definition does not exist.")):
        gg.list_group_versions(GroupId=group_id)
    assert gg.get_core_definition(CoreDefinitionId=core.definition_id)["LatestVersion"] == core.version_id


# --- the fleet: add_group's core definitions, shared definitions -------------------------------------


def test_add_group_gives_a_core_definition_naming_the_core_thing_and_its_certificate(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(name="plant-7")
    group = gg.get_group(GroupId=group_id)
    version = gg.get_group_version(GroupId=group_id, GroupVersionId=group["LatestVersion"])
    core_arn = version["Definition"]["CoreDefinitionVersionArn"]
    match = re.fullmatch(
        rf"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/definition/cores/(?P<id>[0-9a-f-]{{36}})"
        r"/versions/(?P<version>[0-9a-f-]{36})",
        core_arn,
    )
    assert match is not None
    core_definition = gg.get_core_definition(CoreDefinitionId=match["id"])
    assert (core_definition["Name"], core_definition["LatestVersionArn"]) == ("plant-7_Core", core_arn)
    core_version = gg.get_core_definition_version(
        CoreDefinitionId=match["id"], CoreDefinitionVersionId=match["version"]
    )
    [core] = core_version["Definition"]["Cores"]
    assert core["ThingArn"] == f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/plant-7_Core"
    assert re.fullmatch(rf"arn:aws:iot:{REGION}:{ACCOUNT}:cert/[0-9a-f]{{64}}", core["CertificateArn"])
    assert core["SyncShadow"] is False and core["Id"]

    thing = sim.core_thing(group_id)
    assert (thing.thing_name, thing.thing_arn, thing.certificate_arn) == (
        "plant-7_Core",
        core["ThingArn"],
        core["CertificateArn"],
    )
    assert thing.certificate_arn.endswith(f"/{thing.certificate_id}")
    assert (thing.core_definition_id, thing.core_definition_version_id) == (match["id"], match["version"])


def test_add_group_deployment_deploys_its_group_version(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(deployed=True)
    [deployment] = gg.list_deployments(GroupId=group_id)["Deployments"]
    group = gg.get_group(GroupId=group_id)
    assert deployment["GroupArn"] == group["LatestVersionArn"]
    version = gg.get_group_version(GroupId=group_id, GroupVersionId=group["LatestVersion"])
    assert version["CreationTimestamp"] <= deployment["CreatedAt"]


def test_add_group_never_deployed_still_has_a_deployable_group_version(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    group_id = sim.add_group(deployed=False)
    version = gg.get_group(GroupId=group_id)["LatestVersion"]
    gg.create_deployment(GroupId=group_id, DeploymentType="NewDeployment", GroupVersionId=version)
    sim.run_until_idle()
    assert [d.status.value for d in sim.deployments(group_id)] == ["Success"]


def test_two_groups_can_share_a_function_and_a_subscription_definition(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    functions = sim.add_definition("Function", name="shared-fns", items=ITEMS["Function"])
    subscriptions = sim.add_definition("Subscription", items=ITEMS["Subscription"])
    first, second = (sim.add_group(definitions=[functions, subscriptions]) for _ in range(2))
    definitions = [
        gg.get_group_version(GroupId=g, GroupVersionId=gg.get_group(GroupId=g)["LatestVersion"])["Definition"]
        for g in (first, second)
    ]
    for definition in definitions:
        assert definition["FunctionDefinitionVersionArn"] == functions.version_arn
        assert definition["SubscriptionDefinitionVersionArn"] == subscriptions.version_arn
    assert definitions[0]["CoreDefinitionVersionArn"] != definitions[1]["CoreDefinitionVersionArn"]
    assert [d["Id"] for d in gg.list_function_definitions()["Definitions"]] == [functions.definition_id]
    assert len(gg.list_core_definitions()["Definitions"]) == 2
    assert sim.core_thing(first).thing_arn != sim.core_thing(second).thing_arn

    gg.delete_group(GroupId=first)  # the other group still uses the shared definitions
    assert gg.get_function_definition(FunctionDefinitionId=functions.definition_id)["Name"] == "shared-fns"
    assert sim.group_definitions(second)["Function"] == functions


def test_add_group_with_a_core_definition_uses_it_instead_of_its_own(sim: GreengrassSimulator) -> None:
    core = sim.add_definition("Core", items=ITEMS["Core"])
    group_id = sim.add_group(definitions=[core])
    assert sim.group_definitions(group_id) == {"Core": core}
    assert sim.core_thing(group_id).thing_arn == THING_ARN
    assert sim.definition_ids("Core") == [core.definition_id]


def test_add_group_refuses_two_definitions_of_a_kind_and_definitions_that_do_not_exist(
    sim: GreengrassSimulator, gg: GreengrassClient
) -> None:
    fn = sim.add_definition("Function", items=ITEMS["Function"])
    with pytest.raises(ValueError, match="two Function definitions"):
        sim.add_group(definitions=[fn, fn])
    gg.delete_function_definition(FunctionDefinitionId=fn.definition_id)
    with pytest.raises(KeyError, match="no live simulated Function definition version"):
        sim.add_group(definitions=[fn])
    with pytest.raises(ValueError, match="no definition kind"):
        sim.add_definition("Lambda")
    assert sim.group_ids() == []


def test_core_thing_names_are_valid_thing_names(sim: GreengrassSimulator) -> None:
    assert sim.core_thing(sim.add_group(name="line 4/west")).thing_name == "line_4_west_Core"


def test_definitions_do_not_change_the_group_and_deployment_ids_of_a_seed(make_sim: MakeSim) -> None:
    plain, with_definitions = make_sim(rng=random.Random(5)), make_sim(rng=random.Random(5))
    plain_ids = [plain.add_group() for _ in range(3)]
    shared = with_definitions.add_definition("Function", items=ITEMS["Function"])
    ids = [with_definitions.add_group(definitions=[shared]) for _ in range(3)]
    assert ids == plain_ids
    assert [d.deployment_id for g in ids for d in with_definitions.deployments(g)] == [
        d.deployment_id for g in plain_ids for d in plain.deployments(g)
    ]
    # ... and the definitions themselves are deterministic too.
    again = make_sim(rng=random.Random(5))
    again.add_definition("Function", items=ITEMS["Function"])
    assert [again.core_thing(again.add_group()) for _ in range(3)] == [
        with_definitions.core_thing(g) for g in ids
    ]


# --- faults and client tokens ------------------------------------------------------------------------


def test_definition_and_group_version_operations_are_throttled_like_every_operation(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(faults=FaultProfile(requests_per_second=1, burst=2))
    gg = sim.client()
    group_id = sim.add_group()
    answers = [
        answer_of(gg.list_core_definitions),
        answer_of(lambda: gg.list_group_versions(GroupId=group_id)),
        answer_of(lambda: gg.create_function_definition(Name="f")),
    ]
    assert answers[:2] == [("ok",), ("ok",)]
    assert answers[2] == (429, "TooManyRequestsException", "Rate exceeded")
    assert sim.definition_ids("Function") == []  # a throttled request has no effect
    assert sim.calls["CreateFunctionDefinition"] == 1 and sim.throttled_count == 1


def test_a_server_error_before_the_effect_creates_no_definition(make_sim: MakeSim) -> None:
    sim = make_sim(faults=FaultProfile(server_error_rate=1.0))
    with pytest.raises(ClientError) as excinfo:
        sim.client().create_logger_definition(Name="l", InitialVersion=initial("Logger"))
    assert error_of(excinfo.value)[:2] == (500, "InternalServerErrorException")
    assert sim.definition_ids("Logger") == []


def test_a_lost_create_response_took_effect_and_a_retry_with_the_same_token_returns_it(
    make_sim: MakeSim,
) -> None:
    sim = make_sim(faults=FaultProfile(lost_response_rate=1.0))
    gg = sim.client()
    group_id = sim.add_group(deployed=False)
    core = sim.group_definitions(group_id)["Core"].version_arn
    create_definition = partial(gg.create_connector_definition, Name="c", AmznClientToken="t-1")
    create_version = partial(
        gg.create_group_version, GroupId=group_id, CoreDefinitionVersionArn=core, AmznClientToken="t-2"
    )
    for request in (create_definition, create_version):
        with pytest.raises(ClientError, match="InternalServerErrorException"):
            request()
    assert len(sim.definition_ids("Connector")) == 1 and len(sim.group_version_ids(group_id)) == 2
    sim.faults = FaultProfile()
    assert create_definition()["Id"] == sim.definition_ids("Connector")[0]
    assert create_version()["Version"] == sim.group_version_ids(group_id)[-1]
    assert len(sim.definition_ids("Connector")) == 1 and len(sim.group_version_ids(group_id)) == 2


def test_a_client_token_reused_with_other_parameters_is_refused(gg: GreengrassClient) -> None:
    gg.create_device_definition(Name="d", AmznClientToken="same")
    with pytest.raises(gg.exceptions.BadRequestException, match="already used with different parameters"):
        gg.create_device_definition(Name="other", AmznClientToken="same")
