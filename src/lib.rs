//! fargate-preflight: gather (AWS SDK) → Snapshot → checks → findings → report → exit code.

pub mod checks;
pub mod cli;
pub mod diagnose;
pub mod facts;
#[cfg(feature = "aws")]
pub mod gather;
pub mod image;
pub mod manifest;
pub mod policy;
pub mod report;
pub mod snapshot;
pub mod taskdef_file;
