"""`gg-reset demo` end to end: a mixed fleet, every request terminal and as expected, the janitor planning
then cleaning the expired groups, a readable table."""

from __future__ import annotations

import json
import random
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from gg_reset.cleanup.janitor import JanitorConfig
from gg_reset.cli.app import app
from gg_reset.domain.model import TERMINAL_STATES
from gg_reset.local import demo
from gg_reset.local.demo import DEFAULT_MIX, UNTOUCHED, run_demo
from gg_reset.local.faults import FaultProfile
from gg_reset.local.fleet_mix import fleet_kinds

runner = CliRunner()

JANITOR_MIX = (
    "online=10,offline=4,protected=1,expired=2,expired-protected=1,expired-denied=1,unexpired=1,"
    "expiry-unreadable=1"
)
"""Every janitor kind beside requests of the demo's own: in 42 groups, 4 expired, the janitor's 10 % cap."""


def test_demo_ends_every_request_in_its_expected_state_and_writes_the_report(tmp_path: Path) -> None:
    report_path = tmp_path / "demo.json"
    result = runner.invoke(app, ["demo", "--groups", "60", "--seed", "3", "--report", str(report_path)])

    assert result.exit_code == 0, result.output
    assert "every request ended in its expected terminal state" in result.output
    report = json.loads(report_path.read_text())
    entries = report["requests"]
    assert len(entries) == 60
    terminal = {s.value for s in TERMINAL_STATES}
    for entry in entries:
        if entry["request_id"] is None:  # a group the janitor left alone: no request, no workflow
            assert entry["state"] == UNTOUCHED and entry["janitor_verdict"] in ("rejected", "not-selected")
            assert entry["reason"] and entry["steps"] == []
            continue
        assert entry["state"] in terminal
        assert entry["reason"]
        assert entry["steps"][-1]["kind"] == "finished"
        if entry["group_kind"] == "protected":
            assert entry["state"] == "REJECTED"
        if entry["group_kind"] == "offline" and entry["request_kind"] != "dry-run":
            assert entry["forced"]
    summary = report["summary"]
    assert summary["problems"] == []
    assert sum(summary["outcomes"].values()) == 60
    assert summary["api_calls"]["GetGroup"] >= 1


def test_demo_output_fits_an_80_column_terminal(tmp_path: Path) -> None:
    report_path = tmp_path / "demo.json"
    result = runner.invoke(
        app, ["demo", "--groups", "20", "--seed", "1", "--report", str(report_path)], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # The janitor's sentences (and the report's) are sentences, not tables: on a terminal rich wraps them
    # at word boundaries; piped, as here, each stays one line, never cut mid-phrase at 80 columns.
    janitor = json.loads(report_path.read_text())["janitor"]
    sentences = [janitor["dry_run"]["message"], janitor["run"]["message"], f"report written to {report_path}"]
    assert max(len(s) for s in sentences) > 80  # else this would not test the wrapping
    for sentence in sentences:
        assert sentence in lines
    assert max(len(line) for line in lines if line not in sentences) <= 80


def test_demo_under_a_low_quota_still_finishes_every_request() -> None:
    result = runner.invoke(app, ["demo", "--groups", "30", "--seed", "2", "--quota", "3"])
    assert result.exit_code == 0, result.output


def test_demo_rejects_an_unknown_group_kind_with_the_known_ones() -> None:
    result = runner.invoke(app, ["demo", "--mix", "online=1,martian=2"])
    assert result.exit_code == 2
    assert "martian" in result.output
    assert "offline" in result.output


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "plan", "request", "list", "show", "report"):
        assert command in result.output


def test_demo_refuses_a_zero_quota_in_one_line() -> None:
    result = runner.invoke(app, ["demo", "--quota", "0"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1, result.output
    assert "--quota" in result.output and "above 0" in result.output and "leave --quota out" in result.output


def test_demo_checks_the_report_path_before_the_run(tmp_path: Path) -> None:
    for unwritable in (tmp_path / "no-such-dir" / "demo.json", tmp_path):
        result = runner.invoke(app, ["demo", "--groups", "20000", "--report", str(unwritable)])
        assert result.exit_code == 1
        assert result.output.startswith(f"gg-reset: error: --report {unwritable}: "), result.output
        assert result.output.count("\n") == 1, result.output  # no run: not even its header
    assert list(tmp_path.iterdir()) == []


def test_demo_without_the_local_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # as if moto were not installed
    for module in ("gg_reset.local.demo", "gg_reset.local.runtime"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    result = runner.invoke(app, ["demo", "--groups", "1"])
    assert result.exit_code == 1
    assert result.output == (
        "gg-reset: error: `gg-reset demo` runs the service locally and needs the local runtime (moto is not "
        "installed): pip install 'gg-reset[local]'\n"
    )


def _by_kind(entries: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        kinds.setdefault(entry["group_kind"], []).append(entry)
    return kinds


def test_demo_janitor_plans_then_deletes_exactly_the_expired_groups(tmp_path: Path) -> None:
    report_path = tmp_path / "demo.json"
    result = runner.invoke(
        app, ["demo", "--groups", "42", "--seed", "5", "--mix", JANITOR_MIX, "--report", str(report_path)]
    )

    assert result.exit_code == 0, result.output
    report = json.loads(report_path.read_text())
    kinds = _by_kind(report["requests"])
    expired = {e["group_id"] for e in kinds["expired"]}
    assert len(expired) == 4
    dry_run, run = report["janitor"]["dry_run"], report["janitor"]["run"]
    # The dry run planned exactly the expired groups and sent nothing.
    assert dry_run["dry_run"] is True and dry_run["outcome"] == "planned"
    assert {e["group_id"] for e in dry_run["entries"] if e["acts"]} == expired
    assert dry_run["counts"]["act"] == 4 and dry_run["counts"]["sent"] == 0
    # The real run sent one deletion per expired group, and each ended DELETED through it.
    assert run["dry_run"] is False and run["outcome"] == "sent" and run["counts"]["sent"] == 4
    assert {e["group_id"]: e["request_id"] for e in run["entries"] if e["acts"]} == {
        e["group_id"]: e["request_id"] for e in kinds["expired"]
    }
    for entry in kinds["expired"]:
        assert entry["request_id"] == f"janitor:{run['run_id']}:{entry['group_id']}"
        assert entry["state"] == "DELETED" and entry["janitor_verdict"] == "act"
    # The groups it must not touch: no request, the plan's verdict and reason.
    reasons = {
        "expired-protected": ("rejected", "protected by tag gg-reset:protect=true"),
        "expired-denied": ("rejected", "deny list ('demo-expired-denied-*')"),
        "unexpired": ("not-selected", "not expired yet: gg-reset:expires-at="),
        "expiry-unreadable": ("not-selected", "unreadable expiry tag: gg-reset:expires-at='when the project"),
    }
    for kind, (verdict, reason) in reasons.items():
        assert kinds[kind], kind
        for entry in kinds[kind]:
            assert entry["state"] == UNTOUCHED and entry["request_id"] is None, entry
            assert entry["janitor_verdict"] == verdict and reason in entry["reason"], entry
    rejected = {e["group_id"] for k in ("expired-protected", "expired-denied") for e in kinds[k]}
    assert {e["group_id"] for e in run["entries"] if not e["acts"]} == rejected
    assert {p["group_id"] for p in dry_run["problems"]} == {e["group_id"] for e in kinds["expiry-unreadable"]}
    summary = report["summary"]
    assert summary["problems"] == []
    assert summary["outcomes"][UNTOUCHED] == len(report["requests"]) - summary["requests"]
    assert summary["janitor"]["dry_run"] == {"outcome": "planned", **dry_run["counts"]}
    assert summary["janitor"]["run"] == {"outcome": "sent", **run["counts"]}
    # What people read: the table row, and each run's one line.
    assert "Janitor" in result.output
    assert f"janitor dry run {dry_run['run_id']}: would delete 4 of" in result.output
    assert f"janitor run {run['run_id']}: sent 4 delete requests" in result.output


def test_demo_without_janitor_kinds_has_nothing_for_the_janitor_and_passes() -> None:
    result = run_demo(groups=12, seed=4, mix={"online": 1})
    assert result.problems == []
    assert result.janitor.dry_run.outcome.value == "nothing-to-do"
    assert result.janitor.run.outcome.value == "nothing-to-do" and not result.janitor.run.sent
    assert {e["state"] for e in result.entries} <= {"DELETED", "RESET", "PLANNED"}


def test_demo_reports_a_janitor_that_acts_on_a_group_it_must_leave_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if the deployment's deny list did not hold: the denied groups are planned and deleted (2 expired
    # and 2 denied in 44 groups: within the cap of 4, so the run does send).
    monkeypatch.setattr(demo, "DENIED_PATTERN", "no-such-group-*")
    result = run_demo(groups=44, seed=5, mix={"online": 20, "expired": 1, "expired-denied": 1})
    denied = [e for e in result.entries if e["group_kind"] == "expired-denied"]
    assert len(denied) == 2 and all(e["state"] == "DELETED" for e in denied)
    text = "\n".join(result.problems)
    assert "janitor dry run planned 4 groups, not exactly the 2 expired: 2 extra, 0 missing" in text
    assert "janitor run sent requests for 4 groups, not exactly the 2 expired" in text
    for entry in denied:
        assert f"{entry['group_id']} (expired-denied): janitor verdict act, expected rejected" in text
        assert f"{entry['group_id']} (expired-denied) was touched" in text


@pytest.mark.parametrize("mix", [DEFAULT_MIX, {"expired": 1}, {"expired": 1, "already-deleted": 3}])
def test_the_expired_groups_never_exceed_the_janitors_cap(mix: dict[str, int]) -> None:
    for groups in range(1, 400):
        config = replace(JanitorConfig.default(), max_groups=groups)  # as run_demo configures it
        kinds = demo._within_janitor_cap(fleet_kinds(groups, mix, random.Random(groups)), config)
        assert len(kinds) == groups
        listed = sum(1 for k in kinds if k != "already-deleted")
        assert kinds.count("expired") <= config.cap(listed), groups


def test_demo_shows_each_remediation_policy_with_its_outcome(tmp_path: Path) -> None:
    report_path = tmp_path / "demo.json"
    mix = "failed-deployment=2,on-failure-rollback=4,on-failure-notify=2,online=2"
    result = runner.invoke(
        app, ["demo", "--groups", "40", "--seed", "4", "--mix", mix, "--report", str(report_path)]
    )
    assert result.exit_code == 0, result.output
    assert "Failed deployments by remediation policy" in result.output
    entries = json.loads(report_path.read_text())["requests"]
    by_kind: dict[str, set[str]] = {}
    for entry in entries:
        by_kind.setdefault(entry["group_kind"], set()).add(entry["state"])
    assert by_kind["failed-deployment"] == {"RESET"}
    assert by_kind["on-failure-notify"] == {"NOTIFIED"}
    assert "ROLLED_BACK" in by_kind["on-failure-rollback"]
    assert by_kind["on-failure-rollback"] <= {"ROLLED_BACK", "NOTIFIED"}  # NOTIFIED: nothing to go back to
    rows = {
        line.split()[0]: line.split()
        for line in result.output.splitlines()
        if line.startswith(("reset", "rollback", "notify"))
    }
    assert rows["notify"][1] == rows["notify"][4]  # every notify group NOTIFIED


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_demo_plot_draws_the_runs_timeline_as_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from matplotlib.image import imread

    plot = tmp_path / "timeline.png"
    result = runner.invoke(
        app, ["demo", "--groups", "30", "--seed", "2", "--quota", "3", "--plot", str(plot)]
    )
    assert result.exit_code == 0, result.output
    assert f"timeline written to {plot}" in result.output.splitlines()
    data = plot.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 10_000
    pixels = imread(plot)[..., :3]  # RGB in [0, 1]
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 800
    assert (pixels.min(axis=2) < 0.9).mean() > 0.05  # not blank: a good share of it is drawn
    assert len({tuple(p) for p in pixels[::7, ::7].reshape(-1, 3).round(2).tolist()}) > 20  # and in colour


def test_the_demos_timeline_counts_every_call_and_every_finished_request() -> None:
    result = run_demo(
        groups=24, seed=2, mix={"online": 2, "offline": 1}, faults=FaultProfile(requests_per_second=2)
    )
    timeline = result.timeline
    assert len(timeline.calls) == sum(result.api_calls.values())
    assert len(timeline.throttled) > 0 and timeline.quota == 2
    assert len(timeline.finished) == sum(1 for e in result.entries if e["request_id"] is not None)
    assert timeline.forced == sum(1 for e in result.entries if e["forced"]) > 0
    assert all(0 <= t <= timeline.duration_s for t in (*timeline.calls, *(f.at_s for f in timeline.finished)))


def test_demo_plot_without_matplotlib_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if matplotlib were not installed
    plot = tmp_path / "timeline.png"
    result = runner.invoke(app, ["demo", "--groups", "20000", "--plot", str(plot)])
    assert result.exit_code == 1
    assert result.output == (  # before the run: not even its header
        f"gg-reset: error: --plot {plot}: drawing the timeline needs matplotlib, which is not installed: "
        "pip install 'gg-reset[plot]'\n"
    )
