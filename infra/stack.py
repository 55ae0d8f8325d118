"""`GgResetStack`: the whole service in one stack, wired from the named constructs in `infra.constructs`."""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, Stack, Tags
from constructs import Construct

from gg_reset import settings
from infra.config import GgResetConfig
from infra.constructs import EventIntake, Janitor, Ledger, Monitoring, Notifications, ResetFunctions
from infra.constructs.janitor import JanitorSettings
from infra.constructs.logs_encryption import LogsEncryption
from infra.constructs.reset_functions import FunctionSettings

# AWS's guidance for SQS event sources: a visibility timeout of at least six times the function timeout.
VISIBILITY_TIMEOUT_FACTOR = 6


class GgResetStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: GgResetConfig, **kwargs: object
    ) -> None:
        super().__init__(
            scope,
            construct_id,
            description="gg-reset: event-driven reset and cleanup of AWS IoT Greengrass V1 groups",
            **kwargs,  # type: ignore[arg-type]
        )
        Tags.of(self).add("service", settings.SERVICE_NAME)

        # Optional: a customer-managed key for every log group of the stack (gg-reset:logsKmsKey).
        self.logs_encryption: LogsEncryption | None = None
        if config.logs_kms_key is not None:
            self.logs_encryption = LogsEncryption(
                self, "LogsEncryption", setting=config.logs_kms_key, retain=config.retain
            )

        self.notifications = Notifications(
            self, "Notifications", alarm_email=config.alarm_email, retain=config.retain
        )
        self.ledger = Ledger(
            self,
            "Ledger",
            retain=config.retain,
            customer_managed_key=config.ledger_encryption == "customer-managed",
        )
        self.intake = EventIntake(
            self,
            "EventIntake",
            allowed_principals=config.allowed_principals,
            organization_id=config.organization_id,
            visibility_timeout=Duration.seconds(config.worker_timeout_seconds * VISIBILITY_TIMEOUT_FACTOR),
            max_receive_count=config.max_receive_count,
        )
        self.functions = ResetFunctions(
            self,
            "ResetFunctions",
            config=FunctionSettings(
                reset_timeout_seconds=config.reset_timeout_seconds,
                force_reset_timeout_seconds=config.force_reset_timeout_seconds,
                remediation_cap=config.remediation_cap,
                remediation_window_seconds=config.remediation_window_seconds,
                remediation_default=config.remediation_default,
                rollback_fallback=config.rollback_fallback,
                ledger_retention_days=config.ledger_retention_days,
                protection_freshness_seconds=config.protection_freshness_seconds,
                greengrass_requests_per_second=config.greengrass_requests_per_second,
                greengrass_callers=config.greengrass_callers,
                allow_list=config.allow_list,
                deny_list=config.deny_list,
                allowed_accounts=config.allowed_accounts,
                log_level=config.log_level,
                log_retention_days=config.log_retention_days,
                memory_mb=config.lambda_memory_mb,
                worker_timeout_seconds=config.worker_timeout_seconds,
                worker_batch_size=config.worker_batch_size,
                worker_max_concurrency=config.worker_max_concurrency,
                sweep_interval_minutes=config.sweep_interval_minutes,
                sweeper_timeout_seconds=config.sweeper_timeout_seconds,
                powertools_layer_arn=config.powertools_layer_arn,
                powertools_layer_version=config.powertools_layer_version,
                retain_logs=config.retain,
                tracing=config.tracing,
                teardown_default=config.teardown,
                things_teardown=config.things_teardown,
                force_when_disconnected_for=config.force_when_disconnected_for,
            ),
            table=self.ledger.table,
            bus=self.intake.bus,
            topic=self.notifications.topic,
            work_queue=self.intake.work_queue,
        )
        self.janitor: Janitor | None = None
        if config.janitor_enabled:
            self.janitor = Janitor(
                self,
                "Janitor",
                config=JanitorSettings(
                    schedule=config.janitor_schedule,
                    selection_json=config.janitor_selection,
                    action=config.janitor_action,
                    dry_run=config.janitor_dry_run,
                    max_groups=config.janitor_max_groups,
                    max_percent=config.janitor_max_percent,
                    memory_mb=config.lambda_memory_mb,
                    log_retention_days=config.log_retention_days,
                    retain_logs=config.retain,
                    tracing=config.tracing,
                    teardown=config.janitor_teardown,
                ),
                code=self.functions.code,
                layer=self.functions.powertools_layer,
                base_environment=self.functions.environment,
                table=self.ledger.table,
                bus=self.intake.bus,
                topic=self.notifications.topic,
            )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            name_prefix=config.stack_name,
            topic=self.notifications.topic,
            worker=self.functions.worker,
            sweeper=self.functions.sweeper,
            work_queue=self.intake.work_queue,
            work_dlq=self.intake.work_dlq,
            rule_dlqs=[
                ("RequestRuleDLQ", self.intake.request_rule_dlq),
                ("DeploymentStatusRuleDLQ", self.intake.status_rule_dlq),
            ],
            table=self.ledger.table,
            queue_max_age_seconds=config.queue_max_age_seconds,
        )

        outputs = {
            "EventBusName": (self.intake.bus.event_bus_name, "Put requests here (aws events put-events)"),
            "EventBusArn": (self.intake.bus.event_bus_arn, "ARN of the service bus"),
            "LedgerTableName": (self.ledger.table.table_name, "The audit ledger (retained on stack delete)"),
            "NotificationTopicArn": (self.notifications.topic.topic_arn, "Alarms and terminal failures"),
            "DashboardUrl": (self.monitoring.dashboard_url, "CloudWatch dashboard"),
            "WorkQueueUrl": (self.intake.work_queue.queue_url, "The worker's input queue"),
            "WorkDeadLetterQueueUrl": (self.intake.work_dlq.queue_url, "Work items that failed every retry"),
        }
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
