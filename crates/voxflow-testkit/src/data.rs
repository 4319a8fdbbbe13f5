//! The shared test data: `../shared/data/<what>` beside the workspace root.
//!
//! The recordings, labelled VAD sets and reference files are large and live outside the
//! repository, in `shared/data` next to the checkout (`<workspace>/../shared/data`). A test that
//! needs them calls [`shared_data`] and returns early on `None`.

use std::path::{Path, PathBuf};

/// The environment variable that turns a missing data path into a failure: `1` in CI.
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
/// The directory is looked for beside the workspace root and, failing that, beside each of
/// its ancestors (a checkout in a nested work tree still finds it).
///
/// # Panics
/// When the path does not exist and `VOXFLOW_REQUIRE_DATA=1`.
pub fn shared_data(what: &str) -> Option<PathBuf> {
    let root = workspace_root();
    if let Some(found) = find(&root, what) {
        return Some(found);
    }
    let shown = Path::new("../shared/data").join(what);
    assert!(
        !crate::required(REQUIRE_DATA),
        "test data {} not found from {} and {REQUIRE_DATA}=1",
        shown.display(),
        root.display()
    );
    eprintln!(
        "skipping: test data {} not found from {} (set {REQUIRE_DATA}=1 to fail instead)",
        shown.display(),
        root.display()
    );
    None
}

/// `<dir>/shared/data/<what>` for the first ancestor `dir` of `root` (its parent first) where
/// it exists.
fn find(root: &Path, what: &str) -> Option<PathBuf> {
    let root = root.canonicalize().ok()?;
    root.ancestors()
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
