//! The workspace's `rust-version` is honest: it is at least the `rust-version` every dependency
//! (normal, build or dev, on any platform) declares in the locked dependency graph. Runs
//! `cargo metadata` with the cargo that runs the tests, so it needs nothing but the toolchain.

// Test code may unwrap, as `clippy.toml` allows in `#[test]` functions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use serde_json::Value;

/// `1.89` or `1.89.0` as comparable numbers (missing parts are zero, pre-release tags ignored).
fn version(text: &str) -> [u64; 3] {
    let mut parts = text
        .split(['-', '+'])
        .next()
        .unwrap_or_default()
        .split('.')
        .map(|p| p.parse::<u64>().unwrap_or(0));
    [(); 3].map(|()| parts.next().unwrap_or(0))
}

#[test]
fn rust_version_is_at_least_every_dependencys() {
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let output = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked"])
        .args(["--manifest-path", manifest])
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: Value = serde_json::from_slice(&output.stdout).unwrap();
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap())
        .collect();
    let ours = env!("CARGO_PKG_RUST_VERSION");
    let mut too_new = Vec::new();
    for package in metadata["packages"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let declared = package["rust_version"].as_str();
        if members.contains(&package["id"].as_str().unwrap()) {
            assert_eq!(
                declared,
                Some(ours),
                "{name} inherits the workspace's rust-version"
            );
        } else if let Some(declared) = declared
            && version(declared) > version(ours)
        {
            let v = package["version"].as_str().unwrap();
            too_new.push(format!("{name} {v} needs Rust {declared}"));
        }
    }
    assert!(
        too_new.is_empty(),
        "the workspace declares rust-version {ours}, but:\n{}",
        too_new.join("\n")
    );
}

#[test]
fn versions_compare_by_number() {
    assert_eq!(version("1.89"), [1, 89, 0]);
    assert!(version("1.89") < version("1.89.1"));
    assert!(version("1.100") > version("1.89.0"));
    assert_eq!(version("1.90.0-nightly"), [1, 90, 0]);
}
