"""The Lambdas' settings from their environment: the values the stack sets, and clear errors."""

from __future__ import annotations

import pytest

from gg_reset import settings
from gg_reset.domain.enums import RemediationPolicy
from gg_reset.domain.safety import SafetyRules
from gg_reset.settings import ConfigurationError, Settings


@pytest.fixture(autouse=True)
def table(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_TABLE_NAME, "ledger")


def test_defaults_when_only_the_table_is_set() -> None:
    loaded = Settings.from_env()
    assert loaded.greengrass_rps == settings.DEFAULT_GREENGRASS_RPS
    assert loaded.invocation_rps == settings.DEFAULT_GREENGRASS_RPS
    assert loaded.policy.safety == SafetyRules()
    assert loaded.work_queue_url is None


def test_the_budget_is_shared_between_the_callers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_GREENGRASS_RPS, "12")
    monkeypatch.setenv(settings.ENV_GREENGRASS_CALLERS, "6")
    assert Settings.from_env().invocation_rps == 2.0


def test_safety_lists_and_the_account_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_ALLOW_LIST, '["lab-*", "g-1"]')
    monkeypatch.setenv(settings.ENV_DENY_LIST, '["lab-prod-*"]')
    monkeypatch.setenv(settings.ENV_ALLOWED_ACCOUNTS, '["111111111111"]')
    monkeypatch.setenv(settings.ENV_DEPLOYED_ACCOUNT, "111111111111")
    assert Settings.from_env().policy.safety == SafetyRules(
        allow=("lab-*", "g-1"), deny=("lab-prod-*",), accounts=("111111111111",), account="111111111111"
    )


def test_the_remediation_default_and_the_rollback_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings.from_env().policy.remediation_default is RemediationPolicy.RESET
    assert Settings.from_env().policy.rollback_fallback is RemediationPolicy.NOTIFY
    monkeypatch.setenv(settings.ENV_REMEDIATION_DEFAULT, "Rollback")
    monkeypatch.setenv(settings.ENV_ROLLBACK_FALLBACK, "reset")
    policy = Settings.from_env().policy
    assert (policy.remediation_default, policy.rollback_fallback) == (
        RemediationPolicy.ROLLBACK,
        RemediationPolicy.RESET,
    )


def test_protection_freshness_may_be_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(settings.ENV_PROTECTION_FRESHNESS, "0")
    assert Settings.from_env().policy.protection_freshness_s == 0


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (settings.ENV_DENY_LIST, "prod-*", "is not a JSON list of strings"),
        (settings.ENV_ALLOW_LIST, '{"a": 1}', "is not a JSON list of strings"),
        (settings.ENV_GREENGRASS_RPS, "0", "must be positive"),
        (settings.ENV_GREENGRASS_RPS, "fast", "is not a number"),
        (settings.ENV_GREENGRASS_CALLERS, "0", "must be positive"),
        (settings.ENV_RESET_TIMEOUT, "-5", "must be positive"),
        (settings.ENV_REMEDIATION_DEFAULT, "roll-back", "expected one of reset, rollback, notify"),
        (settings.ENV_ROLLBACK_FALLBACK, "rollback", "expected one of notify, reset"),
    ],
)
def test_a_malformed_setting_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name) as raised:
        Settings.from_env()
    assert message in str(raised.value)


def test_no_table_says_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(settings.ENV_TABLE_NAME)
    with pytest.raises(ConfigurationError, match="LEDGER_TABLE_NAME is not set"):
        Settings.from_env()
