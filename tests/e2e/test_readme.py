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
