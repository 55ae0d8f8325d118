"""The benchmarks still run (they are not timed here: figures belong to `make bench`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import bench_core, deletion_path


def test_the_benchmarked_deletion_path_reaches_deleted() -> None:
    assert deletion_path(1) == 6


def test_the_core_benchmark_runs(capsys: pytest.CaptureFixture[str]) -> None:
    bench_core(20)
    assert "transitions/s" in capsys.readouterr().out


def test_the_bulk_bounds_follow_their_formulas() -> None:
    from benchmarks.bulk import bounds, fleet

    kinds = fleet(20, 7)
    assert sorted(kinds).count("offline") == 2
    b = bounds(kinds, 10.0)
    assert b.necessary_calls == 18 * 3 + 2 * 5
    assert b.longest_wait_s == 600 + 1 + 2
    assert b.limit_s == max(64 / 10, 603)
    last_offline = max(p for p, kind in enumerate(kinds) if kind == "offline")
    assert b.in_order_bound_s == pytest.approx(2 * (last_offline + 1) / 10 + 603)


def test_gg_resets_own_budget_is_set_only_where_local_service_takes_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import benchmarks.bulk

    assert benchmarks.bulk.service_options(10.0)["greengrass_rps"] == 10.0
    assert "worker_concurrency" not in benchmarks.bulk.service_options(10.0)  # one at a time: the default
    assert benchmarks.bulk.service_options(50.0, 5)["worker_concurrency"] == 5

    class OlderLocalService:
        def __init__(self, *, seed: int = 0, faults: object = None) -> None: ...

    monkeypatch.setattr(benchmarks.bulk, "LocalService", OlderLocalService)
    assert set(benchmarks.bulk.service_options(10.0)) == {"faults"}
    assert set(benchmarks.bulk.service_options(50.0, 5)) == {"faults"}


def test_a_tiny_bulk_run_deletes_every_group_within_the_quota() -> None:
    from benchmarks.bulk import run_bulk

    result = run_bulk(10, 10.0)
    assert result.correct, (result.deleted, result.orphaned_cores)
    assert result.total_calls >= result.bounds.necessary_calls
    assert result.completion_s >= result.last_terminal_s >= result.bounds.longest_wait_s


def test_the_script_baseline_cleans_every_group() -> None:
    from benchmarks.baseline_script import run_script
    from benchmarks.bulk import fleet

    result = run_script(fleet(30, 3), quota=10)
    assert result.correct and result.failed == 0
    assert result.completion_s >= 600  # the offline cores wait out the 600 s poll before Force
    assert result.calls["GetDeploymentStatus"] > result.calls["ResetDeployments"]


def test_make_bench_runs_at_tiny_sizes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from benchmarks.__main__ import main

    plot = tmp_path / "bulk-timeline.png"
    bulk = ["--bulk-groups", "20", "--bulk-big", "0", "--fast-quota", "0", "--plot", str(plot)]
    bulk += ["--things-groups", "10"]
    main(["--requests", "20", "--skip-local", *bulk, "--skip-demo-scaling", "--skip-cold-start"])
    main(
        [
            *("--skip-core", "--skip-local", "--skip-bulk", "--skip-script"),
            *("--skip-teardown", "--skip-connectivity"),  # measured at 20 groups by the first run
            *("--groups", "5", "--demo-large", "10", "--cold-start-runs", "1"),
        ]
    )
    out = capsys.readouterr().out
    assert "in-order bound = max over the 2 offline groups" in out
    assert "10-thread script" in out and "gg-reset / limit, 20 @ 10 req/s" in out
    assert "20/20 DELETED, 0 orphans" in out and "20/20 deleted, 0 orphans" in out  # gg-reset, script
    assert "demo wall time, 10 / 5 groups" in out
    assert "teardown=definitions, 20 deletions @ 10 req/s" in out and "orphans 0, correct" in out
    assert "teardown=things, 10 deletions @ 10 req/s" in out
    assert "teardown=things orphans and deletions in use, 10" in out
    assert "with the fleet index: " in out and "with the fleet index / in-order bound, 20 @ 10" in out
    assert "cold start worker / import boto3" in out and "RSS after importing the janitor" in out
    assert f"timeline of gg-reset 20@10: {plot}" in out
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_bulk_run_records_its_timeline() -> None:
    from benchmarks.bulk import run_bulk

    result = run_bulk(10, 10.0)
    timeline = result.timeline
    assert timeline is not None and timeline.quota == 10.0
    assert len(timeline.calls) == result.total_calls and len(timeline.throttled) == result.throttled
    assert len(timeline.finished) == result.deleted == 10
    assert timeline.forced == 1  # the one offline core


def test_without_matplotlib_the_bench_says_so_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import sys

    from benchmarks.__main__ import draw_timeline
    from benchmarks.bulk import run_bulk

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    draw_timeline(run_bulk(10, 10.0), tmp_path / "t.png")
    assert "timeline not drawn: drawing a timeline needs matplotlib" in capsys.readouterr().out
    assert not (tmp_path / "t.png").exists()
