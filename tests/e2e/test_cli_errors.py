"""What goes wrong reads as an error: one line on stderr saying what to do, a non-zero exit, no traceback.
And `--stack` resolves the bus and the table from the stack's outputs (moto's CloudFormation)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from typer.testing import CliRunner

from gg_reset.cli import aws as cli_aws
from gg_reset.cli.app import app
from gg_reset.cli.errors import Resources, explain
from gg_reset.local import LocalService
from gg_reset.local.runtime import TABLE_NAME

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def assert_one_error_line(output: str, *fragments: str) -> None:
    assert output.startswith("gg-reset: error: "), output
    assert output.count("\n") == 1, output
    for fragment in fragments:
        assert fragment in output, output


# --- configuration and credentials (no AWS, no moto) ---


def test_no_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    code, output = run("list", "--table", "t")
    assert code == 1
    assert_one_error_line(output, "no AWS region", "--region", "AWS_REGION")


def test_region_from_aws_region_like_the_aws_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    assert cli_aws.AwsTarget(cli_aws.AwsOptions()).session.region_name == "eu-west-1"
    assert cli_aws.AwsTarget(cli_aws.AwsOptions(region="ap-south-1")).session.region_name == "ap-south-1"


def test_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, output = run("show", "some-group", "--table", "t")
    assert code == 1
    assert_one_error_line(output, "no usable AWS credentials", "aws configure", "--profile")


def test_an_unknown_profile() -> None:
    code, output = run("report", "--since", "7d", "--table", "t", "--profile", "no-such-profile")
    assert code == 1
    assert_one_error_line(output, "AWS profile 'no-such-profile' not found", "--profile")


def test_an_unreachable_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # nothing listens on the discard port
    monkeypatch.setattr(cli_aws, "_CLIENT_CONFIG", Config(retries={"max_attempts": 1}, connect_timeout=2))
    code, output = run("show", "some-group", "--table", "t")
    assert code == 1
    assert_one_error_line(output, "cannot reach http://127.0.0.1:9", "--region (us-east-1)")


def test_json_and_csv_together_is_a_usage_error() -> None:
    code, output = run("list", "--json", "--csv", "--table", "t")
    assert code == 2
    # --json is on the command line: the error is a JSON object (tests/e2e/test_cli_usability.py)
    assert json.loads(output) == {"error": "--json and --csv are exclusive", "hint": "choose one"}


def test_an_unknown_option_is_one_line() -> None:
    code, output = run("list", "--colour")
    assert code == 2
    assert_one_error_line(output, "No such option", "--colour", "gg-reset list --help")


# --- resources that do not exist (moto) ---


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.mark.usefixtures("aws")
def test_an_unknown_table() -> None:
    code, output = run("list", "--failed", "--table", "no-such-table")
    assert code == 1
    assert_one_error_line(output, "ledger table 'no-such-table' not found in us-east-1", "--table", "--stack")


@pytest.mark.usefixtures("aws")
def test_an_unknown_stack() -> None:
    code, output = run("list", "--stack", "NoSuchStack")
    assert code == 1
    assert_one_error_line(output, "stack 'NoSuchStack' not found in us-east-1", "--stack")


@pytest.mark.usefixtures("aws")
def test_without_stack_or_table_the_default_stack_is_looked_up() -> None:
    code, output = run("show", "some-group")
    assert code == 1
    assert_one_error_line(output, "stack 'GgReset' not found in us-east-1", "--stack", "--bus/--table")


@pytest.mark.usefixtures("aws")
def test_an_unknown_bus_from_the_default_name() -> None:
    code, output = run("request", "reset", "some-group")
    assert code == 1
    assert_one_error_line(output, "event bus 'gg-reset' not found in us-east-1", "--bus", "--stack")


# --- --stack resolves the bus and the table from the outputs ---


def _create_stack(name: str, outputs: dict[str, str]) -> None:
    import boto3

    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-q"}}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    boto3.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def test_stack_outputs_name_the_bus_and_the_table() -> None:
    with LocalService(seed=3) as svc:
        _create_stack("TeamReset", {"EventBusName": svc.bus_name, "LedgerTableName": TABLE_NAME})
        gid = svc.fleet.add_group(core="online")
        code, output = run("request", "delete", gid, "--stack", "TeamReset", "--request-id", "via-stack")
        assert code == 0, output
        svc.run_until_idle()
        code, output = run("list", "--all", "--json", "--stack", "TeamReset")
    assert code == 0, output
    [row] = json.loads(output)["workflows"]
    assert (row["group_id"], row["state"], row["request_ids"]) == (gid, "DELETED", ["via-stack"])


def test_bus_and_table_override_the_stack() -> None:
    with LocalService(seed=3) as svc:
        _create_stack("Elsewhere", {"EventBusName": "not-this-bus", "LedgerTableName": "not-this-table"})
        gid = svc.fleet.add_group(core="online")
        code, output = run("request", "reset", gid, "--stack", "Elsewhere", "--bus", svc.bus_name)
        assert code == 0, output
        svc.run_until_idle()
        code, output = run("show", gid, "--stack", "Elsewhere", "--table", TABLE_NAME, "--json")
    assert code == 0, output
    assert json.loads(output)["workflows"][0]["state"] == "RESET"


@pytest.mark.usefixtures("aws")
def test_a_stack_without_the_outputs() -> None:
    _create_stack("NotGgReset", {"Something": "else"})
    code, output = run("list", "--stack", "NotGgReset")
    assert code == 1
    assert_one_error_line(output, "stack 'NotGgReset' has no LedgerTableName output", "--table")


# --- the one line for other AWS errors ---


def _client_error(code: str, message: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (_client_error("ExpiredTokenException", "expired", "Scan"), "credentials have expired"),
        (_client_error("UnrecognizedClientException", "bad", "PutEvents"), "AWS rejected your credentials"),
        (
            _client_error("AccessDeniedException", "no dynamodb:Scan", "Scan"),
            "access denied in eu-west-1 for Scan",
        ),
        (_client_error("ThrottlingException", "slow down", "Query"), "AWS Query failed in eu-west-1"),
    ],
)
def test_other_client_errors_are_explained(error: ClientError, expected: str) -> None:
    line = explain(error, Resources(region="eu-west-1", table="t"))
    assert line is not None and expected in line and "\n" not in line


def test_explain_leaves_other_exceptions_alone() -> None:
    assert explain(ValueError("a bug"), Resources()) is None
