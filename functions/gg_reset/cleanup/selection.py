"""Which groups: one selection model and one evaluation, for `gg-reset plan`, `request --select` and the
janitor, so a plan printed on a laptop and a scheduled run decide alike.

A `Selection` is a set of criteria. Criteria AND together; the values of one criterion OR (`name=lab-*
name=test-*`: either name). The terms, on a command line or as a JSON object (the janitor's
`gg-reset:janitorSelection`, each key a term and each value one value or a list of them):

- `id=GROUP_ID`: that group;
- `name=GLOB`: a name matching the shell glob (`lab-*`, case-sensitive, as the allow and deny lists);
- `regex=PATTERN`: a name the regular expression matches (anywhere in it: anchor with `^...$`);
- `tag=KEY` or `tag=KEY=VALUE`: carrying that tag (any value for `KEY` alone);
- `no-tag=KEY`: missing that tag;
- `older-than=DURATION`: created (`CreationTimestamp`) longer ago than that;
- `idle=DURATION`: last updated (`LastUpdatedTimestamp`) longer ago than that;
- `expired` (or `expired=KEY`): the expiry tag (`gg-reset:expires-at`) holds an ISO 8601 date or
  date-time that has passed; a value that is neither is reported (`PlanEntry.problem`), never selected;
- `not-deployed=DURATION`: the newest deployment (of any type) was created longer ago than that, or the
  group was never deployed;
- `migrated`: the core thing of the group's latest version is now registered as a Greengrass V2 core device
  (`greengrassv2:GetCoreDevice`): the core moved to V2 and the V1 group is what is left behind.

Durations are a whole number and a unit: `s`, `m`, `h`, `d` or `w` (`90m`, `36h`, `30d`, `2w`). An expiry
date without a time is midnight UTC at the start of that day; a date-time without an offset is UTC.

`select(greengrass, selection, now, safety)` reads Greengrass only and returns a `Plan`: every listed
group with a verdict and its reasons. It streams `ListGroups` (paged) through the criteria `ListGroups`
answers (id, name, regex, age, idle), then makes one `GetGroup` per remaining group (its tags: the tag
criteria, and the protection check), and calls `ListDeployments` only when `not-deployed` is used, only
for groups still selected; `migrated` reads the core thing (GetGroup, GetGroupVersion,
GetCoreDefinitionVersion) and asks Greengrass V2 about it, only for groups still selected. A selected group
then passes the safety layers with `SafetyRules.refusal`, the very check the workflow makes before it
writes, so a plan and the requests it leads to agree: a group the plan rejects is one the workflow would
reject, with the same reason.
"""

from __future__ import annotations

import json
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import Any, Final, Protocol

from gg_reset.domain.errors import GreengrassError
from gg_reset.domain.safety import SafetyRules
from gg_reset.domain.teardown import Resource, Teardown
from gg_reset.ports import CoreDeviceView, GroupFacts, GroupSummary, Pace, unpaced
from gg_reset.text import plural

EXPIRY_TAG: Final = "gg-reset:expires-at"
"""The default expiry tag: `gg-reset:expires-at=2026-06-30` (or a date-time) marks a group for cleanup."""

TERMS: Final = (
    "id",
    "name",
    "regex",
    "tag",
    "no-tag",
    "older-than",
    "idle",
    "expired",
    "not-deployed",
    "migrated",
)
"""Every term, in the order they are evaluated (a not-selected group names the first that failed)."""
_MULTI: Final = frozenset({"id", "name", "tag", "no-tag"})
"""Terms that may be given several times (their values OR)."""
_ALIASES: Final = {
    "group": "id",
    "group-id": "id",
    "name-regex": "regex",
    "absent": "no-tag",
    "absent-tag": "no-tag",
    "older": "older-than",
    "idle-for": "idle",
    "not-deployed-for": "not-deployed",
}

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


class SelectionError(ValueError):
    """A selection that cannot be understood; the message names the term (or JSON key) at fault."""


# --- the model ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TagTerm:
    """`KEY` (any value) or `KEY=VALUE` (exactly that value)."""

    key: str
    value: str | None = None

    def matches(self, tags: Mapping[str, str]) -> bool:
        return self.key in tags and (self.value is None or tags[self.key] == self.value)

    def __str__(self) -> str:
        return self.key if self.value is None else f"{self.key}={self.value}"


def parse_duration(text: str, term: str = "duration") -> timedelta:
    """`30d` -> 30 days; the error names `term`."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) == 0:
        raise SelectionError(
            f"{term}: {text!r} is not a duration (a positive whole number and a unit: 90m, 36h, 30d, 2w)"
        )
    return timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2)])


def format_duration(value: timedelta) -> str:
    """The shortest exact spelling: 30d, 2w, 36h, 90m, 45s."""
    seconds = int(value.total_seconds())
    for unit in ("w", "d", "h", "m"):
        if seconds % _UNITS[unit] == 0:
            return f"{seconds // _UNITS[unit]}{unit}"
    return f"{seconds}s"


def parse_expiry(raw: str) -> datetime | None:
    """An expiry tag's value as a UTC instant: an ISO 8601 date (midnight UTC) or date-time (no offset:
    UTC). None if it is neither."""
    text = raw.strip()
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Selection:
    """Which groups. Criteria AND together; several values of one criterion OR. At least one criterion:
    an empty selection would be every group, which is never what a cleanup means."""

    group_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    """Shell globs on the group's name (case-sensitive, as the safety lists)."""
    name_regex: str | None = None
    """A regular expression searched in the group's name."""
    tags: tuple[TagTerm, ...] = ()
    """The group carries at least one of these."""
    absent_tags: tuple[str, ...] = ()
    """The group misses at least one of these keys."""
    older_than: timedelta | None = None
    """Created (`CreationTimestamp`) longer ago than this."""
    idle_for: timedelta | None = None
    """Last updated (`LastUpdatedTimestamp`) longer ago than this."""
    expiry_tag: str | None = None
    """The expiry tag's key, when the expiry criterion is used (its value is a date that has passed)."""
    not_deployed_for: timedelta | None = None
    """The newest deployment is older than this, or there is none."""
    migrated: bool = False
    """The group's core thing is registered as a Greengrass V2 core device."""
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.terms():
            raise SelectionError(
                "an empty selection would select every group: give at least one criterion "
                f"({', '.join(TERMS)})"
            )
        for term, values in (("id", self.group_ids), ("name", self.names), ("no-tag", self.absent_tags)):
            if any(not isinstance(v, str) or not v.strip() for v in values):
                raise SelectionError(f"{term}: an empty value")
        if any(not t.key for t in self.tags):
            raise SelectionError("tag: an empty key")
        if self.expiry_tag is not None and not self.expiry_tag.strip():
            raise SelectionError("expired: an empty tag key")
        for term, duration in (
            ("older-than", self.older_than),
            ("idle", self.idle_for),
            ("not-deployed", self.not_deployed_for),
        ):
            if duration is not None and duration <= timedelta(0):
                raise SelectionError(f"{term}: must be a positive duration")
        if self.name_regex is not None:
            if not self.name_regex:
                raise SelectionError("regex: an empty value")
            try:
                compiled = re.compile(self.name_regex)
            except re.error as exc:
                raise SelectionError(
                    f"regex: {self.name_regex!r} is not a regular expression: {exc}"
                ) from None
            object.__setattr__(self, "_regex", compiled)

    # --- parsing ---

    @classmethod
    def parse(cls, terms: str | Sequence[str]) -> Selection:
        """From command-line terms: `name=lab-*`, `tag=env=lab`, `expired`, `older-than=30d`, ... A single
        string is split like a shell would."""
        items = shlex.split(terms) if isinstance(terms, str) else list(terms)
        values: dict[str, list[str]] = {}
        for item in items:
            if not isinstance(item, str):
                raise SelectionError(f"{item!r} is not a term (expected TERM=VALUE)")
            key, sep, value = item.partition("=")
            term = _term_name(key.strip())
            if term is None:
                raise SelectionError(f"unknown term {item!r}: expected one of {', '.join(TERMS)}")
            if term == "migrated" and sep:
                raise SelectionError(f"migrated: takes no value ({item!r}); write migrated")
            if not sep and term not in ("expired", "migrated"):
                raise SelectionError(f"{term}: {item!r} has no value (expected {term}=VALUE)")
            values.setdefault(term, []).append(value if sep else "")
        return cls._build(values)

    @classmethod
    def from_json(cls, document: str | Mapping[str, Any], *, where: str = "") -> Selection:
        """From a JSON object (text or already decoded): each key a term, each value one value or a list;
        `expired` is `true` (the default tag) or a tag key. Errors name `where` and the key."""
        prefix = f"{where}: " if where else ""
        if isinstance(document, str):
            try:
                document = json.loads(document)
            except json.JSONDecodeError as exc:
                raise SelectionError(f"{prefix}not valid JSON ({exc.msg} at position {exc.pos})") from None
        if not isinstance(document, Mapping):
            raise SelectionError(f"{prefix}expected a JSON object of terms, got {document!r}")
        values: dict[str, list[str]] = {}
        for raw_key, raw in document.items():
            term = _term_name(str(raw_key))
            if term is None:
                raise SelectionError(f"{prefix}unknown key {raw_key!r}: expected one of {', '.join(TERMS)}")
            given = _json_values(term, raw, f"{prefix}{raw_key}")
            if given:
                values.setdefault(term, []).extend(given)
        try:
            return cls._build(values)
        except SelectionError as exc:
            raise SelectionError(f"{prefix}{exc}") from None

    @classmethod
    def _build(cls, values: Mapping[str, list[str]]) -> Selection:
        for term, given in values.items():
            if term not in _MULTI and len(given) > 1:
                raise SelectionError(f"{term}: given {len(given)} times; it takes one value")

        def one(term: str) -> str | None:
            return values[term][0] if values.get(term) else None

        tags = []
        for raw in values.get("tag", []):
            key, sep, value = raw.partition("=")
            if not key.strip():
                raise SelectionError(f"tag: {raw!r} has no key (expected KEY or KEY=VALUE)")
            tags.append(TagTerm(key.strip(), value if sep else None))
        expired = one("expired")
        if expired is not None:
            _check_expiry_tag_key(expired)

        def duration(term: str) -> timedelta | None:
            text = one(term)
            return None if text is None else parse_duration(text, term)

        return cls(
            group_ids=tuple(v.strip() for v in values.get("id", [])),
            names=tuple(values.get("name", [])),
            name_regex=one("regex"),
            tags=tuple(tags),
            absent_tags=tuple(v.strip() for v in values.get("no-tag", [])),
            older_than=duration("older-than"),
            idle_for=duration("idle"),
            expiry_tag=None if expired is None else (expired.strip() or EXPIRY_TAG),
            not_deployed_for=duration("not-deployed"),
            migrated="migrated" in values,
        )

    # --- describing ---

    def terms(self) -> tuple[str, ...]:
        """The selection as command-line terms (`Selection.parse(s.terms()) == s`)."""
        out = [f"id={v}" for v in self.group_ids]
        out += [f"name={v}" for v in self.names]
        if self.name_regex is not None:
            out.append(f"regex={self.name_regex}")
        out += [f"tag={t}" for t in self.tags]
        out += [f"no-tag={v}" for v in self.absent_tags]
        for term, duration in (("older-than", self.older_than), ("idle", self.idle_for)):
            if duration is not None:
                out.append(f"{term}={format_duration(duration)}")
        if self.expiry_tag is not None:
            out.append("expired" if self.expiry_tag == EXPIRY_TAG else f"expired={self.expiry_tag}")
        if self.not_deployed_for is not None:
            out.append(f"not-deployed={format_duration(self.not_deployed_for)}")
        if self.migrated:
            out.append("migrated")
        return tuple(out)

    def to_json(self) -> dict[str, Any]:
        """The JSON object `from_json` reads back (lists for the terms that take several values)."""
        document: dict[str, Any] = {}
        for item in self.terms():
            term, sep, value = item.partition("=")
            if term in ("expired", "migrated") and not sep:
                document[term] = True
            elif term in _MULTI:
                document.setdefault(term, []).append(value)
            else:
                document[term] = value
        return document

    def __str__(self) -> str:
        return " ".join(shlex.quote(t) for t in self.terms())

    @property
    def needs_tags(self) -> bool:
        return bool(self.tags or self.absent_tags or self.expiry_tag is not None)

    @property
    def needs_deployments(self) -> bool:
        return self.not_deployed_for is not None

    # --- evaluation, criterion by criterion: (matched?, reason) ---

    def _listed(self, group: GroupSummary, now: datetime) -> Iterator[tuple[bool, str]]:
        """The criteria `ListGroups` answers."""
        if self.group_ids:
            if group.group_id in self.group_ids:
                yield True, "id is one of the selected ids"
            else:
                yield False, "id is not one of the selected ids"
        if self.names:
            matching = next((p for p in self.names if fnmatchcase(group.name, p)), None)
            if matching is not None:
                yield True, f"name {group.name!r} matches {matching!r}"
            else:
                yield False, f"name {group.name!r} matches none of {_listing(self.names)}"
        if self._regex is not None:
            if self._regex.search(group.name):
                yield True, f"name {group.name!r} matches regex {self.name_regex!r}"
            else:
                yield False, f"name {group.name!r} does not match regex {self.name_regex!r}"
        yield from _age("created", group.created_at, self.older_than, now)
        yield from _age("last updated", group.updated_at, self.idle_for, now)

    def _tagged(self, tags: Mapping[str, str], now: datetime) -> Iterator[tuple[bool, str]]:
        """The criteria the group's tags answer (`GetGroup`)."""
        if self.tags:
            matching = next((t for t in self.tags if t.matches(tags)), None)
            if matching is not None:
                yield True, f"tagged {matching}"
            else:
                yield False, f"carries none of the tags {_listing(str(t) for t in self.tags)}"
        if self.absent_tags:
            missing = next((k for k in self.absent_tags if k not in tags), None)
            if missing is not None:
                yield True, f"has no tag {missing!r}"
            else:
                yield False, f"carries every one of the tags {_listing(self.absent_tags)}"
        if self.expiry_tag is not None:
            yield _expiry(self.expiry_tag, tags, now)

    def _moved(self, devices: Sequence[tuple[str, CoreDeviceView | None]]) -> Iterator[tuple[bool, str]]:
        """`migrated`: (core thing, its V2 core device or None) for each core of the latest version."""
        if not self.migrated:
            return
        found = [(thing, device) for thing, device in devices if device is not None]
        if found:
            yield True, "; ".join(f"migrated to V2: {describe_core_device(d)}" for _, d in found)
        elif devices:
            things = _listing(thing for thing, _ in devices)
            yield False, f"core thing {things} is not a Greengrass V2 core device"
        else:
            yield False, "the group's latest version has no core"

    def _deployed(self, last: datetime | None, now: datetime) -> Iterator[tuple[bool, str]]:
        if self.not_deployed_for is None:
            return
        wanted = format_duration(self.not_deployed_for)
        if last is None:
            yield True, "never deployed"
        elif now - last > self.not_deployed_for:
            yield True, f"last deployed {_ago(last, now)} ({_day(last)}), more than {wanted} ago"
        else:
            yield False, f"deployed {_ago(last, now)} ({_day(last)}), within {wanted}"


_NOT_A_TAG_KEY: Final = re.compile(r"\d+\s*[smhdw]|true|false|yes|no", re.IGNORECASE)
"""`expired=` values that are an age or a yes/no, not the key of an expiry tag."""


def _check_expiry_tag_key(key: str) -> None:
    """`expired=KEY` reads the expiry date from the tag KEY. A date, an age or a yes/no in its place
    (`expired=2025-01-01`) would be read as a tag of that name and select nothing, silently: refused, with
    what was probably meant. Here, so the CLI, `request --select`, the janitor's configuration and the CDK
    context all refuse it alike."""
    value = key.strip()
    if value and (parse_expiry(value) is not None or _NOT_A_TAG_KEY.fullmatch(value)):
        raise SelectionError(
            f"expired={value}: expired takes no date or age: it selects the groups whose {EXPIRY_TAG} date "
            "has passed, and expired=KEY reads the date from the tag KEY; for a tag's value use "
            "tag=KEY=VALUE, for an age older-than=30d"
        )


def _term_name(key: str) -> str | None:
    key = key.strip().lower().replace("_", "-")
    key = _ALIASES.get(key, key)
    return key if key in TERMS else None


def _json_values(term: str, raw: Any, where: str) -> list[str]:
    if term == "migrated":
        if raw is True:
            return [""]
        if raw is False or raw is None:
            return []
        raise SelectionError(f"{where}: expected true, got {raw!r}")
    if term == "expired":
        if raw is True:
            return [""]
        if raw is False or raw is None:
            return []
        if isinstance(raw, str) and raw.strip():
            return [raw]
        raise SelectionError(f"{where}: expected true or the expiry tag's key, got {raw!r}")
    if term == "tag" and isinstance(raw, Mapping):
        out = []
        for key, value in raw.items():
            if value is not None and not isinstance(value, str):
                raise SelectionError(f"{where}: the value of tag {key!r} must be a string or null")
            out.append(str(key) if value is None else f"{key}={value}")
        return out
    items = raw if isinstance(raw, list) else [raw]
    if term not in _MULTI and isinstance(raw, list) and len(raw) != 1:
        raise SelectionError(f"{where}: takes one value, got {raw!r}")
    for item in items:
        if not isinstance(item, str):
            raise SelectionError(f"{where}: expected a string or a list of strings, got {raw!r}")
    return list(items)


def _listing(values: Iterable[str]) -> str:
    return ", ".join(repr(v) for v in values)


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def _ago(moment: datetime, now: datetime) -> str:
    seconds = max(0, int((now - moment).total_seconds()))
    if seconds >= 2 * 86_400:
        return f"{plural(seconds // 86_400, 'day')} ago"
    if seconds >= 2 * 3600:
        return f"{plural(seconds // 3600, 'hour')} ago"
    return f"{plural(seconds // 60, 'minute')} ago"


def _age(
    what: str, moment: datetime | None, limit: timedelta | None, now: datetime
) -> Iterator[tuple[bool, str]]:
    if limit is None:
        return
    wanted = format_duration(limit)
    if moment is None:
        yield False, f"{what} at an unknown time (ListGroups gave no readable timestamp)"
    elif now - moment > limit:
        yield True, f"{what} {_ago(moment, now)} ({_day(moment)}), more than {wanted} ago"
    else:
        yield False, f"{what} {_ago(moment, now)} ({_day(moment)}), within {wanted}"


def _expiry(key: str, tags: Mapping[str, str], now: datetime) -> tuple[bool, str]:
    if key not in tags:
        return False, f"no expiry tag {key}"
    raw = tags[key]
    expires = parse_expiry(raw)
    if expires is None:
        return False, f"{UNREADABLE_EXPIRY} {key}={raw!r} is not an ISO 8601 date or date-time"
    if expires <= now:
        return True, f"expired: {key}={raw} has passed"
    return False, f"not expired yet: {key}={raw}"


UNREADABLE_EXPIRY: Final = "unreadable expiry tag:"
"""How a plan reason about an expiry tag that is not a date starts (see `PlanEntry.problem`)."""


# --- the plan ----------------------------------------------------------------------------------------------


class Verdict(StrEnum):
    ACT = "act"
    """Selected, and the safety layers allow it: a request would be sent."""
    REJECTED = "rejected"
    """Selected, but the safety layers refuse it (the workflow would end it REJECTED, same reason)."""
    NOT_SELECTED = "not-selected"
    """A criterion does not hold; the reason is the first that failed."""
    ERROR = "error"
    """Greengrass could not answer for this group (GetGroup or ListDeployments failed): not acted on."""


@dataclass(frozen=True, slots=True)
class PlanEntry:
    group_id: str
    name: str
    verdict: Verdict
    reasons: tuple[str, ...]
    """Why this verdict: the criteria that matched (act), the refusal (rejected), the first criterion that
    failed (not selected), or the error."""
    matched: tuple[str, ...] = ()
    """The criteria that matched, for a selected group (act or rejected)."""
    teardown: tuple[Resource, ...] = ()
    """For a group to act on, when the plan previews a teardown: what the group's versions reference, each
    with who else uses it (kept) or nobody (deleted)."""

    @property
    def acts(self) -> bool:
        return self.verdict is Verdict.ACT

    @property
    def selected(self) -> bool:
        return self.verdict in (Verdict.ACT, Verdict.REJECTED)

    @property
    def problem(self) -> str | None:
        """A reason someone should fix: an expiry tag that is not a date, or a Greengrass error."""
        if self.verdict is Verdict.ERROR:
            return self.reasons[0] if self.reasons else "error"
        return next((r for r in self.reasons if r.startswith(UNREADABLE_EXPIRY)), None)

    def as_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "group_id": self.group_id,
            "name": self.name,
            "verdict": self.verdict.value,
            "acts": self.acts,
            "reasons": list(self.reasons),
        }
        if self.teardown:
            document["teardown"] = [teardown_line_json(r) for r in self.teardown]
        return document


def teardown_line_json(resource: Resource) -> dict[str, Any]:
    """One resource of a teardown preview: what it is, and whether a teardown would delete or keep it."""
    return {
        "type": str(resource.kind),
        "id": resource.resource_id,
        "arn": resource.arn,
        "would": "keep" if resource.used_by else "delete",
        "used_by": list(resource.used_by),
    }


def describe_core_device(device: CoreDeviceView) -> str:
    """`core device X, status HEALTHY, last seen 2026-11-30T10:00:00Z`."""
    text = f"core device {device.thing_name}, status {device.status}"
    if device.last_status_update is not None:
        seen = device.last_status_update.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        text += f", last seen {seen}"
    return text


@dataclass(frozen=True, slots=True)
class Plan:
    selection: Selection
    evaluated_at: datetime
    entries: tuple[PlanEntry, ...]
    """Every group `ListGroups` returned (in its order), each with its verdict."""
    complete: bool = True
    """False when `should_stop` ended the evaluation early: groups not reached have no entry."""
    calls: Mapping[str, int] = field(default_factory=dict)
    """Greengrass calls the evaluation made (`GetGroup`, `ListDeployments`; `ListGroups` pages are the
    adapter's)."""

    @property
    def fleet_size(self) -> int:
        """Groups listed (all of them when the plan is complete)."""
        return len(self.entries)

    def having(self, verdict: Verdict) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.verdict is verdict)

    @property
    def to_act(self) -> tuple[PlanEntry, ...]:
        return self.having(Verdict.ACT)

    @property
    def rejected(self) -> tuple[PlanEntry, ...]:
        return self.having(Verdict.REJECTED)

    @property
    def selected(self) -> tuple[PlanEntry, ...]:
        return tuple(e for e in self.entries if e.selected)

    @property
    def problems(self) -> tuple[PlanEntry, ...]:
        """Entries someone should look at: unreadable expiry tags, Greengrass errors."""
        return tuple(e for e in self.entries if e.problem is not None)

    def counts(self) -> dict[str, int]:
        counted = Counter(e.verdict.value for e in self.entries)
        return {v.value: counted.get(v.value, 0) for v in Verdict}


class GreengrassReader(Protocol):
    """The read side of `GreengrassPort`: all `select` may call (it never writes)."""

    def list_groups(self) -> Iterator[GroupSummary]: ...

    def inspect_group(self, group_id: str) -> GroupFacts: ...

    def last_deployment_at(self, group_id: str) -> datetime | None: ...


class MigrationReader(Protocol):
    """What `migrated` and a teardown preview read (Greengrass V1 versions, Greengrass V2 core devices)."""

    def core_thing_names(self, group_id: str) -> tuple[str, ...]:
        """The things the cores of the group's latest version name (none: no version, or no core)."""
        ...

    def core_device(self, thing_name: str) -> CoreDeviceView | None: ...

    def collect(self, group_id: str, level: Teardown, *, pace: Pace) -> tuple[Resource, ...]: ...


def select(
    greengrass: GreengrassReader,
    selection: Selection,
    now: datetime,
    safety: SafetyRules,
    *,
    should_stop: Callable[[], bool] | None = None,
    migration: MigrationReader | None = None,
    teardown: Teardown = Teardown.GROUP,
) -> Plan:
    """Every group with its verdict (see the module docstring for the order of the calls).

    `migration` answers `migrated` (required then: `SelectionError` without it) and, with `teardown`
    beyond `group`, previews the teardown of each group to act on (`PlanEntry.teardown`).

    A `GreengrassError` from `ListGroups` is raised (no plan without the fleet); one from a group's
    `GetGroup` or `ListDeployments` makes that group's verdict `error`. `should_stop` is asked before
    each Greengrass call; once it says stop, the plan is returned incomplete.
    """
    stop = should_stop or (lambda: False)
    if migration is None and (selection.migrated or teardown is not Teardown.GROUP):
        raise SelectionError(
            "migrated and the teardown preview need Greengrass V2 and AWS IoT reads, which this caller lacks"
        )
    calls: Counter[str] = Counter()
    entries: dict[str, PlanEntry] = {}
    candidates: list[tuple[GroupSummary, tuple[str, ...]]] = []
    complete = True
    for group in greengrass.list_groups():
        if group.group_id in entries:
            continue  # a group listed twice (paging under concurrent change) is evaluated once
        failed, matched = _first_failure(selection._listed(group, now))
        if failed is not None:
            entries[group.group_id] = PlanEntry(group.group_id, group.name, Verdict.NOT_SELECTED, (failed,))
        else:
            candidates.append((group, matched))
            entries[group.group_id] = PlanEntry(group.group_id, group.name, Verdict.NOT_SELECTED, ())
        if stop():
            complete = False
            break
    evaluated: set[str] = set()
    for group, listed_matches in candidates:
        if not complete or stop():
            complete = False
            break
        evaluated.add(group.group_id)
        entry = _evaluate(greengrass, selection, group, listed_matches, now, safety, calls, migration)
        if entry.acts and migration is not None and teardown is not Teardown.GROUP:
            entry = _with_teardown(entry, migration, teardown, calls)
        entries[group.group_id] = entry
    # Candidates never reached have no verdict: leave them out rather than report a guess.
    for group, _ in candidates:
        if group.group_id not in evaluated:
            del entries[group.group_id]
    return Plan(
        selection=selection,
        evaluated_at=now,
        entries=tuple(entries.values()),
        complete=complete,
        calls=dict(calls),
    )


def _with_teardown(
    entry: PlanEntry, migration: MigrationReader, teardown: Teardown, calls: Counter[str]
) -> PlanEntry:
    try:
        calls["teardown preview"] += 1
        resources = migration.collect(entry.group_id, teardown, pace=unpaced)
    except GreengrassError as error:
        return replace(entry, verdict=Verdict.ERROR, reasons=(f"previewing the teardown failed: {error}",))
    return replace(entry, teardown=resources)


def _first_failure(results: Iterable[tuple[bool, str]]) -> tuple[str | None, tuple[str, ...]]:
    matched: list[str] = []
    for ok, reason in results:
        if not ok:
            return reason, tuple(matched)
        matched.append(reason)
    return None, tuple(matched)


def _evaluate(
    greengrass: GreengrassReader,
    selection: Selection,
    group: GroupSummary,
    listed_matches: tuple[str, ...],
    now: datetime,
    safety: SafetyRules,
    calls: Counter[str],
    migration: MigrationReader | None,
) -> PlanEntry:
    gid = group.group_id
    try:
        calls["GetGroup"] += 1
        facts = greengrass.inspect_group(gid)
    except GreengrassError as error:
        return PlanEntry(gid, group.name, Verdict.ERROR, (f"GetGroup failed: {error}",))
    if not facts.exists:
        return PlanEntry(gid, group.name, Verdict.NOT_SELECTED, ("the group no longer exists",))
    name = facts.name if facts.name is not None else group.name
    failed, tag_matches = _first_failure(selection._tagged(facts.tags, now))
    if failed is not None:
        return PlanEntry(gid, name, Verdict.NOT_SELECTED, (failed,))
    deployment_matches: tuple[str, ...] = ()
    if selection.needs_deployments:
        try:
            calls["ListDeployments"] += 1
            last = greengrass.last_deployment_at(gid)
        except GreengrassError as error:
            return PlanEntry(gid, name, Verdict.ERROR, (f"ListDeployments failed: {error}",))
        failed, deployment_matches = _first_failure(selection._deployed(last, now))
        if failed is not None:
            return PlanEntry(gid, name, Verdict.NOT_SELECTED, (failed,))
    moved_matches: tuple[str, ...] = ()
    if selection.migrated and migration is not None:
        try:
            calls["core thing"] += 1
            things = migration.core_thing_names(gid)
            calls["GetCoreDevice"] += len(things)
            devices = [(thing, migration.core_device(thing)) for thing in things]
        except GreengrassError as error:
            return PlanEntry(gid, name, Verdict.ERROR, (f"reading the core device failed: {error}",))
        failed, moved_matches = _first_failure(selection._moved(devices))
        if failed is not None:
            return PlanEntry(gid, name, Verdict.NOT_SELECTED, (failed,))
    matched = (*listed_matches, *tag_matches, *deployment_matches, *moved_matches)
    refusal = safety.refusal(gid, facts.name, facts.tags)
    if refusal is not None:
        return PlanEntry(gid, name, Verdict.REJECTED, (refusal,), matched)
    return PlanEntry(gid, name, Verdict.ACT, matched, matched)
