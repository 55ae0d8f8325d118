"""The README's and the docs' examples run as written, and the guarantees name tests that exist.

Every ```python block of README.md and docs/*.md runs: a block that uses the `gg_reset_local` fixture is a
test file, run by pytest with the plugin as a team embedding gg-reset would; any other block is executed
and asserts its own outcome.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
GUARANTEES = REPO_ROOT / "docs" / "guarantees.md"
PAGES = [README, *sorted((REPO_ROOT / "docs").glob("*.md"))]
FIXTURE = "gg_reset_local"


def python_blocks(page: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.DOTALL)


def blocks(*, fixture: bool) -> list[tuple[Path, int, str]]:
    return [
        (page, index, block)
        for page in PAGES
        for index, block in enumerate(python_blocks(page))
        if (FIXTURE in block) is fixture
    ]


def block_id(page: Path, index: int) -> str:
    return f"{page.relative_to(REPO_ROOT)}#{index}"


def test_readme_shows_the_pytest_plugin() -> None:
    assert [b for b in python_blocks(README) if "def test_" in b and f"({FIXTURE})" in b]


def test_the_docs_have_the_local_service_example() -> None:
    assert [page for page, _, block in blocks(fixture=False) if "LocalService" in block]


@pytest.mark.parametrize(
    ("page", "index", "block"),
    [pytest.param(*b, id=block_id(b[0], b[1])) for b in blocks(fixture=False)],
)
def test_python_example_runs(page: Path, index: int, block: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile(block, f"{page}#{index}", "exec"), namespace)  # the example asserts its own outcome


def test_pytest_plugin_examples_pass_as_a_user_test_suite(tmp_path: Path) -> None:
    examples = blocks(fixture=True)
    assert examples
    for page, index, block in examples:
        name = re.sub(r"\W", "_", block_id(page, index))
        (tmp_path / f"test_{name}.py").write_text(block, encoding="utf-8")
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # only the plugin, loaded by name
    plugin = ["-p", "gg_reset.local.pytest_plugin", "-p", "no:cacheprovider", "--strict-markers"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", *plugin, "-q", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"{sum(b.count('def test_') for _, _, b in examples)} passed" in output, output


def test_every_guarantee_names_tests_that_exist() -> None:
    section = GUARANTEES.read_text(encoding="utf-8").split("## The guarantees", 1)[1].split("\n## ", 1)[0]
    named = re.findall(r"`((?:unit|integration|e2e|infra|reliability)/[\w/]+\.py)(?:::(\w+))?`", section)
    assert len(named) >= 10
    for path, test in named:
        source = REPO_ROOT / "tests" / path
        assert source.is_file(), path
        if test:
            assert re.search(rf"^def {test}\(", source.read_text(encoding="utf-8"), re.MULTILINE), test
