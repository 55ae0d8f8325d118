"""Builds the `ResetService` a Lambda uses, once per execution environment.

The local runtime and tests install their own service with `install()`, so the handlers run unchanged
against the simulator, moto or fakes.
"""

from __future__ import annotations

from datetime import timedelta

import boto3

from gg_reset.adapters.dynamodb_ledger import DynamoDBLedger
from gg_reset.adapters.greengrass import Boto3Greengrass, make_greengrass_client
from gg_reset.adapters.notifier import LogNotifier, SnsNotifier
from gg_reset.adapters.telemetry import PowertoolsTelemetry
from gg_reset.adapters.work_queue import SqsWorkQueue
from gg_reset.observability import metrics
from gg_reset.ports import SystemClock
from gg_reset.service import Notifier, ResetService
from gg_reset.settings import Settings

_service: ResetService | None = None
_work_queue: SqsWorkQueue | None = None
_work_queue_built = False


def build_service(settings: Settings, session: boto3.Session | None = None) -> ResetService:
    session = session or boto3.Session()
    notifier: Notifier = (
        SnsNotifier(session.client("sns"), settings.topic_arn) if settings.topic_arn else LogNotifier()
    )
    return ResetService(
        ledger=DynamoDBLedger(
            session.client("dynamodb"),
            settings.table_name,
            retention=timedelta(seconds=settings.policy.retention_s),
        ),
        greengrass=Boto3Greengrass(make_greengrass_client(session)),
        notifier=notifier,
        clock=SystemClock(),
        policy=settings.policy,
        telemetry=PowertoolsTelemetry(metrics),
    )


def service() -> ResetService:
    global _service
    if _service is None:
        _service = build_service(Settings.from_env())
    return _service


def work_queue() -> SqsWorkQueue | None:
    """The queue the sweeper sends ticks to, if the environment names one."""
    global _work_queue, _work_queue_built
    if not _work_queue_built:
        url = Settings.from_env().work_queue_url
        _work_queue = SqsWorkQueue(boto3.Session().client("sqs"), url) if url else None
        _work_queue_built = True
    return _work_queue


def install(replacement: ResetService | None, queue: SqsWorkQueue | None = None) -> None:
    """Use `replacement` (and `queue` for the sweeper's ticks) in the handlers; None: build from the
    environment on next use."""
    global _service, _work_queue, _work_queue_built
    _service = replacement
    _work_queue = queue
    _work_queue_built = replacement is not None
