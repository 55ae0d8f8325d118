"""Names and settings shared by the stack, the Lambdas and the local runtime.

The stack passes these to the Lambdas as environment variables; the local runtime sets the same ones, so
a handler cannot tell which of the two it runs in.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from gg_reset.domain.enums import RemediationPolicy
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.remediation import FALLBACKS, ON_FAILURE_TAG
from gg_reset.domain.safety import PROTECT_TAG, SafetyRules
from gg_reset.domain.teardown import Teardown

SERVICE_NAME: Final = "gg-reset"
METRICS_NAMESPACE: Final = "GgReset"
DEFAULT_BUS_NAME: Final = "gg-reset"
PROTECT_TAG_KEY: Final = PROTECT_TAG[0]
"""The protection tag's key (the domain's `PROTECT_TAG`), for the stack's IAM Deny."""
ON_FAILURE_TAG_KEY: Final = ON_FAILURE_TAG
"""The tag that chooses a group's remediation policy (`reset`, `rollback`, `notify`)."""
REMEDIATION_POLICIES: Final = tuple(p.value for p in RemediationPolicy)
ROLLBACK_FALLBACKS: Final = tuple(p.value for p in FALLBACKS)

ENV_TABLE_NAME: Final = "LEDGER_TABLE_NAME"
ENV_BUS_NAME: Final = "EVENT_BUS_NAME"
ENV_TOPIC_ARN: Final = "NOTIFICATION_TOPIC_ARN"
ENV_RESET_TIMEOUT: Final = "RESET_TIMEOUT_SECONDS"
ENV_FORCE_TIMEOUT: Final = "FORCE_RESET_TIMEOUT_SECONDS"
ENV_REMEDIATION_CAP: Final = "REMEDIATION_CAP"
ENV_REMEDIATION_WINDOW: Final = "REMEDIATION_WINDOW_SECONDS"
ENV_REMEDIATION_DEFAULT: Final = "REMEDIATION_DEFAULT"
"""`reset`, `rollback` or `notify`: the remediation of groups without a valid `gg-reset:on-failure` tag."""
ENV_ROLLBACK_FALLBACK: Final = "ROLLBACK_FALLBACK"
"""`notify` or `reset`: what a roll back falls back to when it cannot be made or fails."""
ENV_RETENTION_DAYS: Final = "LEDGER_RETENTION_DAYS"
ENV_GREENGRASS_ENDPOINT: Final = "GREENGRASS_ENDPOINT_URL"
ENV_GREENGRASS_RPS: Final = "GREENGRASS_REQUESTS_PER_SECOND"
"""The deployment's Greengrass request budget (requests per second, all invocations together)."""
ENV_GREENGRASS_CALLERS: Final = "GREENGRASS_CONCURRENT_CALLERS"
"""How many invocations may call Greengrass at once (worker max concurrency + the sweeper): each gets an
equal share of the budget."""
ENV_PROTECTION_FRESHNESS: Final = "PROTECTION_FRESHNESS_SECONDS"
ENV_WORK_QUEUE_URL: Final = "WORK_QUEUE_URL"
ENV_ALLOW_LIST: Final = "GROUP_ALLOW_LIST"
"""JSON list of group id or name patterns gg-reset may act on (empty: every group)."""
ENV_DENY_LIST: Final = "GROUP_DENY_LIST"
"""JSON list of group id or name patterns gg-reset must never act on (wins over the allow list)."""
ENV_ALLOWED_ACCOUNTS: Final = "ALLOWED_ACCOUNTS"
"""JSON list of the AWS account ids this deployment may act in (empty: no account guard)."""
ENV_DEPLOYED_ACCOUNT: Final = "DEPLOYED_ACCOUNT"
"""The account the stack was deployed in (CloudFormation's AWS::AccountId)."""
"""Where the workflow's timers go: delayed messages on the work queue."""

ENV_FORCE_WHEN_DISCONNECTED_FOR: Final = "FORCE_WHEN_DISCONNECTED_FOR_SECONDS"
"""Set: AWS IoT fleet indexing is the connectivity source, and a normal reset whose core has been
disconnected for longer than this many seconds is escalated to Force at once (`gg-reset:connectivitySource`,
`gg-reset:forceWhenDisconnectedFor`). Unset: no connectivity source."""
SEARCH_INDEX_RPS: Final = 5.0
"""`iot:SearchIndex` calls per second per invocation: a conservative share of its own quota."""
ENV_TEARDOWN_DEFAULT: Final = "TEARDOWN_DEFAULT"
"""What a deletion removes when its request does not say: `group`, `definitions` or `things`
(`gg-reset:teardown`)."""
ENV_THINGS_TEARDOWN: Final = "THINGS_TEARDOWN"
"""`true`: deletions may remove the core's AWS IoT certificate and thing (`gg-reset:thingsTeardown`; the stack
grants the IoT and Greengrass V2 calls only then)."""
TEARDOWN_LEVELS: Final = tuple(t.value for t in Teardown)

ENV_JANITOR_SELECTION: Final = "JANITOR_SELECTION"
"""The janitor's selection: a JSON object of `gg_reset.cleanup.selection` terms
(`gg-reset:janitorSelection`)."""
ENV_JANITOR_ACTION: Final = "JANITOR_ACTION"
"""`delete` or `reset`: what the janitor requests for the groups it selects."""
ENV_JANITOR_DRY_RUN: Final = "JANITOR_DRY_RUN"
"""`true`: the janitor records its plan and sends nothing."""
ENV_JANITOR_TEARDOWN: Final = "JANITOR_TEARDOWN"
"""For a deleting janitor: `group`, `definitions` or `things` in each request (unset: the default)."""
ENV_JANITOR_MAX_GROUPS: Final = "JANITOR_MAX_GROUPS"
ENV_JANITOR_MAX_PERCENT: Final = "JANITOR_MAX_PERCENT"
"""The blast-radius cap: a run acts on at most this many groups and this percentage of the fleet."""

JANITOR_DEFAULT_SELECTION: Final[dict[str, object]] = {"expired": True}
"""Groups whose `gg-reset:expires-at` tag holds a date that has passed."""
JANITOR_DEFAULT_ACTION: Final = "delete"
JANITOR_DEFAULT_DRY_RUN: Final = True
JANITOR_DEFAULT_MAX_GROUPS: Final = 50
JANITOR_DEFAULT_MAX_PERCENT: Final = 10.0
JANITOR_DEFAULT_SCHEDULE: Final = "rate(1 day)"
JANITOR_CALLS_PER_REQUEST: Final = 5
"""About what one deletion costs the Greengrass budget once the workers carry it out: GetGroup,
ResetDeployments, a GetGroup re-check when the last check is stale, at most one GetDeploymentStatus (at
the deadline, when no status event came) and DeleteGroup. The janitor sends at most
`greengrass_rps / JANITOR_CALLS_PER_REQUEST` requests per second, so what it sends can be carried out at
the budget instead of piling up in the work queue (a reset costs less: the estimate errs on the slow
side)."""

DEFAULT_GREENGRASS_RPS: Final = 5.0
"""A conservative share of an account's Greengrass V1 control-plane quota; raise it to what your account
allows (minus what other tools use)."""
SWEEP_GRACE_S: Final = 60
"""The sweeper drives only workflows overdue by more than this: their timer message should have fired
by then, so the sweeper is the safety net for lost timers and lost status events, not the engine."""


class ConfigurationError(RuntimeError):
    """A required setting is missing or malformed; the message names the variable and what to set."""


def _int_env(name: str, default: int, *, allow_zero: bool = False) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a whole number of seconds/items") from exc
    if value < 0 or (value == 0 and not allow_zero):
        raise ConfigurationError(
            f"{name} must be {'zero or more' if allow_zero else 'positive'}, got {value}"
        )
    return value


def _choice_env(
    name: str, default: RemediationPolicy, choices: Iterable[RemediationPolicy] = tuple(RemediationPolicy)
) -> RemediationPolicy:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    allowed = [c.value for c in choices]
    if raw.strip().lower() not in allowed:
        raise ConfigurationError(f"{name}={raw!r}: expected one of {', '.join(allowed)}")
    return RemediationPolicy(raw.strip().lower())


def _bool_env(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise ConfigurationError(f"{name}={raw!r}: expected true or false")
    return value == "true"


def _teardown_env(name: str, default: Teardown) -> Teardown:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.strip().lower() not in TEARDOWN_LEVELS:
        raise ConfigurationError(f"{name}={raw!r}: expected one of {', '.join(TEARDOWN_LEVELS)}")
    return Teardown(raw.strip().lower())


def _float_env(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from exc
    if not value > 0:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value


def _list_env(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return ()
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ConfigurationError(f"{name}={raw!r} is not a JSON list of strings") from exc
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigurationError(f"{name}={raw!r} is not a JSON list of strings")
    return tuple(value)


def safety_from_env() -> SafetyRules:
    return SafetyRules(
        allow=_list_env(ENV_ALLOW_LIST),
        deny=_list_env(ENV_DENY_LIST),
        accounts=_list_env(ENV_ALLOWED_ACCOUNTS),
        account=os.environ.get(ENV_DEPLOYED_ACCOUNT) or None,
    )


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    bus_name: str
    topic_arn: str | None
    policy: WorkflowPolicy
    greengrass_rps: float = DEFAULT_GREENGRASS_RPS
    """The deployment's Greengrass request budget."""
    greengrass_callers: int = 1
    """Invocations that may call Greengrass at once; each paces itself at `invocation_rps`."""
    work_queue_url: str | None = None

    @property
    def invocation_rps(self) -> float:
        """This invocation's share of the budget."""
        return self.greengrass_rps / self.greengrass_callers

    @classmethod
    def from_env(cls) -> Settings:
        table = os.environ.get(ENV_TABLE_NAME)
        if not table:
            raise ConfigurationError(
                f"{ENV_TABLE_NAME} is not set: it must name the gg-reset ledger table "
                "(the stack sets it; locally, LocalService does)"
            )
        defaults = WorkflowPolicy()
        things = _bool_env(ENV_THINGS_TEARDOWN, defaults.things_teardown)
        teardown = _teardown_env(ENV_TEARDOWN_DEFAULT, defaults.teardown_default)
        if teardown is Teardown.THINGS and not things:
            raise ConfigurationError(
                f"{ENV_TEARDOWN_DEFAULT}=things needs {ENV_THINGS_TEARDOWN}=true (the AWS IoT calls it makes)"
            )
        policy = WorkflowPolicy(
            reset_timeout_s=_int_env(ENV_RESET_TIMEOUT, defaults.reset_timeout_s),
            force_timeout_s=_int_env(ENV_FORCE_TIMEOUT, defaults.force_timeout_s),
            remediation_cap=_int_env(ENV_REMEDIATION_CAP, defaults.remediation_cap),
            remediation_window_s=_int_env(ENV_REMEDIATION_WINDOW, defaults.remediation_window_s),
            retention_s=_int_env(ENV_RETENTION_DAYS, defaults.retention_s // 86400) * 86400,
            protection_freshness_s=_int_env(
                ENV_PROTECTION_FRESHNESS, defaults.protection_freshness_s, allow_zero=True
            ),
            remediation_default=_choice_env(ENV_REMEDIATION_DEFAULT, defaults.remediation_default),
            rollback_fallback=_choice_env(ENV_ROLLBACK_FALLBACK, defaults.rollback_fallback, FALLBACKS),
            safety=safety_from_env(),
            teardown_default=teardown,
            things_teardown=things,
            force_when_disconnected_for_s=(
                _int_env(ENV_FORCE_WHEN_DISCONNECTED_FOR, 0, allow_zero=True)
                if os.environ.get(ENV_FORCE_WHEN_DISCONNECTED_FOR)
                else None
            ),
        )
        return cls(
            table_name=table,
            bus_name=os.environ.get(ENV_BUS_NAME, DEFAULT_BUS_NAME),
            topic_arn=os.environ.get(ENV_TOPIC_ARN) or None,
            policy=policy,
            greengrass_rps=_float_env(ENV_GREENGRASS_RPS, DEFAULT_GREENGRASS_RPS),
            greengrass_callers=_int_env(ENV_GREENGRASS_CALLERS, 1),
            work_queue_url=os.environ.get(ENV_WORK_QUEUE_URL) or None,
        )
