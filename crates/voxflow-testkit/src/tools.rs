//! Reference tools (ffmpeg, sox, opusenc, opusdec, …) that interop tests compare against.
//!
//! A tool counts as installed when it starts: exit codes and version flags differ between tools
//! (`ffmpeg -version`, `sox --version`, `opusenc --version`), so they are not consulted.

use std::process::{Command, Stdio};

/// The environment variable that turns a missing tool into a failure (accepted
/// values: [`required`](crate::required)); CI sets `1`.
pub const REQUIRE_TOOLS: &str = "VOXFLOW_REQUIRE_TOOLS";

/// `Some(name)` when the program `name` (looked up in `PATH`) can be started, else `None` with a
/// printed reason.
///
/// # Panics
/// When the tool is missing and [`REQUIRE_TOOLS`] asks for it (see
/// [`required`](crate::required)).
pub fn tool(name: &str) -> Option<&str> {
    if starts(name) {
        return Some(name);
    }
    let hint = package_of(name).map_or(String::new(), |p| format!("; install {p}"));
    assert!(
        !crate::required(REQUIRE_TOOLS),
        "{name} is not installed{hint} and {REQUIRE_TOOLS} is on"
    );
    eprintln!("skipping: {name} is not installed{hint} (set {REQUIRE_TOOLS}=1 to fail instead)");
    None
}

/// True when `name` is installed (see [`tool`]).
///
/// # Panics
/// When the tool is missing and [`REQUIRE_TOOLS`] asks for it (see
/// [`required`](crate::required)).
pub fn have(name: &str) -> bool {
    tool(name).is_some()
}

/// True when `name` can be started (its output is discarded, stdin is empty).
fn starts(name: &str) -> bool {
    Command::new(name)
        .arg("--help")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// The Debian/Ubuntu package that provides a known tool.
fn package_of(name: &str) -> Option<&'static str> {
    Some(match name {
        "opusenc" | "opusdec" | "opusinfo" => "opus-tools",
        "ffmpeg" | "ffprobe" => "ffmpeg",
        "sox" | "soxi" => "sox",
        "flac" | "metaflac" => "flac",
        "lame" => "lame",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_program_that_starts_counts_and_a_missing_one_does_not() {
        // `sh` exists wherever the tests run (cargo's build scripts need it too).
        assert!(starts("sh"));
        assert!(!starts("voxflow-testkit-no-such-program"));
    }

    #[test]
    fn hints_name_the_package() {
        assert_eq!(package_of("opusdec"), Some("opus-tools"));
        assert_eq!(package_of("nonesuch"), None);
    }
}
