"""`TeardownPort` and `CoreDevices` on boto3: what a deleted V1 group owned, who else uses it, its deletion.

Calls made, and why each:

- Greengrass V1: `ListGroupVersions` (every page) and `GetGroupVersion` of each version (the definition
  version ARNs a group uses); `GetCoreDefinitionVersion` (the core's thing and certificate, for
  `teardown=things`); `ListGroups` (every page: which groups remain); `Delete<Kind>Definition` (the seven
  definition types; a definition's versions go with it).
- AWS IoT (`teardown=things` only): `ListAttachedPolicies`, `DetachPolicy`, `ListPrincipalThings`,
  `DetachThingPrincipal`, `UpdateCertificate` (INACTIVE: AWS IoT refuses to delete an active certificate),
  `DeleteCertificate`, `ListThingPrincipals`, `DeleteThing`.
- Greengrass V2: `GetCoreDevice` (a V1 core thing re-registered as a V2 core device is kept, certificate
  and all: the migrated core still connects with it).

"Still used" means: referenced by **any version** of a remaining group, not only its latest. A group can be
deployed again at an older version (gg-reset's own roll back redeploys one), and that deployment needs every
definition version it names. The answer comes from a `ReferenceIndex` kept per execution environment:
group versions never change once created (so each is read once), and a group's set of versions changes only
when its latest version does, which `ListGroups` shows; the index is read again when it is older than
`freshness_s`; a "still used" answer is confirmed right before the keep by `GetGroup` of a user. A group
version created less than `freshness_s` before a delete, referencing a definition the deleted group also
used, is the window a teardown cannot see (docs/teardown.md).

Only Greengrass V1 calls are paced by the request budget (`pace`): AWS IoT and Greengrass V2 are other APIs
with their own quotas; their throttling is retried by the workflow like any other.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from gg_reset.adapters.greengrass_errors import greengrass_error
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.domain.teardown import Resource, ResourceKind, ResourceOutcome, Teardown
from gg_reset.ports import Clock, CoreDevices, CoreDeviceView, Pace, unpaced

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient
    from mypy_boto3_greengrassv2 import GreengrassV2Client
    from mypy_boto3_iot import IoTClient

PAGE_SIZE: Final = "50"
"""`MaxResults` is a string in the V1 API model."""
IOT_PAGE_SIZE: Final = 250
"""AWS IoT's `pageSize`/`maxResults` ceiling for the list calls made here."""
DEFAULT_FRESHNESS_S: Final = 60

_DEFINITION_VERSION_ARN = re.compile(
    r"(?P<definition>arn:[^:]+:greengrass:[^:]*:[^:]*:/?greengrass/definition/(?P<path>[a-z]+)/(?P<id>[^/]+))"
    r"/versions/(?P<version>[^/]+)$"
)
_KIND_OF_PATH: Final = {
    "cores": ResourceKind.CORE_DEFINITION,
    "devices": ResourceKind.DEVICE_DEFINITION,
    "functions": ResourceKind.FUNCTION_DEFINITION,
    "subscriptions": ResourceKind.SUBSCRIPTION_DEFINITION,
    "loggers": ResourceKind.LOGGER_DEFINITION,
    "resources": ResourceKind.RESOURCE_DEFINITION,
    "connectors": ResourceKind.CONNECTOR_DEFINITION,
}
_NOT_FOUND_CODES: Final = frozenset({"ResourceNotFoundException"})
"""AWS IoT's and Greengrass V2's "no such resource" (a 404 with this code, on the resource named)."""


@dataclass(frozen=True, slots=True)
class DefinitionVersionRef:
    """A definition version a group version references, parsed from its ARN."""

    kind: ResourceKind
    definition_id: str
    definition_arn: str
    version_id: str
    version_arn: str


def parse_definition_version_arn(arn: str) -> DefinitionVersionRef | None:
    """`arn:aws:greengrass:<region>:<account>:/greengrass/definition/cores/<id>/versions/<version>` (moto
    leaves out the slash before `greengrass`); None for anything else."""
    match = _DEFINITION_VERSION_ARN.search(arn)
    if match is None or match["path"] not in _KIND_OF_PATH:
        return None
    return DefinitionVersionRef(
        kind=_KIND_OF_PATH[match["path"]],
        definition_id=match["id"],
        definition_arn=match["definition"],
        version_id=match["version"],
        version_arn=arn,
    )


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise greengrass_error(operation, exc) from exc


def _not_found(exc: ClientError) -> bool:
    return str(exc.response.get("Error", {}).get("Code", "")) in _NOT_FOUND_CODES


def _malformed(operation: str, what: str) -> GreengrassError:
    return GreengrassError(
        kind=ErrorKind.UNKNOWN, operation=operation, code="MalformedResponse", message=what
    )


@dataclass(slots=True)
class _GroupEntry:
    latest_version: str | None
    versions: tuple[str, ...]


@dataclass(slots=True)
class ReferenceIndex:
    """Which remaining groups use which definitions, things and certificates (see the module docstring).

    `_version_refs` and `_core_refs` only grow (versions are immutable); `_groups` gains each group as it is
    listed (so a refresh cut short by the budget goes on where it stopped), and each completed refresh keeps
    only the groups that remain. One instance per execution environment: a warm worker pays for the fleet's
    versions once.
    """

    client: GreengrassClient
    clock: Clock
    freshness_s: float = DEFAULT_FRESHNESS_S
    _groups: dict[str, _GroupEntry] = field(default_factory=dict)
    _version_refs: dict[str, tuple[DefinitionVersionRef, ...]] = field(default_factory=dict)
    _core_refs: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)
    """Core definition version ARN -> (thing ARN, certificate ARN) of each core it lists."""
    _refreshed_at: datetime | None = None
    _with_cores: bool = False
    _users: dict[str, set[str]] = field(default_factory=dict)
    """ARN (definition, thing or certificate) -> ids of the groups that use it, as of the last refresh."""
    calls: int = 0
    """Greengrass calls made by the index (for the benchmark's calls per teardown)."""

    @contextmanager
    def _calling(self, pace: Pace, operation: str) -> Iterator[None]:
        """One Greengrass call: paced, counted, its failure translated."""
        pace()
        self.calls += 1
        with _translated(operation):
            yield

    # --- one group's versions -------------------------------------------------------------------------

    def version_ids(self, group_id: str, pace: Pace) -> tuple[str, ...]:
        """Every version of the group (`ListGroupVersions`, every page)."""
        ids: list[str] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            paging = {"NextToken": token} if token else {}
            with self._calling(pace, "ListGroupVersions"):
                page = self.client.list_group_versions(GroupId=group_id, MaxResults=PAGE_SIZE, **paging)
            ids.extend(str(v["Version"]) for v in page.get("Versions", []) if v.get("Version"))
            token = page.get("NextToken") or None
            if token is None:
                return tuple(dict.fromkeys(ids))
            if token in seen:
                raise _malformed("ListGroupVersions", f"repeated NextToken {token!r}")
            seen.add(token)

    def versions_of(self, group_id: str, pace: Pace) -> tuple[str, ...]:
        """The group's versions: from the index while it is fresh (its last `ListGroups` showed the latest
        version it holds, and a group only gains versions through a new latest one), else read."""
        known = self._groups.get(group_id)
        if known is not None and not self._older_than_freshness():
            return known.versions
        return self.version_ids(group_id, pace)

    def version_refs(self, group_id: str, version_id: str, pace: Pace) -> tuple[DefinitionVersionRef, ...]:
        """The definition versions one group version references (`GetGroupVersion`, read once: a group
        version never changes)."""
        cached = self._version_refs.get(version_id)
        if cached is not None:
            return cached
        with self._calling(pace, "GetGroupVersion"):
            answer = self.client.get_group_version(GroupId=group_id, GroupVersionId=version_id)
        definition = answer.get("Definition")
        if not isinstance(definition, dict):
            raise _malformed("GetGroupVersion", f"group {group_id} version {version_id} has no Definition")
        refs = tuple(
            ref
            for key, value in sorted(definition.items())
            if key.endswith("DefinitionVersionArn") and isinstance(value, str)
            for ref in (parse_definition_version_arn(value),)
            if ref is not None
        )
        self._version_refs[version_id] = refs
        return refs

    def core_identities(self, ref: DefinitionVersionRef, pace: Pace) -> tuple[tuple[str, str], ...]:
        """(thing ARN, certificate ARN) of each core a core definition version lists (read once)."""
        cached = self._core_refs.get(ref.version_arn)
        if cached is not None:
            return cached
        with self._calling(pace, "GetCoreDefinitionVersion"):
            answer = self.client.get_core_definition_version(
                CoreDefinitionId=ref.definition_id, CoreDefinitionVersionId=ref.version_id
            )
        cores = (answer.get("Definition") or {}).get("Cores") or []
        found = tuple(
            (str(core["ThingArn"]), str(core["CertificateArn"]))
            for core in cores
            if core.get("ThingArn") and core.get("CertificateArn")
        )
        self._core_refs[ref.version_arn] = found
        return found

    # --- the fleet ------------------------------------------------------------------------------------

    def users(self, arn: str, *, excluding: str, pace: Pace, cores: bool, fresh: bool) -> tuple[str, ...]:
        """Ids of the remaining groups (other than `excluding`) whose versions use `arn` (a definition's
        ARN, a core's thing or certificate ARN), from an index at most `freshness_s` old. `fresh` (a delete
        or keep decision): a "still used" answer is always read from the fleet as it is now."""
        refreshed = False
        if self._stale(cores):
            self.refresh(pace, cores=cores)
            refreshed = True
        users = tuple(sorted(g for g in self._users.get(arn, ()) if g != excluding))
        if fresh and users and not refreshed:
            # Keeping a resource on an old answer could keep it forever: in a bulk teardown, the last of
            # the groups sharing a definition would see the others, deleted since, as its users. A group
            # that still exists still has the version that uses it (versions are never deleted alone).
            return self._one_that_exists(arn, users, pace)
        return users

    def _one_that_exists(self, arn: str, users: tuple[str, ...], pace: Pace) -> tuple[str, ...]:
        """The first of `users` that `GetGroup` still finds (and the rest, unchecked); the ones it does not
        find are dropped from the index."""
        for index, group_id in enumerate(users):
            try:
                with self._calling(pace, "GetGroup"):
                    self.client.get_group(GroupId=group_id)
            except GreengrassError as error:
                if error.kind is not ErrorKind.NOT_FOUND:
                    raise
                self._forget(group_id)
                continue
            return users[index:]
        return ()

    def _forget(self, group_id: str) -> None:
        self._groups.pop(group_id, None)
        for groups in self._users.values():
            groups.discard(group_id)

    def _older_than_freshness(self) -> bool:
        if self._refreshed_at is None:
            return True
        return (self.clock.now() - self._refreshed_at).total_seconds() > self.freshness_s

    def _stale(self, cores: bool) -> bool:
        return self._older_than_freshness() or (cores and not self._with_cores)

    def refresh(self, pace: Pace, *, cores: bool) -> None:
        """`ListGroups` (every page); the versions of groups whose latest version changed since the last
        refresh (and of new groups); their contents once each."""
        groups: dict[str, _GroupEntry] = {}
        token: str | None = None
        seen: set[str] = set()
        while True:
            paging = {"NextToken": token} if token else {}
            with self._calling(pace, "ListGroups"):
                page = self.client.list_groups(MaxResults=PAGE_SIZE, **paging)
            for group in page.get("Groups", []):
                group_id = group.get("Id")
                if not group_id:
                    continue
                latest = group.get("LatestVersion") or None
                known = self._groups.get(group_id)
                if known is None or known.latest_version != latest:
                    known = _GroupEntry(latest, self.version_ids(group_id, pace) if latest else ())
                    # Kept at once, not only when the refresh completes: a refresh of a large fleet may
                    # not fit in one invocation's share of the budget (its pace defers the call), and the
                    # next attempt must go on from here instead of listing every group again.
                    self._groups[group_id] = known
                groups[group_id] = known
            token = page.get("NextToken") or None
            if token is None:
                break
            if token in seen:
                raise _malformed("ListGroups", f"repeated NextToken {token!r}")
            seen.add(token)
        users: dict[str, set[str]] = {}
        for group_id, entry in groups.items():
            for version_id in entry.versions:
                for ref in self.version_refs(group_id, version_id, pace):
                    users.setdefault(ref.definition_arn, set()).add(group_id)
                    if cores and ref.kind is ResourceKind.CORE_DEFINITION:
                        for thing_arn, certificate_arn in self.core_identities(ref, pace):
                            users.setdefault(thing_arn, set()).add(group_id)
                            users.setdefault(certificate_arn, set()).add(group_id)
        self._groups, self._users = groups, users
        self._refreshed_at = self.clock.now()
        self._with_cores = cores


class Boto3CoreDevices:
    """`CoreDevices` through a Greengrass V2 client: `GetCoreDevice`."""

    def __init__(self, client: GreengrassV2Client) -> None:
        self._client = client

    def core_device(self, thing_name: str) -> CoreDeviceView | None:
        try:
            answer = self._client.get_core_device(coreDeviceThingName=thing_name)
        except ClientError as exc:
            if _not_found(exc):
                return None
            raise greengrass_error("GetCoreDevice", exc) from exc
        except BotoCoreError as exc:
            raise greengrass_error("GetCoreDevice", exc) from exc
        last = answer.get("lastStatusUpdateTimestamp")
        return CoreDeviceView(
            thing_name=str(answer.get("coreDeviceThingName") or thing_name),
            status=str(answer.get("status") or "UNKNOWN"),
            last_status_update=last if isinstance(last, datetime) else None,
            core_version=answer.get("coreVersion"),
        )


def _describe_device(device: CoreDeviceView) -> str:
    seen = (
        f", last status update {device.last_status_update:%Y-%m-%dT%H:%M:%SZ}"
        if device.last_status_update
        else ""
    )
    return f"Greengrass V2 core device {device.thing_name} ({device.status}{seen})"


class Boto3Teardown:
    """`TeardownPort` on boto3 (see the module docstring for the calls and the meaning of "still used")."""

    def __init__(
        self,
        greengrass: GreengrassClient,
        *,
        clock: Clock,
        iot: Callable[[], IoTClient] | None = None,
        core_devices: Callable[[], CoreDevices] | None = None,
        freshness_s: float = DEFAULT_FRESHNESS_S,
    ) -> None:
        """`iot` and `core_devices` make their client on first use (a deployment without `teardown=things`
        never loads those service models); None: `teardown=things` fails with a clear error."""
        self._greengrass = greengrass
        self._make_iot = iot
        self._make_core_devices = core_devices
        self._iot: IoTClient | None = None
        self._core_devices: CoreDevices | None = None
        self.index = ReferenceIndex(greengrass, clock, freshness_s)

    # --- the migrated selection ------------------------------------------------------------------------

    def core_thing_names(self, group_id: str, *, pace: Pace = unpaced) -> tuple[str, ...]:
        """The things the cores of the group's latest version name: `GetGroup` (its LatestVersion), then
        `GetGroupVersion` and `GetCoreDefinitionVersion` (both read once per version)."""
        pace()
        with _translated("GetGroup"):
            group = self._greengrass.get_group(GroupId=group_id)
        latest = group.get("LatestVersion")
        if not latest:
            return ()
        names: list[str] = []
        for ref in self.index.version_refs(group_id, latest, pace):
            if ref.kind is ResourceKind.CORE_DEFINITION:
                names.extend(thing.rpartition("/")[2] for thing, _ in self.index.core_identities(ref, pace))
        return tuple(dict.fromkeys(names))

    def core_device(self, thing_name: str) -> CoreDeviceView | None:
        return self._v2_device(thing_name)

    # --- collect --------------------------------------------------------------------------------------

    def collect(self, group_id: str, level: Teardown, *, pace: Pace) -> tuple[Resource, ...]:
        if level is Teardown.GROUP:
            return ()
        things = level is Teardown.THINGS
        refs: dict[str, DefinitionVersionRef] = {}
        core_identities: list[tuple[str, str]] = []
        for version_id in self.index.versions_of(group_id, pace):
            for ref in self.index.version_refs(group_id, version_id, pace):
                refs.setdefault(ref.definition_arn, ref)
                if things and ref.kind is ResourceKind.CORE_DEFINITION:
                    core_identities.extend(self.index.core_identities(ref, pace))
        resources = [
            Resource(
                kind=ref.kind,
                arn=arn,
                resource_id=ref.definition_id,
                used_by=self._group_users(arn, group_id, pace, cores=things, fresh=False),
            )
            for arn, ref in refs.items()
        ]
        for thing_arn, certificate_arn in dict.fromkeys(core_identities):
            thing_name = thing_arn.rpartition("/")[2]
            device = self._v2_device(thing_name)
            v2 = (_describe_device(device),) if device is not None else ()
            resources.append(
                Resource(
                    kind=ResourceKind.CERTIFICATE,
                    arn=certificate_arn,
                    resource_id=certificate_arn.rpartition("/")[2],
                    core_thing=thing_name,
                    used_by=v2 + self._group_users(certificate_arn, group_id, pace, cores=True, fresh=False),
                )
            )
            resources.append(
                Resource(
                    kind=ResourceKind.THING,
                    arn=thing_arn,
                    resource_id=thing_name,
                    core_certificate=certificate_arn,
                    used_by=v2 + self._group_users(thing_arn, group_id, pace, cores=True, fresh=False),
                )
            )
        return tuple(resources)

    def _group_users(
        self, arn: str, group_id: str, pace: Pace, *, cores: bool, fresh: bool
    ) -> tuple[str, ...]:
        return tuple(
            f"group {g}"
            for g in self.index.users(arn, excluding=group_id, pace=pace, cores=cores, fresh=fresh)
        )

    def _v2_device(self, thing_name: str) -> CoreDeviceView | None:
        if self._core_devices is None and self._make_core_devices is not None:
            self._core_devices = self._make_core_devices()
        if self._core_devices is None:
            raise GreengrassError(
                kind=ErrorKind.BAD_REQUEST,
                operation="GetCoreDevice",
                code="NotConfigured",
                message="teardown=things needs the Greengrass V2 check, which this deployment does not have",
            )
        return self._core_devices.core_device(thing_name)

    # --- tear down ------------------------------------------------------------------------------------

    def tear_down(self, resource: Resource, *, deleted_group: str, pace: Pace) -> tuple[ResourceOutcome, str]:
        if resource.kind.is_definition:
            users = self._group_users(resource.arn, deleted_group, pace, cores=False, fresh=True)
            if users:
                return ResourceOutcome.KEPT, f"used by {', '.join(users)}"
            return self._delete_definition(resource, pace)
        iot = self._iot_client()
        device = self._v2_device(resource.core_thing or resource.resource_id)
        users = ((_describe_device(device),) if device is not None else ()) + self._group_users(
            resource.arn, deleted_group, pace, cores=True, fresh=True
        )
        if users:
            return ResourceOutcome.KEPT, f"used by {', '.join(users)}"
        if resource.kind is ResourceKind.CERTIFICATE:
            return self._delete_certificate(iot, resource, deleted_group, pace)
        return self._delete_thing(iot, resource)

    def _iot_client(self) -> IoTClient:
        if self._iot is None and self._make_iot is not None:
            self._iot = self._make_iot()
        if self._iot is None:
            raise GreengrassError(
                kind=ErrorKind.BAD_REQUEST,
                operation="DeleteThing",
                code="NotConfigured",
                message="teardown=things needs AWS IoT access, which this deployment does not have",
            )
        return self._iot

    def _delete_definition(self, resource: Resource, pace: Pace) -> tuple[ResourceOutcome, str]:
        definition_id = resource.resource_id
        deletes: dict[ResourceKind, Callable[[], object]] = {
            ResourceKind.CORE_DEFINITION: lambda: self._greengrass.delete_core_definition(
                CoreDefinitionId=definition_id
            ),
            ResourceKind.DEVICE_DEFINITION: lambda: self._greengrass.delete_device_definition(
                DeviceDefinitionId=definition_id
            ),
            ResourceKind.FUNCTION_DEFINITION: lambda: self._greengrass.delete_function_definition(
                FunctionDefinitionId=definition_id
            ),
            ResourceKind.SUBSCRIPTION_DEFINITION: lambda: self._greengrass.delete_subscription_definition(
                SubscriptionDefinitionId=definition_id
            ),
            ResourceKind.LOGGER_DEFINITION: lambda: self._greengrass.delete_logger_definition(
                LoggerDefinitionId=definition_id
            ),
            ResourceKind.RESOURCE_DEFINITION: lambda: self._greengrass.delete_resource_definition(
                ResourceDefinitionId=definition_id
            ),
            ResourceKind.CONNECTOR_DEFINITION: lambda: self._greengrass.delete_connector_definition(
                ConnectorDefinitionId=definition_id
            ),
        }
        operation = f"Delete{resource.kind}"
        pace()
        try:
            with _translated(operation):
                deletes[resource.kind]()
        except GreengrassError as error:
            if error.kind is ErrorKind.NOT_FOUND:
                return ResourceOutcome.ALREADY_GONE, f"{operation} answered not found: already deleted"
            raise
        return ResourceOutcome.DELETED, f"{operation} (with its versions); no remaining group uses it"

    def _thing_used(self, certificate: Resource, deleted_group: str, pace: Pace) -> bool:
        """Whether another group's core definition names the certificate's core thing."""
        prefix = certificate.arn.rpartition(":cert/")[0]
        thing_arn = f"{prefix}:thing/{certificate.core_thing}"
        return bool(self._group_users(thing_arn, deleted_group, pace, cores=True, fresh=True))

    def _delete_certificate(
        self, iot: IoTClient, resource: Resource, deleted_group: str, pace: Pace
    ) -> tuple[ResourceOutcome, str]:
        """Detach it from its policies and from the core thing, set it INACTIVE, delete it; kept while any
        other thing has it attached. Each call is idempotent, so a crash anywhere re-runs the lot."""
        certificate_arn, certificate_id = resource.arn, resource.resource_id
        try:
            things = _iot_list(
                "ListPrincipalThings",
                "things",
                "nextToken",
                lambda token: iot.list_principal_things(
                    principal=certificate_arn,
                    maxResults=IOT_PAGE_SIZE,
                    **({"nextToken": token} if token else {}),
                ),
            )
            others = sorted(str(t) for t in things if t != resource.core_thing)
            if others:
                detail = f"attached to thing {', '.join(others)} as well"
                if resource.core_thing and not self._thing_used(resource, deleted_group, pace):
                    # Kept for the other thing, but let go of the core thing, which goes next.
                    with _iot_call("DetachThingPrincipal", gone=False):
                        iot.detach_thing_principal(thingName=resource.core_thing, principal=certificate_arn)
                    detail += f"; detached from thing {resource.core_thing}"
                return ResourceOutcome.KEPT, detail
            policies = _iot_list(
                "ListAttachedPolicies",
                "policies",
                "nextMarker",
                lambda token: iot.list_attached_policies(
                    target=certificate_arn,
                    recursive=False,
                    pageSize=IOT_PAGE_SIZE,
                    **({"marker": token} if token else {}),
                ),
            )
            names = sorted(str(p["policyName"]) for p in policies if p.get("policyName"))
            for name in names:
                # A policy deleted meanwhile is detached already.
                with _iot_call("DetachPolicy", gone=False):
                    iot.detach_policy(policyName=name, target=certificate_arn)
            if resource.core_thing:
                # A thing deleted meanwhile holds nothing.
                with _iot_call("DetachThingPrincipal", gone=False):
                    iot.detach_thing_principal(thingName=resource.core_thing, principal=certificate_arn)
            with _iot_call("UpdateCertificate"):
                iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
            with _iot_call("DeleteCertificate"):
                iot.delete_certificate(certificateId=certificate_id)
        except _Gone as gone:
            return ResourceOutcome.ALREADY_GONE, f"{gone.operation} answered not found: already deleted"
        detached = f"detached from {', '.join(names)}; " if names else ""
        return (
            ResourceOutcome.DELETED,
            f"{detached}detached from thing {resource.core_thing}, set INACTIVE and deleted",
        )

    def _delete_thing(self, iot: IoTClient, resource: Resource) -> tuple[ResourceOutcome, str]:
        """Deleted once no principal is attached (AWS IoT refuses otherwise); kept if one still is."""
        thing_name = resource.resource_id
        try:
            principals = _iot_list(
                "ListThingPrincipals",
                "principals",
                "nextToken",
                lambda token: iot.list_thing_principals(
                    thingName=thing_name, maxResults=IOT_PAGE_SIZE, **({"nextToken": token} if token else {})
                ),
            )
            # Our certificate may still be listed for a few seconds after its detach: it is deleted by now.
            others = sorted(str(p) for p in principals if p != resource.core_certificate)
            if others:
                return ResourceOutcome.KEPT, f"principal {', '.join(others)} still attached"
            with _iot_call("DeleteThing"):
                iot.delete_thing(thingName=thing_name)
        except _Gone as gone:
            return ResourceOutcome.ALREADY_GONE, f"{gone.operation} answered not found: already deleted"
        return ResourceOutcome.DELETED, "no principal attached; deleted"


@contextmanager
def _iot_call(operation: str, *, gone: bool = True) -> Iterator[None]:
    """One AWS IoT call; "not found" raises `_Gone` (`gone`: the resource itself is missing) or is
    nothing to do (a policy or thing to detach from that no longer exists: the exception is swallowed)."""
    try:
        yield
    except ClientError as exc:
        if str(exc.response.get("Error", {}).get("Code", "")) == "DeleteConflictException":
            # A detach made moments ago has not propagated yet (AWS IoT detaches asynchronously): transient,
            # so the workflow retries it within the 5xx budget (backoff 5 s, 10 s, 20 s...).
            raise GreengrassError(
                kind=ErrorKind.SERVER_ERROR,
                operation=operation,
                code="DeleteConflictException",
                message=str(exc.response.get("Error", {}).get("Message", "")),
            ) from exc
        if not _not_found(exc):
            raise greengrass_error(operation, exc) from exc
        if gone:
            raise _Gone(operation) from exc
    except BotoCoreError as exc:
        raise greengrass_error(operation, exc) from exc


def _iot_list(operation: str, key: str, next_key: str, call: Callable[[str | None], Any]) -> list[Any]:
    """Every item of a paged AWS IoT list (`next_key`: `nextToken`, or `nextMarker` for policies)."""
    items: list[Any] = []
    token: str | None = None
    seen: set[str] = set()
    while True:
        try:
            page = call(token)
        except ClientError as exc:
            if _not_found(exc):
                raise _Gone(operation) from exc
            raise greengrass_error(operation, exc) from exc
        except BotoCoreError as exc:
            raise greengrass_error(operation, exc) from exc
        items.extend(page.get(key, []))
        token = page.get(next_key) or None
        if token is None:
            return items
        if token in seen:
            raise _malformed(operation, f"repeated {next_key} {token!r}")
        seen.add(token)


class _Gone(Exception):
    """The certificate or thing was not found: deleted already (by this workflow's earlier attempt, whose
    answer was lost, or by someone else)."""

    def __init__(self, operation: str) -> None:
        super().__init__(operation)
        self.operation = operation
