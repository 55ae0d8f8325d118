"""Greengrass groups in moto: a group needs a core in its version before moto deploys it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_greengrass import GreengrassClient

REGION = "us-east-1"
ACCOUNT = "123456789012"


def moto_group_with_core(client: GreengrassClient, name: str) -> tuple[str, str]:
    """A moto group whose version has a core; returns (group id, version id)."""
    core_definition = client.create_core_definition(
        Name="core",
        InitialVersion={
            "Cores": [
                {
                    "CertificateArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:cert/{'a' * 64}",
                    "Id": "core-1",
                    "SyncShadow": True,
                    "ThingArn": f"arn:aws:iot:{REGION}:{ACCOUNT}:thing/core-1",
                }
            ]
        },
    )
    group = client.create_group(
        Name=name, InitialVersion={"CoreDefinitionVersionArn": core_definition["LatestVersionArn"]}
    )
    return group["Id"], group["LatestVersion"]
