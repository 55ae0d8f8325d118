"""The janitor in the stack (`gg-reset:janitorEnabled`): absent by default; enabled, its function, schedule,
settings and exactly the permissions it needs; cdk-nag and cfn-lint clean; its configuration validated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file  # type: ignore[import-untyped]

from gg_reset import settings
from gg_reset.cleanup.janitor import JanitorAction, JanitorConfig
from gg_reset.cleanup.selection import Selection
from gg_reset.domain.teardown import Teardown
from infra.config import JANITOR_TIMEOUT_SECONDS, ConfigError, GgResetConfig
from infra.constructs.janitor import (
    JANITOR_GREENGRASS_GROUP_ACTIONS,
    JANITOR_GREENGRASS_LIST_ACTIONS,
    JANITOR_HANDLER,
    janitor_teardown_reads,
)
from infra.constructs.reset_functions import GREENGRASS_WRITE_ACTIONS
from infra.testing import Synth, synthesize

pytestmark = pytest.mark.infra

JANITOR_CONTEXT: dict[str, Any] = {
    "gg-reset:janitorEnabled": "true",  # a string, as `cdk -c` passes it
    "gg-reset:janitorSchedule": "cron(0 3 * * ? *)",
    "gg-reset:janitorSelection": "expired name=lab-* not-deployed=90d",
    "gg-reset:janitorAction": "reset",
    "gg-reset:janitorDryRun": "false",
    "gg-reset:janitorMaxGroups": 20,
    "gg-reset:janitorMaxPercent": "2.5",
    "gg-reset:ledgerEncryption": "customer-managed",
    # An existing key for the log groups (test_infra_logs_encryption.py covers `create`).
    "gg-reset:logsKmsKey": "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
}


@pytest.fixture(scope="module")
def janitor_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(tmp_path_factory.mktemp("cdk-janitor"), JANITOR_CONTEXT)


def _function(s: Synth) -> dict[str, Any]:
    properties: dict[str, Any] = s.template_json["Resources"][s.logical_id("Janitor/Function")]["Properties"]
    return properties


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _role_statements(s: Synth, role_path: str) -> list[dict[str, Any]]:
    """Every Allow statement of every policy attached to the role."""
    role = s.logical_id(role_path)
    found = []
    for resource in s.resources("AWS::IAM::Policy").values():
        if {"Ref": role} in resource["Properties"]["Roles"]:
            found.extend(
                s for s in resource["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
            )
    return found


def test_no_janitor_unless_enabled(synth: Synth) -> None:
    assert not synth.config.janitor_enabled
    paths = [r.get("Metadata", {}).get("aws:cdk:path", "") for r in synth.template_json["Resources"].values()]
    assert not any("/Janitor/" in p for p in paths)
    for function in synth.resources("AWS::Lambda::Function").values():
        assert function["Properties"]["Handler"] != JANITOR_HANDLER


def test_the_janitor_function_runs_the_shared_asset_with_its_settings(janitor_synth: Synth) -> None:
    s = janitor_synth
    function = _function(s)
    worker = s.template_json["Resources"][s.logical_id("ResetFunctions/Worker")]["Properties"]
    assert function["Handler"] == JANITOR_HANDLER
    assert function["Runtime"] == "python3.13" and function["Architectures"] == ["arm64"]
    assert function["Timeout"] == JANITOR_TIMEOUT_SECONDS
    assert function["Code"]["S3Key"] == worker["Code"]["S3Key"]
    assert function["Layers"] == worker["Layers"]
    variables = function["Environment"]["Variables"]
    assert json.loads(variables[settings.ENV_JANITOR_SELECTION]) == {
        "expired": True,
        "name": ["lab-*"],
        "not-deployed": "90d",
    }
    assert variables[settings.ENV_JANITOR_ACTION] == "reset"
    assert variables[settings.ENV_JANITOR_DRY_RUN] == "false"
    assert variables[settings.ENV_JANITOR_MAX_GROUPS] == "20"
    assert variables[settings.ENV_JANITOR_MAX_PERCENT] == "2.5"
    assert variables[settings.ENV_BUS_NAME] == {"Ref": s.logical_id("EventIntake/Bus")}
    assert variables[settings.ENV_TABLE_NAME] == {"Ref": s.logical_id("Ledger/Table")}
    assert settings.ENV_WORK_QUEUE_URL not in variables  # it arms no timers
    # One more Greengrass caller: workers (5) + sweeper + janitor, for every function.
    assert variables[settings.ENV_GREENGRASS_CALLERS] == "7"
    assert worker["Environment"]["Variables"][settings.ENV_GREENGRASS_CALLERS] == "7"


def test_the_lambda_code_reads_the_janitor_settings_the_stack_passes(
    janitor_synth: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _function(janitor_synth)["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"resolved-{name}")
    assert JanitorConfig.from_env() == JanitorConfig(
        selection=Selection.parse("expired name=lab-* not-deployed=90d"),
        action=JanitorAction.RESET,
        dry_run=False,
        max_groups=20,
        max_percent=2.5,
    )
    loaded = settings.Settings.from_env()
    assert loaded.greengrass_callers == 7 and loaded.work_queue_url is None


def test_the_janitor_runs_on_its_schedule_and_alarms_on_errors(janitor_synth: Synth) -> None:
    s = janitor_synth
    rule = s.template_json["Resources"][s.logical_id("Janitor/Schedule")]["Properties"]
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Targets"] == [
        {"Arn": {"Fn::GetAtt": [s.logical_id("Janitor/Function"), "Arn"]}, "Id": "Target0"}
    ]
    invoke = [
        r["Properties"]
        for r in s.resources("AWS::Lambda::EventInvokeConfig").values()
        if r["Properties"]["FunctionName"] == {"Ref": s.logical_id("Janitor/Function")}
    ]
    assert invoke == [
        {
            "FunctionName": {"Ref": s.logical_id("Janitor/Function")},
            "MaximumRetryAttempts": 2,
            "Qualifier": "$LATEST",
        }
    ]
    alarm = s.template_json["Resources"][s.logical_id("Janitor/Errors")]["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": s.logical_id("Notifications/Topic")}]
    assert alarm["Dimensions"] == [
        {"Name": "FunctionName", "Value": {"Ref": s.logical_id("Janitor/Function")}}
    ]


def test_the_janitor_role_has_exactly_what_it_needs(janitor_synth: Synth) -> None:
    s = janitor_synth
    granted: dict[str, list[Any]] = {}
    conditions: dict[str, Any] = {}
    for statement in _role_statements(s, "Janitor/FunctionRole"):
        for action in _as_list(statement["Action"]):
            granted.setdefault(action, []).extend(_as_list(statement["Resource"]))
            if "Condition" in statement:
                conditions[action] = statement["Condition"]
    groups_arn = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":greengrass:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                ":/greengrass/groups/*",
            ],
        ]
    }
    ledger_key = {"Fn::GetAtt": [s.logical_id("Ledger/Table/Key"), "Arn"]}
    topic_key = {"Fn::GetAtt": [s.logical_id("Notifications/TopicKey"), "Arn"]}
    assert granted == {
        "greengrass:GetGroup": [groups_arn],
        "greengrass:ListDeployments": [groups_arn],
        "greengrass:ListGroups": ["*"],
        "events:PutEvents": [{"Fn::GetAtt": [s.logical_id("EventIntake/Bus"), "Arn"]}],
        "dynamodb:PutItem": [{"Fn::GetAtt": [s.logical_id("Ledger/Table"), "Arn"]}],
        "sns:Publish": [{"Ref": s.logical_id("Notifications/Topic")}],
        "kms:Decrypt": [topic_key, ledger_key],
        "kms:GenerateDataKey*": [topic_key, ledger_key],
        "kms:DescribeKey": [ledger_key],
        "kms:Encrypt": [ledger_key],
        "kms:ReEncrypt*": [ledger_key],
        "logs:CreateLogStream": [{"Fn::GetAtt": [s.logical_id("Janitor/FunctionLogs"), "Arn"]}],
        "logs:PutLogEvents": [{"Fn::GetAtt": [s.logical_id("Janitor/FunctionLogs"), "Arn"]}],
    }
    assert {a.split(":", 1)[1] for a in granted if a.startswith("greengrass:")} == {
        a.split(":", 1)[1] for a in (*JANITOR_GREENGRASS_GROUP_ACTIONS, *JANITOR_GREENGRASS_LIST_ACTIONS)
    }
    # It writes its own ledger partition and nothing else.
    assert conditions == {
        "dynamodb:PutItem": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": ["JANITOR"]}}
    }
    # It may write no group (reset, redeploy or delete): the write actions stay with the worker and sweeper.
    assert not any(a in granted for a in GREENGRASS_WRITE_ACTIONS)


def _greengrass_arn(path: str) -> dict[str, Any]:
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":greengrass:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                path,
            ],
        ]
    }


def test_the_janitor_reads_no_version_and_no_core_device_unless_its_settings_need_them(
    janitor_synth: Synth,
) -> None:
    """A janitor that sends reset requests for a selection without `migrated` reads groups only."""
    granted = {
        a for st in _role_statements(janitor_synth, "Janitor/FunctionRole") for a in _as_list(st["Action"])
    }
    assert not granted & {
        "greengrass:GetGroupVersion",
        "greengrass:ListGroupVersions",
        "greengrass:GetCoreDefinitionVersion",
        "greengrass:GetCoreDevice",
    }
    variables = _function(janitor_synth)["Environment"]["Variables"]
    assert settings.ENV_JANITOR_TEARDOWN not in variables


def test_a_migrated_selection_with_a_things_preview_gets_exactly_the_reads_it_makes(
    things_synth: Synth,
) -> None:
    """`migrated` and a dry run previewing `things` (tests/infra/conftest.py THINGS_CONTEXT): the core thing
    of each group's versions and Greengrass V2's core devices, read only, on this account and region."""
    granted: dict[str, list[Any]] = {}
    for statement in _role_statements(things_synth, "Janitor/FunctionRole"):
        for action in _as_list(statement["Action"]):
            if action.startswith("greengrass:"):
                granted.setdefault(action, []).extend(_as_list(statement["Resource"]))
    groups, versions = (
        _greengrass_arn(":/greengrass/groups/*"),
        _greengrass_arn(":/greengrass/groups/*/versions/*"),
    )
    cores = _greengrass_arn(":/greengrass/definition/cores/*")
    core_versions = _greengrass_arn(":/greengrass/definition/cores/*/versions/*")
    assert granted == {
        "greengrass:GetGroup": [groups],
        "greengrass:ListDeployments": [groups],
        "greengrass:ListGroups": ["*"],
        "greengrass:GetGroupVersion": [groups, versions],
        "greengrass:ListGroupVersions": [groups, versions],
        "greengrass:GetCoreDefinitionVersion": [cores, core_versions],
        "greengrass:GetCoreDevice": [_greengrass_arn(":coreDevices:*")],
    }
    # Reads only: no write of any kind, Greengrass or AWS IoT.
    actions = {
        a for st in _role_statements(things_synth, "Janitor/FunctionRole") for a in _as_list(st["Action"])
    }
    assert not any(a.startswith("iot:") for a in actions)
    assert not any(
        a.startswith(("greengrass:Delete", "greengrass:Reset", "greengrass:Create")) for a in actions
    )


def test_the_janitor_reads_its_teardown_setting_as_the_stack_passes_it(
    things_synth: Synth, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _function(things_synth)["Environment"]["Variables"].items():
        monkeypatch.setenv(name, value if isinstance(value, str) else f"resolved-{name}")
    config = JanitorConfig.from_env()
    assert config.teardown is Teardown.THINGS
    assert config.action is JanitorAction.DELETE and config.dry_run is True
    assert config.selection.migrated
    loaded = settings.Settings.from_env()  # the janitor reads the deployment's teardown settings too
    assert loaded.policy.things_teardown is True
    assert loaded.policy.teardown_default is Teardown.THINGS


@pytest.mark.parametrize(
    ("selection", "dry_run", "teardown", "reads"),
    [
        ({"expired": True}, True, None, ()),
        ({"expired": True}, False, "things", ()),  # requests carry it; the workers tear down
        ({"expired": True}, True, "group", ()),
        ({"expired": True}, True, "definitions", ("ListGroupVersions", "GetGroupVersion")),
        (
            {"expired": True},
            True,
            "things",
            ("ListGroupVersions", "GetGroupVersion", "GetCoreDefinitionVersion", "GetCoreDevice"),
        ),
        ({"migrated": True}, False, None, ("GetGroupVersion", "GetCoreDefinitionVersion", "GetCoreDevice")),
        (
            {"migrated": True},
            True,
            "definitions",
            ("ListGroupVersions", "GetGroupVersion", "GetCoreDefinitionVersion", "GetCoreDevice"),
        ),
    ],
)
def test_the_janitor_teardown_reads_follow_its_selection_and_preview(
    selection: dict[str, Any], dry_run: bool, teardown: str | None, reads: tuple[str, ...]
) -> None:
    got = janitor_teardown_reads(json.dumps(selection), dry_run=dry_run, teardown=teardown)
    assert got == tuple(f"greengrass:{r}" for r in reads)


def test_only_the_janitor_may_put_events(janitor_synth: Synth) -> None:
    for path in ("ResetFunctions/WorkerRole", "ResetFunctions/SweeperRole"):
        actions = {a for st in _role_statements(janitor_synth, path) for a in _as_list(st["Action"])}
        assert "events:PutEvents" not in actions, path


def test_the_janitor_stack_is_cdk_nag_and_cfn_lint_clean(janitor_synth: Synth) -> None:
    report = json.loads((janitor_synth.outdir / "validation-report.json").read_text(encoding="utf-8"))
    assert [v for plugin in report.get("pluginReports", []) for v in plugin.get("violations", [])] == []
    template = janitor_synth.outdir / f"{janitor_synth.config.stack_name}.template.json"
    matches = lint_file(
        template,
        config=ManualArgs(regions=["us-east-1", "eu-west-1", "ap-southeast-2"], ignore_checks=["W3005"]),
    )
    assert [str(m) for m in matches] == []


def test_an_existing_logs_key_encrypts_every_log_group_the_janitor_s_too(janitor_synth: Synth) -> None:
    groups = janitor_synth.resources("AWS::Logs::LogGroup")
    assert janitor_synth.logical_id("Janitor/FunctionLogs") in groups
    assert len(groups) == 3  # worker, sweeper, janitor
    for logical_id, group in groups.items():
        assert group["Properties"]["KmsKeyId"] == JANITOR_CONTEXT["gg-reset:logsKmsKey"], logical_id
    # An imported key: the stack creates no key of its own for the logs.
    assert not any(
        r["Type"] == "AWS::KMS::Key" and "LogsEncryption" in logical_id
        for logical_id, r in janitor_synth.template_json["Resources"].items()
    )


def test_the_janitor_handler_is_in_the_asset(janitor_synth: Synth) -> None:
    function = janitor_synth.template_json["Resources"][janitor_synth.logical_id("Janitor/Function")]
    module = JANITOR_HANDLER.rpartition(".")[0]
    path = (
        janitor_synth.outdir
        / str(function["Metadata"]["aws:asset:path"])
        / (module.replace(".", "/") + ".py")
    )
    assert path.is_file()
    assert "def handler(" in path.read_text(encoding="utf-8")


# --- configuration ---------------------------------------------------------------------------------------


def test_janitor_defaults_match_the_code() -> None:
    config = GgResetConfig.from_mapping({})
    default = JanitorConfig.default()
    assert config.janitor_enabled is False
    assert config.janitor_schedule == settings.JANITOR_DEFAULT_SCHEDULE == "rate(1 day)"
    assert Selection.from_json(config.janitor_selection) == default.selection
    assert config.janitor_action == default.action.value
    assert config.janitor_dry_run is default.dry_run is True
    assert config.janitor_max_groups == default.max_groups == 50
    assert config.janitor_max_percent == default.max_percent == 10
    assert config.greengrass_callers == 6
    assert GgResetConfig.from_mapping({"janitorEnabled": True}).greengrass_callers == 7


def test_janitor_selection_from_cdk_json_or_the_command_line() -> None:
    from_json = GgResetConfig.from_mapping({"janitorSelection": {"name": "lab-*", "idle": "30d"}})
    from_text = GgResetConfig.from_mapping({"janitorSelection": '{"name": ["lab-*"], "idle": "30d"}'})
    from_terms = GgResetConfig.from_mapping({"janitorSelection": "name=lab-* idle=30d"})
    assert from_json.janitor_selection == from_text.janitor_selection == from_terms.janitor_selection
    assert json.loads(from_json.janitor_selection) == {"idle": "30d", "name": ["lab-*"]}


@pytest.mark.parametrize(
    "schedule", ["rate(1 day)", "rate(15 minutes)", "rate(2 hours)", "cron(0 3 * * ? *)"]
)
def test_valid_janitor_schedules(schedule: str) -> None:
    assert GgResetConfig.from_mapping({"janitorSchedule": schedule}).janitor_schedule == schedule


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("janitorEnabled", "perhaps", "gg-reset:janitorEnabled='perhaps': expected true or false"),
        ("janitorDryRun", 2, "gg-reset:janitorDryRun=2: expected true or false"),
        ("janitorSchedule", "daily", "gg-reset:janitorSchedule='daily': expected an EventBridge schedule"),
        ("janitorSchedule", "rate(1 days)", "gg-reset:janitorSchedule='rate(1 days)': EventBridge wants"),
        (
            "janitorSchedule",
            "rate(5 minutes)",
            "gg-reset:janitorSchedule='rate(5 minutes)': at least 15 minutes",
        ),
        (
            "janitorSchedule",
            "cron(0 3 * *)",
            "gg-reset:janitorSchedule='cron(0 3 * *)': expected an EventBridge",
        ),
        ("janitorSelection", {}, "gg-reset:janitorSelection: an empty selection would select every group"),
        ("janitorSelection", {"age": "1d"}, "gg-reset:janitorSelection: unknown key 'age'"),
        (
            "janitorSelection",
            "older-than=soon",
            "gg-reset:janitorSelection: older-than: 'soon' is not a duration",
        ),
        ("janitorAction", "purge", "gg-reset:janitorAction='purge': expected one of delete, reset"),
        ("janitorMaxGroups", -1, "gg-reset:janitorMaxGroups=-1: must be between 0 and 10000"),
        ("janitorMaxPercent", 150, "gg-reset:janitorMaxPercent=150: must be between 0 and 100"),
        (
            "janitorTeardown",
            "all",
            "gg-reset:janitorTeardown='all': expected one of group, definitions, things",
        ),
        (
            "janitorTeardown",
            "things",
            "gg-reset:janitorTeardown=things needs gg-reset:thingsTeardown=true",
        ),
    ],
)
def test_invalid_janitor_options_are_rejected_with_the_key_named(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        GgResetConfig.from_mapping({key: value})
    assert str(raised.value).startswith(message)


def test_janitor_teardown_applies_to_deletions_only() -> None:
    with pytest.raises(ConfigError) as raised:
        GgResetConfig.from_mapping({"janitorAction": "reset", "janitorTeardown": "definitions"})
    message = str(raised.value)
    assert "gg-reset:janitorTeardown=definitions" in message and "gg-reset:janitorAction is reset" in message
    config = GgResetConfig.from_mapping({"janitorTeardown": "Definitions"})
    assert config.janitor_teardown == "definitions"
    assert GgResetConfig.from_mapping({"janitorTeardown": ""}).janitor_teardown is None
    assert GgResetConfig.from_mapping({}).janitor_teardown is None
    both = GgResetConfig.from_mapping({"janitorTeardown": "things", "thingsTeardown": "true"})
    assert both.janitor_teardown == "things"


def test_the_docs_have_the_janitor_page() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs"
    assert "# Automatic cleanup (the janitor)" in (docs / "janitor.md").read_text(encoding="utf-8")
    assert "(docs/janitor.md)" in (docs.parent / "README.md").read_text(encoding="utf-8")
