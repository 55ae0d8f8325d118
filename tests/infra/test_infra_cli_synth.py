"""`python app.py` (make synth) and `cdk synth` (the CLI, through cdk.json) write the same template."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.bundling import REPO_ROOT
from infra.testing import Synth

pytestmark = pytest.mark.infra

CDK_CLI = REPO_ROOT / "node_modules" / ".bin" / "cdk"
TIMEOUT_S = 180


def _env(outdir: Path | None = None) -> dict[str, str]:
    env = {
        **os.environ,
        "CDK_DISABLE_CLI_TELEMETRY": "1",
        "AWS_EC2_METADATA_DISABLED": "true",
        # No credentials, no profile: synthesis must not need them.
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_CONFIG_FILE": "/dev/null",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "CDK_OUTDIR",
    ):
        env.pop(name, None)
    if outdir is not None:
        env["CDK_OUTDIR"] = str(outdir)
    return env


# What jsii prints about the Node.js it runs on (end of life, deprecated, untested) and what CDK and cdk-nag
# print about deprecated APIs: none of it may appear, and none of it is silenced.
WARNING_PATTERNS = (
    re.compile(r"is end-of-life and not supported", re.IGNORECASE),
    re.compile(r"This software is currently running on node", re.IGNORECASE),
    re.compile(r"not been tested with this software|untested", re.IGNORECASE),
    re.compile(r"is deprecated", re.IGNORECASE),
    re.compile(r"^\[WARNING\]", re.MULTILINE),
)


def _warnings(text: str) -> list[str]:
    return [pattern.pattern for pattern in WARNING_PATTERNS if pattern.search(text)]


def _differences(left: Any, right: Any, path: str = "") -> list[str]:
    """JSON paths where two templates differ."""
    if isinstance(left, dict) and isinstance(right, dict):
        return [
            d
            for key in sorted(set(left) | set(right))
            for d in _differences(left.get(key, "<missing>"), right.get(key, "<missing>"), f"{path}/{key}")
        ]
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        return [
            d
            for i, (a, b) in enumerate(zip(left, right, strict=True))
            for d in _differences(a, b, f"{path}/{i}")
        ]
    return [] if left == right else [f"{path}: {json.dumps(left)[:200]} != {json.dumps(right)[:200]}"]


def _is_code_hash(difference: str) -> bool:
    return "/Properties/Code/S3Key:" in difference or "/Metadata/aws:asset:path:" in difference


def _only_code_hashes(differences: list[str]) -> bool:
    """The runtime package changed between two syntheses (functions/ is edited while tests run)."""
    return bool(differences) and all(_is_code_hash(d) for d in differences)


def _synth_both(tmp_path: Path, template_name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    direct, cli = tmp_path / "direct", tmp_path / "cli"
    # Both in parallel: each is a full jsii start-up and synthesis.
    processes = {
        "python app.py": subprocess.Popen(
            [sys.executable, "app.py"],
            cwd=REPO_ROOT,
            env=_env(direct),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ),
        "cdk synth": subprocess.Popen(
            [str(CDK_CLI), "synth", "--no-notices", "--quiet", "-o", str(cli)],
            cwd=REPO_ROOT,
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        ),
    }
    for name, process in processes.items():
        output, _ = process.communicate(timeout=TIMEOUT_S)
        text = output.decode(errors="replace")
        assert process.returncode == 0, f"{name} failed:\n{text}"
        assert "reserved context key" not in text, text  # cdk.json must not set the CLI's own keys
        assert not _warnings(text), f"{name} printed warnings:\n{text}"
    return (
        json.loads((direct / template_name).read_text(encoding="utf-8")),
        json.loads((cli / template_name).read_text(encoding="utf-8")),
    )


@pytest.mark.skipif(
    not CDK_CLI.exists() or shutil.which("node") is None, reason="CDK CLI not installed (make node)"
)
def test_app_py_and_cdk_cli_synthesise_the_same_template(synth: Synth, tmp_path: Path) -> None:
    template_name = f"{synth.config.stack_name}.template.json"
    from_app_py, from_cli = _synth_both(tmp_path / "first", template_name)
    if _only_code_hashes(_differences(from_app_py, from_cli)):
        from_app_py, from_cli = _synth_both(tmp_path / "second", template_name)
    assert _differences(from_app_py, from_cli) == []

    # ... and both equal what the other tests examined (built in-process by the same build_app()), up to the
    # code asset's hash, which changes whenever someone edits the runtime package in between.
    in_process = _differences(from_app_py, synth.template_json)
    assert [d for d in in_process if not _is_code_hash(d)] == []
