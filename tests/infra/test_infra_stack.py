"""The synthesised template, resource by resource: what the service needs to work and to fail visibly."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Token
from aws_cdk.assertions import Match

from gg_reset import contracts, ledger_schema, metric_names, settings
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.workflow import CALL_LEASE
from infra.bundling import FUNCTIONS_DIR
from infra.testing import Synth

pytestmark = pytest.mark.infra

ACCOUNT = {"Ref": "AWS::AccountId"}
REGION = {"Ref": "AWS::Region"}


def _get_att(logical_id: str, attribute: str = "Arn") -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, attribute]}


# --- event intake -----------------------------------------------------------------------------------------


def test_service_bus_has_the_shared_name(synth: Synth) -> None:
    synth.template.has_resource_properties("AWS::Events::EventBus", {"Name": settings.DEFAULT_BUS_NAME})


def test_request_rule_pattern_is_the_contract_on_the_service_bus(synth: Synth) -> None:
    rule = synth.template_json["Resources"][synth.logical_id("EventIntake/RequestRule")]["Properties"]
    assert rule["EventPattern"] == contracts.REQUEST_PATTERN
    assert rule["EventBusName"] == {"Ref": synth.logical_id("EventIntake/Bus")}


def test_status_rule_pattern_is_the_contract_for_the_deploying_account_and_region_on_the_default_bus(
    synth: Synth,
) -> None:
    rule = synth.template_json["Resources"][synth.logical_id("EventIntake/DeploymentStatusRule")]
    pattern = rule["Properties"]["EventPattern"]
    assert pattern == contracts.deployment_status_pattern(ACCOUNT, REGION)  # type: ignore[arg-type]
    # Events forwarded from other accounts' or regions' buses never match.
    assert pattern["account"] == [ACCOUNT]
    assert pattern["region"] == [REGION]
    assert synth.stack.resolve(synth.stack.region) == REGION
    assert "EventBusName" not in rule["Properties"]  # the default bus, where aws.greengrass events land


def test_status_rule_keeps_the_contracts_or_so_only_actionable_changes_reach_the_worker(synth: Synth) -> None:
    """CDK's EventPattern passes EventBridge's `$or` through as it is (no renaming, no merging)."""
    rule = synth.template_json["Resources"][synth.logical_id("EventIntake/DeploymentStatusRule")]
    detail = rule["Properties"]["EventPattern"]["detail"]
    assert set(detail) == {"$or"}
    branches = {(tuple(branch["deployment-type"]), tuple(branch["status"])) for branch in detail["$or"]}
    assert branches == {
        (("NewDeployment", "Redeployment"), ("Failure",)),
        (("ForceResetDeployment", "ResetDeployment"), ("Success", "Failure")),
    }


@pytest.mark.parametrize(
    ("rule_path", "dlq_path"),
    [
        ("EventIntake/RequestRule", "EventIntake/RequestRuleDeadLetterQueue"),
        ("EventIntake/DeploymentStatusRule", "EventIntake/DeploymentStatusRuleDeadLetterQueue"),
    ],
)
def test_each_rule_targets_the_work_queue_with_its_own_dlq_and_a_retry_policy(
    synth: Synth, rule_path: str, dlq_path: str
) -> None:
    targets = synth.template_json["Resources"][synth.logical_id(rule_path)]["Properties"]["Targets"]
    assert len(targets) == 1
    (target,) = targets
    assert target["Arn"] == _get_att(synth.logical_id("EventIntake/WorkQueue"))
    assert target["DeadLetterConfig"] == {"Arn": _get_att(synth.logical_id(dlq_path))}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 86_400, "MaximumRetryAttempts": 185}


def test_every_queue_is_encrypted_and_refuses_plain_http(synth: Synth) -> None:
    queues = synth.resources("AWS::SQS::Queue")
    assert len(queues) == 4  # work queue, its DLQ, one DLQ per rule target
    for properties in (queue["Properties"] for queue in queues.values()):
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties
    policies = [p["Properties"] for p in synth.resources("AWS::SQS::QueuePolicy").values()]
    secured = {
        queue_ref["Ref"]
        for policy in policies
        for statement in policy["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        for queue_ref in policy["Queues"]
    }
    assert secured == set(queues)


def test_work_queue_redrives_to_its_dlq_and_outlasts_the_worker(synth: Synth) -> None:
    queue = synth.template_json["Resources"][synth.logical_id("EventIntake/WorkQueue")]["Properties"]
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": _get_att(synth.logical_id("EventIntake/WorkDeadLetterQueue")),
        "maxReceiveCount": synth.config.max_receive_count,
    }
    assert queue["VisibilityTimeout"] == 6 * synth.config.worker_timeout_seconds


def test_only_eventbridge_rules_of_this_stack_may_send_to_the_queues(synth: Synth) -> None:
    rule_arns = [
        _get_att(synth.logical_id("EventIntake/RequestRule")),
        _get_att(synth.logical_id("EventIntake/DeploymentStatusRule")),
    ]
    for policy in synth.resources("AWS::SQS::QueuePolicy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            if statement["Effect"] == "Allow":
                assert statement["Principal"] == {"Service": "events.amazonaws.com"}
                assert statement["Condition"]["ArnEquals"]["aws:SourceArn"] in rule_arns


def test_bus_policy_lets_only_the_deploying_account_put_events_by_default(synth: Synth) -> None:
    (policy,) = synth.resources("AWS::Events::EventBusPolicy").values()
    statement = policy["Properties"]["Statement"]
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "events:PutEvents"
    assert statement["Resource"] == _get_att(synth.logical_id("EventIntake/Bus"))
    assert statement["Principal"] == {
        "AWS": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":iam::", ACCOUNT, ":root"]]}
    }
    assert "Condition" not in statement


def test_bus_policy_adds_the_configured_principals_and_organization(custom_synth: Synth) -> None:
    statements = {
        p["Properties"]["StatementId"]: p["Properties"]["Statement"]
        for p in custom_synth.resources("AWS::Events::EventBusPolicy").values()
    }
    assert len(statements) == 2
    principals = next(s for s in statements.values() if "Condition" not in s)["Principal"]["AWS"]
    rendered = json.dumps(principals)
    assert ":iam::111111111111:root" in rendered
    assert "arn:aws:iam::222222222222:role/gg-reset-requester" in rendered
    assert '":iam::", {"Ref": "AWS::AccountId"}, ":root"' in rendered
    org = next(s for s in statements.values() if "Condition" in s)
    assert org["Principal"] == {"AWS": "*"}
    assert org["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-abcdef1234"}}
    assert org["Action"] == "events:PutEvents"


# --- functions --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "handler"),
    [
        ("ResetFunctions/Worker", "gg_reset.handlers.worker.handler"),
        ("ResetFunctions/Sweeper", "gg_reset.handlers.sweeper.handler"),
    ],
)
def test_lambdas_run_python_313_on_arm64_with_powertools_and_settings(
    synth: Synth, path: str, handler: str
) -> None:
    function = synth.template_json["Resources"][synth.logical_id(path)]["Properties"]
    assert function["Handler"] == handler
    assert function["Runtime"] == "python3.13"
    assert function["Architectures"] == ["arm64"]
    # Tracing is opt-in (gg-reset:tracing): off, no X-Ray, and the handlers build no Tracer.
    assert function.get("TracingConfig", {"Mode": "PassThrough"}) == {"Mode": "PassThrough"}
    assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert function["Layers"] == [
        {
            "Fn::Join": [
                "",
                [
                    "arn:aws:lambda:",
                    {"Ref": "AWS::Region"},
                    ":017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:"
                    f"{synth.config.powertools_layer_version}",
                ],
            ]
        }
    ]
    variables = function["Environment"]["Variables"]
    assert variables["POWERTOOLS_SERVICE_NAME"] == settings.SERVICE_NAME
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == settings.METRICS_NAMESPACE
    assert variables["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert variables[settings.ENV_TABLE_NAME] == {"Ref": synth.logical_id("Ledger/Table")}
    assert variables[settings.ENV_BUS_NAME] == {"Ref": synth.logical_id("EventIntake/Bus")}
    assert variables[settings.ENV_TOPIC_ARN] == {"Ref": synth.logical_id("Notifications/Topic")}
    assert variables[settings.ENV_RESET_TIMEOUT] == "600"
    assert variables[settings.ENV_FORCE_TIMEOUT] == "600"
    assert variables[settings.ENV_REMEDIATION_CAP] == "3"
    assert variables[settings.ENV_REMEDIATION_WINDOW] == "86400"
    assert variables[settings.ENV_RETENTION_DAYS] == "90"
    assert variables[settings.ENV_PROTECTION_FRESHNESS] == "60"
    assert variables[settings.ENV_GREENGRASS_RPS] == "5.0"
    assert variables[settings.ENV_GREENGRASS_CALLERS] == "6"  # 5 worker invocations + the sweeper
    assert variables[settings.ENV_WORK_QUEUE_URL] == {"Ref": synth.logical_id("EventIntake/WorkQueue")}
    assert settings.ENV_GREENGRASS_ENDPOINT not in variables  # the real Greengrass endpoint in AWS
    assert variables[settings.ENV_TEARDOWN_DEFAULT] == "group"
    assert variables[settings.ENV_THINGS_TEARDOWN] == "false"
    assert settings.ENV_FORCE_WHEN_DISCONNECTED_FOR not in variables  # no connectivity source
    log_group = synth.logical_id(f"{path}Logs")
    assert function["LoggingConfig"] == {"LogGroup": {"Ref": log_group}}
    assert synth.template_json["Resources"][log_group]["Properties"]["RetentionInDays"] == 30


def test_settings_flow_from_context_to_the_lambdas(custom_synth: Synth) -> None:
    worker = custom_synth.template_json["Resources"][custom_synth.logical_id("ResetFunctions/Worker")]
    variables = worker["Properties"]["Environment"]["Variables"]
    assert variables[settings.ENV_RESET_TIMEOUT] == "300"
    assert variables["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert variables[settings.ENV_GREENGRASS_RPS] == "12.5"
    assert variables[settings.ENV_GREENGRASS_CALLERS] == "8"  # workerMaxConcurrency 7 + the sweeper
    assert variables[settings.ENV_PROTECTION_FRESHNESS] == "0"
    assert worker["Properties"]["Layers"] == [CUSTOM_LAYER]
    assert worker["Properties"]["Timeout"] == 60


@pytest.mark.parametrize("which", ["synth", "custom_synth", "things_synth", "connectivity_synth"])
@pytest.mark.parametrize("path", ["ResetFunctions/Worker", "ResetFunctions/Sweeper"])
def test_the_lambda_code_reads_the_settings_the_stack_passes(
    which: str, path: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Settings.from_env` on the Lambda's environment (references replaced by sample values)."""
    synthesised: Synth = request.getfixturevalue(which)
    function = synthesised.template_json["Resources"][synthesised.logical_id(path)]["Properties"]
    variables = function["Environment"]["Variables"]
    for name, value in variables.items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"resolved-{name}")
    loaded = settings.Settings.from_env()
    config = synthesised.config
    assert loaded.policy.reset_timeout_s == config.reset_timeout_seconds
    assert loaded.policy.protection_freshness_s == config.protection_freshness_seconds
    assert loaded.greengrass_rps == config.greengrass_requests_per_second
    assert loaded.greengrass_callers == config.greengrass_callers
    assert loaded.invocation_rps == pytest.approx(
        config.greengrass_requests_per_second / config.greengrass_callers
    )
    assert loaded.work_queue_url == f"resolved-{settings.ENV_WORK_QUEUE_URL}"
    assert loaded.policy.teardown_default.value == config.teardown
    assert loaded.policy.things_teardown is config.things_teardown
    assert loaded.policy.force_when_disconnected_for_s == config.force_when_disconnected_for


def test_the_connectivity_threshold_goes_to_the_worker_and_sweeper_only(connectivity_synth: Synth) -> None:
    """`connectivitySource=fleet-index`: the threshold as `FORCE_WHEN_DISCONNECTED_FOR_SECONDS` on the two
    Lambdas that run resets; the janitor (which requests them through the bus) does without."""
    resources = connectivity_synth.template_json["Resources"]
    for path in ("ResetFunctions/Worker", "ResetFunctions/Sweeper"):
        variables = resources[connectivity_synth.logical_id(path)]["Properties"]["Environment"]["Variables"]
        assert variables[settings.ENV_FORCE_WHEN_DISCONNECTED_FOR] == "900"
    janitor = resources[connectivity_synth.logical_id("Janitor/Function")]["Properties"]
    assert settings.ENV_FORCE_WHEN_DISCONNECTED_FOR not in janitor["Environment"]["Variables"]


CUSTOM_LAYER = "arn:aws:lambda:eu-west-1:123456789012:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:31"


def test_worker_consumes_the_work_queue_with_partial_batch_failures_and_a_concurrency_cap(
    synth: Synth,
) -> None:
    synth.template.resource_count_is("AWS::Lambda::EventSourceMapping", 1)
    synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "EventSourceArn": _get_att(synth.logical_id("EventIntake/WorkQueue")),
            "FunctionName": {"Ref": synth.logical_id("ResetFunctions/Worker")},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": 5},
            "BatchSize": 10,
        },
    )


def test_batch_size_and_concurrency_come_from_context(custom_synth: Synth) -> None:
    custom_synth.template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping", {"ScalingConfig": {"MaximumConcurrency": 7}, "BatchSize": 5}
    )


def test_sweeper_runs_on_a_schedule_without_async_retries(synth: Synth, custom_synth: Synth) -> None:
    sweeper = synth.logical_id("ResetFunctions/Sweeper")
    synth.template.has_resource_properties(
        "AWS::Events::Rule",
        {
            "ScheduleExpression": "rate(1 minute)",
            "Targets": [Match.object_like({"Arn": _get_att(sweeper)})],
        },
    )
    synth.template.has_resource_properties(
        "AWS::Lambda::EventInvokeConfig", {"FunctionName": {"Ref": sweeper}, "MaximumRetryAttempts": 0}
    )
    timeout = synth.template_json["Resources"][sweeper]["Properties"]["Timeout"]
    assert timeout < 60  # a run finishes before the next one starts
    custom_synth.template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(5 minutes)"}
    )


def test_no_invocation_outlives_the_lease_on_a_call_it_claimed(synth: Synth, custom_synth: Synth) -> None:
    """A claimed Greengrass call is re-driven once its lease runs out: its claimant must be gone by then."""
    lease = CALL_LEASE.total_seconds()
    for s in (synth, custom_synth):
        for path in ("ResetFunctions/Worker", "ResetFunctions/Sweeper"):
            assert s.template_json["Resources"][s.logical_id(path)]["Properties"]["Timeout"] < lease, path
    sweeper = custom_synth.template_json["Resources"][custom_synth.logical_id("ResetFunctions/Sweeper")]
    assert sweeper["Properties"]["Timeout"] == custom_synth.config.sweeper_timeout_seconds


def _sqs_statements(s: Synth) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, policy in s.resources("AWS::IAM::Policy").items():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(a.startswith("sqs:") for a in actions):
                found.append((logical_id, {**statement, "Action": actions}))
    return found


def test_both_lambdas_may_send_their_timers_to_the_work_queue_and_to_no_other_queue(synth: Synth) -> None:
    work_queue = _get_att(synth.logical_id("EventIntake/WorkQueue"))
    senders = set()
    for logical_id, statement in _sqs_statements(synth):
        if "sqs:SendMessage" in statement["Action"]:
            assert statement["Effect"] == "Allow"
            assert statement["Resource"] == work_queue, logical_id
            senders.update(
                r["Ref"] for r in synth.template_json["Resources"][logical_id]["Properties"]["Roles"]
            )
    assert senders == {
        synth.logical_id("ResetFunctions/WorkerRole"),
        synth.logical_id("ResetFunctions/SweeperRole"),
    }


# --- ledger -----------------------------------------------------------------------------------------------


def test_ledger_table_is_the_shared_schema_with_pitr_ttl_and_the_due_index(synth: Synth) -> None:
    table = synth.template_json["Resources"][synth.logical_id("Ledger/Table")]
    properties = table["Properties"]
    spec = ledger_schema.create_table_kwargs("unused")

    def by_name(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))

    assert properties["BillingMode"] == spec["BillingMode"]
    assert by_name(properties["AttributeDefinitions"]) == by_name(spec["AttributeDefinitions"])
    assert properties["KeySchema"] == spec["KeySchema"]
    assert properties["GlobalSecondaryIndexes"] == spec["GlobalSecondaryIndexes"]
    assert properties["GlobalSecondaryIndexes"][0]["IndexName"] == ledger_schema.DUE_INDEX_NAME
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert properties["TimeToLiveSpecification"] == {
        "AttributeName": ledger_schema.TTL_ATTRIBUTE,
        "Enabled": True,
    }
    assert properties["SSESpecification"]["SSEEnabled"] is True


def test_ledger_is_retained_and_deletion_protected_by_default(synth: Synth) -> None:
    table = synth.template_json["Resources"][synth.logical_id("Ledger/Table")]
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True


def test_destroy_and_customer_managed_key_options(custom_synth: Synth) -> None:
    table = custom_synth.template_json["Resources"][custom_synth.logical_id("Ledger/Table")]
    assert table["DeletionPolicy"] == "Delete"
    assert table["Properties"].get("DeletionProtectionEnabled", False) is False
    sse = table["Properties"]["SSESpecification"]
    assert sse["SSEType"] == "KMS"
    key_id = sse["KMSMasterKeyId"]["Fn::GetAtt"][0]
    key = custom_synth.template_json["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True


# --- notifications and monitoring -------------------------------------------------------------------------


def test_topic_is_kms_encrypted_and_alarms_may_publish(synth: Synth) -> None:
    topic = synth.template_json["Resources"][synth.logical_id("Notifications/Topic")]["Properties"]
    key = synth.logical_id("Notifications/TopicKey")
    assert topic["KmsMasterKeyId"] == _get_att(key)
    key_policy = synth.template_json["Resources"][key]["Properties"]["KeyPolicy"]["Statement"]
    assert any(s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"} for s in key_policy)
    synth.template.resource_count_is("AWS::SNS::Subscription", 0)


def test_alarm_email_subscribes_to_the_topic(custom_synth: Synth) -> None:
    custom_synth.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "platform-team@example.com"}
    )


def _alarm_metric(alarm: dict[str, Any]) -> dict[str, Any]:
    properties = alarm["Properties"]
    if "MetricName" in properties:
        return {k: properties.get(k) for k in ("Namespace", "MetricName", "Dimensions")}
    (query,) = [m for m in properties["Metrics"] if m.get("ReturnData", True)]
    metric = query["MetricStat"]["Metric"]
    return {
        "Namespace": metric["Namespace"],
        "MetricName": metric["MetricName"],
        "Dimensions": metric["Dimensions"],
    }


def _find_alarm(synth: Synth, namespace: str, metric_name: str, dimension_value: Any) -> dict[str, Any]:
    for alarm in synth.resources("AWS::CloudWatch::Alarm").values():
        metric = _alarm_metric(alarm)
        if (
            metric["Namespace"] == namespace
            and metric["MetricName"] == metric_name
            and any(d["Value"] == dimension_value for d in metric["Dimensions"])
        ):
            properties: dict[str, Any] = alarm["Properties"]
            return properties
    raise AssertionError(f"no alarm on {namespace}/{metric_name} for {dimension_value}")


@pytest.mark.parametrize(
    "dlq_path",
    [
        "EventIntake/WorkDeadLetterQueue",
        "EventIntake/RequestRuleDeadLetterQueue",
        "EventIntake/DeploymentStatusRuleDeadLetterQueue",
    ],
)
def test_every_dlq_alarms_on_its_first_message(synth: Synth, dlq_path: str) -> None:
    alarm = _find_alarm(
        synth,
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        _get_att(synth.logical_id(dlq_path), "QueueName"),
    )
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["EvaluationPeriods"] == 1


@pytest.mark.parametrize("path", ["ResetFunctions/Worker", "ResetFunctions/Sweeper"])
def test_lambda_errors_alarm(synth: Synth, path: str) -> None:
    alarm = _find_alarm(synth, "AWS/Lambda", "Errors", {"Ref": synth.logical_id(path)})
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0


def test_failed_outcomes_alarm(synth: Synth) -> None:
    alarm = _find_alarm(synth, settings.METRICS_NAMESPACE, "Outcome_FAILED", settings.SERVICE_NAME)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["TreatMissingData"] == "notBreaching"


def test_sweep_failures_alarm(synth: Synth) -> None:
    """The sweeper catches a group's error and counts it: without this alarm nobody would hear of it."""
    alarm = _find_alarm(synth, settings.METRICS_NAMESPACE, metric_names.SWEEP_FAILURES, settings.SERVICE_NAME)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": synth.logical_id("Notifications/Topic")}]


@pytest.mark.parametrize(
    ("metric_name", "what_to_look_for"),
    [
        (metric_names.FOREIGN_STATUS_EVENTS, "another account or region"),
        (metric_names.UNCONFIRMED_FAILURES, "GetDeploymentStatus"),
    ],
)
def test_forged_or_misrouted_status_events_alarm_at_the_first_one(
    synth: Synth, metric_name: str, what_to_look_for: str
) -> None:
    """Sum >= 1 in 5 minutes (a count above 0), no data is no alarm; the description says what to do."""
    alarm = _find_alarm(synth, settings.METRICS_NAMESPACE, metric_name, settings.SERVICE_NAME)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["Threshold"] == 0
    assert alarm["EvaluationPeriods"] == 1
    assert alarm["TreatMissingData"] == "notBreaching"
    assert alarm["AlarmActions"] == [{"Ref": synth.logical_id("Notifications/Topic")}]
    (query,) = alarm["Metrics"]
    assert (query["MetricStat"]["Stat"], query["MetricStat"]["Period"]) == ("Sum", 300)
    description = json.dumps(alarm["AlarmDescription"])
    assert what_to_look_for in description
    assert "forged or misrouted" in description
    assert "log group" in description


def test_every_custom_metric_the_stack_watches_is_emitted_by_the_lambda_code() -> None:
    """A metric name charted or alarmed on appears in the runtime package, as itself or as its constant."""
    package = FUNCTIONS_DIR / "gg_reset"
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in package.rglob("*.py")
        if path.name != "metric_names.py" and "local" not in path.relative_to(package).parts
    )
    constants = {
        name: value
        for name, value in vars(metric_names).items()
        if name.isupper() and isinstance(value, str) and name != "OUTCOME_PREFIX"
    }
    for constant, value in constants.items():
        assert f'"{value}"' in sources or constant in sources, f"{value} is charted but never emitted"


def test_queue_age_alarm_threshold_comes_from_context(synth: Synth, custom_synth: Synth) -> None:
    for s, threshold in ((synth, 1800), (custom_synth, 600)):
        alarm = _find_alarm(
            s,
            "AWS/SQS",
            "ApproximateAgeOfOldestMessage",
            _get_att(s.logical_id("EventIntake/WorkQueue"), "QueueName"),
        )
        assert alarm["Threshold"] == threshold


def test_every_alarm_notifies_the_topic(synth: Synth) -> None:
    topic = {"Ref": synth.logical_id("Notifications/Topic")}
    alarms = synth.resources("AWS::CloudWatch::Alarm")
    assert len(alarms) >= 8
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [topic]


def test_dashboard_shows_outcomes_fallbacks_latency_and_queue_depth(synth: Synth) -> None:
    (dashboard,) = synth.resources("AWS::CloudWatch::Dashboard").values()
    assert dashboard["Properties"]["DashboardName"] == synth.config.stack_name
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    terminal = [state.value for state in WorkflowState if state.terminal]
    for metric in [
        *(metric_names.outcome_metric(s) for s in terminal),
        metric_names.FORCE_FALLBACKS,
        metric_names.WORKFLOW_DURATION,
        metric_names.REQUESTS_RECEIVED,
        metric_names.MALFORMED_STATUS_EVENTS,
        metric_names.SWEPT_WORKFLOWS,
        metric_names.SWEEP_FAILURES,
        metric_names.FOREIGN_STATUS_EVENTS,
        metric_names.UNCONFIRMED_FAILURES,
    ]:
        assert metric in body, metric
    assert "ApproximateNumberOfMessagesVisible" in body
    assert "Duration" in body  # Lambda latency


def test_outputs(synth: Synth) -> None:
    outputs = synth.template_json["Outputs"]
    assert outputs["EventBusName"]["Value"] == {"Ref": synth.logical_id("EventIntake/Bus")}
    assert outputs["EventBusArn"]["Value"] == _get_att(synth.logical_id("EventIntake/Bus"))
    assert outputs["LedgerTableName"]["Value"] == {"Ref": synth.logical_id("Ledger/Table")}
    assert outputs["NotificationTopicArn"]["Value"] == {"Ref": synth.logical_id("Notifications/Topic")}
    url = json.dumps(outputs["DashboardUrl"]["Value"])
    assert "console.aws.amazon.com/cloudwatch/home" in url
    assert f"#dashboards:name={synth.config.stack_name}" in url


def test_stack_is_environment_agnostic(synth: Synth) -> None:
    """No account or region is baked in: one template deploys to wherever the credentials point."""
    rendered = json.dumps(synth.template_json)
    assert '"Ref": "AWS::AccountId"' in rendered
    assert Token.is_unresolved(synth.stack.account)
    assert Token.is_unresolved(synth.stack.region)


def _xray_actions(synth: Synth) -> set[str]:
    actions: set[str] = set()
    for resource in synth.template_json["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            listed = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            actions.update(a for a in listed if a.startswith("xray:"))
    return actions


def test_x_ray_tracing_is_opt_in(synth: Synth, custom_synth: Synth) -> None:
    """Off by default (the X-Ray SDK costs each cold start about as much as boto3); `gg-reset:tracing`
    switches on active tracing, the Tracer (POWERTOOLS_TRACE_DISABLED=false) and the X-Ray grants."""
    assert _xray_actions(synth) == set()
    assert _xray_actions(custom_synth) == {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    for path in ("ResetFunctions/Worker", "ResetFunctions/Sweeper"):
        function = custom_synth.template_json["Resources"][custom_synth.logical_id(path)]["Properties"]
        assert function["TracingConfig"] == {"Mode": "Active"}
        assert function["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == "false"
