"""`gg-reset plan` and `request --select`: the CLI side of group selection (`gg_reset.cleanup.selection`),
against the Greengrass simulator (through the real Greengrass adapter) and a LocalService's bus.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.cli.app import app
from gg_reset.cli.requests import DRY_RUN_NOTE
from gg_reset.local import LocalService

runner = CliRunner()


@pytest.fixture
def svc(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalService]:
    with LocalService(seed=8) as service:
        monkeypatch.setattr(
            "gg_reset.cli.aws.AwsTarget.greengrass",
            lambda _self: Boto3Greengrass(service.simulator.client()),
        )
        yield service


@pytest.fixture
def lab(svc: LocalService) -> dict[str, str]:
    add = svc.fleet.add_group
    return {
        "lab-1": add(name="lab-1", core="online"),
        "lab-2": add(name="lab-2", core="offline"),
        "lab-protected": add(name="lab-protected", core="online", tags={"gg-reset:protect": "true"}),
        "prod-1": add(name="prod-1", core="online"),
    }


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_plan_as_json_gives_each_group_its_verdict_and_reasons(lab: dict[str, str]) -> None:
    code, output = run("plan", "name=lab-*", "--json")
    assert code == 0, output
    groups = {g["name"]: g for g in json.loads(output)["groups"]}
    assert set(groups) == {"lab-1", "lab-2", "lab-protected"}
    assert groups["lab-1"]["acts"] and groups["lab-1"]["group_id"] == lab["lab-1"]
    assert not groups["lab-protected"]["acts"]
    assert groups["lab-protected"]["reasons"] == ["group is protected by tag gg-reset:protect=true"]


def test_plan_as_csv_and_as_a_table(lab: dict[str, str]) -> None:
    code, output = run("plan", "name=lab-*", "--deny", "lab-2", "--csv")
    assert code == 0, output
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(output))}
    assert rows["lab-2"]["acts"] == "false" and "deny list" in rows["lab-2"]["reasons"]
    code, output = run("plan", "name=lab-*")
    assert code == 0, output
    assert output.splitlines()[0] == "Plan: 2 of 3 selected groups would be acted on (4 listed)"
    assert lab["lab-1"] in output and "prod-1" not in output


def test_plan_all_shows_the_groups_not_selected_with_the_criterion_that_failed(lab: dict[str, str]) -> None:
    code, output = run("plan", "name=lab-*", "--all", "--json")
    assert code == 0, output
    document = json.loads(output)
    groups = {g["name"]: g for g in document["groups"]}
    assert document["listed"] == 4 and set(groups) == set(lab)
    assert groups["prod-1"]["verdict"] == "not-selected"
    assert groups["prod-1"]["reasons"] == ["name 'prod-1' matches none of 'lab-*'"]


def test_plan_of_expired_groups_reads_the_expiry_tag(svc: LocalService) -> None:
    add = svc.fleet.add_group
    expired = add(name="ci-old", core="online", tags={"gg-reset:expires-at": "2020-01-01"})
    add(name="ci-new", core="online", tags={"gg-reset:expires-at": "2999-01-01"})
    unreadable = add(name="ci-typo", core="online", tags={"gg-reset:expires-at": "next tuesday"})
    code, output = run("plan", "expired", "--json")
    assert code == 0, output
    groups = {g["group_id"]: g for g in json.loads(output)["groups"]}
    assert list(groups) == [expired] and groups[expired]["acts"]
    code, output = run("plan", "expired", "--all", "--json")
    groups = {g["group_id"]: g for g in json.loads(output)["groups"]}
    assert groups[unreadable]["reasons"][0].startswith("unreadable expiry tag:")


def test_request_select_sends_only_for_the_groups_the_plan_acts_on(
    svc: LocalService, lab: dict[str, str]
) -> None:
    code, output = run("request", "delete", "--select", "name=lab-*", "--dry-run", "--request-id", "sel-1")
    assert code == 0, output
    assert sorted(output.splitlines()) == sorted(
        f"sent delete {lab[name]} request sel-1 {DRY_RUN_NOTE}" for name in ("lab-1", "lab-2")
    )
    svc.run_until_idle()
    assert svc.ledger.get(lab["lab-protected"]) is None and svc.ledger.get(lab["prod-1"]) is None
    view = svc.ledger.get(lab["lab-1"])
    assert view is not None and view.state.value == "PLANNED"


@pytest.mark.usefixtures("svc")
def test_a_selection_that_acts_on_nothing_sends_nothing() -> None:
    code, output = run("request", "delete", "--select", "name=nothing-*")
    assert code == 0, output
    assert output == "the selection acts on no group: nothing to send\n"


def test_an_invalid_selection_is_one_line() -> None:
    code, output = run("plan", "colour=blue")
    assert code == 1
    assert output == (
        "gg-reset: error: invalid selection: unknown term 'colour=blue': expected one of id, name, regex, "
        "tag, no-tag, older-than, idle, expired, not-deployed, migrated\n"
    )


def test_plan_without_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, output = run("plan", "name=lab-*")
    assert code == 1
    assert output.startswith("gg-reset: error: no usable AWS credentials") and output.count("\n") == 1


@pytest.mark.usefixtures("lab")
def test_an_empty_plan_says_nothing_matched() -> None:
    code, output = run("plan", "name=nothing-*")
    assert code == 0, output
    assert output == "Plan: nothing matched the selection (0 of 4 groups)\n"


def test_one_selected_group_is_singular(lab: dict[str, str]) -> None:
    code, output = run("plan", f"id={lab['lab-1']}")
    assert code == 0, output
    assert output.splitlines()[0] == "Plan: 1 of 1 selected group would be acted on (4 listed)"


@pytest.mark.parametrize(
    "term", ["expired=2025-01-01", "expired=2025-01-01T00:00:00Z", "expired=30d", "EXPIRED=true"]
)
def test_expired_with_a_date_is_refused_with_a_hint(term: str) -> None:
    # Without the check it would read as `expired` on a tag named `2025-01-01`, and select nothing.
    code, output = run("plan", term)
    assert code == 1
    value = term.partition("=")[2]
    assert output == (
        f"gg-reset: error: invalid selection: expired={value}: expired takes no date or age: it selects the "
        "groups whose gg-reset:expires-at date has passed, and expired=KEY reads the date from the tag KEY; "
        "for a tag's value use tag=KEY=VALUE, for an age older-than=30d\n"
    )


def test_expired_on_another_tag_is_still_a_selection(svc: LocalService) -> None:
    old = svc.fleet.add_group(name="ci-old", core="online", tags={"team:ends": "2020-01-01"})
    code, output = run("plan", "expired=team:ends", "--json")
    assert code == 0, output
    assert [g["group_id"] for g in json.loads(output)["groups"]] == [old]
