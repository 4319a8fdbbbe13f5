#![doc = include_str!("../README.md")]
// `unsafe` is allowed in `alloc` only (the `GlobalAlloc` impl; see the README and the module).
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod alloc;
pub mod data;
pub mod tools;

/// True when the environment variable `name` is set to `1`.
fn required(name: &str) -> bool {
    std::env::var(name).as_deref() == Ok("1")
}
