//! The one integration-test binary (each tests/*.rs file would link the AWS SDK again).

mod action;
mod cli;
mod cmd;
mod denials;
mod docs;
mod emulator;
mod fixtures;
mod golden;
mod node;
mod pictures;
mod properties;
mod readonly;

use std::path::PathBuf;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures").join(format!("{name}.json"))
}

/// The real binary, with the environment cleared so a developer's AWS_* settings never leak in.
pub fn bin() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_fargate-preflight"));
    cmd.env_clear();
    if let Ok(path) = std::env::var("PATH") {
        cmd.env("PATH", path);
    }
    cmd
}
