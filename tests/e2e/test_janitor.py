"""The janitor end to end, through `LocalService.run_janitor`: the real handler, configured by the stack's
environment variables, reading the Greengrass simulator through the real adapter, putting its requests on
the emulated service bus (so they go through the request rule and the work queue like anyone's), and
recording its runs in the local ledger table."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from gg_reset.adapters.janitor_ledger import DynamoDBJanitorLedger
from gg_reset.cleanup.janitor import RunOutcome
from gg_reset.cleanup.selection import EXPIRY_TAG, Verdict
from gg_reset.domain.model import WorkflowState
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.domain.safety import SafetyRules
from gg_reset.local import LocalService
from gg_reset.local.runtime import ACCOUNT, TABLE_NAME

EXPIRED = {EXPIRY_TAG: "2025-12-01"}  # the simulated clock starts on 2026-01-01
NOT_YET = {EXPIRY_TAG: "2026-06-30T00:00:00Z"}
PROTECTED = {"gg-reset:protect": "true"}
WRITES = ("ResetDeployments", "DeleteGroup", "CreateDeployment")


def _runs(svc: LocalService) -> list[dict[str, object]]:
    return DynamoDBJanitorLedger(svc.ledger_adapter.client, TABLE_NAME, retention=timedelta(days=1)).runs()


def _fleet(svc: LocalService) -> dict[str, str]:
    add = svc.fleet.add_group
    return {
        "expired-online": add(name="expired-online", core="online", tags=EXPIRED),
        "expired-offline": add(name="expired-offline", core="offline", tags=EXPIRED),
        "expired-never-deployed": add(name="expired-never-deployed", deployed=False, tags=EXPIRED),
        "not-yet": add(name="not-yet", core="online", tags=NOT_YET),
        "untagged": add(name="untagged", core="online"),
        "garbage": add(name="garbage", core="online", tags={EXPIRY_TAG: "when the project ends"}),
        "protected": add(name="protected", core="online", tags={**EXPIRED, **PROTECTED}),
        "denied": add(name="lab-denied", core="online", tags=EXPIRED),
    }


@pytest.fixture
def svc() -> Iterator[LocalService]:
    with LocalService(seed=11, policy=WorkflowPolicy(safety=SafetyRules(deny=("lab-denied",)))) as service:
        yield service


def test_a_dry_run_writes_nothing_but_its_run(svc: LocalService) -> None:
    groups = _fleet(svc)
    run = svc.run_janitor(max_percent=100)  # dry run is the default
    assert run.outcome is RunOutcome.PLANNED
    assert {e.group_id for e in run.plan.to_act} == {  # type: ignore[union-attr]
        groups["expired-online"],
        groups["expired-offline"],
        groups["expired-never-deployed"],
    }
    svc.run_until_idle()
    assert not any(svc.fleet.calls[write] for write in WRITES)
    assert set(svc.fleet.calls) == {"ListGroups", "GetGroup"}
    assert svc.ledger.all_workflows() == {}  # no request reached the service
    [recorded] = _runs(svc)
    assert recorded["outcome"] == "planned" and recorded["dry_run"] is True
    assert recorded["counts"]["act"] == 3  # type: ignore[index]
    [notice] = svc.stats.run_notices
    assert notice.subject == "gg-reset janitor: planned, 3 to delete (dry run)"
    assert [p["group_id"] for p in notice.details["problems"]] == [groups["garbage"]]


def test_a_real_run_deletes_exactly_the_expired_groups_and_leaves_the_rest_alone(svc: LocalService) -> None:
    groups = _fleet(svc)
    run = svc.run_janitor(dry_run=False, max_percent=100)
    assert run.outcome is RunOutcome.SENT
    svc.run_until_idle()
    expired = {groups[k] for k in ("expired-online", "expired-offline", "expired-never-deployed")}
    for name, group_id in groups.items():
        view = svc.ledger.get(group_id)
        if group_id in expired:
            assert view is not None and view.state is WorkflowState.DELETED, name
            assert view.request_ids == (f"janitor:{run.run_id}:{group_id}",)
            assert not svc.fleet.exists(group_id)
        else:
            assert view is None, name  # no request was sent for it
            assert svc.fleet.exists(group_id), name
    entries = {e.group_id: e for e in run.plan.entries}  # type: ignore[union-attr]
    assert entries[groups["protected"]].verdict is Verdict.REJECTED
    assert entries[groups["denied"]].verdict is Verdict.REJECTED
    # Dry run and real run agree: the reason the plan gives is the one the workflow gives.
    for name in ("protected", "denied"):
        svc.request_deletion(groups[name])
        svc.run_until_idle()
        view = svc.ledger.get(groups[name])
        assert view is not None and view.state is WorkflowState.REJECTED
        assert entries[groups[name]].reasons == (view.reason,), name
    assert svc.fleet.exists(groups["protected"]) and svc.fleet.exists(groups["denied"])
    [recorded] = _runs(svc)
    assert recorded["outcome"] == "sent" and recorded["counts"]["sent"] == 3  # type: ignore[index]
    assert {e.get("request_id") for e in recorded["entries"] if e["acts"]} == {  # type: ignore[union-attr]
        f"janitor:{run.run_id}:{g}" for g in expired
    }


def test_a_retried_run_sends_the_same_requests_and_changes_nothing(svc: LocalService) -> None:
    groups = _fleet(svc)
    first = svc.run_janitor(dry_run=False, max_percent=100, run_id="scheduled-event-1")
    second = svc.run_janitor(dry_run=False, max_percent=100, run_id="scheduled-event-1")
    assert first.request_ids == second.request_ids and len(first.request_ids) == 3
    svc.run_until_idle()
    assert svc.fleet.calls["DeleteGroup"] == 3
    for group_id in first.request_ids:
        assert len(svc.ledger.workflows(group_id)) == 1
    assert not svc.fleet.exists(groups["expired-online"])
    assert len(_runs(svc)) == 1  # the retry rewrote its run's item


def test_the_cap_stops_a_run_that_would_touch_too_much(svc: LocalService) -> None:
    expired = [svc.fleet.add_group(name=f"old-{i}", tags=EXPIRED) for i in range(3)]
    for index in range(17):
        svc.fleet.add_group(name=f"keep-{index}", tags=NOT_YET)
    run = svc.run_janitor(dry_run=False)  # 10 % of 20 groups: at most 2
    assert run.outcome is RunOutcome.CAPPED and run.cap == 2
    svc.run_until_idle()
    assert not any(svc.fleet.calls[write] for write in WRITES)
    assert all(svc.fleet.exists(g) for g in expired)
    assert svc.ledger.all_workflows() == {}
    [notice] = svc.stats.run_notices
    assert notice.subject == "gg-reset janitor: capped, 3 to delete"
    assert "3 groups to delete, over the cap of 2" in str(notice.details["message"])
    [recorded] = _runs(svc)
    assert recorded["outcome"] == "capped" and len(recorded["entries"]) == 3  # type: ignore[arg-type]
    # max_groups caps it too, whatever the share
    assert svc.run_janitor(dry_run=False, max_groups=1, max_percent=100).outcome is RunOutcome.CAPPED


def test_reset_action_resets_and_keeps_the_groups() -> None:
    with LocalService(seed=12) as svc:
        group = svc.fleet.add_group(name="lab", tags=EXPIRED)
        run = svc.run_janitor(selection="expired name=lab", dry_run=False, action="reset", max_percent=100)
        assert run.outcome is RunOutcome.SENT
        svc.run_until_idle()
        view = svc.ledger.get(group)
        assert view is not None and view.state is WorkflowState.RESET
        assert svc.fleet.exists(group)


def test_the_account_guard_rejects_with_its_reason() -> None:
    guard = SafetyRules(accounts=("999999999999",), account=ACCOUNT)
    with LocalService(seed=13, policy=WorkflowPolicy(safety=guard)) as svc:
        groups = [svc.fleet.add_group(name=f"g{i}", tags=EXPIRED) for i in range(2)]
        run = svc.run_janitor(dry_run=False, max_percent=100)
        assert run.outcome is RunOutcome.NOTHING_TO_DO
        reason = f"account guard: this deployment acts only in account(s) 999999999999, not in {ACCOUNT}"
        assert [(e.verdict, e.reasons) for e in run.plan.entries] == [  # type: ignore[union-attr]
            (Verdict.REJECTED, (reason,))
        ] * 2
        svc.run_until_idle()
        assert svc.ledger.all_workflows() == {}
        svc.request_deletion(groups[0])  # what the workflow says for the same group
        svc.run_until_idle()
        view = svc.ledger.get(groups[0])
        assert view is not None and view.state is WorkflowState.REJECTED and view.reason == reason
        assert all(svc.fleet.exists(g) for g in groups)


def test_selection_by_age_and_deployment_paced_by_the_request_budget() -> None:
    with LocalService(seed=14, greengrass_rps=5) as svc:
        old = [svc.fleet.add_group(name=f"old-{i}", deployed=False) for i in range(19)]
        old.append(svc.fleet.add_group(name="old-deployed", deployed=True))
        svc.clock.advance(40 * 86_400)
        young = svc.fleet.add_group(name="young", deployed=False)
        started = svc.clock.now()
        run = svc.run_janitor(selection={"older-than": "30d", "not-deployed": "30d"}, max_percent=100)
        verdicts = {e.group_id: e.verdict for e in run.plan.entries}  # type: ignore[union-attr]
        assert verdicts == {**dict.fromkeys(old, Verdict.ACT), young: Verdict.NOT_SELECTED}
        assert svc.fleet.calls["GetGroup"] == 20 and svc.fleet.calls["ListDeployments"] == 20
        # 41 reads (a ListGroups page, 20 GetGroup, 20 ListDeployments) at 5 a second, after a burst of 5.
        assert (svc.clock.now() - started).total_seconds() >= 7
