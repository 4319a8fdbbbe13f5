//! Runnable examples of voxflow (`cargo run -p voxflow-examples --example NAME`):
//!
//! - `own_loop`: decoder and resampler driven by hand, sans-IO, no threads.
//! - `pipeline`: the same through `voxflow-pipeline`, with a ring, pacing and a latency report.
