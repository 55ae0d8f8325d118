"""The notification topic: terminal failures (published by the Lambdas) and CloudWatch alarms."""

from __future__ import annotations

from aws_cdk import RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct


class Notifications(Construct):
    """An SNS topic encrypted with its own KMS key, plus an optional email subscription.

    The key is customer managed because CloudWatch alarms cannot publish to a topic encrypted with the AWS
    managed `alias/aws/sns` key: its key policy cannot be extended to `cloudwatch.amazonaws.com`.
    """

    def __init__(self, scope: Construct, construct_id: str, *, alarm_email: str | None, retain: bool) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)

        self.key = kms.Key(
            self,
            "TopicKey",
            description="gg-reset notification topic encryption",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )

        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="gg-reset notifications",
            master_key=self.key,
            enforce_ssl=True,
        )
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            )
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
