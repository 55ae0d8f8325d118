"""The boto3 Greengrass adapter against moto (where moto is faithful) and botocore's Stubber (where not).

moto answers with its own codes (IdNotFoundException, 404 "Not yet implemented" for tags, ...), so the
moto tests double as proof that the classifier copes with moto's dialect; the Stubber tests feed the
dialect of real AWS (BadRequestException/InternalServerErrorException and throttling from the front door).
Answers no AWS service would give (an HTML or empty 404 from a proxy or a retired endpoint) come as raw
HTTP responses from a `before-send` hook, so botocore parses them exactly as it would off the wire.
Transport failures are produced for real against 127.0.0.1 or raised from a `before-send` hook.
Nothing here leaves the machine. The API facts these tests rely on are in docs/greengrass-v1.md.
"""

from __future__ import annotations

import io
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders
from botocore.exceptions import ClientError, ConnectTimeoutError
from botocore.stub import Stubber

from gg_reset.adapters.greengrass import (
    MAX_ATTEMPTS,
    PAGE_SIZE,
    Boto3Greengrass,
    make_greengrass_client,
)
from gg_reset.adapters.greengrass_errors import (
    ERROR_RULES,
    LIST_TAGS_OPERATION,
    ErrorRule,
    classify_error,
    matching_rule,
)
from gg_reset.contracts import DeploymentStatus
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.settings import ENV_GREENGRASS_ENDPOINT
from support.moto_greengrass import moto_group_with_core

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

REGION = "us-east-1"
ACCOUNT = "123456789012"
GROUP_ID = "4f1e7f0a-0000-4000-8000-000000000001"
GROUP_ARN = f"arn:aws:greengrass:{REGION}:{ACCOUNT}:/greengrass/groups/{GROUP_ID}"
DEPLOYMENT_ID = "9a0c3d1e-0000-4000-8000-000000000002"


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and region; no endpoint override can send these clients anywhere unexpected."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in (
        ENV_GREENGRASS_ENDPOINT,
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_GREENGRASS",
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)


def _deployed_group(client: GreengrassClient) -> str:
    """A group with a core and a NewDeployment: the only state moto lets a normal reset start from."""
    group_id, version_id = moto_group_with_core(client, "deployed")
    client.create_deployment(GroupId=group_id, GroupVersionId=version_id, DeploymentType="NewDeployment")
    return group_id


def _raises(kind: ErrorKind, operation: str) -> Any:
    return pytest.raises(GreengrassError, match=rf"^{operation} failed \({kind.value}\)")


# ---------------------------------------------------------------------------------------------------------
# Behaviour moto can produce
# ---------------------------------------------------------------------------------------------------------


def test_inspect_unknown_group_reports_it_absent(moto_client: GreengrassClient) -> None:
    facts = Boto3Greengrass(moto_client).inspect_group(GROUP_ID)

    assert facts.exists is False
    assert facts.group_id == GROUP_ID
    assert facts.tags == {}


def test_moto_get_group_drops_tags_so_protection_is_tested_elsewhere(moto_client: GreengrassClient) -> None:
    # The API model's GetGroupResponse has `tags`; moto stores none and returns none (and answers 404 "Not yet
    # implemented" for ListTagsForResource). So under moto every group looks untagged: the protection tag is
    # tested with the Stubber below and with the simulator. If a moto upgrade starts returning tags, this
    # fails, and the moto tests can cover protection too.
    group_id = moto_client.create_group(Name="tagged", tags={"gg-reset:protect": "true"})["Id"]

    facts = Boto3Greengrass(moto_client).inspect_group(group_id)

    assert facts.exists is True
    assert facts.tags == {}
    with pytest.raises(ClientError, match="Not yet implemented"):
        moto_client.list_tags_for_resource(ResourceArn=str(facts.arn))


def test_reset_then_status_then_already_reset(moto_client: GreengrassClient) -> None:
    adapter = Boto3Greengrass(moto_client)
    group_id = _deployed_group(moto_client)

    deployment_id = adapter.reset_deployments(group_id, force=False, client_token="token-1")
    view = adapter.get_deployment_status(group_id, deployment_id)

    assert view.status is DeploymentStatus.IN_PROGRESS  # moto never moves a deployment on
    assert view.error_message is None
    # moto answers this one with ResourceNotFoundException 404: the message must win over the code.
    with _raises(ErrorKind.NOT_DEPLOYED, "ResetDeployments") as caught:
        adapter.reset_deployments(group_id, force=False, client_token="token-2")
    assert caught.value.code == "ResourceNotFoundException"


def test_reset_of_never_deployed_group_is_not_deployed(moto_client: GreengrassClient) -> None:
    group_id = moto_client.create_group(Name="fresh")["Id"]

    with _raises(ErrorKind.NOT_DEPLOYED, "ResetDeployments"):
        Boto3Greengrass(moto_client).reset_deployments(group_id, force=False, client_token="t")


def test_reset_of_unknown_group_is_not_found(moto_client: GreengrassClient) -> None:
    with _raises(ErrorKind.NOT_FOUND, "ResetDeployments"):
        Boto3Greengrass(moto_client).reset_deployments(GROUP_ID, force=True, client_token="t")


def test_status_of_unknown_deployment_is_not_found(moto_client: GreengrassClient) -> None:
    # moto: InvalidInputException 400 "Deployment '<id>' does not exist." (classified by message).
    group_id = _deployed_group(moto_client)

    with _raises(ErrorKind.NOT_FOUND, "GetDeploymentStatus") as caught:
        Boto3Greengrass(moto_client).get_deployment_status(group_id, DEPLOYMENT_ID)
    assert caught.value.code == "InvalidInputException"


def test_delete_group_removes_it_and_a_second_delete_is_not_found(moto_client: GreengrassClient) -> None:
    adapter = Boto3Greengrass(moto_client)
    group_id = moto_client.create_group(Name="doomed")["Id"]

    adapter.delete_group(group_id)

    assert adapter.inspect_group(group_id).exists is False
    with _raises(ErrorKind.NOT_FOUND, "DeleteGroup"):
        adapter.delete_group(group_id)


def test_list_groups_returns_more_than_one_page_worth(moto_client: GreengrassClient) -> None:
    # moto ignores paging and returns everything at once; this proves the string MaxResults is accepted
    # (botocore rejects an int) and nothing is lost. Token following is tested with the Stubber below.
    created = {moto_client.create_group(Name=f"group-{i}")["Id"] for i in range(55)}
    sent: list[dict[str, Any]] = []
    moto_client.meta.events.register(
        "provide-client-params.greengrass.ListGroups", lambda params, **_: sent.append(dict(params))
    )

    listed = list(Boto3Greengrass(moto_client).list_groups())

    assert {group.group_id for group in listed} == created
    assert all(group.arn.endswith(group.group_id) and group.name.startswith("group-") for group in listed)
    assert sent == [{"MaxResults": "50"}]


# ---------------------------------------------------------------------------------------------------------
# Behaviour moto gets wrong or cannot produce: botocore Stubber
# ---------------------------------------------------------------------------------------------------------


def test_inspect_returns_identity_and_tags_from_one_get_group(
    stubbed: tuple[Boto3Greengrass, Stubber],
) -> None:
    adapter, stubber = stubbed
    stubber.add_response(
        "get_group",
        {
            "Arn": GROUP_ARN,
            "Id": GROUP_ID,
            "Name": "line-7",
            "tags": {"gg-reset:protect": "true", "team": "edge"},
        },
        {"GroupId": GROUP_ID},
    )

    facts = adapter.inspect_group(GROUP_ID)

    assert facts.exists is True
    assert (facts.arn, facts.name) == (GROUP_ARN, "line-7")
    assert facts.tags == {"gg-reset:protect": "true", "team": "edge"}


def test_inspect_of_untagged_group_has_empty_tags(stubbed: tuple[Boto3Greengrass, Stubber]) -> None:
    # GetGroup leaves `tags` out when the group has none.
    adapter, stubber = stubbed
    stubber.add_response("get_group", {"Arn": GROUP_ARN, "Id": GROUP_ID}, {"GroupId": GROUP_ID})

    assert adapter.inspect_group(GROUP_ID).tags == {}


def test_inspect_of_group_without_arn_does_not_skip_tags(stubbed: tuple[Boto3Greengrass, Stubber]) -> None:
    adapter, stubber = stubbed
    stubber.add_response("get_group", {"Id": GROUP_ID}, {"GroupId": GROUP_ID})

    with _raises(ErrorKind.UNKNOWN, "GetGroup"):
        adapter.inspect_group(GROUP_ID)


@pytest.mark.parametrize("force", [False, True])
def test_reset_passes_client_token_and_force(stubbed: tuple[Boto3Greengrass, Stubber], force: bool) -> None:
    adapter, stubber = stubbed
    stubber.add_response(
        "reset_deployments",
        {"DeploymentId": DEPLOYMENT_ID, "DeploymentArn": f"{GROUP_ARN}/deployments/{DEPLOYMENT_ID}"},
        {"GroupId": GROUP_ID, "Force": force, "AmznClientToken": "req-42#attempt-1"},
    )

    assert adapter.reset_deployments(GROUP_ID, force=force, client_token="req-42#attempt-1") == DEPLOYMENT_ID


def test_reset_without_deployment_id_is_unknown(stubbed: tuple[Boto3Greengrass, Stubber]) -> None:
    adapter, stubber = stubbed
    stubber.add_response("reset_deployments", {})

    with _raises(ErrorKind.UNKNOWN, "ResetDeployments"):
        adapter.reset_deployments(GROUP_ID, force=False, client_token="t")


def test_failed_deployment_status_carries_error_details(stubbed: tuple[Boto3Greengrass, Stubber]) -> None:
    adapter, stubber = stubbed
    stubber.add_response(
        "get_deployment_status",
        {
            "DeploymentStatus": "Failure",
            "DeploymentType": "ResetDeployment",
            "ErrorMessage": "Deployment failed.",
            "ErrorDetails": [{"DetailedErrorCode": "GG-303", "DetailedErrorMessage": "No core."}],
        },
        {"GroupId": GROUP_ID, "DeploymentId": DEPLOYMENT_ID},
    )

    view = adapter.get_deployment_status(GROUP_ID, DEPLOYMENT_ID)

    assert view.status is DeploymentStatus.FAILURE
    assert view.error_message == "Deployment failed. (GG-303: No core.)"


@pytest.mark.parametrize("raw", ["Exploded", None])
def test_unrecognised_deployment_status_is_unknown(
    stubbed: tuple[Boto3Greengrass, Stubber], raw: str | None
) -> None:
    adapter, stubber = stubbed
    stubber.add_response("get_deployment_status", {} if raw is None else {"DeploymentStatus": raw})

    with _raises(ErrorKind.UNKNOWN, "GetDeploymentStatus"):
        adapter.get_deployment_status(GROUP_ID, DEPLOYMENT_ID)


def test_list_groups_follows_next_token(stubbed: tuple[Boto3Greengrass, Stubber]) -> None:
    adapter, stubber = stubbed
    first = [{"Id": f"g{i}", "Name": f"n{i}", "Arn": f"arn:g{i}"} for i in range(50)]
    stubber.add_response("list_groups", {"Groups": first, "NextToken": "page-2"}, {"MaxResults": "50"})
    stubber.add_response(
        "list_groups",
        {"Groups": [{"Id": "g50", "Name": "n50", "Arn": "arn:g50"}]},
        {"MaxResults": "50", "NextToken": "page-2"},
    )

    listed = [group.group_id for group in adapter.list_groups()]

    assert PAGE_SIZE == "50"
    assert listed == [f"g{i}" for i in range(51)]


def test_list_groups_stops_on_a_repeated_token(stubbed: tuple[Boto3Greengrass, Stubber]) -> None:
    adapter, stubber = stubbed
    stubber.add_response("list_groups", {"Groups": [{"Id": "g0"}], "NextToken": "again"})
    stubber.add_response("list_groups", {"Groups": [{"Id": "g1"}], "NextToken": "again"})

    with _raises(ErrorKind.UNKNOWN, "ListGroups"):
        list(adapter.list_groups())


# One test per error class of the adapter, each through a real client call.
@pytest.mark.parametrize(
    ("code", "message", "status", "kind"),
    [
        pytest.param("ThrottlingException", "Rate exceeded", 400, ErrorKind.THROTTLED, id="throttling"),
        pytest.param(
            "TooManyRequestsException", "Too Many Requests", 429, ErrorKind.THROTTLED, id="too-many-requests"
        ),
        pytest.param(
            "InternalServerErrorException", "Internal error", 500, ErrorKind.SERVER_ERROR, id="internal-500"
        ),
        pytest.param("ServiceUnavailable", "Service Unavailable", 503, ErrorKind.SERVER_ERROR, id="503"),
        pytest.param(
            "BadRequestException",
            f"Group id: {GROUP_ID} has not been deployed or has already been reset.",
            400,
            ErrorKind.NOT_DEPLOYED,
            id="not-deployed",
        ),
        pytest.param(
            "BadRequestException",
            "A deployment for this group is InProgress; try again later.",
            400,
            ErrorKind.DEPLOYMENT_IN_PROGRESS,
            id="in-progress",
        ),
        pytest.param(
            "BadRequestException",
            "Cannot reset: the latest deployment is Building.",
            400,
            ErrorKind.DEPLOYMENT_IN_PROGRESS,
            id="building",
        ),
        pytest.param(
            "BadRequestException",
            "That Group Definition does not exist.",
            400,
            ErrorKind.NOT_FOUND,
            id="gone",
        ),
        pytest.param(
            "ResourceNotFoundException",
            "That Group Definition does not exist.",
            404,
            ErrorKind.NOT_FOUND,
            id="gone-moto-dialect",
        ),
        pytest.param(
            "NotFoundException",
            f"Group {GROUP_ID} not found.",
            404,
            ErrorKind.NOT_FOUND,
            id="gone-generic-code",
        ),
        pytest.param("NotFoundException", "Not Found", 404, ErrorKind.UNKNOWN, id="generic-not-found"),
        pytest.param(
            "BadRequestException",
            "The resource was not found.",
            400,
            ErrorKind.BAD_REQUEST,
            id="vague-not-found",
        ),
        pytest.param(
            "BadRequestException", "Invalid group id format.", 400, ErrorKind.BAD_REQUEST, id="bad-request"
        ),
        pytest.param(
            "AccessDeniedException", "User is not authorized", 403, ErrorKind.BAD_REQUEST, id="access-denied"
        ),
        pytest.param("TeapotException", "I'm a teapot", 418, ErrorKind.UNKNOWN, id="unknown-code"),
    ],
)
def test_service_errors_are_classified(
    stubbed: tuple[Boto3Greengrass, Stubber], code: str, message: str, status: int, kind: ErrorKind
) -> None:
    adapter, stubber = stubbed
    stubber.add_client_error("reset_deployments", code, message, status)

    with _raises(kind, "ResetDeployments") as caught:
        adapter.reset_deployments(GROUP_ID, force=False, client_token="t")

    assert (caught.value.code, caught.value.message) == (code, message)
    assert caught.value.kind.transient is (kind in (ErrorKind.THROTTLED, ErrorKind.SERVER_ERROR))
    assert isinstance(caught.value.__cause__, ClientError)  # the botocore error stays attached


# ---------------------------------------------------------------------------------------------------------
# Answers only a proxy, a wrong endpoint or a retired API gives: raw HTTP, parsed by botocore as off the wire
# ---------------------------------------------------------------------------------------------------------


class _RawBody(io.BytesIO):
    """What botocore reads a response body from (it calls `.stream()`)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        if chunk:
            yield chunk


def _raw_answer_client(status: int, body: bytes, content_type: str) -> GreengrassClient:
    """A gg-reset client whose every request gets this raw HTTP answer instead of reaching a socket."""
    client = make_greengrass_client(endpoint_url="http://127.0.0.1:9", max_attempts=0)

    def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        headers = HTTPHeaders()
        headers["Content-Type"] = content_type
        headers["Content-Length"] = str(len(body))
        return AWSResponse(request.url, status, headers, _RawBody(body))

    client.meta.events.register("before-send.greengrass", answer)
    return client


UNRECOGNISED_404S = [
    pytest.param(b"<html><body><h1>404 Not Found</h1></body></html>", "text/html", id="html"),
    pytest.param(b"", "application/json", id="empty-body"),
    pytest.param(b"Not Found", "text/plain", id="plain-text"),
    pytest.param(b'{"message": "Not Found"}', "application/json", id="json-without-code"),
    pytest.param(
        b'<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>',
        "application/xml",
        id="xml-from-elsewhere",
    ),
]

CALLS: list[tuple[str, Callable[[Boto3Greengrass], object]]] = [
    ("ResetDeployments", lambda a: a.reset_deployments(GROUP_ID, force=False, client_token="t")),
    ("ResetDeployments", lambda a: a.reset_deployments(GROUP_ID, force=True, client_token="t")),
    ("GetDeploymentStatus", lambda a: a.get_deployment_status(GROUP_ID, DEPLOYMENT_ID)),
    ("DeleteGroup", lambda a: a.delete_group(GROUP_ID)),
    ("GetGroup", lambda a: a.inspect_group(GROUP_ID)),
]


@pytest.mark.parametrize(("body", "content_type"), UNRECOGNISED_404S)
@pytest.mark.parametrize(
    ("operation", "call"), CALLS, ids=["reset", "force-reset", "status", "delete", "inspect"]
)
def test_an_unrecognised_404_is_unknown_never_gone(
    body: bytes, content_type: str, operation: str, call: Callable[[Boto3Greengrass], object]
) -> None:
    """Regression: a bare HTML 404 on ResetDeployments ended a deletion GONE while the group still existed.

    botocore gives such an answer the code "404"; nothing in it says which group, if any, is missing.
    `inspect_group` in particular must raise, not report the group absent.
    """
    adapter = Boto3Greengrass(_raw_answer_client(404, body, content_type))

    with _raises(ErrorKind.UNKNOWN, operation) as caught:
        call(adapter)

    assert caught.value.code == "404"
    assert isinstance(caught.value.__cause__, ClientError)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"Message": "Not Found"}', id="bare-not-found"),
        pytest.param(b'{"Message": "The requested API is no longer available."}', id="retired"),
        pytest.param(b"{}", id="no-message"),
    ],
)
def test_a_generic_not_found_code_without_a_greengrass_message_is_unknown(body: bytes) -> None:
    client = make_greengrass_client(endpoint_url="http://127.0.0.1:9", max_attempts=0)

    def answer(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        headers = HTTPHeaders()
        headers["Content-Type"] = "application/json"
        headers["x-amzn-ErrorType"] = "NotFoundException"
        return AWSResponse(request.url, 404, headers, _RawBody(body))

    client.meta.events.register("before-send.greengrass", answer)

    with _raises(ErrorKind.UNKNOWN, "ResetDeployments") as caught:
        Boto3Greengrass(client).reset_deployments(GROUP_ID, force=False, client_token="t")

    assert caught.value.code == "NotFoundException"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_refused_connection_is_server_error() -> None:
    client = make_greengrass_client(endpoint_url=f"http://127.0.0.1:{_closed_port()}", max_attempts=1)

    with _raises(ErrorKind.SERVER_ERROR, "GetGroup") as caught:
        Boto3Greengrass(client).inspect_group(GROUP_ID)

    assert caught.value.code == "EndpointConnectionError"


def test_read_timeout_is_server_error() -> None:
    # A socket that listens but never answers: the kernel completes the handshake, nobody replies.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        client = make_greengrass_client(
            endpoint_url=f"http://127.0.0.1:{port}", max_attempts=0, read_timeout=0.2
        )

        with _raises(ErrorKind.SERVER_ERROR, "DeleteGroup") as caught:
            Boto3Greengrass(client).delete_group(GROUP_ID)

    assert caught.value.code == "ReadTimeoutError"


def test_connect_timeout_is_server_error() -> None:
    client = make_greengrass_client(endpoint_url="http://127.0.0.1:9", max_attempts=0)

    def time_out(**_: Any) -> None:
        raise ConnectTimeoutError(endpoint_url="http://127.0.0.1:9")

    client.meta.events.register("before-send.greengrass.ListGroups", time_out)

    with _raises(ErrorKind.SERVER_ERROR, "ListGroups") as caught:
        list(Boto3Greengrass(client).list_groups())

    assert caught.value.code == "ConnectTimeoutError"


# ---------------------------------------------------------------------------------------------------------
# The classification table itself
# ---------------------------------------------------------------------------------------------------------


def _row_cases() -> Iterator[Any]:
    for index, rule in enumerate(ERROR_RULES):
        for code in sorted(rule.codes) or ["UnlistedCode"]:
            yield pytest.param(rule, code, id=f"{index}-{rule.kind.value}-{code}")


@pytest.mark.parametrize(("rule", "code"), list(_row_cases()))
def test_every_row_is_reachable_and_classifies_as_its_kind(rule: ErrorRule, code: str) -> None:
    operation = min(rule.operations) if rule.operations else "ResetDeployments"
    status = rule.statuses[0] if rule.statuses else None

    assert matching_rule(operation, code, rule.example, status) is rule
    assert classify_error(operation, code, rule.example, status) is rule.kind


def test_every_row_says_where_it_came_from() -> None:
    assert all(rule.source.strip() for rule in ERROR_RULES)
    assert all(rule.codes or rule.message or rule.statuses for rule in ERROR_RULES)


def test_not_found_needs_a_recognised_code_never_a_status_or_message_alone() -> None:
    not_found_rows = [rule for rule in ERROR_RULES if rule.kind is ErrorKind.NOT_FOUND]

    assert not_found_rows
    for rule in not_found_rows:
        assert rule.codes, f"a NOT_FOUND row without codes: {rule.source}"
        # botocore's code for an answer it could not parse is the bare HTTP status.
        assert not any(code.isdigit() for code in rule.codes), rule.source


@pytest.mark.parametrize(
    ("operation", "code", "message", "status", "kind"),
    [
        # Exactly what moto 5.2 answers (captured from a run), so a moto upgrade that changes it shows here.
        (
            "GetGroup",
            "IdNotFoundException",
            "That Group Definition does not exist.",
            404,
            ErrorKind.NOT_FOUND,
        ),
        (
            "DeleteGroup",
            "IdNotFoundException",
            "That group definition does not exist.",
            404,
            ErrorKind.NOT_FOUND,
        ),
        (
            "ResetDeployments",
            "ResourceNotFoundException",
            "Group id: x has not been deployed or has already been reset.",
            404,
            ErrorKind.NOT_DEPLOYED,
        ),
        (LIST_TAGS_OPERATION, "404", "Not yet implemented", 404, ErrorKind.UNKNOWN),
        # Codes are compared case-insensitively; a bare status still means something.
        ("GetGroup", "throttlingexception", "", 400, ErrorKind.THROTTLED),
        ("GetGroup", "", "", 502, ErrorKind.SERVER_ERROR),
        # A 404 is "not found" only when the answer says what is missing (see the raw-HTTP tests above).
        ("GetGroup", "", "", 404, ErrorKind.UNKNOWN),
        ("GetGroup", "404", "Not Found", 404, ErrorKind.UNKNOWN),
        (
            "ResetDeployments",
            "404",
            "<html><body><h1>404 Not Found</h1></body></html>",
            404,
            ErrorKind.UNKNOWN,
        ),
        ("DeleteGroup", "NotFound", "Not Found", 404, ErrorKind.UNKNOWN),
        (
            "ResetDeployments",
            "ResourceNotFoundException",
            "That Group Definition does not exist.",
            503,
            ErrorKind.SERVER_ERROR,
        ),
        # Exactly what moto and the simulator answer for a deployment of another (or no) group.
        (
            "GetDeploymentStatus",
            "InvalidInputException",
            "Deployment 'd-1' does not exist.",
            400,
            ErrorKind.NOT_FOUND,
        ),
        (
            "GetGroup",
            "VersionNotFoundException",
            "Version v of Group Definition g does not exist.",
            404,
            ErrorKind.NOT_FOUND,
        ),
        # "Building" alone is not a deployment state.
        (
            "ResetDeployments",
            "BadRequestException",
            "Error building group version.",
            400,
            ErrorKind.BAD_REQUEST,
        ),
        # An in-progress wording on a 5xx is still a server error (and transient either way).
        (
            "ResetDeployments",
            "InternalServerErrorException",
            "Deployment in progress",
            500,
            ErrorKind.SERVER_ERROR,
        ),
        # Unknown code on a plain 400 is not guessed to be a bad request.
        ("ResetDeployments", "WeirdNewException", "Something odd.", 400, ErrorKind.UNKNOWN),
        # A not-found from tagging never means "no tags" (see classify_error).
        (LIST_TAGS_OPERATION, "ResourceNotFoundException", "Gone.", 404, ErrorKind.UNKNOWN),
        ("GetGroup", "ResourceNotFoundException", "Gone.", 404, ErrorKind.NOT_FOUND),
    ],
)
def test_classify_error_edge_cases(
    operation: str, code: str, message: str, status: int | None, kind: ErrorKind
) -> None:
    assert classify_error(operation, code, message, status) is kind


# ---------------------------------------------------------------------------------------------------------
# The client factory
# ---------------------------------------------------------------------------------------------------------


def test_factory_uses_adaptive_retries_and_short_timeouts() -> None:
    client = make_greengrass_client()
    config: Any = client.meta.config  # botocore-stubs types Config without its options

    assert config.retries["mode"] == "adaptive"
    # botocore stores Config's max_attempts (retries) as total_max_attempts (first call included).
    assert config.retries["total_max_attempts"] == MAX_ATTEMPTS + 1
    assert (config.connect_timeout, config.read_timeout) == (5.0, 20.0)
    assert client.meta.endpoint_url == f"https://greengrass.{REGION}.amazonaws.com"


def test_factory_honours_endpoint_env_and_explicit_endpoint_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_GREENGRASS_ENDPOINT, "http://127.0.0.1:4510")

    assert make_greengrass_client().meta.endpoint_url == "http://127.0.0.1:4510"
    assert make_greengrass_client(endpoint_url="http://127.0.0.1:4999").meta.endpoint_url == (
        "http://127.0.0.1:4999"
    )


def test_factory_uses_the_given_session() -> None:
    session = boto3.Session(region_name="eu-west-1")

    assert make_greengrass_client(session).meta.region_name == "eu-west-1"
