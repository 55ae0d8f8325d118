"""The docs tests build the CDK app's construct tree (test_diagrams.py) and read `infra.config`: like the
infra tests, they run jsii on the repository's Node 22 (`make node`) when it is there, also when pytest is
started by hand."""

from __future__ import annotations

import os
from pathlib import Path

REPO_NODE_BIN = Path(__file__).resolve().parents[2] / "node_modules" / "node" / "bin"
PATH = os.environ.get("PATH", "")
if (REPO_NODE_BIN / "node").exists() and str(REPO_NODE_BIN) not in PATH.split(os.pathsep):
    os.environ["PATH"] = f"{REPO_NODE_BIN}{os.pathsep}{PATH}"
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "1")
