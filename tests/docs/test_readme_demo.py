"""The README's sample of `make demo` is the output of a real run, so it cannot go stale.

The test runs `gg-reset demo` with the arguments the sample's first line shows (`$ make demo`, which runs
`.venv/bin/gg-reset demo $(DEMO_ARGS)`; or `$ gg-reset demo ARGS`), as a reader's 80-column terminal would
lay it out but not being one (COLUMNS=80, output to a pipe), and compares the output with the sample after
normalising what varies from run to run: the progress bar's elapsed time and the wall-clock seconds.
Trailing spaces are dropped on both sides (rich pads its tables; the README keeps no trailing whitespace).
make's echo of its recipe is not part of the sample.

On a difference the test fails with a unified diff. To refresh the sample from a real run:

    GG_RESET_UPDATE_DOCS=1 .venv/bin/pytest -p no:xdist tests/docs/test_readme_demo.py

(takes as long as the demo, about 30 s; CONTRIBUTING.md).
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"
UPDATE = os.environ.get("GG_RESET_UPDATE_DOCS") == "1"
MARKER = "<!-- The block below is the output of a real run, written by tests/docs/test_readme_demo.py"
BLOCK = re.compile(r"(?P<open>```text\n)(?P<body>\$ (?P<command>[^\n]*)\n.*?)(?P<close>```)", re.DOTALL)
REFRESH = "GG_RESET_UPDATE_DOCS=1 .venv/bin/pytest -p no:xdist tests/docs/test_readme_demo.py"
TIMEOUT_S = 600

# What varies from run to run, and nothing else.
ELAPSED = re.compile(r"(?m)^(requests finished .*?)\d+:\d\d:\d\d$")
WALL = re.compile(r"\b\d+(?:\.\d+)?s wall\b")


def sample() -> re.Match[str]:
    text = README.read_text(encoding="utf-8")
    assert text.count(MARKER) == 1, "the README's demo sample has lost its marker comment"
    found = BLOCK.search(text, text.index(MARKER))
    assert found, "no ```text block starting with '$ ' after the demo marker in README.md"
    return found


def demo_arguments(command: str) -> list[str]:
    """The `gg-reset demo` arguments of the sample's command line."""
    words = shlex.split(command)
    if words[:2] == ["make", "demo"]:
        settings = dict(word.split("=", 1) for word in words[2:])
        assert set(settings) <= {"DEMO_ARGS"}, f"make variables the test does not know: {command}"
        return shlex.split(settings.get("DEMO_ARGS", ""))
    assert words[:2] == ["gg-reset", "demo"], f"not a demo command line: {command}"
    return words[2:]


def run_demo(arguments: list[str]) -> str:
    executable = Path(sys.executable).with_name("gg-reset")
    drop = ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE", "LINES")
    env = {key: value for key, value in os.environ.items() if key not in drop}
    env["COLUMNS"] = "80"
    result = subprocess.run(
        [str(executable), "demo", *arguments],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO_ROOT,
        timeout=TIMEOUT_S,
        check=False,
    )
    failed = f"gg-reset demo failed ({result.returncode}):\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, failed
    return result.stdout


def tidy(output: str) -> str:
    lines = [line.rstrip() for line in output.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines) + "\n"


def normalised(text: str) -> str:
    return WALL.sub("N.NNs wall", ELAPSED.sub(r"\g<1>H:MM:SS", text))


def test_the_readme_demo_sample_is_the_output_of_a_real_run() -> None:
    found = sample()
    command = found["command"].strip()
    output = tidy(run_demo(demo_arguments(command)))
    documented = found["body"].split("\n", 1)[1]
    if UPDATE:
        text = README.read_text(encoding="utf-8")
        body = f"$ {command}\n{output}"
        README.write_text(text[: found.start("body")] + body + text[found.end("body") :], encoding="utf-8")
        return
    diff = "".join(
        difflib.unified_diff(
            normalised(documented).splitlines(keepends=True),
            normalised(output).splitlines(keepends=True),
            "README.md (the demo sample)",
            shlex.join(["gg-reset", "demo", *demo_arguments(command)]) + " (this run)",
        )
    )
    assert not diff, f"README.md's demo sample is stale:\n{diff}\nRefresh it from a real run: {REFRESH}"


def test_only_the_wall_clock_is_normalised() -> None:
    """The normalisation hides the elapsed time and the wall seconds, and no count."""
    line = "requests finished ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 279/279 0:00:25"
    assert normalised(line) == "requests finished ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 279/279 H:MM:SS"
    row = "time              0:11:02 simulated, 26.53s wall"
    assert normalised(row) == "time              0:11:02 simulated, N.NNs wall"
    assert normalised("worker 358 invocations, 853 messages") == "worker 358 invocations, 853 messages"


def test_the_sample_command_is_understood() -> None:
    assert demo_arguments("make demo") == []
    assert demo_arguments('make demo DEMO_ARGS="--groups 60 --seed 3"') == ["--groups", "60", "--seed", "3"]
    assert demo_arguments("gg-reset demo --seed 7") == ["--seed", "7"]
