"""People of the customer's account in moto: IAM users with their own access keys, who reach an EKS
cluster the way a person does, with `aws eks get-token` and their own AWS profile.

Used by the tests. `create_person(aws_env, name)` creates IAM user `name` and an access key with the
account admin's credentials (`aws_env`: `MotoServer.env()`, the same settings
`customer_account` uses) and lets the user describe and list EKS clusters (what
`aws eks update-kubeconfig` needs), nothing else. `create_role_for(aws_env, person, name)` makes a
role only that person may assume, without an external id: the stand-in for an SSO permission-set
role. `Person.session()` is the person's own boto3 session, `Person.assume(role_arn)` one of such a
role; `eks_token(session, cluster, region)` is `aws eks get-token --cluster-name ... --region ...`
(`fleetyard.cloud.eks_token`), with no `--role-arn`. Those clients reach moto through the standard
AWS settings (`AWS_ENDPOINT_URL` in the environment), like fleetyard's own.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import boto3

from fleetyard.cloud import eks_token as eks_tokens
from fleetyard.cloud import session as sessions

PERSON_POLICY = "eks-describe"
PERSON_ACTIONS = ("eks:DescribeCluster", "eks:ListClusters")


@dataclasses.dataclass(frozen=True)
class Person:
    """An IAM user and its access key."""

    name: str
    arn: str
    user_id: str
    region: str
    access_key_id: str = dataclasses.field(repr=False)
    secret_access_key: str = dataclasses.field(repr=False)

    @property
    def account_id(self) -> str:
        return self.arn.split(":")[4]

    def session(self) -> boto3.Session:
        return sessions.session_from_credentials(self.access_key_id, self.secret_access_key, None, self.region)

    def assume(self, role_arn: str, session_name: str | None = None) -> boto3.Session:
        """A session of `role_arn`, assumed with the person's own credentials (no external id)."""
        creds = sessions.client(self.session(), "sts").assume_role(
            RoleArn=role_arn, RoleSessionName=session_name or self.name)["Credentials"]
        return sessions.session_from_credentials(creds["AccessKeyId"], creds["SecretAccessKey"],
                                                 creds["SessionToken"], self.region)


def _admin(aws_env: dict[str, str], service: str) -> Any:
    return boto3.client(service, endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name=aws_env["AWS_REGION"],
                        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"])


def create_person(aws_env: dict[str, str], name: str) -> Person:
    iam = _admin(aws_env, "iam")
    user = iam.create_user(UserName=name)["User"]
    iam.put_user_policy(UserName=name, PolicyName=PERSON_POLICY, PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(PERSON_ACTIONS), "Resource": "*"}]}))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Person(name, user["Arn"], user["UserId"], aws_env["AWS_REGION"], key["AccessKeyId"],
                  key["SecretAccessKey"])


def delete_person(aws_env: dict[str, str], person: Person) -> None:
    """Remove the user with its key and policy (a principal re-created later is a new one)."""
    iam = _admin(aws_env, "iam")
    iam.delete_access_key(UserName=person.name, AccessKeyId=person.access_key_id)
    iam.delete_user_policy(UserName=person.name, PolicyName=PERSON_POLICY)
    iam.delete_user(UserName=person.name)


def create_role_for(aws_env: dict[str, str], person: Person, name: str) -> str:
    """A role whose trust policy names only `person` (no external id); returns its ARN."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": person.arn}, "Action": "sts:AssumeRole"}]}
    role = _admin(aws_env, "iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))
    return str(role["Role"]["Arn"])


def eks_token(session: boto3.Session, cluster: str, region: str) -> str:
    """What `aws eks get-token --cluster-name <cluster> --region <region>` prints as the token."""
    return eks_tokens.get_token(session, cluster, region).value
