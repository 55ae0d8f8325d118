"""Builds the CDK app: context from cdk.json, the stack, and the cdk-nag checks (`infra.nag`)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from aws_cdk import App, Validations

from infra.config import GgResetConfig
from infra.nag import GgResetAwsSolutionsChecks
from infra.stack import GgResetStack

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
CDK_JSON: Final = REPO_ROOT / "cdk.json"
DEFAULT_OUTDIR: Final = REPO_ROOT / "cdk.out"

# What the CDK CLI puts into the context of every app it runs (path and asset metadata, the CDKMetadata
# resource). Reserved keys, so they cannot live in cdk.json; set here, `python app.py` writes the very
# template `cdk synth` writes, and the CLI's own values (e.g. `--no-version-reporting`) still win.
CLI_CONTEXT_DEFAULTS: Final[dict[str, Any]] = {
    "aws:cdk:enable-path-metadata": True,
    "aws:cdk:enable-asset-metadata": True,
    "aws:cdk:version-reporting": True,
}


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The `context` block of cdk.json: feature flags and the documented gg-reset defaults."""
    context = json.loads(path.read_text(encoding="utf-8")).get("context", {})
    if not isinstance(context, dict):
        raise ValueError(f"{path}: 'context' must be an object")
    return context


def build_app(*, outdir: str | None = None, context: Mapping[str, Any] | None = None) -> App:
    """The app `app.py` synthesises, into `outdir`, else $CDK_OUTDIR (set by the CLI), else ./cdk.out.

    `context` overrides cdk.json (as `cdk -c key=value` does). When the CDK CLI runs the app, the context it
    passes in CDK_CONTEXT_JSON (cdk.json + cdk.context.json + `-c`) takes precedence over these defaults.
    The stack is environment-agnostic: account and region are CloudFormation pseudo parameters, resolved
    at deploy time, so synthesis needs no credentials.
    """
    outdir = outdir or os.environ.get("CDK_OUTDIR") or str(DEFAULT_OUTDIR)
    app = App(outdir=outdir, context={**CLI_CONTEXT_DEFAULTS, **cdk_json_context(), **(context or {})})
    config = GgResetConfig.from_node(app.node)
    GgResetStack(app, config.stack_name, config=config)
    Validations.of(app).add_plugins(GgResetAwsSolutionsChecks(app, verbose=True))
    return app
