"""`gg-reset request` against a LocalService: its bus (moto's EventBridge, the stack's rule) and its ledger.

`--wait` polls the ledger; here each pause between two polls runs the local service instead of sleeping
(`gg_reset.cli.requests.pause`), so the outcome is there by the next poll.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gg_reset.cli import requests as cli_requests
from gg_reset.cli.app import app
from gg_reset.cli.errors import EXIT_OUTCOME, EXIT_TIMEOUT
from gg_reset.domain.model import RequestKind, WorkflowState
from gg_reset.local import LocalService
from gg_reset.local.runtime import TABLE_NAME

runner = CliRunner()
PROTECTED = {"gg-reset:protect": "true"}


@pytest.fixture
def svc() -> Iterator[LocalService]:
    with LocalService(seed=4) as service:
        yield service


@pytest.fixture
def run_while_waiting(svc: LocalService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_requests, "pause", lambda _seconds: svc.run_until_idle())


def request(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, ["request", *args], input=stdin)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_sends_one_request_per_group_with_the_options(svc: LocalService) -> None:
    a, b = svc.fleet.add_group(core="online"), svc.fleet.add_group(core="online")
    code, output = request(
        "delete", a, b, "--reason", "site closed", "--requested-by", "alice", "--request-id", "ticket-7"
    )
    assert code == 0, output
    assert output.splitlines() == [f"sent delete {a} request ticket-7", f"sent delete {b} request ticket-7"]
    svc.run_until_idle()
    for gid in (a, b):
        view = svc.ledger.find_request(gid, "ticket-7")
        assert view is not None
        assert view.workflow.kind is RequestKind.DELETION and view.state is WorkflowState.DELETED
        assert (view.workflow.request.requested_by, view.workflow.request.reason) == ("alice", "site closed")


def test_dry_run_and_force_reach_the_ledger(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    code, output = request("reset", gid, "--dry-run", "--force", "immediately", "--request-id", "r1")
    assert code == 0, output
    svc.run_until_idle()
    view = svc.ledger.find_request(gid, "r1")
    assert view is not None and view.state is WorkflowState.PLANNED
    assert view.workflow.request.dry_run and view.workflow.request.force.value == "immediately"


def test_group_ids_from_a_file_and_stdin_with_comments(svc: LocalService, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("# groups of site 4\nfile-group-1\n\nfile-group-2  # the spare\n")
    code, output = request(
        "reset", "arg-group", "-", "--file", str(ids), "--json", stdin="stdin-group\n# end\nfile-group-1\n"
    )
    assert code == 0, output
    sent = json.loads(output)
    assert [r["group_id"] for r in sent["requests"]] == [
        "arg-group",
        "file-group-1",
        "file-group-2",
        "stdin-group",
    ]
    assert all(r["event_id"] and r["error"] is None for r in sent["requests"])
    assert sent["request_id"].startswith("cli-")
    assert {r["request_id"] for r in sent["requests"]} == {sent["request_id"]}
    svc.run_until_idle()
    assert svc.ledger.get("stdin-group") is not None


def test_an_invalid_group_id_sends_nothing(svc: LocalService, tmp_path: Path) -> None:
    ids = tmp_path / "ids.txt"
    ids.write_text("good-group\nbad group\n")
    code, output = request("delete", "good-1", "--file", str(ids))
    assert code == 1
    assert output == (
        f"gg-reset: error: invalid group id 'bad group' ({ids} line 2): a Greengrass group id is 1-128 "
        "letters, digits, '_', '.', ':' or '-'; nothing was sent\n"
    )
    svc.run_until_idle()
    assert svc.ledger.get("good-1") is None


def test_an_unreadable_id_file_is_one_line(svc: LocalService, tmp_path: Path) -> None:
    code, output = request("delete", "--file", str(tmp_path / "missing.txt"))
    assert code == 1
    assert output.count("\n") == 1 and "cannot read group ids from" in output


def test_no_group_at_all_is_a_usage_error(svc: LocalService) -> None:
    code, output = request("reset")
    assert code == 2
    assert output.count("\n") == 1 and "no group ids" in output


def test_wait_prints_each_outcome_and_exits_zero(svc: LocalService, run_while_waiting: None) -> None:
    online, offline = svc.fleet.add_group(core="online"), svc.fleet.add_group(core="offline")
    code, output = request("delete", online, offline, "--wait", "--interval", "0.01", "--table", TABLE_NAME)
    assert code == 0, output
    lines = output.splitlines()
    assert f"{online}  DELETED  group deleted" in lines
    assert any(line.startswith(f"{offline}  DELETED (forced)") for line in lines)


def test_wait_exits_non_zero_when_a_request_is_rejected_or_fails(
    svc: LocalService, run_while_waiting: None
) -> None:
    protected = svc.fleet.add_group(core="online", tags=PROTECTED)
    silent = svc.fleet.add_group(core="offline")
    code, output = request(
        "reset", protected, silent, "--force", "never", "--wait", "--json", "--table", TABLE_NAME
    )
    assert code == EXIT_OUTCOME, output
    outcomes = {r["group_id"]: r["outcome"] for r in json.loads(output)["requests"]}
    assert outcomes[protected]["state"] == "REJECTED" and "protected" in outcomes[protected]["reason"]
    assert outcomes[silent]["state"] == "FAILED" and outcomes[silent]["action"] == "fail"


def test_wait_times_out(svc: LocalService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_requests, "pause", lambda _seconds: svc.run_for(5))  # the core stays silent
    gid = svc.fleet.add_group(core="offline")
    code, output = request(
        "reset", gid, "--wait", "--timeout", "0.3", "--interval", "0.05", "--table", TABLE_NAME
    )
    assert code == EXIT_TIMEOUT, output
    assert output.splitlines()[-1] == f"{gid}: still RESETTING after 0.3s"


def test_wait_checks_the_table_before_sending(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    code, output = request("delete", gid, "--wait", "--table", "no-such-table")
    assert code == 1
    assert output.count("\n") == 1 and "ledger table 'no-such-table' not found in us-east-1" in output
    svc.run_until_idle()
    assert svc.ledger.get(gid) is None  # nothing was sent


def test_an_unknown_bus_is_one_line(svc: LocalService) -> None:
    code, output = request("delete", "some-group", "--bus", "no-such-bus")
    assert code == 1
    assert output == (
        "gg-reset: error: event bus 'no-such-bus' not found in us-east-1: pass --bus NAME or --stack NAME "
        "(its EventBusName output), and check --region/--profile\n"
    )


def test_the_same_request_id_twice_changes_nothing(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    for _ in range(2):
        code, output = request("reset", gid, "--request-id", "once")
        assert code == 0, output
        svc.run_until_idle()
    assert len(svc.ledger.workflows(gid)) == 1


def test_entries_the_bus_refuses_are_reported_and_fail_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    class RefusingEvents:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def put_events(self, Entries: list[dict[str, str]]) -> dict[str, object]:  # noqa: N803 - boto3's name
            self.calls.append(len(Entries))
            return {
                "FailedEntryCount": 1,
                "Entries": [
                    {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"}
                    if i == 0
                    else {"EventId": f"e{i}"}
                    for i, _ in enumerate(Entries)
                ],
            }

    events = RefusingEvents()
    monkeypatch.setattr("gg_reset.cli.aws.AwsTarget.events", lambda _self: events)
    ids = [f"group-{n:02d}" for n in range(12)]
    code, output = request("reset", *ids, "--request-id", "bulk")
    assert events.calls == [10, 2]  # PutEvents takes 10 entries at most
    assert code == 1
    assert "group-00: not sent: ThrottlingException: slow down" in output
    assert "group-10: not sent: ThrottlingException: slow down" in output
    assert "sent reset group-01 request bulk" in output
    assert output.splitlines()[-1] == "gg-reset: error: 2 of 12 requests were not accepted by the bus"


def test_show_prints_an_invalid_deletion_request_as_a_deletion(svc: LocalService) -> None:
    svc.put_event(
        {
            "Source": "test",
            "DetailType": "Greengrass Group Deletion Requested",
            "Detail": json.dumps({"group-id": "invalid-deletion-1", "force": "sometimes"}),
            "EventBusName": svc.bus_name,
        }
    )
    svc.run_until_idle()
    result = runner.invoke(app, ["show", "invalid-deletion-1", "--json", "--table", TABLE_NAME])
    assert result.exit_code == 0, result.output
    [workflow] = json.loads(result.output)["workflows"]
    assert workflow["state"] == "REJECTED"  # the request was invalid: rejected, as it should be
    assert workflow["kind"] == "deletion"  # and shown as what was asked


def test_a_dry_run_request_says_it_is_one(svc: LocalService) -> None:
    gid = svc.fleet.add_group(core="online")
    code, output = request("delete", gid, "--dry-run", "--request-id", "plan-1")
    assert code == 0, output
    assert output == f"sent delete {gid} request plan-1 (dry run: planned only, Greengrass is not changed)\n"
    code, output = request("delete", gid, "--dry-run", "--request-id", "plan-1", "--json")
    assert code == 0, output
    assert json.loads(output)["dry_run"] is True
    code, output = request("delete", gid, "--request-id", "real-1")
    assert code == 0, output
    assert output == f"sent delete {gid} request real-1\n"  # a real request says nothing of the kind


def test_waiting_for_one_request_is_singular(svc: LocalService, run_while_waiting: None) -> None:
    gid = svc.fleet.add_group(core="online")
    code, output = request("reset", gid, "--wait", "--interval", "0.01", "--table", TABLE_NAME)
    assert code == 0, output
    assert "waiting for 1 request (timeout 1800s)..." in output.splitlines()


def test_with_json_entries_the_bus_refuses_are_one_json_document(monkeypatch: pytest.MonkeyPatch) -> None:
    class RefusingEvents:
        def put_events(self, Entries: list[dict[str, str]]) -> dict[str, object]:  # noqa: N803 - boto3's name
            return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "Throttling", "ErrorMessage": "slow"}]}

    monkeypatch.setattr("gg_reset.cli.aws.AwsTarget.events", lambda _self: RefusingEvents())
    result = runner.invoke(app, ["request", "reset", "group-1", "--json"])
    assert result.exit_code == 1
    document = json.loads(result.stdout)  # one JSON document, no second object after it
    assert document["error"] == "1 of 1 request was not accepted by the bus"
    assert document["requests"][0]["error"] == "Throttling: slow"
    assert result.stderr == "group-1: not sent: Throttling: slow\n"
