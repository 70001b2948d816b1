//! efs-volumes: each EFS volume of the task can be mounted: the file system and its access
//! point exist, a mount target serves every task subnet's Availability Zone, NFS (TCP 2049)
//! passes the security groups and NACLs both ways, the volume settings ECS requires hold,
//! and the file system policy and the task role allow the mount.

use ipnet::{IpNet, Ipv4Net};

use super::context::TaskSubnet;
use super::iam::{identity_decision, identity_decision_of_denies, task_role_for};
use super::nacl::{port_flow_gaps, task_ports, verdict_from_gaps};
use super::netrules::{sg_allows_groups, sg_uncovered};
use super::{Check, Context, Explain, Outcome, Problem, Severity, Verdict};
use crate::facts::platform;
use crate::facts::rules::{acl_of, Direction};
use crate::policy::{self, Decision, Request};
use crate::snapshot::{
    EfsVolume, FileSystem, GatherError, GatherErrorKind, MountTarget, TaskDefinition, Volume,
};

pub static EFS_VOLUMES: Check = Check {
    id: "efs-volumes",
    title: "EFS volumes can be mounted: mount targets, NFS path, access point, encryption, IAM",
    severity: Severity::Error,
    docs: "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/efs-volumes.html",
    run: efs_volumes,
    explain: Explain {
        verifies: "For every volume with efsVolumeConfiguration: the file system exists and is available, an available mount target is in the Availability Zone of every task subnet (a One Zone file system serves one zone), TCP 2049 passes the task's and the mount target's security groups and both subnets' NACLs (with the replies), the access point exists on that file system, rootDirectory is omitted or / with an access point, transit encryption is on where ECS requires it, and the mount is allowed.",
        why: "'Failed to resolve \"fs-….efs.REGION.amazonaws.com\"' means no mount target in the task's zone; 'mount.nfs4: Connection timed out' is TCP 2049 blocked; 'access denied by server' is the file system policy or the task role.",
        decides: "Mount targets from DescribeMountTargets and their groups from DescribeMountTargetSecurityGroups; the rules with the same engine as the endpoint checks. With IAM authorization the task role needs elasticfilesystem:ClientMount (and ClientWrite unless every mount point of the volume is readOnly): as the EFS guide says, an allow in either the task role's policies or the file system policy is enough, and an explicit deny in either wins; no file system policy means the default one, which allows any client. Without IAM authorization the client is anonymous and only the file system policy decides. aws:SecureTransport follows transitEncryption; elasticfilesystem:AccessPointArn is the access point's.",
        fix: "Create a mount target in each task subnet's zone (aws efs create-mount-target), allow TCP 2049 from the task's security group on the mount target's, fix the NACL rules, set transitEncryption ENABLED, leave rootDirectory out with an access point, and allow elasticfilesystem:ClientMount/ClientWrite to the task role.",
    },
};

const NFS: i32 = 2049;

/// The principal of a mount without IAM authorization: it matches `"*"` and nothing named.
const ANONYMOUS: &str = "anonymous";

fn efs_volumes(ctx: &Context) -> Outcome {
    let td = ctx.task_definition()?;
    let volumes: Vec<(&Volume, &EfsVolume)> = td
        .volumes
        .iter()
        .filter_map(|v| v.efs.as_ref().map(|e| (v, e)))
        .collect();
    if volumes.is_empty() {
        return Ok(vec![Verdict::skip(
            ctx.scope(),
            "the task definition has no EFS volume",
        )]);
    }
    if td.is_windows() {
        return Ok(vec![Verdict::fail(
            ctx.scope(),
            "EFS volumes are not supported for Windows containers on Fargate",
            "use FSx for Windows File Server, or run the task on Linux",
        )]);
    }
    let resolved = platform::resolve(&ctx.snap.workload, td);
    if !resolved.at_least_1_4_0() {
        return Ok(vec![Verdict::fail(
            ctx.scope(),
            format!(
                "platform version {} cannot mount EFS volumes (Linux 1.4.0 or later)",
                resolved.version
            ),
            "set the service's platformVersion to LATEST (or 1.4.0)",
        )]);
    }
    let file_systems = ctx.snap.file_systems.get()?;
    let mut verdicts = Vec::new();
    for (volume, efs) in volumes {
        let res = format!("volume {} ({})", volume.name, efs.file_system_id);
        match one_volume(ctx, td, file_systems, volume, efs, &res) {
            Ok(found) => verdicts.extend(found),
            Err(problem) => verdicts.push(Verdict::could_not_check(res, &problem)),
        }
    }
    Ok(verdicts)
}

fn one_volume(
    ctx: &Context,
    td: &TaskDefinition,
    file_systems: &[FileSystem],
    volume: &Volume,
    efs: &EfsVolume,
    res: &str,
) -> Result<Vec<Verdict>, Problem> {
    let id = efs.file_system_id.as_str();
    let fs = file_systems.iter().find(|f| f.id == id).ok_or_else(|| {
        Problem::NotGathered(GatherError {
            action: "elasticfilesystem:DescribeFileSystems".into(),
            kind: GatherErrorKind::Skipped,
            message: format!("{id} was not looked up"),
        })
    })?;
    let description = match fs.description.ok() {
        Ok(d) => d,
        Err(e) if e.kind == GatherErrorKind::NotFound => {
            return Ok(vec![Verdict::fail(
                res,
                format!("file system {id} does not exist in {}: the task cannot mount volume {}", ctx.region(), volume.name),
                format!("point efsVolumeConfiguration.fileSystemId of volume {} at an existing file system (aws efs describe-file-systems --region {})", volume.name, ctx.region()),
            )]);
        }
        Err(e) => return Err(e.clone().into()),
    };
    if description.life_cycle_state != "available" {
        return Ok(vec![Verdict::fail(
            res,
            format!(
                "file system {id} is {}, not available",
                description.life_cycle_state
            ),
            format!("wait until aws efs describe-file-systems --file-system-id {id} shows it available, or use another file system"),
        )]);
    }
    let mut verdicts = Vec::new();
    let mut settings = Vec::new();
    if efs.iam && !efs.transit_encryption {
        settings.push(
            "IAM authorization needs transitEncryption ENABLED (ECS API, EFSAuthorizationConfig)"
                .to_string(),
        );
    }
    if efs.access_point_id.is_some() && !efs.transit_encryption {
        settings.push(
            "an access point needs transitEncryption ENABLED (ECS API, EFSAuthorizationConfig)"
                .to_string(),
        );
    }
    if efs.access_point_id.is_some() && efs.root_directory.as_deref().is_some_and(|r| r != "/") {
        settings.push(format!(
            "with an access point rootDirectory must be omitted or /, not {} (the access point sets the path)",
            efs.root_directory.as_deref().unwrap_or_default()
        ));
    }
    if !settings.is_empty() {
        verdicts.push(Verdict::fail(
            format!("{res} settings"),
            settings.join("; "),
            format!("in volume {} of the task definition set \"transitEncryption\": \"ENABLED\" and leave rootDirectory out (or /) when accessPointId is set", volume.name),
        ));
    }
    let access_point = match &efs.access_point_id {
        None => None,
        Some(ap_id) => match fs.access_points.ok() {
            Err(error) => {
                verdicts.push(Verdict::could_not_check(
                    format!("{res} access point"),
                    &error.clone().into(),
                ));
                None
            }
            Ok(points) => match points.iter().find(|p| &p.id == ap_id) {
                None => {
                    verdicts.push(Verdict::fail(
                        format!("{res} access point"),
                        format!("access point {ap_id} does not exist on file system {id}"),
                        format!("point authorizationConfig.accessPointId at an access point of {id} (aws efs describe-access-points --file-system-id {id})"),
                    ));
                    None
                }
                Some(p) if p.life_cycle_state != "available" => {
                    verdicts.push(Verdict::fail(
                        format!("{res} access point"),
                        format!("access point {ap_id} is {}, not available", p.life_cycle_state),
                        format!("wait until aws efs describe-access-points --access-point-id {ap_id} shows it available"),
                    ));
                    Some(p)
                }
                Some(p) => Some(p),
            },
        },
    };
    match mount_targets(ctx, fs, description, res) {
        Ok(found) => verdicts.extend(found),
        Err(problem) => verdicts.push(Verdict::could_not_check(
            format!("{res} mount targets"),
            &problem,
        )),
    }
    let read_only = td
        .containers
        .iter()
        .flat_map(|c| &c.mount_points)
        .filter(|m| m.source_volume == volume.name)
        .all(|m| m.read_only);
    let permission = mount_permission(
        ctx,
        fs,
        efs,
        access_point.map(|p| p.arn.as_str()),
        &description.arn,
        read_only,
        res,
    );
    match permission {
        Ok(found) => verdicts.extend(found),
        Err(problem) => verdicts.push(Verdict::could_not_check(
            format!("{res} mount permission"),
            &problem,
        )),
    }
    if verdicts.is_empty() {
        verdicts.push(Verdict::pass(
            res,
            format!("{id} is available with a mount target in every task subnet's zone, NFS open both ways, and the mount allowed"),
        ));
    }
    Ok(verdicts)
}

/// A mount target in each task subnet's zone, and the NFS path to it.
fn mount_targets(
    ctx: &Context,
    fs: &FileSystem,
    description: &crate::snapshot::FileSystemDescription,
    res: &str,
) -> Result<Vec<Verdict>, Problem> {
    let id = fs.id.as_str();
    let targets = fs.mount_targets.get()?;
    let mut verdicts = Vec::new();
    for ts in ctx.task_subnets()? {
        let subnet = ts.subnet;
        let Some(zone) = subnet.availability_zone.as_deref() else {
            verdicts.push(Verdict::could_not_check(
                format!("{res} in {}", subnet.id),
                &Problem::Unreadable {
                    what: format!("subnet {}", subnet.id),
                    why: "its Availability Zone is not in the snapshot".into(),
                },
            ));
            continue;
        };
        let resource = format!("{res} in {} ({zone})", subnet.id);
        if let Some(home) = description.availability_zone_name.as_deref() {
            if home != zone {
                verdicts.push(Verdict::fail(
                    resource,
                    format!("{id} is a One Zone file system in {home}: tasks in {} ({zone}) cannot mount it", subnet.id),
                    format!("run the service only in subnets of {home}, or use a Regional file system"),
                ));
                continue;
            }
        }
        let in_zone: Vec<&MountTarget> = targets
            .iter()
            .filter(|t| t.availability_zone_name.as_deref() == Some(zone))
            .collect();
        let Some(target) = in_zone.iter().find(|t| t.life_cycle_state == "available") else {
            let task_sgs = ctx.task_security_groups()?.join(" ");
            verdicts.push(Verdict::fail(
                resource,
                match in_zone.first() {
                    Some(t) => format!("the mount target of {id} in {zone} ({}) is {}, not available", t.id, t.life_cycle_state),
                    None => format!("{id} has no mount target in {zone}: the task fails with 'Failed to resolve \"{id}.efs.{}.amazonaws.com\"'", ctx.region()),
                },
                format!("aws efs create-mount-target --file-system-id {id} --subnet-id {} --security-groups sg-… (one that allows TCP 2049 from {task_sgs})", subnet.id),
            ));
            continue;
        };
        match nfs_path(ctx, ts, target, &resource) {
            Ok(found) => verdicts.extend(found),
            Err(problem) => verdicts.push(Verdict::could_not_check(resource, &problem)),
        }
    }
    Ok(verdicts)
}

fn nfs_path(
    ctx: &Context,
    ts: &TaskSubnet,
    target: &MountTarget,
    resource: &str,
) -> Result<Vec<Verdict>, Problem> {
    let in_vpc = ctx
        .network()?
        .subnets
        .get()?
        .iter()
        .any(|s| s.id == target.subnet_id);
    if ts.subnet.ipv6_native {
        // The snapshot holds a mount target's IPv4 address only; its IPv6 path is not modelled.
        return Ok(vec![Verdict::warn(
            resource,
            format!("task subnet {} is IPv6-only: whether mount target {} takes NFS over IPv6 (an IPv6 or dual-stack mount target) and the security groups and NACLs allow it is not verified by this tool", ts.subnet.id, target.id),
            format!("make sure mount target {} has an IPv6 address (aws efs describe-mount-targets --mount-target-id {}) and TCP 2049 is allowed between {} and it over IPv6", target.id, target.id, ts.subnet.id),
        )]);
    }
    if !in_vpc {
        return Ok(vec![Verdict::warn(
            resource,
            format!("mount target {} is in subnet {}, outside the task's VPC {}: the mount works only over peering or a transit gateway, which the preflight does not follow", target.id, target.subnet_id, ctx.vpc_id()?),
            format!("create a mount target in the task's VPC ({}), or verify the peering route, security groups and DNS by hand", ctx.vpc_id()?),
        )]);
    }
    let task_sgs = ctx.task_security_groups()?;
    let target_sgs = target.security_groups.get()?;
    let prefix_lists = ctx.network()?.prefix_lists.get()?;
    let target_ip = target
        .ip_address
        .as_deref()
        .and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok());
    let target_net: Vec<IpNet> = match target_ip {
        Some(ip) => vec![Ipv4Net::from(ip).into()],
        None => ctx.subnet_cidrs(std::slice::from_ref(&target.subnet_id))?,
    };
    let task_net = ts.subnet.task_nets();
    let task_label = ts.subnet.task_nets_label();
    let mut problems = Vec::new();
    let mut fixes = Vec::new();
    let egress = ctx.rules_of(&task_sgs, "a security group of the task", Direction::Egress)?;
    let egress_ok = sg_allows_groups(&egress, NFS, target_sgs)
        || (!target_net.is_empty()
            && sg_uncovered(&egress, NFS, &target_net, prefix_lists).is_empty());
    if !egress_ok {
        problems.push(format!(
            "task security groups {} do not allow outbound TCP 2049 to mount target {} (groups {})",
            task_sgs.join(", "),
            target.id,
            target_sgs.join(", ")
        ));
        fixes.push(format!(
            "aws ec2 authorize-security-group-egress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=2049,ToPort=2049,UserIdGroupPairs=[{{GroupId={}}}]'",
            task_sgs.first().map(String::as_str).unwrap_or("sg-…"),
            target_sgs.first().map(String::as_str).unwrap_or("sg-…")
        ));
    }
    let ingress = ctx.rules_of(
        target_sgs,
        &format!("a security group of mount target {}", target.id),
        Direction::Ingress,
    )?;
    let ingress_ok = sg_allows_groups(&ingress, NFS, &task_sgs)
        || sg_uncovered(&ingress, NFS, &task_net, prefix_lists).is_empty();
    if !ingress_ok {
        problems.push(format!(
            "mount target {} security groups {} do not allow inbound TCP 2049 from the task (groups {}, or {})",
            target.id,
            target_sgs.join(", "),
            task_sgs.join(", "),
            task_label
        ));
        fixes.push(format!(
            "aws ec2 authorize-security-group-ingress --group-id {} --ip-permissions 'IpProtocol=tcp,FromPort=2049,ToPort=2049,UserIdGroupPairs=[{{GroupId={}}}]'",
            target_sgs.first().map(String::as_str).unwrap_or("sg-…"),
            task_sgs.first().map(String::as_str).unwrap_or("sg-…")
        ));
    }
    let mut verdicts = Vec::new();
    if !problems.is_empty() {
        verdicts.push(Verdict::fail(
            format!("{resource} security groups"),
            format!(
                "{}: the mount fails with 'mount.nfs4: Connection timed out'",
                problems.join("; ")
            ),
            fixes.join("; "),
        ));
    }
    // NACLs judge only traffic that crosses a subnet boundary.
    if target.subnet_id != ts.subnet.id {
        let acls = ctx.network()?.network_acls.get()?;
        let ports = task_ports(ctx)?;
        let mut gaps = Vec::new();
        let mut acl_ids = Vec::new();
        let missing = |subnet: &str| {
            Problem::missing(
                format!("a network ACL for {subnet}"),
                "the network ACLs of the VPC (every subnet has one)",
            )
        };
        let task_acl = acl_of(acls, &ts.subnet.id).ok_or_else(|| missing(&ts.subnet.id))?;
        acl_ids.push(task_acl.id.clone());
        for net in &target_net {
            gaps.extend(port_flow_gaps(
                task_acl,
                NFS,
                true,
                *net,
                false,
                ports,
                &format!(
                    "between {} and mount target {} ({})",
                    ts.subnet.id, target.id, task_acl.id
                ),
            ));
        }
        let target_acl =
            acl_of(acls, &target.subnet_id).ok_or_else(|| missing(&target.subnet_id))?;
        if target_acl.id != task_acl.id {
            acl_ids.push(target_acl.id.clone());
        }
        for net in &task_net {
            gaps.extend(port_flow_gaps(
                target_acl,
                NFS,
                false,
                *net,
                false,
                ports,
                &format!(
                    "between mount target subnet {} and {} ({})",
                    target.subnet_id, ts.subnet.id, target_acl.id
                ),
            ));
        }
        let verdict = verdict_from_gaps(
            format!("{resource} network ACLs"),
            gaps,
            String::new(),
            format!("allow TCP 2049 from {} to {} and the replies to ports {}-{} in {} (aws ec2 create-network-acl-entry …)", task_label, target_net.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(", "), ports.0, ports.1, acl_ids.join(" and ")),
        );
        if verdict.status != super::Status::Pass {
            verdicts.push(verdict);
        }
    }
    Ok(verdicts)
}

/// Is the mount allowed? With IAM authorization the task role mounts, and an allow in either
/// its policies or the file system policy is enough while an explicit deny in either wins
/// (EFS guide, "IAM to control file system data access"); without it the client is
/// anonymous and only the file system policy decides. No policy is the default one, which
/// allows every client.
fn mount_permission(
    ctx: &Context,
    fs: &FileSystem,
    efs: &EfsVolume,
    access_point_arn: Option<&str>,
    fs_arn: &str,
    read_only: bool,
    res: &str,
) -> Result<Vec<Verdict>, Problem> {
    let mut actions = vec!["elasticfilesystem:ClientMount"];
    if !read_only {
        actions.push("elasticfilesystem:ClientWrite");
    }
    let policy_doc = match &fs.policy.get()?.text {
        None => None,
        Some(text) => Some(
            policy::parse_document(text).map_err(|e| Problem::Unreadable {
                what: format!("the file system policy of {}", fs.id),
                why: e.to_string(),
            })?,
        ),
    };
    let secure = if efs.transit_encryption {
        "true"
    } else {
        "false"
    };
    let mut known: Vec<(String, String)> = vec![("aws:SecureTransport".into(), secure.into())];
    if let Some(arn) = access_point_arn {
        known.push(("elasticfilesystem:AccessPointArn".into(), arn.into()));
    }
    let resource = format!("{res} mount permission");
    let role = if efs.iam {
        match task_role_for(ctx, "EFS IAM authorization")? {
            Ok(role) => Some(role),
            Err(verdict) => return Ok(vec![verdict]),
        }
    } else {
        None
    };
    if let Some(role) = role {
        known.extend(policy::principal_context(&role.arn, &role.tags));
    }
    let context = policy::pairs(&known);
    let mut refused = Vec::new();
    let mut uncertain = Vec::new();
    let principal = role.map_or(ANONYMOUS, |r| r.arn.as_str());
    for action in &actions {
        let request = Request {
            action,
            resource: fs_arn,
            principal: Some(principal),
            context: &context,
        };
        let by_policy = match &policy_doc {
            None => Decision::Allowed,
            Some(doc) => policy::evaluate(doc, &request),
        };
        let by_role = match role {
            Some(role) => identity_decision(role, action, fs_arn, &context)?,
            // An anonymous client has no identity policy.
            None => Decision::ImplicitDeny,
        };
        // A Deny in either wins: asked on their own, the denies say whether one applies.
        let mut denies = vec![];
        if let Some(doc) = &policy_doc {
            denies.push((
                "file system policy",
                policy::evaluate(&policy::denies_only(doc), &request),
            ));
        }
        if let Some(role) = role {
            denies.push((
                "task role's policies",
                identity_decision_of_denies(role, action, fs_arn, &context)?,
            ));
        }
        if let Some((whose, _)) = denies
            .iter()
            .find(|(_, d)| matches!(d, Decision::ExplicitDeny { .. }))
        {
            refused.push(format!(
                "{action} (an explicit deny in the {whose} matches)"
            ));
            continue;
        }
        let mut reasons: Vec<String> = denies
            .iter()
            .filter_map(|(whose, d)| match d {
                Decision::Uncertain { reasons } => Some(format!(
                    "a Deny in the {whose} may apply: {}",
                    reasons.join("; ")
                )),
                _ => None,
            })
            .collect();
        let allowed =
            matches!(by_policy, Decision::Allowed) || matches!(by_role, Decision::Allowed);
        if allowed && reasons.is_empty() {
            continue;
        }
        for d in [&by_policy, &by_role] {
            if let Decision::Uncertain { reasons: more } = d {
                reasons.extend(more.iter().cloned());
            }
        }
        if allowed || !reasons.is_empty() {
            uncertain.push(format!("{action} ({})", reasons.join("; ")));
        } else {
            refused.push(format!(
                "{action} (neither the file system policy nor the task role's policies allow it)"
            ));
        }
    }
    let who = match role {
        Some(r) => format!("the task role {}", r.name),
        None => "an anonymous client (no IAM authorization)".to_string(),
    };
    let fix = match role {
        Some(r) => format!("allow {} on {fs_arn} to {}: aws iam put-role-policy --role-name {} --policy-name efs-{} --policy-document '{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"Allow\",\"Action\":[{}],\"Resource\":\"{fs_arn}\"}}]}}' (and no Deny for it in the file system policy)", actions.join(", "), r.arn, r.name, fs.id, actions.iter().map(|a| format!("\"{a}\"")).collect::<Vec<_>>().join(",")),
        None => format!("let anonymous clients mount in the file system policy of {} (aws efs describe-file-system-policy --file-system-id {}), or turn on IAM authorization with a task role that may mount", fs.id, fs.id),
    };
    Ok(if !refused.is_empty() {
        vec![Verdict::fail(
            resource,
            format!(
                "{who} may not mount {}: {}; the mount fails with 'access denied by server'",
                fs.id,
                refused.join(", ")
            ),
            fix,
        )]
    } else if !uncertain.is_empty() {
        vec![Verdict::warn(
            resource,
            format!(
                "whether {who} may mount {} depends on what the preflight cannot evaluate: {}",
                fs.id,
                uncertain.join(", ")
            ),
            fix,
        )]
    } else {
        vec![]
    })
}
