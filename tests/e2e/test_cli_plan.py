"""`gg-reset plan` and `request --select`: the CLI side of group selection, against the Greengrass simulator
(through the real Greengrass adapter) and a LocalService's bus.

`StandInSelection` stands for `gg_reset.selection` with the API the CLI is written against
(`gg_reset.cli_plan`): `Selection.parse(terms)` and `select(greengrass, selection, now, safety) -> Plan`
whose `entries` carry group_id, name, verdict, acts and reasons.
"""

from __future__ import annotations

import csv
import io
import json
import sys
import types
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

import pytest
from typer.testing import CliRunner

from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.cli import app
from gg_reset.domain.safety import SafetyRules, is_protected
from gg_reset.local import LocalService
from gg_reset.ports import GreengrassPort

runner = CliRunner()


@dataclass(frozen=True)
class Selection:
    patterns: tuple[str, ...]

    @classmethod
    def parse(cls, terms: Sequence[str]) -> Selection:
        for term in terms:
            if not term.startswith("name="):
                raise ValueError(f"unknown term {term!r}: expected name=PATTERN")
        return cls(tuple(term.removeprefix("name=") for term in terms))


@dataclass(frozen=True)
class Entry:
    group_id: str
    name: str
    verdict: str
    acts: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Plan:
    entries: tuple[Entry, ...]


def select(greengrass: GreengrassPort, selection: Selection, now: datetime, safety: SafetyRules) -> Plan:
    entries = []
    for group in greengrass.list_groups():
        if not any(fnmatchcase(group.name, p) for p in selection.patterns):
            continue
        facts = greengrass.inspect_group(group.group_id)
        refusal = safety.refusal(group.group_id, facts.name, facts.tags)
        if refusal is None and is_protected(facts.tags):  # pragma: no cover - refusal covers it
            refusal = "protected"
        entries.append(
            Entry(
                group.group_id,
                group.name,
                "skip" if refusal else "act",
                refusal is None,
                (refusal,) if refusal else (f"name matches {selection.patterns[0]!r}",),
            )
        )
    return Plan(tuple(entries))


@pytest.fixture
def selection_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("gg_reset.selection")
    module.Selection = Selection  # type: ignore[attr-defined]
    module.select = select  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "gg_reset.selection", module)


@pytest.fixture
def svc(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalService]:
    with LocalService(seed=8) as service:
        monkeypatch.setattr(
            "gg_reset.cli_aws.AwsTarget.greengrass",
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


@pytest.mark.usefixtures("selection_module")
def test_plan_as_json_gives_each_group_its_verdict_and_reasons(lab: dict[str, str]) -> None:
    code, output = run("plan", "name=lab-*", "--json")
    assert code == 0, output
    groups = {g["name"]: g for g in json.loads(output)["groups"]}
    assert set(groups) == {"lab-1", "lab-2", "lab-protected"}
    assert groups["lab-1"]["acts"] and groups["lab-1"]["group_id"] == lab["lab-1"]
    assert not groups["lab-protected"]["acts"]
    assert groups["lab-protected"]["reasons"] == ["group is protected by tag gg-reset:protect=true"]


@pytest.mark.usefixtures("selection_module")
def test_plan_as_csv_and_as_a_table(lab: dict[str, str]) -> None:
    code, output = run("plan", "name=lab-*", "--deny", "lab-2", "--csv")
    assert code == 0, output
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(output))}
    assert rows["lab-2"]["acts"] == "false" and "deny list" in rows["lab-2"]["reasons"]
    code, output = run("plan", "name=lab-*")
    assert code == 0, output
    assert output.splitlines()[0] == "Plan: 2 of 3 group(s) would be acted on"
    assert lab["lab-1"] in output and "prod-1" not in output


@pytest.mark.usefixtures("selection_module")
def test_request_select_sends_only_for_the_groups_the_plan_acts_on(
    svc: LocalService, lab: dict[str, str]
) -> None:
    code, output = run("request", "delete", "--select", "name=lab-*", "--dry-run", "--request-id", "sel-1")
    assert code == 0, output
    assert sorted(output.splitlines()) == sorted(
        f"sent delete {lab[name]} request sel-1" for name in ("lab-1", "lab-2")
    )
    svc.run_until_idle()
    assert svc.ledger.get(lab["lab-protected"]) is None and svc.ledger.get(lab["prod-1"]) is None
    view = svc.ledger.get(lab["lab-1"])
    assert view is not None and view.state.value == "PLANNED"


@pytest.mark.usefixtures("selection_module", "svc")
def test_a_selection_that_acts_on_nothing_sends_nothing() -> None:
    code, output = run("request", "delete", "--select", "name=nothing-*")
    assert code == 0, output
    assert output == "the selection acts on no group: nothing to send\n"


@pytest.mark.usefixtures("selection_module")
def test_an_invalid_selection_is_one_line() -> None:
    code, output = run("plan", "colour=blue")
    assert code == 1
    assert output == "gg-reset: error: invalid selection: unknown term 'colour=blue': expected name=PATTERN\n"


def test_without_the_selection_module_plan_says_so_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gg_reset.selection", None)
    code, output = run("plan", "name=lab-*")
    assert code == 1
    assert output.startswith("gg-reset: error: group selection is not available") and output.count("\n") == 1


@pytest.mark.usefixtures("selection_module")
def test_plan_without_credentials_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    code, output = run("plan", "name=lab-*")
    assert code == 1
    assert output.startswith("gg-reset: error: no usable AWS credentials") and output.count("\n") == 1
