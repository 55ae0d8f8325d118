"""Context options: one list, the same defaults in cdk.json, the docs and the workflow code; clear errors."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import version
from typing import Any

import pytest
from aws_cdk import Stack

from gg_reset import settings
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import CALL_LEASE
from infra.app import build_app
from infra.bundling import REPO_ROOT
from infra.config import (
    CONTEXT_OPTIONS,
    DEFAULT_POWERTOOLS_LAYER_VERSION,
    POWERTOOLS_LAYER_RELEASES,
    PREFIX,
    TESTED_POWERTOOLS_VERSION,
    ConfigError,
    GgResetConfig,
    default_context,
    sweeper_timeout_seconds,
)

pytestmark = pytest.mark.infra


def _cdk_json() -> dict[str, Any]:
    document: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text(encoding="utf-8"))
    return document


def test_cdk_json_carries_every_option_with_its_default() -> None:
    context = _cdk_json()["context"]
    ours = {key: value for key, value in context.items() if key.startswith(PREFIX)}
    assert ours == default_context()


def test_cdk_json_runs_the_app_with_the_project_virtualenv() -> None:
    assert _cdk_json()["app"] == ".venv/bin/python app.py"


def test_workflow_defaults_match_the_code() -> None:
    policy = WorkflowPolicy()
    config = GgResetConfig.from_mapping({})
    assert config.reset_timeout_seconds == policy.reset_timeout_s
    assert config.force_reset_timeout_seconds == policy.force_timeout_s
    assert config.remediation_cap == policy.remediation_cap
    assert config.remediation_window_seconds == policy.remediation_window_s
    assert config.ledger_retention_days * 86_400 == policy.retention_s
    assert config.protection_freshness_seconds == policy.protection_freshness_s
    assert config.greengrass_requests_per_second == settings.DEFAULT_GREENGRASS_RPS
    assert config.remediation_default == policy.remediation_default.value
    assert config.rollback_fallback == policy.rollback_fallback.value
    assert config.teardown == policy.teardown_default.value == "group"
    assert config.things_teardown is policy.things_teardown is False
    assert config.connectivity_source == "none"
    assert config.force_when_disconnected_for is policy.force_when_disconnected_for_s is None


@pytest.mark.parametrize(
    ("values", "source", "threshold"),
    [
        ({}, "none", None),
        ({"forceWhenDisconnectedFor": 600}, "none", None),  # only meaningful with the fleet index
        ({"connectivitySource": "fleet-index"}, "fleet-index", 3600),
        ({"connectivitySource": "FLEET-INDEX", "forceWhenDisconnectedFor": "300"}, "fleet-index", 300),
        ({"connectivitySource": "fleet-index", "forceWhenDisconnectedFor": 604_800}, "fleet-index", 604_800),
        ({"connectivitySource": "none", "forceWhenDisconnectedFor": "7200"}, "none", None),
    ],
)
def test_connectivity_options(values: dict[str, Any], source: str, threshold: int | None) -> None:
    config = GgResetConfig.from_mapping(values)
    assert config.connectivity_source == source
    assert config.force_when_disconnected_for == threshold


def test_the_configuration_doc_documents_every_option_and_its_default() -> None:
    doc = (REPO_ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    rows = {
        match.group(1): match.group(2).strip()
        for match in re.finditer(r"^\|\s*`gg-reset:([A-Za-z]+)`\s*\|\s*([^|]*)\|", doc, re.MULTILINE)
    }
    assert set(rows) == {option.key for option in CONTEXT_OPTIONS}
    for option in CONTEXT_OPTIONS:
        shown = rows[option.key].strip("`")
        expected = "(none)" if option.default is None else json.dumps(option.default).strip('"')
        assert shown == expected, option.key


def test_context_strings_from_the_command_line_are_parsed() -> None:
    config = GgResetConfig.from_mapping(
        {
            "workerMaxConcurrency": "9",
            "allowedPrincipals": '["111111111111", "arn:aws:iam::222222222222:role/x"]',
            "logLevel": "warning",
            "removalPolicy": "DESTROY",
        }
    )
    assert config.worker_max_concurrency == 9
    assert config.allowed_principals == ("111111111111", "arn:aws:iam::222222222222:role/x")
    assert config.log_level == "WARNING"
    assert config.retain is False


@pytest.mark.parametrize(
    ("values", "teardown", "things"),
    [
        ({"teardown": "definitions"}, "definitions", False),
        ({"teardown": "DEFINITIONS", "thingsTeardown": "false"}, "definitions", False),
        ({"thingsTeardown": "true"}, "group", True),  # things allowed per request; the default stays group
        ({"teardown": "things", "thingsTeardown": True}, "things", True),
    ],
)
def test_teardown_options(values: dict[str, Any], teardown: str, things: bool) -> None:
    config = GgResetConfig.from_mapping(values)
    assert (config.teardown, config.things_teardown) == (teardown, things)


@pytest.mark.parametrize("things", [None, False, "false", "no"])
def test_a_things_teardown_default_without_the_things_switch_names_both_keys(things: Any) -> None:
    with pytest.raises(ConfigError) as error:
        GgResetConfig.from_mapping({"teardown": "things", "thingsTeardown": things})
    message = str(error.value)
    assert f"{PREFIX}teardown=things" in message and f"{PREFIX}thingsTeardown=true" in message


@pytest.mark.parametrize(("raw", "expected"), [("0.5", 0.5), ("10", 10.0), (250, 250.0), (0.1, 0.1)])
def test_the_request_budget_accepts_fractions_and_whole_numbers(raw: Any, expected: float) -> None:
    config = GgResetConfig.from_mapping({"greengrassRequestsPerSecond": raw})
    assert config.greengrass_requests_per_second == expected


def test_protection_freshness_may_be_zero() -> None:
    assert GgResetConfig.from_mapping({"protectionFreshnessSeconds": "0"}).protection_freshness_seconds == 0


def test_every_greengrass_caller_gets_a_share_of_the_budget() -> None:
    """The worker's event source may run workerMaxConcurrency invocations; the sweeper is one more."""
    assert GgResetConfig.from_mapping({"workerMaxConcurrency": 7}).greengrass_callers == 8


# --- the call lease outlives every invocation that can claim a call ---------------------------------------

LEASE_S = int(CALL_LEASE.total_seconds())


def test_a_worker_timeout_just_below_the_call_lease_is_accepted() -> None:
    config = GgResetConfig.from_mapping({"workerTimeoutSeconds": LEASE_S - 1})
    assert config.worker_timeout_seconds == LEASE_S - 1


@pytest.mark.parametrize("timeout", [LEASE_S, LEASE_S + 1, 900])
def test_a_worker_timeout_as_long_as_the_call_lease_is_rejected_with_the_reason(timeout: int) -> None:
    with pytest.raises(ConfigError) as error:
        GgResetConfig.from_mapping({"workerTimeoutSeconds": timeout})
    message = str(error.value)
    assert f"{PREFIX}workerTimeoutSeconds={timeout}" in message
    assert f"{LEASE_S} s lease" in message
    assert "still running would be re-driven" in message


@pytest.mark.parametrize("minutes", range(1, 61))
def test_the_sweeper_ends_before_its_next_run_and_before_a_call_lease_runs_out(minutes: int) -> None:
    timeout = sweeper_timeout_seconds(minutes)
    assert 0 < timeout < minutes * 60
    assert timeout < LEASE_S
    assert GgResetConfig.from_mapping({"sweepIntervalMinutes": minutes}).sweeper_timeout_seconds == timeout


# --- the Powertools the tests run is the Powertools the stack deploys ------------------------------------


def _pinned_powertools() -> str:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (requirement,) = [d for d in project["dependencies"] if re.match(r"aws-lambda-powertools\b", d)]
    match = re.fullmatch(r"aws-lambda-powertools(\[[a-z,]+\])?==(\d+\.\d+\.\d+)", requirement.strip())
    assert match, f"pyproject.toml must pin the Powertools the layer carries exactly (==X.Y.Z): {requirement}"
    return match.group(2)


def test_pyproject_pins_the_powertools_release_of_the_deployed_layer() -> None:
    assert default_context()[f"{PREFIX}powertoolsLayerVersion"] == DEFAULT_POWERTOOLS_LAYER_VERSION
    assert POWERTOOLS_LAYER_RELEASES[DEFAULT_POWERTOOLS_LAYER_VERSION] == TESTED_POWERTOOLS_VERSION
    assert _pinned_powertools() == TESTED_POWERTOOLS_VERSION, (
        f"the stack deploys Powertools layer {DEFAULT_POWERTOOLS_LAYER_VERSION} (Powertools "
        f"{TESTED_POWERTOOLS_VERSION}) but pyproject.toml pins {_pinned_powertools()}: move both together "
        "(infra/config.py POWERTOOLS_LAYER_RELEASES)"
    )


def test_the_tests_run_the_pinned_powertools() -> None:
    assert version("aws-lambda-powertools") == _pinned_powertools(), "reinstall: make venv"


def test_a_layer_version_other_than_the_tested_one_synthesises_with_a_warning(tmp_path: Any) -> None:
    app = build_app(outdir=str(tmp_path), context={f"{PREFIX}powertoolsLayerVersion": 31})
    stack = app.node.find_child("GgReset")
    assert isinstance(stack, Stack)
    warnings = [
        str(entry.data)
        for construct in stack.node.find_all()
        for entry in construct.node.metadata
        if entry.type == "aws:cdk:warning"
    ]
    assert any("powertoolsLayerVersion=31" in w and TESTED_POWERTOOLS_VERSION in w for w in warnings), (
        warnings
    )


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("workerMaxConcurrency", 1, "between 2 and 1000"),
        ("workerBatchSize", 11, "between 1 and 10"),
        ("workerBatchSize", "ten", "whole number"),
        ("workerTimeoutSeconds", 300, "lease"),
        ("greengrassRequestsPerSecond", 0, "between 0.1 and 10000"),
        ("greengrassRequestsPerSecond", -5, "between 0.1 and 10000"),
        ("greengrassRequestsPerSecond", 20_000, "between 0.1 and 10000"),
        ("greengrassRequestsPerSecond", "nan", "between 0.1 and 10000"),
        ("greengrassRequestsPerSecond", "fast", "expected a number"),
        ("greengrassRequestsPerSecond", True, "expected a number"),
        ("protectionFreshnessSeconds", -1, "between 0 and 3600"),
        ("protectionFreshnessSeconds", 3601, "between 0 and 3600"),
        ("protectionFreshnessSeconds", 1.5, "whole number"),
        ("sweepIntervalMinutes", 0, "between 1 and 60"),
        ("logRetentionDays", 31, "CloudWatch Logs accepts"),
        ("logLevel", "TRACE", "one of"),
        ("remediationDefault", "roll-back", "expected one of reset, rollback, notify"),
        ("rollbackFallback", "rollback", "expected one of notify, reset"),
        ("removalPolicy", "snapshot", "one of"),
        ("ledgerEncryption", "none", "one of"),
        ("allowedPrincipals", ["12345"], "neither a 12-digit account id"),
        ("allowedPrincipals", "arn:aws:iam::111111111111:group/admins", "neither a 12-digit account id"),
        ("organizationId", "my-org", "organization id"),
        ("alarmEmail", "not-an-email", "email address"),
        ("stackName", "1bad", "stack name"),
        ("powertoolsLayerArn", "arn:aws:lambda:eu-west-1:017000801446:layer:Powertools", "layer version ARN"),
        ("noSuchOption", 1, "unknown gg-reset context option"),
        ("teardown", "everything", "expected one of group, definitions, things"),
        ("thingsTeardown", "maybe", "expected true or false"),
        ("connectivitySource", "shadow", "expected one of none, fleet-index"),
        ("forceWhenDisconnectedFor", 299, "between 300 and 604800"),
        ("forceWhenDisconnectedFor", 604_801, "between 300 and 604800"),
        ("forceWhenDisconnectedFor", "1h", "whole number"),
    ],
)
def test_invalid_values_are_rejected_with_the_key_named(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        GgResetConfig.from_mapping({key: value})
    assert key in str(error.value)
