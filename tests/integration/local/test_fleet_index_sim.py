"""Conformance of the fleet-index simulator: AWS IoT `SearchIndex` on `AWS_Things` answered from the simulated
Greengrass cores, through a real boto3 `iot` client under moto's `mock_aws()`.

Each test is named for the fact it pins; docs/greengrass-v1.md, "Fleet indexing (connectivity)", lists the
facts and their sources. Every other IoT operation of the same client still reaches moto (the last tests).
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError
from moto import mock_aws

from gg_reset.local.clock import SimulatedClock
from gg_reset.local.cores import CoreBehaviour, CoreProfile
from gg_reset.local.fleet_index_sim import (
    DEFAULT_OFFLINE_FOR,
    MAX_PAGE_SIZE,
    MAX_QUERY_TERMS,
    THINGS_INDEX,
    Connectivity,
    FleetIndexSimulator,
)
from gg_reset.local.greengrass_sim import GreengrassSimulator
from gg_reset.local.iot_fleet import MotoCoreIdentities
from gg_reset.local.runtime import ACCOUNT, REGION

if TYPE_CHECKING:
    from mypy_boto3_iot import IoTClient
    from mypy_boto3_iot.type_defs import SearchIndexResponseTypeDef


HOUR = timedelta(hours=1)


# --- fixtures and helpers ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing here waits: neither the simulator nor botocore on its behalf (retries are off)."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"time.sleep({seconds}) called during a simulator test")

    monkeypatch.setattr(time, "sleep", refuse)


@pytest.fixture
def iot() -> Iterator[IoTClient]:
    """A boto3 IoT client on moto's in-process backend, botocore's retries off (a 400 `ThrottlingException`
    would otherwise be retried after a real sleep)."""
    with mock_aws():
        yield boto3.client(
            "iot", region_name=REGION, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
        )


@pytest.fixture
def index(clock: SimulatedClock, sim: GreengrassSimulator, iot: IoTClient) -> FleetIndexSimulator:
    fleet_index = FleetIndexSimulator(clock, sim, account=ACCOUNT, region=REGION)
    fleet_index.attach(iot)
    return fleet_index


def ms(moment: datetime) -> int:
    return int((moment - datetime(1970, 1, 1, tzinfo=UTC)) / timedelta(milliseconds=1))


def search(iot: IoTClient, query: str, **kwargs: Any) -> SearchIndexResponseTypeDef:
    return iot.search_index(indexName=THINGS_INDEX, queryString=query, **kwargs)


def names(answer: SearchIndexResponseTypeDef) -> list[str]:
    return [thing["thingName"] for thing in answer["things"]]


def thing_of(sim: GreengrassSimulator, group_id: str) -> str:
    return sim.core_thing(group_id).thing_name


def error_of(call: Callable[[], object]) -> tuple[int, str, str]:
    """(HTTP status, code, message) of a call that must fail."""
    with pytest.raises(ClientError) as caught:
        call()
    response = caught.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


# --- the default connectivity model ---------------------------------------------------------------------


def test_an_offline_core_is_disconnected_since_six_hours_before_the_start_the_others_connected_since_it(
    clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    start = clock.now()
    groups = {
        behaviour: sim.add_group(name=f"g-{behaviour.value}", core=behaviour) for behaviour in CoreBehaviour
    }
    clock.advance(600)

    disconnected = search(iot, "connectivity.connected:false")
    connected = search(iot, "connectivity.connected:true")

    assert timedelta(hours=6) == DEFAULT_OFFLINE_FOR
    assert disconnected["things"] == [
        {
            "thingName": "g-offline_Core",
            "thingId": index.thing_id("g-offline_Core"),
            "connectivity": {
                "connected": False,
                "timestamp": ms(start - 6 * HOUR),
                "disconnectReason": "CONNECTION_LOST",
            },
        }
    ]
    assert names(connected) == sorted(
        thing_of(sim, g) for b, g in groups.items() if b is not CoreBehaviour.OFFLINE
    )
    for thing in connected["things"]:
        assert thing["connectivity"] == {"connected": True, "timestamp": ms(start)}  # no disconnectReason


def test_the_answer_has_the_shape_of_the_model_things_thing_groups_and_no_next_token_on_the_last_page(
    sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    sim.add_group(name="plant", core="offline")

    answer = search(iot, "connectivity.connected:false")

    assert set(answer) == {"things", "thingGroups", "ResponseMetadata"}
    assert answer["thingGroups"] == []
    [thing] = answer["things"]
    assert set(thing) == {"thingName", "thingId", "connectivity"}
    assert isinstance(thing["connectivity"]["timestamp"], int)  # epoch milliseconds, a `long` in the model
    assert thing["thingId"] == index.thing_id("plant_Core") == index.thing_id("plant_Core")


def test_offline_for_and_disconnected_since_change_the_default_model(
    clock: SimulatedClock, sim: GreengrassSimulator, iot: IoTClient
) -> None:
    start = clock.now()
    sim.add_group(name="gone", core="offline")
    sim.add_group(name="broken", core="failing")
    FleetIndexSimulator(clock, sim, account=ACCOUNT, region=REGION, offline_for=72 * HOUR).attach(iot)

    assert search(iot, "connectivity.connected:false")["things"][0]["connectivity"]["timestamp"] == ms(
        start - 72 * HOUR
    )

    with mock_aws():
        other = boto3.client("iot", region_name=REGION)
        FleetIndexSimulator(
            clock,
            sim,
            account=ACCOUNT,
            region=REGION,
            disconnected_since=lambda p: start - HOUR if p.behaviour is CoreBehaviour.FAILING else None,
        ).attach(other)
        answer = other.search_index(indexName=THINGS_INDEX, queryString="connectivity.connected:false")

    assert names(answer) == ["broken_Core"]  # the rule decides which profiles are disconnected
    assert answer["things"][0]["connectivity"]["timestamp"] == ms(start - HOUR)


def test_set_group_connectivity_overrides_one_group(
    clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    long_gone = sim.add_group(name="long-gone", core="offline")
    sim.add_group(name="recent", core="offline")
    three_days_ago = clock.now() - timedelta(days=3)

    index.set_group_connectivity(
        long_gone, connected=False, since=three_days_ago, disconnect_reason="AUTH_ERROR"
    )

    assert index.connectivity("long-gone_Core") == Connectivity(False, three_days_ago, "AUTH_ERROR")
    answer = search(iot, "connectivity.disconnectReason:AUTH_ERROR")
    assert names(answer) == ["long-gone_Core"]


# --- transitions -------------------------------------------------------------------------------------------


def test_set_core_to_online_connects_the_thing_at_that_simulated_time(
    clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    group_id = sim.add_group(name="back", core="offline")
    clock.advance(3600)
    comes_back = clock.now()

    index.set_core(group_id, "online")
    clock.advance(60)

    assert sim.core(group_id).behaviour is CoreBehaviour.ONLINE  # the Greengrass simulator's core changed too
    assert search(iot, "thingName:back_Core")["things"][0]["connectivity"] == {
        "connected": True,
        "timestamp": ms(comes_back),
    }


def test_set_core_to_offline_disconnects_the_thing_at_that_time_with_connection_lost(
    clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    group_id = sim.add_group(name="fades", core="online")
    clock.advance(120)
    fades = clock.now()

    index.set_core(group_id, "offline")
    clock.advance(600)

    assert search(iot, "connectivity.connected:false")["things"][0]["connectivity"] == {
        "connected": False,
        "timestamp": ms(fades),
        "disconnectReason": "CONNECTION_LOST",
    }


def test_core_changed_dates_a_set_core_made_on_the_greengrass_simulator_directly(
    clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    group_id = sim.add_group(name="direct", core="online")
    search(iot, "thingName:direct_Core")  # observed online
    clock.advance(300)
    changed_at = clock.now()
    sim.set_core(group_id, "offline")
    clock.advance(300)

    index.core_changed(group_id, at=changed_at)

    assert index.connectivity("direct_Core") == Connectivity(False, changed_at, "CONNECTION_LOST")
    with pytest.raises(ValueError, match="future"):
        index.core_changed(group_id, at=clock.now() + HOUR)


def test_a_change_that_keeps_the_core_connected_is_no_transition(
    clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator
) -> None:
    start = clock.now()
    group_id = sim.add_group(name="wobbly", core="online")
    clock.advance(60)

    index.set_core(group_id, CoreProfile.flaky(0.5))
    index.set_core(group_id, "failing")

    assert index.connectivity("wobbly_Core") == Connectivity(True, start)


def test_an_unreported_change_is_noticed_by_the_next_search_and_dated_at_it(
    clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    group_id = sim.add_group(name="silent", core="offline")
    search(iot, "thingName:silent_Core")  # observed offline
    sim.set_core(group_id, "online")  # nobody tells the index
    clock.advance(900)
    noticed = clock.now()

    first = search(iot, "thingName:silent_Core")
    clock.advance(900)
    again = search(iot, "thingName:silent_Core")

    assert first["things"][0]["connectivity"] == {"connected": True, "timestamp": ms(noticed)}
    assert again["things"] == first["things"]  # dated once, not at every search


def test_a_deleted_groups_core_thing_leaves_the_index(
    sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    group_id = sim.add_group(name="doomed", core="offline")
    assert names(search(iot, "connectivity.connected:false")) == ["doomed_Core"]

    sim.remove_group(group_id)

    assert search(iot, "connectivity.connected:false")["things"] == []
    assert index.indexed_things() == []


def test_the_oldest_live_group_naming_a_thing_decides_its_connectivity(
    sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    first = sim.add_group(name="shared", core="offline")
    second = sim.add_group(name="shared", core="online")  # the console names both cores `shared_Core`
    assert thing_of(sim, first) == thing_of(sim, second)

    assert search(iot, "thingName:shared_Core")["things"][0]["connectivity"]["connected"] is False
    index.set_core(second, "offline")  # not the deciding group: nothing to record
    sim.remove_group(first)
    assert search(iot, "thingName:shared_Core")["things"][0]["connectivity"]["connected"] is False


# --- explicitly registered things -------------------------------------------------------------------------


def test_set_connectivity_indexes_a_thing_no_group_names_until_it_is_removed(
    clock: SimulatedClock, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    since = clock.now() - 2 * HOUR
    index.set_connectivity(
        "sensor-1", connected=False, since=since, disconnect_reason="MQTT_KEEP_ALIVE_TIMEOUT"
    )
    index.set_connectivity("sensor-2", connected=True, since=since)

    assert search(iot, "thingName:sensor-1 OR thingName:sensor-2")["things"] == [
        {
            "thingName": "sensor-1",
            "thingId": index.thing_id("sensor-1"),
            "connectivity": {
                "connected": False,
                "timestamp": ms(since),
                "disconnectReason": "MQTT_KEEP_ALIVE_TIMEOUT",
            },
        },
        {
            "thingName": "sensor-2",
            "thingId": index.thing_id("sensor-2"),
            "connectivity": {"connected": True, "timestamp": ms(since)},
        },
    ]

    index.remove_thing("sensor-1")
    assert names(search(iot, "thingName:sensor-1 OR thingName:sensor-2")) == ["sensor-2"]
    with pytest.raises(KeyError):
        index.remove_thing("sensor-1")


def test_a_thing_without_session_details_is_disconnected_with_no_timestamp_and_matches_no_time_range(
    clock: SimulatedClock, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    index.set_connectivity("never-seen", connected=False, since=None)

    assert search(iot, "connectivity.connected:false")["things"][0]["connectivity"] == {"connected": False}
    assert (
        search(iot, f"connectivity.connected:false AND connectivity.timestamp<{ms(clock.now())}")["things"]
        == []
    )
    assert search(iot, "connectivity.timestamp:*")["things"] == []


def test_set_connectivity_refuses_what_the_index_could_not_hold(
    clock: SimulatedClock, index: FleetIndexSimulator
) -> None:
    with pytest.raises(ValueError, match="thing name"):
        index.set_connectivity("not a name", connected=False, since=clock.now())
    with pytest.raises(ValueError, match="since"):
        index.set_connectivity("t", connected=True, since=None)
    with pytest.raises(ValueError, match="disconnect_reason"):
        index.set_connectivity("t", connected=False, since=clock.now(), disconnect_reason="GONE_FISHING")
    with pytest.raises(ValueError, match="future"):
        index.set_connectivity("t", connected=False, since=clock.now() + HOUR)
    with pytest.raises(ValueError, match="timezone"):
        index.set_connectivity("t", connected=False, since=datetime(2026, 1, 1))  # naive, on purpose


# --- the query forms ---------------------------------------------------------------------------------------


@pytest.fixture
def fleet(clock: SimulatedClock, sim: GreengrassSimulator, index: FleetIndexSimulator) -> dict[str, str]:
    """Five cores: `old` offline for 3 days, `new` offline for 1 hour, `up-1`/`up-2` online, `Mixed` slow."""
    groups = {
        "old": sim.add_group(name="old", core="offline"),
        "new": sim.add_group(name="new", core="offline"),
        "up-1": sim.add_group(name="up-1", core="online"),
        "up-2": sim.add_group(name="up-2", core="online"),
        "Mixed": sim.add_group(name="Mixed", core="slow"),
    }
    index.set_group_connectivity(groups["old"], connected=False, since=clock.now() - timedelta(days=3))
    index.set_group_connectivity(groups["new"], connected=False, since=clock.now() - HOUR)
    return groups


@pytest.mark.usefixtures("fleet")
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("connectivity.connected:false", ["new_Core", "old_Core"]),
        ("connectivity.connected:true", ["Mixed_Core", "up-1_Core", "up-2_Core"]),
        ("connectivity.connected:FALSE", ["new_Core", "old_Core"]),
        ("connectivity.connected:*", ["Mixed_Core", "new_Core", "old_Core", "up-1_Core", "up-2_Core"]),
        ("thingName:old_Core", ["old_Core"]),
        ('thingName:"old_Core"', ["old_Core"]),
        ("thingName:mixed_core", ["Mixed_Core"]),  # "Search is case insensitive"
        ("thingName:up-*", ["up-1_Core", "up-2_Core"]),
        ("thingName:*", ["Mixed_Core", "new_Core", "old_Core", "up-1_Core", "up-2_Core"]),
        ("thingName:old_Core OR thingName:up-1_Core OR thingName:nobody", ["old_Core", "up-1_Core"]),
        ("thingName:old_Core AND connectivity.connected:false", ["old_Core"]),
        ("thingName:old_Core connectivity.connected:true", []),  # juxtaposition is AND
        ("(thingName:old_Core OR thingName:up-1_Core) AND connectivity.connected:false", ["old_Core"]),
        ("connectivity.connected:false AND NOT thingName:old_Core", ["new_Core"]),
        ("NOT connectivity.connected:true", ["new_Core", "old_Core"]),
        ("connectivity.disconnectReason:CONNECTION_LOST", ["new_Core", "old_Core"]),
        ("connectivity.disconnectReason:*", ["new_Core", "old_Core"]),
    ],
)
def test_each_query_form_selects_the_documented_things(
    iot: IoTClient, query: str, expected: list[str]
) -> None:
    assert names(search(iot, query)) == expected


@pytest.mark.usefixtures("fleet")
def test_connectivity_timestamp_comparisons_and_ranges_select_by_epoch_milliseconds(
    clock: SimulatedClock, iot: IoTClient
) -> None:
    now = clock.now()
    threshold = ms(now - 24 * HOUR)
    one_hour_ago = ms(now - HOUR)

    def disconnected(condition: str) -> list[str]:
        return names(search(iot, f"connectivity.connected:false AND {condition}"))

    assert disconnected(f"connectivity.timestamp<{threshold}") == ["old_Core"]
    assert disconnected(f"connectivity.timestamp < {threshold}") == ["old_Core"]
    assert disconnected(f"(connectivity.timestamp<{threshold})") == ["old_Core"]
    assert disconnected(f"connectivity.timestamp>{threshold}") == ["new_Core"]
    assert disconnected(f"connectivity.timestamp>={one_hour_ago}") == ["new_Core"]
    assert disconnected(f"connectivity.timestamp>{one_hour_ago}") == []
    assert disconnected(f"connectivity.timestamp<={one_hour_ago}") == ["new_Core", "old_Core"]
    assert disconnected(f"connectivity.timestamp:{one_hour_ago}") == ["new_Core"]
    # The documented example's form, spaces around ':' included.
    assert disconnected(f"connectivity.timestamp : [{threshold} TO {ms(now)}]") == ["new_Core"]
    assert disconnected(f"connectivity.timestamp:[* TO {one_hour_ago}]") == ["new_Core", "old_Core"]
    assert disconnected(f"connectivity.timestamp:[* TO {one_hour_ago}}}") == ["old_Core"]
    assert disconnected(f"connectivity.timestamp:{{{one_hour_ago} TO *]") == []
    assert names(search(iot, f"connectivity.connected:true AND connectivity.timestamp>{threshold}")) == [
        "Mixed_Core",
        "up-1_Core",
        "up-2_Core",
    ]


@pytest.mark.usefixtures("fleet")
def test_up_to_twelve_terms_are_accepted(iot: IoTClient) -> None:
    query = " OR ".join(f"thingName:t{i}" for i in range(MAX_QUERY_TERMS - 1)) + " OR thingName:old_Core"

    assert names(search(iot, query)) == ["old_Core"]


@pytest.mark.usefixtures("index")
@pytest.mark.parametrize(
    "query",
    [
        "abc",  # a term without a field (all fields): not modelled
        "thingName:a AND",
        "thingName:a OR",
        "(thingName:a",
        "thingName:a)",
        "NOT",
        "thingName:",
        "thingName:(a OR b)",  # field grouping
        "-thingName:a",  # the hyphen exclusion
        "thingName:*abc",  # a leading wildcard
        "thingName:a?c",
        'thingName:"abc',
        "attributes.model:x",
        "thingTypeName:LightBulb",
        "shadow.reported.x:1",
        "ThingName:abc",  # field names are case sensitive
        "connectivity.connected:maybe",
        "connectivity.timestamp:yesterday",
        "connectivity.timestamp<now",
        "connectivity.timestamp:[1 TO]",
        "connectivity.timestamp:[1 2]",
        "thingName:[a TO b]",
        "thingName<b",
        "thingName:a and thingName:b",  # operators are upper case
        " OR ".join(f"thingName:t{i}" for i in range(MAX_QUERY_TERMS + 1)),
        "   ",
    ],
)
def test_anything_else_is_400_invalid_query_exception(iot: IoTClient, query: str) -> None:
    status, code, message = error_of(lambda: search(iot, query))

    assert (status, code) == (400, "InvalidQueryException")
    assert message


# --- paging ------------------------------------------------------------------------------------------------


def test_max_results_and_next_token_page_through_every_match_once_in_name_order(
    sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    for n in range(7):
        sim.add_group(name=f"off-{n}", core="offline")
    sim.add_group(name="on", core="online")

    pages: list[list[str]] = []
    token: str | None = None
    while True:
        page = (
            search(iot, "connectivity.connected:false", maxResults=3, nextToken=token)
            if token
            else search(iot, "connectivity.connected:false", maxResults=3)
        )
        pages.append(names(page))
        token = page.get("nextToken")
        if not token:
            break

    assert pages == [
        ["off-0_Core", "off-1_Core", "off-2_Core"],
        ["off-3_Core", "off-4_Core", "off-5_Core"],
        ["off-6_Core"],
    ]
    assert len(names(search(iot, "thingName:*"))) == 8  # without maxResults: up to 100 a page


def test_a_page_does_not_shift_when_things_come_and_go_between_pages(
    sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    groups = [sim.add_group(name=f"g{n}", core="offline") for n in range(4)]
    first = search(iot, "connectivity.connected:false", maxResults=2)
    sim.remove_group(groups[0])
    sim.add_group(name="a-newcomer", core="offline")  # sorts before the token

    second = search(iot, "connectivity.connected:false", maxResults=2, nextToken=first["nextToken"])

    assert names(first) == ["g0_Core", "g1_Core"]
    assert names(second) == ["g2_Core", "g3_Core"]
    assert "nextToken" not in second


def test_max_results_over_one_hundred_is_400_invalid_request_and_under_one_is_refused_by_botocore(
    index: FleetIndexSimulator, iot: IoTClient
) -> None:
    assert MAX_PAGE_SIZE == 100
    search(iot, "thingName:*", maxResults=MAX_PAGE_SIZE)

    status, code, _ = error_of(lambda: search(iot, "thingName:*", maxResults=MAX_PAGE_SIZE + 1))
    assert (status, code) == (400, "InvalidRequestException")
    with pytest.raises(ParamValidationError):
        search(iot, "thingName:*", maxResults=0)


def test_a_next_token_of_another_query_or_not_issued_is_400_invalid_request(
    sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    for n in range(3):
        sim.add_group(name=f"g{n}", core="offline")
    token = search(iot, "connectivity.connected:false", maxResults=1)["nextToken"]
    forged = base64.urlsafe_b64encode(json.dumps({"after": "g0_Core"}).encode()).decode()

    for query, bad in (
        ("thingName:*", token),
        ("connectivity.connected:false", "garbage"),
        ("thingName:*", forged),
    ):
        status, code, _ = error_of(partial(search, iot, query, nextToken=bad))
        assert (status, code) == (400, "InvalidRequestException")


# --- the other documented errors ----------------------------------------------------------------------------


def test_an_index_other_than_aws_things_is_404_resource_not_found(
    index: FleetIndexSimulator, iot: IoTClient
) -> None:
    for name in ("AWS_ThingGroups", "my_index"):
        status, code, _ = error_of(partial(iot.search_index, indexName=name, queryString="thingName:*"))
        assert (status, code) == (404, "ResourceNotFoundException")


def test_a_search_without_index_name_is_400_invalid_request(
    index: FleetIndexSimulator, iot: IoTClient
) -> None:
    status, code, _ = error_of(lambda: iot.search_index(queryString="thingName:*"))

    assert (status, code) == (400, "InvalidRequestException")


def test_indexing_off_is_400_index_not_ready(index: FleetIndexSimulator, iot: IoTClient) -> None:
    index.enabled = False
    status, code, _ = error_of(lambda: search(iot, "connectivity.connected:false"))
    assert (status, code) == (400, "IndexNotReadyException")

    index.enabled = True
    assert search(iot, "connectivity.connected:false")["things"] == []
    assert index.errors["IndexNotReadyException"] == 1


def test_a_search_over_the_rate_is_400_throttling_exception_until_the_simulated_clock_refills_it(
    clock: SimulatedClock, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    index.requests_per_second = 2

    search(iot, "thingName:*")
    search(iot, "thingName:*")
    status, code, message = error_of(lambda: search(iot, "thingName:*"))
    clock.advance(0.5)

    assert (status, code, message) == (400, "ThrottlingException", "Rate exceeded.")
    search(iot, "thingName:*")
    assert index.calls["SearchIndex"] == 4


# --- everything else still reaches moto ---------------------------------------------------------------------


def test_other_iot_operations_of_the_attached_client_still_reach_moto(
    sim: GreengrassSimulator, index: FleetIndexSimulator, iot: IoTClient
) -> None:
    created = iot.create_thing(thingName="registry-only")
    described = iot.describe_thing(thingName="registry-only")
    listed = [thing["thingName"] for thing in iot.list_things()["things"]]

    assert described["thingId"] == created["thingId"]
    assert listed == ["registry-only"]
    assert index.calls == {}  # the simulator saw none of them
    # The simulator indexes the simulated cores (and `set_connectivity` things), not moto's registry.
    assert search(iot, "thingName:registry-only")["things"] == []
    status, code, _ = error_of(lambda: iot.describe_thing(thingName="nobody"))
    assert (status, code) == (404, "ResourceNotFoundException")  # moto's answer, untouched


def test_cores_provisioned_in_moto_are_indexed_and_stay_describable(
    clock: SimulatedClock, make_sim: Callable[..., GreengrassSimulator], iot: IoTClient
) -> None:
    sim = make_sim(identities=MotoCoreIdentities(iot))
    group_id = sim.add_group(name="real", core="offline")
    FleetIndexSimulator(clock, sim, account=ACCOUNT, region=REGION).attach(iot)

    [thing] = search(iot, "connectivity.connected:false")["things"]

    assert thing["thingName"] == "real_Core" == iot.describe_thing(thingName="real_Core")["thingName"]
    assert iot.describe_thing(thingName="real_Core")["thingArn"] == sim.core_thing(group_id).thing_arn


def test_without_the_simulator_moto_says_every_thing_is_connected(iot: IoTClient) -> None:
    iot.create_thing(thingName="switched-off")

    [thing] = iot.search_index(indexName=THINGS_INDEX, queryString="thingName:switched-off")["things"]

    assert thing["connectivity"]["connected"] is True  # why the simulator exists


def test_attach_refuses_a_client_of_another_service_or_region(
    clock: SimulatedClock, sim: GreengrassSimulator, iot: IoTClient
) -> None:
    fleet_index = FleetIndexSimulator(clock, sim, account=ACCOUNT, region=REGION)

    with pytest.raises(ValueError, match="iot client"):
        fleet_index.attach(boto3.client("greengrass", region_name=REGION))
    with pytest.raises(ValueError, match="is for"):
        fleet_index.attach(
            boto3.client("iot", region_name="eu-west-1" if REGION != "eu-west-1" else "us-west-2")
        )
    fleet_index.attach(iot)
    fleet_index.attach(iot)  # harmless twice
    assert search(iot, "thingName:*")["things"] == []
    assert fleet_index.calls["SearchIndex"] == 1


def test_every_test_the_docs_name_exists() -> None:
    """The tests docs/greengrass-v1.md's "Fleet indexing (connectivity)" names are all in this module."""
    docs = Path(__file__).resolve().parents[3] / "docs" / "greengrass-v1.md"
    section = docs.read_text(encoding="utf-8").split("## Fleet indexing (connectivity)", 1)[1]
    named = set(re.findall(r"`(test_[a-z0-9_]+)`", section))

    assert named
    assert sorted(named - set(globals())) == []
