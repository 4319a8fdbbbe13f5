#![doc = include_str!("../README.md")]
// `unsafe` is allowed in `alloc` only (the `GlobalAlloc` impl; see the README and the module).
#![deny(unsafe_code)]
#![deny(missing_docs)]

pub mod alloc;
pub mod data;
pub mod tools;

/// The one rule for the `VOXFLOW_REQUIRE_*` switches ([`data::REQUIRE_DATA`],
/// [`tools::REQUIRE_TOOLS`]): true when the environment variable `name` asks that a missing
/// prerequisite fail the test instead of skipping it.
///
/// Compared ASCII case-insensitively, surrounding spaces ignored:
/// - `1`, `true`, `yes`, `on`: required (a skip becomes a failure); CI sets `1`;
/// - unset, empty, `0`, `false`, `no`, `off`: not required (a test skips with a printed reason).
///
/// # Panics
/// On any other value (or one that is not Unicode): a misspelt switch must not quietly skip.
pub fn required(name: &str) -> bool {
    let Some(value) = std::env::var_os(name) else {
        return false;
    };
    match parse_switch(value.to_str()) {
        Some(on) => on,
        None => panic!(
            "{name}={value:?}: expected 1/true/yes/on (fail when missing) or \
             0/false/no/off/empty (skip)"
        ),
    }
}

/// A switch's meaning, or `None` when `value` is not one of the accepted spellings.
fn parse_switch(value: Option<&str>) -> Option<bool> {
    let v = value?.trim().to_ascii_lowercase();
    match v.as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "" | "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switch_values() {
        for on in ["1", "true", "TRUE", " yes ", "On"] {
            assert_eq!(parse_switch(Some(on)), Some(true), "{on:?}");
        }
        for off in ["", "0", "false", "No", "off "] {
            assert_eq!(parse_switch(Some(off)), Some(false), "{off:?}");
        }
        for bad in ["2", "y", "enable", "ture"] {
            assert_eq!(parse_switch(Some(bad)), None, "{bad:?}");
        }
        assert_eq!(parse_switch(None), None);
    }

    #[test]
    fn an_unset_switch_is_off() {
        assert!(!required("VOXFLOW_TESTKIT_NO_SUCH_SWITCH"));
    }
}
