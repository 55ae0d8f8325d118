"""What a platform team meets first: `--version`, help that shows flags as flags, errors as JSON with
`--json`, and counted nouns that agree with their counts."""

from __future__ import annotations

import json

import pytest
import typer.main
from typer.testing import CliRunner

from gg_reset import __version__
from gg_reset.cli.app import app
from gg_reset.text import plural

runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"gg-reset {__version__}\n"


def _commands() -> list[str]:
    group = typer.main.get_command(app)
    return sorted(getattr(group, "commands", {}))


def test_every_command_is_checked() -> None:
    assert {"demo", "plan", "request", "list", "show", "report", "janitor-runs"} <= set(_commands())


@pytest.mark.parametrize("command", ["", *_commands()])
def test_help_shows_flags_as_flags(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output
    assert "list[" not in result.output
    assert "--help " in result.output


def test_help_names_the_value_of_a_repeatable_option() -> None:
    result = runner.invoke(app, ["request", "--help"], env={"COLUMNS": "120"})
    lines = result.output.splitlines()
    assert any("--dry-run " in line and "Plan only" in line for line in lines)
    assert any("--allow " in line and "PATTERN" in line for line in lines)
    assert any("--select " in line and "TERM" in line for line in lines)


# --- --json: an error is one JSON object on stdout, with the same exit code ----------------------------


@pytest.mark.parametrize(
    ("args", "code", "error", "hint"),
    [
        (["list", "--json", "--colour"], 2, "No such option: --colour", "see `gg-reset list --help`"),
        (
            ["list", "--json", "--state", "bogus", "--table", "t"],
            2,
            "--state 'bogus': not a workflow",
            "FAILED",
        ),
        (["list", "--json", "--csv", "--table", "t"], 2, "--json and --csv are exclusive", "choose one"),
        (["show", "bad id!", "--json", "--table", "t"], 1, "invalid group id 'bad id!'", "1-128 letters"),
        (["show", "--json"], 2, "Missing argument 'GROUP_ID'", "gg-reset show --help"),
        (["report", "--json"], 2, "Missing option '--since'", "gg-reset report --help"),
        (["report", "--json", "--since", "yesterday", "--table", "t"], 1, "--since 'yesterday'", "ISO 8601"),
        (["plan", "colour=blue", "--json"], 1, "invalid selection: unknown term 'colour=blue'", None),
        (["plan", "expired=2025-01-01", "--json"], 1, "expired takes no date or age", None),
        (["request", "reset", "--json"], 2, "no group ids", "--file FILE"),
        (["request", "reset", "bad id!", "--json"], 1, "invalid group id 'bad id!'", "nothing was sent"),
        (["janitor-runs", "--json", "--limit", "0"], 2, "--limit", "gg-reset janitor-runs --help"),
        (["simulate", "--json", "--port", "-1"], 2, "--port", "gg-reset simulate --help"),
    ],
)
def test_json_errors_are_one_json_object_on_stdout(
    args: list[str], code: int, error: str, hint: str | None
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert result.stderr == ""
    assert result.stdout.count("\n") == 1, result.stdout
    document = json.loads(result.stdout)
    assert set(document) == {"error", "hint"}
    assert error in document["error"]
    if hint is None:
        assert document["hint"] is None
    else:
        assert hint in document["hint"]


def test_json_aws_errors_say_what_to_do(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    result = runner.invoke(app, ["list", "--json", "--table", "t"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "error": "no AWS region",
        "hint": "pass --region REGION, set AWS_REGION, or set a region in your AWS profile "
        "(`aws configure set region REGION`)",
    }


def test_without_json_the_same_error_is_one_line_on_stderr() -> None:
    result = runner.invoke(app, ["show", "bad id!", "--table", "t"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "gg-reset: error: invalid group id 'bad id!': a Greengrass group id is 1-128 letters, digits, '_', "
        "'.', ':' or '-'\n"
    )


def test_a_json_value_after_double_dash_is_not_the_option() -> None:
    result = runner.invoke(app, ["plan", "--", "--json"])
    assert result.exit_code == 1
    assert result.stderr.startswith("gg-reset: error: invalid selection: unknown term '--json'")


# --- counted nouns ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "noun", "expected"),
    [
        (1, "minute", "1 minute"),
        (2, "minute", "2 minutes"),
        (0, "group", "0 groups"),
        (1, "request", "1 request"),
        (1, "redelivery", "1 redelivery"),
        (3, "redelivery", "3 redeliveries"),
    ],
)
def test_plural(count: int, noun: str, expected: str) -> None:
    assert plural(count, noun) == expected
