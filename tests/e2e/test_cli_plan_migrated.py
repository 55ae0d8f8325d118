"""`gg-reset plan migrated`: the V1 groups whose core is now a Greengrass V2 core device, each with the
teardown a deletion would make, against the simulators (V1 and V2) and moto's AWS IoT through the real
adapters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from typer.testing import CliRunner

from gg_reset.adapters.greengrass import Boto3Greengrass
from gg_reset.cli.app import app
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.local import LocalService

runner = CliRunner()
FUNCTION = {
    "Id": "f-1",
    "FunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:sensor:1",
    "FunctionConfiguration": {"MemorySize": 16384, "Timeout": 3},
}


@pytest.fixture
def svc(monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalService]:
    with LocalService(seed=4, policy=WorkflowPolicy(things_teardown=True)) as service:
        monkeypatch.setattr(
            "gg_reset.cli.aws.AwsTarget.greengrass", lambda _self: Boto3Greengrass(service.simulator.client())
        )
        monkeypatch.setattr("gg_reset.cli.aws.AwsTarget.migration", lambda _self: service.migration_reader())
        yield service


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_plan_migrated_json_lists_the_migrated_groups_with_their_teardown(svc: LocalService) -> None:
    sim = svc.simulator
    shared = sim.add_definition("Function", items=[FUNCTION])
    moved = sim.add_group(name="moved", core="offline", definitions=[shared])
    stayed = sim.add_group(name="stayed", definitions=[shared])
    moved_protected = sim.add_group(name="moved-protected", tags={"gg-reset:protect": "true"})
    seen = svc.clock.now() - timedelta(hours=2)
    for gid in (moved, moved_protected):
        svc.greengrass_v2.register_core_device(sim.core_thing(gid).thing_name, last_status_update=seen)
    code, output = run("plan", "migrated", "--json")
    assert code == 0, output
    groups = {g["name"]: g for g in json.loads(output)["groups"]}
    assert set(groups) == {"moved", "moved-protected"}
    entry = groups["moved"]
    assert entry["acts"] and entry["group_id"] == moved
    core = sim.core_thing(moved)
    assert entry["reasons"] == [
        f"migrated to V2: core device {core.thing_name}, status HEALTHY, last seen {seen:%Y-%m-%dT%H:%M:%S}Z"
    ]
    would = {(r["type"], r["id"]): (r["would"], r["used_by"]) for r in entry["teardown"]}
    assert would == {
        ("CoreDefinition", core.core_definition_id): ("delete", []),
        ("FunctionDefinition", shared.definition_id): ("keep", [f"group {stayed}"]),
        # The migrated core connects with them still: kept.
        ("Certificate", core.certificate_id): (
            "keep",
            [
                f"Greengrass V2 core device {core.thing_name} "
                f"(HEALTHY, last status update {seen:%Y-%m-%dT%H:%M:%S}Z)"
            ],
        ),
        ("Thing", core.thing_name): (
            "keep",
            [
                f"Greengrass V2 core device {core.thing_name} "
                f"(HEALTHY, last status update {seen:%Y-%m-%dT%H:%M:%S}Z)"
            ],
        ),
    }
    assert groups["moved-protected"]["verdict"] == "rejected"
    assert "teardown" not in groups["moved-protected"]
    # A plan writes nothing.
    assert sim.group_exists(moved) and sim.definition_exists("Core", core.core_definition_id)


def test_plan_with_a_teardown_preview_in_a_table(svc: LocalService) -> None:
    gid = svc.simulator.add_group(name="lab-1")
    code, output = run("plan", "name=lab-*", "--teardown", "definitions")
    assert code == 0, output
    assert "Teardown preview" in output and "CoreDefinition" in output and "delete" in output
    assert "Certificate" not in output  # definitions only
    assert svc.simulator.group_exists(gid)


def test_migrated_takes_no_value() -> None:
    code, output = run("plan", "migrated=yes")
    assert code == 1
    assert (
        output
        == "gg-reset: error: invalid selection: migrated: takes no value ('migrated=yes'); write migrated\n"
    )


def test_teardown_on_a_reset_request_is_refused_in_one_line() -> None:
    code, output = run("request", "reset", "g-1", "--teardown", "definitions")
    assert code == 2
    assert output == (
        "gg-reset: error: --teardown applies to deletions only (the action is reset): a teardown comes with "
        "a deletion: gg-reset request delete GROUP_ID --teardown definitions\n"
    )
