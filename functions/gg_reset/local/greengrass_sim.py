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
* Tags on groups and definitions (by ARN), and paging of every list with string `MaxResults`.
* The group object model: the seven definition types (Core, Device, Function, Subscription, Logger,
  Resource, Connector; `DEFINITION_KINDS`), each with Create/Get/List/Update/Delete and Create/Get/List of
  its immutable versions; group versions (`CreateGroupVersion`, `GetGroupVersion`, `ListGroupVersions`)
  referencing one definition version of each kind at most; `GetGroup`'s `LatestVersion`/`LatestVersionArn`
  naming the newest group version. A `NewDeployment` deploys a group version (its `GroupArn` in
  `ListDeployments` is that version's ARN), which needs a core definition version with a core.
* The fleet (`add_group`) looks like groups made in the console: each has a core definition `<name>_Core`
  whose version names the core's thing `<name>_Core` and its certificate, and a group version referencing
  it (and, via `definitions=`, definitions made by `add_definition`, which groups may share).
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
* `ListDeployments` lists newest first (as the developer guide's examples show), and so does every list
  of versions (the CLI reference's list-group-versions example); definitions and groups are listed oldest
  first (the CLI's list-core-definitions example looks sorted by id; the order is not documented). Every
  list defaults to 50 items per page. A deployment's `GroupArn` is its group *version* ARN for
  `NewDeployment`/`Redeployment` and the group ARN for resets. A `Redeployment` deploys the group version
  of the deployment it redeploys (a checked `GroupVersionId`, if sent, does not change that).
* Deployment history is kept after a reset.
* **Deleting a definition a group version references is accepted** (moto accepts it too). The CLI
  reference's delete-core-definition example: "deletes the specified Greengrass core definition, including
  all versions. If you delete a core that is associated with a Greengrass group, that group can't be deployed
  successfully" (the device and resource examples say the same). So the definition and all its versions go;
  group versions, being immutable, keep the ARN (`GetGroupVersion` still shows it); a later
  `NewDeployment`/`Redeployment` of such a version is accepted and ends `Building` -> `Failure`, without the
  core, with `ErrorDetails` code `SimulatedMissingDefinition`. Resets never deploy a version, so they are
  unaffected. `DeleteGroup` deletes the group's versions, never its definitions (a teardown must delete them).
* **A group version must reference live definition versions of the right kind** ("You must create these
  entities before you can create the group version", the CLI's create-group-version), else 400
  `BadRequestException` with moto's message "The group is invalid or corrupted. (ErrorDetails: [Cores
  definition reference does not exist, ...])" (moto's code is the string "400"). `CreateGroup` with an
  `InitialVersion` is checked the same way before the group exists; without one it makes no version, so the
  group has no `LatestVersion` (the CLI's create-group example; moto always makes an empty one).
* **A `NewDeployment` needs a core**: a group version without a core definition version, or one with no
  core, is 400 `MissingCoreException` "You need a Greengrass Core in this Group before you can deploy." with
  `ErrorDetails` `GG-303` (moto's code and detail; moto puts the details' JSON in the message). A core
  definition version may hold more than one core: AWS says there is "currently" only one but documents no
  refusal, so the simulator accepts it and `core_thing()` reads the first.
* **Unknown definitions and versions answer like moto**, where moto is consistent: `Get<Kind>Definition` 404
  `IdNotFoundException` "That <Core|Device|Lambda|Subscription|Logger|Resource|Connector> List Definition does
  not exist."; every other operation on an unknown definition 404 `IdNotFoundException` "That <cores|devices|
  lambdas|subscriptions|loggers|resources|connectors> definition does not exist."; an unknown version 404
  `VersionNotFoundException` "Version <v> of <Kind> List Definition <id> does not exist.". Group versions:
  `CreateGroupVersion` 404 `IdNotFoundException` "That group does not exist.", `GetGroupVersion`/
  `ListGroupVersions` "That group definition does not exist.", an unknown version 404
  `VersionNotFoundException` "Version <v> of Group Definition <id> does not exist.". moto's slips (no period
  after "That Core List Definition does not exist", "That lambdas does not exist.", a crash (`KeyError`) on
  `CreateCoreDefinitionVersion` of an unknown definition, `IdNotFoundException` for an unknown function
  version) are not copied; docs/greengrass-v1.md lists them.
* A definition version holds what was sent, checked only for the members the Model requires of each item
  (`Core`: `Id`, `ThingArn`, `CertificateArn`); its `Get<Kind>DefinitionVersion` returns every item at once
  (no `NextToken`). Creating a version changes the definition's (or group's) `LatestVersion`, not its
  `LastUpdatedTimestamp` (the CLI's get-group example shows an unchanged one); `Update<Kind>Definition` (its
  `Name`, the only thing it updates) does change it. An empty `Name` is moto's 400
  `InvalidContainerDefinitionException` "Input does not contain any attributes to be updated".
* Definition ids (and the fleet's certificate ids) come from an rng stream of their own, so the group and
  deployment ids of a seed are the ones they were before definitions were simulated.
* Client tokens are scoped per operation and group (or definition) and never expire in the simulator (AWS
  keeps them for a limited time; a caller should not rely on a token outliving its retries anyway). Every
  `Create*` operation replays its answer to a repeated token, like `CreateGroup`.
* Event `id`s differ between a duplicate's two deliveries once they go through `PutEvents` (EventBridge
  assigns ids), so consumers must deduplicate on the detail (deployment id + status), not the id.
"""

from __future__ import annotations

import base64
import heapq
import json
import random
import re
import threading
import uuid
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from itertools import product
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol, TypeVar, cast

import boto3
import botocore.session
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
    "DEFINITION_KINDS",
    "DEFINITION_OPERATIONS",
    "ENDPOINT_URL",
    "KINDS_BY_NAME",
    "ContestedBehaviour",
    "CoreIdentities",
    "CoreThing",
    "DefinitionKind",
    "DefinitionRef",
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
ID_NOT_FOUND_CODE: Final = "IdNotFoundException"
VERSION_NOT_FOUND_CODE: Final = "VersionNotFoundException"
MISSING_CORE_CODE: Final = "MissingCoreException"
MISSING_CORE_DETAIL: Final = ErrorDetail(
    "GG-303", "You need a Greengrass Core in this Group before you can deploy."
)
"""moto's (recorded) answer to deploying a group version without a core; moto puts the detail in `Message`."""


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


@dataclass(frozen=True, slots=True)
class DefinitionKind:
    """One of the seven Greengrass V1 definition types, spelled as its operations, ARNs and errors do."""

    name: str
    """`Core`: `CreateCoreDefinition`, the `CoreDefinitionId` label, `CoreDefinitionVersionArn`, the Model's
    item shape `Core`."""
    path: str
    """`cores`: `/greengrass/definition/cores/<id>` (paths and ARNs)."""
    items: str
    """`Cores`: the list a version holds (`InitialVersion.Cores`, `Definition.Cores`)."""
    list_label: str
    """`Core`, `Lambda` for functions: moto's "That <label> List Definition does not exist."."""
    noun: str
    """`cores`, `lambdas` for functions: moto's "That <noun> definition does not exist."."""
    reference: str
    """`Cores`, `Lambda`...: moto's "<reference> definition reference does not exist" (group versions)."""
    extra: tuple[str, ...] = ()
    """Version members besides the item list (`DefaultConfig` of function definition versions)."""

    @property
    def version_arn_key(self) -> str:
        """The member of a group version that references a version of this kind."""
        return f"{self.name}DefinitionVersionArn"


DEFINITION_KINDS: Final = (
    DefinitionKind("Core", "cores", "Cores", "Core", "cores", "Cores"),
    DefinitionKind("Device", "devices", "Devices", "Device", "devices", "Devices"),
    DefinitionKind("Function", "functions", "Functions", "Lambda", "lambdas", "Lambda", ("DefaultConfig",)),
    DefinitionKind(
        "Subscription", "subscriptions", "Subscriptions", "Subscription", "subscriptions", "Subscription"
    ),
    DefinitionKind("Logger", "loggers", "Loggers", "Logger", "loggers", "Loggers"),
    DefinitionKind("Resource", "resources", "Resources", "Resource", "resources", "Resource"),
    DefinitionKind("Connector", "connectors", "Connectors", "Connector", "connectors", "Connectors"),
)
"""The seven definition types, in the API reference's order of a group version's members."""

KINDS_BY_NAME: Final = {kind.name: kind for kind in DEFINITION_KINDS}
_KINDS_BY_PATH: Final = {kind.path: kind for kind in DEFINITION_KINDS}
_REFERENCE_CHECK_ORDER: Final = tuple(
    KINDS_BY_NAME[name]
    for name in ("Core", "Function", "Resource", "Device", "Subscription", "Logger", "Connector")
)
"""The order of moto's "definition reference does not exist" details (the two moto lacks last)."""

_DEFINITION_VERBS: Final = {
    "Create{}Definition": "create",
    "Get{}Definition": "get",
    "List{}Definitions": "list",
    "Update{}Definition": "update",
    "Delete{}Definition": "delete",
    "Create{}DefinitionVersion": "create_version",
    "Get{}DefinitionVersion": "get_version",
    "List{}DefinitionVersions": "list_versions",
}
DEFINITION_OPERATIONS: Final = {
    template.format(kind.name): (kind, verb)
    for kind in DEFINITION_KINDS
    for template, verb in _DEFINITION_VERBS.items()
}
"""Operation name -> (kind, verb): the 56 definition operations, served by one `_definition_<verb>` each."""

_THING_NAME_UNSAFE: Final = re.compile(r"[^a-zA-Z0-9:_-]")


@dataclass(frozen=True, slots=True)
class DefinitionRef:
    """A definition and one of its versions, from `add_definition` (pass it to `add_group(definitions=)`)."""

    kind: str
    definition_id: str
    definition_arn: str
    version_id: str
    version_arn: str


class CoreIdentities(Protocol):
    """Where the fleet's core things and certificates come from (`GreengrassSimulator(identities=...)`).

    Without one, a fleet group's core definition names ARNs that exist nowhere; with one (the local runtime's
    `gg_reset.local.iot_fleet.MotoCoreIdentities`), they name a real thing and certificate in an AWS IoT
    backend, so a teardown of the group has something to find and delete.
    """

    def provision(self, thing_name: str) -> tuple[str, str]:
        """Create the core's thing `thing_name` and a certificate for it; returns (thing ARN, cert ARN)."""
        ...


@dataclass(frozen=True, slots=True)
class CoreThing:
    """The AWS IoT thing and certificate a group's core definition version names (its first core)."""

    thing_name: str
    thing_arn: str
    certificate_id: str
    certificate_arn: str
    core_definition_id: str
    core_definition_version_id: str


# --- internal state ----------------------------------------------------------------------------------


@dataclass(slots=True, eq=False)
class _Group:
    group_id: str
    name: str
    arn: str
    seq: int
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str]
    core: CoreProfile
    versions: list[_GroupVersion] = field(default_factory=list)
    """Oldest first; append-only (paging relies on it). Empty for a group created without `InitialVersion`."""
    deployments: list[_Deployment] = field(default_factory=list)
    """Oldest first; append-only while the group exists (paging relies on it)."""
    in_flight: dict[str, _Deployment] = field(default_factory=dict)
    """Deployments `Building` or `InProgress`, oldest first: kept so no check scans the history."""
    deleted: bool = False

    def newest(self) -> _Deployment | None:
        return self.deployments[-1] if self.deployments else None

    def latest_version(self) -> _GroupVersion | None:
        return self.versions[-1] if self.versions else None

    def version(self, version_id: str) -> _GroupVersion | None:
        for version in reversed(self.versions):
            if version.version_id == version_id:
                return version
        return None

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
class _Definition:
    kind: DefinitionKind
    definition_id: str
    arn: str
    seq: int
    name: str | None
    created_at: datetime
    updated_at: datetime
    tags: dict[str, str]
    versions: list[_DefinitionVersion] = field(default_factory=list)
    """Oldest first; append-only (paging relies on it). Deleted with the definition."""
    deleted: bool = False

    def latest(self) -> _DefinitionVersion | None:
        return self.versions[-1] if self.versions else None

    def version(self, version_id: str) -> _DefinitionVersion | None:
        for version in reversed(self.versions):
            if version.version_id == version_id:
                return version
        return None


@dataclass(slots=True, eq=False)
class _DefinitionVersion:
    definition: _Definition
    version_id: str
    arn: str
    seq: int
    created_at: datetime
    content: dict[str, Any]
    """The version's `Definition`: `{"Cores": [...]}` (functions: also `DefaultConfig`), as sent."""

    def ref(self) -> DefinitionRef:
        definition = self.definition
        return DefinitionRef(
            definition.kind.name, definition.definition_id, definition.arn, self.version_id, self.arn
        )


@dataclass(slots=True, eq=False)
class _GroupVersion:
    group: _Group
    version_id: str
    arn: str
    seq: int
    created_at: datetime
    references: dict[str, _DefinitionVersion]
    """By kind name, in `DEFINITION_KINDS` order. Immutable: a deleted definition's ARN stays here."""

    def definition_json(self) -> dict[str, str]:
        return {KINDS_BY_NAME[name].version_arn_key: ref.arn for name, ref in self.references.items()}

    def dangling(self) -> list[_DefinitionVersion]:
        """The referenced definition versions whose definition was deleted since."""
        return [ref for ref in self.references.values() if ref.definition.deleted]


@dataclass(slots=True, eq=False)
class _Deployment:
    deployment_id: str
    arn: str
    group: _Group
    seq: int
    deployment_type: DeploymentType
    group_version: _GroupVersion | None
    """What a `NewDeployment`/`Redeployment` deploys; `None` for resets."""
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


class _Sequenced(Protocol):
    seq: int


_S = TypeVar("_S", bound=_Sequenced)


@dataclass(frozen=True, slots=True)
class _TokenUse:
    fingerprint: tuple[object, ...]
    response: Mapping[str, Any]


def _canonical(value: object) -> str:
    """A request body as a client-token fingerprint: equal JSON, equal string."""
    return json.dumps(value, sort_keys=True, default=str)


@cache
def _required_members() -> dict[str, frozenset[str]]:
    """By kind name, the members the Model requires of an item of a definition version (`Core`: `Id`,
    `ThingArn`, `CertificateArn`): its item shapes are named after the kinds."""
    model = botocore.session.get_session().get_service_model("greengrass")
    return {kind.name: frozenset(model.shape_for(kind.name).required_members) for kind in DEFINITION_KINDS}


def _version_content(kind: DefinitionKind, raw: object) -> dict[str, Any]:
    """A definition version's `Definition` from a request body; a 400 where the Model would refuse it."""
    if not isinstance(raw, Mapping):
        raise ApiError(400, BAD_REQUEST_CODE, f"The {kind.noun} definition version must be a JSON object.")
    items = raw.get(kind.items, [])
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise ApiError(400, BAD_REQUEST_CODE, f"{kind.items} must be a list of objects.")
    required = _required_members()[kind.name]
    for index, item in enumerate(items):
        absent = sorted(required - item.keys())
        if absent:
            missing = ",".join(absent)
            raise ApiError(
                400,
                BAD_REQUEST_CODE,
                f"{kind.items}[{index}] is missing the following required parameter(s): {{{missing}}}.",
            )
    content: dict[str, Any] = {kind.items: [dict(item) for item in items]}
    for extra in kind.extra:
        if raw.get(extra) is not None:
            content[extra] = raw[extra]
    return content


def _iso_ms(moment: datetime) -> str:
    """`2019-06-25T18:07:17.688Z`, the timestamp format of Greengrass V1 responses."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _iso_s(moment: datetime) -> str:
    """`2018-03-22T00:38:11Z`, the `time` format of EventBridge events."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def simulated_client(service: str, endpoint_url: str, region: str, config: Config | None) -> Any:
    """A real boto3 client for a simulator to answer: fake credentials, and botocore's own retries off by
    default (one attempt), so every 429/5xx reaches the caller and no wall time goes to backoff sleeps."""
    return boto3.client(  # type: ignore[call-overload]  # the service is a parameter, not a literal
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=config or Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


def answer_requests(
    client: BaseClient, service: str, before_send: Callable[..., Any], *, owner: object
) -> None:
    """Let `before_send` answer the client's requests of `service` (once per `owner`).

    The stubs type event handlers as returning None, but a `before-send` handler returning a response is
    botocore's documented way to short-circuit the HTTP send (moto relies on it too); `before-send.<service>`
    handlers run before moto's plain `before-send` one, so this answers inside `mock_aws()` too."""
    handler = cast("Callable[..., None]", before_send)
    client.meta.events.register(
        f"before-send.{service}", handler, unique_id=f"gg-reset-{service}-sim-{id(owner)}"
    )


class GreengrassSimulator:
    """Greengrass V1 groups, group versions, definitions, deployments and cores, served to real boto3 clients.

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
        identities: CoreIdentities | None = None,
    ) -> None:
        """`contested` sets the answers where AWS documents nothing (see `ContestedBehaviour`).

        `refuse_deleting_deployed_groups`, when given, overrides that one switch of `contested` (it is the
        older spelling of it, kept for existing callers).

        `identities`, when given, provisions each fleet group's core thing and certificate (`add_group`)
        instead of naming made-up ARNs.
        """
        self.clock = clock
        self.account = account
        self.region = region
        self.timings = timings
        self.default_core = CoreProfile.of(default_core)
        if refuse_deleting_deployed_groups is not None:
            contested = replace(contested, refuse_deleting_deployed_groups=refuse_deleting_deployed_groups)
        self.contested = contested
        self._identities = identities
        self._publish = publish
        self._id_rng = random.Random(rng.getrandbits(64))
        self._fault_rng = random.Random(rng.getrandbits(64))
        self._core_rng = random.Random(rng.getrandbits(64))
        # Drawn last, so the streams above (and so every group and deployment id of a seed) are unchanged.
        self._definition_rng = random.Random(rng.getrandbits(64))
        self._lock = threading.RLock()

        self._groups: dict[str, _Group] = {}  # live groups
        self._all_groups: dict[str, _Group] = {}  # including deleted ones, for observability
        self._group_list: list[_Group] = []  # every group ever created, by seq (ListGroups paging)
        self._deployments: dict[str, _Deployment] = {}  # deployments of live groups
        self._all_deployments: dict[str, _Deployment] = {}  # including deleted groups
        # Definitions by kind name: the live ones by id, and every one ever created by seq (paging).
        self._definitions: dict[str, dict[str, _Definition]] = {k.name: {} for k in DEFINITION_KINDS}
        self._definition_lists: dict[str, list[_Definition]] = {k.name: [] for k in DEFINITION_KINDS}
        self._definition_versions: dict[str, _DefinitionVersion] = {}  # by ARN, deleted ones included
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
        client: GreengrassClient = simulated_client("greengrass", ENDPOINT_URL, self.region, config)
        self.attach(client)
        return client

    def attach(self, client: BaseClient) -> None:
        """Answer every request of an existing boto3 Greengrass client (whatever its endpoint)."""
        if client.meta.service_model.service_name != "greengrass":
            raise ValueError(
                f"can only attach to a greengrass client, not {client.meta.service_model.service_name}"
            )
        answer_requests(client, "greengrass", self._before_send, owner=self)

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
            response = self._dispatch(request)
            if lose_response:
                raise ApiError(500, SERVER_ERROR_CODE, "An internal error occurred. Please try again.")
            return response

    def _dispatch(self, request: ApiRequest) -> ApiResponse:
        """The operation's handler: `_op_<Name>`, or `_definition_<verb>` for the 56 definition operations."""
        family = DEFINITION_OPERATIONS.get(request.operation)
        if family is not None:
            kind, verb = family
            definition_handler: Callable[[DefinitionKind, ApiRequest], ApiResponse] = getattr(
                self, f"_definition_{verb}"
            )
            return definition_handler(kind, request)
        handler: Callable[[ApiRequest], ApiResponse] = getattr(self, f"_op_{request.operation}")
        return handler(request)

    def _op_CreateGroup(self, request: ApiRequest) -> ApiResponse:  # noqa: N802 - named after the API
        name = request.body.get("Name")
        if not isinstance(name, str) or not name:
            raise ApiError(
                400,
                "InvalidInputException",
                "Your request is missing the following required parameter(s): {Name}.",
            )
        tags = request.body.get("tags") or {}
        initial = request.body.get("InitialVersion")
        token = request.header("X-Amzn-Client-Token")
        fingerprint: tuple[object, ...] = (name, tuple(sorted(tags.items())))
        if initial is not None:
            fingerprint += (_canonical(initial),)
        replay = self._replay("CreateGroup", "", token, fingerprint)
        if replay is not None:
            return ApiResponse(body=replay)
        # Checked before the group exists: a refused initial version creates nothing.
        references = None if initial is None else self._group_version_references(initial)
        group = self._create_group(
            name=name, core=self.default_core, tags=dict(tags), initial_version=references
        )
        body = self._group_json(group)
        self._remember("CreateGroup", "", token, fingerprint, body)
        return ApiResponse(body=body)

    def _op_GetGroup(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, ID_NOT_FOUND_CODE, "That Group Definition does not exist.")
        body = self._group_json(group)
        if group.tags:
            body["tags"] = dict(group.tags)
        return ApiResponse(body=body)

    def _op_ListGroups(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        groups, next_token = self._page_oldest_first(
            request, "groups", self._group_list, lambda group: not group.deleted
        )
        body: dict[str, Any] = {"Groups": [self._group_json(group) for group in groups]}
        if next_token:
            body["NextToken"] = next_token
        return ApiResponse(body=body)

    # --- group versions ------------------------------------------------------------------------------

    def _op_CreateGroupVersion(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, ID_NOT_FOUND_CODE, "That group does not exist.")
        token = request.header("X-Amzn-Client-Token")
        fingerprint = (_canonical(request.body),)
        replay = self._replay("CreateGroupVersion", group.group_id, token, fingerprint)
        if replay is not None:
            return ApiResponse(body=replay)
        version = self._new_group_version(
            group, self._group_version_references(request.body), self.clock.now()
        )
        body = self._group_version_json(version)
        self._remember("CreateGroupVersion", group.group_id, token, fingerprint, body)
        return ApiResponse(body=body)

    def _op_GetGroupVersion(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, ID_NOT_FOUND_CODE, "That group definition does not exist.")
        version_id = request.path_params["GroupVersionId"]
        version = group.version(version_id)
        if version is None:
            raise ApiError(
                404,
                VERSION_NOT_FOUND_CODE,
                f"Version {version_id} of Group Definition {group.group_id} does not exist.",
            )
        body = self._group_version_json(version)
        body["Definition"] = version.definition_json()
        return ApiResponse(body=body)

    def _op_ListGroupVersions(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        group = self._groups.get(request.path_params["GroupId"])
        if group is None:
            raise ApiError(404, ID_NOT_FOUND_CODE, "That group definition does not exist.")
        versions, next_token = self._page_newest_first(request, "group-versions", group.versions)
        body: dict[str, Any] = {"Versions": [self._group_version_json(v) for v in versions]}
        if next_token:
            body["NextToken"] = next_token
        return ApiResponse(body=body)

    def _group_version_references(self, body: object) -> dict[str, _DefinitionVersion]:
        """The definition versions a `GroupVersion` body names; a 400 unless each is live and of its kind."""
        if not isinstance(body, Mapping):
            raise ApiError(400, BAD_REQUEST_CODE, "The group version must be a JSON object.")
        found: dict[str, _DefinitionVersion] = {}
        missing: list[str] = []
        for kind in _REFERENCE_CHECK_ORDER:
            arn = body.get(kind.version_arn_key)
            if arn is None:
                continue
            version = self._definition_versions.get(arn) if isinstance(arn, str) else None
            if version is None or version.definition.kind is not kind or version.definition.deleted:
                missing.append(f"{kind.reference} definition reference does not exist")
            else:
                found[kind.name] = version
        if missing:
            # moto's wording (its code is "400"; the Model's only client error is BadRequestException).
            raise ApiError(
                400,
                BAD_REQUEST_CODE,
                f"The group is invalid or corrupted. (ErrorDetails: [{', '.join(missing)}])",
            )
        return {kind.name: found[kind.name] for kind in DEFINITION_KINDS if kind.name in found}

    @staticmethod
    def _group_version_json(version: _GroupVersion) -> dict[str, Any]:
        return {
            "Arn": version.arn,
            "CreationTimestamp": _iso_ms(version.created_at),
            "Id": version.group.group_id,
            "Version": version.version_id,
        }

    # --- definitions: one handler per verb for the seven kinds ---------------------------------------

    def _definition_create(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        body = request.body
        name = body.get("Name")
        if name is not None and not isinstance(name, str):
            raise ApiError(400, BAD_REQUEST_CODE, "Name must be a string.")
        tags = body.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise ApiError(400, BAD_REQUEST_CODE, "tags must be a map of strings.")
        operation = f"Create{kind.name}Definition"
        token = request.header("X-Amzn-Client-Token")
        fingerprint = (_canonical(body),)
        replay = self._replay(operation, "", token, fingerprint)
        if replay is not None:
            return ApiResponse(body=replay)
        initial = body.get("InitialVersion")
        content = None if initial is None else _version_content(kind, initial)
        now = self.clock.now()
        definition = self._new_definition(
            kind, name=name, tags={str(k): str(v) for k, v in tags.items()}, at=now
        )
        if content is not None:
            self._new_definition_version(definition, content, now)
        answer = self._definition_json(definition)
        self._remember(operation, "", token, fingerprint, answer)
        return ApiResponse(body=answer)

    def _definition_get(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        definition = self._definitions[kind.name].get(request.path_params[f"{kind.name}DefinitionId"])
        if definition is None:
            raise ApiError(404, ID_NOT_FOUND_CODE, f"That {kind.list_label} List Definition does not exist.")
        return ApiResponse(body=self._definition_json(definition))

    def _definition_list(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        definitions, next_token = self._page_oldest_first(
            request, f"definitions-{kind.path}", self._definition_lists[kind.name], lambda d: not d.deleted
        )
        body: dict[str, Any] = {"Definitions": [self._definition_json(d) for d in definitions]}
        if next_token:
            body["NextToken"] = next_token
        return ApiResponse(body=body)

    def _definition_update(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        name = request.body.get("Name")
        if not isinstance(name, str) or not name:
            # moto's answer (for resource definitions: 400 InvalidInputException "Invalid resource name.").
            raise ApiError(
                400,
                "InvalidContainerDefinitionException",
                "Input does not contain any attributes to be updated",
            )
        definition = self._live_definition(kind, request)
        definition.name = name
        definition.updated_at = self.clock.now()
        return ApiResponse(body={})

    def _definition_delete(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        definition = self._live_definition(kind, request)
        # Accepted even while a group version references it (see the module docstring): the definition and
        # all its versions go; group versions keep the ARN, and deploying one later fails.
        definition.deleted = True
        del self._definitions[kind.name][definition.definition_id]
        return ApiResponse(body={})

    def _definition_create_version(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        definition = self._live_definition(kind, request)
        operation = f"Create{kind.name}DefinitionVersion"
        token = request.header("X-Amzn-Client-Token")
        fingerprint = (_canonical(request.body),)
        replay = self._replay(operation, definition.definition_id, token, fingerprint)
        if replay is not None:
            return ApiResponse(body=replay)
        content = _version_content(kind, request.body)
        version = self._new_definition_version(definition, content, self.clock.now())
        answer = self._definition_version_json(version)
        self._remember(operation, definition.definition_id, token, fingerprint, answer)
        return ApiResponse(body=answer)

    def _definition_get_version(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        definition = self._live_definition(kind, request)
        version_id = request.path_params[f"{kind.name}DefinitionVersionId"]
        version = definition.version(version_id)
        if version is None:
            raise ApiError(
                404,
                VERSION_NOT_FOUND_CODE,
                f"Version {version_id} of {kind.list_label} List Definition {definition.definition_id} "
                "does not exist.",
            )
        body = self._definition_version_json(version)
        body["Definition"] = version.content
        return ApiResponse(body=body)

    def _definition_list_versions(self, kind: DefinitionKind, request: ApiRequest) -> ApiResponse:
        definition = self._live_definition(kind, request)
        versions, next_token = self._page_newest_first(request, "definition-versions", definition.versions)
        body: dict[str, Any] = {"Versions": [self._definition_version_json(v) for v in versions]}
        if next_token:
            body["NextToken"] = next_token
        return ApiResponse(body=body)

    def _live_definition(self, kind: DefinitionKind, request: ApiRequest) -> _Definition:
        definition = self._definitions[kind.name].get(request.path_params[f"{kind.name}DefinitionId"])
        if definition is None:
            raise ApiError(404, ID_NOT_FOUND_CODE, f"That {kind.noun} definition does not exist.")
        return definition

    @staticmethod
    def _definition_json(definition: _Definition) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Arn": definition.arn,
            "CreationTimestamp": _iso_ms(definition.created_at),
            "Id": definition.definition_id,
            "LastUpdatedTimestamp": _iso_ms(definition.updated_at),
        }
        latest = definition.latest()
        if latest is not None:
            body["LatestVersion"] = latest.version_id
            body["LatestVersionArn"] = latest.arn
        if definition.name is not None:
            body["Name"] = definition.name
        if definition.tags:
            body["tags"] = dict(definition.tags)
        return body

    @staticmethod
    def _definition_version_json(version: _DefinitionVersion) -> dict[str, Any]:
        return {
            "Arn": version.arn,
            "CreationTimestamp": _iso_ms(version.created_at),
            "Id": version.definition.definition_id,
            "Version": version.version_id,
        }

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
        target: _Deployment | None = None
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
        requested = group.version(version_id) if version_id else None
        if version_id and requested is None:
            raise ApiError(
                404,
                "ResourceNotFoundException",
                f"Version {version_id} of Group Definition {group.group_id} does not exist.",
            )
        # A Redeployment deploys what the redeployed deployment deployed (a reset deployed nothing: then the
        # version asked for, else the latest).
        version = (
            (target.group_version if target is not None else None) or requested or group.latest_version()
        )
        core = version.references.get("Core") if version is not None else None
        if version is None or core is None or not core.content.get("Cores"):
            raise ApiError(400, MISSING_CORE_CODE, MISSING_CORE_DETAIL.message, (MISSING_CORE_DETAIL,))
        deployment = self._start_deployment(group, deployment_type, version, client_token=token)
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
        deployment = self._new_deployment(group, deployment_type, None, client_token=token)
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
        group = self._groups.get(request.path_params["GroupId"])
        deployments = group.deployments if group is not None else []
        page, next_token = self._page_newest_first(request, "deployments", deployments)
        body: dict[str, Any] = {
            "Deployments": [
                {
                    "CreatedAt": _iso_ms(d.created_at),
                    "DeploymentArn": d.arn,
                    "DeploymentId": d.deployment_id,
                    "DeploymentType": d.deployment_type.value,
                    "GroupArn": d.listed_group_arn,
                }
                for d in page
            ]
        }
        if next_token:
            body["NextToken"] = next_token
        return ApiResponse(body=body)

    def _op_TagResource(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        resource_tags = self._tags_by_arn(request.path_params["resource-arn"])
        tags = request.body.get("tags")
        if not isinstance(tags, dict) or not tags:
            raise ApiError(400, BAD_REQUEST_CODE, "The request must contain at least one tag.")
        resource_tags.update({str(k): str(v) for k, v in tags.items()})
        return ApiResponse(status=204)

    def _op_UntagResource(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        resource_tags = self._tags_by_arn(request.path_params["resource-arn"])
        for key in request.query.get("tagKeys", []):
            resource_tags.pop(key, None)
        return ApiResponse(status=204)

    def _op_ListTagsForResource(self, request: ApiRequest) -> ApiResponse:  # noqa: N802
        return ApiResponse(body={"tags": dict(self._tags_by_arn(request.path_params["resource-arn"]))})

    # --- helpers for the operations ------------------------------------------------------------------

    def group_arn(self, group_id: str) -> str:
        return f"arn:aws:greengrass:{self.region}:{self.account}:/greengrass/groups/{group_id}"

    def definition_arn(self, kind: str, definition_id: str) -> str:
        path = KINDS_BY_NAME[kind].path
        return (
            f"arn:aws:greengrass:{self.region}:{self.account}:/greengrass/definition/{path}/{definition_id}"
        )

    def _tags_by_arn(self, arn: str) -> dict[str, str]:
        """The (mutable) tags of the group or definition `arn` names: the taggable resources simulated."""
        group_prefix = self.group_arn("")
        definition_prefix = f"arn:aws:greengrass:{self.region}:{self.account}:/greengrass/definition/"
        if (
            arn.startswith(group_prefix)
            and len(arn) > len(group_prefix)
            and "/" not in arn[len(group_prefix) :]
        ):
            group = self._groups.get(arn[len(group_prefix) :])
            if group is None:
                raise ApiError(404, "ResourceNotFoundException", "That Group Definition does not exist.")
            return group.tags
        path, _, definition_id = arn[len(definition_prefix) :].partition("/")
        kind = _KINDS_BY_PATH.get(path) if arn.startswith(definition_prefix) else None
        if kind is None or not definition_id or "/" in definition_id:
            raise ApiError(400, BAD_REQUEST_CODE, f"Invalid resource ARN: {arn}")
        definition = self._definitions[kind.name].get(definition_id)
        if definition is None:
            raise ApiError(
                404, "ResourceNotFoundException", f"That {kind.list_label} List Definition does not exist."
            )
        return definition.tags

    def _group_json(self, group: _Group) -> dict[str, Any]:
        body: dict[str, Any] = {
            "Arn": group.arn,
            "CreationTimestamp": _iso_ms(group.created_at),
            "Id": group.group_id,
            "LastUpdatedTimestamp": _iso_ms(group.updated_at),
        }
        latest = group.latest_version()
        if latest is not None:  # a group created without InitialVersion has none (the CLI's create-group)
            body["LatestVersion"] = latest.version_id
            body["LatestVersionArn"] = latest.arn
        body["Name"] = group.name
        return body

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

    def _page_oldest_first(
        self, request: ApiRequest, token_kind: str, items: Sequence[_S], live: Callable[[_S], bool]
    ) -> tuple[list[_S], str | None]:
        """One page of `items` (oldest first, append-only) that are `live`, and the next page's token."""
        page_size = self._page_size(request)
        start_seq = self._decode_token(request.query_one("NextToken"), token_kind)
        page: list[_S] = []
        for index in range(bisect_left(items, start_seq, key=lambda i: i.seq), len(items)):
            item = items[index]
            if not live(item):
                continue
            if len(page) == page_size:
                return page, self._encode_token(token_kind, item.seq)
            page.append(item)
        return page, None

    def _page_newest_first(
        self, request: ApiRequest, token_kind: str, items: Sequence[_S]
    ) -> tuple[list[_S], str | None]:
        """One page of `items` (oldest first, append-only) listed newest first, and the next page's token.

        The token holds the seq of the next (older) item to return, so items appended between two pages
        neither repeat nor shift the listing.
        """
        page_size = self._page_size(request)
        token = request.query_one("NextToken")
        end = len(items)
        if token is not None:
            end = bisect_left(items, self._decode_token(token, token_kind) + 1, key=lambda i: i.seq)
        start = max(0, end - page_size)
        page = [items[index] for index in range(end - 1, start - 1, -1)]
        return page, self._encode_token(token_kind, items[start - 1].seq) if start > 0 else None

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

    def _create_group(
        self,
        *,
        name: str,
        core: CoreProfile,
        tags: dict[str, str],
        initial_version: dict[str, _DefinitionVersion] | None,
        created_at: datetime | None = None,
    ) -> _Group:
        """A live group, with a first version when `initial_version` (its references) is given."""
        group_id = self._new_id()
        now = created_at or self.clock.now()
        group = _Group(
            group_id=group_id,
            name=name,
            arn=self.group_arn(group_id),
            seq=self._next_seq(),
            created_at=now,
            updated_at=now,
            tags=tags,
            core=core,
        )
        if initial_version is not None:
            self._new_group_version(group, initial_version, now)
        self._groups[group_id] = group
        self._all_groups[group_id] = group
        self._group_list.append(group)
        return group

    def _new_group_version(
        self, group: _Group, references: dict[str, _DefinitionVersion], at: datetime
    ) -> _GroupVersion:
        """Append a version to `group`; its `LastUpdatedTimestamp` stays (the CLI's get-group example)."""
        version_id = self._new_id()
        version = _GroupVersion(
            group=group,
            version_id=version_id,
            arn=f"{group.arn}/versions/{version_id}",
            seq=self._next_seq(),
            created_at=at,
            references=references,
        )
        group.versions.append(version)
        return version

    def _new_definition_id(self) -> str:
        return str(uuid.UUID(int=self._definition_rng.getrandbits(128), version=4))

    def _new_definition(
        self, kind: DefinitionKind, *, name: str | None, tags: dict[str, str], at: datetime
    ) -> _Definition:
        definition_id = self._new_definition_id()
        definition = _Definition(
            kind=kind,
            definition_id=definition_id,
            arn=self.definition_arn(kind.name, definition_id),
            seq=self._next_seq(),
            name=name,
            created_at=at,
            updated_at=at,
            tags=tags,
        )
        self._definitions[kind.name][definition_id] = definition
        self._definition_lists[kind.name].append(definition)
        return definition

    def _new_definition_version(
        self, definition: _Definition, content: dict[str, Any], at: datetime
    ) -> _DefinitionVersion:
        """Append a version; it becomes `LatestVersion` (`LastUpdatedTimestamp` stays, like a group's)."""
        version_id = self._new_definition_id()
        version = _DefinitionVersion(
            definition=definition,
            version_id=version_id,
            arn=f"{definition.arn}/versions/{version_id}",
            seq=self._next_seq(),
            created_at=at,
            content=content,
        )
        definition.versions.append(version)
        self._definition_versions[version.arn] = version
        return version

    def _delete_group(self, group: _Group) -> None:
        group.deleted = True
        del self._groups[group.group_id]
        for deployment in group.deployments:
            self._deployments.pop(deployment.deployment_id, None)

    def _new_deployment(
        self,
        group: _Group,
        deployment_type: DeploymentType,
        version: _GroupVersion | None,
        *,
        client_token: str | None,
        created_at: datetime | None = None,
    ) -> _Deployment:
        """A new deployment `Building`; `version` is what a `NewDeployment`/`Redeployment` deploys."""
        if (deployment_type in RESET_TYPES) != (version is None):
            raise ValueError(
                f"resets deploy no group version, other deployments one ({deployment_type.value})"
            )
        now = created_at or self.clock.now()
        deployment_id = self._new_id()
        deployment = _Deployment(
            deployment_id=deployment_id,
            arn=f"{group.arn}/deployments/{deployment_id}",
            group=group,
            seq=self._next_seq(),
            deployment_type=deployment_type,
            group_version=version,
            listed_group_arn=version.arn if version is not None else group.arn,
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
        self,
        group: _Group,
        deployment_type: DeploymentType,
        version: _GroupVersion,
        *,
        client_token: str | None,
    ) -> _Deployment:
        deployment = self._new_deployment(group, deployment_type, version, client_token=client_token)
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
        version = deployment.group_version
        dangling = version.dangling() if version is not None else []
        if dangling:
            # "If you delete a core that is associated with a Greengrass group, that group can't be deployed
            # successfully" (the CLI's delete-core-definition): the build fails in the cloud, no core needed.
            arns = ", ".join(ref.arn for ref in dangling)
            reason = f"the group version references deleted definition versions: {arns}."
            detail = ErrorDetail("SimulatedMissingDefinition", f"Definition version(s) not found: {arns}")
            self._finish(deployment, at, succeeded=False, reason=reason, detail=detail)
            return
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
        definitions: Iterable[DefinitionRef] = (),
    ) -> str:
        """Create a group with a simulated core; returns its id.

        Like a group made in the console, it has a core definition `<name>_Core` whose one version names the
        core's AWS IoT thing `<name>_Core` (`arn:aws:iot:<region>:<account>:thing/<name>_Core`) and its
        certificate (`arn:aws:iot:<region>:<account>:cert/<64 hex>`), and one group version referencing that
        core definition version plus the `definitions` given (`add_definition` makes them; several groups
        may share one, as in AWS). A `Core` among `definitions` replaces the group's own core definition.
        `core_thing(group_id)` tells which thing and certificate the group got. With `identities`, they are
        the ones it provisioned (a real thing and certificate, e.g. in moto's AWS IoT).

        `deployed=True` gives it a `NewDeployment` of that group version that succeeded
        `timings.preexisting_age_s` ago, silently (no events: it happened before the simulation started).
        """
        with self._lock:
            name = name or f"sim-group-{len(self._group_list) + 1:04d}"
            references: dict[str, _DefinitionVersion] = {}
            for ref in definitions:
                if ref.kind in references:
                    raise ValueError(f"two {ref.kind} definitions given; a group version references one")
                references[ref.kind] = self._definition_version(ref)
            born = self.clock.now()
            deployed_at = born - timedelta(seconds=self.timings.preexisting_age_s)
            if deployed:
                born = deployed_at - timedelta(seconds=60)
            if "Core" not in references:
                references["Core"] = self._fleet_core_definition(name, born)
            group = self._create_group(
                name=name,
                core=CoreProfile.of(core),
                tags=dict(tags or {}),
                initial_version={
                    k.name: references[k.name] for k in DEFINITION_KINDS if k.name in references
                },
                created_at=born,
            )
            if deployed:
                created = deployed_at
                deployment = self._new_deployment(
                    group, DeploymentType.NEW, group.latest_version(), client_token=None, created_at=created
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
            group = self._group(group_id)
            return self._start_deployment(
                group, deployment_type, self._deployable(group), client_token=None
            ).deployment_id

    def start_failing_deployment(self, group_id: str) -> str:
        """Start a `NewDeployment` that the core will fail, whatever its profile; returns its id.

        This is how a scenario produces the `Failure` event gg-reset remediates. The core answers
        after its usual `response_delay_s` (even an offline core: the scenario wants the failure).
        """
        with self._lock:
            group = self._group(group_id)
            deployment = self._new_deployment(
                group, DeploymentType.NEW, self._deployable(group), client_token=None
            )
            deployment.doomed = True
            self._begin(deployment)
            return deployment.deployment_id

    def add_definition(
        self,
        kind: str,
        *,
        name: str | None = None,
        items: Iterable[Mapping[str, Any]] = (),
        tags: Mapping[str, str] | None = None,
    ) -> DefinitionRef:
        """Create a definition of `kind` (`Function`, `Subscription`, `Logger`, ...) with one version holding
        `items`, as `Create<kind>Definition` with an `InitialVersion` would (no faults, not counted).

        Pass the result to `add_group(definitions=[...])`, for as many groups as should share it.
        """
        definition_kind = KINDS_BY_NAME.get(kind)
        if definition_kind is None:
            raise ValueError(f"no definition kind {kind!r}; the kinds are {', '.join(KINDS_BY_NAME)}")
        with self._lock:
            content = _version_content(definition_kind, {definition_kind.items: [dict(i) for i in items]})
            now = self.clock.now()
            definition = self._new_definition(definition_kind, name=name, tags=dict(tags or {}), at=now)
            return self._new_definition_version(definition, content, now).ref()

    def _fleet_core_definition(self, group_name: str, at: datetime) -> _DefinitionVersion:
        """The core definition (and its one version) of a fleet group: thing `<group name>_Core`."""
        thing_name = _THING_NAME_UNSAFE.sub("_", f"{group_name}_Core")
        # Drawn even when `identities` gives the certificate, so a seed's definition ids do not depend on it.
        certificate_id = f"{self._definition_rng.getrandbits(256):064x}"
        iot = f"arn:aws:iot:{self.region}:{self.account}"
        thing_arn, certificate_arn = f"{iot}:thing/{thing_name}", f"{iot}:cert/{certificate_id}"
        if self._identities is not None:
            thing_arn, certificate_arn = self._identities.provision(thing_name)
        core = {
            "CertificateArn": certificate_arn,
            "Id": self._new_definition_id(),
            "SyncShadow": False,
            "ThingArn": thing_arn,
        }
        definition = self._new_definition(KINDS_BY_NAME["Core"], name=f"{group_name}_Core", tags={}, at=at)
        return self._new_definition_version(definition, {"Cores": [core]}, at)

    def _definition_version(self, ref: DefinitionRef) -> _DefinitionVersion:
        version = self._definition_versions.get(ref.version_arn)
        if version is None or version.definition.kind.name != ref.kind or version.definition.deleted:
            raise KeyError(f"no live simulated {ref.kind} definition version {ref.version_arn}")
        return version

    @staticmethod
    def _deployable(group: _Group) -> _GroupVersion:
        version = group.latest_version()
        if version is None:
            raise ValueError(f"group {group.group_id} has no group version to deploy")
        return version

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

    def core_thing(self, group_id: str) -> CoreThing:
        """The thing and certificate named by the first core of the group's latest version's core definition
        version (`KeyError` if it has none). Read from the (immutable) version, so still answered after the
        core definition was deleted."""
        with self._lock:
            version = self._group(group_id).latest_version()
            core_version = version.references.get("Core") if version is not None else None
            cores = core_version.content.get("Cores") if core_version is not None else None
            if core_version is None or not cores:
                raise KeyError(f"simulated group {group_id} has no core in its latest group version")
            thing_arn, certificate_arn = str(cores[0]["ThingArn"]), str(cores[0]["CertificateArn"])
            return CoreThing(
                thing_name=thing_arn.rpartition("/")[2],
                thing_arn=thing_arn,
                certificate_id=certificate_arn.rpartition("/")[2],
                certificate_arn=certificate_arn,
                core_definition_id=core_version.definition.definition_id,
                core_definition_version_id=core_version.version_id,
            )

    def group_definitions(self, group_id: str) -> dict[str, DefinitionRef]:
        """What the group's latest version references, by kind (deleted definitions included)."""
        with self._lock:
            version = self._group(group_id).latest_version()
            references = version.references if version is not None else {}
            return {kind: ref.ref() for kind, ref in references.items()}

    def group_version_ids(self, group_id: str) -> list[str]:
        """A live group's versions, oldest first."""
        with self._lock:
            return [version.version_id for version in self._group(group_id).versions]

    def definition_exists(self, kind: str, definition_id: str) -> bool:
        return definition_id in self._definitions[KINDS_BY_NAME[kind].name]

    def definition_ids(self, kind: str) -> list[str]:
        """Live definitions of `kind`, oldest first."""
        with self._lock:
            return list(self._definitions[KINDS_BY_NAME[kind].name])

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
