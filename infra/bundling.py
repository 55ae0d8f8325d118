"""The Lambda code asset, built on this machine without Docker.

The asset holds only the `gg_reset` runtime package: no tests, no local simulator (`gg_reset/local`), no CLI
(`gg_reset/cli/`), no caches. Its third-party dependencies come from the Lambda runtime (boto3) and the
public Powertools v3 layer, which is built with every Powertools extra (pydantic for the parser,
aws-xray-sdk for the tracer), so nothing is pip-installed into the asset.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
FUNCTIONS_DIR: Final = REPO_ROOT / "functions"
PACKAGE: Final = "gg_reset"

# Paths (relative to the package) that never go to Lambda.
EXCLUDED_PACKAGE_PATHS: Final = frozenset({"local", "cli", "tests", "conftest.py"})
EXCLUDED_DIR_NAMES: Final = frozenset({"__pycache__", "tests", ".mypy_cache", ".pytest_cache"})
INCLUDED_SUFFIXES: Final = frozenset({".py"})
INCLUDED_NAMES: Final = frozenset({"py.typed"})


def is_cli_module(relative: Path) -> bool:
    """The operator CLI (the `cli` package): it runs on a laptop, not in a Lambda."""
    return relative.parts[0] == "cli"


def runtime_files(package_dir: Path) -> Iterator[Path]:
    """The package's runtime files, relative to `package_dir`, in a stable order."""
    for path in sorted(package_dir.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(package_dir)
        if relative.parts[0] in EXCLUDED_PACKAGE_PATHS:
            continue
        if any(part in EXCLUDED_DIR_NAMES for part in relative.parts[:-1]):
            continue
        name = relative.name
        if name.startswith("test_") or name.endswith("_test.py"):
            continue
        if path.suffix in INCLUDED_SUFFIXES or name in INCLUDED_NAMES:
            yield relative


def copy_runtime_package(source_root: Path, output_dir: Path) -> list[Path]:
    """Copy `<source_root>/gg_reset`'s runtime files into `<output_dir>/gg_reset`; return what was copied."""
    package_dir = source_root / PACKAGE
    if not (package_dir / "__init__.py").is_file():
        raise FileNotFoundError(f"{package_dir} is not the gg_reset package (no __init__.py)")
    copied: list[Path] = []
    for relative in runtime_files(package_dir):
        target = output_dir / PACKAGE / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(
            package_dir / relative, target
        )  # content only: no mtimes, so the asset hash is stable
        copied.append(Path(PACKAGE) / relative)
    return copied


@jsii.implements(ILocalBundling)
class LocalRuntimeBundling:
    """CDK local bundling: copies the runtime package; never falls back to Docker."""

    def __init__(self, source_root: Path = FUNCTIONS_DIR) -> None:
        self._source_root = source_root

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: Any) -> bool:
        copy_runtime_package(self._source_root, Path(output_dir))
        return True


def lambda_code(source_root: Path = FUNCTIONS_DIR) -> lambda_.Code:
    """The shared code asset of the worker and the sweeper.

    The hash is the hash of the bundled output, so the asset (and the template's S3 key) changes only when a
    runtime file changes, not when caches, tests or the local simulator do.
    """
    return lambda_.Code.from_asset(
        str(source_root),
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Required by the API but never pulled: local bundling always succeeds.
            image=lambda_.Runtime.PYTHON_3_13.bundling_image,
            local=LocalRuntimeBundling(source_root),
        ),
    )
