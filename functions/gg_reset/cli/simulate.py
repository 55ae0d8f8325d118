"""`gg-reset simulate`: the Greengrass V1 simulator on http://127.0.0.1:PORT, with a seeded fleet.

Point the CLI, the janitor's code or a boto3 script at it with `AWS_ENDPOINT_URL` (the first line printed
is that `export`); see docs/local-endpoint.md. The server is `gg_reset.local.http_endpoint`; this module
only parses the options, prints what the user needs and waits for Ctrl-C. It needs boto3 only (no moto).
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated, Any, Final

import typer

from gg_reset.cli.errors import CliError
from gg_reset.text import plural

if TYPE_CHECKING:
    from gg_reset.local.http_endpoint import SimulatorEndpoint

DEFAULT_PORT: Final = 4599  # gg_reset.local.http_endpoint.DEFAULT_PORT (not imported: keep --help light)
KINDS_HELP: Final = (
    "online, offline, failing, flaky, slow (core behaviours), protected (tag gg-reset:protect=true), "
    "never-deployed, failed-deployment (a NewDeployment started at launch that fails: a Failure event), "
    "expired (gg-reset:expires-at 30 days ago), expired-protected, unexpired (a year from now), "
    "expiry-unreadable"
)


def simulate(
    port: Annotated[
        int,
        typer.Option(min=0, max=65535, help="Port on 127.0.0.1 (only); 0 picks a free one (printed)."),
    ] = DEFAULT_PORT,
    groups: Annotated[int, typer.Option(min=1, max=20_000, help="How many simulated groups.")] = 50,
    seed: Annotated[int, typer.Option(help="Seed for the fleet: same seed, same groups and ids.")] = 7,
    mix: Annotated[
        str | None,
        typer.Option(
            help=f"Weights of group kinds, e.g. 'online=3,expired=1'. Kinds: {KINDS_HELP}. "
            "Default: mostly online and offline cores, 8% expired."
        ),
    ] = None,
    speed: Annotated[
        float,
        typer.Option(
            min=0.01,
            max=10_000,
            help="Simulated seconds per real second: at 1, a reset of an online core's group succeeds "
            "after about 6 s; at 60, after 0.1 s.",
        ),
    ] = 1.0,
    events_file: Annotated[
        Path | None,
        typer.Option(
            "--events-file",
            help="Also append each Greengrass Deployment Status Change event (EventBridge-shaped) to this "
            "file, one JSON line each. They are always served at GET /_simulator/events?after=N.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the endpoint and the whole fleet as one JSON line.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", help="Log every HTTP request on stderr.")] = False,
) -> None:
    """Serve a simulated Greengrass V1 fleet on http://127.0.0.1:PORT until Ctrl-C.

    Paste the first line printed (export AWS_ENDPOINT_URL=...) and the gg-reset CLI and boto3 scripts
    talk to it: e.g. gg-reset plan expired. Only Greengrass V1 is served (groups with tags, deployments,
    resets and their status events); other services get a NotImplemented error. No AWS account needed.
    """
    from gg_reset.local.http_endpoint import EndpointError, SimulatorEndpoint, parse_mix

    try:
        weights = parse_mix(mix)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--mix") from exc
    try:
        endpoint = SimulatorEndpoint(
            port=port,
            groups=groups,
            seed=seed,
            mix=weights,
            speed=speed,
            events_file=events_file,
            verbose=verbose,
        ).start()
    except EndpointError as exc:
        raise CliError(exc.problem, hint=exc.hint) from None
    stopping = threading.Event()
    restore = _stop_on_signals(stopping)
    try:
        _announce(endpoint, as_json=as_json)
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.stop()
        restore()
    sys.stderr.write(f"gg-reset simulate: stopped ({plural(endpoint.requests_served, 'request')} served)\n")
    sys.stderr.flush()


def _stop_on_signals(stopping: threading.Event) -> Callable[[], None]:
    """Ctrl-C (SIGINT) and SIGTERM end the server cleanly. SIGINT gets a handler of its own: a shell starts a
    background job with SIGINT ignored, and its children would inherit that. Handlers can only be set in
    the main thread; elsewhere a KeyboardInterrupt still ends the wait."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(_signum: int, _frame: FrameType | None) -> None:
        stopping.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, action in previous.items():
            signal.signal(sig, action)

    return restore


def _announce(endpoint: SimulatorEndpoint, *, as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps(endpoint.describe()) + "\n")
        sys.stdout.flush()
        return
    description: dict[str, Any] = endpoint.describe()
    kinds = ", ".join(f"{kind} {count}" for kind, count in description["kinds"].items())
    events = f"GET {description['events']['url']}"
    if description["events"]["file"]:
        events += f", and appended to {description['events']['file']}"
    lines = [
        endpoint.export_line(),
        f"# gg-reset simulate: Greengrass V1 only, on {endpoint.url} (region {description['region']}, "
        f"account {description['account']})",
        f"# {description['groups']} groups, seed {description['seed']}, "
        f"speed {description['speed']:g}x: {kinds}",
        f"# status events: {events}",
        "# then: gg-reset plan expired  (Ctrl-C stops the simulator)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()
