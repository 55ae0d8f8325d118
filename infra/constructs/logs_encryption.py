"""Optional customer-managed encryption of the stack's log groups (`gg-reset:logsKmsKey`).

CloudWatch Logs always encrypts log data at rest; this adds a KMS key the account controls (who may use it,
rotation, CloudTrail records of its use). `create` makes one key with rotation whose key policy lets
CloudWatch Logs of the stack's region use it for the log groups of this account and region only; a key ARN
uses an existing key, whose key policy must allow the same (see `logs_key_policy_statement`).

An aspect sets the key on every `AWS::Logs::LogGroup` of the stack, so a log group added later is
encrypted too, without each construct having to pass the key on.
"""

from __future__ import annotations

from typing import Final

import jsii
from aws_cdk import ArnFormat, AspectPriority, Aspects, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from infra.config import LOGS_KMS_KEY_CREATE

# What CloudWatch Logs needs on a key to encrypt and decrypt a log group's data (CloudWatch Logs user
# guide, "Encrypt log data in CloudWatch Logs using AWS KMS").
LOGS_KEY_ACTIONS: Final = (
    "kms:Encrypt*",
    "kms:Decrypt*",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:Describe*",
)


def logs_key_policy_statement(stack: Stack) -> iam.PolicyStatement:
    """The key policy statement that lets CloudWatch Logs of this region use the key for log groups of this
    account and region (and nothing else: the encryption context names the log group)."""
    return iam.PolicyStatement(
        sid="AllowCloudWatchLogsOfThisRegion",
        principals=[iam.ServicePrincipal(f"logs.{stack.region}.{stack.url_suffix}")],
        actions=list(LOGS_KEY_ACTIONS),
        resources=["*"],  # in a key policy, "*" means this key
        conditions={
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": stack.format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name="*",
                    arn_format=ArnFormat.COLON_RESOURCE_NAME,
                )
            }
        },
    )


@jsii.implements(IAspect)
class EncryptLogGroups:
    """Sets `KmsKeyId` on every log group that has none."""

    def __init__(self, key: kms.IKey) -> None:
        self._key = key

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, logs.CfnLogGroup) and node.kms_key_id is None:
            node.kms_key_id = self._key.key_arn


class LogsEncryption(Construct):
    """The key (`create`) or the imported key (an ARN), applied to every log group of `scope`'s stack."""

    def __init__(self, scope: Construct, construct_id: str, *, setting: str, retain: bool) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        if setting == LOGS_KMS_KEY_CREATE:
            key = kms.Key(
                self,
                "Key",
                description="gg-reset log groups encryption",
                enable_key_rotation=True,
                removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            )
            key.add_to_resource_policy(logs_key_policy_statement(stack))
            self.key: kms.IKey = key
        else:
            self.key = kms.Key.from_key_arn(self, "Key", setting)
        Aspects.of(stack).add(EncryptLogGroups(self.key), priority=AspectPriority.MUTATING)
