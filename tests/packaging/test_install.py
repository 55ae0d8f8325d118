"""`pip install` of a gg-reset wheel gives a working CLI: built with `pip wheel --no-deps` from a copy of
the sources, installed from the package index into a fresh venv (no system site-packages, no moto), run.

Slow (a minute or so: a build and a fresh install of boto3, Powertools, pydantic, typer and rich); it
needs the package index and is skipped, saying so, only when that cannot be reached.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

REPO_ROOT = Path(__file__).resolve().parents[2]
INDEX_URL = os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple/").rstrip("/") + "/"
TIMEOUT_S = 600


def _index_reachable() -> str | None:
    """None if the index answers; otherwise why not."""
    try:
        with urllib.request.urlopen(INDEX_URL + "typer/", timeout=15) as response:
            response.read(1)
    except OSError as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def _run(*args: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=env,
        cwd=cwd,
        check=False,
    )
    assert result.returncode == 0, f"{args} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "source"
    source.mkdir()
    # A copy, so the build's egg-info and build/ never land in the working tree other tests read.
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, source / name)
    shutil.copytree(
        REPO_ROOT / "functions",
        source / "functions",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    wheels = tmp_path / "wheels"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "--wheel-dir", wheels, source)
    [built] = wheels.glob("gg_reset-*.whl")
    return built


def _fresh_venv(wheel: Path, tmp_path: Path) -> Path:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv)  # without --system-site-packages: only what the wheel pulls in
    _run(venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel)
    return venv


def _cli_env() -> dict[str, str]:
    """No credentials and no AWS configuration: nothing the CLI runs here can reach AWS."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        {
            "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_EC2_METADATA_DISABLED": "true",
            "COLUMNS": "100",
        }
    )
    return env


def _gg_reset(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(venv / "bin" / "gg-reset"), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=_cli_env(),
        cwd=venv,
        check=False,
    )


def test_a_wheel_installs_a_working_cli(tmp_path: Path) -> None:
    """One test, so that pytest-xdist builds and installs once (a module fixture would run per worker)."""
    unreachable = _index_reachable()
    if unreachable is not None:
        pytest.skip(
            f"packaging test skipped: the package index {INDEX_URL} cannot be reached ({unreachable})"
        )
    wheel = _build_wheel(tmp_path)
    _check_metadata(wheel)
    venv = _fresh_venv(wheel, tmp_path)

    for args in (
        ["--help"],
        ["plan", "--help"],
        ["request", "--help"],
        ["list", "--help"],
        ["report", "--help"],
    ):
        result = _gg_reset(venv, *args)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "Usage: gg-reset" in result.stdout
    assert all(c in _gg_reset(venv, "--help").stdout for c in ("plan", "request", "list", "show", "report"))

    # No moto in a plain install: the demo says what to install.
    result = _gg_reset(venv, "demo", "--groups", "1")
    assert result.returncode == 1
    assert result.stderr == (
        "gg-reset: error: `gg-reset demo` runs the service locally and needs the local runtime (moto is not "
        "installed): pip install 'gg-reset[local]'\n"
    )

    # An AWS error is one line, from the installed CLI too (no credentials: nothing reaches AWS).
    result = _gg_reset(venv, "show", "some-group", "--table", "t", "--region", "eu-west-1")
    assert result.returncode == 1
    assert result.stderr.startswith("gg-reset: error: no usable AWS credentials")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def _check_metadata(wheel: Path) -> None:
    """The wheel declares the CLI, the pytest plugin, typer and rich as dependencies, moto (and cryptography)
    only as `local`."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert "gg_reset/cli/app.py" in names and "gg_reset/local/pytest_plugin.py" in names
    assert "gg-reset = gg_reset.cli.app:main" in entry_points
    assert "[pytest11]" in entry_points and "gg_reset = gg_reset.local.pytest_plugin" in entry_points
    requires = metadata.get_all("Requires-Dist") or []
    base = [r for r in requires if "extra ==" not in r]
    local = [r for r in requires if 'extra == "local"' in r]
    assert any(r.startswith("typer") for r in base) and any(r.startswith("rich") for r in base)
    assert not any(r.startswith("moto") for r in base)
    # moto, and cryptography for the simulated cores' certificates (gg_reset.local.iot_fleet imports it).
    assert sorted(r.split("[")[0].split(">")[0] for r in local) == ["cryptography", "moto"]
    assert "local" in (metadata.get_all("Provides-Extra") or [])
