//! Shared helpers for the integration tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

/// `../shared/data` relative to the repository root, or `None` (with a printed reason) when
/// absent; panics when absent and `VOXFLOW_REQUIRE_DATA=1`.
pub fn data_dir(what: &str) -> Option<PathBuf> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for anc in manifest.ancestors() {
        let d = anc.join("shared").join("data");
        if d.join(what).exists() {
            return Some(d);
        }
    }
    if std::env::var("VOXFLOW_REQUIRE_DATA").as_deref() == Ok("1") {
        panic!("test data ../shared/data/{what} is missing and VOXFLOW_REQUIRE_DATA=1");
    }
    eprintln!("skipping: ../shared/data/{what} not found");
    None
}

/// A deterministic pseudo-random generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        ((self.0 >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
    }
}
