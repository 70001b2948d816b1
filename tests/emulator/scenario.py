#!/usr/bin/env python3
"""Build one named scenario in moto through the AWS APIs and print what the test needs.

Usage: python scenario.py --endpoint http://127.0.0.1:PORT --region REGION NAME
       python scenario.py --list

Prints one JSON object on stdout (see `Built.to_json`); every key is always present, null or
empty when the scenario did not create that thing. Exit status 2 on an unknown NAME, 1 on an
API error (the error goes to stderr).

A scenario is the `endpoint-only` base `Spec` plus a small change (see SCENARIOS); add new
ones there. Each scenario builds its own VPC 10.0.0.0/16 (moto's default VPC is left alone),
so run each in its own region (or account) to keep tests independent.
"""

import argparse
import dataclasses
import json
import sys
from dataclasses import dataclass, field, replace

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT_ID = "123456789012"
CLUSTER = "app"
SERVICE = "web"
FAMILY = "web"
REPOSITORY = "web"
EXECUTION_ROLE = "ecsTaskExecutionRole"
EXECUTION_POLICY_ARN = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
SECRET_ENV = {"name": "DB_PASSWORD", "value": "hunter2"}  # must never appear in a snapshot
DEFAULT_INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs")


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
}


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
    execution_role_arn: str | None = None
    task_definition_arn: str | None = None
    platform_version_requested: str | None = None

    def to_json(self):
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


class Builder:
    def __init__(self, endpoint, region, name):
        session = boto3.session.Session(
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name=region,
        )
        cfg = Config(retries={"max_attempts": 1})
        self.ec2 = session.client("ec2", endpoint_url=endpoint, config=cfg)
        self.ecs = session.client("ecs", endpoint_url=endpoint, config=cfg)
        self.ecr = session.client("ecr", endpoint_url=endpoint, config=cfg)
        self.iam = session.client("iam", endpoint_url=endpoint, config=cfg)
        self.region = region
        self.out = Built(scenario=name, region=region)

    # ---- helpers -------------------------------------------------------------------------
    def tag(self, kind, name):
        return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]

    def svc(self, short):
        return f"com.amazonaws.{self.region}.{short}"

    # ---- steps ---------------------------------------------------------------------------
    def vpc(self):
        vpc = self.ec2.create_vpc(
            CidrBlock="10.0.0.0/16", TagSpecifications=self.tag("vpc", "fargate-preflight")
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

    def private_subnets(self):
        rt = self.route_table("private")
        for i, (cidr, az) in enumerate(
            zip(("10.0.1.0/24", "10.0.2.0/24"), self.out.availability_zones)
        ):
            subnet = self.ec2.create_subnet(
                VpcId=self.out.vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=az,
                TagSpecifications=self.tag("subnet", f"private-{'ab'[i]}"),
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
            ],
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
        for short in spec.interface_endpoints:
            self.out.endpoints[short] = self.ec2.create_vpc_endpoint(
                VpcEndpointType="Interface",
                VpcId=self.out.vpc_id,
                ServiceName=self.svc(short),
                SubnetIds=self.out.subnet_ids,
                SecurityGroupIds=[self.out.endpoint_sg],
                PrivateDnsEnabled=True,
            )["VpcEndpoint"]["VpcEndpointId"]

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

    def execution_role(self):
        # IAM is global: the role may already exist from a scenario in another region.
        try:
            arn = self.iam.get_role(RoleName=EXECUTION_ROLE)["Role"]["Arn"]
        except ClientError as e:
            if e.response["Error"]["Code"] != "NoSuchEntity":
                raise
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
            try:
                arn = self.iam.create_role(
                    RoleName=EXECUTION_ROLE, AssumeRolePolicyDocument=json.dumps(trust)
                )["Role"]["Arn"]
            except ClientError as e:  # another scenario, built in parallel, was faster
                if e.response["Error"]["Code"] != "EntityAlreadyExists":
                    raise
                arn = self.iam.get_role(RoleName=EXECUTION_ROLE)["Role"]["Arn"]
        self.iam.attach_role_policy(RoleName=EXECUTION_ROLE, PolicyArn=EXECUTION_POLICY_ARN)
        self.out.execution_role_arn = arn

    def cluster(self):
        self.out.cluster_arn = self.ecs.create_cluster(clusterName=CLUSTER)["cluster"][
            "clusterArn"
        ]

    def workload(self):
        self.out.repository_uri = self.ecr.create_repository(repositoryName=REPOSITORY)[
            "repository"
        ]["repositoryUri"]
        self.out.image = f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com/{REPOSITORY}:1.0"
        self.out.task_definition_arn = self.ecs.register_task_definition(
            family=FAMILY,
            requiresCompatibilities=["FARGATE"],
            networkMode="awsvpc",
            cpu="256",
            memory="512",
            executionRoleArn=self.out.execution_role_arn,
            containerDefinitions=[
                {
                    "name": "web",
                    "image": self.out.image,
                    "essential": True,
                    "portMappings": [{"containerPort": 8080, "protocol": "tcp"}],
                    "environment": [SECRET_ENV],
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {
                            "awslogs-group": "/ecs/web",
                            "awslogs-region": self.region,
                            "awslogs-stream-prefix": "web",
                        },
                    },
                }
            ],
        )["taskDefinition"]["taskDefinitionArn"]

    def service(self, spec):
        kwargs = dict(
            cluster=CLUSTER,
            serviceName=SERVICE,
            taskDefinition=self.out.task_definition_arn,
            desiredCount=1,
            launchType="FARGATE",
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
        self.out.platform_version_requested = spec.platform_version
        self.out.service_arn = self.ecs.create_service(**kwargs)["service"]["serviceArn"]

    # ---- the whole thing -----------------------------------------------------------------
    def build(self, spec):
        self.cluster()
        if not spec.create_workload:
            return self.out
        self.vpc()
        self.private_subnets()
        for key in spec.extra_route_tables:
            self.route_table(key)
        self.s3_prefix_list()
        if spec.network == "nat":
            self.nat_network()
        self.security_groups(spec)
        self.interface_endpoints(spec)
        self.s3_gateway_endpoint(spec)
        self.execution_role()
        self.workload()
        if spec.create_service:
            self.service(spec)
        return self.out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--endpoint", help="moto server URL, e.g. http://127.0.0.1:5000")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--list", action="store_true", help="print the scenario names")
    parser.add_argument("name", nargs="?")
    args = parser.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if args.name not in SCENARIOS or not args.endpoint:
        print(f"usage: scenario.py --endpoint URL --region REGION {{{','.join(SCENARIOS)}}}",
              file=sys.stderr)
        return 2
    spec = SCENARIOS[args.name](Spec())
    try:
        built = Builder(args.endpoint, args.region, args.name).build(spec)
    except ClientError as e:
        print(f"scenario {args.name}: {e}", file=sys.stderr)
        return 1
    print(built.to_json(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
