"""Fixtures shared by every test suite (unit, integration, infra, end-to-end).

Sections:
1. Safety: no test can reach real AWS.
2. DynamoDB Local: a JVM per test session (per worker under pytest-xdist) and the ledger table on it.

Helpers that are not fixtures live in `tests/support/` (importable as `support`).
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import pytest

from gg_reset.ledger_schema import create_table_kwargs
from support.dynamodb_local import (
    DUMMY_ACCESS_KEY_ID,
    DUMMY_SECRET_ACCESS_KEY,
    REGION,
    DynamoDBLocal,
    dynamodb_client,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


# ---------------------------------------------------------------------------------------------------------
# 1. Safety: fake AWS credentials and region for every test
# ---------------------------------------------------------------------------------------------------------

FAKE_AWS_ENV: Final = {
    "AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET_ACCESS_KEY,
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_EC2_METADATA_DISABLED": "true",
}
# A developer's own AWS setup must not leak in: a session token or profile would pair real-looking
# identity with the fake keys, and a configured endpoint would redirect clients away from the fakes.
REAL_AWS_ENV: Final = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_ROLE_ARN",
)


def _use_fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REAL_AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    # ~/.aws/config and ~/.aws/credentials could still name a profile, role or endpoint.
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs with dummy credentials, us-east-1 and no instance metadata lookups."""
    _use_fake_aws_env(monkeypatch)


# ---------------------------------------------------------------------------------------------------------
# 2. DynamoDB Local (tests using these fixtures are marked `@pytest.mark.dynamodb_local`)
# ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """A running DynamoDB Local, in memory, shared by the session (each xdist worker starts its own).

    Fails with a message saying what to install when Java or the jar is missing: never skips.
    """
    instance = DynamoDBLocal()
    # Session fixtures are set up before the function-scoped `fake_aws_env`, so apply it for the start.
    with pytest.MonkeyPatch.context() as monkeypatch:
        _use_fake_aws_env(monkeypatch)
        instance.start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def dynamodb_local_client(dynamodb_local: DynamoDBLocal) -> DynamoDBClient:
    """A boto3 DynamoDB client against DynamoDB Local (region us-east-1, dummy credentials)."""
    return dynamodb_client(dynamodb_local.endpoint_url)


@pytest.fixture
def ledger_table_name(request: pytest.FixtureRequest, dynamodb_local_client: DynamoDBClient) -> Iterator[str]:
    """A fresh, empty ledger table (the stack's schema) on DynamoDB Local, deleted after the test."""
    test_name = re.sub(r"[^a-zA-Z0-9_.-]+", "-", request.node.name)[:80]
    table_name = f"ledger-{test_name}-{uuid.uuid4().hex[:8]}"
    dynamodb_local_client.create_table(**create_table_kwargs(table_name))
    dynamodb_local_client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
    )
    try:
        yield table_name
    finally:
        # The test may have deleted it itself.
        with contextlib.suppress(dynamodb_local_client.exceptions.ResourceNotFoundException):
            dynamodb_local_client.delete_table(TableName=table_name)
