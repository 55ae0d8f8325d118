"""What each Lambda handler module imports, pinned so that a cold start cannot creep back up unnoticed.

A handler's import is what every cold start pays before the first event (see `benchmarks/cold_start.py`
for the figures). Each check runs in a fresh interpreter with the environment the stack gives the
functions (tracing off, the default), and lists the third-party packages and the gg_reset subpackages the
import loaded. A new entry here is a decision, not an accident: measure it with `make bench` first.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"

RUNTIME_PACKAGES = {
    # boto3 and what it brings (the Lambda runtime ships them)
    "boto3",
    "botocore",
    "s3transfer",
    "urllib3",
    "jmespath",
    "dateutil",
    "six",
    "certifi",
    # the Powertools layer: Logger, Metrics, the batch utility
    "aws_lambda_powertools",
    "typing_extensions",
}
SHELL = {
    "gg_reset",
    "gg_reset.adapters",
    "gg_reset.domain",
    "gg_reset.handlers",
    "gg_reset.ledger_schema",
    "gg_reset.metric_names",
    "gg_reset.ports",
    "gg_reset.settings",
    "gg_reset.shell",
    "gg_reset.timer_messages",
}
EXPECTED = {
    "worker": (RUNTIME_PACKAGES, SHELL | {"gg_reset.contracts"}),
    "sweeper": (RUNTIME_PACKAGES, SHELL),
    "janitor": (
        RUNTIME_PACKAGES,
        SHELL | {"gg_reset.contracts", "gg_reset.cleanup", "gg_reset.text"},
    ),
}
NEVER = (
    "aws_xray_sdk",  # the X-Ray SDK: only when tracing is on (it costs more than boto3 itself)
    "aws_lambda_powertools.utilities.parser",  # loads every Powertools event model
    "pydantic",  # the contracts read events with the standard library: building the models cost half a boto3
    "gg_reset.local",
    "gg_reset.cli",
    "moto",
    "rich",
    "typer",
)

ON_FIRST_USE = ("gg_reset.adapters.teardown", "gg_reset.adapters.connectivity")
"""Built on first use (`adapters.on_first_use`): deletions remove the group only by default, and the
connectivity source is off by default."""
NOT_FOR = {
    "worker": ON_FIRST_USE,
    "sweeper": (*ON_FIRST_USE, "gg_reset.contracts"),
    # The janitor sends requests; it runs no workflow and keeps no group records.
    "janitor": (
        *ON_FIRST_USE,
        "gg_reset.domain.workflow",
        "gg_reset.domain.actions",
        "gg_reset.domain.model",
        "gg_reset.shell.service",
        "gg_reset.adapters.dynamodb_ledger",
    ),
}

_PROBE = """
import json, sys
before = set(sys.modules)
import gg_reset.handlers.{handler}
loaded = set(sys.modules) - before
print(json.dumps(sorted(loaded)))
"""


def loaded_by(handler: str, **env: str) -> set[str]:
    environment = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(FUNCTIONS),
        "AWS_LAMBDA_FUNCTION_NAME": f"gg-reset-{handler}",
        "AWS_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        **env,
    }
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(handler=handler)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("handler", sorted(EXPECTED))
def test_each_handler_imports_only_what_its_path_needs(handler: str) -> None:
    loaded = loaded_by(handler)
    third_party = {
        name.split(".")[0]
        for name in loaded
        if name.split(".")[0] not in sys.stdlib_module_names and not name.startswith(("_", "gg_reset"))
    }
    ours = {".".join(name.split(".")[:2]) for name in loaded if name.startswith("gg_reset")}
    packages, subpackages = EXPECTED[handler]
    assert third_party == packages
    assert ours == subpackages
    for name in NEVER + NOT_FOR[handler]:
        assert not any(m == name or m.startswith(name + ".") for m in loaded), name


def test_the_x_ray_sdk_is_imported_when_tracing_is_on() -> None:
    """The check above would pass trivially if tracing could never load it: with tracing on, it does."""
    loaded = loaded_by("worker", POWERTOOLS_TRACE_DISABLED="false")
    assert "aws_xray_sdk" in {name.split(".")[0] for name in loaded}
