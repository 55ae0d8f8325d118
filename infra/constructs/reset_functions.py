"""The worker (SQS batches of EventBridge events) and the sweeper (scheduled), with least-privilege roles."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Final

from aws_cdk import Annotations, ArnFormat, CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from gg_reset import settings
from infra.bundling import lambda_code
from infra.config import POWERTOOLS_LAYER_RELEASES, TESTED_POWERTOOLS_VERSION
from infra.nag import acknowledge

RUNTIME: Final = lambda_.Runtime.PYTHON_3_13
ARCHITECTURE: Final = lambda_.Architecture.ARM_64
WORKER_HANDLER: Final = "gg_reset.handlers.worker.handler"
SWEEPER_HANDLER: Final = "gg_reset.handlers.sweeper.handler"

POWERTOOLS_LAYER_ACCOUNT: Final = "017000801446"

_R = logs.RetentionDays
LOG_RETENTION: Final = {
    1: _R.ONE_DAY, 3: _R.THREE_DAYS, 5: _R.FIVE_DAYS, 7: _R.ONE_WEEK, 14: _R.TWO_WEEKS, 30: _R.ONE_MONTH,
    60: _R.TWO_MONTHS, 90: _R.THREE_MONTHS, 120: _R.FOUR_MONTHS, 150: _R.FIVE_MONTHS, 180: _R.SIX_MONTHS,
    365: _R.ONE_YEAR, 400: _R.THIRTEEN_MONTHS, 545: _R.EIGHTEEN_MONTHS, 731: _R.TWO_YEARS,
    1096: _R.THREE_YEARS, 1827: _R.FIVE_YEARS, 2192: _R.SIX_YEARS, 2557: _R.SEVEN_YEARS,
    2922: _R.EIGHT_YEARS, 3288: _R.NINE_YEARS, 3653: _R.TEN_YEARS,
}  # fmt: skip

# Exactly the Greengrass V1 calls the code makes (service authorization reference, "AWS IoT Greengrass").
# GetGroup returns the group's tags (API model), so one call is the whole protection check; ListDeployments
# finds the reset an attempt with a lost answer may have started (the adapter's `adopt_since`) and, with
# GetDeploymentStatus, the last good deployment a roll back goes back to. The writes are every call that
# changes what runs on a core or whether the group exists: a reset, a roll back (CreateDeployment of type
# Redeployment, whose resource is group*, like ResetDeployments) and a deletion. All three are also denied on
# protected groups, so a roll back can no more touch a protected group than a reset can.
GREENGRASS_READ_ACTIONS: Final = ("greengrass:GetGroup", "greengrass:ListDeployments")
GREENGRASS_STATUS_ACTIONS: Final = ("greengrass:GetDeploymentStatus",)  # needs group* and deployment*
GREENGRASS_WRITE_ACTIONS: Final = (
    "greengrass:ResetDeployments",
    "greengrass:CreateDeployment",
    "greengrass:DeleteGroup",
)
GREENGRASS_LIST_ACTIONS: Final = ("greengrass:ListGroups",)  # no resource type: account level

# A deletion's teardown (`gg_reset.adapters.teardown`, whose docstring lists every call and why). Granted
# whether or not `gg-reset:teardown` defaults to more than `group`: a request may ask for `definitions`.
# ListGroupVersions is authorized on group*, GetGroupVersion on group* and groupVersion* (service
# authorization reference, "AWS IoT Greengrass"): which definitions the versions of the deleted group, and of
# the remaining groups, reference.
GREENGRASS_VERSION_READ_ACTIONS: Final = ("greengrass:ListGroupVersions", "greengrass:GetGroupVersion")
GREENGRASS_DEFINITION_PATHS: Final = {
    "greengrass:DeleteCoreDefinition": "cores",
    "greengrass:DeleteDeviceDefinition": "devices",
    "greengrass:DeleteFunctionDefinition": "functions",
    "greengrass:DeleteSubscriptionDefinition": "subscriptions",
    "greengrass:DeleteLoggerDefinition": "loggers",
    "greengrass:DeleteResourceDefinition": "resources",
    "greengrass:DeleteConnectorDefinition": "connectors",
}
"""Each Delete<Kind>Definition and the path of its one (required) resource type, <kind>Definition*:
`/greengrass/definition/<path>/${Id}`. A definition's versions go with it."""
GREENGRASS_DEFINITION_DELETE_ACTIONS: Final = tuple(GREENGRASS_DEFINITION_PATHS)
# Only with `gg-reset:thingsTeardown`: the core's thing and certificate, named by its core definition versions
# (GetCoreDefinitionVersion: coreDefinition* and coreDefinitionVersion*), whether that thing is now a
# Greengrass V2 core device (GetCoreDevice: coreDevice*, "AWS IoT Greengrass V2"; same `greengrass:` prefix),
# and their deletion in AWS IoT. GetCoreDefinitionVersion also with `gg-reset:connectivitySource=fleet-index`
# (the core thing whose connectivity is asked): one statement whichever of the two (or both) needs it.
GREENGRASS_CORE_READ_ACTIONS: Final = ("greengrass:GetCoreDefinitionVersion",)
GREENGRASS_V2_ACTIONS: Final = ("greengrass:GetCoreDevice",)
IOT_CERTIFICATE_ACTIONS: Final = (
    "iot:ListPrincipalThings",  # cert (the things it is attached to: another thing keeps it)
    "iot:DetachPolicy",  # cert or thinggroup: the target; the policy itself is no resource of the action
    "iot:DetachThingPrincipal",  # cert
    "iot:UpdateCertificate",  # cert*: INACTIVE, since AWS IoT deletes no active certificate
    "iot:DeleteCertificate",  # cert*
)
IOT_THING_ACTIONS: Final = ("iot:ListThingPrincipals", "iot:DeleteThing")  # thing*
IOT_LIST_ACTIONS: Final = ("iot:ListAttachedPolicies",)  # no resource type: '*'
IOT_ACTIONS: Final = (*IOT_CERTIFICATE_ACTIONS, *IOT_THING_ACTIONS, *IOT_LIST_ACTIONS)
"""The AWS IoT calls of a things teardown (`gg-reset:thingsTeardown`)."""

# Only with `gg-reset:connectivitySource=fleet-index` (`gg_reset.adapters.connectivity`): one query of the
# things index per silent core. SearchIndex is authorized on index* (service authorization reference, "AWS
# IoT": `arn:${Partition}:iot:${Region}:${Account}:index/${IndexName}`), so the grant names that one index.
IOT_CONNECTIVITY_ACTIONS: Final = ("iot:SearchIndex",)
IOT_THINGS_INDEX: Final = "AWS_Things"
"""The fleet index of things (with their connectivity) the adapter queries (its `THINGS_INDEX`)."""


def powertools_layer_arn(region: str, version: int) -> str:
    """The public Powertools for AWS Lambda (Python) v3 layer for this runtime and architecture."""
    python = RUNTIME.name.replace(".", "")  # python3.13 -> python313
    return (
        f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:"
        f"AWSLambdaPowertoolsPythonV3-{python}-{ARCHITECTURE.name}:{version}"
    )


@dataclass(frozen=True, slots=True)
class FunctionSettings:
    reset_timeout_seconds: int
    force_reset_timeout_seconds: int
    remediation_cap: int
    remediation_window_seconds: int
    remediation_default: str
    rollback_fallback: str
    ledger_retention_days: int
    log_level: str
    log_retention_days: int
    memory_mb: int
    protection_freshness_seconds: int
    greengrass_requests_per_second: float
    allow_list: tuple[str, ...]
    deny_list: tuple[str, ...]
    allowed_accounts: tuple[str, ...]
    greengrass_callers: int
    worker_timeout_seconds: int
    worker_batch_size: int
    worker_max_concurrency: int
    sweep_interval_minutes: int
    sweeper_timeout_seconds: int
    powertools_layer_arn: str | None
    powertools_layer_version: int
    retain_logs: bool
    tracing: bool = False
    teardown_default: str = "group"
    things_teardown: bool = False
    force_when_disconnected_for: int | None = None
    """Seconds; set: AWS IoT fleet indexing is the connectivity source (`gg-reset:connectivitySource`)."""


class ResetFunctions(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: FunctionSettings,
        table: dynamodb.ITable,
        bus: events.IEventBus,
        topic: sns.ITopic,
        work_queue: sqs.IQueue,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        table_resource = table.node.default_child
        assert isinstance(table_resource, CfnResource)
        self._table_logical_id: str = stack.resolve(stack.get_logical_id(table_resource))
        self._table_has_own_key = table.encryption_key is not None

        layer_arn = config.powertools_layer_arn or powertools_layer_arn(
            stack.region, config.powertools_layer_version
        )
        if config.powertools_layer_arn is None:
            deployed = POWERTOOLS_LAYER_RELEASES.get(config.powertools_layer_version)
            if deployed != TESTED_POWERTOOLS_VERSION:
                Annotations.of(self).add_warning_v2(
                    "gg-reset:powertools-layer-untested",
                    f"gg-reset:powertoolsLayerVersion={config.powertools_layer_version} carries Powertools "
                    f"{deployed or '(unknown)'}, not {TESTED_POWERTOOLS_VERSION}, the version pinned in "
                    "pyproject.toml and tested (see infra.config.POWERTOOLS_LAYER_RELEASES)",
                )
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self, "PowertoolsLayer", layer_arn
        )
        code = lambda_code()
        self.code = code
        """The one code asset every gg-reset Lambda runs (the janitor's too)."""
        environment = {
            "POWERTOOLS_SERVICE_NAME": settings.SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": settings.METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": config.log_level,
            # Read by gg_reset.shell.observability: with tracing off, no Tracer (nor the X-Ray SDK) is loaded.
            "POWERTOOLS_TRACE_DISABLED": "false" if config.tracing else "true",
            settings.ENV_TABLE_NAME: table.table_name,
            settings.ENV_BUS_NAME: bus.event_bus_name,
            settings.ENV_TOPIC_ARN: topic.topic_arn,
            settings.ENV_RESET_TIMEOUT: str(config.reset_timeout_seconds),
            settings.ENV_FORCE_TIMEOUT: str(config.force_reset_timeout_seconds),
            settings.ENV_REMEDIATION_CAP: str(config.remediation_cap),
            settings.ENV_REMEDIATION_WINDOW: str(config.remediation_window_seconds),
            settings.ENV_REMEDIATION_DEFAULT: config.remediation_default,
            settings.ENV_ROLLBACK_FALLBACK: config.rollback_fallback,
            settings.ENV_RETENTION_DAYS: str(config.ledger_retention_days),
            settings.ENV_PROTECTION_FRESHNESS: str(config.protection_freshness_seconds),
            # The request budget is split equally between every invocation that may call Greengrass at
            # once: the worker's event source runs at most workerMaxConcurrency invocations, and the
            # sweeper (one schedule, a run ends before the next starts) takes one more share.
            settings.ENV_GREENGRASS_RPS: str(config.greengrass_requests_per_second),
            settings.ENV_GREENGRASS_CALLERS: str(config.greengrass_callers),
            # The workflow's timers: delayed messages the Lambdas send to their own work queue.
            settings.ENV_WORK_QUEUE_URL: work_queue.queue_url,
            # The safety layers the workflow applies to every request.
            settings.ENV_ALLOW_LIST: json.dumps(list(config.allow_list)),
            settings.ENV_DENY_LIST: json.dumps(list(config.deny_list)),
            settings.ENV_ALLOWED_ACCOUNTS: json.dumps(list(config.allowed_accounts)),
            settings.ENV_DEPLOYED_ACCOUNT: stack.account,
            # What a deletion removes when its request does not say, and whether it may go as far as the
            # core's AWS IoT certificate and thing (the IoT permissions below exist only then).
            settings.ENV_TEARDOWN_DEFAULT: config.teardown_default,
            settings.ENV_THINGS_TEARDOWN: "true" if config.things_teardown else "false",
        }
        self.environment = dict(environment)
        """The settings every gg-reset Lambda reads (`gg_reset.settings.Settings.from_env`)."""
        connectivity = config.force_when_disconnected_for is not None
        if connectivity:
            # The worker and sweeper only: they run the resets, and only they may query the fleet index
            # (the janitor requests resets through the bus and gets neither the variable nor the grant).
            environment[settings.ENV_FORCE_WHEN_DISCONNECTED_FOR] = str(config.force_when_disconnected_for)

        self.worker = self._function(
            "Worker",
            handler=WORKER_HANDLER,
            description="gg-reset worker: reset/deletion requests and Greengrass deployment status events",
            timeout=Duration.seconds(config.worker_timeout_seconds),
            code=code,
            environment=environment,
            config=config,
        )
        self.worker.add_event_source(
            event_sources.SqsEventSource(
                work_queue,
                batch_size=config.worker_batch_size,
                max_concurrency=config.worker_max_concurrency,
                report_batch_item_failures=True,
            )
        )

        # A sweep ends before the next one starts and before a call lease it took runs out (see
        # infra.config.sweeper_timeout_seconds); a failed sweep is not retried (the next run covers it).
        sweep_every = Duration.minutes(config.sweep_interval_minutes)
        self.sweeper = self._function(
            "Sweeper",
            handler=SWEEPER_HANDLER,
            description="gg-reset sweeper: drives overdue workflows (lost timers, lost status events)",
            timeout=Duration.seconds(config.sweeper_timeout_seconds),
            code=code,
            environment=environment,
            config=config,
            retry_attempts=0,
        )
        self.sweep_schedule = events.Rule(
            self,
            "SweepSchedule",
            description=f"gg-reset sweeper, every {config.sweep_interval_minutes} minute(s)",
            schedule=events.Schedule.rate(sweep_every),
            targets=[targets.LambdaFunction(self.sweeper, retry_attempts=0, max_event_age=sweep_every)],
        )

        for function in (self.worker, self.sweeper):
            table.grant_read_write_data(function)
            topic.grant_publish(function)
            # Timers: both Lambdas send delayed messages to the work queue (and to no other queue).
            work_queue.grant_send_messages(function)
        roles = [self.worker.role, self.sweeper.role]
        self.greengrass_policy = self._greengrass_policy(
            roles, things=config.things_teardown, connectivity=connectivity
        )
        self.iot_policy = self._iot_policy(roles) if config.things_teardown else None
        self.connectivity_policy = self._connectivity_policy(roles) if connectivity else None
        for function in (self.worker, self.sweeper):
            # Nothing runs before it may call Greengrass (CDK only orders the role's default policy).
            function.node.add_dependency(self.greengrass_policy)
            for policy in (self.iot_policy, self.connectivity_policy):
                if policy is not None:
                    function.node.add_dependency(policy)

    def _function(
        self,
        name: str,
        *,
        handler: str,
        description: str,
        timeout: Duration,
        code: lambda_.Code,
        environment: dict[str, str],
        config: FunctionSettings,
        retry_attempts: int | None = None,
    ) -> lambda_.Function:
        function = make_function(
            self,
            name,
            handler=handler,
            description=description,
            timeout=timeout,
            code=code,
            environment=environment,
            layer=self.powertools_layer,
            memory_mb=config.memory_mb,
            log_retention_days=config.log_retention_days,
            retain_logs=config.retain_logs,
            retry_attempts=retry_attempts,
            tracing=config.tracing,
        )
        role = function.role
        assert role is not None
        acknowledge(
            role,
            "AwsSolutions-IAM5[Action::kms:GenerateDataKey*]",
            "Added by topic.grant_publish (and, with a customer-managed ledger key, by the table grant): "
            "using a KMS-encrypted topic or table needs kms:GenerateDataKey*; every such statement's "
            "resource is one of this stack's key ARNs.",
        )
        if self._table_has_own_key:
            acknowledge(
                role,
                "AwsSolutions-IAM5[Action::kms:ReEncrypt*]",
                "Added by table.grant_read_write_data for the customer-managed ledger key "
                "(ledgerEncryption=customer-managed); the statement's resource is that key's ARN only.",
            )
        acknowledge(
            role,
            f"AwsSolutions-IAM5[Resource::<{self._table_logical_id}.Arn>/index/*]",
            "grant_read_write_data covers the ledger table's indexes: the sweeper queries the "
            "sparse due-index GSI for overdue workflows; the wildcard is limited to this table's indexes.",
        )
        return function

    def _greengrass_policy(
        self, roles: list[iam.IRole | None], *, things: bool, connectivity: bool
    ) -> iam.Policy:
        stack = Stack.of(self)
        groups = greengrass_arn(stack, "groups", "*")
        deployments = greengrass_arn(stack, "groups", "*/deployments/*")
        group_versions = greengrass_arn(stack, "groups", "*/versions/*")
        teardown_statements = [
            iam.PolicyStatement(
                sid="ReadGroupVersionsOfThisAccountAndRegion",
                actions=list(GREENGRASS_VERSION_READ_ACTIONS),
                resources=[groups, group_versions],
            ),
            *(
                iam.PolicyStatement(
                    sid=f"TearDown{action.removeprefix('greengrass:Delete')}sOfThisAccountAndRegion",
                    actions=[action],
                    resources=[greengrass_arn(stack, f"definition/{path}", "*")],
                )
                for action, path in GREENGRASS_DEFINITION_PATHS.items()
            ),
        ]
        if things or connectivity:
            teardown_statements.append(core_definition_read_statement(stack))
        if things:
            teardown_statements.append(core_device_read_statement(stack))
        policy = iam.Policy(
            self,
            "GreengrassAccess",
            statements=[
                iam.PolicyStatement(
                    sid="ReadGroupsOfThisAccountAndRegion",
                    actions=[*GREENGRASS_READ_ACTIONS, *GREENGRASS_STATUS_ACTIONS],
                    resources=[groups, deployments],
                ),
                iam.PolicyStatement(
                    sid="ResetRedeployAndDeleteGroupsOfThisAccountAndRegion",
                    actions=list(GREENGRASS_WRITE_ACTIONS),
                    resources=[groups],
                ),
                # A second, independent safety layer: even a bug in the workflow's own protection check
                # cannot reset, redeploy or delete a group tagged `gg-reset:protect=true`.
                iam.PolicyStatement(
                    sid="NeverTouchProtectedGroups",
                    effect=iam.Effect.DENY,
                    actions=list(GREENGRASS_WRITE_ACTIONS),
                    resources=[groups],
                    conditions={
                        "StringEqualsIgnoreCase": {f"aws:ResourceTag/{settings.PROTECT_TAG_KEY}": "true"}
                    },
                ),
                iam.PolicyStatement(
                    sid="ListGroupsIsAccountLevel",
                    actions=list(GREENGRASS_LIST_ACTIONS),
                    resources=["*"],
                ),
                *teardown_statements,
            ],
            roles=[role for role in roles if role is not None],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
            "<AWS::AccountId>:/greengrass/groups/*]",
            "gg-reset resets, rolls back and deletes whichever Greengrass V1 group a request names, so it "
            "needs every group of the deploying account and region; protected groups are excluded by the "
            "explicit Deny on the gg-reset:protect tag in the same policy.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
            "<AWS::AccountId>:/greengrass/groups/*/deployments/*]",
            "GetDeploymentStatus is authorized on the deployment resource too; the workflow polls "
            "the resets and redeployments it started and checks earlier deployments for a roll back "
            "target, whose ids are only known at run time.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "greengrass:ListGroups (read-only, GreengrassPort.list_groups for inventory) has no resource "
            "type in the service authorization reference and must be granted on '*'; it is the only "
            "action in that statement.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
            "<AWS::AccountId>:/greengrass/groups/*/versions/*]",
            "GetGroupVersion is authorized on the group version too: a teardown reads every version of the "
            "deleted group and of the remaining groups (what their versions reference), whose ids are only "
            "known at run time; read-only.",
        )
        core_reads = _core_definition_read_purposes(things=things, connectivity=connectivity)
        for action, path in GREENGRASS_DEFINITION_PATHS.items():
            also = (
                f" GetCoreDefinitionVersion (read-only) is granted on core definitions too, for {core_reads}."
                if core_reads and path == "cores"
                else ""
            )
            acknowledge(
                policy,
                "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
                f"<AWS::AccountId>:/greengrass/definition/{path}/*]",
                f"{action} (teardown=definitions or things) deletes the {path.removesuffix('s')} "
                "definitions a deleted group's versions referenced, whichever they are, and only when no "
                "remaining group's versions still reference them; the statement holds that one action on "
                f"that one definition type.{also}",
            )
        if core_reads:
            acknowledge_core_definition_version_reads(policy, core_reads)
        if things:
            acknowledge_core_device_reads(policy)
        return policy

    def _connectivity_policy(self, roles: list[iam.IRole | None]) -> iam.Policy:
        """`gg-reset:connectivitySource=fleet-index` only: `iot:SearchIndex` on the things index of this
        account and region, nothing else of AWS IoT (`gg_reset.adapters.connectivity`). Read-only; no
        wildcard, so no finding to acknowledge."""
        stack = Stack.of(self)
        return iam.Policy(
            self,
            "IotConnectivityAccess",
            statements=[
                iam.PolicyStatement(
                    sid="SearchTheThingsIndexOfThisAccountAndRegion",
                    actions=list(IOT_CONNECTIVITY_ACTIONS),
                    resources=[things_index_arn(stack)],
                ),
            ],
            roles=[role for role in roles if role is not None],
        )

    def _iot_policy(self, roles: list[iam.IRole | None]) -> iam.Policy:
        """`gg-reset:thingsTeardown` only: the AWS IoT calls that remove a deleted group's core certificate
        and thing (`gg_reset.adapters.teardown.Boto3Teardown`), on this account and region's certificates
        and things; `ListAttachedPolicies` has no resource type. No IoT policy is ever deleted."""
        stack = Stack.of(self)
        policy = iam.Policy(
            self,
            "IotTeardownAccess",
            statements=[
                iam.PolicyStatement(
                    sid="TearDownCoreCertificatesOfThisAccountAndRegion",
                    actions=list(IOT_CERTIFICATE_ACTIONS),
                    resources=[iot_arn(stack, "cert")],
                ),
                iam.PolicyStatement(
                    sid="TearDownCoreThingsOfThisAccountAndRegion",
                    actions=list(IOT_THING_ACTIONS),
                    resources=[iot_arn(stack, "thing")],
                ),
                iam.PolicyStatement(
                    sid="ListAttachedPoliciesHasNoResourceType",
                    actions=list(IOT_LIST_ACTIONS),
                    resources=["*"],
                ),
            ],
            roles=[role for role in roles if role is not None],
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:cert/*]",
            "teardown=things (gg-reset:thingsTeardown) detaches, deactivates and deletes the certificate "
            "named by a deleted group's core definition versions, whichever it is, unless another thing, a "
            "remaining group or a Greengrass V2 core device still uses it; certificates of this account "
            "and region only.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:iot:<AWS::Region>:<AWS::AccountId>:thing/*]",
            "teardown=things (gg-reset:thingsTeardown) deletes the core thing named by a deleted group's "
            "core definition versions once no principal is attached to it (ListThingPrincipals first); "
            "things of this account and region only.",
        )
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::*]",
            "iot:ListAttachedPolicies (read-only: the policies attached to a certificate about to be "
            "deleted, to detach them) has no resource type in the service authorization reference and must "
            "be granted on '*'; it is the only action in that statement.",
        )
        return policy


def greengrass_arn(stack: Stack, path: str, name: str) -> str:
    """`arn:<partition>:greengrass:<region>:<account>:/greengrass/<path>/<name>` (Greengrass V1's ARNs)."""
    return stack.format_arn(
        service="greengrass",
        resource=f"/greengrass/{path}",
        resource_name=name,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def iot_arn(stack: Stack, resource: str) -> str:
    """`arn:<partition>:iot:<region>:<account>:<resource>/*`."""
    return stack.format_arn(
        service="iot", resource=resource, resource_name="*", arn_format=ArnFormat.SLASH_RESOURCE_NAME
    )


def things_index_arn(stack: Stack) -> str:
    """`arn:<partition>:iot:<region>:<account>:index/AWS_Things`: the fleet index `SearchIndex` queries."""
    return stack.format_arn(
        service="iot",
        resource="index",
        resource_name=IOT_THINGS_INDEX,
        arn_format=ArnFormat.SLASH_RESOURCE_NAME,
    )


def core_device_arn(stack: Stack) -> str:
    """Greengrass V2's coreDevice: `arn:<partition>:greengrass:<region>:<account>:coreDevices:<thing>`."""
    return stack.format_arn(
        service="greengrass",
        resource="coreDevices",
        resource_name="*",
        arn_format=ArnFormat.COLON_RESOURCE_NAME,
    )


def core_definition_read_statement(stack: Stack) -> iam.PolicyStatement:
    """Read a core's thing (and certificate) from its core definition versions: GetCoreDefinitionVersion is
    authorized on coreDefinition* and coreDefinitionVersion*."""
    return iam.PolicyStatement(
        sid="ReadCoreDefinitionVersionsOfThisAccountAndRegion",
        actions=list(GREENGRASS_CORE_READ_ACTIONS),
        resources=[
            greengrass_arn(stack, "definition/cores", "*"),
            greengrass_arn(stack, "definition/cores", "*/versions/*"),
        ],
    )


def core_device_read_statement(stack: Stack) -> iam.PolicyStatement:
    """Ask Greengrass V2 whether a V1 core's thing is a core device now."""
    return iam.PolicyStatement(
        sid="ReadGreengrassV2CoreDevicesOfThisAccountAndRegion",
        actions=list(GREENGRASS_V2_ACTIONS),
        resources=[core_device_arn(stack)],
    )


def core_identity_statements(stack: Stack) -> list[iam.PolicyStatement]:
    """Read a core's thing and certificate from its core definition versions, and ask Greengrass V2 whether
    that thing is a core device now (the worker's things teardown; the janitor's migrated selection and
    things preview)."""
    return [core_definition_read_statement(stack), core_device_read_statement(stack)]


def _core_definition_read_purposes(*, things: bool, connectivity: bool) -> str:
    """What the worker and sweeper read from core definition versions, in the acknowledgments' words."""
    purposes = [
        *(["the core thing and certificate a things teardown removes"] if things else []),
        *(["the core thing whose connectivity fleet indexing is asked about"] if connectivity else []),
    ]
    return ", and ".join(purposes)


def acknowledge_core_definition_version_reads(policy: iam.Policy, purposes: str) -> None:
    """The core definition versions' wildcard that `core_definition_read_statement` brings, with what the
    policy's roles read there."""
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
        "<AWS::AccountId>:/greengrass/definition/cores/*/versions/*]",
        "GetCoreDefinitionVersion (read-only) is authorized on the core definition and its version: it "
        f"reads, from whichever versions a group names, {purposes}; their ids are only known at run time.",
    )


def acknowledge_core_device_reads(policy: iam.Policy) -> None:
    """The Greengrass V2 core devices' wildcard that `core_device_read_statement` brings."""
    acknowledge(
        policy,
        "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:<AWS::AccountId>:coreDevices:*]",
        "greengrass:GetCoreDevice (Greengrass V2, read-only) asks whether a V1 core's thing is now a V2 "
        "core device, so that thing and its certificate are kept; the thing name is only known at run "
        "time.",
    )


def acknowledge_core_identity_reads(policy: iam.Policy, *, core_definitions_acknowledged: bool) -> None:
    """The findings `core_identity_statements` bring, on the policy that holds them (the core definitions'
    wildcard is acknowledged already where DeleteCoreDefinition is granted on it too)."""
    if not core_definitions_acknowledged:
        acknowledge(
            policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:greengrass:<AWS::Region>:"
            "<AWS::AccountId>:/greengrass/definition/cores/*]",
            "GetCoreDefinitionVersion (read-only) is authorized on the core definition too: the core "
            "thing of a group's latest version is read from whichever core definition it names.",
        )
    acknowledge_core_definition_version_reads(policy, "the core thing and certificate")
    acknowledge_core_device_reads(policy)


def make_function(
    scope: Construct,
    name: str,
    *,
    handler: str,
    description: str,
    timeout: Duration,
    code: lambda_.Code,
    environment: dict[str, str],
    layer: lambda_.ILayerVersion,
    memory_mb: int,
    log_retention_days: int,
    retain_logs: bool,
    retry_attempts: int | None = None,
    tracing: bool = False,
) -> lambda_.Function:
    """A gg-reset Lambda (python3.13 on arm64, the Powertools layer, X-Ray when `tracing`) with its own log
    group and an explicit role holding nothing but write access to that log group; the caller grants the
    rest (and acknowledges the findings its grants bring)."""
    log_group = logs.LogGroup(
        scope,
        f"{name}Logs",
        retention=LOG_RETENTION[log_retention_days],
        removal_policy=RemovalPolicy.RETAIN if retain_logs else RemovalPolicy.DESTROY,
    )
    # An explicit role: only the permissions granted below, no AWSLambdaBasicExecutionRole (which would
    # let the function write to every log group in the account).
    role = iam.Role(
        scope,
        f"{name}Role",
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=f"gg-reset {name.lower()} Lambda",
    )
    log_group.grant_write(role)
    function = lambda_.Function(
        scope,
        name,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=code,
        description=description,
        timeout=timeout,
        memory_size=memory_mb,
        role=role,
        log_group=log_group,
        tracing=lambda_.Tracing.ACTIVE if tracing else lambda_.Tracing.DISABLED,
        layers=[layer],
        environment=environment,
        retry_attempts=retry_attempts,
    )
    if tracing:
        acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no "
            "resource-level permissions, so AWS requires Resource '*' for them (CDK adds this statement "
            "for Tracing.ACTIVE).",
        )
    acknowledge(
        function,
        "AwsSolutions-L1",
        "Pinned to python3.13, the newest runtime for which the pinned public Powertools v3 "
        "arm64 layer version (gg-reset:powertoolsLayerVersion) is verified; move runtime and layer "
        "together.",
    )
    return function
