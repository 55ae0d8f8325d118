"""The AWS IoT side of the simulated fleet: each Greengrass V1 core's thing, certificate and policy, in moto.

A full teardown of a V1 group reaches beyond Greengrass: the core's AWS IoT thing, its certificate and the
policy attached to that certificate. Rather than model AWS IoT a second time, the local runtime uses moto's
IoT backend (in-process under `mock_aws()`), which already enforces the rules a teardown runs into (an
ACTIVE certificate cannot be deleted, nor one still attached to a thing or a policy, nor a thing with a
principal attached). docs/greengrass-v1.md, "AWS IoT and Greengrass V2 (what a teardown touches)", lists
those rules, their sources, and where moto differs from AWS.

`MotoCoreIdentities` is the `CoreIdentities` the Greengrass V1 simulator calls for every fleet group
(`GreengrassSimulator(identities=...)`), so the ARNs in a group's core definition version name a thing and a
certificate that exist. Its read helpers (`thing_exists`, `certificate_status`, `policies_of`, ...) let tests
and the demo check what a teardown left behind.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from botocore.exceptions import ClientError
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from mypy_boto3_iot import IoTClient

__all__ = [
    "CORE_POLICY_DOCUMENT",
    "NOT_FOUND_CODE",
    "MotoCoreIdentities",
    "core_policy_name",
]

NOT_FOUND_CODE: Final = "ResourceNotFoundException"
"""AWS IoT's (and moto's) answer for a thing, certificate or policy that does not exist (HTTP 404)."""
_ALREADY_EXISTS_CODE: Final = "ResourceAlreadyExistsException"

CORE_POLICY_DOCUMENT: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iot:Publish", "iot:Subscribe", "iot:Connect", "iot:Receive"],
                "Resource": ["*"],
            },
            {
                "Effect": "Allow",
                "Action": ["iot:GetThingShadow", "iot:UpdateThingShadow", "iot:DeleteThingShadow"],
                "Resource": ["*"],
            },
            {"Effect": "Allow", "Action": ["greengrass:*"], "Resource": ["*"]},
        ],
    }
)
"""A permissive core policy (MQTT, shadows, `greengrass:*`), of the kind V1 getting-started material attaches
to a core's certificate. Not the console's own text: no teardown reads its content, only its attachment."""


def core_policy_name(thing_name: str) -> str:
    """The per-core policy the Greengrass V1 console creates: `<core thing name>-policy`.

    For a group `MyGroup` the console makes the thing `MyGroup_Core` and the policy `MyGroup_Core-policy`:
    the AWS CLI's own examples show such policies (`MyPiGroup_Core-policy` in `aws iot list-policies`,
    `MyFirstGroup_Core-policy` in `aws iot detach-policy`; aws/aws-cli, `awscli/examples/iot/`).
    """
    return f"{thing_name}-policy"


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _certificate_id(certificate_arn: str) -> str:
    """`arn:aws:iot:<region>:<account>:cert/<id>` -> `<id>` (the API's `certificateId`)."""
    return certificate_arn.rpartition("/")[2]


_CERTIFICATE_START: Final = datetime(2020, 1, 1, tzinfo=UTC)


def _certificate_pem(thing_name: str, serial: int) -> str:
    """A self-signed certificate for a simulated core, registered as a device would register its own
    (`RegisterCertificateWithoutCA`). Ed25519, its key derived from the name and `serial`: a few
    milliseconds, where moto's `CreateKeysAndCertificate` makes an RSA-2048 key pair (80 ms, too slow for
    thousand-group fleets), and the same seed gives the same certificate ids run after run."""
    seed = hashlib.sha256(f"gg-reset simulated core {thing_name} {serial}".encode()).digest()
    key = ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, thing_name)])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(_CERTIFICATE_START)
        .not_valid_after(_CERTIFICATE_START + timedelta(days=36_500))
        .sign(key, None)
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


class MotoCoreIdentities:
    """Provisions Greengrass V1 cores in AWS IoT the way the console does, through an IoT client.

    Meant for moto's in-process backend (a client made inside `mock_aws()`), but it makes only ordinary AWS
    IoT calls. Satisfies `gg_reset.local.greengrass_sim.CoreIdentities`.
    """

    def __init__(self, iot_client: IoTClient) -> None:
        if iot_client.meta.service_model.service_name != "iot":
            raise ValueError(f"needs an iot client, not {iot_client.meta.service_model.service_name}")
        self._iot = iot_client
        self._issued = 0
        """Certificates made so far: each one's key is derived from its thing's name and this count."""

    # --- provisioning ---------------------------------------------------------------------------------

    def provision(self, thing_name: str) -> tuple[str, str]:
        """Create the core's thing, an ACTIVE certificate attached to it, and the per-core policy
        (`core_policy_name`) attached to the certificate; returns (thing ARN, certificate ARN).

        A thing that already exists is reused (two V1 groups may name the same core thing): it gets a
        certificate of its own, as a second core definition for the same device would. The policy is
        created once per thing and attached to every certificate provisioned for it.
        """
        thing_arn = self._ensure_thing(thing_name)
        self._issued += 1
        certificate = self._iot.register_certificate_without_ca(
            certificatePem=_certificate_pem(thing_name, self._issued), status="ACTIVE"
        )
        certificate_arn = certificate["certificateArn"]
        self._iot.attach_thing_principal(thingName=thing_name, principal=certificate_arn)
        policy_name = core_policy_name(thing_name)
        self._ensure_policy(policy_name)
        self._iot.attach_policy(policyName=policy_name, target=certificate_arn)
        return thing_arn, certificate_arn

    def share_certificate(self, certificate_arn: str, other_thing_name: str) -> str:
        """Attach a core's certificate to a second thing (created if absent); returns that thing's ARN.

        This is the "certificate used by another thing" situation: a teardown must keep such a certificate,
        since deleting it would cut the other thing off.
        """
        thing_arn = self._ensure_thing(other_thing_name)
        self._iot.attach_thing_principal(thingName=other_thing_name, principal=certificate_arn)
        return thing_arn

    def _ensure_thing(self, thing_name: str) -> str:
        # Describe before create: moto's CreateThing of an existing name silently replaces the thing (a new
        # thingId), where AWS returns the existing one.
        try:
            return self._iot.describe_thing(thingName=thing_name)["thingArn"]
        except ClientError as error:
            if _code(error) != NOT_FOUND_CODE:
                raise
        return self._iot.create_thing(thingName=thing_name)["thingArn"]

    def _ensure_policy(self, policy_name: str) -> None:
        try:
            self._iot.create_policy(policyName=policy_name, policyDocument=CORE_POLICY_DOCUMENT)
        except ClientError as error:
            if _code(error) != _ALREADY_EXISTS_CODE:
                raise

    # --- reading what is there (what a teardown left behind) ----------------------------------------------

    def thing_exists(self, thing_name: str) -> bool:
        try:
            self._iot.describe_thing(thingName=thing_name)
        except ClientError as error:
            if _code(error) == NOT_FOUND_CODE:
                return False
            raise
        return True

    def certificate_status(self, certificate_arn: str) -> str | None:
        """`ACTIVE`, `INACTIVE`, `REVOKED`...; `None` once the certificate is deleted."""
        try:
            description = self._iot.describe_certificate(certificateId=_certificate_id(certificate_arn))
        except ClientError as error:
            if _code(error) == NOT_FOUND_CODE:
                return None
            raise
        return description["certificateDescription"].get("status")

    def certificate_exists(self, certificate_arn: str) -> bool:
        return self.certificate_status(certificate_arn) is not None

    def policies_of(self, certificate_arn: str) -> list[str]:
        """Names of the policies attached to the certificate (empty once it is deleted: moto lists nothing
        for an unknown target)."""
        names: list[str] = []
        marker: str | None = None
        while True:
            page = (
                self._iot.list_attached_policies(target=certificate_arn, marker=marker)
                if marker
                else self._iot.list_attached_policies(target=certificate_arn)
            )
            names += [policy["policyName"] for policy in page.get("policies", []) if "policyName" in policy]
            marker = page.get("nextMarker")
            if not marker:
                return names

    def principals_of(self, thing_name: str) -> list[str]:
        """ARNs of the principals (certificates) attached to the thing; empty if the thing does not exist
        (tell the two apart with `thing_exists`)."""
        principals: list[str] = []
        token: str | None = None
        try:
            while True:
                page = (
                    self._iot.list_thing_principals(thingName=thing_name, nextToken=token)
                    if token
                    else self._iot.list_thing_principals(thingName=thing_name)
                )
                principals += page.get("principals", [])
                token = page.get("nextToken")
                if not token:
                    return principals
        except ClientError as error:
            if _code(error) == NOT_FOUND_CODE:
                return []
            raise

    def things_of(self, certificate_arn: str) -> list[str]:
        """Names of the things the certificate is attached to (empty once it is deleted)."""
        things: list[str] = []
        token: str | None = None
        while True:
            page = (
                self._iot.list_principal_things(principal=certificate_arn, nextToken=token)
                if token
                else self._iot.list_principal_things(principal=certificate_arn)
            )
            things += page.get("things", [])
            token = page.get("nextToken")
            if not token:
                return things

    def policy_exists(self, policy_name: str) -> bool:
        try:
            self._iot.get_policy(policyName=policy_name)
        except ClientError as error:
            if _code(error) == NOT_FOUND_CODE:
                return False
            raise
        return True
