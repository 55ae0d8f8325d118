"""Context options: one list, the same defaults in cdk.json, the docs and the workflow code; clear errors."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gg_reset.domain.policy import WorkflowPolicy
from infra.bundling import REPO_ROOT
from infra.config import CONTEXT_OPTIONS, PREFIX, ConfigError, GgResetConfig, default_context

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


def test_readme_deploy_section_documents_every_option_and_its_default() -> None:
    doc = (REPO_ROOT / "README.md").read_text(encoding="utf-8").split("## Deploy", 1)[1]
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
    ("key", "value", "message"),
    [
        ("workerMaxConcurrency", 1, "between 2 and 1000"),
        ("workerBatchSize", 11, "between 1 and 10"),
        ("workerBatchSize", "ten", "whole number"),
        ("sweepIntervalMinutes", 0, "between 1 and 60"),
        ("logRetentionDays", 31, "CloudWatch Logs accepts"),
        ("logLevel", "TRACE", "one of"),
        ("removalPolicy", "snapshot", "one of"),
        ("ledgerEncryption", "none", "one of"),
        ("allowedPrincipals", ["12345"], "neither a 12-digit account id"),
        ("allowedPrincipals", "arn:aws:iam::111111111111:group/admins", "neither a 12-digit account id"),
        ("organizationId", "my-org", "organization id"),
        ("alarmEmail", "not-an-email", "email address"),
        ("stackName", "1bad", "stack name"),
        ("powertoolsLayerArn", "arn:aws:lambda:eu-west-1:017000801446:layer:Powertools", "layer version ARN"),
        ("noSuchOption", 1, "unknown gg-reset context option"),
    ],
)
def test_invalid_values_are_rejected_with_the_key_named(key: str, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        GgResetConfig.from_mapping({key: value})
    assert key in str(error.value)
