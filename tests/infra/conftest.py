"""Synthesise the CDK app once per test session (jsii start-up is the slow part) and share the result."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `infra` lives at the repository root, next to app.py
    sys.path.insert(0, str(REPO_ROOT))
# jsii runs the CDK on the `node` first on PATH: the repository's Node 22 (`make node`, as `make test` and
# `make synth` put it first), also when pytest is started by hand. No jsii warning is silenced.
REPO_NODE_BIN = REPO_ROOT / "node_modules" / "node" / "bin"
if (REPO_NODE_BIN / "node").exists():
    os.environ["PATH"] = f"{REPO_NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "1")
os.environ.setdefault("AWS_EC2_METADATA_DISABLED", "true")

from infra.testing import Synth, synthesize  # noqa: E402

# A deployment that changes every option the defaults leave off.
CUSTOM_CONTEXT: dict[str, Any] = {
    "gg-reset:stackName": "GgResetCustom",
    "gg-reset:workerBatchSize": "5",  # strings, as `cdk -c key=value` passes them
    "gg-reset:workerMaxConcurrency": "7",
    "gg-reset:workerTimeoutSeconds": 60,
    "gg-reset:sweepIntervalMinutes": 5,
    "gg-reset:allowedPrincipals": "111111111111,arn:aws:iam::222222222222:role/gg-reset-requester",
    "gg-reset:organizationId": "o-abcdef1234",
    "gg-reset:alarmEmail": "platform-team@example.com",
    "gg-reset:logRetentionDays": 90,
    "gg-reset:logLevel": "debug",
    "gg-reset:removalPolicy": "destroy",
    "gg-reset:ledgerEncryption": "customer-managed",
    "gg-reset:logsKmsKey": "create",
    "gg-reset:tracing": "true",
    "gg-reset:queueMaxAgeSeconds": 600,
    "gg-reset:resetTimeoutSeconds": 300,
    "gg-reset:greengrassRequestsPerSecond": "12.5",
    "gg-reset:protectionFreshnessSeconds": 0,
    "gg-reset:powertoolsLayerArn": (
        "arn:aws:lambda:eu-west-1:123456789012:layer:AWSLambdaPowertoolsPythonV3-python313-arm64:31"
    ),
}


# Teardowns as far as they go: the things switch (AWS IoT and Greengrass V2 permissions for the worker and
# sweeper), and a janitor whose selection and dry-run preview make every teardown read it can make.
THINGS_CONTEXT: dict[str, Any] = {
    "gg-reset:thingsTeardown": "true",
    "gg-reset:teardown": "things",
    "gg-reset:janitorEnabled": "true",
    "gg-reset:janitorSelection": "migrated",
    "gg-reset:janitorTeardown": "things",  # the janitor's dry run (the default) previews it
}


# The connectivity source alone (no things teardown): AWS IoT fleet indexing tells a silent core's
# connectivity. The threshold as `cdk -c` passes it; a janitor, which must get neither its grant nor its
# setting (it resets nothing itself).
CONNECTIVITY_CONTEXT: dict[str, Any] = {
    "gg-reset:connectivitySource": "fleet-index",
    "gg-reset:forceWhenDisconnectedFor": "900",
    "gg-reset:janitorEnabled": "true",
}


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app exactly as `python app.py` builds it (cdk.json defaults)."""
    return synthesize(tmp_path_factory.mktemp("cdk-default"))


@pytest.fixture(scope="session")
def custom_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app with every optional feature switched on through context."""
    return synthesize(tmp_path_factory.mktemp("cdk-custom"), CUSTOM_CONTEXT)


@pytest.fixture(scope="session")
def things_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app with `thingsTeardown` on and a janitor that previews a things teardown of migrated groups."""
    return synthesize(tmp_path_factory.mktemp("cdk-things"), THINGS_CONTEXT)


@pytest.fixture(scope="session")
def connectivity_synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    """The app with `connectivitySource=fleet-index` (and `thingsTeardown` off) and a janitor."""
    return synthesize(tmp_path_factory.mktemp("cdk-connectivity"), CONNECTIVITY_CONTEXT)
