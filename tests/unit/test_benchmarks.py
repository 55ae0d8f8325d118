"""The benchmarks still run (they are not timed here: figures belong to `make bench`)."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import bench_core, deletion_path


def test_the_benchmarked_deletion_path_reaches_deleted() -> None:
    assert deletion_path(1) == 6


def test_the_core_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    bench_core(20)
    assert "transitions/s" in capsys.readouterr().out
