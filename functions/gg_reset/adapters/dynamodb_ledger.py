"""The ledger on DynamoDB: one conditional transaction per decision.

Why a transaction: the HEAD item (guarded by `version`), the new history steps (guarded by
`attribute_not_exists`) and the finished workflows must land together or not at all, otherwise a crash
between two writes would leave a step without its state, or a state without its step.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from gg_reset import ledger_schema as schema
from gg_reset.domain.model import GroupRecord, Step, Workflow
from gg_reset.domain.workflow import Decision
from gg_reset.ports import VersionConflict
from gg_reset.shell.codec import record_from_plain, step_from_plain, to_plain, workflow_from_plain

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()
MAX_TRANSACTION_ITEMS = 100


def _av(value: Any) -> Any:
    return _serializer.serialize(value)


def _from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _record_of(item: dict[str, Any]) -> GroupRecord:
    return record_from_plain(json.loads(str(item["record"])))


def _workflow_of(item: dict[str, Any]) -> Workflow:
    return workflow_from_plain(json.loads(str(item["workflow"])))


def _step_of(item: dict[str, Any]) -> Step:
    return step_from_plain(json.loads(str(item["step"])))


LedgerEntry = GroupRecord | Workflow | tuple[str, Step]
"""One decoded item: a group's HEAD record, a finished workflow, or (workflow id, step)."""


def _epoch(at: datetime) -> int:
    return int(at.timestamp())


class DynamoDBLedger:
    def __init__(self, client: DynamoDBClient, table_name: str, *, retention: timedelta) -> None:
        self.client = client
        self.table_name = table_name
        self.retention = retention

    # --- reads -------------------------------------------------------------------------------------------

    def load(self, group_id: str) -> GroupRecord:
        response = self.client.get_item(
            TableName=self.table_name,
            Key={
                schema.PARTITION_KEY: _av(schema.group_partition(group_id)),
                schema.SORT_KEY: _av(schema.HEAD_SORT_KEY),
            },
            ConsistentRead=True,
        )
        item = response.get("Item")
        if not item:
            return GroupRecord(group_id=group_id)
        return _record_of(_from_item(item))

    def due_groups(self, now: datetime, limit: int = 500) -> Sequence[str]:
        """Each shard of the due index holds its groups in due order: read up to `limit` from each, then
        keep the `limit` most overdue of all."""
        due: list[tuple[int, str]] = []
        for bucket in schema.due_buckets():
            kwargs: dict[str, Any] = {
                "TableName": self.table_name,
                "IndexName": schema.DUE_INDEX_NAME,
                "KeyConditionExpression": "#b = :b AND #d <= :now",
                "ExpressionAttributeNames": {
                    "#b": schema.DUE_INDEX_PARTITION_KEY,
                    "#d": schema.DUE_INDEX_SORT_KEY,
                },
                "ExpressionAttributeValues": {":b": _av(bucket), ":now": _av(_epoch(now))},
            }
            found = 0
            while found < limit:
                page = self.client.query(**kwargs, Limit=min(1000, limit - found))
                for raw in page.get("Items", []):
                    item = _from_item(raw)
                    due.append(
                        (
                            int(item[schema.DUE_INDEX_SORT_KEY]),
                            schema.group_id_of(str(item[schema.PARTITION_KEY])),
                        )
                    )
                    found += 1
                if "LastEvaluatedKey" not in page:
                    break
                kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return [group for _, group in sorted(due)[:limit]]

    def _query_partition(self, group_id: str, prefix: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#p = :p AND begins_with(#s, :prefix)",
            "ExpressionAttributeNames": {"#p": schema.PARTITION_KEY, "#s": schema.SORT_KEY},
            "ExpressionAttributeValues": {
                ":p": _av(schema.group_partition(group_id)),
                ":prefix": _av(prefix),
            },
            "ConsistentRead": True,
        }
        while True:
            page = self.client.query(**kwargs)
            items.extend(_from_item(i) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def workflows(self, group_id: str) -> Sequence[Workflow]:
        finished = [
            _workflow_of(item) for item in self._query_partition(group_id, "WF#") if "workflow" in item
        ]
        active = self.load(group_id).active
        return [*finished, *([active] if active else [])]

    def history(self, group_id: str, workflow_id: str) -> Sequence[Step]:
        items = self._query_partition(group_id, f"{schema.workflow_sort_key(workflow_id)}#STEP#")
        return [_step_of(item) for item in items]

    def scan(self) -> Iterator[tuple[str, LedgerEntry]]:
        """Every item of the table as (group id, entry), in no particular order: for reports over a whole
        fleet, where one read per group would cost a query each."""
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            for raw in page["Items"]:
                item = _from_item(raw)
                group_id = schema.group_id_of(str(item[schema.PARTITION_KEY]))
                if "record" in item:
                    yield group_id, _record_of(item)
                elif "workflow" in item:
                    yield group_id, _workflow_of(item)
                elif "step" in item:
                    workflow_id = str(item[schema.SORT_KEY]).split("#")[1]
                    yield group_id, (workflow_id, _step_of(item))

    # --- the one write -----------------------------------------------------------------------------------

    def save(self, previous: GroupRecord, decision: Decision) -> GroupRecord:
        record = replace(decision.record, version=previous.version + 1)
        partition = _av(schema.group_partition(record.group_id))
        writes: list[TransactWriteItemTypeDef] = [self._head_write(previous, record, partition)]
        for workflow_id, step in decision.steps:
            expires = _epoch(step.at + self.retention)
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {
                            schema.PARTITION_KEY: partition,
                            schema.SORT_KEY: _av(schema.step_sort_key(workflow_id, step.seq)),
                            "step": _av(json.dumps(to_plain(step))),
                            "kind": _av(step.kind.value),
                            schema.TTL_ATTRIBUTE: _av(expires),
                        },
                        "ConditionExpression": "attribute_not_exists(#p)",
                        "ExpressionAttributeNames": {"#p": schema.PARTITION_KEY},
                    }
                }
            )
        for workflow in decision.finished:
            finished_at = workflow.finished_at or workflow.updated_at
            writes.append(
                {
                    "Put": {
                        "TableName": self.table_name,
                        "Item": {
                            schema.PARTITION_KEY: partition,
                            schema.SORT_KEY: _av(schema.workflow_sort_key(workflow.workflow_id)),
                            "workflow": _av(json.dumps(to_plain(workflow))),
                            "state": _av(workflow.state.value),
                            "reason": _av(workflow.reason),
                            schema.TTL_ATTRIBUTE: _av(_epoch(finished_at + self.retention)),
                        },
                    }
                }
            )
        if len(writes) > MAX_TRANSACTION_ITEMS:
            raise ValueError(f"decision too large for one transaction: {len(writes)} items")
        try:
            self._write(writes)
        except ClientError as error:
            if _is_condition_failure(error):
                raise VersionConflict(
                    f"group {record.group_id}: record changed since version {previous.version}"
                ) from error
            raise
        return record

    def _write(self, writes: list[TransactWriteItemTypeDef]) -> None:
        """All of a decision's items, or none (the HEAD's version condition decides)."""
        self.client.transact_write_items(TransactItems=writes)

    def _head_write(
        self, previous: GroupRecord, record: GroupRecord, partition: Any
    ) -> TransactWriteItemTypeDef:
        item: dict[str, Any] = {
            schema.PARTITION_KEY: partition,
            schema.SORT_KEY: _av(schema.HEAD_SORT_KEY),
            "version": _av(record.version),
            "record": _av(json.dumps(to_plain(record))),
        }
        active = record.active
        if active is not None:
            item["state"] = _av(active.state.value)
            item["workflow_id"] = _av(active.workflow_id)
            due = active.due_at
            if due is not None:
                # Only active, due-able records carry the index keys: that is what keeps the index sparse.
                item[schema.DUE_INDEX_PARTITION_KEY] = _av(schema.due_bucket(record.group_id))
                item[schema.DUE_INDEX_SORT_KEY] = _av(_epoch(due))
        else:
            last = record.last
            if last is not None:
                item["state"] = _av(last.state.value)
                item["workflow_id"] = _av(last.workflow_id)
                item[schema.TTL_ATTRIBUTE] = _av(
                    _epoch((last.finished_at or last.updated_at) + self.retention)
                )
        if previous.version == 0:
            condition = "attribute_not_exists(#p)"
            names = {"#p": schema.PARTITION_KEY}
            values: dict[str, Any] = {}
        else:
            condition = "#v = :v"
            names = {"#v": "version"}
            values = {":v": _av(previous.version)}
        put: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": item,
            "ConditionExpression": condition,
            "ExpressionAttributeNames": names,
        }
        if values:
            put["ExpressionAttributeValues"] = values
        return {"Put": put}  # type: ignore[typeddict-item]


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons", [])
        if any(r.get("Code") == "ConditionalCheckFailed" for r in reasons):
            return True
        return "ConditionalCheckFailed" in str(error)
    return False
