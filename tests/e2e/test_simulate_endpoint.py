"""`gg-reset simulate`: the Greengrass V1 simulator on http://127.0.0.1:PORT, used through AWS_ENDPOINT_URL by
a plain boto3 client, the real `gg-reset plan` (a subprocess) and the janitor's code.

Against moto's server the same `gg-reset plan expired` saw no tags, so it selected nothing (and a protected
group looked unprotected); here it must select exactly the expired, unprotected groups. Everything talks to
127.0.0.1 only, every process has a timeout, and every server is shut down.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client
from gg_reset.cleanup.janitor import Janitor, JanitorConfig, JanitorRun, RunOutcome
from gg_reset.cleanup.selection import EXPIRY_TAG, Selection
from gg_reset.cli.app import app
from gg_reset.domain.safety import PROTECT_TAG, SafetyRules
from gg_reset.local.http_endpoint import EVENTS_PATH, SimulatorEndpoint
from gg_reset.ports import RunNotice, SystemClock

GROUPS: Final = 40
SEED: Final = 11
SPEED: Final = 60.0
"""Simulated seconds per real second: a reset of an online core's group succeeds in about 0.1 s."""
START_TIMEOUT_S: Final = 20.0
CLI_TIMEOUT_S: Final = 30.0
DUMMY_AWS: Final = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
LEAKY_AWS: Final = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_GREENGRASS",
    "GREENGRASS_ENDPOINT_URL",  # the adapter's own override would win over AWS_ENDPOINT_URL
)


def gg_reset_command() -> list[str]:
    """The installed `gg-reset` entry point (the real command), else the same `main` through -c."""
    script = shutil.which("gg-reset", path=str(Path(sys.executable).parent))
    if script is not None:
        return [script]
    return [sys.executable, "-c", "from gg_reset.cli.app import main; main()"]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_AWS}
    env.update(DUMMY_AWS)
    env["COLUMNS"] = "250"
    env.update(extra)
    return env


def read_line(proc: subprocess.Popen[str], timeout_s: float) -> str:
    """The next line the process prints, or fail (with its stderr) if none comes in time."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    if not ready:
        stop(proc)
        pytest.fail(f"gg-reset simulate printed nothing in {timeout_s}s")
    line = proc.stdout.readline()
    if not line:
        _, err = proc.communicate(timeout=5)
        pytest.fail(f"gg-reset simulate exited {proc.returncode}: {err}")
    return line


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> tuple[int, str]:
    """Signal the process and wait for it (killed if it does not end); returns its exit code and stderr."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate(timeout=5)
    return proc.returncode, err


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """`gg-reset simulate --port 0 --json` as a subprocess: what it printed, plus its events file."""
    events_file = tmp_path_factory.mktemp("simulate") / "events.jsonl"
    proc = subprocess.Popen(
        [
            *gg_reset_command(),
            "simulate",
            "--port",
            "0",
            "--groups",
            str(GROUPS),
            "--seed",
            str(SEED),
            "--speed",
            str(SPEED),
            "--events-file",
            str(events_file),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        document = json.loads(read_line(proc, START_TIMEOUT_S))
        yield {**document, "events_file": events_file}
    finally:
        stop(proc)


def greengrass(url: str) -> Any:
    return boto3.client(
        "greengrass",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def expired_unprotected(fleet: list[Mapping[str, Any]], now: datetime) -> set[str]:
    """What `expired` must select and act on, from the tags the endpoint reported (not from the kinds)."""
    chosen = set()
    for group in fleet:
        tags = group["tags"]
        if EXPIRY_TAG not in tags or tags.get(PROTECT_TAG[0], "").lower() == PROTECT_TAG[1]:
            continue
        try:
            expires = datetime.fromisoformat(tags[EXPIRY_TAG])
        except ValueError:
            continue
        if (expires if expires.tzinfo else expires.replace(tzinfo=UTC)) <= now:
            chosen.add(group["group_id"])
    return chosen


def run_cli(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*gg_reset_command(), *args],
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        env=clean_env(AWS_ENDPOINT_URL=url),
        check=False,
    )


# --- (1) a plain boto3 client -------------------------------------------------------------------------


def test_boto3_lists_groups_gets_tags_and_resets_with_status_events(served: dict[str, Any]) -> None:
    url = served["endpoint"]
    assert url == f"http://127.0.0.1:{served['port']}"
    assert served["export"].startswith(f"export AWS_ENDPOINT_URL={url} AWS_DEFAULT_REGION=us-east-1 ")
    client = greengrass(url)
    listed = [g for page in client.get_paginator("list_groups").paginate() for g in page["Groups"]]
    assert {g["Id"] for g in listed} == {g["group_id"] for g in served["fleet"]}
    assert len(listed) == GROUPS

    protected = next(g for g in served["fleet"] if g["kind"] == "protected")
    got = client.get_group(GroupId=protected["group_id"])
    assert got["tags"] == {PROTECT_TAG[0]: PROTECT_TAG[1]}  # moto's server returns no tags at all
    assert client.list_tags_for_resource(ResourceArn=got["Arn"])["tags"] == got["tags"]

    online = next(g for g in served["fleet"] if g["kind"] == "online")
    deployment_id = client.reset_deployments(GroupId=online["group_id"], Force=False)["DeploymentId"]
    deadline = time.monotonic() + 10
    status = None
    while time.monotonic() < deadline:
        answer = client.get_deployment_status(GroupId=online["group_id"], DeploymentId=deployment_id)
        status = answer["DeploymentStatus"]
        if status in ("Success", "Failure"):
            break
        time.sleep(0.05)
    assert status == "Success" and answer["DeploymentType"] == "ResetDeployment"

    # Its status changes are events, EventBridge-shaped, at GET /_simulator/events and in --events-file.
    with urllib.request.urlopen(f"{url}{EVENTS_PATH}?after=0", timeout=10) as response:
        served_events = json.load(response)
    mine = [e for e in served_events["events"] if e["detail"]["deployment-id"] == deployment_id]
    assert [e["detail"]["status"] for e in mine] == ["Building", "InProgress", "Success"]
    assert mine[-1]["detail-type"] == "Greengrass Deployment Status Change"
    assert mine[-1]["source"] == "aws.greengrass" and mine[-1]["detail"]["group-id"] == online["group_id"]
    assert served_events["next"] == len(served_events["events"])
    lines = [json.loads(line) for line in served["events_file"].read_text().splitlines()]
    assert [e for e in lines if e["detail"]["deployment-id"] == deployment_id] == mine


def test_only_greengrass_is_simulated(served: dict[str, Any]) -> None:
    url = served["endpoint"]
    dynamodb = boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    with pytest.raises(ClientError) as raised:
        dynamodb.list_tables()
    assert raised.value.response["Error"]["Code"] == "NotImplemented"
    assert "simulates only AWS IoT Greengrass V1" in raised.value.response["Error"]["Message"]
    assert "AWS_ENDPOINT_URL_GREENGRASS" in raised.value.response["Error"]["Message"]


# --- (2) the real CLI and the janitor's code ---------------------------------------------------------------


def test_gg_reset_plan_expired_selects_exactly_the_expired_unprotected_groups(served: dict[str, Any]) -> None:
    url = served["endpoint"]
    fleet = served["fleet"]
    expected = expired_unprotected(fleet, datetime.now(UTC))
    assert expected and expected == {g["group_id"] for g in fleet if g["kind"] == "expired"}
    protected_expired = {g["group_id"] for g in fleet if g["kind"] == "expired-protected"}
    assert protected_expired

    result = run_cli("plan", "expired", "--json", url=url)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["listed"] == GROUPS
    rows = {row["group_id"]: row for row in document["groups"]}
    assert {gid for gid, row in rows.items() if row["acts"]} == expected
    for gid in protected_expired:
        assert rows[gid]["verdict"] == "rejected" and not rows[gid]["acts"]
        assert any(PROTECT_TAG[0] in reason for reason in rows[gid]["reasons"])

    table = run_cli("plan", "expired", url=url)
    assert table.returncode == 0, table.stderr
    assert "Traceback" not in table.stdout + table.stderr
    acting = {line.split()[0] for line in table.stdout.splitlines() if " act " in f" {line} "}
    assert acting == expected


class _NoBus:
    def send(self, entries: Any) -> Any:
        raise AssertionError("a dry run sends nothing")


class _Runs:
    def __init__(self) -> None:
        self.runs: list[JanitorRun] = []

    def record_run(self, run: JanitorRun) -> None:
        self.runs.append(run)


class _Quiet:
    def notify_run(self, notice: RunNotice) -> None:
        pass


def test_the_janitor_plans_the_expired_groups_through_aws_endpoint_url(
    served: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", served["endpoint"])
    monkeypatch.delenv("GREENGRASS_ENDPOINT_URL", raising=False)
    janitor = Janitor(
        greengrass=Boto3Greengrass(make_greengrass_client()),  # no endpoint given: AWS_ENDPOINT_URL
        requests=_NoBus(),
        ledger=_Runs(),
        notifier=_Quiet(),
        clock=SystemClock(),
        safety=SafetyRules(),
        bus_name="gg-reset",
    )
    config = JanitorConfig(selection=Selection.parse(["expired"]), dry_run=True)
    run = janitor.run(config, run_id="simulate-endpoint")
    assert run.outcome is RunOutcome.PLANNED, run.message
    assert run.plan is not None
    assert {e.group_id for e in run.plan.to_act} == expired_unprotected(served["fleet"], datetime.now(UTC))


# --- (3) starting, stopping and bad input ---------------------------------------------------------------


def test_text_output_is_a_pasteable_export_line_and_ctrl_c_stops_cleanly() -> None:
    proc = subprocess.Popen(
        [*gg_reset_command(), "simulate", "--port", "0", "--groups", "5"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        first = read_line(proc, START_TIMEOUT_S)
        assert first.startswith("export AWS_ENDPOINT_URL=http://127.0.0.1:"), first
        url = first.split()[1].removeprefix("AWS_ENDPOINT_URL=")
        assert len(greengrass(url).list_groups()["Groups"]) == 5
    finally:
        code, err = stop(proc, signal.SIGINT)
    assert code == 0, err
    assert err.splitlines() == [err.strip()] and err.startswith("gg-reset simulate: stopped"), err


def test_a_port_in_use_is_one_line_and_a_non_zero_exit() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["simulate", "--port", str(port), "--groups", "3"])
    assert result.exit_code == 1
    assert result.output == (
        f"gg-reset: error: port {port} on 127.0.0.1 is in use: choose another --port, or --port 0 for a "
        "free one\n"
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--groups", "0"], "--groups"),
        (["--mix", "online=1,castle=2"], "unknown group kind 'castle'"),
        (["--port", "70000"], "--port"),
    ],
)
def test_bad_options_are_one_line_and_a_usage_exit(args: list[str], fragment: str) -> None:
    result = CliRunner().invoke(app, ["simulate", "--port", "0", *args])
    assert result.exit_code == 2
    assert result.output.startswith("gg-reset: error: ") and result.output.count("\n") == 1, result.output
    assert fragment in result.output and "Traceback" not in result.output


def test_an_unwritable_events_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["simulate", "--port", "0", "--events-file", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (f"gg-reset: error: --events-file {tmp_path} is a directory: give a file name\n")


def test_in_process_endpoint_stops_and_frees_its_port() -> None:
    with SimulatorEndpoint(port=0, groups=3, seed=1) as endpoint:
        port = endpoint.port
        assert len(greengrass(endpoint.url).list_groups()["Groups"]) == 3
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
