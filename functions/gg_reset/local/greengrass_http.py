"""The HTTP face of the Greengrass simulator: real botocore requests in, AWS-shaped responses out.

The simulator is reached through a *real* boto3 `greengrass` client, so everything gg-reset's adapter
relies on is exercised for real: parameter validation and serialisation, the `$reset` path, the
`X-Amzn-Client-Token` header, string `MaxResults`, error parsing into `ClientError` codes, and
botocore's retry classification of 429/5xx. Only the socket is replaced: a handler on the client's
`before-send.greengrass` event answers the prepared request in-process.

Handlers registered on `before-send.greengrass` run before handlers registered on the plain
`before-send` event, which is where moto's `mock_aws()` hooks in, so the simulator answers even inside
`mock_aws()` and even for a client built with the default AWS endpoint. Clients made by
`GreengrassSimulator.client()` also point at `ENDPOINT_URL`, a host under `.invalid` that can never
resolve, so a request that somehow escaped the hook would fail instead of reaching AWS.

Routing uses the botocore service model (method + `requestUri` template of each operation), so paths
and labels are exactly the ones the SDK produces.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

ENDPOINT_URL: Final = "https://greengrass.simulator.invalid"

SUPPORTED_OPERATIONS: Final = (
    "CreateGroup",
    "GetGroup",
    "ListGroups",
    "DeleteGroup",
    "CreateDeployment",
    "ResetDeployments",
    "GetDeploymentStatus",
    "ListDeployments",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
    "CreateGroupVersion",
    "GetGroupVersion",
    "ListGroupVersions",
    # The seven definition types, each: Create/Get/List/Update/Delete, and Create/Get/List of its versions.
    *(
        template.format(kind)
        for kind in ("Core", "Device", "Function", "Subscription", "Logger", "Resource", "Connector")
        for template in (
            "Create{}Definition",
            "Get{}Definition",
            "List{}Definitions",
            "Update{}Definition",
            "Delete{}Definition",
            "Create{}DefinitionVersion",
            "Get{}DefinitionVersion",
            "List{}DefinitionVersions",
        )
    ),
)


@dataclass(frozen=True, slots=True)
class ErrorDetail:
    code: str
    message: str

    def to_json(self) -> dict[str, str]:
        return {"DetailedErrorCode": self.code, "DetailedErrorMessage": self.message}


class ApiError(Exception):
    """An error answer: HTTP status, the error code botocore reads from `x-amzn-ErrorType`, a message."""

    def __init__(self, status: int, code: str, message: str, details: tuple[ErrorDetail, ...] = ()) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """One decoded API request: which operation, its URI labels, query string, JSON body and headers."""

    operation: str
    method: str
    path_params: Mapping[str, str]
    query: Mapping[str, list[str]]
    body: Mapping[str, Any]
    headers: Mapping[str, str]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(slots=True)
class ApiResponse:
    status: int = 200
    body: Mapping[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Route:
    operation: str
    method: str
    segments: tuple[str, ...]
    """Path segments of the `requestUri`; a label is kept as `{Name}`."""

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        if method != self.method or len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for template, actual in zip(self.segments, segments, strict=True):
            if template.startswith("{") and template.endswith("}"):
                if not actual:
                    return None
                params[template[1:-1].rstrip("+")] = actual
            elif template != actual:
                return None
        return params


@cache
def _routes() -> tuple[_Route, ...]:
    """The routes of the supported operations, read once from botocore's own service model."""
    model = botocore.session.get_session().get_service_model("greengrass")
    routes = []
    for name in SUPPORTED_OPERATIONS:
        http = model.operation_model(name).http
        path = str(http["requestUri"]).split("?", 1)[0]
        routes.append(_Route(name, str(http["method"]), tuple(path.strip("/").split("/"))))
    # Literal segments must win over labels (none overlap today, but keep it robust): fewest labels first.
    routes.sort(key=lambda r: sum(s.startswith("{") for s in r.segments))
    return tuple(routes)


def _text(value: str | bytes) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else value


def decode_request(request: AWSPreparedRequest) -> ApiRequest:
    """Turn a botocore prepared request into an `ApiRequest`.

    A request for an operation the simulator does not serve raises `NotImplementedError` straight out
    of the boto3 call: a plausible-looking error answer could let a test pass on a code path that was
    never emulated.
    """
    url = urlsplit(request.url)
    # Split before unquoting: a label such as an ARN arrives with its '/' percent-encoded.
    segments = [unquote(s) for s in url.path.strip("/").split("/")]
    method = request.method.upper()
    for route in _routes():
        params = route.match(method, segments)
        if params is not None:
            break
    else:
        raise NotImplementedError(f"the Greengrass simulator does not serve {method} {url.path}")
    raw_body: object = request.body
    if raw_body is not None and hasattr(raw_body, "read"):
        raw_body = raw_body.read()
    text = bytes(raw_body).decode("utf-8") if isinstance(raw_body, bytes | bytearray) else raw_body
    body: dict[str, Any] = {}
    if isinstance(text, str) and text:
        decoded = json.loads(text)
        if not isinstance(decoded, dict):
            raise ApiError(400, "BadRequestException", "The request body must be a JSON object.")
        body = decoded
    headers = {str(k): _text(v) for k, v in request.headers.items()}
    query = parse_qs(url.query, keep_blank_values=True)
    return ApiRequest(route.operation, method, params, query, body, headers)


class _RawBody(io.BytesIO):
    """The `raw` object botocore reads a response body from (it calls `.stream()`)."""

    def stream(self, **_: Any) -> Iterator[bytes]:
        chunk = self.read()
        if chunk:
            yield chunk


def encode_response(url: str, response: ApiResponse, request_id: str) -> AWSResponse:
    payload = b"" if response.body is None else json.dumps(response.body).encode("utf-8")
    headers = HTTPHeaders()
    for name, value in {
        "x-amzn-RequestId": request_id,
        "Content-Type": "application/json",
        "Content-Length": str(len(payload)),
        **response.headers,
    }.items():
        headers[name] = value
    return AWSResponse(url, response.status, headers, _RawBody(payload))


def error_response(error: ApiError) -> ApiResponse:
    """The AWS rest-json error shape: code in `x-amzn-ErrorType`, `Message` (+ `ErrorDetails`) in the body."""
    body: dict[str, Any] = {"Message": error.message}
    if error.details:
        body["ErrorDetails"] = [d.to_json() for d in error.details]
    return ApiResponse(error.status, body, {"x-amzn-ErrorType": error.code})


Handler = Callable[[ApiRequest], ApiResponse]
"""What the transport calls with each decoded request: the simulator's dispatcher."""
