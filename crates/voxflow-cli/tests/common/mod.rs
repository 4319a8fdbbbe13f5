//! Helpers specific to the CLI's integration tests (data paths and tool checks come from
//! `voxflow-testkit`).
#![allow(dead_code, clippy::expect_used)] // each test file uses a subset

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

/// Runs the `voxflow` binary built for these tests.
pub fn voxflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_voxflow"))
        .args(args)
        .output()
        .expect("run voxflow")
}

/// The one JSON object a successful run printed on stdout.
pub fn json_of(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "voxflow failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON object")
}

/// A fresh scratch directory for one test, unique per process: `<tmp>/voxflow-TAG-PID`.
pub fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("voxflow-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}
