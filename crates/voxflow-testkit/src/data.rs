//! The shared test data: `../shared/data/<what>` beside the workspace root.
//!
//! The recordings, labelled VAD sets and reference files are large and live outside the
//! repository, in `shared/data` next to the checkout (`<workspace>/../shared/data`). A test that
//! needs them calls [`shared_data`] and returns early on `None`.

use std::path::{Path, PathBuf};

/// The environment variable that turns a missing data path into a failure (accepted
/// values: [`required`](crate::required)); CI sets `1`.
pub const REQUIRE_DATA: &str = "VOXFLOW_REQUIRE_DATA";

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // This crate lives at `<root>/crates/voxflow-testkit`.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `../shared/data/<what>` from the workspace root (`what` is a relative path such as
/// `"media"`, `"vad"` or `"media/speech_44k1_stereo_10s.wav"`; `""` is the data directory
/// itself), or `None` with a printed reason when it does not exist.
///
/// The directory is looked for beside each ancestor of the running package's directory
/// (`CARGO_MANIFEST_DIR` as `cargo test` / `cargo bench` set it at run time), then beside each
/// ancestor of the workspace root this crate was compiled in. The run-time directory comes
/// first because several checkouts (work trees) may share one target directory, and a test
/// binary can link a build of this crate made in another checkout.
///
/// # Panics
/// When the path does not exist and [`REQUIRE_DATA`] asks for it (see
/// [`required`](crate::required)).
pub fn shared_data(what: &str) -> Option<PathBuf> {
    let mut roots = Vec::with_capacity(2);
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        roots.push(PathBuf::from(dir));
    }
    roots.push(workspace_root());
    if let Some(found) = roots.iter().find_map(|root| find(root, what)) {
        return Some(found);
    }
    let shown = Path::new("../shared/data").join(what);
    let from = roots
        .iter()
        .map(|r| r.display().to_string())
        .collect::<Vec<_>>()
        .join(" or ");
    assert!(
        !crate::required(REQUIRE_DATA),
        "test data {} not found from {from} and {REQUIRE_DATA} is on",
        shown.display()
    );
    eprintln!(
        "skipping: test data {} not found from {from} (set {REQUIRE_DATA}=1 to fail instead)",
        shown.display()
    );
    None
}

/// `<dir>/shared/data/<what>` for the first ancestor `dir` of `start` (its parent first) where
/// it exists.
fn find(start: &Path, what: &str) -> Option<PathBuf> {
    let start = start.canonicalize().ok()?;
    start
        .ancestors()
        .skip(1)
        .map(|dir| dir.join("shared/data").join(what))
        .find(|p| p.exists())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_path_beside_an_ancestor_and_nothing_else() {
        let base =
            std::env::temp_dir().join(format!("voxflow-testkit-data-{}", std::process::id()));
        let root = base.join("a/checkout");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(base.join("a/shared/data/media")).unwrap();
        std::fs::write(base.join("a/shared/data/media/x.wav"), b"x").unwrap();
        let got = find(&root, "media/x.wav").unwrap();
        assert_eq!(std::fs::read(&got).unwrap(), b"x");
        assert!(got.ends_with("a/shared/data/media/x.wav"));
        assert_eq!(find(&root, "media/missing.wav"), None);
        assert_eq!(find(&root.join("does-not-exist"), "media"), None);
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(manifest.contains("[workspace]"));
    }
}
