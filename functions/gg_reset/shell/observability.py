"""Powertools Logger, Tracer and Metrics, set up once for every handler.

Service name, log level and metrics namespace come from the environment (POWERTOOLS_SERVICE_NAME,
POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE), which the stack sets; the defaults below are for
local runs.
"""

from __future__ import annotations

import logging
import os

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers

from gg_reset.settings import METRICS_NAMESPACE, SERVICE_NAME

# Read, never written: setting them here would leak into the environment of whoever imports gg-reset
# (a test suite embedding the local runtime, say).
_service = os.environ.get("POWERTOOLS_SERVICE_NAME") or SERVICE_NAME
_namespace = os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or METRICS_NAMESPACE

logger = Logger(service=_service)
tracer = Tracer(service=_service)
metrics = Metrics(service=_service, namespace=_namespace)

PACKAGE_LOGGER = "gg_reset"
# The shell's modules log through stdlib loggers under `gg_reset` (they also run outside Lambda); give
# that parent the Powertools handler, so every line is the same structured JSON with the same keys.
logging.getLogger(PACKAGE_LOGGER)
copy_config_to_registered_loggers(source_logger=logger, include={PACKAGE_LOGGER})
