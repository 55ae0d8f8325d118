"""The README's examples run as written."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_the_local_service_example() -> None:
    blocks = [b for b in python_blocks() if "LocalService" in b]
    assert len(blocks) == 1


def test_readme_local_service_example_runs() -> None:
    [block] = [b for b in python_blocks() if "LocalService" in b]
    namespace: dict[str, object] = {}
    exec(compile(block, str(README), "exec"), namespace)  # the example asserts its own outcome
    assert namespace["record"] is not None


def test_every_guarantee_names_tests_that_exist() -> None:
    readme = README.read_text(encoding="utf-8")
    section = readme.split("### Guarantees", 1)[1].split("\n### ", 1)[0]
    named = re.findall(r"`((?:unit|integration|e2e|infra|reliability)/[\w/]+\.py)(?:::(\w+))?`", section)
    assert len(named) >= 10
    for path, test in named:
        source = README.parent / "tests" / path
        assert source.is_file(), path
        if test:
            assert re.search(rf"^def {test}\(", source.read_text(encoding="utf-8"), re.MULTILINE), test
