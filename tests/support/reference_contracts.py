"""The pydantic models the event contracts were written with, kept as the reference the standard-library
readers in `gg_reset.contracts` are fuzzed against (`tests/unit/contracts/test_contract_equivalence.py`).

Test-only: the Lambdas no longer import pydantic (it cost their cold start half a boto3). Copied from the
contracts as they were, with their deliberate differences listed in `gg_reset.contracts`' docstring.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gg_reset.contracts import (
    DeploymentStatus,
    DeploymentType,
    DetailType,
    ForcePolicy,
    Teardown,
    is_clean_text,
)
from gg_reset.timer_messages import DUE_AT_FIELD, GROUP_ID_FIELD, GROUP_ID_MAX, GROUP_ID_PATTERN

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


class WorkflowTimer(BaseModel):
    """A timer: look at `group-id` again at `due-at` (a retry, a reset deadline, a deferred call). Written by
    `gg_reset.timer_messages.timer_message_body` (standard library only, for the sweeper's cold start)."""

    model_config = _KEBAB

    group_id: str = Field(
        alias=GROUP_ID_FIELD, min_length=1, max_length=GROUP_ID_MAX, pattern=GROUP_ID_PATTERN
    )
    due_at: datetime = Field(alias=DUE_AT_FIELD)
