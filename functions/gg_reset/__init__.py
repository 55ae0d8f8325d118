"""gg-reset: event-driven reset and cleanup of AWS IoT Greengrass V1 groups."""

__version__ = "0.1.0"
