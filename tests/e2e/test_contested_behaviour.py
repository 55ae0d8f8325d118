"""The main paths end to end under every setting of the simulator's contested decisions.

Where AWS documents nothing (a forced reset over an in-flight deployment, DeleteGroup of a deployed group,
whether ResetDeployments replays a repeated client token, the status of the "not deployed / already reset"
answer), the simulator can give either answer (`ContestedBehaviour`). Whatever AWS really does, every
request must end in its expected terminal state, or FAILED with a reason; never loop, never reset twice
from one workflow, never touch a protected group.
"""

from __future__ import annotations

import pytest

from gg_reset.contracts import DeploymentType
from gg_reset.domain.model import WorkflowState
from gg_reset.local import LocalService
from gg_reset.local.faults import FaultProfile
from gg_reset.local.greengrass_sim import ContestedBehaviour

S = WorkflowState
PATHS: dict[str, tuple[str, dict[str, object], frozenset[WorkflowState]]] = {
    # name: (core, add_group options, acceptable outcomes of a deletion request)
    "online": ("online", {}, frozenset({S.DELETED})),
    "offline": ("offline", {}, frozenset({S.DELETED, S.FAILED})),
    "failing": ("failing", {}, frozenset({S.DELETED, S.FAILED})),
    "never-deployed": ("online", {"deployed": False}, frozenset({S.DELETED})),
    "protected": ("online", {"tags": {"gg-reset:protect": "true"}}, frozenset({S.REJECTED})),
}


@pytest.mark.parametrize("contested", ContestedBehaviour.combinations(), ids=lambda c: c.label)
def test_every_path_ends_right_whatever_aws_does_where_it_documents_nothing(
    contested: ContestedBehaviour,
) -> None:
    faults = FaultProfile(lost_response_rate=0.2)
    with LocalService(seed=11, faults=faults, contested=contested) as svc:
        sent: dict[str, tuple[str, str]] = {}
        for name, (core, options, _) in PATHS.items():
            for _ in range(3):
                gid = svc.fleet.add_group(core=core, **options)  # type: ignore[arg-type]
                sent[gid] = (name, svc.request_deletion(gid))
        svc.run_until_idle(max_simulated_s=6 * 3600)  # raises IdleTimeout if anything loops
        for gid, (name, request_id) in sent.items():
            view = svc.ledger.find_request(gid, request_id)
            assert view is not None, f"{name}: request lost"
            assert view.state in PATHS[name][2], f"{name} under {contested.label}: {view.state} {view.reason}"
            assert view.reason
            if view.state is S.FAILED:
                # Only where the contested answer makes success impossible: Force refused over the
                # silent core's own reset.
                assert not contested.force_over_in_progress, view.reason
            resets = [d.deployment_type for d in svc.simulator.deployments(gid)]
            assert resets.count(DeploymentType.RESET) <= 1, f"{name}: two normal resets"
            assert resets.count(DeploymentType.FORCE_RESET) <= 1, f"{name}: two forced resets"
        for gid, (name, _) in sent.items():
            if name == "protected":
                assert svc.fleet.exists(gid) and svc.simulator.reset_count(gid) == 0
        assert svc.simulator.orphaned_cores == []
        assert svc.dead_letters == []
