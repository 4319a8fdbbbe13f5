//! voxflow's workspace-level scenario tests live in `tests/tests/*.rs` (one scenario per file).
//!
//! This library is empty: a package needs a target besides its tests. The helpers the tests
//! share (counting allocator, `../shared/data` paths, reference-tool checks, and the
//! `VOXFLOW_REQUIRE_DATA=1` / `VOXFLOW_REQUIRE_TOOLS=1` switches CI sets) are in the
//! `voxflow-testkit` crate.
