"""`gg_reset.cleanup.selection`: parsing (terms and JSON, with errors naming the bad field) and evaluation
against the in-memory Greengrass (`FakeGreengrass`): verdicts, reasons, and which calls it makes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gg_reset.cleanup.selection import (
    EXPIRY_TAG,
    Plan,
    Selection,
    SelectionError,
    TagTerm,
    Verdict,
    format_duration,
    parse_duration,
    parse_expiry,
    select,
)
from gg_reset.domain.errors import ErrorKind
from gg_reset.domain.safety import SafetyRules
from support.fakes import FakeGreengrass, error

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _plan(gg: FakeGreengrass, selection: Selection | str, safety: SafetyRules | None = None) -> Plan:
    chosen = Selection.parse(selection) if isinstance(selection, str) else selection
    return select(gg, chosen, NOW, safety or SafetyRules())


def _verdicts(plan: Plan) -> dict[str, str]:
    return {e.group_id: e.verdict.value for e in plan.entries}


# --- parsing ---------------------------------------------------------------------------------------------


def test_terms_parse_into_the_model() -> None:
    selection = Selection.parse(
        [
            "id=g-1",
            "id=g-2",
            "name=lab-*",
            "regex=^lab-[0-9]+$",
            "tag=env=lab",
            "tag=owner",
            "no-tag=keep",
            "older-than=30d",
            "idle=2w",
            "expired",
            "not-deployed=36h",
        ]
    )
    assert selection == Selection(
        group_ids=("g-1", "g-2"),
        names=("lab-*",),
        name_regex="^lab-[0-9]+$",
        tags=(TagTerm("env", "lab"), TagTerm("owner")),
        absent_tags=("keep",),
        older_than=30 * DAY,
        idle_for=14 * DAY,
        expiry_tag=EXPIRY_TAG,
        not_deployed_for=timedelta(hours=36),
    )
    assert Selection.parse(selection.terms()) == selection
    assert Selection.from_json(selection.to_json()) == selection


def test_a_single_string_is_split_like_a_shell_and_aliases_are_accepted() -> None:
    assert Selection.parse("'name=lab one*' expired=team:expiry idle-for=90m") == Selection(
        names=("lab one*",), expiry_tag="team:expiry", idle_for=timedelta(minutes=90)
    )


def test_json_takes_single_values_lists_tag_maps_and_expired_true_or_a_key() -> None:
    selection = Selection.from_json(
        '{"name": "lab-*", "id": ["a", "b"], "tag": {"env": "lab", "owner": null}, "expired": true,'
        ' "older-than": "30d"}'
    )
    assert selection == Selection(
        group_ids=("a", "b"),
        names=("lab-*",),
        tags=(TagTerm("env", "lab"), TagTerm("owner")),
        older_than=30 * DAY,
        expiry_tag=EXPIRY_TAG,
    )
    assert Selection.from_json({"expired": "x:until"}).expiry_tag == "x:until"


@pytest.mark.parametrize(
    ("terms", "message"),
    [
        ([], "an empty selection would select every group"),
        (["colour=blue"], "unknown term 'colour=blue'"),
        (["name"], "name: 'name' has no value"),
        (["name="], "name: an empty value"),
        (["older-than=30"], "older-than: '30' is not a duration"),
        (["idle=0d"], "idle: '0d' is not a duration"),
        (["not-deployed=3 weeks"], "not-deployed: '3 weeks' is not a duration"),
        (["regex=("], "regex: '(' is not a regular expression"),
        (["regex="], "regex: an empty value"),
        (["tag==x"], "tag: '=x' has no key"),
        (["expired", "expired=k"], "expired: given 2 times"),
        (["older-than=1d", "older-than=2d"], "older-than: given 2 times"),
    ],
)
def test_bad_terms_are_errors_naming_the_term(terms: list[str], message: str) -> None:
    with pytest.raises(SelectionError) as raised:
        Selection.parse(terms)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("{", "janitorSelection: not valid JSON"),
        ("[]", "janitorSelection: expected a JSON object of terms"),
        ("{}", "janitorSelection: an empty selection would select every group"),
        ('{"colour": "blue"}', "janitorSelection: unknown key 'colour'"),
        ('{"older-than": 30}', "janitorSelection: older-than: expected a string or a list of strings"),
        ('{"older-than": ["1d", "2d"]}', "janitorSelection: older-than: takes one value"),
        ('{"expired": 1}', "janitorSelection: expired: expected true or the expiry tag's key"),
        ('{"tag": {"env": 3}}', "janitorSelection: tag: the value of tag 'env' must be a string or null"),
        ('{"idle": "soon"}', "janitorSelection: idle: 'soon' is not a duration"),
        ('{"expired": false}', "janitorSelection: an empty selection"),
    ],
)
def test_bad_json_is_an_error_naming_the_field(document: str, message: str) -> None:
    with pytest.raises(SelectionError) as raised:
        Selection.from_json(document, where="janitorSelection")
    assert str(raised.value).startswith(message)


def test_durations_and_expiry_values() -> None:
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration(" 2w ") == timedelta(weeks=2)
    assert [format_duration(parse_duration(t)) for t in ("14d", "45s", "36h", "120m")] == [
        "2w",
        "45s",
        "36h",
        "2h",
    ]
    assert parse_expiry("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_expiry("2026-03-01T13:00:00+01:00") == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert parse_expiry("2026-03-01T12:00:00Z") == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert parse_expiry("2026-03-01 12:00") == datetime(2026, 3, 1, 12, tzinfo=UTC)  # no offset: UTC
    assert parse_expiry("next week") is None
    assert parse_expiry("") is None


# --- evaluation ------------------------------------------------------------------------------------------


def test_criteria_and_together_and_values_of_one_criterion_or() -> None:
    gg = FakeGreengrass()
    gg.add_group("g1", {"env": "lab"}, name="lab-1")
    gg.add_group("g2", {"env": "prod"}, name="lab-2")
    gg.add_group("g3", {"env": "lab"}, name="test-3")
    gg.add_group("g4", {"owner": "x"}, name="dev-4")
    plan = _plan(gg, "name=lab-* name=test-* tag=env=lab tag=owner")
    assert _verdicts(plan) == {"g1": "act", "g2": "not-selected", "g3": "act", "g4": "not-selected"}
    entries = {e.group_id: e for e in plan.entries}
    assert entries["g2"].reasons == ("carries none of the tags 'env=lab', 'owner'",)
    assert entries["g4"].reasons == ("name 'dev-4' matches none of 'lab-*', 'test-*'",)
    assert entries["g1"].reasons == ("name 'lab-1' matches 'lab-*'", "tagged env=lab")


def test_ids_regex_and_absent_tags() -> None:
    gg = FakeGreengrass()
    gg.add_group("g1", {"team": "a"}, name="lab-1")
    gg.add_group("g2", {"team": "a", "keep": "yes"}, name="lab-22")
    gg.add_group("g3", {}, name="lab-3")
    plan = _plan(gg, "id=g1 id=g2 regex=^lab-[0-9]$ no-tag=keep no-tag=owner")
    assert _verdicts(plan) == {"g1": "act", "g2": "not-selected", "g3": "not-selected"}
    entries = {e.group_id: e for e in plan.entries}
    assert entries["g2"].reasons == ("name 'lab-22' does not match regex '^lab-[0-9]$'",)
    assert entries["g3"].reasons == ("id is not one of the selected ids",)
    assert "has no tag 'keep'" in entries["g1"].reasons
    assert _verdicts(_plan(gg, "no-tag=team"))["g2"] == "not-selected"


def test_age_and_idle_come_from_list_groups_timestamps() -> None:
    gg = FakeGreengrass()
    gg.add_group("old", name="old", created_at=NOW - 40 * DAY, updated_at=NOW - 20 * DAY)
    gg.add_group("young", name="young", created_at=NOW - 10 * DAY)
    gg.add_group("unknown", name="unknown")  # ListGroups gave no timestamp
    plan = _plan(gg, "older-than=30d")
    assert _verdicts(plan) == {"old": "act", "young": "not-selected", "unknown": "not-selected"}
    entries = {e.group_id: e for e in plan.entries}
    assert entries["old"].reasons == ("created 40 days ago (2026-01-20), more than 30d ago",)
    assert entries["young"].reasons == ("created 10 days ago (2026-02-19), within 30d",)
    assert entries["unknown"].reasons[0].startswith("created at an unknown time")
    assert _verdicts(_plan(gg, "idle=30d"))["old"] == "not-selected"  # updated 20 days ago
    assert _verdicts(_plan(gg, "idle=15d"))["old"] == "act"


def test_expiry_tag_selects_once_passed_and_reports_unreadable_values() -> None:
    gg = FakeGreengrass()
    gg.add_group("passed", {EXPIRY_TAG: "2026-02-28"})
    gg.add_group("today", {EXPIRY_TAG: "2026-03-01"})  # midnight UTC: passed at noon
    gg.add_group("later-today", {EXPIRY_TAG: "2026-03-01T18:00:00Z"})
    gg.add_group("future", {EXPIRY_TAG: "2027-01-01"})
    gg.add_group("garbage", {EXPIRY_TAG: "when the project ends"})
    gg.add_group("untagged", {})
    plan = _plan(gg, "expired")
    assert _verdicts(plan) == {
        "passed": "act",
        "today": "act",
        "later-today": "not-selected",
        "future": "not-selected",
        "garbage": "not-selected",
        "untagged": "not-selected",
    }
    entries = {e.group_id: e for e in plan.entries}
    assert entries["passed"].reasons == (f"expired: {EXPIRY_TAG}=2026-02-28 has passed",)
    assert entries["untagged"].reasons == (f"no expiry tag {EXPIRY_TAG}",)
    assert [e.group_id for e in plan.problems] == ["garbage"]
    assert entries["garbage"].problem == (
        f"unreadable expiry tag: {EXPIRY_TAG}='when the project ends' is not an ISO 8601 date or date-time"
    )
    assert _verdicts(_plan(gg, "expired=other-key")) == dict.fromkeys(_verdicts(plan), "not-selected")


def test_not_deployed_for_uses_the_newest_deployment_or_never_deployed() -> None:
    gg = FakeGreengrass()
    gg.add_group("stale", deployed_at=NOW - 100 * DAY)
    gg.add_group("fresh", deployed_at=NOW - 2 * DAY)
    gg.add_group("never")
    plan = _plan(gg, "not-deployed=90d")
    assert _verdicts(plan) == {"stale": "act", "fresh": "not-selected", "never": "act"}
    entries = {e.group_id: e for e in plan.entries}
    assert entries["never"].reasons == ("never deployed",)
    assert entries["fresh"].reasons == ("deployed 2 days ago (2026-02-27), within 90d",)


def test_calls_cheap_filters_first_then_one_get_group_then_list_deployments_only_when_asked() -> None:
    gg = FakeGreengrass()
    for index in range(10):
        gg.add_group(f"g{index}", {"env": "lab"}, name=f"{'lab' if index < 3 else 'prod'}-{index}")
    _plan(gg, "name=lab-*")
    assert gg.calls == {"list_groups": 1, "inspect_group": 3}  # every candidate's protection check
    gg.calls.clear()
    _plan(gg, "name=lab-* tag=env=prod not-deployed=1d")
    assert gg.calls == {"list_groups": 1, "inspect_group": 3}  # the tag failed: no ListDeployments
    gg.calls.clear()
    plan = _plan(gg, "name=lab-* not-deployed=1d")
    assert gg.calls == {"list_groups": 1, "inspect_group": 3, "last_deployment_at": 3}
    assert plan.calls == {"GetGroup": 3, "ListDeployments": 3}


def test_selected_groups_pass_the_safety_layers_with_the_workflows_reasons() -> None:
    gg = FakeGreengrass()
    gg.add_group("ok", name="lab-ok")
    gg.add_group("protected", {"gg-reset:protect": "TRUE"}, name="lab-protected")
    gg.add_group("denied", name="lab-denied")
    gg.add_group("other", name="other")
    safety = SafetyRules(deny=("lab-denied",))
    plan = _plan(gg, "name=lab-*", safety)
    entries = {e.group_id: e for e in plan.entries}
    assert _verdicts(plan) == {
        "ok": "act",
        "protected": "rejected",
        "denied": "rejected",
        "other": "not-selected",
    }
    for gid in ("protected", "denied"):
        facts = gg.inspect_group(gid)
        assert entries[gid].reasons == (safety.refusal(gid, facts.name, facts.tags),)
        assert entries[gid].matched == (f"name 'lab-{gid}' matches 'lab-*'",)
        assert entries[gid].selected and not entries[gid].acts
    assert [e.group_id for e in plan.to_act] == ["ok"]
    assert plan.counts() == {"act": 1, "rejected": 2, "not-selected": 1, "error": 0}
    assert plan.fleet_size == 4


def test_the_account_guard_rejects_every_selected_group() -> None:
    gg = FakeGreengrass()
    gg.add_group("a", name="lab-a")
    gg.add_group("b", name="prod-b")
    safety = SafetyRules(accounts=("111111111111",), account="222222222222")
    plan = _plan(gg, "name=lab-*", safety)
    assert _verdicts(plan) == {"a": "rejected", "b": "not-selected"}
    assert plan.entries[0].reasons[0].startswith("account guard: this deployment acts only in account(s)")


def test_a_group_read_that_fails_is_an_error_and_does_not_stop_the_others() -> None:
    gg = FakeGreengrass()
    gg.add_group("a", name="lab-a")
    gg.add_group("b", name="lab-b")
    gg.script("inspect_group", error(ErrorKind.SERVER_ERROR, "GetGroup", "internal"))
    plan = _plan(gg, "name=lab-*")
    assert _verdicts(plan) == {"a": "error", "b": "act"}
    assert plan.entries[0].problem is not None and "GetGroup failed" in plan.entries[0].problem


def test_list_groups_failing_is_raised() -> None:
    gg = FakeGreengrass()
    gg.add_group("a")
    gg.script("list_groups", error(ErrorKind.THROTTLED, "ListGroups"))
    with pytest.raises(Exception, match="boom"):
        _plan(gg, "id=a")


def test_a_group_deleted_between_list_and_get_is_not_selected() -> None:
    gg = FakeGreengrass()
    gg.add_group("a", name="lab-a")
    gg.script("inspect_group", gg.inspect_group("missing"))
    gg.calls.clear()
    plan = _plan(gg, "name=lab-*")
    assert plan.entries[0].verdict is Verdict.NOT_SELECTED
    assert plan.entries[0].reasons == ("the group no longer exists",)


def test_should_stop_returns_an_incomplete_plan_without_guessed_verdicts() -> None:
    gg = FakeGreengrass()
    for index in range(5):
        gg.add_group(f"g{index}", name=f"lab-{index}")
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return gg.calls["inspect_group"] >= 2

    plan = select(gg, Selection.parse("name=lab-*"), NOW, SafetyRules(), should_stop=stop)
    assert not plan.complete
    assert [e.group_id for e in plan.entries] == ["g0", "g1"]  # the rest have no verdict at all


def test_cli_facing_entries_carry_id_name_verdict_acts_and_reasons() -> None:
    gg = FakeGreengrass()
    gg.add_group("a", name="lab-a")
    [entry] = _plan(gg, "name=lab-*").entries
    document: dict[str, Any] = entry.as_json()
    assert document == {
        "group_id": "a",
        "name": "lab-a",
        "verdict": "act",
        "acts": True,
        "reasons": ["name 'lab-a' matches 'lab-*'"],
    }
    assert str(entry.verdict) == "act"


@pytest.mark.parametrize("value", ["2025-01-01", "2025-01-01T00:00:00Z", "30d", "true", "no"])
def test_expired_with_a_date_or_an_age_is_refused_wherever_the_selection_comes_from(value: str) -> None:
    """`expired=2025-01-01` would read the date from a tag named `2025-01-01` and select nothing: the
    command line, the janitor's JSON configuration and the CDK context all refuse it, saying what to use."""
    with pytest.raises(SelectionError, match=r"expired takes no date or age.*tag=KEY=VALUE.*older-than=30d"):
        Selection.parse([f"expired={value}"])
    with pytest.raises(SelectionError, match="expired takes no date or age"):
        Selection.from_json(json.dumps({"expired": value}))


def test_expired_on_another_tag_key_is_still_accepted() -> None:
    assert Selection.parse(["expired=team:ends"]).expiry_tag == "team:ends"
    assert Selection.from_json('{"expired": true}').expiry_tag == "gg-reset:expires-at"
