"""Cold start of the Lambda handlers: how long importing each one takes, against `import boto3` measured in
the same run, and the process's memory after the import.

What a Lambda cold start pays before the first event is the import of the handler module (the runtime
itself and the Powertools layer are the same for everyone). Each sample is a fresh `python` process in a
Lambda-like environment: the variables the stack sets (tracing off, the default), `AWS_LAMBDA_FUNCTION_NAME`
and a region, no credentials needed (nothing is called at import). The gg_reset package is copied without
any `__pycache__` into a temporary directory and imported with `PYTHONDONTWRITEBYTECODE=1`, so it is
compiled from source on every run, as in Lambda, whose code directory is read-only (no bytecode cache can
be written there; the asset ships `.py` files only); third-party packages keep their installed bytecode,
as the runtime's boto3 and the Powertools layer do. The boto3 baseline runs in the same environment, in
alternation with the handlers, so machine noise hits both alike.

For comparison only, each handler is also imported from a second copy compiled ahead (`compileall`, this
Python's bytecode): what the cold start would be if the asset shipped bytecode for the runtime's Python.
The goal is checked on the figures from source, which is what Lambda does with today's asset.

Run: `python -m benchmarks.cold_start` (or as part of `make bench`).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

REPO: Final = Path(__file__).resolve().parent.parent
PACKAGE_DIR: Final = REPO / "functions" / "gg_reset"
HANDLERS: Final = ("worker", "sweeper", "janitor")
BASELINE: Final = "boto3"
GOAL_RATIO: Final = 1.5
"""Each handler's import at most this many times `import boto3` (median against median)."""
GOAL_RSS_MB: Final = 60.0

_PROBE: Final = """
import resource, sys, time
start = time.perf_counter()
import {module}
elapsed = time.perf_counter() - start
try:  # the peak of this process's own memory since exec (ru_maxrss may carry the parent's peak over the fork)
    with open("/proc/self/status") as status:
        peak_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(elapsed, peak_kb / 1024)
"""


@dataclass(frozen=True, slots=True)
class Sample:
    seconds: float
    rss_mb: float


@dataclass(frozen=True, slots=True)
class Figures:
    module: str
    samples: tuple[Sample, ...]
    compiled: tuple[Sample, ...] = ()
    """The same import from bytecode compiled ahead (handlers only)."""

    @property
    def median_ms(self) -> float:
        return 1000 * statistics.median(s.seconds for s in self.samples)

    @property
    def min_ms(self) -> float:
        return 1000 * min(s.seconds for s in self.samples)

    @property
    def compiled_median_ms(self) -> float | None:
        return 1000 * statistics.median(s.seconds for s in self.compiled) if self.compiled else None

    @property
    def rss_mb(self) -> float:
        return statistics.median(s.rss_mb for s in self.samples)


def lambda_environment(code_dir: Path) -> dict[str, str]:
    """What a handler's process sees in Lambda at import, as far as it matters here."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return {
        **keep,
        "PYTHONPATH": str(code_dir),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_LAMBDA_FUNCTION_NAME": "gg-reset-bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_SERVICE_NAME": "gg-reset",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "GgReset",
        "LEDGER_TABLE": "bench",
        "SERVICE_BUS": "bench",
    }


def copy_package(target: Path) -> Path:
    """The gg_reset source, without bytecode, into `target`: the code directory of the measured runs."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copytree(PACKAGE_DIR, target / "gg_reset", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return target


def sample(module: str, env: Mapping[str, str], cwd: Path) -> Sample:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE.format(module=module)],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return Sample(seconds=float(out[0]), rss_mb=float(out[1]))


def measure(runs: int, handlers: Sequence[str] = HANDLERS) -> list[Figures]:
    """`runs` samples of each handler (from source, and from bytecode) and of the boto3 baseline,
    interleaved."""
    modules = [BASELINE, *(f"gg_reset.handlers.{h}" for h in handlers)]
    with tempfile.TemporaryDirectory(prefix="gg-reset-cold-") as tmp:
        source = copy_package(Path(tmp) / "source")
        compiled = copy_package(Path(tmp) / "compiled")
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(compiled)], check=True, timeout=300)
        env, compiled_env = lambda_environment(source), lambda_environment(compiled)
        runs_of = [(m, env, source) for m in modules] + [(m, compiled_env, compiled) for m in modules[1:]]
        for module, environment, code in runs_of:  # one warm-up each: the OS file cache, not Python's
            sample(module, environment, code)
        samples: dict[tuple[str, Path], list[Sample]] = {(m, c): [] for m, _, c in runs_of}
        for _ in range(runs):
            for module, environment, code in runs_of:
                samples[module, code].append(sample(module, environment, code))
    return [Figures(m, tuple(samples[m, source]), tuple(samples.get((m, compiled), ()))) for m in modules]


def report(figures: Sequence[Figures]) -> list[str]:
    baseline = next(f for f in figures if f.module == BASELINE)
    lines = [
        "cold start (import in a fresh process, gg_reset compiled from source as in Lambda, "
        f"{len(baseline.samples)} runs each; goal <= {GOAL_RATIO}x boto3, RSS <= {GOAL_RSS_MB:.0f} MB; "
        "'bytecode': the same import from bytecode compiled ahead, for comparison)",
        f"  {'module':<26} {'min ms':>7} {'median ms':>9} {'x boto3':>8} {'RSS MB':>7} {'bytecode ms':>11} "
        f"{'x boto3':>8}",
    ]
    for f in figures:
        ratio = f.median_ms / baseline.median_ms
        line = f"  {f.module:<26} {f.min_ms:>7.0f} {f.median_ms:>9.0f} {ratio:>7.2f}x {f.rss_mb:>7.1f}"
        compiled = f.compiled_median_ms
        if compiled is not None:
            line += f" {compiled:>11.0f} {compiled / baseline.median_ms:>7.2f}x"
        lines.append(line)
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=15, help="samples per module (default 15)")
    args = parser.parse_args(argv)
    print("\n".join(report(measure(args.runs))))


if __name__ == "__main__":
    main()
