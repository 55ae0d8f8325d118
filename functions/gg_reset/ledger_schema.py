"""The ledger table's shape: one definition for the CDK stack, the local runtime and the tests.

A group's items, all under its partition `GROUP#<group id>`:
- `HEAD`: the group's current state, its active workflow (if any), recent request ids for de-duplication
  and the remediation log. Every change is a conditional write on `version`.
- `WF#<workflow id>`: a finished workflow, written once when it reaches a terminal state.
- `WF#<workflow id>#STEP#<seq>`: an append-only history entry, one per step, written with
  `attribute_not_exists` so a replayed step can never be recorded twice.

One more partition, `JANITOR`, holds the janitor's runs: `RUN#<UTC time>#<run id>`, one item per run (the
plan, bounded, the action taken and the outcome counts), expiring like finished workflows. Its items carry
none of the attributes the group readers look for (`record`, `workflow`, `step`), so they pass unseen.

The sparse index `due-index` holds only HEAD items with an active workflow (`sweep_bucket` is removed
when the workflow ends), ordered by `due_at`, so the sweeper reads exactly the overdue workflows; its
partition key is sharded (`due_bucket`) so no single partition takes every write of a bulk cleanup.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any, Final

PARTITION_KEY: Final = "pk"
SORT_KEY: Final = "sk"
TTL_ATTRIBUTE: Final = "expires_at"

DUE_INDEX_NAME: Final = "due-index"
DUE_INDEX_PARTITION_KEY: Final = "sweep_bucket"
DUE_INDEX_SORT_KEY: Final = "due_at"
ACTIVE_BUCKET: Final = "ACTIVE"
DUE_INDEX_SHARDS: Final = 16
"""The due index's partition key is spread over this many values (`ACTIVE#00`..`ACTIVE#15`, by a hash of
the group id): thousands of workflows in flight write their due times to 16 partitions, not one hot one.
The sweeper queries each shard and merges."""

HEAD_SORT_KEY: Final = "HEAD"


def due_bucket(group_id: str) -> str:
    """The due index partition of a group's HEAD item (stable: a hash of the id)."""
    digest = hashlib.sha256(group_id.encode("utf-8", "surrogatepass")).digest()
    return f"{ACTIVE_BUCKET}#{int.from_bytes(digest[:4], 'big') % DUE_INDEX_SHARDS:02d}"


def due_buckets() -> tuple[str, ...]:
    return tuple(f"{ACTIVE_BUCKET}#{shard:02d}" for shard in range(DUE_INDEX_SHARDS))


def group_partition(group_id: str) -> str:
    return f"GROUP#{group_id}"


def group_id_of(partition: str) -> str:
    return partition.removeprefix("GROUP#")


def workflow_sort_key(workflow_id: str) -> str:
    return f"WF#{workflow_id}"


def step_sort_key(workflow_id: str, seq: int) -> str:
    return f"WF#{workflow_id}#STEP#{seq:05d}"


JANITOR_PARTITION: Final = "JANITOR"
JANITOR_RUN_PREFIX: Final = "RUN#"


def janitor_run_sort_key(at: datetime, run_id: str) -> str:
    """`RUN#2026-01-01T03:00:00Z#<run id>`: runs sort by time; a retried run (same time, same id) writes
    the same item again instead of a second one."""
    return f"{JANITOR_RUN_PREFIX}{at.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}#{run_id}"


def create_table_kwargs(table_name: str) -> dict[str, Any]:
    """Arguments for boto3 `create_table` that mirror the stack's table (used locally and in tests)."""
    return {
        "TableName": table_name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [
            {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": SORT_KEY, "AttributeType": "S"},
            {"AttributeName": DUE_INDEX_PARTITION_KEY, "AttributeType": "S"},
            {"AttributeName": DUE_INDEX_SORT_KEY, "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
            {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
        ],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": DUE_INDEX_NAME,
                "KeySchema": [
                    {"AttributeName": DUE_INDEX_PARTITION_KEY, "KeyType": "HASH"},
                    {"AttributeName": DUE_INDEX_SORT_KEY, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }
