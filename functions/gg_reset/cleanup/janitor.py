"""The janitor: on a schedule, evaluates the configured selection and cleans up what it selects.

One run:

1. evaluates the selection (`gg_reset.cleanup.selection.select`, the code `gg-reset plan` runs) with the
   deployment's safety rules, reading Greengrass at one share of the request budget;
2. decides: nothing to do; a dry run (the default: the plan is recorded, nothing is sent); over the
   blast-radius cap (more groups to act on than `max_groups` or `max_percent` of the fleet, whichever
   is smaller: the plan is recorded, nothing is sent); an evaluation that failed or ran out of time
   (nothing is sent); or a real run, which sends one deletion (or reset) request per group to the service
   bus, paced, where the groups' workflows take over exactly as for any other request (with the same
   safety checks again, before every write);
3. records the run in the ledger (`JANITOR` partition) and announces it on the notification channel.

Request ids are `janitor:<run id>:<group id>`, and the run id is the scheduled event's id, so a retried
invocation of the same run sends the same requests again, which the ledger recognises as replays.

This module is the logic only: no Lambda types, no boto3 (the adapters are passed in).
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Protocol, TypeVar

from gg_reset import settings
from gg_reset.cleanup.selection import (
    GreengrassReader,
    MigrationReader,
    Plan,
    PlanEntry,
    Selection,
    SelectionError,
    select,
)
from gg_reset.contracts import ContractError, ForcePolicy, request_entry
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.domain.safety import SafetyRules
from gg_reset.domain.teardown import Resource, Teardown
from gg_reset.ports import (
    Clock,
    CoreDeviceView,
    Delivery,
    GroupFacts,
    GroupSummary,
    Pace,
    RequestBus,
    RunNotice,
    RunNotifier,
)
from gg_reset.settings import ConfigurationError
from gg_reset.shell.budget import RequestBudget
from gg_reset.text import plural

logger = logging.getLogger(__name__)

REQUESTED_BY: Final = "gg-reset-janitor"
REQUEST_ID_MAX: Final = 128
"""The request contract's limit on `request-id`."""
REASON_MAX: Final = 1024
"""The request contract's limit on `reason`."""
SEND_BATCH: Final = 10
"""Requests per `PutEvents` call (its maximum)."""
RECORDED_ENTRIES: Final = 100
"""Plan entries kept in the run's ledger item (the selected groups first); the counts cover them all."""
NOTIFIED_ENTRIES: Final = 20
"""Plan entries listed in the run's notification."""
MAX_ABSORBED_THROTTLES: Final = 10
"""429s one Greengrass read may absorb by waiting for the budget before the read counts as failed."""
LIST_PAGE_SIZE: Final = 50
"""Groups per `ListGroups` page (the adapter's page size): one budget slot per page."""


class JanitorAction(StrEnum):
    DELETE = "delete"
    RESET = "reset"


class RunOutcome(StrEnum):
    NOTHING_TO_DO = "nothing-to-do"
    """No group selected for action."""
    PLANNED = "planned"
    """Dry run: the plan is recorded, nothing was sent."""
    CAPPED = "capped"
    """More groups to act on than the blast-radius cap allows: nothing was sent."""
    SENT = "sent"
    """Every request was accepted by the service bus."""
    PARTIAL = "partial"
    """Some requests were refused by the bus, or the run ran out of time before sending them all."""
    INCOMPLETE = "incomplete"
    """The evaluation ran out of time: nothing was sent (a cap needs the whole fleet)."""
    FAILED = "failed"
    """The evaluation failed (ListGroups): nothing was sent."""

    @property
    def needs_attention(self) -> bool:
        return self in (RunOutcome.CAPPED, RunOutcome.PARTIAL, RunOutcome.INCOMPLETE, RunOutcome.FAILED)


# --- configuration -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class JanitorConfig:
    selection: Selection
    action: JanitorAction = JanitorAction.DELETE  # settings.JANITOR_DEFAULT_ACTION (a test checks)
    dry_run: bool = settings.JANITOR_DEFAULT_DRY_RUN
    max_groups: int = settings.JANITOR_DEFAULT_MAX_GROUPS
    """At most this many groups per run (0: never send anything)."""
    max_percent: float = settings.JANITOR_DEFAULT_MAX_PERCENT
    """At most this percentage of the fleet (the groups ListGroups returns) per run."""
    teardown: Teardown | None = None
    """For deletions: what each request asks to remove (None: the deployment's default). A dry run
    previews it per group."""

    def __post_init__(self) -> None:
        if self.teardown is not None and self.action is not JanitorAction.DELETE:
            raise ValueError(f"teardown={self.teardown} applies to deletions only (action is {self.action})")
        if self.max_groups < 0:
            raise ValueError(f"max_groups must be zero or more, got {self.max_groups}")
        if not 0 <= self.max_percent <= 100:
            raise ValueError(f"max_percent must be between 0 and 100, got {self.max_percent}")

    def cap(self, fleet_size: int) -> int:
        """How many groups one run may act on: `max_groups` or `max_percent` of the fleet (rounded down),
        whichever is smaller. A fleet of 30 at 10 % allows 3; of 5, none."""
        by_share = math.floor(fleet_size * self.max_percent / 100 + 1e-9)
        return max(0, min(self.max_groups, by_share))

    @classmethod
    def default(cls) -> JanitorConfig:
        return cls(selection=Selection.from_json(settings.JANITOR_DEFAULT_SELECTION))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> JanitorConfig:
        """From the variables the stack sets (`settings.ENV_JANITOR_*`); an absent one takes its default.
        A malformed one raises `ConfigurationError` naming it."""
        env = os.environ if environ is None else environ

        def raw(name: str) -> str | None:
            value = env.get(name)
            return None if value is None or value.strip() == "" else value.strip()

        selection_text = raw(settings.ENV_JANITOR_SELECTION)
        try:
            selection = Selection.from_json(
                selection_text if selection_text is not None else settings.JANITOR_DEFAULT_SELECTION,
                where=settings.ENV_JANITOR_SELECTION,
            )
        except SelectionError as exc:
            raise ConfigurationError(str(exc)) from None
        action_text = (raw(settings.ENV_JANITOR_ACTION) or settings.JANITOR_DEFAULT_ACTION).lower()
        try:
            action = JanitorAction(action_text)
        except ValueError:
            raise ConfigurationError(
                f"{settings.ENV_JANITOR_ACTION}={action_text!r}: expected delete or reset"
            ) from None
        dry_text = raw(settings.ENV_JANITOR_DRY_RUN)
        if dry_text is None:
            dry_run = settings.JANITOR_DEFAULT_DRY_RUN
        elif dry_text.lower() in ("true", "1", "yes"):
            dry_run = True
        elif dry_text.lower() in ("false", "0", "no"):
            dry_run = False
        else:
            raise ConfigurationError(f"{settings.ENV_JANITOR_DRY_RUN}={dry_text!r}: expected true or false")
        max_groups = _number(
            raw(settings.ENV_JANITOR_MAX_GROUPS), settings.ENV_JANITOR_MAX_GROUPS, whole=True
        )
        max_percent = _number(
            raw(settings.ENV_JANITOR_MAX_PERCENT), settings.ENV_JANITOR_MAX_PERCENT, high=100
        )
        teardown_text = raw(settings.ENV_JANITOR_TEARDOWN)
        teardown: Teardown | None = None
        if teardown_text is not None:
            if teardown_text.lower() not in settings.TEARDOWN_LEVELS:
                raise ConfigurationError(
                    f"{settings.ENV_JANITOR_TEARDOWN}={teardown_text!r}: expected one of "
                    f"{', '.join(settings.TEARDOWN_LEVELS)}"
                )
            teardown = Teardown(teardown_text.lower())
            if action is not JanitorAction.DELETE:
                raise ConfigurationError(
                    f"{settings.ENV_JANITOR_TEARDOWN}={teardown_text} applies to deletions only "
                    f"({settings.ENV_JANITOR_ACTION} is {action})"
                )
        return cls(
            selection=selection,
            action=action,
            dry_run=dry_run,
            teardown=teardown,
            max_groups=int(max_groups) if max_groups is not None else settings.JANITOR_DEFAULT_MAX_GROUPS,
            max_percent=max_percent if max_percent is not None else settings.JANITOR_DEFAULT_MAX_PERCENT,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "selection": self.selection.to_json(),
            "action": self.action.value,
            "dry_run": self.dry_run,
            "max_groups": self.max_groups,
            "max_percent": self.max_percent,
            **({"teardown": self.teardown.value} if self.teardown is not None else {}),
        }


def _number(text: str | None, name: str, *, whole: bool = False, high: float = math.inf) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= high or (whole and not value.is_integer()):
        what = "a whole number, zero or more" if whole else f"a number between 0 and {high:g}"
        raise ConfigurationError(f"{name}={text!r}: expected {what}")
    return value


# --- the run -----------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SentRequest:
    group_id: str
    request_id: str
    event_id: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class JanitorRun:
    """One run: what it evaluated, what it decided, what it sent."""

    run_id: str
    scheduled_at: datetime
    """The schedule's time for this run (the ledger item's sort key): the same for a retried invocation."""
    started_at: datetime
    finished_at: datetime
    config: JanitorConfig
    outcome: RunOutcome
    plan: Plan | None
    """None when the evaluation failed."""
    cap: int | None = None
    sent: tuple[SentRequest, ...] = ()
    """Requests the bus accepted."""
    refused: tuple[SentRequest, ...] = ()
    """Requests the bus refused (after its retries), with the error."""
    unsent: tuple[str, ...] = ()
    """Groups the run had no time left to send a request for."""
    error: str | None = None

    @property
    def request_ids(self) -> dict[str, str]:
        """Group id -> request id of every request the bus accepted."""
        return {s.group_id: s.request_id for s in self.sent}

    def counts(self) -> dict[str, int]:
        verdicts = self.plan.counts() if self.plan is not None else {}
        return {
            "fleet": self.plan.fleet_size if self.plan is not None else 0,
            **verdicts,
            "problems": len(self.plan.problems) if self.plan is not None else 0,
            "sent": len(self.sent),
            "refused": len(self.refused),
            "unsent": len(self.unsent),
        }

    @property
    def message(self) -> str:
        """One line for people: what the run did and why."""
        counts = self.counts()
        mode = "dry run" if self.config.dry_run else "run"
        verb = self.config.action.value
        acting = counts.get("act", 0)
        rejected = counts.get("rejected", 0)
        base = f"janitor {mode} {self.run_id}"
        fleet = plural(counts["fleet"], "group")
        match self.outcome:
            case RunOutcome.FAILED:
                return f"{base}: evaluation failed, nothing sent: {self.error}"
            case RunOutcome.INCOMPLETE:
                return f"{base}: evaluation ran out of time after {fleet}, nothing sent"
            case RunOutcome.NOTHING_TO_DO:
                return (
                    f"{base}: nothing to {verb} among {fleet}"
                    f" ({rejected} selected but rejected by the safety rules)"
                )
            case RunOutcome.CAPPED:
                return (
                    f"{base}: {plural(acting, 'group')} to {verb}, over the cap of {self.cap} "
                    f"(max {self.config.max_groups} groups, {self.config.max_percent:g}% of "
                    f"{counts['fleet']}): nothing sent"
                )
            case RunOutcome.PLANNED:
                return f"{base}: would {verb} {acting} of {fleet}, {rejected} rejected"
            case _:
                return (
                    f"{base}: sent {plural(len(self.sent), f'{verb} request')} for "
                    f"{plural(acting, 'selected group')}"
                    f" of {counts['fleet']}, {rejected} rejected, {len(self.refused)} refused by the bus,"
                    f" {len(self.unsent)} not sent in time"
                )

    def summary(self, max_entries: int = NOTIFIED_ENTRIES) -> dict[str, Any]:
        """A bounded, JSON-serialisable account of the run (the notification's and the ledger's)."""
        plan = self.plan
        entries: list[PlanEntry] = []
        problems: list[PlanEntry] = []
        if plan is not None:
            # The groups acted on or rejected first, then the ones someone should look at.
            entries = [*plan.to_act, *plan.rejected][:max_entries]
            problems = list(plan.problems[:max_entries])
        return {
            "run_id": self.run_id,
            "scheduled_at": self.scheduled_at.isoformat(),
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "outcome": self.outcome.value,
            "message": self.message,
            "action": self.config.action.value,
            "dry_run": self.config.dry_run,
            "config": self.config.as_json(),
            "cap": self.cap,
            "complete": plan.complete if plan is not None else False,
            "counts": self.counts(),
            "entries": [_entry_json(e, self.request_ids.get(e.group_id)) for e in entries],
            "entries_truncated": plan is not None and len(plan.to_act) + len(plan.rejected) > len(entries),
            "problems": [e.as_json() for e in problems],
            "refused": [{"group_id": r.group_id, "error": r.error} for r in self.refused[:max_entries]],
            "unsent": list(self.unsent[:max_entries]),
            "error": self.error,
        }

    def as_record(self) -> dict[str, Any]:
        """What the ledger keeps of the run (bounded: counts of everything, the first entries)."""
        return self.summary(RECORDED_ENTRIES)

    def notice(self) -> RunNotice:
        acting = self.counts().get("act", 0)
        subject = f"gg-reset janitor: {self.outcome.value}"
        if self.outcome is not RunOutcome.FAILED:
            subject += f", {acting} to {self.config.action.value}"
        if self.config.dry_run:
            subject += " (dry run)"
        return RunNotice(source="janitor", subject=subject, details=self.summary())


def _entry_json(entry: PlanEntry, request_id: str | None) -> dict[str, Any]:
    document = entry.as_json()
    if request_id is not None:
        document["request_id"] = request_id
    return document


def request_id_for(run_id: str, group_id: str) -> str:
    """`janitor:<run id>:<group id>`: the same for every invocation of one run. Ids too long for the
    contract keep the run id and a digest of the group id (the ledger de-duplicates per group anyway)."""
    request_id = f"janitor:{run_id}:{group_id}"
    if len(request_id) <= REQUEST_ID_MAX:
        return request_id
    digest = hashlib.sha256(group_id.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return f"janitor:{run_id[: REQUEST_ID_MAX - len(digest) - 10]}:{digest}"


# --- ports the janitor needs besides Greengrass and the bus -------------------------------------------------


class JanitorLedger(Protocol):
    def record_run(self, run: JanitorRun) -> None: ...


# --- pacing the reads --------------------------------------------------------------------------------------

T = TypeVar("T")


TRANSIENT_READ_ATTEMPTS: Final = 3
"""A read answered with a 5xx or an unrecognised error is made at most this many times (reads change
nothing, so trying again is safe); then that group's verdict is `error` (or, for `ListGroups`, the run
fails), and the next scheduled run tries again. For `ListGroups` the count is per page: each page of the
listing gets this many attempts of its own (and `MAX_ABSORBED_THROTTLES` absorbed 429s), so blips on
different pages of a long listing do not add up to a failed run."""
_TRANSIENT_READ_ERRORS: Final = frozenset({ErrorKind.SERVER_ERROR, ErrorKind.UNKNOWN})


class PacedReader:
    """The Greengrass reads of an evaluation, at the pace of a `RequestBudget` when there is one (one slot
    per `GetGroup`, `ListDeployments` and `ListGroups` page). A 429 is absorbed by waiting for the budget,
    which slows down, as the workers do; a 5xx or an unknown error is tried again after a short backoff,
    bounded (`TRANSIENT_READ_ATTEMPTS`): the deployed janitor's client retries once, and one blip must not
    drop a group from a run."""

    def __init__(self, inner: GreengrassReader, budget: RequestBudget | None, clock: Clock) -> None:
        self.inner = inner
        self.budget = budget
        self.clock = clock

    def _slot(self) -> None:
        if self.budget is not None:
            self.clock.sleep(self.budget.reserve())

    def _again(self, error: GreengrassError, throttles: int, failures: int) -> tuple[int, int]:
        """Whether to make a failed read again: the updated (throttles, failures), or `error` raised."""
        if error.kind is ErrorKind.THROTTLED and throttles < MAX_ABSORBED_THROTTLES:
            if self.budget is not None:
                self.budget.on_throttled()
            else:
                self.clock.sleep(2**throttles)
            return throttles + 1, failures
        if error.kind in _TRANSIENT_READ_ERRORS and failures + 1 < TRANSIENT_READ_ATTEMPTS:
            self.clock.sleep(2**failures)
            return throttles, failures + 1
        raise error

    def _paced(self, call: Callable[[str], T], group_id: str) -> T:
        throttles = failures = 0
        while True:
            self._slot()
            try:
                answer = call(group_id)
            except GreengrassError as error:
                throttles, failures = self._again(error, throttles, failures)
                continue
            if self.budget is not None:
                self.budget.on_success()
            return answer

    def inspect_group(self, group_id: str) -> GroupFacts:
        return self._paced(self.inner.inspect_group, group_id)

    def last_deployment_at(self, group_id: str) -> datetime | None:
        return self._paced(self.inner.last_deployment_at, group_id)

    def list_groups(self) -> Iterator[GroupSummary]:
        """Every group once. The adapter fetches the next page when the previous one is used up, so a slot
        is taken right before; a page that fails for a transient reason starts the listing again (the
        adapter's pages carry no token to resume from) and the groups already given are skipped. The
        attempts are counted per page (the page being fetched when the error came): each page gets
        `TRANSIENT_READ_ATTEMPTS` attempts and `MAX_ABSORBED_THROTTLES` absorbed 429s of its own, and a
        page that keeps failing fails the listing."""
        given: set[str] = set()
        # (throttles, failures) absorbed per page index. Bounded: every restart uses up one unit of one
        # page's bounded budget, and a page's budget is only reached once the pages before it succeed, so a
        # listing of N pages restarts at most N * (MAX_ABSORBED_THROTTLES + TRANSIENT_READ_ATTEMPTS - 1)
        # times before it completes or raises.
        absorbed: dict[int, tuple[int, int]] = {}
        while True:
            groups = self.inner.list_groups()
            listed = 0
            try:
                while True:
                    if listed % LIST_PAGE_SIZE == 0:
                        self._slot()
                    try:
                        group = next(groups)
                    except StopIteration:
                        return
                    listed += 1
                    if group.group_id not in given:
                        given.add(group.group_id)
                        yield group
            except GreengrassError as error:
                page = listed // LIST_PAGE_SIZE
                absorbed[page] = self._again(error, *absorbed.get(page, (0, 0)))


class PacedMigration:
    """The `migrated` selection's and the teardown preview's reads at the pace of the same budget: every
    Greengrass V1 call takes a slot (Greengrass V2 is another API, with its own quota)."""

    def __init__(self, inner: MigrationReader, budget: RequestBudget | None, clock: Clock) -> None:
        self.inner = inner
        self.budget = budget
        self.clock = clock

    def _slot(self) -> None:
        if self.budget is not None:
            self.clock.sleep(self.budget.reserve())

    def core_thing_names(self, group_id: str) -> tuple[str, ...]:
        # GetGroup, then (once per version) GetGroupVersion and GetCoreDefinitionVersion.
        for _ in range(3):
            self._slot()
        return self.inner.core_thing_names(group_id)

    def core_device(self, thing_name: str) -> CoreDeviceView | None:
        return self.inner.core_device(thing_name)

    def collect(self, group_id: str, level: Teardown, *, pace: Pace) -> tuple[Resource, ...]:
        return self.inner.collect(group_id, level, pace=self._slot)


# --- the janitor -------------------------------------------------------------------------------------------


@dataclass
class Janitor:
    greengrass: GreengrassReader
    requests: RequestBus
    ledger: JanitorLedger
    notifier: RunNotifier
    clock: Clock
    safety: SafetyRules
    bus_name: str
    read_budget: RequestBudget | None = None
    """Paces the evaluation's Greengrass reads; None: unpaced."""
    send_rps: float | None = None
    """At most this many requests per second (see `settings.JANITOR_CALLS_PER_REQUEST`); None: unpaced."""
    migration: MigrationReader | None = None
    """Greengrass V2 and the groups' versions: for `migrated` and the teardown preview of dry runs."""
    last_run: JanitorRun | None = field(default=None, init=False)
    """The most recent run of this instance (the local runtime returns it)."""

    def run(
        self,
        config: JanitorConfig,
        *,
        run_id: str,
        scheduled_at: datetime | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> JanitorRun:
        """Evaluate, decide, send (or not), record and announce one run; returns what happened.

        `should_stop` says when the invocation must stop making calls (its remaining time): an
        evaluation cut short sends nothing; sending cut short records the groups not reached. A failed
        ledger write is raised after the notification (a retried invocation sends the same requests)."""
        started = self.clock.now()
        stop = should_stop or (lambda: False)
        reader = PacedReader(self.greengrass, self.read_budget, self.clock)

        def finish(outcome: RunOutcome, plan: Plan | None, **more: Any) -> JanitorRun:
            return JanitorRun(
                run_id=run_id,
                scheduled_at=scheduled_at or started,
                started_at=started,
                finished_at=self.clock.now(),
                config=config,
                outcome=outcome,
                plan=plan,
                **more,
            )

        try:
            migration = (
                PacedMigration(self.migration, self.read_budget, self.clock) if self.migration else None
            )
            preview = (config.teardown or Teardown.GROUP) if config.dry_run and migration else Teardown.GROUP
            plan = select(
                reader,
                config.selection,
                started,
                self.safety,
                should_stop=stop,
                migration=migration,
                teardown=preview,
            )
        except GreengrassError as error:
            logger.exception("janitor evaluation failed", extra={"run_id": run_id})
            return self._conclude(finish(RunOutcome.FAILED, None, error=str(error)))
        cap = config.cap(plan.fleet_size)
        to_act = plan.to_act
        if not plan.complete:
            outcome = RunOutcome.INCOMPLETE
        elif not to_act:
            outcome = RunOutcome.NOTHING_TO_DO
        elif len(to_act) > cap:
            outcome = RunOutcome.CAPPED
        elif config.dry_run:
            outcome = RunOutcome.PLANNED
        else:
            sent, refused, unsent = self._send(config, run_id, to_act, stop)
            outcome = RunOutcome.SENT if not refused and not unsent else RunOutcome.PARTIAL
            return self._conclude(
                finish(outcome, plan, cap=cap, sent=tuple(sent), refused=tuple(refused), unsent=tuple(unsent))
            )
        return self._conclude(finish(outcome, plan, cap=cap))

    def _send(
        self, config: JanitorConfig, run_id: str, entries: Sequence[PlanEntry], stop: Callable[[], bool]
    ) -> tuple[list[SentRequest], list[SentRequest], list[str]]:
        sent: list[SentRequest] = []
        refused: list[SentRequest] = []
        unsent: list[str] = []
        batches = [entries[i : i + SEND_BATCH] for i in range(0, len(entries), SEND_BATCH)]
        for number, batch in enumerate(batches):
            if stop():
                unsent.extend(e.group_id for chunk in batches[number:] for e in chunk)
                break
            if number > 0 and self.send_rps:
                # The previous batch's share of the pace: at most send_rps requests per second.
                self.clock.sleep(len(batches[number - 1]) / self.send_rps)
            ready: list[tuple[PlanEntry, str, dict[str, Any]]] = []
            for entry in batch:
                request_id = request_id_for(run_id, entry.group_id)
                try:
                    put = request_entry(
                        group_id=entry.group_id,
                        deletion=config.action is JanitorAction.DELETE,
                        bus_name=self.bus_name,
                        requested_by=REQUESTED_BY,
                        reason=_reason(run_id, entry),
                        force=ForcePolicy.AUTO,
                        request_id=request_id,
                        teardown=config.teardown,
                    )
                except ContractError as error:  # a group id the request contract does not accept
                    refused.append(SentRequest(entry.group_id, request_id, error=_first_error(error)))
                    continue
                ready.append((entry, request_id, put))
            if not ready:
                continue
            deliveries: list[Delivery] = self.requests.send([put for _, _, put in ready])
            for (entry, request_id, _), delivery in zip(ready, deliveries, strict=True):
                if delivery.accepted:
                    sent.append(SentRequest(entry.group_id, request_id, event_id=delivery.event_id))
                else:
                    refused.append(SentRequest(entry.group_id, request_id, error=delivery.error))
        return sent, refused, unsent

    def _conclude(self, run: JanitorRun) -> JanitorRun:
        self.last_run = run
        log = logger.warning if run.outcome.needs_attention else logger.info
        log(run.message, extra={"run_id": run.run_id, "outcome": run.outcome.value, "counts": run.counts()})
        recording_error: Exception | None = None
        try:
            self.ledger.record_run(run)
        except Exception as error:
            logger.exception("could not record the janitor run", extra={"run_id": run.run_id})
            recording_error = error
        try:
            self.notifier.notify_run(run.notice())
        except Exception:
            # The run is in the ledger (and its log line above); a lost notification must not fail it.
            logger.exception("janitor notification failed", extra={"run_id": run.run_id})
        if recording_error is not None:
            raise recording_error
        return run


def _reason(run_id: str, entry: PlanEntry) -> str:
    text = f"janitor run {run_id}: " + "; ".join(entry.matched)
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 3] + "..."


def _first_error(error: ContractError) -> str:
    if not error.errors:
        return f"invalid request: {error}"
    first = error.errors[0]
    return f"invalid request ({'.'.join(str(part) for part in first.loc)}): {first.msg}"
