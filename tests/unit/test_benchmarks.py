"""The benchmarks still run (they are not timed here: figures belong to `make bench`)."""

from __future__ import annotations

import pytest

from benchmarks.__main__ import bench_core, deletion_path


def test_the_benchmarked_deletion_path_reaches_deleted() -> None:
    assert deletion_path(1) == 6


def test_the_core_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    bench_core(20)
    assert "transitions/s" in capsys.readouterr().out


def test_the_bulk_and_scaling_benchmarks_run(capsys: pytest.CaptureFixture[str]) -> None:
    from benchmarks.__main__ import bench_bulk, bench_demo_scaling

    bench_bulk(20, (10.0,), 20, 0)
    bench_demo_scaling(10, 20)
    out = capsys.readouterr().out
    assert "plain 10-thread boto3 script" in out and "faster than the script" in out
    assert "demo wall time 20/10 groups" in out


def test_the_script_baseline_cleans_every_group() -> None:
    from benchmarks.baseline_script import run_script
    from benchmarks.bulk import fleet

    result = run_script(fleet(30, 3), quota=10)
    assert result.deleted == 30
    assert result.completion_s >= 600  # the offline cores wait out the 600 s poll before Force
