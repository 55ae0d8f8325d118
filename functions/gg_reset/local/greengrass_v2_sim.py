"""An in-process Greengrass V2 simulator: just enough of the core-device API for a V1 teardown to ask "was
this V1 core migrated to V2?".

A V1 core upgraded to Greengrass V2 keeps running as a V2 *core device*, whose name is its AWS IoT thing's
name (the API model: "The name of the core device. This is also the name of the IoT thing."). A teardown of
the old V1 group must then leave that thing and its certificate alone, so it asks `GetCoreDevice` first.
moto has no Greengrass V2 backend, so this module answers a real boto3 `greengrassv2` client the way
`gg_reset.local.greengrass_sim` answers a V1 one: a handler on the client's `before-send` event, no socket.

Served, with the shapes of botocore's model (`botocore/data/greengrassv2/2020-11-30/service-2.json`):

* `GetCoreDevice`: `coreDeviceThingName`, `coreVersion`, `platform`, `architecture`, `runtime`, `status`
  (`HEALTHY`|`UNHEALTHY`), `lastStatusUpdateTimestamp` (epoch seconds on the wire, the rest-json default;
  the API reference's response syntax shows a `number`) and `tags` (`{}` when none, as the AWS CLI's
  get-core-device example shows). An unknown name is 404 `ResourceNotFoundException` (with the modelled
  `resourceId` and `resourceType`); a name AWS IoT could not have given a thing (over 128 characters, or
  outside `[a-zA-Z0-9:_-]`) is 400 `ValidationException` with `reason` `FIELD_VALIDATION_FAILED`.
* `ListCoreDevices`: optional `status` and `runtime` filters, `maxResults` (1-100) and `nextToken` paging;
  each entry carries the model's `CoreDevice` members. Core devices are listed in registration order (AWS
  documents no order), 50 a page unless `maxResults` says otherwise (AWS documents no default either). A bad
  `status`, `maxResults` or `nextToken` is 400 `ValidationException`.

Anything else (another operation, or the `thingGroupArn` filter, which needs thing groups nobody simulates) is
501 `NotImplementedException` naming what is missing, so a caller can never pass a test on a path nothing
emulates. The wording of the error messages is the simulator's own: AWS documents none of them.

Core devices come from the fleet helpers (`register_core_device`, `remove_core_device`), never from the API,
as in AWS, where a device registers itself by running the Greengrass nucleus.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from gg_reset.local.greengrass_http import ApiResponse, encode_response
from gg_reset.local.greengrass_sim import answer_requests, simulated_client

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_greengrassv2 import GreengrassV2Client

    from gg_reset.local.clock import SimulatedClock

__all__ = [
    "CORE_DEVICE_STATUSES",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "SERVED_OPERATIONS",
    "V2_ENDPOINT_URL",
    "CoreDeviceRecord",
    "GreengrassV2Simulator",
]

V2_ENDPOINT_URL: Final = "https://greengrassv2.simulator.invalid"
"""Where `client()` points: under `.invalid`, so a request that escaped the hook could never reach AWS."""

SERVED_OPERATIONS: Final = ("GetCoreDevice", "ListCoreDevices")
CORE_DEVICE_STATUSES: Final = ("HEALTHY", "UNHEALTHY")
"""The model's `CoreDeviceStatus` enum."""
DEFAULT_PAGE_SIZE: Final = 50
MAX_PAGE_SIZE: Final = 100
"""The model's `DefaultMaxResults` is 1-100; botocore checks only the minimum, so the server checks this."""
DEFAULT_RUNTIME: Final = "aws_nucleus_classic"
"""The Java nucleus, which a V1 core upgraded in place runs (the other documented one: `aws_nucleus_lite`)."""

_THING_NAME: Final = re.compile(r"[a-zA-Z0-9:_-]{1,128}")
"""AWS IoT's thing-name constraint (1-128 of `[a-zA-Z0-9:_-]`): a core device's name is a thing's name."""

VALIDATION_CODE: Final = "ValidationException"
NOT_FOUND_CODE: Final = "ResourceNotFoundException"
NOT_IMPLEMENTED_CODE: Final = "NotImplementedException"
_CORE_DEVICE_RESOURCE_TYPE: Final = "CoreDevice"


@dataclass(frozen=True, slots=True)
class CoreDeviceRecord:
    """A read-only snapshot of one simulated core device."""

    thing_name: str
    status: str
    last_status_update: datetime
    core_version: str
    platform: str
    architecture: str
    runtime: str
    tags: Mapping[str, str] = field(default_factory=dict)


class _ServiceError(Exception):
    """An error answer: HTTP status, the code botocore reads from `x-amzn-ErrorType`, and the body's members
    (`message` plus the error shape's own, e.g. `resourceId`)."""

    def __init__(self, status: int, code: str, message: str, **members: Any) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.body: dict[str, Any] = {"message": message, **members}


def _invalid_field(name: str, value: object, constraint: str) -> _ServiceError:
    """A 400 in the shape of AWS's request validation ("1 validation error detected: ...")."""
    message = (
        f"1 validation error detected: Value '{value}' at '{name}' failed to satisfy constraint: {constraint}"
    )
    return _ServiceError(
        400,
        VALIDATION_CODE,
        message,
        reason="FIELD_VALIDATION_FAILED",
        fields=[{"name": name, "message": constraint}],
    )


def _epoch_seconds(moment: datetime) -> float:
    """A rest-json timestamp (the model gives `Timestamp` no format, so epoch seconds), to the millisecond."""
    return round(moment.timestamp(), 3)


@dataclass(frozen=True, slots=True)
class _Request:
    operation: str
    path: str
    query: Mapping[str, list[str]]

    def query_one(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def label(self) -> str:
        """The last path segment (the `{coreDeviceThingName}` label), decoded: split before unquoting, since
        botocore percent-encodes a `/` inside a label."""
        return unquote(self.path.rstrip("/").rpartition("/")[2])


class GreengrassV2Simulator:
    """Greengrass V2 core devices, served to real boto3 `greengrassv2` clients (`GetCoreDevice`,
    `ListCoreDevices`). Deterministic: no randomness; time comes only from the shared clock."""

    def __init__(
        self, clock: SimulatedClock, *, account: str = "123456789012", region: str = "us-east-1"
    ) -> None:
        self.clock = clock
        self.account = account
        self.region = region
        self._lock = threading.RLock()
        self._devices: dict[str, CoreDeviceRecord] = {}
        """By thing name, in registration order (dicts keep it; re-registering keeps the place)."""
        self._seq: dict[str, int] = {}
        """Each device's registration number: what a `nextToken` points at, so removals never shift a page."""
        self._next_seq = 0
        self._request_count = 0
        self.calls: Counter[str] = Counter()
        """Requests received, by operation name (unserved ones included)."""
        self.errors: Counter[str] = Counter()
        """Error answers, by error code."""

    # --- boto3 plumbing ------------------------------------------------------------------------------

    def client(self, *, config: Config | None = None) -> GreengrassV2Client:
        """A real boto3 `greengrassv2` client answered by this simulator (botocore's retries off by default,
        as for the V1 simulator's client: every error reaches the caller at once)."""
        client: GreengrassV2Client = simulated_client("greengrassv2", V2_ENDPOINT_URL, self.region, config)
        self.attach(client)
        return client

    def attach(self, client: BaseClient) -> None:
        """Answer every request of an existing boto3 `greengrassv2` client (whatever its endpoint).

        `before-send.greengrassv2` handlers run before the plain `before-send` one moto's `mock_aws()`
        registers, so this answers inside `mock_aws()` too (see `gg_reset.local.greengrass_http`).
        """
        service_name = client.meta.service_model.service_name
        if service_name != "greengrassv2":
            raise ValueError(f"can only attach to a greengrassv2 client, not {service_name}")
        answer_requests(client, "greengrassv2", self._before_send, owner=self)

    def _before_send(self, request: AWSPreparedRequest, event_name: str, **_: Any) -> AWSResponse:
        # botocore names the operation in the event: `before-send.greengrassv2.<Operation>`.
        url = urlsplit(request.url)
        api_request = _Request(
            operation=event_name.rpartition(".")[2],
            path=url.path,
            query=parse_qs(url.query, keep_blank_values=True),
        )
        with self._lock:
            self._request_count += 1
            request_id = str(uuid.UUID(int=self._request_count, version=4))
            try:
                response = self._handle(api_request)
            except _ServiceError as error:
                self.errors[error.code] += 1
                response = ApiResponse(error.status, error.body, {"x-amzn-ErrorType": error.code})
        return encode_response(request.url, response, request_id)

    def _handle(self, request: _Request) -> ApiResponse:
        self.calls[request.operation] += 1
        if request.operation not in SERVED_OPERATIONS:
            raise self._not_implemented(request.operation)
        handler: Callable[[_Request], ApiResponse] = getattr(self, f"_op_{request.operation}")
        return handler(request)

    @staticmethod
    def _not_implemented(what: str) -> _ServiceError:
        return _ServiceError(
            501,
            NOT_IMPLEMENTED_CODE,
            f"The Greengrass V2 simulator does not implement {what}; "
            f"it serves {' and '.join(SERVED_OPERATIONS)} only.",
        )

    # --- operations ----------------------------------------------------------------------------------

    def _op_GetCoreDevice(self, request: _Request) -> ApiResponse:  # noqa: N802 - named after the API
        name = request.label()
        if not _THING_NAME.fullmatch(name):
            raise _invalid_field(
                "coreDeviceThingName",
                name,
                "Member must have length between 1 and 128 and satisfy regular expression pattern: "
                "[a-zA-Z0-9:_-]+",
            )
        device = self._devices.get(name)
        if device is None:
            raise _ServiceError(
                404,
                NOT_FOUND_CODE,
                f"Core device {name} not found.",
                resourceId=name,
                resourceType=_CORE_DEVICE_RESOURCE_TYPE,
            )
        return ApiResponse(
            200, {**self._summary_json(device), "coreVersion": device.core_version, "tags": dict(device.tags)}
        )

    def _op_ListCoreDevices(self, request: _Request) -> ApiResponse:  # noqa: N802
        if request.query_one("thingGroupArn") is not None:
            raise self._not_implemented("the thingGroupArn filter of ListCoreDevices")
        status = request.query_one("status")
        if status is not None and status not in CORE_DEVICE_STATUSES:
            raise _invalid_field(
                "status", status, f"Member must satisfy enum value set: [{', '.join(CORE_DEVICE_STATUSES)}]"
            )
        runtime = request.query_one("runtime")
        page_size = self._page_size(request.query_one("maxResults"))
        start = self._decode_token(request.query_one("nextToken"))
        page: list[CoreDeviceRecord] = []
        for name, device in self._devices.items():
            seq = self._seq[name]
            if seq < start or (status is not None and device.status != status):
                continue
            if runtime is not None and device.runtime != runtime:
                continue
            if len(page) == page_size:
                return ApiResponse(
                    200,
                    {
                        "coreDevices": [self._summary_json(d) for d in page],
                        "nextToken": self._encode_token(seq),
                    },
                )
            page.append(device)
        return ApiResponse(200, {"coreDevices": [self._summary_json(d) for d in page]})

    @staticmethod
    def _summary_json(device: CoreDeviceRecord) -> dict[str, Any]:
        """The model's `CoreDevice` (a `ListCoreDevices` entry); `GetCoreDevice` adds coreVersion and tags."""
        return {
            "coreDeviceThingName": device.thing_name,
            "status": device.status,
            "lastStatusUpdateTimestamp": _epoch_seconds(device.last_status_update),
            "platform": device.platform,
            "architecture": device.architecture,
            "runtime": device.runtime,
        }

    @staticmethod
    def _page_size(raw: str | None) -> int:
        if raw is None:
            return DEFAULT_PAGE_SIZE
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= MAX_PAGE_SIZE:
            raise _invalid_field(
                "maxResults", raw, f"Member must have value between 1 and {MAX_PAGE_SIZE} inclusive"
            )
        return size

    @staticmethod
    def _encode_token(seq: int) -> str:
        return base64.urlsafe_b64encode(json.dumps({"coreDevices": seq}).encode()).decode()

    @staticmethod
    def _decode_token(token: str | None) -> int:
        """The registration number a page starts at (0 without a token); a 400 for a token this simulator
        did not issue."""
        if token is None:
            return 0
        try:
            seq = json.loads(base64.urlsafe_b64decode(token.encode()))["coreDevices"]
        except (ValueError, KeyError, TypeError):
            seq = None
        if not isinstance(seq, int):
            raise _ServiceError(400, VALIDATION_CODE, "The nextToken is invalid.", reason="OTHER")
        return seq

    # --- fleet helpers (no API call, not counted) ----------------------------------------------------

    def register_core_device(
        self,
        thing_name: str,
        *,
        status: str = "HEALTHY",
        last_status_update: datetime | None = None,
        core_version: str = "2.12.0",
        platform: str = "linux",
        architecture: str = "amd64",
        runtime: str = DEFAULT_RUNTIME,
        tags: Mapping[str, str] | None = None,
    ) -> CoreDeviceRecord:
        """Make `thing_name` a V2 core device, as the Greengrass nucleus does when it first runs on a device
        (a V1 core migrated to V2 registers its V1 thing). `last_status_update` defaults to now.

        Registering a name again is the device reporting again: its fields change, its place in
        `ListCoreDevices` does not.
        """
        if not _THING_NAME.fullmatch(thing_name):
            raise ValueError(f"{thing_name!r} is not a valid AWS IoT thing name")
        if status not in CORE_DEVICE_STATUSES:
            raise ValueError(f"status must be one of {', '.join(CORE_DEVICE_STATUSES)}, not {status!r}")
        with self._lock:
            moment = last_status_update or self.clock.now()
            if moment.tzinfo is None or moment.utcoffset() is None:
                raise ValueError("last_status_update must be timezone-aware")
            device = CoreDeviceRecord(
                thing_name=thing_name,
                status=status,
                last_status_update=moment,
                core_version=core_version,
                platform=platform,
                architecture=architecture,
                runtime=runtime,
                tags=dict(tags or {}),
            )
            if thing_name not in self._seq:
                self._seq[thing_name] = self._next_seq
                self._next_seq += 1
            self._devices[thing_name] = device
            return replace(device, tags=dict(device.tags))

    def remove_core_device(self, thing_name: str) -> None:
        """Remove a core device (as `DeleteCoreDevice` would; the thing itself is AWS IoT's, not touched).
        `KeyError` if there is none."""
        with self._lock:
            if thing_name not in self._devices:
                raise KeyError(f"no simulated core device {thing_name}")
            del self._devices[thing_name]
            del self._seq[thing_name]

    def core_device_names(self) -> list[str]:
        """Registered core devices, in registration order."""
        with self._lock:
            return list(self._devices)

    def core_device(self, thing_name: str) -> CoreDeviceRecord:
        """`KeyError` if `thing_name` is not a core device."""
        with self._lock:
            device = self._devices.get(thing_name)
            if device is None:
                raise KeyError(f"no simulated core device {thing_name}")
            return replace(device, tags=dict(device.tags))
