"""The standard-library readers of `gg_reset.contracts` against the pydantic models they replaced.

Both are fed the same raw, JSON-like inputs: a valid event, then a few fields dropped or replaced by values
of another JSON type, strings at and past their bounds, group ids with characters outside the pattern,
lone surrogates, control characters, case variants of the choices, the strings pydantic reads as booleans,
unknown keys, and RFC 3339 timestamps of every shape. For each input:

1. one accepts it if and only if the other does;
2. when both accept, every field has the same value (datetimes with the same offset, enums the same member);
3. when both reject, they name the same fields (error locations), with the same message wherever the reader
   mimics pydantic's.

The deliberate differences listed in the contracts' docstring are not fuzzed away silently: `reconcile`
expects the reader alone to refuse a time that is not RFC 3339 with an offset, or a lone surrogate in an
envelope string, and each has an explicit test too; the Python field names (`group_id`) are never generated
as keys, and have explicit tests of their own. So has the one rule both enforce but report differently, a
teardown on a reset (pydantic checked it in a model validator).
"""

from __future__ import annotations

import dataclasses
import json
import re
import string
from collections.abc import Callable
from datetime import datetime
from enum import Enum
from typing import Any

import pydantic
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from gg_reset import contracts
from gg_reset.contracts import (
    ContractError,
    DeploymentStatus,
    DeploymentType,
    DetailType,
    ForcePolicy,
    Teardown,
    request_entry,
)
from tests.support import reference_contracts as reference

Loc = tuple[str | int, ...]
Errors = dict[Loc, str]

FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FUZZ_SMALL = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- running both ---------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Outcome:
    value: Any = None
    errors: Errors = dataclasses.field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return not self.errors


def by_reference(model: type[pydantic.BaseModel], raw: object) -> Outcome:
    try:
        return Outcome(value=model.model_validate(raw))
    except pydantic.ValidationError as error:
        reported = [(tuple(e["loc"]), e["msg"]) for e in error.errors()]
    return outcome_of(reported)


def by_reader(parse: Callable[[object], Any], raw: object) -> Outcome:
    try:
        return Outcome(value=parse(raw))
    except ContractError as error:
        reported = [(e.loc, e.msg) for e in error.errors]
    return outcome_of(reported)


def outcome_of(reported: list[tuple[Loc, str]]) -> Outcome:
    """A rejection: at least one error, and one per location."""
    assert reported
    errors = dict(reported)
    assert len(errors) == len(reported), f"a location reported twice: {reported}"
    return Outcome(errors=errors)


# --- what counts as agreeing ----------------------------------------------------------------------------

RFC3339_SHAPE = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
"""The timestamps both must judge alike: RFC 3339's grammar (ASCII digits, an offset), whatever the values
of its numbers (a month 13 or an offset minute 60 must be refused by both)."""

READER_TIME_MESSAGES = ("Input should be an RFC 3339 timestamp", "Input should be a valid datetime, ")
"""The reader's own wording for a bad timestamp: it names the format it wants, pydantic's named its parser's
complaint ("Input should be a valid datetime or date, ..."). Only the location is compared for these."""

TEARDOWN_RULE = (
    "applies to deletions only: send a Greengrass Group Deletion Requested event, or leave teardown out"
)
PYDANTIC_TEARDOWN_RULE = f"Value error, detail.teardown {TEARDOWN_RULE}"
TEARDOWN_LOC: Loc = ("detail", "teardown")

ENVELOPE_STRINGS = ("version", "id", "source", "account", "region", "replay-name")
NOT_UNICODE = "Input should be a valid string, unable to parse raw data as a unicode string"


def is_rfc3339(value: object) -> bool:
    return isinstance(value, str) and RFC3339_SHAPE.fullmatch(value) is not None


def is_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def reconcile(
    raw: object, ref: Outcome, new: Outcome, *, time_key: str | None, envelope: bool, teardown_rule: bool
) -> tuple[Errors, Errors]:
    """Both error sets, with the documented differences accounted for, each with its reason."""
    ref_errors, new_errors = dict(ref.errors), dict(new.errors)
    fields = raw if isinstance(raw, dict) else {}

    if time_key is not None and time_key in fields and not is_rfc3339(fields[time_key]):
        # Documented: the reader takes RFC 3339 with an offset only. Whatever else the time is, the reader
        # must refuse it; pydantic may have taken it (naive, a date, a Unix number) or not (a list).
        assert new_errors.get((time_key,), "").startswith(READER_TIME_MESSAGES), (fields[time_key], new)
        if (time_key,) not in ref_errors:
            del new_errors[(time_key,)]

    if envelope:
        for key in ENVELOPE_STRINGS:
            value = fields.get(key)
            if isinstance(value, str) and not is_unicode(value) and (key,) not in ref_errors:
                # Documented: pydantic's plain `str` passed a Python string through unchecked, a lone
                # surrogate included (its constrained strings, `group-id`, `reason`..., did check). The
                # reader refuses one in every envelope string, with the message pydantic used elsewhere.
                assert new_errors.pop((key,)) == NOT_UNICODE, (key, new)

    if teardown_rule:
        # The teardown-on-a-reset rule is a pydantic `model_validator(mode="after")`: it reports at the
        # model's root, `()`, as "Value error, detail.teardown ...". The reader puts it where it belongs.
        if ref_errors.get(()) == PYDANTIC_TEARDOWN_RULE:
            ref_errors[TEARDOWN_LOC] = ref_errors.pop(())[len("Value error, detail.teardown ") :]
        # And an after-validator only runs once every field is valid, while the reader checks the rule as
        # soon as `detail` and `detail-type` are, alongside the other errors. So the reader may report it
        # in addition, but only then: when pydantic rejected the event for something else.
        if new_errors.get(TEARDOWN_LOC) == TEARDOWN_RULE and TEARDOWN_LOC not in ref_errors:
            assert ref_errors, "pydantic accepted a teardown on a reset"
            del new_errors[TEARDOWN_LOC]

    return ref_errors, new_errors


def assert_same_errors(ref_errors: Errors, new_errors: Errors) -> None:
    assert set(new_errors) == set(ref_errors), (ref_errors, new_errors)
    for loc, msg in new_errors.items():
        expected = ref_errors[loc]
        if msg.startswith(READER_TIME_MESSAGES):
            continue  # see READER_TIME_MESSAGES
        if msg == "Input should be an object":
            # pydantic names the model ("Input should be a valid dictionary or instance of
            # GroupRequestEvent"); the reader's wording is its own, without Python class names.
            assert expected.startswith("Input should be a valid dictionary"), (loc, expected, msg)
            continue
        assert msg == expected, (loc, expected, msg)


def assert_same_value(ref: object, new: object) -> None:
    if isinstance(ref, datetime):
        assert isinstance(new, datetime)
        assert new == ref
        assert new.tzinfo is not None and new.utcoffset() == ref.utcoffset()
        assert new.replace(tzinfo=None) == ref.replace(tzinfo=None)
    elif isinstance(ref, Enum):
        assert new is ref
    else:
        assert type(new) is type(ref) and new == ref, (ref, new)


def assert_same_fields(ref: pydantic.BaseModel, new: object, *, skip: tuple[str, ...] = ()) -> None:
    names = {f.name for f in dataclasses.fields(new)}
    assert names == set(type(ref).model_fields) - set(skip)
    for name in sorted(names):
        assert_same_value(getattr(ref, name), getattr(new, name))


def assert_equivalent(
    raw: object,
    model: type[pydantic.BaseModel],
    parse: Callable[[object], Any],
    *,
    time_key: str | None,
    envelope: bool = False,
    teardown_rule: bool = False,
) -> tuple[Outcome, Outcome]:
    ref, new = by_reference(model, raw), by_reader(parse, raw)
    ref_errors, new_errors = reconcile(
        raw, ref, new, time_key=time_key, envelope=envelope, teardown_rule=teardown_rule
    )
    assert_same_errors(ref_errors, new_errors)
    if not currently_in_test_context():
        return ref, new
    # What the run covered: `pytest --hypothesis-show-statistics`.
    verdict = {(True, True): "both accept", (False, False): "both reject"}.get(
        (ref.accepted, new.accepted), "pydantic alone accepts (documented)"
    )
    event(verdict)
    return ref, new


def assert_same_event(ref: Outcome, new: Outcome) -> None:
    if ref.accepted and new.accepted:
        assert_same_fields(ref.value, new.value.envelope, skip=("detail",))
        assert_same_fields(ref.value.detail, new.value.detail)


# --- strategies -----------------------------------------------------------------------------------------

ABSENT: Any = object()
"""A field left out of the event."""

GROUP_ID_CHARS = string.ascii_letters + string.digits + "_.:-"
NASTY_CHARS = [
    "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\x85", "\xa0", "\u2028", "\u200b", "\ufeff",
    "\ud800", "\udfff", " ", "é", "ß", "٢", "\U0001d7d8", "!", "/", "#", "$", "İ",
]  # fmt: skip
"""Outside the group-id pattern, control characters, lone surrogates, non-ASCII digits and letters."""
BOUNDS = [0, 1, 2, 127, 128, 129, 255, 256, 257, 1023, 1024, 1025]

plain_text = st.text(max_size=12)  # hypothesis leaves surrogates out of st.text()
nasty_text = st.text(alphabet=st.sampled_from(NASTY_CHARS + list("aZ09-_.:")), min_size=1, max_size=6)
at_bounds = st.builds(
    lambda n, c: c * n, st.sampled_from(BOUNDS), st.sampled_from(["a", "-", "é", "\x00", "\ud800", "\n"])
)
any_string = st.one_of(plain_text, nasty_text, at_bounds)

SPECIAL_JSON = [
    None, True, False, 0, 1, 2, -1, 0.0, 1.0, 2.0, -0.0, 0.5, 1e300, float("inf"), float("nan"),
    2**63 - 1, 2**63, 2**64, -(2**63) - 1, "", "x", [], ["x"], [1], {}, {"k": "v"},
]  # fmt: skip
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_string,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(plain_text, inner, max_size=3),
    max_leaves=5,
)
other_json = st.one_of(st.sampled_from(SPECIAL_JSON), any_json)
"""A value of any JSON type (Python's `json` reads NaN and Infinity too)."""


def variants(value: str) -> st.SearchStrategy[str]:
    """A choice as a requester might spell it: another case, stray spaces, a trailing newline."""
    return st.sampled_from(
        [value, value.upper(), value.capitalize(), value.swapcase(), f" {value}", f"{value} ", f"{value}\n"]
    )


def choices(values: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(values).flatmap(variants)


group_id = st.one_of(
    st.text(alphabet=GROUP_ID_CHARS, min_size=1, max_size=40),
    st.builds(lambda n, c: c * n, st.sampled_from([1, 127, 128]), st.sampled_from(list(GROUP_ID_CHARS))),
)
bad_group_id = st.one_of(
    group_id.map(lambda g: g + "\n"),
    st.builds(lambda g, c, i: g[:i] + c + g[i:], group_id, st.sampled_from(NASTY_CHARS), st.integers(0, 40)),
    at_bounds,
    nasty_text,
    st.just(""),
)

bool_strings = st.sampled_from(
    ["yes", "Off", "t", "1", "0", " true", "true ", "TRUE", "No", "N", "y", "on", "2", "", "none", "\ud800"]
)
lax_bool = st.one_of(st.booleans(), st.sampled_from([0, 1, 0.0, 1.0, -0.0]), bool_strings)

FORCES = [p.value for p in ForcePolicy]
TEARDOWNS = [t.value for t in Teardown]
REQUEST_TYPES = [DetailType.RESET_REQUESTED.value, DetailType.DELETION_REQUESTED.value]
STATUS_TYPE = DetailType.DEPLOYMENT_STATUS_CHANGE.value


TIME_PARTS: dict[str, tuple[st.SearchStrategy[int], list[int]]] = {
    # part: (its valid numbers, numbers past its range for the edgy timestamps)
    "year": (st.sampled_from([1, 9999]) | st.integers(1970, 2100), [0]),
    "month": (st.integers(1, 12), [0, 13, 99]),
    "day": (st.integers(1, 28), [0, 29, 30, 31, 32, 99]),  # 29-31: valid in some months only
    "hour": (st.integers(0, 23), [24, 99]),
    "minute": (st.integers(0, 59), [60, 99]),
    "second": (st.integers(0, 59), [60, 99]),  # no leap seconds, in either
    "offset hour": (st.integers(0, 23), [24, 25, 99]),
    "offset minute": (st.integers(0, 59), [60, 99]),
}


@st.composite
def rfc3339(draw: st.DrawFn, *, edgy: bool = False) -> str:
    """An RFC 3339 timestamp: `T`, `t` or a space, `Z`, `z` or an offset, a fraction of 0-9 digits. `edgy`:
    fractions up to 12 digits, and one of its numbers may be past its range (month 13, offset +00:60...)."""
    broken = draw(st.sampled_from([None, *TIME_PARTS])) if edgy else None
    n = {
        part: draw(st.sampled_from(edges) if part == broken else valid)
        for part, (valid, edges) in TIME_PARTS.items()
    }
    sep = draw(st.sampled_from("Tt "))
    digits = draw(st.integers(0, 12 if edgy else 9))
    fraction = "." + draw(st.text(alphabet=string.digits, min_size=digits, max_size=digits)) if digits else ""
    sign = draw(st.sampled_from("+-"))
    numeric = f"{sign}{n['offset hour']:02d}:{n['offset minute']:02d}"
    offset = (
        numeric
        if broken in ("offset hour", "offset minute")
        else draw(st.sampled_from(["Z", "z", "+00:00", "-00:00", numeric]))
    )
    return (
        f"{n['year']:04d}-{n['month']:02d}-{n['day']:02d}{sep}"
        f"{n['hour']:02d}:{n['minute']:02d}:{n['second']:02d}{fraction}{offset}"
    )


NOT_RFC3339 = [
    "2026-03-01T11:59:59", "2026-03-01", "2026-03-01T11:59Z", "2026-03-01T11:59:59+0100",
    "2026-03-01T11:59:59+01", "2026-03-01T11:59:59,5Z", "2026-03-01_11:59:59Z", "20260301T115959Z",
    "1772366399", "1772366399.5", " 2026-03-01T11:59:59Z", "2026-03-01T11:59:59Z ", "2026-03-01T11:59:59Z\n",
    "٢٠٢٦-03-01T11:59:59Z", "2026-03-01T11:59:59.Z", "2026-03-01T11:59:59Z\ud800", "now", "",
    1772366399, 1772366399.5, 0, -1, 1e20, True,
]  # fmt: skip
"""Timestamps that are not RFC 3339 with an offset: some pydantic took (the documented difference)."""

valid_time = rfc3339()
bad_time = st.one_of(rfc3339(edgy=True), st.sampled_from(NOT_RFC3339), other_json)

EXTRA_KEYS = ["foo", "Group-Id", "GROUP-ID", "groupId", "group-id ", "Detail", "detail ", "", "\ud800", "é"]
"""Unknown keys, both ignore them. Never the Python field names (`group_id`): see the explicit tests."""
extras = st.dictionaries(
    st.sampled_from(EXTRA_KEYS) | plain_text.map(lambda k: f"x-{k}"), other_json, max_size=2
)


def optional(strategy: st.SearchStrategy[Any], *, null: bool = True) -> st.SearchStrategy[Any]:
    return st.one_of(st.just(ABSENT), *([st.none()] if null else []), strategy)


def present(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not ABSENT}


request_detail = st.builds(
    lambda fields, extra: {**extra, **present(fields)},
    st.fixed_dictionaries(
        {
            "group-id": group_id,
            "requested-by": optional(
                st.one_of(
                    plain_text, at_bounds.filter(lambda s: len(s) <= 256).filter(contracts.is_clean_text)
                ),
                null=False,
            ),
            "reason": optional(st.one_of(plain_text, st.sampled_from(["r" * 1024, "é" * 1024])), null=False),
            "force": optional(choices(FORCES), null=False),
            "dry-run": optional(lax_bool, null=False),
            "request-id": optional(
                st.text(min_size=1, max_size=128).filter(contracts.is_clean_text)
                | st.sampled_from(["i" * 128, "é"])
            ),
            "teardown": optional(choices(TEARDOWNS)),
        }
    ),
    extras,
)
"""Mostly valid requests; a teardown on a reset comes out as often as on a deletion."""

REQUEST_DETAIL_JUNK: dict[str, st.SearchStrategy[Any]] = {
    "group-id": st.one_of(bad_group_id, other_json),
    "requested-by": st.one_of(at_bounds, nasty_text, other_json),
    "reason": st.one_of(at_bounds, nasty_text, other_json),
    "force": st.one_of(choices(FORCES), nasty_text, other_json),
    "dry-run": st.one_of(bool_strings, other_json),
    "request-id": st.one_of(at_bounds, nasty_text, other_json),
    "teardown": st.one_of(choices(TEARDOWNS), nasty_text, other_json),
}

envelope_fields = {
    "version": st.just("0") | plain_text,
    "id": plain_text,
    "account": st.just("123456789012") | plain_text,
    "time": valid_time,
    "region": st.just("eu-west-1") | plain_text,
    "resources": st.lists(plain_text, max_size=3),
}
ENVELOPE_JUNK: dict[str, st.SearchStrategy[Any]] = {
    "version": st.one_of(nasty_text, other_json),
    "id": st.one_of(nasty_text, other_json),
    "source": st.one_of(variants("aws.greengrass"), nasty_text, other_json),
    "account": st.one_of(nasty_text, other_json),
    "time": bad_time,
    "region": st.one_of(nasty_text, other_json),
    "resources": st.one_of(st.lists(st.one_of(plain_text, nasty_text, other_json), max_size=3), other_json),
    "replay-name": st.one_of(nasty_text, other_json),
    "detail": other_json,
}

request_event = st.builds(
    lambda fields, extra: {**extra, **present(fields)},
    st.fixed_dictionaries(
        {
            **envelope_fields,
            "source": st.just("gg-reset") | plain_text,
            "detail-type": st.sampled_from(REQUEST_TYPES),
            "replay-name": optional(plain_text),
            "detail": request_detail,
        }
    ),
    extras,
)
REQUEST_JUNK = {
    **ENVELOPE_JUNK,
    "detail-type": st.one_of(choices(REQUEST_TYPES), st.just(STATUS_TYPE), nasty_text, other_json),
    **{("detail", k): v for k, v in REQUEST_DETAIL_JUNK.items()},
}

status_detail = st.builds(
    lambda fields, extra: {**extra, **fields},
    st.fixed_dictionaries(
        {
            "group-id": st.one_of(group_id, st.text(min_size=1, max_size=20)),
            "deployment-id": st.text(min_size=1, max_size=40),
            "deployment-type": st.sampled_from([t.value for t in DeploymentType]),
            "status": st.sampled_from([s.value for s in DeploymentStatus]),
        }
    ),
    extras,
)
STATUS_DETAIL_JUNK: dict[str, st.SearchStrategy[Any]] = {
    "group-id": st.one_of(at_bounds, nasty_text, other_json),
    "deployment-id": st.one_of(at_bounds, nasty_text, other_json),
    "deployment-type": st.one_of(choices([t.value for t in DeploymentType]), nasty_text, other_json),
    "status": st.one_of(choices([s.value for s in DeploymentStatus]), nasty_text, other_json),
}
status_event = st.builds(
    lambda fields, extra: {**extra, **present(fields)},
    st.fixed_dictionaries(
        {
            **envelope_fields,
            "source": st.just("aws.greengrass"),
            "detail-type": st.just(STATUS_TYPE),
            "replay-name": optional(plain_text),
            "detail": status_detail,
        }
    ),
    extras,
)
STATUS_JUNK = {
    **ENVELOPE_JUNK,
    "detail-type": st.one_of(choices([STATUS_TYPE, *REQUEST_TYPES]), nasty_text, other_json),
    **{("detail", k): v for k, v in STATUS_DETAIL_JUNK.items()},
}

timer = st.builds(
    lambda fields, extra: {**extra, **fields},
    st.fixed_dictionaries({"group-id": group_id, "due-at": valid_time}),
    extras,
)
TIMER_JUNK: dict[Any, st.SearchStrategy[Any]] = {
    "group-id": st.one_of(bad_group_id, other_json),
    "due-at": bad_time,
}


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[Any], junk: dict[Any, st.SearchStrategy[Any]]) -> Any:
    """A valid input with up to three fields dropped or replaced (or, rarely, not an object at all)."""
    if draw(st.integers(0, 49)) == 0:
        return draw(other_json)
    raw = json.loads(json.dumps(draw(valid)))  # a deep copy (json round-trips surrogates and NaN alike)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(sorted(junk, key=str)))
        *parents, key = path if isinstance(path, tuple) else (path,)
        target = raw
        for parent in parents:
            target = target.get(parent) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue  # its parent was replaced already
        if draw(st.integers(0, 3)) == 0:
            target.pop(key, None)
        else:
            target[key] = draw(junk[path])
    return raw


# --- 1-3: the same inputs, the same verdicts ------------------------------------------------------------


@FUZZ
@given(mutated(request_event, REQUEST_JUNK))
def test_request_events_agree(raw: Any) -> None:
    ref, new = assert_equivalent(
        raw,
        reference.GroupRequestEvent,
        contracts.GroupRequestEvent.parse,
        time_key="time",
        envelope=True,
        teardown_rule=True,
    )
    assert_same_event(ref, new)
    if new.accepted:
        assert new.value.deletion == (raw["detail-type"] == DetailType.DELETION_REQUESTED.value)


@FUZZ
@given(mutated(status_event, STATUS_JUNK))
def test_status_events_agree(raw: Any) -> None:
    ref, new = assert_equivalent(
        raw,
        reference.DeploymentStatusEvent,
        contracts.DeploymentStatusEvent.parse,
        time_key="time",
        envelope=True,
    )
    assert_same_event(ref, new)


@FUZZ_SMALL
@given(mutated(request_detail, REQUEST_DETAIL_JUNK))
def test_request_details_agree(raw: Any) -> None:
    """`GroupRequestDetail.parse` on its own, as the CLI and the janitor use it (no teardown rule here)."""
    ref, new = assert_equivalent(
        raw, reference.GroupRequestDetail, contracts.GroupRequestDetail.parse, time_key=None
    )
    if ref.accepted and new.accepted:
        assert_same_fields(ref.value, new.value)


@FUZZ_SMALL
@given(mutated(timer, TIMER_JUNK))
def test_workflow_timers_agree(raw: Any) -> None:
    ref, new = assert_equivalent(
        raw, reference.WorkflowTimer, contracts.WorkflowTimer.parse, time_key="due-at"
    )
    if ref.accepted and new.accepted:
        assert_same_fields(ref.value, new.value)


@FUZZ_SMALL
@given(rfc3339(edgy=True))
def test_rfc3339_timestamps_agree(time: str) -> None:
    """Every RFC 3339 timestamp is judged alike, to the microsecond and the offset: both cut a fraction of
    more than six digits (they do not round), both refuse a month 13, a 30 February, an hour 24, a leap
    second, an offset of 24 hours or of 60 minutes."""
    raw = {"group-id": "g", "due-at": time}
    ref, new = assert_equivalent(
        raw, reference.WorkflowTimer, contracts.WorkflowTimer.parse, time_key="due-at"
    )
    if ref.accepted and new.accepted:
        assert_same_fields(ref.value, new.value)


# --- the documented differences, asserted rather than excluded ------------------------------------------

STATUS_EVENT = {
    "version": "0",
    "id": "evt-1",
    "detail-type": STATUS_TYPE,
    "source": "aws.greengrass",
    "account": "123456789012",
    "time": "2026-03-01T11:59:59Z",
    "region": "eu-west-1",
    "resources": [],
    "detail": {
        "group-id": "g-1",
        "deployment-id": "d-1",
        "deployment-type": "ResetDeployment",
        "status": "Success",
    },
}
REQUEST_EVENT = {
    **STATUS_EVENT,
    "source": "gg-reset",
    "detail-type": DetailType.DELETION_REQUESTED.value,
    "detail": {"group-id": "g-1", "teardown": "things"},
}


@pytest.mark.parametrize(
    "time",
    [
        "2026-03-01T11:59:59",
        "2026-03-01",
        "2026-03-01T11:59Z",
        "2026-03-01T11:59:59+0100",
        "2026-03-01T11:59:59,5Z",
        "2026-03-01_11:59:59Z",
        "1772366399",
        1772366399,
        1772366399.5,
        0,
    ],
)
@pytest.mark.parametrize(
    ("model", "parse", "raw", "key"),
    [
        (reference.GroupRequestEvent, contracts.GroupRequestEvent.parse, REQUEST_EVENT, "time"),
        (reference.DeploymentStatusEvent, contracts.DeploymentStatusEvent.parse, STATUS_EVENT, "time"),
        (reference.WorkflowTimer, contracts.WorkflowTimer.parse, {"group-id": "g-1"}, "due-at"),
    ],
    ids=["request", "status", "timer"],
)
def test_times_pydantic_took_are_refused_by_the_reader_alone(
    model: type[pydantic.BaseModel],
    parse: Callable[[object], Any],
    raw: dict[str, Any],
    key: str,
    time: object,
) -> None:
    """Documented: naive times, dates, times without seconds, Unix numbers were read by pydantic (a naive
    one reaching the workflow as a naive datetime); the reader wants RFC 3339 with an offset."""
    event = {**raw, key: time}
    assert by_reference(model, event).accepted
    assert by_reader(parse, event).errors.keys() == {(key,)}


@pytest.mark.parametrize(
    ("model", "parse", "raw", "alias", "name"),
    [
        (
            reference.GroupRequestDetail,
            contracts.GroupRequestDetail.parse,
            {"group-id": "g"},
            "group-id",
            "group_id",
        ),
        (
            reference.GroupRequestDetail,
            contracts.GroupRequestDetail.parse,
            {"group-id": "g", "dry-run": True},
            "dry-run",
            "dry_run",
        ),
        (
            reference.GroupRequestDetail,
            contracts.GroupRequestDetail.parse,
            {"group-id": "g", "request-id": "r"},
            "request-id",
            "request_id",
        ),
        (
            reference.GroupRequestDetail,
            contracts.GroupRequestDetail.parse,
            {"group-id": "g", "requested-by": "me"},
            "requested-by",
            "requested_by",
        ),
        (
            reference.GroupRequestEvent,
            contracts.GroupRequestEvent.parse,
            REQUEST_EVENT,
            "detail-type",
            "detail_type",
        ),
        (
            reference.GroupRequestEvent,
            contracts.GroupRequestEvent.parse,
            {**REQUEST_EVENT, "replay-name": "r"},
            "replay-name",
            "replay_name",
        ),
        (
            reference.DeploymentStatusEvent,
            contracts.DeploymentStatusEvent.parse,
            STATUS_EVENT,
            "detail-type",
            "detail_type",
        ),
        (
            reference.WorkflowTimer,
            contracts.WorkflowTimer.parse,
            {"group-id": "g", "due-at": "2026-03-01T11:59:59Z"},
            "due-at",
            "due_at",
        ),
        (
            reference.WorkflowTimer,
            contracts.WorkflowTimer.parse,
            {"group-id": "g", "due-at": "2026-03-01T11:59:59Z"},
            "group-id",
            "group_id",
        ),
    ],
)
def test_python_field_names_are_keys_to_pydantic_alone(
    model: type[pydantic.BaseModel],
    parse: Callable[[object], Any],
    raw: dict[str, Any],
    alias: str,
    name: str,
) -> None:
    """Documented: `populate_by_name` let pydantic read `group_id` for `group-id`. The reader ignores such
    a key like any other unknown one: a required field is then missing, an optional one takes its default."""
    renamed = {(name if k == alias else k): v for k, v in raw.items()}
    ref = by_reference(model, renamed)
    assert ref.accepted
    new = by_reader(parse, renamed)
    if new.accepted:  # an optional field: its default, not the value under the Python name
        default = model.model_fields[name].default
        assert getattr(new.value, name, getattr(getattr(new.value, "envelope", None), name, None)) == default
        assert getattr(ref.value, name) == raw[alias]
    else:
        assert new.errors == {(alias,): "Field required"}
    # With the alias present as well, pydantic reads the alias: the two agree again.
    ref, new = by_reference(model, {**raw, name: raw[alias]}), by_reader(parse, {**raw, name: raw[alias]})
    assert ref.accepted and new.accepted


@pytest.mark.parametrize("key", ENVELOPE_STRINGS)
@pytest.mark.parametrize(
    ("model", "parse", "raw"),
    [
        (reference.GroupRequestEvent, contracts.GroupRequestEvent.parse, REQUEST_EVENT),
        (reference.DeploymentStatusEvent, contracts.DeploymentStatusEvent.parse, STATUS_EVENT),
    ],
    ids=["request", "status"],
)
def test_lone_surrogates_in_envelope_strings_are_refused_by_the_reader(
    model: type[pydantic.BaseModel], parse: Callable[[object], Any], raw: dict[str, Any], key: str
) -> None:
    """Documented: pydantic took `"id": "\\ud800"` (a plain `str` is not checked), the reader does not, and
    says so as pydantic did for its constrained strings. The status event's `source` is a choice: both
    refuse it there. `resources` items were not checked by pydantic and are not by the reader either."""
    event = {**raw, key: "evt-\ud800"}
    ref, new = by_reference(model, event), by_reader(parse, event)
    assert new.errors == {(key,): NOT_UNICODE}
    if model is reference.DeploymentStatusEvent and key == "source":
        assert ref.errors == {(key,): NOT_UNICODE}
    else:
        assert ref.accepted
    with_resource = {**raw, "resources": ["arn:\ud800"]}
    assert by_reference(model, with_resource).accepted and by_reader(parse, with_resource).accepted


def test_teardown_on_a_reset_is_refused_by_both_at_their_own_location() -> None:
    reset = {**REQUEST_EVENT, "detail-type": DetailType.RESET_REQUESTED.value}
    assert by_reference(reference.GroupRequestEvent, reset).errors == {(): PYDANTIC_TEARDOWN_RULE}
    assert by_reader(contracts.GroupRequestEvent.parse, reset).errors == {TEARDOWN_LOC: TEARDOWN_RULE}
    # pydantic's after-validator does not run once a field failed; the reader reports the rule anyway.
    broken = {**reset, "region": None}
    assert by_reference(reference.GroupRequestEvent, broken).errors.keys() == {("region",)}
    assert by_reader(contracts.GroupRequestEvent.parse, broken).errors.keys() == {("region",), TEARDOWN_LOC}
    # A deletion may carry one.
    ref, new = assert_equivalent(
        REQUEST_EVENT,
        reference.GroupRequestEvent,
        contracts.GroupRequestEvent.parse,
        time_key="time",
        envelope=True,
        teardown_rule=True,
    )
    assert ref.accepted and new.accepted and new.value.detail.teardown is Teardown.THINGS
    assert_same_event(ref, new)


# --- request_entry: what the CLI and the janitor put on the bus -----------------------------------------


@st.composite
def entry_arguments(draw: st.DrawFn) -> dict[str, Any]:
    deletion = draw(st.booleans())
    arguments = {
        "group_id": draw(st.one_of(group_id, group_id, bad_group_id)),
        "requested_by": draw(st.one_of(plain_text, at_bounds)),
        "reason": draw(st.one_of(plain_text, nasty_text.filter(is_unicode), at_bounds)),
        "force": draw(st.one_of(st.sampled_from(ForcePolicy), choices(FORCES))),
        "dry_run": draw(st.one_of(st.booleans(), lax_bool)),
        "request_id": draw(st.one_of(st.none(), st.text(min_size=1, max_size=128), at_bounds, nasty_text)),
    }
    if deletion:
        arguments["teardown"] = draw(st.one_of(st.none(), st.sampled_from(Teardown), choices(TEARDOWNS)))
    return {**arguments, "deletion": deletion}


def reference_detail_json(arguments: dict[str, Any]) -> str:
    """What `request_entry` put in `Detail` when it was written with the pydantic model."""
    detail = reference.GroupRequestDetail.model_validate(
        {
            "teardown": arguments.get("teardown"),
            "group-id": arguments["group_id"],
            "requested-by": arguments["requested_by"],
            "reason": arguments["reason"],
            "force": arguments["force"],
            "dry-run": arguments["dry_run"],
            "request-id": arguments["request_id"],
        }
    )
    return detail.model_dump_json(by_alias=True, exclude_none=True)


@FUZZ_SMALL
@given(entry_arguments())
def test_request_entry_detail_is_the_one_pydantic_wrote(arguments: dict[str, Any]) -> None:
    try:
        expected = reference_detail_json(arguments)
    except pydantic.ValidationError:
        with pytest.raises(ContractError):
            request_entry(bus_name="bus", **arguments)
        return
    entry = request_entry(bus_name="bus", **arguments)
    assert entry["DetailType"] == REQUEST_TYPES[arguments["deletion"]]
    detail = json.loads(entry["Detail"])
    # The same JSON: keys, their order, values. Byte for byte too, where the text is printable ASCII: the
    # reader's `json.dumps` escapes other characters (`"é"` as `"\u00e9"`), pydantic's serializer writes them
    # as UTF-8; both read back the same.
    assert list(detail.items()) == list(json.loads(expected).items())
    if entry["Detail"].isascii() and expected.isascii() and expected.isprintable():
        assert entry["Detail"] == expected
    # And it reads back as what was asked.
    ref = reference.GroupRequestDetail.model_validate_json(expected)
    assert_same_fields(ref, contracts.GroupRequestDetail.parse(detail))


def test_request_entry_refuses_a_teardown_on_a_reset() -> None:
    with pytest.raises(ValueError, match="teardown applies to deletions only"):
        request_entry(group_id="g", deletion=False, bus_name="bus", teardown=Teardown.GROUP)
