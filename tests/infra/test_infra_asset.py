"""The Lambda code asset: only runtime files, small, and importable with what Lambda provides."""

from __future__ import annotations

import ast
import io
import sys
import zipfile
from pathlib import Path

import pytest

from infra.bundling import FUNCTIONS_DIR, copy_runtime_package, is_cli_module
from infra.constructs.reset_functions import SWEEPER_HANDLER, WORKER_HANDLER
from infra.testing import Synth

pytestmark = pytest.mark.infra

MAX_ZIPPED_BYTES = 512 * 1024

# What Lambda provides besides the standard library: the runtime's boto3 and the Powertools v3 layer, which
# is built with every extra (pydantic for the parser, aws-xray-sdk for the tracer) and their dependencies.
PROVIDED_PACKAGES = {
    "boto3",
    "botocore",
    "s3transfer",
    "jmespath",
    "dateutil",
    "urllib3",
    "aws_lambda_powertools",
    "pydantic",
    "pydantic_core",
    "typing_extensions",
    "annotated_types",
    "aws_xray_sdk",
    "wrapt",
}


def _asset_dir(synth: Synth) -> Path:
    function = synth.template_json["Resources"][synth.logical_id("ResetFunctions/Worker")]
    return synth.outdir / str(function["Metadata"]["aws:asset:path"])


def _files(root: Path) -> list[Path]:
    return sorted(p.relative_to(root) for p in root.rglob("*") if p.is_file())


def test_both_lambdas_share_one_asset(synth: Synth) -> None:
    keys = {
        f["Properties"]["Code"]["S3Key"]
        for f in synth.resources("AWS::Lambda::Function").values()
        if f["Properties"].get("Handler", "").startswith("gg_reset.")
    }
    assert len(keys) == 1


def test_asset_holds_only_the_runtime_package(synth: Synth) -> None:
    files = _files(_asset_dir(synth))
    assert files, "empty asset"
    for path in files:
        assert path.parts[0] == "gg_reset", path
        assert "local" not in path.parts, path
        assert not is_cli_module(path.relative_to("gg_reset")), path
        assert "tests" not in path.parts and not path.name.startswith("test_"), path
        assert "__pycache__" not in path.parts and path.suffix != ".pyc", path
        assert path.suffix == ".py" or path.name == "py.typed", path
    expected = {p.relative_to("gg_reset") for p in _files(_asset_dir(synth))}
    source = {
        p
        for p in _files(FUNCTIONS_DIR / "gg_reset")
        if p.suffix == ".py"
        and p.parts[0] != "local"
        and not is_cli_module(p)
        and "__pycache__" not in p.parts
    }
    assert expected == source  # nothing the runtime needs was left out


def test_asset_size_is_bounded(synth: Synth) -> None:
    root = _asset_dir(synth)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in _files(root):
            archive.write(root / path, str(path))
    raw = sum((root / p).stat().st_size for p in _files(root))
    zipped = buffer.tell()
    print(
        f"\nLambda asset: {len(_files(root))} files, {raw / 1024:.1f} KiB raw, {zipped / 1024:.1f} KiB zipped"
    )
    assert zipped < MAX_ZIPPED_BYTES


@pytest.mark.parametrize("handler", [WORKER_HANDLER, SWEEPER_HANDLER])
def test_handlers_exist_in_the_asset(synth: Synth, handler: str) -> None:
    module, _, function = handler.rpartition(".")
    path = _asset_dir(synth) / (module.replace(".", "/") + ".py")
    assert path.is_file(), f"{handler}: {path.name} is not in the asset"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)}
    names |= {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    assert function in names, f"{handler}: no top-level {function!r}"


def _runtime_imports(tree: ast.Module) -> set[str]:
    """Absolute imports executed at run time (`if TYPE_CHECKING:` imports are for the type checker)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped.update(id(child) for stmt in node.body for child in ast.walk(stmt))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module)
    return modules


def test_asset_imports_only_what_lambda_provides(synth: Synth) -> None:
    root = _asset_dir(synth)
    missing: list[str] = []
    for path in _files(root):
        if path.suffix != ".py":
            continue
        for module in _runtime_imports(ast.parse((root / path).read_text(encoding="utf-8"))):
            top = module.split(".")[0]
            if top == "gg_reset":
                candidates = [
                    root / (module.replace(".", "/") + ".py"),
                    root / module.replace(".", "/") / "__init__.py",
                ]
                if not any(c.is_file() for c in candidates):
                    missing.append(f"{path}: {module} (not in the asset)")
            elif top not in sys.stdlib_module_names and top not in PROVIDED_PACKAGES and top != "__future__":
                missing.append(f"{path}: {module} (neither stdlib, the runtime nor the Powertools layer)")
    assert missing == []


def test_local_bundling_skips_simulator_cli_tests_and_caches(tmp_path: Path) -> None:
    source = tmp_path / "src"
    package = source / "gg_reset"
    for relative in [
        "__init__.py",
        "py.typed",
        "handlers/worker.py",
        "local/runtime.py",
        "cli/__init__.py",
        "cli/app.py",
        "cli/requests.py",
        "tests/test_x.py",
        "domain/test_model.py",
        "__pycache__/settings.cpython-311.pyc",
        "notes.md",
    ]:
        (package / relative).parent.mkdir(parents=True, exist_ok=True)
        (package / relative).write_text("# x\n", encoding="utf-8")
    copied = copy_runtime_package(source, tmp_path / "out")
    assert sorted(str(p) for p in copied) == [
        "gg_reset/__init__.py",
        "gg_reset/handlers/worker.py",
        "gg_reset/py.typed",
    ]
