//! Shared helpers for voxflow's workspace-level scenario tests (`tests/tests/*.rs`).
//!
//! Tests that need the shared recordings (`../shared/data`) or reference tools (ffmpeg, sox)
//! call [`shared_data`] / [`tool`]: when the thing is missing they print why and the test
//! returns early, unless `VOXFLOW_REQUIRE_DATA=1` / `VOXFLOW_REQUIRE_TOOLS=1` is set (CI sets
//! both), in which case the absence is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared test-data directory (`<repo>/../shared/data`), or `None` (with a printed reason)
/// when it is absent and not required.
///
/// # Panics
/// When the data is absent and `VOXFLOW_REQUIRE_DATA=1`.
pub fn shared_data() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = root.join("../shared/data");
    if dir.join("README.md").is_file() {
        return Some(dir);
    }
    let msg = format!("shared test data not found at {}", dir.display());
    assert!(
        std::env::var_os("VOXFLOW_REQUIRE_DATA").is_none(),
        "{msg} (VOXFLOW_REQUIRE_DATA is set)"
    );
    eprintln!("skipping: {msg}");
    None
}

/// `Some(name)` when the external program `name` is installed (it can be started; exit codes of
/// version flags differ between tools, so they are not consulted), else `None` with a printed
/// reason.
///
/// # Panics
/// When the tool is missing and `VOXFLOW_REQUIRE_TOOLS=1`.
pub fn tool(name: &str) -> Option<&str> {
    if Command::new(name).arg("--help").output().is_ok() {
        return Some(name);
    }
    assert!(
        std::env::var_os("VOXFLOW_REQUIRE_TOOLS").is_none(),
        "{name} is not installed (VOXFLOW_REQUIRE_TOOLS is set)"
    );
    eprintln!("skipping: {name} is not installed");
    None
}
