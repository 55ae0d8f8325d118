"""The janitor (`gg-reset:janitorEnabled`): a scheduled Lambda that evaluates a selection of groups and
records its plan or puts deletion (reset) requests on the service bus, with a least-privilege role.

What its role may do, and nothing else:

- Greengrass, read only: `ListGroups` (account level: the action has no resource type), `GetGroup` and
  `ListDeployments` on the groups of the deploying account and region; and, only for a `migrated` selection
  or a dry run that previews a teardown (`gg-reset:janitorTeardown`), the reads those make
  (`janitor_teardown_reads`): `GetGroupVersion` (and `ListGroupVersions` for a preview) on the groups and
  their versions, `GetCoreDefinitionVersion` on the core definitions and Greengrass V2's `GetCoreDevice` on
  the core devices of the account and region (a `migrated` selection, a `things` preview);
- `events:PutEvents` on the service bus (its requests go through the same rule and queue as anyone's);
- `dynamodb:PutItem` on the ledger table, only for items of the `JANITOR` partition
  (`dynamodb:LeadingKeys`), and the KMS key of the table when it has its own;
- `sns:Publish` on the notification topic (and its KMS key);
- its own log group, and X-Ray.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from gg_reset import ledger_schema, settings
from gg_reset.cleanup.selection import Selection
from infra.config import JANITOR_TIMEOUT_SECONDS
from infra.constructs.reset_functions import (
    GREENGRASS_CORE_READ_ACTIONS,
    GREENGRASS_V2_ACTIONS,
    acknowledge_core_identity_reads,
    core_identity_statements,
    greengrass_arn,
    make_function,
)
from infra.nag import acknowledge

JANITOR_HANDLER: Final = "gg_reset.handlers.janitor.handler"

# Exactly the Greengrass V1 calls `gg_reset.cleanup.selection.select` makes (through `GreengrassPort`).
JANITOR_GREENGRASS_GROUP_ACTIONS: Final = ("greengrass:GetGroup", "greengrass:ListDeployments")
JANITOR_GREENGRASS_LIST_ACTIONS: Final = ("greengrass:ListGroups",)  # no resource type: account level
JANITOR_GROUP_VERSION_ACTIONS: Final = ("greengrass:GetGroupVersion",)  # group* and groupVersion*
JANITOR_VERSION_LIST_ACTIONS: Final = ("greengrass:ListGroupVersions",)  # group*
JANITOR_LEDGER_ACTIONS: Final = ("dynamodb:PutItem",)
JANITOR_KMS_TABLE_ACTIONS: Final = (
    "kms:Decrypt",
    "kms:DescribeKey",
    "kms:Encrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
)
"""What CDK's own table write grants give on a customer-managed table key (DynamoDB uses it on the
caller's behalf)."""
ASYNC_RETRIES: Final = 2
"""A failed invocation is retried with the same scheduled event, so the same run id and request ids."""


@dataclass(frozen=True, slots=True)
class JanitorSettings:
    schedule: str
    selection_json: str
    action: str
    dry_run: bool
    max_groups: int
    max_percent: float
    memory_mb: int
    log_retention_days: int
    retain_logs: bool
    tracing: bool = False
    teardown: str | None = None
    """What its deletion requests ask to remove (`gg-reset:janitorTeardown`); None: they leave it out."""


def janitor_teardown_reads(selection_json: str, *, dry_run: bool, teardown: str | None) -> tuple[str, ...]:
    """The Greengrass reads beyond GetGroup, ListDeployments and ListGroups that a janitor so configured
    makes (`gg_reset.cleanup.janitor.Janitor.run`): a `migrated` selection reads each candidate's core thing
    (GetGroup, GetGroupVersion, GetCoreDefinitionVersion) and asks Greengrass V2 about it (GetCoreDevice); a
    dry run previews its teardown (`definitions`: ListGroupVersions, GetGroupVersion, and ListGroups for the
    remaining groups; `things`: also GetCoreDefinitionVersion and GetCoreDevice). Nothing else: a janitor
    that sends requests previews nothing, the workers tear down."""
    migrated = Selection.from_json(json.loads(selection_json)).migrated
    preview = (teardown or "group") if dry_run else "group"
    actions: list[str] = []
    if preview != "group":
        actions += JANITOR_VERSION_LIST_ACTIONS
    if migrated or preview != "group":
        actions += JANITOR_GROUP_VERSION_ACTIONS
    if migrated or preview == "things":
        actions += (*GREENGRASS_CORE_READ_ACTIONS, *GREENGRASS_V2_ACTIONS)
    return tuple(actions)


class Janitor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: JanitorSettings,
        code: lambda_.Code,
        layer: lambda_.ILayerVersion,
        base_environment: dict[str, str],
        table: dynamodb.ITable,
        bus: events.IEventBus,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        # The settings every gg-reset Lambda reads, less the work queue (the janitor arms no timers: its
        # requests go through the bus), plus its own.
        environment = {
            key: value for key, value in base_environment.items() if key != settings.ENV_WORK_QUEUE_URL
        }
        environment.update(
            {
                settings.ENV_JANITOR_SELECTION: config.selection_json,
                settings.ENV_JANITOR_ACTION: config.action,
                settings.ENV_JANITOR_DRY_RUN: "true" if config.dry_run else "false",
                settings.ENV_JANITOR_MAX_GROUPS: str(config.max_groups),
                settings.ENV_JANITOR_MAX_PERCENT: f"{config.max_percent:g}",
            }
        )
        if config.teardown is not None:
            environment[settings.ENV_JANITOR_TEARDOWN] = config.teardown
        self.function = make_function(
            self,
            "Function",
            handler=JANITOR_HANDLER,
            description="gg-reset janitor: selects groups on a schedule; plans, or requests their cleanup",
            timeout=Duration.seconds(JANITOR_TIMEOUT_SECONDS),
            code=code,
            environment=environment,
            layer=layer,
            memory_mb=config.memory_mb,
            log_retention_days=config.log_retention_days,
            retain_logs=config.retain_logs,
            retry_attempts=ASYNC_RETRIES,
            tracing=config.tracing,
        )
        role = self.function.role
        assert role is not None
        self.schedule = events.Rule(
            self,
            "Schedule",
            description=f"gg-reset janitor, {config.schedule}",
            schedule=events.Schedule.expression(config.schedule),
            targets=[targets.LambdaFunction(self.function)],
        )

        bus.grant_put_events_to(role)
        topic.grant_publish(role)
        self.ledger_policy = self._ledger_access(table, role)
        self.teardown_reads = janitor_teardown_reads(
            config.selection_json, dry_run=config.dry_run, teardown=config.teardown
        )
        self.greengrass_policy = self._greengrass_access(role, self.teardown_reads)
        # Nothing runs before it may read Greengrass and record its run.
        self.function.node.add_dependency(self.greengrass_policy, self.ledger_policy)

        self.errors_alarm = cloudwatch.Alarm(
            self,
            "Errors",
            alarm_description="The gg-reset janitor failed (its runs otherwise notify on their own)",
            metric=self.function.metric_errors(period=Duration.minutes(5), statistic="Sum"),
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.errors_alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))

        # On the construct: the findings are on the role's default policy (the topic grant) and on the
        # ledger policy (a customer-managed table key).
        acknowledge(
            self,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Added by topic.grant_publish for the notification topic's KMS key (and, with a "
            "customer-managed ledger key, by the janitor's ledger grant): publishing to an encrypted topic "
            "needs kms:GenerateDataKey*; every such statement's resource is one of this stack's key ARNs.",
        )
        if table.encryption_key is not None:
            acknowledge(
                self.ledger_policy,
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                "The janitor's run record on a ledger table with a customer-managed key "
                "(ledgerEncryption=customer-managed) needs that key as CDK's table write grants give it; "
                "the statement's resource is that key's ARN only.",
            )

    def _ledger_access(self, table: dynamodb.ITable, role: iam.IRole) -> iam.Policy:
        statements = [
            iam.PolicyStatement(
                sid="RecordJanitorRunsOnly",
                actions=list(JANITOR_LEDGER_ACTIONS),
                resources=[table.table_arn],
                conditions={
                    "ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [ledger_schema.JANITOR_PARTITION]}
                },
            )
        ]
        if table.encryption_key is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="UseTheLedgerKey",
                    actions=list(JANITOR_KMS_TABLE_ACTIONS),
                    resources=[table.encryption_key.key_arn],
                )
            )
        return iam.Policy(self, "LedgerAccess", statements=statements, roles=[role])

    def _greengrass_access(self, role: iam.IRole, teardown_reads: tuple[str, ...]) -> iam.Policy:
        stack = Stack.of(self)
        groups = greengrass_arn(stack, "groups", "*")
        statements = [
            iam.PolicyStatement(
                sid="ReadGroupsOfThisAccountAndRegion",
                actions=list(JANITOR_GREENGRASS_GROUP_ACTIONS),
                resources=[groups],
            ),
            iam.PolicyStatement(
                sid="ListGroupsIsAccountLevel",
                actions=list(JANITOR_GREENGRASS_LIST_ACTIONS),
                resources=["*"],
            ),
        ]
        version_reads = [
            a for a in (*JANITOR_VERSION_LIST_ACTIONS, *JANITOR_GROUP_VERSION_ACTIONS) if a in teardown_reads
        ]
        if version_reads:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadGroupVersionsOfThisAccountAndRegion",
                    actions=version_reads,
                    resources=[groups, greengrass_arn(stack, "groups", "*/versions/*")],
                )
            )
        cores = set(GREENGRASS_CORE_READ_ACTIONS) <= set(teardown_reads)
        if cores:
            statements += core_identity_statements(stack)
        policy = iam.Policy(self, "GreengrassReadAccess", statements=statements, roles=[role])
        if version_reads:
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
                "<AWS::AccountId>:/greengrass/groups/*/versions/*]",
                "GetGroupVersion (read-only) is authorized on the group version too: a migrated selection "
                "reads each candidate's latest version, a dry run's teardown preview every version, by ids "
                "only known at run time.",
            )
        if cores:
            acknowledge_core_identity_reads(policy, core_definitions_acknowledged=False)
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
            "<AWS::AccountId>:/greengrass/groups/*]",
            "The janitor evaluates every Greengrass V1 group of the deploying account and region "
            "(GetGroup for its tags, ListDeployments for its last deployment); read-only actions only.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "greengrass:ListGroups (read-only: the janitor lists the fleet it selects from) has no "
            "resource type in the service authorization reference and must be granted on '*'; it is the "
            "only action in that statement.",
        )
        return policy
