"""The events gg-reset consumes: one source of truth for their shape and for the EventBridge patterns.

The CDK stack builds its rules from `REQUEST_PATTERN` and `deployment_status_pattern()`, the local runtime
installs the very same patterns on its emulated buses, and the worker parses with the models below, so the
rules, the emulator and the parser cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Re-exported: the contracts speak the domain's vocabulary (`X as X` marks an explicit re-export).
from gg_reset.domain.enums import RESET_DEPLOYMENT_TYPES as RESET_DEPLOYMENT_TYPES
from gg_reset.domain.enums import DeploymentStatus as DeploymentStatus
from gg_reset.domain.enums import DeploymentType as DeploymentType
from gg_reset.domain.enums import ForcePolicy as ForcePolicy
from gg_reset.domain.teardown import Teardown as Teardown
from gg_reset.timer_messages import DUE_AT_FIELD, GROUP_ID_FIELD, GROUP_ID_MAX, GROUP_ID_PATTERN
from gg_reset.timer_messages import TIMER_KEY as TIMER_KEY
from gg_reset.timer_messages import timer_message_body as timer_message_body

SERVICE_SOURCE = "gg-reset"
"""`source` of every request on the service bus. Callers other than gg-reset itself may use their own."""

GREENGRASS_SOURCE = "aws.greengrass"


class DetailType(StrEnum):
    RESET_REQUESTED = "Greengrass Group Reset Requested"
    DELETION_REQUESTED = "Greengrass Group Deletion Requested"
    DEPLOYMENT_STATUS_CHANGE = "Greengrass Deployment Status Change"


def is_clean_text(value: str) -> bool:
    """Printable, and encodable as UTF-8 (a lone surrogate is not)."""
    if not value.isprintable():
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


REQUEST_DETAIL_TYPES = (DetailType.RESET_REQUESTED.value, DetailType.DELETION_REQUESTED.value)


_KEBAB = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)


class GroupRequestDetail(BaseModel):
    """`detail` of a reset or deletion request on the service bus (kebab-case keys, like AWS events)."""

    model_config = _KEBAB

    group_id: str = Field(
        alias=GROUP_ID_FIELD, min_length=1, max_length=GROUP_ID_MAX, pattern=GROUP_ID_PATTERN
    )
    requested_by: str = Field(default="unknown", alias="requested-by", max_length=256)
    reason: str = Field(default="", max_length=1024)
    force: ForcePolicy = ForcePolicy.AUTO
    dry_run: bool = Field(default=False, alias="dry-run")
    request_id: str | None = Field(default=None, alias="request-id", min_length=1, max_length=128)
    teardown: Teardown | None = None
    """Deletions only: `group`, `definitions` or `things` (absent: the deployment's default)."""

    @field_validator("force", "teardown", mode="before")
    @classmethod
    def _lower_choice(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @field_validator("request_id")
    @classmethod
    def _printable(cls, value: str | None) -> str | None:
        # An id is copied into log lines, step details and reports: no control characters.
        if value is not None and not is_clean_text(value):
            raise ValueError("must be printable text (no control characters)")
        return value


class DeploymentStatusDetail(BaseModel):
    """`detail` of `aws.greengrass` "Greengrass Deployment Status Change", exactly as AWS documents it."""

    model_config = _KEBAB

    group_id: str = Field(alias="group-id", min_length=1)
    deployment_id: str = Field(alias="deployment-id", min_length=1)
    deployment_type: DeploymentType = Field(alias="deployment-type")
    status: DeploymentStatus


class EventBridgeEnvelope(BaseModel):
    """The EventBridge event envelope, field for field as Powertools' `EventBridgeModel` defines it.

    Declared here rather than imported: importing `aws_lambda_powertools.utilities.parser` loads every
    Powertools event model (API Gateway, S3, Kinesis...), which alone tripled the worker's cold start.
    """

    model_config = ConfigDict(populate_by_name=True)

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str = Field(alias="detail-type")
    detail: Any
    replay_name: str | None = Field(default=None, alias="replay-name")


class GroupRequestEvent(EventBridgeEnvelope):
    detail_type: Literal["Greengrass Group Reset Requested", "Greengrass Group Deletion Requested"] = Field(
        alias="detail-type"
    )
    detail: GroupRequestDetail

    @model_validator(mode="after")
    def _teardown_only_for_deletions(self) -> GroupRequestEvent:
        if self.detail.teardown is not None and self.detail_type != DetailType.DELETION_REQUESTED.value:
            raise ValueError(
                "detail.teardown applies to deletions only: send a Greengrass Group Deletion Requested "
                "event, or leave teardown out"
            )
        return self


class DeploymentStatusEvent(EventBridgeEnvelope):
    detail_type: Literal["Greengrass Deployment Status Change"] = Field(alias="detail-type")
    source: Literal["aws.greengrass"]
    detail: DeploymentStatusDetail


# --- EventBridge patterns -------------------------------------------------------------------------------


REQUEST_PATTERN: dict[str, Any] = {"detail-type": list(REQUEST_DETAIL_TYPES)}
"""Requests on the service's own bus. The bus policy decides who may put them; any `source` is accepted."""


REMEDIATED_DEPLOYMENT_TYPES = (DeploymentType.NEW.value, DeploymentType.REDEPLOYMENT.value)
"""Deployments whose `Failure` opens a remediation."""


def deployment_status_pattern(account: str, region: str) -> dict[str, Any]:
    """The status changes the worker acts on, on the default bus of `account` in `region`, and nothing else:

    - `Failure` of a `NewDeployment`/`Redeployment` (opens a remediation);
    - `Success`/`Failure` of a `ResetDeployment`/`ForceResetDeployment` (completes or fails a reset).

    A fleet's routine successful deployments and every `Building`/`InProgress` change are filtered out by
    EventBridge, so they never invoke the worker. Matching the account and the region keeps events
    forwarded from other accounts' or other regions' buses from being processed twice, or acted on here
    (the worker refuses them too, and counts them as `ForeignStatusEvents`).
    """
    return {
        "source": [GREENGRASS_SOURCE],
        "detail-type": [DetailType.DEPLOYMENT_STATUS_CHANGE.value],
        "account": [account],
        "region": [region],
        "detail": {
            "$or": [
                {
                    "deployment-type": list(REMEDIATED_DEPLOYMENT_TYPES),
                    "status": [DeploymentStatus.FAILURE.value],
                },
                {
                    "deployment-type": sorted(t.value for t in RESET_DEPLOYMENT_TYPES),
                    "status": [DeploymentStatus.SUCCESS.value, DeploymentStatus.FAILURE.value],
                },
            ]
        },
    }


# --- the workflow's own timers ----------------------------------------------------------------------------


class WorkflowTimer(BaseModel):
    """A timer: look at `group-id` again at `due-at` (a retry, a reset deadline, a deferred call). Written by
    `gg_reset.timer_messages.timer_message_body` (standard library only, for the sweeper's cold start)."""

    model_config = _KEBAB

    group_id: str = Field(
        alias=GROUP_ID_FIELD, min_length=1, max_length=GROUP_ID_MAX, pattern=GROUP_ID_PATTERN
    )
    due_at: datetime = Field(alias=DUE_AT_FIELD)


def request_entry(
    *,
    group_id: str,
    deletion: bool,
    bus_name: str,
    requested_by: str = "unknown",
    reason: str = "",
    force: ForcePolicy = ForcePolicy.AUTO,
    dry_run: bool = False,
    request_id: str | None = None,
    source: str = SERVICE_SOURCE,
    teardown: Teardown | None = None,
) -> dict[str, Any]:
    """A `PutEvents` entry for a reset or deletion request: what the CLI, the janitor and tests send."""
    if teardown is not None and not deletion:
        raise ValueError("teardown applies to deletions only")
    detail = GroupRequestDetail.model_validate(
        {
            "teardown": teardown,
            "group-id": group_id,
            "requested-by": requested_by,
            "reason": reason,
            "force": force,
            "dry-run": dry_run,
            "request-id": request_id,
        }
    )
    return {
        "Source": source,
        "DetailType": (DetailType.DELETION_REQUESTED if deletion else DetailType.RESET_REQUESTED).value,
        "Detail": detail.model_dump_json(by_alias=True, exclude_none=True),
        "EventBusName": bus_name,
    }
