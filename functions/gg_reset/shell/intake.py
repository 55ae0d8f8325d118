"""From a raw EventBridge event (as delivered in an SQS message body) to a domain event.

Validation happens here, once, with the contracts' readers; whatever fails it becomes an
`InvalidRequestReceived`, so a poison message is recorded `REJECTED` instead of being retried forever.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gg_reset.contracts import (
    TIMER_KEY,
    ContractError,
    DeploymentStatusEvent,
    DetailType,
    GroupRequestEvent,
    WorkflowTimer,
)
from gg_reset.domain.events import (
    DeploymentStatusReported,
    Event,
    InvalidRequestReceived,
    RequestReceived,
    Tick,
)
from gg_reset.domain.model import Request, RequestKind
from gg_reset.timer_messages import is_group_id

UNPARSEABLE_GROUP = "_unparseable_"
"""Prefix of the ledger partitions for messages whose group id cannot be read at all."""
UNPARSEABLE_SHARDS = 16
MAX_REQUEST_ID = 128
MAX_REQUESTED_BY = 256
MAX_ERROR = 1024
"""Bounds of what an invalid message leaves in the ledger (the contract's own limits, and 1 KB of error)."""


@dataclass(frozen=True, slots=True)
class Intake:
    group_id: str
    event: Event | None
    """None for a message that is no request and carries no usable news (see `dropped`)."""
    dropped: str | None = None
    """Why the message is only logged and counted: a malformed `aws.greengrass` status event is not a
    request anyone waits for, so it gets no workflow of its own."""
    timer_for: datetime | None = None
    """For a timer message: the due time it was armed for (see `ResetService.handle`)."""
    account: str | None = None
    """For a status event: the account it says it comes from (the worker checks it is its own)."""
    region: str | None = None
    """For a status event: the region it says it comes from (the worker checks it is its own)."""

    @property
    def correlation_id(self) -> str | None:
        """What ties log lines to a request: its request id, or the deployment id for status events."""
        match self.event:
            case RequestReceived(request=request):
                return request.request_id
            case InvalidRequestReceived(request_id=request_id):
                return request_id
            case DeploymentStatusReported(deployment_id=deployment_id):
                return deployment_id
        return None


def from_message_body(body: str, *, message_id: str, now: datetime) -> Intake:
    """Never raises: whatever the body, the answer is an event, an invalid request, or a dropped message."""
    try:
        raw = json.loads(body)
    except json.JSONDecodeError as exc:
        return _invalid({}, f"message body is not JSON ({exc.msg} at {exc.pos})", fallback_id=message_id)
    except RecursionError:
        return _invalid({}, "message body is nested too deeply to read", fallback_id=message_id)
    if not isinstance(raw, dict):
        return _invalid({}, "message body is not a JSON object", fallback_id=message_id)
    try:
        if TIMER_KEY in raw:
            return from_timer(raw[TIMER_KEY])
        return from_eventbridge(raw, fallback_id=message_id, now=now)
    except (RecursionError, ValueError, TypeError) as exc:
        # Defensive: bad fields come back as ContractError (handled above); this is a body the readers
        # could not even look at.
        return _invalid(raw, f"message could not be read ({type(exc).__name__})", fallback_id=message_id)


def from_timer(raw: Any) -> Intake:
    """A workflow timer (a delayed message the service sent itself): a tick for the group."""
    try:
        timer = WorkflowTimer.parse(raw)
    except ContractError as exc:
        group = raw.get("group-id") if isinstance(raw, dict) else None
        group_id = group if is_group_id(group) else UNPARSEABLE_GROUP
        return Intake(group_id, None, dropped=bounded(f"malformed timer: {exc.describe()}", MAX_ERROR))
    return Intake(timer.group_id, Tick(), timer_for=timer.due_at)


def from_eventbridge(raw: dict[str, Any], *, fallback_id: str, now: datetime) -> Intake:
    detail_type = raw.get("detail-type")
    if detail_type == DetailType.DEPLOYMENT_STATUS_CHANGE:
        try:
            status = DeploymentStatusEvent.parse(raw)
        except ContractError as exc:
            return Intake(
                _group_id_of(raw) or unparseable_group(fallback_id),
                None,
                dropped=bounded(f"malformed deployment status event: {exc.describe()}", MAX_ERROR),
            )
        d = status.detail
        return Intake(
            d.group_id,
            DeploymentStatusReported(
                deployment_id=d.deployment_id,
                deployment_type=d.deployment_type,
                status=d.status,
                occurred_at=status.envelope.time,
            ),
            account=status.envelope.account,
            region=status.envelope.region,
        )
    if detail_type not in (DetailType.RESET_REQUESTED, DetailType.DELETION_REQUESTED):
        return _invalid(raw, f"unsupported detail-type {detail_type!r}", fallback_id=fallback_id)
    try:
        parsed = GroupRequestEvent.parse(raw)
    except ContractError as exc:
        return _invalid(raw, exc.describe(), fallback_id=fallback_id)
    detail = parsed.detail
    request = Request(
        request_id=detail.request_id or f"event:{parsed.envelope.id}",
        kind=RequestKind.DELETION if detail_type == DetailType.DELETION_REQUESTED else RequestKind.RESET,
        group_id=detail.group_id,
        received_at=now,
        requested_by=detail.requested_by,
        reason=detail.reason,
        force=detail.force,
        dry_run=detail.dry_run,
        teardown=detail.teardown,
    )
    return Intake(detail.group_id, RequestReceived(request))


def _group_id_of(raw: dict[str, Any]) -> str | None:
    detail = raw.get("detail")
    group = detail.get("group-id") if isinstance(detail, dict) else None
    return group if is_group_id(group) else None


def unparseable_group(message_id: str) -> str:
    """The ledger partition for a message whose group id cannot be read: one of
    `UNPARSEABLE_SHARDS`, by a hash of the message id, so no single item takes every such message."""
    digest = hashlib.sha256(message_id.encode("utf-8", "surrogatepass")).digest()
    return f"{UNPARSEABLE_GROUP}{int.from_bytes(digest[:4], 'big') % UNPARSEABLE_SHARDS:02d}"


def bounded(value: str, limit: int) -> str:
    """A copy of what was received that fits in the ledger and in a log line: lone surrogates and control
    characters replaced, and, when longer than `limit`, cut with a digest of the whole so that two long
    values that differ only at the end stay different."""
    clean = "".join(
        c if c.isprintable() else "\ufffd"
        for c in value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    )
    if len(clean) <= limit:
        return clean
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{clean[: limit - 20]}...#{digest}"


def _invalid(raw: dict[str, Any], error: str, *, fallback_id: str) -> Intake:
    detail = raw.get("detail") if isinstance(raw.get("detail"), dict) else {}
    assert isinstance(detail, dict)
    group_id = _group_id_of(raw) or unparseable_group(fallback_id)
    request_id = detail.get("request-id")
    if not isinstance(request_id, str) or not request_id:
        event_id = raw.get("id")
        request_id = (
            f"event:{event_id}" if isinstance(event_id, str) and event_id else f"message:{fallback_id}"
        )
    requested_by = detail.get("requested-by")
    deletion = raw.get("detail-type") == DetailType.DELETION_REQUESTED
    return Intake(
        group_id,
        InvalidRequestReceived(
            request_id=bounded(request_id, MAX_REQUEST_ID),
            group_id=group_id,
            error=bounded(error, MAX_ERROR),
            requested_by=bounded(requested_by, MAX_REQUESTED_BY)
            if isinstance(requested_by, str)
            else "unknown",
            kind=RequestKind.DELETION if deletion else RequestKind.RESET,
        ),
    )
