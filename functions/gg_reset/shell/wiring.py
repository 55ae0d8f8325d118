"""Builds the `ResetService` the worker and the sweeper use, once per execution environment (the janitor's
is `janitor_wiring`).

The local runtime and tests install their own with `install()`, so the handlers run unchanged against the
simulator, moto or fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

import boto3

from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client
from gg_reset.adapters.notifier import LogNotifier, SnsNotifier
from gg_reset.adapters.on_first_use import TeardownOnFirstUse
from gg_reset.adapters.telemetry import PowertoolsTelemetry
from gg_reset.adapters.timers import SqsTimers
from gg_reset.domain.policy import WorkflowPolicy
from gg_reset.ports import Clock, Notifier, SystemClock
from gg_reset.settings import SEARCH_INDEX_RPS, Settings
from gg_reset.shell.budget import RequestBudget, pacing
from gg_reset.shell.observability import metrics
from gg_reset.shell.per_environment import PerEnvironment
from gg_reset.shell.service import ResetService

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient
    from mypy_boto3_greengrassv2 import GreengrassV2Client
    from mypy_boto3_iot import IoTClient


def service_teardown(
    greengrass: GreengrassClient,
    clock: Clock,
    policy: WorkflowPolicy,
    *,
    iot: Callable[[], IoTClient],
    core_devices: Callable[[], GreengrassV2Client],
) -> TeardownOnFirstUse:
    """The service's teardown and connectivity source, for the Lambdas and the local runtime alike: AWS IoT
    deletions and Greengrass V2 reads only with things teardown, the connectivity source only when
    configured, paced on a budget of its own (`SearchIndex` is another API, with its own quota)."""
    things = policy.things_teardown
    connectivity = policy.force_when_disconnected_for_s is not None
    return TeardownOnFirstUse(
        greengrass,
        clock,
        iot=iot,
        things=things,
        core_devices=core_devices if things else None,
        search_pace=pacing(RequestBudget(SEARCH_INDEX_RPS, clock), clock) if connectivity else None,
    )


def build_service(settings: Settings, session: boto3.Session | None = None) -> ResetService:
    session = session or boto3.Session()
    notifier: Notifier = (
        SnsNotifier(session.client("sns"), settings.topic_arn) if settings.topic_arn else LogNotifier()
    )
    clock = SystemClock()
    greengrass = make_greengrass_client(session)
    teardown = service_teardown(
        greengrass,
        clock,
        settings.policy,
        iot=lambda: session.client("iot"),
        core_devices=lambda: session.client("greengrassv2"),
    )
    return ResetService(
        ledger=DynamoDBLedger(
            session.client("dynamodb"),
            settings.table_name,
            retention=timedelta(seconds=settings.policy.retention_s),
        ),
        greengrass=Boto3Greengrass(greengrass),
        notifier=notifier,
        clock=clock,
        policy=settings.policy,
        telemetry=PowertoolsTelemetry(metrics),
        budget=RequestBudget(settings.invocation_rps, clock),
        timers=SqsTimers(session.client("sqs"), settings.work_queue_url, clock)
        if settings.work_queue_url
        else None,
        teardown=teardown,
        connectivity=teardown if teardown.connectivity_source else None,
    )


_service: PerEnvironment[ResetService] = PerEnvironment(lambda: build_service(Settings.from_env()))


def service() -> ResetService:
    return _service.get()


def install(replacement: ResetService | None) -> None:
    """Use `replacement` in the handlers (None: build from the environment on next use)."""
    _service.install(replacement)
