"""`gg-reset:logsKmsKey`: off by default; `create` (the custom deployment) encrypts every log group with a key
of the stack that CloudWatch Logs of the stack's region may use; a key ARN (the janitor deployment, see
test_infra_janitor.py) uses that key. Parsing of the option."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, GgResetConfig
from infra.constructs.logs_encryption import LOGS_KEY_ACTIONS
from infra.testing import Synth

pytestmark = pytest.mark.infra

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _log_groups(s: Synth) -> dict[str, dict[str, Any]]:
    groups = s.resources("AWS::Logs::LogGroup")
    assert len(groups) >= 2  # the worker's and the sweeper's at least: the probe sees something
    return groups


def test_by_default_log_groups_use_cloudwatch_logs_own_encryption(synth: Synth) -> None:
    assert synth.config.logs_kms_key is None
    for logical_id, group in _log_groups(synth).items():
        assert "KmsKeyId" not in group["Properties"], logical_id
    assert not any("LogsEncryption" in logical_id for logical_id in synth.template_json["Resources"])


def test_create_encrypts_every_log_group_with_a_rotated_key_of_the_stack(custom_synth: Synth) -> None:
    key_id = custom_synth.logical_id("LogsEncryption/Key")
    for logical_id, group in _log_groups(custom_synth).items():
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}, logical_id
    key = custom_synth.template_json["Resources"][key_id]
    assert key["Properties"]["EnableKeyRotation"] is True
    assert key["DeletionPolicy"] == "Delete"  # the custom deployment is removalPolicy=destroy


def test_the_key_policy_lets_cloudwatch_logs_of_this_region_use_it_for_this_account_only(
    custom_synth: Synth,
) -> None:
    key = custom_synth.template_json["Resources"][custom_synth.logical_id("LogsEncryption/Key")]
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    (logs,) = [s for s in statements if s.get("Sid") == "AllowCloudWatchLogsOfThisRegion"]
    assert logs["Effect"] == "Allow"
    assert logs["Principal"] == {
        "Service": {"Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]}
    }
    assert sorted(logs["Action"]) == sorted(LOGS_KEY_ACTIONS)
    assert logs["Condition"] == {
        "ArnLike": {
            "kms:EncryptionContext:aws:logs:arn": {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        ":logs:",
                        {"Ref": "AWS::Region"},
                        ":",
                        {"Ref": "AWS::AccountId"},
                        ":log-group:*",
                    ],
                ]
            }
        }
    }
    # Besides it, only the account's own administration of the key (CDK's default key policy).
    others = [s for s in statements if s is not logs]
    assert [s["Action"] for s in others] == ["kms:*"]
    assert others[0]["Principal"]["AWS"]["Fn::Join"][1][-1] == ":root"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, None),
        ("", None),
        ("null", None),
        ("create", "create"),
        ("CREATE", "create"),
        (KEY_ARN, KEY_ARN),
        (f" {KEY_ARN} ", KEY_ARN),
        (
            "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd",
            "arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd",
        ),
    ],
)
def test_logs_kms_key_accepts_create_a_key_arn_or_nothing(raw: Any, expected: str | None) -> None:
    assert GgResetConfig.from_mapping({"logsKmsKey": raw}).logs_kms_key == expected


@pytest.mark.parametrize(
    "raw",
    [
        "yes",
        "alias/my-logs-key",  # CloudWatch Logs wants the key's ARN, not an alias
        "arn:aws:kms:eu-west-1:123456789012:alias/my-logs-key",
        "1234abcd-12ab-34cd-56ef-1234567890ab",
        "arn:aws:kms:eu-west-1:12345:key/1234abcd",
    ],
)
def test_logs_kms_key_rejects_anything_else(raw: str) -> None:
    with pytest.raises(ConfigError, match="logsKmsKey"):
        GgResetConfig.from_mapping({"logsKmsKey": raw})
