"""The teardown and connectivity adapters, imported and built on first use.

Deletions remove the group only by default and the connectivity source is off by default, so most
invocations never need them; importing them costs a worker's cold start about a tenth of `import boto3`
(`benchmarks/cold_start.py`, pinned by `tests/unit/handlers/test_handler_imports.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from gg_reset.ports import Clock, CoreConnectivity, CoreDeviceView, Pace, unpaced

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient
    from mypy_boto3_greengrassv2 import GreengrassV2Client
    from mypy_boto3_iot import IoTClient

    from gg_reset.adapters.connectivity import FleetIndexConnectivity
    from gg_reset.adapters.teardown import Boto3Teardown
    from gg_reset.domain.teardown import Resource, ResourceOutcome, Teardown


class TeardownOnFirstUse:
    """`TeardownPort`, `ConnectivityPort` and the janitor's `MigrationReader` on one `Boto3Teardown`, made
    on first use: its reference index of group versions serves the connectivity source's core lookups
    too."""

    def __init__(
        self,
        greengrass: GreengrassClient,
        clock: Clock,
        *,
        iot: Callable[[], IoTClient] | None,
        things: bool,
        core_devices: Callable[[], GreengrassV2Client] | None,
        search_pace: Pace | None = None,
    ) -> None:
        """`iot` makes the AWS IoT client (the teardown's deletions when `things`, the connectivity source's
        `SearchIndex`; None: neither); `core_devices` the Greengrass V2 client (None: no core-device reads);
        `search_pace` waits for the connectivity source's own budget (None: no connectivity source)."""
        self._greengrass, self._clock = greengrass, clock
        self._iot, self._things, self._core_devices = iot, things, core_devices
        self._search_pace = search_pace
        self._teardown: Boto3Teardown | None = None
        self._connectivity: FleetIndexConnectivity | None = None

    @classmethod
    def reads_only(
        cls, greengrass: GreengrassClient, clock: Clock, core_devices: Callable[[], GreengrassV2Client]
    ) -> TeardownOnFirstUse:
        """What the `migrated` selection and a teardown preview read, for the janitor and `gg-reset plan`:
        group versions and Greengrass V2 core devices, never AWS IoT, never a deletion."""
        return cls(greengrass, clock, iot=None, things=False, core_devices=core_devices)

    @property
    def connectivity_source(self) -> bool:
        return self._search_pace is not None and self._iot is not None

    @property
    def adapter(self) -> Boto3Teardown:
        if self._teardown is None:
            from gg_reset.adapters.teardown import Boto3CoreDevices, Boto3Teardown

            core_devices = self._core_devices
            self._teardown = Boto3Teardown(
                self._greengrass,
                clock=self._clock,
                iot=self._iot if self._things else None,
                core_devices=(lambda: Boto3CoreDevices(core_devices())) if core_devices else None,
            )
        return self._teardown

    def collect(self, group_id: str, level: Teardown, *, pace: Pace) -> tuple[Resource, ...]:
        return self.adapter.collect(group_id, level, pace=pace)

    def tear_down(self, resource: Resource, *, deleted_group: str, pace: Pace) -> tuple[ResourceOutcome, str]:
        return self.adapter.tear_down(resource, deleted_group=deleted_group, pace=pace)

    def core_thing_names(self, group_id: str, *, pace: Pace = unpaced) -> tuple[str, ...]:
        return self.adapter.core_thing_names(group_id, pace=pace)

    def core_device(self, thing_name: str) -> CoreDeviceView | None:
        return self.adapter.core_device(thing_name)

    def core_connectivity(self, group_id: str, latest_version: str | None, *, pace: Pace) -> CoreConnectivity:
        if self._connectivity is None:
            if self._search_pace is None or self._iot is None:
                raise RuntimeError("built without a connectivity source")
            from gg_reset.adapters.connectivity import FleetIndexConnectivity

            pace_search = self._search_pace
            self._connectivity = FleetIndexConnectivity(self.adapter, self._iot, search_pace=pace_search)
        return self._connectivity.core_connectivity(group_id, latest_version, pace=pace)
