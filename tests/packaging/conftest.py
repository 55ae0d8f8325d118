"""Marker for the tests that build and install gg-reset (they need a reachable package index)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "packaging: builds a wheel and installs it in a fresh venv from the package index (slow; "
        "skipped, with the reason, only when the index cannot be reached; deselect with -m 'not packaging')",
    )
