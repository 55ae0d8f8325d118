"""Plain-data form of the domain values: for the ledger items, the JSON report and the CLI.

Kept free of AWS imports so the same encoding serves DynamoDB, JSON files and tests.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from gg_reset.domain.enums import ForcePolicy, RemediationPolicy
from gg_reset.domain.model import (
    Failures,
    GroupRecord,
    PendingCall,
    Request,
    RequestKind,
    Step,
    StepKind,
    Workflow,
    WorkflowState,
)
from gg_reset.domain.teardown import Resource, ResourceKind, ResourceOutcome, Teardown


def to_plain(value: Any) -> Any:
    """Dataclasses to dicts, enums to values, datetimes to ISO-8601, tuples to lists; None dropped."""
    if is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_plain(getattr(value, f.name))
            for f in fields(value)
            if getattr(value, f.name) is not None
        }
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (tuple, list)):
        return [to_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    return value


_FAILURE_KINDS = frozenset(f.name for f in fields(Failures))


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _req_dt(value: Any) -> datetime:
    parsed = _dt(value)
    if parsed is None:
        raise ValueError("missing timestamp in ledger item")
    return parsed


def request_from_plain(data: dict[str, Any]) -> Request:
    return Request(
        request_id=data["request_id"],
        kind=RequestKind(data["kind"]),
        group_id=data["group_id"],
        received_at=_req_dt(data["received_at"]),
        requested_by=data.get("requested_by", "unknown"),
        reason=data.get("reason", ""),
        force=ForcePolicy(data.get("force", ForcePolicy.AUTO)),
        dry_run=bool(data.get("dry_run", False)),
        trigger_deployment_id=data.get("trigger_deployment_id"),
        teardown=Teardown(data["teardown"]) if data.get("teardown") else None,
    )


def resource_from_plain(data: dict[str, Any]) -> Resource:
    return Resource(
        kind=ResourceKind(data["kind"]),
        arn=data["arn"],
        resource_id=data["resource_id"],
        core_thing=data.get("core_thing", ""),
        core_certificate=data.get("core_certificate", ""),
        used_by=tuple(data.get("used_by", ())),
        outcome=ResourceOutcome(data["outcome"]) if data.get("outcome") else None,
        detail=data.get("detail", ""),
    )


def workflow_from_plain(data: dict[str, Any]) -> Workflow:
    return Workflow(
        workflow_id=data["workflow_id"],
        group_id=data["group_id"],
        kind=RequestKind(data["kind"]),
        request=request_from_plain(data["request"]),
        state=WorkflowState(data["state"]),
        started_at=_req_dt(data["started_at"]),
        updated_at=_req_dt(data["updated_at"]),
        reason=data.get("reason", ""),
        request_ids=tuple(data.get("request_ids", ())),
        pending=PendingCall(data["pending"]) if data.get("pending") else None,
        next_action_at=_dt(data.get("next_action_at")),
        deadline_at=_dt(data.get("deadline_at")),
        deployment_id=data.get("deployment_id"),
        forced=bool(data.get("forced", False)),
        # Items written before the per-kind budgets hold one count of unknown kind ("attempts"): dropped, so
        # such a step gets its budgets afresh once (bounded) rather than a guess at which kind it was.
        failures=Failures(**{k: int(v) for k, v in data.get("failures", {}).items() if k in _FAILURE_KINDS}),
        token_generation=int(data.get("token_generation", 0)),
        plan=tuple(data.get("plan", ())),
        finished_at=_dt(data.get("finished_at")),
        step_count=int(data.get("step_count", 0)),
        checked_at=_dt(data.get("checked_at")),
        resume=PendingCall(data["resume"]) if data.get("resume") else None,
        remediation=RemediationPolicy(data["remediation"]) if data.get("remediation") else None,
        rollback_of=data.get("rollback_of"),
        rollback_version=data.get("rollback_version"),
        rollback_deployment_id=data.get("rollback_deployment_id"),
        delete_issued=bool(data.get("delete_issued", False)),
        teardown=Teardown(data.get("teardown", Teardown.GROUP)),
        resources=tuple(resource_from_plain(r) for r in data.get("resources", ())),
        collected=bool(data.get("collected", False)),
        unconfirmed_reset_since=_dt(data.get("unconfirmed_reset_since")),
        latest_version=data.get("latest_version"),
    )


def step_from_plain(data: dict[str, Any]) -> Step:
    return Step(
        seq=int(data["seq"]),
        at=_req_dt(data["at"]),
        kind=StepKind(data["kind"]),
        state=WorkflowState(data["state"]),
        detail=data.get("detail", ""),
    )


def record_from_plain(data: dict[str, Any]) -> GroupRecord:
    active = workflow_from_plain(data["active"]) if data.get("active") else None
    last = workflow_from_plain(data["last"]) if data.get("last") else None
    own = data.get("own_deployments")
    if own is None:
        # Items written before the record kept the ids: the deployments its workflows name are gg-reset's.
        own = [d for wf in (last, active) if wf for d in (wf.deployment_id, wf.rollback_deployment_id) if d]
    return GroupRecord(
        group_id=data["group_id"],
        version=int(data.get("version", 0)),
        active=active,
        last=last,
        recent_request_ids=tuple(data.get("recent_request_ids", ())),
        own_deployments=tuple(dict.fromkeys(own)),
        remediations=tuple(_req_dt(t) for t in data.get("remediations", ())),
        queued=tuple(request_from_plain(r) for r in data.get("queued", ())),
    )
