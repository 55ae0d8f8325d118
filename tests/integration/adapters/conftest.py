"""What the Greengrass adapter tests share: a moto-backed client and a Stubber-backed adapter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from botocore.stub import Stubber
from moto import mock_aws

from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient


@pytest.fixture
def moto_client() -> Iterator[GreengrassClient]:
    with mock_aws():
        yield make_greengrass_client()


@pytest.fixture
def stubbed() -> Iterator[tuple[Boto3Greengrass, Stubber]]:
    """An adapter whose client answers only what the test queues, and fails on any unexpected call."""
    client = make_greengrass_client(endpoint_url="http://127.0.0.1:9")
    with Stubber(client) as stubber:
        yield Boto3Greengrass(client), stubber
        stubber.assert_no_pending_responses()
