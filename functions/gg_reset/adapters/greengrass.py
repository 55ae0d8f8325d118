"""`GreengrassPort` on boto3: the only place gg-reset calls the Greengrass V1 API.

Everything above this module sees `GroupFacts`, deployment ids and `GreengrassError`; no botocore type
leaks out, so the simulator, the in-memory fakes and a future non-V1 backend are interchangeable with it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from gg_reset.adapters.greengrass_errors import (
    ERROR_RULES,
    ErrorRule,
    classify_error,
    greengrass_error,
    matching_rule,
)
from gg_reset.domain.enums import RESET_DEPLOYMENT_TYPES, DeploymentStatus, DeploymentType
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.ports import DeploymentStatusView, GroupFacts, GroupSummary, RollbackTarget
from gg_reset.settings import ENV_GREENGRASS_ENDPOINT

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient
    from mypy_boto3_greengrass.type_defs import DeploymentTypeDef, ErrorDetailTypeDef

__all__ = [
    "ERROR_RULES",
    "Boto3Greengrass",
    "ErrorRule",
    "classify_error",
    "make_greengrass_client",
    "matching_rule",
]

MAX_ATTEMPTS: Final = 1
"""botocore's `retries.max_attempts`, which despite its name counts retries *after* the first call: one
quick retry for a blip. The workflow owns every longer retry (with its ledger, backoff, pacing and
budget); botocore retrying on its own for minutes would outlast the call's lease, and a retried
`DeleteGroup` whose first answer was lost comes back "not found". Adaptive mode still paces the client
after throttling."""
CONNECT_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 20.0
"""Greengrass V1 control-plane calls answer in well under a second; the defaults (60 s) would let one hung
call eat most of a worker Lambda's time budget."""
PAGE_SIZE: Final = "50"
"""`MaxResults` is a string in the botocore model of the V1 API; an int fails parameter validation."""


def make_greengrass_client(
    session: boto3.Session | None = None,
    endpoint_url: str | None = None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    connect_timeout: float = CONNECT_TIMEOUT_S,
    read_timeout: float = READ_TIMEOUT_S,
) -> GreengrassClient:
    """A Greengrass client with gg-reset's retry and timeout policy.

    `GREENGRASS_ENDPOINT_URL` lets the local runtime and tests point the very same code at a simulator;
    an explicit `endpoint_url` wins over it.
    """
    config = Config(
        retries={"mode": "adaptive", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    endpoint = endpoint_url or os.environ.get(ENV_GREENGRASS_ENDPOINT) or None
    return (session or boto3.Session()).client("greengrass", endpoint_url=endpoint, config=config)


@contextmanager
def _translated(operation: str) -> Iterator[None]:
    """Let no botocore exception out: the workflow only understands `GreengrassError`."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise greengrass_error(operation, exc) from exc


def _malformed(operation: str, what: str) -> GreengrassError:
    # A 200 without the field we need is not something to guess around: it would, for example, make a
    # group without an ARN look untagged, and so unprotected.
    return GreengrassError(
        kind=ErrorKind.UNKNOWN, operation=operation, code="MalformedResponse", message=what
    )


_VERSION_ARN = re.compile(r"greengrass/groups/(?P<group>[^/]+)/versions/(?P<version>[^/]+)$")


def _group_version(group_arn: object, group_id: str) -> str | None:
    """The group version a deployment deployed: its `GroupArn` is the group *version* ARN for a
    `NewDeployment`/`Redeployment` (`arn:aws:greengrass:<region>:<account>:/greengrass/groups/<id>/versions/
    <version>`; moto leaves out the slash before `greengrass`), the group ARN for a reset. None when it is
    not a version ARN of this group."""
    match = _VERSION_ARN.search(group_arn) if isinstance(group_arn, str) else None
    if match is None or match["group"] != group_id:
        return None
    return match["version"]


def _timestamp(raw: object) -> datetime | None:
    """A Greengrass V1 timestamp (`2019-06-25T18:07:17.688Z`); None if absent or unreadable."""
    if isinstance(raw, datetime):
        return raw if raw.tzinfo else raw.replace(tzinfo=UTC)
    if not isinstance(raw, str) or not raw:
        return None
    try:
        parsed = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    """A UTC instant as the workflow's history shows it: `2026-01-01T12:00:00Z`."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _deployment_type(raw: object) -> DeploymentType | None:
    """One of the four V1 deployment types; None if absent or anything else."""
    try:
        return DeploymentType(str(raw)) if raw is not None else None
    except ValueError:
        return None


def _describe_failure(message: str | None, details: list[ErrorDetailTypeDef]) -> str | None:
    """`ErrorMessage` alone is often generic; the GG-xxx detail codes say what actually went wrong."""
    parts = [
        ": ".join(p for p in (d.get("DetailedErrorCode"), d.get("DetailedErrorMessage")) if p)
        for d in details
    ]
    detail_text = "; ".join(p for p in parts if p)
    if message and detail_text:
        return f"{message} ({detail_text})"
    return message or detail_text or None


class Boto3Greengrass:
    """Greengrass V1 through a boto3 client; see `gg_reset.ports.GreengrassPort` for the contract."""

    def __init__(self, client: GreengrassClient) -> None:
        self._client = client

    def inspect_group(self, group_id: str) -> GroupFacts:
        """Existence, identity and tags in one `GetGroup`, read fresh every time because protection
        depends on them.

        `GetGroup` returns the group's `tags` (a map in the API model; absent when the group has none), so
        one call is one protection check. A response without `Arn` or `Id` is not a group description, and
        raised rather than read as "no tags": a group we cannot describe must not look unprotected.
        """
        try:
            with _translated("GetGroup"):
                group = self._client.get_group(GroupId=group_id)
        except GreengrassError as err:
            if err.kind is ErrorKind.NOT_FOUND:
                return GroupFacts(group_id=group_id, exists=False)
            raise
        arn = group.get("Arn")
        if not arn or not group.get("Id"):
            raise _malformed("GetGroup", f"the answer for group {group_id} does not describe a group")
        tags = group.get("tags") or {}
        if not isinstance(tags, dict):
            raise _malformed("GetGroup", f"group {group_id} has tags that are not a map: {tags!r}")
        return GroupFacts(
            group_id=group_id,
            exists=True,
            arn=arn,
            name=group.get("Name"),
            tags=dict(tags),
            latest_version=group.get("LatestVersion") or None,
        )

    def reset_deployments(
        self, group_id: str, *, force: bool, client_token: str, adopt_since: datetime | None = None
    ) -> str:
        """The caller's token goes to AWS unchanged: where AWS replays it, a retried reset starts only once.

        Whether `ResetDeployments` replays a repeated token is not documented, so after an attempt whose
        outcome is unknown (`adopt_since`), the group's deployments are read first and a reset of this kind
        created since then is adopted instead of starting a second one.
        """
        if adopt_since is not None:
            adopted = self._reset_created_since(group_id, force=force, since=adopt_since)
            if adopted is not None:
                return adopted
        with _translated("ResetDeployments"):
            response = self._client.reset_deployments(
                GroupId=group_id, Force=force, AmznClientToken=client_token
            )
        deployment_id = response.get("DeploymentId")
        if not deployment_id:
            raise _malformed("ResetDeployments", f"reset of group {group_id} returned no DeploymentId")
        return deployment_id

    def _reset_created_since(self, group_id: str, *, force: bool, since: datetime) -> str | None:
        wanted = (DeploymentType.FORCE_RESET if force else DeploymentType.RESET).value
        for deployment in self._deployments(group_id):
            created = _timestamp(deployment.get("CreatedAt"))
            if deployment.get("DeploymentType") == wanted and created is not None and created >= since:
                return deployment.get("DeploymentId") or None
        return None

    def _deployments(self, group_id: str) -> Iterator[DeploymentTypeDef]:
        """Every deployment of the group, page by page (the API documents no order)."""
        yield from self._paged(
            "ListDeployments",
            "Deployments",
            lambda **page: self._client.list_deployments(GroupId=group_id, **page),
        )

    def _paged(self, operation: str, items_key: str, call: Callable[..., Any]) -> Iterator[Any]:
        """Every item of a paged V1 list operation, page by page. `call` makes the operation's request with
        the paging arguments it is given (spelled out at each use, so the calls the stack's IAM grants
        must match can be read off the source)."""
        next_token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            paging = {"NextToken": next_token} if next_token is not None else {}
            with _translated(operation):
                page = call(MaxResults=PAGE_SIZE, **paging)
            yield from page.get(items_key, [])
            next_token = page.get("NextToken") or None
            if next_token is None:
                return
            if next_token in seen_tokens:
                # A server handing back a token it already gave would otherwise loop forever.
                raise _malformed(operation, f"{operation} repeated NextToken {next_token!r}")
            seen_tokens.add(next_token)

    def get_deployment_status(self, group_id: str, deployment_id: str) -> DeploymentStatusView:
        with _translated("GetDeploymentStatus"):
            response = self._client.get_deployment_status(GroupId=group_id, DeploymentId=deployment_id)
        raw_status = response.get("DeploymentStatus")
        try:
            status = DeploymentStatus(raw_status)
        except ValueError:
            # An unknown status must not be mapped to a guess: the workflow would act on the guess.
            raise _malformed(
                "GetDeploymentStatus", f"deployment {deployment_id} has unknown status {raw_status!r}"
            ) from None
        return DeploymentStatusView(
            status=status,
            error_message=_describe_failure(response.get("ErrorMessage"), response.get("ErrorDetails", [])),
            # The answer names the deployment's type (API model); an unknown one is left unknown.
            deployment_type=_deployment_type(response.get("DeploymentType")),
        )

    def find_rollback_target(
        self, group_id: str, *, failed_deployment_id: str | None, max_checked: int
    ) -> RollbackTarget:
        """The newest deployment of the group that succeeded, with why (see the port for the contract).

        Every page is read before anything is decided, and the deployments are sorted by `CreatedAt` here:
        the API documents no order (the developer guide's examples and the simulator list newest first,
        moto oldest first), and going back to an older deployment than the newest good one would deploy a
        configuration someone had already replaced. Ties keep the listed order. `ListDeployments` carries
        no status, hence one `GetDeploymentStatus` per candidate, newest first, at most `max_checked`.
        A reset met first ends the search: the group was deliberately emptied after its last good
        deployment, and redeploying that would undo the reset.
        """
        listed = self._listed_newest_first(group_id)
        checked = 0
        for deployment_id, deployment_type, created, version in listed:
            if deployment_id == failed_deployment_id:
                continue
            if deployment_type in RESET_DEPLOYMENT_TYPES:
                return RollbackTarget(
                    None,
                    f"the group was reset (deployment {deployment_id}, {deployment_type.value}, created "
                    f"{_iso(created)}) since its last good deployment",
                )
            if checked >= max_checked:
                return RollbackTarget(
                    None,
                    f"no successful deployment among the newest {checked} checked (at most {max_checked} "
                    f"status checks; {len(listed)} deployment(s) listed)",
                )
            checked += 1
            if self.get_deployment_status(group_id, deployment_id).status is DeploymentStatus.SUCCESS:
                return RollbackTarget(
                    deployment_id,
                    f"deployment {deployment_id} ({deployment_type.value}, created {_iso(created)}) "
                    "succeeded",
                    group_version_id=version,
                )
        return RollbackTarget(
            None,
            f"no earlier successful deployment ({len(listed)} deployment(s) listed, {checked} checked)",
        )

    def _listed_newest_first(self, group_id: str) -> list[tuple[str, DeploymentType, datetime, str | None]]:
        """Every deployment of the group as (id, type, created, group version), newest first.

        An entry without an id, with an unknown type or without a readable `CreatedAt` is raised, not
        skipped: a skipped reset would let a roll back undo it, and a deployment that cannot be placed in
        time could be older or newer than the one chosen."""
        listed: list[tuple[str, DeploymentType, datetime, str | None]] = []
        for deployment in self._deployments(group_id):
            deployment_id = deployment.get("DeploymentId")
            raw_type = deployment.get("DeploymentType")
            created = _timestamp(deployment.get("CreatedAt"))
            deployment_type = _deployment_type(raw_type)
            if not deployment_id or deployment_type is None or created is None:
                raise _malformed(
                    "ListDeployments",
                    f"deployment {deployment_id!r} of group {group_id} cannot be placed: type {raw_type!r}, "
                    f"CreatedAt {deployment.get('CreatedAt')!r}",
                )
            version = _group_version(deployment.get("GroupArn"), group_id)
            listed.append((deployment_id, deployment_type, created, version))
        # sorted() is stable with reverse=True too: deployments created in the same instant keep the
        # order the API gave.
        return sorted(listed, key=lambda entry: entry[2], reverse=True)

    def redeploy(
        self, group_id: str, deployment_id: str, *, client_token: str, group_version_id: str | None = None
    ) -> str:
        """`CreateDeployment` of type `Redeployment`; the API documents it idempotent "with respect to the
        X-Amzn-Client-Token token and the request parameters", so a retry with the same token returns the
        redeployment the first attempt started instead of starting a second one.

        `GroupVersionId` is sent when known (the version the redeployed deployment deployed, read from its
        `GroupArn` by `find_rollback_target`): the API model requires only `GroupId` and `DeploymentType`,
        and the simulator redeploys by `DeploymentId` alone, but moto insists on a group version (see the
        adapter tests), and a service that wants one must not answer "not found" for a group that exists.
        An unknown group is `NOT_FOUND`; a target that is not one of the group's deployments is a 400
        `InvalidInputException` "Deployment ID '<id>' is invalid.", so `BAD_REQUEST`.
        """
        # botocore refuses None for a parameter: the version is passed only when known.
        version: dict[str, str] = {} if group_version_id is None else {"GroupVersionId": group_version_id}
        with _translated("CreateDeployment"):
            response = self._client.create_deployment(
                GroupId=group_id,
                DeploymentType="Redeployment",
                DeploymentId=deployment_id,
                AmznClientToken=client_token,
                **version,
            )
        new_id = response.get("DeploymentId")
        if not new_id:
            raise _malformed(
                "CreateDeployment",
                f"redeployment of {deployment_id} to group {group_id} returned no DeploymentId",
            )
        return new_id

    def delete_group(self, group_id: str) -> None:
        with _translated("DeleteGroup"):
            self._client.delete_group(GroupId=group_id)

    def list_groups(self) -> Iterator[GroupSummary]:
        """Every group, page by page, so the janitor can stream thousands without holding them.

        `CreationTimestamp`/`LastUpdatedTimestamp` are strings in the V1 API model; one that is absent
        or unreadable is None (a selection by age then does not select the group)."""
        for group in self._paged("ListGroups", "Groups", lambda **page: self._client.list_groups(**page)):
            group_id = group.get("Id")
            if group_id:
                yield GroupSummary(
                    group_id=group_id,
                    name=group.get("Name", ""),
                    arn=group.get("Arn", ""),
                    created_at=_timestamp(group.get("CreationTimestamp")),
                    updated_at=_timestamp(group.get("LastUpdatedTimestamp")),
                )

    def last_deployment_at(self, group_id: str) -> datetime | None:
        """The newest `CreatedAt` of the group's deployments (every page: the API documents no order).

        A deployment without a readable `CreatedAt` is raised, not skipped: skipping it could make a
        deployed group look never deployed, and so selected by "not deployed for N days"."""
        newest: datetime | None = None
        for deployment in self._deployments(group_id):
            created = _timestamp(deployment.get("CreatedAt"))
            if created is None:
                raise _malformed(
                    "ListDeployments",
                    f"deployment {deployment.get('DeploymentId')!r} of group {group_id} has no readable "
                    f"CreatedAt: {deployment.get('CreatedAt')!r}",
                )
            if newest is None or created > newest:
                newest = created
        return newest
