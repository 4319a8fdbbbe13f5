//! The `voxflow` command.
fn main() {}
