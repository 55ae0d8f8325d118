"""The janitor's runs in the ledger table: one item per run under the `JANITOR` partition.

The item holds the run's bounded account (`JanitorRun.as_record`: every count, the first plan entries) as
JSON, a few top-level attributes to filter on, and the TTL of finished workflows. A retried invocation of a
run (same scheduled time, same id) overwrites its item. The janitor only ever writes this partition: the
stack's IAM grant is `dynamodb:PutItem` with `dynamodb:LeadingKeys` = `JANITOR`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from gg_reset import ledger_schema as schema
from gg_reset.cleanup.janitor import JanitorRun

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

RUN_ATTRIBUTE = "janitor_run"
"""The JSON account of the run (a name no group reader looks for)."""


class DynamoDBJanitorLedger:
    def __init__(self, client: DynamoDBClient, table_name: str, *, retention: timedelta) -> None:
        self.client = client
        self.table_name = table_name
        self.retention = retention

    def record_run(self, run: JanitorRun) -> None:
        counts = run.counts()
        item = {
            schema.PARTITION_KEY: schema.JANITOR_PARTITION,
            schema.SORT_KEY: schema.janitor_run_sort_key(run.scheduled_at, run.run_id),
            RUN_ATTRIBUTE: json.dumps(run.as_record(), sort_keys=True),
            "run_id": run.run_id,
            "outcome": run.outcome.value,
            "action": run.config.action.value,
            "dry_run": run.config.dry_run,
            "to_act": counts.get("act", 0),
            "sent": counts["sent"],
            schema.TTL_ATTRIBUTE: int((run.finished_at + self.retention).timestamp()),
        }
        self.client.put_item(
            TableName=self.table_name, Item={key: _serializer.serialize(value) for key, value in item.items()}
        )

    def runs(self, limit: int = 20) -> list[dict[str, Any]]:
        """The most recent runs' accounts (`JanitorRun.as_record`), newest first (for the CLI and tests;
        the janitor itself never reads)."""
        found: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "#p = :p AND begins_with(#s, :prefix)",
            "ExpressionAttributeNames": {"#p": schema.PARTITION_KEY, "#s": schema.SORT_KEY},
            "ExpressionAttributeValues": {
                ":p": _serializer.serialize(schema.JANITOR_PARTITION),
                ":prefix": _serializer.serialize(schema.JANITOR_RUN_PREFIX),
            },
            "ScanIndexForward": False,
            "ConsistentRead": True,
        }
        while len(found) < limit:
            page = self.client.query(**kwargs, Limit=limit - len(found))
            for raw in page.get("Items", []):
                document = _deserializer.deserialize(raw[RUN_ATTRIBUTE])
                found.append(json.loads(str(document)))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return found
