"""The pictures in docs/how-it-works.md tell the truth.

- The workflow's state diagram names exactly the states of `WorkflowState`, and its arrows are exactly the
  transitions the transition matrix (tests/unit/domain/test_workflow_transitions.py) exercises, plus the
  one the matrix cannot hold (a roll back falling back to a reset needs another policy), replayed here
  through the real `transition`. Self-loops (a retry, a
  merged request, a deferred call) are left out of the picture on purpose.
- Every AWS resource the architecture diagram names exists in the stack the CDK app defines.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType

import pytest

from gg_reset.domain.enums import RemediationPolicy
from gg_reset.domain.model import TERMINAL_STATES, GroupRecord, WorkflowState
from gg_reset.domain.policy import WorkflowPolicy

REPO_ROOT = Path(__file__).resolve().parents[2]
HOW_IT_WORKS = REPO_ROOT / "docs" / "how-it-works.md"
MATRIX_MODULE = REPO_ROOT / "tests" / "unit" / "domain" / "test_workflow_transitions.py"
START = "[*]"


def mermaid_blocks(kind: str) -> list[str]:
    blocks = re.findall(r"```mermaid\n(.*?)```", HOW_IT_WORKS.read_text(encoding="utf-8"), flags=re.DOTALL)
    return [block for block in blocks if block.lstrip().startswith(kind)]


# --- the workflow -----------------------------------------------------------------------------------------

Pair = tuple[str, str]


def state_diagram() -> tuple[set[Pair], dict[str, set[str]]]:
    """(arrows, composite states and the states inside each); an arrow from a composite state leaves from
    each state inside it."""
    [block] = mermaid_blocks("stateDiagram-v2")
    composites: dict[str, set[str]] = {}
    arrows: set[Pair] = set()
    inside: str | None = None
    for line in block.splitlines()[1:]:
        line = line.strip()
        if opened := re.fullmatch(r'state\s+"[^"]*"\s+as\s+(\w+)\s*\{', line):
            inside = opened.group(1)
            composites[inside] = set()
        elif line == "}":
            inside = None
        elif arrow := re.fullmatch(r"(\[\*\]|\w+)\s*-->\s*(\[\*\]|\w+)\s*(?::.*)?", line):
            arrows.add((arrow.group(1), arrow.group(2)))
            if inside is not None:
                composites[inside] |= {arrow.group(1), arrow.group(2)}
        else:
            assert not line or line.startswith(("direction", "%%")), f"not understood: {line!r}"
    assert arrows, "no arrows in the state diagram"
    return arrows, composites


def diagram_edges() -> set[Pair]:
    """The arrows, each one from a composite state replaced by one from every state inside it."""
    arrows, composites = state_diagram()
    edges: set[Pair] = set()
    for a, b in arrows:
        assert b not in composites, f"an arrow into the composite state {b}: say which state it enters"
        edges |= {(member, b) for member in composites[a]} if a in composites else {(a, b)}
    return edges


def load_matrix() -> ModuleType:
    """The transition matrix's module, by path (pytest runs with --import-mode=importlib, so tests are not
    importable by name); `support` is importable through the `tests` pythonpath."""
    name = "_gg_reset_docs_transition_matrix"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, MATRIX_MODULE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def state_of(record: GroupRecord) -> str:
    """Where a workflow stands: its active workflow's state, or the start when none is active."""
    return record.active.state.value if record.active is not None else START


def matrix_pairs(matrix: ModuleType) -> set[Pair]:
    """(from, to) for every cell of `TABLE`: from the state's active workflow (a state with none, "no
    workflow" or "after X", is the start), to the state a workflow finished in, else the active one."""
    pairs: set[Pair] = set()
    for (state, _event), expect in matrix.TABLE.items():
        to = expect.finished or expect.active
        if to is not None:
            pairs.add((state_of(matrix.STATES[state]()), to.value))
    return pairs


def replayed_pairs(record: GroupRecord, events: Iterable[object], policy: WorkflowPolicy) -> set[Pair]:
    """The same pairs, for each decision of the real `transition` along a path of events."""
    from gg_reset.domain.workflow import transition

    matrix = load_matrix()
    pairs: set[Pair] = set()
    for event in events:
        decision = transition(record, event, matrix.T0, policy)  # type: ignore[arg-type]
        after = decision.record
        to = decision.finished[0].state if decision.finished else (after.active and after.active.state)
        if to:
            pairs.add((state_of(record), to.value))
        record = after
    return pairs


def paths_the_matrix_has_no_state_for() -> set[Pair]:
    """Transitions the matrix cannot reach: it runs under one `WorkflowPolicy` (the default fallback, notify),
    so a roll back that falls back to a reset is driven here through the real workflow."""
    m = load_matrix()
    rollback_falls_back_to_reset = (m.fail_deployment(m.FAILED_DEPLOYMENT), *m._finding[1:], m.NO_TARGET)
    reset_fallback = WorkflowPolicy(rollback_fallback=RemediationPolicy.RESET)
    return replayed_pairs(m.EMPTY, rollback_falls_back_to_reset, reset_fallback)


def real_transitions() -> set[Pair]:
    pairs = matrix_pairs(load_matrix()) | paths_the_matrix_has_no_state_for()
    return {(a, b) for a, b in pairs if a != b}  # self-loops are left out of the picture


def test_the_state_diagram_names_every_workflow_state_and_no_other() -> None:
    named = {state for edge in diagram_edges() for state in edge} - {START}
    assert named == {state.value for state in WorkflowState}


def test_every_arrow_of_the_state_diagram_is_a_real_transition() -> None:
    """The picture cannot claim a transition the workflow does not make."""
    arrows = {edge for edge in diagram_edges() if edge[1] != START}
    assert arrows - real_transitions() == set()


def test_every_real_transition_is_an_arrow_of_the_state_diagram() -> None:
    """The picture cannot leave a transition out (self-loops aside)."""
    assert real_transitions() - diagram_edges() == set()


def test_the_in_flight_box_holds_exactly_the_states_that_are_not_terminal() -> None:
    _, composites = state_diagram()
    assert list(composites.values()) == [{s.value for s in WorkflowState if not s.terminal}]


def test_exactly_the_terminal_states_end_in_the_state_diagram() -> None:
    ends = {a for a, b in diagram_edges() if b == START}
    assert ends == {state.value for state in TERMINAL_STATES}


def test_the_replayed_paths_end_where_the_workflow_says() -> None:
    """The extra paths are not vacuous: each reaches the state it is there for."""
    assert ("ROLLING_BACK", "RESETTING") in paths_the_matrix_has_no_state_for()


def test_the_matrix_reaches_the_confirmed_notify_and_the_forced_deletion() -> None:
    """Once replayed here, now states of the matrix ("REQUESTED confirming notify", "FORCE_RESETTING waiting
    deletion"): the matrix itself must reach them."""
    assert {("REQUESTED", "NOTIFIED"), ("FORCE_RESETTING", "DELETING")} <= matrix_pairs(load_matrix())


# --- the architecture -------------------------------------------------------------------------------------

RESOURCES: dict[str, tuple[str, str]] = {
    # diagram node: (construct path under the stack, CloudFormation type)
    "bus": ("EventIntake/Bus/Resource", "AWS::Events::EventBus"),
    "requestRule": ("EventIntake/RequestRule/Resource", "AWS::Events::Rule"),
    "statusRule": ("EventIntake/DeploymentStatusRule/Resource", "AWS::Events::Rule"),
    "requestRuleDlq": ("EventIntake/RequestRuleDeadLetterQueue/Resource", "AWS::SQS::Queue"),
    "statusRuleDlq": ("EventIntake/DeploymentStatusRuleDeadLetterQueue/Resource", "AWS::SQS::Queue"),
    "workQueue": ("EventIntake/WorkQueue/Resource", "AWS::SQS::Queue"),
    "workDlq": ("EventIntake/WorkDeadLetterQueue/Resource", "AWS::SQS::Queue"),
    "worker": ("ResetFunctions/Worker/Resource", "AWS::Lambda::Function"),
    "sweeper": ("ResetFunctions/Sweeper/Resource", "AWS::Lambda::Function"),
    "sweepSchedule": ("ResetFunctions/SweepSchedule/Resource", "AWS::Events::Rule"),
    "janitor": ("Janitor/Function/Resource", "AWS::Lambda::Function"),
    "janitorSchedule": ("Janitor/Schedule/Resource", "AWS::Events::Rule"),
    "ledger": ("Ledger/Table/Resource", "AWS::DynamoDB::Table"),
    "topic": ("Notifications/Topic/Resource", "AWS::SNS::Topic"),
    "alarms": ("Monitoring/", "AWS::CloudWatch::Alarm"),  # a path ending in "/": any resource under it
    "dashboard": ("Monitoring/Dashboards/Dashboard/Resource", "AWS::CloudWatch::Dashboard"),
}
NOT_OURS = {"senders", "defaultBus", "greengrass"}
"""Nodes the stack does not create: who sends requests, the account's default bus, the Greengrass API."""


def architecture_nodes() -> tuple[set[str], set[str]]:
    """(nodes declared, one per line as `id[...]`, `id(...)` or `id{{...}}`; ids the arrows join)."""
    [block] = mermaid_blocks("flowchart")
    declared: set[str] = set()
    joined: set[str] = set()
    for line in block.splitlines()[1:]:
        line = re.sub(r'"[^"]*"', '""', line).strip()  # labels may hold anything
        if not line or line.startswith(("%%", "subgraph", "end", "direction")):
            continue
        if re.search(r"-->|\.->|~~~", line):
            words = re.findall(r"\w+", line)
            joined |= {words[0], words[-1]}
        else:
            node = re.match(r"(\w+)\s*[\[\(\{]", line)
            assert node, f"neither a node nor an arrow: {line!r}"
            declared.add(node.group(1))
    return declared, joined


def test_the_architecture_names_only_mapped_nodes() -> None:
    declared, joined = architecture_nodes()
    assert declared == set(RESOURCES) | NOT_OURS
    assert joined <= declared, "an arrow joins a node that is not declared (Mermaid would make one up)"


@pytest.fixture(scope="module")
def stack_resources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Construct path -> CloudFormation type of every resource of the app as `app.py` builds it, janitor
    enabled: the construct tree only (no asset bundling, no synthesis, no cdk-nag), about 3 s."""
    from aws_cdk import CfnResource

    from infra.app import build_app
    from infra.config import GgResetConfig

    context = {"gg-reset:janitorEnabled": True, "aws:cdk:bundling-stacks": []}
    app = build_app(outdir=str(tmp_path_factory.mktemp("cdk-docs")), context=context)
    stack_name = GgResetConfig.from_node(app.node).stack_name
    prefix = f"{stack_name}/"
    return {
        node.node.path.removeprefix(prefix): node.cfn_resource_type
        for node in app.node.find_all()
        if isinstance(node, CfnResource)
    }


@pytest.mark.infra
@pytest.mark.parametrize("node", sorted(RESOURCES))
def test_every_resource_in_the_architecture_exists_in_the_stack(
    node: str, stack_resources: dict[str, str]
) -> None:
    path, resource_type = RESOURCES[node]
    if path.endswith("/"):
        found = [p for p, t in stack_resources.items() if p.startswith(path) and t == resource_type]
    else:
        found = [path] if stack_resources.get(path) == resource_type else []
    assert found, f"{node}: no {resource_type} at {path} in the stack"
