"""Powertools Logger, Tracer and Metrics, set up once for every handler.

Service name, log level and metrics namespace come from the environment (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE), which the stack sets; the defaults below are for
local runs.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

from gg_reset.settings import METRICS_NAMESPACE, SERVICE_NAME

os.environ.setdefault("POWERTOOLS_SERVICE_NAME", SERVICE_NAME)
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", METRICS_NAMESPACE)

logger = Logger()
tracer = Tracer()
metrics = Metrics()
