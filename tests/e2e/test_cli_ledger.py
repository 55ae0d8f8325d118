"""`gg-reset list`, `show` and `report` against the ledger a LocalService wrote (moto's DynamoDB, the
stack's table and due index), read through the CLI exactly as from a deployed stack (`--table`)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from gg_reset.cli.app import app
from gg_reset.cli.errors import CliError
from gg_reset.cli.ledger import ReportAction, action_of, parse_since
from gg_reset.contracts import ForcePolicy
from gg_reset.domain.model import TERMINAL_STATES
from gg_reset.local import LocalService
from gg_reset.local.runtime import TABLE_NAME

runner = CliRunner()
PROTECTED = {"gg-reset:protect": "true"}
LONG_REASON = "decommissioned " + "site-" * 60 + "end"


@dataclass(frozen=True)
class Fleet:
    svc: LocalService
    reset: str
    deleted: str
    forced: str
    protected: str
    gone: str
    upgraded: str
    planned: str
    failed: str
    active: str
    later: str
    """ISO time between the first and the second batch of requests."""
    rolled_back: str
    """A failed deployment remediated by its on-failure=rollback tag."""
    notified: str
    """A failed deployment remediated by its on-failure=notify tag."""


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    with LocalService(seed=11) as svc:
        add = svc.fleet.add_group
        reset, deleted, forced = add(core="online"), add(core="online"), add(core="offline")
        protected, upgraded = add(core="online", tags=PROTECTED), add(core="offline")
        svc.request_reset(reset)
        svc.request_deletion(deleted, reason=LONG_REASON)
        svc.request_reset(forced)
        svc.request_deletion(protected)
        svc.request_reset("gone-group-0001")
        svc.request_reset(upgraded)
        svc.run_for(5)
        svc.request_deletion(upgraded)  # joins the reset: the workflow becomes a deletion
        svc.run_until_idle()
        later = svc.clock.now() + timedelta(hours=1)
        svc.clock.advance_to(later + timedelta(minutes=1))
        planned, failed, active = add(core="online"), add(core="offline"), add(core="offline")
        svc.request_deletion(planned, dry_run=True)
        svc.request_reset(failed, force=ForcePolicy.NEVER)
        rolled_back = add(core="online", tags={"gg-reset:on-failure": "rollback"})
        notified = add(core="online", tags={"gg-reset:on-failure": "notify"})
        svc.fleet.fail_deployment(rolled_back)
        svc.fleet.fail_deployment(notified)
        svc.run_until_idle()
        # One janitor dry run: a run record in the ledger, no workflow.
        add(core="online", tags={"gg-reset:expires-at": "2020-01-01"})
        svc.run_janitor(max_percent=100, run_id="scheduled-run-1")
        svc.request_reset(active)
        svc.run_for(30)  # its core is silent: still RESETTING
        yield Fleet(
            svc,
            reset,
            deleted,
            forced,
            protected,
            "gone-group-0001",
            upgraded,
            planned,
            failed,
            active,
            later.isoformat(),
            rolled_back,
            notified,
        )


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, [*args, "--table", TABLE_NAME])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


# --- list ---


def test_list_shows_the_workflows_in_flight_by_default(fleet: Fleet) -> None:
    code, output = invoke("list", "--json")
    assert code == 0, output
    rows = json.loads(output)["workflows"]
    assert [(r["group_id"], r["state"], r["action"]) for r in rows] == [
        (fleet.active, "RESETTING", "in-progress")
    ]
    assert rows[0]["finished_at"] is None


def test_list_failed_and_by_state(fleet: Fleet) -> None:
    code, output = invoke("list", "--failed", "--json")
    assert code == 0, output
    assert [r["group_id"] for r in json.loads(output)["workflows"]] == [fleet.failed]
    code, output = invoke("list", "--state", "rejected", "--state", "GONE", "--json")
    assert code == 0, output
    assert {r["group_id"] for r in json.loads(output)["workflows"]} == {fleet.protected, fleet.gone}


def test_list_all_since_a_time_as_csv(fleet: Fleet) -> None:
    code, output = invoke("list", "--all", "--since", fleet.later, "--csv")
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    assert {r["group_id"]: r["action"] for r in rows} == {
        fleet.planned: "plan",
        fleet.failed: "fail",
        fleet.rolled_back: "rollback",
        fleet.notified: "notify",
        fleet.active: "in-progress",
    }
    assert rows[0].keys() >= {"group_id", "request_ids", "kind", "state", "forced", "reason", "started_at"}


def test_list_as_a_table_names_the_columns(fleet: Fleet) -> None:
    code, output = invoke("list", "--finished")
    assert code == 0, output
    assert output.splitlines()[0].split()[:5] == ["group", "workflow", "action", "kind", "state"]
    assert fleet.forced in output and "force-reset" in output


def test_list_rejects_an_unknown_state_in_one_line(fleet: Fleet) -> None:
    code, output = invoke("list", "--state", "EXPLODED")
    assert code == 2
    assert output.count("\n") == 1 and "not a workflow state" in output and "FAILED" in output


# --- show ---


def test_show_prints_every_workflow_with_its_steps(fleet: Fleet) -> None:
    code, output = invoke("show", fleet.deleted)
    assert code == 0, output
    assert "deletion request  DELETED  (delete)" in output
    for step in ("requested", "inspected", "reset-started", "delete-started", "finished"):
        assert step in output


def test_show_prints_a_deletion_that_upgraded_a_reset_as_a_deletion(fleet: Fleet) -> None:
    code, output = invoke("show", fleet.upgraded, "--json")
    assert code == 0, output
    [workflow] = json.loads(output)["workflows"]
    assert (workflow["kind"], workflow["state"], workflow["action"]) == ("deletion", "DELETED", "delete")
    assert [s["kind"] for s in workflow["steps"]].count("upgraded") == 1
    assert len(workflow["request_ids"]) == 2
    code, output = invoke("show", fleet.upgraded)
    assert output.splitlines()[0].split()[1:5] == ["deletion", "request", "DELETED", "(delete,"]


def test_show_a_dry_run_deletion_with_its_plan(fleet: Fleet) -> None:
    code, output = invoke("show", fleet.planned, "--json")
    assert code == 0, output
    [workflow] = json.loads(output)["workflows"]
    assert (workflow["kind"], workflow["dry_run"], workflow["action"]) == ("deletion", True, "plan")
    assert workflow["plan"]
    code, output = invoke("show", fleet.planned)
    assert "deletion request (dry run)  PLANNED" in output


def test_show_does_not_wrap_long_lines_when_piped(fleet: Fleet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COLUMNS", raising=False)
    code, output = invoke("show", fleet.deleted)
    assert code == 0, output
    assert any(LONG_REASON in line for line in output.splitlines())


def test_show_an_unknown_group_is_one_line(fleet: Fleet) -> None:
    code, output = invoke("show", "never-seen-group")
    assert code == 1
    expected = f"no workflow recorded for group never-seen-group in the ledger table {TABLE_NAME}"
    assert output == f"gg-reset: error: {expected}\n"


def test_show_an_invalid_group_id_is_one_line(fleet: Fleet) -> None:
    code, output = invoke("show", "not a group!")
    assert code == 1
    assert output.count("\n") == 1 and "invalid group id 'not a group!'" in output


# --- report ---


def test_report_is_csv_with_the_fixed_action_vocabulary(fleet: Fleet) -> None:
    code, output = invoke("report", "--since", "2000-01-01")
    assert code == 0, output
    rows = list(csv.DictReader(io.StringIO(output)))
    actions = {r["group_id"]: r["action"] for r in rows}
    assert actions == {
        fleet.reset: "reset",
        fleet.deleted: "delete",
        fleet.forced: "force-reset",
        fleet.protected: "reject",
        fleet.gone: "gone",
        fleet.upgraded: "delete",
        fleet.planned: "plan",
        fleet.failed: "fail",
        fleet.rolled_back: "rollback",
        fleet.notified: "notify",
        fleet.active: "in-progress",
    }
    by_group = {r["group_id"]: r for r in rows}
    assert by_group[fleet.forced]["forced"] == "true" and by_group[fleet.deleted]["forced"] == "false"
    assert by_group[fleet.upgraded]["forced"] == "true"
    assert len(by_group[fleet.upgraded]["request_ids"].split()) == 2
    assert by_group[fleet.failed]["state"] == "FAILED" and by_group[fleet.failed]["reason"]
    assert by_group[fleet.active]["finished_at"] == ""


def test_report_since_as_json(fleet: Fleet) -> None:
    code, output = invoke("report", "--since", fleet.later, "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["actions"] == [a.value for a in ReportAction]
    assert {r["group_id"] for r in report["workflows"]} == {
        fleet.planned,
        fleet.failed,
        fleet.rolled_back,
        fleet.notified,
        fleet.active,
    }
    assert {r["action"] for r in report["workflows"]} <= set(report["actions"])


def test_report_needs_since_and_says_so_in_one_line() -> None:
    result = runner.invoke(app, ["report", "--table", TABLE_NAME])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "--since" in result.output


def test_a_bad_since_is_one_line(fleet: Fleet) -> None:
    code, output = invoke("report", "--since", "last tuesday")
    assert code == 1
    assert output.count("\n") == 1 and "ISO 8601" in output and "7d" in output


# --- the vocabulary and the time filter ---


def test_the_fleet_covers_every_action_and_every_terminal_state(fleet: Fleet) -> None:
    workflows = [view.workflow for views in fleet.svc.ledger.all_workflows().values() for view in views]
    assert {action_of(wf) for wf in workflows} == set(ReportAction)
    assert {wf.state for wf in workflows} >= set(TERMINAL_STATES)


@pytest.mark.parametrize(
    ("text", "hours_back"),
    [("90m", 1.5), ("24h", 24), ("7d", 168), ("2w", 336), ("1.5h", 1.5)],
)
def test_since_ages(text: str, hours_back: float) -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since(text, now) == now - timedelta(hours=hours_back)


def test_since_dates_are_utc_unless_they_say_otherwise() -> None:
    from datetime import UTC, datetime

    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_since("2026-02-01", now) == datetime(2026, 2, 1, tzinfo=UTC)
    assert parse_since("2026-02-01T10:00:00Z", now) == datetime(2026, 2, 1, 10, tzinfo=UTC)
    assert parse_since("2026-02-01T10:00:00+02:00", now) == datetime(2026, 2, 1, 8, tzinfo=UTC)
    with pytest.raises(CliError, match="ISO 8601"):
        parse_since("yesterday", now)


# --- janitor runs ---


def test_janitor_runs_lists_the_recorded_runs(fleet: Fleet) -> None:
    code, output = invoke("janitor-runs", "--json")
    assert code == 0, output
    [run] = json.loads(output)["runs"]
    assert (run["run_id"], run["outcome"], run["dry_run"]) == ("scheduled-run-1", "planned", True)
    assert run["counts"]["act"] == 1 and run["counts"]["sent"] == 0
    code, output = invoke("janitor-runs", "--csv")
    assert code == 0, output
    [row] = list(csv.DictReader(io.StringIO(output)))
    assert (row["run_id"], row["outcome"], row["act"], row["sent"]) == (
        "scheduled-run-1",
        "planned",
        "1",
        "0",
    )
    code, output = invoke("janitor-runs")
    assert code == 0, output
    assert "scheduled-run-1" in output and "planned (dry run)" in output and "would delete 1" in output
