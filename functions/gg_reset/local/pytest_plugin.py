"""pytest plugin: the whole gg-reset service, started, as the fixture `gg_reset_local`.

Installed with gg-reset (entry point `pytest11`), so a team embedding `LocalService` in its own tests
needs no conftest code:

    def test_my_cleanup_job(gg_reset_local):
        gid = gg_reset_local.fleet.add_group(core="offline")
        gg_reset_local.request_deletion(gid)
        gg_reset_local.run_until_idle()
        assert gg_reset_local.ledger.get(gid).state.value == "DELETED"

`LocalService` keyword arguments (seed, policy, faults, batch_size, sweep_interval_s, log_level,
greengrass_rps, contested) come from, in increasing precedence:

- the fixture `gg_reset_local_options` (a dict; override it in a conftest.py, a module or a class);
- `@pytest.mark.gg_reset_local(...)` markers, the closest one (test over class over module) winning.

The fixture needs the local runtime (moto): `pip install 'gg-reset[local]'`. Without it, a test using the
fixture fails with that instruction; merely having the plugin installed costs nothing (this module imports
neither moto nor the runtime until the fixture is used).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gg_reset.local.runtime import LocalService

MARKER = "gg_reset_local"
INSTALL_HINT = "pip install 'gg-reset[local]'"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**options): LocalService keyword arguments for the gg_reset_local fixture "
        "(seed, policy, faults, batch_size, sweep_interval_s, log_level, greengrass_rps, contested)",
    )


@pytest.fixture
def gg_reset_local_options() -> dict[str, Any]:
    """LocalService keyword arguments for every `gg_reset_local` in scope; override this fixture to set
    them for a whole directory, module or class (a `gg_reset_local` marker still wins per test)."""
    return {}


def _local_service_class() -> type[LocalService]:
    try:
        from gg_reset.local.runtime import LocalService
    except ImportError as exc:  # moto (the `local` extra) is missing
        pytest.fail(
            f"the gg_reset_local fixture needs gg-reset's local runtime ({exc.name or exc} is missing): "
            f"{INSTALL_HINT}",
            pytrace=False,
        )
    return LocalService


def _options(request: pytest.FixtureRequest, defaults: dict[str, Any]) -> dict[str, Any]:
    options = dict(defaults)
    # iter_markers yields the closest marker first; apply the farthest first so the closest wins.
    for marker in reversed(list(request.node.iter_markers(MARKER))):
        if marker.args:
            pytest.fail(
                f"@pytest.mark.{MARKER} takes keyword arguments only (e.g. seed=3), got {marker.args!r}",
                pytrace=False,
            )
        options.update(marker.kwargs)
    return options


@pytest.fixture
def gg_reset_local(
    request: pytest.FixtureRequest, gg_reset_local_options: dict[str, Any]
) -> Iterator[LocalService]:
    """A started `gg_reset.local.LocalService` (moto's EventBridge, SQS and DynamoDB, the Greengrass V1
    simulator, the real handlers, a simulated clock), stopped after the test."""
    service_class = _local_service_class()
    options = _options(request, gg_reset_local_options)
    parameters = inspect.signature(service_class).parameters
    unknown = sorted(set(options) - set(parameters))
    if unknown:
        known = ", ".join(name for name in parameters if name != "self")
        pytest.fail(
            f"gg_reset_local: unknown LocalService option(s) {', '.join(unknown)} (known: {known})",
            pytrace=False,
        )
    with service_class(**options) as service:
        yield service
