#!/usr/bin/env python3
"""Build one named scenario in moto through the AWS APIs and print what the test needs.

Usage: python scenario.py --endpoint http://127.0.0.1:PORT --region REGION NAME
       python scenario.py --list

NAME is one of SCENARIOS, or `cluster-N` / `cluster-N-broken` for any N >= 0 (see `_cluster`).

Prints one JSON object on stdout (see `Built.to_json`); every key is always present, null or
empty when the scenario did not create that thing. Exit status 2 on an unknown NAME, 1 on an
API error (the error goes to stderr).

A scenario is the `endpoint-only` base `Spec` plus a small change (see SCENARIOS); add new
ones there. Each scenario builds its own VPC 10.0.0.0/16 (moto's default VPC is left alone)
and its own execution role `ecsTaskExecutionRole-REGION` (IAM is global), so run each in its
own region (or account) to keep tests independent; building twice in one region fails.
"""

import argparse
import dataclasses
import hashlib
import ipaddress
import json
import re
import sys
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT_ID = "123456789012"
CLUSTER = "app"
SERVICE = "web"
FAMILY = "web"
REPOSITORY = "web"
# IAM is global in moto's account, and scenarios are built in parallel in different regions:
# one role per region keeps them apart.
EXECUTION_ROLE = "ecsTaskExecutionRole-{region}"
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
SECRET_ENV = {"name": "DB_PASSWORD", "value": "hunter2"}  # must never appear in a snapshot
DEFAULT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs")
# Templates: {account}, {region} and (in policy resources) {secret_arn} are filled in.
EFS_CLIENT_ACTIONS = ("elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite")
TASK_ROLE = "webTaskRole-{region}"
EXEC_KMS_KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
IMAGE_TAG = "1.0"
PRIVATE_IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/" + REPOSITORY + ":" + IMAGE_TAG
# The same image by ECR's dual-stack URI (ECR user guide, ecr-requests.html).
DUAL_STACK_IMAGE = "{account}.dkr-ecr.{region}.on.aws/" + REPOSITORY + ":" + IMAGE_TAG
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
PTC_PREFIX = "ecr-public"
PTC_UPSTREAM_URL = "public.ecr.aws"
PTC_CACHE_REPOSITORY = PTC_PREFIX + "/nginx/nginx"
PTC_IMAGE = "{account}.dkr.ecr.{region}.amazonaws.com/" + PTC_CACHE_REPOSITORY + ":1.27"
# An inline policy: (name, actions, resource template).
PTC_POLICY = (
    "pull-through-cache",
    ("ecr:BatchImportUpstreamImage", "ecr:CreateRepository"),
    "arn:aws:ecr:{region}:{account}:repository/" + PTC_PREFIX + "/*",
)
# A Secrets Manager secret referenced by the container's `secrets`: (name, value, variable).
SECRET = ("prod/db", "s3cr3t-value", "DB_PASSWORD")  # the value must never appear anywhere
SECRET_POLICY = ("secrets", ("secretsmanager:GetSecretValue",), "{secret_arn}")
# The container the service registers with the load balancer, and its port.
CONTAINER_NAME = "web"
CONTAINER_PORT = 8080
# The internal Application Load Balancer in front of the service (alb-* scenarios).
ALB_NAME = "web-alb"
ALB_SG_NAME = "alb"
ALB_LISTENER_PORT = 80
ALB_CLIENT_CIDR = "10.0.0.0/8"
TARGET_GROUP = "web-tg"
# CreateTargetGroup health check arguments; HealthCheckPort is left to its default.
TARGET_GROUP_HEALTH_CHECK = {
    "HealthCheckProtocol": "HTTP",
    "HealthCheckPath": "/health",
    "HealthCheckIntervalSeconds": 10,
    "HealthCheckTimeoutSeconds": 5,
    "HealthyThresholdCount": 2,
    "UnhealthyThresholdCount": 2,
    "Matcher": {"HttpCode": "200"},
}
# cluster-N: the task definition families, each (family, port mapping?, target group or None);
# service i uses CLUSTER_FAMILIES[i % 3]. Each family's container is named after the family.
CLUSTER_FAMILIES = (("web", True, TARGET_GROUP), ("api", True, "api-tg"), ("worker", False, None))
CLUSTER_SERVICE = "svc-{index:0{width}d}"  # svc-000, svc-001, ...
CLUSTER_GRACE = 300
# cluster-N-broken: this family is registered, used by this service behind a target group,
# then the target group is deleted and the task definition deregistered.
BROKEN_FAMILY = "broken"
BROKEN_SERVICE = "svc-broken"
BROKEN_TARGET_GROUP = "broken-tg"
# Concurrent CreateService calls (moto serialises them anyway; this overlaps client and server).
CREATE_WORKERS = 4


@dataclass(frozen=True)
class Spec:
    """What to build. The defaults are the good `endpoint-only` case."""

    # "endpoints": private subnets with only the local route, reaching AWS through endpoints.
    # "nat": private subnets with 0.0.0.0/0 -> NAT gateway in a public subnet, no endpoints.
    network: str = "endpoints"
    interface_endpoints: tuple = DEFAULT_INTERFACE_ENDPOINTS
    # Route table (by key in Built.route_table_ids) the S3 gateway endpoint is attached to;
    # None = no S3 gateway endpoint.
    s3_gateway_route_table: str | None = "private"
    # Extra route tables to create, not associated with any subnet.
    extra_route_tables: tuple = ()
    # "restricted": default egress removed, TCP 443 to the endpoint SG and the S3 prefix list.
    # "default": the all-traffic egress rule every new SG gets.
    task_sg_egress: str = "restricted"
    create_service: bool = True
    # None = leave platformVersion out of CreateService.
    platform_version: str | None = "1.4.0"
    # False = only the ECS cluster exists; nothing else is created.
    create_workload: bool = True
    image: str = PRIVATE_IMAGE
    # What is pushed to REPOSITORY as IMAGE_TAG: "multi-arch" (an OCI index of linux/amd64 and
    # linux/arm64 with a BuildKit attestation), "amd64" (one Docker v2 manifest and its config
    # blob), "arm64-only" (an index of linux/arm64 and an attestation), or None (nothing).
    pushed_image: str | None = "multi-arch"
    # An EFS volume /data with IAM authorization through an access point: "ok" (a mount
    # target per subnet whose SG admits TCP 2049 from the task), "one-az" (a mount target in
    # the first subnet's zone only), "sg-closed" (the mount targets' SG admits nothing); None.
    efs: str | None = None
    # The task role's actions (on "*"), or None for no task role.
    task_role_actions: tuple | None = None
    enable_execute_command: bool = False
    # The cluster encrypts ECS Exec sessions with a KMS key (executeCommandConfiguration).
    exec_kms_key: bool = False
    # (ecrRepositoryPrefix, upstreamRegistryUrl) of an ECR pull through cache rule, or None.
    ptc_rule: tuple | None = None
    # An ECR repository created besides `web` (the pull through cache's), or None.
    cache_repository: str | None = None
    # The role the task definition names; created unless create_execution_role is False.
    execution_role: str = EXECUTION_ROLE
    create_execution_role: bool = True
    execution_role_managed_policies: tuple = (EXECUTION_POLICY_ARN,)
    execution_role_inline_policies: tuple = ()  # of (name, actions, resource template)
    secret: tuple | None = None  # SECRET-like, or None
    # An internal ALB (SG `alb`, target group TARGET_GROUP, HTTP listener) that the service
    # registers CONTAINER_NAME:CONTAINER_PORT with; see Builder.load_balancer.
    alb: bool = False
    # With alb: the task SG allows CONTAINER_PORT from the ALB's SG.
    alb_task_ingress: bool = True
    # healthCheckGracePeriodSeconds for CreateService; None = left out.
    health_check_grace_period: int | None = None
    # With alb: more target groups like TARGET_GROUP (ip, HTTP:CONTAINER_PORT), each forwarded
    # to by a rule of the listener (path /NAME-without-"-tg"/*), so each has LoadBalancerArns.
    extra_target_groups: tuple = ()
    # cluster-N: N services CLUSTER_SERVICE of the CLUSTER_FAMILIES instead of `web`; None = no.
    cluster_services: int | None = None
    # cluster-N-broken: also BROKEN_FAMILY, used by BROKEN_SERVICE, then deregistered.
    broken_family: bool = False
    # An interface endpoint service given two endpoints: first one with private DNS off, then
    # the owner of the name, whose policy denies SHADOWED_DENY; None = no.
    shadowed_endpoint: str | None = None
    # CIDRs the NAT gateway's subnet routes to a transit gateway (more specific than its /0).
    nat_subnet_tgw_routes: tuple = ()
    # Public CIDRs of a customer-managed prefix list the task subnets route to a transit gateway.
    task_prefix_list_tgw: tuple = ()
    # IPv6-only task subnets (Ipv6Native) routing ::/0 to an egress-only internet gateway, IPv6
    # rules in the task SG and the default NACL, interface endpoints of IP address type ipv6.
    ipv6_only: bool = False


def _ptc(s):
    """The image comes through an ECR pull through cache of ECR Public, set up right."""
    return replace(
        s,
        image=PTC_IMAGE,
        ptc_rule=(PTC_PREFIX, PTC_UPSTREAM_URL),
        cache_repository=PTC_CACHE_REPOSITORY,
        execution_role_inline_policies=s.execution_role_inline_policies + (PTC_POLICY,),
    )


def _secrets(s):
    """A Secrets Manager secret in the container's `secrets`, reachable and allowed."""
    return replace(
        s,
        secret=SECRET,
        interface_endpoints=s.interface_endpoints + ("secretsmanager",),
        execution_role_inline_policies=s.execution_role_inline_policies + (SECRET_POLICY,),
    )


def _alb(s, grace):
    """An internal ALB in front of the service, reaching the tasks, with this grace period."""
    return replace(s, alb=True, alb_task_ingress=True, health_check_grace_period=grace)


def _cluster(s, n, broken=False):
    """`alb-grace-300`'s network, SGs, endpoints and ALB, with target groups web-tg (listener
    default) and api-tg (listener rule), task definition families web, api and worker (no port
    mapping), and N services svc-000... in cluster `app`: service i uses family
    CLUSTER_FAMILIES[i % 3] and its target group (grace CLUSTER_GRACE), worker none.
    With broken: family `broken` (like web, no load balancer) is registered, service
    `svc-broken` created with it, then the task definition is deregistered (INACTIVE)."""
    return replace(
        _alb(s, CLUSTER_GRACE),
        extra_target_groups=tuple(
            tg for _, _, tg in CLUSTER_FAMILIES if tg is not None and tg != TARGET_GROUP
        ),
        cluster_services=n,
        broken_family=broken,
    )


SCENARIOS = {
    "endpoint-only": lambda s: s,
    "missing-ecr-api": lambda s: replace(
        s, interface_endpoints=tuple(e for e in s.interface_endpoints if e != "ecr.api")
    ),
    "s3-wrong-route-table": lambda s: replace(
        s, extra_route_tables=s.extra_route_tables + ("other",), s3_gateway_route_table="other"
    ),
    "nat-only": lambda s: replace(
        s,
        network="nat",
        interface_endpoints=(),
        s3_gateway_route_table=None,
        task_sg_egress="default",
    ),
    "latest-platform": lambda s: replace(s, platform_version=None),
    "no-service": lambda s: replace(s, create_workload=False, create_service=False),
    "public-image": lambda s: replace(s, image="nginx:1.27"),
    "image-tag-missing": lambda s: replace(s, pushed_image=None),
    "efs-ok": lambda s: replace(s, efs="ok", task_role_actions=EFS_CLIENT_ACTIONS),
    "efs-one-az": lambda s: replace(s, efs="one-az", task_role_actions=EFS_CLIENT_ACTIONS),
    "efs-sg-closed": lambda s: replace(s, efs="sg-closed", task_role_actions=EFS_CLIENT_ACTIONS),
    # ECS Exec on, with a task role that may mount EFS and write logs but not open the SSM
    # channels (NAT network: the ssmmessages endpoint is not the question).
    "efs-exec-without-ssm": lambda s: replace(
        SCENARIOS["nat-only"](s), efs="ok", enable_execute_command=True, exec_kms_key=True,
        task_role_actions=EFS_CLIENT_ACTIONS + ("logs:*",)),
    "image-amd64": lambda s: replace(s, pushed_image="amd64"),
    "image-arm64-only": lambda s: replace(s, pushed_image="arm64-only"),

    "ptc-ok": _ptc,
    "ptc-missing-rule": lambda s: replace(_ptc(s), ptc_rule=None, cache_repository=None),
    "role-unrelated-inline": lambda s: replace(
        s,
        execution_role_managed_policies=(),
        execution_role_inline_policies=(("misc", ("s3:ListBucket",), "*"),),
    ),
    "role-missing": lambda s: replace(
        s, execution_role="doesNotExist", create_execution_role=False
    ),
    "secrets-ok": _secrets,
    "alb-grace-0": lambda s: _alb(s, 0),
    "alb-grace-300": lambda s: _alb(s, 300),
    "alb-task-sg-closed": lambda s: replace(_alb(s, 300), alb_task_ingress=False),
    "ipv6-only": lambda s: replace(
        s, ipv6_only=True, image=DUAL_STACK_IMAGE, interface_endpoints=("logs",),
        s3_gateway_route_table=None,
    ),
}
SCENARIOS.update({
    "nat-shadowed-ecr-dkr-denies": lambda s: replace(SCENARIOS["nat-only"](s), shadowed_endpoint="ecr.dkr"),
    "nat-subnet-split-to-tgw": lambda s: replace(
        SCENARIOS["nat-only"](s), nat_subnet_tgw_routes=("0.0.0.0/1", "128.0.0.0/1")
    ),
    "nat-prefix-list-to-tgw": lambda s: replace(
        SCENARIOS["nat-only"](s), task_prefix_list_tgw=("52.0.0.0/8", "54.0.0.0/8")
    ),
})
SHADOWED_DENY = {"ecr.dkr": "ecr:BatchGetImage", "ecr.api": "ecr:GetAuthorizationToken", "logs": "logs:CreateLogStream"}
# Parameterised scenarios, not in SCENARIOS: cluster-N and cluster-N-broken.
CLUSTER_RE = re.compile(r"^cluster-(\d+)(-broken)?$")
PATTERNS = ("cluster-N", "cluster-N-broken")


def spec_for(name):
    """The Spec of a scenario name, or None if there is no such scenario."""
    if name in SCENARIOS:
        return SCENARIOS[name](Spec())
    m = CLUSTER_RE.match(name or "")
    if m:
        return _cluster(Spec(), int(m.group(1)), broken=m.group(2) is not None)
    return None


@dataclass
class Built:
    """Everything a scenario created; printed as JSON."""

    scenario: str
    region: str
    account_id: str = ACCOUNT_ID
    cluster: str = CLUSTER
    cluster_arn: str | None = None
    service: str = SERVICE  # the name the test asks about, even when it was not created
    service_arn: str | None = None
    vpc_id: str | None = None
    subnet_ids: list = field(default_factory=list)  # the task (private) subnets
    public_subnet_id: str | None = None
    availability_zones: list = field(default_factory=list)
    task_role_arn: str | None = None
    file_system_id: str | None = None
    access_point_id: str | None = None
    task_sg: str | None = None
    endpoint_sg: str | None = None
    route_table_ids: dict = field(default_factory=dict)  # "private", "public", "other", ...
    endpoints: dict = field(default_factory=dict)  # "ecr.api" ... "s3" -> vpce id
    s3_prefix_list_id: str | None = None
    internet_gateway_id: str | None = None
    nat_gateway_id: str | None = None
    eip_allocation_id: str | None = None
    repository_uri: str | None = None
    image: str | None = None
    ptc_rule_prefix: str | None = None
    cache_repository: str | None = None  # its name
    secret_arn: str | None = None
    # The role the task definition names (not created in role-missing).
    execution_role_name: str | None = None
    execution_role_arn: str | None = None
    task_definition_arn: str | None = None
    platform_version_requested: str | None = None
    # The internal ALB (alb-* scenarios): its target group, the ALB and its SG.
    target_group_arn: str | None = None
    load_balancer_arn: str | None = None
    alb_sg: str | None = None
    # Every service created, in order, with its family and target group name (null when none);
    # every task definition registered (family -> ARN) and target group created (name -> ARN).
    # In the single-service scenarios: ["web"], {"web": ...}, and web-tg in the alb-* ones.
    services: list = field(default_factory=list)
    service_families: dict = field(default_factory=dict)
    service_target_groups: dict = field(default_factory=dict)
    task_definition_arns: dict = field(default_factory=dict)
    target_group_arns: dict = field(default_factory=dict)
    # cluster-N-broken: the task definition deregistered after its service was created.
    deregistered_task_definition_arns: list = field(default_factory=list)

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


class Builder:
    def __init__(self, endpoint, region, name):
        self.endpoint = endpoint
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=region,
        )
        cfg = Config(retries={"max_attempts": 1}, max_pool_connections=CREATE_WORKERS * 2)
        self.ec2 = session.client("ec2", endpoint_url=endpoint, config=cfg)
        self.ecs = session.client("ecs", endpoint_url=endpoint, config=cfg)
        self.ecr = session.client("ecr", endpoint_url=endpoint, config=cfg)
        self.iam = session.client("iam", endpoint_url=endpoint, config=cfg)
        self.secretsmanager = session.client("secretsmanager", endpoint_url=endpoint, config=cfg)
        self.elbv2 = session.client("elbv2", endpoint_url=endpoint, config=cfg)
        self.efs = session.client("efs", endpoint_url=endpoint, config=cfg)
        self.autoscaling = session.client("application-autoscaling", endpoint_url=endpoint,
                                          config=cfg)
        self.logs = session.client("logs", endpoint_url=endpoint, config=cfg)
        self.kms = session.client("kms", endpoint_url=endpoint, config=cfg)
        self.s3 = session.client("s3", endpoint_url=endpoint, config=cfg)
        self.region = region
        self.out = Built(scenario=name, region=region)

    # ---- helpers -------------------------------------------------------------------------
    def tag(self, kind, name):
        return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]

    def svc(self, short):
        return f"com.amazonaws.{self.region}.{short}"

    def fill(self, template):
        return template.format(
            account=ACCOUNT_ID, region=self.region, secret_arn=self.out.secret_arn
        )

    # ---- steps ---------------------------------------------------------------------------
    def vpc(self, spec):
        vpc = self.ec2.create_vpc(
            CidrBlock="10.0.0.0/16", TagSpecifications=self.tag("vpc", "fargate-preflight"),
            AmazonProvidedIpv6CidrBlock=spec.ipv6_only,
        )["Vpc"]["VpcId"]
        # One attribute per call, as the API requires.
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsSupport={"Value": True})
        self.ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
        self.out.vpc_id = vpc
        zones = self.ec2.describe_availability_zones()["AvailabilityZones"]
        self.out.availability_zones = sorted(z["ZoneName"] for z in zones)[:2]

    def route_table(self, key):
        rt = self.ec2.create_route_table(
            VpcId=self.out.vpc_id, TagSpecifications=self.tag("route-table", key)
        )["RouteTable"]["RouteTableId"]
        self.out.route_table_ids[key] = rt
        return rt

    def private_subnets(self, spec):
        rt = self.route_table("private")
        if spec.ipv6_only:
            vpc = self.ec2.describe_vpcs(VpcIds=[self.out.vpc_id])["Vpcs"][0]
            block = vpc["Ipv6CidrBlockAssociationSet"][0]["Ipv6CidrBlock"]
            blocks = ipaddress.IPv6Network(block).subnets(new_prefix=64)
            families = [{"Ipv6CidrBlock": str(next(blocks)), "Ipv6Native": True} for _ in range(2)]
            eigw = self.ec2.create_egress_only_internet_gateway(
                VpcId=self.out.vpc_id)["EgressOnlyInternetGateway"]["EgressOnlyInternetGatewayId"]
            self.ec2.create_route(RouteTableId=rt, DestinationIpv6CidrBlock="::/0",
                                  EgressOnlyInternetGatewayId=eigw)
            acl = self.ec2.describe_network_acls(Filters=[
                {"Name": "vpc-id", "Values": [self.out.vpc_id]},
                {"Name": "default", "Values": ["true"]}])["NetworkAcls"][0]["NetworkAclId"]
            # AWS adds these to the default ACL of a VPC given an IPv6 block (VPC guide,
            # default-network-acl.html); moto does not.
            for egress in (True, False):
                self.ec2.create_network_acl_entry(
                    NetworkAclId=acl, RuleNumber=101, Protocol="-1", RuleAction="allow",
                    Egress=egress, Ipv6CidrBlock="::/0")
        else:
            families = [{"CidrBlock": c} for c in ("10.0.1.0/24", "10.0.2.0/24")]
        for i, (family, az) in enumerate(zip(families, self.out.availability_zones)):
            subnet = self.ec2.create_subnet(
                VpcId=self.out.vpc_id,
                AvailabilityZone=az,
                TagSpecifications=self.tag("subnet", f"private-{'ab'[i]}"),
                **family,
            )["Subnet"]["SubnetId"]
            self.ec2.associate_route_table(RouteTableId=rt, SubnetId=subnet)
            self.out.subnet_ids.append(subnet)

    def s3_prefix_list(self):
        name = self.svc("s3")
        lists = self.ec2.describe_managed_prefix_lists(
            Filters=[{"Name": "prefix-list-name", "Values": [name]}]
        )["PrefixLists"]
        if not lists:
            raise RuntimeError(f"no managed prefix list named {name}")
        self.out.s3_prefix_list_id = lists[0]["PrefixListId"]

    def security_groups(self, spec):
        vpc = self.out.vpc_id
        task = self.ec2.create_security_group(
            GroupName="task", Description="fargate tasks", VpcId=vpc
        )["GroupId"]
        self.out.task_sg = task
        if spec.task_sg_egress == "default":
            return
        endpoints = self.ec2.create_security_group(
            GroupName="endpoints", Description="interface endpoints", VpcId=vpc
        )["GroupId"]
        self.out.endpoint_sg = endpoints
        self.ec2.revoke_security_group_egress(
            GroupId=task,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        self.ec2.authorize_security_group_egress(
            GroupId=task,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "UserIdGroupPairs": [{"GroupId": endpoints, "UserId": ACCOUNT_ID}],
                },
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "PrefixListIds": [{"PrefixListId": self.out.s3_prefix_list_id}],
                },
            ] + ([{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                   "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}] if spec.ipv6_only else []),
        )
        self.ec2.authorize_security_group_ingress(
            GroupId=endpoints,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 443,
                    "ToPort": 443,
                    "UserIdGroupPairs": [{"GroupId": task, "UserId": ACCOUNT_ID}],
                }
            ],
        )

    def interface_endpoints(self, spec):
        family = ({"IpAddressType": "ipv6", "DnsOptions": {"DnsRecordIpType": "ipv6"}}
                  if spec.ipv6_only else {})
        for short in spec.interface_endpoints:
            self.out.endpoints[short] = self.ec2.create_vpc_endpoint(
                VpcEndpointType="Interface",
                VpcId=self.out.vpc_id,
                ServiceName=self.svc(short),
                SubnetIds=self.out.subnet_ids,
                SecurityGroupIds=[self.out.endpoint_sg],
                PrivateDnsEnabled=True,
                **family,
            )["VpcEndpoint"]["VpcEndpointId"]

    def shadowed_endpoint(self, spec):
        short = spec.shadowed_endpoint
        if short is None:
            return
        if self.out.endpoint_sg is None:
            self.out.endpoint_sg = self.ec2.create_security_group(
                GroupName="endpoints", Description="interface endpoints", VpcId=self.out.vpc_id
            )["GroupId"]
            self.ec2.authorize_security_group_ingress(GroupId=self.out.endpoint_sg, IpPermissions=[{
                "IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                "UserIdGroupPairs": [{"GroupId": self.out.task_sg, "UserId": ACCOUNT_ID}]}])
        common = dict(VpcEndpointType="Interface", VpcId=self.out.vpc_id, ServiceName=self.svc(short),
                      SubnetIds=self.out.subnet_ids, SecurityGroupIds=[self.out.endpoint_sg])
        self.ec2.create_vpc_endpoint(PrivateDnsEnabled=False, **common)
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"},
            {"Sid": "NoPull", "Effect": "Deny", "Principal": "*", "Action": SHADOWED_DENY[short], "Resource": "*"}]}
        self.out.endpoints[short] = self.ec2.create_vpc_endpoint(
            PrivateDnsEnabled=True, PolicyDocument=json.dumps(policy), **common
        )["VpcEndpoint"]["VpcEndpointId"]

    def transit_routes(self, spec):
        if not spec.nat_subnet_tgw_routes and not spec.task_prefix_list_tgw:
            return
        tgw = self.ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
        for cidr in spec.nat_subnet_tgw_routes:
            self.ec2.create_route(RouteTableId=self.out.route_table_ids["public"],
                                  DestinationCidrBlock=cidr, TransitGatewayId=tgw)
        if spec.task_prefix_list_tgw:
            pl = self.ec2.create_managed_prefix_list(
                PrefixListName="partners", AddressFamily="IPv4", MaxEntries=10,
                Entries=[{"Cidr": c} for c in spec.task_prefix_list_tgw],
            )["PrefixList"]["PrefixListId"]
            self.ec2.create_route(RouteTableId=self.out.route_table_ids["private"],
                                  DestinationPrefixListId=pl, TransitGatewayId=tgw)

    def s3_gateway_endpoint(self, spec):
        if spec.s3_gateway_route_table is None:
            return
        policy = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EcrLayers",
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::prod-{self.region}-starport-layer-bucket/*",
                }
            ],
        }
        self.out.endpoints["s3"] = self.ec2.create_vpc_endpoint(
            VpcEndpointType="Gateway",
            VpcId=self.out.vpc_id,
            ServiceName=self.svc("s3"),
            RouteTableIds=[self.out.route_table_ids[spec.s3_gateway_route_table]],
            PolicyDocument=json.dumps(policy),
        )["VpcEndpoint"]["VpcEndpointId"]

    def nat_network(self):
        vpc = self.out.vpc_id
        public = self.ec2.create_subnet(
            VpcId=vpc,
            CidrBlock="10.0.0.0/24",
            AvailabilityZone=self.out.availability_zones[0],
            TagSpecifications=self.tag("subnet", "public"),
        )["Subnet"]["SubnetId"]
        self.out.public_subnet_id = public
        igw = self.ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        self.ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        self.out.internet_gateway_id = igw
        rt = self.route_table("public")
        self.ec2.create_route(RouteTableId=rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
        self.ec2.associate_route_table(RouteTableId=rt, SubnetId=public)
        eip = self.ec2.allocate_address(Domain="vpc")["AllocationId"]
        self.out.eip_allocation_id = eip
        nat = self.ec2.create_nat_gateway(SubnetId=public, AllocationId=eip)["NatGateway"][
            "NatGatewayId"
        ]
        self.out.nat_gateway_id = nat
        self.ec2.create_route(
            RouteTableId=self.out.route_table_ids["private"],
            DestinationCidrBlock="0.0.0.0/0",
            NatGatewayId=nat,
        )

    def secret(self, spec):
        if spec.secret is None:
            return
        name, value, _ = spec.secret
        self.out.secret_arn = self.secretsmanager.create_secret(Name=name, SecretString=value)[
            "ARN"
        ]

    def execution_role(self, spec):
        name = self.fill(spec.execution_role)
        self.out.execution_role_name = name
        self.out.execution_role_arn = f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"
        if not spec.create_execution_role:
            return
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        self.ecs_service_linked_role()
        # One role per region: it must not exist yet (fails, like the ECR repository, when a
        # region is reused without a reset).
        self.out.execution_role_arn = self.iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        for arn in spec.execution_role_managed_policies:
            self.iam.attach_role_policy(RoleName=name, PolicyArn=arn)
        for policy_name, actions, resource in spec.execution_role_inline_policies:
            document = {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        # A string when there is one action: both forms occur in the wild.
                        "Action": actions[0] if len(actions) == 1 else list(actions),
                        "Resource": self.fill(resource),
                    }
                ],
            }
            self.iam.put_role_policy(
                RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document)
            )

    def load_balancer(self, spec):
        """SG `alb` (in: TCP ALB_LISTENER_PORT from ALB_CLIENT_CIDR; out: only TCP
        CONTAINER_PORT to the task SG), an internal ALB in the task subnets, an ip target group
        with TARGET_GROUP_HEALTH_CHECK, an HTTP listener forwarding to it and, unless
        alb_task_ingress is False, task SG ingress TCP CONTAINER_PORT from the ALB's SG."""
        if not spec.alb:
            return
        vpc, task = self.out.vpc_id, self.out.task_sg
        alb_sg = self.ec2.create_security_group(
            GroupName=ALB_SG_NAME, Description="internal load balancer", VpcId=vpc
        )["GroupId"]
        self.out.alb_sg = alb_sg
        self.ec2.authorize_security_group_ingress(
            GroupId=alb_sg,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": ALB_LISTENER_PORT,
                    "ToPort": ALB_LISTENER_PORT,
                    "IpRanges": [{"CidrIp": ALB_CLIENT_CIDR}],
                }
            ],
        )
        self.ec2.revoke_security_group_egress(
            GroupId=alb_sg,
            IpPermissions=[{"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        to_task = {
            "IpProtocol": "tcp",
            "FromPort": CONTAINER_PORT,
            "ToPort": CONTAINER_PORT,
            "UserIdGroupPairs": [{"GroupId": task, "UserId": ACCOUNT_ID}],
        }
        self.ec2.authorize_security_group_egress(GroupId=alb_sg, IpPermissions=[to_task])
        if spec.alb_task_ingress:
            from_alb = dict(to_task, UserIdGroupPairs=[{"GroupId": alb_sg, "UserId": ACCOUNT_ID}])
            self.ec2.authorize_security_group_ingress(GroupId=task, IpPermissions=[from_alb])
        self.out.load_balancer_arn = self.elbv2.create_load_balancer(
            Name=ALB_NAME,
            Type="application",
            Scheme="internal",
            IpAddressType="ipv4",
            Subnets=self.out.subnet_ids,
            SecurityGroups=[alb_sg],
        )["LoadBalancers"][0]["LoadBalancerArn"]
        self.out.target_group_arn = self.target_group(TARGET_GROUP)
        listener = self.elbv2.create_listener(
            LoadBalancerArn=self.out.load_balancer_arn,
            Protocol="HTTP",
            Port=ALB_LISTENER_PORT,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": self.out.target_group_arn}],
        )["Listeners"][0]["ListenerArn"]
        for priority, name in enumerate(spec.extra_target_groups, start=1):
            path = "/" + name.removesuffix("-tg") + "/*"
            self.elbv2.create_rule(
                ListenerArn=listener,
                Priority=priority,
                Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": [path]}}],
                Actions=[{"Type": "forward", "TargetGroupArn": self.target_group(name)}],
            )

    def target_group(self, name):
        arn = self.elbv2.create_target_group(
            Name=name,
            TargetType="ip",
            Protocol="HTTP",
            Port=CONTAINER_PORT,
            VpcId=self.out.vpc_id,
            HealthCheckEnabled=True,
            **TARGET_GROUP_HEALTH_CHECK,
        )["TargetGroups"][0]["TargetGroupArn"]
        self.out.target_group_arns[name] = arn
        return arn

    def pull_through_cache(self, spec):
        if spec.ptc_rule is not None:
            prefix, url = spec.ptc_rule
            self.out.ptc_rule_prefix = self.ecr.create_pull_through_cache_rule(
                ecrRepositoryPrefix=prefix, upstreamRegistryUrl=url
            )["ecrRepositoryPrefix"]
        if spec.cache_repository is not None:
            self.out.cache_repository = self.ecr.create_repository(
                repositoryName=spec.cache_repository
            )["repository"]["repositoryName"]

    def cluster(self, spec):
        kwargs = {}
        if spec.exec_kms_key:
            key = f"arn:aws:kms:{self.region}:{ACCOUNT_ID}:key/{EXEC_KMS_KEY_ID}"
            kwargs["configuration"] = {"executeCommandConfiguration": {
                "kmsKeyId": key, "logging": "DEFAULT"}}
        self.out.cluster_arn = self.ecs.create_cluster(clusterName=CLUSTER, **kwargs)["cluster"][
            "clusterArn"
        ]

    def workload(self, spec):
        self.out.repository_uri = self.ecr.create_repository(repositoryName=REPOSITORY)[
            "repository"
        ]["repositoryUri"]
        self.out.image = self.fill(spec.image)
        self.push_image(spec)
        if spec.cluster_services is None:
            self.out.task_definition_arn = self.task_definition(spec, FAMILY, True)
            return
        for family, port, _ in CLUSTER_FAMILIES:
            self.task_definition(spec, family, port)
        self.out.task_definition_arn = self.out.task_definition_arns[FAMILY]

    def push_image(self, spec):
        """Pushes IMAGE_TAG to REPOSITORY the way `docker push` does: blobs first (only the
        config blobs, which the checks read; layers are named with their sizes), then the
        manifests, an index last."""
        if spec.pushed_image is None:
            return
        if spec.pushed_image == "amd64":
            self.put_manifest(self.image_manifest("amd64"), DOCKER_MANIFEST, IMAGE_TAG)
        else:
            arches = ("amd64", "arm64") if spec.pushed_image == "multi-arch" else ("arm64",)
            entries = []
            for arch in arches:
                manifest = self.image_manifest(arch)
                entries.append({
                    "mediaType": OCI_MANIFEST, "digest": self.put_manifest(manifest, OCI_MANIFEST),
                    "size": len(manifest), "platform": {"architecture": arch, "os": "linux"}})
            attestation = json.dumps({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": self.put_blob(b"{}"), "size": 2}, "layers": []})
            entries.append({
                "mediaType": OCI_MANIFEST, "digest": self.put_manifest(attestation, OCI_MANIFEST),
                "size": len(attestation), "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {"vnd.docker.reference.type": "attestation-manifest",
                                "vnd.docker.reference.digest": entries[0]["digest"]}})
            index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
            self.put_manifest(index, OCI_INDEX, IMAGE_TAG)

    def storage_key(self, lets_fargate):
        """A key for the cluster's Fargate ephemeral storage; its policy delegates to the
        account and, with `lets_fargate`, has the statements fargate-create-storage-key.html
        gives."""
        statements = [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                       "Action": "kms:*", "Resource": "*"}]
        context = {"kms:EncryptionContext:aws:ecs:clusterAccount": [ACCOUNT_ID],
                   "kms:EncryptionContext:aws:ecs:clusterName": [CLUSTER]}
        if lets_fargate:
            statements += [
                {"Effect": "Allow", "Principal": {"Service": "fargate.amazonaws.com"},
                 "Action": ["kms:GenerateDataKeyWithoutPlaintext"], "Resource": "*",
                 "Condition": {"StringEquals": context}},
                {"Effect": "Allow", "Principal": {"Service": "fargate.amazonaws.com"},
                 "Action": ["kms:CreateGrant"], "Resource": "*",
                 "Condition": {"StringEquals": context,
                               "ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt"]}}}]
        policy = {"Version": "2012-10-17", "Statement": statements}
        key = self.kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
        self.ecs.update_cluster(cluster=CLUSTER, configuration={
            "managedStorageConfiguration": {"fargateEphemeralStorageKmsKeyId": key}})
        return key

    def change(self, args):
        """One change to what an earlier build made (see main's flags)."""
        if args.push_image:
            self.push_image(replace(Spec(), pushed_image=args.push_image))
        if args.archive_image:
            self.ecr.update_image_storage_class(
                repositoryName=REPOSITORY, imageId={"imageTag": IMAGE_TAG},
                targetStorageClass="ARCHIVE")
        if args.drop_mount_target:
            fs = self.efs.describe_file_systems()["FileSystems"][0]["FileSystemId"]
            targets = self.efs.describe_mount_targets(FileSystemId=fs)["MountTargets"]
            self.efs.delete_mount_target(MountTargetId=targets[-1]["MountTargetId"])
        if args.drop_endpoint:
            service = f"com.amazonaws.{self.region}.{args.drop_endpoint}"
            endpoints = self.ec2.describe_vpc_endpoints(
                Filters=[{"Name": "service-name", "Values": [service]}])["VpcEndpoints"]
            self.ec2.delete_vpc_endpoints(VpcEndpointIds=[e["VpcEndpointId"] for e in endpoints])
        if args.failed_task:
            self.failed_task(args.failed_task)
        if args.no_room:
            self.ecs.update_service(cluster=CLUSTER, service=SERVICE, desiredCount=1,
                                    deploymentConfiguration={
                                        "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                        "maximumPercent": 100, "minimumHealthyPercent": 100})
        if args.small_subnet_service:
            self.small_subnet_service(args.small_subnet_service)
        if args.blue_green_service:
            self.blue_green_service(args.blue_green_service)
        if args.cmk_secret or args.delete_secret:
            secret = self.secretsmanager.list_secrets()["SecretList"][0]["ARN"]
            if args.cmk_secret:
                # A key whose policy grants only an administrator role: neither names the
                # execution role nor delegates to the account.
                policy = {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:role/admin"},
                    "Action": "kms:*", "Resource": "*"}]}
                key = self.kms.create_key(Policy=json.dumps(policy))["KeyMetadata"]["Arn"]
                self.secretsmanager.update_secret(SecretId=secret, KmsKeyId=key)
                print(json.dumps({"key": key}))
            if args.delete_secret:
                self.secretsmanager.delete_secret(SecretId=secret, RecoveryWindowInDays=7)
        if args.bpa:
            self.ec2.modify_vpc_block_public_access_options(InternetGatewayBlockMode=args.bpa)
        for exclusion in args.bpa_exclude or []:
            resource, mode = exclusion.split("=")
            if resource == "nat-subnet":
                resource = self.ec2.describe_nat_gateways()["NatGateways"][0]["SubnetId"]
            kind = "VpcId" if resource.startswith("vpc-") else "SubnetId"
            self.ec2.create_vpc_block_public_access_exclusion(
                **{kind: resource}, InternetGatewayExclusionMode=mode)
        if args.storage_key:
            print(json.dumps({"key": self.storage_key(args.storage_key == "fargate")}))
        if args.env_files:
            self.env_files()
        if args.delete_log_group:
            self.logs.delete_log_group(logGroupName=args.delete_log_group)
        if args.delete_listener:
            self.elbv2.delete_listener(ListenerArn=args.delete_listener)
        if args.scale_to:
            service, maximum = args.scale_to.split("=")
            self.autoscaling.register_scalable_target(
                ServiceNamespace="ecs", ResourceId=f"service/{CLUSTER}/{service}",
                ScalableDimension="ecs:service:DesiredCount", MinCapacity=1,
                MaxCapacity=int(maximum))
        if args.service_event:
            self.control("/_fp/ecs/service-event", {"region": self.region, "cluster": CLUSTER,
                                                    "service": SERVICE,
                                                    "message": args.service_event})
        if args.close_efs_sg:
            group = self.ec2.describe_security_groups(
                Filters=[{"Name": "group-name", "Values": ["efs"]}])["SecurityGroups"][0]
            self.ec2.revoke_security_group_ingress(
                GroupId=group["GroupId"], IpPermissions=group["IpPermissions"])

    def failed_task(self, reason):
        """A task of service web, started as the service starts them, then stopped by ECS."""
        service = self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
        awsvpc = service["networkConfiguration"]
        task = self.ecs.run_task(
            cluster=CLUSTER, taskDefinition=service["taskDefinition"], launchType="FARGATE",
            networkConfiguration=awsvpc, group=f"service:{SERVICE}",
            startedBy="ecs-svc/1234567890123456789")["tasks"][0]["taskArn"]
        self.control("/_fp/ecs/stop-task", {"region": self.region, "cluster": CLUSTER,
                                             "task": task, "stopped_reason": reason})

    def ecs_service_linked_role(self):
        """AWSServiceRoleForECS, which ECS creates in an account with its first cluster or
        service (IAM is global: the first region's build makes it). moto's
        CreateServiceLinkedRole names it AWSServiceRoleForecs, so it is made as ECS's is."""
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}
        try:
            self.iam.create_role(RoleName="AWSServiceRoleForECS",
                                 Path="/aws-service-role/ecs.amazonaws.com/",
                                 AssumeRolePolicyDocument=json.dumps(trust))
        except self.iam.exceptions.EntityAlreadyExistsException:
            pass

    def small_subnet_service(self, name):
        """Service `name` of 20 tasks in two new /28 subnets (11 free addresses each) routed like
        web's, created as CreateService creates it: no task running yet."""
        web = self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
        awsvpc = web["networkConfiguration"]["awsvpcConfiguration"]
        subnets = self.ec2.describe_subnets(SubnetIds=awsvpc["subnets"])["Subnets"]
        vpc = subnets[0]["VpcId"]
        tables = self.ec2.describe_route_tables(
            Filters=[{"Name": "association.subnet-id", "Values": [subnets[0]["SubnetId"]]}])
        small = []
        for i, subnet in enumerate(subnets[:2]):
            created = self.ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{250 + i}.0/28",
                                             AvailabilityZone=subnet["AvailabilityZone"])
            small.append(created["Subnet"]["SubnetId"])
            for table in tables["RouteTables"]:
                self.ec2.associate_route_table(RouteTableId=table["RouteTableId"],
                                               SubnetId=small[-1])
        self.ecs.create_service(
            cluster=CLUSTER, serviceName=name, taskDefinition=web["taskDefinition"],
            desiredCount=20, launchType="FARGATE",
            deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True},
                                     "maximumPercent": 200, "minimumHealthyPercent": 100},
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": small, "securityGroups": awsvpc["securityGroups"],
                "assignPublicIp": "DISABLED"}})
        print(json.dumps({"subnets": small}))

    def blue_green_service(self, name):
        """Service `name` with web's task definition and network, deployed by ECS blue/green
        behind a new internal ALB: a blue and a green ip target group, a production listener
        rule forwarding to both (weights 100/0), a test listener forwarding to green, and an
        infrastructure role trusting ecs.amazonaws.com. Prints their ARNs."""
        web = self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
        awsvpc = web["networkConfiguration"]["awsvpcConfiguration"]
        self.out.vpc_id = self.ec2.describe_subnets(
            SubnetIds=awsvpc["subnets"])["Subnets"][0]["VpcId"]
        alb = self.elbv2.create_load_balancer(
            Name=f"{name}-alb", Type="application", Scheme="internal",
            Subnets=awsvpc["subnets"], SecurityGroups=awsvpc["securityGroups"],
        )["LoadBalancers"][0]["LoadBalancerArn"]
        blue, green = (self.target_group(f"{name}-{c}") for c in ("blue", "green"))
        listener = self.elbv2.create_listener(
            LoadBalancerArn=alb, Protocol="HTTP", Port=ALB_LISTENER_PORT,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": blue}],
        )["Listeners"][0]["ListenerArn"]
        production = self.elbv2.create_rule(
            ListenerArn=listener, Priority=1,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": blue, "Weight": 100}, {"TargetGroupArn": green, "Weight": 0}]}}],
        )["Rules"][0]["RuleArn"]
        test_listener = self.elbv2.create_listener(
            LoadBalancerArn=alb, Protocol="HTTP", Port=8081,
            DefaultActions=[{"Type": "forward", "TargetGroupArn": green}],
        )["Listeners"][0]["ListenerArn"]
        test = self.elbv2.create_rule(
            ListenerArn=test_listener, Priority=1,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            Actions=[{"Type": "forward", "TargetGroupArn": green}],
        )["Rules"][0]["RuleArn"]
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
            "Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        role = self.iam.create_role(RoleName=f"{name}-infrastructure",
                                    AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.ecs.create_service(
            cluster=CLUSTER, serviceName=name, taskDefinition=web["taskDefinition"],
            desiredCount=2, launchType="FARGATE",
            deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 5,
                                     "deploymentCircuitBreaker": {"enable": True, "rollback": True}},
            loadBalancers=[{"targetGroupArn": blue, "containerName": CONTAINER_NAME,
                            "containerPort": CONTAINER_PORT, "advancedConfiguration": {
                                "alternateTargetGroupArn": green, "productionListenerRule": production,
                                "testListenerRule": test, "roleArn": role}}],
            networkConfiguration={"awsvpcConfiguration": {
                "subnets": awsvpc["subnets"], "securityGroups": awsvpc["securityGroups"],
                "assignPublicIp": "DISABLED"}})
        print(json.dumps({"blue": blue, "green": green, "production": production, "test": test,
                          "test_listener": test_listener, "role": role}))

    def env_files(self):
        """Service web's task definition again, with two S3 environment files: config.env,
        uploaded to a bucket of the task's Region, and missing.env, never uploaded."""
        bucket = f"corp-config-{self.region}"
        self.s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={
            "LocationConstraint": self.region})
        self.s3.put_object(Bucket=bucket, Key="config.env", Body=b"LOG_LEVEL=info\n")
        web = self.ecs.describe_services(cluster=CLUSTER, services=[SERVICE])["services"][0]
        td = self.ecs.describe_task_definition(taskDefinition=web["taskDefinition"])["taskDefinition"]
        for c in td["containerDefinitions"]:
            c["environmentFiles"] = [{"type": "s3", "value": f"arn:aws:s3:::{bucket}/{key}"}
                                     for key in ("config.env", "missing.env")]
        keep = ("family", "taskRoleArn", "executionRoleArn", "networkMode", "containerDefinitions",
                "volumes", "requiresCompatibilities", "cpu", "memory")
        arn = self.ecs.register_task_definition(**{k: td[k] for k in keep if k in td})[
            "taskDefinition"]["taskDefinitionArn"]
        self.ecs.update_service(cluster=CLUSTER, service=SERVICE, taskDefinition=arn)
        print(json.dumps({"bucket": bucket}))

    def control(self, path, spec):
        """What ECS itself does and no API call can (tests/emulator/server.py's controls)."""
        request = urllib.request.Request(f"{self.endpoint}{path}", method="POST",
                                         data=json.dumps(spec).encode())
        with urllib.request.urlopen(request) as answer:
            answer.read()

    def image_manifest(self, arch):
        config = json.dumps({"architecture": arch, "os": "linux", "config": {},
                             "rootfs": {"type": "layers", "diff_ids": []}}).encode()
        # A stand-in layer (the checks never download layers; ECR wants every blob uploaded).
        layer = f"layer of {arch}".encode()
        return json.dumps({"schemaVersion": 2, "mediaType": DOCKER_MANIFEST, "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": self.put_blob(config), "size": len(config)}, "layers": [{
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": self.put_blob(layer), "size": len(layer)}]})

    def put_blob(self, data):
        upload = self.ecr.initiate_layer_upload(repositoryName=REPOSITORY)["uploadId"]
        self.ecr.upload_layer_part(repositoryName=REPOSITORY, uploadId=upload, partFirstByte=0,
                                   partLastByte=len(data) - 1, layerPartBlob=data)
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        return self.ecr.complete_layer_upload(repositoryName=REPOSITORY, uploadId=upload,
                                              layerDigests=[digest])["layerDigest"]

    def put_manifest(self, manifest, media_type, tag=None):
        digest = "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()
        kwargs = {"imageTag": tag} if tag else {}
        self.ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest,
                           imageManifestMediaType=media_type, imageDigest=digest, **kwargs)
        return digest

    def task_role(self, spec):
        if spec.task_role_actions is None:
            return
        name = self.fill(TASK_ROLE)
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole"}]}
        self.out.task_role_arn = self.iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        self.iam.put_role_policy(RoleName=name, PolicyName="task", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Action": list(spec.task_role_actions), "Resource": "*"}]}))

    def file_system(self, spec):
        """An EFS file system with mount targets (see Spec.efs) and an access point."""
        if spec.efs is None:
            return
        fs = self.efs.create_file_system(CreationToken=f"data-{self.region}", Encrypted=True)
        self.out.file_system_id = fs["FileSystemId"]
        efs_sg = self.ec2.create_security_group(
            GroupName="efs", Description="EFS mount targets", VpcId=self.out.vpc_id)["GroupId"]
        nfs = {"IpProtocol": "tcp", "FromPort": 2049, "ToPort": 2049}
        if spec.efs != "sg-closed":
            self.ec2.authorize_security_group_ingress(GroupId=efs_sg, IpPermissions=[
                dict(nfs, UserIdGroupPairs=[{"GroupId": self.out.task_sg, "UserId": ACCOUNT_ID}])])
        if spec.task_sg_egress != "default":
            self.ec2.authorize_security_group_egress(GroupId=self.out.task_sg, IpPermissions=[
                dict(nfs, UserIdGroupPairs=[{"GroupId": efs_sg, "UserId": ACCOUNT_ID}])])
        subnets = self.out.subnet_ids[:1] if spec.efs == "one-az" else self.out.subnet_ids
        for subnet in subnets:
            self.efs.create_mount_target(
                FileSystemId=self.out.file_system_id, SubnetId=subnet, SecurityGroups=[efs_sg])
        self.out.access_point_id = self.efs.create_access_point(
            FileSystemId=self.out.file_system_id,
            RootDirectory={"Path": "/web"})["AccessPointId"]

    def task_definition(self, spec, family, port):
        """Registers `family` with one container named like it (CONTAINER_NAME for `web`)."""
        container = {
            "name": family,
            "image": self.out.image,
            "essential": True,
            # moto's RunTask sums the containers' memory (AWS allows it left out on Fargate).
            "memory": 512,
            "environment": [SECRET_ENV],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": f"/ecs/{family}",
                    "awslogs-region": self.region,
                    "awslogs-stream-prefix": family,
                },
            },
        }
        # The group the awslogs driver writes to exists, as in a working deployment.
        try:
            self.logs.create_log_group(logGroupName=f"/ecs/{family}")
        except self.logs.exceptions.ResourceAlreadyExistsException:
            pass
        if port:
            container["portMappings"] = [{"containerPort": CONTAINER_PORT, "protocol": "tcp"}]
        if spec.secret is not None:
            container["secrets"] = [{"name": spec.secret[2], "valueFrom": self.out.secret_arn}]
        extra = {}
        if self.out.task_role_arn:
            extra["taskRoleArn"] = self.out.task_role_arn
        if spec.enable_execute_command:
            container["linuxParameters"] = {"initProcessEnabled": True}
        if self.out.file_system_id:
            container["mountPoints"] = [{"sourceVolume": "data", "containerPath": "/data"}]
            extra["volumes"] = [{"name": "data", "efsVolumeConfiguration": {
                "fileSystemId": self.out.file_system_id, "transitEncryption": "ENABLED",
                "authorizationConfig": {"accessPointId": self.out.access_point_id, "iam": "ENABLED"}}}]
        arn = self.ecs.register_task_definition(
            family=family,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            executionRoleArn=self.out.execution_role_arn,
            containerDefinitions=[container],
            **extra,
        )["taskDefinition"]["taskDefinitionArn"]
        self.out.task_definition_arns[family] = arn
        return arn

    def service(self, spec):
        self.out.platform_version_requested = spec.platform_version
        tg = TARGET_GROUP if self.out.target_group_arn is not None else None
        self.out.service_arn = self.create_service(
            spec, SERVICE, FAMILY, CONTAINER_NAME, tg, spec.health_check_grace_period
        )

    def create_service(self, spec, name, family, container, target_group, grace):
        """CreateService (see service_request); records the service; returns its ARN."""
        request = self.service_request(spec, name, family, container, target_group, grace)
        arn = self.ecs.create_service(**request)["service"]["serviceArn"]
        self.record_service(name, family, target_group)
        return arn

    def record_service(self, name, family, target_group):
        self.out.services.append(name)
        self.out.service_families[name] = family
        self.out.service_target_groups[name] = target_group

    def service_request(self, spec, name, family, container, target_group, grace):
        """CreateService arguments: `name` with the task definition of `family` and, when
        target_group is a name, container:CONTAINER_PORT registered with it."""
        kwargs = dict(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=self.out.task_definition_arns[family],
            desiredCount=1,
            launchType="FARGATE",
            deploymentConfiguration={
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200, "minimumHealthyPercent": 100},
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": self.out.subnet_ids,
                    "securityGroups": [self.out.task_sg],
                    "assignPublicIp": "DISABLED",
                }
            },
        )
        if spec.platform_version is not None:
            kwargs["platformVersion"] = spec.platform_version
        if spec.enable_execute_command:
            kwargs["enableExecuteCommand"] = True
        if target_group is not None:
            kwargs["loadBalancers"] = [
                {
                    "targetGroupArn": self.out.target_group_arns[target_group],
                    "containerName": container,
                    "containerPort": CONTAINER_PORT,
                }
            ]
        if grace is not None:
            kwargs["healthCheckGracePeriodSeconds"] = grace
        return kwargs

    def cluster_services(self, spec):
        """N services over CLUSTER_FAMILIES, created CREATE_WORKERS at a time, recorded in
        name order; then, with broken_family, BROKEN_SERVICE and the deregistration."""
        n = spec.cluster_services
        width = max(3, len(str(n - 1)))
        names = [CLUSTER_SERVICE.format(index=i, width=width) for i in range(n)]

        def shape(i):
            family, _, tg = CLUSTER_FAMILIES[i % len(CLUSTER_FAMILIES)]
            return family, tg

        def create(i):
            family, tg = shape(i)
            grace = spec.health_check_grace_period if tg is not None else None
            request = self.service_request(spec, names[i], family, family, tg, grace)
            return self.ecs.create_service(**request)["service"]["serviceArn"]

        # Created concurrently, recorded in name order afterwards.
        with ThreadPoolExecutor(max_workers=CREATE_WORKERS) as pool:
            arns = list(pool.map(create, range(n)))
        for i, name in enumerate(names):
            self.record_service(name, *shape(i))
        self.out.platform_version_requested = spec.platform_version
        self.out.service = CLUSTER_SERVICE.format(index=0, width=width)
        if n:
            self.out.service_arn = arns[0]
        if spec.broken_family:
            # Drift: the service's target group was deleted after the service was created
            # (detached from the listener first, as AWS requires).
            arn = self.task_definition(spec, BROKEN_FAMILY, True)
            tg = self.target_group(BROKEN_TARGET_GROUP)
            listener = self.elbv2.describe_listeners(LoadBalancerArn=self.out.load_balancer_arn)[
                "Listeners"
            ][0]["ListenerArn"]
            rule = self.elbv2.create_rule(
                ListenerArn=listener,
                Priority=99,
                Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/broken/*"]}}],
                Actions=[{"Type": "forward", "TargetGroupArn": tg}],
            )["Rules"][0]["RuleArn"]
            self.create_service(
                spec, BROKEN_SERVICE, BROKEN_FAMILY, BROKEN_FAMILY, BROKEN_TARGET_GROUP, 300
            )
            self.elbv2.delete_rule(RuleArn=rule)
            self.elbv2.delete_target_group(TargetGroupArn=tg)
            self.ecs.deregister_task_definition(taskDefinition=arn)
            self.out.deregistered_task_definition_arns.append(arn)

    # ---- the whole thing -----------------------------------------------------------------
    def build(self, spec):
        self.cluster(spec)
        if not spec.create_workload:
            return self.out
        self.vpc(spec)
        self.private_subnets(spec)
        for key in spec.extra_route_tables:
            self.route_table(key)
        self.s3_prefix_list()
        if spec.network == "nat":
            self.nat_network()
        self.security_groups(spec)
        self.load_balancer(spec)
        self.interface_endpoints(spec)
        self.shadowed_endpoint(spec)
        self.transit_routes(spec)
        self.s3_gateway_endpoint(spec)
        self.secret(spec)
        self.execution_role(spec)
        self.pull_through_cache(spec)
        self.task_role(spec)
        self.file_system(spec)
        self.workload(spec)
        if spec.cluster_services is not None:
            self.cluster_services(spec)
        elif spec.create_service:
            self.service(spec)
        return self.out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--list", action="store_true", help="print the scenario names")
    # Changes to a scenario built before in the region, as they happen to live accounts.
    parser.add_argument("--archive-image", action="store_true",
                        help="archive REPOSITORY:IMAGE_TAG, as a lifecycle rule would")
    parser.add_argument("--push-image", choices=("multi-arch", "amd64", "arm64-only"),
                        help="push REPOSITORY:IMAGE_TAG of this kind (see Spec.pushed_image)")
    parser.add_argument("--drop-mount-target", action="store_true",
                        help="delete the EFS file system's last mount target")
    parser.add_argument("--close-efs-sg", action="store_true",
                        help="revoke TCP 2049 from the task on the mount targets' security group")
    parser.add_argument("--drop-endpoint", metavar="SERVICE",
                        help="delete the VPC endpoint of this service, e.g. secretsmanager")
    parser.add_argument("--failed-task", metavar="REASON",
                        help="start a task of service web and let ECS stop it with this reason")
    parser.add_argument("--no-room", action="store_true",
                        help="service web: desiredCount 1, minimumHealthyPercent 100, maximumPercent 100")
    parser.add_argument("--small-subnet-service", metavar="NAME",
                        help="create service NAME of 20 tasks in two new /28 subnets")
    parser.add_argument("--blue-green-service", metavar="NAME",
                        help="create service NAME deployed by ECS blue/green behind a new ALB")
    parser.add_argument("--cmk-secret", action="store_true",
                        help="encrypt the secret with a new CMK whose policy grants only role admin")
    parser.add_argument("--delete-secret", action="store_true",
                        help="schedule the secret for deletion (7-day recovery window)")
    parser.add_argument("--delete-log-group", metavar="NAME", help="delete this log group")
    parser.add_argument("--bpa", choices=("off", "block-bidirectional", "block-ingress"),
                        help="set the Region's VPC Block Public Access mode")
    parser.add_argument("--bpa-exclude", metavar="RESOURCE=MODE", action="append",
                        help="exclude a VPC or subnet id (or nat-subnet: the NAT gateway's) from "
                             "Block Public Access with allow-bidirectional or allow-egress")
    parser.add_argument("--storage-key", choices=("fargate", "account-only"),
                        help="encrypt the cluster's Fargate ephemeral storage with a new key whose "
                             "policy has the Fargate statements, or only the account's")
    parser.add_argument("--env-files", action="store_true",
                        help="give service web two S3 environment files, one of them missing")
    parser.add_argument("--delete-listener", metavar="ARN",
                        help="delete this load balancer listener (and its rules)")
    parser.add_argument("--scale-to", metavar="SERVICE=MAX",
                        help="register an Application Auto Scaling target of SERVICE up to MAX tasks")
    parser.add_argument("--service-event", metavar="MESSAGE",
                        help="ECS writes this event of service web")
    parser.add_argument("name", nargs="?")
    args = parser.parse_args()
    if args.list:
        print("\n".join((*SCENARIOS, *PATTERNS)))
        return 0
    if args.endpoint and (args.archive_image or args.push_image or args.drop_mount_target
                          or args.close_efs_sg or args.drop_endpoint or args.failed_task
                          or args.service_event or args.no_room or args.small_subnet_service
                          or args.blue_green_service or args.delete_listener or args.cmk_secret
                          or args.delete_secret or args.delete_log_group or args.env_files or args.scale_to
                          or args.storage_key or args.bpa or args.bpa_exclude):
        Builder(args.endpoint, args.region, "change").change(args)
        return 0
    spec = spec_for(args.name)
    if spec is None or not args.endpoint:
        names = ",".join((*SCENARIOS, *PATTERNS))
        print(f"usage: scenario.py --endpoint URL --region REGION {{{names}}}", file=sys.stderr)
        return 2
    try:
        built = Builder(args.endpoint, args.region, args.name).build(spec)
    except ClientError as e:
        print(f"scenario {args.name}: {e}", file=sys.stderr)
        return 1
    print(built.to_json(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
