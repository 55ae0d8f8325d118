"""docs/configuration.md's table is `infra/config.py`'s `CONTEXT_OPTIONS`: every option, its default and its
description, in the app's order. On a difference the test fails with a diff; run it with
`GG_RESET_UPDATE_DOCS=1` to rewrite the table from the code (CONTRIBUTING.md). The README's short summary
shows a few options: their defaults must be the app's too."""

from __future__ import annotations

import difflib
import json
import os
import re
from pathlib import Path

from infra.config import CONTEXT_OPTIONS, PREFIX, ContextOption

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "configuration.md"
README = REPO_ROOT / "README.md"
BEGIN = (
    "<!-- BEGIN CONTEXT_OPTIONS: generated from infra/config.py by tests/docs/test_configuration_doc.py -->"
)
END = "<!-- END CONTEXT_OPTIONS -->"
UPDATE = os.environ.get("GG_RESET_UPDATE_DOCS") == "1"


def shown_default(option: ContextOption) -> str:
    """As the infra tests read it: `(none)`, or the JSON of the default, unquoted, in backticks."""
    if option.default is None:
        return "(none)"
    return "`" + json.dumps(option.default).strip('"') + "`"


def table() -> str:
    rows = [
        "| `{}{}` | {} | {} |".format(PREFIX, o.key, shown_default(o), o.description.replace("|", "\\|"))
        for o in CONTEXT_OPTIONS
    ]
    return "\n".join(["| Context key | Default | What it does |", "| --- | --- | --- |", *rows])


def test_the_options_table_is_the_apps_list_of_options() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert text.count(BEGIN) == 1 and text.count(END) == 1, f"{DOC.name}: the table's markers are missing"
    before, rest = text.split(BEGIN + "\n", 1)
    current, after = rest.split(END, 1)
    wanted = table() + "\n"
    if UPDATE:
        DOC.write_text(before + BEGIN + "\n" + wanted + END + after, encoding="utf-8")
        return
    diff = "".join(
        difflib.unified_diff(
            current.splitlines(keepends=True),
            wanted.splitlines(keepends=True),
            "docs/configuration.md",
            "infra/config.py CONTEXT_OPTIONS",
        )
    )
    assert not diff, (
        f"docs/configuration.md's options table differs from infra/config.py:\n{diff}\n"
        "Refresh it: GG_RESET_UPDATE_DOCS=1 .venv/bin/pytest -p no:xdist tests/docs/test_configuration_doc.py"
    )


def test_the_readme_summary_shows_the_apps_defaults() -> None:
    readme = README.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\|\s*`gg-reset:([A-Za-z]+)`\s*\|\s*([^|]*?)\s*\|", readme, re.MULTILINE))
    assert rows, "the README's configuration summary names no option"
    options = {o.key: o for o in CONTEXT_OPTIONS}
    for key, default in rows.items():
        assert key in options, f"README names gg-reset:{key}, which infra/config.py does not know"
        assert default == shown_default(options[key]), key
