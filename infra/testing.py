"""Test support for the infra tests: synthesise the app and look resources up by construct path.

Lives here rather than in tests/ so that test modules can import it by a stable name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Stack
from aws_cdk.assertions import Template

from infra.app import build_app
from infra.config import GgResetConfig


@dataclass(frozen=True)
class Synth:
    app: App
    stack: Stack
    config: GgResetConfig
    outdir: Path
    template: Template
    template_json: dict[str, Any]

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return {
            logical_id: resource
            for logical_id, resource in self.template_json["Resources"].items()
            if resource["Type"] == resource_type
        }

    def logical_id(self, construct_path: str) -> str:
        """Logical id of the resource whose construct path is `<stack>/<construct_path>/Resource`."""
        wanted = f"{self.stack.stack_name}/{construct_path}/Resource"
        resources: dict[str, dict[str, Any]] = self.template_json["Resources"]
        for logical_id, resource in resources.items():
            if resource.get("Metadata", {}).get("aws:cdk:path") == wanted:
                return logical_id
        raise KeyError(wanted)


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synth:
    app = build_app(outdir=str(outdir), context=context)
    config = GgResetConfig.from_node(app.node)
    assembly = app.synth()
    stack = app.node.find_child(config.stack_name)
    assert isinstance(stack, Stack)
    template_json = assembly.get_stack_by_name(config.stack_name).template
    return Synth(
        app=app,
        stack=stack,
        config=config,
        outdir=outdir,
        template=Template.from_json(template_json),
        template_json=template_json,
    )
