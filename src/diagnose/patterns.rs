//! Known failure texts of ECS tasks and services, and the checks that decide each. Data: one
//! entry per pattern. A pattern matches when every group has one of its phrases in the text,
//! compared lower-case with runs of white space as one space, so ARNs, ids, IPs, regions,
//! retry counts and the agent's wrapping do not matter.

pub struct Pattern {
    pub id: &'static str,
    pub description: &'static str,
    /// Every group must match; a group matches when any of its phrases occurs.
    pub all_of: &'static [&'static [&'static str]],
    /// The checks whose findings can explain it; empty where no check can (Fargate's own
    /// capacity at the time).
    pub checks: &'static [&'static str],
}

/// The image pull itself (not the registry auth before it).
const PULL: &[&str] = &[
    "cannotpullcontainererror",
    "pull image",
    "pulling image",
    "failed to resolve ref",
    "pull access denied",
];
/// A request that never got an answer: the network path.
const NO_ANSWER: &[&str] = &[
    "i/o timeout",
    "deadline exceeded",
    "timeout",
    "timed out",
    "request canceled",
    "connection refused",
    "connection issue",
    "no such host",
    "dial tcp",
    "send request failed",
    // A layer fetch from the starport bucket cut short.
    "error pulling image configuration",
];

pub static PATTERNS: &[Pattern] = &[
    Pattern {
        id: "ecr-auth-timeout",
        description: "The task could not reach ECR's API for its registry auth token (api.ecr / ecr.api): no ecr.api endpoint and no path out, or blocked by DNS, security groups or NACLs.",
        all_of: &[
            &["api.ecr.", "ecr registry auth", "registry auth from amazon ecr", "getauthorizationtoken"],
            NO_ANSWER,
        ],
        checks: &["egress-path", "ecr-api-endpoint", "endpoint-private-dns", "endpoint-security-groups", "network-acl", "vpc-dns", "dhcp-dns"],
    },
    Pattern {
        id: "ecr-pull-timeout",
        description: "The image pull from ECR (dkr.ecr) or its layer bucket (prod-REGION-starport-layer-bucket on S3) timed out: a missing ecr.dkr endpoint or S3 gateway route, or blocked traffic.",
        all_of: &[
            &[".dkr.ecr.", "starport-layer-bucket"],
            NO_ANSWER,
        ],
        checks: &["egress-path", "ecr-dkr-endpoint", "s3-gateway-endpoint", "s3-gateway-route", "s3-endpoint-policy", "endpoint-private-dns", "endpoint-security-groups", "network-acl"],
    },
    Pattern {
        id: "image-not-found",
        description: "The image's repository, tag or digest does not exist (never pushed, deleted by a lifecycle policy, archived, or a typo), or the pull is refused.",
        all_of: &[
            PULL,
            &["not found", "manifest unknown", "does not exist", "name unknown"],
        ],
        checks: &["image-exists", "pull-through-cache", "execution-role"],
    },
    Pattern {
        id: "task-definition-invalid",
        description: "ECS refused the task definition: its cpu and memory are not a Fargate size, or another field is invalid for Fargate.",
        all_of: &[&["no fargate configuration exists for given values", "invalid 'cpu' setting for task", "invalid 'memory' setting for task"]],
        checks: &["task-definition"],
    },
    Pattern {
        id: "platform-mismatch",
        description: "The image was built for another CPU architecture or OS than the task's runtimePlatform.",
        all_of: &[&[
            "does not contain descriptor matching platform",
            "failed to find a descriptor for platform",
            "no matching manifest for",
            "exec format error",
        ]],
        checks: &["image-platform"],
    },
    Pattern {
        id: "public-registry-pull",
        description: "An image from a public registry (Docker Hub, ghcr.io, quay.io, public.ecr.aws) could not be pulled: no path out from the subnets, or Docker Hub's pull rate limit.",
        all_of: &[
            &["docker.io", "ghcr.io", "quay.io", "public.ecr.aws", "toomanyrequests", "pull rate limit"],
            &[
                "timeout",
                "timed out",
                "deadline exceeded",
                "request canceled",
                "dial tcp",
                "no such host",
                "toomanyrequests",
                "too many requests",
                "rate limit",
                "unexpected status code",
            ],
        ],
        checks: &["public-image", "pull-through-cache", "egress-path"],
    },
    Pattern {
        id: "secrets-manager",
        description: "ECS could not read a Secrets Manager secret (a secrets entry or the registry credentials) at start: no secretsmanager endpoint or path out, the execution role may not read it, it does not exist, or its KMS key cannot be used.",
        all_of: &[&["from asm", "asm fetching", "from secrets manager", "secretsmanager:getsecretvalue"]],
        checks: &["secrets-endpoints", "execution-role", "endpoint-security-groups", "network-acl"],
    },
    Pattern {
        id: "secrets-ssm",
        description: "ECS could not read an SSM parameter at start: no ssm endpoint or path out, the execution role may not read it, or it does not exist (or is in another Region without its full ARN).",
        all_of: &[&["from ssm", "ssm parameter store", "ssm:getparameters", "invalid ssm parameters"]],
        checks: &["secrets-endpoints", "execution-role", "endpoint-security-groups", "network-acl"],
    },
    Pattern {
        id: "awslogs",
        description: "The awslogs driver could not start: no logs endpoint or path out, the log group does not exist (and awslogs-create-group is off), or the execution role may not write to it.",
        all_of: &[&[
            "failed to initialize logging driver",
            "failed to validate logger args",
            "failed to create cloudwatch log stream",
            "failed to create cloudwatch log group",
            "cannot find the amazon cloudwatch log group",
            "connection issue between the task and amazon cloudwatch",
        ]],
        checks: &["logs-endpoint", "execution-role", "endpoint-security-groups", "network-acl"],
    },
    Pattern {
        id: "environment-files",
        description: "ECS could not download an S3 environment file: no S3 route, the execution role or bucket policy refuses it, or the object does not exist.",
        all_of: &[&["env file", "environment file"]],
        checks: &["s3-gateway-endpoint", "s3-gateway-route", "s3-endpoint-policy", "execution-role"],
    },
    Pattern {
        id: "efs-mount",
        description: "The EFS volume could not be mounted: no mount target in the task's zone (the name does not resolve), TCP 2049 blocked, access denied by the file system policy or the task role, or a missing access point path.",
        all_of: &[&["efs utils", "efs volume", "mount.nfs", "failed to mount fs-", ".efs."]],
        checks: &["efs-volumes", "task-role"],
    },
    Pattern {
        id: "task-role-assume",
        description: "ECS could not assume a role of the task: it does not exist or its trust policy does not let ecs-tasks.amazonaws.com assume it.",
        all_of: &[&["unable to assume the role"]],
        checks: &["task-role", "execution-role"],
    },
    Pattern {
        id: "elb-health-check",
        description: "The load balancer's health checks failed before the application answered: the grace period or health check timing is too short, the target group's port or path is wrong, or the load balancer cannot reach the task.",
        all_of: &[&[
            "failed elb health checks",
            "is unhealthy in (target-group",
            "is unhealthy in target-group",
            "is unhealthy in (elb",
        ]],
        checks: &["health-check-timing", "health-check-grace", "load-balancer-ingress"],
    },
    Pattern {
        id: "container-health-check",
        description: "The container's own health check failed: its command, or a start period too short for the application.",
        all_of: &[&["failed container health checks"]],
        checks: &["container-health-check"],
    },
    Pattern {
        id: "essential-container-exited",
        description: "An essential container exited: usually the application itself (see its logs and exit code), or a dependency it could not reach.",
        all_of: &[&["essential container in task exited"]],
        checks: &["image-platform", "secrets-endpoints", "logs-endpoint"],
    },
    Pattern {
        id: "insufficient-ips",
        description: "The task subnets have no free IP addresses for new tasks.",
        all_of: &[&["insufficientfreeaddressesinsubnet", "does not have enough free addresses"]],
        checks: &["subnet-capacity"],
    },
    Pattern {
        id: "deployment-stall",
        description: "The deployment cannot start or stop tasks under its minimum/maximum healthy percent, its tasks keep failing to start, or the circuit breaker rolled it back.",
        all_of: &[&[
            "because of the service deployment configuration",
            "unable to consistently start tasks",
            "deployment failed",
            "circuit breaker",
        ]],
        checks: &["deployment-configuration"],
    },
    Pattern {
        id: "vcpu-limit",
        description: "The account's Fargate vCPU quota (formerly a task count) is used up.",
        all_of: &[&["limit on the number of vcpus", "limit on the number of tasks you can run"]],
        checks: &["fargate-quota"],
    },
    Pattern {
        id: "capacity-unavailable",
        description: "Fargate had no capacity for the task in that zone at the time (retry, or spread over more zones).",
        all_of: &[&["capacity is unavailable at this time"]],
        checks: &[],
    },
];
