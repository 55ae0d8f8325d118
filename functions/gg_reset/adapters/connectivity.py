"""`ConnectivityPort` on AWS IoT fleet indexing: is a group's core connected, and since when.

The core thing comes from the group's latest version: `GetGroupVersion` and `GetCoreDefinitionVersion` (each
read once per version, in the teardown's `ReferenceIndex`, and paced by the Greengrass budget; `GetGroup`
first only when the inspection did not give the latest version). Then one `iot:SearchIndex` on the
`AWS_Things` index, `thingName:<name>`, paced on a budget of its own: it is another API, with its own quota.
Its `connectivity` field says `connected`, and `timestamp` "the epoch time (in milliseconds) when the thing
last connected or disconnected" (the thing's connectivity must be indexed: fleet indexing with
`thingConnectivityIndexingMode=STATUS`, and the core's MQTT client id must be its thing name).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from botocore.exceptions import BotoCoreError, ClientError

from gg_reset.adapters.greengrass_errors import greengrass_error
from gg_reset.adapters.teardown import Boto3Teardown
from gg_reset.domain.teardown import ResourceKind
from gg_reset.ports import CoreConnectivity, Pace, unpaced

if TYPE_CHECKING:
    from mypy_boto3_iot import IoTClient

THINGS_INDEX: Final = "AWS_Things"


class FleetIndexConnectivity:
    def __init__(
        self,
        teardown: Boto3Teardown,
        iot: Callable[[], IoTClient],
        *,
        search_pace: Pace = unpaced,
    ) -> None:
        """`teardown` finds the core thing (its reference index caches the versions); `iot` makes the client
        on first use; `search_pace` waits for `SearchIndex`'s own budget (the shell's `RequestBudget`)."""
        self._teardown = teardown
        self._make_iot = iot
        self._iot: IoTClient | None = None
        self._search_pace = search_pace

    def core_connectivity(self, group_id: str, latest_version: str | None, *, pace: Pace) -> CoreConnectivity:
        things = self._core_things(group_id, latest_version, pace)
        if not things:
            return CoreConnectivity(thing_name=None, connected=None)
        thing = things[0]  # a V1 group has one core
        self._search_pace()
        if self._iot is None:
            self._iot = self._make_iot()
        try:
            answer = self._iot.search_index(
                indexName=THINGS_INDEX, queryString=f"thingName:{thing}", maxResults=1
            )
        except (ClientError, BotoCoreError) as exc:
            raise greengrass_error("SearchIndex", exc) from exc
        found = [t for t in answer.get("things", []) if t.get("thingName") == thing]
        if not found:
            return CoreConnectivity(thing_name=thing, connected=None)
        connectivity = found[0].get("connectivity") or {}
        connected = connectivity.get("connected")
        stamp = connectivity.get("timestamp")
        since = datetime.fromtimestamp(stamp / 1000, tz=UTC) if isinstance(stamp, int) else None
        return CoreConnectivity(
            thing_name=thing, connected=connected if isinstance(connected, bool) else None, since=since
        )

    def _core_things(self, group_id: str, latest_version: str | None, pace: Pace) -> tuple[str, ...]:
        if latest_version is None:
            return self._teardown.core_thing_names(group_id, pace=pace)
        index = self._teardown.index
        names = [
            thing.rpartition("/")[2]
            for ref in index.version_refs(group_id, latest_version, pace)
            if ref.kind is ResourceKind.CORE_DEFINITION
            for thing, _ in index.core_identities(ref, pace)
        ]
        return tuple(dict.fromkeys(names))
