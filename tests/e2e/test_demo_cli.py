"""`gg-reset demo` end to end: a mixed fleet, every request terminal and as expected, a readable table."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gg_reset.cli import app
from gg_reset.domain.model import TERMINAL_STATES

runner = CliRunner()


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
    result = runner.invoke(app, ["demo", "--groups", "20", "--seed", "1"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80


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
