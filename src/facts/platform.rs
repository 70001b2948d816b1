//! The Fargate platform a task really gets: what `LATEST` resolves to per OS family, and
//! what that version needs from the network.

use crate::snapshot::{TaskDefinition, Workload};

/// What `LATEST` means per OS family (ECS guide, platform versions).
pub const LATEST_LINUX: &str = "1.4.0";
pub const LATEST_WINDOWS: &str = "1.0.0";

pub struct Resolved {
    pub windows: bool,
    pub configured: String,
    pub version: String,
    /// Linux 1.4.0+ and every Windows version fetch the ECR auth token through ecr.api.
    pub needs_ecr_api: bool,
}

impl Resolved {
    /// Linux 1.4.0 or later, or any Windows version: what EFS volumes and ECS Exec need.
    pub fn at_least_1_4_0(&self) -> bool {
        self.needs_ecr_api
    }
}

pub fn resolve(workload: &Workload, td: &TaskDefinition) -> Resolved {
    let windows = td.is_windows();
    let configured = workload
        .platform_version
        .clone()
        .unwrap_or_else(|| "LATEST".into());
    let version = if configured.eq_ignore_ascii_case("LATEST") {
        (if windows {
            LATEST_WINDOWS
        } else {
            LATEST_LINUX
        })
        .to_string()
    } else {
        configured.clone()
    };
    let needs_ecr_api =
        windows || !matches!(version.as_str(), "1.0.0" | "1.1.0" | "1.2.0" | "1.3.0");
    Resolved {
        windows,
        configured,
        version,
        needs_ecr_api,
    }
}
