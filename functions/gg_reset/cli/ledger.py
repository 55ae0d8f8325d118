"""What the `gg-reset` CLI reads from the ledger, and the one shape it prints workflows in.

- Workflows in flight come from the sparse due index (`due-index`, one query per shard of
  `ledger_schema.due_buckets()`), then their HEAD items: cheap, whatever the size of the table.
- Finished workflows (`WF#<id>` items) come from a Scan with a filter: DynamoDB still reads (and bills)
  the whole table, steps included, so `list --state FAILED` and `report` cost one full read of the table.
- One group's history is a Query on its partition (`DynamoDBLedger.workflows` / `history`).

`ReportAction` is the fixed vocabulary of the `action` column: every output (list, show, report) maps a
workflow to it with `action_of`, and nowhere else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from gg_reset import ledger_schema as schema
from gg_reset.cli.errors import CliError
from gg_reset.domain.model import TERMINAL_STATES, GroupRecord, Step, Workflow, WorkflowState
from gg_reset.shell.codec import record_from_plain, workflow_from_plain

if TYPE_CHECKING:
    from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
BATCH_GET_MAX: Final = 100


class ReportAction(StrEnum):
    """What gg-reset did (or is doing) to a group in one workflow: the `action` column, everywhere."""

    RESET = "reset"
    """The group's deployments were reset without Force."""
    FORCE_RESET = "force-reset"
    """The reset needed `Force=True`."""
    DELETE = "delete"
    """The group was reset and deleted (the `forced` column says whether Force was needed)."""
    REJECT = "reject"
    """Refused: invalid request, protected or denied group, busy group, account guard."""
    PLAN = "plan"
    """Dry run: the plan was recorded, nothing was written to Greengrass."""
    FAIL = "fail"
    """The workflow ended FAILED (see its reason)."""
    GONE = "gone"
    """The group did not exist (any more)."""
    ROLLBACK = "rollback"
    """A failed deployment was answered by redeploying the group's last good deployment
    (on-failure=rollback)."""
    NOTIFY = "notify"
    """A failed deployment was recorded and notified, with no Greengrass write (on-failure=notify, or the
    fallback of a roll back)."""
    IN_PROGRESS = "in-progress"
    """The workflow has not finished yet."""


_ACTION_BY_STATE: Final = {
    WorkflowState.DELETED: ReportAction.DELETE,
    WorkflowState.REJECTED: ReportAction.REJECT,
    WorkflowState.PLANNED: ReportAction.PLAN,
    WorkflowState.FAILED: ReportAction.FAIL,
    WorkflowState.GONE: ReportAction.GONE,
    WorkflowState.ROLLED_BACK: ReportAction.ROLLBACK,
    WorkflowState.NOTIFIED: ReportAction.NOTIFY,
}


def action_of(workflow: Workflow) -> ReportAction:
    if not workflow.state.terminal:
        return ReportAction.IN_PROGRESS
    if workflow.state is WorkflowState.RESET:
        return ReportAction.FORCE_RESET if workflow.forced else ReportAction.RESET
    return _ACTION_BY_STATE[workflow.state]


# --- the printed shape ---------------------------------------------------------------------------------

ROW_FIELDS: Final = (
    "group_id",
    "workflow_id",
    "action",
    "kind",
    "state",
    "forced",
    "dry_run",
    "reason",
    "request_ids",
    "requested_by",
    "started_at",
    "finished_at",
)
"""The columns of `list --csv` and `report` (CSV header order); JSON rows carry the same keys."""


def _iso(at: datetime | None) -> str | None:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z") if at is not None else None


def workflow_row(workflow: Workflow) -> dict[str, Any]:
    """A workflow as the CLI prints it (JSON-ready: strings, booleans, lists, None)."""
    request = workflow.request
    return {
        "group_id": workflow.group_id,
        "workflow_id": workflow.workflow_id,
        "action": action_of(workflow).value,
        "kind": workflow.kind.value,
        "state": workflow.state.value,
        "forced": workflow.forced,
        "dry_run": request.dry_run,
        "reason": workflow.reason,
        "request_ids": list(workflow.request_ids),
        "requested_by": request.requested_by,
        "started_at": _iso(workflow.started_at),
        "finished_at": _iso(workflow.finished_at) if workflow.state.terminal else None,
    }


def step_row(step: Step) -> dict[str, Any]:
    return {
        "seq": step.seq,
        "at": _iso(step.at),
        "kind": step.kind.value,
        "state": step.state.value,
        "detail": step.detail,
    }


# --- time filters --------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_since(text: str, now: datetime) -> datetime:
    """`WHEN` for --since: an ISO 8601 date or time (UTC unless it says otherwise), or an age such as
    `90m`, `24h`, `7d`, `2w` (counted back from now)."""
    match = _RELATIVE.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        return now - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise CliError(
            f"--since {text!r}: expected an ISO 8601 date or time (2026-03-01, 2026-03-01T12:00:00Z) "
            "or an age such as 30m, 24h, 7d, 2w"
        ) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def reference_time(workflow: Workflow) -> datetime:
    """The time --since compares: when a finished workflow ended, when an active one started."""
    if workflow.state.terminal:
        return workflow.finished_at or workflow.updated_at
    return workflow.started_at


# --- reads ---------------------------------------------------------------------------------------------


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


@dataclass(frozen=True, slots=True)
class GroupHistory:
    workflow: Workflow
    steps: tuple[Step, ...]


class LedgerQueries:
    """The CLI's reads of a deployed (or local) ledger table."""

    def __init__(self, ledger: DynamoDBLedger) -> None:
        self.ledger = ledger
        self.client = ledger.client
        self.table = ledger.table_name

    def check(self) -> None:
        """One cheap read: the table exists and may be read (raises the AWS error otherwise)."""
        self.ledger.load("_gg-reset-cli-check_")

    # --- in flight: the due index ---

    def active(self) -> list[Workflow]:
        """Every workflow in flight (every active workflow has a due time, so it is in the index)."""
        groups: list[str] = []
        for bucket in schema.due_buckets():
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": schema.DUE_INDEX_NAME,
                "KeyConditionExpression": "#b = :b",
                "ExpressionAttributeNames": {"#b": schema.DUE_INDEX_PARTITION_KEY},
                "ExpressionAttributeValues": {":b": _serializer.serialize(bucket)},
            }
            while True:
                page = self.client.query(**kwargs)
                groups.extend(
                    schema.group_id_of(str(_plain(item)[schema.PARTITION_KEY])) for item in page["Items"]
                )
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        workflows = [
            record.active for record in self._heads(dict.fromkeys(groups)) if record.active is not None
        ]
        return sorted(workflows, key=lambda wf: (wf.started_at, wf.group_id))

    def _heads(self, group_ids: Iterable[str]) -> Iterator[GroupRecord]:
        keys = [
            {
                schema.PARTITION_KEY: _serializer.serialize(schema.group_partition(gid)),
                schema.SORT_KEY: _serializer.serialize(schema.HEAD_SORT_KEY),
            }
            for gid in group_ids
        ]
        for start in range(0, len(keys), BATCH_GET_MAX):
            request: dict[str, Any] = {
                self.table: {"Keys": keys[start : start + BATCH_GET_MAX], "ConsistentRead": True}
            }
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                for raw in response.get("Responses", {}).get(self.table, []):
                    item = _plain(raw)
                    if "record" in item:
                        yield record_from_plain(_json(item["record"]))
                request = response.get("UnprocessedKeys") or {}

    # --- finished: a filtered scan ---

    def finished(self, states: Sequence[WorkflowState] | None = None) -> list[Workflow]:
        """Finished workflows (optionally only in `states`), from a Scan of the whole table."""
        names = {"#wf": "workflow"}
        values: dict[str, Any] = {}
        expression = "attribute_exists(#wf)"
        wanted = [s for s in (states or ()) if s in TERMINAL_STATES]
        if states is not None and not wanted:
            return []
        if wanted:
            names["#st"] = "state"
            placeholders = []
            for i, state in enumerate(wanted):
                values[f":s{i}"] = _serializer.serialize(state.value)
                placeholders.append(f":s{i}")
            expression += f" AND #st IN ({', '.join(placeholders)})"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "FilterExpression": expression,
            "ExpressionAttributeNames": names,
            "ProjectionExpression": "#wf",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = values
        found: list[Workflow] = []
        while True:
            page = self.client.scan(**kwargs)
            found.extend(workflow_from_plain(_json(_plain(item)["workflow"])) for item in page["Items"])
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(found, key=lambda wf: (reference_time(wf), wf.group_id))

    # --- one group ---

    def group(self, group_id: str) -> list[GroupHistory]:
        return [
            GroupHistory(wf, tuple(self.ledger.history(group_id, wf.workflow_id)))
            for wf in sorted(self.ledger.workflows(group_id), key=lambda wf: (wf.started_at, wf.workflow_id))
        ]

    def find_request(self, group_id: str, request_id: str) -> Workflow | None:
        """The workflow answering `request_id` on the group (active or finished), if it got one yet."""
        record = self.ledger.load(group_id)
        for wf in (record.active, record.last):
            if wf is not None and request_id in wf.request_ids:
                return wf
        if record.version == 0:
            return None  # the group was never seen: no need to query its partition
        for wf in self.ledger.workflows(group_id):
            if request_id in wf.request_ids:
                return wf
        return None


def _json(raw: Any) -> Any:
    return json.loads(str(raw))
