"""The development toolchain: the Python lock (requirements/dev.txt) covers pyproject.toml and is what .venv
holds; the console scripts the dev set installs run; the CDK runs on the repository's Node 22, with no
jsii warning silenced. See docs/toolchain.md."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Final

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
LOCK: Final = REPO_ROOT / "requirements" / "dev.txt"
TOOLS_IN: Final = REPO_ROOT / "requirements" / "tools.in"
PROJECT: Final = "gg-reset"
NODE_MAJOR: Final = "22"
VENV_BIN: Final = Path(sys.executable).parent

# Console scripts of the dev set's own dependencies that do not run, on purpose: each needs an extra that
# gg-reset does not install because nothing in the project uses the script. Nothing documents them either.
NOT_INSTALLED_EXTRAS: Final = {
    # moto's standalone server needs moto[server] (Flask): the tests run moto in-process, and
    # `gg-reset simulate` is gg-reset's own HTTP simulator.
    "moto_server": "moto[server]",
    # Hypothesis's ghostwriter needs hypothesis[cli]: the tests use the library only.
    "hypothesis": "hypothesis[cli]",
}


# --- the lock -----------------------------------------------------------------------------------------------


def _lock_pins() -> dict[str, tuple[str, str | None]]:
    """name -> (version, marker) for every requirement of the lock, each checked to carry hashes."""
    pins: dict[str, tuple[str, str | None]] = {}
    text = LOCK.read_text(encoding="utf-8")
    for entry in re.split(r"\n(?=[A-Za-z0-9])", text):
        first = entry.split("\n", 1)[0].rstrip(" \\")
        if not first or first.startswith("#"):
            continue
        requirement = Requirement(first)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", first
        assert "--hash=sha256:" in entry, f"{first}: no hash"
        pins[canonicalize_name(requirement.name)] = (
            specifier.version,
            str(requirement.marker) if requirement.marker else None,
        )
    return pins


def _applies(marker: str | None, extra: str = "") -> bool:
    if marker is None:
        return True
    environment = {**default_environment(), "extra": extra}
    return Requirement(f"x; {marker}").marker.evaluate(environment)  # type: ignore[union-attr]


def _declared() -> list[Requirement]:
    """Every requirement gg-reset declares for the dev set: dependencies, the local, plot and dev extras,
    the build backend and the tools of requirements/tools.in."""
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    project = pyproject["project"]
    lines = [
        *project["dependencies"],
        *(line for extra in ("local", "plot", "dev") for line in project["optional-dependencies"][extra]),
        *pyproject["build-system"]["requires"],
    ]
    for line in TOOLS_IN.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return [r for r in map(Requirement, lines) if canonicalize_name(r.name) != PROJECT]


def test_the_lock_pins_every_declared_requirement_within_its_bounds() -> None:
    pins = _lock_pins()
    for requirement in _declared():
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{requirement} is not in {LOCK.name}: run `make lock`"
        version, _ = pins[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCK.name} pins {name}=={version}, outside pyproject's {requirement}: run `make lock`"
        )


def test_the_lock_is_made_by_make_lock_with_the_pinned_uv() -> None:
    text = LOCK.read_text(encoding="utf-8")
    assert "#    make lock\n" in text.split("\n", 3)[1] + "\n"
    assert "uv" in _lock_pins()
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "$(BIN)/uv pip compile" in makefile
    assert "--require-hashes -r $(LOCK)" in makefile


def test_the_virtualenv_holds_exactly_the_locked_versions() -> None:
    """`make venv` installs the lock (every target that needs .venv depends on it)."""
    if Path(sys.prefix).resolve() != (REPO_ROOT / ".venv").resolve():
        pytest.skip(f"not running in the project's .venv ({sys.prefix})")
    wrong = {}
    for name, (version, marker) in _lock_pins().items():
        if not _applies(marker):
            continue
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = "(missing)"
        if canonicalize_name(installed) != canonicalize_name(version):
            wrong[name] = f"{installed}, locked {version}"
    assert wrong == {}, "run `make venv`: .venv differs from requirements/dev.txt"


# --- console scripts ----------------------------------------------------------------------------------------


# Executables shipped as binaries rather than console_scripts entry points.
BINARY_SCRIPTS: Final = {"ruff": "ruff", "uv": "uv"}


def _dev_set_console_scripts() -> dict[str, str]:
    """script -> distribution, for the console scripts of gg-reset and of the packages it names directly."""
    names = {PROJECT} | {canonicalize_name(r.name) for r in _declared()}
    scripts: dict[str, str] = dict(BINARY_SCRIPTS)
    for distribution in metadata.distributions():
        name = canonicalize_name(distribution.metadata["Name"])
        if name not in names:
            continue
        for entry_point in distribution.entry_points:
            if entry_point.group == "console_scripts":
                scripts[entry_point.name] = name
    return scripts


def _runs(script: str) -> tuple[str, int, str]:
    path = VENV_BIN / script
    result = subprocess.run(
        [str(path), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return script, result.returncode, (result.stdout + result.stderr)[-400:]


def test_every_console_script_of_the_dev_set_runs_or_is_known_not_to() -> None:
    scripts = _dev_set_console_scripts()
    assert {"gg-reset", "pytest", "ruff", "mypy", "cfn-lint", "uv", "moto_server"} <= set(scripts)
    missing = [s for s in scripts if not (VENV_BIN / s).exists()]
    assert missing == [], f"not in {VENV_BIN}: {missing}"
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(_runs, sorted(scripts)))
    failing = {script: output for script, code, output in results if code != 0}
    assert set(failing) == set(NOT_INSTALLED_EXTRAS), failing


def test_nothing_advertises_the_scripts_that_do_not_run() -> None:
    """Only docs/toolchain.md names them, to say that they do not run and why."""
    documents = [
        REPO_ROOT / "README.md",
        REPO_ROOT / "Makefile",
        *(d for d in (REPO_ROOT / "docs").glob("*.md") if d.name != "toolchain.md"),
    ]
    words = ("moto_server", "moto[server]", "hypothesis[cli]", "hypothesis write")
    for document in documents:
        text = document.read_text(encoding="utf-8")
        assert [word for word in words if word in text] == [], document.name


# --- Node.js ------------------------------------------------------------------------------------------------


def test_package_json_pins_node_22_lts() -> None:
    package = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))
    version = package["devDependencies"]["node"]
    assert re.fullmatch(rf"{NODE_MAJOR}\.\d+\.\d+", version), version
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))
    assert lock["packages"]["node_modules/node"]["version"] == version


def test_the_repository_node_runs_and_is_node_22() -> None:
    if not (REPO_ROOT / "node_modules").exists():
        pytest.skip("node_modules/ not installed (make node)")
    node = REPO_ROOT / "node_modules" / "node" / "bin" / "node"
    assert node.exists(), "node_modules/ predates Node 22 in package.json: run `make node`"
    output = subprocess.run(
        [str(node), "--version"], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert output.startswith(f"v{NODE_MAJOR}."), output


def test_no_jsii_or_node_warning_is_silenced() -> None:
    files = [
        REPO_ROOT / "Makefile",
        REPO_ROOT / "app.py",
        REPO_ROOT / "cdk.json",
        *(REPO_ROOT / "infra").rglob("*.py"),
        *(REPO_ROOT / "tests").rglob("*.py"),
    ]
    pattern = re.compile(r"JSII_SILENCE_WARNING|JSII_DEPRECATED|NODE_NO_WARNINGS")
    this_file = Path(__file__).resolve()
    offenders = [
        str(f.relative_to(REPO_ROOT))
        for f in files
        if f.resolve() != this_file and pattern.search(f.read_text(encoding="utf-8"))
    ]
    assert offenders == []


def test_every_make_target_that_runs_the_cdk_puts_node_22_first_on_path() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    recipes = dict(re.findall(r"^([a-z]+):[^\n]*\n((?:\t[^\n]*\n)+)", makefile, re.MULTILINE))
    assert "NODE_BIN := $(CURDIR)/node_modules/node/bin" in makefile
    for target in ("synth", "test"):
        assert "$(WITH_NODE)" in recipes[target], target
    for target in ("bootstrap", "deploy", "destroy"):
        assert 'PATH="$(NODE_BIN):' in recipes[target], target
