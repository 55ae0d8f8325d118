"""The janitor's logic with in-memory ports: what it decides, sends, records and announces, its pacing,
its blast-radius cap, and its configuration from the environment."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gg_reset import settings
from gg_reset.cleanup.janitor import (
    LIST_PAGE_SIZE,
    MAX_ABSORBED_THROTTLES,
    RECORDED_ENTRIES,
    TRANSIENT_READ_ATTEMPTS,
    Janitor,
    JanitorAction,
    JanitorConfig,
    JanitorRun,
    PacedReader,
    RunOutcome,
    request_id_for,
)
from gg_reset.cleanup.selection import EXPIRY_TAG, Selection
from gg_reset.contracts import DetailType
from gg_reset.domain.errors import ErrorKind, GreengrassError
from gg_reset.domain.safety import SafetyRules
from gg_reset.ports import Delivery, GroupSummary, RunNotice
from gg_reset.settings import ConfigurationError
from gg_reset.shell.budget import RequestBudget
from support.fakes import EPOCH, FakeGreengrass, ManualClock, error

EXPIRED = {EXPIRY_TAG: "2025-12-01"}
NOT_YET = {EXPIRY_TAG: "2026-12-01"}


@dataclass
class FakeBus:
    sent: list[Mapping[str, Any]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)
    """Group ids whose request the bus refuses."""
    calls: list[tuple[datetime, int]] = field(default_factory=list)
    clock: ManualClock | None = None

    def send(self, entries: Sequence[Mapping[str, Any]]) -> list[Delivery]:
        self.calls.append((self.clock.now() if self.clock else EPOCH, len(entries)))
        out = []
        for entry in entries:
            group_id = json.loads(entry["Detail"])["group-id"]
            if group_id in self.refuse:
                out.append(Delivery(error="InternalFailure: nope", attempts=4))
            else:
                self.sent.append(entry)
                out.append(Delivery(event_id=f"event-{len(self.sent)}"))
        return out

    def details(self) -> list[dict[str, Any]]:
        return [json.loads(e["Detail"]) for e in self.sent]


@dataclass
class FakeRunLedger:
    runs: list[JanitorRun] = field(default_factory=list)
    fail: bool = False

    def record_run(self, run: JanitorRun) -> None:
        if self.fail:
            raise RuntimeError("ledger down")
        self.runs.append(run)


@dataclass
class FakeRunNotifier:
    notices: list[RunNotice] = field(default_factory=list)
    fail: bool = False

    def notify_run(self, notice: RunNotice) -> None:
        if self.fail:
            raise RuntimeError("topic down")
        self.notices.append(notice)


@dataclass
class Rig:
    greengrass: FakeGreengrass = field(default_factory=FakeGreengrass)
    bus: FakeBus = field(default_factory=FakeBus)
    ledger: FakeRunLedger = field(default_factory=FakeRunLedger)
    notifier: FakeRunNotifier = field(default_factory=FakeRunNotifier)
    clock: ManualClock = field(default_factory=ManualClock)
    safety: SafetyRules = field(default_factory=SafetyRules)

    def janitor(self, *, read_rps: float | None = None, send_rps: float | None = None) -> Janitor:
        self.bus.clock = self.clock
        return Janitor(
            greengrass=self.greengrass,
            requests=self.bus,
            ledger=self.ledger,
            notifier=self.notifier,
            clock=self.clock,
            safety=self.safety,
            bus_name="gg-reset",
            read_budget=RequestBudget(read_rps, self.clock) if read_rps else None,
            send_rps=send_rps,
        )

    def fleet(self, expired: int, not_yet: int = 0, prefix: str = "g") -> list[str]:
        ids = [self.greengrass.add_group(f"{prefix}-exp-{i:03d}", dict(EXPIRED)) for i in range(expired)]
        for i in range(not_yet):
            self.greengrass.add_group(f"{prefix}-new-{i:03d}", dict(NOT_YET))
        return ids


def config(**options: Any) -> JanitorConfig:
    options.setdefault("max_percent", 100)
    return JanitorConfig(selection=Selection.parse("expired"), **options)


def test_a_dry_run_records_and_announces_the_plan_and_sends_nothing() -> None:
    rig = Rig()
    rig.fleet(expired=2, not_yet=3)
    run = rig.janitor().run(config(), run_id="r1")
    assert run.outcome is RunOutcome.PLANNED
    assert rig.bus.sent == [] and rig.bus.calls == []
    assert rig.ledger.runs == [run]
    [notice] = rig.notifier.notices
    assert notice.subject == "gg-reset janitor: planned, 2 to delete (dry run)"
    assert notice.details["counts"] == {
        "fleet": 5,
        "act": 2,
        "rejected": 0,
        "not-selected": 3,
        "error": 0,
        "problems": 0,
        "sent": 0,
        "refused": 0,
        "unsent": 0,
    }
    assert {e["group_id"] for e in notice.details["entries"]} == {"g-exp-000", "g-exp-001"}
    assert "delete" not in rig.greengrass.calls and "reset_deployments" not in rig.greengrass.calls


def test_a_real_run_sends_one_request_per_group_with_ids_fixed_by_run_and_group() -> None:
    rig = Rig(safety=SafetyRules(deny=("g-exp-002",)))
    rig.fleet(expired=3, not_yet=1)
    run = rig.janitor().run(config(dry_run=False), run_id="r1")
    assert run.outcome is RunOutcome.SENT
    assert [d["group-id"] for d in rig.bus.details()] == ["g-exp-000", "g-exp-001"]
    for entry, detail in zip(rig.bus.sent, rig.bus.details(), strict=True):
        assert entry["DetailType"] == DetailType.DELETION_REQUESTED.value
        assert entry["EventBusName"] == "gg-reset"
        assert detail["request-id"] == f"janitor:r1:{detail['group-id']}"
        assert detail["requested-by"] == "gg-reset-janitor"
        assert detail["reason"] == f"janitor run r1: expired: {EXPIRY_TAG}=2025-12-01 has passed"
        assert detail["dry-run"] is False and detail["force"] == "auto"
    assert run.request_ids == {g: f"janitor:r1:{g}" for g in ("g-exp-000", "g-exp-001")}
    [rejected] = run.plan.rejected if run.plan else ()
    assert rejected.reasons == ("group matches the deny list ('g-exp-002')",)
    # The same run again (a retried invocation) sends the very same requests: the ledger drops replays.
    rig.janitor().run(config(dry_run=False), run_id="r1")
    assert rig.bus.details()[2:] == rig.bus.details()[:2]


def test_reset_action_sends_reset_requests() -> None:
    rig = Rig()
    rig.fleet(expired=1)
    rig.janitor().run(config(dry_run=False, action=JanitorAction.RESET), run_id="r")
    assert [e["DetailType"] for e in rig.bus.sent] == [DetailType.RESET_REQUESTED.value]


@pytest.mark.parametrize(
    ("fleet", "max_groups", "max_percent", "cap"),
    [(30, 50, 10, 3), (1000, 50, 10, 50), (5, 50, 10, 0), (100, 7, 100, 7), (29, 50, 10, 2), (0, 50, 10, 0)],
)
def test_the_cap_is_the_smaller_of_the_count_and_the_share_rounded_down(
    fleet: int, max_groups: int, max_percent: float, cap: int
) -> None:
    assert config(max_groups=max_groups, max_percent=max_percent).cap(fleet) == cap


def test_a_run_over_the_cap_records_the_plan_sends_nothing_and_says_so() -> None:
    rig = Rig()
    rig.fleet(expired=4, not_yet=26)  # a fleet of 30: 10 % is 3
    run = rig.janitor().run(config(dry_run=False, max_percent=10), run_id="r")
    assert run.outcome is RunOutcome.CAPPED and run.cap == 3
    assert rig.bus.calls == []
    assert rig.ledger.runs == [run]
    [notice] = rig.notifier.notices
    assert notice.subject == "gg-reset janitor: capped, 4 to delete"
    assert notice.details["message"] == (
        "janitor run r: 4 groups to delete, over the cap of 3 (max 50 groups, 10% of 30): nothing sent"
    )
    assert run.outcome.needs_attention
    # At the cap exactly, it sends.
    for index in range(10):  # a fleet of 40: 10 % is 4
        rig.greengrass.add_group(f"g-more-{index}", dict(NOT_YET))
    run = rig.janitor().run(config(dry_run=False, max_percent=10), run_id="r2")
    assert run.cap == 4 and run.outcome is RunOutcome.SENT and len(rig.bus.sent) == 4


def test_a_dry_run_over_the_cap_reports_the_cap() -> None:
    rig = Rig()
    rig.fleet(expired=3)
    run = rig.janitor().run(config(max_groups=2), run_id="r")
    assert run.outcome is RunOutcome.CAPPED
    assert rig.notifier.notices[0].subject == "gg-reset janitor: capped, 3 to delete (dry run)"


def test_nothing_to_do() -> None:
    rig = Rig()
    rig.fleet(expired=0, not_yet=2)
    rig.greengrass.add_group("protected", {**EXPIRED, "gg-reset:protect": "true"})
    run = rig.janitor().run(config(dry_run=False), run_id="r")
    assert run.outcome is RunOutcome.NOTHING_TO_DO and not run.outcome.needs_attention
    assert rig.bus.calls == [] and len(rig.notifier.notices) == 1
    assert (
        run.message
        == "janitor run r: nothing to delete among 3 groups (1 selected but rejected by the safety rules)"
    )


def test_a_failed_evaluation_is_recorded_and_announced_and_sends_nothing() -> None:
    rig = Rig()
    rig.fleet(expired=2)
    failing = error(ErrorKind.SERVER_ERROR, "ListGroups", "internal")
    rig.greengrass.script("list_groups", *[failing] * TRANSIENT_READ_ATTEMPTS)
    run = rig.janitor().run(config(dry_run=False), run_id="r")
    assert rig.greengrass.calls["list_groups"] == TRANSIENT_READ_ATTEMPTS
    assert run.outcome is RunOutcome.FAILED and run.plan is None
    assert run.error == "ListGroups failed (server-error): server-error-code: internal"
    assert rig.bus.calls == [] and rig.ledger.runs == [run]
    assert rig.notifier.notices[0].subject == "gg-reset janitor: failed"


def test_a_blip_on_a_read_is_tried_again_and_drops_no_group_from_the_run() -> None:
    rig = Rig()
    rig.fleet(expired=3)
    rig.greengrass.script("list_groups", error(ErrorKind.SERVER_ERROR, "ListGroups"))
    rig.greengrass.script(
        "inspect_group", error(ErrorKind.UNKNOWN, "GetGroup"), error(ErrorKind.SERVER_ERROR, "GetGroup")
    )
    run = rig.janitor().run(config(dry_run=False), run_id="r")
    assert run.outcome is RunOutcome.SENT and run.counts()["act"] == 3 and run.counts()["error"] == 0
    assert rig.greengrass.calls["list_groups"] == 2 and rig.greengrass.calls["inspect_group"] == 5


def test_a_group_whose_reads_keep_failing_is_an_error_verdict_not_a_failed_run() -> None:
    rig = Rig()
    rig.fleet(expired=2)
    rig.greengrass.script(
        "inspect_group", *[error(ErrorKind.SERVER_ERROR, "GetGroup")] * TRANSIENT_READ_ATTEMPTS
    )
    run = rig.janitor().run(config(dry_run=False), run_id="r")
    assert run.counts()["error"] == 1 and run.counts()["act"] == 1 and len(run.sent) == 1


def test_an_evaluation_that_runs_out_of_time_sends_nothing() -> None:
    rig = Rig()
    rig.fleet(expired=5)
    run = rig.janitor().run(
        config(dry_run=False), run_id="r", should_stop=lambda: rig.greengrass.calls["inspect_group"] >= 2
    )
    assert run.outcome is RunOutcome.INCOMPLETE and rig.bus.calls == []
    assert run.plan is not None and not run.plan.complete


def test_refused_requests_and_time_running_out_make_a_partial_run() -> None:
    rig = Rig()
    ids = rig.fleet(expired=25)
    rig.bus.refuse = {ids[3]}
    run = rig.janitor().run(config(dry_run=False), run_id="r", should_stop=lambda: len(rig.bus.calls) >= 2)
    assert run.outcome is RunOutcome.PARTIAL
    assert [r.group_id for r in run.refused] == [ids[3]] and run.refused[0].error == "InternalFailure: nope"
    assert len(run.sent) == 19 and run.unsent == tuple(ids[20:])
    assert run.summary()["refused"] == [{"group_id": ids[3], "error": "InternalFailure: nope"}]


def test_sending_is_paced_in_batches_of_ten_at_the_send_rate() -> None:
    rig = Rig()
    rig.fleet(expired=25)
    run = rig.janitor(send_rps=2.0).run(config(dry_run=False), run_id="r")
    assert run.outcome is RunOutcome.SENT
    assert [(at - EPOCH).total_seconds() for at, _ in rig.bus.calls] == [0, 5, 10]
    assert [size for _, size in rig.bus.calls] == [10, 10, 5]


def test_reads_are_paced_by_the_budget_and_a_throttled_read_waits_and_is_made_again() -> None:
    rig = Rig()
    rig.fleet(expired=20)
    rig.greengrass.script("inspect_group", error(ErrorKind.THROTTLED, "GetGroup"))
    run = rig.janitor(read_rps=2.0).run(config(), run_id="r")
    assert run.outcome is RunOutcome.PLANNED and run.counts()["act"] == 20
    assert rig.greengrass.calls["inspect_group"] == 21
    # 22 slots (a ListGroups page and 21 GetGroups) at 2 per second, a burst of 2, and one slow-down.
    assert 9.5 <= (rig.clock.now() - EPOCH).total_seconds() <= 15


def test_paced_list_groups_takes_one_slot_per_page() -> None:
    clock = ManualClock()
    gg = FakeGreengrass()
    for index in range(120):
        gg.add_group(f"g{index}")
    budget = RequestBudget(1.0, clock)
    assert len(list(PacedReader(gg, budget, clock).list_groups())) == 120
    assert (clock.now() - EPOCH).total_seconds() == 2.0  # slots before groups 0, 50 and 100: one waited for


class ThrottledOnItsSecondPage(FakeGreengrass):
    """ListGroups answers 429 once, when the second page is fetched (after 50 groups)."""

    throttled = False

    def list_groups(self) -> Iterator[GroupSummary]:
        for index, group in enumerate(super().list_groups()):
            if index == 50 and not self.throttled:
                self.throttled = True
                raise error(ErrorKind.THROTTLED, "ListGroups")
            yield group


def test_a_throttled_list_groups_page_starts_the_listing_again_and_gives_each_group_once() -> None:
    clock = ManualClock()
    gg = ThrottledOnItsSecondPage()
    for index in range(120):
        gg.add_group(f"g{index}")
    budget = RequestBudget(5.0, clock)
    listed = [group.group_id for group in PacedReader(gg, budget, clock).list_groups()]
    assert gg.throttled
    assert listed == [f"g{index}" for index in range(120)]
    assert budget.rate < 5.0  # the 429 slowed the budget down


def test_a_list_groups_that_stays_throttled_fails_the_evaluation_bounded() -> None:
    clock = ManualClock()
    gg = FakeGreengrass()
    gg.add_group("g0")
    gg.script("list_groups", *[error(ErrorKind.THROTTLED, "ListGroups")] * (MAX_ABSORBED_THROTTLES + 1))
    with pytest.raises(GreengrassError, match="throttled"):
        list(PacedReader(gg, RequestBudget(5.0, clock), clock).list_groups())
    assert gg.calls["list_groups"] == MAX_ABSORBED_THROTTLES + 1


@dataclass
class ListGroupsFailingOnPages(FakeGreengrass):
    """ListGroups answers 5xx when it fetches the given pages (by index), each as many times as said."""

    failing_pages: dict[int, int] = field(default_factory=dict)

    def list_groups(self) -> Iterator[GroupSummary]:
        for index, group in enumerate(super().list_groups()):
            page = index // LIST_PAGE_SIZE
            if index % LIST_PAGE_SIZE == 0 and self.failing_pages.get(page, 0) > 0:
                self.failing_pages[page] -= 1
                raise error(ErrorKind.SERVER_ERROR, "ListGroups")
            yield group


def test_blips_on_different_list_groups_pages_each_get_their_own_attempts() -> None:
    clock = ManualClock()
    gg = ListGroupsFailingOnPages(failing_pages={2: 1, 6: 1, 11: 1})  # pages 3, 7 and 12, once each
    for index in range(12 * LIST_PAGE_SIZE + 10):
        gg.add_group(f"g{index}")
    listed = [group.group_id for group in PacedReader(gg, RequestBudget(5.0, clock), clock).list_groups()]
    assert gg.failing_pages == {2: 0, 6: 0, 11: 0}
    assert listed == [f"g{index}" for index in range(12 * LIST_PAGE_SIZE + 10)]
    assert gg.calls["list_groups"] == 4


def test_a_list_groups_page_that_keeps_failing_still_fails_the_listing_bounded() -> None:
    clock = ManualClock()
    gg = ListGroupsFailingOnPages(failing_pages={1: 1, 3: TRANSIENT_READ_ATTEMPTS})
    for index in range(5 * LIST_PAGE_SIZE):
        gg.add_group(f"g{index}")
    with pytest.raises(GreengrassError, match="server-error"):
        list(PacedReader(gg, RequestBudget(5.0, clock), clock).list_groups())
    assert gg.calls["list_groups"] == 1 + TRANSIENT_READ_ATTEMPTS  # page 2's blip, then page 4's attempts


def test_blips_on_three_list_groups_pages_do_not_fail_the_run() -> None:
    rig = Rig(greengrass=ListGroupsFailingOnPages(failing_pages={2: 1, 6: 1, 11: 1}))
    ids = rig.fleet(expired=12 * LIST_PAGE_SIZE + 10)
    run = rig.janitor().run(config(max_groups=len(ids)), run_id="r")
    assert run.outcome is RunOutcome.PLANNED and run.error is None
    assert run.plan is not None and run.plan.fleet_size == len(ids) and run.counts()["act"] == len(ids)


def test_a_run_that_cannot_be_recorded_is_still_announced_then_raised() -> None:
    rig = Rig()
    rig.fleet(expired=1)
    rig.ledger.fail = True
    with pytest.raises(RuntimeError, match="ledger down"):
        rig.janitor().run(config(), run_id="r")
    assert len(rig.notifier.notices) == 1


def test_a_lost_notification_does_not_fail_the_run() -> None:
    rig = Rig()
    rig.fleet(expired=1)
    rig.notifier.fail = True
    assert rig.janitor().run(config(), run_id="r").outcome is RunOutcome.PLANNED
    assert len(rig.ledger.runs) == 1


def test_the_record_is_bounded_and_lists_the_selected_groups_first() -> None:
    rig = Rig()
    rig.fleet(expired=RECORDED_ENTRIES + 20, not_yet=10)
    rig.greengrass.add_group("garbage", {EXPIRY_TAG: "whenever"})
    run = rig.janitor().run(config(max_groups=1000), run_id="r")
    record = run.as_record()
    assert len(record["entries"]) == RECORDED_ENTRIES and record["entries_truncated"] is True
    assert all(e["verdict"] == "act" for e in record["entries"])
    assert record["counts"]["act"] == RECORDED_ENTRIES + 20 and record["counts"]["problems"] == 1
    assert [p["group_id"] for p in record["problems"]] == ["garbage"]
    assert len(run.summary()["entries"]) == 20
    assert len(json.dumps(record)) < 100_000  # far below DynamoDB's 400 KB item limit
    assert record["config"]["selection"] == {"expired": True}


def test_request_ids_fit_the_contract() -> None:
    assert request_id_for("run", "g1") == "janitor:run:g1"
    long = request_id_for("r" * 40, "g" * 128)
    assert len(long) <= 128 and long.startswith("janitor:" + "r" * 40 + ":")
    assert long == request_id_for("r" * 40, "g" * 128) != request_id_for("r" * 40, "h" * 128)


# --- configuration ---------------------------------------------------------------------------------------


def test_defaults_are_the_settings_defaults() -> None:
    default = JanitorConfig.from_env({})
    assert default == JanitorConfig.default()
    assert default.action.value == settings.JANITOR_DEFAULT_ACTION
    assert default.dry_run is settings.JANITOR_DEFAULT_DRY_RUN is True
    assert default.max_groups == settings.JANITOR_DEFAULT_MAX_GROUPS
    assert default.max_percent == settings.JANITOR_DEFAULT_MAX_PERCENT
    assert default.selection == Selection(expiry_tag=EXPIRY_TAG)


def test_configuration_from_the_environment() -> None:
    loaded = JanitorConfig.from_env(
        {
            settings.ENV_JANITOR_SELECTION: '{"name": ["lab-*"], "older-than": "30d"}',
            settings.ENV_JANITOR_ACTION: "RESET",
            settings.ENV_JANITOR_DRY_RUN: "false",
            settings.ENV_JANITOR_MAX_GROUPS: "7",
            settings.ENV_JANITOR_MAX_PERCENT: "2.5",
        }
    )
    assert loaded == JanitorConfig(
        selection=Selection(names=("lab-*",), older_than=timedelta(days=30)),
        action=JanitorAction.RESET,
        dry_run=False,
        max_groups=7,
        max_percent=2.5,
    )


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (settings.ENV_JANITOR_SELECTION, "{}", "JANITOR_SELECTION: an empty selection"),
        (settings.ENV_JANITOR_SELECTION, '{"age": "1d"}', "JANITOR_SELECTION: unknown key 'age'"),
        (settings.ENV_JANITOR_ACTION, "purge", "JANITOR_ACTION='purge': expected delete or reset"),
        (settings.ENV_JANITOR_DRY_RUN, "maybe", "JANITOR_DRY_RUN='maybe': expected true or false"),
        (settings.ENV_JANITOR_MAX_GROUPS, "1.5", "JANITOR_MAX_GROUPS='1.5': expected a whole number"),
        (settings.ENV_JANITOR_MAX_GROUPS, "-1", "JANITOR_MAX_GROUPS='-1'"),
        (settings.ENV_JANITOR_MAX_PERCENT, "101", "JANITOR_MAX_PERCENT='101': expected a number between 0"),
        (settings.ENV_JANITOR_MAX_PERCENT, "lots", "JANITOR_MAX_PERCENT='lots'"),
    ],
)
def test_a_malformed_setting_names_its_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        JanitorConfig.from_env({name: value})
    assert str(raised.value).startswith(message)


def test_the_handler_reads_the_run_id_and_time_from_the_scheduled_event() -> None:
    from gg_reset.handlers.janitor import _event_time

    assert _event_time("2026-01-02T03:00:00Z") == datetime(2026, 1, 2, 3, tzinfo=UTC)
    assert _event_time("2026-01-02T03:00:00") == datetime(2026, 1, 2, 3, tzinfo=UTC)
    assert _event_time("yesterday") is None and _event_time(None) is None
