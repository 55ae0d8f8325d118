"""The `gg_reset_local` pytest plugin, as a team embedding LocalService uses it: loaded by name (its
`pytest11` entry point is checked in test_install.py), options from a fixture override and markers."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gg_reset.local import pytest_plugin

USER_TESTS = textwrap.dedent(
    """
    import pytest

    from gg_reset.domain.model import WorkflowState


    @pytest.fixture
    def gg_reset_local_options():
        return {"seed": 5, "batch_size": 4}


    def test_options_fixture_and_a_whole_run(gg_reset_local):
        assert (gg_reset_local.seed, gg_reset_local.batch_size) == (5, 4)
        gid = gg_reset_local.fleet.add_group(core="offline")
        gg_reset_local.request_deletion(gid)
        gg_reset_local.run_until_idle()
        view = gg_reset_local.ledger.get(gid)
        assert view.state is WorkflowState.DELETED and view.forced


    @pytest.mark.gg_reset_local(seed=1)
    class TestMarkers:
        @pytest.mark.gg_reset_local(seed=9)
        def test_the_closest_marker_wins(self, gg_reset_local):
            assert (gg_reset_local.seed, gg_reset_local.batch_size) == (9, 4)

        def test_the_class_marker_applies(self, gg_reset_local):
            assert gg_reset_local.seed == 1


    @pytest.mark.gg_reset_local(colour="blue")
    def test_an_unknown_option_fails_clearly(gg_reset_local):
        pass
    """
)


def test_the_fixture_in_a_user_test_suite(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(USER_TESTS)
    env = {**os.environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # only the plugin under test, by name
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "gg_reset.local.pytest_plugin",
            "--strict-markers",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(tmp_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    output = result.stdout + result.stderr
    assert "3 passed" in output and "1 error" in output, output
    assert "unknown LocalService option(s) colour (known: seed, policy" in output, output
    assert "Traceback" not in output, output


def test_without_the_local_extra_the_fixture_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "moto", None)  # as if moto were not installed
    monkeypatch.delitem(sys.modules, "gg_reset.local.runtime", raising=False)
    with pytest.raises(pytest.fail.Exception, match=r"pip install 'gg-reset\[local\]'"):
        pytest_plugin._local_service_class()
