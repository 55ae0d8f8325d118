"""The audit ledger: a DynamoDB table built from `gg_reset.ledger_schema`, the same definition the local
runtime and the tests create their tables from."""

from __future__ import annotations

from typing import Any

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from constructs import Construct

from gg_reset import ledger_schema

_ATTRIBUTE_TYPES = {
    "S": dynamodb.AttributeType.STRING,
    "N": dynamodb.AttributeType.NUMBER,
    "B": dynamodb.AttributeType.BINARY,
}
_PROJECTIONS = {
    "KEYS_ONLY": dynamodb.ProjectionType.KEYS_ONLY,
    "ALL": dynamodb.ProjectionType.ALL,
    "INCLUDE": dynamodb.ProjectionType.INCLUDE,
}


def _key_attributes(
    key_schema: list[dict[str, str]], types: dict[str, str]
) -> tuple[dynamodb.Attribute, dynamodb.Attribute | None]:
    by_role = {entry["KeyType"]: entry["AttributeName"] for entry in key_schema}
    partition = by_role["HASH"]
    sort = by_role.get("RANGE")
    return (
        dynamodb.Attribute(name=partition, type=_ATTRIBUTE_TYPES[types[partition]]),
        dynamodb.Attribute(name=sort, type=_ATTRIBUTE_TYPES[types[sort]]) if sort else None,
    )


class Ledger(Construct):
    """On-demand table with point-in-time recovery, TTL and the sweeper's sparse `due-index`.

    Retained (with deletion protection) by default: the ledger is the audit record and outlives the stack.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, retain: bool, customer_managed_key: bool
    ) -> None:
        super().__init__(scope, construct_id)
        spec: dict[str, Any] = ledger_schema.create_table_kwargs("unused")
        types = {d["AttributeName"]: d["AttributeType"] for d in spec["AttributeDefinitions"]}
        partition_key, sort_key = _key_attributes(spec["KeySchema"], types)

        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=partition_key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            encryption=(
                dynamodb.TableEncryption.CUSTOMER_MANAGED
                if customer_managed_key
                else dynamodb.TableEncryption.AWS_MANAGED
            ),
            time_to_live_attribute=ledger_schema.TTL_ATTRIBUTE,
            deletion_protection=retain,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        if self.table.encryption_key is not None:
            self.table.encryption_key.apply_removal_policy(
                RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
            )

        for index in spec.get("GlobalSecondaryIndexes", []):
            index_partition, index_sort = _key_attributes(index["KeySchema"], types)
            projection = index["Projection"]
            self.table.add_global_secondary_index(
                index_name=index["IndexName"],
                partition_key=index_partition,
                sort_key=index_sort,
                projection_type=_PROJECTIONS[projection["ProjectionType"]],
                non_key_attributes=projection.get("NonKeyAttributes"),
            )
