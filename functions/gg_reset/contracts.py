"""The events gg-reset consumes: one source of truth for their shape and for the EventBridge patterns.

The CDK stack builds its rules from `REQUEST_PATTERN` and `deployment_status_pattern()`, the local runtime
installs the very same patterns on its emulated buses, and the worker parses with the readers below, so the
rules, the emulator and the parser cannot drift apart.

Standard library only, for the worker's and the janitor's cold start: building pydantic models cost each of
them about half of `import boto3` again. The contract is the one the pydantic models had (same fields,
bounds, defaults, choices and error messages, extra keys ignored): `tests/support/reference_contracts.py`
keeps those models as the reference, and `tests/unit/contracts/` fuzzes both with the same inputs. Where
this contract is deliberately stricter:

- `time` must be an RFC 3339 timestamp with an offset, as EventBridge always writes it (pydantic also took
  naive times, dates and Unix numbers; a naive time would have reached the workflow as a naive datetime);
- keys are the kebab-case aliases only (pydantic also took the Python names, `group_id`, by accident);
- the envelope's strings (`version`, `id`, `source`, `account`, `region`, `replay-name`) must be text that
  UTF-8 can encode: pydantic let a lone surrogate (`"\\ud800"`) through them, unconstrained as they were, and
  `id` becomes a request id, a ledger key (`resources`, which nothing reads, still takes one, as it did).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Self, TypeVar

# Re-exported: the contracts speak the domain's vocabulary (`X as X` marks an explicit re-export).
from gg_reset.domain.enums import RESET_DEPLOYMENT_TYPES as RESET_DEPLOYMENT_TYPES
from gg_reset.domain.enums import DeploymentStatus as DeploymentStatus
from gg_reset.domain.enums import DeploymentType as DeploymentType
from gg_reset.domain.enums import ForcePolicy as ForcePolicy
from gg_reset.domain.teardown import Teardown as Teardown
from gg_reset.timer_messages import DUE_AT_FIELD, GROUP_ID_FIELD, GROUP_ID_MAX, GROUP_ID_PATTERN
from gg_reset.timer_messages import TIMER_KEY as TIMER_KEY
from gg_reset.timer_messages import timer_message_body as timer_message_body

SERVICE_SOURCE = "gg-reset"
"""`source` of every request on the service bus. Callers other than gg-reset itself may use their own."""

GREENGRASS_SOURCE = "aws.greengrass"


class DetailType(StrEnum):
    RESET_REQUESTED = "Greengrass Group Reset Requested"
    DELETION_REQUESTED = "Greengrass Group Deletion Requested"
    DEPLOYMENT_STATUS_CHANGE = "Greengrass Deployment Status Change"


def is_clean_text(value: str) -> bool:
    """Printable, and encodable as UTF-8 (a lone surrogate is not)."""
    return value.isprintable() and _is_unicode(value)


def _require_unicode(value: str) -> None:
    if not _is_unicode(value):
        raise ValueError(_NOT_UNICODE)


def _is_unicode(value: str) -> bool:
    """Whether `value` is text at all: JSON can carry a lone surrogate (`"\\ud800"`), UTF-8 cannot."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


REQUEST_DETAIL_TYPES = (DetailType.RESET_REQUESTED.value, DetailType.DELETION_REQUESTED.value)
RESET_REQUESTED: Final = DetailType.RESET_REQUESTED.value


# --- reading untrusted JSON ------------------------------------------------------------------------------

Location = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class FieldError:
    loc: Location
    msg: str

    def __str__(self) -> str:
        where = ".".join(str(part) for part in self.loc)
        return f"{where}: {self.msg}" if where else self.msg


class ContractError(ValueError):
    """What is wrong with an event, field by field (every field is checked, not just the first)."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors: tuple[FieldError, ...] = tuple(errors)

    def describe(self, limit: int = 5) -> str:
        """One line a requester can act on: which fields, what was wrong."""
        return "; ".join(str(e) for e in self.errors[:limit])


class _Missing:
    pass


MISSING: Final = _Missing()
_E = TypeVar("_E", bound=StrEnum)
_T = TypeVar("_T")
_GROUP_ID: Final = re.compile(GROUP_ID_PATTERN)
_TRUE: Final = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE: Final = frozenset({"0", "off", "f", "false", "n", "no"})
_RFC3339: Final = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:[0-5]\d)", re.ASCII
)
_NOT_UNICODE: Final = "Input should be a valid string, unable to parse raw data as a unicode string"
_NOT_BOOLEAN: Final = "Input should be a valid boolean"


def _quoted_choices(values: list[str]) -> str:
    quoted = [repr(v) for v in values]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"


class _Reader:
    """Reads the fields of one JSON object, collecting an error per bad field instead of stopping."""

    def __init__(self, raw: object, loc: Location, errors: list[FieldError]) -> None:
        self.loc = loc
        self.errors = errors
        self.is_object = isinstance(raw, dict)
        self.fields: Mapping[str, Any] = raw if isinstance(raw, dict) else {}
        if not self.is_object:
            self.fail((), "Input should be an object")

    def fail(self, key: Location, msg: str) -> None:
        self.errors.append(FieldError(self.loc + key, msg))

    def field(self, key: str, read: Callable[[Any], _T], default: _T | _Missing = MISSING) -> Any:
        """`read(value)` of the field, its default when absent, or `MISSING` after recording the error
        (`read` raises `ValueError` with the message). Not an object: `MISSING`, one error for all."""
        if not self.is_object:
            return MISSING
        if key not in self.fields:
            if isinstance(default, _Missing):
                self.fail((key,), "Field required")
            return default
        try:
            return read(self.fields[key])
        except _ItemError as error:
            for index in error.indexes:
                self.fail((key, index), str(error))
        except ValueError as error:
            self.fail((key,), str(error))
        return MISSING


class _ItemError(ValueError):
    """The items of a list that are wrong, all with the same message."""

    def __init__(self, indexes: list[int], msg: str) -> None:
        super().__init__(msg)
        self.indexes = indexes


def text(
    *, min_length: int = 0, max_length: int | None = None, group_id: bool = False
) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("Input should be a valid string")
        if not _is_unicode(value):
            raise ValueError(_NOT_UNICODE)
        if len(value) < min_length:
            raise ValueError(f"String should have at least {min_length} character{'s' * (min_length != 1)}")
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"String should have at most {max_length} characters")
        if group_id and not _GROUP_ID.fullmatch(value):
            raise ValueError(f"String should match pattern '{GROUP_ID_PATTERN}'")
        return value

    return read


def clean_text(*, max_length: int) -> Callable[[Any], str]:
    """Text copied into log lines, step details and reports: no control characters."""
    plain = text(min_length=1, max_length=max_length)

    def read(value: Any) -> str:
        checked = plain(value)
        if not is_clean_text(checked):
            raise ValueError("Value error, must be printable text (no control characters)")
        return checked

    return read


def optional(read: Callable[[Any], _T]) -> Callable[[Any], _T | None]:
    return lambda value: None if value is None else read(value)


def choice(enum: type[_E], *, lower: bool = False) -> Callable[[Any], _E]:
    values = [member.value for member in enum]

    def read(value: Any) -> _E:
        if isinstance(value, str):
            _require_unicode(value)
            try:
                return enum(value.lower() if lower else value)
            except ValueError:
                pass
        raise ValueError(f"Input should be {_quoted_choices(values)}")

    return read


def literal(*allowed: str) -> Callable[[Any], str]:
    def read(value: Any) -> str:
        if isinstance(value, str) and value in allowed:
            return value
        if isinstance(value, str):
            _require_unicode(value)
        raise ValueError(f"Input should be {_quoted_choices(list(allowed))}")

    return read


def flag(value: Any) -> bool:
    """A boolean, read as leniently as the pydantic contract did: `true`, `"yes"`, `1`... With its two
    messages: a string or a whole number it cannot interpret, and any other value (`null`, `0.5`, a list)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and -(2**63) <= value < 2**63:  # pydantic's whole numbers are 64-bit
        if value in (0, 1):
            return bool(value)
        raise ValueError(f"{_NOT_BOOLEAN}, unable to interpret input")
    if isinstance(value, str):
        _require_unicode(value)
        if value.lower() in _TRUE | _FALSE:
            return value.lower() in _TRUE
        raise ValueError(f"{_NOT_BOOLEAN}, unable to interpret input")
    raise ValueError(_NOT_BOOLEAN)


def timestamp(value: Any) -> datetime:
    """An RFC 3339 timestamp with its offset (`2026-01-01T03:00:00Z`), fractions cut to microseconds."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("Input should be an RFC 3339 timestamp with an offset, like 2026-01-01T03:00:00Z")
    day, clock, fraction, offset = match.groups()
    micro = f".{(fraction + '000000')[:6]}" if fraction else ""
    try:
        return datetime.fromisoformat(f"{day}T{clock}{micro}{'+00:00' if offset in 'Zz' else offset}")
    except ValueError as error:
        raise ValueError(f"Input should be a valid datetime, {error}") from error


def texts(value: Any) -> list[str]:
    """A list of strings (EventBridge's `resources`), unconstrained as Powertools' model has it."""
    if not isinstance(value, list):
        raise ValueError("Input should be a valid list")
    bad = [index for index, item in enumerate(value) if not isinstance(item, str)]
    if bad:
        raise _ItemError(bad, "Input should be a valid string")
    return list(value)


def _complete(errors: list[FieldError]) -> None:
    if errors:
        raise ContractError(errors)


# --- the events --------------------------------------------------------------------------------------------

GROUP_ID: Final = text(min_length=1, max_length=GROUP_ID_MAX, group_id=True)


@dataclass(frozen=True, slots=True)
class GroupRequestDetail:
    """`detail` of a reset or deletion request on the service bus (kebab-case keys, like AWS events)."""

    group_id: str
    requested_by: str = "unknown"
    reason: str = ""
    force: ForcePolicy = ForcePolicy.AUTO
    dry_run: bool = False
    request_id: str | None = None
    teardown: Teardown | None = None
    """Deletions only: `group`, `definitions` or `things` (absent: the deployment's default)."""

    @classmethod
    def read(cls, raw: object, loc: Location, errors: list[FieldError]) -> Self | None:
        r = _Reader(raw, loc, errors)
        values = {
            "group_id": r.field(GROUP_ID_FIELD, GROUP_ID),
            "requested_by": r.field("requested-by", text(max_length=256), "unknown"),
            "reason": r.field("reason", text(max_length=1024), ""),
            "force": r.field("force", choice(ForcePolicy, lower=True), ForcePolicy.AUTO),
            "dry_run": r.field("dry-run", flag, False),
            "request_id": r.field("request-id", optional(clean_text(max_length=128)), None),
            "teardown": r.field("teardown", optional(choice(Teardown, lower=True)), None),
        }
        return None if MISSING in values.values() or not isinstance(raw, dict) else cls(**values)

    @classmethod
    def parse(cls, raw: object) -> Self:
        errors: list[FieldError] = []
        detail = cls.read(raw, (), errors)
        _complete(errors)
        assert detail is not None
        return detail

    def to_json(self) -> str:
        """The `detail` of a `PutEvents` entry: kebab-case keys, absent optional fields left out."""
        fields: dict[str, Any] = {
            GROUP_ID_FIELD: self.group_id,
            "requested-by": self.requested_by,
            "reason": self.reason,
            "force": self.force.value,
            "dry-run": self.dry_run,
            "request-id": self.request_id,
            "teardown": self.teardown.value if self.teardown is not None else None,
        }
        # UTF-8 as it is (not \u escapes), as pydantic wrote it: an escape takes six of the entry's 256 KB.
        present = {k: v for k, v in fields.items() if v is not None}
        return json.dumps(present, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class DeploymentStatusDetail:
    """`detail` of `aws.greengrass` "Greengrass Deployment Status Change", exactly as AWS documents it."""

    group_id: str
    deployment_id: str
    deployment_type: DeploymentType
    status: DeploymentStatus

    @classmethod
    def read(cls, raw: object, loc: Location, errors: list[FieldError]) -> Self | None:
        r = _Reader(raw, loc, errors)
        values = {
            "group_id": r.field("group-id", text(min_length=1)),
            "deployment_id": r.field("deployment-id", text(min_length=1)),
            "deployment_type": r.field("deployment-type", choice(DeploymentType)),
            "status": r.field("status", choice(DeploymentStatus)),
        }
        return None if MISSING in values.values() or not isinstance(raw, dict) else cls(**values)


@dataclass(frozen=True, slots=True)
class EventBridgeEnvelope:
    """The EventBridge event envelope, field for field as EventBridge documents it (and Powertools'
    `EventBridgeModel` models it), without the `detail`, which each event reads with its own contract."""

    version: str
    id: str
    source: str
    account: str
    time: datetime
    region: str
    resources: list[str]
    detail_type: str
    replay_name: str | None

    @staticmethod
    def read(
        raw: object, errors: list[FieldError], *, detail_types: tuple[str, ...], source: str | None = None
    ) -> tuple[dict[str, Any], Any]:
        """The envelope's fields (each one's value or `MISSING`), and the raw `detail` (or `MISSING`)."""
        r = _Reader(raw, (), errors)
        fields = {
            "version": r.field("version", text()),
            "id": r.field("id", text()),
            "source": r.field("source", literal(source) if source else text()),
            "account": r.field("account", text()),
            "time": r.field("time", timestamp),
            "region": r.field("region", text()),
            "resources": r.field("resources", texts),
            "detail_type": r.field("detail-type", literal(*detail_types)),
            "replay_name": r.field("replay-name", optional(text()), None),
        }
        return fields, r.field("detail", lambda value: value)


@dataclass(frozen=True, slots=True)
class GroupRequestEvent:
    envelope: EventBridgeEnvelope
    detail: GroupRequestDetail

    @property
    def deletion(self) -> bool:
        return self.envelope.detail_type == DetailType.DELETION_REQUESTED.value

    @classmethod
    def parse(cls, raw: object) -> Self:
        errors: list[FieldError] = []
        envelope, raw_detail = EventBridgeEnvelope.read(raw, errors, detail_types=REQUEST_DETAIL_TYPES)
        detail = None if raw_detail is MISSING else GroupRequestDetail.read(raw_detail, ("detail",), errors)
        if detail is not None and detail.teardown is not None and envelope["detail_type"] == RESET_REQUESTED:
            errors.append(
                FieldError(
                    ("detail", "teardown"),
                    "applies to deletions only: send a Greengrass Group Deletion Requested event, or leave "
                    "teardown out",
                )
            )
        _complete(errors)
        assert detail is not None
        return cls(EventBridgeEnvelope(**envelope), detail)


@dataclass(frozen=True, slots=True)
class DeploymentStatusEvent:
    envelope: EventBridgeEnvelope
    detail: DeploymentStatusDetail

    @classmethod
    def parse(cls, raw: object) -> Self:
        errors: list[FieldError] = []
        envelope, raw_detail = EventBridgeEnvelope.read(
            raw, errors, detail_types=(DetailType.DEPLOYMENT_STATUS_CHANGE.value,), source=GREENGRASS_SOURCE
        )
        detail = (
            None if raw_detail is MISSING else DeploymentStatusDetail.read(raw_detail, ("detail",), errors)
        )
        _complete(errors)
        assert detail is not None
        return cls(EventBridgeEnvelope(**envelope), detail)


# --- EventBridge patterns -------------------------------------------------------------------------------


REQUEST_PATTERN: dict[str, Any] = {"detail-type": list(REQUEST_DETAIL_TYPES)}
"""Requests on the service's own bus. The bus policy decides who may put them; any `source` is accepted."""


REMEDIATED_DEPLOYMENT_TYPES = (DeploymentType.NEW.value, DeploymentType.REDEPLOYMENT.value)
"""Deployments whose `Failure` opens a remediation."""


def deployment_status_pattern(account: str, region: str) -> dict[str, Any]:
    """The status changes the worker acts on, on the default bus of `account` in `region`, and nothing else:

    - `Failure` of a `NewDeployment`/`Redeployment` (opens a remediation);
    - `Success`/`Failure` of a `ResetDeployment`/`ForceResetDeployment` (completes or fails a reset).

    A fleet's routine successful deployments and every `Building`/`InProgress` change are filtered out by
    EventBridge, so they never invoke the worker. Matching the account and the region keeps events
    forwarded from other accounts' or other regions' buses from being processed twice, or acted on here
    (the worker refuses them too, and counts them as `ForeignStatusEvents`).
    """
    return {
        "source": [GREENGRASS_SOURCE],
        "detail-type": [DetailType.DEPLOYMENT_STATUS_CHANGE.value],
        "account": [account],
        "region": [region],
        "detail": {
            "$or": [
                {
                    "deployment-type": list(REMEDIATED_DEPLOYMENT_TYPES),
                    "status": [DeploymentStatus.FAILURE.value],
                },
                {
                    "deployment-type": sorted(t.value for t in RESET_DEPLOYMENT_TYPES),
                    "status": [DeploymentStatus.SUCCESS.value, DeploymentStatus.FAILURE.value],
                },
            ]
        },
    }


# --- the workflow's own timers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WorkflowTimer:
    """A timer: look at `group-id` again at `due-at` (a retry, a reset deadline, a deferred call), as
    `gg_reset.timer_messages.timer_message_body` writes it."""

    group_id: str
    due_at: datetime

    @classmethod
    def parse(cls, raw: object) -> Self:
        errors: list[FieldError] = []
        r = _Reader(raw, (), errors)
        group_id = r.field(GROUP_ID_FIELD, GROUP_ID)
        due_at = r.field(DUE_AT_FIELD, timestamp)
        _complete(errors)
        return cls(group_id, due_at)


def request_entry(
    *,
    group_id: str,
    deletion: bool,
    bus_name: str,
    requested_by: str = "unknown",
    reason: str = "",
    force: ForcePolicy = ForcePolicy.AUTO,
    dry_run: bool = False,
    request_id: str | None = None,
    source: str = SERVICE_SOURCE,
    teardown: Teardown | None = None,
) -> dict[str, Any]:
    """A `PutEvents` entry for a reset or deletion request: what the CLI, the janitor and tests send.
    Raises `ContractError` for a request the worker would reject."""
    if teardown is not None and not deletion:
        raise ValueError("teardown applies to deletions only")
    raw: dict[str, Any] = {
        GROUP_ID_FIELD: group_id,
        "requested-by": requested_by,
        "reason": reason,
        "force": force.value if isinstance(force, StrEnum) else force,
        "dry-run": dry_run,
        "request-id": request_id,
        "teardown": teardown.value if isinstance(teardown, StrEnum) else teardown,
    }
    detail = GroupRequestDetail.parse(raw)
    return {
        "Source": source,
        "DetailType": (DetailType.DELETION_REQUESTED if deletion else DetailType.RESET_REQUESTED).value,
        "Detail": detail.to_json(),
        "EventBusName": bus_name,
    }
