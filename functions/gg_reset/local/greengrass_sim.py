"""An in-process Greengrass V1 simulator, faithful to the documented semantics gg-reset depends on.

moto's Greengrass V1 backend cannot carry gg-reset's tests (it ignores `Force`, never leaves
`InProgress`, emits no events, checks "already reset" against *any* group, pages nothing and tags
nothing), so this module simulates the service instead. It is served to a real boto3 client (see
`gg_reset.local.greengrass_http`), driven by a `SimulatedClock`, and deterministic for a given seed.
The facts it models, with their sources, and what moto gets wrong are in docs/greengrass-v1.md.

What it models (each point has a conformance test named after it):

* Deployments move `Building` -> `InProgress` -> `Success`/`Failure`. Leaving `InProgress` needs the
  group's simulated core (`CoreProfile`): online, offline (never answers), failing, flaky or slow.
* `ResetDeployments(Force=False)` creates a `ResetDeployment` that waits for the core like any other
  deployment; `Force=True` creates a `ForceResetDeployment` that reaches `Success` after a short,
  core-independent delay ("best-effort only core reset").
* A normal reset is refused (400 `BadRequestException`) while the group has a deployment `Building` or
  `InProgress`.
* A reset of a group that was never deployed, or whose newest deployment is a successful (forced)
  reset, is refused with the message `Group id: <id> has not been deployed or has already been reset.`,
  judged on *that* group only.
* The same `AmznClientToken` on a repeated `CreateDeployment`/`CreateGroup` returns the original result
  instead of acting twice (a different request with a used token is a 400); `ResetDeployments` does the
  same unless `ContestedBehaviour.replay_client_tokens` is off.
* A `Redeployment` (`CreateDeployment` with the `DeploymentId` of an earlier deployment of the same group,
  no `GroupVersionId` needed) is a deployment like any other: it waits for the core, publishes its events
  with `deployment-type` `Redeployment`, is listed by `ListDeployments` and blocks a normal reset while in
  flight. A target that is not one of the group's deployments is 400 `InvalidInputException`
  "Deployment ID '<id>' is invalid." (moto's wording).
* Every status change publishes an AWS-shaped "Greengrass Deployment Status Change" event.
* Tags on groups (by ARN), and `ListGroups`/`ListDeployments` paging with string `MaxResults`.
* Faults on demand (`FaultProfile`): a request quota with 429s, 5xx before or after the effect,
  latency, dropped, duplicated and delayed events.

Contested decisions: where AWS documents nothing and a reasonable reading goes either way, the simulator
does not pick one answer for good. Each is a switch of `ContestedBehaviour` (passed as `contested=`), whose
defaults are the answers below, and `ContestedBehaviour.combinations()` lists every setting, so callers
can prove they work under all of them:

* **Force=True while a deployment is in progress** (`force_over_in_progress`, default: accepted). The guide
  only says a reset "cannot start" while a deployment is in flight, and `--force` exists for cores that are
  lost, stolen or destroyed: a normal reset stuck `InProgress` on such a core could otherwise never be
  forced. Accepted, the forced reset *supersedes* every deployment of the group still
  `Building`/`InProgress`: each is marked `Failure` with `ErrorMessage` "... superseded by forced reset
  <id>." and its status-change event is published (the forced reset "cleans up all deployment information
  stored in the cloud", so nothing is left waiting for the core). Consumers must therefore not treat a
  `Failure` of a `ResetDeployment` they no longer wait for as a new failed deployment to remediate.
  Refused, the answer is the normal reset's 400.
* **DeleteGroup of a deployed group** (`refuse_deleting_deployed_groups`, default: accepted). The API
  reference documents no refusal; the guide says you must reset a group's deployments before deleting it
  *to use the core with another group*. Accepted, the core stays bound to a group that no longer exists:
  the simulator records an `OrphanedCore` in `orphaned_cores`, which is how tests check that gg-reset
  reset first. Refused, the answer is a 400.
* **A repeated client token on ResetDeployments** (`replay_client_tokens`, default: replayed). The API
  reference once described the token as requesting idempotency and now only says it "correlate[s]
  requests and responses"; only `CreateDeployment` is documented idempotent. Off, the token is ignored:
  a retried reset is a new request (refused if the first is still in flight or already succeeded).
* **The "not deployed / already reset" answer's status and code** (`not_deployed_status`, default: 400
  `BadRequestException`, the API model's only client error; 404 gives moto's `ResourceNotFoundException`).
  The message is the same either way.

Other decisions where the documentation is silent (each is deliberate; change it here, not in callers):

* **The "not deployed / already reset" check applies to Force=True as well**: there is nothing to
  reset on a group that was never deployed. (moto never passes `Force` on to its backend, so under moto
  every reset is checked this way, against the newest deployment of *any* group, and creates a
  `ResetDeployment`; callers handle both answers the same way, because for them it means "nothing to do".)
* **Unknown groups answer like moto** (whose authors recorded real responses), operation by operation:
  `GetGroup` 404 `IdNotFoundException` "That Group Definition does not exist.", `DeleteGroup` 404
  `IdNotFoundException` "That group definition does not exist.", `CreateDeployment` 404
  `ResourceNotFoundException` "That group definition does not exist.", `ResetDeployments` 404
  `ResourceNotFoundException` "That Group Definition does not exist.", `GetDeploymentStatus` 400
  `InvalidInputException` "Deployment '<id>' does not exist.", `ListDeployments` an empty list (AWS does
  not check the group), tag operations 404 `ResourceNotFoundException` "That Group Definition does not
  exist.". These codes are not in the botocore model, so callers must match on the code string.
* `CreateDeployment` accepts only `NewDeployment` and `Redeployment` (the API reference: "When used for
  CreateDeployment, only NewDeployment and Redeployment are valid"; moto accepts all four). A type outside
  the four gets moto's message, which lists all four.
* `ListDeployments` lists newest first (as the developer guide's examples show); both list operations
  default to 50 items per page. A deployment's `GroupArn` is its group *version* ARN for
  `NewDeployment`/`Redeployment` and the group ARN for resets.
* Every simulated group has a core and one group version, so `CreateDeployment` needs no
  `CreateGroupVersion` (not simulated). Deployment history is kept after a reset.
* Client tokens are scoped per operation and group and never expire in the simulator (AWS keeps them
  for a limited time; a caller should not rely on a token outliving its retries anyway).
* Event `id`s differ between a duplicate's two deliveries once they go through `PutEvents` (EventBridge
  assigns ids), so consumers must deduplicate on the detail (deployment id + status), not the id.
"""

from __future__ import annotations

import base64
import heapq
import json
import random
import threading
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from itertools import product
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from gg_reset.contracts import GREENGRASS_SOURCE, DeploymentStatus, DeploymentType, DetailType
from gg_reset.local.cores import CoreProfile
from gg_reset.local.faults import FaultProfile, TokenBucket
from gg_reset.local.greengrass_http import (
    ENDPOINT_URL,
    ApiError,
    ApiRequest,
    ApiResponse,
    ErrorDetail,
    decode_request,
    encode_response,
    error_response,
)

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_greengrass import GreengrassClient

    from gg_reset.local.clock import SimulatedClock

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "ENDPOINT_URL",
    "ContestedBehaviour",
    "DeploymentRecord",
    "GreengrassSimulator",
    "OrphanedCore",
    "Publish",
    "Timings",
    "eventbridge_publisher",
]

Publish = Callable[[list[dict[str, Any]]], object]
"""Delivers `PutEvents` entries; the local runtime passes `eventbridge_publisher(moto_events_client)`."""

DEFAULT_PAGE_SIZE: Final = 50
TERMINAL_STATUSES: Final = frozenset({DeploymentStatus.SUCCESS, DeploymentStatus.FAILURE})
RESET_TYPES: Final = frozenset({DeploymentType.RESET, DeploymentType.FORCE_RESET})
CREATE_DEPLOYMENT_TYPES: Final = (DeploymentType.NEW, DeploymentType.REDEPLOYMENT)

THROTTLED_CODE: Final = "TooManyRequestsException"
SERVER_ERROR_CODE: Final = "InternalServerErrorException"
BAD_REQUEST_CODE: Final = "BadRequestException"


NOT_DEPLOYED_CODES: Final = {400: BAD_REQUEST_CODE, 404: "ResourceNotFoundException"}
"""The code that goes with each `ContestedBehaviour.not_deployed_status`."""
_NOT_DEPLOYED_STATUSES: Final[tuple[Literal[400, 404], ...]] = (400, 404)


def not_deployed_message(group_id: str) -> str:
    """The refusal of a reset with nothing to reset (moto's recorded text; callers match on it)."""
    return f"Group id: {group_id} has not been deployed or has already been reset."


def in_progress_message(group_id: str, deployment_id: str, status: DeploymentStatus) -> str:
    return (
        f"Deployment {deployment_id} of group {group_id} is {status.value}; "
        "a reset cannot start while a deployment is in progress."
    )


def eventbridge_publisher(events_client: EventBridgeClient) -> Publish:
    """A `Publish` that puts entries with an EventBridge client (moto's, in the local runtime).

    boto3 methods take keyword arguments only, hence the wrapper. A failed entry raises: a simulator
    whose events silently vanish would make "event lost" indistinguishable from "event dropped on
    purpose" (`FaultProfile.drop_event_rate`).
    """

    def publish(entries: list[dict[str, Any]]) -> object:
        response = events_client.put_events(Entries=entries)  # type: ignore[arg-type]
        if response.get("FailedEntryCount"):
            raise RuntimeError(f"PutEvents rejected simulated Greengrass events: {response['Entries']}")
        return response

    return publish


@dataclass(frozen=True, slots=True)
class Timings:
    """Cloud-side delays, in simulated seconds (core-side delays live in `CoreProfile`)."""

    build_s: float = 1.0
    """`Building` -> `InProgress` for every deployment."""
    force_reset_s: float = 2.0
    """`InProgress` -> `Success` of a `ForceResetDeployment` (it never waits for the core)."""
    preexisting_age_s: float = 86_400.0
    """How long ago the successful deployment made by `add_group(deployed=True)` happened."""


@dataclass(frozen=True, slots=True)
class ContestedBehaviour:
    """The simulator's answers where AWS documents nothing, each one a switch (defaults: today's answers).

    A caller that must work against real AWS should pass its tests under every setting:
    `combinations()` lists them all, `one_at_a_time()` the default and each switch flipped alone. The
    module docstring and docs/greengrass-v1.md ("The simulator's decisions") give the reasoning.
    """

    force_over_in_progress: bool = True
    """`ResetDeployments(Force=True)` while the group has a deployment `Building`/`InProgress`.

    Documented: a reset "cannot start" while a deployment is in flight (the developer guide, which does not
    say whether that covers `--force`), and `--force` is for cores that are "lost, stolen or destroyed" and
    "report[s] success ... without waiting for a core device to respond". Not documented: whether AWS
    accepts it. True: accepted, and every in-flight deployment of the group is superseded (`Failure`). False:
    refused with the normal reset's 400, so a reset stuck on a dead core can never be forced."""

    refuse_deleting_deployed_groups: bool = False
    """`DeleteGroup` of a group whose deployments were not (successfully) reset.

    Documented: the API reference lists no such refusal; the developer guide says to reset a group's
    deployments before deleting it to use its core with another group. Not documented: whether AWS refuses.
    False: deleted, and an `OrphanedCore` is recorded. True: refused with a 400 `BadRequestException`."""

    replay_client_tokens: bool = True
    """A repeated `AmznClientToken` on `ResetDeployments`.

    Documented: the token "correlate[s] requests and responses" (an earlier API reference: "used to request
    idempotent operations"); `CreateDeployment`, not `ResetDeployments`, is documented idempotent with
    respect to it. True: the same request with the same token returns the original deployment, a different
    one is a 400. False: the token is ignored, so a retry whose first response was lost is judged as a new
    reset: a normal one is refused while the first is in flight or once it succeeded; a forced one
    supersedes an in-flight first (with `force_over_in_progress`) and is refused once the first succeeded;
    after a failed first, either starts a second reset."""

    not_deployed_status: Literal[400, 404] = 400
    """Status (and so code) of "Group id: <id> has not been deployed or has already been reset.".

    Documented: nothing about this answer; the API model's only client error is 400
    `BadRequestException`. moto answers 404 `ResourceNotFoundException` with the same message. 400 gives
    `BadRequestException`, 404 `ResourceNotFoundException`; the message is the same."""

    def __post_init__(self) -> None:
        if self.not_deployed_status not in NOT_DEPLOYED_CODES:
            raise ValueError(f"not_deployed_status must be 400 or 404, not {self.not_deployed_status!r}")

    @property
    def not_deployed_code(self) -> str:
        return NOT_DEPLOYED_CODES[self.not_deployed_status]

    @property
    def label(self) -> str:
        """A short name for test ids and reports: `default`, or the switches changed from it."""
        parts = []
        if not self.force_over_in_progress:
            parts.append("no-force-over-in-progress")
        if self.refuse_deleting_deployed_groups:
            parts.append("refuse-deleting-deployed")
        if not self.replay_client_tokens:
            parts.append("no-token-replay")
        if self.not_deployed_status != 400:
            parts.append(f"not-deployed-{self.not_deployed_status}")
        return ",".join(parts) or "default"

    @classmethod
    def combinations(cls) -> tuple[ContestedBehaviour, ...]:
        """Every setting of every switch (16), the default first. The switches interact (no token replay
        with no force over an in-flight reset, say), so a caller's end-to-end tests should run under each."""
        return tuple(
            cls(
                force_over_in_progress=force,
                refuse_deleting_deployed_groups=refuse,
                replay_client_tokens=replay,
                not_deployed_status=status,
            )
            for force, refuse, replay, status in product(
                (True, False), (False, True), (True, False), _NOT_DEPLOYED_STATUSES
            )
        )

    @classmethod
    def one_at_a_time(cls) -> tuple[ContestedBehaviour, ...]:
        """The default, then each switch flipped alone (in field order): the cheap subset for slow tests."""
        default = cls()
        flipped = [
            setting
            for spec in fields(cls)
            for setting in cls.combinations()
            if _changed(setting, default) == {spec.name}
        ]
        return (default, *flipped)


def _changed(setting: ContestedBehaviour, default: ContestedBehaviour) -> set[str]:
    return {
        spec.name for spec in fields(setting) if getattr(setting, spec.name) != getattr(default, spec.name)
    }


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    """A read-only snapshot of one deployment, for tests and the demo's report."""

    deployment_id: str
    group_id: str
    deployment_type: DeploymentType
    status: DeploymentStatus
    created_at: datetime
    updated_at: datetime
    error_message: str | None
    history: tuple[tuple[DeploymentStatus, datetime], ...]
    client_token: str | None


@dataclass(frozen=True, slots=True)
class OrphanedCore:
    """A group deleted while its core still held a deployment: the core cannot join another group."""

    group_id: str
    group_name: str
    deleted_at: datetime
    deployment_id: str
    deployment_type: DeploymentType
    deployment_status: DeploymentStatus


# --- internal state ----------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Group:
    group_id: str
    name: str
    arn: str
    seq: int
    created_at: datetime
    updated_at: datetime
    version_id: str
    version_arn: str
    tags: dict[str, str]
    core: CoreProfile
    deployments: list[_Deployment] = field(default_factory=list)
    """Oldest first; append-only while the group exists (paging relies on it)."""
    in_flight: dict[str, _Deployment] = field(default_factory=dict)
    """Deployments `Building` or `InProgress`, oldest first: kept so no check scans the history."""
    deleted: bool = False

    def newest(self) -> _Deployment | None:
        return self.deployments[-1] if self.deployments else None

    def active(self) -> list[_Deployment]:
        """Deployments `Building` or `InProgress`, newest first."""
        return list(reversed(self.in_flight.values()))

    def is_clean(self) -> bool:
        """Never deployed, or its newest deployment is a successful (forced) reset."""
        newest = self.newest()
        return newest is None or (
            newest.deployment_type in RESET_TYPES and newest.status is DeploymentStatus.SUCCESS
        )


@dataclass(slots=True, eq=False)
class _Deployment:
    deployment_id: str
    arn: str
    group: _Group
    seq: int
    deployment_type: DeploymentType
    listed_group_arn: str
    created_at: datetime
    status: DeploymentStatus
    updated_at: datetime
    client_token: str | None
    history: list[tuple[DeploymentStatus, datetime]]
    error_message: str | None = None
    error_details: tuple[ErrorDetail, ...] = ()
    generation: int = 0
    """Bumped whenever pending transitions must be forgotten (superseded, core changed)."""
    doomed: bool = False
    """Set by `start_failing_deployment`: the core answers it with a failure, whatever its profile."""

    def record(self) -> DeploymentRecord:
        return DeploymentRecord(
            deployment_id=self.deployment_id,
            group_id=self.group.group_id,
            deployment_type=self.deployment_type,
            status=self.status,
            created_at=self.created_at,
            updated_at=self.updated_at,
            error_message=self.error_message,
            history=tuple(self.history),
            client_token=self.client_token,
        )


class _Action(Enum):
    TO_IN_PROGRESS = "to-in-progress"
    SUCCEED = "succeed"
    FAIL = "fail"
    DELIVER = "deliver"


@dataclass(order=True, slots=True)
class _Scheduled:
    due: datetime
    seq: int
    action: _Action = field(compare=False)
    deployment: _Deployment | None = field(compare=False, default=None)
    generation: int = field(compare=False, default=0)
    event: dict[str, Any] | None = field(compare=False, default=None)
    event_time: datetime | None = field(compare=False, default=None)

    def is_stale(self) -> bool:
        dep = self.deployment
        if dep is None:
            return False
        return dep.generation != self.generation or dep.group.deleted or dep.status in TERMINAL_STATUSES


@dataclass(frozen=True, slots=True)
class _TokenUse:
    fingerprint: tuple[object, ...]
    response: Mapping[str, Any]


def _iso_ms(moment: datetime) -> str:
    """`2019-06-25T18:07:17.688Z`, the timestamp format of Greengrass V1 responses."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _iso_s(moment: datetime) -> str:
    """`2018-03-22T00:38:11Z`, the `time` format of EventBridge events."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class GreengrassSimulator:
    """Greengrass V1 groups, deployments and cores, served to real boto3 clients.

    Time only moves through the shared clock: the simulator never sleeps. Scheduled transitions are
    applied by `run_due()` (also run at the start of every API request), and `next_due()` tells a
    runtime where to jump the clock next. All randomness comes from `rng`, split at construction into
    independent streams for ids, faults and cores, so enabling a fault does not change the ids or the
    core outcomes of a run with the same seed.
    """

    def __init__(
        self,
        clock: SimulatedClock,
        publish: Publish,
        *,
        rng: random.Random,
        faults: FaultProfile = FaultProfile(),  # noqa: B008 - frozen dataclass, safe as a default
        account: str = "123456789012",
        region: str = "us-east-1",
        timings: Timings = Timings(),
        default_core: str | CoreProfile = "online",
        contested: ContestedBehaviour = ContestedBehaviour(),
        refuse_deleting_deployed_groups: bool | None = None,
    ) -> None:
        """`contested` sets the answers where AWS documents nothing (see `ContestedBehaviour`).

        `refuse_deleting_deployed_groups`, when given, overrides that one switch of `contested` (it is the
        older spelling of it, kept for existing callers).
        """
        self.clock = clock
        self.account = account
        self.region = region
        self.timings = timings
        self.default_core = CoreProfile.of(default_core)
        if refuse_deleting_deployed_groups is not None:
            contested = replace(contested, refuse_deleting_deployed_groups=refuse_deleting_deployed_groups)
        self.contested = contested
        self._publish = publish
        self._id_rng = random.Random(rng.getrandbits(64))
        self._fault_rng = random.Random(rng.getrandbits(64))
        self._core_rng = random.Random(rng.getrandbits(64))
        self._lock = threading.RLock()

        self._groups: dict[str, _Group] = {}  # live groups
        self._all_groups: dict[str, _Group] = {}  # including deleted ones, for observability
        self._group_list: list[_Group] = []  # every group ever created, by seq (ListGroups paging)
        self._deployments: dict[str, _Deployment] = {}  # deployments of live groups
        self._all_deployments: dict[str, _Deployment] = {}  # including deleted groups
        self._tokens: dict[tuple[str, str, str], _TokenUse] = {}
        self._queue: list[_Scheduled] = []
        self._seq = 0
        self._request_count = 0
        self._bucket: TokenBucket | None = None
        self.faults = faults  # builds the bucket

        self.calls: Counter[str] = Counter()
        """Requests received, by operation name (throttled and failed ones included)."""
        self.errors: Counter[str] = Counter()
        """Error answers, by error code (`TooManyRequestsException`, `BadRequestException`, ...)."""
        self.published_events: list[dict[str, Any]] = []
        """Every event delivered through `publish`, AWS-shaped, in delivery order (duplicates twice)."""
        self.dropped_events: list[dict[str, Any]] = []
        """Events the fault profile dropped."""
        self.orphaned_cores: list[OrphanedCore] = []
        """Groups deleted without a successful reset first (see the module docstring)."""

    @property
    def faults(self) -> FaultProfile:
        """The faults in force. Assign a new profile to start or end an outage mid-run."""
        return self._faults

    @faults.setter
    def faults(self, faults: FaultProfile) -> None:
        with self._lock:
            self._faults = faults
            capacity = faults.bucket_capacity
            self._bucket = (
                TokenBucket(faults.requests_per_second, capacity, self.clock.now())
                if faults.requests_per_second is not None and capacity is not None
                else None
            )

    # --- boto3 plumbing ------------------------------------------------------------------------------

    def client(self, *, config: Config | None = None) -> GreengrassClient:
        """A real boto3 Greengrass client answered by this simulator.

        By default botocore's own retries are off (one attempt), so every 429/5xx reaches the caller
        and no wall-clock time is spent in botocore's backoff sleeps; pass a `Config` to change that.
        """
        client = boto3.client(
            "greengrass",
            endpoint_url=ENDPOINT_URL,
            region_name=self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=config or Config(retries={"mode": "standard", "total_max_attempts": 1}),
        )
        self.attach(client)
        return client

    def attach(self, client: BaseClient) -> None:
        """Answer every request of an existing boto3 Greengrass client (whatever its endpoint)."""
        if client.meta.service_model.service_name != "greengrass":
            raise ValueError(
                f"can only attach to a greengrass client, not {client.meta.service_model.service_name}"
            )
        # The stubs type event handlers as returning None, but a `before-send` handler returning a
        # response is botocore's documented way to short-circuit the HTTP send (moto relies on it too).
        handler = cast("Callable[..., None]", self._before_send)
        client.meta.events.register(
            "before-send.greengrass", handler, unique_id=f"gg-reset-greengrass-sim-{id(self)}"
        )

    def _before_send(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        api_request = decode_request(request)
        with self._lock:
            self._request_count += 1
            request_id = str(uuid.UUID(int=self._request_count, version=4))
            try:
                response = self.handle(api_request)
            except ApiError as error:
                self.errors[error.code] += 1
                response = error_response(error)
        return encode_response(request.url, response, request_id)

    # --- request handling ----------------------------------------------------------------------------

    def handle(self, request: ApiRequest) -> ApiResponse:
        """Apply faults, then the operation. Raises `ApiError` for error answers."""
        with self._lock:
            self.calls[request.operation] += 1
            if self.faults.latency_s:
                self.clock.advance(self.faults.latency_s)
            self.run_due()
            if self._bucket is not None and not self._bucket.try_take(self.clock.now()):
                raise ApiError(429, THROTTLED_CODE, "Rate exceeded")
            lose_response = False
            if self.faults.server_error_rate or self.faults.lost_response_rate:
                draw = self._fault_rng.random()
                if draw < self.faults.server_error_rate:
                    raise ApiError(500, SERVER_ERROR_CODE, "An internal error occurred. Please try again.")
                lose_response = draw < self.faults.server_error_rate + self.faults.lost_response_rate
            handler = getattr(self, f"_op_{request.operation}")
            response: ApiResponse = handler(request)
            if lose_response:
                raise ApiError(500, SERVER_ERROR_CODE, "An internal error occurred. Please try again.")
            return response

    def _op_CreateGroup(self, request: ApiRequest) -> ApiResponse:  # noqa: N802 - named after the API
        name = request.body.get("Name")
        if not isinstance(name, str) or not name:
            raise ApiError(
                400,
                "InvalidInputException",
                "Your request is missing the following required parameter(s): {Name}.",
            )
        tags = request.body.get("tags") or {}
        token = request.header("X-Amzn-Client-Token")
        fingerprint = (name, tuple(sorted(tags.items())))
        replay = self._replay("CreateGroup", "", token, fingerprint)
        if replay is not None:
            return ApiResponse(body=replay)
        group = self._create_group(name=name, core=self.default_core, tags=dict(tags))
        body = self._group_json(group)
        self._remember("CreateGroup", "", token, fingerprint, body)
        return ApiResponse(body=body)

    def _op_GetGroup(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, "IdNotFoundException", "That Group Definition does not exist.")
        body = self._group_json(group)
        if group.tags:
            body["tags"] = dict(group.tags)
        return ApiResponse(body=body)

    def _op_ListGroups(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        page_size = self._page_size(request)
        start_seq = self._decode_token(request.query_one("NextToken"), "groups")
        start = bisect_left(self._group_list, start_seq, key=lambda g: g.seq)
        items: list[dict[str, Any]] = []
        next_token = None
        for group in self._group_list[start:]:
            if group.deleted:
                continue
            if len(items) == page_size:
                next_token = self._encode_token("groups", group.seq)
                break
            items.append(self._group_json(group))
        body: dict[str, Any] = {"Groups": items}
        if next_token:
            body["NextToken"] = next_token
        return ApiResponse(body=body)

    def _op_DeleteGroup(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, "IdNotFoundException", "That group definition does not exist.")
        if not group.is_clean() and self.contested.refuse_deleting_deployed_groups:
            raise ApiError(
                400,
                BAD_REQUEST_CODE,
                f"Group id: {group.group_id} is deployed; reset its deployments before deleting it.",
            )
        self._delete_group_recording_orphans(group)
        return ApiResponse(body={})

    def _delete_group_recording_orphans(self, group: _Group) -> None:
        newest = group.newest()
        if not group.is_clean() and newest is not None:
            self.orphaned_cores.append(
                OrphanedCore(
                    group_id=group.group_id,
                    group_name=group.name,
                    deleted_at=self.clock.now(),
                    deployment_id=newest.deployment_id,
                    deployment_type=newest.deployment_type,
                    deployment_status=newest.status,
                )
            )
        self._delete_group(group)

    def _op_CreateDeployment(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        raw_type = request.body.get("DeploymentType")
        if raw_type not in {t.value for t in DeploymentType}:
            # moto's wording, which lists the API model's four types.
            allowed = ",".join(t.value for t in DeploymentType)
            raise ApiError(
                400,
                "InvalidInputException",
                "That deployment type is not valid.  Please specify one of the following types: "
                f"{{{allowed}}}.",
            )
        if raw_type not in CREATE_DEPLOYMENT_TYPES:
            raise ApiError(
                400,
                "InvalidInputException",
                f"{raw_type} is not valid for CreateDeployment: only NewDeployment and Redeployment are; "
                "use ResetDeployments to reset a group's deployments.",
            )
        deployment_type = DeploymentType(raw_type)
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, "ResourceNotFoundException", "That group definition does not exist.")
        redeploy_id = request.body.get("DeploymentId")
        version_id = request.body.get("GroupVersionId")
        token = request.header("X-Amzn-Client-Token")
        fingerprint = (deployment_type.value, redeploy_id, version_id)
        replay = self._replay("CreateDeployment", group.group_id, token, fingerprint)
        if replay is not None:
            return ApiResponse(body=replay)
        if deployment_type is DeploymentType.REDEPLOYMENT:
            if not redeploy_id:
                raise ApiError(
                    400,
                    "InvalidInputException",
                    "Your request is missing the following required parameter(s): {DeploymentId}.",
                )
            target = self._deployments.get(redeploy_id)
            if target is None or target.group is not group:
                raise ApiError(400, "InvalidInputException", f"Deployment ID '{redeploy_id}' is invalid.")
        elif not version_id:
            raise ApiError(
                400,
                "InvalidInputException",
                "Your request is missing the following required parameter(s): {GroupVersionId}.",
            )
        if version_id and version_id != group.version_id:
            raise ApiError(
                404,
                "ResourceNotFoundException",
                f"Version {version_id} of Group Definition {group.group_id} does not exist.",
            )
        deployment = self._start_deployment(group, deployment_type, client_token=token)
        body = self._deployment_ref(deployment)
        self._remember("CreateDeployment", group.group_id, token, fingerprint, body)
        return ApiResponse(body=body)

    def _op_ResetDeployments(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, "ResourceNotFoundException", "That Group Definition does not exist.")
        force = request.body.get("Force") is True
        token = request.header("X-Amzn-Client-Token")
        contested = self.contested
        # With replay off the token is still recorded on the deployment, just never looked up.
        remembered_token = token if contested.replay_client_tokens else None
        replay = self._replay("ResetDeployments", group.group_id, remembered_token, (force,))
        if replay is not None:
            return ApiResponse(body=replay)
        active = group.active()
        if active and (not force or not contested.force_over_in_progress):
            newest_active = active[0]
            raise ApiError(
                400,
                BAD_REQUEST_CODE,
                in_progress_message(group.group_id, newest_active.deployment_id, newest_active.status),
            )
        if not active and group.is_clean():
            raise ApiError(
                contested.not_deployed_status,
                contested.not_deployed_code,
                not_deployed_message(group.group_id),
            )
        deployment_type = DeploymentType.FORCE_RESET if force else DeploymentType.RESET
        deployment = self._new_deployment(group, deployment_type, client_token=token)
        for superseded in active:
            self._finish(
                superseded,
                self.clock.now(),
                succeeded=False,
                reason=f"superseded by forced reset {deployment.deployment_id}.",
                detail=ErrorDetail("SupersededByForcedReset", "A forced reset cleaned up this deployment."),
            )
        self._begin(deployment)
        body = self._deployment_ref(deployment)
        self._remember("ResetDeployments", group.group_id, remembered_token, (force,), body)
        return ApiResponse(body=body)

    def _op_GetDeploymentStatus(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        deployment_id = request.path_params["DeploymentId"]
        deployment = self._deployments.get(deployment_id)
        if deployment is None or deployment.group.group_id != request.path_params["GroupId"]:
            raise ApiError(400, "InvalidInputException", f"Deployment '{deployment_id}' does not exist.")
        body: dict[str, Any] = {
            "DeploymentStatus": deployment.status.value,
            "DeploymentType": deployment.deployment_type.value,
            "UpdatedAt": _iso_ms(deployment.updated_at),
        }
        if deployment.error_message is not None:
            body["ErrorMessage"] = deployment.error_message
        if deployment.error_details:
            body["ErrorDetails"] = [d.to_json() for d in deployment.error_details]
        return ApiResponse(body=body)

    def _op_ListDeployments(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        page_size = self._page_size(request)
        group = self._groups.get(request.path_params["GroupId"])
        token = request.query_one("NextToken")
        deployments = group.deployments if group is not None else []
        # Newest first: the token holds the seq of the next (older) deployment to return.
        end = len(deployments)
        if token is not None:
            end = bisect_left(deployments, self._decode_token(token, "deployments") + 1, key=lambda d: d.seq)
        start = max(0, end - page_size)
        page = deployments[start:end]
        body: dict[str, Any] = {
            "Deployments": [
                {
                    "CreatedAt": _iso_ms(d.created_at),
                    "DeploymentArn": d.arn,
                    "DeploymentId": d.deployment_id,
                    "DeploymentType": d.deployment_type.value,
                    "GroupArn": d.listed_group_arn,
                }
                for d in reversed(page)
            ]
        }
        if start > 0:
            body["NextToken"] = self._encode_token("deployments", deployments[start - 1].seq)
        return ApiResponse(body=body)

    def _op_TagResource(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._group_by_arn(request.path_params["resource-arn"])
        tags = request.body.get("tags")
        if not isinstance(tags, dict) or not tags:
            raise ApiError(400, BAD_REQUEST_CODE, "The request must contain at least one tag.")
        group.tags.update({str(k): str(v) for k, v in tags.items()})
        return ApiResponse(status=204)

    def _op_UntagResource(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._group_by_arn(request.path_params["resource-arn"])
        for key in request.query.get("tagKeys", []):
            group.tags.pop(key, None)
        return ApiResponse(status=204)

    def _op_ListTagsForResource(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._group_by_arn(request.path_params["resource-arn"])
        return ApiResponse(body={"tags": dict(group.tags)})

    # --- helpers for the operations ------------------------------------------------------------------

    def group_arn(self, group_id: str) -> str:
        return f"arn:aws:greengrass:{self.region}:{self.account}:/greengrass/groups/{group_id}"

    def _group_by_arn(self, arn: str) -> _Group:
        prefix = self.group_arn("")
        if not arn.startswith(prefix) or "/" in arn[len(prefix) :] or len(arn) == len(prefix):
            raise ApiError(400, BAD_REQUEST_CODE, f"Invalid resource ARN: {arn}")
        group = self._groups.get(arn[len(prefix) :])
        if group is None:
            raise ApiError(404, "ResourceNotFoundException", "That Group Definition does not exist.")
        return group

    def _group_json(self, group: _Group) -> dict[str, Any]:
        return {
            "Arn": group.arn,
            "CreationTimestamp": _iso_ms(group.created_at),
            "Id": group.group_id,
            "LastUpdatedTimestamp": _iso_ms(group.updated_at),
            "LatestVersion": group.version_id,
            "LatestVersionArn": group.version_arn,
            "Name": group.name,
        }

    @staticmethod
    def _deployment_ref(deployment: _Deployment) -> dict[str, Any]:
        return {"DeploymentArn": deployment.arn, "DeploymentId": deployment.deployment_id}

    @staticmethod
    def _page_size(request: ApiRequest) -> int:
        raw = request.query_one("MaxResults")
        if raw is None:
            return DEFAULT_PAGE_SIZE
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if size < 1:
            raise ApiError(400, BAD_REQUEST_CODE, f"MaxResults must be a positive integer, got {raw!r}.")
        return size

    @staticmethod
    def _encode_token(kind: str, seq: int) -> str:
        return base64.urlsafe_b64encode(json.dumps({"k": kind, "s": seq}).encode()).decode()

    @staticmethod
    def _decode_token(token: str | None, kind: str) -> int:
        if token is None:
            return -1
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            if data["k"] == kind and isinstance(data["s"], int):
                return int(data["s"])
        except (ValueError, KeyError, TypeError):
            pass
        raise ApiError(400, BAD_REQUEST_CODE, "The NextToken is invalid.")

    def _replay(
        self, operation: str, scope: str, token: str | None, fingerprint: tuple[object, ...]
    ) -> Mapping[str, Any] | None:
        """The answer of an earlier request with this client token, if any (same request only)."""
        if not token:
            return None
        used = self._tokens.get((operation, scope, token))
        if used is None:
            return None
        if used.fingerprint != fingerprint:
            raise ApiError(
                400, BAD_REQUEST_CODE, f"The client token {token} was already used with different parameters."
            )
        return used.response

    def _remember(
        self,
        operation: str,
        scope: str,
        token: str | None,
        fingerprint: tuple[object, ...],
        response: Mapping[str, Any],
    ) -> None:
        if token:
            self._tokens[(operation, scope, token)] = _TokenUse(fingerprint, response)

    # --- groups and deployments ----------------------------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._id_rng.getrandbits(128), version=4))

    def _create_group(self, *, name: str, core: CoreProfile, tags: dict[str, str]) -> _Group:
        group_id = self._new_id()
        version_id = self._new_id()
        now = self.clock.now()
        arn = self.group_arn(group_id)
        group = _Group(
            group_id=group_id,
            name=name,
            arn=arn,
            seq=self._next_seq(),
            created_at=now,
            updated_at=now,
            version_id=version_id,
            version_arn=f"{arn}/versions/{version_id}",
            tags=tags,
            core=core,
        )
        self._groups[group_id] = group
        self._all_groups[group_id] = group
        self._group_list.append(group)
        return group

    def _delete_group(self, group: _Group) -> None:
        group.deleted = True
        del self._groups[group.group_id]
        for deployment in group.deployments:
            self._deployments.pop(deployment.deployment_id, None)

    def _new_deployment(
        self,
        group: _Group,
        deployment_type: DeploymentType,
        *,
        client_token: str | None,
        created_at: datetime | None = None,
    ) -> _Deployment:
        now = created_at or self.clock.now()
        deployment_id = self._new_id()
        deployment = _Deployment(
            deployment_id=deployment_id,
            arn=f"{group.arn}/deployments/{deployment_id}",
            group=group,
            seq=self._next_seq(),
            deployment_type=deployment_type,
            listed_group_arn=group.arn if deployment_type in RESET_TYPES else group.version_arn,
            created_at=now,
            status=DeploymentStatus.BUILDING,
            updated_at=now,
            client_token=client_token,
            history=[(DeploymentStatus.BUILDING, now)],
        )
        group.deployments.append(deployment)
        group.in_flight[deployment_id] = deployment
        self._deployments[deployment_id] = deployment
        self._all_deployments[deployment_id] = deployment
        return deployment

    def _start_deployment(
        self, group: _Group, deployment_type: DeploymentType, *, client_token: str | None
    ) -> _Deployment:
        deployment = self._new_deployment(group, deployment_type, client_token=client_token)
        self._begin(deployment)
        return deployment

    def _begin(self, deployment: _Deployment) -> None:
        """Announce `Building` and schedule the move to `InProgress`."""
        self._emit(deployment, deployment.created_at)
        self._schedule(
            deployment.created_at + timedelta(seconds=self.timings.build_s),
            _Action.TO_IN_PROGRESS,
            deployment,
        )

    def _to_in_progress(self, deployment: _Deployment, at: datetime) -> None:
        self._set_status(deployment, DeploymentStatus.IN_PROGRESS, at)
        self._schedule_answer(deployment, at)

    def _schedule_answer(self, deployment: _Deployment, since: datetime) -> None:
        """Decide when (and how) an `InProgress` deployment ends, from its type and the group's core."""
        if deployment.deployment_type is DeploymentType.FORCE_RESET:
            when = since + timedelta(seconds=self.timings.force_reset_s)
            self._schedule(when, _Action.SUCCEED, deployment)
            return
        core = deployment.group.core
        if deployment.doomed:
            self._schedule(since + timedelta(seconds=core.response_delay_s), _Action.FAIL, deployment)
            return
        outcome = core.outcome(self._core_rng)
        if outcome.delay_s is None:
            return  # the core never answers: InProgress until superseded or the core comes back
        when = since + timedelta(seconds=outcome.delay_s)
        self._schedule(when, _Action.SUCCEED if outcome.succeeds else _Action.FAIL, deployment)

    def _finish(
        self,
        deployment: _Deployment,
        at: datetime,
        *,
        succeeded: bool,
        reason: str = "",
        detail: ErrorDetail | None = None,
    ) -> None:
        deployment.generation += 1
        if not succeeded:
            deployment.error_message = (
                f"Deployment {deployment.deployment_id} of type {deployment.deployment_type.value} "
                f"for group {deployment.group.group_id} failed error: {reason}"
            )
            deployment.error_details = (detail,) if detail else ()
        self._set_status(deployment, DeploymentStatus.SUCCESS if succeeded else DeploymentStatus.FAILURE, at)

    def _set_status(self, deployment: _Deployment, status: DeploymentStatus, at: datetime) -> None:
        deployment.status = status
        deployment.updated_at = at
        deployment.history.append((status, at))
        if status in TERMINAL_STATUSES:
            deployment.group.in_flight.pop(deployment.deployment_id, None)
        self._emit(deployment, at)

    # --- scheduling ----------------------------------------------------------------------------------

    def _schedule(
        self,
        due: datetime,
        action: _Action,
        deployment: _Deployment | None = None,
        event: dict[str, Any] | None = None,
        event_time: datetime | None = None,
    ) -> None:
        generation = deployment.generation if deployment is not None else 0
        item = _Scheduled(due, self._next_seq(), action, deployment, generation, event, event_time)
        heapq.heappush(self._queue, item)

    def _drop_stale(self) -> None:
        while self._queue and self._queue[0].is_stale():
            heapq.heappop(self._queue)

    def next_due(self) -> datetime | None:
        """When the next scheduled transition or delayed event delivery happens (`None`: nothing is)."""
        with self._lock:
            self._drop_stale()
            return self._queue[0].due if self._queue else None

    def run_due(self) -> int:
        """Apply, in time order, everything scheduled at or before `clock.now()`; returns how many.

        Transitions carry their own scheduled time (event `time`, `UpdatedAt`), so a clock that jumped
        far ahead still yields the same history as one that stepped through every instant.
        """
        applied = 0
        with self._lock:
            now = self.clock.now()
            while True:
                self._drop_stale()
                if not self._queue or self._queue[0].due > now:
                    return applied
                item = heapq.heappop(self._queue)
                applied += 1
                if item.action is _Action.DELIVER:
                    assert item.event is not None and item.event_time is not None
                    self._deliver(item.event, item.event_time)
                    continue
                deployment = item.deployment
                assert deployment is not None
                if item.action is _Action.TO_IN_PROGRESS:
                    self._to_in_progress(deployment, item.due)
                elif item.action is _Action.SUCCEED:
                    self._finish(deployment, item.due, succeeded=True)
                else:
                    self._fail_by_core(deployment, item.due)

    def _fail_by_core(self, deployment: _Deployment, at: datetime) -> None:
        if deployment.doomed:
            reason = "the core could not apply the group version (simulated failing deployment)."
        else:
            reason = f"the core reported a failure (simulated {deployment.group.core.behaviour.value} core)."
        detail = ErrorDetail("SimulatedCoreFailure", reason)
        self._finish(deployment, at, succeeded=False, reason=reason, detail=detail)

    def advance(self, seconds: float = 0.0) -> int:
        """Move the clock forward by `seconds`, then `run_due()`. Needs a `SimulatedClock`."""
        with self._lock:
            if seconds:
                self.clock.advance(seconds)
            return self.run_due()

    def run_until_idle(self, *, limit: datetime | None = None) -> int:
        """Jump the clock from one due time to the next until nothing is scheduled (or `limit`).

        Deployments waiting for an offline core schedule nothing, so this always terminates.
        """
        applied = 0
        with self._lock:
            while (due := self.next_due()) is not None and (limit is None or due <= limit):
                self.clock.advance_to(due)
                applied += self.run_due()
        return applied

    # --- events --------------------------------------------------------------------------------------

    def _emit(self, deployment: _Deployment, at: datetime) -> None:
        """Publish (or, per the fault profile, drop, duplicate or delay) one status-change event."""
        event = {
            "version": "0",
            "id": self._new_id(),
            "detail-type": DetailType.DEPLOYMENT_STATUS_CHANGE.value,
            "source": GREENGRASS_SOURCE,
            "account": self.account,
            "time": _iso_s(at),
            "region": self.region,
            "resources": [],
            "detail": {
                "group-id": deployment.group.group_id,
                "deployment-id": deployment.deployment_id,
                "deployment-type": deployment.deployment_type.value,
                "status": deployment.status.value,
            },
        }
        faults = self.faults
        if faults.drop_event_rate and self._fault_rng.random() < faults.drop_event_rate:
            self.dropped_events.append(event)
            return
        copies = (
            2 if faults.duplicate_event_rate and self._fault_rng.random() < faults.duplicate_event_rate else 1
        )
        for _ in range(copies):
            if faults.event_delay_s:
                delay = self._fault_rng.uniform(0.0, faults.event_delay_s)
                self._schedule(at + timedelta(seconds=delay), _Action.DELIVER, event=event, event_time=at)
            else:
                self._deliver(event, at)

    def _deliver(self, event: dict[str, Any], at: datetime) -> None:
        self.published_events.append(event)
        self._publish(
            [
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "EventBusName": "default",
                    "Time": at,
                    "Resources": list(event["resources"]),
                }
            ]
        )

    # --- fleet helpers (no API call, no faults) ------------------------------------------------------

    def add_group(
        self,
        *,
        name: str | None = None,
        core: str | CoreProfile = "online",
        deployed: bool = True,
        tags: Mapping[str, str] | None = None,
    ) -> str:
        """Create a group with a simulated core; returns its id.

        `deployed=True` gives it a `NewDeployment` that succeeded `timings.preexisting_age_s` ago,
        silently (no events: it happened before the simulation started).
        """
        with self._lock:
            group = self._create_group(
                name=name or f"sim-group-{len(self._group_list) + 1:04d}",
                core=CoreProfile.of(core),
                tags=dict(tags or {}),
            )
            if deployed:
                created = self.clock.now() - timedelta(seconds=self.timings.preexisting_age_s)
                group.created_at = group.updated_at = created - timedelta(seconds=60)
                deployment = self._new_deployment(
                    group, DeploymentType.NEW, client_token=None, created_at=created
                )
                in_progress = created + timedelta(seconds=self.timings.build_s)
                done = in_progress + timedelta(seconds=group.core.response_delay_s)
                deployment.history += [
                    (DeploymentStatus.IN_PROGRESS, in_progress),
                    (DeploymentStatus.SUCCESS, done),
                ]
                deployment.status = DeploymentStatus.SUCCESS
                deployment.updated_at = done
                del group.in_flight[deployment.deployment_id]
            return group.group_id

    def deploy(self, group_id: str, *, deployment_type: DeploymentType = DeploymentType.NEW) -> str:
        """Start a `NewDeployment` (or `Redeployment`) as someone else would; returns its id.

        Unlike the API, this bypasses faults and call counting: it is scenario set-up, not traffic.
        """
        if deployment_type not in CREATE_DEPLOYMENT_TYPES:
            raise ValueError("deploy() starts NewDeployment or Redeployment; use ResetDeployments for resets")
        with self._lock:
            return self._start_deployment(
                self._group(group_id), deployment_type, client_token=None
            ).deployment_id

    def start_failing_deployment(self, group_id: str) -> str:
        """Start a `NewDeployment` that the core will fail, whatever its profile; returns its id.

        This is how a scenario produces the `Failure` event gg-reset remediates. The core answers
        after its usual `response_delay_s` (even an offline core: the scenario wants the failure).
        """
        with self._lock:
            deployment = self._new_deployment(self._group(group_id), DeploymentType.NEW, client_token=None)
            deployment.doomed = True
            self._begin(deployment)
            return deployment.deployment_id

    def remove_group(self, group_id: str) -> None:
        """Delete a group outside the API, as another tool or person would (no faults, not counted).

        Deleting a deployed group this way still records an `OrphanedCore`: the core is stranded no
        matter who deleted the group.
        """
        with self._lock:
            self._delete_group_recording_orphans(self._group(group_id))

    def set_core(self, group_id: str, core: str | CoreProfile) -> None:
        """Change a group's core, e.g. bring an offline core back online.

        Deployments already `InProgress` are re-decided by the new core from now on: a core that comes
        back picks up what was waiting for it, as a reconnecting Greengrass core does.
        """
        with self._lock:
            group = self._group(group_id)
            group.core = CoreProfile.of(core)
            now = self.clock.now()
            for deployment in group.active():
                if (
                    deployment.status is DeploymentStatus.IN_PROGRESS
                    and deployment.deployment_type is not DeploymentType.FORCE_RESET
                ):
                    deployment.generation += 1
                    self._schedule_answer(deployment, now)

    def _group(self, group_id: str) -> _Group:
        group = self._groups.get(group_id)
        if group is None:
            raise KeyError(f"no live simulated group {group_id}")
        return group

    # --- observability -------------------------------------------------------------------------------

    def group_exists(self, group_id: str) -> bool:
        return group_id in self._groups

    def group_ids(self) -> list[str]:
        """Live groups, oldest first."""
        with self._lock:
            return list(self._groups)

    def tags(self, group_id: str) -> dict[str, str]:
        return dict(self._group(group_id).tags)

    def core(self, group_id: str) -> CoreProfile:
        return self._group(group_id).core

    def deployments(self, group_id: str) -> list[DeploymentRecord]:
        """Every deployment of a group (deleted groups included), oldest first."""
        with self._lock:
            group = self._all_groups.get(group_id)
            if group is None:
                raise KeyError(f"no simulated group {group_id}")
            return [d.record() for d in group.deployments]

    def deployment(self, deployment_id: str) -> DeploymentRecord:
        with self._lock:
            deployment = self._all_deployments.get(deployment_id)
            if deployment is None:
                raise KeyError(f"no simulated deployment {deployment_id}")
            return deployment.record()

    def reset_count(self, group_id: str) -> int:
        """How many (forced) resets a group has had, deleted groups included."""
        with self._lock:
            group = self._all_groups.get(group_id)
            if group is None:
                raise KeyError(f"no simulated group {group_id}")
            return sum(d.deployment_type in RESET_TYPES for d in group.deployments)

    def events_for(self, deployment_id: str) -> list[dict[str, Any]]:
        """The events delivered for one deployment, in delivery order."""
        return [e for e in self.published_events if e["detail"]["deployment-id"] == deployment_id]

    @property
    def throttled_count(self) -> int:
        return self.errors[THROTTLED_CODE]

    @property
    def server_error_count(self) -> int:
        return self.errors[SERVER_ERROR_CODE]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def pending(self) -> int:
        """Scheduled transitions and deliveries not yet applied (stale ones excluded)."""
        with self._lock:
            return sum(not item.is_stale() for item in self._queue)

    def summary(self) -> dict[str, Any]:
        """Counts for the demo report and soak tests."""
        with self._lock:
            statuses: Counter[str] = Counter()
            for deployment in self._deployments.values():
                statuses[f"{deployment.deployment_type.value}:{deployment.status.value}"] += 1
            return {
                "groups": len(self._groups),
                "deleted_groups": len(self._all_groups) - len(self._groups),
                "calls": dict(self.calls),
                "errors": dict(self.errors),
                "events_published": len(self.published_events),
                "events_dropped": len(self.dropped_events),
                "orphaned_cores": len(self.orphaned_cores),
                "deployments": dict(statuses),
            }
