"""Everything a platform team can configure, read from CDK context (`cdk.json` or `cdk deploy -c key=value`).

`CONTEXT_OPTIONS` is the single list of options: `GgResetConfig.from_node` parses and validates them,
`cdk.json` carries their defaults, the README's Deploy section documents them, and the infra tests check
that the three agree (and that the workflow defaults match `gg_reset.domain.policy.WorkflowPolicy`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from constructs import Node

from gg_reset import settings
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.workflow import CALL_LEASE

PREFIX: Final = "gg-reset:"

_POLICY = WorkflowPolicy()

CALL_LEASE_SECONDS: Final = int(CALL_LEASE.total_seconds())
"""How long a Greengrass call claimed in the ledger stays claimed. After that the sweeper (or another
worker) re-drives it, so no invocation that may claim a call may run this long (see `_check_lease`)."""
SWEEP_END_MARGIN_SECONDS: Final = 5
"""The sweeper stops this long before its next run starts and before a call lease it took can expire."""

POWERTOOLS_LAYER_RELEASES: Final[dict[int, str]] = {27: "3.23.0"}
"""Public Powertools for AWS Lambda (Python) v3 layer version -> the Powertools release it carries.

The one place that says which Powertools runs in Lambda. The default layer version's release is the exact
`aws-lambda-powertools` pin in pyproject.toml, so the tests run the Powertools the stack deploys
(`tests/infra/test_infra_config.py` fails when the two drift apart). To move: add the new layer version
here, make it the default, and pin pyproject.toml to its release.
"""
DEFAULT_POWERTOOLS_LAYER_VERSION: Final = 27
TESTED_POWERTOOLS_VERSION: Final = POWERTOOLS_LAYER_RELEASES[DEFAULT_POWERTOOLS_LAYER_VERSION]

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_PRINCIPAL_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:iam::\d{12}:(root|role/.+|user/.+)$")
_ORG_ID = re.compile(r"^o-[a-z0-9]{10,32}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_STACK_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9-]{0,127}$")

# Values CloudWatch Logs accepts for a retention period, in days.
LOG_RETENTION_DAYS: Final = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip

LOG_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR")
REMOVAL_POLICIES: Final = ("retain", "destroy")
LEDGER_ENCRYPTIONS: Final = ("aws-managed", "customer-managed")
LOGS_KMS_KEY_CREATE: Final = "create"
CONNECTIVITY_NONE: Final = "none"
CONNECTIVITY_FLEET_INDEX: Final = "fleet-index"
CONNECTIVITY_SOURCES: Final = (CONNECTIVITY_NONE, CONNECTIVITY_FLEET_INDEX)
FORCE_WHEN_DISCONNECTED_FOR_BOUNDS: Final = (300, 604_800)
"""Seconds a core must have been disconnected before its reset is forced at once: 5 minutes to 7 days."""
_KMS_KEY_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")


class ConfigError(ValueError):
    """A context value is malformed: the message names the key, the value and what is accepted."""


@dataclass(frozen=True, slots=True)
class ContextOption:
    key: str
    default: Any
    description: str


CONTEXT_OPTIONS: Final[tuple[ContextOption, ...]] = (
    ContextOption(
        "stackName", "GgReset", "CloudFormation stack name; also prefixes alarm and dashboard names."
    ),
    ContextOption(
        "resetTimeoutSeconds",
        _POLICY.reset_timeout_s,
        "How long a normal reset may stay unanswered before the workflow falls back to `Force=True`.",
    ),
    ContextOption(
        "forceResetTimeoutSeconds",
        _POLICY.force_timeout_s,
        "How long a forced reset may take before the request ends `FAILED`.",
    ),
    ContextOption(
        "protectionFreshnessSeconds",
        _POLICY.protection_freshness_s,
        "A protection check (the group's tags) older than this is read again right before a Greengrass "
        "write (a delayed reset, a forced reset, a roll back's redeployment, DeleteGroup). 0 re-reads "
        "before every write.",
    ),
    ContextOption(
        "remediationCap",
        _POLICY.remediation_cap,
        "At most this many automatic remediations of one group's failed deployments per window.",
    ),
    ContextOption(
        "remediationWindowSeconds", _POLICY.remediation_window_s, "The window `remediationCap` counts in."
    ),
    ContextOption(
        "remediationDefault",
        _POLICY.remediation_default.value,
        "What a failed deployment of a group without a valid `gg-reset:on-failure` tag leads to: `reset` "
        "(reset its deployments), `rollback` (redeploy its last successful deployment) or `notify` "
        "(record and notify only).",
    ),
    ContextOption(
        "rollbackFallback",
        _POLICY.rollback_fallback.value,
        "What a roll back falls back to when there is no good deployment to go back to or the "
        "redeployment fails: `notify` or `reset`.",
    ),
    ContextOption(
        "ledgerRetentionDays",
        _POLICY.retention_s // 86_400,
        "Finished workflows and their step history expire (DynamoDB TTL) this many days after they end.",
    ),
    ContextOption(
        "workerBatchSize",
        10,
        "SQS messages per worker invocation (1-10; partial batch failures are reported).",
    ),
    ContextOption(
        "workerMaxConcurrency",
        5,
        "Most concurrent worker invocations the SQS event source starts (2-1000). Each invocation, and the "
        "sweeper, gets an equal share of `greengrassRequestsPerSecond`.",
    ),
    ContextOption(
        "greengrassRequestsPerSecond",
        settings.DEFAULT_GREENGRASS_RPS,
        "Greengrass V1 requests per second the whole deployment may make (worker invocations, the sweeper "
        "and the janitor share it equally; each paces its calls client side and absorbs a 429 by waiting). "
        "Set it "
        "to the share of your account's Greengrass V1 API quota gg-reset may use.",
    ),
    ContextOption(
        "workerTimeoutSeconds",
        120,
        f"Worker Lambda timeout (10-{CALL_LEASE_SECONDS - 1}: shorter than the {CALL_LEASE_SECONDS} s "
        "lease on a claimed Greengrass call); the work queue's visibility timeout is six times this.",
    ),
    ContextOption("lambdaMemoryMb", 256, "Memory of the Lambdas (worker, sweeper and janitor)."),
    ContextOption(
        "maxReceiveCount",
        5,
        "Deliveries of one work-queue message before it moves to the work queue's dead-letter queue.",
    ),
    ContextOption(
        "sweepIntervalMinutes",
        1,
        "How often the sweeper runs: the safety net behind the workflow timers, it drives workflows "
        f"overdue by more than {settings.SWEEP_GRACE_S} s (a lost timer or status event, a crashed "
        "worker's call).",
    ),
    ContextOption(
        "allowList",
        [],
        "Group ids or name patterns (shell globs such as `lab-*`) gg-reset may act on; empty: every "
        "group. A request for any other group ends `REJECTED` with the reason.",
    ),
    ContextOption(
        "denyList",
        [],
        "Group ids or name patterns gg-reset must never act on; wins over `allowList`. Checked for every "
        "request, and again before every write.",
    ),
    ContextOption(
        "allowedAccounts",
        [],
        "The AWS account ids this deployment may act in: deployed anywhere else, every request ends "
        "`REJECTED` (account guard). Empty: no account guard.",
    ),
    ContextOption(
        "allowedPrincipals",
        [],
        "Other AWS account ids or IAM role/user ARNs allowed to put requests on the service bus "
        "(the deploying account always is).",
    ),
    ContextOption(
        "organizationId",
        None,
        "An AWS Organizations id (`o-...`): every principal of that organization may put requests on "
        "the bus.",
    ),
    ContextOption(
        "alarmEmail",
        None,
        "Email address subscribed to the notification topic (alarms and terminal failures).",
    ),
    ContextOption(
        "logRetentionDays", 30, "Retention of the Lambda log groups (a value CloudWatch Logs accepts)."
    ),
    ContextOption(
        "logLevel", "INFO", "`POWERTOOLS_LOG_LEVEL` of the Lambdas: DEBUG, INFO, WARNING or ERROR."
    ),
    ContextOption(
        "removalPolicy",
        "retain",
        "`retain` keeps the ledger table (with deletion protection), the KMS keys and the log groups when "
        "the stack is deleted; `destroy` deletes them too (for test deployments only).",
    ),
    ContextOption(
        "ledgerEncryption",
        "aws-managed",
        "`aws-managed` (the AWS managed key `aws/dynamodb`) or `customer-managed` (a KMS key with rotation, "
        "created by the stack).",
    ),
    ContextOption(
        "tracing",
        False,
        "X-Ray active tracing of the Lambdas (Powertools Tracer). Off by default: loading the X-Ray SDK "
        "costs every cold start about as much as importing boto3 (see `make bench`).",
    ),
    ContextOption(
        "logsKmsKey",
        None,
        "Encrypt every log group the stack creates with a customer-managed KMS key: `create` (a key with "
        "rotation, created by the stack, whose key policy lets CloudWatch Logs of the stack's region use it) "
        "or the ARN of an existing key (its key policy must allow `logs.<region>.amazonaws.com`). Empty: "
        "CloudWatch Logs' own encryption.",
    ),
    ContextOption(
        "queueMaxAgeSeconds",
        1800,
        "Alarm when the oldest message in the work queue is older than this (the worker is not keeping up).",
    ),
    ContextOption(
        "powertoolsLayerVersion",
        DEFAULT_POWERTOOLS_LAYER_VERSION,
        "Version of the public Powertools for AWS Lambda (Python) v3 layer "
        "`arn:aws:lambda:<region>:017000801446:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:<version>` "
        f"({DEFAULT_POWERTOOLS_LAYER_VERSION} is Powertools {TESTED_POWERTOOLS_VERSION}, the version the "
        "tests run; another version synthesises with a warning).",
    ),
    ContextOption(
        "powertoolsLayerArn",
        None,
        "Full Powertools layer ARN, overriding `powertoolsLayerVersion` (for a private copy of the layer, or "
        "partitions where the public layer lives in another account).",
    ),
    ContextOption(
        "teardown",
        _POLICY.teardown_default.value,
        "What a deletion removes when its request does not say (`teardown` in the request): `group` (the "
        "group and its versions), `definitions` (also every definition its versions reference, unless a "
        "remaining group still uses it) or `things` (also the core's AWS IoT certificate and thing; needs "
        "`thingsTeardown`). See docs/teardown.md.",
    ),
    ContextOption(
        "thingsTeardown",
        _POLICY.things_teardown,
        "`true`: deletions may remove the core's AWS IoT certificate and thing (`teardown=things`), and the "
        "worker and sweeper get the AWS IoT and Greengrass V2 permissions that takes. Off: no IoT "
        "permission at all, and a request for `things` is refused.",
    ),
    ContextOption(
        "connectivitySource",
        CONNECTIVITY_NONE,
        "`fleet-index`: a normal reset that may fall back to Force and has no Success after "
        f"{_POLICY.connectivity_check_after_s} s asks AWS IoT fleet indexing whether the group's core thing "
        "is connected (the worker and sweeper get `iot:SearchIndex` on the `AWS_Things` "
        "index and `greengrass:GetCoreDefinitionVersion`); a core disconnected for longer than "
        "`forceWhenDisconnectedFor` is reset with Force at once. Needs thing connectivity indexing in the "
        "account (docs/configuration.md). `none`: no such calls, no such permissions.",
    ),
    ContextOption(
        "forceWhenDisconnectedFor",
        3600,
        f"With `connectivitySource=fleet-index`: seconds ({FORCE_WHEN_DISCONNECTED_FOR_BOUNDS[0]}-"
        f"{FORCE_WHEN_DISCONNECTED_FOR_BOUNDS[1]}) a core must have been disconnected for its reset to "
        "go to Force without waiting for `resetTimeoutSeconds`. Ignored with `none`.",
    ),
    ContextOption(
        "janitorEnabled",
        False,
        "Deploy the janitor: a scheduled Lambda that selects groups (`janitorSelection`) and requests their "
        "deletion or reset, or only records its plan (`janitorDryRun`). It then counts as one more "
        "Greengrass caller with an equal share of `greengrassRequestsPerSecond`.",
    ),
    ContextOption(
        "janitorSchedule",
        settings.JANITOR_DEFAULT_SCHEDULE,
        "When the janitor runs: an EventBridge `rate(...)` of at least 15 minutes (the janitor's timeout) "
        "or a `cron(...)` expression (UTC).",
    ),
    ContextOption(
        "janitorSelection",
        settings.JANITOR_DEFAULT_SELECTION,
        "The groups the janitor selects: a JSON object of selection terms (`gg_reset.cleanup.selection`: "
        "`id`, `name`, `regex`, `tag`, `no-tag`, `older-than`, `idle`, `expired`, `not-deployed`; criteria "
        "AND, the values of one criterion OR). The default selects groups whose `gg-reset:expires-at` tag "
        "holds a date that has passed.",
    ),
    ContextOption(
        "janitorAction",
        settings.JANITOR_DEFAULT_ACTION,
        "What the janitor requests for the groups it selects: `delete` (reset, then delete) or `reset`.",
    ),
    ContextOption(
        "janitorDryRun",
        settings.JANITOR_DEFAULT_DRY_RUN,
        "`true`: the janitor records its plan in the ledger and notifies, and sends nothing.",
    ),
    ContextOption(
        "janitorMaxGroups",
        settings.JANITOR_DEFAULT_MAX_GROUPS,
        "Blast-radius cap: a run that would act on more groups than this (or than `janitorMaxPercent` of "
        "the fleet, whichever is smaller) records its plan, notifies, and sends nothing.",
    ),
    ContextOption(
        "janitorMaxPercent",
        int(settings.JANITOR_DEFAULT_MAX_PERCENT),
        "Blast-radius cap as a percentage of the fleet (the groups ListGroups returns), rounded down: with "
        "10, a fleet of 30 groups allows 3 per run.",
    ),
    ContextOption(
        "janitorTeardown",
        None,
        "What the janitor's deletion requests ask to remove: `group`, `definitions` or `things` (`things` "
        "needs `thingsTeardown`); only with `janitorAction=delete`. A dry run previews it per group. Empty: "
        "the requests leave it out, so `teardown` applies.",
    ),
)

_OPTIONS_BY_KEY: Final = {option.key: option for option in CONTEXT_OPTIONS}


def default_context() -> dict[str, Any]:
    """The `gg-reset:*` block of `cdk.json`."""
    return {PREFIX + option.key: option.default for option in CONTEXT_OPTIONS}


def _as_int(key: str, raw: Any, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected a whole number")
    if isinstance(raw, float) and not raw.is_integer():
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected a whole number")
    try:
        value = int(raw)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected a whole number") from exc
    if not low <= value <= high:
        raise ConfigError(f"{PREFIX}{key}={value}: must be between {low} and {high}")
    return value


def _as_number(key: str, raw: Any, low: float, high: float) -> float:
    if isinstance(raw, bool):
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected a number")
    try:
        value = float(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected a number") from exc
    if not low <= value <= high:  # also rejects nan
        raise ConfigError(f"{PREFIX}{key}={raw!r}: must be between {low:g} and {high:g}")
    return value


def sweeper_timeout_seconds(sweep_interval_minutes: int) -> int:
    """The sweeper's Lambda timeout: it ends before the next sweep starts and before a call lease it took
    (a Greengrass call it claimed) can run out and be re-driven by someone else."""
    return min(sweep_interval_minutes * 60, CALL_LEASE_SECONDS) - SWEEP_END_MARGIN_SECONDS


def _check_lease(worker_timeout_seconds: int, sweep_interval_minutes: int) -> None:
    """Every invocation that may claim a Greengrass call must end before the call's lease does."""
    if worker_timeout_seconds >= CALL_LEASE_SECONDS:
        raise ConfigError(
            f"{PREFIX}workerTimeoutSeconds={worker_timeout_seconds}: must be at most "
            f"{CALL_LEASE_SECONDS - 1}, shorter than the {CALL_LEASE_SECONDS} s lease on a claimed "
            "Greengrass call (gg_reset.domain.workflow.CALL_LEASE): a call claimed by a worker that is "
            "still running would be re-driven by another invocation and made twice"
        )
    sweeper_timeout = sweeper_timeout_seconds(sweep_interval_minutes)
    if not 0 < sweeper_timeout < CALL_LEASE_SECONDS:  # holds for 1-60 minutes; guards CALL_LEASE changes
        raise ConfigError(
            f"{PREFIX}sweepIntervalMinutes={sweep_interval_minutes}: the sweeper's timeout "
            f"({sweeper_timeout} s) must be positive and shorter than the {CALL_LEASE_SECONDS} s call lease"
        )


def _as_choice(key: str, raw: Any, choices: Sequence[str], *, upper: bool = False) -> str:
    value = str(raw).upper() if upper else str(raw).lower()
    if value not in choices:
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected one of {', '.join(choices)}")
    return value


def _as_optional_choice(key: str, raw: Any, choices: Sequence[str]) -> str | None:
    """One of `choices`, or None (unset, empty or `null`)."""
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "null")):
        return None
    return _as_choice(key, str(raw).strip(), choices)


def _check_teardown(key: str, level: str, things_teardown: bool) -> None:
    """`things` removes AWS IoT certificates and things: only with the switch that grants those calls."""
    if level == "things" and not things_teardown:
        raise ConfigError(
            f"{PREFIX}{key}=things needs {PREFIX}thingsTeardown=true: without it the stack grants none of "
            "the AWS IoT calls a things teardown makes (set both, or choose group or definitions)"
        )


def _as_optional_str(key: str, raw: Any, pattern: re.Pattern[str], what: str) -> str | None:
    if raw is None or raw == "" or raw == "null":
        return None
    value = str(raw).strip()
    if not pattern.match(value):
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected {what}")
    return value


def _as_logs_kms_key(key: str, raw: Any) -> str | None:
    """`create`, a KMS key ARN, or None (unset, empty or `null`)."""
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "null")):
        return None
    value = str(raw).strip()
    if value.lower() == LOGS_KMS_KEY_CREATE:
        return LOGS_KMS_KEY_CREATE
    if not _KMS_KEY_ARN.match(value):
        raise ConfigError(
            f"{PREFIX}{key}={raw!r}: expected `{LOGS_KMS_KEY_CREATE}`, the ARN of a KMS key "
            "(arn:aws:kms:<region>:<account>:key/<id>), or nothing"
        )
    return value


def _as_str_list(key: str, raw: Any) -> list[str]:
    """A JSON list from cdk.json, or from `-c` a JSON list string or a comma-separated string."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{PREFIX}{key}={text!r}: not a valid JSON list") from exc
        else:
            raw = [part for part in (p.strip() for p in text.split(",")) if part]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ConfigError(f"{PREFIX}{key}={raw!r}: expected a list of strings")
    return [item.strip() for item in raw]


_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_RATE_SECONDS: Final = {"minute": 60, "hour": 3600, "day": 86_400}
JANITOR_TIMEOUT_SECONDS: Final = 900
"""The janitor's Lambda timeout (Lambda's maximum): it may read a large fleet at one share of the budget."""
JANITOR_ACTIONS: Final = ("delete", "reset")


def _as_bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ConfigError(f"{PREFIX}{key}={raw!r}: expected true or false")


def _as_schedule(key: str, raw: Any) -> str:
    """An EventBridge schedule expression: `rate(N unit)` (singular unit for 1) of at least the janitor's
    timeout, so runs do not overlap, or `cron(...)` with its six fields."""
    text = str(raw).strip()
    rate = _RATE.match(text)
    if rate is not None:
        value, unit = int(rate.group(1)), rate.group(2)
        if value < 1 or (value == 1) != (not unit.endswith("s")):
            raise ConfigError(
                f"{PREFIX}{key}={raw!r}: EventBridge wants `rate(1 {unit.rstrip('s')})` for one and "
                f"`rate({max(value, 2)} {unit.rstrip('s')}s)` for more"
            )
        if value * _RATE_SECONDS[unit.rstrip("s")] < JANITOR_TIMEOUT_SECONDS:
            raise ConfigError(
                f"{PREFIX}{key}={raw!r}: at least {JANITOR_TIMEOUT_SECONDS // 60} minutes between runs "
                "(the janitor's timeout), so one run ends before the next starts"
            )
        return text
    if text.startswith("cron(") and text.endswith(")") and len(text[5:-1].split()) == 6:
        return text
    raise ConfigError(
        f"{PREFIX}{key}={raw!r}: expected an EventBridge schedule such as `rate(1 day)` or "
        "`cron(0 3 * * ? *)` (six fields)"
    )


def _as_selection(key: str, raw: Any) -> str:
    """The janitor's selection as canonical JSON: from a JSON object (cdk.json), or from `-c` its JSON
    text or its command-line terms (`expired name=lab-*`)."""
    from gg_reset.cleanup.selection import Selection, SelectionError

    try:
        if isinstance(raw, str) and not raw.strip().startswith("{"):
            selection = Selection.parse(raw)
        else:
            selection = Selection.from_json(raw)
    except SelectionError as exc:
        raise ConfigError(f"{PREFIX}{key}: {exc}") from None
    return json.dumps(selection.to_json(), sort_keys=True)


@dataclass(frozen=True, slots=True)
class GgResetConfig:
    stack_name: str
    reset_timeout_seconds: int
    force_reset_timeout_seconds: int
    remediation_cap: int
    remediation_window_seconds: int
    ledger_retention_days: int
    remediation_default: str
    rollback_fallback: str
    worker_batch_size: int
    worker_max_concurrency: int
    greengrass_requests_per_second: float
    protection_freshness_seconds: int
    worker_timeout_seconds: int
    lambda_memory_mb: int
    max_receive_count: int
    sweep_interval_minutes: int
    allowed_principals: tuple[str, ...]
    allow_list: tuple[str, ...]
    deny_list: tuple[str, ...]
    allowed_accounts: tuple[str, ...]
    organization_id: str | None
    alarm_email: str | None
    log_retention_days: int
    log_level: str
    removal_policy: str
    ledger_encryption: str
    queue_max_age_seconds: int
    powertools_layer_version: int
    powertools_layer_arn: str | None
    janitor_enabled: bool = False
    janitor_schedule: str = settings.JANITOR_DEFAULT_SCHEDULE
    janitor_selection: str = json.dumps(settings.JANITOR_DEFAULT_SELECTION, sort_keys=True)
    """Canonical JSON of the selection (`Selection.to_json`), validated at synthesis."""
    janitor_action: str = settings.JANITOR_DEFAULT_ACTION
    janitor_dry_run: bool = settings.JANITOR_DEFAULT_DRY_RUN
    janitor_max_groups: int = settings.JANITOR_DEFAULT_MAX_GROUPS
    janitor_max_percent: float = settings.JANITOR_DEFAULT_MAX_PERCENT
    tracing: bool = False
    """X-Ray active tracing of the Lambdas."""
    logs_kms_key: str | None = None
    """`create`, the ARN of an existing KMS key, or None (log groups use CloudWatch Logs' own encryption)."""
    teardown: str = _POLICY.teardown_default.value
    """What a deletion removes when its request does not say: `group`, `definitions` or `things`."""
    things_teardown: bool = _POLICY.things_teardown
    """Deletions may remove the core's AWS IoT certificate and thing (and the stack grants the IoT calls)."""
    janitor_teardown: str | None = None
    """What the janitor's deletion requests ask to remove; None: they leave it out."""
    connectivity_source: str = CONNECTIVITY_NONE
    """`fleet-index` (AWS IoT fleet indexing tells a silent core's connectivity) or `none`."""
    force_when_disconnected_for_seconds: int = 3600
    """With `fleet-index`: a core disconnected for longer than this is reset with Force at once."""

    @property
    def retain(self) -> bool:
        return self.removal_policy == "retain"

    @property
    def sweeper_timeout_seconds(self) -> int:
        return sweeper_timeout_seconds(self.sweep_interval_minutes)

    @property
    def force_when_disconnected_for(self) -> int | None:
        """What the worker and sweeper get as `FORCE_WHEN_DISCONNECTED_FOR_SECONDS`: the threshold with the
        fleet-index connectivity source, None (the variable is not set) without one."""
        if self.connectivity_source != CONNECTIVITY_FLEET_INDEX:
            return None
        return self.force_when_disconnected_for_seconds

    @property
    def greengrass_callers(self) -> int:
        """Invocations that may call Greengrass at once, each taking an equal share of the request budget:
        every worker invocation the event source may run, plus the sweeper (one schedule, one run at a
        time, since a sweep ends before the next starts), plus the janitor when it is enabled (its runs do
        not overlap either: its schedule is at least its timeout)."""
        return self.worker_max_concurrency + 1 + (1 if self.janitor_enabled else 0)

    @classmethod
    def from_node(cls, node: Node) -> GgResetConfig:
        """Read every option from the construct tree's context, falling back to the documented default."""
        return cls.from_mapping({opt.key: node.try_get_context(PREFIX + opt.key) for opt in CONTEXT_OPTIONS})

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> GgResetConfig:
        unknown = set(values) - set(_OPTIONS_BY_KEY)
        if unknown:
            raise ConfigError(f"unknown gg-reset context option(s): {', '.join(sorted(unknown))}")

        def get(key: str) -> Any:
            raw = values.get(key)
            return _OPTIONS_BY_KEY[key].default if raw is None else raw

        def num(key: str, low: int, high: int) -> int:
            return _as_int(key, get(key), low, high)

        allowed_accounts = _as_str_list("allowedAccounts", get("allowedAccounts"))
        for account in allowed_accounts:
            if not _ACCOUNT_ID.match(account):
                raise ConfigError(f"{PREFIX}allowedAccounts: {account!r} is not a 12-digit account id")
        principals = _as_str_list("allowedPrincipals", get("allowedPrincipals"))
        for principal in principals:
            if not (_ACCOUNT_ID.match(principal) or _PRINCIPAL_ARN.match(principal)):
                raise ConfigError(
                    f"{PREFIX}allowedPrincipals: {principal!r} is neither a 12-digit account id nor an IAM "
                    "root/role/user ARN"
                )
        stack_name = str(get("stackName"))
        if not _STACK_NAME.match(stack_name):
            raise ConfigError(f"{PREFIX}stackName={stack_name!r}: not a valid CloudFormation stack name")
        log_retention = num("logRetentionDays", 1, 3653)
        if log_retention not in LOG_RETENTION_DAYS:
            raise ConfigError(
                f"{PREFIX}logRetentionDays={log_retention}: CloudWatch Logs accepts "
                + ", ".join(str(days) for days in LOG_RETENTION_DAYS)
            )
        things_teardown = _as_bool("thingsTeardown", get("thingsTeardown"))
        teardown = _as_choice("teardown", get("teardown"), settings.TEARDOWN_LEVELS)
        _check_teardown("teardown", teardown, things_teardown)
        janitor_action = _as_choice("janitorAction", get("janitorAction"), JANITOR_ACTIONS)
        janitor_teardown = _as_optional_choice(
            "janitorTeardown", values.get("janitorTeardown"), settings.TEARDOWN_LEVELS
        )
        if janitor_teardown is not None:
            if janitor_action != "delete":
                raise ConfigError(
                    f"{PREFIX}janitorTeardown={janitor_teardown}: applies to deletions only, and "
                    f"{PREFIX}janitorAction is {janitor_action}: set janitorAction=delete or leave "
                    "janitorTeardown out"
                )
            _check_teardown("janitorTeardown", janitor_teardown, things_teardown)
        worker_timeout = num("workerTimeoutSeconds", 10, 900)
        sweep_minutes = num("sweepIntervalMinutes", 1, 60)
        _check_lease(worker_timeout, sweep_minutes)
        return cls(
            stack_name=stack_name,
            reset_timeout_seconds=num("resetTimeoutSeconds", 30, 86_400),
            force_reset_timeout_seconds=num("forceResetTimeoutSeconds", 30, 86_400),
            remediation_cap=num("remediationCap", 1, 1000),
            remediation_window_seconds=num("remediationWindowSeconds", 60, 30 * 86_400),
            ledger_retention_days=num("ledgerRetentionDays", 1, 3650),
            remediation_default=_as_choice(
                "remediationDefault", get("remediationDefault"), settings.REMEDIATION_POLICIES
            ),
            rollback_fallback=_as_choice(
                "rollbackFallback", get("rollbackFallback"), settings.ROLLBACK_FALLBACKS
            ),
            worker_batch_size=num("workerBatchSize", 1, 10),
            worker_max_concurrency=num("workerMaxConcurrency", 2, 1000),
            greengrass_requests_per_second=_as_number(
                "greengrassRequestsPerSecond", get("greengrassRequestsPerSecond"), 0.1, 10_000
            ),
            protection_freshness_seconds=num("protectionFreshnessSeconds", 0, 3600),
            worker_timeout_seconds=worker_timeout,
            lambda_memory_mb=num("lambdaMemoryMb", 128, 10_240),
            max_receive_count=num("maxReceiveCount", 1, 1000),
            sweep_interval_minutes=sweep_minutes,
            allowed_principals=tuple(dict.fromkeys(principals)),
            allow_list=tuple(_as_str_list("allowList", get("allowList"))),
            deny_list=tuple(_as_str_list("denyList", get("denyList"))),
            allowed_accounts=tuple(dict.fromkeys(allowed_accounts)),
            organization_id=_as_optional_str(
                "organizationId",
                values.get("organizationId"),
                _ORG_ID,
                "an organization id like o-a1b2c3d4e5",
            ),
            alarm_email=_as_optional_str("alarmEmail", values.get("alarmEmail"), _EMAIL, "an email address"),
            log_retention_days=log_retention,
            log_level=_as_choice("logLevel", get("logLevel"), LOG_LEVELS, upper=True),
            removal_policy=_as_choice("removalPolicy", get("removalPolicy"), REMOVAL_POLICIES),
            ledger_encryption=_as_choice("ledgerEncryption", get("ledgerEncryption"), LEDGER_ENCRYPTIONS),
            queue_max_age_seconds=num("queueMaxAgeSeconds", 60, 14 * 86_400),
            powertools_layer_version=num("powertoolsLayerVersion", 1, 10_000),
            powertools_layer_arn=_as_optional_str(
                "powertoolsLayerArn",
                values.get("powertoolsLayerArn"),
                re.compile(r"^arn:aws[a-zA-Z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$"),
                "a Lambda layer version ARN",
            ),
            tracing=_as_bool("tracing", get("tracing")),
            janitor_enabled=_as_bool("janitorEnabled", get("janitorEnabled")),
            janitor_schedule=_as_schedule("janitorSchedule", get("janitorSchedule")),
            janitor_selection=_as_selection("janitorSelection", get("janitorSelection")),
            janitor_action=janitor_action,
            janitor_dry_run=_as_bool("janitorDryRun", get("janitorDryRun")),
            janitor_max_groups=num("janitorMaxGroups", 0, 10_000),
            janitor_max_percent=_as_number("janitorMaxPercent", get("janitorMaxPercent"), 0, 100),
            logs_kms_key=_as_logs_kms_key("logsKmsKey", values.get("logsKmsKey")),
            teardown=teardown,
            things_teardown=things_teardown,
            janitor_teardown=janitor_teardown,
            connectivity_source=_as_choice(
                "connectivitySource", get("connectivitySource"), CONNECTIVITY_SOURCES
            ),
            force_when_disconnected_for_seconds=num(
                "forceWhenDisconnectedFor", *FORCE_WHEN_DISCONNECTED_FOR_BOUNDS
            ),
        )
